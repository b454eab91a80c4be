package check

// Severity of a finding. Errors fail the check (exit 1); warnings are shown
// and do not.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Rule ids.
const (
	RuleParse        = "compose-parse-error"
	RuleUnprotected  = "volume-unprotected"
	RuleDatabaseData = "database-data-not-persisted"
	RuleExternal     = "volume-external"
	RuleDestructive  = "destructive-command"
	RuleEngineLabel  = "protect-label-not-on-engine"
)

// Rule documents one check (dclint style): README.md's rule reference is generated from
// this table (go test ./internal/check -run TestRulesDoc -update).
type Rule struct {
	ID        string
	Severity  Severity
	Summary   string
	Rationale string
	Fix       string
	// Fixable: --fix repairs it.
	Fixable bool
}

// Rules lists every rule in the order the documentation shows them.
var Rules = []Rule{
	{
		ID:       RuleUnprotected,
		Severity: SeverityError,
		Summary:  "A named, non-external volume does not carry the protect label.",
		Rationale: "`docker compose down -v`, `docker volume prune` (every unused volume on engines older than API 1.42) " +
			"and a volume recreated by `compose up` delete its data. `ledger_docker` refuses to delete a volume " +
			"labelled `com.ledgerflow.protect=true` (or with a key the configuration adds: `protect_label`, " +
			"`protect_labels`, `LEDGER_PROTECT_LABEL`); an unlabelled volume only gets a snapshot before it goes.",
		Fix: "Add the label to the volume (`--fix` does it in place, keeping comments and layout):\n\n" +
			"```yaml\nvolumes:\n  pgdata:\n    labels:\n      com.ledgerflow.protect: \"true\"\n```\n\n" +
			"If the volume already exists on an engine, run `docker ledger protect VOLUME` as well: engine labels " +
			"cannot be changed, and compose >= 2.32 would otherwise offer to recreate the volume.",
		Fixable: true,
	},
	{
		ID:       RuleDatabaseData,
		Severity: SeverityError,
		Summary: "A database service (PostgreSQL, MySQL/MariaDB, MongoDB, Redis with persistence, ...) keeps its " +
			"data directory in an anonymous volume, a tmpfs, or nowhere.",
		Rationale: "An anonymous volume has no name to protect: `down -v`, `rm -v` and `volume prune` delete it, " +
			"and a container recreated without compose's anonymous-volume carry-over starts empty. A tmpfs or an " +
			"unmounted data directory is lost when the container goes. Images are recognised by name (postgres, " +
			"postgis, timescaledb, mysql, mariadb, percona, mongo, redis, valkey, and their bitnami variants) or, " +
			"for services built locally, by their POSTGRES_*, MYSQL_*, MARIADB_* or MONGO_INITDB_* environment. " +
			"PostgreSQL's PGDATA is honoured. Redis counts as a database when its command enables persistence " +
			"(`--appendonly yes`, or `--save` with a schedule).",
		Fix: "Mount a named (and protected) volume, or a bind mount, on the data directory:\n\n" +
			"```yaml\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\nvolumes:\n" +
			"  pgdata:\n    labels:\n      com.ledgerflow.protect: \"true\"\n```",
	},
	{
		ID:       RuleExternal,
		Severity: SeverityWarning,
		Summary:  "An external volume: compose neither creates nor deletes it, so the file cannot protect it.",
		Rationale: "Labels of an external volume are set when it is created, outside this file. " +
			"`docker volume rm` or `docker volume prune` can still delete it unless it carries the protect label " +
			"on the engine.",
		Fix: "Protect it where it lives: `docker ledger protect NAME` on each engine that holds it " +
			"(or create it with `docker volume create --label com.ledgerflow.protect=true NAME`).",
	},
	{
		ID:       RuleDestructive,
		Severity: SeverityError,
		Summary: "A script, Makefile or CI file runs `docker compose down -v` or `rm -v` (`docker-compose` too), " +
			"`docker volume rm`, `docker volume prune`, `docker rm -v` or `docker system prune --volumes` directly.",
		Rationale: "These commands delete volumes without a backup and without looking at labels. Scripts run " +
			"them unattended, in every checkout and on every CI runner. Lines are read as shell words " +
			"(quotes, `\\` continuations, `&&`, `;` and `|` chains, `sudo` and `VAR=value` prefixes, Makefile " +
			"`@`/`-` prefixes, YAML `run:` and `- ` prefixes); comments are ignored. A variable that holds the " +
			"command (`DC := docker compose` in a Makefile, `DC=\"docker compose\"` in a script) is followed: " +
			"`$(DC) down -v` is reported too. A command line is read by the wrapper's own parser (the same " +
			"flags, `--help` and `--dry-run` included), so the check and `ledger_docker` agree on it.",
		Fix: "Run the command through `ledger_docker` (which blocks protected volumes and snapshots the others " +
			"first), e.g. `ledger_docker compose down -v`, or drop `-v` / `--volumes`.",
	},
	{
		ID:       RuleEngineLabel,
		Severity: SeverityWarning,
		Summary: "The file protects a volume that already exists on the engine without the protect label " +
			"(checked only when an engine answers within a quarter of a second).",
		Rationale: "Engine labels cannot change after a volume is created. Compose >= 2.32 notices that the " +
			"volume's configuration (its labels included) changed and offers to recreate it: answering yes " +
			"deletes the data. Until then the engine does not see the volume as protected.",
		Fix: "Run `docker ledger protect VOLUME`: it snapshots the volume, recreates it with the label and the " +
			"configuration hash compose expects, copies the data back and verifies every file.",
	},
	{
		ID:        RuleParse,
		Severity:  SeverityError,
		Summary:   "The compose file cannot be read (YAML syntax, bad interpolation, missing include).",
		Rationale: "A file compose cannot load cannot be checked, and will not deploy either.",
		Fix:       "Fix the file at the position shown (the message is the parser's own).",
	},
}
