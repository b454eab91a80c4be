// Command backup benchmarks database backups and restores on a generated
// ledger database (3 M transactions with random memo text, about 1 GB) and
// prints each figure with its ratio to the shell baseline:
//
//	backup --db-only --verify=quick   vs raw `pg_dump > /dev/null`      <= 1.3x
//	backup --db-only --verify=quick   vs `pg_dump | gzip > file`        >= 2x faster
//	backup --db-only (test restore)   vs `pg_dump | gzip` + `gunzip | psql`  <= 0.75x
//	restore (without its safety backup) vs `gunzip | psql`              <= 1.1x
//
// The quick backup and the raw pg_dump alternate three times and their
// medians are compared.
// The restore step is the restore without its safety backup (timed apart),
// taken as the median of the full restore and a restore into a new database,
// against the median of three gunzip | psql runs around them: the machine's
// load drifts during a run.
//
// The database is generated server-side (generate_series) once and cached
// in a volume named after its size, so later runs reuse it. Run it with
// `make bench` (it needs bin/docker-ledger) or `go run ./internal/bench/backup`.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// genVersion changes when the generated data changes, so a cached volume
// of an older generator is not reused.
const genVersion = 2

const (
	dbUser = "ledger"
	dbName = "ledger"
)

type bench struct {
	docker  string // the real docker CLI
	plugin  string // docker-ledger
	rows    int
	dir     string // project folder (compose file, backups)
	cfg     string // DOCKER_CONFIG holding the plugins
	project string
	ctr     string // database container
	volume  string
	keep    bool
	// baselineOnly measures the shell baselines only.
	baselineOnly bool
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/backup: ")
	var b bench
	flag.IntVar(&b.rows, "rows", 3_000_000, "transactions to generate (3 M is about 1 GB)")
	flag.BoolVar(&b.keep, "keep", false, "keep the project folder and the container after the run")
	flag.BoolVar(&b.baselineOnly, "baseline-only", false, "measure the shell baselines only")
	plugin := flag.String("plugin", "bin/docker-ledger", "the docker-ledger plugin binary to benchmark")
	flag.Parse()
	if err := b.run(*plugin); err != nil {
		log.Fatal(err)
	}
}

// tb lets the bench use the e2e harness's image builder outside a test.
type tb struct{ testing.TB }

func (tb) Helper()                        {}
func (tb) Fatalf(format string, a ...any) { log.Fatalf(format, a...) }
func (tb) Fatal(a ...any)                 { log.Fatal(a...) }

