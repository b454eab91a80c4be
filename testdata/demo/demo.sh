#!/bin/bash
# make demo: ledger-docker's main job on the LedgerFlow sample app, start to
# finish, offline. It runs the built binaries (bin/) as `docker` would run
# them once installed, in a private setting (its own DOCKER_CONFIG with the
# Compose plugin and docker-ledger, its own XDG folders, no LEDGER_* from
# the caller), on a copy of testdata/sampleapp under a project name of its
# own, with the test images (PostgreSQL and Django from Debian packages).
# Each command is printed before it runs, with its real output.
#
# It deletes what it made (containers, network, its own two volumes, its
# folder) unless DEMO_KEEP=1, and never touches any other volume.
#
# usage: testdata/demo/demo.sh   (make demo builds bin/ and the images first)
# env:   DEMO_KEEP=1 keeps the project; DEMO_ROWS (default 5000) seeds rows
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rows=${DEMO_ROWS:-5000}
real_docker=$(command -v docker) || {
	echo "demo: no docker on PATH" >&2
	exit 1
}
for b in ledger_docker ledger_docker-full docker-ledger ledger-precommit; do
	[ -x "$repo/bin/$b" ] || {
		echo "demo: bin/$b is missing: run make demo (it builds them)" >&2
		exit 1
	}
done

