package check

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// Kinds of script, for the prefixes their lines may carry.
type scriptKind int

const (
	kindShell scriptKind = iota
	kindMake
	kindYAML    // CI files: `run:` / `script:` / `- ` prefixes
	kindJenkins // a Jenkinsfile: its sh steps' strings
)

type scriptFile struct {
	path string
	kind scriptKind
}

// fileSet is what a check reads: compose projects (each one or more files
// loaded together, base first) and scripts.
type fileSet struct {
	units   [][]string
	scripts []scriptFile
	all     []string
	errs    []error // given paths that are no regular file
	// alone marks the units that are a fragment loaded alone, beside its
	// unit over its base (completeFragment)
	alone map[int]bool
}

var (
	composeName = regexp.MustCompile(`^(docker-)?compose[^/]*\.ya?ml$`)
	baseName    = regexp.MustCompile(`^((docker-)?compose)\.(ya?ml)$`)
	ciPath      = regexp.MustCompile(`(^|/)(\.github/workflows/[^/]+\.ya?ml|action\.ya?ml|[^/]*\.gitlab-ci\.ya?ml|\.gitlab/ci/.+\.ya?ml|` +
		`\.circleci/config\.ya?ml|bitbucket-pipelines\.ya?ml|azure-pipelines\.ya?ml|\.drone\.ya?ml|\.woodpecker(/[^/]+)?\.ya?ml|` +
		`[Tt]askfile(\.dist)?\.ya?ml)$`)
	makeName  = regexp.MustCompile(`^(GNUmakefile|[Mm]akefile|.*\.mk)$`)
	shellName = regexp.MustCompile(`^(.*\.(sh|bash|zsh|ksh)|[Jj]ustfile|\.envrc)$`)
	shebang   = regexp.MustCompile(`\b(ba|z|k|da)?sh\b`)
)

// kindOf classifies a path by its name: compose, script (with its kind), or
// neither.
func kindOf(path string) (compose bool, script bool, k scriptKind) {
	slash := filepath.ToSlash(path)
	base := filepath.Base(path)
	switch {
	case ciPath.MatchString(slash):
		return false, true, kindYAML
	case composeName.MatchString(base):
		return true, false, 0
	case makeName.MatchString(base):
		return false, true, kindMake
	case base == "Jenkinsfile":
		return false, true, kindJenkins
	case shellName.MatchString(base):
		return false, true, kindShell
	}
	return false, false, 0
}

// Discover lists the compose files and scripts of the git repository that
// holds dir (tracked files and untracked ones not ignored), or of dir's tree
// when it is not in a repository (hidden folders other than CI ones,
// node_modules and vendor skipped), plus the files named by COMPOSE_FILE.
// A script is known by its name, or, for a regular file whose name has no
// extension (bin/reset) outside node_modules and vendor, by a shell
// shebang on its first line.
func Discover(ctx context.Context, dir string, env []string) ([]string, error) {
	var files []string
	top, listed, err := gitFiles(ctx, dir)
	if err != nil {
		top = dir
		listed, err = walkFiles(dir)
		if err != nil {
			return nil, err
		}
	}
	for _, f := range listed {
		if c, s, _ := kindOf(f); c || s || shebangCandidate(f) && isShellScript(filepath.Join(top, f)) {
			files = append(files, filepath.Join(top, f))
		}
	}
	for _, f := range composeFileEnv(top, env) {
		if !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	// tracked files deleted in the work tree are not checked
	return slices.DeleteFunc(files, func(f string) bool {
		_, err := os.Stat(f)
		return err != nil
	}), nil
}

func gitFiles(ctx context.Context, dir string) (string, []string, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", nil, err
	}
	top := strings.TrimSpace(string(out))
	out, err = exec.CommandContext(ctx, "git", "-C", top, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return "", nil, err
	}
	var files []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	return top, files, nil
}

func walkFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			switch {
			case p == dir, name == ".github", name == ".circleci", name == ".woodpecker", name == ".gitlab":
			case strings.HasPrefix(name, "."), name == "node_modules", name == "vendor":
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, rel)
		return nil
	})
	return files, err
}