func (b *bench) run(plugin string) error {
	var err error
	if b.plugin, err = filepath.Abs(plugin); err != nil {
		return err
	}
	if _, err := os.Stat(b.plugin); err != nil {
		return fmt.Errorf("%s: %w (run `make build` first)", plugin, err)
	}
	testenv.RequireEngine(tb{})
	testenv.ComposeV2(tb{})
	b.docker = testenv.RealDocker(tb{})
	image := testenv.PostgresImage(tb{})

	if b.dir, err = os.MkdirTemp("", "ledger-bench-backup-"); err != nil {
		return err
	}
	b.project = "ledgerbench" + strconv.Itoa(os.Getpid())
	b.volume = fmt.Sprintf("ledger-bench-pgdata-%d-v%d", b.rows, genVersion)
	// Two benches at once would run two servers on one data volume.
	unlock, err := lockFile(filepath.Join(os.TempDir(), b.volume+".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if err := b.setup(image); err != nil {
		return err
	}
	defer b.teardown()
	if err := b.ensureData(); err != nil {
		return err
	}
	return b.measure()
}

// setup writes the compose project (the cached data volume is external, so
// nothing the bench does can delete it) and a DOCKER_CONFIG whose plugins
// are the docker-ledger under test and the compose plugin in use.
func (b *bench) setup(image string) error {
	compose := fmt.Sprintf(`name: %s
services:
  db:
    image: %s
    environment:
      POSTGRES_USER: %s
      POSTGRES_PASSWORD: bench
      POSTGRES_DB: %s
    # Parallel index builds need more than docker's default 64 MB /dev/shm
    # at this size (also for the plain gunzip | psql baseline).
    shm_size: 1g
    command: ["postgres", "-c", "shared_buffers=256MB", "-c", "max_wal_size=4GB"]
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
    external: true
    name: %s
`, b.project, image, dbUser, dbName, b.volume)
	if err := os.WriteFile(filepath.Join(b.dir, "compose.yaml"), []byte(compose), 0o600); err != nil {
		return err
	}
	b.cfg = filepath.Join(b.dir, ".docker")
	plugins := filepath.Join(b.cfg, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o700); err != nil {
		return err
	}
	if err := os.Symlink(b.plugin, filepath.Join(plugins, "docker-ledger")); err != nil {
		return err
	}
	if p := composePlugin(); p != "" {
		if err := os.Symlink(p, filepath.Join(plugins, "docker-compose")); err != nil {
			return err
		}
	}
	if _, err := b.cmd("", "volume", "create", "--label", "com.ledgerflow.bench=true", b.volume); err != nil {
		return err
	}
	// A second PostgreSQL server on the same data folder corrupts it (a
	// container kept by -keep, say): the bench refuses to start one.
	users, err := b.cmd("", "ps", "-a", "--filter", "volume="+b.volume, "--format", "{{.Names}}")
	if err != nil {
		return err
	}
	if users = strings.TrimSpace(users); users != "" {
		return fmt.Errorf("volume %s is in use by container(s) %s; remove them first (docker rm -f %s)",
			b.volume, strings.ReplaceAll(users, "\n", ", "), strings.ReplaceAll(users, "\n", " "))
	}
	if _, err := b.cmd("", "compose", "up", "-d", "--wait"); err != nil {
		return err
	}
	b.ctr = b.project + "-db-1"
	return b.waitReady()
}

// lockFile holds an exclusive flock on path until the returned func runs,
// waiting for another holder.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		log.Printf("another bench uses the data volume; waiting for it (%s)", path)
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	return func() { f.Close() }, nil
}

// composePlugin finds the compose plugin the docker CLI uses now.
func composePlugin() string {
	var dirs []string
	if c := os.Getenv("DOCKER_CONFIG"); c != "" {
		dirs = append(dirs, filepath.Join(c, "cli-plugins"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, ".docker", "cli-plugins"))
	}
	dirs = append(dirs, "/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
		"/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
	for _, d := range dirs {
		p := filepath.Join(d, "docker-compose")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func (b *bench) teardown() {
	if b.keep {
		log.Printf("kept %s (project %s)", b.dir, b.project)
		return
	}
	if _, err := b.cmd("", "compose", "down", "--timeout", "30"); err != nil {
		log.Print(err)
	}
	os.RemoveAll(b.dir)
}

// cmd runs the real docker CLI in the project folder with stdin.
func (b *bench) cmd(stdin string, args ...string) (string, error) {
	c := exec.Command(b.docker, args...)
	c.Dir = b.dir
	c.Env = append(os.Environ(), "DOCKER_CONFIG="+b.cfg)
	c.Stdin = strings.NewReader(stdin)
	var out, stderr bytes.Buffer
	c.Stdout, c.Stderr = &out, &stderr
	if err := c.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, lastLines(stderr.String(), 20))
	}
	return out.String(), nil
}

// sh runs a shell pipeline (the baselines are what a person types).
func (b *bench) sh(script string) error {
	c := exec.Command("bash", "-c", "set -euo pipefail; "+script)
	c.Dir = b.dir
	c.Env = append(os.Environ(), "DOCKER_CONFIG="+b.cfg, "DOCKER="+b.docker, "CTR="+b.ctr)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", script, err, stderr.String())
	}
	return nil
}

