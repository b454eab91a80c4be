// Package e2e holds end-to-end stories that span several binaries, told on
// the real engine with the real Compose v2 plugin.
package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// balancesURL is the sample app's balances view, seen from inside web.
const balancesURL = "http://127.0.0.1:8000/balances/"

// fetchScript prints the body of the URL in argv[1]; it exits non-zero on
// any HTTP or connection error.
const fetchScript = `import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())`

type accountBalance struct {
	Name         string `json:"name"`
	Currency     string `json:"currency"`
	Balance      string `json:"balance"`
	Transactions int    `json:"transactions"`
}

// The fixture ledger/fixtures/sample.json: 3 accounts, 4 categories and 10
// transactions, with these balances.
var fixtureBalances = []accountBalance{
	{Name: "Operating", Currency: "EUR", Balance: "2474.51", Transactions: 5},
	{Name: "Savings", Currency: "EUR", Balance: "1012.37", Transactions: 2},
	{Name: "US Sales", Currency: "USD", Balance: "2868.50", Transactions: 3},
}

const fixtureTxns = 10

// seeded is how many random transactions the story adds with `seed`.
const seeded = 5000

// TestSampleApp is the README's quick start as a story: the LedgerFlow
// sample app passes the pre-commit check, comes up with Compose v2,
// migrates, loads its fixture, takes seeded transactions, and its balances
// view agrees with the database. `docker ledger backup --db-only` writes a
// verified backup with the ledger's row counts. ledger_docker refuses
// `compose down -v` (exit 77) and keeps every volume and every row, backs up
// the unprotected cache volume and the database before `volume rm` deletes
// the cache, and lets a plain `down` through; the app comes back with its
// ledger. After a bad
// migration, `docker ledger restore` brings the transactions back.
func TestSampleApp(t *testing.T) {
	p := testenv.SampleApp(t)
	checkPasses(t, p)
	wantRows := startAndSeed(t, p)

	t.Log("docker ledger backup --db-only: a verified backup with the ledger's row counts")
	backupFile := dbBackup(t, p, wantRows)

	t.Log("ledger_docker compose down -v: refused, nothing touched")
	downVolumesRefused(t, p, wantRows)

	t.Log("ledger_docker volume rm of the unprotected cache: snapshot and database backup first")
	cacheSnapshotted(t, p)

	t.Log("ledger_docker compose down (no -v) passes; back up, the ledger is intact")
	if r := p.Run("ledger_docker", "compose", "down"); r.ExitCode != 0 {
		t.Fatalf("ledger_docker compose down (no -v) must pass: %s", r)
	}
	for _, v := range []string{"pgdata", "media"} {
		if !p.VolumeExists(v) {
			t.Fatalf("volume %s is gone after compose down without -v", v)
		}
	}
	p.Up()
	waitWeb(t, p)
	if got := p.Psql("db", "SELECT count(*) FROM ledger_transaction"); got != wantRows {
		t.Fatalf("ledger_transaction rows after the story = %s, want %s", got, wantRows)
	}

	t.Log("a bad migration deletes transactions; docker ledger restore brings them back")
	restoreAfterDamage(t, p, backupFile, wantRows)
}

// checkPasses: the app's compose file passes the pre-commit check; the
// unprotected cache volume is a silenced choice, not an oversight.
func checkPasses(t *testing.T, p *testenv.Project) {
	t.Helper()
	r := p.Run("ledger-precommit", "--no-engine", "--format", "json", "compose.yaml")
	var report struct {
		Errors     int `json:"errors"`
		Warnings   int `json:"warnings"`
		Suppressed int `json:"suppressed"`
	}
	if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &report) != nil {
		t.Fatalf("ledger-precommit compose.yaml: %s", r)
	}
	if report.Errors != 0 || report.Warnings != 0 || report.Suppressed != 1 {
		t.Errorf("ledger-precommit compose.yaml = %+v, want no findings and the cache volume silenced", report)
	}
}

