package check_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// TestGitCommitHook runs ledger-precommit as a plain git pre-commit hook in
// a temporary repository: a compose file with an unprotected volume is
// refused with the finding, and accepted once --fix has added the label.
func TestGitCommitHook(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed for this test")
	}
	hook := testenv.Binary(t, "ledger-precommit")
	repo := t.TempDir()
	env := testenv.Environ(
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "LEDGER_CHECK_ENGINE=0",
		"XDG_CONFIG_HOME="+t.TempDir(), "LEDGER_PROTECT_LABEL=")
	run := func(name string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = repo, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(name string, args ...string) {
		t.Helper()
		if out, err := run(name, args...); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	must("git", "init", "-q")
	script := "#!/bin/sh\nexec '" + hook + "'\n"
	if err := os.WriteFile(filepath.Join(repo, ".git", "hooks", "pre-commit"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	compose := `services:
  db:
    image: postgres:16
    volumes:
      - pgdata:/var/lib/postgresql/data   # the ledger
volumes:
  pgdata:
    driver: local
`
	if err := os.WriteFile(filepath.Join(repo, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	must("git", "add", "compose.yaml")

	out, err := run("git", "commit", "-q", "-m", "add db")
	if err == nil {
		t.Fatalf("commit accepted, want it refused:\n%s", out)
	}
	for _, want := range []string{
		`compose.yaml:7:3: error: volume "pgdata" has no com.ledgerflow.protect=true label`,
		"[volume-unprotected]",
		"ledger-precommit: 1 error, 0 warnings",
		`run "ledger-precommit --fix"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("refused commit's output lacks %q:\n%s", want, out)
		}
	}
	if _, err := run("git", "rev-parse", "--verify", "-q", "HEAD"); err == nil {
		t.Fatal("a commit was made")
	}

	if out, err := run(hook, "--fix"); err != nil {
		t.Fatalf("ledger-precommit --fix: %v\n%s", err, out)
	}
	fixed, _ := os.ReadFile(filepath.Join(repo, "compose.yaml"))
	want := strings.Replace(compose, "  pgdata:\n    driver", "  pgdata:\n    labels:\n      com.ledgerflow.protect: \"true\"\n    driver", 1)
	if string(fixed) != want {
		t.Errorf("--fix wrote:\n%s\nwant:\n%s", fixed, want)
	}
	must("git", "add", "compose.yaml")
	if out, err := run("git", "commit", "-q", "-m", "add db, protected"); err != nil {
		t.Fatalf("commit refused after --fix: %v\n%s", err, out)
	}
}
