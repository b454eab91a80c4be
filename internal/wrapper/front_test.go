package wrapper_test

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/testenv"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

// Tests of the C front (wrapper/front/ledger_docker.c), built with cc:
// every command line that may be destructive reaches the Go wrapper
// unchanged, every other one reaches the real docker that wrapper.FindReal
// would pick, argv[1:] and environment unchanged.

// envRecorder makes this test binary a recorder: run under another name,
// it prints its file, argv and environment as JSON and exits.
const envRecorder = "LEDGER_TEST_RECORDER"

type record struct {
	Exe  string   `json:"exe"`
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
}

func TestMain(m *testing.M) {
	if os.Getenv(envRecorder) != "" {
		exe, _ := os.Executable()
		_ = json.NewEncoder(os.Stdout).Encode(record{Exe: exe, Argv: os.Args, Env: os.Environ()})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// front compiles the C front alone into its own folder (no
// ledger_docker-full beside it). Without a C compiler the test fails;
// under LEDGER_E2E=0 (unit tests only) it skips.
func front(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ledger_docker")
	if err := testenv.BuildFront(testenv.RepoRoot(t), out); err != nil {
		if !testenv.Enabled() {
			t.Skipf("the C front's tests need a C compiler (skipped under %s=0 only): %v", testenv.EnvE2E, err)
		}
		t.Fatal(err)
	}
	return out
}

// recorders puts two copies of this test binary in dir: the real docker
// and the Go wrapper, as the front sees them.
func recorders(t *testing.T, dir string) (real, full string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	real, full = filepath.Join(dir, "real", "docker"), filepath.Join(dir, "full", wrapper.FullName)
	for _, p := range []string{real, full} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return real, full
}

type runResult struct {
	code           int
	stdout, stderr string
}

// runFront runs bin with argv (argv[0] as given) and exactly env.
func runFront(t *testing.T, bin, dir string, argv, env []string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Args, cmd.Env, cmd.Dir = argv, env, dir
	if env == nil {
		cmd.Env = []string{} // nil would be this process's environment
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := runResult{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%q: %v", argv, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%q: no exit in 20s (a loop?)", argv)
	}
	return r
}

type argvCase struct {
	from string // where the command line comes from
	argv []string
	env  []string
}

func TestFrontHandsEveryDestructiveCommandToTheGoWrapper(t *testing.T) {
	bin := front(t)
	real, full := recorders(t, t.TempDir())
	cases := superset(t)
	base := []string{"PATH=/nonexistent", wrapper.EnvRealDocker + "=" + real, "LEDGER_WRAPPER_FULL=" + full, envRecorder + "=1"}

	var mu sync.Mutex
	counts := map[string]int{}
	check := func(c argvCase, explain bool) {
		env := append(slices.Clone(base), c.env...)
		if explain {
			env = append(env, wrapper.EnvExplain+"=1")
		}
		destructive := explain || intercept.Parse(c.argv, wrapper.Getenv(env)).Destructive()
		r := runFront(t, bin, "", c.argv, env)
		var rec record
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rec) != nil {
			t.Errorf("%s %q: front failed: %+v", c.from, c.argv, r)
			return
		}
		stage := "real"
		switch rec.Exe {
		case full:
			stage = "full"
			if !slices.Equal(rec.Argv, c.argv) {
				t.Errorf("%s %q: the Go wrapper got argv %q", c.from, c.argv, rec.Argv)
			}
			if want := append(slices.Clone(env), wrapper.EnvSelf+"="+bin); !slices.Equal(rec.Env, want) {
				t.Errorf("%s %q: the Go wrapper got env %q, want %q", c.from, c.argv, rec.Env, want)
			}
		case real:
			if destructive {
				t.Errorf("%s %q (LEDGER_EXPLAIN %v): destructive, but the front ran the real docker", c.from, c.argv, explain)
			}
			if len(c.argv) == 0 || rec.Argv[0] != "docker" || !slices.Equal(rec.Argv[1:], c.argv[1:]) {
				t.Errorf("%s %q: the real docker got argv %q", c.from, c.argv, rec.Argv)
			}
			if !slices.Equal(rec.Env, env) {
				t.Errorf("%s %q: the real docker got env %q, want %q", c.from, c.argv, rec.Env, env)
			}
		default:
			t.Errorf("%s %q: ran %s", c.from, c.argv, rec.Exe)
		}
		mu.Lock()
		counts[c.from+" -> "+stage]++
		if destructive {
			counts["destructive"]++
		}
		mu.Unlock()
	}

	jobs := make(chan argvCase)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				check(c, false)
				if c.from != "generated" {
					check(c, true)
				}
			}
		}()
	}
	for _, c := range cases {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	t.Logf("%d command lines: %v", len(cases), counts)
	if counts["destructive"] == 0 {
		t.Error("no destructive command line among the cases")
	}
}

