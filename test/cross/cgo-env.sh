#!/usr/bin/env bash
# cgo-env.sh ARCH — print the environment that cross-builds caamcrypt with
# cgo for ARCH (arm64: i.MX8/9; armhf: i.MX6/7) against a Debian 12 sysroot,
# making the sysroot first (debfetch.sh) if needed. Use:
#
#   eval "$(test/cross/cgo-env.sh arm64)" && go build ./cmd/caamcrypt
#
# pkg-config must search only the sysroot: PKG_CONFIG_LIBDIR replaces the
# default search path, PKG_CONFIG_SYSROOT_DIR prefixes what it prints.
# PKG_CONFIG_PATH would fall back to the host's devmapper.pc and the link
# would then fail. Go's build cache does not key on pkg-config output, so
# each sysroot gets its own GOCACHE, named as packaging/cross/build.sh names
# it for an SDK's sysroot (so both share one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
arch=${1:?usage: cgo-env.sh arm64|armhf}
cache=${CAAMCRYPT_DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caamcrypt-debs}
case $arch in
arm64) triplet=aarch64-linux-gnu goarch=arm64 goarm= ;;
armhf) triplet=arm-linux-gnueabihf goarch=arm goarm=7 ;;
*) echo "cgo-env: unsupported architecture $arch" >&2; exit 2 ;;
esac
sysroot=$cache/sysroot-$arch
"$here/debfetch.sh" "$arch" "$sysroot" libdevmapper-dev >&2
libdir=$sysroot/usr/lib/$triplet
gocache=${XDG_CACHE_HOME:-$HOME/.cache}/caamcrypt-gocache/$goarch-$(printf '%s' "$sysroot" | sha256sum | cut -c1-12)
cat <<ENV
export CGO_ENABLED=1 GOOS=linux GOARCH=$goarch GOARM=$goarm
export CC="$triplet-gcc --sysroot=$sysroot"
export PKG_CONFIG_SYSROOT_DIR=$sysroot
export PKG_CONFIG_LIBDIR=$libdir/pkgconfig:$sysroot/usr/share/pkgconfig
export CGO_LDFLAGS="-Wl,-rpath-link,$libdir -Wl,-rpath-link,$sysroot/lib/$triplet"
export GOCACHE=$gocache
export STRIP=$triplet-strip
export CAAMCRYPT_SYSROOT=$sysroot
ENV
