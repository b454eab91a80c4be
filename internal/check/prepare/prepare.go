// Package prepare starts compiling the compose schema while the process
// is still starting up: a binary that checks compose files first thing
// (the pre-commit hook) imports it for that side effect, as early in its
// imports as it can. The compile (about as long as the rest of start-up)
// then runs beside the initialisation of the packages that come after and
// beside the hook's first steps, instead of after them.
package prepare

import "github.com/ledger-docker/ledger-docker/internal/check"

func init() { check.PrepareSchema() }
