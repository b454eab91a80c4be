package wrapper_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/atomicfile"
	"github.com/ledger-docker/ledger-docker/internal/policy"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// Stories of ledger_docker on the real engine (testdata/e2e/wrapper/).

// explain reads explain mode's one JSON object.
func explain(t *testing.T, r testenv.Result) policy.Decision {
	t.Helper()
	var e policy.Decision
	if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &e) != nil || strings.Count(strings.TrimSpace(r.Stdout), "\n") != 0 {
		t.Fatalf("explain: want one JSON object and exit 0: %s", r)
	}
	return e
}

// fill writes files into a volume with the PostgreSQL image's shell.
func fill(t *testing.T, p *testenv.Project, volume string) {
	t.Helper()
	r := p.Docker("run", "--rm", "-v", volume+":/d", testenv.PostgresImage(t), "sh", "-c",
		"echo hello > /d/a.txt && mkdir -p /d/sub/deep && head -c 200000 /dev/urandom > /d/sub/deep/b.bin && chmod 640 /d/a.txt && chown 999:999 /d/sub/deep/b.bin && chown 999:999 /d && chmod 700 /d")
	if r.ExitCode != 0 {
		t.Fatalf("fill %s: %s", volume, r)
	}
}

// listing is a volume's files, its root folder included (PostgreSQL refuses
// a data folder whose owner or mode changed), with their mode and checksum.
func listing(t *testing.T, p *testenv.Project, volume string) string {
	t.Helper()
	r := p.Docker("run", "--rm", "-v", volume+":/d:ro", testenv.PostgresImage(t), "sh", "-c",
		"cd /d && find . -printf '%p %y %m %U:%G\\n' | sort && find . -type f -exec sha256sum {} + | sort")
	if r.ExitCode != 0 {
		t.Fatalf("list %s: %s", volume, r)
	}
	return r.Stdout
}

func TestComposeDownVolumesIsBlocked(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	p.Up()
	fill(t, p, p.Volume("media"))
	before := p.Compose("ps", "-q").Stdout

	e := explain(t, p.RunEnv([]string{"LEDGER_EXPLAIN=1"}, "ledger_docker", "compose", "down", "-v"))
	if e.Verdict != policy.Block {
		t.Fatalf("explain: %+v", e)
	}
	prot := map[string]bool{}
	for _, v := range e.Volumes {
		prot[v.Name] = v.Protected
	}
	if !prot[p.Volume("pgdata")] || prot[p.Volume("media")] || len(e.Volumes) != 3 {
		t.Errorf("explain volumes: %+v (want pgdata protected, media and the anonymous cache not)", e.Volumes)
	}

	for _, args := range [][]string{
		{"compose", "down", "-v"},
		{"compose", "down", "--volumes", "--remove-orphans", "-t", "1"},
		{"compose", "-p", p.Name, "down", "-v"},
	} {
		r := p.Run("ledger_docker", args...)
		if r.ExitCode != 77 {
			t.Fatalf("ledger_docker %v: want exit 77: %s", args, r)
		}
		if !strings.Contains(r.Stderr, p.Volume("pgdata")) || !strings.Contains(r.Stderr, "down   (without -v") {
			t.Errorf("stderr must name the protected volume and the safe alternative:\n%s", r.Stderr)
		}
	}
	for _, v := range []string{"pgdata", "media"} {
		if !p.VolumeExists(v) {
			t.Errorf("volume %s was deleted", v)
		}
	}
	if after := p.Compose("ps", "-q").Stdout; after != before {
		t.Errorf("containers changed: before %q after %q", before, after)
	}
}

