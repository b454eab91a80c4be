package restore_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// Stories of `docker ledger restore` on the real engine with the PostgreSQL
// image, in testdata/e2e/restore/.

// state is what a user checks after a restore: every table's exact row
// count and the schema.
type state struct {
	counts string
	schema string
}

func snapshot(t *testing.T, p *testenv.Project) state {
	t.Helper()
	return state{counts: p.Psql("db", pg.CountsSQL), schema: p.Psql("db", pg.SchemaSQL)}
}

func startSeeded(t *testing.T) *testenv.Project {
	t.Helper()
	p := testenv.NewProject(t, "restore")
	p.Up()
	p.WaitPostgres("db")
	seed, err := os.ReadFile(filepath.Join(p.Dir, "seed.sql"))
	if err != nil {
		t.Fatal(err)
	}
	p.Psql("db", string(seed))
	return p
}

// ledger runs `docker ledger ARGS...` (the plugin binary) in the project.
func ledger(p *testenv.Project, args ...string) testenv.Result {
	return p.Run("docker-ledger", append([]string{"ledger"}, args...)...)
}

// takeBackup takes a verified backup and returns its path.
func takeBackup(t *testing.T, p *testenv.Project) string {
	t.Helper()
	r := ledger(p, "backup", "--db-only")
	if r.ExitCode != 0 {
		t.Fatalf("backup: %s", r)
	}
	return lastLine(r.Stdout)
}

// lastLine is a command's last stdout line (a backup's path).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// changeEverything changes data and schema the way a bad migration would.
const changeEverything = `
DELETE FROM public.ledger_lines WHERE id % 2 = 0;
INSERT INTO billing.customers (email) VALUES ('intruder@example.test');
ALTER TABLE billing.customers ADD COLUMN note text;
DROP MATERIALIZED VIEW billing.revenue;
DROP TABLE billing.invoices_2025;
CREATE TABLE public.scratchpad (x int);
`

var safetyLine = regexp.MustCompile(`(?m)^(/.*_db_backup_\d{8}_\d{6}.*\.sql\.gz)$`)

// A backup restored over changed data brings the backup's data and schema
// back, and leaves a verified safety backup of what was replaced, which
// itself restores to the changed state.
func TestE2ERestoreOverChangedDataBringsBackupBack(t *testing.T) {
	p := startSeeded(t)
	before := snapshot(t, p)
	backup := takeBackup(t, p)

	p.Psql("db", changeEverything)
	changed := snapshot(t, p)
	if changed == before {
		t.Fatal("the change did not change anything")
	}

	r := ledger(p, "restore", "--yes", backup)
	if r.ExitCode != 0 {
		t.Fatalf("restore: %s", r)
	}
	if after := snapshot(t, p); after != before {
		t.Errorf("after restore:\n%+v\nwant (as backed up):\n%+v", after, before)
	}
	if !strings.Contains(r.Stdout, "Row counts and schema match the backup's manifest.") {
		t.Errorf("restore did not say it checked counts and schema: %s", r)
	}
	m := safetyLine.FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("restore did not name its safety backup: %s", r)
	}
	safety := m[1]
	if fi, err := os.Stat(safety); err != nil || fi.Size() == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("safety backup %s: %v %v", safety, fi, err)
	}
	if leftovers := p.Psql("db", `SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '%\_\_ledger\_%'`); leftovers != "" {
		t.Errorf("databases left behind: %s", leftovers)
	}

	// The safety backup holds the changed state.
	r = ledger(p, "restore", "--yes", safety)
	if r.ExitCode != 0 {
		t.Fatalf("restore of the safety backup: %s", r)
	}
	if got := snapshot(t, p); got != changed {
		t.Errorf("after restoring the safety backup:\n%+v\nwant (the changed state):\n%+v", got, changed)
	}
}

// Backup -> restore into a database that was dropped: identical counts and
// schema, no safety backup (nothing to keep).
func TestE2EBackupRestoreRoundTripIntoAbsentDatabase(t *testing.T) {
	p := startSeeded(t)
	before := snapshot(t, p)
	backup := takeBackup(t, p)
	p.Exec(testenv.Cmd{Bin: "docker", Args: []string{"compose", "exec", "-T", "db", "psql", "-U", "ledger", "-d", "postgres", "-c", "DROP DATABASE ledger"}})

	r := ledger(p, "restore", "--yes", "--json", backup)
	if r.ExitCode != 0 {
		t.Fatalf("restore: %s", r)
	}
	if strings.Contains(r.Stdout, "safety_backup_path") || !strings.Contains(r.Stdout, `"target_exists": false`) {
		t.Errorf("restore into an absent database: %s", r.Stdout)
	}
	if after := snapshot(t, p); after != before {
		t.Errorf("after restore:\n%+v\nwant:\n%+v", after, before)
	}
}

