// Package backup is `docker ledger backup --db-only`: a verified backup of
// the project's PostgreSQL database (see internal/backup).
package backup

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/settings"
	"github.com/ledger-docker/ledger-docker/internal/version"
)

// Options are the verb's inputs.
type Options struct {
	IO     *iostreams.IOStreams
	Engine func() (engine.Engine, error)
	Getenv func(string) string

	Compose compose.Options
	DBOnly  bool
	// Verify is "full" or "quick" ("" = settings).
	Verify string
	// Service, User, Database, BackupDir, MinSize override x-ledger and
	// LEDGER_*.
	Service, User, Database, BackupDir, MinSize string
	JSON                                        bool
}

// NewCmd returns `docker ledger backup`.
func NewCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Engine: f.Engine, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "backup --db-only [OPTIONS]",
		Short: "Take a verified backup of the project's PostgreSQL database",
		Long: `Back up the Compose project's PostgreSQL database.

pg_dump runs inside the database container (client and server versions
match) in the same snapshot as exact per-table row counts; its output is
gzipped on the host into
  <backup_dir>/<project>_db_backup_YYYYMMDD_HHMMSS.sql.gz   (time in UTC)
with a manifest <same name>.json (sha256, sizes, versions, row counts,
schema fingerprint, durations, verification). Files are 0600 in a 0700
folder, written under a temp name and renamed only once verified.

Verification (--verify=full, the default): pg_dump's exit status and
completion trailer, the minimum size, the file re-read from disk (gzip CRC,
sha256), and a test restore into a throwaway container of the same image
whose row counts and schema fingerprint must equal the source's.
--verify=quick skips the test restore.

The last line on stdout is the backup's path; --json prints the manifest.
Every run appends a line to <backup_dir>/backup.log. Settings: the compose
file's x-ledger block, LEDGER_* variables, then these flags.
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
	fl.BoolVar(&opts.DBOnly, "db-only", false, "back up the database only (required; volume snapshots are docker ledger volume)")
	fl.StringVar(&opts.Verify, "verify", "", "full (with a test restore, the default) or quick")
	cli.AddComposeFlags(fl, &opts.Compose)
	fl.StringVar(&opts.Service, "service", "", "database service (default: detected, or x-ledger)")
	fl.StringVar(&opts.User, "user", "", "database user (default: POSTGRES_USER)")
	fl.StringVar(&opts.Database, "database", "", "database (default: POSTGRES_DB)")
	fl.StringVar(&opts.BackupDir, "backup-dir", "", "backup folder (default: backups/dev in the project folder)")
	fl.StringVar(&opts.MinSize, "min-size", "", "smallest acceptable backup (default 10KB)")
	fl.BoolVar(&opts.JSON, "json", false, "print the manifest as JSON")
	return cmd
}

// New registers the verb.
func New(f *cli.Factory) *cobra.Command { return NewCmd(f, nil) }

// Settings loads the project's settings and applies the flags.
func (opts *Options) Settings(ctx context.Context) (*settings.Settings, error) {
	s, _, err := opts.load(ctx)
	return s, err
}

func (opts *Options) load(ctx context.Context) (*settings.Settings, *backup.Request, error) {
	s, project, err := settings.Load(ctx, opts.Compose, opts.Getenv)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range []struct {
		flag string
		set  *string
	}{{opts.Service, &s.Database.Service}, {opts.User, &s.Database.User}, {opts.Database, &s.Database.Name}} {
		if o.flag != "" {
			*o.set = o.flag
		}
	}
	if opts.BackupDir != "" {
		s.SetBackupDir(opts.BackupDir)
	}
	if opts.MinSize != "" {
		if err := s.SetMinSize(opts.MinSize); err != nil {
			return nil, nil, fmt.Errorf("--min-size: %w", err)
		}
	}
	if opts.Verify != "" {
		if err := s.SetVerify(opts.Verify); err != nil {
			return nil, nil, fmt.Errorf("%w: --verify: %v", exitcode.ErrUsage, err)
		}
	}
	return s, &backup.Request{Settings: s, Project: project, Getenv: opts.Getenv, Tool: "ledger-docker " + version.Version}, nil
}

func run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if !opts.DBOnly {
		return fmt.Errorf("%w: say --db-only: this command backs up the database; volumes are snapshotted by `docker ledger volume`", exitcode.ErrUsage)
	}
	// SIGINT and SIGTERM cancel the run; it removes its temp files and
	// exits 130.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	_, req, err := opts.load(ctx)
	if err != nil {
		return err
	}
	if req.Engine, err = opts.Engine(); err != nil {
		return err
	}
	req.Log = opts.IO.ErrOut
	if opts.IO.ProgressEnabled() {
		req.Progress = opts.IO.ErrOut
	}
	res, err := backup.Run(ctx, *req)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cli.WriteJSON(opts.IO.Out, res.Manifest)
	}
	printResult(opts.IO, res)
	return nil
}

func printResult(ios *iostreams.IOStreams, res *backup.Result) {
	m := res.Manifest
	var rows int64
	for _, n := range m.Counts {
		rows += n
	}
	fmt.Fprintf(ios.ErrOut, "verified (%s): %d tables, %d rows, %d bytes, sha256 %s, %.1fs\n",
		m.Verification.Mode, len(m.Counts), rows, m.Size, m.SHA256[:12], m.Durations.Total)
	for _, k := range m.KeyTables {
		n, ok := m.Counts[k]
		if !ok {
			n = m.Counts["public."+k]
		}
		fmt.Fprintf(ios.ErrOut, "  %s: %d rows\n", k, n)
	}
	fmt.Fprintln(ios.Out, res.Path)
}
