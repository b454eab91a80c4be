package restore

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/pg/pgfake"
)

func writeGzip(t *testing.T, dir, name, sql string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(sql))
	zw.Close()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newRequest restores file into database ledger of proj-db-1, whose
// server pgfake.RestoreTarget plays.
func newRequest(t *testing.T, file string, m *Manifest) (*Request, *pgfake.Server) {
	t.Helper()
	e := fake.New()
	e.AddContainer(engine.Container{Name: "proj-db-1", Running: true})
	srv := pgfake.RestoreTarget(e, "proj-db-1")
	src, err := OpenSource(file, func(string) (*Manifest, error) { return m, nil })
	if err != nil {
		t.Fatal(err)
	}
	return &Request{
		Source: src,
		Target: Target{Project: "proj", Service: "db",
			DB: pg.DB{Engine: e, Container: "proj-db-1", User: "ledger", Name: "ledger"}},
		SafetyBackup: func(ctx context.Context) (string, error) {
			srv.Record("SAFETY BACKUP")
			return "/backups/proj_db_backup_20260304_050607.sql.gz", nil
		},
		Now: func() time.Time { return testNow },
	}, srv
}

func TestRestoreSwapsInOneTransactionAfterLoadAndChecks(t *testing.T) {
	file := writeGzip(t, t.TempDir(), "proj_db_backup_20260301_000000.sql.gz", pgfake.SmallDump)
	req, srv := newRequest(t, file, &Manifest{Counts: map[string]int64{"public.t": 2}, Fingerprint: pgfake.SmallFingerprint})
	ctx := context.Background()
	plan, err := Prepare(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.TargetExists || !plan.SafetyBackup || plan.Scratch != "ledger__ledger_restore_20260304050607" {
		t.Fatalf("plan = %+v", plan)
	}
	res, err := Execute(ctx, req, plan)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"SAFETY BACKUP",
		`CREATE DATABASE "ledger__ledger_restore_20260304050607" WITH TEMPLATE template0 OWNER "ledger" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'`,
		"LOAD ledger__ledger_restore_20260304050607",
		`ALTER DATABASE "ledger" WITH ALLOW_CONNECTIONS false`,
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'ledger' AND pid <> pg_backend_pid()",
		"BEGIN",
		`ALTER DATABASE "ledger" RENAME TO "ledger__ledger_old_20260304050607"`,
		`ALTER DATABASE "ledger__ledger_restore_20260304050607" RENAME TO "ledger"`,
		"COMMIT",
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'ledger__ledger_old_20260304050607'",
		`DROP DATABASE IF EXISTS "ledger__ledger_old_20260304050607"`,
	}
	got := srv.Statements("SAFETY", "CREATE", "LOAD", "ALTER", "BEGIN", "COMMIT", "DROP", "SELECT count(pg_terminate")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("statements:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sql := srv.SQL("proj-db-1", "ledger"); !strings.Contains(sql, "COPY t") || strings.Contains(sql, "OWNER TO ghost") {
		t.Errorf("ledger now holds %q", sql)
	}
	if names := srv.Names("proj-db-1"); strings.Join(names, ",") != "ledger,postgres,template0,template1" {
		t.Errorf("databases left: %v", names)
	}
	if !res.CountsChecked || !res.SchemaChecked || res.SafetyBackupPath == "" || res.Terminated != 1 || len(res.Removed) != 1 {
		t.Errorf("result = %+v", res)
	}
}

