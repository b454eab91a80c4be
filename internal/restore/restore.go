// Package restore puts a database backup back, safely: it takes a verified
// safety backup of the current database, restores the file into a scratch
// database on the same server, checks its row counts and schema against the
// backup's manifest, and only then swaps it in by rename, in one
// transaction. A failed restore leaves the target database as it was and
// drops the scratch database.
package restore

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

// Target is the database a backup is restored into.
type Target struct {
	Project string
	Service string
	// DB is the database to replace (or create); its server also holds
	// the scratch database.
	DB pg.DB
}

// Request is one restore. Row counts and the schema fingerprint of the
// restored database are taken with internal/pg, as backups record them.
type Request struct {
	Source Source
	Target Target
	// CheckFile verifies the backup file (gzip CRC, checksum, pg_dump
	// trailer) while the safety backup is taken. Nil, or no safety backup:
	// the file is checked while it streams into the scratch database.
	CheckFile func(ctx context.Context) error
	// SafetyBackup takes a verified backup of the target database as it is
	// now and returns the backup's path.
	SafetyBackup func(ctx context.Context) (string, error)
	// Jobs is how many psql sessions build indexes at once (0: DefaultJobs).
	Jobs int
	// Log receives one line per phase (stderr); nil discards.
	Log io.Writer
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// DefaultJobs sessions build indexes and constraints at once.
const DefaultJobs = 2

// Plan is what a restore will do; it is shown before confirmation.
type Plan struct {
	File       string           `json:"file"`
	Legacy     bool             `json:"legacy"`
	BackupTime time.Time        `json:"backup_time"`
	TimeFrom   string           `json:"backup_time_from"`
	Counts     map[string]int64 `json:"counts,omitempty"`
	// Source says where the backup was taken (from its manifest).
	Source    string `json:"source,omitempty"`
	Project   string `json:"project,omitempty"`
	Service   string `json:"service,omitempty"`
	Container string `json:"container"`
	Database  string `json:"database"`
	// TargetExists and TargetRelations describe the target now.
	TargetExists    bool `json:"target_exists"`
	TargetRelations int  `json:"target_relations"`
	// SafetyBackup: a backup of the target is taken first (it exists and
	// holds tables, views or sequences).
	SafetyBackup bool `json:"safety_backup"`
	// Scratch is the database the file is restored into first.
	Scratch string `json:"scratch_database"`
	// Leftovers are scratch or old databases of earlier, killed restores.
	Leftovers []string `json:"leftovers,omitempty"`

	owner, encoding, collate, ctype string
	roles                           map[string]bool
	maintenance                     string
	shm                             int64
}

// Result is a finished (or failed) restore.
type Result struct {
	Plan
	// SafetyBackupPath is where the safety backup is ("" when none).
	SafetyBackupPath string           `json:"safety_backup_path,omitempty"`
	RestoredCounts   map[string]int64 `json:"restored_counts,omitempty"`
	CountsChecked    bool             `json:"counts_checked"`
	SchemaChecked    bool             `json:"schema_checked"`
	// CreateDB: the dump was made with pg_dump -C; its CREATE DATABASE and
	// \connect lines were left out.
	CreateDB bool `json:"create_database_stripped,omitempty"`
	// Removed lists statements left out of the dump, with why.
	Removed []string `json:"removed_statements,omitempty"`
	// SQLBytes is the uncompressed size of the dump.
	SQLBytes int64 `json:"sql_bytes"`
	// Terminated counts the sessions on the target that were ended.
	Terminated int `json:"terminated_sessions"`
	// OldDatabase is the replaced database when it could not be dropped.
	OldDatabase string    `json:"old_database_left,omitempty"`
	Durations   Durations `json:"durations_ms"`
}

// Durations of the phases.
type Durations struct {
	CheckFile    time.Duration `json:"check_file"`
	SafetyBackup time.Duration `json:"safety_backup"`
	Load         time.Duration `json:"load"`
	Verify       time.Duration `json:"verify"`
	Swap         time.Duration `json:"swap"`
	Total        time.Duration `json:"total"`
}

// MarshalJSON writes durations in milliseconds.
func (d Durations) MarshalJSON() ([]byte, error) {
	ms := func(x time.Duration) string { return strconv.FormatInt(x.Milliseconds(), 10) }
	return []byte(`{"check_file":` + ms(d.CheckFile) + `,"safety_backup":` + ms(d.SafetyBackup) +
		`,"load":` + ms(d.Load) + `,"verify":` + ms(d.Verify) + `,"swap":` + ms(d.Swap) +
		`,"total":` + ms(d.Total) + `}`), nil
}

// Names of the databases a restore makes beside the target. PostgreSQL
// names hold at most 63 bytes.
const (
	scratchInfix = "__ledger_restore_"
	oldInfix     = "__ledger_old_"
	maxIdentLen  = 63
)

func sideName(db, infix string, now time.Time) string {
	suffix := infix + now.UTC().Format("20060102150405")
	if len(db)+len(suffix) > maxIdentLen {
		db = db[:maxIdentLen-len(suffix)]
		// Do not cut a multi-byte character in half.
		for len(db) > 0 && db[len(db)-1]&0xC0 == 0x80 {
			db = db[:len(db)-1]
		}
		if len(db) > 0 && db[len(db)-1] >= 0xC0 {
			db = db[:len(db)-1]
		}
	}
	return db + suffix
}

func (r *Request) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Request) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

