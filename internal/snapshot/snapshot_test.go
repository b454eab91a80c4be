package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
)

func TestTakeAndRestore(t *testing.T) {
	ctx := context.Background()
	e := fake.New()
	files := map[string]string{"a.txt": "alpha", "sub/b.bin": "beta\x00"}
	e.AddVolume(engine.Volume{Name: "media"}, files)
	dir := filepath.Join(t.TempDir(), "snaps")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	path, err := Take(ctx, e, "media", dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "media_20260102_030405.tar.gz" {
		t.Errorf("name %s", path)
	}
	st, _ := os.Stat(path)
	dst, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o600 || dst.Mode().Perm() != 0o700 {
		t.Errorf("modes file %v dir %v", st.Mode(), dst.Mode())
	}
	if got := entries(t, path); !reflect.DeepEqual(got, []string{"./", "./a.txt", "./sub/b.bin"}) {
		t.Errorf("entries %q", got)
	}
	// a second snapshot in the same second gets its own name
	path2, err := Take(ctx, e, "media", dir, now)
	if err != nil || path2 == path {
		t.Fatalf("second snapshot %s %v", path2, err)
	}

	if err := Restore(ctx, e, path, "media_copy", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if got := e.VolumeFiles("media_copy"); !reflect.DeepEqual(got, files) {
		t.Errorf("restored %q", got)
	}
	if err := Restore(ctx, e, path, "media", nil); !errors.Is(err, ErrVolumeExists) {
		t.Errorf("restore over an existing volume: %v", err)
	}
	// helpers are gone
	cs, _ := e.ListContainers(ctx, engine.ContainerFilter{All: true, Labels: []string{HelperLabel}})
	if len(cs) != 0 {
		t.Errorf("helper containers left: %d", len(cs))
	}
}

func TestTakeFailureLeavesNothing(t *testing.T) {
	e := fake.New()
	dir := t.TempDir()
	e.Unreachable = true
	if _, err := Take(context.Background(), e, "nosuch", dir, time.Now()); err == nil {
		t.Fatal("want an error")
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("left %v", left)
	}
}

func TestRestoreTruncated(t *testing.T) {
	ctx := context.Background()
	e := fake.New()
	e.AddVolume(engine.Volume{Name: "media"}, map[string]string{"a": strings.Repeat("x", 100000)})
	path, err := Take(ctx, e, "media", t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, data[:len(data)-10], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Restore(ctx, e, path, "copy", nil); err == nil {
		t.Fatal("a truncated snapshot must not restore")
	}
	if _, err := List(path); err == nil {
		t.Fatal("a truncated snapshot must not list")
	}
}

func entries(t *testing.T, path string) []string {
	t.Helper()
	names, err := List(path)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}