func TestComposeV1ThroughShimIsBlocked(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	p.Up()
	shim := filepath.Join(p.Home, "shim")
	if err := os.MkdirAll(shim, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"docker", "docker-compose"} {
		if err := os.Symlink(testenv.Binary(t, "ledger_docker"), filepath.Join(shim, name)); err != nil {
			t.Fatal(err)
		}
	}
	// The shim folder first on PATH, as install.sh sets it up; the real
	// binaries are found on PATH behind it.
	env := []string{"PATH=" + shim + string(os.PathListSeparator) + os.Getenv("PATH"), "LEDGER_SHIM_DIR=" + shim,
		"LEDGER_REAL_DOCKER="}
	r := p.Exec(testenv.Cmd{Bin: filepath.Join(shim, "docker-compose"), Args: []string{"down", "-v"}, Env: env})
	if r.ExitCode != 77 || !strings.Contains(r.Stderr, p.Volume("pgdata")) || !strings.Contains(r.Stderr, "docker-compose down") {
		t.Fatalf("docker-compose down -v through the shim: want 77 naming %s: %s", p.Volume("pgdata"), r)
	}
	r = p.Exec(testenv.Cmd{Bin: filepath.Join(shim, "docker"), Args: []string{"compose", "down", "--volumes"}, Env: env})
	if r.ExitCode != 77 {
		t.Fatalf("docker compose down --volumes through the shim: want 77: %s", r)
	}
	if !p.VolumeExists("pgdata") || !p.VolumeExists("media") {
		t.Error("a volume was deleted")
	}
	// pass-through by the shim reaches the real docker (not the shim again)
	r = p.Exec(testenv.Cmd{Bin: filepath.Join(shim, "docker"), Args: []string{"volume", "inspect", "-f", "{{.Name}}", p.Volume("media")}, Env: env})
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != p.Volume("media") {
		t.Errorf("pass-through via the shim: %s", r)
	}
}

func TestPassThroughKeepsOutputAndStatus(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	for _, args := range [][]string{
		{"version", "--format", "{{.Client.Version}} {{.Server.APIVersion}}"},
		{"volume", "inspect", "ledger-no-such-volume-" + p.Name},
		{"container", "inspect", "--format", "{{.Id}}", "ledger-no-such-container"},
		{"compose", "version", "--short"},
		{"compose", "down"}, // no -v: nothing to protect, compose runs
		{"no-such-subcommand"},
	} {
		want := p.Docker(args...)
		got := p.Run("ledger_docker", args...)
		if got.ExitCode != want.ExitCode || got.Stdout != want.Stdout || got.Stderr != want.Stderr {
			t.Errorf("ledger_docker %v differs from docker:\n--- ledger_docker: %s\n--- docker: %s", args, got, want)
		}
	}
}

func TestUnreachableEngineBlocks(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	env := []string{"DOCKER_HOST=unix:///nonexistent.sock", "DOCKER_CONTEXT="}
	for _, args := range [][]string{
		{"compose", "down", "-v"},
		{"volume", "rm", p.Volume("media")},
		{"volume", "prune", "-f"},
		{"-H", "unix:///nonexistent.sock", "system", "prune", "--volumes", "-f"},
	} {
		r := p.RunEnv(env, "ledger_docker", args...)
		if r.ExitCode != 69 || !strings.Contains(r.Stderr, "unreachable") && !strings.Contains(r.Stderr, "Cannot connect") {
			t.Errorf("ledger_docker %v with no engine: want exit 69 and a clear message: %s", args, r)
		}
	}
	// not destructive: handed to docker, which reports the error itself
	want := p.Exec(testenv.Cmd{Bin: "docker", Args: []string{"ps"}, Env: env})
	got := p.RunEnv(env, "ledger_docker", "ps")
	if got.ExitCode != want.ExitCode || got.Stderr != want.Stderr {
		t.Errorf("ps with no engine: got %s want %s", got, want)
	}
}

