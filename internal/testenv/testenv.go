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
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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

// RealDocker is the path of the real docker CLI: LEDGER_REAL_DOCKER, else the
// first `docker` on PATH that is not ledger_docker (a shim or a link to it).
func RealDocker(t testing.TB) string {
	t.Helper()
	p, err := realDocker()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var realDocker = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("LEDGER_REAL_DOCKER"); p != "" {
		return p, nil
	}
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

// runCmd runs argv with extra env and returns combined output in errors.
func runCmd(ctx context.Context, dir string, env []string, argv ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%v: %w\n%s", argv, err, out)
	}
	return out, nil
}
