#!/bin/bash
# Build the Docker Compose v2 CLI plugin from its Go module when
# `docker compose version` does not answer (no registry, no release download):
#   go mod download -json github.com/docker/compose/v2@VERSION
#   GOFLAGS=-mod=mod go build -o ~/.docker/cli-plugins/docker-compose ./cmd
#
# usage: build.sh [VERSION]   (default v2.40.3)
# env:   DOCKER_CONFIG (plugin folder is $DOCKER_CONFIG/cli-plugins), GO, DOCKER
set -euo pipefail

version=${1:-v2.40.3}
go=${GO:-go}
docker=${DOCKER:-docker}
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

if "$docker" compose version >/dev/null 2>&1; then
	"$docker" compose version
	exit 0
fi

dir=$("$go" mod download -json "github.com/docker/compose/v2@$version" |
	sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "compose/build.sh: go mod download gave no folder for docker/compose $version" >&2
	exit 1
fi

mkdir -p "$plugins"
tmp=$(mktemp "$plugins/.docker-compose.XXXXXX")
trap 'rm -f "$tmp"' EXIT
(
	cd "$dir"
	CGO_ENABLED=0 GOFLAGS=-mod=mod "$go" build -trimpath \
		-ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" \
		-o "$tmp" ./cmd
)
chmod 0755 "$tmp"
mv -f "$tmp" "$plugins/docker-compose"
trap - EXIT
"$docker" compose version
