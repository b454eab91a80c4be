package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCommitPublishesCompleteFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups", "dev")
	final := filepath.Join(dir, "x.sql.gz")
	f, err := Create(final)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(final); !os.IsNotExist(err) {
		t.Fatalf("final name exists before commit: %v", err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // no-op after commit
	st, err := os.Stat(final)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != FileMode {
		t.Errorf("file mode = %v, want %v", st.Mode().Perm(), FileMode)
	}
	dst, _ := os.Stat(dir)
	if dst.Mode().Perm() != DirMode {
		t.Errorf("dir mode = %v, want %v", dst.Mode().Perm(), DirMode)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the final file", len(entries))
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "x.sql.gz")
	f, err := Create(final)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	f.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("abort left %d entries", len(entries))
	}
}

func TestCommitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "x")
	if err := WriteFile(final, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(final, []byte("second")); err == nil {
		t.Fatal("second write over an existing final file succeeded")
	}
	b, _ := os.ReadFile(final)
	if string(b) != "first" {
		t.Fatalf("content = %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left %d entries", len(entries))
	}
}

func TestReplaceAndCleanTemps(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "m.json")
	if err := Replace(final, []byte("a"), FileMode); err != nil {
		t.Fatal(err)
	}
	if err := Replace(final, []byte("b"), FileMode); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(final); string(b) != "b" {
		t.Fatalf("content %q", b)
	}
	os.WriteFile(filepath.Join(dir, TempPrefix+"old"), []byte("x"), 0o600)
	removed, err := CleanTemps(dir)
	if err != nil || len(removed) != 1 {
		t.Fatalf("CleanTemps = %v, %v", removed, err)
	}
}