func TestRestoreIntoAbsentDatabaseNeedsNoSafetyBackup(t *testing.T) {
	file := writeGzip(t, t.TempDir(), "ledgerflow_backup_20240102_030405.sql.gz", pgfake.SmallDump)
	req, srv := newRequest(t, file, nil)
	delete(srv.Clusters["proj-db-1"].DBs, "ledger")
	ctx := context.Background()
	plan, err := Prepare(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if plan.TargetExists || plan.SafetyBackup || !plan.Legacy || plan.TimeFrom != "file name" {
		t.Fatalf("plan = %+v", plan)
	}
	res, err := Execute(ctx, req, plan)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(srv.Log, "SAFETY BACKUP") || res.SafetyBackupPath != "" {
		t.Error("safety backup taken of an absent database")
	}
	if sql := srv.SQL("proj-db-1", "ledger"); !strings.Contains(sql, "COPY t") || res.CountsChecked || res.RestoredCounts["public.t"] != 2 {
		t.Errorf("ledger = %q, result = %+v", sql, res)
	}
}

func TestRestoreEmptyDatabaseNeedsNoSafetyBackup(t *testing.T) {
	file := writeGzip(t, t.TempDir(), "x.sql.gz", pgfake.SmallDump)
	req, srv := newRequest(t, file, nil)
	srv.DB("proj-db-1", "ledger").Relations = 0
	plan, err := Prepare(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.TargetExists || plan.SafetyBackup || plan.TimeFrom != "file modification time" {
		t.Errorf("plan = %+v", plan)
	}
}

// Every failure before the swap leaves the target as it was and drops the
// scratch database.
func TestRestoreFailuresLeaveTargetUntouched(t *testing.T) {
	truncated := func() string {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(strings.Repeat(pgfake.SmallDump, 200)))
		zw.Close()
		return buf.String()[:buf.Len()/2]
	}()
	for _, tc := range []struct {
		name     string
		sql      string // gzip-compressed unless raw
		raw      string
		manifest *Manifest
		failOn   string
		safety   error
		check    error
		wantErr  string
		wantIs   error
		loaded   bool // creating the scratch database was tried
	}{
		{name: "psql error", sql: pgfake.SmallDump, failOn: "COPY t", wantErr: "ERROR:  syntax error at or near", loaded: true},
		{name: "truncated gzip", raw: truncated, wantErr: "corrupt or truncated", wantIs: ErrVerify, loaded: true},
		{name: "not gzip", raw: "CREATE TABLE t();\n", wantErr: "not a gzip file", wantIs: ErrVerify, loaded: true},
		{name: "no trailer", sql: "CREATE TABLE t (i int);\n", wantErr: "completion line", wantIs: ErrVerify, loaded: true},
		{name: "cluster dump", sql: "--\n-- PostgreSQL database cluster dump\n--\n", wantIs: ErrNotRestorable, loaded: true},
		{name: "counts differ", sql: pgfake.SmallDump, manifest: &Manifest{Counts: map[string]int64{"public.t": 3}}, wantErr: "row counts differ from the manifest: public.t has 2 rows, want 3", wantIs: ErrVerify, loaded: true},
		{name: "schema differs", sql: pgfake.SmallDump, manifest: &Manifest{Fingerprint: "other"}, wantErr: "schema fingerprint", wantIs: ErrVerify, loaded: true},
		{name: "swap fails", sql: pgfake.SmallDump, failOn: `RENAME TO "ledger"`, wantErr: "swap the restored database in", loaded: true},
		{name: "safety backup fails", sql: pgfake.SmallDump, safety: errors.New("disk full"), wantErr: "safety backup of ledger failed, nothing was changed: disk full"},
		{name: "file check fails", sql: pgfake.SmallDump, check: errors.New("sha256 mismatch"), wantErr: "sha256 mismatch; nothing was changed", wantIs: ErrVerify},
		{name: "scratch cannot be created", sql: pgfake.SmallDump, failOn: "CREATE DATABASE", wantErr: "create scratch database", loaded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var file string
			if tc.raw != "" {
				file = filepath.Join(dir, "b.sql.gz")
				os.WriteFile(file, []byte(tc.raw), 0o600)
			} else {
				file = writeGzip(t, dir, "b.sql.gz", tc.sql)
			}
			req, srv := newRequest(t, file, tc.manifest)
			if tc.safety != nil {
				req.SafetyBackup = func(context.Context) (string, error) { return "", tc.safety }
			}
			if tc.check != nil {
				req.CheckFile = func(context.Context) error { return tc.check }
			}
			ctx := context.Background()
			plan, err := Prepare(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			srv.FailOn = tc.failOn
			_, err = Execute(ctx, req, plan)
			if err == nil {
				t.Fatal("restore succeeded")
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if d := srv.DB("proj-db-1", "ledger"); d == nil || d.SQL != "old data" || d.Relations != 3 {
				t.Errorf("target changed: %+v", d)
			}
			if names := srv.Names("proj-db-1"); strings.Join(names, ",") != "ledger,postgres,template0,template1" {
				t.Errorf("databases left: %v", names)
			}
			created := len(srv.Statements("CREATE DATABASE")) > 0
			if created != tc.loaded {
				t.Errorf("scratch creation tried = %v, want %v", created, tc.loaded)
			}
			if tc.name == "swap fails" {
				if got := srv.Statements(`ALTER DATABASE "ledger" WITH ALLOW_CONNECTIONS true`); len(got) != 1 {
					t.Errorf("connections not allowed again after a failed swap: %q", srv.Log)
				}
			}
		})
	}
}

func TestSideNameFitsIdentifierLimit(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	n := sideName(long, scratchInfix, testNow)
	if len(n) > maxIdentLen || !strings.HasSuffix(n, "__ledger_restore_20260304050607") {
		t.Errorf("sideName = %q (%d bytes)", n, len(n))
	}
	if !strings.HasPrefix(n, "éé") || strings.ContainsRune(n, '\uFFFD') || !utf8Valid(n) {
		t.Errorf("sideName cut a character: %q", n)
	}
}

// mustRestore prepares and executes req, failing the test on any error.
func mustRestore(t *testing.T, req *Request) {
	t.Helper()
	ctx := context.Background()
	plan, err := Prepare(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(ctx, req, plan); err != nil {
		t.Fatal(err)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestOpenSourceMissingFile(t *testing.T) {
	_, err := OpenSource(filepath.Join(t.TempDir(), "nope.sql.gz"), nil)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v", err)
	}
}

// parallelDump has post-data entries pg_dump's way: constraints and
// indexes (which the pool builds at once), then a foreign key (which must
// wait for all of them).
const parallelDump = "--\n-- PostgreSQL database dump\n--\n\\restrict abc\nSET statement_timeout = 0;\n" +
	"SELECT pg_catalog.set_config('search_path', '', false);\n" +
	"--\n-- Name: t; Type: TABLE; Schema: public; Owner: ledger\n--\n\nCREATE TABLE public.t (i int, j int);\n" +
	"--\n-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: ledger\n--\n\nCOPY public.t (i, j) FROM stdin;\n1\t1\n2\t2\n\\.\n\n" +
	"--\n-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: ledger\n--\n\nALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (i);\n\n" +
	"SET default_tablespace = '';\n\n" +
	"--\n-- Name: t_j; Type: INDEX; Schema: public; Owner: ledger\n--\n\nCREATE INDEX t_j ON public.t USING btree (j);\n\n" +
	"--\n-- Name: t_ij; Type: INDEX; Schema: public; Owner: ledger\n--\n\nCREATE INDEX t_ij ON public.t USING btree (i, j);\n\n" +
	"--\n-- Name: t t_fk; Type: FK CONSTRAINT; Schema: public; Owner: ledger\n--\n\nALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_fk FOREIGN KEY (j) REFERENCES public.t(i);\n\n" +
	"--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n"

func TestRestoreBuildsIndexesInParallelAfterTheData(t *testing.T) {
	file := writeGzip(t, t.TempDir(), "b.sql.gz", parallelDump)
	req, srv := newRequest(t, file, nil)
	mustRestore(t, req)
	if n := len(srv.Statements("LOAD ledger__ledger_restore_")); n != 1+DefaultJobs {
		t.Errorf("%d psql sessions loaded the scratch database, want %d", n, 1+DefaultJobs)
	}
	got := srv.SQL("proj-db-1", "ledger")
	for _, stmt := range []string{"COPY public.t (i, j) FROM stdin;\n1\t1\n2\t2\n\\.\n", "ADD CONSTRAINT t_pkey PRIMARY KEY (i);",
		"CREATE INDEX t_j ON", "CREATE INDEX t_ij ON", "ADD CONSTRAINT t_fk FOREIGN KEY", "\\unrestrict abc"} {
		if strings.Count(got, stmt) != 1 {
			t.Errorf("%q loaded %d times", stmt, strings.Count(got, stmt))
		}
	}
	fk := strings.Index(got, "t_fk FOREIGN KEY")
	for _, before := range []string{"t_pkey PRIMARY KEY", "CREATE INDEX t_j", "CREATE INDEX t_ij", "FROM stdin"} {
		if i := strings.Index(got, before); i < 0 || i > fk {
			t.Errorf("%q not loaded before the foreign key:\n%s", before, got)
		}
	}
	// Each pool session replays the dump's settings before its entries.
	if n := strings.Count(got, "SELECT pg_catalog.set_config('search_path', '', false);"); n < 2 {
		t.Errorf("settings replayed %d times, want the main session's and the pool's", n)
	}
}

func TestPGOptionsFollowShmSize(t *testing.T) {
	if o := PGOptions(64 << 20); !strings.Contains(o, "max_parallel_maintenance_workers=0") {
		t.Errorf("64 MB /dev/shm: %q keeps parallel index builds", o)
	}
	if o := PGOptions(1 << 30); strings.Contains(o, "max_parallel_maintenance_workers") {
		t.Errorf("1 GB /dev/shm: %q turns parallel index builds off", o)
	}
}

// A dump whose last entries are indexes (no foreign keys after them) ends
// with psql's \unrestrict: it must reach the session that saw \restrict.
func TestRestoreMetaCommandAfterParallelEntriesGoesToMain(t *testing.T) {
	dump := strings.Replace(parallelDump, "--\n-- Name: t t_fk; Type: FK CONSTRAINT; Schema: public; Owner: ledger\n--\n\nALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_fk FOREIGN KEY (j) REFERENCES public.t(i);\n\n", "", 1)
	if strings.Contains(dump, "FK CONSTRAINT") {
		t.Fatal("the foreign key is still in the dump")
	}
	file := writeGzip(t, t.TempDir(), "b.sql.gz", dump)
	req, srv := newRequest(t, file, nil)
	mustRestore(t, req)
	if sql := srv.SQL("proj-db-1", "ledger"); !strings.Contains(sql, "\\unrestrict abc") {
		t.Errorf("\\unrestrict not loaded: %q", sql)
	}
}