# --- the private setting --------------------------------------------------
# The engine the caller's docker uses, resolved with the caller's settings.
host=$("$real_docker" context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)
host=${DOCKER_HOST:-${host:-unix:///var/run/docker.sock}}
compose_plugin=$("$real_docker" info --format '{{range .ClientInfo.Plugins}}{{if eq .Name "compose"}}{{.Path}}{{end}}{{end}}' 2>/dev/null || true)
[ -n "$compose_plugin" ] || {
	echo "demo: the docker compose plugin is missing: run make demo (it builds it)" >&2
	exit 1
}
images=$(cd "$repo" && go test -count=1 -run '^TestImages$' -v ./internal/testenv/ 2>&1) || {
	printf '%s\n' "$images" | tail -n 20 >&2
	echo "demo: the sample app's images could not be built (above)" >&2
	exit 1
}
image() { printf '%s\n' "$images" | sed -n "s/.* image \(ledger-e2e\/$1:[0-9a-f]*\)$/\1/p" | head -n 1; }
pg_image=$(image postgres)
web_image=$(image django)

id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
project=ledgerdemo-$id
work=$(mktemp -d "${TMPDIR:-/tmp}/ledger-demo-XXXXXX")
app=$work/ledgerflow
mkdir -p "$work/bin" "$work/docker/cli-plugins" "$work/xdg"/{config,state,data,cache}
ln -s "$repo/bin/ledger_docker" "$work/bin/docker"
ln -s "$compose_plugin" "$work/docker/cli-plugins/docker-compose"
ln -s "$repo/bin/docker-ledger" "$work/docker/cli-plugins/docker-ledger"
cp -r "$repo/testdata/sampleapp" "$app"
rm -f "$app/.env"
password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
sed "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD=$password/; s/^LEDGERFLOW_PORT=.*/LEDGERFLOW_PORT=0/" \
	"$app/.env.example" >"$app/.env"
cat >>"$app/.env" <<EOF
COMPOSE_PROJECT_NAME=$project
POSTGRES_IMAGE=$pg_image
LEDGERFLOW_WEB_IMAGE=$web_image
EOF
chmod 600 "$app/.env"

# Only what the demo sets, plus the basics: no LEDGER_*, DOCKER_* or
# COMPOSE_* of the caller's.
demo_env=(env -i "PATH=$work/bin:$PATH" "HOME=${HOME:-$work}" "USER=${USER:-}" "TERM=${TERM:-dumb}"
	"DOCKER_HOST=$host" "DOCKER_CONFIG=$work/docker"
	"XDG_CONFIG_HOME=$work/xdg/config" "XDG_STATE_HOME=$work/xdg/state"
	"XDG_DATA_HOME=$work/xdg/data" "XDG_CACHE_HOME=$work/xdg/cache")

cleanup() {
	local status=$?
	trap - EXIT INT TERM HUP
	trap "" PIPE # a closed output must not stop the clean-up
	set +e # clean up all there is, even with nowhere left to print
	cd /
	if [ "${DEMO_KEEP:-0}" = 1 ]; then
		cat <<EOF

DEMO_KEEP=1: the demo project $project is still there (folder $app).
To remove it:
  cd $app && env DOCKER_CONFIG=$work/docker docker compose down
  $real_docker volume rm ${project}_pgdata ${project}_media ${project}_cache
  rm -rf $work
EOF
		exit "$status"
	fi
	echo
	echo "== cleaning up: the demo's containers, network, its three volumes and $work"
	(cd "$app" && "${demo_env[@]}" "$real_docker" compose down --remove-orphans >/dev/null 2>&1) || true
	# protected volumes: only the real docker deletes them, and only these
	"$real_docker" volume rm -f "${project}_pgdata" "${project}_media" "${project}_cache" >/dev/null 2>&1 || true
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

# step prints a command line, runs it in the demo's setting from the app's
# folder, and prints its exit status when it is not 0.
step() {
	printf '\n$ %s\n' "$*"
	local status=0
	(cd "$app" && "${demo_env[@]}" "$@") || status=$?
	[ "$status" = 0 ] || printf '[exit status %d]\n' "$status"
	return "$status"
}
say() { printf '\n== %s\n' "$*"; }
count() {
	(cd "$app" && "${demo_env[@]}" docker compose exec -T db \
		psql -U ledgerflow -d ledgerflow -Atc 'SELECT count(*) FROM ledger_transaction')
}

say "LedgerFlow (Django + PostgreSQL) as project $project, in $app"
echo "docker here is ledger_docker (bin/), the engine is $host; images $pg_image, $web_image"
step docker compose up -d --wait --quiet-pull
step docker compose exec -T web python3 manage.py loaddata sample
step docker compose exec -T web python3 manage.py seed --transactions "$rows" --random-seed 0.5
before=$(count)
echo "ledger_transaction rows: $before"

say "1. One command wipes a Compose database: ledger_docker refuses it"
status=0
step docker compose down -v || status=$?
if [ "$status" != 77 ]; then
	echo "demo: want exit status 77 (blocked), got $status" >&2
	exit 1
fi
step docker volume ls --filter "label=com.docker.compose.project=$project"

say "2. A verified database backup (test-restored before it is kept)"
step docker ledger backup --db-only
step docker ledger list
file=$(ls -t "$app"/backups/dev/*_db_backup_*.sql.gz | head -n 1)

say "3. Data lost inside the database (no wrapper can stop that): the backup brings it back"
step docker compose exec -T db psql -U ledgerflow -d ledgerflow -c 'DELETE FROM ledger_transaction'
echo "ledger_transaction rows: $(count)"
step docker ledger restore --yes "backups/dev/$(basename "$file")"
after=$(count)
echo "ledger_transaction rows: $after (before the loss: $before)"
if [ "$after" != "$before" ]; then
	echo "demo: the restore did not bring the rows back" >&2
	exit 1
fi

say "4. The pre-commit check: a copy of compose.yaml whose database volume lost its label"
sed '/^  pgdata:$/,/^  media:$/{/labels:/d;/com.ledgerflow.protect/d}' "$app/compose.yaml" >"$app/compose.unprotected.yaml"
status=0
step "$repo/bin/ledger-precommit" --no-engine compose.unprotected.yaml || status=$?
if [ "$status" = 0 ]; then
	echo "demo: the pre-commit check found nothing" >&2
	exit 1
fi

say "Done: down -v refused, a verified backup, a restore that brought back $after rows, an unprotected volume caught before commit"
