# dm-crypt, keys, loop and ext4 for caamcrypt (linux-yocto/caamcrypt.cfg).
# linux-yocto merges .cfg fragments of SRC_URI into its configuration.
FILESEXTRAPATHS:prepend := "${THISDIR}/linux-yocto:"
SRC_URI:append = " file://caamcrypt.cfg"
