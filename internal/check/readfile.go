package check

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// errNotRegular is a path that names no regular file (a folder, a FIFO, a
// device): reading it could block forever or never end.
var errNotRegular = errors.New("not a regular file")

// readFile reads at most maxFileBytes+1 bytes of a regular file: enough for
// the caller to see that the file is over the bound, never a FIFO that
// blocks or a device that never ends (/dev/zero behind a symlink).
func readFile(path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO for reading would wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		return nil, &os.PathError{Op: "read", Path: path, Err: syscall.EISDIR}
	case !st.Mode().IsRegular():
		return nil, &os.PathError{Op: "read", Path: path, Err: errNotRegular}
	}
	return io.ReadAll(io.LimitReader(f, maxFileBytes+1))
}

// notRegular reports a path that exists and is no regular file (a
// folder, a FIFO, a device), which compose-go would open itself: the
// project's .env.
func notRegular(path string) error {
	st, err := os.Stat(path)
	if err != nil || st.Mode().IsRegular() {
		return nil // missing: compose-go goes without; unreadable: it says so
	}
	return &os.PathError{Op: "read", Path: path, Err: errNotRegular}
}
