#!/bin/bash
# Print this machine's apt sources on stdout, for `mmdebstrap ... SUITE - -`
# (mirror "-" reads sources from stdin): every deb822 *.sources file if there
# is one, else the one-line sources.list entries. Read at build time, so no
# mirror is ever written down in the project. Exits 1 when there are none.
set -euo pipefail
shopt -s nullglob

out=""
for f in /etc/apt/sources.list.d/*.sources; do
	out+=$(cat "$f")$'\n\n'
done
if [ -z "$out" ]; then
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && out+=$(grep -E '^[[:space:]]*deb[[:space:]]' "$f" || true)$'\n'
	done
fi
if [ -z "${out//[[:space:]]/}" ]; then
	echo "apt-sources.sh: no apt sources found in /etc/apt" >&2
	exit 1
fi
printf '%s' "$out"
