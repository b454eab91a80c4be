package verify

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// Follower re-reads a file from disk while it is being written: the
// writer reports each write (Advance) and each gzip member's end (Mark),
// and ReadMembers reads every member once it is written whole, with the
// file's own descriptor (so what is checked is what the kernel holds, not
// the writer's buffers).
// It lets a backup verify its file while pg_dump is still running.
type Follower struct {
	f       *os.File
	mu      sync.Mutex
	cond    *sync.Cond
	written int64
	closed  bool
	err     error
	// marks are the ends of gzip members not yet taken by ReadMembers.
	marks []int64
}

// Follow opens path for reading.
func Follow(path string) (*Follower, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fl := &Follower{f: f}
	fl.cond = sync.NewCond(&fl.mu)
	return fl, nil
}

// Advance says n more bytes were written to the file.
func (fl *Follower) Advance(n int) {
	fl.mu.Lock()
	fl.written += int64(n)
	fl.mu.Unlock()
	fl.cond.Broadcast()
}

// Mark says a gzip member ends at offset end of the file (end may be
// beyond what was written so far: ReadMembers waits for it).
func (fl *Follower) Mark(end int64) {
	fl.mu.Lock()
	fl.marks = append(fl.marks, end)
	fl.mu.Unlock()
	fl.cond.Broadcast()
}

// nextMember waits until the next marked member is written whole and
// returns its end; io.EOF once the writer is done and no mark is left.
func (fl *Follower) nextMember() (int64, error) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for {
		switch {
		case fl.err != nil:
			return 0, fl.err
		case len(fl.marks) > 0 && fl.written >= fl.marks[0]:
			end := fl.marks[0]
			fl.marks = fl.marks[1:]
			return end, nil
		case fl.closed && len(fl.marks) == 0:
			return 0, io.EOF
		case fl.closed:
			return 0, fmt.Errorf("a gzip member ends at byte %d, after the %d bytes written", fl.marks[0], fl.written)
		}
		fl.cond.Wait()
	}
}

// Close says the writer is done (err nil) or gave up (err).
func (fl *Follower) Close(err error) {
	fl.mu.Lock()
	fl.closed = true
	if err != nil && fl.err == nil {
		fl.err = err
	}
	fl.mu.Unlock()
	fl.cond.Broadcast()
}

// Done closes the file.
func (fl *Follower) Done() { _ = fl.f.Close() }

// size is how many bytes the writer reported.
func (fl *Follower) size() int64 {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.written
}