// startAndSeed brings the app up, runs its tests, loads the fixture, seeds
// transactions and checks the balances view; it returns the transaction
// count.
func startAndSeed(t *testing.T, p *testenv.Project) string {
	t.Helper()
	p.Up()
	waitWeb(t, p)
	// The app's own tests, on Debian's Django, against the db service.
	p.Compose("exec", "-T", "web", "python3", "manage.py", "test", "ledger", "--noinput")

	r := p.Compose("exec", "-T", "web", "python3", "manage.py", "loaddata", "sample")
	if !strings.Contains(r.Stdout, "Installed 17 object(s)") {
		t.Fatalf("loaddata sample: %s", r)
	}
	if got := balances(t, p); !slices.Equal(got, fixtureBalances) {
		t.Fatalf("balances after loaddata = %+v, want %+v", got, fixtureBalances)
	}

	r = p.Compose("exec", "-T", "web", "python3", "manage.py", "seed", "--transactions", strconv.Itoa(seeded), "--random-seed", "0.25")
	if !strings.HasPrefix(r.Stdout, "seeded "+strconv.Itoa(seeded)+" transactions") {
		t.Fatalf("seed: %s", r)
	}
	wantRows := strconv.Itoa(fixtureTxns + seeded)
	if got := p.Psql("db", "SELECT count(*) FROM ledger_transaction"); got != wantRows {
		t.Fatalf("ledger_transaction rows = %s, want %s", got, wantRows)
	}
	got := balances(t, p)
	want := sqlBalances(t, p)
	if !slices.Equal(got, want) {
		t.Fatalf("balances view = %+v\nSQL says        %+v", got, want)
	}
	total := 0
	for _, b := range got {
		total += b.Transactions
	}
	if total != fixtureTxns+seeded {
		t.Errorf("the view counts %d transactions, want %d", total, fixtureTxns+seeded)
	}
	return wantRows
}