// psql runs SQL statements (one by one, so VACUUM and CREATE DATABASE
// work) in db.
func (b *bench) psql(db, sql string) (string, error) {
	return b.cmd(sql+";\n", "exec", "-i", b.ctr, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", dbUser, "-d", db)
}

func (b *bench) waitReady() error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := b.psql(dbName, "SELECT 1")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("database did not become ready: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// readyMarker in the data volume says the data is complete.
const readyMarker = "/var/lib/postgresql/data/ledger-bench.ready"

func (b *bench) ensureData() error {
	if _, err := b.cmd("", "exec", b.ctr, "test", "-f", readyMarker); err == nil {
		size, _ := b.psql(dbName, "SELECT pg_size_pretty(pg_database_size(current_database()))")
		log.Printf("reusing volume %s (%s)", b.volume, strings.TrimSpace(size))
		return nil
	}
	log.Printf("generating %d transactions into volume %s ...", b.rows, b.volume)
	t0 := time.Now()
	if _, err := b.psql(dbName, generateSQL(b.rows)); err != nil {
		return err
	}
	if _, err := b.cmd("", "exec", b.ctr, "touch", readyMarker); err != nil {
		return err
	}
	size, _ := b.psql(dbName, "SELECT pg_size_pretty(pg_database_size(current_database()))")
	log.Printf("generated %s in %s", strings.TrimSpace(size), time.Since(t0).Round(time.Second))
	return nil
}

// generateSQL builds the ledger: 10 000 accounts and n transactions whose
// memo is 14 random words plus three random hex references (about 330
// bytes a row on disk), then the indexes and the foreign key.
func generateSQL(n int) string {
	words := []string{"invoice", "payment", "refund", "transfer", "salary", "rent", "groceries", "fuel",
		"insurance", "tax", "dividend", "interest", "fee", "subscription", "utilities", "travel", "hotel",
		"restaurant", "coffee", "books", "software", "hardware", "consulting", "licence", "maintenance",
		"repair", "shipping", "customs", "deposit", "withdrawal", "loan", "mortgage", "pension", "bonus",
		"commission", "royalty", "grant", "donation", "membership", "tuition", "medical", "pharmacy",
		"parking", "toll", "train", "flight", "taxi", "misc"}
	word := fmt.Sprintf("w[1 + (random() * %d)::int]", len(words)-1)
	memo := strings.Repeat(word+" || ' ' || ", 14) + "'ref ' || md5(random()::text) || ' ' || md5(random()::text) || ' ' || md5(random()::text)"
	return `DROP TABLE IF EXISTS transactions, accounts;
CREATE TABLE accounts (
  id bigint PRIMARY KEY,
  name text NOT NULL,
  currency char(3) NOT NULL,
  opened_at timestamptz NOT NULL);
CREATE TABLE transactions (
  id bigint PRIMARY KEY,
  account_id bigint NOT NULL,
  amount numeric(14,2) NOT NULL,
  booked_at timestamptz NOT NULL,
  memo text NOT NULL);
INSERT INTO accounts
SELECT g, 'account ' || g, (ARRAY['EUR','USD','GBP','CHF'])[1 + g % 4], timestamptz '2019-01-01' + g * interval '1 hour'
FROM generate_series(1, 10000) g;
INSERT INTO transactions
SELECT g, 1 + (random() * 9999)::int, round((random() * 20000 - 10000)::numeric, 2),
       timestamptz '2020-01-01' + g * interval '20 seconds', ` + memo + `
FROM generate_series(1, ` + strconv.Itoa(n) + `) g, (SELECT ARRAY['` + strings.Join(words, "','") + `'] AS w) words;
ALTER TABLE transactions ADD CONSTRAINT transactions_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
CREATE INDEX transactions_account_id_idx ON transactions (account_id);
CREATE INDEX transactions_booked_at_idx ON transactions (booked_at);
VACUUM ANALYZE;
CHECKPOINT;`
}

// figures are the bench's timings.
type figures struct {
	raw, shellGzip, quick, shellVerified, verified, restore, safety, restoreStep, shellRestore, shellRestore2, shellRestore3, restoreNew time.Duration
	// raw2/3 and quick2/3 repeat the first pair, alternating.
	raw2, raw3, quick2, quick3 time.Duration
}

func (b *bench) measure() error {
	var f figures
	shellFile := filepath.Join(b.dir, "shell.sql.gz")
	dump := `"$DOCKER" exec "$CTR" pg_dump -U ` + dbUser + ` ` + dbName
	shellRestore := func() error {
		if _, err := b.psql("postgres", "DROP DATABASE IF EXISTS bench_shell;\nCREATE DATABASE bench_shell"); err != nil {
			return err
		}
		return b.sh(`gunzip -c ` + shellFile + ` | "$DOCKER" exec -i "$CTR" psql -X -q -v ON_ERROR_STOP=1 -U ` + dbUser + ` -d bench_shell >/dev/null`)
	}
	raw := func() error { return b.sh(dump + ` >/dev/null`) }
	quick := func() error {
		_, err := b.ledger("backup", "--db-only", "--verify=quick")
		return err
	}
	var backupFile string
	var res restoreResult
	steps := []struct {
		name string
		d    *time.Duration
		ours bool
		fn   func() error
	}{
		// The first dump warms the server's cache the same way for everyone.
		{"warm-up pg_dump > /dev/null", nil, false, func() error { return b.sh(dump + ` >/dev/null`) }},
		{"raw pg_dump > /dev/null", &f.raw, false, raw},
		{"shell pg_dump | gzip > file", &f.shellGzip, false, func() error { return b.sh(dump + ` | gzip > ` + shellFile) }},
		{"docker ledger backup --db-only --verify=quick", &f.quick, true, quick},
		// The quick backup and the raw dump take a few seconds each: they
		// alternate three times and their medians are compared.
		{"raw pg_dump > /dev/null (2)", &f.raw2, true, raw},
		{"docker ledger backup --db-only --verify=quick (2)", &f.quick2, true, quick},
		{"raw pg_dump > /dev/null (3)", &f.raw3, true, raw},
		{"docker ledger backup --db-only --verify=quick (3)", &f.quick3, true, quick},
		{"shell pg_dump | gzip, then gunzip | psql", &f.shellVerified, false, func() error {
			if err := b.sh(dump + ` | gzip > ` + shellFile); err != nil {
				return err
			}
			return shellRestore()
		}},
		{"docker ledger backup --db-only (test restore)", &f.verified, true, func() error {
			out, err := b.ledger("backup", "--db-only")
			backupFile = lastLine(out)
			return err
		}},
		{"shell gunzip | psql", &f.shellRestore, false, shellRestore},
		{"docker ledger restore --yes (with safety backup)", &f.restore, true, func() error {
			if _, err := b.psql("postgres", "DROP DATABASE IF EXISTS bench_shell"); err != nil {
				return err
			}
			out, err := b.ledger("restore", "--yes", "--json", backupFile)
			if err != nil {
				return err
			}
			return json.Unmarshal([]byte(out), &res)
		}},
		// The machine's load drifts: the restore step is timed a second
		// time (into a new database: no safety backup, nothing to drop)
		// between more gunzip | psql runs, and medians are compared.
		{"shell gunzip | psql (2)", &f.shellRestore2, true, shellRestore},
		{"docker ledger restore --yes into a new database", &f.restoreNew, true, func() error {
			if _, err := b.psql("postgres", "DROP DATABASE IF EXISTS bench_shell;\nDROP DATABASE IF EXISTS bench_new"); err != nil {
				return err
			}
			_, err := b.ledger("restore", "--yes", "--database", "bench_new", backupFile)
			return err
		}},
		{"shell gunzip | psql (3)", &f.shellRestore3, true, shellRestore},
		{"drop the bench's databases", nil, true, func() error {
			_, err := b.psql("postgres", "DROP DATABASE IF EXISTS bench_shell;\nDROP DATABASE IF EXISTS bench_new")
			return err
		}},
	}
	log.Printf("load average before: %s", loadAvg())
	defer func() { log.Printf("load average after: %s", loadAvg()) }()
	for _, st := range steps {
		if st.ours && b.baselineOnly {
			continue
		}
		t0 := time.Now()
		if err := st.fn(); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		d := time.Since(t0)
		if st.d != nil {
			*st.d = d
		}
		log.Printf("%-50s %8.2fs", st.name, d.Seconds())
	}
	if b.baselineOnly {
		return nil
	}
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	f.safety = ms(res.Durations.SafetyBackup)
	f.restoreStep = f.restore - f.safety
	log.Printf("%-50s %8.2fs", "  its safety backup (file re-read meanwhile)", f.safety.Seconds())
	log.Printf("%-50s %8.2fs", "  the restore step (the rest)", f.restoreStep.Seconds())
	log.Printf("%-50s %8.2fs", "    of which load into the scratch database", ms(res.Durations.Load).Seconds())
	log.Printf("%-50s %8.2fs", "    of which counts and schema check", ms(res.Durations.Verify).Seconds())
	log.Printf("%-50s %8.2fs", "    of which swap and drop of the old database", ms(res.Durations.Swap).Seconds())
	f.raw, f.quick = median(f.raw, f.raw2, f.raw3), median(f.quick, f.quick2, f.quick3)
	log.Printf("%-50s %8.2fs", "raw pg_dump > /dev/null, median of 3", f.raw.Seconds())
	log.Printf("%-50s %8.2fs", "backup --verify=quick, median of 3", f.quick.Seconds())
	f.shellRestore = median(f.shellRestore, f.shellRestore2, f.shellRestore3)
	f.restoreStep = median(f.restoreStep, f.restoreNew)
	log.Printf("%-50s %8.2fs", "shell gunzip | psql, median of 3", f.shellRestore.Seconds())
	log.Printf("%-50s %8.2fs", "restore step, median of 2", f.restoreStep.Seconds())
	return report(f)
}

// median of a few durations (the mean of the middle two for an even count).
func median(ds ...time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadAvg is the machine's 1/5/15-minute load average: the figures are
// wall times, so a busy machine shows in them.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ") + fmt.Sprintf(" (%d CPUs)", runtime.NumCPU())
}

// ledger runs `docker ledger ARGS...` with the plugin under test.
func (b *bench) ledger(args ...string) (string, error) {
	return b.cmd("", append([]string{"ledger"}, args...)...)
}

type restoreResult struct {
	Durations struct {
		SafetyBackup int64 `json:"safety_backup"`
		Load         int64 `json:"load"`
		Verify       int64 `json:"verify"`
		Swap         int64 `json:"swap"`
		Total        int64 `json:"total"`
	} `json:"durations_ms"`
}

func lastLine(s string) string { return strings.TrimSpace(lastLines(s, 1)) }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// report prints the ratios and fails when a target is missed.
func report(f figures) error {
	type ratio struct {
		name   string
		value  float64
		target string
		ok     bool
	}
	r := func(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }
	rs := []ratio{
		{"backup --verify=quick / raw pg_dump", r(f.quick, f.raw), "<= 1.30", r(f.quick, f.raw) <= 1.3},
		{"shell pg_dump|gzip / backup --verify=quick", r(f.shellGzip, f.quick), ">= 2.00", r(f.shellGzip, f.quick) >= 2},
		{"verified backup / shell dump+gzip+gunzip|psql", r(f.verified, f.shellVerified), "<= 0.75", r(f.verified, f.shellVerified) <= 0.75},
		{"restore step / shell gunzip|psql", r(f.restoreStep, f.shellRestore), "<= 1.10", r(f.restoreStep, f.shellRestore) <= 1.1},
	}
	var missed []string
	fmt.Println("ratio                                          value  target")
	for _, x := range rs {
		mark := "ok"
		if !x.ok {
			mark = "MISSED"
			missed = append(missed, x.name)
		}
		fmt.Printf("%-46s %5.2f  %s  %s\n", x.name, x.value, x.target, mark)
	}
	if len(missed) > 0 {
		return errors.New("targets missed: " + strings.Join(missed, ", "))
	}
	return nil
}
