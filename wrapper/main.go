// Command ledger_docker stands in for docker and docker-compose: it blocks
// commands that would lose a protected volume, backs up the others first,
// and hands everything else to the real binary unchanged.
package main

import (
	"os"

	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

func main() {
	os.Exit(wrapper.Main(os.Args, os.Environ()))
}
