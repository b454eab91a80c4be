package protect_test

import (
	"bufio"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// listing is an independent description of a volume's content, made with
// plain find and sha256sum in a throwaway container of the PostgreSQL
// image: every path with its type, mode, owner, size and link target, and
// every regular file's sha256.
func listing(t *testing.T, p *testenv.Project, volume string) string {
	t.Helper()
	r := p.Docker("run", "--rm", "--network", "none", "-v", volume+":/v:ro", "--entrypoint", "sh", testenv.PostgresImage(t), "-c",
		`cd /v && find . -printf '%p %y %m %U:%G %s %l\n' | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort`)
	if r.ExitCode != 0 {
		t.Fatalf("list volume %s: %s", volume, r)
	}
	return r.Stdout
}

// lineDiff shows the lines only one side has.
func lineDiff(a, b string) string {
	var out []string
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func inspect(t *testing.T, p *testenv.Project, volume, format string) string {
	t.Helper()
	r := p.Docker("volume", "inspect", "-f", format, volume)
	if r.ExitCode != 0 {
		t.Fatalf("inspect %s: %s", volume, r)
	}
	return strings.TrimSpace(r.Stdout)
}

// TestProtectRunningProject: protect both volumes of a running project.
// Every file stays byte-identical (PostgreSQL's 0700 data folder owned by
// its user included), the volumes carry the label, the services run again
// with their rows, and `docker compose up` afterwards keeps the volumes.
func TestProtectRunningProject(t *testing.T) {
	p := testenv.NewProject(t, "protect-volume")
	p.Up()
	p.WaitPostgres("db")
	p.Psql("db", "CREATE TABLE entries (id serial PRIMARY KEY, memo text); INSERT INTO entries (memo) SELECT md5(g::text) FROM generate_series(1, 5000) g;")

	// media: a binary file, an empty one, a private one, nested folders, a symlink
	src := t.TempDir()
	blob := make([]byte, 3<<20)
	rand.Read(blob)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "uploads", "2026", "01"), 0o755))
	must(os.WriteFile(filepath.Join(src, "uploads", "2026", "01", "scan.bin"), blob, 0o644))
	must(os.WriteFile(filepath.Join(src, "empty"), nil, 0o644))
	must(os.WriteFile(filepath.Join(src, "private.key"), []byte("secret\n"), 0o600))
	must(os.Symlink("uploads/2026/01/scan.bin", filepath.Join(src, "latest")))
	p.Docker("cp", src+"/.", p.ContainerID("app")+":/media")

	// the checker sees what protect is for: unprotected volumes in the file,
	// and, once the file labels media, a volume on the engine without it
	// (the engine lookup gets 30 s here: the test asserts no speed)
	engineEnv := []string{"LEDGER_CHECK_ENGINE_TIMEOUT=30s"}
	if r := p.RunEnv(engineEnv, "ledger-precommit", "compose.yaml"); r.ExitCode != 1 || strings.Count(r.Stdout, "[volume-unprotected]") != 2 {
		t.Fatalf("ledger-precommit before protect: %s", r)
	}
	file, _ := os.ReadFile(filepath.Join(p.Dir, "compose.yaml"))
	p.WriteFile("compose.yaml", strings.Replace(string(file), "media: {}", `media: {labels: {com.ledgerflow.protect: "true"}}`, 1))
	r := p.RunEnv(engineEnv, "ledger-precommit", "compose.yaml")
	if r.ExitCode != 1 || !strings.Contains(r.Stdout, `warning: volume "media" exists on the engine as "`+p.Volume("media")+`" without com.ledgerflow.protect=true`) ||
		!strings.Contains(r.Stdout, "docker ledger protect "+p.Volume("media")) {
		t.Fatalf("ledger-precommit with media labelled in the file only: %s", r)
	}

	// pgdata with its service stopped (PostgreSQL writes as soon as it runs,
	// so only a stopped database can be compared file by file), media with
	// its service running: protect stops it and starts it again.
	p.Compose("stop", "db")
	for _, tc := range []struct {
		key, service string
		running      bool
	}{{"pgdata", "db", false}, {"media", "app", true}} {
		vol := p.Volume(tc.key)
		before := listing(t, p, vol)

		r = p.Run("docker-ledger", "ledger", "protect", vol, "--dry-run")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Plan to protect volume "+vol) {
			t.Fatalf("protect --dry-run: %s", r)
		}
		if got := inspect(t, p, vol, `{{index .Labels "com.ledgerflow.protect"}}`); got != "" {
			t.Fatalf("--dry-run changed the volume: label %q", got)
		}
		if r := p.Run("docker-ledger", "ledger", "protect", vol); r.ExitCode != 2 || !strings.Contains(r.Stderr, "--yes required") {
			t.Fatalf("protect without --yes and without a TTY: %s", r)
		}

		r = p.Run("docker-ledger", "ledger", "protect", vol, "--yes")
		if r.ExitCode != 0 {
			t.Fatalf("protect %s: %s", vol, r)
		}
		if !strings.Contains(r.Stdout, "volume "+vol+" is protected") {
			t.Errorf("protect output: %s", r)
		}
		if got := inspect(t, p, vol, `{{index .Labels "com.ledgerflow.protect"}}`); got != "true" {
			t.Errorf("%s label after protect = %q", vol, got)
		}
		running := strings.Fields(p.Compose("ps", "--status", "running", "--services").Stdout)
		if slices.Contains(running, tc.service) != tc.running {
			t.Errorf("service %s running after protect = %v, want %v (running: %v)", tc.service, !tc.running, tc.running, running)
		}
		if after := listing(t, p, vol); after != before {
			t.Errorf("volume %s changed:\n%s", vol, lineDiff(before, after))
		}
		snaps, _ := filepath.Glob(filepath.Join(p.Home, "data", "ledger-docker", "snapshots", vol+"_*.tar.gz"))
		if len(snaps) != 1 {
			t.Errorf("snapshots kept for %s: %v", vol, snaps)
		}
	}
	p.Compose("start", "db")
	p.WaitPostgres("db")
	if got := p.Psql("db", "SELECT count(*) FROM entries"); got != "5000" {
		t.Errorf("rows after protect = %s, want 5000", got)
	}

	// compose up afterwards keeps the volumes: no recreate offered, same volumes
	created := map[string]string{}
	for _, key := range []string{"pgdata", "media"} {
		created[key] = inspect(t, p, p.Volume(key), "{{.CreatedAt}}")
	}
	r = p.Compose("up", "-d")
	if strings.Contains(r.Stdout+r.Stderr, "Recreate") || strings.Contains(r.Stdout+r.Stderr, "doesn't match") {
		t.Errorf("compose up wants to recreate a volume: %s", r)
	}
	for _, key := range []string{"pgdata", "media"} {
		if got := inspect(t, p, p.Volume(key), "{{.CreatedAt}}"); got != created[key] {
			t.Errorf("volume %s recreated by compose up (created %s, was %s)", key, got, created[key])
		}
	}
	// the compose file now protects both volumes, and the engine agrees
	if r := p.RunEnv(engineEnv, "ledger-precommit", "compose.yaml"); r.ExitCode != 0 || r.Stdout != "" {
		t.Errorf("ledger-precommit after protect: %s", r)
	}
	src2, _ := os.ReadFile(filepath.Join(p.Dir, "compose.yaml"))
	if !strings.Contains(string(src2), "driver: local   # the ledger's data") {
		t.Errorf("compose file lost its comment:\n%s", src2)
	}
}

