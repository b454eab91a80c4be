// Package install holds the end-to-end story of install.sh: install into a
// temporary HOME and DOCKER_CONFIG, check every piece, install again (no
// change), install a git hook, uninstall.
package install

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

const protectFilter = "label!=com.ledgerflow.protect=true"

// userConfig is the user's docker CLI config before installing.
const userConfig = `{
	"auths": {
		"registry.example": {}
	},
	"detachKeys": "ctrl-e,e",
	"pruneFilters": ["label=com.example.prunable"]
}
`

const userBashrc = "# the user's own bashrc\nexport EDITOR=vi\n"

type env struct {
	t         *testing.T
	repo      string // the repository (holds install.sh)
	bins      string // prebuilt binaries for --bin
	home      string
	dockerCfg string
	vars      []string
}

// newEnv prepares a temp HOME and DOCKER_CONFIG; the test fails clearly
// when one of the binaries it installs could not be built.
func newEnv(t *testing.T, binaries ...string) *env {
	testenv.RequireEngine(t)
	for _, b := range binaries {
		testenv.Binary(t, b)
	}
	dir := t.TempDir()
	e := &env{
		t:         t,
		repo:      testenv.RepoRoot(t),
		bins:      testenv.Binaries(t),
		home:      filepath.Join(dir, "home"),
		dockerCfg: filepath.Join(dir, "docker-config"),
	}
	for _, d := range []string{e.home, e.dockerCfg} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(e.dockerCfg, "config.json"), userConfig)
	write(t, filepath.Join(e.home, ".bashrc"), userBashrc)
	// the harness's environment (none of the tester's docker or
	// ledger-docker settings), with this install's HOME and DOCKER_CONFIG
	e.vars = testenv.Environ("HOME="+e.home, "DOCKER_CONFIG="+e.dockerCfg, "SHELL=/bin/bash",
		"XDG_CONFIG_HOME="+filepath.Join(e.home, ".config"), "XDG_DATA_HOME=", "XDG_STATE_HOME=",
		// git in the hook test
		"GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
	return e
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// run runs a command with the test's environment (plus extra) and no stdin.
func (e *env) run(dir string, extra []string, name string, args ...string) testenv.Result {
	e.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(slices.Clone(e.vars), extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := testenv.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.ExitCode = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("%s %v: %v", name, args, err)
	}
	return r
}

func (e *env) install(args ...string) testenv.Result {
	e.t.Helper()
	r := e.run(e.repo, nil, "bash", append([]string{filepath.Join(e.repo, "install.sh"), "--bin", e.bins}, args...)...)
	if r.ExitCode != 0 {
		e.t.Fatalf("install.sh %v: %s", args, r)
	}
	return r
}

func (e *env) paths() (bindir, shim, plugin string) {
	return filepath.Join(e.home, ".local", "bin"),
		filepath.Join(e.home, ".local", "share", "ledger-docker", "shim"),
		filepath.Join(e.dockerCfg, "cli-plugins", "docker-ledger")
}

// snapshot describes every file under the temp HOME and DOCKER_CONFIG
// (path, mode, link target or content hash, modification time), to prove a
// second run writes nothing.
func (e *env) snapshot() []string {
	e.t.Helper()
	var out []string
	for _, root := range []string{e.home, e.dockerCfg} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			desc := fmt.Sprintf("%s %v %d", p, fi.Mode(), fi.ModTime().UnixNano())
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				desc += " -> " + target
			case fi.Mode().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				desc += " " + hex.EncodeToString(sum[:8])
			}
			out = append(out, desc)
			return nil
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

func pruneFilters(t *testing.T, path string) (map[string]any, []string) {
	t.Helper()
	var cfg map[string]any
	if err := json.Unmarshal([]byte(read(t, path)), &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var filters []string
	if l, ok := cfg["pruneFilters"].([]any); ok {
		for _, f := range l {
			filters = append(filters, fmt.Sprint(f))
		}
	}
	return cfg, filters
}

func TestInstallUninstall(t *testing.T) {
	e := newEnv(t, "ledger_docker", "ledger_docker-full", "docker-ledger")
	bindir, shim, plugin := e.paths()
	cfgPath := filepath.Join(e.dockerCfg, "config.json")
	bashrc := filepath.Join(e.home, ".bashrc")

	// Without --yes and without a terminal: the shell lines are printed,
	// the startup file is left alone.
	r := e.install()
	if !strings.Contains(r.Stdout, `export PATH="`+shim+":"+bindir+`:$PATH"`) ||
		!strings.Contains(r.Stdout, "alias docker=ledger_docker") {
		t.Errorf("install did not print the PATH and alias lines:\n%s", r.Stdout)
	}
	if got := read(t, bashrc); got != userBashrc {
		t.Errorf(".bashrc changed without consent:\n%s", got)
	}

	// With consent.
	e.install("--yes")

	t.Run("wrapper and shim", func(t *testing.T) {
		for _, name := range []string{"ledger_docker", "ledger_docker-full"} {
			if fi, err := os.Stat(filepath.Join(bindir, name)); err != nil || fi.Mode()&0o111 == 0 {
				t.Fatalf("%s not installed executable: %v", name, err)
			}
			if read(t, filepath.Join(bindir, name)) != read(t, filepath.Join(e.bins, name)) {
				t.Errorf("%s is not the built %s", name, name)
			}
		}
		for _, name := range []string{"docker", "docker-compose"} {
			target, err := os.Readlink(filepath.Join(shim, name))
			if err != nil || target != filepath.Join(bindir, "ledger_docker") {
				t.Errorf("shim %s -> %q (%v), want a link to ledger_docker", name, target, err)
			}
		}
		// `docker` in the shim (exec.Command looks a bare name up on the
		// test's own PATH, so the path is given) is the front, which passes
		// a harmless command through to the real docker.
		real := e.run(e.home, nil, testenv.RealDocker(t), "version", "--format", "{{.Client.Version}}")
		viaShim := e.run(e.home, []string{"PATH=" + shim + ":" + bindir + ":" + os.Getenv("PATH")},
			filepath.Join(shim, "docker"), "version", "--format", "{{.Client.Version}}")
		if viaShim.ExitCode != 0 || viaShim.Stdout != real.Stdout {
			t.Errorf("docker through the shim: %s\nwant the real docker's %q", viaShim, real.Stdout)
		}
		// A command the front hands to the Go wrapper, which finds the
		// installed plugin: explain mode answers with a decision.
		explain := e.run(e.home, []string{"PATH=" + shim + ":" + bindir + ":" + os.Getenv("PATH"), "LEDGER_EXPLAIN=1"},
			filepath.Join(shim, "docker"), "volume", "rm", "ldinstall-no-such-volume")
		if explain.ExitCode != 0 || !strings.Contains(explain.Stdout, `"verdict"`) {
			t.Errorf("explain through the shim, front and Go wrapper: %s", explain)
		}
	})

	t.Run("plugin", func(t *testing.T) {
		if _, err := os.Stat(plugin); err != nil {
			t.Fatal(err)
		}
		// The real docker CLI finds the plugin in $DOCKER_CONFIG/cli-plugins.
		r := e.run(e.home, nil, testenv.RealDocker(t), "ledger", "setup", "--json")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, `"installed": true`) {
			t.Errorf("docker ledger setup: %s", r)
		}
	})

	t.Run("config.json", func(t *testing.T) {
		cfg, filters := pruneFilters(t, cfgPath)
		if !slices.Equal(filters, []string{"label=com.example.prunable", protectFilter}) {
			t.Errorf("pruneFilters = %q, want the user's filter and ours", filters)
		}
		if cfg["detachKeys"] != "ctrl-e,e" || cfg["auths"] == nil {
			t.Errorf("the user's other settings were not kept: %v", cfg)
		}
	})

	t.Run("prune keeps protected volumes", func(t *testing.T) {
		// The second net on the real engine: a plain `docker volume prune`
		// through the real CLI with this config keeps the protected volume.
		// The unique label confines the prune to this test's volumes.
		docker := testenv.RealDocker(t)
		var rnd [4]byte
		_, _ = rand.Read(rnd[:])
		suffix := hex.EncodeToString(rnd[:])
		prot, plain := "ldinstall_"+suffix+"_prot", "ldinstall_"+suffix+"_plain"
		mark := "ledger-install-test=" + suffix
		t.Cleanup(func() {
			exec.Command(docker, "volume", "rm", "-f", prot, plain).Run()
		})
		for _, v := range [][]string{{prot, "--label", "com.ledgerflow.protect=true"}, {plain}} {
			// com.example.prunable: the user's own filter (userConfig) only
			// lets volumes with that label be pruned.
			args := append([]string{"volume", "create", "--label", mark, "--label", "com.example.prunable"}, v[1:]...)
			if r := e.run(e.home, nil, docker, append(args, v[0])...); r.ExitCode != 0 {
				t.Fatalf("volume create: %s", r)
			}
		}
		if r := e.run(e.home, nil, docker, "volume", "prune", "-f", "--filter", "label="+mark); r.ExitCode != 0 {
			t.Fatalf("volume prune: %s", r)
		}
		if r := e.run(e.home, nil, docker, "volume", "inspect", prot); r.ExitCode != 0 {
			t.Errorf("the protected volume was pruned despite the installed filter")
		}
		if r := e.run(e.home, nil, docker, "volume", "inspect", plain); r.ExitCode == 0 {
			t.Errorf("the unprotected volume was not pruned (filter too wide?)")
		}
	})

	t.Run("shell lines", func(t *testing.T) {
		got := read(t, bashrc)
		if !strings.HasPrefix(got, userBashrc) || strings.Count(got, "# >>> ledger-docker >>>") != 1 ||
			!strings.Contains(got, "alias docker=ledger_docker") || !strings.Contains(got, shim) {
			t.Errorf(".bashrc:\n%s", got)
		}
		if _, err := os.Stat(filepath.Join(e.home, ".zshrc")); err == nil {
			t.Errorf(".zshrc created though zsh is not used")
		}
	})

	t.Run("second run changes nothing", func(t *testing.T) {
		before := e.snapshot()
		r := e.install("--yes")
		after := e.snapshot()
		if !slices.Equal(before, after) {
			t.Errorf("second run changed files:\nbefore %q\nafter  %q", before, after)
		}
		if strings.Contains(r.Stdout, "installed ") || strings.Contains(r.Stdout, "updated ") {
			t.Errorf("second run reports changes:\n%s", r.Stdout)
		}
	})

	t.Run("uninstall", func(t *testing.T) {
		e.install("--uninstall", "--yes")
		for _, p := range []string{filepath.Join(bindir, "ledger_docker"), filepath.Join(bindir, "ledger_docker-full"),
			filepath.Join(shim, "docker"),
			filepath.Join(shim, "docker-compose"), plugin, shim} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s still exists after --uninstall", p)
			}
		}
		if got := read(t, bashrc); got != userBashrc {
			t.Errorf(".bashrc after uninstall:\n%q\nwant\n%q", got, userBashrc)
		}
		cfg, filters := pruneFilters(t, cfgPath)
		if !slices.Equal(filters, []string{"label=com.example.prunable"}) || cfg["detachKeys"] != "ctrl-e,e" || cfg["auths"] == nil {
			t.Errorf("config.json after uninstall: %s", read(t, cfgPath))
		}
		// Uninstalling again is harmless.
		e.install("--uninstall", "--yes")
	})
}

