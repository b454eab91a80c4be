#!/bin/bash
# Entrypoint of the e2e PostgreSQL 15 image, modelled on the official image's:
# initialise the cluster on first start (POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD), run
# /docker-entrypoint-initdb.d/* once, then exec postgres as the postgres user.
set -Eeo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

# `docker run IMAGE -c foo=bar` means `postgres -c foo=bar`.
if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

log() { printf '%s\n' "docker-entrypoint: $*" >&2; }

process_init_file() {
	local f=$1
	case "$f" in
	*.sh)
		if [ -x "$f" ]; then
			log "running $f"
			"$f"
		else
			log "sourcing $f"
			# shellcheck disable=SC1090
			. "$f"
		fi
		;;
	*.sql)
		log "running $f"
		psql_init -f "$f"
		;;
	*.sql.gz)
		log "running $f"
		gzip -dc "$f" | psql_init
		;;
	*) log "ignoring $f" ;;
	esac
}

psql_init() {
	PGPASSWORD="${POSTGRES_PASSWORD:-}" psql -v ON_ERROR_STOP=1 --quiet --no-password --no-psqlrc \
		--username "$POSTGRES_USER" --dbname "$POSTGRES_DB" "$@"
}

init_cluster() {
	export POSTGRES_USER="${POSTGRES_USER:-postgres}"
	export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
	local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
		log "error: database is uninitialized and superuser password is not specified."
		log "       set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)."
		exit 1
	fi

	# shellcheck disable=SC2086
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
		--auth-local=trust --auth-host="$auth" $POSTGRES_INITDB_ARGS >/dev/null
	printf '\nlisten_addresses = '"'*'"'\n' >>"$PGDATA/postgresql.conf"
	printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

	# A temporary server on the socket only, for the init scripts.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
	if [ "$POSTGRES_DB" != postgres ]; then
		POSTGRES_DB=postgres psql_init --set db="$POSTGRES_DB" <<-'SQL'
			CREATE DATABASE :"db";
		SQL
	fi
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		process_init_file "$f"
	done
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	log "PostgreSQL init process complete; ready for start up."
}

if [ "$1" = postgres ]; then
	if [ "$(id -u)" = 0 ]; then
		mkdir -p "$PGDATA" /var/run/postgresql
		chown postgres:postgres "$PGDATA" /var/run/postgresql
		chmod 0700 "$PGDATA" || :
		chmod 3777 /var/run/postgresql || :
		exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
	fi
	if [ ! -s "$PGDATA/PG_VERSION" ]; then
		init_cluster
	fi
fi

exec "$@"
