// Command docker-ledger is the `docker ledger` CLI plugin.
package main

import (
	"context"
	"os"

	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/cli/verbs"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/guardrun"
	"github.com/ledger-docker/ledger-docker/internal/version"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

func main() {
	// The wrapper hands its guard only to a program that answers this.
	if len(os.Args) == 2 && os.Args[1] == wrapper.HandshakeArg {
		_, _ = os.Stdout.WriteString(wrapper.PluginHandshakeAnswer)
		return
	}
	plugin.Run(func(command.Cli) *cobra.Command {
		var f *cli.Factory
		// The engine as the wrapper's guard and ledger-precommit reach it
		// (docker.Connect), from the global flags docker passed before
		// "ledger" and the environment.
		f = cli.NewFactory(func() (engine.Engine, error) {
			cmd, err := guardrun.SplitDocker(f.GlobalArgs, nil)
			if err != nil {
				return nil, err
			}
			conn, err := docker.Connect(context.Background(), cmd.Opts)
			return conn.Engine, err
		})
		return verbs.NewRootCmd(f)
	}, metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "ledger-docker",
		Version:          version.Version,
		ShortDescription: "Verified backups, safe restores and volume protection for Compose projects",
	})
}
