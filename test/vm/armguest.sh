#!/usr/bin/env bash
# armguest.sh ARCH — prepare what the QEMU rig needs to boot an ARM guest
# (ARCH arm64: i.MX8/9; armhf: i.MX6/7) and print it as KEY=VALUE lines:
#
#   root=     Debian 12 tree of ARCH (merged /usr): kernel, modules, userland
#   kernel=   the kernel image QEMU boots (root/boot/vmlinuz-<kver>)
#   kver=     kernel release (root/lib/modules/<kver>)
#   caamsim=  test/caamsim cross-built against that kernel's headers
#
# Everything comes from Debian's ARCH .debs through test/cross/debfetch.sh
# (no multiarch, host untouched; docs/caam-abi.md §12): the kernel, its
# headers and the guest's tools. Three fixes make the unpacked tree usable
# from the x86_64 host, because no maintainer script ran:
#   - depmod writes modules.dep (the .deb ships none; the rig resolves
#     module dependencies from it);
#   - linux-kbuild's helper programs (fixdep, modpost, ...) are ARCH
#     binaries: each is replaced by the host's linux-kbuild-6.1 program of
#     the same path (same 6.1 series; the armhf headers may be a few stable
#     releases older than the host's, see test/vm/README.md);
#   - the headers' Makefile includes the -common tree by absolute path.
# Idempotent: a stamp in the tree records the fixes; caamsim is rebuilt by
# kbuild only when its sources change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
arch=${1:?usage: armguest.sh arm64|armhf}
case $arch in
arm64) flavour=arm64 karch=arm64 cross=aarch64-linux-gnu- ;;
armhf) flavour=armmp karch=arm cross=arm-linux-gnueabihf- ;;
*) echo "armguest: unsupported architecture $arch" >&2; exit 2 ;;
esac
cache=${CAAMCRYPT_DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caamcrypt-debs}
root=$cache/guest-$arch

# The guest's userland is what the x86 rig copies from the host (see
# baseTools and udevFiles in test/vm/image.go), here from ARCH's packages.
"$repo/test/cross/debfetch.sh" "$arch" "$root" \
	"linux-image-$flavour" "linux-headers-$flavour" \
	busybox-static e2fsprogs dmsetup keyutils util-linux udev >&2

kvers=("$root"/usr/lib/modules/*)
if [ ${#kvers[@]} != 1 ] || [ ! -d "${kvers[0]}" ]; then
	echo "armguest: expected one kernel in $root/usr/lib/modules" >&2
	exit 1
fi
kver=$(basename "${kvers[0]}")
kernel=$root/boot/vmlinuz-$kver
kdir=$root/usr/src/linux-headers-$kver
if [ ! -f "$kernel" ] || [ ! -d "$kdir" ]; then
	echo "armguest: kernel or headers for $kver missing in $root" >&2
	exit 1
fi

stamp=$root/.armguest-prepared
if [ ! -f "$stamp" ]; then
	depmod -b "$root" "$kver"
	hostkb=/usr/lib/linux-kbuild-6.1
	[ -d "$hostkb" ] || { echo "armguest: $hostkb missing (apt install linux-kbuild-6.1, part of linux-headers-amd64)" >&2; exit 1; }
	kb=$root/usr/lib/linux-kbuild-6.1
	while IFS= read -r -d '' f; do
		# ELF magic, then e_machine at offset 18: 0x28 ARM, 0xb7 AArch64.
		[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
		rel=${f#"$kb"/}
		[ -f "$hostkb/$rel" ] || { echo "armguest: host kbuild has no $rel to replace $arch's" >&2; exit 1; }
		cp -f "$hostkb/$rel" "$f"
	done < <(find "$kb" -type f -print0)
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$kdir/Makefile"
	touch "$stamp"
fi

build=$cache/caamsim-$arch-$kver
make -s -C "$repo/test/caamsim" cross-modules BUILD_DIR="$build" KDIR="$kdir" \
	ARCH="$karch" CROSS_COMPILE="$cross" >&2

echo "root=$root"
echo "kernel=$kernel"
echo "kver=$kver"
echo "caamsim=$build/caamsim.ko"
