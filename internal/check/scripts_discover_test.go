package check

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"gopkg.in/yaml.v3"
)

// discoverPaths are file paths of a repository, each with what the check
// reads it as: "compose", a script kind, or "" (not read).
var discoverPaths = []struct {
	path string
	want string
}{
	{"compose.yaml", "compose"},
	{"deploy/docker-compose.prod.yml", "compose"},
	{"scripts/reset.sh", "shell"},
	{"tools/x.bash", "shell"},
	{"Jenkinsfile", "jenkins"},
	{"justfile", "shell"},
	{".envrc", "shell"},
	{"Makefile", "make"},
	{"sub/makefile", "make"},
	{"GNUmakefile", "make"},
	{"mk/docker.mk", "make"},
	{".github/workflows/ci.yml", "ci"},
	{".github/actions/reset/action.yml", "ci"},
	{"action.yaml", "ci"},
	{".gitlab-ci.yml", "ci"},
	{".gitlab/ci/cleanup.yml", "ci"},
	{"ci/deploy.gitlab-ci.yml", "ci"},
	{".circleci/config.yml", "ci"},
	{"bitbucket-pipelines.yml", "ci"},
	{"azure-pipelines.yml", "ci"},
	{".drone.yml", "ci"},
	{".woodpecker.yml", "ci"},
	{".woodpecker/build.yaml", "ci"},
	{"Taskfile.yml", "ci"},
	{"README.md", ""},
	{"stack.yml", ""},
	{".github/dependabot.yml", ""},
	{"main.go", ""},
}

func TestScriptKinds(t *testing.T) {
	kinds := map[scriptKind]string{kindShell: "shell", kindMake: "make", kindYAML: "ci", kindJenkins: "jenkins"}
	for _, p := range discoverPaths {
		c, s, k := kindOf(p.path)
		got := ""
		switch {
		case c:
			got = "compose"
		case s:
			got = kinds[k]
		}
		if got != p.want {
			t.Errorf("kindOf(%q) = %q, want %q", p.path, got, p.want)
		}
	}
}

