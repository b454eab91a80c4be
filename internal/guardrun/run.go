package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/policy"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

// runGuarded starts the engine API guard on a private socket, runs the
// real program with its endpoint replaced by that socket, and returns the
// program's exit status, or 77 when the guard refused a request.
func runGuarded(ctx context.Context, o Options, in intercept.Intent, cfg *config.Config, cmd Command, conn Connection, d decision) int {
	getenv := wrapper.Getenv(o.Env)
	path, err := wrapper.FindReal(in.Program, getenv)
	if err == nil && getenv(realOverride(in.Program)) != "" {
		err = wrapper.CheckReal(path)
	}
	if err != nil {
		fmt.Fprintf(o.Stderr, "ledger_docker: %v\nNothing was run.\n", err)
		if errors.Is(err, wrapper.ErrNotReal) {
			return cli.ExitUnavailable
		}
		return 127
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	dirs := projectDirs(d.Volumes)
	srv, err := apiguard.Start(apiguard.Options{
		Dial:   conn.Dial,
		Engine: conn.Engine,
		Policy: apiguard.Policy{Protected: cfg.IsProtected, Label: cfg.ProtectLabel},
		Snapshot: func(ctx context.Context, s apiguard.Save) (string, error) {
			return snapshot.Take(ctx, conn.Engine, s.Volume.Name, snapshotDir(ctx, conn, cfg, dirs, s), now())
		},
		Log: o.Stderr,
	})
	if err != nil {
		fmt.Fprintf(o.Stderr, "ledger_docker: cannot start the engine API guard: %v\nNothing was run.\n", err)
		return cli.ExitUnavailable
	}
	argv := append([]string{string(in.Program)}, cmd.Args...)
	env := childEnv(wrapper.WithoutSelf(o.Env), srv.Host())
	run := o.Run
	if run == nil {
		run = RunChild
	}
	code := run(ctx, path, argv, env)
	closeErr := srv.Close()
	if closeErr != nil {
		fmt.Fprintf(o.Stderr, "ledger_docker: %v\n", closeErr)
	}
	denied := srv.Denied()
	if len(denied) == 0 {
		return code
	}
	fmt.Fprintf(o.Stderr, "ledger_docker: the engine API guard refused %d request(s) of `%s`; no protected volume was lost.\n", len(denied), in.CommandLine())
	return refusedStatus(o, in, d, denied)
}

// refusedStatus is the exit status after refusals: 77 when a protected
// volume was at stake, 75 when a snapshot failed, else 69 (the guard
// could not tell and failed closed).
func refusedStatus(o Options, in intercept.Intent, d decision, denied []apiguard.Decision) int {
	status := cli.ExitUnavailable
	for _, x := range denied {
		switch {
		case x.Status == http.StatusForbidden:
			if d.Verdict != policy.Block {
				logDisagreement(o, in, d, denied)
			}
			return cli.ExitBlocked
		case x.BackupFailed:
			status = cli.ExitBackupFailed
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
		return 127
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
			return cli.ExitInterrupted
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ledger_docker: run %s: %v\n", path, err)
		return 127
	}
	return 0
}

// projectDirs maps the early decision's volumes and projects to their
// compose project's folder.
func projectDirs(vols []policy.Volume) map[string]string {
	m := map[string]string{}
	for _, v := range vols {
		if v.WorkingDir != "" {
			m["volume:"+v.Name] = v.WorkingDir
			if v.Project != "" {
				m["project:"+v.Project] = v.WorkingDir
			}
		}
	}
	return m
}

// snapshotDir is where a volume's snapshot goes: its compose project's
// backups/dev/volumes when the project's folder is known here (from the
// command line's project, the container that holds the volume, or the
// project's containers), else the configured snapshot folder.
func snapshotDir(ctx context.Context, conn Connection, cfg *config.Config, dirs map[string]string, s apiguard.Save) string {
	dir := dirs["volume:"+s.Volume.Name]
	project := s.Volume.Labels[compose.ProjectLabel]
	if dir == "" && s.Holder.Labels != nil {
		dir = s.Holder.Labels[compose.WorkingDirLabel]
		if project == "" {
			project = s.Holder.Labels[compose.ProjectLabel]
		}
	}
	if dir == "" && project != "" {
		dir = dirs["project:"+project]
		if dir == "" {
			dir = projectDir(ctx, conn.Engine, project)
		}
	}
	if isDir(dir) {
		return filepath.Join(dir, VolumesSubdir)
	}
	return cfg.SnapshotDir
}

// logDisagreement records that the command-line check let through what
// the API guard refused (the guard wins): on stderr and in guard.log.
func logDisagreement(o Options, in intercept.Intent, d decision, denied []apiguard.Decision) {
	getenv := wrapper.Getenv(o.Env)
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
		"time": time.Now().UTC().Format(time.RFC3339), "command": in.CommandLine(),
		"command_line_verdict": d.Verdict, "guard_refused": refused,
	})
	fmt.Fprintf(o.Stderr, "ledger_docker: the command-line check said %q; the engine API guard refused instead (logged to %s).\n",
		d.Verdict, filepath.Join(dir, "guard.log"))
}
