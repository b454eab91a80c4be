package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/intercept/intercepttest"
)

// The script rule and the wrapper agree on every command line of the
// wrapper's parser table: a line is reported exactly when intercept.Parse
// finds an operation that deletes volumes (compose up, which the wrapper
// checks for recreated volumes, is an ordinary command in a script).
func TestScriptRuleAgreesWithTheWrapper(t *testing.T) {
	dir := t.TempDir()
	for i, l := range intercepttest.Lines {
		if len(l.Env) > 0 {
			continue // a script's line does not carry the environment
		}
		file := filepath.Join(dir, "s.sh")
		if err := os.WriteFile(file, []byte("#!/bin/sh\n"+l.Argv+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := checkScript(scriptFile{path: file, kind: kindShell})
		if err != nil {
			t.Fatal(err)
		}
		want := l.Op != "" && l.Op != "compose up"
		if (len(got) > 0) != want {
			t.Errorf("line %d %q (op %q): the script rule reports %v", i, l.Argv, l.Op, got)
		}
		if want && len(got) == 1 && !strings.Contains(got[0].Message, strings.TrimPrefix(l.Op, "compose ")) {
			t.Errorf("%q: message %q does not name %q", l.Argv, got[0].Message, l.Op)
		}
	}
}

// The script rule follows every wrapper it knows to the same answer: each
// line of the wrapper's parser table, run through a wrapper, is reported
// exactly when the line alone is, once, naming the same operation.
func TestScriptRuleFollowsWrappers(t *testing.T) {
	wrappers := []struct {
		name string
		src  func(argv, prog, args string) string
	}{
		{"quoted unknown sudo", func(argv, _, _ string) string { return `"$SUDO" ` + argv }},
		{"quoted default sudo", func(argv, _, _ string) string { return `"${SUDO:-}" ` + argv }},
		{"function running its arguments", func(argv, _, _ string) string { return "run() { \"$@\"; }\nrun " + argv }},
		{"function wrapping the program", func(_, prog, args string) string {
			return "d() {\n  " + prog + " \"$@\"\n}\nd " + args
		}},
		{"function wrapping a function", func(_, prog, args string) string {
			return "d() { " + prog + " \"$@\"; }\nw() { d \"$@\"; }\nw " + args
		}},
		{"array holding the command", func(argv, _, _ string) string { return "cmd=(" + argv + ")\n\"${cmd[@]}\"" }},
		{"array holding the arguments", func(_, prog, args string) string {
			return "args=(" + args + ")\n" + prog + " \"${args[@]}\""
		}},
		{"set --", func(argv, _, _ string) string { return "set -- " + argv + "\n\"$@\"" }},
		{"watch", func(argv, _, _ string) string { return "watch -n 5 " + argv }},
		{"find -exec", func(argv, _, _ string) string { return "find . -type f -exec " + argv + ` \;` }},
		{"parallel", func(argv, _, _ string) string { return "parallel -j 2 ::: '" + argv + "'" }},
		{"sh -c with arguments", func(_, prog, args string) string { return "sh -c '" + prog + ` "$@"' sh ` + args }},
		{"timeout, nice and nohup", func(argv, _, _ string) string { return "timeout --signal KILL 60 nice -n 5 nohup " + argv }},
		{"time and command", func(argv, _, _ string) string { return "time command " + argv }},
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "s.sh")
	for _, w := range wrappers {
		t.Run(w.name, func(t *testing.T) {
			for i, l := range intercepttest.Lines {
				if len(l.Env) > 0 {
					continue
				}
				prog, args, _ := strings.Cut(l.Argv, " ")
				src := "#!/bin/bash\n" + w.src(l.Argv, prog, args) + "\n"
				if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				got, err := checkScript(scriptFile{path: file, kind: kindShell})
				if err != nil {
					t.Fatal(err)
				}
				want := l.Op != "" && l.Op != "compose up"
				if (len(got) > 0) != want || len(got) > 1 {
					t.Errorf("line %d %q (op %q) in\n%s: the script rule reports %v", i, l.Argv, l.Op, src, got)
				}
				if want && len(got) == 1 && !strings.Contains(got[0].Message, strings.TrimPrefix(l.Op, "compose ")) {
					t.Errorf("%s: message %q does not name %q", src, got[0].Message, l.Op)
				}
			}
		})
	}
}