func TestVolumePruneSnapshotsWhatItLetsGo(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	// Every volume here carries this label, and every prune is filtered on
	// it: the engine is shared and prune must only ever see ours.
	mine := "com.ledgerflow.e2e=" + p.Name
	keep, free, free2 := p.Name+"_keep", p.Name+"_free", p.Name+"_free2"
	for _, v := range [][]string{{keep, "--label", "com.ledgerflow.protect=true"}, {free}, {free2}} {
		if r := p.Docker(append([]string{"volume", "create", "--label", mine, v[0]}, v[1:]...)...); r.ExitCode != 0 {
			t.Fatal(r)
		}
	}
	fill(t, p, free)
	fill(t, p, keep)
	freeFiles := listing(t, p, free)

	snapDir := filepath.Join(p.Home, "data", "ledger-docker", "snapshots")
	snaps := func(prefix string) []string {
		m, _ := filepath.Glob(filepath.Join(snapDir, prefix+"_2*.tar.gz"))
		return m
	}
	api := strings.TrimSpace(p.Docker("version", "--format", "{{.Server.APIVersion}}").Stdout)
	keepFiles := listing(t, p, keep)

	// A prune keeps the protected volume whatever the CLI config says: the
	// engine API guard holds it in use while the engine prunes. Below API
	// 1.42 a plain prune takes named volumes: the unprotected ones are
	// saved first, then pruned.
	for _, cfg := range []string{`{}`, `{"pruneFilters":["label!=com.ledgerflow.protect=true"]}`} {
		if err := os.WriteFile(filepath.Join(p.DockerConfig, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{free, free2} {
			if !p.VolumeExists(v) {
				if r := p.Docker("volume", "create", "--label", mine, v); r.ExitCode != 0 {
					t.Fatal(r)
				}
				fill(t, p, v)
			}
		}
		before := len(snaps(free))
		r := p.Run("ledger_docker", "volume", "prune", "-f", "--filter", "label="+mine)
		if r.ExitCode != 0 {
			t.Fatalf("prune with config %s: %s", cfg, r)
		}
		if !p.VolumeExists(keep) || listing(t, p, keep) != keepFiles {
			t.Fatalf("prune with config %s touched the protected volume", cfg)
		}
		if api < "1.42" {
			if p.VolumeExists(free) || p.VolumeExists(free2) {
				t.Fatalf("prune at API %s should have deleted the unprotected volumes: %s", api, r)
			}
			if len(snaps(free)) != before+1 || len(snaps(keep)) != 0 {
				t.Fatalf("snapshots after prune: free %v keep %v\n%s", snaps(free), snaps(keep), r)
			}
		}
	}
	if api >= "1.42" {
		t.Skip("the snapshot checks below need an engine that prunes named volumes (API < 1.42)")
	}
	all := snaps(free)
	sort.Strings(all)
	if len(all) < 1 {
		t.Fatal("no snapshot of the pruned volume")
	}
	// the first one: its volume was filled once, so it holds freeFiles
	snap := all[0]
	fi, err := os.Stat(snap)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot %s: mode %v, %v", snap, fi.Mode(), err)
	}
	if di, _ := os.Stat(snapDir); di.Mode().Perm() != 0o700 {
		t.Errorf("snapshot folder mode %v", di.Mode())
	}
	if got, err := snapshot.List(snap); err != nil || !strings.Contains(strings.Join(got, " "), "./sub/deep/b.bin") {
		t.Errorf("tar listing of %s: %q %v", snap, got, err)
	}

	// the snapshot restores into a new volume with identical files
	restored := p.Name + "_restored"
	r := p.Run("docker-ledger", "ledger", "volume", "restore", snap, "--to", restored)
	if r.ExitCode != 0 {
		t.Fatalf("restore: %s", r)
	}
	if got := listing(t, p, restored); got != freeFiles {
		t.Errorf("restored volume differs:\n--- restored\n%s--- original\n%s", got, freeFiles)
	}
	// a restore never writes into an existing volume
	if r := p.Run("docker-ledger", "ledger", "volume", "restore", snap, "--to", keep); r.ExitCode == 0 {
		t.Errorf("restore over an existing volume must fail: %s", r)
	}
	// no helper container is left behind
	if r := p.Docker("ps", "-aq", "--filter", "label=com.ledgerflow.helper=true", "--filter", "volume="+keep); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("helper containers left: %s", r.Stdout)
	}
}

func TestComposeDownVolumesBackupThenRuns(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	// Without the protected database: only unprotected volumes would go.
	p.Up("app")
	fill(t, p, p.Volume("media"))
	want := listing(t, p, p.Volume("media"))
	// declare pgdata unprotected and remove its (never created) volume
	p.WriteFile("compose.override.yaml", "volumes:\n  pgdata:\n    labels:\n      com.ledgerflow.protect: \"false\"\n")
	r := p.Run("ledger_docker", "compose", "down", "-v")
	if r.ExitCode != 0 {
		t.Fatalf("compose down -v of unprotected volumes: %s", r)
	}
	if p.VolumeExists("media") {
		t.Error("down -v did not run")
	}
	snaps, _ := filepath.Glob(filepath.Join(p.Dir, "backups", "dev", "volumes", p.Volume("media")+"_*.tar.gz"))
	if len(snaps) != 1 {
		t.Fatalf("want one snapshot of media in the project's backups/dev/volumes: %v\n%s", snaps, r)
	}
	restored := p.Name + "_media_back"
	if r := p.Run("docker-ledger", "ledger", "volume", "restore", snaps[0], "--to", restored); r.ExitCode != 0 {
		t.Fatal(r)
	}
	if got := listing(t, p, restored); got != want {
		t.Errorf("restored differs:\n%s\nwant\n%s", got, want)
	}
}

