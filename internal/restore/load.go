package restore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/pg"
)

// LoadOptions tune how a dump is loaded.
type LoadOptions struct {
	// Jobs is how many psql sessions build indexes and primary / unique
	// constraints at once (pg_restore -j's idea for plain dumps); 0 or 1
	// loads everything in one session.
	Jobs int
	// Roles are the roles the server has (nil: keep every owner and grant
	// statement).
	Roles map[string]bool
	// PGOptions is passed to every psql session (PGOPTIONS).
	PGOptions string
}

// PGOptions for loading a dump. With a small /dev/shm (Docker's default
// is 64 MB) index builds sort in the session's own memory instead of
// parallel workers, whose shared memory would not fit on large tables (the
// build would fail); the pool of sessions still builds several at once.
func PGOptions(shmBytes int64) string {
	opts := "-c synchronous_commit=off"
	if shmBytes < minShmForParallel {
		opts += " -c max_parallel_maintenance_workers=0 -c maintenance_work_mem=128MB"
	}
	return opts
}

// minShmForParallel is the /dev/shm size from which parallel index builds
// are left on.
const minShmForParallel = 256 << 20

// ShmSize returns the size of /dev/shm in db's container (0 when it
// cannot be read).
func ShmSize(ctx context.Context, db pg.DB) int64 {
	var out bytes.Buffer
	if err := db.Engine.Exec(ctx, db.Container, engine.ExecSpec{Cmd: []string{"df", "-Pk", "/dev/shm"}, Stdout: &out}); err != nil {
		return 0
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	fields := strings.Fields(lines[len(lines)-1])
	if len(fields) < 2 {
		return 0
	}
	kb, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}

// Load streams a plain SQL dump (uncompressed) from r into db through the
// filter: the data and everything else in dump order in one psql session;
// the indexes and primary / unique constraints that pg_dump writes after
// the data are spread over opts.Jobs sessions once the data is in. Every
// session stops at its first error (ON_ERROR_STOP) and so does the load.
func Load(ctx context.Context, db pg.DB, r io.Reader, opts LoadOptions) (FilterStats, error) {
	if opts.PGOptions != "" {
		db.Env = append(append([]string(nil), db.Env...), "PGOPTIONS="+opts.PGOptions)
	}
	main, err := startSession(ctx, db)
	if err != nil {
		return FilterStats{}, err
	}
	rt := &router{ctx: ctx, db: db, jobs: opts.Jobs, main: main}
	flt := &filter{roles: opts.Roles, router: rt}
	ferr := flt.copyTo(rt, r)
	if ferr == nil {
		ferr = rt.finish()
	}
	errs := errors.Join(rt.closeAll(ferr)...)
	switch {
	case ferr != nil && !errors.Is(ferr, errPsqlStopped):
		return flt.stats, ferr
	case errs != nil:
		return flt.stats, errs
	}
	return flt.stats, ferr
}

// errPsqlStopped: a psql session stopped reading (it failed or ended).
var errPsqlStopped = errors.New("psql stopped reading")

// router sends the filter's output to the psql sessions.
type router struct {
	ctx  context.Context
	db   pg.DB
	jobs int
	main *session
	// state: 0 before the parallel part, 1 in it, 2 after it.
	state int
	// entry collects the current parallel entry's text.
	entry   *bytes.Buffer
	queue   chan job
	workers sync.WaitGroup
	pool    []*session
	poolErr chan error
	// settings are the SET lines seen so far, for the pool's sessions.
	mu       sync.Mutex
	settings [][]byte
}

// job is one entry for the pool with the settings in force before it.
type job struct {
	sql      []byte
	settings int
}

// isParallel: entries that only need their own table's data, which the
// pool builds at once (they take locks on one table each, so they may wait
// on one another but never deadlock).
func isParallel(typ string) bool { return typ == "INDEX" || typ == "CONSTRAINT" }

// Write receives lines outside entries' switching points.
func (rt *router) Write(p []byte) (int, error) {
	if rt.state == 1 {
		return rt.entry.Write(p)
	}
	return rt.main.in.Write(p)
}

// setting receives a SET / set_config line: every session needs it.
func (rt *router) setting(line []byte) error {
	rt.mu.Lock()
	rt.settings = append(rt.settings, append([]byte(nil), line...))
	rt.mu.Unlock()
	if rt.state == 1 {
		return nil // the pool applies it before its next entries; main gets it below
	}
	_, err := rt.main.in.Write(line)
	return err
}

// header is called at each pg_dump entry header ("-- Name: ...; Type: T").
func (rt *router) header(typ string) error {
	parallel := rt.jobs > 1 && isParallel(typ)
	switch {
	case parallel && rt.state == 0:
		// Everything before must be done (tables created, data in).
		if err := rt.main.sync(); err != nil {
			return err
		}
		rt.startPool()
		rt.state = 1
		rt.entry = &bytes.Buffer{}
	case parallel && rt.state == 1:
		return rt.push()
	case rt.state == 1:
		if err := rt.push(); err != nil {
			return err
		}
		if err := rt.drain(); err != nil {
			return err
		}
		rt.state = 2
		// Main catches up with the settings the pool applied.
		rt.mu.Lock()
		defer rt.mu.Unlock()
		for _, s := range rt.settings {
			if _, err := rt.main.in.Write(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (rt *router) push() error {
	if rt.entry.Len() == 0 {
		return nil
	}
	rt.mu.Lock()
	j := job{sql: rt.entry.Bytes(), settings: len(rt.settings)}
	rt.mu.Unlock()
	rt.entry = &bytes.Buffer{}
	select {
	case rt.queue <- j:
		return nil
	case err := <-rt.poolErr:
		return err
	case <-rt.ctx.Done():
		return context.Cause(rt.ctx)
	}
}

func (rt *router) startPool() {
	rt.queue = make(chan job, 4096)
	rt.poolErr = make(chan error, rt.jobs)
	for i := 0; i < rt.jobs; i++ {
		rt.workers.Add(1)
		go func() {
			defer rt.workers.Done()
			if err := rt.work(); err != nil {
				rt.poolErr <- err
			}
		}()
	}
}

// work runs entries from the queue in its own psql session, one at a
// time (it waits for each), so the faster session takes the next.
func (rt *router) work() error {
	s, err := startSession(rt.ctx, rt.db)
	if err != nil {
		return err
	}
	rt.mu.Lock()
	rt.pool = append(rt.pool, s)
	rt.mu.Unlock()
	applied := 0
	for j := range rt.queue {
		rt.mu.Lock()
		pending := rt.settings[applied:j.settings]
		applied = j.settings
		rt.mu.Unlock()
		for _, set := range pending {
			if _, err := s.in.Write(set); err != nil {
				return s.failure(err)
			}
		}
		if _, err := s.in.Write(j.sql); err != nil {
			return s.failure(err)
		}
		if err := s.sync(); err != nil {
			return err
		}
	}
	return nil
}

// drain waits for the pool to finish every entry.
func (rt *router) drain() error {
	close(rt.queue)
	rt.workers.Wait()
	select {
	case err := <-rt.poolErr:
		return err
	default:
		return nil
	}
}

// finish ends the input: the last parallel entries, then main.
func (rt *router) finish() error {
	if rt.state == 1 {
		if err := rt.push(); err != nil {
			return err
		}
		if err := rt.drain(); err != nil {
			return err
		}
		rt.state = 2
	}
	return nil
}

// closeAll ends every session's input (with cause when failing) and
// waits for them; it returns their errors.
func (rt *router) closeAll(cause error) []error {
	if rt.state == 1 {
		close(rt.queue)
		rt.workers.Wait()
	}
	var errs []error
	rt.mu.Lock()
	sessions := append([]*session{rt.main}, rt.pool...)
	rt.mu.Unlock()
	for _, s := range sessions {
		if err := s.close(cause); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// session is one psql reading SQL from a pipe; markers written after
// statements come back on its output once psql ran everything before.
type session struct {
	in     *bufio.Writer
	pipe   *io.PipeWriter
	lines  chan string
	done   chan error
	stderr *errWatch
	err    error
}

func startSession(ctx context.Context, db pg.DB) (*session, error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &session{
		in: bufio.NewWriterSize(inW, 256<<10), pipe: inW,
		lines: make(chan string, 16), done: make(chan error, 1),
		stderr: &errWatch{stop: inR},
	}
	go func() {
		err := db.Engine.Exec(ctx, db.Container, engine.ExecSpec{
			Cmd: db.PsqlArgs("-q", "-A", "-t"), Env: db.Env,
			Stdin: inR, Stdout: outW, Stderr: s.stderr,
		})
		outW.CloseWithError(io.EOF)
		inR.CloseWithError(errPsqlStopped)
		s.done <- err
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), markerPrefix) {
				s.lines <- sc.Text()
			}
		}
		close(s.lines)
		io.Copy(io.Discard, outR)
	}()
	return s, nil
}

const markerPrefix = "__ledger_restore_sync_"

// sync waits until psql has run everything written so far. The marker is
// a SELECT, not \echo: dumps of recent pg_dump versions run in psql's
// \restrict mode, where meta-commands are refused.
func (s *session) sync() error {
	var m [8]byte
	_, _ = rand.Read(m[:])
	marker := markerPrefix + hex.EncodeToString(m[:])
	if _, err := fmt.Fprintf(s.in, "\nSELECT '%s';\n", marker); err != nil {
		return s.failure(err)
	}
	if err := s.in.Flush(); err != nil {
		return s.failure(err)
	}
	for line := range s.lines {
		if line == marker {
			return nil
		}
	}
	return s.failure(io.ErrUnexpectedEOF)
}

// failure turns a pipe error into psql's own error when psql stopped.
func (s *session) failure(err error) error {
	if s.err == nil {
		s.err = s.close(err)
		if s.err == nil {
			s.err = err
		}
	}
	return s.err
}

// close ends the input (an error makes psql stop reading at once) and
// waits for psql; it returns psql's failure with its message.
func (s *session) close(cause error) error {
	if s.done == nil {
		return s.err
	}
	if cause == nil {
		if err := s.in.Flush(); err != nil {
			cause = err
		}
	}
	if cause != nil {
		s.pipe.CloseWithError(cause)
	} else {
		s.pipe.Close()
	}
	err := <-s.done
	s.done = nil
	if err != nil {
		if msg := s.stderr.message(); msg != "" {
			return fmt.Errorf("psql failed: %s", msg)
		}
		return fmt.Errorf("psql: %w", err)
	}
	return nil
}

// errWatch keeps psql's error output; on an ERROR, FATAL or psql error
// line it stops
// psql's input (psql with ON_ERROR_STOP is exiting; the engine's exec
// only returns once its input ends).
type errWatch struct {
	mu   sync.Mutex
	buf  []byte
	stop *io.PipeReader
}

func (w *errWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > 8192 {
		w.buf = w.buf[len(w.buf)-8192:]
	}
	if bytes.Contains(p, []byte("ERROR:")) || bytes.Contains(p, []byte("FATAL:")) || bytes.Contains(p, []byte("error:")) {
		w.stop.CloseWithError(errPsqlStopped)
	}
	return len(p), nil
}

func (w *errWatch) message() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(lastLines(string(w.buf), 5))
}