// superset gathers the command lines: policy's decision table, intercept's
// Parse table, FuzzParse's seeds and corpus, and a generated set.
func superset(t *testing.T) []argvCase {
	t.Helper()
	root := testenv.RepoRoot(t)
	var cases []argvCase
	policyRows := tableRows(t, filepath.Join(root, "internal", "policy", "policy_test.go"), "TestDecideTable")
	if len(policyRows) < 100 {
		t.Fatalf("policy_test.go's TestDecideTable: read %d rows, want its whole table", len(policyRows))
	}
	for _, r := range policyRows {
		cases = append(cases, argvCase{from: "policy table", argv: strings.Fields(r.argv), env: r.env})
	}
	interceptFile := filepath.Join(root, "internal", "intercept", "intercept_test.go")
	for _, r := range tableRows(t, interceptFile, "TestParse") {
		cases = append(cases, argvCase{from: "intercept table", argv: strings.Fields(r.argv), env: r.env})
	}
	seeds := fuzzSeeds(t, interceptFile, "FuzzParse")
	corpus, _ := filepath.Glob(filepath.Join(root, "internal", "intercept", "testdata", "fuzz", "FuzzParse", "*"))
	for _, f := range corpus {
		seeds = append(seeds, corpusStrings(t, f)...)
	}
	if len(seeds) == 0 {
		t.Fatal("FuzzParse: no seed read")
	}
	for _, s := range seeds {
		cases = append(cases, argvCase{from: "fuzz seed", argv: strings.Split(s, " ")})
	}
	return append(cases, generated(1500)...)
}

// generated builds command lines from docker's and compose's words, flags
// and odd spellings, with a fixed seed.
func generated(n int) []argvCase {
	argv0 := []string{"docker", "/usr/bin/docker", "docker-compose", "/opt/bin/docker-compose", "docker-compose.exe",
		"docker-compose/", "ledger_docker", "dockerd", "", "compose"}
	words := []string{"volume", "system", "rm", "container", "compose", "ps", "prune", "remove", "down", "up",
		"create", "ls", "image", "run", "-v", "--volumes", "--volumes=false", "--volume", "-f", "-af", "-a", "--all",
		"--filter", "label=x", "-H", "tcp://h:2375", "-c", "prod", "-cprod", "--context=x", "--config", "/c", "-D",
		"-l", "debug", "--help", "-h", "--version", "--", "-vt5", "-t", "5", "--dry-run", "-sfv", "-fv", "x", "web",
		"Volume", "volumes", "rm ", " rm", "--rm", "-p", "proj", "--project-name=p", "-y", "--yes", "-", "",
		"compose=x", "--file", "a.yml", "--vol", "-V", "builder"}
	rnd := rand.New(rand.NewPCG(1, 2))
	out := make([]argvCase, 0, n)
	for range n {
		argv := []string{argv0[rnd.IntN(len(argv0))]}
		for range rnd.IntN(7) {
			argv = append(argv, words[rnd.IntN(len(words))])
		}
		out = append(out, argvCase{from: "generated", argv: argv})
	}
	return out
}

type tableRow struct {
	argv string
	env  []string
}

// tableRows reads the argv and env fields of every row of the table in
// function fn of a test file (the file is the one source of its rows).
func tableRows(t *testing.T, file, fn string) []tableRow {
	t.Helper()
	fset, f, consts := parseTestFile(t, file)
	var rows []tableRow
	ast.Inspect(funcBody(t, f, fn), func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		var row tableRow
		found := false
		for _, el := range lit.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			switch key, _ := kv.Key.(*ast.Ident); {
			case key == nil:
			case key.Name == "argv":
				row.argv, found = evalString(t, fset, kv.Value, consts), true
			case key.Name == "env":
				row.env = stringList(t, fset, kv.Value, consts)
			}
		}
		if found {
			rows = append(rows, row)
		}
		return true
	})
	return rows
}

// fuzzSeeds reads the string literals of the []string lists in fn.
func fuzzSeeds(t *testing.T, file, fn string) []string {
	t.Helper()
	fset, f, consts := parseTestFile(t, file)
	var out []string
	ast.Inspect(funcBody(t, f, fn), func(n ast.Node) bool {
		if lit, ok := n.(*ast.CompositeLit); ok && isStringSlice(lit.Type) {
			out = append(out, stringList(t, fset, lit, consts)...)
			return false
		}
		return true
	})
	return out
}

