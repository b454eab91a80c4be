#!/bin/bash
# Build the e2e image of the sample app (testdata/sampleapp) without a registry,
# in two layers so that editing the app does not rebuild Debian:
#   BASE: mmdebstrap (Debian bookworm, minbase + python3-django + python3-psycopg2)
#         | docker import, with ENV/WORKDIR/CMD set by --change. Built only when
#         the engine does not have it yet.
#   TAG:  BASE plus the app's files in /app (legacy builder, FROM a local image,
#         so no registry is asked).
# The apt sources are this machine's own (../apt-sources.sh reads them now;
# no mirror is written down here).
#
# usage: build.sh TAG BASE APPDIR
# env:   DOCKER (default: docker) - the real docker CLI to import with.
set -euo pipefail

tag=${1:?usage: build.sh TAG BASE APPDIR}
base=${2:?usage: build.sh TAG BASE APPDIR}
app=${3:?usage: build.sh TAG BASE APPDIR}
docker=${DOCKER:-docker}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! "$docker" image inspect "$base" >/dev/null 2>&1; then
	# The machine's own apt sources (fails when there are none).
	sources=$("$here/../apt-sources.sh")
	printf '%s\n' "$sources" | mmdebstrap --variant=minbase --include=python3-django,python3-psycopg2 --quiet \
		--customize-hook='mkdir -p "$1/app/media"' \
		--customize-hook='rm -rf "$1/usr/share/doc" "$1/usr/share/man" "$1/usr/share/info"' \
		bookworm - - |
		"$docker" import \
			--change 'ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8' \
			--change 'WORKDIR /app' \
			--change 'EXPOSE 8000' \
			--change 'LABEL com.ledgerflow.e2e=true' \
			--change 'CMD ["python3", "manage.py", "runserver", "--noreload", "0.0.0.0:8000"]' \
			- "$base" >/dev/null
fi

# The app's .dockerignore keeps .env, backups and media out of the context.
DOCKER_BUILDKIT=0 "$docker" build --quiet --build-arg BASE="$base" -t "$tag" -f - "$app" >/dev/null <<'DOCKERFILE'
ARG BASE
FROM ${BASE}
COPY . /app/
DOCKERFILE
echo "$tag"
