package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/ledger-docker/ledger-docker/internal/config"
)

// Issue 11: the checker on files nobody here wrote. Every table names the
// situation and the exact findings it must give.

// want is one expected finding: its rule, file and position exactly, and
// a part of its message.
type want struct {
	rule, file string
	line, col  int
	msg        string
}

func (w want) String() string {
	return fmt.Sprintf("%s:%d:%d: ...%s... [%s]", w.file, w.line, w.col, w.msg, w.rule)
}

// writeFiles writes files (name -> content) under a new temporary folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content), Mode: 0o644}
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, fsys); err != nil {
		t.Fatal(err)
	}
	return dir
}

// orCompose is the files given, compose.yaml when none are.
func orCompose(given []string) []string {
	if len(given) == 0 {
		return []string{"compose.yaml"}
	}
	return given
}

// checkOnly runs the check on the given files of dir (orCompose) with env
// as the whole environment.
func checkOnly(t *testing.T, dir string, env []string, given ...string) (*Report, error) {
	t.Helper()
	if env == nil {
		env = []string{}
	}
	return Run(context.Background(), Request{Files: orCompose(given), Dir: dir, Env: env,
		ProtectLabel: config.DefaultProtectLabel})
}

// checkCase is one situation: its files, those given (orCompose), the
// environment, and exactly the findings it must give.
type checkCase struct {
	name  string
	files map[string]string
	given []string
	env   []string
	want  []want
}

func runCheckCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := checkOnly(t, writeFiles(t, tc.files), tc.env, tc.given...)
			if err != nil {
				t.Fatal(err)
			}
			sameFindings(t, rep.Findings, tc.want)
		})
	}
}

// oneFile is a project of one file, compose.yaml.
func oneFile(src string) map[string]string { return map[string]string{"compose.yaml": src} }

// sameFindings requires exactly the wanted findings, in order.
func sameFindings(t *testing.T, got []Finding, wants []want) {
	t.Helper()
	ok := len(got) == len(wants)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], wants[i]
		ok = g.Rule == w.rule && g.File == w.file && g.Line == w.line && g.Column == w.col &&
			strings.Contains(g.Message, w.msg)
	}
	if ok {
		return
	}
	var b strings.Builder
	for _, g := range got {
		b.WriteString("\n  got:  " + g.String())
	}
	for _, w := range wants {
		b.WriteString("\n  want: " + w.String())
	}
	t.Errorf("findings differ:%s", b.String())
}

const app = "services:\n  app:\n    image: busybox\n"

func parseErr(file string, line, col int, msg string) want {
	return want{RuleParse, file, line, col, msg}
}

