package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"
	"golang.org/x/sys/unix"

	"github.com/ledger-docker/ledger-docker/internal/atomicfile"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/lock"
	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/settings"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

// Request is one database backup.
type Request struct {
	Settings *settings.Settings
	// Project is the loaded compose project (nil: found by engine labels).
	Project *types.Project
	Engine  engine.Engine
	// Getenv finds the lock folder (LEDGER_LOCK_DIR, XDG_RUNTIME_DIR).
	Getenv func(string) string
	// Progress receives a progress line (bytes, MB/s) when not nil: pass
	// stderr only when it is a terminal.
	Progress io.Writer
	// Log receives what happens, for a person (stderr); nil discards.
	Log io.Writer
	// Trigger says what asked for the backup, for backup.log ("" = user).
	Trigger string
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Tool names this program in manifests.
	Tool string
	// HoldsLock: the caller holds the project's lock already (a restore
	// taking its safety backup), so Run does not take it.
	HoldsLock bool
}

// Result is a published, verified backup.
type Result struct {
	Path     string    `json:"path"`
	Manifest *Manifest `json:"manifest"`
}

func (r *Request) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Request) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

// Run takes, verifies and publishes a database backup. On any failure,
// interruption included, nothing is left under a final name and its temp
// files are removed; every run appends one line to backup.log.
func Run(ctx context.Context, req Request) (res *Result, err error) {
	s := req.Settings
	start := req.now()
	logLine := LogLine{Time: start, Type: TypeDB, Trigger: req.Trigger}
	defer func() { req.appendLog(logLine, start, err) }()

	svc, err := pg.Detect(ctx, req.Engine, s.Project, req.Project, pg.Want{Service: s.Database.Service, User: s.Database.User, Database: s.Database.Name})
	if err != nil {
		return nil, err
	}
	if !req.HoldsLock {
		l, err := lock.Acquire(lock.Dir(req.Getenv), s.Project, "backup")
		if err != nil {
			return nil, err
		}
		defer l.Release()
	}
	if err := req.prepareDir(); err != nil {
		return nil, err
	}
	m, final, err := req.plan(ctx, svc, start)
	if err != nil {
		return nil, err
	}
	logLine.File = m.File
	req.logf("backing up database %s of service %s (project %s) to %s", svc.DB.Name, svc.Service, s.Project, final)

	var test *testRestore
	if s.Verify == verify.ModeFull {
		test = startTestRestore(ctx, req.Engine, verify.ScratchSpec{
			Project: s.Project, Image: firstNonEmpty(svc.ImageID, svc.Image),
			User: svc.DB.User, Database: svc.DB.Name, Roles: m.Roles, DataDir: svc.DataDir,
		})
		defer test.cleanup(ctx)
	}

	f, err := atomicfile.Create(final)
	if err != nil {
		return nil, fmt.Errorf("create backup file: %w", noSpace(err))
	}
	defer f.Abort()
	// The file is re-read from disk while it is written (a Follower), so
	// its gzip CRC and checksums are checked as the dump goes.
	fol, err := verify.Follow(f.TempName())
	if err != nil {
		return nil, err
	}
	defer fol.Done()
	reread := make(chan rereadResult, 1)
	go func() {
		r, err := verify.ReadMembers(fol)
		reread <- rereadResult{r, err}
	}()
	if err := req.dump(ctx, svc, m, f, fol, reread, test); err != nil {
		return nil, err
	}
	rep, err := req.verify(ctx, m, reread, test, f.TempName())
	if err != nil {
		return nil, err
	}
	logLine.Size, logLine.Verification = m.Size, verificationSummary(rep)
	if err := rep.Err(); err != nil {
		return nil, fmt.Errorf("the dump did not verify, so it was not kept: %w", err)
	}
	return req.publish(f, m, final)
}

// appendLog writes the run's line to backup.log (not for a project with
// no database: no log, nor folder, there).
func (r *Request) appendLog(line LogLine, start time.Time, err error) {
	if errors.Is(err, pg.ErrNoDatabase) {
		return
	}
	s := r.Settings
	line.Duration = r.now().Sub(start)
	if err != nil {
		line.Err = err.Error()
	}
	if lerr := AppendLog(s.BackupDir, line); lerr != nil {
		r.logf("warning: could not write %s: %v", filepath.Join(s.BackupDir, LogName), lerr)
	}
}

