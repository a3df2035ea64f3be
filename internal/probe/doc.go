// Package probe answers "is this device safe to format?" before caamcrypt
// writes a header or mkfs over it (the seed's manual flow happily mkfs'es a
// device holding data, docs/caam-abi.md §9).
//
// Two questions, two functions:
//
//   - Signatures reads the first 72 KiB of a device and reports what it holds,
//     by on-disk magic numbers: filesystems (ext2/3/4, FAT, exFAT, NTFS, XFS,
//     btrfs, squashfs, ISO 9660), swap, LUKS and caamcrypt headers, MBR and GPT
//     partition tables. It is pure Go over an io.ReaderAt, so it works on
//     image files and is tested with synthetic images.
//   - InUse asks the kernel whether anything uses the device right now: a
//     mount (matched by major:minor in /proc/self/mountinfo), a holder in
//     sysfs (a device-mapper mapping, md or loop on top of it), a mounted or
//     held partition of it, or any other exclusive opener (open(2) with
//     O_EXCL on a block device fails with EBUSY). For a regular file (an
//     image used in tests) it reports loop devices backed by that file.
//
// Findings are worded for the person running format, e.g.
// {Kind: "filesystem", Detail: `ext4 filesystem, label "data"`}.
package probe
