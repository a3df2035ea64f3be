#!/usr/bin/env bash
# The BitBake part of test/yocto/check.sh, run as the unprivileged user.
#   bitbake-run.sh check|update-modules COMMIT REPO
# Output is short; BitBake's own output goes to $YOCTO_DIR/logs/.
set -euo pipefail

mode=$1 head=$2 repo=$3
here=$(cd "$(dirname "$0")" && pwd)
snap=$YOCTO_SNAPSHOTS
clone=$YOCTO_DIR/caamcrypt
# check: everything from the clone of the commit under test.
# update-modules: the working tree's layer and go.mod (the files are
# regenerated before they are committed), in a build directory of its own
# so the check's parse cache stays valid.
if [ "$mode" = update-modules ]; then
	src=$repo build=$YOCTO_DIR/build-update-modules
	# go list in a tree another user owns: no VCS stamping (git would
	# refuse it).
	export GOFLAGS=-buildvcs=false
else
	src=$clone build=$YOCTO_DIR/build
fi
layer=$src/packaging/yocto/meta-caamcrypt
logs=$YOCTO_DIR/logs
mkdir -p "$logs" "$build/conf"

say() { printf 'yocto: %s\n' "$*"; }
# run LOG CMD...: CMD's output to LOG; on failure its tail and the path.
run() {
	local log=$logs/$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 40 "$log" | sed 's/^/  | /' >&2
		printf 'yocto: FAIL: %s (full log: %s)\n' "$*" "$log" >&2
		exit 1
	fi
}
# write_if_changed FILE: stdin to FILE unless FILE already holds it, so an
# unchanged configuration keeps BitBake's parse cache valid.
write_if_changed() {
	local tmp
	tmp=$(mktemp "$1.XXXXXX")
	cat >"$tmp"
	if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

# The commit under test reaches the recipes through a small layer of
# bbappends in the build area (not local.conf: a changed local.conf
# invalidates the parse cache of every recipe, a changed bbappend only its
# recipe's). The recipes themselves pin a release commit.
check_layer=$YOCTO_DIR/meta-caamcrypt-check
mkdir -p "$check_layer/conf" "$check_layer/recipes"
write_if_changed "$check_layer/conf/layer.conf" <<'EOF'
BBPATH .= ":${LAYERDIR}"
BBFILES += "${LAYERDIR}/recipes/*.bbappend"
BBFILE_COLLECTIONS += "caamcrypt-check"
BBFILE_PATTERN_caamcrypt-check = "^${LAYERDIR}/"
BBFILE_PRIORITY_caamcrypt-check = "7"
LAYERDEPENDS_caamcrypt-check = "caamcrypt"
LAYERSERIES_COMPAT_caamcrypt-check = "wrynose"
EOF
for pn in caamcrypt caamsim; do
	printf '# The commit under test (test/yocto/check.sh).\nSRCREV = "%s"\n' "$head" |
		write_if_changed "$check_layer/recipes/${pn}_git.bbappend"
done

write_if_changed "$build/conf/bblayers.conf" <<EOF
BBPATH = "\${TOPDIR}"
BBFILES ?= ""
BBLAYERS = " \\
  $snap/openembedded-core/meta \\
  $snap/meta-openembedded/meta-oe \\
  $layer \\
  $check_layer \\
"
EOF

# docs/caam-abi.md §13 and ../shared/yocto/README.md: uninative and the
# connectivity check download from sites this machine cannot reach; the
# only network BitBake may use is the Go module proxy; the recipes' public
# git URL maps to the local clone.
write_if_changed "$build/conf/local.conf" <<EOF
CONF_VERSION = "2"
MACHINE = "qemuarm64"
INHERIT:remove = "uninative"
CONNECTIVITY_CHECK_URIS = ""
BB_ALLOWED_NETWORKS = "proxy.golang.org"
PREMIRRORS:prepend = "git://github.com/caamcrypt/caamcrypt.git git://$clone;protocol=file "
BB_NUMBER_THREADS = "2"
EOF

export BITBAKEDIR=$snap/bitbake
set +u
# shellcheck disable=SC1091 # the snapshot's script
. "$snap/openembedded-core/oe-init-build-env" "$build" >/dev/null
set -u
export PYTHONPATH=$snap/bitbake/lib

if [ "$mode" = update-modules ]; then
	out=$YOCTO_DIR/update-modules
	rm -rf "$out" && mkdir -p "$out"
	run update-modules.log python3 "$here/bbdriver.py" update-modules \
		"$layer/recipes-security/caamcrypt/caamcrypt_git.bb" "$src" "$out"
	if grep -q 'Unknown' "$out/caamcrypt-licenses.inc"; then
		grep -n 'Unknown' "$out/caamcrypt-licenses.inc" >&2
		say "FAIL: licences marked Unknown; add spdx=<licence> for their md5 to the committed caamcrypt-licenses.inc (the class reuses it) and re-run" >&2
		exit 1
	fi
	say "do_update_modules (class code, host Go) wrote $out"
	exit 0
fi

t0=$SECONDS
run bitbake.log python3 "$here/bbdriver.py" check "$logs/vars.json" "$GO" "$YOCTO_DIR/caamcrypt-offline"
grep '^yocto: ' "$logs/bitbake.log"
say "BitBake part took $((SECONDS - t0)) s"

# What BitBake set, checked against what the layer promises.
python3 "$here/checkvars.py" "$logs/vars.json" "$head"
