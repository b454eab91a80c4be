#!/bin/bash
# Build the Docker Compose v2 CLI plugin from its Go module when
# `docker compose version` does not answer (no registry, no release
# download), into $DOCKER_CONFIG/cli-plugins (../cli-plugin.sh).
#
# usage: build.sh [VERSION]   (default v2.40.3)
# env:   DOCKER_CONFIG, GO, DOCKER
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/../cli-plugin.sh" compose github.com/docker/compose/v2 "${1:-v2.40.3}" \
	cmd github.com/docker/compose/v2/internal.Version
