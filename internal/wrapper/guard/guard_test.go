package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/apiguard/apiguardtest"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/guardrun"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/policy"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

type run struct {
	code           int
	stdout, stderr string
	execPath       string
	execArgv       []string
	execEnv        []string
}

// fakeDocker stands in for the real docker behind the guard: it sends the
// API requests docker would send for a few command lines to DOCKER_HOST
// (the guard's socket), and exits 1 when one is refused, as docker does.
func fakeDocker(r *run) func(ctx context.Context, path string, argv, env []string) int {
	return func(ctx context.Context, path string, argv, env []string) int {
		r.execPath, r.execArgv, r.execEnv = path, argv, env
		sock := strings.TrimPrefix(wrapper.Getenv(env)("DOCKER_HOST"), "unix://")
		c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return net.Dial("unix", sock)
		}}}
		send := func(method, url string) int {
			req, _ := http.NewRequestWithContext(ctx, method, "http://docker/v1.41"+url, nil)
			resp, err := c.Do(req)
			if err != nil {
				return 1
			}
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				return 1
			}
			return 0
		}
		args := strings.Join(argv[1:], " ")
		switch {
		case strings.HasPrefix(args, "volume rm "):
			code := 0
			for _, v := range argv[3:] {
				code |= send("DELETE", "/volumes/"+v)
			}
			return code
		case strings.HasPrefix(args, "volume prune"):
			return send("POST", "/volumes/prune")
		default:
			return send("GET", "/containers/json")
		}
	}
}

func guarded(t *testing.T, e *fake.Engine, explain bool, env []string, args ...string) run {
	return guardedDB(t, e, explain, env, func(context.Context, DBRequest) (string, error) { return "", nil }, args...)
}

func guardedDB(t *testing.T, e *fake.Engine, explain bool, env []string, db func(context.Context, DBRequest) (string, error), args ...string) run {
	t.Helper()
	home := t.TempDir()
	// a real "docker" for FindReal: any executable file will do, it is never run
	bin := filepath.Join(home, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env = append([]string{"HOME=" + home, "PATH=" + bin, "XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_STATE_HOME=" + filepath.Join(home, "state"), wrapper.EnvSelf + "=/nonexistent/ledger_docker"}, env...)
	var out, errOut bytes.Buffer
	var r run
	if e != nil {
		e.AddImage(snapshot.HelperImage)
	}
	r.code = Run(context.Background(), Options{
		Program: intercept.Docker, Args: args, Env: env, Stdout: &out, Stderr: &errOut, Explain: explain,
		Config:   func() (*config.Config, error) { return config.Load(wrapper.Getenv(env)) },
		DBBackup: db,
		Connect: func(ctx context.Context, cmd guardrun.Command) (guardrun.Connection, error) {
			if e == nil {
				return guardrun.Connection{}, engine.ErrUnreachable
			}
			return guardrun.Connection{Engine: e, Dial: apiguardtest.New(t, e).Dial, Context: "default"}, nil
		},
		Run: fakeDocker(&r),
		Now: func() time.Time { return time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC) },
	})
	r.stdout, r.stderr = out.String(), errOut.String()
	return r
}

func world() *fake.Engine {
	e := fake.New()
	e.AddVolume(engine.Volume{Name: "keep", Labels: map[string]string{config.DefaultProtectLabel: "true"}}, map[string]string{"a": "1"})
	e.AddVolume(engine.Volume{Name: "free"}, map[string]string{"b": "2"})
	return e
}

func TestBlockRunsNothing(t *testing.T) {
	e := world()
	r := guarded(t, e, false, nil, "volume", "rm", "keep", "free")
	if r.code != exitcode.Blocked || r.execPath != "" {
		t.Fatalf("code %d exec %q", r.code, r.execPath)
	}
	for _, want := range []string{"blocked `docker volume rm keep free`", "keep (PROTECTED)", "Nothing was run", "Safe alternatives"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, c := range e.Calls() {
		if strings.HasPrefix(c, "Remove") || strings.HasPrefix(c, "Create") {
			t.Errorf("a block must not touch the engine: %s", c)
		}
	}
}

func TestBackupThenRuns(t *testing.T) {
	e := world()
	r := guarded(t, e, false, []string{"USERVAR=x", "DOCKER_CONTEXT=far", "DOCKER_TLS_VERIFY=1"}, "volume", "rm", "free")
	if r.code != exitcode.OK || !strings.HasSuffix(r.execPath, "/bin/docker") || e.HasVolume("free") {
		t.Fatalf("code %d exec %q stderr %s", r.code, r.execPath, r.stderr)
	}
	if strings.Join(r.execArgv, " ") != "docker volume rm free" {
		t.Errorf("argv %q", r.execArgv)
	}
	for _, kv := range r.execEnv {
		if strings.HasPrefix(kv, wrapper.EnvSelf+"=") || kv == "DOCKER_CONTEXT=far" || kv == "DOCKER_TLS_VERIFY=1" {
			t.Errorf("the real docker must not see %s", kv)
		}
	}
	if h := wrapper.Getenv(r.execEnv)("DOCKER_HOST"); !strings.HasPrefix(h, "unix://") || !strings.Contains(h, "ledger-guard-") {
		t.Errorf("the real docker must talk to the guard, DOCKER_HOST=%q", h)
	}
	snaps, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(r.execPath)), "data", "ledger-docker", "snapshots", "free_20260506_070809.tar.gz"))
	if len(snaps) != 1 || !strings.Contains(r.stderr, "volume free saved to") {
		t.Errorf("snapshot %v\n%s", snaps, r.stderr)
	}
}