func TestInstallHook(t *testing.T) {
	e := newEnv(t, "ledger-precommit")
	bindir, _, _ := e.paths()
	repo := filepath.Join(t.TempDir(), "repo")
	if r := e.run("", nil, "git", "init", "-q", repo); r.ExitCode != 0 {
		t.Fatalf("git init: %s", r)
	}
	e.install("--hook", repo)
	hook := filepath.Join(repo, ".git", "hooks", "pre-commit")
	if fi, err := os.Stat(hook); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("hook not installed executable: %v", err)
	}
	if _, err := os.Stat(filepath.Join(bindir, "ledger-precommit")); err != nil {
		t.Fatalf("ledger-precommit not installed: %v", err)
	}
	if !strings.Contains(read(t, hook), filepath.Join(bindir, "ledger-precommit")) {
		t.Errorf("hook does not run the installed ledger-precommit:\n%s", read(t, hook))
	}
	before := e.snapshot()
	e.install("--hook", repo)
	if after := e.snapshot(); !slices.Equal(before, after) {
		t.Errorf("second --hook run changed files")
	}

	// A stand-in checker records the files the hook passes, so this test
	// checks the hook's selection; the checker's own rules have their tests.
	argsFile := filepath.Join(t.TempDir(), "args")
	fakeChecker := filepath.Join(t.TempDir(), "checker")
	write(t, fakeChecker, "#!/bin/sh\nprintf '%s\\n' \"$@\" >>\""+argsFile+"\"\nexit ${CHECK_EXIT:-0}\n")
	if err := os.Chmod(fakeChecker, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(repo, "compose.yaml"), "services: {}\n")
	write(t, filepath.Join(repo, "deploy", "docker-compose.prod.yml"), "services: {}\n")
	write(t, filepath.Join(repo, "scripts", "reset db.sh"), "echo hi\n")
	write(t, filepath.Join(repo, "README.md"), "# readme\n")
	git := func(extra []string, args ...string) testenv.Result {
		t.Helper()
		return e.run(repo, append([]string{"LEDGER_PRECOMMIT=" + fakeChecker}, extra...), "git", args...)
	}
	git(nil, "add", ".")
	if r := git([]string{"CHECK_EXIT=1"}, "commit", "-q", "-m", "refused"); r.ExitCode == 0 {
		t.Errorf("commit accepted though the checker failed")
	}
	os.Remove(argsFile)
	if r := git(nil, "commit", "-q", "-m", "accepted"); r.ExitCode != 0 {
		t.Fatalf("commit refused though the checker passed: %s", r)
	}
	got := strings.Split(strings.TrimSuffix(read(t, argsFile), "\n"), "\n")
	slices.Sort(got)
	want := []string{"compose.yaml", "deploy/docker-compose.prod.yml", "scripts/reset db.sh"}
	if !slices.Equal(got, want) {
		t.Errorf("hook passed %q, want %q", got, want)
	}

	// A checked file with changes that are not staged is refused: the
	// checker reads the working copy, which is not what is committed.
	os.Remove(argsFile)
	write(t, filepath.Join(repo, "compose.yaml"), "services: {a: {image: x}}\n")
	git(nil, "add", "compose.yaml")
	write(t, filepath.Join(repo, "compose.yaml"), "services: {b: {image: x}}\n")
	if r := git(nil, "commit", "-q", "-m", "partly staged"); r.ExitCode == 0 || !strings.Contains(r.Stderr, "compose.yaml") ||
		!strings.Contains(r.Stderr, "not staged") {
		t.Errorf("commit of a partly staged compose file: want it refused, naming the file: %s", r)
	}
	if _, err := os.Stat(argsFile); err == nil {
		t.Errorf("checker ran on a partly staged file")
	}
	git(nil, "add", "compose.yaml")
	if r := git(nil, "commit", "-q", "-m", "staged"); r.ExitCode != 0 {
		t.Fatalf("commit refused once staged: %s", r)
	}

	// A commit of other files does not run the checker.
	os.Remove(argsFile)
	write(t, filepath.Join(repo, "NOTES.txt"), "x\n")
	git(nil, "add", "NOTES.txt")
	if r := git([]string{"CHECK_EXIT=1"}, "commit", "-q", "-m", "notes"); r.ExitCode != 0 {
		t.Errorf("commit without checked files refused: %s", r)
	}
	if _, err := os.Stat(argsFile); err == nil {
		t.Errorf("checker ran for a commit without compose files or scripts")
	}

	// The installed checker itself refuses a compose file whose named
	// volume is not protected.
	write(t, filepath.Join(repo, "compose.yaml"),
		"services:\n  db:\n    image: postgres:15\n    volumes:\n      - data:/var/lib/postgresql/data\nvolumes:\n  data: {}\n")
	git(nil, "add", "compose.yaml")
	r := e.run(repo, nil, "git", "commit", "-q", "-m", "unprotected volume")
	if r.ExitCode == 0 || !strings.Contains(r.Stdout+r.Stderr, "compose.yaml") {
		t.Errorf("commit of an unprotected volume through the installed hook: %s", r)
	}

	e.install("--hook", repo, "--uninstall")
	if _, err := os.Stat(hook); err == nil {
		t.Errorf("hook still there after --hook --uninstall")
	}
}

