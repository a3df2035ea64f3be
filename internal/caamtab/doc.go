// Package caamtab reads /etc/caamtab, caamcrypt's crypttab-like list of
// volumes that `caamcrypt open --all` / `close --all` act on at boot and
// shutdown. Package blockdev resolves the device specs it contains.
//
// Format, one volume per line, fields separated by blanks:
//
//	# name   device                 key        options
//	data     UUID=6f1c2a4e-...      -          mount=/data,fs=ext4,nofail
//	logs     LABEL=logs             none       mount=/var/log/app,discard
//	legacy   /dev/mmcblk2p3         randomkey  type=plain,sector-size=512,mount=/legacy
//
// The fields:
//
//   - name: the device-mapper name (/dev/mapper/<name>), unique in the file.
//   - device: an absolute path, UUID=<uuid> or LABEL=<label> (matched
//     against caamcrypt headers, so they work without udev's /dev/disk
//     links, e.g. on busybox images), or PARTUUID= / PARTLABEL= (udev links
//     only).
//   - key: "-" or "none" (or omitted) for caamcrypt volumes, whose blob is in
//     the volume header; for plain volumes (the seed's layout, no header) a
//     key name under the key directory or an absolute path to a blob file.
//   - options, comma-separated: mount=/dir, fs=ext4|none,
//     sector-size=512|1024|2048|4096 (plain only), type=caamcrypt|plain, nofail, noauto,
//     readonly (or ro), discard, keyring=@u|@s|@us|@p|@t, keep-key,
//     cipher=<dm-crypt cipher> (plain only).
//
// A field starting with "#" starts a comment that runs to the end of the line
// ("#" inside a field, as in LABEL=a#b, is data); blank lines are ignored.
// Every error names the file and line and wraps fail.ErrUsage (exit code 2),
// so a typo is reported at once rather than as a failure at the next boot.
package caamtab
