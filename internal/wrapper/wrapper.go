// Package wrapper is ledger_docker's entry point: it stands in for `docker`
// and `docker-compose`. A command on intercept's allow-list (commands that
// cannot delete anything, intercept.PassesThrough) is handed to the real
// binary at once (syscall.Exec, same argv, environment and stdio, so the
// real exit status is the exit status); every other one goes to the guard
// (`docker-ledger ledger guard`), which runs it behind its checks.
//
// This package stays small on purpose: the wrapper runs before every docker
// command, so it links no engine client, no compose loader and reads no
// file on the pass-through path (see `make bench`); only a
// LEDGER_REAL_DOCKER override costs one run of CheckReal.
package wrapper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

// ExitNotFound is the status when there is no real program to run: the
// shell's "command not found" (not in exitcode's map: it is not ours).
// The C front and guardrun use the same number.
const ExitNotFound = 127

// Environment variables the wrapper reads.
const (
	EnvExplain     = intercept.EnvExplain
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

// The handshake: `ledger_docker-full --ledger-docker-handshake` (exactly
// these two arguments) prints HandshakeAnswer and exits 0, so that a path
// given for the Go wrapper (LEDGER_WRAPPER_FULL) can be told from the real
// docker, and a path given for the real docker (LEDGER_REAL_DOCKER) from
// the wrapper. The C front answers FrontHandshakeAnswer.
const (
	HandshakeArg         = "--ledger-docker-handshake"
	HandshakeAnswer      = "ledger_docker-full handshake 1\n"
	FrontHandshakeAnswer = "ledger_docker handshake 1\n"
	// PluginHandshakeAnswer is docker-ledger's answer: the wrapper hands
	// its guard only to a program that gives it (LEDGER_PLUGIN, or a file
	// named docker-ledger in a plugin folder, could be anything).
	PluginHandshakeAnswer = "docker-ledger handshake 1\n"
)

// Main runs the wrapper for argv (argv[0] decides between docker and
// docker-compose) with env ("KEY=value") and returns the exit status when
// it could not exec. It answers the handshake; passes a command line that
// intercept.PassesThrough allows to the real docker; hands every other
// one to the engine API guard: in-process through guarded when the
// command line says nothing may be deleted (no early refusal, no database
// backup to take: docker run, exec, cp, volume ls...), else through the
// plugin's guard verb (or its explain verb in explain mode). guarded may
// be nil (always the plugin).
func Main(argv []string, env []string, guarded Guarded) int {
	if len(argv) == 2 && argv[1] == HandshakeArg {
		_, _ = io.WriteString(os.Stdout, HandshakeAnswer)
		return 0
	}
	getenv := Getenv(env)
	if v := getenv(EnvFrontChild); v != "" {
		// The front started the real docker already, behind the guard's
		// socket: only the guard may answer it now.
		env = without(env, EnvFrontChild)
		fc, err := parseFrontChild(v)
		if err != nil || guarded == nil {
			if err == nil {
				err = errors.New("this ledger_docker-full has no engine API guard")
			}
			say(os.Stderr, "ledger_docker: "+err.Error()+"\nNo request reached the engine.")
			return exitcode.Unavailable
		}
		in := intercept.Parse(argv, getenv)
		return guarded(in.Program, in.Args, env, fc)
	}
	if intercept.PassesThrough(argv, getenv) {
		return ExecReal(intercept.Docker, argv[1:], env, os.Stderr)
	}
	in := intercept.Parse(argv, getenv)
	if self, err := os.Executable(); err == nil {
		if front := getenv(EnvSelf); front != "" {
			self = front + string(os.PathListSeparator) + self
		}
		env = append(env[:len(env):len(env)], EnvSelf+"="+self)
	}
	if guarded != nil && !in.Destructive() && !intercept.ExplainOn(getenv) {
		return guarded(in.Program, in.Args, env, nil)
	}
	plugin, err := FindPlugin(getenv)
	if err == nil {
		if answer, herr := handshake(plugin); answer != PluginHandshakeAnswer {
			err = errors.New(plugin + " does not answer docker-ledger's handshake (it is not ledger-docker's plugin)")
			if herr != nil {
				err = herr
			}
		}
	}
	if err != nil {
		say(os.Stderr, "ledger_docker: cannot check `"+in.CommandLine()+"`: "+err.Error()+
			"\nNothing was run. Install ledger-docker's plugin (./install.sh) or set "+EnvPlugin+".")
		return exitcode.Unavailable
	}
	verb := GuardVerb
	if intercept.ExplainOn(getenv) {
		verb = ExplainVerb
	}
	args := append([]string{PluginName, pluginCommandPrefix, verb, ProgramFlag, string(in.Program), "--"}, in.Args...)
	err = syscall.Exec(plugin, args, env)
	say(os.Stderr, "ledger_docker: run "+plugin+": "+err.Error()+"\nNothing was run.")
	return exitcode.Unavailable
}

// Guarded runs a command behind the engine API guard in-process and
// returns its exit status (guardrun.Main; this package does not import
// it: guardrun uses FindReal and CheckReal from here). fc is the real
// docker the C front started already, nil when there is none.
type Guarded func(prog intercept.Program, args, env []string, fc *FrontChild) int

// EnvFrontChild is how the C front hands the Go wrapper a real docker it
// started behind the guard's socket (intercept.StartsAtFront):
// "PID:FD", the child's process ID and the listening socket's file
// descriptor. No other stage sees it.
const EnvFrontChild = "LEDGER_FRONT_CHILD"

// FrontChild is EnvFrontChild read.
type FrontChild struct{ PID, FD int }

func parseFrontChild(v string) (*FrontChild, error) {
	p, f, ok := strings.Cut(v, ":")
	pid, err1 := strconv.Atoi(p)
	fd, err2 := strconv.Atoi(f)
	if !ok || err1 != nil || err2 != nil || pid <= 1 || fd < 3 {
		return nil, errors.New(EnvFrontChild + "=" + v + " is not the C front's (PID:FD); it is set by ledger_docker's front only")
	}
	return &FrontChild{PID: pid, FD: fd}, nil
}

// without is env with no assignment of key.
func without(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
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
// when that fails, with the exit status to use. A path from the override
// variable must pass CheckReal first.
func ExecReal(prog intercept.Program, args, env []string, stderr io.Writer) int {
	getenv := Getenv(env)
	path, err := FindReal(prog, getenv)
	if err != nil {
		say(stderr, "ledger_docker: "+err.Error())
		return ExitNotFound
	}
	if override := realOverride(prog); getenv(override) != "" {
		if err := CheckReal(path); err != nil {
			say(stderr, "ledger_docker: "+override+": "+err.Error()+
				"\nNothing was run. Point "+override+" at the real "+string(prog)+" or unset it.")
			if errors.Is(err, ErrNotReal) {
				return exitcode.Unavailable
			}
			return ExitNotFound
		}
	}
	err = syscall.Exec(path, append([]string{string(prog)}, args...), env)
	say(stderr, "ledger_docker: run "+path+": "+err.Error())
	return ExitNotFound
}

// ErrNotReal: a path given as the real docker or docker-compose is
// ledger_docker itself.
var ErrNotReal = errors.New("it is ledger_docker, not the real program")

// handshakeTimeout bounds CheckReal's run of the program.
const handshakeTimeout = 2 * time.Second

// CheckReal refuses, with an error that wraps ErrNotReal, a path that is
// ledger_docker rather than the real docker or docker-compose: this
// program's own file, a file whose links resolve to a ledger_docker or
// ledger_docker-full, or a program that answers the handshake (run with
// HandshakeArg alone, no stdin, its stderr dropped, for 2 s at most).
// Running the wrapper as the real docker would loop, or run a command
// without the guard it was meant to pass. A program that gives no answer
// within the 2 s is taken for the real one (the wrapper answers before it
// does anything else); one that cannot be started is an error that does
// not wrap ErrNotReal.
func CheckReal(path string) error {
	if fi, err := os.Stat(path); err == nil {
		if self, err := os.Stat(executable()); err == nil && os.SameFile(fi, self) {
			return &notRealError{path, "it is this program's own file"}
		}
	}
	if isWrapper(path) {
		return &notRealError{path, "its links resolve to " + FrontName + " or " + FullName}
	}
	s, err := handshake(path)
	if err != nil {
		return err
	}
	if s == HandshakeAnswer || s == FrontHandshakeAnswer {
		return &notRealError{path, "it answers ledger_docker's handshake"}
	}
	return nil
}

// handshake runs path with the handshake argument alone (no shell, no
// stdin, 2 s at most) and returns what it printed.
func handshake(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, HandshakeArg)
	cmd.WaitDelay = 100 * time.Millisecond // a child that keeps stdout open
	var out bytes.Buffer
	cmd.Stdout = &limitWriter{w: &out, n: 256}
	if err := cmd.Start(); err != nil {
		return "", errors.New("cannot run " + path + ": " + err.Error())
	}
	_ = cmd.Wait() // the real program refuses the unknown flag: any status
	return out.String(), nil
}

type notRealError struct{ path, why string }

func (e *notRealError) Error() string {
	return e.path + " is ledger_docker, not the real program (" + e.why + ")"
}

func (e *notRealError) Unwrap() error { return ErrNotReal }

// limitWriter keeps the first n bytes and drops the rest.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if k := min(len(p), l.n); k > 0 {
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

func realOverride(prog intercept.Program) string {
	if prog == intercept.DockerCompose {
		return EnvRealCompose
	}
	return EnvRealDocker
}

// FindReal finds the real docker (or docker-compose): the override
// variable, else the first executable on PATH that is not ledger_docker
// itself (a symlink or copy of it: this program, the files $LEDGER_WRAPPER
// lists, or a link to a ledger_docker or ledger_docker-full) and not in the
// shim folder. The C front (wrapper/front) does the same for docker.
func FindReal(prog intercept.Program, getenv func(string) string) (string, error) {
	override := realOverride(prog)
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
func WithoutSelf(env []string) []string { return without(env, EnvSelf) }

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
