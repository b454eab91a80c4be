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
	"github.com/compose-spec/compose-go/v2/format"
	interp "github.com/compose-spec/compose-go/v2/interpolation"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/tree"
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
	// Lenient skips validation and consistency checks (the caller
	// validates) and tolerates unset variables, whatever field they are in
	// (the pre-commit checker reads files it does not run, in whoever
	// commits' environment): see lenient.interpolation.
	Lenient bool
}

// Load loads the project as compose would. It returns ErrNoComposeFile
// (wrapped) when no file was given or found.
func Load(ctx context.Context, o Options) (*types.Project, error) {
	p, unset, err := loadOnce(ctx, o, false)
	if err != nil && unset {
		// A value compose-go parses after interpolation (a size, a
		// duration, a volume spec) may be what failed: load again with
		// those fields filled too. Only then, as matching every value
		// against their patterns costs most of a load.
		p, _, err = loadOnce(ctx, o, true)
	}
	return p, err
}

// loadOnce is one LoadProject; unset says whether a lenient load met an
// unset variable, parsed whether it fills compose-go's parsed fields.
func loadOnce(ctx context.Context, o Options, parsed bool) (p *types.Project, unset bool, err error) {
	l := &lenient{}
	po, err := projectOptions(o, l, parsed)
	if err != nil {
		return nil, false, err
	}
	if len(po.ConfigPaths) == 0 {
		return nil, false, ErrNoComposeFile
	}
	p, err = po.LoadProject(ctx)
	if err != nil {
		return nil, l.seen, fmt.Errorf("load compose project: %w", err)
	}
	return p, l.seen, nil
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

func projectOptions(o Options, l *lenient, parsed bool) (*cli.ProjectOptions, error) {
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
				lo.Interpolate = l.interpolation(*lo.Interpolate, parsed)
			}
		}))
	}
	po, err := cli.NewProjectOptions(o.ConfigPaths, opts...)
	if err != nil {
		return nil, fmt.Errorf("compose options: %w", err)
	}
	return po, nil
}

// interpolation interpolates like compose, except that an unset
// variable never makes a file fail: it is "" as in compose (a required one,
// ${VAR:?msg}, too, and none is logged), and where "" does not fit a typed
// field (cpus: ${CPUS}, mem_limit, a healthcheck interval, a port, a
// volume spec: ${DATA}:/data) the first of unsetFills that fits is used,
// for that value only. A file checked before it runs is not missing
// anything, and the check does not depend on who commits it.
//
// compose-go hands Substitute only the text, never the field it is in, and
// a cast only the substituted text. Its interpolation
// (interpolation.recursiveInterpolate) casts a value right after
// substituting it, so the substitution keeps what it did for the cast
// that follows; a cast that sees other text than that substitution's
// result only casts it. The fields compose-go parses later (parsedFields)
// get a cast only when parsed is true.
func (l *lenient) interpolation(o interp.Options, parsed bool) *interp.Options {
	o.Substitute = l.substitute
	casts := make(map[tree.Path]interp.Cast, len(o.TypeCastMapping)+len(parsedFields))
	for p, c := range o.TypeCastMapping {
		casts[p] = l.cast(c)
	}
	for p, valid := range parsedFields {
		if _, ok := casts[p]; ok || !parsed {
			continue
		}
		check := l.cast(func(v string) (any, error) { return v, valid(v) })
		casts[p] = func(v string) (any, error) {
			if out, err := check(v); err == nil {
				return out, nil
			}
			return v, nil // compose-go reports it when it parses the field, as it would
		}
	}
	o.TypeCastMapping = casts
	return &o
}

// unsetFills are the values an unset variable takes, in turn, in a field
// where "" does not fit: "1" for numbers, sizes, ports (0 is no port) and
// volume sources, "0" for durations, "false" for booleans.
var unsetFills = []string{"1", "0", "false"}

// parsedFields are the typed fields compose-go parses after interpolation
// (it has no cast for them), with the parser it uses.
var parsedFields = func() map[tree.Path]func(string) error {
	size := func(s string) error { var u types.UnitBytes; return u.DecodeMapstructure(s) }
	duration := func(s string) error { var d types.Duration; return d.DecodeMapstructure(s) }
	cpus := func(s string) error { var n types.NanoCPUs; return n.DecodeMapstructure(s) }
	port := func(s string) error { _, err := types.ParsePortConfig(s); return err }
	volume := func(s string) error { _, err := format.ParseVolume(s); return err }
	svc := func(parts ...string) tree.Path {
		return tree.NewPath(append([]string{"services", tree.PathMatchAll}, parts...)...)
	}
	fields := map[tree.Path]func(string) error{
		svc("ports", tree.PathMatchList):                    port,
		svc("volumes", tree.PathMatchList):                  volume,
		svc("volumes", tree.PathMatchList, "tmpfs", "size"): size,
		svc("build", "shm_size"):                            size,
		svc("stop_grace_period"):                            duration,
	}
	for _, f := range []string{"mem_limit", "mem_reservation", "memswap_limit", "shm_size"} {
		fields[svc(f)] = size
	}
	for _, f := range []string{"interval", "timeout", "start_period", "start_interval"} {
		fields[svc("healthcheck", f)] = duration
	}
	for _, r := range []string{"limits", "reservations"} {
		fields[svc("deploy", "resources", r, "memory")] = size
		fields[svc("deploy", "resources", r, "cpus")] = cpus
	}
	for _, c := range []string{"update_config", "rollback_config"} {
		fields[svc("deploy", c, "delay")] = duration
		fields[svc("deploy", c, "monitor")] = duration
	}
	fields[svc("deploy", "restart_policy", "delay")] = duration
	fields[svc("deploy", "restart_policy", "window")] = duration
	return fields
}()

// lenient is the last substitution, for the cast that follows it.
type lenient struct {
	raw, result string
	mapping     template.Mapping
	unset       bool // a variable of raw is unset
	seen        bool // a variable of any substitution so far was unset
}

func (l *lenient) substitute(s string, m template.Mapping) (string, error) {
	unset := false
	r, err := substituteUnset(s, func(k string) (string, bool) {
		v, ok := m(k)
		unset = unset || !ok
		return v, ok
	}, "")
	*l = lenient{raw: s, result: r, mapping: m, unset: unset && err == nil, seen: l.seen || unset}
	return r, err
}

// cast wraps a cast: when the value it fails on came from a substitution
// with unset variables, it substitutes again with each of unsetFills.
func (l *lenient) cast(c interp.Cast) interp.Cast {
	return func(v string) (any, error) {
		out, err := c(v)
		if err == nil || !l.unset || v != l.result {
			return out, err
		}
		for _, fill := range unsetFills {
			if s, serr := substituteUnset(l.raw, l.mapping, fill); serr == nil {
				if o, cerr := c(s); cerr == nil {
					return o, nil
				}
			}
		}
		return out, err
	}
}

// substituteUnset interpolates s with unset variables (required ones too)
// as fill, without logging them.
func substituteUnset(s string, m template.Mapping, fill string) (string, error) {
	if fill != "" {
		set := m
		m = func(k string) (string, bool) {
			if v, ok := set(k); ok {
				return v, true
			}
			return fill, true
		}
	}
	return template.SubstituteWithOptions(s, m, template.WithoutLogging,
		template.WithReplacementFunction(func(sub string, m template.Mapping, c *template.Config) (string, error) {
			v, err := template.DefaultReplacementFunc(sub, m, c)
			var missing *template.MissingRequiredError
			if errors.As(err, &missing) {
				return fill, nil
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