func TestBackupIntoProjectFolder(t *testing.T) {
	e := world()
	proj := t.TempDir()
	e.AddVolume(engine.Volume{Name: "shop_media", Labels: map[string]string{"com.docker.compose.project": "shop"}}, nil)
	e.AddVolume(engine.Volume{Name: "far_media", Labels: map[string]string{"com.docker.compose.project": "far"}}, nil)
	e.AddContainer(engine.Container{Name: "shop-app-1", Labels: map[string]string{
		"com.docker.compose.project": "shop", "com.docker.compose.project.working_dir": proj}})
	// a project folder that is not on this machine (remote engine)
	e.AddContainer(engine.Container{Name: "far-app-1", Labels: map[string]string{
		"com.docker.compose.project": "far", "com.docker.compose.project.working_dir": "/nonexistent/far"}})
	r := guarded(t, e, false, nil, "volume", "rm", "shop_media", "far_media")
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(proj, "backups", "dev", "volumes", "shop_media_*.tar.gz")); len(m) != 1 {
		t.Errorf("shop_media not in the project's folder: %s", r.stderr)
	}
	if !strings.Contains(r.stderr, filepath.Join("ledger-docker", "snapshots", "far_media_")) {
		t.Errorf("far_media not in the snapshot folder: %s", r.stderr)
	}
	if _, err := os.Stat("/nonexistent/far"); err == nil {
		t.Error("created a remote project's folder here")
	}
}

func TestBackupFailureRunsNothing(t *testing.T) {
	e := world()
	// the snapshot folder cannot be created: a file is in the way
	home := t.TempDir()
	blocker := filepath.Join(home, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := guarded(t, e, false, []string{"LEDGER_SNAPSHOT_DIR=" + filepath.Join(blocker, "snaps")}, "volume", "rm", "free")
	if r.code != exitcode.BackupFailed || !strings.Contains(r.stderr, "was not run") {
		t.Fatalf("code %d exec %q stderr %s", r.code, r.execPath, r.stderr)
	}
	if !e.HasVolume("free") {
		t.Error("volume deleted")
	}
}

func TestDBBackupHook(t *testing.T) {
	e := world()
	e.AddVolume(engine.Volume{Name: "shop_media", Labels: map[string]string{"com.docker.compose.project": "shop"}}, nil)
	var asked []string
	r := guardedDB(t, e, false, nil, func(ctx context.Context, req DBRequest) (string, error) {
		asked = append(asked, req.Project)
		return "", errors.New("pg_dump exited 1")
	}, "volume", "rm", "shop_media")
	if r.code != exitcode.BackupFailed || r.execPath != "" || strings.Join(asked, ",") != "shop" {
		t.Fatalf("code %d exec %q asked %v stderr %s", r.code, r.execPath, asked, r.stderr)
	}
}

func TestExplainPrintsOneObject(t *testing.T) {
	e := world()
	r := guarded(t, e, true, nil, "volume", "rm", "keep")
	var d policy.Decision
	if r.code != 0 || r.execPath != "" || json.Unmarshal([]byte(r.stdout), &d) != nil || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("code %d exec %q stdout %q", r.code, r.execPath, r.stdout)
	}
	if d.Verdict != policy.Block || len(d.Volumes) != 1 || !d.Volumes[0].Protected || d.Volumes[0].Action != "delete" {
		t.Errorf("%+v", d)
	}
	r = guarded(t, e, true, nil, "ps")
	if strings.TrimSpace(r.stdout) != `{"verdict":"pass","volumes":[],"reason":"the command deletes no volume"}` {
		t.Errorf("pass: %s", r.stdout)
	}
	if calls := e.Calls(); len(calls) != 0 {
		t.Errorf("explain of a pass must not ask the engine: %v", calls)
	}
}

func TestUnreachable(t *testing.T) {
	r := guarded(t, nil, false, nil, "volume", "prune", "-f")
	if r.code != exitcode.Unavailable || r.execPath != "" || !strings.Contains(r.stderr, "unreachable") {
		t.Fatalf("code %d stderr %s", r.code, r.stderr)
	}
	r = guarded(t, nil, false, nil, "ps")
	if r.code != exitcode.Unavailable || r.execPath != "" {
		t.Fatalf("no connection, no guard: nothing runs: code %d", r.code)
	}
}

func TestSplitProgram(t *testing.T) {
	for _, tt := range []struct{ args, prog, rest string }{
		{"compose down -v", "docker", "compose down -v"},
		{"docker compose down -v", "docker", "compose down -v"},
		{"docker-compose down -v", "docker-compose", "down -v"},
		{"/usr/bin/docker-compose down", "docker-compose", "down"},
	} {
		p, rest := SplitProgram(strings.Fields(tt.args))
		if string(p) != tt.prog || strings.Join(rest, " ") != tt.rest {
			t.Errorf("%s: %s %q", tt.args, p, rest)
		}
	}
}