// installVar is the value of the line NAME='VALUE' of install.sh.
func installVar(t *testing.T, name string) string {
	t.Helper()
	sh, err := os.ReadFile(filepath.Join("..", "..", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + `='([^']*)'$`).FindSubmatch(sh)
	if m == nil {
		t.Fatalf("install.sh has no line %s='...'", name)
	}
	return string(m[1])
}

// hookDef is a hook of .pre-commit-hooks.yaml.
type hookDef struct {
	ID      string   `yaml:"id"`
	Files   string   `yaml:"files"`
	Exclude string   `yaml:"exclude"`
	Types   []string `yaml:"types"`
}

func preCommitHooks(t *testing.T) []hookDef {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []hookDef
	if err := yaml.Unmarshal(b, &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) == 0 {
		t.Fatal("no hooks in .pre-commit-hooks.yaml")
	}
	return hooks
}

// The pre-commit hooks are given exactly the files discovery reads by
// name (.pre-commit-hooks.yaml's files: patterns agree with kindOf); the
// shell scripts hook (types: [shell]) takes the rest, never a file the
// others take, never a YAML file.
func TestPreCommitHookFilesAgreeWithDiscovery(t *testing.T) {
	hooks := preCommitHooks(t)
	// install.sh --hook's plain git hook gives the checker the same files
	filesRe := installVar(t, "hook_files_re")
	var byName []hookDef
	scripts := 0
	for _, h := range hooks {
		if slices.Equal(h.Types, []string{"shell"}) {
			scripts++
			if want := installVar(t, "hook_skip_dirs_re") + "|" + filesRe; h.Files != "" || h.Exclude != want {
				t.Errorf("hook %s (types: [shell]): files %q, exclude %q; want no files and exclude %q",
					h.ID, h.Files, h.Exclude, want)
			}
			continue
		}
		byName = append(byName, h)
		if h.Files != filesRe || len(h.Types) > 0 || h.Exclude != "" {
			t.Errorf("install.sh's hook_files_re is %q, .pre-commit-hooks.yaml's %s files %q (types %q, exclude %q)",
				filesRe, h.ID, h.Files, h.Types, h.Exclude)
		}
	}
	if scripts != 1 {
		t.Errorf(".pre-commit-hooks.yaml has %d hooks with types: [shell], want 1", scripts)
	}
	for _, h := range byName {
		re, err := regexp.Compile(h.Files)
		if err != nil {
			t.Fatalf("hook %s: %v", h.ID, err)
		}
		for _, p := range discoverPaths {
			if got, want := re.MatchString(p.path), p.want != ""; got != want {
				t.Errorf("hook %s: files: matches %q: %v, discovery reads it: %v", h.ID, p.path, got, want)
			}
		}
	}
}

// install.sh's plain git hook reads the first line of the files discovery
// reads it of (shebangCandidate), and knows a shell shebang as discovery
// does.
func TestPlainHookShebangRulesAgreeWithDiscovery(t *testing.T) {
	names := regexp.MustCompile(installVar(t, "hook_script_names_re"))
	skip := regexp.MustCompile(installVar(t, "hook_skip_dirs_re"))
	for _, p := range []string{"bin/reset", "reset", "scripts/db/wipe-all", "tools/x.sh", "Makefile.old", ".envrc",
		"node_modules/x/bin/run", "vendor/run", "a/vendor/b/run", "vendored/run", "my_node_modules/run"} {
		if got, want := names.MatchString(p) && !skip.MatchString(p), shebangCandidate(p); got != want {
			t.Errorf("%q: the plain hook reads its first line: %v, discovery: %v", p, got, want)
		}
	}
	re := regexp.MustCompile(installVar(t, "hook_shebang_re"))
	for _, line := range []string{"#!/bin/sh", "#!/usr/bin/env bash", "#! /bin/bash -e", "#!/bin/zsh", "#!/usr/bin/env -S bash -eu",
		"#!/bin/dash", "#!/usr/bin/python3", "#!/usr/bin/env node", "#!/bin/csh", "# sh", "#!/usr/bin/env fish", "#!/bin/ksh"} {
		file := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(file, []byte(line+"\necho\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, want := re.MatchString(line), hasShellShebang(file); got != want {
			t.Errorf("%q: the plain hook reads it as a shell shebang: %v, discovery: %v", line, got, want)
		}
	}
}

// shebangTree is a repository's files: scripts found by name, shell
// scripts without an extension, and files that are not scripts.
var shebangTree = map[string]string{
	"compose.yaml":           "services: {}\n",
	"scripts/x.sh":           "docker volume prune -f\n",
	"bin/reset":              "#!/bin/sh\ndocker compose down -v\n",
	"bin/wipe":               "#!/usr/bin/env bash\ndocker volume prune -f\n",
	"bin/deploy":             "#!/usr/bin/python3\nprint('docker compose down -v')\n",
	"LICENSE":                "MIT\n",
	"notes.yml":              "x: 1\n",
	"node_modules/x/bin/run": "#!/bin/sh\ndocker volume prune -f\n",
	"vendor/tool/run":        "#!/bin/sh\ndocker volume prune -f\n",
}

// discoverWant is what Discover finds in shebangTree.
const discoverWant = "bin/reset bin/wipe compose.yaml scripts/x.sh"

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for f, content := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// gitEnv keeps git from reading the tester's configuration.
func gitEnv(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is needed:", err)
	}
	home := t.TempDir()
	return []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.invalid", "PATH=" + os.Getenv("PATH")}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Discover finds shell scripts without an extension by their first line,
// in a git repository and in a plain folder, outside node_modules and
// vendor, and reads neither links nor FIFOs.
func TestDiscoverFindsShellScriptsWithoutExtension(t *testing.T) {
	for _, git := range []bool{false, true} {
		name := "folder"
		if git {
			name = "git repository"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, shebangTree)
			if err := os.Symlink("reset", filepath.Join(dir, "bin", "again")); err != nil {
				t.Fatal(err)
			}
			if git {
				env := gitEnv(t)
				for _, kv := range env { // Discover's git too
					if k, v, _ := strings.Cut(kv, "="); k != "PATH" {
						t.Setenv(k, v)
					}
				}
				run(t, dir, env, "git", "init", "-q")
				run(t, dir, env, "git", "add", ".")
			}
			// a FIFO: opening it would wait for a writer
			if err := syscall.Mkfifo(filepath.Join(dir, "bin", "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
			rel := discoverRel(t, dir)
			if strings.Join(rel, " ") != discoverWant {
				t.Errorf("Discover = %v, want %s", rel, discoverWant)
			}
		})
	}
}

// install.sh's plain git hook gives the checker the staged files of the
// hooks' patterns and the staged shell scripts without an extension, and
// no other file.
func TestPlainGitHookChecksShellScriptsWithoutExtension(t *testing.T) {
	env := gitEnv(t)
	for _, tool := range []string{"bash", "grep", "xargs", "head"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool, " is needed: ", err)
		}
	}
	tmp := t.TempDir()
	repo, bins, prefix := filepath.Join(tmp, "repo"), filepath.Join(tmp, "bins"), filepath.Join(tmp, "prefix")
	args := filepath.Join(tmp, "args")
	// the checker records the files it is given
	checker := "#!/bin/sh\nprintf '%s\\n' \"$@\" >>'" + args + "'\n"
	writeTree(t, bins, map[string]string{"ledger-precommit": checker})
	if err := os.Chmod(filepath.Join(bins, "ledger-precommit"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTree(t, repo, shebangTree)
	run(t, tmp, env, "git", "init", "-q", repo)
	installSh, _ := filepath.Abs(filepath.Join("..", "..", "install.sh"))
	run(t, tmp, append(env, "PREFIX="+prefix, "XDG_DATA_HOME="+filepath.Join(tmp, "data"), "DOCKER_CONFIG="+filepath.Join(tmp, "docker")),
		"bash", installSh, "--bin", bins, "--hook", repo)
	run(t, repo, env, "git", "add", ".")
	run(t, repo, env, "git", "commit", "-q", "-m", "files")
	b, err := os.ReadFile(args)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(b))
	slices.Sort(got)
	if strings.Join(got, " ") != discoverWant {
		t.Errorf("the hook passed %q, want %s", got, discoverWant)
	}
}
