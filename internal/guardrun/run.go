package guardrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/ledger-docker/ledger-docker/internal/apiguard"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	enginedocker "github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
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
	path, code := findReal(r.Intent.Program, wrapper.Getenv(r.Env), r.Stderr)
	if code != 0 {
		return code
	}
	srv, err := apiguard.Listen()
	if err != nil {
		fmt.Fprintf(r.Stderr, "ledger_docker: cannot start the engine API guard: %v\nNothing was run.\n", err)
		return exitcode.Unavailable
	}
	srv.Serve(r.options())
	argv := append([]string{string(r.Intent.Program)}, r.Cmd.Args...)
	run := r.Run
	if run == nil {
		run = RunChild
	}
	return r.finish(srv, run(ctx, path, argv, childEnv(wrapper.WithoutSelf(r.Env), srv.Host())))
}

// findReal is the real program's path, or the exit status (non-zero) and
// a message when there is none.
func findReal(p intercept.Program, getenv func(string) string, stderr io.Writer) (string, int) {
	path, err := wrapper.FindReal(p, getenv)
	if err == nil && getenv(realOverride(p)) != "" {
		err = wrapper.CheckReal(path)
	}
	if err == nil {
		return path, 0
	}
	fmt.Fprintf(stderr, "ledger_docker: %v\nNothing was run.\n", err)
	if errors.Is(err, wrapper.ErrNotReal) {
		return "", exitcode.Unavailable
	}
	return "", wrapper.ExitNotFound
}

// options are the guard's options for r.
func (r Request) options() apiguard.Options {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	conn, cfg := r.Conn, r.Config
	return apiguard.Options{
		Dial:   conn.Dial,
		Engine: conn.Engine,
		Policy: apiguard.Policy{Protected: cfg.IsProtected, Label: cfg.ProtectLabel},
		Snapshot: func(ctx context.Context, s apiguard.Save) (string, error) {
			return snapshot.Take(ctx, conn.Engine, s.Volume.Name, snapshotDir(ctx, conn, cfg, r.Dirs, s), now())
		},
		Log: r.Stderr,
	}
}

// finish stops the guard after the program ended with code and returns
// the command's exit status.
func (r Request) finish(srv *apiguard.Server, code int) int {
	in := r.Intent
	if err := srv.Close(); err != nil {
		fmt.Fprintf(r.Stderr, "ledger_docker: %v\n", err)
	}
	denied := srv.Denied()
	if len(denied) == 0 && code != 0 && code != exitcode.Interrupted && srv.Unreachable() {
		fmt.Fprintf(r.Stderr, "ledger_docker: the engine `%s` uses did not answer (see above); no volume was touched by the guard.\n", in.CommandLine())
		return exitcode.Unavailable
	}
	if len(denied) == 0 || code == exitcode.Interrupted {
		return code
	}
	fmt.Fprintf(r.Stderr, "ledger_docker: the engine API guard refused %d request(s) of `%s`; no protected volume was lost.\n", len(denied), in.CommandLine())
	return refusedStatus(r, denied)
}

