#!/usr/bin/env bash
# build.sh ENV_SETUP GOARCH OUT — cross-build caamcrypt with cgo from a
# toolchain environment file, and write OUT and OUT-stripped.
#
# ENV_SETUP is a Yocto SDK's environment-setup-* (populate_sdk), or any file
# that exports the same variables: CC (with --sysroot), CFLAGS, LDFLAGS,
# PKG_CONFIG_SYSROOT_DIR, PKG_CONFIG_PATH or PKG_CONFIG_LIBDIR, STRIP.
# `make cross-arm64|cross-armhf` pass one made by test/cross/cgo-env.sh for
# a Debian sysroot; Dockerfile.cross passes the SDK's. GOARCH is Go's name:
# arm64 (i.MX8/9) or arm (i.MX6/7, GOARM defaults to 7: ARMv7 with VFP).
#
# Environment: VERSION (stamped into main.version; default from
# version.sh), GOFLAGS (e.g. -mod=mod, with GOPROXY=off for offline builds),
# GO_TAGS (build tags; default urfave_cli_no_docs, as the Makefile).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ $# -eq 3 ] || { echo "usage: $0 ENV_SETUP GOARCH OUT" >&2; exit 2; }
envfile=$1 goarch=$2 out=$3
case $goarch in arm64 | arm | amd64) ;; *) echo "build.sh: unsupported GOARCH $goarch" >&2; exit 2 ;; esac
[ -r "$envfile" ] || { echo "build.sh: cannot read environment file $envfile" >&2; exit 2; }
version=${VERSION:-$("$here/version.sh")}
tags=${GO_TAGS-urfave_cli_no_docs}

# A GOCACHE inherited from the caller may hold objects built against another
# sysroot: Go's cache does not key on pkg-config output. Only the
# environment file's own GOCACHE is trusted; otherwise one per sysroot
# (test/cross/cgo-env.sh names it the same way).
unset GOCACHE CGO_CFLAGS CGO_LDFLAGS PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR STRIP
# SDK setup scripts read variables they never set and end with tests that
# may be false, so they are sourced without -u and -e; what counts is what
# they export, checked below (a Yocto SDK's script that refuses, e.g. when
# LD_LIBRARY_PATH is set, exports no CC).
set +eu
# shellcheck disable=SC1090 # the file is the caller's
. "$envfile"
set -eu

: "${CC:?build.sh: $envfile sets no CC}"
: "${STRIP:?build.sh: $envfile sets no STRIP}"
sysroot=${PKG_CONFIG_SYSROOT_DIR:?build.sh: $envfile sets no PKG_CONFIG_SYSROOT_DIR}
# PKG_CONFIG_LIBDIR replaces pkg-config's default search path; with only
# PKG_CONFIG_PATH a host pkg-config would fall back to the build machine's
# devmapper.pc, and the link would then fail or pick the host's library.
export PKG_CONFIG_LIBDIR=${PKG_CONFIG_LIBDIR:-${PKG_CONFIG_PATH:?build.sh: $envfile sets neither PKG_CONFIG_LIBDIR nor PKG_CONFIG_PATH}}
pcdir=$(pkg-config --variable=pcfiledir devmapper) || {
	echo "build.sh: pkg-config finds no devmapper.pc in $PKG_CONFIG_LIBDIR (the sysroot needs libdevmapper-dev)" >&2
	exit 1
}
# pkgconf prefixes the sysroot to every path it prints, pcfiledir too, so a
# host .pc shows up as a path under the sysroot that holds no such file.
case $pcdir in "$sysroot"/*) ;; *) pcdir=/outside ;; esac
if [ ! -f "$pcdir/devmapper.pc" ]; then
	echo "build.sh: pkg-config's devmapper.pc is not in the sysroot $sysroot (search path $PKG_CONFIG_LIBDIR)" >&2
	exit 1
fi
# cgo reads CGO_CFLAGS/CGO_LDFLAGS, not the SDK's CFLAGS/LDFLAGS.
export CGO_CFLAGS=${CGO_CFLAGS:-${CFLAGS:--O2 -g}}
export CGO_LDFLAGS=${CGO_LDFLAGS:-${LDFLAGS:-}}
export GOCACHE=${GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caamcrypt-gocache/$goarch-$(printf '%s' "$sysroot" | sha256sum | cut -c1-12)}
export CGO_ENABLED=1 GOOS=linux GOARCH=$goarch CC
if [ "$goarch" = arm ]; then export GOARM=${GOARM:-7}; else unset GOARM; fi

mkdir -p "$(dirname "$out")"
tmp=$out.tmp.$$
trap 'rm -f "$tmp" "$tmp-stripped"' EXIT
(cd "$repo" && go build -trimpath -tags "$tags" -ldflags "-X main.version=$version" -o "$tmp" ./cmd/caamcrypt)
$STRIP -o "$tmp-stripped" "$tmp"
mv "$tmp" "$out"
mv "$tmp-stripped" "$out-stripped"
trap - EXIT
echo "build.sh: $out ($version, $goarch, sysroot $sysroot): $(stat -c %s "$out") bytes, stripped $(stat -c %s "$out-stripped")"
