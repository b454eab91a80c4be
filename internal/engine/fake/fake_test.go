package fake_test

import (
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/enginetest"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
)

func TestContract(t *testing.T) {
	shared := fake.New()
	enginetest.Run(t, func(t *testing.T) engine.Engine { return shared })
}