// composeFileEnv is the COMPOSE_FILE list from the environment, else from
// dir's .env file, as absolute paths.
func composeFileEnv(dir string, env []string) []string {
	vals := map[string]string{}
	if dotEnv := filepath.Join(dir, ".env"); notRegular(dotEnv) != nil {
		// never opened: checkUnit reports it
	} else if m, err := dotenv.GetEnvFromFile(map[string]string{}, []string{dotEnv}); err == nil {
		vals = m
	}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && (k == "COMPOSE_FILE" || k == "COMPOSE_PATH_SEPARATOR") {
			vals[k] = v
		}
	}
	list := vals["COMPOSE_FILE"]
	if list == "" {
		return nil
	}
	sep := vals["COMPOSE_PATH_SEPARATOR"]
	if sep == "" {
		sep = string(os.PathListSeparator)
	}
	var out []string
	for _, f := range strings.Split(list, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, abs(dir, f))
		}
	}
	return out
}

// classify sorts files into compose projects and scripts. A base file and
// its override (compose.yaml + compose.override.yaml) are one project, as
// compose loads them; so are the files of COMPOSE_FILE. Any other YAML file
// given explicitly is read as a compose file; a file with a shell shebang
// as a script.
func classify(dir string, files []string, env []string) (*fileSet, error) {
	set := &fileSet{}
	seen := map[string]bool{}
	var compose []string
	envList := composeFileEnv(dir, env)
	for _, f := range files {
		f = abs(dir, f)
		if seen[f] {
			continue
		}
		seen[f] = true
		set.all = append(set.all, f)
		c, s, k := kindOf(f)
		switch {
		case c || slices.Contains(envList, f):
			compose = append(compose, f)
		case s:
			set.scripts = append(set.scripts, scriptFile{f, k})
		case strings.HasSuffix(f, ".yml") || strings.HasSuffix(f, ".yaml"):
			compose = append(compose, f)
		case hasShellShebang(f):
			set.scripts = append(set.scripts, scriptFile{f, kindShell})
		default:
			// not read, but a path that is no file at all is still an
			// error (a typo, a folder, a FIFO), whatever its name
			if st, err := os.Stat(f); err != nil {
				set.errs = append(set.errs, readError(dir, f, err))
			} else if st.IsDir() {
				set.errs = append(set.errs, readError(dir, f, syscall.EISDIR))
			} else if !st.Mode().IsRegular() {
				set.errs = append(set.errs, readError(dir, f, errNotRegular))
			}
		}
	}
	grouped := map[string]bool{}
	// COMPOSE_FILE says how the project is loaded: those files together
	// (one alone, a fragment too), without the override file
	if len(envList) > 0 && slices.ContainsFunc(envList, func(f string) bool { return slices.Contains(compose, f) }) {
		set.units = append(set.units, envList)
		for _, f := range envList {
			grouped[f] = true
		}
	}
	for _, f := range compose {
		if grouped[f] {
			continue
		}
		unit := projectFiles(f)
		if key := strings.Join(unit, "\x00"); !grouped[key] {
			grouped[key] = true
			set.units = append(set.units, unit)
		}
		if len(unit) == 2 && unit[1] == f && !isOverride(f) && completeFragment(f) {
			if set.alone == nil {
				set.alone = map[int]bool{}
			}
			set.alone[len(set.units)] = true
			set.units = append(set.units, []string{f})
		}
	}
	return set, nil
}

// shebangCandidate says whether discovery reads the first line of the
// repository file rel: its name has no extension, and it is not in a
// node_modules or vendor folder (where dependencies' own scripts are).
func shebangCandidate(rel string) bool {
	rel = filepath.ToSlash(rel)
	if strings.Contains(path.Base(rel), ".") {
		return false
	}
	for _, dir := range strings.Split(path.Dir(rel), "/") {
		if dir == "node_modules" || dir == "vendor" {
			return false
		}
	}
	return true
}

// isShellScript says whether p is a regular file (not a link: discovery
// follows none) that starts with a shell shebang.
func isShellScript(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode().IsRegular() && hasShellShebang(p)
}

// hasShellShebang says whether the first line of the file at path (read
// up to 4 KiB, without waiting on a FIFO or device) is a shell shebang.
func hasShellShebang(path string) bool {
	// O_NONBLOCK: opening a FIFO for reading would wait for a writer.
	fh, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() {
		return false
	}
	line, _ := bufio.NewReader(io.LimitReader(fh, 4096)).ReadString('\n')
	return strings.HasPrefix(line, "#!") && shebang.MatchString(line)
}
