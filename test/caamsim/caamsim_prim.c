// SPDX-License-Identifier: GPL-2.0-only
/*
 * caamsim primitives: HMAC-SHA256, HMAC-based key derivation and
 * AES-256-CTR, built on the kernel's AES and SHA-256 libraries
 * (CONFIG_CRYPTO_LIB_AES, CONFIG_CRYPTO_LIB_SHA256) so that wrapping a key
 * needs no crypto tfm and cannot sleep or fail.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <crypto/aes.h>
#include <crypto/sha2.h>

#include "caamsim.h"

/* HMAC-SHA256 with a key of at most one block (all our keys are 32 bytes). */
void caamsim_hmac_start(struct caamsim_hmac *h, const u8 *key, size_t klen)
{
	u8 pad[SHA256_BLOCK_SIZE];
	size_t i;

	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, min_t(size_t, klen, sizeof(pad)));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	sha256_init(&h->inner);
	sha256_update(&h->inner, pad, sizeof(pad));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	sha256_init(&h->outer);
	sha256_update(&h->outer, pad, sizeof(pad));
	memzero_explicit(pad, sizeof(pad));
}

void caamsim_hmac_add(struct caamsim_hmac *h, const void *data, size_t len)
{
	sha256_update(&h->inner, data, len);
}

void caamsim_hmac_add_u32(struct caamsim_hmac *h, u32 v)
{
	__le32 le = cpu_to_le32(v);

	caamsim_hmac_add(h, &le, sizeof(le));
}

void caamsim_hmac_finish(struct caamsim_hmac *h, u8 out[SHA256_DIGEST_SIZE])
{
	u8 ih[SHA256_DIGEST_SIZE];

	sha256_final(&h->inner, ih);
	sha256_update(&h->outer, ih, sizeof(ih));
	sha256_final(&h->outer, out);
	memzero_explicit(ih, sizeof(ih));
	memzero_explicit(h, sizeof(*h));
}

/* out = HMAC(key, label || extra): the key derivation used everywhere here. */
void caamsim_derive(const u8 key[32], const char *label, const u8 *extra,
		   size_t extra_len, u8 out[32])
{
	struct caamsim_hmac h;

	caamsim_hmac_start(&h, key, 32);
	caamsim_hmac_add(&h, label, strlen(label));
	if (extra_len)
		caamsim_hmac_add(&h, extra, extra_len);
	caamsim_hmac_finish(&h, out);
}

/*
 * XOR buf with AES-256-CTR keystream. Counter block: the nonce, zero
 * filled up to 12 bytes, then a big-endian 32-bit block counter from 1.
 */
void caamsim_ctr_xor(const u8 key[32], const u8 *nonce, size_t nonce_len,
		    u8 *buf, size_t len)
{
	struct crypto_aes_ctx ctx;
	u8 block[AES_BLOCK_SIZE], ks[AES_BLOCK_SIZE];
	u32 ctr = 1;
	size_t off, n, i;

	aes_expandkey(&ctx, key, 32);
	memset(block, 0, sizeof(block));
	memcpy(block, nonce, min_t(size_t, nonce_len, 12));
	for (off = 0; off < len; off += n, ctr++) {
		block[12] = ctr >> 24;
		block[13] = ctr >> 16;
		block[14] = ctr >> 8;
		block[15] = ctr;
		aes_encrypt(&ctx, ks, block);
		n = min_t(size_t, len - off, AES_BLOCK_SIZE);
		for (i = 0; i < n; i++)
			buf[off + i] ^= ks[i];
	}
	memzero_explicit(ks, sizeof(ks));
	memzero_explicit(&ctx, sizeof(ctx));
}
