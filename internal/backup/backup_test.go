package backup

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/lock"
	"github.com/ledger-docker/ledger-docker/internal/pg/pgfake"
	"github.com/ledger-docker/ledger-docker/internal/settings"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

var clock = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

type rig struct {
	eng     *fake.Engine
	srv     *pgfake.Server
	set     *settings.Settings
	lockDir string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	e := fake.New()
	srv := pgfake.Serve(e, "shop-db-1", "ledger", "books", pgfake.DefaultDatabase())
	e.AddImage("sha256:pg15")
	e.AddContainer(engine.Container{
		Name: "shop-db-1", Image: "postgres:15", ImageID: "sha256:pg15", Running: true,
		Env:    []string{"POSTGRES_USER=ledger", "POSTGRES_DB=books", "POSTGRES_PASSWORD=s3cret"},
		Labels: map[string]string{compose.ProjectLabel: "shop", compose.ServiceLabel: "db"},
	})
	return &rig{eng: e, srv: srv, set: settings.Defaults("shop", t.TempDir()), lockDir: t.TempDir()}
}

func (r *rig) run(ctx context.Context) (*Result, error) {
	return Run(ctx, Request{
		Settings: r.set, Engine: r.eng, Now: func() time.Time { return clock },
		Getenv: func(k string) string {
			if k == "LEDGER_LOCK_DIR" {
				return r.lockDir
			}
			return ""
		},
	})
}

// files lists the backup folder (names), backup.log aside.
func (r *rig) files(t *testing.T) []string {
	t.Helper()
	des, err := os.ReadDir(r.set.BackupDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if de.Name() != LogName {
			out = append(out, de.Name())
		}
	}
	return out
}

func (r *rig) log(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.set.BackupDir, LogName))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scratchLeft reports throwaway containers or volumes still on the engine.
func (r *rig) scratchLeft(t *testing.T) bool {
	cs, _ := r.eng.ListContainers(context.Background(), engine.ContainerFilter{All: true, Labels: []string{verify.LabelScratch}})
	vs, _ := r.eng.ListVolumes(context.Background(), engine.VolumeFilter{Labels: []string{verify.LabelScratch}})
	return len(cs)+len(vs) > 0
}

func TestRunFullVerification(t *testing.T) {
	r := newRig(t)
	res, err := r.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(r.set.BackupDir, "shop_db_backup_20260304_050607.sql.gz")
	if res.Path != want {
		t.Errorf("path = %s, want %s", res.Path, want)
	}
	fi, err := os.Stat(res.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if di, _ := os.Stat(r.set.BackupDir); di.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v", di.Mode().Perm())
	}
	m, err := LoadManifest(res.Path)
	if err != nil || m == nil {
		t.Fatalf("manifest: %v", err)
	}
	if m.File != filepath.Base(want) || m.Database != "books" || m.User != "ledger" || m.Service != "db" ||
		m.Counts["public.transactions"] != 42 || m.Fingerprint == "" || m.Versions.Server != "15.20" ||
		m.Snapshot == "" || m.Size != fi.Size() || len(m.SHA256) != 64 || m.SQLSHA256 != "" || m.SQLSize < 64<<10 || !m.Created.Equal(clock) {
		t.Errorf("manifest = %+v", m)
	}
	if !m.Verification.OK || m.Verification.Mode != verify.ModeFull {
		t.Errorf("verification = %+v", m.Verification)
	}
	for _, c := range m.Verification.Checks {
		if c.Skipped && c.Name != verify.CheckKeyTables {
			t.Errorf("check %s skipped in full mode", c.Name)
		}
	}
	if r.srv.Loaded["h000002"] != int(m.SQLSize) && len(r.srv.Loaded) != 1 {
		t.Errorf("test restore read %v bytes, want %d", r.srv.Loaded, m.SQLSize)
	}
	if r.scratchLeft(t) {
		t.Error("throwaway server left behind")
	}
	if l := r.log(t); !strings.HasPrefix(l, "2026-03-04T05:06:07Z status=ok type=db file=shop_db_backup_20260304_050607.sql.gz size=") ||
		!strings.Contains(l, "verification=full:ok error=-") {
		t.Errorf("backup.log = %q", l)
	}
	// The password never reaches the manifest.
	data, _ := os.ReadFile(ManifestPath(res.Path))
	if strings.Contains(string(data), "s3cret") {
		t.Error("manifest holds the database password")
	}
}

