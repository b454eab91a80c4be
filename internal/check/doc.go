package check

import (
	"fmt"
	"strings"
)

// RulesMarkdown is the README section that documents every rule
// (README.md, "Pre-commit checks"; regenerate with go test ./internal/check -run TestRulesDoc -update).
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString(`## Pre-commit checks

` + "`ledger-precommit [FILE...]`" + ` (the pre-commit hook) and ` + "`docker ledger check [FILE...]`" + ` run the same
rules. Without files they check the git repository around the current folder: ` + "`compose*.y*ml`" + `,
` + "`docker-compose*.y*ml`" + `, the files of ` + "`COMPOSE_FILE`" + ` (environment or ` + "`.env`" + `), shell scripts, Makefiles and
CI files. Compose files are loaded with compose-go as compose loads them (` + "`include:`" + `, ` + "`extends:`" + `, ` + "`.env`" + `
interpolation, the override file unless git ignores it: a developer's own override is not what is
committed), tolerating unset variables (where an empty value does not fit a typed field, a value that
fits is used), after a check against compose's own schema. A file named like a fragment of the base
file beside it (` + "`compose.prod.yaml`" + `, ` + "`docker-compose-ci.yml`" + `) is loaded over that base, as
` + "`docker compose -f compose.yaml -f compose.prod.yaml`" + ` loads it (alone it would lack the services and
volumes it adds to); one that could be a project of its own (each service names an image or a build) is
also loaded alone, and what only that shows is a warning. Unless ` + "`COMPOSE_FILE`" + ` names it: the files ` + "`COMPOSE_FILE`" + ` lists are loaded as it
says, together and without the override file. Findings point at the file that set what they are about
(a fragment that changes a service's image, or a volume's labels). Hostile input is bounded: a compose file over 4 MiB, nested deeper than 64 levels,
larger than about 20,000 lines once aliases are expanded, or whose aliases alone add more than the
loader's budget (the "billion laughs" shape) is a ` + "`compose-parse-error`" + `, never loaded; a script over
1 MiB gets a warning that it was not checked; a path given that is no regular file (missing, a folder, a
FIFO, a device), whatever its name, cannot be read (exit 2). One file's problem never hides the other files' findings; when nothing is a compose file or a
script, the command says so.

Each finding prints as ` + "`file:line:col: severity: message [rule]`" + `; ` + "`--format json`" + ` prints one JSON report.
Exit status: 0 when clean or warnings only, 1 when there is an error, 2 for a usage error or a file that
cannot be read or written. ` + "`--fix`" + ` adds the protect label to unprotected volumes in place (comments,
order, quoting, indentation and line ends are kept) and checks again. ` + "`--list-rules`" + ` lists the rules.

A volume is protected when any protect label key has the value ` + "`true`" + ` (any letter case):
` + "`com.ledgerflow.protect`" + ` always, plus the keys that ` + "`protect_label`" + `, ` + "`protect_labels`" + ` (configuration
file) and ` + "`LEDGER_PROTECT_LABEL`" + ` add; ` + "`--fix`" + ` writes the first added key, else ` + "`com.ledgerflow.protect`" + `.
The engine rule runs only when a container engine answers within
250 ms (` + "`LEDGER_CHECK_ENGINE_TIMEOUT`" + `, e.g. ` + "`2s`" + `, changes that); ` + "`--no-engine`" + ` or
` + "`LEDGER_CHECK_ENGINE=0`" + ` skips it.

A finding can be silenced where it is, for a volume that is meant to be disposable: a comment
` + "`# ledger-check: ignore RULE...`" + ` at the end of the reported line, or alone on the line before it
(without rules: every rule); ` + "`# ledger-check: ignore-file RULE...`" + ` anywhere silences the whole file.
` + "`--fix`" + ` leaves silenced volumes alone; the JSON report counts them (` + "`suppressed`" + `).

Install: with the pre-commit framework, add this repository's hooks to ` + "`.pre-commit-config.yaml`" + `
(` + "`ledger-check`" + ` checks the files it knows by name; ` + "`ledger-check-fix`" + ` also adds missing labels;
` + "`ledger-check-scripts`" + ` checks shell scripts without an extension, such as ` + "`bin/reset`" + `, which pre-commit
gives it when they are executable and start with a shell shebang, never a YAML file):

` + "```yaml" + `
repos:
  - repo: https://github.com/ledger-docker/ledger-docker
    rev: v0.1.0
    hooks:
      - id: ledger-check
      - id: ledger-check-scripts
` + "```" + `

Without the framework, ` + "`./install.sh --hook DIR`" + ` installs a plain git pre-commit hook into the repository
at DIR that runs ` + "`ledger-precommit`" + ` on the staged files (the same file patterns, and files without an extension
whose first line is a shell shebang, executable or not: discovery without files finds those too). The checker
reads the working copy, so the hook refuses a commit when one of those files also has changes that are not
staged: stage them, or stash them with ` + "`git stash --keep-index`" + `, and commit again (the framework stashes them
itself).

| Rule | Severity | What it finds |
|------|----------|---------------|
`)
	for _, r := range Rules {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", r.ID, r.ID, r.Severity, r.Summary)
	}
	for _, r := range Rules {
		fmt.Fprintf(&b, "\n### %s\n\n**Severity:** %s", r.ID, r.Severity)
		if r.Fixable {
			b.WriteString(" (fixed by `--fix`)")
		}
		fmt.Fprintf(&b, "\n\n%s\n\n**Why:** %s\n\n**Fix:** %s\n", r.Summary, r.Rationale, r.Fix)
	}
	return b.String()
}
