#!/bin/bash
# Build the Docker Buildx CLI plugin from its Go module when
# `docker buildx version` does not answer (no registry, no release download;
# Debian bookworm has no package): the docker CLI builds with BuildKit only
# through buildx, and the stream tests build with BuildKit through the
# engine API guard (its session and grpc streams).
#   go mod download -json github.com/docker/buildx@VERSION
#   GOFLAGS=-mod=mod go build -o ~/.docker/cli-plugins/docker-buildx ./cmd/buildx
#
# usage: build.sh [VERSION]   (default v0.29.1, the version Compose v2.40.3 uses)
# env:   DOCKER_CONFIG (plugin folder is $DOCKER_CONFIG/cli-plugins), GO, DOCKER
set -euo pipefail

version=${1:-v0.29.1}
go=${GO:-go}
docker=${DOCKER:-docker}
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

if "$docker" buildx version >/dev/null 2>&1; then
	"$docker" buildx version
	exit 0
fi

dir=$("$go" mod download -json "github.com/docker/buildx@$version" |
	sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "buildx/build.sh: go mod download gave no folder for docker/buildx $version" >&2
	exit 1
fi

mkdir -p "$plugins"
tmp=$(mktemp "$plugins/.docker-buildx.XXXXXX")
trap 'rm -f "$tmp"' EXIT
(
	cd "$dir"
	CGO_ENABLED=0 GOFLAGS=-mod=mod "$go" build -trimpath \
		-ldflags "-s -w -X github.com/docker/buildx/version.Version=$version" \
		-o "$tmp" ./cmd/buildx
)
chmod 0755 "$tmp"
mv -f "$tmp" "$plugins/docker-buildx"
trap - EXIT
"$docker" buildx version
