package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The harness builds the environment of every command it runs (a project's
// commands, the real docker and compose calls, image, plugin and binary
// builds) with Environ, from scratch: nothing of the tester's own docker,
// compose or ledger-docker configuration reaches a test.
//
// Taken from the test process's environment:
//   - PATH, TMPDIR, TZ, USER, LOGNAME, LANG, LANGUAGE, LC_*, TERM;
//   - the proxy variables (http_proxy, https_proxy, no_proxy, all_proxy and
//     their upper-case forms), which only say how to reach the network;
//   - the Go build variables (goBuildVars): each one the tester set, and
//     GOCACHE, GOMODCACHE, GOPATH, GOPROXY, GOSUMDB, ... as `go env` reports
//     them when the tester did not set them, so that a build under the
//     private HOME still finds the tester's build and module caches and
//     proxy (builds stay fast and offline);
//   - DOCKER_HOST when the tester set it: it is how the tests reach the
//     engine, the one the in-process client (docker.FromEnv) talks to too;
//     with a tcp:// DOCKER_HOST also DOCKER_TLS_VERIFY and DOCKER_CERT_PATH,
//     which belong to that endpoint.
//
// Everything else is left out, among it every LEDGER_* variable,
// DOCKER_CONTEXT, DOCKER_CONFIG, DOCKER_CERT_PATH and DOCKER_TLS* (without a
// tcp DOCKER_HOST), DOCKER_API_VERSION, every COMPOSE_* variable, HOME and
// XDG_*. Set instead, to private folders:
//
//	HOME=<home>  XDG_CONFIG_HOME=<home>/config  XDG_DATA_HOME=<home>/data
//	XDG_STATE_HOME=<home>/state  XDG_CACHE_HOME=<home>/cache
//	DOCKER_CONFIG=<home>/.docker   (holds only cli-plugins/docker-compose and docker-buildx)
//
// where <home> is a Project's Home, or for commands outside a project one
// folder per test process (under TMPDIR, removed by a later test process).

// Environ is the environment of a command the harness runs outside a
// project: the kept variables of the test process (see above), the private
// HOME, XDG_* and DOCKER_CONFIG of this test process, then extra
// ("KEY=value"; a later value of a key replaces an earlier one, "KEY=" sets
// it empty). It panics when the private folder cannot be created in TMPDIR.
func Environ(extra ...string) []string {
	home, err := processHome()
	if err != nil {
		panic(fmt.Sprintf("testenv: private HOME: %v", err))
	}
	return environ(os.Environ(), home, extra)
}

// Isolate replaces the test process's own environment with Environ's
// (extra added). A package whose code under test runs programs with
// os.Environ() (the checker runs git) calls it from TestMain, so that those
// programs never read the tester's own configuration (~/.gitconfig and its
// excludes file, ~/.docker, LEDGER_*).
//
// The harness's own switches (LEDGER_E2E, LEDGER_E2E_KEEP) are kept: they
// say which tests run, not how the code under test behaves.
func Isolate(extra ...string) error {
	env := Environ(extra...)
	for _, k := range []string{EnvE2E, EnvKeep} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

// IsolatedMain is a TestMain that runs the package's tests under Isolate
// (extra added to the environment).
func IsolatedMain(m *testing.M, extra ...string) {
	if err := Isolate(extra...); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// environ is Environ over an explicit outer environment and home.
func environ(outer []string, home string, extra []string) []string {
	env := append(keptEnv(outer), goBuildEnv(outer)...)
	env = append(env, homeEnv(home)...)
	return mergeEnv(append(env, extra...))
}

// homeEnv points HOME, XDG_* and DOCKER_CONFIG into home.
func homeEnv(home string) []string {
	return []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_STATE_HOME=" + filepath.Join(home, "state"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"DOCKER_CONFIG=" + dockerConfigOf(home),
	}
}

func dockerConfigOf(home string) string { return filepath.Join(home, ".docker") }

// makeHome creates home's private folders (0700), DOCKER_CONFIG with
// cli-plugins/docker-compose linked to the Compose v2 plugin when one has
// been found.
func makeHome(home string) error {
	for _, d := range []string{"config", "data", "state", "cache", filepath.Join(".docker", "cli-plugins")} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			return err
		}
	}
	return os.Chmod(home, 0o700)
}

// linkCompose links dockerConfig/cli-plugins/docker-compose to the Compose
// v2 plugin the harness found (nothing when none was found yet), and
// docker-buildx to the Buildx plugin when there is one.
func linkCompose(dockerConfig string) error {
	if err := linkPlugin(dockerConfig, "docker-compose", foundCompose()); err != nil {
		return err
	}
	return linkPlugin(dockerConfig, "docker-buildx", findBuildx())
}

// findBuildx looks for the Buildx plugin binary in the folders the Compose
// plugin is looked for in ("" when there is none).
func findBuildx() string {
	for _, dir := range composeDirs() {
		p := filepath.Join(dir, "docker-buildx")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			if resolved, err := filepath.EvalSymlinks(p); err == nil {
				return resolved
			}
			return p
		}
	}
	return ""
}

// linkPlugin links dockerConfig/cli-plugins/name to plugin ("" : nothing).
func linkPlugin(dockerConfig, name, plugin string) error {
	if plugin == "" {
		return nil
	}
	link := filepath.Join(dockerConfig, "cli-plugins", name)
	if cur, err := os.Readlink(link); err == nil && cur == plugin {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		return err
	}
	_ = os.Remove(link)
	return os.Symlink(plugin, link)
}

