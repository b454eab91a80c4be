package check

import (
	"os"
	"path/filepath"
	"regexp"
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

// The pre-commit hooks are given exactly the files discovery reads by
// name (.pre-commit-hooks.yaml's files: patterns agree with kindOf).
func TestPreCommitHookFilesAgreeWithDiscovery(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID    string `yaml:"id"`
		Files string `yaml:"files"`
	}
	if err := yaml.Unmarshal(b, &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) == 0 {
		t.Fatal("no hooks in .pre-commit-hooks.yaml")
	}
	// install.sh --hook's plain git hook gives the checker the same files
	sh, err := os.ReadFile(filepath.Join("..", "..", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^hook_files_re='([^']*)'$`).FindSubmatch(sh)
	if m == nil {
		t.Fatal("install.sh has no line hook_files_re='...'")
	}
	for _, h := range hooks {
		if h.Files != string(m[1]) {
			t.Errorf("install.sh's hook_files_re is %q, .pre-commit-hooks.yaml's %s files %q", m[1], h.ID, h.Files)
		}
	}
	for _, h := range hooks {
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
