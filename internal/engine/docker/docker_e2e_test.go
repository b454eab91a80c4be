package docker_test

import (
	"context"
	"os"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/engine/enginetest"
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
