// Package protect is `docker ledger protect VOLUME`: recreate an existing
// volume with the protect label without losing a byte (internal/protect).
package protect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/lock"
	"github.com/ledger-docker/ledger-docker/internal/prompt"
	"github.com/ledger-docker/ledger-docker/internal/protect"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

// Options of `docker ledger protect`.
type Options struct {
	IO       *iostreams.IOStreams
	Engine   func() (engine.Engine, error)
	Config   func() (*config.Config, error)
	Prompter prompt.Prompter
	Getenv   func(string) string
	// Compose runs `docker compose ARGS` (nil: the real docker CLI).
	Compose    protect.Composer
	GlobalArgs []string
	// Env is the environment compose's project is loaded with.
	Env []string

	Volume       string
	ComposeFiles []string
	ProjectDir   string
	DryRun       bool
	Yes          bool
	JSON         bool
}

// New is the verb's registration (internal/cli/verbs).
func New(f *cli.Factory) *cobra.Command { return NewCmd(f, nil) }

// NewCmd builds the command; runF replaces run in tests.
func NewCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Engine: f.Engine, Config: f.Config, Prompter: f.Prompter, Getenv: f.Getenv,
		GlobalArgs: f.GlobalArgs, Env: f.Env}
	cmd := &cobra.Command{
		Use:   "protect VOLUME [--dry-run] [--yes] [-f FILE...]",
		Short: "Recreate an existing volume with the protect label, keeping every byte",
		Long: `Protect an existing volume. Engine labels cannot change after a volume is
created, so protect recreates it:

  1. snapshot the volume to a tar.gz (kept afterwards, in the snapshot folder)
     and check the snapshot lists exactly what the volume holds;
  2. stop the containers that use it (remembering which were running) and
     remove them;
  3. remove the volume and create it again with the same name and labels,
     plus the protect label and, for a compose volume, the config hash compose
     will expect once the compose file carries the label (so "compose up"
     does not offer to recreate it);
  4. copy the data back and verify every file against the snapshot (count,
     sizes, modes, owners, sha256);
  5. add the label to the compose file that declares the volume, if missing;
  6. bring the containers back with docker compose (running services are
     started again).

A failure at any step puts the old volume back from the snapshot and the
services back as they were. --dry-run shows the plan only. On a terminal you
type the volume name to confirm; otherwise --yes is required.

The compose project is found from the containers' compose labels; -f and
--project-directory name it when no container says. Only plain local
volumes (no driver options) are recreated.
` + exitcode.Help,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Volume = args[0]
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.DryRun, "dry-run", false, "show the plan, change nothing")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fl.BoolVar(&opts.JSON, "json", false, "print the plan and the result as JSON")
	fl.StringArrayVarP(&opts.ComposeFiles, "file", "f", nil, "compose file that declares the volume (repeatable)")
	fl.StringVar(&opts.ProjectDir, "project-directory", "", "compose project folder")
	return cmd
}

// report is --json's output.
type report struct {
	Plan   *protect.Plan   `json:"plan"`
	Result *protect.Result `json:"result,omitempty"`
	DryRun bool            `json:"dry_run"`
}

