// Package restore is `docker ledger restore FILE`: put a database backup
// back into the project's database, safely (see internal/restore).
package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/prompt"
	"github.com/ledger-docker/ledger-docker/internal/restore"
)

// Options are the verb's inputs.
type Options struct {
	IO       *iostreams.IOStreams
	Engine   func() (engine.Engine, error)
	Prompter prompt.Prompter
	Getenv   func(string) string

	File    string
	Compose compose.Options
	// Service, User, Database override detection and x-ledger.
	Service, User, Database string
	// BackupDir receives the safety backup (default: the settings').
	BackupDir         string
	Yes, DryRun, JSON bool

	// target resolves the project's database and the backup-side functions
	// (manifest, file check, safety backup); tests replace it.
	target func(ctx context.Context, opts *Options, eng engine.Engine) (*restore.Request, func(), error)
}

// NewCmd returns `docker ledger restore`.
func NewCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Engine: f.Engine, Prompter: f.Prompter, Getenv: f.Getenv, target: resolveTarget}
	cmd := &cobra.Command{
		Use:   "restore [OPTIONS] FILE.sql.gz",
		Short: "Restore a database backup into the project's database, safely",
		Long: `Restore a database backup (ours, or a plain "pg_dump | gzip" file) into the
project's PostgreSQL database.

It shows the plan and asks you to type the database name (on a terminal;
otherwise --yes is required). It first takes a verified safety backup of the
current database (unless it is empty or absent) and says where it is. The
file is restored into a scratch database on the same server; its row counts
and schema are checked against the backup's manifest; only then is it
swapped in by renaming, in one transaction, after ending the other sessions
on the database. A failed restore leaves the database as it was and drops
the scratch database.
` + exitcode.Help,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	cli.AddComposeFlags(fl, &opts.Compose)
	fl.StringVar(&opts.Service, "service", "", "database service (default: detected, or x-ledger)")
	fl.StringVar(&opts.User, "user", "", "database user (default: POSTGRES_USER)")
	fl.StringVar(&opts.Database, "database", "", "database to restore into (default: POSTGRES_DB)")
	fl.StringVar(&opts.BackupDir, "backup-dir", "", "folder of the safety backup (default: backups/dev in the project folder)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "show the plan only")
	fl.BoolVar(&opts.JSON, "json", false, "print the plan (with --dry-run) or the result as JSON")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	eng, err := opts.Engine()
	if err != nil {
		return err
	}
	req, release, err := opts.target(ctx, opts, eng)
	if err != nil {
		return err
	}
	defer release()
	if !opts.JSON {
		req.Log = opts.IO.ErrOut
	}
	plan, err := restore.Prepare(ctx, req)
	if err != nil {
		return err
	}
	if opts.DryRun {
		if opts.JSON {
			return cli.WriteJSON(opts.IO.Out, plan)
		}
		printPlan(opts.IO.Out, plan)
		return nil
	}
	if !opts.JSON || !opts.Yes {
		printPlan(opts.IO.ErrOut, plan)
	}
	if err := prompt.ConfirmTyped(opts.IO, opts.Prompter, opts.Yes, "database", plan.Database); err != nil {
		if errors.Is(err, prompt.ErrNotInteractive) {
			return fmt.Errorf("%w: %v; nothing was changed", exitcode.ErrUsage, err)
		}
		return fmt.Errorf("%w: %v; nothing was changed", exitcode.ErrCancelled, err)
	}
	res, err := restore.Execute(ctx, req, plan)
	if err != nil {
		if res != nil && res.SafetyBackupPath != "" {
			err = fmt.Errorf("%w\nThe safety backup taken before is %s", err, res.SafetyBackupPath)
		}
		return err
	}
	if opts.JSON {
		return cli.WriteJSON(opts.IO.Out, res)
	}
	printResult(opts.IO.Out, res)
	return nil
}

// printPlan tells what will happen, before anything does.
func printPlan(w io.Writer, p *restore.Plan) {
	fmt.Fprintf(w, "Restore plan\n")
	kind := ""
	if p.Legacy {
		kind = " (no manifest: a plain pg_dump file; row counts and schema cannot be checked)"
	}
	fmt.Fprintf(w, "  backup:    %s%s\n", p.File, kind)
	fmt.Fprintf(w, "  taken:     %s (from the %s)\n", p.BackupTime.Format(time.RFC3339), p.TimeFrom)
	if p.Source != "" {
		fmt.Fprintf(w, "  source:    %s\n", p.Source)
	}
	target := fmt.Sprintf("database %q in container %s", p.Database, p.Container)
	if p.Service != "" {
		target = fmt.Sprintf("database %q of service %s (container %s)", p.Database, p.Service, p.Container)
	}
	if p.Project != "" {
		target += ", project " + p.Project
	}
	fmt.Fprintf(w, "  target:    %s\n", target)
	switch {
	case !p.TargetExists:
		fmt.Fprintf(w, "  now:       the database does not exist; it will be created\n")
	case p.TargetRelations == 0:
		fmt.Fprintf(w, "  now:       the database is empty\n")
	default:
		fmt.Fprintf(w, "  now:       %d tables, views and sequences; ALL OF ITS CURRENT DATA WILL BE REPLACED\n", p.TargetRelations)
	}
	if len(p.Counts) > 0 {
		fmt.Fprintf(w, "  rows:      %s (from the manifest)\n", formatCounts(p.Counts))
	}
	if p.SafetyBackup {
		fmt.Fprintf(w, "  safety:    a verified backup of the current database is taken first\n")
	} else {
		fmt.Fprintf(w, "  safety:    no safety backup needed (nothing to keep)\n")
	}
	fmt.Fprintf(w, "  method:    restore into scratch database %q, check it, then swap by rename\n", p.Scratch)
	if len(p.Leftovers) > 0 {
		fmt.Fprintf(w, "  note:      databases left by earlier interrupted restores: %s (drop them when no longer needed)\n", strings.Join(p.Leftovers, ", "))
	}
}

// formatCounts lists tables and rows, the largest first, at most 8.
func formatCounts(c map[string]int64) string {
	type tc struct {
		t string
		n int64
	}
	var all []tc
	var total int64
	for t, n := range c {
		all = append(all, tc{t, n})
		total += n
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].t < all[j].t
	})
	var parts []string
	for i, x := range all {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("and %d more tables", len(all)-8))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", x.t, x.n))
	}
	return fmt.Sprintf("%d in %d tables: %s", total, len(all), strings.Join(parts, ", "))
}

