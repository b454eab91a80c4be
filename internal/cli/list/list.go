// Package list is `docker ledger list`: the project's database backups and
// their verification state.
package list

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/settings"
)

// Options are the verb's inputs.
type Options struct {
	IO     *iostreams.IOStreams
	Getenv func(string) string

	Compose   compose.Options
	BackupDir string
	JSON      bool
}

// NewCmd returns `docker ledger list`.
func NewCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "list [OPTIONS]",
		Short: "List the project's database backups and their verification state",
		Long: `List the database backups in the project's backup folder, newest first, with
their verification state from their manifests:
  verified        full verification passed (test restore included)
  verified-quick  checksums, gzip, trailer and size passed; no test restore
  failed          a check failed (named)
  unverified      no manifest (a plain "pg_dump | gzip" file)
  bad-manifest    the manifest cannot be read
Times are UTC.
` + exitcode.Help,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	cli.AddComposeFlags(fl, &opts.Compose)
	fl.StringVar(&opts.BackupDir, "backup-dir", "", "backup folder (default: the project's)")
	fl.BoolVar(&opts.JSON, "json", false, "print the list as JSON")
	return cmd
}

// New registers the verb.
func New(f *cli.Factory) *cobra.Command { return NewCmd(f, nil) }

func run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	dir := opts.BackupDir
	if dir == "" {
		s, _, err := settings.Load(ctx, opts.Compose, opts.Getenv)
		if err != nil {
			return err
		}
		dir = s.BackupDir
	}
	entries, err := backup.List(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	if opts.JSON {
		if entries == nil {
			entries = []backup.Entry{}
		}
		return cli.WriteJSON(opts.IO.Out, entries)
	}
	printTable(opts.IO.Out, dir, entries)
	return nil
}

func printTable(w io.Writer, dir string, entries []backup.Entry) {
	if len(entries) == 0 {
		fmt.Fprintf(w, "no backups in %s\n", dir)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tSTATE\tSIZE\tTABLES\tROWS\tFILE")
	for _, e := range entries {
		state := e.State
		if len(e.Failed) > 0 {
			state += " (" + strings.Join(e.Failed, ",") + ")"
		}
		tables, rows := "-", "-"
		if e.Counts != nil {
			var n int64
			for _, c := range e.Counts {
				n += c
			}
			tables, rows = fmt.Sprint(len(e.Counts)), fmt.Sprint(n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format("2006-01-02 15:04:05"), state,
			units.HumanSize(float64(e.Size)), tables, rows, e.File)
	}
	tw.Flush()
}
