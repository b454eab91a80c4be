package restore

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
)

// fakePG plays a PostgreSQL server behind psql in the fake engine: it keeps
// the set of databases (each with the SQL loaded into it) and applies the
// CREATE / ALTER ... RENAME / DROP DATABASE statements restore sends, so
// tests can check what exists under which name after each step.
type fakePG struct {
	mu        sync.Mutex
	dbs       map[string]string // name -> SQL loaded into it
	relations map[string]int    // name -> user relations
	roles     []string
	// failOn makes the statement (or loaded SQL) containing it fail.
	failOn string
	// log records every statement (and "LOAD db") in order.
	log []string
}

func newFakePG() *fakePG {
	return &fakePG{
		dbs:       map[string]string{"postgres": "", "template1": "", "ledger": "old data"},
		relations: map[string]int{"ledger": 3},
		roles:     []string{"ledger", "postgres"},
	}
}

var (
	reCreate = regexp.MustCompile(`^CREATE DATABASE "([^"]+)"`)
	reRename = regexp.MustCompile(`^ALTER DATABASE "([^"]+)" RENAME TO "([^"]+)"`)
	reDrop   = regexp.MustCompile(`^DROP DATABASE IF EXISTS "([^"]+)"`)
)

func (f *fakePG) exec(ctx context.Context, container string, spec engine.ExecSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if spec.Cmd[0] != "psql" {
		return &engine.ExitError{Code: 127}
	}
	db := spec.Cmd[slices.Index(spec.Cmd, "-d")+1]
	if _, ok := f.dbs[db]; !ok {
		return &engine.ExitError{Code: 2, Stderr: fmt.Sprintf("psql: FATAL: database %q does not exist", db)}
	}
	in, err := io.ReadAll(spec.Stdin)
	if err != nil {
		return err
	}
	sql := string(in)
	if !slices.Contains(spec.Cmd, "-t") { // a dump being loaded
		f.log = append(f.log, "LOAD "+db)
		if f.failOn != "" && strings.Contains(sql, f.failOn) {
			fmt.Fprintf(spec.Stderr, "ERROR:  syntax error at or near %q\n", f.failOn)
			return &engine.ExitError{Code: 3}
		}
		f.dbs[db] = sql
		return nil
	}
	// Undo of a failed transaction: keep the names as they were.
	snapshot := map[string]string{}
	for k, v := range f.dbs {
		snapshot[k] = v
	}
	inTx := false
	for _, stmt := range strings.Split(sql, ";\n") {
		stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";"))
		if stmt == "" {
			continue
		}
		f.log = append(f.log, stmt)
		if f.failOn != "" && strings.Contains(stmt, f.failOn) {
			if inTx {
				f.dbs = snapshot
			}
			return &engine.ExitError{Code: 3, Stderr: "ERROR:  injected failure"}
		}
		switch {
		case stmt == "BEGIN":
			inTx = true
			snapshot = map[string]string{}
			for k, v := range f.dbs {
				snapshot[k] = v
			}
		case stmt == "COMMIT":
			inTx = false
		case strings.Contains(stmt, "FROM pg_database d"):
			for _, name := range f.names() {
				if strings.Contains(stmt, "'"+name+"'") || strings.Contains(name, "__ledger_") {
					fmt.Fprintf(spec.Stdout, "%s\x1fledger\x1fUTF8\x1fC.UTF-8\x1fC.UTF-8\n", name)
				}
			}
		case strings.Contains(stmt, "FROM pg_class"):
			fmt.Fprintf(spec.Stdout, "%d\n", f.relations[db])
		case strings.Contains(stmt, "FROM pg_roles"):
			fmt.Fprintln(spec.Stdout, strings.Join(f.roles, "\n"))
		case strings.Contains(stmt, "pg_terminate_backend"):
			fmt.Fprintln(spec.Stdout, "1")
		case reCreate.MatchString(stmt):
			f.dbs[reCreate.FindStringSubmatch(stmt)[1]] = ""
		case reRename.MatchString(stmt):
			m := reRename.FindStringSubmatch(stmt)
			f.dbs[m[2]] = f.dbs[m[1]]
			delete(f.dbs, m[1])
		case reDrop.MatchString(stmt):
			delete(f.dbs, reDrop.FindStringSubmatch(stmt)[1])
		}
	}
	return nil
}

