#!/bin/bash
# Build a PostgreSQL 15 image from Debian's packages, without a registry:
#   mmdebstrap (Debian bookworm, minbase + postgresql-15) | docker import.
# The apt sources are this machine's own (read now, never written down here).
#
# usage: build.sh TAG
# env:   DOCKER (default: docker) - the real docker CLI to import with.
set -euo pipefail

tag=${1:?usage: build.sh TAG}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
docker=${DOCKER:-docker}
base=$tag-rootfs

# sources prints the machine's apt sources on stdout: every deb822 *.sources
# file if there is one, else the one-line sources.list entries.
sources() {
	local f found=0
	shopt -s nullglob
	for f in /etc/apt/sources.list.d/*.sources; do
		cat "$f"
		printf '\n'
		found=1
	done
	if [ "$found" = 0 ]; then
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] && grep -E '^[[:space:]]*deb[[:space:]]' "$f" || true
		done
	fi
}

if [ -z "$(sources)" ]; then
	echo "build.sh: no apt sources found in /etc/apt" >&2
	exit 1
fi

# customize hooks run with the chroot as $1, after packages are installed.
sources | mmdebstrap --variant=minbase --include=postgresql-15 --quiet \
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
