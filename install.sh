#!/bin/bash
# install.sh: build and install ledger-docker for the current user.
#
#   ./install.sh [--yes] [--bin DIR]     install (or update); idempotent
#   ./install.sh --uninstall [--yes]     undo everything install.sh did
#   ./install.sh --hook REPO [--bin DIR] install a git pre-commit hook into REPO
#   ./install.sh --hook REPO --uninstall remove that hook
#
# What it installs:
#   $PREFIX/bin/ledger_docker          the wrapper's C front (PREFIX defaults to ~/.local);
#                                      without a C compiler, a copy of the Go wrapper
#   $PREFIX/bin/ledger_docker-full     the Go wrapper, which the front hands every
#                                      command to that may delete something
#   $SHIM/docker, $SHIM/docker-compose links to ledger_docker; put $SHIM first on
#                                      PATH so scripts are covered too
#                                      (SHIM = ${XDG_DATA_HOME:-~/.local/share}/ledger-docker/shim)
#   $DOCKER_CONFIG/cli-plugins/docker-ledger   the `docker ledger` plugin
#                                      (DOCKER_CONFIG defaults to ~/.docker)
#   "pruneFilters": ["label!=com.ledgerflow.protect=true"] merged into
#                                      $DOCKER_CONFIG/config.json (other settings kept)
#   the PATH and alias lines for bash/zsh: printed, and added to ~/.bashrc and
#                                      ~/.zshrc only with --yes or a "y" on a terminal
#   --hook: $PREFIX/bin/ledger-precommit and REPO's .git/hooks/pre-commit
#
# Options:
#   --yes, -y    add the shell lines without asking (install) / remove them (uninstall)
#   --no         never touch shell startup files
#   --bin DIR    take prebuilt binaries from DIR instead of running `make build`
#                (a DIR without ledger_docker gets the Go wrapper under both names)
#   -h, --help   this text
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${PREFIX:-$HOME/.local}
bindir=$prefix/bin
share=${XDG_DATA_HOME:-$HOME/.local/share}/ledger-docker
shim=$share/shim
docker_config=${DOCKER_CONFIG:-$HOME/.docker}
plugins=$docker_config/cli-plugins
begin_mark='# >>> ledger-docker >>>'
end_mark='# <<< ledger-docker <<<'
hook_mark='# ledger-docker pre-commit hook'
# hook_files_re: the files the hook checks by name, the pattern of
# .pre-commit-hooks.yaml's files (a test keeps the two equal).
hook_files_re='(^|/)((docker-)?compose[^/]*\.ya?ml|[^/]*\.(sh|bash|zsh|ksh|mk)|[Mm]akefile|GNUmakefile|Jenkinsfile|[Jj]ustfile|\.envrc|[^/]*\.gitlab-ci\.ya?ml|\.gitlab/ci/.+\.ya?ml|\.github/workflows/[^/]+\.ya?ml|action\.ya?ml|\.circleci/config\.ya?ml|bitbucket-pipelines\.ya?ml|azure-pipelines\.ya?ml|\.drone\.ya?ml|\.woodpecker(/[^/]+)?\.ya?ml|[Tt]askfile(\.dist)?\.ya?ml)$'
# The other files the hook checks: shell scripts without an extension
# (bin/reset), as .pre-commit-hooks.yaml's ledger-check-scripts and discovery
# find them: a name without a dot, outside node_modules and vendor, a regular
# file whose first line (up to 4 KiB) matches hook_shebang_re.
hook_script_names_re='(^|/)[^/.]+$'
hook_skip_dirs_re='(^|/)(node_modules|vendor)/'
hook_shebang_re='^#!.*\b(ba|z|k|da)?sh\b'

