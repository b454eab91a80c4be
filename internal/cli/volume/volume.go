// Package volume is `docker ledger volume snapshot|restore`: a volume to a
// tar.gz file and back (the snapshots ledger_docker takes before a
// command deletes volumes).
package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
)

// Options of both subcommands.
type Options struct {
	Factory *cli.Factory
	// Volume is the volume to snapshot, or the new volume to restore into.
	Volume string
	// File is the snapshot to restore.
	File string
	// Dir receives a snapshot (default: the configured snapshot folder).
	Dir  string
	JSON bool
	Now  func() time.Time
}

// Result is the --json report.
type Result struct {
	Volume string `json:"volume"`
	File   string `json:"file"`
	Bytes  int64  `json:"bytes"`
}

// New returns `docker ledger volume`.
func New(f *cli.Factory) *cobra.Command { return NewCmd(f, nil) }

// NewCmd builds the command group; runF replaces run in tests.
func NewCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	root := &cobra.Command{
		Use:   "volume",
		Short: "Snapshot a volume to a tar.gz file, or restore a snapshot into a new volume",
		Long: `Snapshots are gzip'd tar files of the volume's content, rooted at ./, so plain
"tar -xzf FILE -C DIR" reads them too. ledger_docker takes one of every volume
a command would delete, before running it.` + "\n" + exitcode.Help,
	}
	root.AddCommand(newSnapshotCmd(f, runF), newRestoreCmd(f, runF))
	return root
}

func newSnapshotCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "snapshot VOLUME",
		Short: "Save a volume's content to VOLUME_YYYYMMDD_HHMMSS.tar.gz",
		Long: `Saves the volume's content to DIR/VOLUME_YYYYMMDD_HHMMSS.tar.gz (UTC), written
atomically, mode 0600 in a 0700 folder. The volume is mounted read-only in a
helper container that is never started. The last line on stdout is the path.` + "\n" + exitcode.Help,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Volume = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runSnapshot(c.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "Folder for the snapshot (default: the configured snapshot_dir)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "Print the result as JSON")
	return cmd
}

func newRestoreCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT.tar.gz --to NEW_VOLUME",
		Short: "Restore a snapshot into a new volume",
		Long: `Creates NEW_VOLUME and fills it from the snapshot. It never writes into an
existing volume: restore into a new one, check it, then point the service at it.` + "\n" + exitcode.Help,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runRestore(c.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Volume, "to", "", "The new volume to create (required)")
	_ = cmd.MarkFlagRequired("to")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "Print the result as JSON")
	return cmd
}

func runSnapshot(ctx context.Context, opts *Options) error {
	e, dir, err := prepare(opts)
	if err != nil {
		return err
	}
	if _, err := e.InspectVolume(ctx, opts.Volume); err != nil {
		return err
	}
	path, err := snapshot.Take(ctx, e, opts.Volume, dir, opts.Now())
	if err != nil {
		return err
	}
	return report(opts, Result{Volume: opts.Volume, File: path}, path)
}

func runRestore(ctx context.Context, opts *Options) error {
	e, _, err := prepare(opts)
	if err != nil {
		return err
	}
	if _, err := os.Stat(opts.File); err != nil {
		return fmt.Errorf("%w: %v", exitcode.ErrNotFound, err)
	}
	if err := snapshot.Restore(ctx, e, opts.File, opts.Volume, nil); err != nil {
		return err
	}
	return report(opts, Result{Volume: opts.Volume, File: opts.File},
		fmt.Sprintf("restored %s into new volume %s", opts.File, opts.Volume))
}

func prepare(opts *Options) (engine.Engine, string, error) {
	dir := opts.Dir
	if dir == "" {
		cfg, err := opts.Factory.Config()
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", exitcode.ErrConfig, err)
		}
		dir = cfg.SnapshotDir
	}
	e, err := opts.Factory.Engine()
	if err != nil {
		return nil, "", err
	}
	return e, dir, nil
}

func report(opts *Options, r Result, line string) error {
	if fi, err := os.Stat(r.File); err == nil {
		r.Bytes = fi.Size()
	}
	if abs, err := filepath.Abs(r.File); err == nil {
		r.File = abs
	}
	out := opts.Factory.IO.Out
	if opts.JSON {
		return cli.WriteJSON(out, r)
	}
	_, err := fmt.Fprintln(out, line)
	return err
}