// A legacy backup (`pg_dump | gzip`, no manifest, named the seed's way)
// restores, and so does one made with pg_dump -C.
func TestE2ELegacyPgDumpGzipRestores(t *testing.T) {
	p := startSeeded(t)
	before := snapshot(t, p)
	dir := filepath.Join(p.Dir, "backups", "dev")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(dir, "ledgerflow_backup_20240115_093000.sql.gz")
	withC := filepath.Join(dir, "ledgerflow_backup_20240115_093100.sql.gz")
	for file, flags := range map[string]string{legacy: "", withC: "-C"} {
		r := p.Exec(testenv.Cmd{Bin: "bash", Args: []string{"-c",
			`set -o pipefail; "$LEDGER_REAL_DOCKER" compose exec -T db pg_dump ` + flags + ` -U ledger ledger | gzip > "$0"`, file}})
		if r.ExitCode != 0 {
			t.Fatalf("pg_dump | gzip: %s", r)
		}
	}
	for _, file := range []string{legacy, withC} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			p.Psql("db", changeEverything)
			r := ledger(p, "restore", "--yes", file)
			if r.ExitCode != 0 {
				t.Fatalf("restore: %s", r)
			}
			if after := snapshot(t, p); after != before {
				t.Errorf("after restore:\n%+v\nwant:\n%+v", after, before)
			}
			if !strings.Contains(r.Stdout, "no manifest") {
				t.Errorf("restore did not say the backup has no manifest: %s", r.Stdout)
			}
			if file == withC && !strings.Contains(r.Stdout, "pg_dump -C") {
				t.Errorf("restore did not say it left out CREATE DATABASE: %s", r.Stdout)
			}
		})
	}
}

// A corrupt or truncated file fails with a clear message before anything
// is dropped: the database keeps its data, no scratch database is left.
func TestE2ECorruptBackupChangesNothing(t *testing.T) {
	p := startSeeded(t)
	good, err := os.ReadFile(takeBackup(t, p))
	if err != nil {
		t.Fatal(err)
	}
	p.Psql("db", changeEverything)
	changed := snapshot(t, p)
	dir := t.TempDir()
	truncated := filepath.Join(dir, "ledgerflow_backup_20240101_000000.sql.gz")
	os.WriteFile(truncated, good[:len(good)*2/3], 0o600)
	flipped := filepath.Join(dir, "ledgerflow_backup_20240101_000001.sql.gz")
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0xff
	os.WriteFile(flipped, bad, 0o600)
	for _, file := range []string{truncated, flipped} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			r := ledger(p, "restore", "--yes", file)
			if r.ExitCode == 0 {
				t.Fatalf("restore of a damaged file succeeded: %s", r)
			}
			if !strings.Contains(r.Stderr, "was not changed") && !strings.Contains(r.Stderr, "nothing was changed") {
				t.Errorf("error does not say the database is unchanged: %s", r)
			}
			if got := snapshot(t, p); got != changed {
				t.Errorf("database changed by a failed restore:\n%+v\nwant:\n%+v", got, changed)
			}
			if leftovers := p.Psql("db", `SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '%\_\_ledger\_%'`); leftovers != "" {
				t.Errorf("databases left behind: %s", leftovers)
			}
		})
	}
}

// Without a terminal and without --yes nothing happens; --dry-run shows
// the plan only; a client connected to the database does not stop the
// swap (its session is ended).
func TestE2EConfirmationDryRunAndConnectedClient(t *testing.T) {
	p := startSeeded(t)
	backup := takeBackup(t, p)
	p.Psql("db", changeEverything)
	changed := snapshot(t, p)

	r := ledger(p, "restore", backup)
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "--yes required when not running interactively") {
		t.Errorf("restore without --yes on a pipe: %s", r)
	}
	r = ledger(p, "restore", "--dry-run", backup)
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Restore plan") || !strings.Contains(r.Stdout, `database "ledger" of service db`) {
		t.Errorf("dry run: %s", r)
	}
	if got := snapshot(t, p); got != changed {
		t.Fatalf("database changed without confirmation")
	}

	// A client that holds a session open on the database.
	p.Compose("exec", "-d", "-T", "db", "psql", "-U", "ledger", "-d", "ledger", "-c", "SELECT pg_sleep(600)")
	for i := 0; ; i++ {
		n := p.Psql("db", `SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'`)
		if n == "1" {
			break
		}
		if i == 600 {
			t.Fatal("the client never connected")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r = ledger(p, "restore", "--yes", backup)
	if r.ExitCode != 0 {
		t.Fatalf("restore with a connected client: %s", r)
	}
	if !strings.Contains(r.Stdout, "Ended 1 session(s)") {
		t.Errorf("restore did not say it ended the client's session: %s", r.Stdout)
	}
}

// A database whose dump ends with indexes (no foreign key, trigger or
// materialized view data after them) restores: pg_dump's closing
// \unrestrict must reach the psql session that saw \restrict, not one of
// the sessions building indexes.
func TestE2EDumpEndingWithIndexesRestores(t *testing.T) {
	p := startSeeded(t)
	p.Psql("db", `
ALTER TABLE billing.invoices DROP CONSTRAINT invoices_customer_id_fkey;
ALTER TABLE public.ledger_lines DROP CONSTRAINT ledger_lines_customer_id_fkey;
DROP TRIGGER ledger_lines_touch ON public.ledger_lines;
DROP MATERIALIZED VIEW billing.revenue;`)
	before := snapshot(t, p)
	file := filepath.Join(p.Dir, "ledgerflow_backup_20240301_120000.sql.gz")
	r := p.Exec(testenv.Cmd{Bin: "bash", Args: []string{"-c",
		`set -o pipefail; "$LEDGER_REAL_DOCKER" compose exec -T db pg_dump -U ledger ledger | gzip > "$0"`, file}})
	if r.ExitCode != 0 {
		t.Fatalf("pg_dump | gzip: %s", r)
	}
	p.Psql("db", `DELETE FROM public.ledger_lines WHERE id % 2 = 0; CREATE TABLE public.scratchpad (x int);`)
	r = ledger(p, "restore", "--yes", file)
	if r.ExitCode != 0 {
		t.Fatalf("restore: %s", r)
	}
	if after := snapshot(t, p); after != before {
		t.Errorf("after restore:\n%+v\nwant:\n%+v", after, before)
	}
}