func TestRunQuickSkipsTheTestRestore(t *testing.T) {
	r := newRig(t)
	r.set.Verify = verify.ModeQuick
	res, err := r.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v := res.Manifest.Verification
	skipped := map[string]bool{}
	for _, c := range v.Checks {
		if c.Skipped {
			skipped[c.Name] = true
		}
	}
	if !v.OK || v.Mode != "quick" || !skipped[verify.CheckRestore] || !skipped[verify.CheckRowCounts] {
		t.Errorf("verification = %+v", v)
	}
	for _, c := range r.eng.Calls() {
		if strings.HasPrefix(c, "CreateContainer") {
			t.Errorf("quick verification created a container: %s", c)
		}
	}
}

func TestRunFailuresLeaveNoBackup(t *testing.T) {
	for name, c := range map[string]struct {
		setup func(r *rig)
		is    error
		code  int
		check string
	}{
		"pg_dump exits 1": {func(r *rig) { r.srv.DumpExit = 1 }, nil, exitcode.Failure, "exited with status 1"},
		"no trailer":      {func(r *rig) { r.srv.Dump = []byte("--\n-- PostgreSQL database dump\n--\nCOPY x FROM stdin;\n") }, nil, exitcode.Failure, "does not end with"},
		"below minimum":   {func(r *rig) { r.set.MinSize = 1 << 30 }, exitcode.ErrVerify, exitcode.Verify, verify.CheckMinSize},
		"restore fails":   {func(r *rig) { r.srv.FailOn = "COPY public.transactions" }, exitcode.ErrVerify, exitcode.Verify, verify.CheckRestore},
		"counts differ": {func(r *rig) {
			r.srv.Restores = restored(func(d *pgfake.Database) { d.Counts["public.transactions"] = 41 })
		}, exitcode.ErrVerify, exitcode.Verify, "public.transactions has 41 rows, want 42"},
		"schema differs":     {func(r *rig) { r.srv.Restores = restored(func(d *pgfake.Database) { d.Schema = d.Schema[:1] }) }, exitcode.ErrVerify, exitcode.Verify, verify.CheckFingerprint},
		"key table missing":  {func(r *rig) { r.set.KeyTables = []string{"ledger_entries"} }, exitcode.ErrVerify, exitcode.Verify, verify.CheckKeyTables},
		"not enough space":   {func(r *rig) { r.srv.DB("shop-db-1", "books").Size = 1 << 62 }, exitcode.ErrNoSpace, exitcode.NoSpace, "needs about"},
		"database not found": {func(r *rig) { r.set.Database.Service = "postgres" }, exitcode.ErrNotFound, exitcode.NotFound, "not a service"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			c.setup(r)
			_, err := r.run(context.Background())
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) || exitcode.Of(err) != c.code || !strings.Contains(err.Error(), c.check) {
				t.Fatalf("err = %v (exit %d), want %v / exit %d naming %q", err, exitcode.Of(err), c.is, c.code, c.check)
			}
			if files := r.files(t); len(files) != 0 {
				t.Errorf("files left: %v", files)
			}
			if l := r.log(t); !strings.Contains(l, "status=failed") || !strings.Contains(l, "error=") {
				t.Errorf("backup.log = %q", l)
			}
			if r.scratchLeft(t) {
				t.Error("throwaway server left behind")
			}
		})
	}
}

// restored is what the test restore makes: the source, changed.
func restored(change func(d *pgfake.Database)) *pgfake.Database {
	d := pgfake.DefaultDatabase()
	change(d)
	return d
}

