package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
)

// TestConfigDatabaseImages: the user configuration's database_images reach
// the check: its image is a database there, and not without it.
func TestConfigDatabaseImages(t *testing.T) {
	dir := t.TempDir()
	src := "services:\n  ledger:\n    image: team/ledger-db:3\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		images []config.DatabaseImage
		want   string
	}{
		{name: "not configured"},
		{name: "configured", images: []config.DatabaseImage{{Image: "team/ledger-db", Data: "/var/lib/ledger"}},
			want: `compose.yaml:2:3: error: service "ledger" (ledger-db) does not mount its data directory /var/lib/ledger: ` +
				`the data lives in the container, which rm or a recreate lose; mount a named, protected volume at ` +
				"/var/lib/ledger [database-data-not-persisted]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, out, _ := testFactory(fake.New())
			f.Config = func() (*config.Config, error) {
				return &config.Config{ProtectLabel: config.DefaultProtectLabel, DatabaseImages: tc.images}, nil
			}
			opts := &Options{IO: f.IO, Config: f.Config, Engine: f.Engine, Getenv: f.Getenv, Name: "docker ledger check",
				Dir: dir, Files: []string{"compose.yaml"}, Format: "text", NoEngine: true}
			err := run(context.Background(), opts)
			if (err != nil) != (tc.want != "") || out.String() != tc.want {
				t.Errorf("err %v, stdout:\n%s\nwant:\n%s", err, out, tc.want)
			}
			if tc.want != "" && !strings.Contains(err.Error(), "1 error") {
				t.Errorf("err = %v, want 1 error", err)
			}
		})
	}
}