// Prepare looks at the server and returns the plan. It changes nothing.
func Prepare(ctx context.Context, req *Request) (*Plan, error) {
	t := req.Target
	p := &Plan{
		File: req.Source.Path, Legacy: req.Source.Legacy(),
		BackupTime: req.Source.Time, TimeFrom: req.Source.TimeFrom,
		Project: t.Project, Service: t.Service, Container: t.DB.Container, Database: t.DB.Name,
		Scratch:     sideName(t.DB.Name, scratchInfix, req.now()),
		maintenance: "postgres",
	}
	if m := req.Source.Manifest; m != nil {
		p.Counts = m.Counts
		if m.Database != "" {
			p.Source = fmt.Sprintf("database %q of service %s, project %s", m.Database, m.Service, m.Project)
		}
	}
	if t.DB.Name == "postgres" {
		p.maintenance = "template1"
	}
	server := t.DB.On(p.maintenance)
	rows, err := server.Query(ctx,
		`SELECT d.datname, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype FROM pg_database d WHERE d.datname = `+pg.QuoteLiteral(t.DB.Name)+
			` OR strpos(d.datname, '`+scratchInfix+`') > 0 OR strpos(d.datname, '`+oldInfix+`') > 0 ORDER BY 1;`)
	if err != nil {
		return nil, fmt.Errorf("look at the database server in %s: %w", t.DB.Container, err)
	}
	for _, row := range rows {
		if len(row) != 5 {
			return nil, fmt.Errorf("unexpected answer from psql: %q", row)
		}
		if row[0] != t.DB.Name {
			p.Leftovers = append(p.Leftovers, row[0])
			continue
		}
		p.TargetExists = true
		p.owner, p.encoding, p.collate, p.ctype = row[1], row[2], row[3], row[4]
	}
	if p.TargetExists {
		if p.TargetRelations, err = t.DB.RelationCount(ctx); err != nil {
			return nil, fmt.Errorf("look at database %s: %w", t.DB.Name, err)
		}
		p.SafetyBackup = p.TargetRelations > 0
	}
	rows, err = server.Query(ctx, `SELECT rolname FROM pg_roles;`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	p.roles = map[string]bool{}
	for _, row := range rows {
		p.roles[row[0]] = true
	}
	p.shm = ShmSize(ctx, t.DB)
	return p, nil
}

// Execute runs the plan: check the file, safety backup, restore into the
// scratch database, verify, swap. On any failure before the swap the target
// is untouched and the scratch database is dropped.
func Execute(ctx context.Context, req *Request, p *Plan) (res *Result, err error) {
	start := req.now()
	res = &Result{Plan: *p}
	defer func() { res.Durations.Total = req.now().Sub(start) }()
	server := req.Target.DB.On(p.maintenance)

	if m := req.Source.Manifest; m != nil && m.Size > 0 && m.Size != req.Source.Size {
		return res, fmt.Errorf("%w: %s is %d bytes, its manifest says %d (truncated or replaced); nothing was changed", ErrVerify, p.File, req.Source.Size, m.Size)
	}
	if p.SafetyBackup {
		if err := safetyFirst(ctx, req, p, res); err != nil {
			return res, err
		}
	}

	if err := createScratch(ctx, server, p); err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			if derr := dropDatabase(context.WithoutCancel(ctx), server, p.Scratch); derr != nil {
				err = errors.Join(err, fmt.Errorf("drop scratch database %s (drop it by hand): %w", p.Scratch, derr))
			}
		}
	}()

	req.logf("Restoring into scratch database %s ...", p.Scratch)
	t0 := req.now()
	jobs := req.Jobs
	if jobs == 0 {
		jobs = DefaultJobs
	}
	stats, err := loadFile(ctx, req.Target.DB.On(p.Scratch), req.Source, LoadOptions{Jobs: jobs, Roles: p.roles, PGOptions: PGOptions(p.shm)})
	res.Durations.Load = req.now().Sub(t0)
	res.CreateDB, res.Removed, res.SQLBytes = stats.CreateDB, stats.Removed, stats.Bytes
	if err != nil {
		return res, fmt.Errorf("restore %s into scratch database: %w; %s was not changed", p.File, err, p.Database)
	}

	t0 = req.now()
	if err := checkScratch(ctx, req, p, res); err != nil {
		return res, fmt.Errorf("%w: %v; %s was not changed", ErrVerify, err, p.Database)
	}
	res.Durations.Verify = req.now().Sub(t0)

	t0 = req.now()
	n, err := swap(ctx, server, p, sideName(p.Database, oldInfix, req.now()), res)
	res.Terminated = n
	res.Durations.Swap = req.now().Sub(t0)
	if err != nil {
		return res, err
	}
	return res, nil
}

