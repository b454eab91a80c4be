// Package lock holds one lock per Compose project, so two backups (or a
// backup and a restore) of the same project never run at once. It is an
// flock on a file that says who holds it (PID, host, start time, what);
// the kernel drops the lock when the holder dies, so a killed run never
// leaves a stale lock behind.
package lock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ledger-docker/ledger-docker/internal/exitcode"
)

// Holder is what the lock file says about the run holding it.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	// What the holder does ("backup", "restore", ...).
	What string `json:"what"`
}

// Lock is a held project lock.
type Lock struct {
	f    *os.File
	path string
}

// Dir is where lock files live: $LEDGER_LOCK_DIR, else
// $XDG_RUNTIME_DIR/ledger-docker, else <tmp>/ledger-docker-<uid>.
func Dir(getenv func(string) string) string {
	if getenv != nil {
		if d := getenv("LEDGER_LOCK_DIR"); d != "" {
			return d
		}
		if d := getenv("XDG_RUNTIME_DIR"); d != "" {
			return filepath.Join(d, "ledger-docker")
		}
	}
	return filepath.Join(os.TempDir(), "ledger-docker-"+strconv.Itoa(os.Getuid()))
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Path is the lock file of project in dir.
func Path(dir, project string) string {
	return filepath.Join(dir, unsafe.ReplaceAllString(project, "_")+".lock")
}

// Acquire takes project's lock without waiting. When another run holds it,
// the error wraps exitcode.ErrLocked and names the holder.
func Acquire(dir, project, what string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock folder %s: %w", dir, err)
	}
	path := Path(dir, project)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("%w: %s of project %s (%s); wait for it to finish, then try again",
			exitcode.ErrLocked, describeHolder(path), project, path)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	h := Holder{PID: os.Getpid(), Host: host, Started: time.Now().UTC(), What: what}
	data, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
	}
	return &Lock{f: f, path: path}, nil
}

// describeHolder is describe, giving the holder a moment to write its
// details: it takes the lock first and writes them just after, so a run
// that comes in between finds the file still empty.
func describeHolder(path string) string {
	for i := 0; i < 20; i++ {
		if h, err := Read(path); err == nil && h.PID != 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return describe(path)
}

// describe says who holds the lock at path, as far as its file tells.
func describe(path string) string {
	h, err := Read(path)
	if err != nil || h.PID == 0 {
		return "another run holds the lock"
	}
	what := h.What
	if what == "" {
		what = "a run"
	}
	return fmt.Sprintf("%s (pid %d on %s, since %s) holds the lock", what, h.PID, h.Host, h.Started.Format(time.RFC3339))
}

// Read returns what a lock file says.
func Read(path string) (Holder, error) {
	var h Holder
	data, err := os.ReadFile(path)
	if err != nil {
		return h, err
	}
	err = json.Unmarshal(data, &h)
	return h, err
}

// Release drops the lock. The file stays (removing it would race with a
// run that just opened it).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close()
	l.f = nil
	return err
}