// processHome is this test process's private home for commands outside a
// project: $TMPDIR/ledger-e2e-home-<uid>/<pid>; folders of ended test
// processes are removed.
func processHome() (string, error) {
	home, err := processHomeOnce()
	if err != nil {
		return "", err
	}
	return home, linkCompose(dockerConfigOf(home))
}

var processHomeOnce = sync.OnceValues(func() (string, error) {
	parent := filepath.Join(os.TempDir(), "ledger-e2e-home-"+strconv.Itoa(os.Getuid()))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	removeStale(parent)
	home := filepath.Join(parent, strconv.Itoa(os.Getpid()))
	if err := makeHome(home); err != nil {
		return "", err
	}
	return home, nil
})

// keptVars are taken from the test process's environment as they are.
var keptVars = map[string]bool{
	"PATH": true, "TMPDIR": true, "TZ": true, "USER": true, "LOGNAME": true,
	"LANG": true, "LANGUAGE": true, "TERM": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true, "all_proxy": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
}

// goBuildVars are the Go toolchain's build settings passed on to builds.
var goBuildVars = []string{
	"GOCACHE", "GOMODCACHE", "GOPATH", "GOROOT", "GOTOOLCHAIN", "GOFLAGS",
	"GOPROXY", "GONOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GOINSECURE",
	"GOTMPDIR", "GOAMD64", "GOARM64", "CGO_ENABLED",
}

// keptEnv is the part of outer that Environ keeps (see the list above).
func keptEnv(outer []string) []string {
	var env []string
	tcpHost := false
	for _, kv := range outer {
		k, v, _ := strings.Cut(kv, "=")
		if k == "DOCKER_HOST" && strings.HasPrefix(v, "tcp://") {
			tcpHost = true
		}
	}
	for _, kv := range outer {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch {
		case keptVars[k], strings.HasPrefix(k, "LC_"):
		case k == "DOCKER_HOST" && v != "":
		case tcpHost && (k == "DOCKER_TLS_VERIFY" || k == "DOCKER_CERT_PATH"):
		case isGoBuildVar(k):
		default:
			continue
		}
		env = append(env, kv)
	}
	return env
}

func isGoBuildVar(k string) bool {
	for _, g := range goBuildVars {
		if k == g {
			return true
		}
	}
	return false
}

// goBuildEnv is the effective value, from `go env`, of each Go build
// variable that outer does not set (empty values left out): the private
// HOME would otherwise give builds an empty cache and no module cache.
func goBuildEnv(outer []string) []string {
	set := map[string]bool{}
	for _, kv := range outer {
		if k, _, ok := strings.Cut(kv, "="); ok {
			set[k] = true
		}
	}
	vals := goEnvOnce()
	var env []string
	for _, k := range goBuildVars {
		if v := vals[k]; v != "" && !set[k] && k != "CGO_ENABLED" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// goEnvOnce is `go env -json` of the build variables, read once with the
// test process's environment (the Go toolchain's own settings, not docker's
// or ours); empty when there is no go command.
var goEnvOnce = sync.OnceValue(func() map[string]string {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil
	}
	cmd := exec.Command(goBin, append([]string{"env", "-json"}, goBuildVars...)...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	vals := map[string]string{}
	if json.Unmarshal(out, &vals) != nil {
		return nil
	}
	return vals
})

// mergeEnv drops earlier values of a key set again later, keeping order.
func mergeEnv(env []string) []string {
	last := map[string]int{}
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		last[k] = i
	}
	out := make([]string, 0, len(last))
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if last[k] == i {
			out = append(out, kv)
		}
	}
	return out
}

// Compose v2 plugin: found (never configured) in the folders the docker CLI
// searches, or built by the harness into its own folder.

var composeMu sync.Mutex
var composePath string

// foundCompose is the plugin binary found so far ("" when none yet).
func foundCompose() string {
	composeMu.Lock()
	defer composeMu.Unlock()
	return composePath
}

// composeBuildConfig is the DOCKER_CONFIG folder the harness builds the
// plugin into when it finds none (testdata/images/compose/build.sh puts it
// in its cli-plugins); it is kept for later test processes.
func composeBuildConfig() string {
	return filepath.Join(os.TempDir(), "ledger-e2e-compose-"+strconv.Itoa(os.Getuid()))
}

// composeDirs are the folders searched for the plugin binary: the tester's
// DOCKER_CONFIG/cli-plugins and ~/.docker/cli-plugins (the binary only:
// config.json there is never read), the docker CLI's system plugin folders,
// then the harness's own build folder.
func composeDirs() []string {
	var dirs []string
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		dirs = append(dirs, filepath.Join(d, "cli-plugins"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, ".docker", "cli-plugins"))
	}
	dirs = append(dirs,
		"/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
		"/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins",
		filepath.Join(composeBuildConfig(), "cli-plugins"))
	return dirs
}

// findCompose looks for a Compose v2 plugin binary (one whose plugin
// metadata says version 2) and remembers the first one.
func findCompose() string {
	if p := foundCompose(); p != "" {
		return p
	}
	for _, dir := range composeDirs() {
		p := filepath.Join(dir, "docker-compose")
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			continue
		}
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			p = resolved
		}
		if !isComposeV2(p) {
			continue
		}
		composeMu.Lock()
		composePath = p
		composeMu.Unlock()
		return p
	}
	return ""
}

// isComposeV2 asks the plugin for its metadata, as the docker CLI does.
func isComposeV2(path string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "docker-cli-plugin-metadata")
	cmd.Env = mergeEnv(append(keptEnv(os.Environ()), "HOME="+os.TempDir()))
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		return false
	}
	var meta struct{ Version string }
	if json.Unmarshal(out, &meta) != nil {
		return false
	}
	return strings.HasPrefix(strings.TrimPrefix(meta.Version, "v"), "2.")
}
