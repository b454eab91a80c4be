package restore

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/cli/clitest"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/pg/pgfake"
	"github.com/ledger-docker/ledger-docker/internal/prompt"
	"github.com/ledger-docker/ledger-docker/internal/restore"
)

func TestNewCmdFlags(t *testing.T) {
	omit := func(o *Options) { o.IO, o.Engine, o.Prompter, o.Getenv, o.target = nil, nil, nil, nil, nil }
	clitest.RunCases(t, clitest.WithFactory(NewCmd), omit, []clitest.Case[Options]{
		{Argv: "b.sql.gz", Want: Options{File: "b.sql.gz"}},
		{Argv: "--yes --json b.sql.gz", Want: Options{File: "b.sql.gz", Yes: true, JSON: true}},
		{Argv: "-y --dry-run b.sql.gz", Want: Options{File: "b.sql.gz", Yes: true, DryRun: true}},
		{Argv: "--service pg --user u --database d b.sql.gz", Want: Options{File: "b.sql.gz", Service: "pg", User: "u", Database: "d"}},
		{Argv: "-f a.yaml -f b.yaml -p proj --project-directory dir x.sql.gz", Want: Options{File: "x.sql.gz",
			Compose: compose.Options{ConfigPaths: []string{"a.yaml", "b.yaml"}, ProjectName: "proj", ProjectDir: "dir"}}},
		{Argv: "", WantErr: true},
		{Argv: "a.sql.gz b.sql.gz", WantErr: true},
		{Argv: "--bogus a.sql.gz", WantErr: true},
	})
}

func gzipFile(t *testing.T, sql string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(sql))
	zw.Close()
	p := filepath.Join(t.TempDir(), "proj_db_backup_20260301_101112.sql.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun(t *testing.T) {
	const safety = "/project/backups/dev/proj_db_backup_20260304_050607.sql.gz"
	for _, tc := range []struct {
		name        string
		tty         bool
		answers     []string
		yes, dry    bool
		json        bool
		wantErr     error
		wantRestore bool
		wantStdout  []string
		wantStderr  []string
	}{
		{name: "dry run shows the plan only", dry: true,
			wantStdout: []string{"Restore plan", `target:    database "ledger" of service db (container proj-db-1), project proj`,
				"ALL OF ITS CURRENT DATA WILL BE REPLACED", "public.t 2", "a verified backup of the current database is taken first",
				"taken:     2026-03-01T10:11:12Z (from the manifest)", `source:    database "ledger" of service db, project proj`}},
		{name: "no tty and no --yes refuses", wantErr: exitcode.ErrUsage,
			wantStderr: []string{"Restore plan"}},
		{name: "tty, wrong name typed", tty: true, answers: []string{"ledgr"}, wantErr: exitcode.ErrCancelled},
		{name: "tty, name typed", tty: true, answers: []string{"ledger"}, wantRestore: true,
			wantStdout: []string{`Restored `, `into database "ledger": 2 rows in 1 tables.`, "Row counts and schema match the backup's manifest.",
				"safety backup:\n" + safety, "Ended 1 session(s)", "Left out 1 statement(s)"},
			wantStderr: []string{"Restore plan", "Taking a safety backup of ledger", "Safety backup: " + safety}},
		{name: "--yes without tty", yes: true, wantRestore: true, wantStdout: []string{"Restored "}},
		{name: "--yes --json", yes: true, json: true, wantRestore: true,
			wantStdout: []string{`"safety_backup_path": "` + safety + `"`, `"counts_checked": true`, `"restored_counts": {`}},
		{name: "--dry-run --json", dry: true, json: true, wantStdout: []string{`"scratch_database": "ledger__ledger_restore_`, `"safety_backup": true`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fake.New()
			e.AddContainer(engine.Container{Name: "proj-db-1", Running: true})
			srv := pgfake.RestoreTarget(e, "proj-db-1")
			ios, _, stdout, stderr := iostreams.Test()
			ios.SetTTY(tc.tty)
			p := &prompt.Static{Answers: tc.answers}
			file := gzipFile(t, pgfake.SmallDump)
			opts := &Options{
				IO: ios, Prompter: p, File: file, Yes: tc.yes, DryRun: tc.dry, JSON: tc.json,
				Engine: func() (engine.Engine, error) { return e, nil },
				target: func(ctx context.Context, o *Options, eng engine.Engine) (*restore.Request, func(), error) {
					src, err := restore.OpenSource(o.File, func(string) (*restore.Manifest, error) {
						return &restore.Manifest{Created: time.Date(2026, 3, 1, 10, 11, 12, 0, time.UTC),
							Project: "proj", Service: "db", Database: "ledger",
							Counts: map[string]int64{"public.t": 2}, Fingerprint: pgfake.SmallFingerprint}, nil
					})
					if err != nil {
						return nil, nil, err
					}
					return &restore.Request{
						Source: src,
						Target: restore.Target{Project: "proj", Service: "db",
							DB: pg.DB{Engine: eng, Container: "proj-db-1", User: "ledger", Name: "ledger"}},
						SafetyBackup: func(context.Context) (string, error) { srv.Record("SAFETY BACKUP"); return safety, nil },
					}, func() {}, nil
				},
			}
			err := run(context.Background(), opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "nothing was changed") {
					t.Errorf("error %q does not say nothing was changed", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			restored := strings.Contains(srv.SQL("proj-db-1", "ledger"), "COPY t")
			if restored != tc.wantRestore {
				t.Errorf("restored = %v, want %v; log %q", restored, tc.wantRestore, srv.Log)
			}
			if !tc.wantRestore && len(srv.Statements("CREATE", "ALTER", "DROP", "SAFETY")) > 0 {
				t.Errorf("changes without a restore: %q", srv.Log)
			}
			clitest.Contains(t, "stdout", stdout.String(), tc.wantStdout)
			clitest.Contains(t, "stderr", stderr.String(), tc.wantStderr)
			if tc.json {
				var v map[string]any
				if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
					t.Errorf("stdout is not one JSON object: %v\n%s", err, stdout)
				}
			}
			if tc.tty && len(p.Asked) != 1 {
				t.Errorf("asked %q", p.Asked)
			}
		})
	}
}
