package pg

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// Trailer is the line pg_dump writes at the end of a complete plain dump.
const Trailer = "-- PostgreSQL database dump complete"

// TailSize is how many bytes of a dump's end HasTrailer needs.
const TailSize = 1024

// HasTrailer reports whether tail, the end of a plain SQL dump, is pg_dump's
// completion trailer (followed, since PostgreSQL 17.6/16.10/15.14, by a
// psql \unrestrict line).
func HasTrailer(tail []byte) bool {
	s := strings.TrimRight(string(tail), " \t\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 && strings.HasPrefix(s[i+1:], `\unrestrict `) {
		s = strings.TrimRight(s[:i], " \t\r\n")
	}
	return strings.HasSuffix(s, Trailer+"\n--")
}

// TailWriter keeps the last TailSize bytes written and counts them all.
type TailWriter struct {
	N    int64
	tail []byte
}

func (t *TailWriter) Write(p []byte) (int, error) {
	t.N += int64(len(p))
	if len(p) >= TailSize {
		t.tail = append(t.tail[:0], p[len(p)-TailSize:]...)
		return len(p), nil
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > TailSize {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-TailSize:]...)
	}
	return len(p), nil
}

// Tail returns the last bytes written.
func (t *TailWriter) Tail() []byte { return t.tail }

// DumpResult is what one Dump saw.
type DumpResult struct {
	// Snapshot is the exported snapshot pg_dump ran in.
	Snapshot string
	// Counts are the exact row counts, taken in the same snapshot.
	Counts map[string]int64
	// Fingerprint is the schema fingerprint, read in the same snapshot.
	Fingerprint string
	// Versions are read from the dump's header (no extra exec).
	Versions Versions
	// Bytes is the size of the SQL written.
	Bytes int64
	// Complete: the SQL ends with pg_dump's completion trailer.
	Complete bool
}

// headWriter keeps the first max bytes written.
type headWriter struct {
	buf []byte
	max int
}

