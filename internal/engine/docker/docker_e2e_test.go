package docker_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/engine/enginetest"
	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// TestContract runs the engine contract against the real Docker engine.
// It fails when no engine answers, unless LEDGER_E2E=0 is set on purpose.
func TestContract(t *testing.T) {
	if os.Getenv("LEDGER_E2E") == "0" {
		t.Skip("LEDGER_E2E=0: end-to-end tests disabled on purpose")
	}
	e, err := docker.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if _, err := e.Info(context.Background()); err != nil {
		t.Fatalf("the Docker engine does not answer (set LEDGER_E2E=0 to run unit tests only): %v", err)
	}
	enginetest.Run(t, func(t *testing.T) engine.Engine { return e })
}

// TestExecStreamsAndStatus runs processes in a real container: exit
// statuses come back as *engine.ExitError, a process that stops reading
// its stdin early does not hang Exec, and a cancelled Exec writes nothing
// after it returned.
func TestExecStreamsAndStatus(t *testing.T) {
	testenv.RequireEngine(t)
	image := testenv.PostgresImage(t)
	ctx := context.Background()
	e, err := docker.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	id, err := e.CreateContainer(ctx, engine.ContainerSpec{
		Image: image, Cmd: []string{"sleep", "600"}, NetworkDisabled: true,
		Labels: map[string]string{enginetest.Label: "true"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.RemoveContainer(context.Background(), id, false) })
	if err := e.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := e.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c", "cat; echo done"}, Stdin: strings.NewReader("in\n"), Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "in\ndone\n" {
		t.Errorf("stdout = %q", out.String())
	}

	err = e.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c", "echo oops >&2; exit 3"}})
	var ee *engine.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || ee.Stderr != "oops" {
		t.Errorf("exit 3: got %v", err)
	}

	// stdin that never ends, a process that reads one line and exits 0
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("one\n"))
	done := make(chan error, 1)
	go func() { done <- e.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"head", "-n", "1"}, Stdin: pr}) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "before reading all of its input") {
			t.Errorf("early exit with unread stdin: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Exec hangs when the process stops reading its stdin")
	}

	// a cancelled Exec returns and writes nothing afterwards
	cctx, cancel := context.WithCancel(ctx)
	w := &afterReturn{}
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	err = e.Exec(cctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c", "while :; do echo x; done"}, Stdout: w})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Exec: %v", err)
	}
	w.returned.Store(true)
	time.Sleep(200 * time.Millisecond)
	if w.late.Load() {
		t.Error("Exec wrote to Stdout after it returned")
	}
}

// afterReturn records writes that arrive after returned is set.
type afterReturn struct {
	returned, late atomic.Bool
}

func (a *afterReturn) Write(p []byte) (int, error) {
	if a.returned.Load() {
		a.late.Store(true)
	}
	return len(p), nil
}
