// Package check is `docker ledger check` and the `ledger-precommit` hook:
// it reports compose files and scripts that could lose a project's data by
// accident (rules: internal/check), and with --fix adds the protect label.
//
// It does not import internal/cli or docker/cli: the hook binary is built
// from it, and a hook pays its start-up on every commit (docker/cli's
// packages double the initialisation). The verb's registration, which
// hands it the Factory's parts, is in internal/cli/verbs.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/check"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/version"
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

// Deps are what the command takes from its caller (the plugin's Factory,
// or the hook's own).
type Deps struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Engine func() (engine.Engine, error)
	Getenv func(string) string
}

// NewCmd builds `docker ledger check`; runF replaces run in tests.
func NewCmd(d Deps, runF func(*Options) error) *cobra.Command {
	return newCmd(d, runF, "docker ledger check")
}

func newCmd(d Deps, runF func(*Options) error, name string) *cobra.Command {
	opts := &Options{IO: d.IO, Config: d.Config, Engine: d.Engine, Getenv: d.Getenv, Name: name}
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
			return exitcode.Status{Cause: err, Code: exitcode.Usage,
				Message: fmt.Sprintf("%s: LEDGER_CHECK_ENGINE_TIMEOUT=%q: %v", opts.Name, v, err)}
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
	if rep.Checked == 0 && opts.Format == "text" && err == nil {
		// silence would read as "all good"
		if len(opts.Files) == 0 {
			fmt.Fprintf(opts.IO.ErrOut, "%s: nothing to check: no compose file, script, Makefile or CI file here\n", opts.Name)
		} else {
			fmt.Fprintf(opts.IO.ErrOut, "%s: nothing to check: none of the files given is a compose file, a script, "+
				"a Makefile or a CI file\n", opts.Name)
		}
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
	return exitcode.Status{Cause: ErrFindings, Code: exitcode.Failure, Message: summary(opts, rep)}
}

// ioError: unreadable or unwritable files and bad arguments exit 2, after
// the summary of what the other files showed, if any; each line starts
// with the command's name (name).
func ioError(name string, err error, summary string) error {
	status := name + ": " + strings.ReplaceAll(err.Error(), "\n", "\n"+name+": ")
	if summary != "" {
		status = summary + "\n" + status
	}
	return exitcode.Status{Cause: err, Code: exitcode.Usage, Message: status}
}

func print(opts *Options, rep *check.Report) error {
	if rep.Findings == nil {
		rep.Findings = []check.Finding{}
	}
	if opts.Format == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
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
	// A hook is a short run that allocates a few MB per compose file and
	// keeps little: collect when the heap has grown four times (GOGC=300)
	// rather than twice, unless GOGC says otherwise. Not collecting at all
	// is slower: every page is then new to the process, and faulting them
	// in costs more than collecting (50 files: about 196 ms with GOGC=off,
	// 171 ms at 100, 130 ms at 300, 153 ms at 800, on a 2-core machine).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	ios := iostreams.System()
	d := Deps{IO: ios, Getenv: os.Getenv, Engine: sync.OnceValues(newEngine),
		Config: sync.OnceValues(func() (*config.Config, error) { return config.Load(os.Getenv) })}
	cmd := newCmd(d, nil, "ledger-precommit")
	cmd.Use = strings.Replace(cmd.Use, "check", "ledger-precommit", 1)
	cmd.Version = version.Version
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
	var st exitcode.Status
	if errors.As(err, &st) {
		if st.Message != "" {
			fmt.Fprintln(ios.ErrOut, st.Message)
		}
		return st.Code
	}
	fmt.Fprintln(ios.ErrOut, "ledger-precommit: "+err.Error())
	return exitcode.Of(err)
}
