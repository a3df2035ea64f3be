// Package packaging holds no code: it is the home of caamcrypt's boot
// integration files (the systemd unit in systemd/, the SysV/busybox init
// script in sysv/, the example /etc/caamtab and the Yocto layer in yocto/)
// and of the tests that check them: systemd-analyze verify on the unit, the
// init script run against a stub caamcrypt under sh and busybox sh, and the
// Yocto recipes' key variables against the module they build.
package packaging
