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
	RuleParse            = "compose-parse-error"
	RuleUnprotected      = "volume-unprotected"
	RuleUnprotectedCache = "volume-unprotected-cache"
	RuleDatabaseData     = "database-data-not-persisted"
	RuleRedisDefault     = "redis-data-not-persisted"
	RuleExternal         = "volume-external"
	RuleDestructive      = "destructive-command"
	RuleEngineLabel      = "protect-label-not-on-engine"
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
		Summary:  "A named, non-external volume that a service mounts writable does not carry the protect label.",
		Rationale: "`docker compose down -v`, `docker volume prune` (every unused volume on engines older than API 1.42) " +
			"and a volume recreated by `compose up` delete its data. `ledger_docker` refuses to delete a volume " +
			"labelled `com.ledgerflow.protect=true` (or with a key the configuration adds: `protect_label`, " +
			"`protect_labels`, `LEDGER_PROTECT_LABEL`); an unlabelled volume only gets a snapshot before it goes. " +
			"Services of every profile count, whatever `COMPOSE_PROFILES` selects. A volume holds nothing a " +
			"deletion would lose, and is not reported, when no service mounts it (compose never creates it), when " +
			"every mount of it is read-only, or when it is a `local` volume binding a host folder (`driver_opts` " +
			"`type: none`, `o: bind`) or mounting a network share (`type: nfs`, `nfs4` or `cifs`): removing the " +
			"volume leaves the files. A volume mounted only where caches " +
			"and build output go is `volume-unprotected-cache` instead.",
		Fix: "Add the label to the volume (`--fix` does it in place, keeping comments and layout):\n\n" +
			"```yaml\nvolumes:\n  pgdata:\n    labels:\n      com.ledgerflow.protect: \"true\"\n```\n\n" +
			"If the volume already exists on an engine, run `docker ledger protect VOLUME` as well: engine labels " +
			"cannot be changed, and compose >= 2.32 would otherwise offer to recreate the volume.",
		Fixable: true,
	},
	{
		ID:       RuleUnprotectedCache,
		Severity: SeverityWarning,
		Summary: "An unprotected volume that services mount only where caches, dependencies and build output go " +
			"(`node_modules`, `.cache`, `cache`, `target`, `build`, `dist`, `bundle`, `.gradle`, `.m2`, `.venv`, ...).",
		Rationale: "`down -v` or `volume prune` delete it like any other volume, but what it holds is made " +
			"again by the next install or build: worth a look, not a refused commit. A volume also mounted " +
			"anywhere else is `volume-unprotected`.",
		Fix: "Add the protect label if the volume is worth keeping after all (`--fix` does not), or say it is " +
			"disposable: `# ledger-check: ignore volume-unprotected-cache` (an `ignore volume-unprotected` mark " +
			"silences it too).",
	},
	{
		ID:       RuleDatabaseData,
		Severity: SeverityError,
		Summary: "A database service keeps its data directory in an anonymous volume, a tmpfs, the container, or a " +
			"parent mount that the image's own VOLUME hides.",
		Rationale: "An anonymous volume has no name to protect: `down -v`, `rm -v` and `volume prune` delete it, " +
			"and a container recreated without compose's anonymous-volume carry-over starts empty. A tmpfs or an " +
			"unmounted data directory is lost when the container goes. A mount on a parent folder of the data " +
			"directory does not hold it when the image declares a VOLUME below it: `postgres:16` with its volume at " +
			"`/var/lib/postgresql` writes to the anonymous volume the engine puts at `/var/lib/postgresql/data` " +
			"(the message names the path to mount). Images are recognised by name, from one table with each " +
			"image's data directory and VOLUMEs: PostgreSQL (postgres, postgis, timescaledb, pgvector; 18 and " +
			"later keep `/var/lib/postgresql/18/docker` under VOLUME `/var/lib/postgresql`, and `postgres` or " +
			"`postgis/postgis` with no version in the tag, `latest` or `alpine` say, is 18 or later: a volume at " +
			"`/var/lib/postgresql/data`, the folder of 17 and earlier, is reported with the path to mount instead, " +
			"unless PGDATA points into it), MySQL, MariaDB, Percona, MongoDB, Redis, Valkey, KeyDB and Dragonfly " +
			"with persistence, Elasticsearch, OpenSearch, SQL Server and Azure " +
			"SQL Edge, ClickHouse, InfluxDB 1, 2 and 3, Cassandra, ScyllaDB, Neo4j, CouchDB, RabbitMQ, Kafka, ZooKeeper, MinIO, " +
			"etcd, CockroachDB, ArangoDB, Couchbase, Solr, QuestDB, Qdrant, Meilisearch, and bitnami variants; " +
			"`database_images` in `x-ledger` or in the user configuration add more. A service built here is " +
			"recognised by its Dockerfile's base image (`FROM postgres:16`, through stages and ARG defaults); " +
			"one with no image, or a Dockerfile that cannot be read, by a POSTGRES_*, MYSQL_*, MARIADB_* or " +
			"MONGO_INITDB_* variable, unless it also names a database host (`*_HOST`, `DATABASE_URL`: an app). " +
			"What moves the data directory is honoured: PGDATA and the like, `--datadir`, `--dbpath`, " +
			"`--data-dir`, MinIO's `server /data`. Services of every profile count. A database image that only " +
			"runs client programs (`pg_dump`, `psql`, `mysqldump`, `mongodump`, `redis-cli`..., directly or in a " +
			"`sh -c` script read with a shell parser) is not the database, and a service that takes its volumes " +
			"from another (`volumes_from`) is judged by that service's mounts. Redis (Valkey, KeyDB) counts as a " +
			"database when its command enables persistence (`--appendonly yes`, or `--save` with a schedule), " +
			"Dragonfly with `--snapshot_cron` or a `--dbfilename`; with no word on it, see " +
			"`redis-data-not-persisted`.",
		Fix: "Mount a named (and protected) volume, or a bind mount, on the path the message names:\n\n" +
			"```yaml\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\nvolumes:\n" +
			"  pgdata:\n    labels:\n      com.ledgerflow.protect: \"true\"\n```",
	},
	{
		ID:       RuleRedisDefault,
		Severity: SeverityWarning,
		Summary: "A Redis, Valkey, KeyDB or Dragonfly service whose command says nothing about persistence keeps " +
			"`/data` in an anonymous volume or the container.",
		Rationale: "With no `--save` or `--appendonly`, Redis saves snapshots to `/data` by default (KeyDB too, " +
			"from its image's keydb.conf), and Dragonfly saves one there whenever it stops: used as a store, its " +
			"data goes with the anonymous volume the image declares there. Used as a cache, it does not matter.",
		Fix: "For a store, mount a named, protected volume at `/data`. For a cache, turn snapshots off " +
			"(`command: [\"redis-server\", \"--save\", \"\"]`; Dragonfly: `[\"dragonfly\", \"--dbfilename=\"]`) " +
			"or say so with `# ledger-check: ignore redis-data-not-persisted`.",
	},
	{
		ID:       RuleExternal,
		Severity: SeverityWarning,
		Summary:  "An external volume that a service mounts writable: compose neither creates nor deletes it, so the file cannot protect it.",
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
		Rationale: "These commands delete volumes without a backup and without looking at labels. Scripts " +
			"run them unattended, in every checkout and on every CI runner. Scripts are parsed as shell (with the " +
			"parser behind shfmt) and every command the shell would run is checked: in pipelines, `&&`/`||` " +
			"chains, `if`/`while`/`for`/`case`, function bodies, subshells, `$(...)` and backquotes, " +
			"here-documents and here-strings fed to a shell (`sh <<EOF`, `bash -s`, `ssh HOST <<EOF`, `su USER <<EOF`), `sh -c`, " +
			"`ssh HOST '...'` and `eval` strings, text echoed into `| sh`, and behind `sudo`, `env`, `exec`, " +
			"`nohup`, `timeout`, `xargs`, `watch`, `find -exec`, `parallel`, `flock`, `runuser`, `caffeinate` and " +
			"`VAR=value`; in `trap` actions and `su -c` strings; through the " +
			"script's own functions (`dc() { docker compose \"$@\"; }` then `dc down -v` is reported at the call), " +
			"arrays (`\"${cmd[@]}\"`), `set --` and `sh -c STRING NAME ARGS`. `${VAR:+-v}` may be nothing or " +
			"`-v`, `${VAR:-x}` the unknown value or `x`: both are checked. A value too long to follow gives a " +
			"warning that its line was not checked. What is not run is not reported: comments, `echo` " +
			"arguments, here-documents fed to `cat` or `tee`. Makefile recipes (`@`/`-`/`+` prefixes, `\\` " +
			"continuations, `$$`, `$(VAR)`, `$(shell ...)`, `define` blocks) and CI script blocks (GitHub Actions " +
			"`run:`, GitLab CI `script:`/`before_script:`/`after_script:`, CircleCI, Drone, Woodpecker, Taskfile, " +
			"Azure Pipelines) and a Jenkinsfile's `sh` steps are shell too; findings point at the command in the " +
			"file. A variable assigned a literal value is followed (`DC := docker compose` in a Makefile, " +
			"`DC=\"docker compose\"` in a script, GitLab `variables:`, GitHub `env:`): `$(DC) down -v` is reported " +
			"too. Any other expansion is a word the check cannot know, and alone and unquoted it may also expand " +
			"to nothing: `docker compose $FLAGS down -v` is reported. Text the shell parser rejects is still " +
			"read: as parsed up to the error, then line by line (there a command quoted on a broken line can be " +
			"reported). A command line is read by the wrapper's own parser (the same flags, `--help` and " +
			"`--dry-run` included), so the check and `ledger_docker` agree on it.",
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
