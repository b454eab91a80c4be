// Package intercept reads a docker or docker-compose command line and says
// what it could delete or recreate: argv and environment in, Intent out.
// It is pure (no engine, no files) and cheap, because the wrapper runs it
// before every docker command and passes most of them straight through.
package intercept

import (
	"path/filepath"
	"strings"
)

// Op is the kind of possibly destructive operation a command performs.
type Op string

// The operations that can lose volume data. OpNone passes through.
const (
	OpNone        Op = ""
	OpVolumeRm    Op = "volume rm"
	OpVolumePrune Op = "volume prune"
	OpSystemPrune Op = "system prune --volumes"
	OpContainerRm Op = "rm -v"
	OpComposeDown Op = "compose down -v"
	OpComposeRm   Op = "compose rm -v"
	OpComposeUp   Op = "compose up"
)

// Program is the binary the user meant to run.
type Program string

// Programs the wrapper stands in for.
const (
	Docker        Program = "docker"
	DockerCompose Program = "docker-compose" // Compose v1 syntax
)

// Compose holds compose's project flags (before or after the subcommand).
type Compose struct {
	ConfigPaths []string // -f/--file
	ProjectName string   // -p/--project-name
	ProjectDir  string   // --project-directory (--workdir)
	Profiles    []string // --profile
	EnvFiles    []string // --env-file, else COMPOSE_ENV_FILES
}

// Intent is what a command line asks for.
type Intent struct {
	Program Program
	// Args are the arguments after the program name, unchanged: the real
	// binary gets exactly these.
	Args []string
	Op   Op

	// GlobalArgs are docker's global flags as given (before the
	// subcommand), for docker/cli's own flag parser.
	GlobalArgs []string
	Context    string   // -c/--context
	Hosts      []string // -H/--host
	ConfigDir  string   // --config
	// APIVersion is DOCKER_API_VERSION ("" = negotiate with the engine).
	APIVersion string

	Compose Compose
	// ComposeV1 is set for the docker-compose (v1) command line.
	ComposeV1 bool

	// Names are the command's operands: volume names (volume rm),
	// containers (rm -v), services (compose rm/up/down).
	Names []string
	// All is prune's -a/--all.
	All bool
	// Filters are prune's --filter values ("label=x", "all=true").
	Filters []string
	// AssumeYes is compose up's -y/--yes.
	AssumeYes bool
}

// Destructive reports whether the command may delete or recreate volumes.
func (i Intent) Destructive() bool { return i.Op != OpNone }

// CommandLine is the command as a person would type it, for messages.
func (i Intent) CommandLine() string {
	return strings.Join(append([]string{string(i.Program)}, i.Args...), " ")
}

// Getenv is os.Getenv's shape.
type Getenv func(string) string

// Parse reads argv (argv[0] decides between docker and docker-compose) and
// the environment.
func Parse(argv []string, getenv Getenv) Intent {
	in := Intent{Program: Docker, APIVersion: getenv("DOCKER_API_VERSION")}
	if len(argv) == 0 {
		return in
	}
	in.Args = argv[1:]
	if strings.TrimSuffix(filepath.Base(argv[0]), ".exe") == string(DockerCompose) {
		in.Program = DockerCompose
		in.ComposeV1 = true
		parseComposeV1(&in, in.Args, getenv)
		return in
	}
	g := dockerGlobals.parse(in.Args, false)
	in.GlobalArgs = in.Args[:len(in.Args)-len(g.rest)]
	in.Context = g.value("context")
	in.Hosts = g.values("host")
	in.ConfigDir = g.value("config")
	if g.bool("help") || g.bool("version") || len(g.rest) == 0 {
		return in
	}
	parseDocker(&in, g.rest[0], g.rest[1:], getenv)
	return in
}

var dockerGlobals = flagSpec{
	values:      []string{"config", "context", "host", "log-level", "tlscacert", "tlscert", "tlskey"},
	shortValues: "cHl",
	short:       map[byte]string{'c': "context", 'H': "host", 'l': "log-level", 'D': "debug", 'v': "version", 'h': "help"},
}

var helpFlag = flagSpec{short: map[byte]string{'h': "help"}}

func parseDocker(in *Intent, cmd string, args []string, getenv Getenv) {
	switch cmd {
	case "volume":
		if len(args) == 0 {
			return
		}
		switch args[0] {
		case "rm", "remove":
			p := merge(helpFlag, flagSpec{short: map[byte]string{'f': "force"}}).parse(args[1:], true)
			if !p.bool("help") && len(p.args) > 0 {
				in.Op, in.Names = OpVolumeRm, p.args
			}
		case "prune":
			p := merge(helpFlag, pruneFlags).parse(args[1:], true)
			if !p.bool("help") {
				in.Op, in.All, in.Filters = OpVolumePrune, p.bool("all"), p.values("filter")
			}
		}
	case "system":
		if len(args) == 0 || args[0] != "prune" {
			return
		}
		p := merge(helpFlag, pruneFlags).parse(args[1:], true)
		if !p.bool("help") && p.bool("volumes") {
			// system prune's -a is about images: volume prune ignores it.
			in.Op, in.Filters = OpSystemPrune, p.values("filter")
		}
	case "rm":
		parseContainerRm(in, args)
	case "container":
		if len(args) > 0 && (args[0] == "rm" || args[0] == "remove") {
			parseContainerRm(in, args[1:])
		}
	case "compose":
		parseComposeV2(in, args, getenv)
	}
}

var pruneFlags = flagSpec{
	values: []string{"filter"},
	short:  map[byte]string{'a': "all", 'f': "force"},
}

