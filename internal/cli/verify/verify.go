// Package verify is `docker ledger verify FILE`: re-run a backup's checks.
package verify

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/settings"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

// Options are the verb's inputs.
type Options struct {
	IO     *iostreams.IOStreams
	Engine func() (engine.Engine, error)

	File        string
	RestoreTest bool
	// Image overrides the manifest's image for the test restore.
	Image   string
	MinSize string
	JSON    bool
}

// NewCmd returns `docker ledger verify`.
func NewCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "verify [OPTIONS] FILE.sql.gz",
		Short: "Check an existing database backup (checksums, gzip, trailer; test restore on request)",
		Long: `Re-run a backup's checks on the file as it is on disk now:
  min_size             the file is not empty and not below the minimum
  sha256               the file's sha256 equals the manifest's
  gzip_crc             every gzip member decompresses with a valid CRC
  sql_sha256           the SQL inside equals what was dumped (manifests of
                       earlier versions only; the gzip CRC covers it now)
  completion_trailer   the SQL ends with pg_dump's completion trailer
and with --restore-test, a test restore into a throwaway container of the
backup's database image (removed afterwards) whose row counts and schema
fingerprint must equal the manifest's.

A file without a manifest (a plain "pg_dump | gzip" backup) gets the gzip and
trailer checks. A failed check exits with status 3 and is named.
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
	fl.BoolVar(&opts.RestoreTest, "restore-test", false, "also restore into a throwaway container and compare counts and schema")
	fl.StringVar(&opts.Image, "image", "", "image of the throwaway server (default: the manifest's)")
	fl.StringVar(&opts.MinSize, "min-size", "", "smallest acceptable backup (default 10KB)")
	fl.BoolVar(&opts.JSON, "json", false, "print the verification report as JSON")
	return cmd
}

// New registers the verb.
func New(f *cli.Factory) *cobra.Command { return NewCmd(f, nil) }

// Report is what verify prints with --json.
type Report struct {
	File     string        `json:"file"`
	Manifest bool          `json:"manifest"`
	Report   verify.Report `json:"verification"`
}

func run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	minSize := int64(settings.DefaultMinSize)
	if opts.MinSize != "" {
		s := settings.Defaults("", "")
		if err := s.SetMinSize(opts.MinSize); err != nil {
			return fmt.Errorf("--min-size: %w", err)
		}
		minSize = s.MinSize
	}
	if fi, err := os.Stat(opts.File); err != nil {
		return fmt.Errorf("backup file %s: %w", opts.File, exitcode.ErrNotFound)
	} else if fi.IsDir() {
		return fmt.Errorf("%w: %s is a folder", exitcode.ErrUsage, opts.File)
	}
	m, err := backup.LoadManifest(opts.File)
	if err != nil {
		return fmt.Errorf("%w: %v", exitcode.ErrVerify, err)
	}
	start := time.Now()
	rep := verify.Report{Mode: verify.ModeQuick}
	exp := verify.Expect{MinSize: minSize}
	if m != nil {
		exp.SHA256, exp.Size, exp.SQLSHA256 = m.SHA256, m.Size, m.SQLSHA256
	}
	fr, err := verify.File(opts.File, exp)
	if err != nil {
		return err
	}
	rep.Add(fr.Checks...)
	if opts.RestoreTest {
		rep.Mode = verify.ModeFull
		rep.Add(restoreTest(ctx, opts, m)...)
	}
	rep.At = time.Now().UTC()
	rep.Seconds = time.Since(start).Seconds()
	if opts.JSON {
		if err := cli.WriteJSON(opts.IO.Out, Report{File: opts.File, Manifest: m != nil, Report: rep}); err != nil {
			return err
		}
	} else {
		for _, c := range rep.Checks {
			state := "ok"
			switch {
			case c.Skipped:
				state = "skipped"
			case !c.OK:
				state = "FAILED"
			}
			fmt.Fprintf(opts.IO.Out, "%-20s %-8s %s\n", c.Name, state, c.Detail)
		}
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("%s: %w", opts.File, err)
	}
	if !opts.JSON {
		fmt.Fprintf(opts.IO.Out, "%s: OK\n", opts.File)
	}
	return nil
}

// restoreTest loads the file into a throwaway server and compares.
func restoreTest(ctx context.Context, opts *Options, m *backup.Manifest) []verify.Check {
	if m == nil && opts.Image == "" {
		return []verify.Check{verify.Fail(verify.CheckRestore, "no manifest: name the database image with --image")}
	}
	eng, err := opts.Engine()
	if err != nil {
		return []verify.Check{verify.Fail(verify.CheckRestore, err.Error())}
	}
	spec := verify.ScratchSpec{Project: "ledger", User: "postgres", Database: "postgres", Image: opts.Image}
	if m != nil {
		spec.Project, spec.User, spec.Database, spec.Roles = m.Project, m.User, m.Database, m.Roles
		if spec.Image == "" {
			spec.Image = m.ImageID
			if ok, _ := eng.ImageExists(ctx, spec.Image); !ok || spec.Image == "" {
				spec.Image = m.Image
			}
		}
	}
	s, err := verify.StartScratch(ctx, eng, spec)
	if err != nil {
		return []verify.Check{verify.Fail(verify.CheckRestore, err.Error())}
	}
	defer s.Remove(ctx)
	f, err := os.Open(opts.File)
	if err != nil {
		return []verify.Check{verify.Fail(verify.CheckRestore, err.Error())}
	}
	defer f.Close()
	zr, err := verify.NewGzipReader(f)
	if err != nil {
		return []verify.Check{verify.Fail(verify.CheckRestore, err.Error())}
	}
	if err := s.Load(ctx, zr); err != nil {
		return []verify.Check{verify.Fail(verify.CheckRestore, err.Error())}
	}
	checks := []verify.Check{verify.Pass(verify.CheckRestore, "psql ON_ERROR_STOP into a throwaway server of image "+spec.Image)}
	if m == nil {
		counts, err := s.DB.Counts(ctx)
		if err != nil {
			return append(checks, verify.Fail(verify.CheckRowCounts, err.Error()))
		}
		return append(checks, verify.Skip(verify.CheckRowCounts, fmt.Sprintf("no manifest to compare with (%d tables restored)", len(counts))))
	}
	return append(checks, s.Compare(ctx, m.Counts, m.Fingerprint)...)
}
