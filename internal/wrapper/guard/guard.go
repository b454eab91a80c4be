// Package guard is the wrapper's decision path, for docker commands that
// may delete or recreate volumes: connect to the engine exactly as docker
// would, decide with internal/policy, then block, back up and run, or run.
// It runs inside the docker-ledger binary (`docker-ledger ledger guard`),
// which already links the engine client and compose loader, so that the
// wrapper itself stays small on the pass-through path.
package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	enginedocker "github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/guardrun"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/policy"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

// DBRequest asks for a verified database backup of a compose project
// before a destructive command runs.
type DBRequest struct {
	Project    string
	WorkingDir string
	// Command is the command about to run, for the backup log.
	Command string
	Engine  engine.Engine
}

// decideTimeout bounds the early decision (engine questions, compose load).
const decideTimeout = 2 * time.Minute

// Options are one guarded run.
type Options struct {
	Program intercept.Program
	// Args follow the program name, as the user typed them.
	Args []string
	// BaseGlobalArgs are docker global flags given to the plugin itself
	// (`docker --context x ledger explain -- ...`).
	BaseGlobalArgs []string
	Env            []string
	Stdout, Stderr io.Writer
	// Explain prints the decision as JSON and runs nothing.
	Explain bool
	Config  func() (*config.Config, error)
	// DBBackup takes a compose project's verified database backup before
	// a command that deletes its volumes. Required: Run refuses to guard
	// without it.
	DBBackup func(ctx context.Context, req DBRequest) (string, error)
	// Connect reaches the engine; nil uses docker/cli (contexts, DOCKER_HOST...).
	Connect func(ctx context.Context, cmd guardrun.Command) (guardrun.Connection, error)
	// Run runs the real command behind the guard and returns its exit
	// status; nil starts it as a child process (RunChild).
	Run func(ctx context.Context, path string, argv, env []string) int
	Now func() time.Time
}

// Run guards one command and returns the exit status: the real command's,
// or 77 when the command line or the engine API guard refused something,
// 75 when the backup before it failed, 69 when the engine or the real
// program cannot be used.
func Run(ctx context.Context, o Options) int {
	getenv := wrapper.Getenv(o.Env)
	in := intercept.Parse(append([]string{string(o.Program)}, o.Args...), getenv)
	cfg, err := o.Config()
	if err != nil {
		fmt.Fprintf(o.Stderr, "ledger_docker: %v\nNothing was run.\n", err)
		return exitcode.Config
	}
	cmd, err := guardrun.Split(in, o.BaseGlobalArgs, getenv)
	if err != nil {
		fmt.Fprintf(o.Stderr, "ledger_docker: %v\nNothing was run.\n", err)
		return exitcode.Usage
	}
	connect := o.Connect
	if connect == nil {
		connect = func(ctx context.Context, c guardrun.Command) (guardrun.Connection, error) {
			return enginedocker.Connect(ctx, c.Opts)
		}
	}
	conn, connErr := connect(ctx, cmd)
	// explain mode goes on without an engine; a zero Connection closes nothing
	defer func() { conn.Close() }()

	// The early decision, from the command line: a friendly refusal before
	// anything has run, explain mode, and the database backup that must be
	// taken while the database still runs. The API guard stands behind it.
	d := decision{Decision: policy.Decision{Verdict: policy.Pass, Volumes: []policy.Volume{}, Reason: "the command deletes no volume"}}
	if in.Destructive() {
		dctx, cancel := context.WithTimeout(ctx, decideTimeout)
		d = decide(dctx, o, in, cfg, getenv, conn, connErr)
		cancel()
	}
	if o.Explain {
		if err := json.NewEncoder(o.Stdout).Encode(d.Decision); err != nil {
			return exitcode.Failure
		}
		return exitcode.OK
	}
	if o.DBBackup == nil {
		fmt.Fprintln(o.Stderr, "ledger_docker: internal error: the guard has no database backup; nothing was run")
		return exitcode.Failure
	}
	switch d.Verdict {
	case policy.Block:
		printBlock(o.Stderr, in, d.Decision)
		if d.Unavailable {
			return exitcode.Unavailable
		}
		return exitcode.Blocked
	case policy.Backup:
		bctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		err := dbBackup(bctx, o, in, d)
		interrupted := bctx.Err() != nil
		stop()
		if err != nil {
			fmt.Fprintf(o.Stderr, "ledger_docker: %s was NOT run: the backup before it failed: %v\n", in.CommandLine(), err)
			if interrupted {
				return exitcode.Interrupted
			}
			return exitcode.BackupFailed
		}
	}
	if connErr != nil {
		fmt.Fprintf(o.Stderr, "ledger_docker: cannot reach the engine `%s` would use: %v\nNothing was run.\n", in.CommandLine(), connErr)
		return exitcode.Unavailable
	}
	dirs := map[string]string{}
	for _, v := range d.Volumes {
		if v.WorkingDir != "" {
			dirs["volume:"+v.Name] = v.WorkingDir
			dirs["project:"+v.Project] = v.WorkingDir
		}
	}
	return guardrun.Run(ctx, guardrun.Request{Intent: in, Cmd: cmd, Conn: conn, Config: cfg, Env: o.Env,
		Stderr: o.Stderr, Verdict: string(d.Verdict), Dirs: dirs, Run: o.Run, Now: o.Now})
}

