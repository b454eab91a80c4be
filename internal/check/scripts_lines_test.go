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
