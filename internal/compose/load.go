// Package compose loads Compose projects exactly as `docker compose` does,
// through compose-go with the same option chain (docker/compose's
// cmd/compose ProjectOptions.toProjectOptions), but from an explicit
// environment so callers and tests control what is seen.
package compose

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
)

// ErrNoComposeFile: no compose file was given or found. Callers that know
// the project name can still find its resources by engine labels.
var ErrNoComposeFile = errors.New("no compose file found")

// Engine labels compose sets.
const (
	ProjectLabel    = "com.docker.compose.project"
	VolumeLabel     = "com.docker.compose.volume"
	ServiceLabel    = "com.docker.compose.service"
	WorkingDirLabel = "com.docker.compose.project.working_dir"
	ConfigHashLabel = "com.docker.compose.config-hash"
	OneoffLabel     = "com.docker.compose.oneoff"
)

// Options are compose's project flags.
type Options struct {
	ConfigPaths []string // -f/--file
	ProjectName string   // -p/--project-name
	ProjectDir  string   // --project-directory
	Profiles    []string // --profile
	EnvFiles    []string // --env-file
	// Env is the process environment ("KEY=value"); nil means os.Environ().
	Env []string
	// Lenient skips validation and consistency checks and tolerates unset
	// variables (the pre-commit checker reads files it does not run).
	Lenient bool
}

// Load loads the project as compose would. It returns ErrNoComposeFile
// (wrapped) when no file was given or found.
func Load(ctx context.Context, o Options) (*types.Project, error) {
	po, err := projectOptions(o)
	if err != nil {
		return nil, err
	}
	if len(po.ConfigPaths) == 0 {
		return nil, ErrNoComposeFile
	}
	p, err := po.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("load compose project: %w", err)
	}
	return p, nil
}

// ProjectName resolves the project name the way compose does, without
// requiring a compose file (-p, COMPOSE_PROJECT_NAME, .env, or the folder).
func ProjectName(ctx context.Context, o Options) (string, error) {
	if o.ProjectName != "" {
		return loader.NormalizeProjectName(o.ProjectName), nil
	}
	p, err := Load(ctx, o)
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

func projectOptions(o Options) (*cli.ProjectOptions, error) {
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(o.ProjectDir),
		cli.WithEnv(env),
	}
	if !hasKey(env, "PWD") {
		if pwd, err := os.Getwd(); err == nil {
			opts = append(opts, cli.WithEnv([]string{"PWD=" + pwd}))
		}
	}
	opts = append(opts,
		cli.WithEnvFiles(o.EnvFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(o.EnvFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(o.Profiles...),
		cli.WithName(o.ProjectName),
	)
	if o.Lenient {
		opts = append(opts, cli.WithLoadOptions(func(lo *loader.Options) {
			lo.SkipValidation = true
			lo.SkipConsistencyCheck = true
			lo.SkipResolveEnvironment = true
			if lo.Interpolate != nil {
				lo.Interpolate.Substitute = lenientSubstitute
			}
		}))
	}
	po, err := cli.NewProjectOptions(o.ConfigPaths, opts...)
	if err != nil {
		return nil, fmt.Errorf("compose options: %w", err)
	}
	return po, nil
}

// lenientSubstitute interpolates like compose, except that a required
// variable (${VAR:?msg}, ${VAR?msg}) that is unset becomes "" instead of an
// error, and unset variables are not logged: a file checked before it is
// run is not missing anything.
func lenientSubstitute(s string, m template.Mapping) (string, error) {
	return template.SubstituteWithOptions(s, m, template.WithoutLogging,
		template.WithReplacementFunction(func(sub string, m template.Mapping, c *template.Config) (string, error) {
			v, err := template.DefaultReplacementFunc(sub, m, c)
			var missing *template.MissingRequiredError
			if errors.As(err, &missing) {
				return "", nil
			}
			return v, err
		}))
}

func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if len(kv) > len(key) && kv[:len(key)] == key && kv[len(key)] == '=' {
			return true
		}
	}
	return false
}

// VolumeHash is compose's config hash of a volume (docker/compose
// pkg/compose/hash.go VolumeHash): compose >= 2.32 offers to recreate a
// volume whose com.docker.compose.config-hash label differs from it.
func VolumeHash(v types.VolumeConfig) (string, error) {
	return volumeHash(v)
}