func TestRunLocked(t *testing.T) {
	r := newRig(t)
	l, err := lock.Acquire(r.lockDir, "shop", "restore")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	_, err = r.run(context.Background())
	if !errors.Is(err, exitcode.ErrLocked) || exitcode.Of(err) != exitcode.Locked || !strings.Contains(err.Error(), "restore (pid") {
		t.Fatalf("err = %v", err)
	}
	if files := r.files(t); len(files) != 0 {
		t.Errorf("files: %v", files)
	}
}

func TestRunInterruptedMidDump(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	h := r.eng.ExecHandler
	r.eng.ExecHandler = func(c context.Context, ctr string, spec engine.ExecSpec) error {
		if spec.Cmd[0] == "pg_dump" && len(spec.Cmd) > 2 {
			spec.Stdout.Write(pgfake.CompleteDump(32 << 10)[:16<<10])
			cancel()
			<-c.Done()
			return c.Err()
		}
		return h(c, ctr, spec)
	}
	_, err := r.run(ctx)
	if !errors.Is(err, context.Canceled) || exitcode.Of(err) != exitcode.Interrupted {
		t.Fatalf("err = %v", err)
	}
	if files := r.files(t); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
	if r.scratchLeft(t) {
		t.Error("throwaway server left behind")
	}
}

func TestNames(t *testing.T) {
	// names themselves: internal/backupname
	if got := ManifestPath("/b/shop_db_backup_20260102_030405.sql.gz"); got != "/b/shop_db_backup_20260102_030405.json" {
		t.Errorf("ManifestPath = %s", got)
	}
}

func TestListStates(t *testing.T) {
	r := newRig(t)
	r.set.Verify = verify.ModeQuick
	if _, err := r.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.set.Verify = verify.ModeFull
	clock = clock.Add(time.Hour)
	defer func() { clock = clock.Add(-time.Hour) }()
	if _, err := r.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(r.set.BackupDir, "ledgerflow_backup_20250101_000000.sql.gz")
	os.WriteFile(legacy, []byte("x"), 0o600)
	os.WriteFile(filepath.Join(r.set.BackupDir, ".ledger-tmp-x.sql.gz-1"), []byte("x"), 0o600)
	es, err := List(r.set.BackupDir)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range es {
		states = append(states, e.File+" "+e.State)
	}
	want := []string{
		"shop_db_backup_20260304_060607.sql.gz verified",
		"shop_db_backup_20260304_050607.sql.gz verified-quick",
		"ledgerflow_backup_20250101_000000.sql.gz unverified",
	}
	if strings.Join(states, "\n") != strings.Join(want, "\n") {
		t.Errorf("List =\n%s\nwant\n%s", strings.Join(states, "\n"), strings.Join(want, "\n"))
	}
}

func TestForWrapperFreshness(t *testing.T) {
	r := newRig(t)
	r.set.Freshness = 10 * time.Minute
	first, err := r.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := fresh(r.set, clock.Add(5*time.Minute)); got != first.Path {
		t.Errorf("fresh within the window = %q, want %s", got, first.Path)
	}
	if got := fresh(r.set, clock.Add(11*time.Minute)); got != "" {
		t.Errorf("fresh after the window = %q", got)
	}
	r.set.Freshness = 0
	if got := fresh(r.set, clock); got != "" {
		t.Errorf("freshness 0 reused %q", got)
	}
}

// A dump larger than a gzip member is written as several members, re-read
// member by member, and reads back as one stream with the standard gzip
// reader (what restore and `gunzip | psql` use).
func TestRunWritesGzipMembers(t *testing.T) {
	r := newRig(t)
	r.set.Verify = verify.ModeQuick
	r.srv.Dump = pgfake.CompleteDump(memberSQL*2 + 12345)
	res, err := r.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte{0x1f, 0x8b, 8}); n < 3 {
		t.Errorf("%d gzip member headers, want at least 3", n)
	}
	zr, err := stdgzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sql, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(sql, r.srv.Dump) {
		t.Errorf("gunzip: %d bytes, err %v; want the %d bytes dumped", len(sql), err, len(r.srv.Dump))
	}
	if !res.Manifest.Verification.OK || res.Manifest.SQLSize != int64(len(r.srv.Dump)) {
		t.Errorf("manifest: %+v", res.Manifest)
	}
}
