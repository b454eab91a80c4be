#!/bin/bash
# Build a docker CLI plugin from its Go module when `docker NAME version`
# does not answer (no registry, no release download):
#   go mod download -json MODULE@VERSION
#   GOFLAGS=-mod=mod go build -o $DOCKER_CONFIG/cli-plugins/docker-NAME ./PKG
# compose/build.sh and buildx/build.sh call it with their module.
#
# usage: cli-plugin.sh NAME MODULE VERSION PKG VERSION_VAR
#   VERSION_VAR is the Go variable -ldflags -X sets to VERSION
# env:   DOCKER_CONFIG (plugin folder is $DOCKER_CONFIG/cli-plugins), GO, DOCKER
set -euo pipefail

name=$1 module=$2 version=$3 pkg=$4 version_var=$5
go=${GO:-go}
docker=${DOCKER:-docker}
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

if "$docker" "$name" version >/dev/null 2>&1; then
	"$docker" "$name" version
	exit 0
fi

dir=$("$go" mod download -json "$module@$version" |
	sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "cli-plugin.sh: go mod download gave no folder for $module $version" >&2
	exit 1
fi

mkdir -p "$plugins"
tmp=$(mktemp "$plugins/.docker-$name.XXXXXX")
trap 'rm -f "$tmp"' EXIT
(
	cd "$dir"
	CGO_ENABLED=0 GOFLAGS=-mod=mod "$go" build -trimpath \
		-ldflags "-s -w -X $version_var=$version" \
		-o "$tmp" "./$pkg"
)
chmod 0755 "$tmp"
mv -f "$tmp" "$plugins/docker-$name"
trap - EXIT
"$docker" "$name" version