// prepareDir makes the private backup folder and removes the temp files
// of an earlier interrupted run.
func (r *Request) prepareDir() error {
	dir := r.Settings.BackupDir
	if err := atomicfile.MkdirPrivate(dir); err != nil {
		return fmt.Errorf("backup folder %s: %w", dir, noSpace(err))
	}
	if removed, _ := atomicfile.CleanTemps(dir); len(removed) > 0 {
		r.logf("removed %d temp file(s) of an earlier interrupted run", len(removed))
	}
	return nil
}

// plan is the backup's manifest so far and its final path: the database's
// facts, enough free space for it, and a name no backup has.
func (r *Request) plan(ctx context.Context, svc pg.Service, start time.Time) (*Manifest, string, error) {
	s := r.Settings
	m := &Manifest{
		Version: ManifestVersion, Type: TypeDB, Created: start, Tool: r.Tool,
		Project: s.Project, Service: svc.Service, Database: svc.DB.Name, User: svc.DB.User,
		Container: svc.Container, Image: svc.Image, ImageID: svc.ImageID,
		Compression: "gzip", CompressionLevel: s.CompressionLevel, KeyTables: s.KeyTables,
	}
	facts, err := svc.DB.Facts(ctx)
	if err != nil {
		return nil, "", err
	}
	m.Roles = facts.Roles
	if err := checkSpace(svc.DB.Name, facts.Size, s.BackupDir, s.MinSize); err != nil {
		return nil, "", err
	}
	final := filepath.Join(s.BackupDir, FileName(s.Project, start))
	if _, err := os.Stat(final); err == nil {
		// A backup of this very second exists: take the next second's name.
		m.Created = start.Truncate(time.Second).Add(time.Second)
		final = filepath.Join(s.BackupDir, FileName(s.Project, m.Created))
	}
	m.File = filepath.Base(final)
	return m, final, nil
}

// dump runs pg_dump into f (gzip, the test restore and the re-read fed as
// it goes) and records the dump's facts in m. On failure the re-read is
// stopped and waited for.
func (r *Request) dump(ctx context.Context, svc pg.Service, m *Manifest, f *atomicfile.File, fol *verify.Follower,
	reread <-chan rereadResult, test *testRestore) error {
	dumpStart := time.Now()
	w, err := newSink(f, r.Settings.CompressionLevel, test, r.Progress, fol)
	if err != nil {
		fol.Close(err)
		return err
	}
	dres, dumpErr := svc.DB.Dump(ctx, w, nil)
	closeErr := w.Close()
	m.Durations.Dump = time.Since(dumpStart).Seconds()
	if dumpErr != nil || closeErr != nil {
		fol.Close(errors.New("the dump failed"))
		<-reread
	}
	if dumpErr != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("backup interrupted; no backup was written: %w", ctx.Err())
		}
		if closeErr != nil && !errors.Is(dumpErr, syscall.ENOSPC) {
			dumpErr = errors.Join(dumpErr, closeErr)
		}
		return fmt.Errorf("dump failed; no backup was written: %w", noSpace(dumpErr))
	}
	if closeErr != nil {
		return fmt.Errorf("write %s: %w", f.TempName(), noSpace(closeErr))
	}
	if err := f.Sync(); err != nil {
		fol.Close(err)
		<-reread
		return fmt.Errorf("sync %s: %w", f.TempName(), noSpace(err))
	}
	fol.Close(nil)
	m.Snapshot, m.Counts, m.Fingerprint, m.Versions = dres.Snapshot, dres.Counts, dres.Fingerprint, dres.Versions
	m.Size, m.SHA256 = w.size, hex.EncodeToString(w.fileHash.Sum(nil))
	m.SQLSize = w.sqlSize
	return nil
}