func parseContainerRm(in *Intent, args []string) {
	p := merge(helpFlag, flagSpec{short: map[byte]string{'f': "force", 'l': "link", 'v': "volumes"}}).parse(args, true)
	if !p.bool("help") && p.bool("volumes") && len(p.args) > 0 {
		in.Op, in.Names = OpContainerRm, p.args
	}
}

// composeProject are compose v2's project flags: root flags, accepted
// before the subcommand only.
var composeProject = flagSpec{
	values: []string{"profile", "project-name", "file", "env-file", "project-directory", "workdir", "progress"},
	short:  map[byte]string{'p': "project-name", 'f': "file"},
	// shortValues for -p and -f
	shortValues: "pf",
	norm:        map[string]string{"workdir": "project-directory"},
}

var composeRoot = merge(composeProject, helpFlag, flagSpec{
	values: []string{"ansi", "parallel"},
	short:  map[byte]string{'v': "version"},
})

// composeSub are the subcommands that may lose volumes, with the flags
// that take values.
var composeSub = map[string]flagSpec{
	"down": {
		values:      []string{"timeout", "rmi"},
		shortValues: "t",
		short:       map[byte]string{'t': "timeout", 'v': "volumes"},
		norm:        map[string]string{"volume": "volumes"},
	},
	"rm": {short: map[byte]string{'f': "force", 's': "stop", 'v': "volumes"}},
	"up": {
		values: []string{"pull", "scale", "exit-code-from", "timeout", "attach", "no-attach",
			"wait-timeout"},
		shortValues: "t",
		short:       map[byte]string{'t': "timeout", 'd': "detach", 'V': "renew-anon-volumes", 'w': "watch", 'y': "yes"},
		norm:        map[string]string{"y": "yes"},
	},
	"create": {
		values: []string{"pull", "scale"},
		short:  map[byte]string{'y': "yes"},
		norm:   map[string]string{"y": "yes"},
	},
}

func parseComposeV2(in *Intent, args []string, getenv Getenv) {
	root := composeRoot.parse(args, false)
	if root.bool("help") || root.bool("version") || root.bool("dry-run") || len(root.rest) == 0 {
		return
	}
	sub := root.rest[0]
	spec, ok := composeSub[sub]
	if !ok {
		return
	}
	p := merge(helpFlag, spec).parse(root.rest[1:], true)
	if p.bool("help") || p.bool("dry-run") {
		return
	}
	in.Compose = composeFlags(root, getenv)
	in.Names = p.args
	switch sub {
	case "down":
		if p.bool("volumes") {
			in.Op = OpComposeDown
		}
	case "rm":
		if p.bool("volumes") {
			in.Op = OpComposeRm
		}
	case "up", "create":
		in.Op, in.AssumeYes = OpComposeUp, p.bool("yes")
	}
}

// composeFlags gathers the project flags (the last one wins for single
// values, lists add up).
func composeFlags(p parsed, getenv Getenv) Compose {
	c := Compose{
		ConfigPaths: p.values("file"),
		Profiles:    p.values("profile"),
		EnvFiles:    p.values("env-file"),
		ProjectName: p.value("project-name"),
		ProjectDir:  p.value("project-directory"),
	}
	if len(c.EnvFiles) == 0 {
		c.EnvFiles = splitList(getenv("COMPOSE_ENV_FILES"), ",")
	}
	return c
}

func splitList(s, sep string) []string {
	var out []string
	for _, f := range strings.Split(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Compose v1 (docker-compose 1.x, docopt): global options before the
// command; long options may be abbreviated.
var composeV1Root = flagSpec{
	values: []string{"file", "project-name", "profile", "project-directory", "env-file", "log-level",
		"ansi", "host", "tlscacert", "tlscert", "tlskey", "context"},
	shortValues: "fpHc",
	short:       map[byte]string{'f': "file", 'p': "project-name", 'H': "host", 'c': "context", 'v': "version", 'h': "help"},
	prefixes: []string{"file", "project-name", "profile", "project-directory", "env-file", "log-level",
		"ansi", "host", "tlscacert", "tlscert", "tlskey", "context", "verbose", "no-ansi", "tls",
		"tlsverify", "skip-hostname-check", "compatibility", "version", "help"},
}

var composeV1Sub = map[string]flagSpec{
	"down": {
		values:      []string{"rmi", "timeout"},
		shortValues: "t",
		short:       map[byte]string{'t': "timeout", 'v': "volumes"},
		prefixes:    []string{"rmi", "timeout", "volumes", "remove-orphans"},
	},
	"rm": {
		short:    map[byte]string{'f': "force", 's': "stop", 'v': "volumes", 'a': "all"},
		prefixes: []string{"force", "stop", "volumes", "all"},
	},
}

func parseComposeV1(in *Intent, args []string, getenv Getenv) {
	root := composeV1Root.parse(args, false)
	if root.bool("help") || root.bool("version") || len(root.rest) == 0 {
		return
	}
	sub := root.rest[0]
	spec, ok := composeV1Sub[sub]
	if sub == "up" || sub == "create" {
		// Compose v1 never recreates a volume on up, but the docker-compose
		// on PATH may be v2's standalone binary, which does: judge it as v2.
		spec, ok = composeSub[sub], true
	}
	if !ok {
		return
	}
	p := merge(helpFlag, spec).parse(root.rest[1:], true)
	if p.bool("help") {
		return
	}
	switch {
	case sub == "up" || sub == "create":
		in.Op, in.AssumeYes = OpComposeUp, p.bool("yes")
	case !p.bool("volumes"):
		return
	case sub == "down":
		in.Op = OpComposeDown
	default:
		in.Op = OpComposeRm
	}
	in.Compose = composeFlags(root, getenv)
	in.Compose.EnvFiles = root.values("env-file") // v1 has no COMPOSE_ENV_FILES
	in.Context = root.value("context")
	in.Hosts = root.values("host")
	in.Names = p.args
}