// TestMalformedFiles: compose rejects these with a validation error; the
// checker reports that error at the bad value, instead of crashing (the
// panics of issue 11) or passing the file (the silent passes).
func TestMalformedFiles(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "top-level networks written as a list",
			files: oneFile(app + "networks:\n  - front\n"),
			want:  []want{parseErr("compose.yaml", 5, 3, "networks must be a mapping")}},
		{name: "top-level secrets written as a list",
			files: oneFile(app + "secrets:\n  - s\n"),
			want:  []want{parseErr("compose.yaml", 5, 3, "secrets must be a mapping")}},
		{name: "top-level configs written as a list",
			files: oneFile(app + "configs:\n  - c\n"),
			want:  []want{parseErr("compose.yaml", 5, 3, "configs must be a mapping")}},
		{name: "top-level volume whose value is a string",
			files: oneFile(app + "    volumes: [data:/data]\nvolumes:\n  data: \"yes\"\n"),
			want:  []want{parseErr("compose.yaml", 6, 9, "volumes.data must be a mapping or null")}},
		{name: "top-level volumes written as a list",
			files: oneFile(app + "volumes:\n  - data\n"),
			want:  []want{parseErr("compose.yaml", 5, 3, "volumes must be a mapping")}},
		{name: "service volumes written as a string",
			files: oneFile(app + "    volumes: \"oops\"\n"),
			want:  []want{parseErr("compose.yaml", 4, 14, "services.app.volumes must be a array")}},
		{name: "volumes written as a list in the override file",
			files: map[string]string{"compose.yaml": app, "compose.override.yaml": "volumes:\n  - data\n"},
			want:  []want{parseErr("compose.override.yaml", 2, 3, "volumes must be a mapping")}},
		{name: "networks written as a list in an included file",
			files: map[string]string{"compose.yaml": "include:\n  - other.yaml\n" + app, "other.yaml": "networks:\n  - front\n"},
			want:  []want{parseErr("other.yaml", 2, 3, "networks must be a mapping")}},
		{name: "service volumes written as a string in an extended file",
			files: map[string]string{
				"compose.yaml": "services:\n  web:\n    extends: {file: other.yaml, service: base}\n",
				"other.yaml":   "services:\n  base:\n    image: busybox\n    volumes: oops\n"},
			want: []want{parseErr("other.yaml", 4, 14, "services.base.volumes must be a array")}},
		{name: "a key compose does not know",
			files: oneFile("volume:\n  data: {}\n" + app),
			want:  []want{parseErr("compose.yaml", 1, 1, "additional properties 'volume' not allowed")}},
		{name: "a key compose does not know in a service",
			files: oneFile(app + "    volume: [data:/data]\n"),
			want:  []want{parseErr("compose.yaml", 4, 5, "services.app additional properties 'volume' not allowed")}},
		{name: "version written as a number",
			files: oneFile("version: 3\n" + app),
			want:  []want{parseErr("compose.yaml", 1, 10, "version must be a string")}},
		{name: "a list at the top level",
			files: oneFile("- services\n"),
			want:  []want{parseErr("compose.yaml", 1, 1, "top-level object must be a mapping")}},
		{name: "labels with no value",
			files: oneFile(app + "    volumes: [data:/data]\nvolumes:\n  data:\n    labels:\n"),
			want:  []want{parseErr("compose.yaml", 7, 12, "volumes.data.labels must be a mapping")}},
		{name: "a value with a variable is left to compose",
			files: oneFile(app + "    pull_policy: ${POLICY}\n")},
		{name: "merge keys, !reset and !override are read as compose reads them",
			files: map[string]string{
				"compose.yaml": "x-base: &base\n  image: busybox\n  ports: [\"80:80\"]\nservices:\n  app:\n    <<: *base\n" +
					"    environment: !override {A: b}\n",
				"compose.override.yaml": "services:\n  app:\n    ports: !reset []\n"}},
		{name: "a malformed file does not hide the findings of another",
			files: map[string]string{
				"a/compose.yaml": app + "volumes:\n  - data\n",
				"b/compose.yaml": app + "    volumes: [data:/srv/data]\nvolumes:\n  data: {}\n"},
			given: []string{"a/compose.yaml", "b/compose.yaml"},
			want: []want{parseErr("a/compose.yaml", 5, 3, "volumes must be a mapping"),
				{RuleUnprotected, "b/compose.yaml", 6, 3, `volume "data" has no com.ledgerflow.protect=true label`}}},
	})
}