// dbBackup takes the database backup the README shows and checks what a
// user would: exit 0, the path on the last stdout line, private files, the
// manifest's row counts, and `docker ledger verify` on the file.
func dbBackup(t *testing.T, p *testenv.Project, wantRows string) string {
	t.Helper()
	r := p.Run("docker-ledger", "ledger", "backup", "--db-only")
	if r.ExitCode != 0 {
		t.Fatalf("docker ledger backup --db-only: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	file := lines[len(lines)-1]
	dir := filepath.Join(p.Dir, "backups", "dev")
	if filepath.Dir(file) != dir || !strings.HasPrefix(filepath.Base(file), p.Name+"_db_backup_") || !strings.HasSuffix(file, ".sql.gz") {
		t.Fatalf("backup path %q: want %s/%s_db_backup_YYYYMMDD_HHMMSS.sql.gz", file, dir, p.Name)
	}
	manifest := strings.TrimSuffix(file, ".sql.gz") + ".json"
	for name, want := range map[string]os.FileMode{dir: 0o700, file: 0o600, manifest: 0o600} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Counts       map[string]int64 `json:"counts"`
		Verification struct {
			Mode string `json:"mode"`
			OK   bool   `json:"ok"`
		} `json:"verification"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest %s: %v", manifest, err)
	}
	want := map[string]int64{
		"public.ledger_account":     int64(len(fixtureBalances)),
		"public.ledger_category":    4,
		"public.ledger_transaction": fixtureTxns + seeded,
	}
	for table, n := range want {
		if m.Counts[table] != n {
			t.Errorf("manifest counts %s = %d, want %d (all: %v)", table, m.Counts[table], n, m.Counts)
		}
	}
	if !m.Verification.OK || m.Verification.Mode != "full" {
		t.Errorf("manifest verification = %+v, want a full verification that passed", m.Verification)
	}
	if r := p.Run("docker-ledger", "ledger", "verify", file); r.ExitCode != 0 {
		t.Errorf("docker ledger verify %s: %s", file, r)
	}
	if got := p.Psql("db", "SELECT count(*) FROM ledger_transaction"); got != wantRows {
		t.Errorf("ledger_transaction rows after the backup = %s, want %s", got, wantRows)
	}
	return file
}

// explained is ledger_docker's LEDGER_EXPLAIN=1 answer.
type explained struct {
	Verdict string `json:"verdict"`
	Volumes []struct {
		Name      string `json:"name"`
		Protected bool   `json:"protected"`
		Action    string `json:"action"`
	} `json:"volumes"`
	Reason string `json:"reason"`
}

// downVolumesRefused: `ledger_docker compose down -v` names both protected
// volumes, exits 77 and changes nothing.
func downVolumesRefused(t *testing.T, p *testenv.Project, wantRows string) {
	t.Helper()
	r := p.RunEnv([]string{"LEDGER_EXPLAIN=1"}, "ledger_docker", "compose", "down", "-v")
	var e explained
	if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &e) != nil {
		t.Fatalf("LEDGER_EXPLAIN=1 ledger_docker compose down -v: %s", r)
	}
	got := map[string]string{}
	for _, v := range e.Volumes {
		got[v.Name] = v.Action + " protected=" + strconv.FormatBool(v.Protected)
	}
	want := map[string]string{
		p.Volume("pgdata"): "delete protected=true",
		p.Volume("media"):  "delete protected=true",
		p.Volume("cache"):  "delete protected=false",
	}
	if e.Verdict != "block" || !maps.Equal(got, want) {
		t.Errorf("explain compose down -v = %s, want verdict block and volumes %v", r.Stdout, want)
	}

	before := p.Compose("ps", "-q").Stdout
	r = p.Run("ledger_docker", "compose", "down", "-v")
	if r.ExitCode != 77 {
		t.Fatalf("ledger_docker compose down -v: want exit status 77: %s", r)
	}
	for _, v := range []string{"pgdata", "media"} {
		if !strings.Contains(r.Stderr, p.Volume(v)) {
			t.Errorf("the refusal does not name protected volume %s:\n%s", p.Volume(v), r.Stderr)
		}
	}
	for _, v := range []string{"pgdata", "media", "cache"} {
		if !p.VolumeExists(v) {
			t.Errorf("volume %s is gone after a refused down -v", v)
		}
	}
	if after := p.Compose("ps", "-q").Stdout; after != before {
		t.Errorf("containers changed after a refused down -v: before %q, after %q", before, after)
	}
	if got := p.Psql("db", "SELECT count(*) FROM ledger_transaction"); got != wantRows {
		t.Errorf("ledger_transaction rows after a refused down -v = %s, want %s", got, wantRows)
	}
}

// cacheSnapshotted: with web removed (a command that passes), the
// unprotected cache volume is unused; removing it gets the backup verdict:
// a tar.gz of it holding the file put there, and a database backup of the
// project, are written before the volume goes.
func cacheSnapshotted(t *testing.T, p *testenv.Project) {
	t.Helper()
	p.Compose("exec", "-T", "web", "sh", "-c", "echo derived > /var/cache/ledgerflow/marker")
	if r := p.Run("ledger_docker", "compose", "rm", "--stop", "--force", "web"); r.ExitCode != 0 {
		t.Fatalf("ledger_docker compose rm --stop --force web (no -v) must pass: %s", r)
	}
	dbBackups := func() []string {
		m, _ := filepath.Glob(filepath.Join(p.Dir, "backups", "dev", p.Name+"_db_backup_*.sql.gz"))
		return m
	}
	before := len(dbBackups())
	r := p.Run("ledger_docker", "volume", "rm", p.Volume("cache"))
	if r.ExitCode != 0 {
		t.Fatalf("ledger_docker volume rm of the unprotected cache: %s", r)
	}
	if p.VolumeExists("cache") {
		t.Errorf("volume rm did not remove %s", p.Volume("cache"))
	}
	if got := len(dbBackups()); got != before+1 {
		t.Errorf("want a new database backup before the volume went: %d backups before, %d after\n%s", before, got, r)
	}
	// The snapshot goes to the project's backups/dev/volumes when the
	// project's folder is known here, else to the user's snapshot folder.
	var snaps []string
	for _, dir := range []string{
		filepath.Join(p.Dir, "backups", "dev", "volumes"),
		filepath.Join(p.Home, "data", "ledger-docker", "snapshots"),
	} {
		m, _ := filepath.Glob(filepath.Join(dir, p.Volume("cache")+"_*.tar.gz"))
		snaps = append(snaps, m...)
	}
	if len(snaps) != 1 {
		t.Fatalf("want one snapshot of %s (project's backups/dev/volumes or the user's snapshots), have %v\n%s", p.Volume("cache"), snaps, r)
	}
	// A snapshot is a plain tar.gz: tar itself reads it.
	r = p.Exec(testenv.Cmd{Bin: "tar", Args: []string{"-tzf", snaps[0]}})
	if r.ExitCode != 0 || !slices.ContainsFunc(strings.Fields(r.Stdout), func(n string) bool { return path.Base(n) == "marker" }) {
		t.Errorf("tar -tzf %s does not list the cache's file: %s", snaps[0], r)
	}
	for _, v := range []string{"pgdata", "media"} {
		if !p.VolumeExists(v) {
			t.Errorf("protected volume %s is gone after volume rm of the cache", v)
		}
	}
}

// restoreAfterDamage deletes one account's transactions, restores the
// backup with --yes (no terminal) and checks the rows and the balances view
// are back, and that a safety backup of the damaged database was kept.
func restoreAfterDamage(t *testing.T, p *testenv.Project, file, wantRows string) {
	t.Helper()
	want := balances(t, p)
	p.Psql("db", "DELETE FROM ledger_transaction WHERE account_id = (SELECT id FROM ledger_account WHERE name = 'Savings')")
	if got := p.Psql("db", "SELECT count(*) FROM ledger_transaction"); got == wantRows {
		t.Fatalf("the damage deleted nothing: %s rows", got)
	}
	if r := p.Run("docker-ledger", "ledger", "restore", file); r.ExitCode == 0 {
		t.Fatalf("restore without a terminal and without --yes must refuse: %s", r)
	}
	r := p.Run("docker-ledger", "ledger", "restore", "--yes", file)
	if r.ExitCode != 0 {
		t.Fatalf("docker ledger restore --yes %s: %s", file, r)
	}
	if got := p.Psql("db", "SELECT count(*) FROM ledger_transaction"); got != wantRows {
		t.Fatalf("ledger_transaction rows after the restore = %s, want %s", got, wantRows)
	}
	if got := balances(t, p); !slices.Equal(got, want) {
		t.Errorf("balances after the restore = %+v, want %+v", got, want)
	}
	// The restore kept a safety backup of the damaged database.
	backups, _ := filepath.Glob(filepath.Join(p.Dir, "backups", "dev", "*.sql.gz"))
	if len(backups) < 2 {
		t.Errorf("want the backup and a safety backup in backups/dev, have %v\n%s", backups, r)
	}
}

// waitWeb waits until web answers the balances view, i.e. migrate is done
// and runserver listens. The bound (2 min) only guards a hung test.
func waitWeb(t *testing.T, p *testenv.Project) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := p.ComposeNoCheck("exec", "-T", "web", "python3", "-c", fetchScript, balancesURL)
		if r.ExitCode == 0 {
			return
		}
		if time.Now().After(deadline) {
			logs := p.ComposeNoCheck("logs", "--no-color", "--tail", "50", "web")
			t.Fatalf("web does not answer %s: %s\n--- logs:\n%s%s", balancesURL, r, logs.Stdout, logs.Stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// balances asks the app's view, from inside the web container.
func balances(t *testing.T, p *testenv.Project) []accountBalance {
	t.Helper()
	r := p.Compose("exec", "-T", "web", "python3", "-c", fetchScript, balancesURL)
	var body struct {
		Accounts []accountBalance `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &body); err != nil {
		t.Fatalf("balances view: %v\n%s", err, r.Stdout)
	}
	return body.Accounts
}

// sqlBalances computes the balances with psql in the db service.
func sqlBalances(t *testing.T, p *testenv.Project) []accountBalance {
	t.Helper()
	out := p.Psql("db", `SELECT a.name, a.currency, coalesce(sum(t.amount), 0.00), count(t.id)
		FROM ledger_account a LEFT JOIN ledger_transaction t ON t.account_id = a.id
		GROUP BY a.id ORDER BY a.name`)
	var bs []accountBalance
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4 {
			t.Fatalf("psql balances: unexpected line %q", line)
		}
		b := accountBalance{Name: f[0], Currency: f[1], Balance: f[2]}
		if err := json.Unmarshal([]byte(f[3]), &b.Transactions); err != nil {
			t.Fatalf("psql balances: count %q: %v", f[3], err)
		}
		bs = append(bs, b)
	}
	return bs
}