// refusedStatus is the exit status after refusals: 77 when a protected
// volume was at stake, 75 when a snapshot failed, else 69 (the guard
// could not tell and failed closed).
func refusedStatus(r Request, denied []apiguard.Decision) int {
	status := exitcode.Unavailable
	for _, x := range denied {
		switch {
		case x.Status == http.StatusForbidden:
			if r.Verdict != "block" {
				logDisagreement(r, denied)
			}
			return exitcode.Blocked
		case x.BackupFailed:
			status = exitcode.BackupFailed
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

// RunChild runs the real program as a child (StartChild) and returns its
// exit status.
func RunChild(_ context.Context, path string, argv, env []string) int {
	c, err := StartChild(path, argv, env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ledger_docker: run %s: %v\n", path, err)
		return wrapper.ExitNotFound
	}
	return c.Wait()
}

// Child is the real program, running.
type Child struct {
	proc *os.Process
	path string
	sigs chan os.Signal
	done chan struct{}
	// got: an interrupt (SIGINT, SIGQUIT) came while it ran
	got atomic.Bool
	// tty: the child shares the guard's process group and terminal
	// (onTerminal), so the terminal's interrupts reach it directly
	tty bool
}

// StartChild starts the real program as a child with the same stdio.
// With a terminal (on stdin, stdout or stderr) it runs in the same process
// group, so that the terminal's Ctrl-C reaches it directly, and SIGTERM
// and SIGHUP sent to the guard are passed on. Without one it runs in a
// process group of its own and every signal the guard gets (SIGINT,
// SIGQUIT, SIGTERM, SIGHUP) is passed on once: a SIGINT sent to the
// guard's process group must not reach compose twice (the second one
// makes it stop waiting for its containers to stop). The C front starts
// its child the same way.
func StartChild(path string, argv, env []string) (*Child, error) {
	c := newChild(path)
	attr := &os.ProcAttr{Env: env, Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}}
	if !c.tty {
		attr.Sys = &syscall.SysProcAttr{Setpgid: true}
	}
	p, err := os.StartProcess(path, argv, attr)
	if err != nil {
		signal.Stop(c.sigs)
		return nil, err
	}
	c.start(p)
	return c, nil
}

// AdoptChild takes the real program the C front started (a child of this
// process: the front exec'd this program) as StartChild would have
// started it.
func AdoptChild(pid int) (*Child, error) {
	c := newChild("docker")
	p, err := os.FindProcess(pid)
	if err != nil {
		signal.Stop(c.sigs)
		return nil, err
	}
	c.start(p)
	return c, nil
}

func newChild(path string) *Child {
	c := &Child{path: path, sigs: make(chan os.Signal, 4), done: make(chan struct{}), tty: onTerminal()}
	signal.Notify(c.sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	return c
}

// onTerminal: stdin, stdout or stderr is a terminal.
func onTerminal() bool {
	for _, f := range []*os.File{os.Stdin, os.Stdout, os.Stderr} {
		if term.IsTerminal(int(f.Fd())) {
			return true
		}
	}
	return false
}

func (c *Child) start(p *os.Process) {
	c.proc = p
	tty := c.tty
	go func() {
		for {
			select {
			case s := <-c.sigs:
				if s == os.Interrupt || s == syscall.SIGQUIT {
					c.got.Store(true)
					if tty {
						continue
					}
				}
				_ = c.proc.Signal(s)
			case <-c.done:
				return
			}
		}
	}()
}

// Wait waits for the program and returns its exit status (128+N when a
// signal N ended it, 130 when it failed after an interrupt).
func (c *Child) Wait() int {
	st, err := c.proc.Wait()
	signal.Stop(c.sigs)
	close(c.done)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ledger_docker: run %s: %v\n", c.path, err)
		return wrapper.ExitNotFound
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if c.got.Load() && st.ExitCode() != 0 {
		return exitcode.Interrupted
	}
	return st.ExitCode()
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
// cp, volume ls...). It returns the exit status.
//
// The real program starts as soon as the guard's socket exists, before
// the guard has read its configuration and resolved the engine's
// endpoint: the program's own start-up (several milliseconds) covers the
// guard's. Its requests wait in the socket's backlog until the guard
// answers; when the set-up fails, the guard refuses every one of them, so
// nothing reaches the engine.
func Main(prog intercept.Program, args, env []string, stderr io.Writer) int {
	getenv := wrapper.Getenv(env)
	in := intercept.Parse(append([]string{string(prog)}, args...), getenv)
	cmd, err := Split(in, nil, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "ledger_docker: %v\nNothing was run.\n", err)
		return exitcode.Usage
	}
	path, code := findReal(in.Program, getenv, stderr)
	if code != 0 {
		return code
	}
	srv, err := apiguard.Listen()
	if err != nil {
		fmt.Fprintf(stderr, "ledger_docker: cannot start the engine API guard: %v\nNothing was run.\n", err)
		return exitcode.Unavailable
	}
	argv := append([]string{string(in.Program)}, cmd.Args...)
	child, err := StartChild(path, argv, childEnv(wrapper.WithoutSelf(env), srv.Host()))
	if err != nil {
		_ = srv.Close()
		fmt.Fprintf(stderr, "ledger_docker: run %s: %v\nNothing was run.\n", path, err)
		return wrapper.ExitNotFound
	}
	return serve(in, cmd, env, stderr, srv, child)
}

// Adopt runs a command behind the guard whose real docker the C front
// started already (intercept.StartsAtFront): pid is that child, fd the
// guard's listening socket. The child's requests wait in the socket's
// backlog until the guard answers them.
func Adopt(args, env []string, stderr io.Writer, pid, fd int) int {
	getenv := wrapper.Getenv(env)
	argv := append([]string{string(intercept.Docker)}, args...)
	in := intercept.Parse(argv, getenv)
	child, err := AdoptChild(pid)
	if err != nil {
		fmt.Fprintf(stderr, "ledger_docker: the real docker the front started: %v\n", err)
		return exitcode.Unavailable
	}
	srv, err := apiguard.Adopt(os.NewFile(uintptr(fd), "guard socket"))
	if err != nil {
		// nobody listens now: the child's requests fail
		code := child.Wait()
		fmt.Fprintf(stderr, "ledger_docker: %v\nNo request of `%s` reached the engine (docker exited %d).\n", err, in.CommandLine(), code)
		return exitcode.Unavailable
	}
	if !intercept.StartsAtFront(argv, getenv) {
		return fail(in, stderr, srv, child, exitcode.Unavailable, "ledger_docker's front started the real docker for a command line it must hand over first (a bug: please report it)")
	}
	cmd, err := Split(in, nil, getenv)
	if err != nil {
		return fail(in, stderr, srv, child, exitcode.Usage, err.Error())
	}
	return serve(in, cmd, env, stderr, srv, child)
}

// serve sets the guard up for a running child: its configuration and the
// engine's endpoint, then answers the child's requests until it ends.
func serve(in intercept.Intent, cmd Command, env []string, stderr io.Writer, srv *apiguard.Server, child *Child) int {
	getenv := wrapper.Getenv(env)
	cfg, err := config.Load(getenv)
	if err != nil {
		return fail(in, stderr, srv, child, exitcode.Config, err.Error())
	}
	ctx := context.Background()
	conn, err := enginedocker.Connect(ctx, cmd.Opts)
	if err != nil {
		return fail(in, stderr, srv, child, exitcode.Unavailable, fmt.Sprintf("cannot reach the engine `%s` would use: %v", in.CommandLine(), err))
	}
	defer conn.Close()
	r := Request{Intent: in, Cmd: cmd, Conn: conn, Config: cfg, Env: env, Stderr: stderr}
	srv.Serve(r.options())
	return r.finish(srv, child.Wait())
}

// fail refuses every request of a running child (the guard could not be
// set up), waits for it and returns status.
func fail(in intercept.Intent, stderr io.Writer, srv *apiguard.Server, child *Child, status int, msg string) int {
	srv.Fail(msg)
	child.Wait()
	_ = srv.Close()
	fmt.Fprintf(stderr, "ledger_docker: %s\nNo request of `%s` reached the engine.\n", msg, in.CommandLine())
	return status
}
