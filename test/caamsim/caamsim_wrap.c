// SPDX-License-Identifier: GPL-2.0-only
/*
 * caamsim "hardware": the key-encryption keys and the three wrapping
 * constructions (ECB black key, CCM black key, blob).
 *
 * Nothing here is CAAM's real algorithm; it reproduces the properties
 * caamcrypt depends on (docs/caam-abi.md §3 and §5):
 *
 *  - JDKEK: 32 random bytes drawn at module load, standing for the job
 *    descriptor key-encryption key that CAAM draws at every power-on reset.
 *
 *  - ECB black key (type 1, roundup(L,16) bytes): the red key, zero-padded
 *    to a multiple of 16, encrypted block by block with AES-256-ECB under the
 *    JDKEK. No integrity: a black key from an earlier load decrypts to a
 *    different key without any error, as on hardware.
 *
 *  - CCM black key (type 9, roundup(L,8)+12 bytes):
 *      nonce[6] || ciphertext[roundup(L,8)] || icv[6]
 *    ciphertext = zero-padded red key XOR AES-256-CTR(Kenc, nonce), and
 *    icv = HMAC-SHA256(Kmac, type || L || nonce || ciphertext) cut to
 *    6 bytes; Kenc and Kmac are derived from the JDKEK with HMAC-SHA256.
 *    Encrypt-then-MAC keeps the 12-byte overhead of CAAM's CCM black keys
 *    (6-byte nonce, 6-byte ICV) while using only library primitives; a key
 *    from an earlier load fails the ICV check. A 48-bit ICV is weak by
 *    design of the format, which is fine for a test device.
 *
 *  - Blob (roundup(L,8)+60 bytes = payload + 12 + 48):
 *      nonce[12] || wrapped_bk[32] || ciphertext[roundup(L,8)] || mac[16]
 *    A fresh 32-byte blob key BK is drawn per blob; wrapped_bk = BK XOR
 *    HMAC-SHA256(Kdev, "wrap" || nonce) where Kdev is derived from the
 *    otpmk module parameter (the fused master key). The red key is
 *    encrypted with AES-256-CTR under HMAC(BK, "enc") and everything,
 *    including the tag's type and red key length, is authenticated with
 *    HMAC(BK, "mac") cut to 16 bytes. A blob from another otpmk unwraps to
 *    a wrong BK and fails the MAC; so does any flipped bit.
 *
 * The red key is what the blob carries (a real CAAM black blob carries the
 * key in the same way and re-covers it with the new JDKEK on import).
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/random.h>
#include <linux/errno.h>
#include <crypto/aes.h>
#include <crypto/sha2.h>
#include <crypto/algapi.h>	/* crypto_memneq */

#include "caamsim.h"

#define CAAMSIM_BLOB_NONCE	12

static struct crypto_aes_ctx jdkek_ecb;		/* AES-256 schedule of the JDKEK */
static u8 jd_ccm_enc[32];			/* CCM black key encryption key */
static u8 jd_ccm_mac[32];			/* CCM black key ICV key */
static u8 blob_kdev[32];			/* device key derived from otpmk */

void caamsim_tag_put(u8 *dst, u32 type, u32 red_len, u32 obj_len)
{
	/* Native endianness, as the driver writes it (i.MX is little-endian). */
	const u32 v[5] = { CAAMSIM_TAG_MAGIC, CAAMSIM_TAG_VERSION, type,
			   red_len, obj_len };

	memcpy(dst, v, sizeof(v));
}

void caamsim_tag_get(const u8 *src, struct caamsim_tag *tag)
{
	memcpy(tag, src, sizeof(*tag));
}

int caamsim_wrap_init(const u8 otpmk[CAAMSIM_OTPMK_SIZE])
{
	u8 jdkek[32];
	int ret;

	/* A new JDKEK per load: every insmod is a new "power-on reset". */
	get_random_bytes(jdkek, sizeof(jdkek));
	ret = aes_expandkey(&jdkek_ecb, jdkek, sizeof(jdkek));
	if (!ret) {
		caamsim_derive(jdkek, "caamsim ccm black key enc", NULL, 0, jd_ccm_enc);
		caamsim_derive(jdkek, "caamsim ccm black key icv", NULL, 0, jd_ccm_mac);
		caamsim_derive(otpmk, "caamsim blob device key", NULL, 0, blob_kdev);
	}
	memzero_explicit(jdkek, sizeof(jdkek));
	return ret;
}

