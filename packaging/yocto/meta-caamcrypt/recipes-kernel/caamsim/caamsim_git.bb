SUMMARY = "caamsim: CAAM keygen and tagged-key cipher simulator (test only)"
DESCRIPTION = "Out-of-tree kernel module that behaves like linux-imx's \
caam-keygen misc device and tk(ecb(aes))/tk(cbc(aes)) ciphers, so image \
tests on QEMU machines can run caamcrypt's whole encrypted-storage flow. \
It provides NO security: its master key is a module parameter."
HOMEPAGE = "https://github.com/caamcrypt/caamcrypt"
SECTION = "kernel/modules"

LICENSE = "GPL-2.0-only"
# The SPDX line of the module's entry file.
LIC_FILES_CHKSUM = "file://caamsim_main.c;beginline=1;endline=1;md5=fcab174c20ea2e2bc0be64b493708266"

SRC_URI = "git://github.com/caamcrypt/caamcrypt.git;protocol=https;branch=main;destsuffix=caamcrypt-src"
# The same pinned commit as the caamcrypt recipe (see there).
SRCREV = "7c486652058ee88d784c4bed683c9847c7be40b0"
PV = "0.1+git"

# The whole repository is unpacked: Kbuild includes the caam-keygen UAPI
# header from ../../third_party/caam-keygen.
S = "${UNPACKDIR}/caamcrypt-src/test/caamsim"

inherit module

# test/caamsim/Makefile builds against KERNEL_SRC, which module.bbclass
# passes, and its modules_install honours INSTALL_MOD_PATH.

# A simulated CAAM on real hardware would turn black keys into keys anyone
# can unwrap: build it only for the QEMU machines image tests run on.
COMPATIBLE_MACHINE = "^(qemux86-64|qemuarm64)$"

# Optional: load it at boot (writes /etc/modules-load.d/caamsim.conf).
# The oeqa test loads it itself with modprobe.
# KERNEL_MODULE_AUTOLOAD += "caamsim"
RPROVIDES:${PN} += "kernel-module-caamsim"