func TestExplainVerbMatchesExplainMode(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	p.Up()
	// docker finds the plugin in DOCKER_CONFIG/cli-plugins, as install.sh puts it
	cfg := filepath.Join(p.Home, "dockercfg")
	if err := os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(testenv.Binary(t, "docker-ledger"), filepath.Join(cfg, "cli-plugins", "docker-ledger")); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + cfg}
	for _, args := range [][]string{
		{"compose", "down", "-v"},
		{"volume", "rm", p.Volume("media"), p.Volume("pgdata")},
		{"volume", "rm", p.Volume("media")},
		{"ps", "-a"},
	} {
		mode := p.RunEnv(append(env, "LEDGER_EXPLAIN=1"), "ledger_docker", args...)
		verb := p.Exec(testenv.Cmd{Bin: "docker", Args: append([]string{"ledger", "explain", "--"}, args...), Env: env})
		explain(t, mode)
		if verb.ExitCode != 0 || verb.Stdout != mode.Stdout {
			t.Errorf("%v: docker ledger explain differs from LEDGER_EXPLAIN=1:\n--- verb: %s\n--- mode: %s", args, verb, mode)
		}
	}
	// explain ran nothing
	if !p.VolumeExists("media") || !p.VolumeExists("pgdata") {
		t.Error("explain deleted a volume")
	}
}

func TestComposeUpRecreateOfChangedVolume(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	p.Up()
	fill(t, p, p.Volume("media"))
	if e := explain(t, p.RunEnv([]string{"LEDGER_EXPLAIN=1"}, "ledger_docker", "compose", "up", "-d")); e.Verdict != policy.Pass {
		t.Fatalf("unchanged project: compose up must pass: %+v", e)
	}

	// A changed label on the unprotected volume: compose -y recreates it,
	// so ledger_docker snapshots it first.
	p.WriteFile("compose.override.yaml", "volumes:\n  media:\n    labels:\n      tier: media\n")
	e := explain(t, p.RunEnv([]string{"LEDGER_EXPLAIN=1"}, "ledger_docker", "compose", "up", "-d", "-y"))
	if e.Verdict != policy.Backup || len(e.Volumes) != 1 || e.Volumes[0].Name != p.Volume("media") || e.Volumes[0].Action != "recreate" {
		t.Fatalf("changed media volume: %+v", e)
	}
	// compose removes the app container to recreate media and leaves its
	// anonymous /cache volume behind (docker/compose's removeDivergedVolume):
	// remember it so the test removes it too.
	anon := p.Docker("inspect", "-f", `{{range .Mounts}}{{if eq .Destination "/cache"}}{{.Name}}{{end}}{{end}}`, p.ContainerID("app"))
	if name := strings.TrimSpace(anon.Stdout); name != "" {
		t.Cleanup(func() { p.Docker("volume", "rm", "-f", name) })
	}
	if r := p.Run("ledger_docker", "compose", "up", "-d", "-y"); r.ExitCode != 0 {
		t.Fatalf("compose up -y: %s", r)
	}
	snaps, _ := filepath.Glob(filepath.Join(p.Dir, "backups", "dev", "volumes", p.Volume("media")+"_*.tar.gz"))
	if len(snaps) != 1 {
		t.Fatalf("want a snapshot of media before the recreate: %v", snaps)
	}
	if r := p.Docker("volume", "inspect", "-f", "{{index .Labels \"tier\"}}", p.Volume("media")); strings.TrimSpace(r.Stdout) != "media" {
		t.Errorf("compose did not recreate media: %s", r)
	}

	// A changed label on the protected volume: blocked, nothing recreated.
	p.WriteFile("compose.override.yaml", "volumes:\n  media:\n    labels:\n      tier: media\n  pgdata:\n    labels:\n      tier: db\n")
	r := p.Run("ledger_docker", "compose", "up", "-d", "-y")
	if r.ExitCode != 77 || !strings.Contains(r.Stderr, p.Volume("pgdata")) || !strings.Contains(r.Stderr, "recreate") {
		t.Fatalf("compose up recreating the protected volume: want 77: %s", r)
	}
	if r := p.Docker("volume", "inspect", "-f", "{{index .Labels \"tier\"}}", p.Volume("pgdata")); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("pgdata was recreated: %s", r)
	}
}