// TestProtectOnAnotherContext: `docker --context X ledger protect VOL`
// (docker runs the plugin with its global flags before "ledger") does
// every step on X: the volume's recreation and compose's stop and start of
// the service that uses it. DOCKER_HOST names an engine that does not
// exist, so a step that forgets the context fails.
func TestProtectOnAnotherContext(t *testing.T) {
	p := testenv.NewProject(t, "protect-volume")
	p.Up()
	ctxName := "second-" + p.Name
	if r := p.Docker("context", "create", ctxName, "--docker", "host=unix://"+testenv.ForwardSocket(t)); r.ExitCode != 0 {
		t.Fatalf("context create: %s", r)
	}
	t.Cleanup(func() { p.Docker("context", "rm", "-f", ctxName) })
	vol := p.Volume("media")
	r := p.RunEnv([]string{"DOCKER_HOST=unix:///nonexistent/docker.sock"},
		"docker-ledger", "--context", ctxName, "ledger", "protect", vol, "--yes")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "volume "+vol+" is protected") {
		t.Fatalf("docker --context %s ledger protect %s: %s", ctxName, vol, r)
	}
	if got := inspect(t, p, vol, `{{index .Labels "com.ledgerflow.protect"}}`); got != "true" {
		t.Errorf("%s label after protect = %q", vol, got)
	}
	if running := strings.Fields(p.Compose("ps", "--status", "running", "--services").Stdout); !slices.Contains(running, "app") {
		t.Errorf("service app not running after protect (running: %v)", running)
	}
}

// TestProtectInterrupted: Ctrl-C (SIGINT) while protect copies the data
// back. The run stops cleanly: either the old volume is back (no label) or
// the protected one is complete; either way every file is identical and the
// service runs again.
func TestProtectInterrupted(t *testing.T) {
	p := testenv.NewProject(t, "protect-volume")
	p.Up("app")
	src := t.TempDir()
	blob := make([]byte, 64<<20)
	rand.Read(blob)
	if err := os.WriteFile(filepath.Join(src, "big.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	p.Docker("cp", src+"/.", p.ContainerID("app")+":/media")
	vol := p.Volume("media")
	before := listing(t, p, vol)

	cmd := exec.Command(testenv.Binary(t, "docker-ledger"), "ledger", "protect", vol, "--yes")
	cmd.Dir = p.Dir
	cmd.Env = testenv.Environ(p.Env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sent := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !sent && strings.HasPrefix(sc.Text(), "create volume ") {
			sent = cmd.Process.Signal(os.Interrupt) == nil
		}
	}
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if !sent {
		// the progress line it waits for changed: nothing was tested
		t.Fatalf("no SIGINT sent: protect printed no line starting with \"create volume \":\n%s", log.String())
	}
	t.Logf("protect exited %d after SIGINT:\n%s", code, log.String())
	label := inspect(t, p, vol, `{{index .Labels "com.ledgerflow.protect"}}`)
	switch {
	case code == 130 && label == "" && strings.Contains(log.String(), "interrupted: putting the volume"):
	case code == 0 && label == "true": // the signal came after the point of no return
	default:
		t.Fatalf("exit %d (%v) with label %q: want 130 and the old volume, or 0 and the protected one", code, err, label)
	}
	if after := listing(t, p, vol); after != before {
		t.Errorf("volume %s changed:\n%s", vol, lineDiff(before, after))
	}
	if running := strings.Fields(p.Compose("ps", "--status", "running", "--services").Stdout); !slices.Contains(running, "app") {
		t.Errorf("app not running after the interrupted protect: %v", running)
	}
}
