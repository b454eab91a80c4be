package check

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// fragmentName is a compose file written to be loaded over a base file
// (`docker compose -f compose.yaml -f compose.prod.yaml`): the base's name
// with a part added (compose.prod.yaml, docker-compose-dev.yml,
// compose.override.yaml).
var fragmentName = regexp.MustCompile(`^((?:docker-)?compose)[._-][^/]+\.ya?ml$`)

// projectFiles is what compose loads with f, base first: a fragment with
// the base file beside it (an override with its base, as compose does; any
// other fragment as the `-f base -f fragment` it is written for: alone it
// would lack the services and volumes it adds to), or a base with its
// override file (unless git ignores it: a developer's own override is not
// what is committed).
func projectFiles(f string) []string {
	if m := fragmentName.FindStringSubmatch(filepath.Base(f)); m != nil {
		if base := baseBeside(f, m[1]); base != "" {
			return []string{base, f}
		}
		return []string{f}
	}
	if ov := overrideOf(f); ov != "" && !gitIgnores(ov) {
		return []string{f, ov}
	}
	return []string{f}
}

// isOverride reports whether f is an override file (compose.override.yaml),
// which compose loads with its base by itself.
func isOverride(f string) bool {
	name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".yml"), ".yaml")
	return strings.HasSuffix(name, ".override")
}

// completeFragment reports whether a fragment could be a project of its
// own: it has services, and each names an image or a build. Such a file is
// also checked alone (aloneFindings); one that adds to its base's services
// (ports, environment, a volume) is not.
func completeFragment(f string) bool {
	src, err := readFile(f)
	if err != nil || len(src) > maxFileBytes {
		return false
	}
	var doc struct {
		Services map[string]map[string]any `yaml:"services"`
	}
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Services) == 0 {
		return false
	}
	for _, svc := range doc.Services {
		_, image := svc["image"]
		_, build := svc["build"]
		if !image && !build {
			return false
		}
	}
	return true
}

// baseBeside is the base file in f's folder, of f's family (compose or
// docker-compose) first, as compose looks for them: compose.yaml,
// compose.yml, docker-compose.yml, docker-compose.yaml.
func baseBeside(f, family string) string {
	names := []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}
	if family == "docker-compose" {
		names = append(names[2:], names[:2]...)
	}
	for _, n := range names {
		p := filepath.Join(filepath.Dir(f), n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// overrideOf returns the override file compose would load with base.
func overrideOf(base string) string {
	m := baseName.FindStringSubmatch(filepath.Base(base))
	if m == nil {
		return ""
	}
	for _, ext := range []string{"yml", "yaml"} {
		p := filepath.Join(filepath.Dir(base), m[1]+".override."+ext)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// gitIgnores reports whether git ignores path (an untracked file matched
// by .gitignore). Outside a repository, or without git, nothing is.
func gitIgnores(path string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "check-ignore", "-q", "--", filepath.Base(path))
	cmd.Dir = filepath.Dir(path)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
	return cmd.Run() == nil // 1: not ignored; 128: no repository
}
