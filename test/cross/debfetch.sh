#!/usr/bin/env bash
# debfetch.sh ARCH DEST PACKAGE... — download Debian 12 packages of another
# architecture, with their dependencies, and unpack them into DEST.
#
# Used for the ARM cross builds (a sysroot holding the target's
# libdevmapper) and the ARM QEMU guests (kernel, modules, userland). It does
# not touch the host's package state: `dpkg --add-architecture` plus
# `apt-get update` fails on the build machines (the mirror's armhf security
# list is stale, see test/cross/README.md), so this keeps a private apt
# state (APT_CONFIG) per architecture under the cache directory, resolves
# dependencies against an empty dpkg status, downloads the .debs and
# unpacks each with `dpkg -x` (no maintainer scripts run).
#
# Environment:
#   CAAMCRYPT_DEB_CACHE  cache directory (default ${XDG_CACHE_HOME:-~/.cache}/caamcrypt-debs)
#   CAAMCRYPT_DEB_EXCLUDE  extra regex of package names not to unpack
#
# DEST is replaced atomically: unpacked into DEST.tmp, then renamed. A file
# DEST/.debfetch lists the packages and versions it holds; when it already
# names exactly the same request and versions, nothing is done.
set -euo pipefail

usage() { echo "usage: $0 ARCH DEST PACKAGE..." >&2; exit 2; }
[ $# -ge 3 ] || usage
arch=$1 dest=$2
shift 2
case $arch in arm64 | armhf | amd64 | armel | i386) ;; *) echo "debfetch: unsupported architecture $arch" >&2; exit 2 ;; esac

cache=${CAAMCRYPT_DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caamcrypt-debs}
state=$cache/apt-$arch
mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/etc/preferences.d" "$state/etc/apt.conf.d"
: >"$state/status"

mirror=${CAAMCRYPT_DEB_MIRROR:-http://deb.debian.org/debian}
security=${CAAMCRYPT_DEB_SECURITY:-http://deb.debian.org/debian-security}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

write_sources() { # $1: with security suite (1) or not (0)
	{
		echo "deb [arch=$arch signed-by=$keyring] $mirror bookworm main"
		echo "deb [arch=$arch signed-by=$keyring] $mirror bookworm-updates main"
		[ "$1" = 1 ] && echo "deb [arch=$arch signed-by=$keyring] $security bookworm-security main"
	} >"$state/sources.list"
	return 0
}

cat >"$state/apt.conf" <<EOF
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
APT::Install-Recommends "false";
APT::Get::AllowUnauthenticated "false";
Dir::State "$state";
Dir::State::Lists "$state/lists";
Dir::State::status "$state/status";
Dir::Cache "$state";
Dir::Cache::Archives "$state/archives";
Dir::Etc::SourceList "$state/sources.list";
Dir::Etc::SourceParts "/nonexistent";
Dir::Etc::Preferences "$state/etc/preferences";
Dir::Etc::PreferencesParts "$state/etc/preferences.d";
Dir::Etc::Parts "$state/etc/apt.conf.d";
Debug::NoLocking "true";
APT::Sandbox::User "root";
EOF
export APT_CONFIG=$state/apt.conf

# Package lists are refreshed once a day. The security suite is dropped
# when its lists cannot be fetched (the stale armhf list), so packages then
# come from the main suite; what was used is recorded in DEST/.debfetch.
stamp=$state/updated
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
	write_sources 1
	if ! apt-get -q update >"$state/update.log" 2>&1 || grep -q '^[WE]:' "$state/update.log"; then
		echo "debfetch: $arch: security suite unusable here, using bookworm and bookworm-updates only" >&2
		write_sources 0
		rm -rf "$state/lists"
		mkdir -p "$state/lists/partial"
		apt-get -q update >"$state/update.log" 2>&1 || { cat "$state/update.log" >&2; exit 1; }
	fi
	touch "$stamp"
fi

# Resolve against the empty status: the closure of the request's Depends
# (and Pre-Depends), without Recommends. A simulated install lists it as
# "Inst NAME (VERSION SUITE [ARCH])", sometimes followed by " []"; the archive file name quotes the
# epoch's colon as %3a.
sim=$(apt-get -qq -s install --no-install-recommends "$@" 2>"$state/resolve.err") || {
	cat "$state/resolve.err" >&2
	echo "debfetch: cannot resolve $* for $arch" >&2
	exit 1
}
manifest=$(printf '%s\n' "$sim" | sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*\[\([^]]*\)\]).*/\1_\2_\3.deb/p' | sed 's/:/%3a/g' | sort)
if [ -z "$manifest" ]; then
	echo "debfetch: resolving $* for $arch gave no packages" >&2
	exit 1
fi
request="request: $arch $*"
if [ -f "$dest/.debfetch" ] && [ "$(cat "$dest/.debfetch")" = "$(printf '%s\n%s' "$request" "$manifest")" ]; then
	exit 0
fi

apt-get -qq install --download-only --no-install-recommends "$@" >"$state/download.log" 2>&1 || {
	cat "$state/download.log" >&2
	exit 1
}

tmp=$dest.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
exclude=${CAAMCRYPT_DEB_EXCLUDE:-^$}
for deb in $manifest; do
	name=${deb%%_*}
	[[ $name =~ $exclude ]] && continue
	dpkg -x "$state/archives/$deb" "$tmp"
done
# Make the tree a usable sysroot: Debian 12 is merged-/usr (/lib is a link
# to usr/lib), and absolute symlinks such as usr/lib/<triplet>/libdevmapper.so
# -> /lib/<triplet>/libdevmapper.so.1.02.1 must point inside DEST.
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -d "$tmp/$d" ] && [ ! -L "$tmp/$d" ]; then
		mkdir -p "$tmp/usr/$d"
		cp -a "$tmp/$d/." "$tmp/usr/$d/"
		rm -rf "${tmp:?}/$d"
		ln -s "usr/$d" "$tmp/$d"
	fi
done
find "$tmp" -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
	target=$(readlink "$link")
	ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$tmp$target")" "$link"
done
printf '%s\n%s' "$request" "$manifest" >"$tmp/.debfetch"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
