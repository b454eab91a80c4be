package testenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hostileSetup is a tester's machine at its worst: ~/.docker/config.json
// with install.sh's pruneFilters, an alias that turns `docker builder` into
// compose and a currentContext that does not exist, DOCKER_CONFIG pointing
// at it, an XDG config naming another protect label, and ledger-docker's
// variables set. The returned variables go on top of the outer environment.
func hostileSetup(t *testing.T) (home string, env []string) {
	t.Helper()
	home = filepath.Join(t.TempDir(), "hostile-home")
	cfg := filepath.Join(home, ".docker")
	if err := os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o700); err != nil {
		t.Fatal(err)
	}
	config := `{"pruneFilters": ["label!=com.ledgerflow.protect=true"], "aliases": {"builder": "compose"}, "currentContext": "hostile-nowhere"}`
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// The plugin sits next to config.json, as on a machine where install.sh
	// or Docker's packages put it there: found, config.json not read.
	if p := findCompose(); p != "" {
		if err := os.Symlink(p, filepath.Join(cfg, "cli-plugins", "docker-compose")); err != nil {
			t.Fatal(err)
		}
	}
	ledgerCfg := filepath.Join(home, ".config", "ledger-docker", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(ledgerCfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ledgerCfg, []byte("protect_label: hostile.xdg.label\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(home, "ledger.yaml")
	if err := os.WriteFile(other, []byte("protect_label: hostile.config.label\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return home, []string{
		"HOME=" + home,
		"DOCKER_CONFIG=" + cfg,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"LEDGER_PROTECT_LABEL=hostile.env.label",
		"LEDGER_EXPLAIN=1",
		"LEDGER_REAL_DOCKER=" + filepath.Join(home, "no-such-docker"),
		"LEDGER_CONFIG=" + other,
	}
}

// TestEnvironLeavesOutTheTestersConfiguration: none of the hostile values
// reaches a command the harness runs; what it needs is kept; extras win.
func TestEnvironLeavesOutTheTestersConfiguration(t *testing.T) {
	// The Go build variables are read once from the tester's real
	// environment (go env), before anything here changes it.
	Environ()
	home, hostile := hostileSetup(t)
	for _, kv := range append(hostile,
		"DOCKER_CONTEXT=hostile-nowhere", "DOCKER_CERT_PATH="+home, "DOCKER_TLS_VERIFY=1", "DOCKER_TLS=1",
		"DOCKER_API_VERSION=1.12", "COMPOSE_FILE="+home+"/compose.yaml", "COMPOSE_PROJECT_NAME=hostile",
		"XDG_DATA_HOME="+home, "XDG_STATE_HOME="+home, "XDG_CACHE_HOME="+home,
		"LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TERM=dumb", "GOFLAGS=-mod=mod") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST")

	env := Environ("LEDGER_EXPLAIN=from-the-test", "COMPOSE_PROFILES=test")
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := got[k]; dup {
			t.Errorf("%s set twice", k)
		}
		got[k] = v
		if strings.Contains(v, home) || strings.Contains(v, "hostile") {
			t.Errorf("hostile value reached the environment: %s", kv)
		}
		switch {
		case strings.HasPrefix(k, "LEDGER_") && k != "LEDGER_EXPLAIN",
			strings.HasPrefix(k, "COMPOSE_") && k != "COMPOSE_PROFILES",
			k == "DOCKER_CONTEXT", k == "DOCKER_CERT_PATH", strings.HasPrefix(k, "DOCKER_TLS"),
			k == "DOCKER_API_VERSION", k == "DOCKER_HOST":
			t.Errorf("%s comes from the outer environment", kv)
		}
	}
	for k, want := range map[string]string{"PATH": os.Getenv("PATH"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
		"TERM": "dumb", "GOFLAGS": "-mod=mod", "LEDGER_EXPLAIN": "from-the-test", "COMPOSE_PROFILES": "test"} {
		if got[k] != want {
			t.Errorf("%s=%q, want %q", k, got[k], want)
		}
	}
	if v := goEnvOnce()["GOCACHE"]; v != "" && got["GOCACHE"] != v {
		t.Errorf("GOCACHE=%q, want the tester's %q", got["GOCACHE"], v)
	}
	private := got["HOME"]
	fi, err := os.Stat(private)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("private HOME %q: %v %v", private, fi, err)
	}
	for k, rel := range map[string]string{"XDG_CONFIG_HOME": "config", "XDG_DATA_HOME": "data",
		"XDG_STATE_HOME": "state", "XDG_CACHE_HOME": "cache", "DOCKER_CONFIG": ".docker"} {
		if got[k] != filepath.Join(private, rel) {
			t.Errorf("%s=%q, want %s", k, got[k], filepath.Join(private, rel))
		}
	}
	if _, err := os.Stat(filepath.Join(got["DOCKER_CONFIG"], "config.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the private DOCKER_CONFIG has a config.json: %v", err)
	}
	if p := findCompose(); p != "" {
		if l, err := os.Readlink(filepath.Join(got["DOCKER_CONFIG"], "cli-plugins", "docker-compose")); err != nil || l != p {
			t.Errorf("cli-plugins/docker-compose links to %q (%v), want %s", l, err, p)
		}
	}

	// The engine endpoint the tester set is kept, with its TLS settings
	// only for tcp.
	t.Setenv("DOCKER_HOST", "unix:///run/other.sock")
	if env := strings.Join(Environ(), "\n"); !strings.Contains(env, "DOCKER_HOST=unix:///run/other.sock") || strings.Contains(env, "DOCKER_TLS_VERIFY") {
		t.Errorf("unix DOCKER_HOST:\n%s", env)
	}
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:2376")
	if env := strings.Join(Environ(), "\n"); !strings.Contains(env, "DOCKER_TLS_VERIFY=1") || !strings.Contains(env, "DOCKER_CERT_PATH="+home) {
		t.Errorf("tcp DOCKER_HOST without its TLS settings:\n%s", env)
	}
}

// TestRunCmdOwnProcessGroup: a helper that hangs up its whole process group
// (as mmdebstrap does on an error) fails the call with its stderr; it does
// not reach the test process.
func TestRunCmdOwnProcessGroup(t *testing.T) {
	script := filepath.Join(t.TempDir(), "hangup.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'E: setup failed, hanging up' >&2\nkill -HUP 0\nsleep 5\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := runCmd(ctx, "", nil, "sh", script)
	if err == nil {
		t.Fatal("a helper killed by SIGHUP: want an error")
	}
	for _, want := range []string{"hangup", "E: setup failed, hanging up", script} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestRunCmdDeadlineKillsTheGroup: at the deadline the helper and what it
// started in the background are killed, and the error says so.
func TestRunCmdDeadlineKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := filepath.Join(dir, "hang.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 300 &\necho $! > \"$1\"\necho started >&2\nwait\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := runCmd(ctx, "", nil, "sh", script, pidFile)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") || !strings.Contains(err.Error(), "process group was killed") ||
		!strings.Contains(err.Error(), "started") {
		t.Fatalf("error %v: want the deadline, the killed group and the stderr", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// SIGKILL is delivered asynchronously: wait (bounded) for it.
	for deadline := time.Now().Add(30 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the helper's background process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] != 'Z'
	}
	return true
}

// TestForwardSocket: the forwarded socket reaches the same engine, directly
// and as a docker context in a private DOCKER_CONFIG, counts its
// connections, lives in a private folder and is gone after the test.
func TestForwardSocket(t *testing.T) {
	RequireEngine(t)
	docker := RealDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := func(env []string, args ...string) string {
		t.Helper()
		out, err := runCmd(ctx, "", env, append([]string{docker}, append(args, "info", "--format", "{{.ID}}")...)...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	want := id(nil)
	var sock string
	t.Run("forward", func(t *testing.T) {
		sock = ForwardSocket(t)
		if fi, err := os.Stat(filepath.Dir(sock)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("socket folder: %v %v, want 0700", fi, err)
		}
		if got := id(nil, "-H", "unix://"+sock); got != want {
			t.Errorf("engine ID through the socket %q, want %q", got, want)
		}
		cfg := []string{"DOCKER_CONFIG=" + t.TempDir()}
		if _, err := runCmd(ctx, "", cfg, docker, "context", "create", "second", "--docker", "host=unix://"+sock); err != nil {
			t.Fatal(err)
		}
		if got := id(cfg, "--context", "second"); got != want {
			t.Errorf("engine ID through the context %q, want %q", got, want)
		}
		if n := ForwardedConnections(sock); n < 2 {
			t.Errorf("ForwardedConnections = %d, want at least 2", n)
		}
	})
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after the test: %v", err)
	}
	if c, err := net.Dial("unix", sock); err == nil {
		c.Close()
		t.Error("the socket still accepts connections after the test")
	}
}

// TestHostileTesterConfigurationChangesNoResult runs a few e2e tests of the
// wrapper as `go test` subprocesses, once in the tester's environment and
// once with hostileSetup on top, and wants the same result for each test.
// (It compares results rather than requiring passes: the wrapper's own
// tests are judged by its package.)
func TestHostileTesterConfigurationChangesNoResult(t *testing.T) {
	RequireEngine(t)
	ComposeV2(t)
	if testing.Short() {
		t.Skip("runs e2e tests of internal/wrapper twice (-short)")
	}
	tests := []string{"TestPassThroughKeepsOutputAndStatus", "TestComposeDownVolumesIsBlocked", "TestVolumePruneSnapshotsWhatItLetsGo"}
	_, hostile := hostileSetup(t)
	// Both runs: the tester's environment with the Go build settings made
	// explicit (the hostile HOME must not change where go finds its
	// caches) and without the variables the hostile run sets.
	replaced := map[string]bool{}
	for _, kv := range hostile {
		k, _, _ := strings.Cut(kv, "=")
		replaced[k] = true
	}
	var base []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !replaced[k] {
			base = append(base, kv)
		}
	}
	base = append(base, goBuildEnv(os.Environ())...)

	runs := map[string][]string{"tester's environment": base, "hostile configuration": append(append([]string(nil), base...), hostile...)}
	results := map[string]map[string]string{}
	root := RepoRoot(t)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, env := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, out, err := goTestResults(root, env, "./internal/wrapper/", tests)
			mu.Lock()
			defer mu.Unlock()
			results[name] = res
			if err != nil && len(res) == 0 {
				t.Errorf("%s: go test ran no test: %v\n%s", name, err, out)
			}
			for test, r := range res {
				if r != "pass" {
					t.Logf("%s: %s %s; its output:\n%s", name, test, r, out)
					break
				}
			}
		}()
	}
	wg.Wait()
	base0, hostile0 := results["tester's environment"], results["hostile configuration"]
	for _, test := range tests {
		b, h := base0[test], hostile0[test]
		switch {
		case b == "" || h == "":
			t.Errorf("%s did not run (tester's environment: %q, hostile: %q)", test, b, h)
		case b == "skip":
			t.Errorf("%s skipped: it proves nothing", test)
		case b != h:
			t.Errorf("%s: %s in the tester's environment, %s with the hostile configuration", test, b, h)
		case b == "fail":
			// failing the same way both times shows nothing about isolation
			t.Errorf("%s: fail both times (see the output above): this run cannot show the isolation for it", test)
		default:
			t.Logf("%s: %s both times", test, b)
		}
	}
}

// goTestResults runs `go test -json -run ^(tests)$ pkg` in root with env, in
// its own process group with a deadline, and returns each top-level test's
// action (pass, fail, skip) and the plain output.
func goTestResults(root string, env []string, pkg string, tests []string) (map[string]string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := groupCommand(ctx, "go", "test", "-count=1", "-json", "-timeout", "12m",
		"-run", "^("+strings.Join(tests, "|")+")$", pkg)
	cmd.Dir = root
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	res := map[string]string{}
	var text strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct{ Action, Test, Output string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			text.WriteString(sc.Text() + "\n")
			continue
		}
		text.WriteString(ev.Output)
		if ev.Test != "" && !strings.Contains(ev.Test, "/") && (ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip") {
			res[ev.Test] = ev.Action
		}
	}
	text.WriteString(stderr.String())
	return res, text.String(), err
}
