package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/pg"
)

// LabelScratch marks throwaway test-restore containers and volumes; its
// value is the project name.
const LabelScratch = "com.ledgerflow.verify"

// ScratchSpec describes the throwaway server of a test restore.
type ScratchSpec struct {
	Project string
	// Image is the database service's image (ID or reference).
	Image string
	// User and Database are created by the image's entrypoint, as in the
	// source (POSTGRES_USER, POSTGRES_DB).
	User, Database string
	// Roles the dump may name (owners, grants); created before loading.
	Roles []string
	// DataDir is PGDATA, where the throwaway volume is mounted.
	DataDir string
	// ReadyTimeout bounds the wait for the server (default 2 minutes).
	ReadyTimeout time.Duration
}

// ScratchArgs start the throwaway server for speed, not durability: it is
// removed after the test, so nothing it writes needs to survive a crash.
// wal_level=minimal with a single-transaction load lets COPY into the
// tables created in that transaction skip the WAL.
var ScratchArgs = []string{"postgres",
	"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
	"-c", "wal_level=minimal", "-c", "max_wal_senders=0", "-c", "max_wal_size=4GB",
	"-c", "checkpoint_timeout=1h", "-c", "autovacuum=off", "-c", "maintenance_work_mem=256MB",
}

// Scratch is a throwaway PostgreSQL server: a container of the database
// service's image on a throwaway volume, on no network.
type Scratch struct {
	eng    engine.Engine
	id     string
	volume string
	DB     pg.DB
}

// StartScratch creates and starts the throwaway server and waits until it
// accepts connections. On error nothing is left behind.
func StartScratch(ctx context.Context, eng engine.Engine, spec ScratchSpec) (s *Scratch, err error) {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := spec.Project + "_ledger_verify_" + hex.EncodeToString(rnd[:])
	labels := map[string]string{LabelScratch: spec.Project}
	dataDir := spec.DataDir
	if dataDir == "" {
		dataDir = pg.DefaultDataDir
	}
	s = &Scratch{eng: eng, volume: name}
	if _, err := eng.CreateVolume(ctx, engine.VolumeSpec{Name: name, Labels: labels}); err != nil {
		return nil, fmt.Errorf("create throwaway volume: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Remove(ctx))
		}
	}()
	password := hex.EncodeToString(rnd[:]) + "-scratch"
	s.id, err = eng.CreateContainer(ctx, engine.ContainerSpec{
		Name:  name,
		Image: spec.Image,
		Cmd:   ScratchArgs,
		Env: []string{
			"POSTGRES_USER=" + spec.User, "POSTGRES_PASSWORD=" + password, "POSTGRES_DB=" + spec.Database,
			"PGDATA=" + dataDir,
		},
		Labels:          labels,
		Mounts:          []engine.Mount{{Type: "volume", Name: name, Destination: dataDir}},
		NetworkDisabled: true,
	})
	if err != nil {
		return s, fmt.Errorf("create throwaway server from image %s: %w", spec.Image, err)
	}
	if err = eng.StartContainer(ctx, s.id); err != nil {
		return s, fmt.Errorf("start throwaway server: %w", err)
	}
	s.DB = pg.DB{Engine: eng, Container: s.id, User: spec.User, Name: spec.Database}
	if err = s.waitReady(ctx, spec.ReadyTimeout); err != nil {
		return s, err
	}
	if err = s.createRoles(ctx, spec.Roles); err != nil {
		return s, err
	}
	return s, nil
}

