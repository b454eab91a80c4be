package guardrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/ledger-docker/ledger-docker/internal/apiguard"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

// Exit statuses (internal/cli's map; a test keeps them equal: this
// package does not import the command framework, to start fast).
const (
	ExitUsage        = 2
	ExitUnavailable  = 69
	ExitBackupFailed = 75
	ExitBlocked      = 77
	ExitConfig       = 78
	ExitInterrupted  = 130
	exitNotFound     = 127
)

// Labels compose puts on its containers and volumes (internal/compose's;
// a test keeps them equal).
const (
	projectLabel    = "com.docker.compose.project"
	workingDirLabel = "com.docker.compose.project.working_dir"
)

// Request is one command to run behind the guard.
type Request struct {
	Intent intercept.Intent
	Cmd    Command
	Conn   Connection
	Config *config.Config
	Env    []string
	Stderr io.Writer
	// Verdict is the command-line decision ("pass", "backup"; "" when
	// none was taken): a refusal by the guard against it is logged.
	Verdict string
	// Dirs maps "volume:NAME" and "project:NAME" to a compose project's
	// folder, where its volumes' snapshots go.
	Dirs map[string]string
	// Run runs the real command; nil starts it as a child (RunChild).
	Run func(ctx context.Context, path string, argv, env []string) int
	Now func() time.Time
}

// Run starts the engine API guard on a private socket, runs the real
// program with its endpoint replaced by that socket, and returns the
// program's exit status, or 77/75/69 when the guard refused a request.
func Run(ctx context.Context, r Request) int {
	in := r.Intent
	getenv := wrapper.Getenv(r.Env)
	path, err := wrapper.FindReal(in.Program, getenv)
	if err == nil && getenv(realOverride(in.Program)) != "" {
		err = wrapper.CheckReal(path)
	}
	if err != nil {
		fmt.Fprintf(r.Stderr, "ledger_docker: %v\nNothing was run.\n", err)
		if errors.Is(err, wrapper.ErrNotReal) {
			return ExitUnavailable
		}
		return exitNotFound
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	conn, cfg := r.Conn, r.Config
	srv, err := apiguard.Start(apiguard.Options{
		Dial:   conn.Dial,
		Engine: conn.Engine,
		Policy: apiguard.Policy{Protected: cfg.IsProtected, Label: cfg.ProtectLabel},
		Snapshot: func(ctx context.Context, s apiguard.Save) (string, error) {
			return snapshot.Take(ctx, conn.Engine, s.Volume.Name, snapshotDir(ctx, conn, cfg, r.Dirs, s), now())
		},
		Log: r.Stderr,
	})
	if err != nil {
		fmt.Fprintf(r.Stderr, "ledger_docker: cannot start the engine API guard: %v\nNothing was run.\n", err)
		return ExitUnavailable
	}
	argv := append([]string{string(in.Program)}, r.Cmd.Args...)
	env := childEnv(wrapper.WithoutSelf(r.Env), srv.Host())
	run := r.Run
	if run == nil {
		run = RunChild
	}
	code := run(ctx, path, argv, env)
	if err := srv.Close(); err != nil {
		fmt.Fprintf(r.Stderr, "ledger_docker: %v\n", err)
	}
	denied := srv.Denied()
	if len(denied) == 0 && code != 0 && code != ExitInterrupted && srv.Unreachable() {
		fmt.Fprintf(r.Stderr, "ledger_docker: the engine `%s` uses did not answer (see above); no volume was touched by the guard.\n", in.CommandLine())
		return ExitUnavailable
	}
	if len(denied) == 0 || code == ExitInterrupted {
		return code
	}
	fmt.Fprintf(r.Stderr, "ledger_docker: the engine API guard refused %d request(s) of `%s`; no protected volume was lost.\n", len(denied), in.CommandLine())
	return refusedStatus(r, denied)
}

// refusedStatus is the exit status after refusals: 77 when a protected
// volume was at stake, 75 when a snapshot failed, else 69 (the guard
// could not tell and failed closed).
func refusedStatus(r Request, denied []apiguard.Decision) int {
	status := ExitUnavailable
	for _, x := range denied {
		switch {
		case x.Status == http.StatusForbidden:
			if r.Verdict != "block" {
				logDisagreement(r, denied)
			}
			return ExitBlocked
		case x.BackupFailed:
			status = ExitBackupFailed
		}
	}
	return status
}

func realOverride(p intercept.Program) string {
	if p == intercept.DockerCompose {
		return wrapper.EnvRealCompose
	}
	return wrapper.EnvRealDocker
}

// childEnv is env with the endpoint replaced by the guard's socket: for
// the docker CLI, its plugins and Compose v1 alike, DOCKER_HOST wins over
// contexts, and empty TLS variables turn TLS off (the guard holds the TLS
// connection upstream).
func childEnv(env []string, host string) []string {
	drop := map[string]bool{"DOCKER_HOST": true, "DOCKER_CONTEXT": true, "DOCKER_TLS_VERIFY": true,
		"DOCKER_CERT_PATH": true, "DOCKER_TLS": true}
	out := make([]string, 0, len(env)+4)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, "DOCKER_HOST="+host, "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH=", "DOCKER_TLS=")
}

