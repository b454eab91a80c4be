#!/bin/bash
# Build the Docker Buildx CLI plugin from its Go module when `docker buildx
# version` does not answer (no registry, no release download; Debian
# bookworm has no package), into $DOCKER_CONFIG/cli-plugins
# (../cli-plugin.sh): the docker CLI builds with BuildKit only through
# buildx, and the stream tests build with BuildKit through the engine API
# guard (its session and grpc streams).
#
# usage: build.sh [VERSION]   (default v0.29.1, the version Compose v2.40.3 uses)
# env:   DOCKER_CONFIG, GO, DOCKER
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/../cli-plugin.sh" buildx github.com/docker/buildx "${1:-v0.29.1}" \
	cmd/buildx github.com/docker/buildx/version.Version
