package list

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "shop_db_backup_20260101_010101.sql.gz")
	bad := filepath.Join(dir, "shop_db_backup_20260102_010101.sql.gz")
	legacy := filepath.Join(dir, "ledgerflow_backup_20251201_000000.sql.gz")
	for _, f := range []string{ok, bad, legacy} {
		os.WriteFile(f, []byte("data"), 0o600)
	}
	m := &backup.Manifest{Project: "shop", Counts: map[string]int64{"public.a": 2}}
	m.Verification.Mode = verify.ModeFull
	m.Verification.Add(verify.Pass(verify.CheckGzip, ""))
	if err := m.Save(ok); err != nil {
		t.Fatal(err)
	}
	m.Verification.Add(verify.Fail(verify.CheckRowCounts, "differ"))
	if err := m.Save(bad); err != nil {
		t.Fatal(err)
	}

	ios, _, stdout, _ := iostreams.Test()
	if err := run(context.Background(), &Options{IO: ios, BackupDir: dir}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "failed (row_counts)") || !strings.Contains(lines[2], "verified") ||
		!strings.Contains(lines[3], "unverified") {
		t.Errorf("list:\n%s", stdout)
	}

	ios, _, stdout, _ = iostreams.Test()
	if err := run(context.Background(), &Options{IO: ios, BackupDir: dir, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var es []backup.Entry
	if err := json.Unmarshal(stdout.Bytes(), &es); err != nil || len(es) != 3 || es[0].State != backup.StateFailed {
		t.Errorf("list --json: %v %s", err, stdout)
	}

	ios, _, stdout, _ = iostreams.Test()
	if err := run(context.Background(), &Options{IO: ios, BackupDir: filepath.Join(dir, "none"), JSON: true}); err != nil || strings.TrimSpace(stdout.String()) != "[]" {
		t.Errorf("empty folder: %v %q", err, stdout)
	}
}
