package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/settings"
	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// TestSampleAppSettings reads the sample app's x-ledger block as the
// commands do (no engine needed): it must use the documented keys.
func TestSampleAppSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sampleapp")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(testenv.RepoRoot(t), testenv.SampleAppDir))); err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(filepath.Join(dir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), env, 0o600); err != nil {
		t.Fatal(err)
	}
	s, p, err := settings.Load(t.Context(), compose.Options{ProjectDir: dir, Env: []string{}}, func(string) string { return "" })
	if err != nil {
		t.Fatalf("settings.Load: %v", err)
	}
	if p == nil || s.Project != "ledgerflow" {
		t.Errorf("project = %q, want ledgerflow (compose.yaml's name)", s.Project)
	}
	if s.Database.Service != "db" {
		t.Errorf("database service = %q, want db", s.Database.Service)
	}
	if want := []string{"ledger_account", "ledger_transaction"}; !slices.Equal(s.KeyTables, want) {
		t.Errorf("key tables = %v, want %v", s.KeyTables, want)
	}
	if want := filepath.Join(dir, "backups", "dev"); s.BackupDir != want {
		t.Errorf("backup dir = %q, want %q", s.BackupDir, want)
	}
	if s.MinSize != 10*1024 {
		t.Errorf("min size = %d, want 10KB", s.MinSize)
	}
}
