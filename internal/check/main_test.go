package check

import (
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// The checker runs git (ls-files, check-ignore) with the process's
// environment: the tests run it without the tester's own git, docker or
// ledger-docker configuration.
func TestMain(m *testing.M) { testenv.IsolatedMain(m, "GIT_CONFIG_NOSYSTEM=1") }