// printResult says what happened and what was kept safe.
func printResult(w io.Writer, r *restore.Result) {
	var total int64
	for _, n := range r.RestoredCounts {
		total += n
	}
	fmt.Fprintf(w, "Restored %s into database %q: %d rows in %d tables.\n", r.File, r.Database, total, len(r.RestoredCounts))
	switch {
	case r.CountsChecked && r.SchemaChecked:
		fmt.Fprintf(w, "Row counts and schema match the backup's manifest.\n")
	case r.CountsChecked:
		fmt.Fprintf(w, "Row counts match the backup's manifest.\n")
	case r.Legacy:
		fmt.Fprintf(w, "The backup has no manifest: row counts and schema were not checked.\n")
	}
	if r.CreateDB {
		fmt.Fprintf(w, "The dump was made with pg_dump -C: its CREATE DATABASE and \\connect lines were left out.\n")
	}
	if len(r.Removed) > 0 {
		fmt.Fprintf(w, "Left out %d statement(s) the server cannot run here:\n", len(r.Removed))
		for _, s := range r.Removed {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	if r.Terminated > 0 {
		fmt.Fprintf(w, "Ended %d session(s) on the database; clients must reconnect.\n", r.Terminated)
	}
	if r.OldDatabase != "" {
		fmt.Fprintf(w, "The replaced database could not be dropped; it is kept as %q.\n", r.OldDatabase)
	}
	if r.SafetyBackupPath != "" {
		fmt.Fprintf(w, "The database as it was before is in the safety backup:\n%s\n", r.SafetyBackupPath)
	}
}

// New is the verb for internal/cli/verbs.
func New(f *cli.Factory) *cobra.Command { return NewCmd(f, nil) }