func TestInstallKeepsForeignHook(t *testing.T) {
	e := newEnv(t)
	repo := filepath.Join(t.TempDir(), "repo")
	if r := e.run("", nil, "git", "init", "-q", repo); r.ExitCode != 0 {
		t.Fatalf("git init: %s", r)
	}
	hook := filepath.Join(repo, ".git", "hooks", "pre-commit")
	write(t, hook, "#!/bin/sh\necho mine\n")
	r := e.run(e.repo, nil, "bash", filepath.Join(e.repo, "install.sh"), "--bin", e.bins, "--hook", repo)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "is not ours") {
		t.Errorf("install over a foreign hook: %s", r)
	}
	if read(t, hook) != "#!/bin/sh\necho mine\n" {
		t.Errorf("foreign hook was changed")
	}
}

// Without a C compiler there is no front: the Go wrapper is installed
// under both names, with one line saying so.
func TestInstallWithoutCFront(t *testing.T) {
	e := newEnv(t, "ledger_docker-full", "docker-ledger")
	bindir, shim, _ := e.paths()
	goOnly := t.TempDir()
	for _, name := range []string{"ledger_docker-full", "docker-ledger"} {
		write(t, filepath.Join(goOnly, name), read(t, filepath.Join(e.bins, name)))
		if err := os.Chmod(filepath.Join(goOnly, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.bins = goOnly
	r := e.install("--no")
	if !strings.Contains(r.Stdout, "a few ms slower") {
		t.Errorf("install without a front does not say the pass-through is slower:\n%s", r.Stdout)
	}
	if read(t, filepath.Join(bindir, "ledger_docker")) != read(t, filepath.Join(goOnly, "ledger_docker-full")) {
		t.Errorf("ledger_docker is not the Go wrapper")
	}
	real := e.run(e.home, nil, testenv.RealDocker(t), "version", "--format", "{{.Client.Version}}")
	viaShim := e.run(e.home, []string{"PATH=" + shim + ":" + bindir + ":" + os.Getenv("PATH")},
		filepath.Join(shim, "docker"), "version", "--format", "{{.Client.Version}}")
	if viaShim.ExitCode != 0 || viaShim.Stdout != real.Stdout {
		t.Errorf("docker through the shim: %s\nwant the real docker's %q", viaShim, real.Stdout)
	}
	e.install("--uninstall", "--no")
	for _, name := range []string{"ledger_docker", "ledger_docker-full"} {
		if _, err := os.Lstat(filepath.Join(bindir, name)); err == nil {
			t.Errorf("%s still exists after --uninstall", name)
		}
	}
}
