// Package verbs lists every `docker ledger` subcommand. Add one line per
// verb package here.
package verbs

import (
	"github.com/spf13/cobra"

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

// All are the verbs.
var All = []cli.Verb{
	setup.New,
	checkVerb,
	protect.New,
	explain.New,
	explain.NewGuard,
	volume.New,
	restore.New,
	backup.New,
	verifycmd.New,
	list.New,
}

// checkVerb registers `docker ledger check`, whose package takes the
// Factory's parts rather than the Factory (the hook binary is built from
// it without internal/cli).
func checkVerb(f *cli.Factory) *cobra.Command {
	return check.NewCmd(check.Deps{IO: f.IO, Config: f.Config, Engine: f.Engine, Getenv: f.Getenv}, nil)
}

// NewRootCmd returns `docker ledger` with every verb.
func NewRootCmd(f *cli.Factory) *cobra.Command { return cli.NewRootCmd(f, All...) }
