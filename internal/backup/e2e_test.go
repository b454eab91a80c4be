package backup_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/atomicfile"
	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/testenv"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

// seedRows makes the database a few tens of MB of SQL, so a dump with its
// test restore lasts long enough to be killed or interrupted midway.
const seedRows = 500000

// story is the dbbackup scenario with its seeded database.
type story struct {
	*testenv.Project
	t      *testing.T
	plugin string
	env    []string
	dir    string // default backup folder
}

func newStory(t *testing.T) *story {
	t.Helper()
	p := testenv.NewProject(t, "dbbackup")
	p.Up("db")
	p.WaitPostgres("db")
	seed, err := os.ReadFile(filepath.Join(p.Dir, "seed.sql"))
	if err != nil {
		t.Fatal(err)
	}
	p.Psql("db", strings.ReplaceAll(string(seed), ":rows", strconv.Itoa(seedRows)))
	return &story{
		Project: p, t: t, plugin: testenv.Binary(t, "docker-ledger"),
		env: []string{"LEDGER_LOCK_DIR=" + filepath.Join(p.Home, "locks")},
		dir: filepath.Join(p.Dir, "backups", "dev"),
	}
}

// ledger runs `docker ledger ARGS` (the plugin binary, called as the
// docker CLI calls it).
func (s *story) ledger(args ...string) testenv.Result {
	s.t.Helper()
	return s.Exec(testenv.Cmd{Bin: "docker-ledger", Args: append([]string{"ledger"}, args...), Env: s.env})
}

// start runs `docker ledger ARGS` in the background.
func (s *story) start(args ...string) *running {
	s.t.Helper()
	cmd := exec.Command(s.plugin, append([]string{"ledger"}, args...)...)
	cmd.Dir = s.Dir
	cmd.Env = testenv.Environ(append(append([]string(nil), s.Project.Env...), s.env...)...)
	r := &running{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &r.stdout, &r.stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
			if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				r.code = 128 + int(st.Signal())
			}
		} else if err != nil {
			r.code = -1
		}
		close(r.done)
	}()
	s.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.done
	})
	return r
}

type running struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	code           int
	done           chan struct{}
}

func (r *running) wait() int { <-r.done; return r.code }

func (r *running) String() string {
	return "exit status " + strconv.Itoa(r.code) + "\n--- stdout:\n" + r.stdout.String() + "\n--- stderr:\n" + r.stderr.String()
}

// waitMidDump waits until the run's temp file holds at least n bytes: the
// dump is under way. The bound only guards against a hung test.
func (s *story) waitMidDump(r *running, dir string, n int64) {
	s.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case <-r.done:
			s.t.Fatalf("the backup ended before it could be stopped midway (seed more rows?): %s", r)
		default:
		}
		if temps := tempFiles(dir); len(temps) > 0 {
			if fi, err := os.Stat(temps[0]); err == nil && fi.Size() >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no temp file of %d bytes appeared in %s", n, dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func tempFiles(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, atomicfile.TempPrefix+"*"))
	return m
}

func finals(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*"+backup.Suffix))
	return m
}

