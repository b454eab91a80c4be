#!/bin/bash
# Build a PostgreSQL 15 image from Debian's packages, without a registry:
#   mmdebstrap (Debian bookworm, minbase + postgresql-15) | docker import.
# The apt sources are this machine's own (../apt-sources.sh reads them now;
# no mirror is written down here).
#
# usage: build.sh TAG
# env:   DOCKER (default: docker) - the real docker CLI to import with.
set -euo pipefail

tag=${1:?usage: build.sh TAG}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
docker=${DOCKER:-docker}
base=$tag-rootfs

# The machine's own apt sources (fails when there are none).
sources=$("$here/../apt-sources.sh")

# customize hooks run with the chroot as $1, after packages are installed.
printf '%s\n' "$sources" | mmdebstrap --variant=minbase --include=postgresql-15 --quiet \
	--customize-hook="upload $here/entrypoint.sh /usr/local/bin/docker-entrypoint.sh" \
	--customize-hook='chmod 0755 "$1/usr/local/bin/docker-entrypoint.sh"' \
	--customize-hook='rm -rf "$1/var/lib/postgresql/15" "$1/etc/postgresql/15"' \
	--customize-hook='chroot "$1" install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data' \
	--customize-hook='chroot "$1" install -d -o postgres -g postgres -m 3777 /run/postgresql' \
	--customize-hook='mkdir -p "$1/docker-entrypoint-initdb.d"' \
	--customize-hook='rm -rf "$1/usr/share/doc" "$1/usr/share/man" "$1/usr/share/info"' \
	bookworm - - |
	"$docker" import - "$base" >/dev/null
# The legacy builder takes FROM a local image without asking a registry.
DOCKER_BUILDKIT=0 "$docker" build --quiet --build-arg BASE="$base" -t "$tag" - <"$here/Dockerfile" >/dev/null
"$docker" rmi "$base" >/dev/null
echo "$tag"
