package verify

import (
	"bytes"
	"errors"
	"io"
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

func TestFollowerReadsWhatWasWritten(t *testing.T) {
	w, fl := follow(t)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(fl)
		got <- b
	}()
	var want bytes.Buffer
	for i := 0; i < 100; i++ {
		chunk := bytes.Repeat([]byte{byte(i)}, 1000+i)
		w.Write(chunk)
		want.Write(chunk)
		fl.Advance(len(chunk))
	}
	fl.Close(nil)
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Errorf("read %d bytes, want %d", len(b), want.Len())
	}
}

func TestFollowerStopsWhenTheWriterGivesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("abc"), 0o600)
	fl, err := Follow(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Done()
	fl.Advance(3)
	boom := errors.New("dump failed")
	done := make(chan error)
	go func() {
		_, err := io.ReadAll(fl)
		done <- err
	}()
	fl.Close(boom)
	if err := <-done; !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}
