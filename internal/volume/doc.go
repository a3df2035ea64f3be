// Package volume carries out caamcrypt's volume operations — format, open,
// close, status and the header commands — by joining the CAAM key binding,
// the volume header, the kernel keyring, device-mapper, mkfs/fsck and
// mount(2). It is usable and testable without the CLI: every collaborator
// sits behind a small interface (interfaces.go) with its real adapter in
// adapter_<what>.go (adapter_<what>_linux.go where it needs Linux;
// adapter_other.go holds the stand-ins elsewhere) and fakes in the tests.
//
// Two volume types exist:
//
//   - caamcrypt (default): a plaintext header at the device start (two
//     copies, see package header) holds the CAAM blob and every parameter;
//     the encrypted payload starts at 1 MiB. The volume opens with nothing
//     but the device.
//   - plain: no header, exactly the layout of the manual caam-keygen flow
//     (whole device, capi:tk(cbc(aes))-plain, key from <keydir>/<key>.bb,
//     sector_size 512 unless told otherwise), so a device set up with
//     caam-keygen, keyctl and dmsetup opens here and vice versa.
//
// Wrong-key detection (caamcrypt type only): format writes
// header.CheckPattern(uuid) through a short-lived dm-crypt mapping
// "caamcrypt-check-<name>" over the key-check area; open maps the same area
// read-only with the imported key and compares before anything else is
// mapped, so a stale black key or a blob from another device is refused with
// nothing mapped and nothing written. An ECB black key that decrypts to a
// different key gives no error from the CAAM or dm-crypt (docs/caam-abi.md
// §5); only this comparison catches it. Plain volumes have no check area and
// therefore no detection, as in the manual caam-keygen flow.
//
// Rollback: each multi-step operation records an undo step after every
// change it makes and runs them in reverse order when a later step fails.
// Format writes nothing to the device until every refusal check has passed.
// The header it writes is not rolled back (the previous first mebibyte is
// not saved): after a failure past that point the device holds a caamcrypt
// header but no mapping, no key in the keyring and no new key files, and the
// error says so; formatting again needs --force.
//
// The key is unlinked from the keyring as soon as the payload table is
// loaded, because dm-crypt keeps its own copy (docs/caam-abi.md §6), unless
// KeepKey is set. Key material is never logged and is zeroed after use.
//
// Every operation on one volume name takes a flock(2) on
// <LockDir>/<name>.lock, so concurrent opens, closes and formats of one
// volume serialise; open and format first lock the backing device too
// (<LockDir>/dev#<major:minor>.lock), so one device is not mapped twice
// under two names. A process killed with -9 drops its lock, and the next
// open or close removes a stale check mapping it left, and a payload
// mapping it made whose /dev/mapper node it did not live to create. The key's
// description derives from the volume name ("caamcrypt:<name>"), so close
// NAME also drops a key a killed open or format left in the keyring.
package volume
