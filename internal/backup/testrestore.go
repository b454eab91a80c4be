package backup

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

// teeChunks bounds the SQL buffered for the test restore (chunks of at
// most 32 KB, as the exec stream delivers them: up to 64 MB), so pg_dump
// runs on while the throwaway server initialises.
const teeChunks = 2048

// testRestore loads the SQL into a throwaway server while it is dumped:
// the server starts as pg_dump begins, and the SQL is teed to it through a
// bounded buffer, so a full verification costs little more than the dump
// itself. The file's own bytes are checked separately (re-read from disk:
// the gzip CRC covers the SQL the writer was given, the same bytes the
// restore was given), so what was restored is what the file holds.
type testRestore struct {
	chunks  chan []byte
	stop    chan struct{} // closed when the restore has ended
	mu      sync.Mutex
	closed  bool
	done    chan struct{}
	scratch *verify.Scratch
	err     error
}

func startTestRestore(ctx context.Context, eng engine.Engine, spec verify.ScratchSpec) *testRestore {
	t := &testRestore{chunks: make(chan []byte, teeChunks), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		defer close(t.stop)
		s, err := verify.StartScratch(ctx, eng, spec)
		if err != nil {
			t.err = fmt.Errorf("start throwaway server: %w", err)
			return
		}
		t.scratch = s
		if err := s.Load(ctx, &chanReader{ch: t.chunks}); err != nil {
			t.err = err
		}
	}()
	return t
}

// write feeds SQL; once the restore has ended, input is dropped (the dump
// itself goes on: the restore's failure is reported by finish).
func (t *testRestore) write(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	select {
	case t.chunks <- append([]byte(nil), p...):
	case <-t.stop:
		t.closeLocked()
	}
}

func (t *testRestore) closeInput() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closeLocked()
}

func (t *testRestore) closeLocked() {
	if !t.closed {
		t.closed = true
		close(t.chunks)
	}
}

// chanReader reads the chunks until the channel is closed.
type chanReader struct {
	ch  chan []byte
	cur []byte
}

func (r *chanReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		b, ok := <-r.ch
		if !ok {
			return 0, io.EOF
		}
		r.cur = b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
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
