// Package wrapper is ledger_docker's entry point: it stands in for `docker`
// and `docker-compose`. Every command that cannot lose a volume is handed
// to the real binary at once (syscall.Exec, same argv, environment and
// stdio, so the real exit status is the exit status); the others go to the
// guard (`docker-ledger ledger guard`), which decides, backs up or blocks.
//
// This package stays small on purpose: the wrapper runs before every docker
// command, so it links no engine client, no compose loader and reads no
// file on the pass-through path (see `make bench`).
package wrapper

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

// Exit statuses (the same numbers as internal/cli's map; this package does
// not import it, to keep the wrapper's start-up cost low).
const (
	exitUnavailable = 69  // cli.ExitUnavailable
	exitNotFound    = 127 // no real docker: the shell's "command not found"
)

// Environment variables the wrapper reads.
const (
	EnvExplain     = "LEDGER_EXPLAIN"
	EnvRealDocker  = "LEDGER_REAL_DOCKER"
	EnvRealCompose = "LEDGER_REAL_DOCKER_COMPOSE"
	EnvShimDir     = "LEDGER_SHIM_DIR"
	EnvPlugin      = "LEDGER_PLUGIN"
	// EnvSelf carries the wrapper's own path to the guard, so the guard
	// never takes (a copy of) the wrapper for the real docker. It is a
	// PATH-style list: the C front (wrapper/front) puts its own path there
	// before it hands a command line to this wrapper, which adds its own.
	EnvSelf             = "LEDGER_WRAPPER"
	PluginName          = "docker-ledger"
	GuardVerb           = "guard"
	ExplainVerb         = "explain"
	ProgramFlag         = "--as"
	pluginCommandPrefix = "ledger"
)

// Main runs the wrapper for argv (argv[0] decides between docker and
// docker-compose) with env ("KEY=value") and returns the exit status when
// it could not exec.
func Main(argv []string, env []string) int {
	getenv := Getenv(env)
	in := intercept.Parse(argv, getenv)
	explain := getenv(EnvExplain) == "1"
	if !in.Destructive() && !explain {
		return ExecReal(in.Program, in.Args, env, os.Stderr)
	}
	plugin, err := FindPlugin(getenv)
	if err != nil {
		say(os.Stderr, "ledger_docker: cannot check `"+in.CommandLine()+"`: "+err.Error()+
			"\nNothing was run. Install ledger-docker's plugin (./install.sh) or set "+EnvPlugin+".")
		return exitUnavailable
	}
	verb := GuardVerb
	if explain {
		verb = ExplainVerb
	}
	args := append([]string{PluginName, pluginCommandPrefix, verb, ProgramFlag, string(in.Program), "--"}, in.Args...)
	if self, err := os.Executable(); err == nil {
		if front := getenv(EnvSelf); front != "" {
			self = front + string(os.PathListSeparator) + self
		}
		env = append(env[:len(env):len(env)], EnvSelf+"="+self)
	}
	err = syscall.Exec(plugin, args, env)
	say(os.Stderr, "ledger_docker: run "+plugin+": "+err.Error()+"\nNothing was run.")
	return exitUnavailable
}

// say writes one line. (No fmt: the wrapper links as little as it can.)
func say(w io.Writer, line string) {
	_, _ = io.WriteString(w, line+"\n")
}

// Getenv looks keys up in env (the last assignment wins).
func Getenv(env []string) func(string) string {
	return func(key string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
				return v
			}
		}
		return ""
	}
}

// ExecReal replaces the process with the real program. It returns only
// when that fails, with the exit status to use.
func ExecReal(prog intercept.Program, args, env []string, stderr io.Writer) int {
	path, err := FindReal(prog, Getenv(env))
	if err != nil {
		say(stderr, "ledger_docker: "+err.Error())
		return exitNotFound
	}
	err = syscall.Exec(path, append([]string{string(prog)}, args...), env)
	say(stderr, "ledger_docker: run "+path+": "+err.Error())
	return exitNotFound
}

// FindReal finds the real docker (or docker-compose): the override
// variable, else the first executable on PATH that is not ledger_docker
// itself (a symlink or copy of it: this program, the files $LEDGER_WRAPPER
// lists, or a link to a ledger_docker or ledger_docker-full) and not in the
// shim folder. The C front (wrapper/front) does the same for docker.
func FindReal(prog intercept.Program, getenv func(string) string) (string, error) {
	override := EnvRealDocker
	if prog == intercept.DockerCompose {
		override = EnvRealCompose
	}
	if p := getenv(override); p != "" {
		return p, nil
	}
	var selves []os.FileInfo
	for _, p := range append(filepath.SplitList(getenv(EnvSelf)), executable()) {
		if fi, err := os.Stat(p); p != "" && err == nil {
			selves = append(selves, fi)
		}
	}
	shim := ShimDir(getenv)
	shimInfo, _ := os.Stat(shim)
	for _, dir := range filepath.SplitList(getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		if di, err := os.Stat(dir); err == nil && shimInfo != nil && os.SameFile(di, shimInfo) {
			continue
		}
		cand := filepath.Join(dir, string(prog))
		fi, err := os.Stat(cand)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		if sameAny(fi, selves) || isWrapper(cand) {
			continue
		}
		return cand, nil
	}
	return "", errors.New("no real " + string(prog) + " found on PATH (ledger_docker and its shims are skipped; set " + override + ")")
}

func executable() string {
	p, _ := os.Executable()
	return p
}

func sameAny(fi os.FileInfo, list []os.FileInfo) bool {
	for _, x := range list {
		if os.SameFile(fi, x) {
			return true
		}
	}
	return false
}

// WithoutSelf drops EnvSelf from env (the real docker gets the user's
// environment unchanged).
func WithoutSelf(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, EnvSelf+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// Wrapper file names: the C front and the Go wrapper it hands to.
const (
	FrontName = "ledger_docker"
	FullName  = "ledger_docker-full"
)

// isWrapper reports whether path resolves to a ledger_docker or
// ledger_docker-full binary (a link to another copy of the wrapper, e.g. an
// older install).
func isWrapper(path string) bool {
	real, err := filepath.EvalSymlinks(path)
	return err == nil && (filepath.Base(real) == FrontName || filepath.Base(real) == FullName)
}

// ShimDir is $LEDGER_SHIM_DIR, else ${XDG_DATA_HOME:-$HOME/.local/share}/ledger-docker/shim.
func ShimDir(getenv func(string) string) string {
	if d := getenv(EnvShimDir); d != "" {
		return d
	}
	base := getenv("XDG_DATA_HOME")
	if base == "" {
		base = filepath.Join(getenv("HOME"), ".local", "share")
	}
	return filepath.Join(base, "ledger-docker", "shim")
}

// FindPlugin finds docker-ledger: $LEDGER_PLUGIN, beside ledger_docker,
// then where the docker CLI looks for plugins.
func FindPlugin(getenv func(string) string) (string, error) {
	if p := getenv(EnvPlugin); p != "" {
		return p, nil
	}
	var dirs []string
	if self, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(self))
		if real, err := filepath.EvalSymlinks(self); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	cfg := getenv("DOCKER_CONFIG")
	if cfg == "" {
		cfg = filepath.Join(getenv("HOME"), ".docker")
	}
	dirs = append(dirs, filepath.Join(cfg, "cli-plugins"),
		"/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
		"/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
	for _, d := range dirs {
		p := filepath.Join(d, PluginName)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New(PluginName + " not found")
}