// laughs is the "billion laughs" shape: each anchor nine aliases of the
// one before (9^9 nodes once expanded).
func laughs() string {
	var b strings.Builder
	b.WriteString(`x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	prev := "a"
	for _, n := range "bcdefghi" {
		fmt.Fprintf(&b, "x-%c: &%c [%s*%s]\n", n, n, strings.Repeat("*"+prev+",", 8), prev)
		prev = string(n)
	}
	return b.String()
}

// TestHostileYAMLIsRefused: YAML that would make compose-go run for
// minutes or use gigabytes is a parse error at the place that makes it
// so, and compose-go never sees it (these hung the hook).
func TestHostileYAMLIsRefused(t *testing.T) {
	extendsMany := "services:\n"
	for i := range 300 {
		extendsMany += fmt.Sprintf("  s%d:\n    extends: {file: other.yaml, service: base}\n", i)
	}
	base := "services:\n  base:\n    image: busybox\n    environment:\n"
	for i := range 200 {
		base += fmt.Sprintf("      K%d: v%d\n", i, i)
	}
	runCheckCases(t, []checkCase{
		{name: "nested aliases (billion laughs)",
			files: oneFile(laughs() + app),
			want:  []want{parseErr("compose.yaml", 5, 13, "aliases expand the file past what a check loads")}},
		{name: "nested aliases in a second document",
			files: oneFile(app + "---\n" + laughs()),
			want:  []want{parseErr("compose.yaml", 9, 13, "aliases expand the file past what a check loads")}},
		{name: "an alias inside its own anchor",
			files: oneFile(app + "x-a: &a [1, *a]\n"),
			want:  []want{parseErr("compose.yaml", 4, 13, "alias *a refers to the value that holds it")}},
		{name: "values nested 3000 deep",
			files: oneFile(app + "    x-deep: " + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + "\n"),
			want:  []want{parseErr("compose.yaml", 4, 2949, "values nest more than 64 deep")}},
		{name: "a file extended three hundred times over",
			files: map[string]string{"compose.yaml": extendsMany, "other.yaml": base},
			want:  []want{parseErr("compose.yaml", 3, 21, "the project makes compose load more YAML than a check loads")}},
		{name: "a file of 5 MB",
			files: oneFile(app + "x-big: \"" + strings.Repeat("x", 5<<20) + "\"\n"),
			want:  []want{parseErr("compose.yaml", 1, 1, "bytes, over the 4194304 a compose file may have")}},
	})
}

// TestLargeFilesLoad: a large file written out in full (no alias that
// multiplies it) is checked, not refused as hostile: the review's file of
// 80 large services was.
func TestLargeFilesLoad(t *testing.T) {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := range 260 {
		fmt.Fprintf(&b, `  svc%[1]d:
    image: example/svc%[1]d:1.0
    environment: {A: "1", B: "2", C: "3", D: "4", E: "5", F: "6", G: "7", H: "8"}
    ports: ["%[2]d:8080"]
    volumes: [data%[1]d:/srv/data, ./conf/%[1]d:/srv/conf:ro]
    healthcheck:
      test: [CMD, wget, -q, -O-, "http://localhost:8080/health"]
      interval: 10s
      retries: 5
    labels: {team: core, tier: backend}
    deploy: {resources: {limits: {cpus: "0.5", memory: 256M}}}
`, i, 8000+i)
	}
	b.WriteString("volumes:\n")
	for i := range 260 {
		fmt.Fprintf(&b, "  data%d:\n    labels: {com.ledgerflow.protect: \"true\"}\n", i)
	}
	b.WriteString("  spare:\n") // mounted by no service: no finding
	runCheckCases(t, []checkCase{{name: "260 services written out in full", files: oneFile(b.String())}})
}

// TestUnsetVariablesDoNotDependOnWhoCommits: a variable unset in the
// committer's environment is tolerated in every field (the README says
// so); a value the environment does set is still checked, and an error is
// shown at the value.
func TestUnsetVariablesDoNotDependOnWhoCommits(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "unset variable in a volume spec", files: oneFile(app + "    volumes:\n      - ${DATA}:/srv/data\n")},
		{name: "unset variable in a database's volume spec",
			files: oneFile(strings.Replace(app, "busybox", "postgres:16", 1) + "    volumes:\n      - ${DATA}:/var/lib/postgresql/data\n")},
		{name: "unset variable in mem_limit", files: oneFile(app + "    mem_limit: ${MEM}\n")},
		{name: "unset variable in a healthcheck interval",
			files: oneFile(app + "    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: ${INTERVAL}\n")},
		{name: "unset variable in cpus", files: oneFile(app + "    cpus: ${CPUS}\n")},
		{name: "unset required variable in cpus", files: oneFile(app + "    cpus: ${CPUS:?set CPUS}\n")},
		{name: "unset variable in ports",
			files: oneFile(app + "    ports:\n      - \"${PORT}\"\n      - \"${PORT}:80\"\n      - \"127.0.0.1:${PORT}:80\"\n")},
		{name: "unset variable in a boolean", files: oneFile(app + "    read_only: ${RO}\n")},
		{name: "unset variable in a duration and deploy limits",
			files: oneFile(app + "    stop_grace_period: ${GRACE}s\n    deploy:\n      resources:\n        limits: {cpus: \"${CPUS}\", memory: \"${MEM}\"}\n")},
		{name: "cpus set to a number", files: oneFile(app + "    cpus: ${CPUS}\n"), env: []string{"CPUS=0.5"}},
		{name: "cpus set to a word", files: oneFile(app + "    cpus: ${CPUS}\n"), env: []string{"CPUS=lots"},
			want: []want{parseErr("compose.yaml", 4, 11, "error while interpolating services.app.cpus")}},
		{name: "mem_limit set to a word", files: oneFile(app + "    mem_limit: ${MEM}\n"), env: []string{"MEM=lots"},
			want: []want{parseErr("compose.yaml", 4, 16, "'services[app].mem_limit' invalid size: 'lots'")}},
		{name: "healthcheck interval set to a word",
			files: oneFile(app + "    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: ${INTERVAL}\n"), env: []string{"INTERVAL=soon"},
			want: []want{parseErr("compose.yaml", 6, 17, "'services[app].healthcheck.interval'")}},
		{name: "mem_limit written wrong", files: oneFile(app + "    mem_limit: 12 monkeys\n"),
			want: []want{parseErr("compose.yaml", 4, 16, "'services[app].mem_limit' invalid suffix: 'monkeys'")}},
		{name: "a volume spec written wrong", files: oneFile(app + "    volumes:\n      - \":/data\"\n"),
			want: []want{parseErr("compose.yaml", 5, 9, "invalid spec: :/data: empty section between colons")}},
	})
}

// TestLoadErrorsPointAtTheValue: an error compose-go raises after the YAML
// is read names a path or quotes a value; the finding is at that value, in
// the file that sets it.
func TestLoadErrorsPointAtTheValue(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "bad cpus in the override file",
			files: map[string]string{"compose.yaml": app, "compose.override.yaml": "services:\n  app:\n    cpus: ${CPUS}\n"},
			env:   []string{"CPUS=lots"},
			want:  []want{parseErr("compose.override.yaml", 3, 11, "error while interpolating services.app.cpus")}},
		{name: "bad interpolation in a list item",
			files: oneFile(app + "    command: [\"a\", \"${B:-x\"]\n"),
			want:  []want{parseErr("compose.yaml", 4, 20, "invalid interpolation format for services.app.command.[]")}},
		{name: "a missing include",
			files: oneFile("include:\n  - path: missing/other.yaml\n" + app),
			want:  []want{parseErr("compose.yaml", 2, 11, "missing/other.yaml: no such file or directory")}},
		{name: "a duplicate key",
			files: oneFile("services:\n  web:\n    image: x\n  web:\n    image: y\n"),
			want:  []want{parseErr("compose.yaml", 4, 3, `mapping key "web" already defined at line 2`)}},
		{name: "a duplicate key in an included file",
			files: map[string]string{"compose.yaml": "include:\n  - other.yaml\n" + app,
				"other.yaml": "volumes:\n  a: {}\n  b: {}\n  a: {}\n"},
			want: []want{parseErr("other.yaml", 4, 3, `mapping key "a" already defined at line 2`)}},
	})
}

// TestOneBadFileKeepsTheOthersFindings: a file that cannot be read, or
// whose check panics, costs the other files of the same call nothing.
func TestOneBadFileKeepsTheOthersFindings(t *testing.T) {
	unprotected := app + "    volumes: [data:/srv/data]\nvolumes:\n  data: {}\n"
	good := want{RuleUnprotected, "good/compose.yaml", 6, 3, `volume "data" has no com.ledgerflow.protect=true label`}

	t.Run("a file that cannot be read", func(t *testing.T) {
		// a folder where a file should be: unreadable, even for root
		dir := writeFiles(t, map[string]string{"good/compose.yaml": unprotected, "broken/compose.yaml/README": "x"})
		rep, err := checkOnly(t, dir, nil, "good/compose.yaml", "broken/compose.yaml", "deploy.sh")
		if !errors.Is(err, ErrIO) {
			t.Fatalf("err = %v, want ErrIO", err)
		}
		for _, part := range []string{"broken/compose.yaml: is a directory", "deploy.sh: no such file"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("err = %q, want it to name %q", err, part)
			}
		}
		if rep == nil {
			t.Fatal("no report")
		}
		sameFindings(t, rep.Findings, []want{good})
	})

	t.Run("a FIFO and a device behind a symlink", func(t *testing.T) {
		// neither may block or read forever
		dir := writeFiles(t, map[string]string{"good/compose.yaml": unprotected})
		if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yml"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"zero.yml", "zero.sh"} {
			if err := os.Symlink("/dev/zero", filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := checkOnly(t, dir, nil, "fifo.yml", "zero.yml", "zero.sh", "good/compose.yaml")
		if !errors.Is(err, ErrIO) {
			t.Fatalf("err = %v, want ErrIO", err)
		}
		for _, part := range []string{"fifo.yml: not a regular file", "zero.yml: not a regular file", "zero.sh: not a regular file"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("err = %q, want it to name %q", err, part)
			}
		}
		if rep == nil {
			t.Fatal("no report")
		}
		sameFindings(t, rep.Findings, []want{good})
	})

	t.Run("an included FIFO, an included device and a FIFO .env", func(t *testing.T) {
		// compose-go would open them itself: none may reach it
		dir := writeFiles(t, map[string]string{"good/compose.yaml": unprotected,
			"inc/compose.yaml": "include:\n  - fifo.yaml\n" + app, "dev/compose.yaml": "include:\n  - zero.yaml\n" + app,
			"env/compose.yaml": app})
		for _, fifo := range []string{"inc/fifo.yaml", "env/.env"} {
			if err := syscall.Mkfifo(filepath.Join(dir, fifo), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink("/dev/zero", filepath.Join(dir, "dev", "zero.yaml")); err != nil {
			t.Fatal(err)
		}
		rep, err := checkOnly(t, dir, nil, "inc/compose.yaml", "dev/compose.yaml", "env/compose.yaml", "good/compose.yaml")
		if err != nil {
			t.Fatal(err)
		}
		sameFindings(t, rep.Findings, []want{
			parseErr("dev/compose.yaml", 2, 5, "dev/zero.yaml cannot be read: not a regular file"),
			parseErr("env/compose.yaml", 1, 1, "env/.env cannot be read: not a regular file"),
			good,
			parseErr("inc/compose.yaml", 2, 5, "inc/fifo.yaml cannot be read: not a regular file"),
		})
	})

	t.Run("a script over the size bound", func(t *testing.T) {
		big := "#!/bin/sh\n" + strings.Repeat("echo hi\n", maxFileBytes/8) + "docker compose down -v\n"
		dir := writeFiles(t, map[string]string{"good/compose.yaml": unprotected, "big.sh": big})
		rep, err := checkOnly(t, dir, nil, "big.sh", "good/compose.yaml")
		if err != nil {
			t.Fatal(err)
		}
		sameFindings(t, rep.Findings, []want{
			{RuleDestructive, "big.sh", 1, 1, "it was not checked for destructive docker commands"},
			good,
		})
	})

	t.Run("a file whose check panics", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"good/compose.yaml": unprotected, "crash/compose.yaml": app})
		orig := checkUnitFunc
		t.Cleanup(func() { checkUnitFunc = orig })
		checkUnitFunc = func(ctx context.Context, req Request, files []string) ([]Finding, []declaredVolume, error) {
			if strings.Contains(files[0], "crash") {
				panic("boom")
			}
			return orig(ctx, req, files)
		}
		rep, err := checkOnly(t, dir, nil, "good/compose.yaml", "crash/compose.yaml")
		if err != nil {
			t.Fatal(err)
		}
		sameFindings(t, rep.Findings, []want{
			parseErr("crash/compose.yaml", 1, 1, internalErrorMessage+" (boom, in "+
				"github.com/ledger-docker/ledger-docker/internal/check.TestOneBadFileKeepsTheOthersFindings"),
			good,
		})
	})
}