func lastLogLine(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, backup.LogName))
	if err != nil {
		t.Fatalf("backup.log: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// scratchLeft lists throwaway test-restore containers and volumes left.
func (s *story) scratchLeft() string {
	f := "label=" + verify.LabelScratch + "=" + s.Name
	c := s.Docker("ps", "-aq", "--filter", f).Stdout
	v := s.Docker("volume", "ls", "-q", "--filter", f).Stdout
	return strings.TrimSpace(c + v)
}

// assertNothingPublished: no new final file, no temp file, a failed line.
func (s *story) assertNothingPublished(dir string, before []string, logWant string) {
	s.t.Helper()
	if got := finals(dir); len(got) != len(before) {
		s.t.Errorf("backups under a final name: %v (before: %v)", got, before)
	}
	if tmp := tempFiles(dir); len(tmp) > 0 {
		s.t.Errorf("temp files left: %v", tmp)
	}
	if l := lastLogLine(s.t, dir); !strings.Contains(l, "status=failed") || !strings.Contains(l, logWant) {
		s.t.Errorf("last backup.log line = %q, want a failed run with %q", l, logWant)
	}
	if left := s.scratchLeft(); left != "" {
		s.t.Errorf("throwaway test-restore objects left: %s", left)
	}
}

func TestBackupStories(t *testing.T) {
	s := newStory(t)
	var path string

	t.Run("backup, verify, list", func(t *testing.T) {
		r := s.ledger("backup", "--db-only")
		if r.ExitCode != 0 {
			t.Fatalf("backup: %s", r)
		}
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		path = lines[len(lines)-1]
		if filepath.Dir(path) != s.dir || !strings.HasPrefix(filepath.Base(path), s.Name+"_db_backup_") {
			t.Fatalf("last stdout line %q is not a backup in %s", path, s.dir)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("backup file: %v %v", fi, err)
		}
		if di, _ := os.Stat(s.dir); di.Mode().Perm() != 0o700 {
			t.Errorf("backup folder mode %v", di.Mode().Perm())
		}
		m, err := backup.LoadManifest(path)
		if err != nil || m == nil {
			t.Fatalf("manifest: %v", err)
		}
		if !m.Verification.OK || m.Verification.Mode != "full" {
			t.Errorf("verification: %+v", m.Verification)
		}
		want := map[string]int64{"public.accounts": 100, "public.transactions": seedRows, "public.empty_table": 0,
			"public.events": 1000, "public.events_2024": 1000, "public.cache_entries": 50}
		for tbl, n := range want {
			if m.Counts[tbl] != n {
				t.Errorf("manifest counts %s = %d, want %d", tbl, m.Counts[tbl], n)
			}
		}
		if got := s.Psql("db", "SELECT count(*) FROM transactions"); got != strconv.Itoa(seedRows) {
			t.Errorf("source count %s", got)
		}
		if m.Versions.Server == "" || m.Versions.PgDump == "" || m.Fingerprint == "" || m.Database != "ledgerdb" {
			t.Errorf("manifest: %+v", m)
		}
		if l := lastLogLine(t, s.dir); !strings.Contains(l, "status=ok") || !strings.Contains(l, filepath.Base(path)) || !strings.Contains(l, "verification=full:ok") {
			t.Errorf("backup.log: %q", l)
		}
		if left := s.scratchLeft(); left != "" {
			t.Errorf("throwaway test-restore objects left: %s", left)
		}

		if r := s.ledger("verify", path); r.ExitCode != 0 || !strings.Contains(r.Stdout, "OK") {
			t.Errorf("verify: %s", r)
		}
		if r := s.ledger("verify", "--restore-test", path); r.ExitCode != 0 || !strings.Contains(r.Stdout, "row_counts") {
			t.Errorf("verify --restore-test: %s", r)
		}
		if left := s.scratchLeft(); left != "" {
			t.Errorf("throwaway test-restore objects left after verify: %s", left)
		}
		r = s.ledger("list", "--json")
		var entries []backup.Entry
		if err := json.Unmarshal([]byte(r.Stdout), &entries); err != nil || len(entries) != 1 || entries[0].State != backup.StateVerified {
			t.Errorf("list --json: %v %s", err, r)
		}
		r = s.ledger("backup", "--db-only", "--verify=quick", "--json")
		var qm backup.Manifest
		if err := json.Unmarshal([]byte(r.Stdout), &qm); r.ExitCode != 0 || err != nil || qm.Verification.Mode != "quick" {
			t.Errorf("backup --verify=quick --json: %v %s", err, r)
		}
		if r := s.ledger("list"); !strings.Contains(r.Stdout, "verified-quick") {
			t.Errorf("list: %s", r)
		}
	})
	if path == "" {
		t.Fatal("no backup to go on with")
	}

	t.Run("damaged files fail verify", func(t *testing.T) {
		good, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		manifest, _ := os.ReadFile(backup.ManifestPath(path))
		flipped := append([]byte(nil), good...)
		flipped[len(flipped)/2] ^= 0x01
		dir := t.TempDir()
		for name, c := range map[string]struct {
			data  []byte
			check string
		}{
			"truncated":    {good[:len(good)*2/3], verify.CheckGzip},
			"flipped byte": {flipped, verify.CheckSHA256},
			"empty":        {nil, verify.CheckMinSize},
		} {
			f := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+"_db_backup_20260101_000000.sql.gz")
			os.WriteFile(f, c.data, 0o600)
			os.WriteFile(backup.ManifestPath(f), manifest, 0o600)
			r := s.ledger("verify", f)
			if r.ExitCode != exitcode.Verify || !strings.Contains(r.Stderr, c.check) || !strings.Contains(r.Stdout, "FAILED") {
				t.Errorf("%s: want exit 3 naming %s: %s", name, c.check, r)
			}
			// Without its manifest the file still fails on its own.
			os.Remove(backup.ManifestPath(f))
			if r := s.ledger("verify", f); r.ExitCode != exitcode.Verify {
				t.Errorf("%s without manifest: %s", name, r)
			}
		}
	})

	t.Run("two concurrent backups", func(t *testing.T) {
		before := finals(s.dir)
		a, b := s.start("backup", "--db-only"), s.start("backup", "--db-only")
		ca, cb := a.wait(), b.wait()
		if !((ca == 0 && cb == exitcode.Locked) || (ca == exitcode.Locked && cb == 0)) {
			t.Fatalf("exit statuses %d and %d, want 0 and 4:\n%s\n%s", ca, cb, a, b)
		}
		loser := b
		if ca != 0 {
			loser = a
		}
		if !strings.Contains(loser.stderr.String(), "another run is in progress") || !strings.Contains(loser.stderr.String(), "backup (pid") {
			t.Errorf("the second run does not say why: %s", loser)
		}
		if got := finals(s.dir); len(got) != len(before)+1 {
			t.Errorf("backups: %v, want one more than %v", got, before)
		}
		if tmp := tempFiles(s.dir); len(tmp) > 0 {
			t.Errorf("temp files: %v", tmp)
		}
	})

	for _, c := range []struct{ name, size, says string }{
		// 64k: the free-space check refuses before dumping.
		{"disk full", "64k", "not enough free space"},
		// 12m passes the check (a tenth of the database's size) but the
		// dump is larger: ENOSPC midway.
		{"disk fills up mid-dump", "12m", "disk full"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tiny")
			os.MkdirAll(dir, 0o700)
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+c.size, "tmpfs", dir).CombinedOutput(); err != nil {
				t.Fatalf("mount a %s tmpfs (needs root): %v %s", c.size, err, out)
			}
			t.Cleanup(func() { exec.Command("umount", dir).Run() })
			r := s.ledger("backup", "--db-only", "--backup-dir", dir)
			t.Logf("%s", r)
			if r.ExitCode != exitcode.NoSpace || !strings.Contains(r.Stderr, c.says) {
				t.Errorf("want exit 6 and %q: %s", c.says, r)
			}
			if got := finals(dir); len(got) != 0 {
				t.Errorf("backups on a full disk: %v", got)
			}
			if tmp := tempFiles(dir); len(tmp) > 0 {
				t.Errorf("temp files: %v", tmp)
			}
			if left := s.scratchLeft(); left != "" {
				t.Errorf("throwaway test-restore objects left: %s", left)
			}
		})
	}

	t.Run("the wrapper backs the database up before deleting a volume", func(t *testing.T) {
		s.Compose("create", "app")
		cache := s.Volume("cache")
		before := finals(s.dir)
		r := s.RunEnv(s.env, "ledger_docker", "volume", "rm", cache)
		if got := finals(s.dir); len(got) != len(before)+1 {
			t.Fatalf("want one new database backup: %v -> %v\n%s", before, got, r)
		}
		if l := lastLogLine(t, s.dir); !strings.Contains(l, "status=ok") || !strings.Contains(l, `trigger="ledger_docker docker volume rm`) {
			t.Errorf("backup.log: %q", l)
		}
		if !strings.Contains(r.Stderr, "database of project "+s.Name+" saved to") {
			t.Errorf("the wrapper does not say where the backup is: %s", r)
		}
		// Within the freshness window the verified backup is reused.
		s.Compose("rm", "-f", "app")
		s.Compose("create", "app")
		r = s.RunEnv(append([]string{"LEDGER_FRESHNESS=1h"}, s.env...), "ledger_docker", "volume", "rm", "-f", cache)
		if got := finals(s.dir); len(got) != len(before)+1 || !strings.Contains(r.Stderr, "reusing verified database backup") {
			t.Errorf("freshness 1h: want the backup reused: %v\n%s", got, r)
		}
	})

	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String()+" mid-backup", func(t *testing.T) {
			before := finals(s.dir)
			r := s.start("backup", "--db-only")
			s.waitMidDump(r, s.dir, 256<<10)
			r.cmd.Process.Signal(sig)
			if code := r.wait(); code != exitcode.Interrupted {
				t.Errorf("exit status %d, want 130: %s", code, r)
			}
			t.Logf("%s", r)
			s.assertNothingPublished(s.dir, before, "interrupted")
		})
	}

	t.Run("no compose file: -p finds the database by its labels", func(t *testing.T) {
		elsewhere := t.TempDir()
		r := s.Exec(testenv.Cmd{Bin: "docker-ledger", Dir: elsewhere, Env: s.env,
			Args: []string{"ledger", "backup", "--db-only", "--verify=quick", "-p", s.Name}})
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if r.ExitCode != 0 || filepath.Dir(lines[len(lines)-1]) != filepath.Join(elsewhere, "backups", "dev") {
			t.Fatalf("backup -p %s from a folder without compose file: %s", s.Name, r)
		}
		m, err := backup.LoadManifest(lines[len(lines)-1])
		if err != nil || m == nil || m.Service != "db" || m.Database != "ledgerdb" || m.Counts["public.transactions"] != seedRows {
			t.Errorf("manifest: %+v %v", m, err)
		}
	})

	t.Run("through the docker CLI", func(t *testing.T) {
		cfg := t.TempDir()
		os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755)
		if err := os.Symlink(s.plugin, filepath.Join(cfg, "cli-plugins", "docker-ledger")); err != nil {
			t.Fatal(err)
		}
		r := s.Exec(testenv.Cmd{Bin: "docker", Args: []string{"ledger", "list", "--json"}, Env: append([]string{"DOCKER_CONFIG=" + cfg}, s.env...)})
		var entries []backup.Entry
		if err := json.Unmarshal([]byte(r.Stdout), &entries); r.ExitCode != 0 || err != nil || len(entries) == 0 {
			t.Errorf("docker ledger list --json: %v %s", err, r)
		}
	})

	t.Run("database killed mid-dump", func(t *testing.T) {
		before := finals(s.dir)
		ctr := strings.TrimSpace(s.Compose("ps", "-q", "db").Stdout)
		r := s.start("backup", "--db-only")
		s.waitMidDump(r, s.dir, 256<<10)
		if k := s.Docker("kill", ctr); k.ExitCode != 0 {
			t.Fatalf("docker kill: %s", k)
		}
		if code := r.wait(); code == 0 {
			t.Fatalf("the backup succeeded although its database was killed: %s", r)
		}
		t.Logf("%s", r)
		if !strings.Contains(r.stderr.String(), "no backup was written") {
			t.Errorf("the message does not say nothing was written: %s", r)
		}
		s.assertNothingPublished(s.dir, before, "dump failed")
	})
}
