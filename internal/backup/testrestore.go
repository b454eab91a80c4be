package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

// testRestore loads the SQL into a throwaway server while it is dumped:
// the server starts while pg_dump begins, and the SQL is teed to it, so a
// full verification costs little more than the dump itself. The file's
// own bytes are checked separately (re-read from disk, sql_sha256), so
// what was restored is what the file holds.
type testRestore struct {
	in      *io.PipeWriter
	mu      sync.Mutex
	dead    bool
	done    chan struct{}
	scratch *verify.Scratch
	err     error
}

var errInputEnded = errors.New("test restore ended")

func startTestRestore(ctx context.Context, eng engine.Engine, spec verify.ScratchSpec) *testRestore {
	pr, pw := io.Pipe()
	t := &testRestore{in: pw, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		s, err := verify.StartScratch(ctx, eng, spec)
		if err != nil {
			t.err = fmt.Errorf("start throwaway server: %w", err)
			pr.CloseWithError(errInputEnded)
			return
		}
		t.scratch = s
		err = s.Load(ctx, pr)
		pr.CloseWithError(errInputEnded)
		if err != nil {
			t.err = err
		}
	}()
	return t
}

// write feeds SQL; once the restore has stopped, input is dropped (the
// dump itself goes on: the restore's failure is reported by finish).
func (t *testRestore) write(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead {
		return
	}
	if _, err := t.in.Write(p); err != nil {
		t.dead = true
	}
}

func (t *testRestore) closeInput() {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.in.Close()
	t.dead = true
}

// finish waits for the load and compares counts and schema.
func (t *testRestore) finish(ctx context.Context, counts map[string]int64, fingerprint string) []verify.Check {
	t.closeInput()
	select {
	case <-t.done:
	case <-ctx.Done():
		return []verify.Check{verify.Fail(verify.CheckRestore, "interrupted")}
	}
	if t.err != nil {
		return []verify.Check{
			verify.Fail(verify.CheckRestore, t.err.Error()),
			verify.Fail(verify.CheckRowCounts, "not compared: the test restore failed"),
			verify.Fail(verify.CheckFingerprint, "not compared: the test restore failed"),
		}
	}
	return append([]verify.Check{verify.Pass(verify.CheckRestore, "psql ON_ERROR_STOP into a throwaway server of the same image")},
		t.scratch.Compare(ctx, counts, fingerprint)...)
}

// cleanup removes the throwaway server (also after a failure or an
// interruption).
func (t *testRestore) cleanup(ctx context.Context) {
	t.closeInput()
	<-t.done
	if t.scratch != nil {
		_ = t.scratch.Remove(ctx)
	}
}
