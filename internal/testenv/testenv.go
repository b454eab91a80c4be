// Package testenv is the end-to-end test harness: it checks that a real
// engine answers, builds the registry-free test images (PostgreSQL 15 from
// Debian's packages, a FROM-scratch idle image), makes sure the Compose v2
// plugin exists, builds our binaries once per test process, and runs
// scenario projects from testdata/e2e/<scenario>/ with cleanup.
//
// End-to-end tests call RequireEngine first: with LEDGER_E2E=0 they skip
// (disabled on purpose); otherwise a missing engine fails them.
package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
)

// EnvE2E is the environment variable that disables e2e tests when "0".
const EnvE2E = "LEDGER_E2E"

// Enabled reports whether e2e tests should run (LEDGER_E2E is not "0").
func Enabled() bool { return os.Getenv(EnvE2E) != "0" }

// RequireEngine skips the test when LEDGER_E2E=0 and fails it when no
// engine answers.
func RequireEngine(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skip("end-to-end test disabled on purpose (LEDGER_E2E=0)")
	}
	if err := pingEngine(); err != nil {
		t.Fatalf("no container engine answers (%v).\nStart one (docker info must work) or set LEDGER_E2E=0 to run unit tests only.", err)
	}
}

var pingOnce = sync.OnceValue(func() error {
	e, err := docker.FromEnv()
	if err != nil {
		return err
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = e.Info(ctx)
	return err
})

func pingEngine() error { return pingOnce() }

// RepoRoot is the module's root folder (the one holding go.mod), found from
// the working directory (go test runs in the package folder).
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var repoRoot = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
})

// RealDocker is the path of the real docker CLI: the first `docker` on PATH
// that is not ledger_docker (a shim or a link to it). The tester's
// LEDGER_REAL_DOCKER is not read (no LEDGER_* variable of the tester is).
func RealDocker(t testing.TB) string {
	t.Helper()
	p, err := realDocker()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var realDocker = sync.OnceValues(func() (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "docker")
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		if resolved, err := filepath.EvalSymlinks(p); err == nil && filepath.Base(resolved) == "ledger_docker" {
			continue
		}
		return p, nil
	}
	return "", errors.New("testenv: no docker CLI on PATH (other than ledger_docker)")
})

// hashFiles is a short hash of the named files' names and contents: the
// cache key of an image built from them.
func hashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(p), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// withLock runs fn holding an exclusive flock on a file in os.TempDir(), so
// test processes of different packages build a shared thing only once.
func withLock(name string, fn func() error) error {
	path := filepath.Join(os.TempDir(), "ledger-e2e-"+name+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open lock %s: %w", path, err)
	}
	defer f.Close()
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return fn()
}

// runCmd runs argv in dir with Environ(env...) and returns its stdout. It
// runs in its own process group (a build helper such as mmdebstrap signals
// its whole group on an error, which must not reach the test process), and
// when ctx ends the whole group is killed. The error names the command and
// how it ended, with the tail of its stderr.
func runCmd(ctx context.Context, dir string, env []string, argv ...string) ([]byte, error) {
	cmd := groupCommand(ctx, argv...)
	cmd.Dir = dir
	cmd.Env = Environ(env...)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the command left running in its group goes with it.
		_ = killGroup(cmd.Process.Pid)
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	how := err.Error()
	if ctxErr := ctx.Err(); ctxErr != nil {
		how = fmt.Sprintf("%v (%v after %s; its process group was killed)", err, ctxErr, time.Since(start).Round(time.Second))
	}
	return stdout.Bytes(), fmt.Errorf("%s: %s\n--- stderr (last lines):\n%s", strings.Join(argv, " "), how, stderr.tail(40))
}

// groupCommand is exec.CommandContext for argv in a process group of its
// own, which is killed whole when ctx ends.
func groupCommand(ctx context.Context, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	// Output pipes held open by a stray member of the group end this long
	// after the command itself.
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// killGroup sends SIGKILL to the process group pgid (gone already is fine).
func killGroup(pgid int) error {
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// tail is the last n lines written.
func (t *tailBuffer) tail(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(t.b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
