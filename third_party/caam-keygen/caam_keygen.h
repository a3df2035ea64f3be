/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * User-space view of the caam-keygen misc device (/dev/caam-keygen) found in
 * NXP's linux-imx kernels. Written for caamcrypt from the interface facts in
 * docs/docs/caam-abi.md §2 (field order, C types, ioctl numbers); no NXP
 * or kernel text was copied. See README.md in this directory.
 *
 * Layout (arm64, x86_64 and 32-bit ARM EABI, where __u64 is 8-aligned):
 * 56 bytes; offsets 0, 1, 2, 4, 8, 16, 24, 32, 40, 48; 4 bytes of padding
 * after blob_len. Go lays out uint64 with 4-byte alignment on 32-bit ARM, so
 * caamcrypt compiles this struct with the C compiler (cgo) instead of
 * mirroring it in Go.
 */
#ifndef CAAMCRYPT_CAAM_KEYGEN_H
#define CAAMCRYPT_CAAM_KEYGEN_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * One command block serves both ioctls. Every pointer travels as a __u64
 * user address so that 32-bit and 64-bit callers share one layout.
 */
struct caam_keygen_cmd {
	__u8 key_enc_len;   /* bytes at key_enc, terminating NUL included */
	__u8 key_mode_len;  /* bytes at key_mode, terminating NUL included */
	__u16 key_value_len; /* bytes at key_value */
	__u32 black_key_len; /* in: black_key capacity; out: bytes written */
	__u64 key_enc;      /* "ecb" or "ccm" */
	__u64 key_mode;     /* "-s" (random key) or "-t" (from plaintext) */
	__u64 key_value;    /* "-s": key size as decimal text; "-t": plaintext */
	__u64 black_key;    /* tagged black key out; error text on IMPORT */
	__u32 blob_len;     /* in: blob capacity or length; out: bytes written */
	__u64 blob;         /* tagged blob out (CREATE, error text) or in (IMPORT) */
};

/* Make a black key and its blob: key_enc, key_mode, key_value in. */
#define CAAM_KEYGEN_IOCTL_CREATE _IOWR('K', 0, struct caam_keygen_cmd)
/* Turn a tagged blob back into a tagged black key (needed at every boot). */
#define CAAM_KEYGEN_IOCTL_IMPORT _IOWR('K', 1, struct caam_keygen_cmd)

#endif /* CAAMCRYPT_CAAM_KEYGEN_H */