// RunChild runs the real program as a child with the same stdio, in the
// same process group (a terminal's Ctrl-C reaches it directly), and
// returns its exit status (128+N when a signal N ended it). SIGTERM and
// SIGHUP sent to the guard alone are passed on; SIGINT too when stdin is
// not a terminal (with a terminal, the child got it already).
func RunChild(ctx context.Context, path string, argv, env []string) int {
	c := exec.Command(path)
	c.Args, c.Env = argv, env
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "ledger_docker: run %s: %v\n", path, err)
		return exitNotFound
	}
	tty := term.IsTerminal(int(os.Stdin.Fd()))
	var interrupted sync.Once
	got := false
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == os.Interrupt || s == syscall.SIGQUIT {
					interrupted.Do(func() { got = true })
					if tty {
						continue
					}
				}
				_ = c.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := c.Wait()
	close(done)
	_ = ctx
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		if got && ee.ExitCode() != 0 {
			return ExitInterrupted
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ledger_docker: run %s: %v\n", path, err)
		return exitNotFound
	}
	return 0
}

// snapshotDir is where a volume's snapshot goes: its compose project's
// backups/dev/volumes when the project's folder is known here (from the
// command line's project, the container that holds the volume, or the
// project's containers), else the configured snapshot folder.
func snapshotDir(ctx context.Context, conn Connection, cfg *config.Config, dirs map[string]string, s apiguard.Save) string {
	dir := dirs["volume:"+s.Volume.Name]
	project := s.Volume.Labels[projectLabel]
	if dir == "" && s.Holder.Labels != nil {
		dir = s.Holder.Labels[workingDirLabel]
		if project == "" {
			project = s.Holder.Labels[projectLabel]
		}
	}
	if dir == "" && project != "" {
		dir = dirs["project:"+project]
		if dir == "" {
			dir = ProjectDir(ctx, conn.Engine, project)
		}
	}
	if isDir(dir) {
		return filepath.Join(dir, VolumesSubdir)
	}
	return cfg.SnapshotDir
}

// logDisagreement records that the command-line check let through what
// the API guard refused (the guard wins): on stderr and in guard.log.
func logDisagreement(r Request, denied []apiguard.Decision) {
	getenv := wrapper.Getenv(r.Env)
	base := getenv("XDG_STATE_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return
		}
		base = filepath.Join(home, ".local", "state")
	}
	dir := filepath.Join(base, "ledger-docker")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "guard.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	var refused []string
	for _, x := range denied {
		refused = append(refused, x.Endpoint+": "+x.Message)
	}
	_ = json.NewEncoder(f).Encode(map[string]any{
		"time": time.Now().UTC().Format(time.RFC3339), "command": r.Intent.CommandLine(),
		"command_line_verdict": verdictName(r.Verdict), "guard_refused": refused,
	})
	fmt.Fprintf(r.Stderr, "ledger_docker: the command-line check said %q; the engine API guard refused instead (logged to %s).\n",
		verdictName(r.Verdict), filepath.Join(dir, "guard.log"))
}

func verdictName(v string) string {
	if v == "" {
		return "pass"
	}
	return v
}

// VolumesSubdir is where a compose project's volume snapshots go, under
// its folder.
var VolumesSubdir = filepath.Join("backups", "dev", "volumes")

func isDir(dir string) bool {
	if dir == "" {
		return false
	}
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// ProjectDir finds a compose project's folder from its containers' labels.
func ProjectDir(ctx context.Context, e engine.Engine, project string) string {
	cs, err := e.ListContainers(ctx, engine.ContainerFilter{All: true, Labels: []string{projectLabel + "=" + project}})
	if err != nil {
		return ""
	}
	for _, c := range cs {
		if d := c.Labels[workingDirLabel]; d != "" {
			return d
		}
	}
	return ""
}

// Main runs a command behind the guard with no command-line decision: the
// Go wrapper's path for every command that is neither on the allow-list
// nor one the command line says may delete a volume (docker run, exec,
// cp, build, volume ls...). It returns the exit status.
func Main(prog intercept.Program, args, env []string, stderr io.Writer) int {
	getenv := wrapper.Getenv(env)
	in := intercept.Parse(append([]string{string(prog)}, args...), getenv)
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "ledger_docker: %v\nNothing was run.\n", err)
		return ExitConfig
	}
	cmd, err := Split(in, nil, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "ledger_docker: %v\nNothing was run.\n", err)
		return ExitUsage
	}
	ctx := context.Background()
	conn, err := Connect(ctx, cmd.Opts)
	if err != nil {
		fmt.Fprintf(stderr, "ledger_docker: cannot reach the engine `%s` would use: %v\nNothing was run.\n", in.CommandLine(), err)
		return ExitUnavailable
	}
	defer conn.Close()
	return Run(ctx, Request{Intent: in, Cmd: cmd, Conn: conn, Config: cfg, Env: env, Stderr: stderr})
}
