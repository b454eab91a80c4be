package lock

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/exitcode"
)

func TestSecondAcquireIsLockedAndNamesTheHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "shop", "backup")
	if err != nil {
		t.Fatal(err)
	}
	h, err := Read(Path(dir, "shop"))
	if err != nil || h.PID != os.Getpid() || h.What != "backup" || h.Started.IsZero() {
		t.Fatalf("holder = %+v, %v", h, err)
	}
	_, err = Acquire(dir, "shop", "restore")
	if !errors.Is(err, exitcode.ErrLocked) || exitcode.Of(err) != exitcode.Locked {
		t.Fatalf("second acquire: %v", err)
	}
	if !strings.Contains(err.Error(), "backup (pid ") {
		t.Errorf("message does not name the holder: %v", err)
	}
	// Another project is not affected.
	other, err := Acquire(dir, "blog", "backup")
	if err != nil {
		t.Fatal(err)
	}
	other.Release()
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := Acquire(dir, "shop", "restore")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Release()
}

func TestDir(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/7"}
	if got := Dir(func(k string) string { return env[k] }); got != "/run/user/7/ledger-docker" {
		t.Errorf("Dir = %s", got)
	}
	env["LEDGER_LOCK_DIR"] = "/x"
	if got := Dir(func(k string) string { return env[k] }); got != "/x" {
		t.Errorf("Dir = %s", got)
	}
	if got := Path("/x", "my proj/1"); got != "/x/my_proj_1.lock" {
		t.Errorf("Path = %s", got)
	}
}
