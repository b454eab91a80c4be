package check

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
)

var update = flag.Bool("update", false, "rewrite golden files")

const fixtures = "../../testdata/check"

// golden compares got with testdata/check/golden/name (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join(fixtures, "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// caseFiles lists the files of a fixture folder that discovery would pick
// up, plus scripts recognised by their shebang.
func caseFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if c, s, _ := kindOf(rel); c || s || hasShellShebang(p) {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func render(rep *Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		b.WriteString(f.String() + "\n")
	}
	for _, f := range rep.Fixed {
		b.WriteString("fixed: " + f.File + ": volume " + f.Volume + ": " + f.Action + "\n")
	}
	status := 0
	if rep.HasErrors() {
		status = 1
	}
	b.WriteString("errors=" + itoa(rep.Errors) + " warnings=" + itoa(rep.Warnings) + " exit=" + itoa(status) + "\n")
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRulesGolden(t *testing.T) {
	for _, name := range []string{"good", "bad", "malformed", "interpolation-error", "include", "extends", "env", "override", "scripts", "suppress", "include-missing"} {
		t.Run(name, func(t *testing.T) {
			dir, _ := filepath.Abs(filepath.Join(fixtures, name))
			rep, err := Run(context.Background(), Request{
				Files: caseFiles(t, dir), Dir: dir, Env: []string{}, ProtectLabel: config.DefaultProtectLabel,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Engine != "off" {
				t.Errorf("engine = %q, want off", rep.Engine)
			}
			golden(t, name+".txt", []byte(render(rep)))
		})
	}
}

// TestAddedProtectKey: a key the configuration adds protects too, the
// default key still does, "True" counts, and --fix writes the
// added key.
func TestAddedProtectKey(t *testing.T) {
	dir := t.TempDir()
	src := `name: keys
services:
  app:
    image: busybox
    volumes: # long syntax: "a:/a" would be a Windows drive path, an anonymous volume
      - {type: volume, source: a, target: /a}
      - {type: volume, source: b, target: /b}
      - {type: volume, source: c, target: /c}
      - {type: volume, source: d, target: /d}
      - {type: volume, source: e, target: /e}
volumes:
  a:
    labels:
      com.ledgerflow.protect: "true"
  b:
    labels:
      other: "true"
  c: {}
  d:
    labels:
      com.ledgerflow.protect: "false"
  e:
    labels:
      other: "True"
`
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	fe := fake.New()
	fe.AddVolume(engine.Volume{Name: "keys_a"}, nil)
	fe.AddVolume(engine.Volume{Name: "keys_b", Labels: map[string]string{"other": "true"}}, nil)
	fe.AddVolume(engine.Volume{Name: "keys_e", Labels: map[string]string{config.DefaultProtectLabel: "TRUE"}}, nil)
	req := Request{Files: []string{"compose.yaml"}, Dir: dir, Env: []string{}, ProtectLabel: "other",
		Engine: func() (engine.Engine, error) { return fe, nil }}
	rep, err := Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got := render(rep)
	for _, want := range []string{
		`error: volume "c" has no com.ledgerflow.protect=true or other=true label`,
		`error: volume "d" has no com.ledgerflow.protect=true or other=true label`,
		`warning: volume "a" exists on the engine as "keys_a" without com.ledgerflow.protect=true or other=true`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if rep.Errors != 2 || rep.Warnings != 1 {
		t.Errorf("want 2 errors (c, d) and 1 warning (a); got:\n%s", got)
	}

	req.Fix = true
	if rep, err = Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 || len(rep.Fixed) != 2 {
		t.Errorf("after --fix: want no error and 2 fixes; got fixed=%v\n%s", rep.Fixed, render(rep))
	}
	out, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if n := strings.Count(string(out), `other: "true"`); n != 3 {
		t.Errorf("--fix should write other: \"true\" to c and d (3 in all), got %d:\n%s", n, out)
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestFixGolden(t *testing.T) {
	dir := copyDir(t, filepath.Join(fixtures, "fix"))
	req := Request{Dir: dir, Env: []string{}, ProtectLabel: config.DefaultProtectLabel, Files: []string{"compose.yaml", "crlf.yaml"}}
	req.Fix = true
	rep, err := Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "fix-report.txt", []byte(render(rep)))
	for _, f := range []string{"compose.yaml", "crlf.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "fix-"+f, b)
	}
	// a second --fix changes nothing
	rep, err = Run(context.Background(), req)
	if err != nil || len(rep.Fixed) != 0 || rep.Errors != 0 {
		t.Errorf("second fix: err=%v fixed=%v errors=%d", err, rep.Fixed, rep.Errors)
	}
}

func TestFixKeepsEverythingElse(t *testing.T) {
	dir := copyDir(t, filepath.Join(fixtures, "bad"))
	before, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	rep, err := Run(context.Background(), Request{Dir: dir, Env: []string{}, ProtectLabel: config.DefaultProtectLabel,
		Files: []string{"compose.yaml"}, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	// every original line is still there, in order
	var i int
	lines := strings.Split(string(after), "\n")
	for _, want := range strings.Split(string(before), "\n") {
		if strings.HasSuffix(want, "{}") || strings.Contains(want, `"false"`) {
			continue // the lines --fix edits
		}
		for i < len(lines) && lines[i] != want {
			i++
		}
		if i == len(lines) {
			t.Fatalf("line %q lost or reordered by --fix:\n%s", want, after)
		}
	}
	for _, f := range rep.Findings {
		if f.Rule == RuleUnprotected {
			t.Errorf("still unprotected after --fix: %s", f)
		}
	}
}

func TestEngineRule(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join(fixtures, "good"))
	fe := fake.New()
	fe.AddVolume(engine.Volume{Name: "good_pgdata", Labels: map[string]string{
		"com.docker.compose.project": "good", "com.docker.compose.config-hash": "abc"}}, nil)
	fe.AddVolume(engine.Volume{Name: "good_pg18data", Labels: map[string]string{config.DefaultProtectLabel: "true"}}, nil)
	rep, err := Run(context.Background(), Request{Files: []string{"compose.yaml"}, Dir: dir, Env: []string{},
		ProtectLabel: config.DefaultProtectLabel, Engine: func() (engine.Engine, error) { return fe, nil }})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "engine.txt", []byte(render(rep)))
	if rep.Engine != "checked" {
		t.Errorf("engine = %q", rep.Engine)
	}

	// an engine that fails is skipped, never an error
	rep, err = Run(context.Background(), Request{Files: []string{"compose.yaml"}, Dir: dir, Env: []string{},
		ProtectLabel: config.DefaultProtectLabel, Engine: func() (engine.Engine, error) { return nil, engine.ErrUnreachable }})
	if err != nil || rep.Engine != "unavailable" || len(rep.Findings) != 0 {
		t.Errorf("unreachable engine: err=%v engine=%q findings=%v", err, rep.Engine, rep.Findings)
	}
}

func TestMissingFileIsIOError(t *testing.T) {
	_, err := Run(context.Background(), Request{Files: []string{"nope/compose.yaml"}, Dir: t.TempDir(), Env: []string{},
		ProtectLabel: config.DefaultProtectLabel})
	if !errors.Is(err, ErrIO) {
		t.Fatalf("err = %v, want ErrIO", err)
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"compose.yaml", "sub/docker-compose.prod.yml", "Makefile", "scripts/x.sh", "README.md", "stack.yml",
		".cache/compose.yaml", "node_modules/x/compose.yaml", ".github/workflows/ci.yml"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte("x: 1\n"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, ".env"), []byte("COMPOSE_FILE=compose.yaml:stack.yml\n"), 0o644)
	rel := discoverRel(t, dir)
	want := ".github/workflows/ci.yml Makefile compose.yaml scripts/x.sh stack.yml sub/docker-compose.prod.yml"
	if strings.Join(rel, " ") != want {
		t.Errorf("Discover = %v, want %s", rel, want)
	}
}

// discoverRel is what Discover finds under dir (no environment), as
// slash-separated paths relative to dir, sorted.
func discoverRel(t *testing.T, dir string) []string {
	t.Helper()
	got, err := Discover(context.Background(), dir, []string{})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range got {
		r, _ := filepath.Rel(dir, f)
		rel = append(rel, filepath.ToSlash(r))
	}
	slices.Sort(rel)
	return rel
}

// TestRulesDoc keeps README.md's rule reference (between the rules:begin
// and rules:end markers) generated from the Rules table.
func TestRulesDoc(t *testing.T) {
	p := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- rules:begin", "<!-- rules:end -->"
	text := string(readme)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s ... %s block", begin, end)
	}
	i += strings.Index(text[i:], "-->\n") + len("-->\n")
	body := RulesMarkdown()
	body = body[strings.Index(body, "\n")+1:] // the section heading is README's own
	body = strings.ReplaceAll(strings.TrimSpace(body), "\n### ", "\n#### ") + "\n"
	if *update {
		text = text[:i] + body + text[j:]
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if text[i:j] != body {
		t.Errorf("README.md's rule reference is out of date with the Rules table (go test ./internal/check -run TestRulesDoc -update)")
	}
}

func TestFixSkipsSuppressed(t *testing.T) {
	dir := copyDir(t, filepath.Join(fixtures, "suppress"))
	rep, err := Run(context.Background(), Request{Dir: dir, Env: []string{}, ProtectLabel: config.DefaultProtectLabel,
		Files: []string{"compose.yaml"}, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Fixed) != 1 || rep.Fixed[0].Volume != "pgdata" || rep.Suppressed != 3 || rep.Errors != 0 {
		t.Errorf("fixed %+v, suppressed %d, errors %d", rep.Fixed, rep.Suppressed, rep.Errors)
	}
}

func TestComposeFileEnvIsOneProject(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join(fixtures, "compose-file-env"))
	rep, err := Run(context.Background(), Request{Files: []string{"stack.yml", "stack.prod.yml"}, Dir: dir, Env: []string{},
		ProtectLabel: config.DefaultProtectLabel})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "compose-file-env.txt", []byte(render(rep)))
}