// verify gathers every check of the written file (exit status, the
// re-read's gzip CRC, checksum and size, the key tables, the test restore)
// into m's report. The error is for a run that cannot judge (interrupted,
// the file unreadable); a failed check is in the report.
func (r *Request) verify(ctx context.Context, m *Manifest, reread <-chan rereadResult, test *testRestore, temp string) (verify.Report, error) {
	s := r.Settings
	rep := verify.Report{Mode: s.Verify}
	verifyStart := time.Now()
	rep.Add(verify.Pass(verify.CheckExitStatus, "0"))
	rr := <-reread
	if rr.err != nil {
		return rep, fmt.Errorf("re-read %s: %w", temp, rr.err)
	}
	rr.res.Judge(verify.Expect{SHA256: m.SHA256, Size: m.Size, MinSize: s.MinSize})
	rep.Add(rr.res.Checks...)
	rep.Add(keyTablesCheck(s.KeyTables, m.Counts))
	if test != nil {
		rep.Add(test.finish(ctx, m.Counts, m.Fingerprint)...)
	} else {
		for _, c := range []string{verify.CheckRestore, verify.CheckRowCounts, verify.CheckFingerprint} {
			rep.Add(verify.Skip(c, "--verify=quick"))
		}
	}
	if ctx.Err() != nil {
		return rep, fmt.Errorf("backup interrupted; no backup was written: %w", ctx.Err())
	}
	rep.At = r.now()
	rep.Seconds = time.Since(verifyStart).Seconds()
	m.Durations.Verify = rep.Seconds
	m.Verification = rep
	return rep, nil
}

// publish renames the verified file to its final name and writes its
// manifest beside it.
func (r *Request) publish(f *atomicfile.File, m *Manifest, final string) (*Result, error) {
	m.Durations.Total = r.now().Sub(m.Created).Seconds()
	if err := f.Commit(); err != nil {
		return nil, fmt.Errorf("publish backup: %w", noSpace(err))
	}
	if err := m.Save(final); err != nil {
		// The backup without its manifest would pass for a legacy one.
		_ = os.Remove(final)
		return nil, fmt.Errorf("write manifest of %s (backup removed): %w", final, noSpace(err))
	}
	return &Result{Path: final, Manifest: m}, nil
}