func (h *headWriter) Write(p []byte) (int, error) {
	if n := h.max - len(h.buf); n > 0 {
		h.buf = append(h.buf, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// HeaderVersions reads "-- Dumped from database version X" and "-- Dumped
// by pg_dump version Y" in a plain dump's header.
func HeaderVersions(head []byte) Versions {
	var v Versions
	for _, line := range strings.Split(string(head), "\n") {
		if s, ok := strings.CutPrefix(line, "-- Dumped from database version "); ok {
			v.Server = strings.TrimSpace(s)
		}
		if s, ok := strings.CutPrefix(line, "-- Dumped by pg_dump version "); ok {
			v.PgDump = strings.TrimSpace(s)
		}
	}
	return v
}

// DumpArgs is the pg_dump command line (plain SQL on stdout) in snapshot.
func (d DB) DumpArgs(snapshot string) []string {
	args := []string{"pg_dump", "--no-password", "-U", d.User, "-d", d.Name}
	if snapshot != "" {
		args = append(args, "--snapshot="+snapshot)
	}
	return args
}

// Dump writes a plain SQL dump of the database to w. A psql session opens
// a repeatable-read transaction and exports its snapshot; pg_dump runs in
// that snapshot while the session counts every table's rows and reads the
// schema fingerprint in it, so both describe exactly the data dumped. pg_dump's exit status is
// checked (an *engine.ExitError, wrapped, when it fails) and so is its
// completion trailer. pg_dump's stderr goes to stderr (nil discards).
func (d DB) Dump(ctx context.Context, w io.Writer, stderr io.Writer) (DumpResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := d.openSession(ctx)
	if err != nil {
		return DumpResult{}, err
	}
	defer s.close()

	// The counts run alongside pg_dump, which has the time they need:
	// no parallel workers taking CPU from it.
	rows, err := s.run("SET max_parallel_workers_per_gather = 0;\nBEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT pg_export_snapshot();")
	if err != nil {
		return DumpResult{}, fmt.Errorf("export snapshot: %w", err)
	}
	if len(rows) != 1 || len(rows[0]) != 1 || rows[0][0] == "" {
		return DumpResult{}, fmt.Errorf("export snapshot: unexpected psql output %q", rows)
	}
	res := DumpResult{Snapshot: rows[0][0]}

	tw := &TailWriter{}
	head := &headWriter{max: 4096}
	dumpDone := make(chan error, 1)
	go func() {
		dumpDone <- d.Engine.Exec(ctx, d.Container, engine.ExecSpec{
			Cmd:    d.DumpArgs(res.Snapshot),
			Env:    d.Env,
			Stdout: io.MultiWriter(w, tw, head),
			Stderr: stderr,
		})
	}()
	rows, countErr := s.run(CountsSQL)
	if countErr == nil {
		res.Counts, countErr = parseCounts(rows)
	}
	if countErr == nil {
		rows, countErr = s.run(SchemaSQL)
		lines := make([]string, 0, len(rows))
		for _, r := range rows {
			lines = append(lines, strings.Join(r, FieldSep))
		}
		res.Fingerprint = FingerprintOf(lines)
	}
	if countErr != nil {
		cancel()
	}
	dumpErr := <-dumpDone
	if ctx.Err() != nil {
		// The exec returned at once; its output may still be arriving,
		// so the writers are not read.
		if countErr != nil {
			return res, countErr
		}
		return res, fmt.Errorf("pg_dump of database %s: %w", d.Name, dumpErr)
	}
	res.Versions = HeaderVersions(head.buf)
	res.Bytes = tw.N
	res.Complete = HasTrailer(tw.Tail())
	switch {
	case dumpErr != nil:
		return res, fmt.Errorf("pg_dump of database %s: %w", d.Name, dumpErr)
	case countErr != nil:
		return res, countErr
	case !res.Complete:
		return res, fmt.Errorf("pg_dump of database %s: output does not end with %q", d.Name, Trailer)
	}
	// The snapshot is no longer needed once pg_dump is done.
	if _, err := s.run("COMMIT;"); err != nil {
		return res, fmt.Errorf("end snapshot transaction: %w", err)
	}
	return res, nil
}

// session is an interactive psql: statements go in one at a time and their
// output is read up to a marker line echoed after them.
type session struct {
	in     *io.PipeWriter
	outR   *io.PipeReader
	out    *bufio.Scanner
	marker string
	done   chan error
	err    error
}

func (d DB) openSession(ctx context.Context) (*session, error) {
	var m [12]byte
	if _, err := rand.Read(m[:]); err != nil {
		return nil, err
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &session{in: inW, marker: "__ledger_" + hex.EncodeToString(m[:]) + "__", done: make(chan error, 1)}
	go func() {
		err := d.Engine.Exec(ctx, d.Container, engine.ExecSpec{
			Cmd: d.queryArgs(), Env: d.Env, Stdin: inR, Stdout: outW,
			// psql with ON_ERROR_STOP exits on its first error; the
			// engine's exec ends only when stdin does, so end it.
			Stderr: &closeOnWrite{c: inW},
		})
		if err == nil {
			err = io.EOF
		} else {
			err = fmt.Errorf("psql on database %s: %w", d.Name, err)
		}
		outW.CloseWithError(err)
		inR.CloseWithError(err)
		s.done <- err
	}()
	s.outR = outR
	s.out = bufio.NewScanner(outR)
	s.out.Buffer(make([]byte, 64*1024), 16*1024*1024)
	return s, nil
}

// closeOnWrite closes c on the first write: psql wrote an error (or a
// warning: the session's own SQL causes none) and is going away.
type closeOnWrite struct {
	c    io.Closer
	once sync.Once
}

func (w *closeOnWrite) Write(p []byte) (int, error) {
	w.once.Do(func() { _ = w.c.Close() })
	return len(p), nil
}

// run sends sql and returns the rows it printed.
func (s *session) run(sql string) ([][]string, error) {
	if s.err != nil {
		return nil, s.err
	}
	if _, err := io.WriteString(s.in, sql+"\n\\echo "+s.marker+"\n"); err != nil {
		return nil, s.fail(err)
	}
	var rows [][]string
	for s.out.Scan() {
		line := s.out.Text()
		if line == s.marker {
			return rows, nil
		}
		if line != "" {
			rows = append(rows, strings.Split(line, FieldSep))
		}
	}
	err := s.out.Err()
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return nil, s.fail(err)
}

// fail records the session's error, preferring the exec's own (its exit
// status and stderr) over the pipe's.
func (s *session) fail(err error) error {
	if s.err == nil {
		s.in.Close()
		go io.Copy(io.Discard, s.outR)
		if exitErr := <-s.done; exitErr != nil && !errors.Is(exitErr, io.EOF) {
			err = exitErr
		}
		s.err = err
	}
	return s.err
}

// close ends psql (rolling back anything still open) and waits for it.
func (s *session) close() {
	if s.err != nil {
		return
	}
	_ = s.in.Close()
	go io.Copy(io.Discard, s.outR)
	s.err = <-s.done
}
