package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The Go binaries `make build` produces, by name -> package folder.
var binaryPkgs = map[string]string{
	"ledger_docker-full": "wrapper",
	"docker-ledger":      "plugin",
	"ledger-precommit":   "hooks",
}

// The C front `make build` produces (bin/ledger_docker), by name -> source.
var cBinaries = map[string]string{
	"ledger_docker": "wrapper/front/ledger_docker.c",
}

// FrontCFlags are the C front's compiler flags (the Makefile's FRONT_CFLAGS).
var FrontCFlags = []string{"-std=c11", "-Os", "-static", "-Wall", "-Wextra", "-Werror"}

type builtBinaries struct {
	dir  string
	errs map[string]error // why a binary is missing
}

// Binaries builds what `make build` builds (ledger_docker-full,
// docker-ledger and ledger-precommit static with CGO off; ledger_docker, the
// C front, with $CC or cc) once per test process and returns their folder. A binary whose package does not exist or does not build is
// left out; Binary fails the test that needs it, with the reason.
func Binaries(t testing.TB) string {
	t.Helper()
	b, err := buildBinaries()
	if err != nil {
		t.Fatalf("build binaries: %v", err)
	}
	return b.dir
}

// Binary returns the path of one of our binaries (see Binaries), failing the
// test clearly when it could not be built.
func Binary(t testing.TB, name string) string {
	t.Helper()
	b, err := buildBinaries()
	if err != nil {
		t.Fatalf("build binaries: %v", err)
	}
	_, isGo := binaryPkgs[name]
	if _, isC := cBinaries[name]; !isGo && !isC {
		t.Fatalf("testenv: %q is not one of our binaries", name)
	}
	if err := b.errs[name]; err != nil {
		t.Fatalf("binary %s is not available: %v", name, err)
	}
	return filepath.Join(b.dir, name)
}

var buildBinaries = sync.OnceValues(func() (*builtBinaries, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	parent := filepath.Join(os.TempDir(), "ledger-e2e-bin-"+strconv.Itoa(os.Getuid()))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	removeStale(parent)
	dir := filepath.Join(parent, strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b := &builtBinaries{dir: dir, errs: map[string]error{}}
	for name, pkg := range binaryPkgs {
		if !hasGoFiles(filepath.Join(root, pkg)) {
			b.errs[name] = fmt.Errorf("package ./%s does not exist yet", pkg)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		_, err := runCmd(ctx, root, []string{"CGO_ENABLED=0"},
			"go", "build", "-trimpath", "-o", filepath.Join(dir, name), "./"+pkg)
		cancel()
		if err != nil {
			b.errs[name] = err
		}
	}
	for name, src := range cBinaries {
		b.errs[name] = buildC(root, src, filepath.Join(dir, name))
	}
	return b, nil
})

// BuildFront compiles the C front (wrapper/front) alone into out, as make
// build does; the error says so when there is no C compiler.
func BuildFront(root, out string) error {
	return buildC(root, cBinaries["ledger_docker"], out)
}

// buildC compiles one C source with the front's flags, as make does:
// $FRONT_CC, else musl-gcc when there is one (a static musl program starts
// faster than a static glibc one), else $CC, else cc.
func buildC(root, src, out string) error {
	cc := os.Getenv("FRONT_CC")
	if cc == "" {
		if p, err := exec.LookPath("musl-gcc"); err == nil {
			cc = p
		}
	}
	if cc == "" {
		cc = os.Getenv("CC")
	}
	if cc == "" {
		cc = "cc"
	}
	ccArgv := strings.Fields(cc)
	if _, err := exec.LookPath(ccArgv[0]); err != nil {
		return fmt.Errorf("no C compiler (%s) to build %s: install gcc and libc6-dev, or set CC: %w", cc, src, err)
	}
	args := append(append(ccArgv, FrontCFlags...), "-o", out, src)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	_, err := runCmd(ctx, root, nil, args...)
	return err
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range m {
		if !strings.HasSuffix(f, "_test.go") {
			return true
		}
	}
	return false
}

// removeStale deletes binary folders of test processes that have ended
// (each folder is named by its process id).
func removeStale(parent string) {
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
}