func run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	e, err := opts.Engine()
	if err != nil {
		return err
	}
	label := cfg.WriteKey()
	req := protect.Request{Volume: opts.Volume, Label: label, SnapshotDir: cfg.SnapshotDir,
		ComposeFiles: opts.ComposeFiles, ProjectDir: opts.ProjectDir, Env: opts.Env}
	plan, err := protect.MakePlan(ctx, e, req)
	if err != nil {
		return err
	}
	rep := report{Plan: plan, DryRun: opts.DryRun}
	out := opts.IO.Out
	if opts.JSON {
		out = io.Discard
	}
	// any protect key will do, not only the one protect writes
	if by := cfg.ProtectedBy(plan.Volume.Labels); plan.Already || by != "" {
		if by == "" {
			by = label
		}
		plan.Already = true
		fmt.Fprintf(out, "volume %s already carries %s=%s: nothing to do\n", plan.Name, by, plan.Volume.Labels[by])
		return printJSON(opts, rep)
	}
	printPlan(out, plan, label)
	if opts.DryRun {
		return printJSON(opts, rep)
	}
	if err := prompt.ConfirmTyped(opts.IO, opts.Prompter, opts.Yes, "volume", plan.Name); err != nil {
		if errors.Is(err, prompt.ErrNotInteractive) {
			return fmt.Errorf("%w: %v", exitcode.ErrUsage, err)
		}
		return fmt.Errorf("%w: %v", exitcode.ErrCancelled, err)
	}
	// one run per project: no backup or restore of it while its volume is
	// being recreated
	for _, project := range plan.LockNames() {
		l, err := lock.Acquire(lock.Dir(opts.Getenv), project, "protect "+plan.Name)
		if err != nil {
			return err
		}
		defer l.Release()
	}
	composer := opts.Compose
	if composer == nil {
		composer = realCompose(opts)
	}
	// Ctrl-C or SIGTERM must not kill the run between removing the volume
	// and putting it back: they cancel it, and the undos restore the old
	// volume and the services before we exit.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sigs:
			fmt.Fprintln(opts.IO.ErrOut, "interrupted: putting the volume and the services back as they were ...")
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := protect.Execute(ctx, e, composer, plan, req, opts.IO.ErrOut)
	rep.Result = res
	if err != nil {
		if res != nil && res.Snapshot != "" {
			err = fmt.Errorf("%w\nthe snapshot taken first is kept: %s", err, res.Snapshot)
		}
		return err
	}
	fmt.Fprintf(out, "volume %s is protected (%s=true): %d files, %d bytes verified; snapshot kept at %s\n",
		plan.Name, label, res.Files, res.Bytes, res.Snapshot)
	return printJSON(opts, rep)
}

func printJSON(opts *Options, rep report) error {
	if !opts.JSON {
		return nil
	}
	return cli.WriteJSON(opts.IO.Out, rep)
}

func printPlan(w io.Writer, p *protect.Plan, label string) {
	fmt.Fprintf(w, "Plan to protect volume %s:\n", p.Name)
	fmt.Fprintf(w, "  1. snapshot it into %s and verify the snapshot against the volume\n", p.SnapshotDir)
	n := 2
	for _, pr := range p.Projects {
		for _, c := range pr.Containers {
			state := "stopped"
			if c.Running {
				state = "running: stop it first"
			}
			fmt.Fprintf(w, "  %d. remove container %s (service %s of project %s, %s)\n", n, c.Name, c.Service, pr.Name, state)
		}
	}
	if len(p.Projects) > 0 {
		n++
	}
	fmt.Fprintf(w, "  %d. remove the volume and create it again with %s=true", n, label)
	if p.ConfigHash != "" {
		fmt.Fprintf(w, " and %s=%s\n     (computed from %s)", "com.docker.compose.config-hash", p.ConfigHash, p.HashFrom)
	}
	fmt.Fprintf(w, "\n  %d. copy the data back and verify every file against the snapshot\n", n+1)
	n += 2
	if p.FileToLabel != "" {
		fmt.Fprintf(w, "  %d. add %s: \"true\" to volume %q in %s\n", n, label, p.VolumeKey, p.FileToLabel)
		n++
	}
	if len(p.Projects) > 0 {
		fmt.Fprintf(w, "  %d. bring the containers back with docker compose (running ones are started)\n", n)
	}
	fmt.Fprintln(w, "The snapshot is kept. On any failure the old volume is put back from it.")
}

// realCompose runs the real `docker compose` (never the wrapper), with the
// docker global flags the plugin was called with.
func realCompose(opts *Options) protect.Composer {
	return func(ctx context.Context, args []string) error {
		docker, err := wrapper.FindReal(intercept.Docker, opts.Getenv)
		if err != nil {
			return err
		}
		argv := append(append(append([]string{}, opts.GlobalArgs...), "compose"), args...)
		cmd := exec.CommandContext(ctx, docker, argv...)
		cmd.Stdout, cmd.Stderr = opts.IO.ErrOut, opts.IO.ErrOut
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("docker compose %v: %w", args, err)
		}
		return nil
	}
}