// safetyFirst takes the safety backup and, meanwhile, checks the backup
// file, so a damaged file is found before the scratch database is made.
// (Without a safety backup there is nothing to lose: the file is checked
// as it streams into the scratch database.)
func safetyFirst(ctx context.Context, req *Request, p *Plan, res *Result) error {
	if req.SafetyBackup == nil {
		return errors.New("a safety backup is needed but none can be taken; nothing was changed")
	}
	checked := make(chan error, 1)
	if req.CheckFile != nil {
		go func() {
			t0 := req.now()
			err := req.CheckFile(ctx)
			res.Durations.CheckFile = req.now().Sub(t0)
			checked <- err
		}()
	} else {
		checked <- nil
	}
	req.logf("Taking a safety backup of %s ...", p.Database)
	t0 := req.now()
	path, err := req.SafetyBackup(ctx)
	res.Durations.SafetyBackup = req.now().Sub(t0)
	checkErr := <-checked
	if err != nil {
		return fmt.Errorf("safety backup of %s failed, nothing was changed: %w", p.Database, err)
	}
	res.SafetyBackupPath = path
	req.logf("Safety backup: %s", path)
	if checkErr != nil {
		return fmt.Errorf("%w: backup file %s: %v; nothing was changed", ErrVerify, p.File, checkErr)
	}
	return nil
}

// createScratch creates the scratch database like the target (owner,
// encoding, collation) from template0, as pg_restore's docs advise.
func createScratch(ctx context.Context, server pg.DB, p *Plan) error {
	sql := "CREATE DATABASE " + pg.QuoteIdent(p.Scratch) + " WITH TEMPLATE template0"
	if p.TargetExists {
		sql += " OWNER " + pg.QuoteIdent(p.owner) + " ENCODING " + pg.QuoteLiteral(p.encoding) +
			" LC_COLLATE " + pg.QuoteLiteral(p.collate) + " LC_CTYPE " + pg.QuoteLiteral(p.ctype)
	}
	if _, err := server.Query(ctx, sql+";"); err != nil {
		return fmt.Errorf("create scratch database %s: %w; nothing was changed", p.Scratch, err)
	}
	return nil
}

