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

	"github.com/docker/cli/cli/command"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/spf13/pflag"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/policy"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

// VolumesSubdir is where a compose project's volume snapshots go, under
// its folder.
var VolumesSubdir = filepath.Join("backups", "dev", "volumes")

// DBRequest asks for a verified database backup of a compose project
// before a destructive command runs.
type DBRequest struct {
	Project    string
	WorkingDir string
	// Command is the command about to run, for the backup log.
	Command string
	Engine  engine.Engine
}

// DBBackup takes the project's verified database backup and returns its
// path; ("", nil) when the project has no database. The database backup
// package sets it (issue 3); nil means volume snapshots only.
var DBBackup func(ctx context.Context, req DBRequest) (string, error)

// decideTimeout bounds the decision (engine questions, compose load).
const decideTimeout = 2 * time.Minute

// Connection is what Connect returns.
type Connection struct {
	Engine  engine.Engine
	Context string
	// PruneFilters are the CLI config's pruneFilters.
	PruneFilters []string
}

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
	// Connect reaches the engine; nil uses docker/cli (contexts, DOCKER_HOST...).
	Connect func(ctx context.Context, in intercept.Intent, globalArgs []string) (Connection, error)
	// Exec replaces the process with the real command; nil uses syscall.Exec.
	Exec func(path string, argv, env []string) error
	Now  func() time.Time
}

// Run guards one command and returns the exit status (when it did not
// exec the real command).
func Run(ctx context.Context, o Options) int {
	getenv := wrapper.Getenv(o.Env)
	in := intercept.Parse(append([]string{string(o.Program)}, o.Args...), getenv)
	cfg, err := o.Config()
	if err != nil {
		fmt.Fprintf(o.Stderr, "ledger_docker: %v\nNothing was run.\n", err)
		return cli.ExitConfig
	}
	// Ctrl-C or SIGTERM during a snapshot: stop it cleanly (no partial
	// file, no helper container left) and run nothing.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The decision only reads; it must not hang on an engine that never
	// answers (a dead tcp:// host): past the deadline it fails closed.
	dctx, cancel := context.WithTimeout(ctx, decideTimeout)
	d := decide(dctx, o, in, cfg, getenv)
	cancel()
	if o.Explain {
		enc := json.NewEncoder(o.Stdout)
		if err := enc.Encode(d.Decision); err != nil {
			return cli.ExitFailure
		}
		return cli.ExitOK
	}
	switch d.Verdict {
	case policy.Block:
		printBlock(o.Stderr, in, d.Decision)
		if d.Unavailable {
			return cli.ExitUnavailable
		}
		return cli.ExitBlocked
	case policy.Backup:
		if err := backup(ctx, o, in, cfg, d); err != nil {
			fmt.Fprintf(o.Stderr, "ledger_docker: %s was NOT run: the backup before it failed: %v\n", in.CommandLine(), err)
			if ctx.Err() != nil {
				return cli.ExitInterrupted
			}
			return cli.ExitBackupFailed
		}
	}
	if d.conn.Engine != nil {
		_ = d.conn.Engine.Close()
	}
	return execReal(o, in)
}

type decision struct {
	policy.Decision
	conn Connection
}

func decide(ctx context.Context, o Options, in intercept.Intent, cfg *config.Config, getenv func(string) string) decision {
	req := policy.Request{Intent: in, Config: cfg, Getenv: getenv, Env: o.Env}
	var conn Connection
	if in.Destructive() {
		connect := o.Connect
		if connect == nil {
			connect = Connect
		}
		var err error
		conn, err = connect(ctx, in, append(append([]string(nil), o.BaseGlobalArgs...), in.GlobalArgs...))
		if err != nil {
			req.EngineErr = err
		} else {
			req.Engine, req.Context, req.PruneFilters = conn.Engine, conn.Context, conn.PruneFilters
		}
	}
	return decision{Decision: policy.Decide(ctx, req), conn: conn}
}