void caamsim_wrap_exit(void)
{
	memzero_explicit(&jdkek_ecb, sizeof(jdkek_ecb));
	memzero_explicit(jd_ccm_enc, sizeof(jd_ccm_enc));
	memzero_explicit(jd_ccm_mac, sizeof(jd_ccm_mac));
	memzero_explicit(blob_kdev, sizeof(blob_kdev));
}

static void ccm_icv(u32 type, u32 red_len, const u8 *nonce, const u8 *ct,
		    u32 ct_len, u8 out[SHA256_DIGEST_SIZE])
{
	struct caamsim_hmac h;

	caamsim_hmac_start(&h, jd_ccm_mac, sizeof(jd_ccm_mac));
	caamsim_hmac_add_u32(&h, type);
	caamsim_hmac_add_u32(&h, red_len);
	caamsim_hmac_add(&h, nonce, CAAMSIM_CCM_NONCE);
	caamsim_hmac_add(&h, ct, ct_len);
	caamsim_hmac_finish(&h, out);
}

/* obj must hold caamsim_black_len(type, red_len) bytes. */
void caamsim_black_wrap(u32 type, const u8 *red, u32 red_len, u8 *obj)
{
	u32 len = caamsim_black_len(type, red_len);
	u8 mac[SHA256_DIGEST_SIZE];
	u32 off;

	if (!(type & CAAMSIM_TYPE_CCM)) {
		memset(obj, 0, len);
		memcpy(obj, red, red_len);
		for (off = 0; off < len; off += AES_BLOCK_SIZE)
			aes_encrypt(&jdkek_ecb, obj + off, obj + off);
		return;
	}

	/* nonce || ct || icv */
	len -= CAAMSIM_CCM_OVERHEAD;
	get_random_bytes(obj, CAAMSIM_CCM_NONCE);
	memset(obj + CAAMSIM_CCM_NONCE, 0, len);
	memcpy(obj + CAAMSIM_CCM_NONCE, red, red_len);
	caamsim_ctr_xor(jd_ccm_enc, obj, CAAMSIM_CCM_NONCE, obj + CAAMSIM_CCM_NONCE, len);
	ccm_icv(type, red_len, obj, obj + CAAMSIM_CCM_NONCE, len, mac);
	memcpy(obj + CAAMSIM_CCM_NONCE + len, mac, CAAMSIM_CCM_ICV);
}

/*
 * Recover the red key (red must hold CAAMSIM_MAX_KEY bytes). Returns
 * -EINVAL for a size that does not fit the type, -EBADMSG when a CCM ICV
 * does not verify (JDKEK changed or object corrupted).
 */
int caamsim_black_unwrap(u32 type, u32 red_len, const u8 *obj, u32 obj_len,
			 u8 *red)
{
	u8 buf[CAAMSIM_MAX_KEY + CAAMSIM_CCM_OVERHEAD];
	u8 mac[SHA256_DIGEST_SIZE];
	u32 off, len;
	int ret = 0;

	if (!caamsim_type_ok(type) || !caamsim_key_len_ok(red_len) ||
	    obj_len != caamsim_black_len(type, red_len))
		return -EINVAL;

	if (!(type & CAAMSIM_TYPE_CCM)) {
		for (off = 0; off < obj_len; off += AES_BLOCK_SIZE)
			aes_decrypt(&jdkek_ecb, buf + off, obj + off);
		memcpy(red, buf, red_len);
		goto out;
	}

	len = obj_len - CAAMSIM_CCM_OVERHEAD;
	ccm_icv(type, red_len, obj, obj + CAAMSIM_CCM_NONCE, len, mac);
	if (crypto_memneq(mac, obj + CAAMSIM_CCM_NONCE + len, CAAMSIM_CCM_ICV)) {
		ret = -EBADMSG;
		goto out;
	}
	memcpy(buf, obj + CAAMSIM_CCM_NONCE, len);
	caamsim_ctr_xor(jd_ccm_enc, obj, CAAMSIM_CCM_NONCE, buf, len);
	memcpy(red, buf, red_len);
out:
	memzero_explicit(buf, sizeof(buf));
	return ret;
}