mode=install
consent=ask
built=""
# front is the built file installed as ledger_docker: the C front, or the Go
# wrapper when there is no C compiler (or --bin DIR has no front).
front=ledger_docker
hook_repo=""

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
say() { printf '%s\n' "$*"; }
die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--uninstall) mode=uninstall ;;
	--yes | -y) consent=yes ;;
	--no) consent=no ;;
	--bin)
		[ $# -ge 2 ] || die "--bin needs a folder"
		built=$(cd "$2" && pwd)
		shift
		;;
	--bin=*) built=$(cd "${1#--bin=}" && pwd) ;;
	--hook)
		[ $# -ge 2 ] || die "--hook needs a repository folder"
		hook_repo=$2
		shift
		;;
	--hook=*) hook_repo=${1#--hook=} ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done

# build makes bin/ unless --bin gave prebuilt binaries. Without a C
# compiler only the Go binaries are built (make build-go).
build() {
	if [ -z "$built" ]; then
		command -v make >/dev/null && command -v go >/dev/null ||
			die "building needs make and Go (1.21 or newer); or pass --bin DIR with prebuilt binaries"
		local cc=${CC:-cc}
		if command -v musl-gcc >/dev/null || command -v "${cc%% *}" >/dev/null; then
			say "building (make build)..."
			make -C "$here" --no-print-directory build >/dev/null
		else
			say "building (make build-go)..."
			make -C "$here" --no-print-directory build-go >/dev/null
			front=ledger_docker-full
		fi
		built=$here/bin
	elif [ ! -e "$built/ledger_docker" ]; then
		front=ledger_docker-full
	fi
}

need_binary() {
	[ -x "$built/$1" ] || die "$built/$1 is missing (build it with make build, or pass --bin DIR)"
}

# put_file SRC DEST: install SRC as DEST (0755), atomically (temp file in the
# same folder, then rename); does nothing when DEST has the same content.
put_file() {
	local src=$1 dest=$2 tmp
	if [ -f "$dest" ] && [ ! -L "$dest" ] && cmp -s "$src" "$dest"; then
		say "unchanged  $dest"
		return
	fi
	mkdir -p "$(dirname "$dest")"
	tmp=$(mktemp "$(dirname "$dest")/.ledger-tmp-XXXXXX")
	cat "$src" >"$tmp"
	chmod 0755 "$tmp"
	mv -f "$tmp" "$dest"
	say "installed  $dest"
}

# put_link TARGET LINK: make LINK a symlink to TARGET (idempotent).
put_link() {
	local target=$1 link=$2
	if [ -L "$link" ] && [ "$(readlink "$link")" = "$target" ]; then
		say "unchanged  $link -> $target"
		return
	fi
	if [ -e "$link" ] && [ ! -L "$link" ]; then
		die "$link exists and is not a link; move it away and run again"
	fi
	mkdir -p "$(dirname "$link")"
	ln -sfn "$target" "$link"
	say "installed  $link -> $target"
}

# remove_file PATH: remove a file or link if there.
remove_file() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		rm -f "$1"
		say "removed    $1"
	fi
}

# remove_our_link LINK: remove LINK only if it points to our ledger_docker.
remove_our_link() {
	if [ -L "$1" ] && [ "$(basename "$(readlink "$1")")" = ledger_docker ]; then
		remove_file "$1"
	fi
}

# The lines for the shell startup files. $PATH stays unexpanded on purpose.
shell_lines() {
	printf 'export PATH="%s:%s:$PATH"\n' "$shim" "$bindir"
	printf "alias docker=ledger_docker\n"
}

shell_block() {
	printf '%s\n' "$begin_mark"
	printf '%s\n' "# Added by ledger-docker's install.sh; ./install.sh --uninstall removes it."
	shell_lines
	printf '%s\n' "$end_mark"
}

# rc_files: ~/.bashrc always, ~/.zshrc when it exists or zsh is the shell.
rc_files() {
	printf '%s\n' "$HOME/.bashrc"
	if [ -f "$HOME/.zshrc" ] || [ "${SHELL##*/}" = zsh ]; then
		printf '%s\n' "$HOME/.zshrc"
	fi
}