type decision struct {
	policy.Decision
	engine engine.Engine
}

func decide(ctx context.Context, o Options, in intercept.Intent, cfg *config.Config, getenv func(string) string, conn guardrun.Connection, connErr error) decision {
	req := policy.Request{Intent: in, Config: cfg, Getenv: getenv, Env: o.Env}
	if connErr != nil {
		req.EngineErr = connErr
	} else {
		req.Engine, req.Context = conn.Engine, conn.Context
	}
	return decision{Decision: policy.Decide(ctx, req), engine: conn.Engine}
}

func printBlock(w io.Writer, in intercept.Intent, d policy.Decision) {
	fmt.Fprintf(w, "ledger_docker: blocked `%s`: %s.\nNothing was run; no volume was touched.\n", in.CommandLine(), d.Reason)
	for _, v := range d.Volumes {
		state := "not protected"
		if v.Protected {
			state = "PROTECTED"
		}
		fmt.Fprintf(w, "  - %s (%s): would be %sd: %s\n", v.Name, state, v.Action, v.Why)
	}
	if len(d.Advice) > 0 {
		fmt.Fprintln(w, "Safe alternatives:")
		for _, a := range d.Advice {
			fmt.Fprintf(w, "  %s\n", a)
		}
	}
}

// dbBackup takes the database backup of each compose project whose
// volumes the command would lose, while the database still runs. Any
// failure stops everything: the command must not run without its backup.
// (The volumes themselves are saved by the API guard, at the moment the
// engine is asked to delete them.)
func dbBackup(ctx context.Context, o Options, in intercept.Intent, d decision) error {
	seen := map[string]bool{}
	for _, v := range d.Volumes {
		if v.Project == "" || seen[v.Project] {
			continue
		}
		seen[v.Project] = true
		dir := v.WorkingDir
		if dir == "" {
			dir = guardrun.ProjectDir(ctx, d.engine, v.Project)
		}
		path, err := o.DBBackup(ctx, DBRequest{Project: v.Project, WorkingDir: dir, Command: in.CommandLine(), Engine: d.engine})
		if err != nil {
			return fmt.Errorf("database backup of project %s: %w", v.Project, err)
		}
		if path != "" {
			fmt.Fprintf(o.Stderr, "ledger_docker: database of project %s saved to %s\n", v.Project, path)
		}
	}
	return nil
}

// ErrNoArgs: guard and explain need the command to look at.
var ErrNoArgs = errors.New("no command given")

// SplitProgram reads an optional leading program name ("docker",
// "docker-compose") off args.
func SplitProgram(args []string) (intercept.Program, []string) {
	if len(args) > 0 {
		switch strings.TrimSuffix(filepath.Base(args[0]), ".exe") {
		case string(intercept.Docker):
			return intercept.Docker, args[1:]
		case string(intercept.DockerCompose):
			return intercept.DockerCompose, args[1:]
		}
	}
	return intercept.Docker, args
}