// corpusStrings reads the string values of a `go test fuzz v1` file.
func corpusStrings(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n")[1:] {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "string("); ok {
			s, err := strconv.Unquote(strings.TrimSuffix(v, ")"))
			if err != nil {
				t.Fatalf("%s: %q: %v", file, line, err)
			}
			out = append(out, s)
		}
	}
	return out
}

func parseTestFile(t *testing.T, file string) (*token.FileSet, *ast.File, map[string]ast.Expr) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]ast.Expr{}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						consts[name.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	return fset, f, consts
}

func funcBody(t *testing.T, f *ast.File, name string) *ast.BlockStmt {
	t.Helper()
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name {
			return fd.Body
		}
	}
	t.Fatalf("no func %s", name)
	return nil
}

func isStringSlice(e ast.Expr) bool {
	at, ok := e.(*ast.ArrayType)
	if !ok || at.Len != nil {
		return false
	}
	id, ok := at.Elt.(*ast.Ident)
	return ok && id.Name == "string"
}

// evalString evaluates a string constant expression: literals, the file's
// constants and +. Anything else fails the test (a row must not be lost).
func evalString(t *testing.T, fset *token.FileSet, e ast.Expr, consts map[string]ast.Expr) string {
	t.Helper()
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
			return s
		}
	case *ast.Ident:
		if c, ok := consts[e.Name]; ok {
			return evalString(t, fset, c, consts)
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return evalString(t, fset, e.X, consts) + evalString(t, fset, e.Y, consts)
		}
	case *ast.ParenExpr:
		return evalString(t, fset, e.X, consts)
	}
	t.Fatalf("%s: cannot read this argv as a constant string", fset.Position(e.Pos()))
	return ""
}

func stringList(t *testing.T, fset *token.FileSet, e ast.Expr, consts map[string]ast.Expr) []string {
	t.Helper()
	lit, ok := e.(*ast.CompositeLit)
	if !ok || !isStringSlice(lit.Type) {
		t.Fatalf("%s: want a []string literal", fset.Position(e.Pos()))
	}
	var out []string
	for _, el := range lit.Elts {
		out = append(out, evalString(t, fset, el, consts))
	}
	return out
}

