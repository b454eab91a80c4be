package verify

import (
	"os"
	"path/filepath"
	"testing"
)

// follow creates a file and a Follower on it, closed when the test ends.
func follow(t *testing.T) (*os.File, *Follower) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	fl, err := Follow(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fl.Done)
	return w, fl
}