# strip_block FILE: FILE's content without our block, on stdout.
strip_block() {
	awk -v b="$begin_mark" -v e="$end_mark" '
		$0 == b { skip = 1; next }
		$0 == e { skip = 0; next }
		!skip { print }' "$1"
}

# rewrite FILE CONTENT-FILE: replace FILE by CONTENT-FILE, keeping its mode.
rewrite() {
	local file new=$2 tmp
	file=$(readlink -f -- "$1") # a dotfile manager's link: edit its target
	tmp=$(mktemp "$(dirname "$file")/.ledger-tmp-XXXXXX")
	cat "$new" >"$tmp"
	if [ -f "$file" ]; then
		chmod "$(stat -c %a "$file")" "$tmp"
	else
		chmod 0644 "$tmp"
	fi
	mv -f "$tmp" "$file"
}

ask() {
	case $consent in
	yes) return 0 ;;
	no) return 1 ;;
	esac
	if [ -t 0 ] && [ -t 1 ]; then
		local answer
		read -r -p "$1 [y/N] " answer || return 1
		case $answer in y | Y | yes | YES) return 0 ;; esac
	fi
	return 1
}

install_shell_lines() {
	local rc want tmp
	say ""
	say "Add these lines to your shell startup file (bash, zsh):"
	shell_lines | sed 's/^/    /'
	if ! ask "Add them to $(rc_files | tr '\n' ' ')now?"; then
		say "(not added; re-run with --yes to add them)"
		return
	fi
	tmp=$(mktemp)
	want=$(shell_block)
	while read -r rc; do
		if [ -f "$rc" ] && awk -v b="$begin_mark" -v e="$end_mark" '
			$0 == b { on = 1 } on { print } $0 == e { on = 0 }' "$rc" | cmp -s - <(printf '%s\n' "$want"); then
			say "unchanged  $rc"
			continue
		fi
		{
			[ -f "$rc" ] && strip_block "$rc"
			printf '%s\n' "$want"
		} >"$tmp"
		rewrite "$rc" "$tmp"
		say "updated    $rc"
	done < <(rc_files)
	rm -f "$tmp"
}

uninstall_shell_lines() {
	local rc tmp
	tmp=$(mktemp)
	for rc in "$HOME/.bashrc" "$HOME/.zshrc"; do
		[ -f "$rc" ] && grep -qxF "$begin_mark" "$rc" || continue
		strip_block "$rc" >"$tmp"
		rewrite "$rc" "$tmp"
		say "updated    $rc (ledger-docker lines removed)"
	done
	rm -f "$tmp"
}

# setup runs `docker ledger setup` through the plugin binary directly, so it
# works before the plugin is found by docker (and without a docker CLI).
setup() {
	DOCKER_CONFIG=$docker_config "$1" ledger setup --docker-config "$docker_config" "${@:2}"
}

do_install() {
	build
	need_binary "$front"
	need_binary ledger_docker-full
	need_binary docker-ledger
	if [ "$front" != ledger_docker ]; then
		say "no C front (no C compiler found): ledger_docker is the Go wrapper too, so pass-through docker commands are a few ms slower (install gcc and libc6-dev, then run ./install.sh again)"
	fi
	put_file "$built/$front" "$bindir/ledger_docker"
	put_file "$built/ledger_docker-full" "$bindir/ledger_docker-full"
	put_link "$bindir/ledger_docker" "$shim/docker"
	put_link "$bindir/ledger_docker" "$shim/docker-compose"
	put_file "$built/docker-ledger" "$plugins/docker-ledger"
	setup "$plugins/docker-ledger" --prune-filter
	install_shell_lines
	say ""
	say "ledger-docker is installed. In a new shell, \`docker\` runs ledger_docker;"
	say "\`docker ledger --help\` lists the plugin's commands."
}

