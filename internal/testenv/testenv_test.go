package testenv_test

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// TestImages builds (or finds) both test images and the Compose v2 plugin;
// `make images` runs it.
func TestImages(t *testing.T) {
	testenv.RequireEngine(t)
	testenv.ComposeV2(t)
	for _, tag := range []string{testenv.PostgresImage(t), testenv.IdleImage(t), testenv.DjangoImage(t)} {
		if !strings.HasPrefix(tag, "ledger-e2e/") || !strings.Contains(tag, ":") {
			t.Errorf("image tag %q, want ledger-e2e/<name>:<hash>", tag)
		}
		// make demo reads these lines (go test -v)
		t.Logf("image %s", tag)
	}
}

// TestProtectScenario is the harness's own story: bring the protect project
// up with the real Compose v2, talk to PostgreSQL, see both volumes, and
// leave nothing behind.
func TestProtectScenario(t *testing.T) {
	var name string
	var vols []string
	t.Run("up", func(t *testing.T) {
		p := testenv.NewProject(t, "protect")
		name = p.Name
		p.Up() // waits for PostgreSQL services
		if got := p.Psql("db", "SELECT 1"); got != "1" {
			t.Errorf("SELECT 1 right after Up = %q, want 1", got)
		}
		p.WaitPostgres("db")

		if r := p.Compose("exec", "-T", "db", "pg_isready", "-U", "ledger"); !strings.Contains(r.Stdout, "accepting connections") {
			t.Errorf("pg_isready: %s", r)
		}
		if got := p.Psql("db", "SELECT 1"); got != "1" {
			t.Errorf("SELECT 1 through psql = %q, want 1", got)
		}
		ctr := strings.TrimSpace(p.Compose("ps", "-q", "db").Stdout)
		r := p.Docker("exec", ctr, "psql", "-U", "ledger", "-d", "ledger", "-tAc", "SELECT current_user || '@' || current_database()")
		if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "ledger@ledger" {
			t.Errorf("docker exec psql: %s", r)
		}
		for _, v := range []string{"pgdata", "media"} {
			if !p.VolumeExists(v) {
				t.Errorf("volume %s does not exist", p.Volume(v))
			}
			vols = append(vols, p.Volume(v))
		}
		r = p.Docker("volume", "inspect", "-f", `{{index .Labels "com.ledgerflow.protect"}}`, p.Volume("pgdata"))
		if strings.TrimSpace(r.Stdout) != "true" {
			t.Errorf("pgdata protect label: %s", r)
		}
		// The app container stops at once on SIGTERM (the idle image).
		p.Compose("stop", "app")
	})
	if t.Failed() || name == "" {
		return
	}
	// After the subtest's cleanup nothing of the project is left.
	p := testenv.NewProject(t, "protect")
	if r := p.Docker("ps", "-aq", "--filter", "label=com.docker.compose.project="+name); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("containers left after cleanup: %s", r.Stdout)
	}
	for _, v := range vols {
		if r := p.Docker("volume", "inspect", v); r.ExitCode == 0 {
			t.Errorf("volume %s left after cleanup", v)
		}
	}
}

// TestPostgresImage checks what tests rely on from the PostgreSQL image:
// official-image defaults, init scripts (.sql, .sql.gz, sourced .sh) run
// once, password auth over TCP, the data folder's owner, SIGINT to stop,
// the client tools on PATH.
func TestPostgresImage(t *testing.T) {
	p := testenv.NewProject(t, "pgimage")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("INSERT INTO seen VALUES (2, 'sql.gz');\n"))
	zw.Close()
	p.WriteFile("initdb/02-more.sql.gz", gz.String())
	p.Up()

	// POSTGRES_USER and POSTGRES_DB default to postgres.
	if got := p.Psql("db", "SELECT current_user || '@' || current_database()"); got != "postgres@postgres" {
		t.Errorf("defaults: %q, want postgres@postgres", got)
	}
	const rows = "SELECT string_agg(n || ':' || source, ',' ORDER BY n) FROM seen"
	if got := p.Psql("db", rows); got != "1:sql,2:sql.gz,3:sh" {
		t.Errorf("init scripts: rows %q, want 1:sql,2:sql.gz,3:sh", got)
	}

	// TCP needs the password (trust is for the local socket only).
	tcp := func(password string) testenv.Result {
		return p.ComposeNoCheck("exec", "-T", "-e", "PGPASSWORD="+password, "db",
			"psql", "-X", "-tA", "-h", "127.0.0.1", "-U", "postgres", "-c", "SELECT 42")
	}
	if r := tcp("pw-for-tests"); r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "42" {
		t.Errorf("TCP with the password: %s", r)
	}
	if r := tcp("wrong"); r.ExitCode == 0 || !strings.Contains(r.Stderr, "password authentication failed") {
		t.Errorf("TCP with a wrong password: %s", r)
	}

	// A restart keeps the data and does not run the init scripts again.
	p.Compose("restart", "db")
	p.WaitPostgres("db")
	if got := p.Psql("db", rows); got != "1:sql,2:sql.gz,3:sh" {
		t.Errorf("after restart: rows %q", got)
	}

	for cmd, want := range map[string]string{
		"stat -c %U:%a /var/lib/postgresql/data": "postgres:700",
		"pg_dump --version":                      "pg_dump (PostgreSQL) 15.",
		"pg_isready -h localhost":                "accepting connections",
	} {
		r := p.Compose(append([]string{"exec", "-T", "db"}, strings.Fields(cmd)...)...)
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("%s: %q, want %q", cmd, r.Stdout, want)
		}
	}
	// The main process runs as postgres, and docker stop sends SIGINT (a
	// fast shutdown).
	ctr := p.ContainerID("db")
	if r := p.Docker("inspect", "-f", "{{.Config.StopSignal}}", ctr); strings.TrimSpace(r.Stdout) != "SIGINT" {
		t.Errorf("stop signal: %s", r)
	}
	if r := p.Compose("exec", "-T", "db", "sh", "-c", "stat -c %U /proc/1"); strings.TrimSpace(r.Stdout) != "postgres" {
		t.Errorf("PID 1 runs as %q, want postgres", strings.TrimSpace(r.Stdout))
	}
	p.Compose("stop", "db")
	logs := p.Compose("logs", "--no-color", "db")
	if !strings.Contains(logs.Stdout+logs.Stderr, "received fast shutdown request") {
		t.Errorf("docker stop did not ask for a fast shutdown (SIGINT):\n%s", logs.Stdout)
	}
}
