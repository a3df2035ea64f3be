// Package header reads and writes the caamcrypt volume header: a small
// plaintext record at the start of an encrypted device that holds everything
// `caamcrypt open` needs (UUID, label, key backend, cipher, key lengths,
// sector size, payload offset, creation time and the CAAM blob itself), so a
// volume opens with nothing but the device, even on a read-only root
// filesystem or after the key files were lost.
//
// The header is stored twice (copy A at 0, copy B at 64 KiB), each copy
// 4096 bytes, fixed little-endian binary, versioned and protected by a
// SHA-256 checksum; the byte-by-byte layout is in FORMAT.md next to this
// file, written so a C program or a shell script with dd/od/sha256sum can
// read it too. Read falls back to the other copy when one is damaged and
// says so in its ReadReport.
//
// The key-check area (CheckOffset, CheckSize) is not part of the header: at
// format time the volume code writes CheckPattern(uuid) through the
// dm-crypt mapping, and at open it reads the area back through a short-lived
// mapping and compares, so a wrong, stale or foreign key is detected before
// anything is mounted (plain dm-crypt would decrypt to garbage silently).
//
// The blob in the header is sealed by the CAAM (bound to the SoC's master
// key); no plaintext or black key material is ever stored here, and Dump
// prints only the blob's length and a short fingerprint.
package header