func TestDockerContextsAreHonoured(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	p.Up()
	host := strings.TrimSpace(p.Docker("context", "inspect", "-f", "{{.Endpoints.docker.Host}}").Stdout)
	cfg := filepath.Join(p.Home, "dockercfg")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + cfg, "DOCKER_HOST=", "DOCKER_CONTEXT="}
	for name, h := range map[string]string{"here": host, "gone": "unix:///nonexistent.sock"} {
		r := p.Exec(testenv.Cmd{Bin: "docker", Args: []string{"context", "create", name, "--docker", "host=" + h}, Env: env})
		if r.ExitCode != 0 {
			t.Fatal(r)
		}
	}
	for _, tt := range []struct {
		env  []string
		args []string
		code int
	}{
		{env: nil, args: []string{"--context", "here", "compose", "down", "-v"}, code: 77},
		{env: nil, args: []string{"-c", "gone", "compose", "down", "-v"}, code: 69},
		{env: []string{"DOCKER_CONTEXT=here"}, args: []string{"compose", "down", "-v"}, code: 77},
		{env: []string{"DOCKER_CONTEXT=gone"}, args: []string{"compose", "down", "-v"}, code: 69},
		{env: []string{"DOCKER_CONTEXT=gone"}, args: []string{"-H", host, "compose", "down", "-v"}, code: 77},
		{env: []string{"DOCKER_CONTEXT=nosuch"}, args: []string{"compose", "down", "-v"}, code: 69},
	} {
		r := p.RunEnv(append(append([]string(nil), env...), tt.env...), "ledger_docker", tt.args...)
		if r.ExitCode != tt.code {
			t.Errorf("%v %v: want exit %d: %s", tt.env, tt.args, tt.code, r)
		}
	}
	if !p.VolumeExists("pgdata") || !p.VolumeExists("media") {
		t.Error("a volume was deleted")
	}
}

func TestInterruptedSnapshotRunsNothing(t *testing.T) {
	p := testenv.NewProject(t, "wrapper")
	vol := p.Name + "_big"
	if r := p.Docker("volume", "create", "--label", "com.ledgerflow.e2e="+p.Name, vol); r.ExitCode != 0 {
		t.Fatal(r)
	}
	if r := p.Docker("run", "--rm", "-v", vol+":/d", testenv.PostgresImage(t), "sh", "-c",
		"head -c 300000000 /dev/urandom > /d/big.bin"); r.ExitCode != 0 {
		t.Fatal(r)
	}
	dir := filepath.Join(p.Home, "snaps")
	cmd := exec.Command(testenv.Binary(t, "ledger_docker"), "volume", "rm", vol)
	cmd.Env = testenv.Environ(append(p.Env, "LEDGER_SNAPSHOT_DIR="+dir)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the snapshot is being written (its temp file exists);
	// a wrapper that ends first, or a snapshot that never starts, fails
	// the test at once (ProcessState stays nil until Wait: ask a channel).
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.After(2 * time.Minute)
	for {
		m, _ := filepath.Glob(filepath.Join(dir, atomicfile.TempPrefix+"*"))
		if len(m) > 0 {
			break
		}
		select {
		case <-exited:
			t.Fatalf("the wrapper ended before its snapshot started:\n%s", stderr.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("no snapshot started in 2 minutes:\n%s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-exited
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("interrupted: want exit 130, got %d\n%s", code, stderr.String())
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("files left in the snapshot folder: %v", left)
	}
	if !p.VolumeExists(vol) {
		t.Error("the volume was removed after an interrupted backup")
	}
	if r := p.Docker("ps", "-aq", "--filter", "label=com.ledgerflow.helper=true", "--filter", "volume="+vol); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("helper containers left: %s\n%s", r.Stdout, stderr.String())
	}
}
