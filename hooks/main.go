// Command ledger-precommit is the pre-commit hook: `docker ledger check`
// outside the docker CLI (see .pre-commit-hooks.yaml).
package main

import (
	"os"

	// the compose schema compiles while the rest starts up
	_ "github.com/ledger-docker/ledger-docker/internal/check/prepare"

	"github.com/ledger-docker/ledger-docker/internal/cli/check"
)

func main() {
	os.Exit(check.Main(os.Args[1:], check.HookEngine))
}
