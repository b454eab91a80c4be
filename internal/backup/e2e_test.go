package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/settings"
	"github.com/ledger-docker/ledger-docker/internal/testenv"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

// seededProject brings up the dbbackup scenario's database and loads the
// ledger schema with rows transactions.
func seededProject(t *testing.T, rows int) *testenv.Project {
	t.Helper()
	p := testenv.NewProject(t, "dbbackup")
	p.Up("db")
	p.WaitPostgres("db")
	seed, err := os.ReadFile(filepath.Join(p.Dir, "seed.sql"))
	if err != nil {
		t.Fatal(err)
	}
	p.Psql("db", strings.ReplaceAll(string(seed), ":rows", strconv.Itoa(rows)))
	return p
}

func TestBackupRunVerifiesAndPublishes(t *testing.T) {
	p := seededProject(t, 20000)
	eng, err := docker.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	env := func(k string) string { return "" }
	s, proj, err := settings.Load(ctx, compose.Options{ProjectDir: p.Dir, Env: append(os.Environ(), p.Env...)}, env)
	if err != nil {
		t.Fatal(err)
	}
	res, err := backup.Run(ctx, backup.Request{Settings: s, Project: proj, Engine: eng, Getenv: func(k string) string {
		if k == "LEDGER_LOCK_DIR" {
			return filepath.Join(p.Home, "locks")
		}
		return ""
	}, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	t.Logf("%s: %+v", res.Path, m.Verification)
	if !m.Verification.OK || m.Verification.Mode != verify.ModeFull {
		t.Errorf("verification = %+v", m.Verification)
	}
	if m.Counts["public.transactions"] != 20000 || m.Counts["public.accounts"] != 100 || m.Counts["public.empty_table"] != 0 {
		t.Errorf("counts = %v", m.Counts)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
