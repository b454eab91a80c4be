// Package setup is `docker ledger setup`: the docker CLI settings that make
// protected volumes survive `docker ... prune` even without the wrapper (a
// second net): "pruneFilters": ["label!=<protect label>=true"] in the docker
// CLI's config.json.
package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/atomicfile"
	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
)

// Options of `docker ledger setup`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	// ConfigDir is the docker CLI config folder ("" = $DOCKER_CONFIG or
	// ~/.docker, as the docker CLI resolves it, --config included).
	ConfigDir string

	AddPruneFilter    bool
	RemovePruneFilter bool
	JSON              bool
}

// Report is what setup did (--json).
type Report struct {
	ConfigFile   string   `json:"config_file"`
	Filter       string   `json:"filter"`
	PruneFilters []string `json:"prune_filters"`
	Installed    bool     `json:"installed"`
	Changed      bool     `json:"changed"`
	// Conflicts are other label! filters that keep ours from being added.
	Conflicts []string `json:"conflicts,omitempty"`
}

// New is the verb's registration (internal/cli/verbs).
func New(f *cli.Factory) *cobra.Command { return NewCmd(f, nil) }

// NewCmd builds the command; runF replaces run in tests.
func NewCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config}
	cmd := &cobra.Command{
		Use:   "setup [--prune-filter | --remove-prune-filter]",
		Short: "Add or remove the prune filter that keeps protected volumes in the docker CLI config",
		Long: `Set up the docker CLI's own protection: with --prune-filter, add
"pruneFilters": ["label!=com.ledgerflow.protect=true"] (for the key protect and
check --fix write: the first key the configuration adds, else
com.ledgerflow.protect) to the docker CLI's config.json, so every
"docker ... prune" leaves volumes with that label alone even without the
ledger_docker wrapper. It names one key only: docker ANDs "label!=" filters,
so a filter per key would keep only volumes that carry every key. Other settings
and other prune filters are kept; running it again changes nothing. When
another "label!=" filter is there, the filter is not added (docker ANDs
"label!=" filters, so the two would protect neither) and a warning says so.
--remove-prune-filter removes only that filter. Without a flag, it reports
whether the filter is there.

The file is $DOCKER_CONFIG/config.json, else ~/.docker/config.json (or the
folder given to docker --config). It is rewritten atomically.
` + exitcode.Help,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.AddPruneFilter && opts.RemovePruneFilter {
				return fmt.Errorf("%w: --prune-filter and --remove-prune-filter are mutually exclusive", exitcode.ErrUsage)
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.AddPruneFilter, "prune-filter", false, "Add the protect label's filter to pruneFilters")
	fl.BoolVar(&opts.RemovePruneFilter, "remove-prune-filter", false, "Remove the protect label's filter from pruneFilters")
	fl.StringVar(&opts.ConfigDir, "docker-config", "", "Docker CLI config folder (default: $DOCKER_CONFIG or ~/.docker)")
	fl.BoolVar(&opts.JSON, "json", false, "Print the result as JSON")
	return cmd
}

func run(_ context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return fmt.Errorf("%w: %v", exitcode.ErrConfig, err)
	}
	dir := opts.ConfigDir
	if dir == "" {
		dir = dockerconfig.Dir()
	}
	path := filepath.Join(dir, dockerconfig.ConfigFileName)
	// Edit the file a symlink points to, not the link.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	// One key only: label!= filters AND, so a second one would narrow the first.
	rep := Report{ConfigFile: path, Filter: ProtectFilter(cfg.WriteKey())}

	data, mode, err := readConfig(path)
	if err != nil {
		return err
	}
	current, err := PruneFilters(data)
	if err != nil {
		return fmt.Errorf("%w: %s: %v (left unchanged)", exitcode.ErrConfig, path, err)
	}
	rep.Conflicts = ConflictingFilters(current, rep.Filter)
	out := data
	if opts.AddPruneFilter && len(rep.Conflicts) > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %s already has the prune filter %s; docker combines \"label!=\" filters\n"+
			"with AND (a volume is kept only when it has all those labels), so adding %s would\n"+
			"weaken yours and not keep protected volumes. Not added: the ledger_docker wrapper still\n"+
			"protects them. To use this second net, change your filter and run again.\n",
			path, strings.Join(rep.Conflicts, ", "), rep.Filter)
	} else if opts.AddPruneFilter || opts.RemovePruneFilter {
		out, rep.Changed, err = EditPruneFilter(data, rep.Filter, opts.AddPruneFilter)
		if err != nil {
			return fmt.Errorf("%w: %s: %v (left unchanged)", exitcode.ErrConfig, path, err)
		}
	}
	if rep.Changed {
		if err := atomicfile.Replace(path, out, mode); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if rep.PruneFilters, err = PruneFilters(out); err != nil {
		return fmt.Errorf("%w: %s: %v", exitcode.ErrConfig, path, err)
	}
	for _, f := range rep.PruneFilters {
		rep.Installed = rep.Installed || f == rep.Filter
	}
	return report(opts, rep)
}

// readConfig returns config.json's content ("" when absent) and the mode to
// keep (0600 for a new file).
func readConfig(path string) ([]byte, fs.FileMode, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, nil
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	return data, fi.Mode().Perm(), nil
}

// PruneFilters lists config.json's pruneFilters.
func PruneFilters(data []byte) ([]string, error) {
	ms, err := parseObject(data)
	if err != nil {
		return nil, err
	}
	filters := []string{}
	for _, m := range ms {
		if m.key == PruneFiltersKey {
			if err := json.Unmarshal(m.val, &filters); err != nil {
				return nil, err
			}
		}
	}
	if filters == nil {
		filters = []string{}
	}
	return filters, nil
}

func report(opts *Options, rep Report) error {
	if opts.JSON {
		return cli.WriteJSON(opts.IO.Out, rep)
	}
	state := "not set"
	if rep.Installed {
		state = "set"
	}
	verb := "unchanged"
	if rep.Changed {
		verb = "updated"
	}
	_, err := fmt.Fprintf(opts.IO.Out, "%s %s: prune filter %q %s\n", rep.ConfigFile, verb, rep.Filter, state)
	return err
}