type rereadResult struct {
	res verify.FileResult
	err error
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// keyTablesCheck: every key table must be in the backup.
func keyTablesCheck(keys []string, counts map[string]int64) verify.Check {
	if len(keys) == 0 {
		return verify.Skip(verify.CheckKeyTables, "no key tables set")
	}
	var missing []string
	for _, k := range keys {
		if _, ok := counts[k]; ok {
			continue
		}
		if _, ok := counts["public."+k]; ok {
			continue
		}
		missing = append(missing, k)
	}
	if len(missing) > 0 {
		return verify.Fail(verify.CheckKeyTables, fmt.Sprintf("key tables not in the database: %v", missing))
	}
	return verify.Pass(verify.CheckKeyTables, fmt.Sprint(keys))
}

// noSpace marks a full disk with exitcode.ErrNoSpace (exit 6).
func noSpace(err error) error {
	if err != nil && errors.Is(err, syscall.ENOSPC) && !errors.Is(err, exitcode.ErrNoSpace) {
		return fmt.Errorf("%w (disk full): %w", exitcode.ErrNoSpace, err)
	}
	return err
}

// checkSpace refuses to start when the folder's free space is below a
// conservative estimate of the compressed dump: a tenth of the database's
// size on disk, and at least the minimum backup size plus 1 MB.
func checkSpace(db string, dbSize int64, dir string, minSize int64) error {
	need := max(dbSize/10, minSize+1<<20)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < need {
		return fmt.Errorf("%w in %s: %s free, a backup of database %s (%s on disk) needs about %s; free some space or set backup_dir",
			exitcode.ErrNoSpace, dir, units.BytesSize(float64(free)), db, units.BytesSize(float64(dbSize)), units.BytesSize(float64(need)))
	}
	return nil
}

// ParallelGzipCPUs is the number of CPUs from which the gzip stream is
// compressed in parallel blocks (klauspost/pgzip). Below it, pg_dump, the
// server and the engine already keep the cores busy and one
// klauspost/compress/gzip stream is faster (BenchmarkCompress on a real
// dump, 2 loaded cores: 99 MB/s against pgzip's 89 MB/s at level 1; the
// standard library's gzip -6, what `pg_dump | gzip` uses, 20 MB/s).
const ParallelGzipCPUs = 4

// gzipWriter writes one gzip member until Close; Reset starts the next.
type gzipWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

// newGzip returns a gzip writer at level: parallel on machines with
// ParallelGzipCPUs or more CPUs, else one fast stream. Both write a
// standard gzip file.
func newGzip(w io.Writer, level int) (gzipWriter, error) {
	if runtime.NumCPU() >= ParallelGzipCPUs {
		return pgzip.NewWriterLevel(w, level)
	}
	return kgzip.NewWriterLevel(w, level)
}

// sink is where pg_dump's SQL goes: hashed, counted, fed to the test
// restore, gzipped into the temp file.
type sink struct {
	// mu: an interrupted exec may still deliver output while the run
	// closes the sink; writes after Close are refused.
	mu       sync.Mutex
	closed   bool
	zw       gzipWriter
	fol      *verify.Follower
	memberIn int // SQL bytes in the current gzip member
	buf      *bufio.Writer
	fileHash hashWriter
	sqlSize  int64
	size     int64
	test     *testRestore
	progress *progress
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func newSink(f io.Writer, level int, test *testRestore, progressOut io.Writer, fol *verify.Follower) (*sink, error) {
	s := &sink{fileHash: sha256.New(), test: test, fol: fol}
	// The file first: the follower reads only what reached it. The gzip
	// writer emits a few hundred bytes at a time; the buffer turns that
	// into large writes, so the file, its hash and the follower each see
	// few calls (one syscall and one wake-up per MB, not per 240 bytes).
	s.buf = bufio.NewWriterSize(io.MultiWriter(f, s.fileHash, countFunc(func(n int) {
		s.size += int64(n)
		fol.Advance(n)
	})), outputBuffer)
	zw, err := newGzip(s.buf, level)
	if err != nil {
		return nil, err
	}
	s.zw = zw
	if progressOut != nil {
		s.progress = startProgress(progressOut)
	}
	return s, nil
}

// Write takes SQL from pg_dump.
func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errSinkClosed
	}
	s.sqlSize += int64(len(p))
	if s.test != nil {
		s.test.write(p)
	}
	if s.progress != nil {
		s.progress.add(len(p))
	}
	written := 0
	for len(p) > 0 {
		part := p[:min(len(p), memberSQL-s.memberIn)]
		n, err := s.zw.Write(part)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
		if s.memberIn += n; s.memberIn == memberSQL {
			if err := s.endMember(); err != nil {
				return written, err
			}
			s.zw.Reset(s.buf)
		}
	}
	return written, nil
}

// memberSQL is how much SQL goes into one gzip member. The file is a
// series of whole gzip members (RFC 1952 section 2.2; gunzip, zcat and
// every gzip library read them as one stream): the re-read takes each
// member from disk whole and decompresses it from memory, which costs a
// sixth less CPU than decompressing from a stream. A new member forgets
// the previous one's 32 KB window: at 8 MB the file grows by about 0.1%.
const memberSQL = 8 << 20

// endMember writes the current member's trailer and marks its end for the
// re-read.
func (s *sink) endMember() error {
	if err := s.zw.Close(); err != nil {
		return err
	}
	s.fol.Mark(s.size + int64(s.buf.Buffered()))
	s.memberIn = 0
	return nil
}

// Close flushes the gzip stream and ends the test restore's input.
func (s *sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.progress != nil {
		s.progress.stop()
	}
	if s.test != nil {
		s.test.closeInput()
	}
	if err := s.endMember(); err != nil {
		return err
	}
	return s.buf.Flush()
}

// outputBuffer is the size of the writes of compressed data to the file.
const outputBuffer = 1 << 20

var errSinkClosed = errors.New("backup output closed")

type countFunc func(int)

func (c countFunc) Write(p []byte) (int, error) { c(len(p)); return len(p), nil }
