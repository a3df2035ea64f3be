// Package vm is caamcrypt's QEMU integration rig: it boots the build host's
// Debian kernel under qemu-system-x86_64 (TCG) with an initramfs it assembles
// itself, runs a scenario's shell steps in the guest and reports each step's
// output and exit code back to the host test.
//
// Why a VM at all: the build machines' own kernel has no device-mapper, and
// the claims caamcrypt makes (dm-crypt mappings, kernel keyring lookups, udev
// or no udev, mkfs, data surviving a reboot) are kernel behaviour that only a
// real kernel can prove. Why our own harness instead of hugelgupf/vmtest: see
// README.md next to this file.
//
// Shape of a scenario:
//
//	m := vm.New(t, vm.Config{Flavour: vm.NoUdev, Disks: []vm.DiskSpec{{Name: "data", SizeMiB: 64}}})
//	res := m.Boot(vm.Boot{Steps: []vm.Step{{Name: "probe", Run: "blockdev --getsz " + m.GuestDevice("data")}}})
//	res.Require(t, "probe")
//
// Every Machine keeps its disks across boots, so boot 1 can write and boot 2
// read; the host test can read the raw image through DiskPath.
//
// The image is layered as concatenated newc cpio archives (the kernel unpacks
// them in order, later entries replacing earlier ones): a base per flavour
// (busybox, e2fsprogs, keyutils, dmsetup, kernel modules, udev) cached across
// runs, a machine layer (the binaries and extra modules of one Config) and a
// tiny per-boot layer (the steps).
package vm
