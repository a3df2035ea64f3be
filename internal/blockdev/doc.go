// Package blockdev finds the block device a device spec names: an absolute
// path, UUID= or LABEL= of a caamcrypt volume (matched against the headers
// themselves, so it works on images without udev's /dev/disk links), or
// udev's PARTUUID= / PARTLABEL= links. The volume table and the command
// line use the same specs.
package blockdev
