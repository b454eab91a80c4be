// Package guardrun runs a docker or docker-compose command behind the
// engine API guard (internal/apiguard): it resolves the endpoint the
// command would use, starts the guard on a private socket, and runs the
// real program with its endpoint replaced by that socket. It links no
// compose loader and no command framework, so that the Go wrapper can run
// it in-process for every command that is not on the allow-list (see
// make bench); the plugin's guard verb runs it after its command-line
// decision.
package guardrun

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/docker/cli/cli/config"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/docker/go-connections/tlsconfig"
	"github.com/spf13/pflag"

	enginedocker "github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

// Command is the real command to run behind the guard: its argv after the
// program name with the endpoint flags taken out (the guard's socket
// replaces them), and how it connects.
type Command struct {
	Args []string
	// Opts are docker/cli's client options for the upstream endpoint.
	Opts *cliflags.ClientOptions
	// V1: the command is docker-compose v1's.
	V1 bool
}

// endpointFlags are docker's global flags that choose the endpoint; the
// guard takes them to the upstream side.
var endpointFlags = map[string]bool{"host": true, "context": true, "tls": true, "tlsverify": true,
	"tlscacert": true, "tlscert": true, "tlskey": true}

// dockerFlags is docker's root flag set, exactly as the docker CLI builds
// it (docker/cli's ClientOptions, plus -v/--version and -h/--help).
func dockerFlags() (*pflag.FlagSet, *cliflags.ClientOptions) {
	opts := cliflags.NewClientOptions()
	fs := pflag.NewFlagSet("docker", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(false)
	opts.InstallFlags(fs)
	fs.BoolP("version", "v", false, "")
	fs.BoolP("help", "h", false, "")
	return fs, opts
}

// Split reads the command's global flags (docker's, or docker-compose
// v1's when in is a docker-compose command line) and resolves its
// endpoint options. base are docker global flags given before it.
func Split(in intercept.Intent, base []string, getenv func(string) string) (Command, error) {
	if in.Program == intercept.DockerCompose {
		return SplitCompose(in, in.Args, getenv)
	}
	return SplitDocker(base, in.Args)
}

// SplitDocker reads docker's global flags off args with docker/cli's own
// flag set (base first: the flags given to the plugin itself), and returns
// the command for the guard: the other global flags kept, the endpoint
// ones moved to Opts.
func SplitDocker(base, args []string) (Command, error) {
	fs, opts := dockerFlags()
	all := append(append([]string(nil), base...), args...)
	if err := fs.Parse(all); err != nil {
		return Command{}, fmt.Errorf("%w: docker's global flags: %v", exitcode.ErrUsage, err)
	}
	var kept []string
	fs.Visit(func(f *pflag.Flag) {
		if endpointFlags[f.Name] {
			return
		}
		kept = append(kept, "--"+f.Name+"="+f.Value.String())
	})
	opts.SetDefaultOptions(fs)
	return Command{Args: append(kept, fs.Args()...), Opts: opts}, nil
}

// v1 top-level options (docker-compose 1.29): value flags and bool flags.
var (
	v1Value = map[string]bool{"-f": true, "--file": true, "-p": true, "--project-name": true, "--profile": true,
		"--project-directory": true, "--env-file": true, "--log-level": true, "--ansi": true,
		"-H": true, "--host": true, "-c": true, "--context": true,
		"--tlscacert": true, "--tlscert": true, "--tlskey": true}
	v1Bool = map[string]bool{"--verbose": true, "--no-ansi": true, "--compatibility": true, "-v": true,
		"--version": true, "-h": true, "--help": true, "--tls": true, "--tlsverify": true, "--skip-hostname-check": true}
	v1Endpoint = map[string]bool{"-H": true, "--host": true, "-c": true, "--context": true, "--tls": true,
		"--tlsverify": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true, "--skip-hostname-check": true}
)

// SplitCompose reads docker-compose v1's top-level options off args and
// resolves its endpoint by its own rules: -H, else --context, else
// DOCKER_HOST from the environment or the project's .env (v1 reads it),
// else the docker config's currentContext (v1 ignores DOCKER_CONTEXT).
func SplitCompose(in intercept.Intent, args []string, getenv func(string) string) (Command, error) {
	var kept []string
	var host, ctxName string
	tls := map[string]string{}
	i := 0
	for ; i < len(args); i++ {
		a, start := args[i], i
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		name, val, hasVal := strings.Cut(a, "=")
		switch {
		case v1Bool[name] && !hasVal:
		case v1Value[name] && hasVal:
		case v1Value[name] && i+1 < len(args):
			i++
			val = args[i]
		case len(name) > 2 && name[1] != '-' && v1Value[name[:2]]:
			name, val = name[:2], a[2:]
		default:
			return Command{}, fmt.Errorf("%w: docker-compose option %q is not one ledger_docker knows; nothing was run", exitcode.ErrUsage, a)
		}
		if !v1Endpoint[name] {
			kept = append(kept, args[start:i+1]...)
			continue
		}
		switch name {
		case "-H", "--host":
			host = val
		case "-c", "--context":
			ctxName = val
		default:
			tls[strings.TrimLeft(name, "-")] = val
		}
	}
	opts := cliflags.NewClientOptions()
	env := v1Environment(in, getenv)
	switch {
	case host != "":
		opts.Hosts = []string{host}
	case ctxName != "":
		opts.Context = ctxName
	case env("DOCKER_HOST") != "":
		opts.Hosts = []string{env("DOCKER_HOST")}
	default:
		opts.Context = currentContext(getenv)
	}
	if len(opts.Hosts) > 0 {
		_, flagTLS := tls["tls"]
		_, flagVerify := tls["tlsverify"]
		opts.TLSVerify = flagVerify || env("DOCKER_TLS_VERIFY") != ""
		opts.TLS = flagTLS || opts.TLSVerify
		certs := env("DOCKER_CERT_PATH")
		if certs == "" {
			certs = config.Dir()
		}
		opts.TLSOptions = nil
		if opts.TLS {
			opts.TLSOptions = tlsOptions(certs, tls, opts.TLSVerify)
		}
	}
	return Command{Args: append(kept, args[i:]...), Opts: opts, V1: true}, nil
}

// v1Environment is docker-compose v1's environment: the project's .env
// (or --env-file) under the process environment.
func v1Environment(in intercept.Intent, getenv func(string) string) func(string) string {
	dir := in.Compose.ProjectDir
	if dir == "" && len(in.Compose.ConfigPaths) > 0 {
		dir = filepath.Dir(in.Compose.ConfigPaths[0])
	}
	if dir == "" {
		dir = "."
	}
	file := filepath.Join(dir, ".env")
	if len(in.Compose.EnvFiles) > 0 {
		file = in.Compose.EnvFiles[len(in.Compose.EnvFiles)-1]
	}
	vals := map[string]string{}
	if f, err := os.Open(file); err == nil {
		vals, _ = dotenv.ParseWithLookup(f, func(string) (string, bool) { return "", false })
		_ = f.Close()
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return vals[k]
	}
}

// currentContext is the docker config's currentContext, as docker-py reads
// it (v1 does not read DOCKER_CONTEXT).
func currentContext(getenv func(string) string) string {
	cf := config.LoadDefaultConfigFile(io.Discard)
	if cf != nil && cf.CurrentContext != "" {
		return cf.CurrentContext
	}
	return enginedocker.DefaultContext
}

func tlsOptions(certs string, flags map[string]string, verify bool) *tlsconfig.Options {
	pick := func(flag, file string) string {
		if v := flags[flag]; v != "" {
			return v
		}
		return filepath.Join(certs, file)
	}
	return &tlsconfig.Options{
		CAFile:             pick("tlscacert", "ca.pem"),
		CertFile:           pick("tlscert", "cert.pem"),
		KeyFile:            pick("tlskey", "key.pem"),
		InsecureSkipVerify: !verify,
	}
}

// Connection is where the real command would have connected
// (enginedocker.Connection: the one way to reach the engine).
type Connection = enginedocker.Connection