func (f *fakePG) names() []string {
	var out []string
	for k := range f.dbs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// statements returns the logged statements that start with one of prefixes.
func (f *fakePG) statements(prefixes ...string) []string {
	var out []string
	for _, s := range f.log {
		for _, p := range prefixes {
			if strings.HasPrefix(s, p) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

const testDump = "--\n-- PostgreSQL database dump\n--\nCREATE TABLE t (i int);\nCOPY t (i) FROM stdin;\n1\n2\n\\.\n" +
	"ALTER TABLE t OWNER TO ghost;\n--\n-- PostgreSQL database dump complete\n--\n"

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

func newRequest(t *testing.T, pg *fakePG, file string, m *Manifest) *Request {
	t.Helper()
	e := fake.New()
	e.AddContainer(engine.Container{Name: "proj-db-1", Running: true})
	e.ExecHandler = pg.exec
	src, err := OpenSource(file, func(string) (*Manifest, error) { return m, nil })
	if err != nil {
		t.Fatal(err)
	}
	return &Request{
		Source: src,
		Target: Target{Project: "proj", Service: "db", Database: "ledger",
			Server: Server{Engine: e, Container: "proj-db-1", User: "ledger"}},
		Counts: func(ctx context.Context, db string) (map[string]int64, error) {
			pg.mu.Lock()
			defer pg.mu.Unlock()
			if strings.Contains(pg.dbs[db], "COPY t") {
				return map[string]int64{"public.t": 2}, nil
			}
			return map[string]int64{}, nil
		},
		Fingerprint: func(ctx context.Context, db string) (string, error) { return "fp1", nil },
		SafetyBackup: func(ctx context.Context) (string, error) {
			pg.mu.Lock()
			defer pg.mu.Unlock()
			pg.log = append(pg.log, "SAFETY BACKUP")
			return "/backups/proj_db_backup_20260304_050607.sql.gz", nil
		},
		Now: func() time.Time { return testNow },
	}
}

func TestRestoreSwapsInOneTransactionAfterLoadAndChecks(t *testing.T) {
	pg := newFakePG()
	file := writeGzip(t, t.TempDir(), "proj_db_backup_20260301_000000.sql.gz", testDump)
	req := newRequest(t, pg, file, &Manifest{Counts: map[string]int64{"public.t": 2}, Fingerprint: "fp1"})
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
	got := pg.statements("SAFETY", "CREATE", "LOAD", "ALTER", "BEGIN", "COMMIT", "DROP", "SELECT count(pg_terminate")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("statements:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(pg.dbs["ledger"], "COPY t") || strings.Contains(pg.dbs["ledger"], "OWNER TO ghost") {
		t.Errorf("ledger now holds %q", pg.dbs["ledger"])
	}
	if names := pg.names(); strings.Join(names, ",") != "ledger,postgres,template1" {
		t.Errorf("databases left: %v", names)
	}
	if !res.CountsChecked || !res.SchemaChecked || res.SafetyBackupPath == "" || res.Terminated != 1 || len(res.Removed) != 1 {
		t.Errorf("result = %+v", res)
	}
}

func TestRestoreIntoAbsentDatabaseNeedsNoSafetyBackup(t *testing.T) {
	pg := newFakePG()
	delete(pg.dbs, "ledger")
	file := writeGzip(t, t.TempDir(), "ledgerflow_backup_20240102_030405.sql.gz", testDump)
	req := newRequest(t, pg, file, nil)
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
	if slices.Contains(pg.log, "SAFETY BACKUP") || res.SafetyBackupPath != "" {
		t.Error("safety backup taken of an absent database")
	}
	if !strings.Contains(pg.dbs["ledger"], "COPY t") || res.CountsChecked || res.RestoredCounts["public.t"] != 2 {
		t.Errorf("ledger = %q, result = %+v", pg.dbs["ledger"], res)
	}
}

func TestRestoreEmptyDatabaseNeedsNoSafetyBackup(t *testing.T) {
	pg := newFakePG()
	pg.relations["ledger"] = 0
	file := writeGzip(t, t.TempDir(), "x.sql.gz", testDump)
	req := newRequest(t, pg, file, nil)
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
		zw.Write([]byte(strings.Repeat(testDump, 200)))
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
		{name: "psql error", sql: testDump, failOn: "COPY t", wantErr: "psql failed: ERROR:  syntax error", loaded: true},
		{name: "truncated gzip", raw: truncated, wantErr: "corrupt or truncated", wantIs: ErrVerify, loaded: true},
		{name: "not gzip", raw: "CREATE TABLE t();\n", wantErr: "not a gzip file", wantIs: ErrVerify, loaded: true},
		{name: "no trailer", sql: "CREATE TABLE t (i int);\n", wantErr: "completion line", wantIs: ErrVerify, loaded: true},
		{name: "cluster dump", sql: "--\n-- PostgreSQL database cluster dump\n--\n", wantIs: ErrNotRestorable, loaded: true},
		{name: "counts differ", sql: testDump, manifest: &Manifest{Counts: map[string]int64{"public.t": 3}}, wantErr: "public.t has 2 rows, manifest 3", wantIs: ErrVerify, loaded: true},
		{name: "schema differs", sql: testDump, manifest: &Manifest{Fingerprint: "other"}, wantErr: "schema fingerprint", wantIs: ErrVerify, loaded: true},
		{name: "swap fails", sql: testDump, failOn: `RENAME TO "ledger"`, wantErr: "swap the restored database in", loaded: true},
		{name: "safety backup fails", sql: testDump, safety: errors.New("disk full"), wantErr: "safety backup of ledger failed, nothing was changed: disk full"},
		{name: "file check fails", sql: testDump, check: errors.New("sha256 mismatch"), wantErr: "sha256 mismatch; nothing was changed", wantIs: ErrVerify},
		{name: "scratch cannot be created", sql: testDump, failOn: "CREATE DATABASE", wantErr: "create scratch database", loaded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := newFakePG()
			dir := t.TempDir()
			var file string
			if tc.raw != "" {
				file = filepath.Join(dir, "b.sql.gz")
				os.WriteFile(file, []byte(tc.raw), 0o600)
			} else {
				file = writeGzip(t, dir, "b.sql.gz", tc.sql)
			}
			req := newRequest(t, pg, file, tc.manifest)
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
			pg.failOn = tc.failOn
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
			if pg.dbs["ledger"] != "old data" {
				t.Errorf("target changed: %q", pg.dbs["ledger"])
			}
			if names := pg.names(); strings.Join(names, ",") != "ledger,postgres,template1" {
				t.Errorf("databases left: %v", names)
			}
			created := len(pg.statements("CREATE DATABASE")) > 0
			if created != tc.loaded {
				t.Errorf("scratch creation tried = %v, want %v", created, tc.loaded)
			}
			if tc.name == "swap fails" {
				if got := pg.statements(`ALTER DATABASE "ledger" WITH ALLOW_CONNECTIONS true`); len(got) != 1 {
					t.Errorf("connections not allowed again after a failed swap: %q", pg.log)
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

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestTimeFromName(t *testing.T) {
	for name, want := range map[string]string{
		"ledgerflow_backup_20240102_030405.sql.gz":      "2024-01-02 03:04:05",
		"backups/proj_db_backup_20251231_235959.sql.gz": "2025-12-31 23:59:59",
	} {
		got, ok := TimeFromName(name)
		if !ok || got.Format("2006-01-02 15:04:05") != want {
			t.Errorf("TimeFromName(%q) = %v, %v", name, got, ok)
		}
	}
	if _, ok := TimeFromName("dump.sql.gz"); ok {
		t.Error("time found in dump.sql.gz")
	}
}

func TestOpenSourceMissingFile(t *testing.T) {
	_, err := OpenSource(filepath.Join(t.TempDir(), "nope.sql.gz"), nil)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v", err)
	}
}