/* Per-blob keys: BK from the wrapped field, then its enc and mac keys. */
static void blob_keys(const u8 *nonce, const u8 *wrapped, u8 enc[32],
		      u8 mac[32])
{
	u8 pad[32], bk[32];
	int i;

	caamsim_derive(blob_kdev, "caamsim blob key wrap", nonce, CAAMSIM_BLOB_NONCE,
	       pad);
	for (i = 0; i < 32; i++)
		bk[i] = wrapped[i] ^ pad[i];
	caamsim_derive(bk, "caamsim blob enc", NULL, 0, enc);
	caamsim_derive(bk, "caamsim blob mac", NULL, 0, mac);
	memzero_explicit(pad, sizeof(pad));
	memzero_explicit(bk, sizeof(bk));
}

static void blob_mac(const u8 kmac[32], u32 type, u32 red_len, const u8 *obj,
		     u32 covered, u8 out[SHA256_DIGEST_SIZE])
{
	struct caamsim_hmac h;

	caamsim_hmac_start(&h, kmac, 32);
	caamsim_hmac_add_u32(&h, type);
	caamsim_hmac_add_u32(&h, red_len);
	caamsim_hmac_add(&h, obj, covered);
	caamsim_hmac_finish(&h, out);
}

/* obj must hold caamsim_blob_len(red_len) bytes. */
void caamsim_blob_seal(u32 type, const u8 *red, u32 red_len, u8 *obj)
{
	u32 plen = round_up(red_len, 8);
	u8 *nonce = obj;
	u8 *wrapped = obj + CAAMSIM_BLOB_NONCE;
	u8 *ct = wrapped + CAAMSIM_BLOB_KEY;
	u8 bk[32], pad[32], kenc[32], kmac[32], mac[SHA256_DIGEST_SIZE];
	int i;

	get_random_bytes(nonce, CAAMSIM_BLOB_NONCE);
	get_random_bytes(bk, sizeof(bk));
	caamsim_derive(blob_kdev, "caamsim blob key wrap", nonce, CAAMSIM_BLOB_NONCE,
	       pad);
	for (i = 0; i < 32; i++)
		wrapped[i] = bk[i] ^ pad[i];
	memzero_explicit(bk, sizeof(bk));
	memzero_explicit(pad, sizeof(pad));

	blob_keys(nonce, wrapped, kenc, kmac);
	memset(ct, 0, plen);
	memcpy(ct, red, red_len);
	caamsim_ctr_xor(kenc, nonce, CAAMSIM_BLOB_NONCE, ct, plen);
	blob_mac(kmac, type, red_len, obj, ct + plen - obj, mac);
	memcpy(ct + plen, mac, CAAMSIM_BLOB_MAC);
	memzero_explicit(kenc, sizeof(kenc));
	memzero_explicit(kmac, sizeof(kmac));
}

/* Returns -EINVAL for a bad size, -EBADMSG for a failed integrity check. */
int caamsim_blob_open(u32 type, u32 red_len, const u8 *obj, u32 obj_len,
		      u8 *red)
{
	u32 plen = round_up(red_len, 8);
	const u8 *ct = obj + CAAMSIM_BLOB_NONCE + CAAMSIM_BLOB_KEY;
	u8 buf[CAAMSIM_MAX_KEY];
	u8 kenc[32], kmac[32], mac[SHA256_DIGEST_SIZE];
	int ret = 0;

	if (!caamsim_key_len_ok(red_len) || obj_len != caamsim_blob_len(red_len))
		return -EINVAL;

	blob_keys(obj, obj + CAAMSIM_BLOB_NONCE, kenc, kmac);
	blob_mac(kmac, type, red_len, obj, ct + plen - obj, mac);
	if (crypto_memneq(mac, ct + plen, CAAMSIM_BLOB_MAC)) {
		ret = -EBADMSG;
		goto out;
	}
	memcpy(buf, ct, plen);
	caamsim_ctr_xor(kenc, obj, CAAMSIM_BLOB_NONCE, buf, plen);
	memcpy(red, buf, red_len);
out:
	memzero_explicit(buf, sizeof(buf));
	memzero_explicit(kenc, sizeof(kenc));
	memzero_explicit(kmac, sizeof(kmac));
	return ret;
}