do_uninstall() {
	local plugin=$plugins/docker-ledger
	[ -x "$plugin" ] || plugin=${built:-$here/bin}/docker-ledger
	if [ -f "$docker_config/config.json" ]; then
		[ -x "$plugin" ] || die "need docker-ledger to edit $docker_config/config.json: run make build first"
		setup "$plugin" --remove-prune-filter
	fi
	remove_file "$plugins/docker-ledger"
	remove_our_link "$shim/docker"
	remove_our_link "$shim/docker-compose"
	rmdir "$shim" "$share" 2>/dev/null || true
	remove_file "$bindir/ledger_docker"
	remove_file "$bindir/ledger_docker-full"
	remove_file "$bindir/ledger-precommit"
	if [ "$consent" = no ]; then
		say "shell startup files left alone (--no)"
	else
		uninstall_shell_lines
	fi
	say "ledger-docker is uninstalled (backups and snapshots are kept)."
}

# hook_path REPO: the repository's pre-commit hook path (honours core.hooksPath).
hook_path() {
	local dir
	dir=$(git -C "$1" rev-parse --path-format=absolute --git-path hooks) ||
		die "$1 is not a git repository"
	printf '%s/pre-commit\n' "$dir"
}

write_hook() {
	local precommit=$1
	# Runs ledger-precommit on the staged compose files, scripts, Makefiles
	# and CI files (the files .pre-commit-hooks.yaml gives it), and on staged
	# shell scripts without an extension; the commit is refused when it
	# reports errors, or when one of those files also has changes that are
	# not staged (the check reads the working copy).
	cat <<EOF
#!/bin/sh
$hook_mark (installed by install.sh --hook; ./install.sh --hook REPO --uninstall removes it)
# Checks the staged compose files, scripts, Makefiles and CI files for
# volumes that one command could wipe. Skip once with: git commit --no-verify
default_checker='${precommit//\'/\'\\\'\'}'
LEDGER_PRECOMMIT=\${LEDGER_PRECOMMIT:-\$default_checker}
{
	git diff --cached --name-only --diff-filter=ACMR -z | grep -zE '$hook_files_re'
	# shell scripts without an extension: regular files with a shell shebang
	git diff --cached --name-only --diff-filter=ACMR -z | grep -zvE '$hook_files_re' |
		grep -zE '$hook_script_names_re' | grep -zvE '$hook_skip_dirs_re' |
		xargs -0 -r sh -c '
			for f; do
				[ -f "\$f" ] && [ ! -L "\$f" ] && head -c 4096 -- "\$f" | head -n 1 |
					grep -qE "$hook_shebang_re" && printf "%s\\0" "\$f"
			done
			exit 0
		' ledger-precommit-shebang
} |
	xargs -0 -r sh -c '
		checker=\$1
		shift
		partly=\$(git diff --name-only -- "\$@")
		if [ -n "\$partly" ]; then
			printf "ledger-precommit: these files have changes that are not staged:\\n%s\\n" "\$partly" >&2
			printf "the check reads the working copy, not what is staged: stage them (git add) or stash them (git stash --keep-index), then commit again\\n" >&2
			exit 1
		fi
		exec "\$checker" "\$@"
	' ledger-precommit-hook "\$LEDGER_PRECOMMIT"
EOF
}

do_hook() {
	local hook tmp
	hook=$(hook_path "$hook_repo")
	if [ "$mode" = uninstall ]; then
		if [ -f "$hook" ] && grep -qF "$hook_mark" "$hook"; then
			remove_file "$hook"
		else
			say "no ledger-docker hook in $hook"
		fi
		return
	fi
	if [ -f "$hook" ] && ! grep -qF "$hook_mark" "$hook"; then
		die "$hook exists and is not ours; add \`ledger-precommit\` to it by hand"
	fi
	build
	need_binary ledger-precommit
	put_file "$built/ledger-precommit" "$bindir/ledger-precommit"
	tmp=$(mktemp)
	write_hook "$bindir/ledger-precommit" >"$tmp"
	put_file "$tmp" "$hook"
	rm -f "$tmp"
}

if [ -n "$hook_repo" ]; then
	do_hook
elif [ "$mode" = uninstall ]; then
	do_uninstall
else
	do_install
fi
