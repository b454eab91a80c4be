package cli

import (
	"encoding/json"
	"io"

	"github.com/spf13/pflag"

	"github.com/ledger-docker/ledger-docker/internal/compose"
)

// AddComposeFlags adds compose's project flags (-f/--file,
// -p/--project-name, --project-directory, --env-file, --profile) to a
// verb that works on a compose project.
func AddComposeFlags(fl *pflag.FlagSet, o *compose.Options) {
	fl.StringArrayVarP(&o.ConfigPaths, "file", "f", nil, "compose configuration files")
	fl.StringVarP(&o.ProjectName, "project-name", "p", "", "compose project name")
	fl.StringVar(&o.ProjectDir, "project-directory", "", "compose project folder (default: the first compose file's folder)")
	fl.StringArrayVar(&o.EnvFiles, "env-file", nil, "compose environment files")
	fl.StringArrayVar(&o.Profiles, "profile", nil, "compose profiles")
}

// WriteJSON prints v as indented JSON (every report's --json).
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
