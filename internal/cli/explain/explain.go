// Package explain is `docker ledger explain -- ARGS...`: what ledger_docker
// would do with a docker command, as one JSON object, running nothing. It
// also holds the hidden `guard` verb the wrapper hands destructive commands
// to.
package explain

import (
	"context"
	"fmt"
	"strings"

	dockercli "github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	backupcmd "github.com/ledger-docker/ledger-docker/internal/cli/backup"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/wrapper/guard"
)

// Options of explain and guard.
type Options struct {
	Factory *cli.Factory
	// Program is --as (docker or docker-compose); a leading "docker" or
	// "docker-compose" in Args says the same.
	Program string
	Args    []string
	// Guard runs the command after the decision (the wrapper's path).
	Guard bool
}

// New returns `docker ledger explain`.
func New(f *cli.Factory) *cobra.Command { return NewCmd(f, nil) }

// NewCmd builds explain; runF replaces run in tests.
func NewCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	return newCmd(f, runF, false)
}

// NewGuard returns the hidden `docker ledger guard`, which ledger_docker
// execs for commands that may lose volumes.
func NewGuard(f *cli.Factory) *cobra.Command { return newCmd(f, nil, true) }

func newCmd(f *cli.Factory, runF func(*Options) error, isGuard bool) *cobra.Command {
	opts := &Options{Factory: f, Guard: isGuard}
	cmd := &cobra.Command{
		Use:   "explain [--as docker-compose] -- ARGS...",
		Short: "Show what ledger_docker would do with a docker command (runs nothing)",
		Long: `Prints one JSON object saying what ledger_docker would do with the docker
(or docker-compose) command ARGS, without running it or taking a backup:

  {"verdict":"pass|backup|block","volumes":[{"name":"...","protected":true,"action":"delete|recreate"}],"reason":"..."}

The same as LEDGER_EXPLAIN=1 ledger_docker ARGS... Docker global flags
(--context, -H, --config...) may come before "ledger" or inside ARGS.

Examples:
  docker ledger explain -- compose down -v
  docker ledger explain -- volume prune -af
  docker ledger explain --as docker-compose -- down -v
` + exitcode.Help,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Args = args
			if runF != nil {
				return runF(opts)
			}
			return run(c.Context(), opts)
		},
	}
	if isGuard {
		cmd.Use = "guard --as PROGRAM -- ARGS..."
		cmd.Short = "Decide, back up or block, then run a docker command (used by ledger_docker)"
		cmd.Hidden = true
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&opts.Program, "as", "", `Read ARGS as this program's ("docker" or "docker-compose")`)
	// explain always prints JSON; --json is accepted for symmetry with
	// every other report.
	cmd.Flags().Bool("json", true, "Print JSON (always on)")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	prog, args := guard.SplitProgram(opts.Args)
	if opts.Program != "" {
		prog = intercept.Program(strings.TrimSpace(opts.Program))
		args = opts.Args
	}
	if prog != intercept.Docker && prog != intercept.DockerCompose {
		return exitcode.ErrUsage
	}
	f := opts.Factory
	code := guard.Run(ctx, guard.Options{
		Program:        prog,
		Args:           args,
		BaseGlobalArgs: f.GlobalArgs,
		Env:            f.Env,
		Stdout:         f.IO.Out,
		Stderr:         f.IO.ErrOut,
		Explain:        !opts.Guard,
		Config:         f.Config,
		DBBackup:       backupcmd.ForGuard,
	})
	if code == exitcode.OK {
		return nil
	}
	if opts.Guard {
		// The guard speaks for the docker command it stands in for: its
		// status is the command's (77 blocked, 75 backup failed, the real
		// docker's own...), with any message already printed: a status
		// with no text, which the plugin framework exits with as is.
		return dockercli.StatusError{StatusCode: code}
	}
	return dockercli.StatusError{StatusCode: code, Status: fmt.Sprintf("docker ledger explain: exit status %d", code)}
}