// FindReal parity: PATH layouts where the front must pick the file
// wrapper.FindReal picks, or fail the same way.
func TestFrontFindsTheRealDockerLikeFindReal(t *testing.T) {
	bin := front(t)
	d := t.TempDir()
	self := filepath.Join(d, "bin", "ledger_docker")
	script := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\nprintf '%s\\n' \"$0\"\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(target, path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(self), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(self, b, 0o755); err != nil {
		t.Fatal(err)
	}
	script(filepath.Join(d, "other", wrapper.FullName), 0o755)
	script(filepath.Join(d, "xdg", "ledger-docker", "shim", "docker"), 0o755)
	script(filepath.Join(d, "home", ".local", "share", "ledger-docker", "shim", "docker"), 0o755)
	symlink(self, filepath.Join(d, "shim", "docker"))
	symlink(self, filepath.Join(d, "tofront", "docker"))
	symlink(filepath.Join(d, "other", wrapper.FullName), filepath.Join(d, "tofull", "docker"))
	if err := os.MkdirAll(filepath.Join(d, "hardlink"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(self, filepath.Join(d, "hardlink", "docker")); err != nil {
		t.Fatal(err)
	}
	script(filepath.Join(d, "noexec", "docker"), 0o644)
	if err := os.MkdirAll(filepath.Join(d, "isdir", "docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	script(filepath.Join(d, "real1", "docker"), 0o755)
	script(filepath.Join(d, "real2", "docker"), 0o755)
	script(filepath.Join(d, "cwd", "docker"), 0o755)
	script(filepath.Join(d, "override"), 0o755)
	t.Chdir(filepath.Join(d, "cwd")) // an empty PATH entry is "."

	p := func(dirs ...string) string {
		for i, x := range dirs {
			if x != "" {
				dirs[i] = filepath.Join(d, x)
			}
		}
		return "PATH=" + strings.Join(dirs, ":")
	}
	shimEnv := wrapper.EnvShimDir + "=" + filepath.Join(d, "shim")
	tests := []struct {
		name string
		env  []string
	}{
		{"shim dir first", []string{p("shim", "real1"), shimEnv}},
		{"shim dir from XDG_DATA_HOME", []string{p("xdg/ledger-docker/shim", "real1"), "XDG_DATA_HOME=" + filepath.Join(d, "xdg")}},
		{"shim dir from HOME", []string{p("home/.local/share/ledger-docker/shim", "real2"), "HOME=" + filepath.Join(d, "home")}},
		{"XDG_DATA_HOME wins over HOME", []string{p("home/.local/share/ledger-docker/shim", "real2"),
			"HOME=" + filepath.Join(d, "home"), "XDG_DATA_HOME=" + filepath.Join(d, "xdg")}},
		{"link to ledger_docker named docker", []string{p("tofront", "real1")}},
		{"link to ledger_docker-full named docker", []string{p("tofull", "real2")}},
		{"the front itself under another name", []string{p("hardlink", "real1")}},
		{"LEDGER_WRAPPER lists it", []string{p("hardlink", "real1"), wrapper.EnvSelf + "=/nonexistent:" + self}},
		{"LEDGER_REAL_DOCKER", []string{p("real1"), wrapper.EnvRealDocker + "=" + filepath.Join(d, "override")}},
		{"empty PATH entry", []string{p("noexec", "", "real1")}},
		{"empty entry at the end", []string{p("noexec") + ":"}},
		{"non-executable file", []string{p("noexec", "real2")}},
		{"directory named docker", []string{p("isdir", "real1")}},
		{"all of them", []string{p("shim", "tofront", "tofull", "hardlink", "noexec", "isdir", "real2", "real1"), shimEnv}},
		{"only wrappers and shims", []string{p("shim", "tofront", "tofull", "noexec", "isdir"), shimEnv}},
		{"empty PATH", []string{"PATH="}},
		{"no PATH", nil},
		{"last assignment wins", []string{p("real1"), p("real2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := wrapper.FindReal(intercept.Docker, wrapper.Getenv(append([]string{wrapper.EnvSelf + "=" + self}, tt.env...)))
			// The front is run as self: LEDGER_WRAPPER is not needed for it
			// to skip itself, and FindReal above got self in its place.
			r := runFront(t, self, "", []string{"docker", "ps"}, tt.env)
			if err != nil {
				if r.code != 127 || r.stderr != "ledger_docker: "+err.Error()+"\n" || r.stdout != "" {
					t.Errorf("FindReal: %v; front: %+v", err, r)
				}
				return
			}
			if r.code != 0 || filepath.Clean(strings.TrimSpace(r.stdout)) != filepath.Clean(want) {
				t.Errorf("FindReal: %s; front ran %+v", want, r)
			}
		})
	}
}

func TestFrontExitStatuses(t *testing.T) {
	bin := front(t)
	real, _ := recorders(t, t.TempDir())
	t.Run("no real docker", func(t *testing.T) {
		r := runFront(t, bin, "", []string{"docker", "ps"}, []string{"PATH="})
		want := "ledger_docker: no real docker found on PATH (ledger_docker and its shims are skipped; set LEDGER_REAL_DOCKER)\n"
		if r.code != 127 || r.stderr != want || r.stdout != "" {
			t.Errorf("%+v", r)
		}
	})
	for name, full := range map[string]string{"none beside the front": "", "LEDGER_WRAPPER_FULL missing": filepath.Join(t.TempDir(), "missing")} {
		t.Run("no Go wrapper: "+name, func(t *testing.T) {
			env := []string{wrapper.EnvRealDocker + "=" + real, envRecorder + "=1", "LEDGER_WRAPPER_FULL=" + full}
			r := runFront(t, bin, "", []string{"docker", "volume", "rm", "x"}, env)
			if r.code != 69 || !strings.Contains(r.stderr, "Nothing was run.") || r.stdout != "" {
				t.Errorf("%+v", r)
			}
		})
	}
	t.Run("Go wrapper beside the front, called through a link", func(t *testing.T) {
		d := t.TempDir()
		installed := filepath.Join(d, "bin", "ledger_docker")
		_, full := recorders(t, d)
		for _, f := range []struct{ from, to string }{{bin, installed}, {full, filepath.Join(d, "bin", wrapper.FullName)}} {
			b, err := os.ReadFile(f.from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(f.to), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.to, b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		link := filepath.Join(d, "shim", "docker-compose")
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(installed, link); err != nil {
			t.Fatal(err)
		}
		r := runFront(t, link, "", []string{"docker-compose", "ps"}, []string{envRecorder + "=1"})
		var rec record
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rec) != nil ||
			rec.Exe != filepath.Join(d, "bin", wrapper.FullName) || !slices.Equal(rec.Argv, []string{"docker-compose", "ps"}) {
			t.Errorf("%+v", r)
		}
	})
}
