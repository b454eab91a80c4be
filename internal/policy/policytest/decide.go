// Package policytest holds the command lines of policy's decision table
// with the verdict and volumes policy.Decide must give for each in the
// test world (internal/policy's tests build it): one table that policy's
// test runs and the wrapper's front test replays, so that both see every
// line.
package policytest

// Row is one command line (split on spaces), the environment it runs
// with, whether the engine is down, and the expected verdict ("pass",
// "backup", "block") and volumes (sorted, comma-separated, "!" after a
// protected one, anonymous volumes by their short name).
type Row struct {
	Argv    string
	Env     []string
	Down    bool
	Verdict string
	Vols    string
}

// The compose files of the test world, as -f flags relative to
// internal/policy.
const (
	ShopF = "-f testdata/shop/compose.yaml"
	BlogF = "-f testdata/blog/compose.yaml"
)

const (
	protect         = "com.ledgerflow.protect"
	shopAll         = "A1,shop_dbdata!,shop_media,shop_toolcache"
	legacyPruneKept = "A2,blog_logs,labelsonly_cache,orphan,renamed_data,shop_toolcache"
)

// Decide is the table.
var Decide = []Row{
	// pass-through: nothing deleted
	{Argv: "docker ps", Verdict: "pass"},
	{Argv: "docker images -a", Verdict: "pass"},
	{Argv: "docker image prune -af", Verdict: "pass"},
	{Argv: "docker network prune -f", Verdict: "pass"},
	{Argv: "docker builder prune -af", Verdict: "pass"},
	{Argv: "docker container prune -f", Verdict: "pass"},
	{Argv: "docker system prune -af", Verdict: "pass"},
	{Argv: "docker system prune --volumes=false -f", Verdict: "pass"},
	{Argv: "docker rm -f lone", Verdict: "pass"},
	{Argv: "docker container rm lone", Verdict: "pass"},
	{Argv: "docker volume ls", Verdict: "pass"},
	{Argv: "docker volume create x", Verdict: "pass"},
	{Argv: "docker volume rm --help keepme", Verdict: "pass"},
	{Argv: "docker --version", Verdict: "pass"},
	{Argv: "docker compose " + ShopF + " down", Verdict: "pass"},
	{Argv: "docker compose " + ShopF + " down --volumes=false", Verdict: "pass"},
	{Argv: "docker compose " + ShopF + " down -t 5 --remove-orphans --rmi all", Verdict: "pass"},
	{Argv: "docker compose " + ShopF + " --dry-run down -v", Verdict: "pass"},
	{Argv: "docker compose " + ShopF + " rm -sf", Verdict: "pass"},
	{Argv: "docker compose " + ShopF + " ps", Verdict: "pass"},
	{Argv: "docker compose " + ShopF + " logs -f", Verdict: "pass"},
	{Argv: "docker-compose " + ShopF + " down", Verdict: "pass"},
	{Argv: "docker-compose " + BlogF + " up -d", Verdict: "pass"},
	{Argv: "docker-compose " + ShopF + " down --rmi all -t 5", Verdict: "pass"},
	{Argv: "docker ps", Down: true, Verdict: "pass"},
	{Argv: "docker compose " + ShopF + " down", Down: true, Verdict: "pass"},

	// compose down -v with a file: every spelling and flag order
	{Argv: "docker compose " + ShopF + " down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " down --volumes", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " down --volumes=true", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " down --volume", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " down -t 5 -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " down --timeout=5 --volumes", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " down -vt5", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " down --remove-orphans -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " down --rmi all -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " down -v web", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose --file testdata/shop/compose.yaml down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose --file=testdata/shop/compose.yaml down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose -ftestdata/shop/compose.yaml down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose --project-directory testdata/shop down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose --project-directory=testdata/shop --profile tools down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " --env-file testdata/renamed/.env down -v", Verdict: "pass"}, // project renamed: none of its volumes exist
	{Argv: "docker -H unix:///var/run/docker.sock compose " + ShopF + " down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker --context=default compose " + ShopF + " down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker -c default -D -l debug compose " + ShopF + " down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker --config /nonexistent --tlsverify compose " + ShopF + " down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + ShopF + " -p other down -v", Verdict: "pass"},
	{Argv: "docker compose -f - down -v", Verdict: "block"}, // stdin: cannot read it without consuming it
	{Argv: "docker compose " + BlogF + " down -v", Verdict: "backup", Vols: "A4,blog_uploads"},
	{Argv: "docker compose " + BlogF + " -f testdata/multi/extra.yaml down -v", Verdict: "backup", Vols: "A4,blog_logs,blog_uploads"},

	// compose Env: COMPOSE_FILE (+ separator), COMPOSE_PROJECT_NAME, COMPOSE_PROFILES, .env
	{Argv: "docker compose down -v", Env: []string{"COMPOSE_FILE=testdata/shop/compose.yaml"}, Verdict: "block", Vols: shopAll},
	{Argv: "docker compose down -v", Env: []string{"COMPOSE_FILE=testdata/blog/compose.yaml:testdata/multi/extra.yaml"}, Verdict: "backup", Vols: "A4,blog_logs,blog_uploads"},
	{Argv: "docker compose down -v", Env: []string{"COMPOSE_FILE=testdata/blog/compose.yaml;testdata/multi/extra.yaml", "COMPOSE_PATH_SEPARATOR=;"}, Verdict: "backup", Vols: "A4,blog_logs,blog_uploads"},
	{Argv: "docker compose down -v", Env: []string{"COMPOSE_FILE=testdata/shop/compose.yaml", "COMPOSE_PROFILES=tools"}, Verdict: "block", Vols: shopAll},
	{Argv: "docker compose " + BlogF + " down -v", Env: []string{"COMPOSE_PROJECT_NAME=renamed"}, Verdict: "pass"},
	{Argv: "docker compose -f testdata/renamed/compose.yaml down -v", Verdict: "block", Vols: "fromdotenv_data!"},
	// protected because the file declares the label, though the engine's volume lacks it
	{Argv: "docker compose -f testdata/renamed/compose.yaml down -v", Env: []string{"COMPOSE_PROJECT_NAME=renamed"}, Verdict: "block", Vols: "renamed_data!"},
	{Argv: "docker compose -f testdata/renamed/compose.yaml -p renamed down -v", Verdict: "block", Vols: "renamed_data!"},
	{Argv: "docker compose down -v", Env: []string{"COMPOSE_PROJECT_NAME=labelsonly"}, Verdict: "block", Vols: "labelsonly_cache,labelsonly_db!"},

	// -p NAME without a file: volumes found by engine label
	{Argv: "docker compose -p labelsonly down -v", Verdict: "block", Vols: "labelsonly_cache,labelsonly_db!"},
	{Argv: "docker compose --project-name=labelsonly down --volumes", Verdict: "block", Vols: "labelsonly_cache,labelsonly_db!"},
	{Argv: "docker compose -p shop down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker compose -p nosuch down -v", Verdict: "pass"},
	{Argv: "docker compose -p labelsonly down", Verdict: "pass"},

	// compose rm -v: anonymous volumes of the project's containers
	{Argv: "docker compose " + ShopF + " rm -v", Verdict: "backup", Vols: "A1"},
	{Argv: "docker compose " + ShopF + " rm -sfv", Verdict: "backup", Vols: "A1"},
	{Argv: "docker compose " + ShopF + " rm -f -s -v web", Verdict: "backup", Vols: "A1"},
	{Argv: "docker compose " + ShopF + " rm -fv db", Verdict: "pass"},
	{Argv: "docker-compose " + ShopF + " rm -fsv", Verdict: "backup", Vols: "A1"},

	// compose up: a volume whose config hash changed is recreated
	{Argv: "docker compose " + ShopF + " up -d", Verdict: "backup", Vols: "shop_media~"},
	{Argv: "docker compose " + ShopF + " up -d -y", Verdict: "backup", Vols: "shop_media~"},
	{Argv: "docker compose " + ShopF + " up --yes --wait", Verdict: "backup", Vols: "shop_media~"},
	{Argv: "docker compose " + ShopF + " create -y", Verdict: "backup", Vols: "shop_media~"},
	{Argv: "docker compose " + BlogF + " up -d", Verdict: "pass"},

	// Compose v1 syntax
	{Argv: "docker-compose " + ShopF + " down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker-compose " + ShopF + " down --volumes", Verdict: "block", Vols: shopAll},
	{Argv: "docker-compose " + ShopF + " down --vol -t 5", Verdict: "block", Vols: shopAll},
	{Argv: "docker-compose --project-directory testdata/shop down -v --remove-orphans", Verdict: "block", Vols: shopAll},
	{Argv: "docker-compose -f testdata/renamed/compose.yaml -p renamed down -v", Verdict: "block", Vols: "renamed_data!"},
	{Argv: "docker-compose " + BlogF + " down -v", Verdict: "backup", Vols: "A4,blog_uploads"},
	{Argv: "docker-compose down -v", Env: []string{"COMPOSE_FILE=testdata/shop/compose.yaml"}, Verdict: "block", Vols: shopAll},
	{Argv: "docker-compose -p labelsonly down -v", Verdict: "pass"}, // v1 always needs the file
	// the docker-compose on PATH may be v2's standalone binary: up is judged as v2's
	{Argv: "docker-compose " + ShopF + " up -d", Verdict: "backup", Vols: "shop_media~"},
	{Argv: "docker-compose " + ShopF + " up -d --yes", Verdict: "backup", Vols: "shop_media~"},
	{Argv: "docker-compose -f testdata/renamed/compose.yaml down -v", Verdict: "block", Vols: "fromdotenv_data!"},
	{Argv: "docker-compose -f testdata/renamed/compose.yaml down -v", Env: []string{"COMPOSE_PROJECT_NAME=renamed"}, Verdict: "block", Vols: "renamed_data!"},
	{Argv: "docker-compose " + ShopF + " --env-file testdata/renamed/.env down -v", Verdict: "pass"},
	{Argv: "docker-compose " + ShopF + " down -v", Env: []string{"COMPOSE_PROFILES=tools"}, Verdict: "block", Vols: shopAll},
	{Argv: "docker-compose -H unix:///var/run/docker.sock " + ShopF + " down -v", Verdict: "block", Vols: shopAll},
	{Argv: "docker-compose --context default " + ShopF + " rm -v", Verdict: "backup", Vols: "A1"},

	// volume rm
	{Argv: "docker volume rm keepme", Verdict: "block", Vols: "keepme!"},
	{Argv: "docker volume rm -f keepme", Verdict: "block", Vols: "keepme!"},
	{Argv: "docker volume remove orphan keepme", Verdict: "block", Vols: "keepme!,orphan"},
	{Argv: "docker volume rm orphan", Verdict: "backup", Vols: "orphan"},
	{Argv: "docker volume rm orphan --force nosuch", Verdict: "backup", Vols: "orphan"},
	{Argv: "docker volume rm nosuch", Verdict: "pass"},
	{Argv: "docker -H tcp://127.0.0.1:2375 volume rm orphan", Verdict: "backup", Vols: "orphan"},

	// volume prune: API 1.41 deletes named volumes too; >= 1.42 anonymous only unless -a
	{Argv: "docker volume prune", Verdict: "backup", Vols: legacyPruneKept},
	{Argv: "docker volume prune -f", Verdict: "backup", Vols: legacyPruneKept},
	{Argv: "docker volume prune -af", Verdict: "backup", Vols: legacyPruneKept},
	{Argv: "docker volume prune -f --filter label!=" + protect + "=true", Verdict: "backup", Vols: legacyPruneKept},
	{Argv: "docker volume prune -f --filter label=" + protect + "=true", Verdict: "pass"},
	{Argv: "docker volume prune -f --filter label=team", Verdict: "backup", Vols: "orphan"},
	{Argv: "docker volume prune -f --filter=label=team=b", Verdict: "pass"},
	{Argv: "docker volume prune -f", Env: []string{"DOCKER_API_VERSION=1.43"}, Verdict: "backup", Vols: "A2"},
	{Argv: "docker volume prune -a -f", Env: []string{"DOCKER_API_VERSION=1.43"}, Verdict: "backup", Vols: legacyPruneKept},
	{Argv: "docker volume prune -f --filter all=true", Env: []string{"DOCKER_API_VERSION=1.43"}, Verdict: "backup", Vols: legacyPruneKept},
	{Argv: "docker volume prune -f --filter all=1 --filter label=team", Env: []string{"DOCKER_API_VERSION=1.43"}, Verdict: "backup", Vols: "orphan"},

	// system prune --volumes
	{Argv: "docker system prune --volumes -f", Verdict: "backup", Vols: legacyPruneKept},
	{Argv: "docker system prune -af --volumes", Verdict: "backup", Vols: legacyPruneKept},
	{Argv: "docker system prune -a --volumes -f", Env: []string{"DOCKER_API_VERSION=1.43"}, Verdict: "backup", Vols: "A2"},
	{Argv: "docker system prune --volumes -f --filter label!=" + protect, Verdict: "backup", Vols: legacyPruneKept},

	// rm -v: anonymous volumes of those containers
	{Argv: "docker rm -v lone", Verdict: "backup", Vols: "A3"},
	{Argv: "docker rm -fv lone", Verdict: "backup", Vols: "A3"},
	{Argv: "docker container rm --volumes lone", Verdict: "backup", Vols: "A3"},
	{Argv: "docker container rm -v dbonly", Verdict: "pass"},
	{Argv: "docker rm -v nosuch", Verdict: "pass"},
	{Argv: "docker rm -v shop-web-1 lone", Verdict: "backup", Vols: "A1,A3"},

	// engine unreachable on a possibly destructive command: fail closed
	{Argv: "docker compose " + ShopF + " down -v", Down: true, Verdict: "block"},
	{Argv: "docker volume rm orphan", Down: true, Verdict: "block"},
	{Argv: "docker volume prune -f", Down: true, Verdict: "block"},
	{Argv: "docker-compose " + ShopF + " down -v", Down: true, Verdict: "block"},
	{Argv: "docker rm -v lone", Down: true, Verdict: "block"},

	// environment lock
	{Argv: "docker compose -p payroll down -v", Verdict: "block", Vols: "payroll_data"},
	{Argv: "docker compose -p payroll down -v", Env: []string{"LEDGER_ENV=prod"}, Verdict: "backup", Vols: "payroll_data"},
	{Argv: "docker --context prod volume rm orphan", Verdict: "block", Vols: "orphan"},
	{Argv: "docker -cprod volume rm orphan", Env: []string{"LEDGER_ENV=prod"}, Verdict: "backup", Vols: "orphan"},
	{Argv: "docker --context prod volume rm keepme", Env: []string{"LEDGER_ENV=prod"}, Verdict: "block", Vols: "keepme!"},
	{Argv: "docker --context prod ps", Verdict: "pass"},
	{Argv: "docker volume rm orphan", Env: []string{"DOCKER_CONTEXT=prod"}, Verdict: "block", Vols: "orphan"},
	{Argv: "docker -H unix:///var/run/docker.sock volume rm orphan", Env: []string{"DOCKER_CONTEXT=prod"}, Verdict: "backup", Vols: "orphan"},
	{Argv: "docker volume rm orphan", Env: []string{"DOCKER_HOST=tcp://127.0.0.1:2375", "DOCKER_CONTEXT=prod"}, Verdict: "backup", Vols: "orphan"},

	// DOCKER_* environment does not change what the command deletes
	{Argv: "docker compose " + ShopF + " down -v", Env: []string{"DOCKER_HOST=tcp://127.0.0.1:2375"}, Verdict: "block", Vols: shopAll},
	{Argv: "docker volume rm orphan", Env: []string{"DOCKER_CONFIG=/nonexistent", "DOCKER_CONTEXT=default"}, Verdict: "backup", Vols: "orphan"},
	{Argv: "docker system prune --volumes -f", Env: []string{"DOCKER_API_VERSION=1.41"}, Verdict: "backup", Vols: legacyPruneKept},
}
