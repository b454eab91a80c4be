// Package check is `docker ledger check` and the `ledger-precommit` hook:
// it reports compose files and scripts that could lose a project's data by
// accident (rules: internal/check), and with --fix adds the protect label.
package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	dockercli "github.com/docker/cli/cli"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/check"
	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
)

// Options of `docker ledger check`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Engine func() (engine.Engine, error)
	Getenv func(string) string
	// Name is how the user called us, for hints ("docker ledger check",
	// "ledger-precommit").
	Name string

	// Dir is where relative paths start and discovery looks ("" = the
	// working directory).
	Dir       string
	Files     []string
	Format    string
	Fix       bool
	NoEngine  bool
	ListRules bool
}

// New is the verb's registration (internal/cli/verbs).
func New(f *cli.Factory) *cobra.Command { return NewCmd(f, nil) }

// NewCmd builds the command; runF replaces run in tests.
func NewCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	return newCmd(f, runF, "docker ledger check")
}

func newCmd(f *cli.Factory, runF func(*Options) error, name string) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Engine: f.Engine, Getenv: f.Getenv, Name: name}
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "check [--fix] [--format text|json] [FILE...]",
		Short: "Check compose files and scripts for volumes that could be lost (the pre-commit hook)",
		Long: `Check compose files and scripts for data that one command could wipe.

Without FILE arguments it checks the git repository around the current
folder: compose*.y*ml, docker-compose*.y*ml, the files of COMPOSE_FILE,
shell scripts, Makefiles and CI files. With arguments (pre-commit passes the
staged files) it checks those; a compose file is loaded with its override
file, as compose does.

Each finding prints as "file:line:col: severity: message [rule]"; --format
json prints one JSON report. --list-rules shows every rule. --fix adds the
protect label to unprotected volumes in place, keeping comments and layout,
then checks again.

When a container engine answers within a quarter of a second, volumes the
files protect are looked up on it: one that exists without the label needs
"docker ledger protect". --no-engine (or LEDGER_CHECK_ENGINE=0) skips that;
LEDGER_CHECK_ENGINE_TIMEOUT (e.g. 2s) changes the quarter of a second.

EXIT STATUS (check)
  0   no errors (warnings only, or nothing found)
  1   at least one error
  2   usage error, or a file could not be read or written
`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if jsonOut {
				opts.Format = "json"
			}
			if opts.Format != "text" && opts.Format != "json" {
				return fmt.Errorf("%w: --format must be text or json, not %q", exitcode.ErrUsage, opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Format, "format", "text", "output format: text or json")
	fl.BoolVar(&jsonOut, "json", false, "same as --format json")
	fl.BoolVar(&opts.Fix, "fix", false, "add the protect label to unprotected volumes, in place")
	fl.BoolVar(&opts.NoEngine, "no-engine", false, "do not ask the container engine")
	fl.BoolVar(&opts.ListRules, "list-rules", false, "list the rules and exit")
	return cmd
}

// ErrFindings: the check found errors (exit 1).
var ErrFindings = errors.New("check found errors")