// Connect builds docker/cli's client from the global flags exactly as the
// docker CLI does, so contexts, DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG,
// DOCKER_API_VERSION and TLS settings are honoured.
func Connect(ctx context.Context, in intercept.Intent, globalArgs []string) (Connection, error) {
	opts := cliflags.NewClientOptions()
	fs := pflag.NewFlagSet("docker", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts.InstallFlags(fs)
	fs.BoolP("version", "v", false, "")
	if err := fs.Parse(globalArgs); err != nil {
		return Connection{}, fmt.Errorf("%w: docker global flags: %v", engine.ErrUnreachable, err)
	}
	if in.ComposeV1 {
		opts.Hosts, opts.Context = in.Hosts, in.Context
	}
	opts.SetDefaultOptions(fs)
	dcli, err := command.NewDockerCli(command.WithStandardStreams())
	if err != nil {
		return Connection{}, fmt.Errorf("%w: %v", engine.ErrUnreachable, err)
	}
	if err := dcli.Initialize(opts); err != nil {
		return Connection{}, fmt.Errorf("%w: %v", engine.ErrUnreachable, err)
	}
	// Not dcli.Client(): it exits the process when the context cannot be
	// resolved. This is the same resolution, returning the error.
	api, err := command.NewAPIClientFromFlags(opts, dcli.ConfigFile())
	if err != nil {
		return Connection{}, fmt.Errorf("%w: %v", engine.ErrUnreachable, err)
	}
	c := Connection{Engine: docker.New(api), Context: dcli.CurrentContext()}
	if cf := dcli.ConfigFile(); cf != nil {
		c.PruneFilters = cf.PruneFilters
	}
	return c, nil
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

// backup snapshots every volume the command would lose, then takes the
// database backup of each compose project involved. Any failure stops
// everything: the command must not run without its backup.
func backup(ctx context.Context, o Options, in intercept.Intent, cfg *config.Config, d decision) error {
	e := d.conn.Engine
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	projects := map[string]string{}
	var order []string
	for _, v := range d.Volumes {
		dir := v.WorkingDir
		if dir == "" && v.Project != "" {
			dir = projectDir(ctx, e, v.Project)
		}
		if v.Project != "" {
			if _, ok := projects[v.Project]; !ok {
				order = append(order, v.Project)
			}
			projects[v.Project] = dir
		}
		dest := cfg.SnapshotDir
		if isDir(dir) {
			// The project's folder as compose recorded it; with a remote
			// engine it may not exist here: then the snapshot folder.
			dest = filepath.Join(dir, VolumesSubdir)
		}
		path, err := snapshot.Take(ctx, e, v.Name, dest, now())
		if err != nil {
			return fmt.Errorf("snapshot of volume %s: %w", v.Name, err)
		}
		fmt.Fprintf(o.Stderr, "ledger_docker: volume %s saved to %s (restore: docker ledger volume restore %s --to NEW_VOLUME)\n",
			v.Name, path, path)
	}
	if DBBackup == nil {
		return nil
	}
	for _, p := range order {
		path, err := DBBackup(ctx, DBRequest{Project: p, WorkingDir: projects[p], Command: in.CommandLine(), Engine: e})
		if err != nil {
			return fmt.Errorf("database backup of project %s: %w", p, err)
		}
		if path != "" {
			fmt.Fprintf(o.Stderr, "ledger_docker: database of project %s saved to %s\n", p, path)
		}
	}
	return nil
}

func isDir(dir string) bool {
	if dir == "" {
		return false
	}
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// projectDir finds a compose project's folder from its containers' labels.
func projectDir(ctx context.Context, e engine.Engine, project string) string {
	cs, err := e.ListContainers(ctx, engine.ContainerFilter{All: true, Labels: []string{compose.ProjectLabel + "=" + project}})
	if err != nil {
		return ""
	}
	for _, c := range cs {
		if d := c.Labels[compose.WorkingDirLabel]; d != "" {
			return d
		}
	}
	return ""
}

func execReal(o Options, in intercept.Intent) int {
	getenv := wrapper.Getenv(o.Env)
	path, err := wrapper.FindReal(in.Program, getenv)
	if err != nil {
		fmt.Fprintf(o.Stderr, "ledger_docker: %v\n", err)
		return 127
	}
	exec := o.Exec
	if exec == nil {
		exec = syscall.Exec
	}
	err = exec(path, append([]string{string(in.Program)}, in.Args...), wrapper.WithoutSelf(o.Env))
	if err != nil {
		fmt.Fprintf(o.Stderr, "ledger_docker: run %s: %v\n", path, err)
		return 127
	}
	return cli.ExitOK
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
