// Command ledger_docker stands in for docker and docker-compose: commands
// on the allow-list go straight to the real binary; every other one runs
// behind the engine API guard, which refuses to lose a protected volume
// and saves the others first.
package main

import (
	"os"

	"github.com/ledger-docker/ledger-docker/internal/guardrun"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

func main() {
	os.Exit(wrapper.Main(os.Args, os.Environ(), func(prog intercept.Program, args, env []string, fc *wrapper.FrontChild) int {
		if fc != nil {
			return guardrun.Adopt(args, env, os.Stderr, fc.PID, fc.FD)
		}
		return guardrun.Main(prog, args, env, os.Stderr)
	}))
}