// waitReady polls pg_isready over TCP (127.0.0.1: on no network, localhost
// may resolve to an IPv6 loopback that does not exist): the image's entrypoint initialises
// the cluster with a socket-only server first, so TCP answers only once
// the real server runs.
func (s *Scratch) waitReady(ctx context.Context, timeout time.Duration) error {
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	for {
		err := s.eng.Exec(ctx, s.id, engine.ExecSpec{Cmd: []string{"pg_isready", "-q", "-h", "127.0.0.1", "-U", s.DB.User, "-d", s.DB.Name}})
		if err == nil {
			return nil
		}
		c, ierr := s.eng.InspectContainer(ctx, s.id)
		if ierr == nil && !c.Running {
			return fmt.Errorf("throwaway server stopped while starting (state %s)", c.State)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("throwaway server not ready after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Scratch) createRoles(ctx context.Context, roles []string) error {
	var quoted []string
	for _, r := range roles {
		if r != s.DB.User {
			quoted = append(quoted, pg.QuoteLiteral(r))
		}
	}
	if len(quoted) == 0 {
		return nil
	}
	sort.Strings(quoted)
	sql := "SELECT format('CREATE ROLE %I', r) FROM unnest(ARRAY[" + strings.Join(quoted, ",") +
		"]::text[]) r WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)\n\\gexec"
	if _, err := s.DB.Query(ctx, sql); err != nil {
		return fmt.Errorf("create roles in throwaway server: %w", err)
	}
	return nil
}

// errLoadStopped ends the SQL feed once psql has reported an error.
var errLoadStopped = errors.New("psql stopped at an error")

// Load feeds plain SQL from r to psql with ON_ERROR_STOP, in a single
// transaction. The first error stops psql and ends the feed.
func (s *Scratch) Load(ctx context.Context, r io.Reader) error {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err)
	}()
	stderr := &errorWatch{stop: func() { pr.CloseWithError(errLoadStopped) }}
	err := s.eng.Exec(ctx, s.id, engine.ExecSpec{
		Cmd:    s.DB.PsqlArgs("-q", "--single-transaction"),
		Stdin:  pr,
		Stderr: stderr,
	})
	pr.CloseWithError(errLoadStopped)
	if err != nil {
		if msg := stderr.first(); msg != "" {
			return fmt.Errorf("psql: %s", msg)
		}
		return fmt.Errorf("psql: %w", err)
	}
	return nil
}

// errorWatch keeps psql's first error line and calls stop on it.
type errorWatch struct {
	mu   sync.Mutex
	buf  strings.Builder
	once sync.Once
	stop func()
}

func (w *errorWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.buf.Len() < 4096 {
		w.buf.Write(p)
	}
	text := w.buf.String()
	w.mu.Unlock()
	if strings.Contains(text, "ERROR:") || strings.Contains(text, "FATAL:") || strings.Contains(text, "psql: error") {
		w.once.Do(w.stop)
	}
	return len(p), nil
}

func (w *errorWatch) first() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range strings.Split(w.buf.String(), "\n") {
		if strings.Contains(l, "ERROR:") || strings.Contains(l, "FATAL:") || strings.Contains(l, "error") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(w.buf.String())
}

// Compare checks the throwaway database against the source's counts and
// schema fingerprint (taken in the dump's snapshot).
func (s *Scratch) Compare(ctx context.Context, counts map[string]int64, fingerprint string) []Check {
	var out []Check
	got, err := s.DB.Counts(ctx)
	switch {
	case err != nil:
		out = append(out, Fail(CheckRowCounts, err.Error()))
	default:
		out = append(out, CompareCounts(counts, got))
	}
	fp, err := s.DB.Fingerprint(ctx)
	switch {
	case err != nil:
		out = append(out, Fail(CheckFingerprint, err.Error()))
	case fingerprint == "":
		out = append(out, Skip(CheckFingerprint, "no recorded fingerprint"))
	case fp != fingerprint:
		out = append(out, Fail(CheckFingerprint, fmt.Sprintf("restored schema has %s, the source had %s", fp[:12], fingerprint[:min(12, len(fingerprint))])))
	default:
		out = append(out, Pass(CheckFingerprint, fp))
	}
	return out
}

// CompareCounts compares per-table row counts.
func CompareCounts(want, got map[string]int64) Check {
	var diffs []string
	var total int64
	for t, n := range want {
		total += n
		if g, ok := got[t]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s missing (want %d rows)", t, n))
		} else if g != n {
			diffs = append(diffs, fmt.Sprintf("%s has %d rows, want %d", t, g, n))
		}
	}
	for t, g := range got {
		if _, ok := want[t]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected table %s (%d rows)", t, g))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return Fail(CheckRowCounts, strings.Join(diffs, "; "))
	}
	return Pass(CheckRowCounts, fmt.Sprintf("%d tables, %d rows", len(want), total))
}

// Remove deletes the throwaway container and volume, even when ctx is
// cancelled (an interrupted run still cleans up).
func (s *Scratch) Remove(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var errs []error
	// The container has the volume's name: a create cut short by an
	// interruption may have made it on the engine without its ID reaching
	// us, and it is removed by name then.
	ref := s.id
	if ref == "" {
		ref = s.volume
	}
	if err := s.eng.RemoveContainer(ctx, ref, true); err != nil && !errors.Is(err, engine.ErrNotFound) {
		errs = append(errs, fmt.Errorf("remove throwaway server: %w", err))
	}
	if err := s.eng.RemoveVolume(ctx, s.volume, true); err != nil && !errors.Is(err, engine.ErrNotFound) {
		errs = append(errs, fmt.Errorf("remove throwaway volume %s: %w", s.volume, err))
	}
	return errors.Join(errs...)
}
