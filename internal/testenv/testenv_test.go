package testenv_test

import (
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// TestImages builds (or finds) both test images and the Compose v2 plugin;
// `make images` runs it.
func TestImages(t *testing.T) {
	testenv.RequireEngine(t)
	testenv.ComposeV2(t)
	for _, tag := range []string{testenv.PostgresImage(t), testenv.IdleImage(t)} {
		if !strings.HasPrefix(tag, "ledger-e2e/") || !strings.Contains(tag, ":") {
			t.Errorf("image tag %q, want ledger-e2e/<name>:<hash>", tag)
		}
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
