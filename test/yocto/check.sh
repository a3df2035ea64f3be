#!/usr/bin/env bash
# Runs real BitBake (the pinned snapshots in $YOCTO_SNAPSHOTS) against
# packaging/yocto/meta-caamcrypt, as an unprivileged user, in a build
# directory outside the repository. See test/yocto/README.md.
#
#   check.sh check            parse, unpack, offline go build, go mod verify
#   check.sh update-modules   regenerate caamcrypt-go-mods.inc and
#                             caamcrypt-licenses.inc with the class's code
#
# As root it creates the user $YOCTO_USER and the en_US.UTF-8 locale, then
# runs the BitBake part as that user (BitBake refuses root; docs/caam-abi.md
# §13). Host packages come from `make yocto-deps`.
set -euo pipefail

mode=${1:-check}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${YOCTO_SNAPSHOTS:=$repo/../shared/yocto}"
: "${YOCTO_USER:=caamcrypt-bb}"
: "${YOCTO_DIR:=/var/tmp/caamcrypt-yocto}"
: "${GO:=$(command -v go)}"
export YOCTO_SNAPSHOTS YOCTO_DIR GO

say() { printf 'yocto: %s\n' "$*"; }
die() { printf 'yocto: FAIL: %s\n' "$*" >&2; exit 1; }

[ -d "$YOCTO_SNAPSHOTS/bitbake" ] || die "no BitBake snapshot in $YOCTO_SNAPSHOTS (set YOCTO_SNAPSHOTS)"
[ -n "$GO" ] || die "no go on PATH"
YOCTO_SNAPSHOTS=$(cd "$YOCTO_SNAPSHOTS" && pwd)

# Root part: user, locale, build directory, clone of the commit under test.
if [ "$(id -u)" = 0 ]; then
	if ! id "$YOCTO_USER" >/dev/null 2>&1; then
		useradd --create-home --shell /bin/bash "$YOCTO_USER"
		say "created user $YOCTO_USER"
	fi
	# BitBake's sanity check wants an en_US.UTF-8 locale.
	if ! locale -a 2>/dev/null | grep -qix 'en_US.utf-\?8'; then
		sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' /etc/locale.gen
		grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >>/etc/locale.gen
		locale-gen >/dev/null
		say "generated locale en_US.UTF-8"
	fi
	install -d -o "$YOCTO_USER" -g "$YOCTO_USER" "$YOCTO_DIR"
fi
[ -d "$YOCTO_DIR" ] || mkdir -p "$YOCTO_DIR"

# The commit under test, as a clone BitBake's user owns (git refuses a
# repository another user owns: docs/caam-abi.md §13). The recipes fetch
# branch main, so main points at it in the clone.
# Updated in place, not cloned afresh: BitBake's parse cache keys on the
# mtimes of the configuration files it read, the layer's layer.conf among
# them, and a fresh clone would make it parse all ~950 recipes again.
head=$(git -C "$repo" rev-parse HEAD)
clone=$YOCTO_DIR/caamcrypt
g() { git -c safe.directory='*' -C "$clone" "$@"; }
if [ -d "$clone/.git" ] && g fetch -q --no-tags "$repo" HEAD 2>/dev/null; then
	g checkout -q -f --detach "$head"
	g clean -q -fdx
else
	rm -rf "$clone"
	git clone -q --no-local "$repo" "$clone"
	g checkout -q --detach "$head"
fi
g update-ref refs/heads/main "$head"
if [ -n "$(git -C "$repo" status --porcelain -- packaging/yocto go.mod go.sum)" ]; then
	say "note: uncommitted changes in packaging/yocto, go.mod or go.sum are NOT checked (HEAD is)"
fi

inner=("$here/bitbake-run.sh" "$mode" "$head" "$repo")
if [ "$(id -u)" = 0 ]; then
	chown -R "$YOCTO_USER:$YOCTO_USER" "$clone"
	# runuser resets the environment: pass what the inner script needs.
	runuser -u "$YOCTO_USER" -- env -i HOME="$(getent passwd "$YOCTO_USER" | cut -d: -f6)" \
		PATH="$(dirname "$GO"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8 \
		YOCTO_SNAPSHOTS="$YOCTO_SNAPSHOTS" YOCTO_DIR="$YOCTO_DIR" GO="$GO" \
		bash "${inner[@]}"
else
	LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8 bash "${inner[@]}"
fi

if [ "$mode" = check ]; then
	# The oeqa case's judging functions against captured real output, with
	# the snapshot's real oeqa package to import.
	if ! out=$(cd "$here" && PYTHONPATH=$YOCTO_SNAPSHOTS/openembedded-core/meta/lib \
		python3 -m unittest test_oeqa_case 2>&1); then
		printf '%s\n' "$out" >&2
		die "oeqa case unit test (test/yocto/test_oeqa_case.py)"
	fi
	say "oeqa case: its judging functions pass on real caamcrypt output ($(printf '%s\n' "$out" | grep -o 'Ran [0-9]* tests'); testdata/captured.json)"
	say "NOT proven here: cross compiling, do_compile/do_install/packaging, an image or testimage (no cross toolchain: its sources are on sites this machine cannot reach)"
fi

if [ "$mode" = update-modules ]; then
	dest=$repo/packaging/yocto/meta-caamcrypt/recipes-security/caamcrypt
	for f in caamcrypt-go-mods.inc caamcrypt-licenses.inc; do
		cp "$YOCTO_DIR/update-modules/$f" "$dest/$f.tmp"
		chown --reference="$dest" "$dest/$f.tmp" 2>/dev/null || true
		mv "$dest/$f.tmp" "$dest/$f"
	done
	say "wrote $dest/caamcrypt-{go-mods,licenses}.inc; review the diff and commit them"
fi
