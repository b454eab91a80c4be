// Package verbs registers every `docker ledger` subcommand. Add one line per
// verb package here.
package verbs

import (
	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/cli/backup"
	"github.com/ledger-docker/ledger-docker/internal/cli/check"
	"github.com/ledger-docker/ledger-docker/internal/cli/explain"
	"github.com/ledger-docker/ledger-docker/internal/cli/list"
	"github.com/ledger-docker/ledger-docker/internal/cli/protect"
	"github.com/ledger-docker/ledger-docker/internal/cli/restore"
	"github.com/ledger-docker/ledger-docker/internal/cli/setup"
	verifycmd "github.com/ledger-docker/ledger-docker/internal/cli/verify"
	"github.com/ledger-docker/ledger-docker/internal/cli/volume"
)

func init() {
	cli.Register(
		// verbs: one line each, e.g. backup.New,
		setup.New,
		check.New,
		protect.New,
		explain.New,
		explain.NewGuard,
		volume.New,
		restore.New,
		backup.New,
		verifycmd.New,
		list.New,
	)
}