// dropDatabase ends the sessions on db and drops it (if it exists); server
// is connected to another database of the same server.
func dropDatabase(ctx context.Context, server pg.DB, db string) error {
	_, err := server.Query(ctx,
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = `+pg.QuoteLiteral(db)+
			";\nDROP DATABASE IF EXISTS "+pg.QuoteIdent(db)+";")
	return err
}

// loadFile streams the backup file (gunzip on the host, its sha256 taken
// on the way) into db. The gzip CRC, pg_dump's completion trailer and the
// manifest's sha256 are all checked before it returns success.
func loadFile(ctx context.Context, db pg.DB, src Source, opts LoadOptions) (FilterStats, error) {
	f, err := os.Open(src.Path)
	if err != nil {
		return FilterStats{}, err
	}
	defer f.Close()
	sum := sha256.New()
	gz, err := gzip.NewReader(io.TeeReader(bufio.NewReaderSize(f, 1<<20), sum))
	if err != nil {
		return FilterStats{}, fmt.Errorf("%w: not a gzip file (%v)", ErrVerify, err)
	}
	stats, err := Load(ctx, db, gz, opts)
	switch {
	case err != nil && isGzipError(err):
		return stats, fmt.Errorf("%w: the file is corrupt or truncated (%v)", ErrVerify, err)
	case err != nil:
		return stats, err
	case !stats.Complete:
		return stats, fmt.Errorf("%w: the dump ends without pg_dump's completion line (truncated, or pg_dump failed while writing it)", ErrVerify)
	}
	if m := src.Manifest; m != nil && m.SHA256 != "" {
		if got := hex.EncodeToString(sum.Sum(nil)); got != m.SHA256 {
			return stats, fmt.Errorf("%w: sha256 of the file is %s, the manifest says %s", ErrVerify, got, m.SHA256)
		}
	}
	return stats, nil
}

func isGzipError(err error) bool {
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkScratch compares the scratch database with the manifest: exact row counts
// per table and the schema fingerprint. Legacy backups have nothing to
// compare with; their counts are recorded for the report.
func checkScratch(ctx context.Context, req *Request, p *Plan, res *Result) error {
	scratch := req.Target.DB.On(p.Scratch)
	m := req.Source.Manifest
	// Counts and schema are read at once, in two sessions.
	var fp string
	fpErr := make(chan error, 1)
	if m != nil && m.Fingerprint != "" {
		go func() {
			var err error
			fp, err = scratch.Fingerprint(ctx)
			fpErr <- err
		}()
	} else {
		fpErr <- nil
	}
	got, err := scratch.Counts(ctx)
	ferr := <-fpErr
	if err != nil {
		return fmt.Errorf("count rows in the scratch database: %v", err)
	}
	res.RestoredCounts = got
	if m != nil && m.Counts != nil {
		if c := verify.CompareCounts(m.Counts, got); !c.OK {
			return fmt.Errorf("row counts differ from the manifest: %s", c.Detail)
		}
		res.CountsChecked = true
	}
	if m != nil && m.Fingerprint != "" {
		if ferr != nil {
			return fmt.Errorf("schema fingerprint of the scratch database: %v", ferr)
		}
		if fp != m.Fingerprint {
			return fmt.Errorf("schema fingerprint %s differs from the manifest's %s", fp, m.Fingerprint)
		}
		res.SchemaChecked = true
	}
	return nil
}

// swap puts the scratch database in the target's place. The target stops
// accepting connections, its sessions are ended, and both renames happen in
// one transaction: either the restored database is the target, or nothing
// changed. The replaced database is dropped afterwards; if that fails it is
// left under its old name and reported.
func swap(ctx context.Context, server pg.DB, p *Plan, old string, res *Result) (int, error) {
	db, scratch := pg.QuoteIdent(p.Database), pg.QuoteIdent(p.Scratch)
	if !p.TargetExists {
		if _, err := server.Query(ctx, "ALTER DATABASE "+scratch+" RENAME TO "+db+";"); err != nil {
			return 0, fmt.Errorf("rename scratch database %s to %s: %w", p.Scratch, p.Database, err)
		}
		return 0, nil
	}
	rows, err := server.Query(ctx,
		"ALTER DATABASE "+db+" WITH ALLOW_CONNECTIONS false;\n"+
			"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "+pg.QuoteLiteral(p.Database)+" AND pid <> pg_backend_pid();\n"+
			"BEGIN;\n"+
			"ALTER DATABASE "+db+" RENAME TO "+pg.QuoteIdent(old)+";\n"+
			"ALTER DATABASE "+scratch+" RENAME TO "+db+";\n"+
			"COMMIT;")
	terminated := 0
	if len(rows) > 0 && len(rows[0]) == 1 {
		terminated, _ = strconv.Atoi(rows[0][0])
	}
	if err != nil {
		// The renames ran in one transaction: the target kept its name.
		// Let clients back in.
		_, uerr := server.Query(context.WithoutCancel(ctx), "ALTER DATABASE "+db+" WITH ALLOW_CONNECTIONS true;")
		return terminated, errors.Join(fmt.Errorf("swap the restored database in: %w; %s was not changed", err, p.Database), uerr)
	}
	if err := dropDatabase(context.WithoutCancel(ctx), server, old); err != nil {
		res.OldDatabase = old
	}
	return terminated, nil
}
