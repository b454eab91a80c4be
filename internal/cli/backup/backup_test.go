package backup

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/cli/clitest"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/pg/pgfake"
)

func TestNewCmdFlags(t *testing.T) {
	omit := func(o *Options) { o.IO, o.Engine, o.Getenv = nil, nil, nil }
	clitest.RunCases(t, clitest.WithFactory(NewCmd), omit, []clitest.Case[Options]{
		{Argv: "--db-only", Want: Options{DBOnly: true}},
		{Argv: "--db-only --verify=quick --json", Want: Options{DBOnly: true, Verify: "quick", JSON: true}},
		{Argv: "--db-only --service pg --user u --database d --backup-dir /b --min-size 1MB",
			Want: Options{DBOnly: true, Service: "pg", User: "u", Database: "d", BackupDir: "/b", MinSize: "1MB"}},
		{Argv: "--db-only -f a.yaml --file b.yaml -p proj --project-directory dir --env-file e --profile x",
			Want: Options{DBOnly: true, Compose: compose.Options{ConfigPaths: []string{"a.yaml", "b.yaml"}, ProjectName: "proj", ProjectDir: "dir", EnvFiles: []string{"e"}, Profiles: []string{"x"}}}},
		{Argv: "--db-only extra", WantErr: true},
		{Argv: "--bogus", WantErr: true},
	})
}

// project writes a compose project and a fake engine running its db.
func project(t *testing.T) (compose.Options, *fake.Engine) {
	t.Helper()
	dir := t.TempDir()
	yml := "name: shop\nservices:\n  db:\n    image: postgres:15\n    environment:\n      POSTGRES_USER: ledger\n  web:\n    image: nginx\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	e := fake.New()
	pgfake.Serve(e, "shop-db-1", "ledger", "ledger", pgfake.DefaultDatabase())
	e.AddImage("sha256:pg")
	e.AddContainer(engine.Container{Name: "shop-db-1", Image: "postgres:15", ImageID: "sha256:pg", Running: true,
		Env: []string{"POSTGRES_USER=ledger"}, Labels: map[string]string{compose.ProjectLabel: "shop", compose.ServiceLabel: "db"}})
	return compose.Options{ProjectDir: dir, Env: []string{}}, e
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       Options
		tty        bool
		wantErr    error
		wantJSON   bool
		wantErrOut string
	}{
		{name: "path on the last stdout line", opts: Options{DBOnly: true}, wantErrOut: "verified (full)"},
		{name: "json manifest", opts: Options{DBOnly: true, JSON: true, Verify: "quick"}, wantJSON: true},
		{name: "progress on a tty", opts: Options{DBOnly: true, Verify: "quick"}, tty: true, wantErrOut: "dumping: "},
		{name: "db-only required", opts: Options{}, wantErr: exitcode.ErrUsage},
		{name: "bad verify", opts: Options{DBOnly: true, Verify: "maybe"}, wantErr: exitcode.ErrUsage},
		{name: "unknown service", opts: Options{DBOnly: true, Service: "web"}, wantErr: exitcode.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			co, e := project(t)
			ios, _, stdout, stderr := iostreams.Test()
			ios.SetTTY(tc.tty)
			opts := tc.opts
			opts.IO, opts.Compose = ios, co
			opts.Engine = func() (engine.Engine, error) { return e, nil }
			lockDir := t.TempDir()
			opts.Getenv = func(k string) string {
				if k == "LEDGER_LOCK_DIR" {
					return lockDir
				}
				return ""
			}
			err := run(context.Background(), &opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stderr.String(), tc.wantErrOut) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tc.wantErrOut)
			}
			if !tc.tty && strings.Contains(stderr.String(), "dumping: ") {
				t.Errorf("progress on a non-terminal: %q", stderr.String())
			}
			if tc.wantJSON {
				var m backup.Manifest
				if err := json.Unmarshal(stdout.Bytes(), &m); err != nil || m.Project != "shop" || m.Verification.Mode != "quick" {
					t.Errorf("--json: %v %s", err, stdout)
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, filepath.Join(co.ProjectDir, "backups", "dev", "shop_db_backup_")) {
				t.Errorf("last stdout line = %q", last)
			}
			if _, err := os.Stat(last); err != nil {
				t.Error(err)
			}
		})
	}
}
