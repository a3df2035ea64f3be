SUMMARY = "Encrypted storage with NXP CAAM black keys and dm-crypt"
DESCRIPTION = "caamcrypt creates CAAM black keys and blobs, formats, opens \
and closes dm-crypt volumes keyed by them, and unlocks the volumes listed \
in /etc/caamtab at boot (systemd unit or SysV init script)."
HOMEPAGE = "https://github.com/caamcrypt/caamcrypt"
SECTION = "console/utils"

# The binary is MIT; the module licences of its Go dependencies are added by
# caamcrypt-licenses.inc (go-mod-update-modules). test/caamsim (GPL-2.0-only)
# is built by the caamsim recipe, not here.
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://src/${GO_IMPORT}/LICENSE;md5=c3b518d2b092c1d63c2504cbed31cb15"

GO_IMPORT = "github.com/caamcrypt/caamcrypt"
GO_INSTALL = "${GO_IMPORT}/cmd/caamcrypt"

SRC_URI = "git://${GO_IMPORT}.git;protocol=https;branch=main;destsuffix=${GO_SRCURI_DESTSUFFIX}"
# Pin a commit for reproducible images; AUTOREV follows the branch head and
# needs the network at parse time.
SRCREV ?= "${AUTOREV}"
PV = "0.1+git"

# do_compile has no network: every module of go.sum is fetched in do_fetch
# by the gomod:// fetcher from the SRC_URI entries that
#   bitbake caamcrypt -c update_modules
# writes into caamcrypt-go-mods.inc (and the licences into
# caamcrypt-licenses.inc). Re-run it whenever go.mod changes. "include", not
# "require", so the layer parses before the first run.
include ${BPN}-go-mods.inc
include ${BPN}-licenses.inc

inherit go-mod go-mod-update-modules pkgconfig systemd update-rc.d

# cgo binding of libdevmapper (pkg-config "devmapper"). The libdevmapper
# recipe (meta-oe) ships the headers and devmapper.pc that lvm2's recipe
# removes from its sysroot.
DEPENDS += "libdevmapper"

# cgo is off by default when cross-compiling; caamcrypt needs it for
# libdevmapper and the caam-keygen ioctl structures.
CGO_ENABLED = "1"
# A self-contained executable: no -linkshared against the Go runtime
# package, whatever GO_DYNLINK says for the architecture.
GO_LINKSHARED = ""

# format runs mkfs.ext4, open runs e2fsck before mounting.
RDEPENDS:${PN} += "e2fsprogs-mke2fs e2fsprogs-e2fsck"

SYSTEMD_SERVICE:${PN} = "caamcrypt.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

# Runlevel S after udev (S04), module loading (S05), checkroot and mountall,
# before populate-volatile (S37); at halt/reboot K80, after the daemons'
# own K links (busybox's rcK only runs K links of rc6.d).
INITSCRIPT_NAME = "caamcrypt"
INITSCRIPT_PARAMS = "start 30 S . stop 80 0 6 ."

# Only the executable: go.bbclass would also install the module sources
# into ${libdir}/go/src.
do_install() {
	install -d ${D}${bindir}
	install -m 0755 ${B}/${GO_BUILD_BINDIR}/caamcrypt ${D}${bindir}/caamcrypt

	pkgdir=${S}/src/${GO_IMPORT}/packaging

	if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
		install -d ${D}${systemd_system_unitdir}
		sed -e 's,/usr/bin/caamcrypt,${bindir}/caamcrypt,g' \
			${pkgdir}/systemd/caamcrypt.service >${D}${systemd_system_unitdir}/caamcrypt.service
		chmod 0644 ${D}${systemd_system_unitdir}/caamcrypt.service
	fi

	if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
		install -d ${D}${sysconfdir}/init.d
		sed -e 's,/usr/bin/caamcrypt,${bindir}/caamcrypt,g' \
			${pkgdir}/sysv/caamcrypt >${D}${sysconfdir}/init.d/caamcrypt
		chmod 0755 ${D}${sysconfdir}/init.d/caamcrypt
	fi

	# An example, not /etc/caamtab itself: with a table present the boot
	# service would try to open its sample volumes.
	install -d ${D}${datadir}/caamcrypt
	install -m 0644 ${pkgdir}/caamtab.example ${D}${datadir}/caamcrypt/caamtab.example
}

FILES:${PN} += "${datadir}/caamcrypt"