func run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.ListRules {
		for _, r := range check.Rules {
			fmt.Fprintf(opts.IO.Out, "%-28s %-7s %s\n", r.ID, r.Severity, r.Summary)
		}
		return nil
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	// compose-go logs warnings (obsolete `version:`...) through logrus; a
	// hook prints findings only.
	logrus.SetLevel(logrus.ErrorLevel)
	req := check.Request{Files: opts.Files, Dir: opts.Dir, ProtectLabel: cfg.WriteKey(),
		ProtectKeys: cfg.ProtectKeys(), DatabaseImages: cfg.DatabaseImages, Fix: opts.Fix}
	if !opts.NoEngine && opts.Getenv("LEDGER_CHECK_ENGINE") != "0" {
		req.Engine = opts.Engine
	}
	if v := opts.Getenv("LEDGER_CHECK_ENGINE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return dockercli.StatusError{Cause: err, StatusCode: exitcode.Usage,
				Status: fmt.Sprintf("%s: LEDGER_CHECK_ENGINE_TIMEOUT=%q: %v", opts.Name, v, err)}
		}
		req.EngineTimeout = d
	}
	rep, err := check.Run(ctx, req)
	if rep == nil {
		return ioError(opts.Name, err, "")
	}
	if err := print(opts, rep); err != nil {
		return err
	}
	if err != nil {
		// every other file's findings are printed; the status says a file
		// could not be read or written
		sum := ""
		if len(rep.Findings) > 0 {
			sum = summary(opts, rep)
		}
		return ioError(opts.Name, err, sum)
	}
	if !rep.HasErrors() {
		return nil
	}
	return dockercli.StatusError{Cause: ErrFindings, StatusCode: exitcode.Failure, Status: summary(opts, rep)}
}

// ioError: unreadable or unwritable files and bad arguments exit 2, after
// the summary of what the other files showed, if any; each line starts
// with the command's name (name).
func ioError(name string, err error, summary string) error {
	status := name + ": " + strings.ReplaceAll(err.Error(), "\n", "\n"+name+": ")
	if summary != "" {
		status = summary + "\n" + status
	}
	return dockercli.StatusError{Cause: err, StatusCode: exitcode.Usage, Status: status}
}

func print(opts *Options, rep *check.Report) error {
	if rep.Findings == nil {
		rep.Findings = []check.Finding{}
	}
	if opts.Format == "json" {
		return cli.WriteJSON(opts.IO.Out, rep)
	}
	for _, f := range rep.Fixed {
		fmt.Fprintf(opts.IO.ErrOut, "%s:%d: fixed: volume %q: %s\n", f.File, f.Line, f.Volume, f.Action)
	}
	for _, f := range rep.NotFixed {
		fmt.Fprintf(opts.IO.ErrOut, "%s:%d: not fixed: volume %q: %s\n", f.File, f.Line, f.Volume, f.Action)
	}
	for _, f := range rep.Findings {
		fmt.Fprintln(opts.IO.Out, f.String())
	}
	return nil
}

func summary(opts *Options, rep *check.Report) string {
	s := fmt.Sprintf("%s: %s, %s", opts.Name, plural(rep.Errors, "error"), plural(rep.Warnings, "warning"))
	for _, f := range rep.Findings {
		if f.Rule == check.RuleUnprotected && !opts.Fix {
			s += fmt.Sprintf("\nrun %q to add the protect label to the volumes in place", opts.Name+" --fix")
			break
		}
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Main runs the ledger-precommit hook: the same command as `docker ledger
// check`, outside the docker CLI. It returns the exit status.
func Main(args []string, newEngine func() (engine.Engine, error)) int {
	// A hook is a short run that allocates ~1 MB per compose file: collect
	// only past 256 MB instead of every few MB (about a third faster),
	// unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(256 << 20)
	}
	f := cli.NewFactory(newEngine)
	cmd := newCmd(f, nil, "ledger-precommit")
	cmd.Use = strings.Replace(cmd.Use, "check", "ledger-precommit", 1)
	cmd.Version = cli.Version
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		//lint:ignore ST1005 printed as is, in docker's own usage-error form ("See '... --help'.")
		return fmt.Errorf("%w: %v\nSee 'ledger-precommit --help'.", exitcode.ErrUsage, err)
	})
	err := cmd.ExecuteContext(context.Background())
	if err == nil {
		return exitcode.OK
	}
	var se dockercli.StatusError
	if errors.As(err, &se) {
		if msg := se.Error(); msg != "" {
			fmt.Fprintln(f.IO.ErrOut, msg)
		}
		return se.StatusCode
	}
	fmt.Fprintln(f.IO.ErrOut, "ledger-precommit: "+err.Error())
	return exitcode.Of(err)
}
