/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * caamsim - a software stand-in for the NXP CAAM key generator and
 * tagged-key ciphers, for testing caamcrypt without i.MX hardware.
 *
 * Shared definitions between the four parts of the module:
 *   caamsim_main.c   module parameters, load/unload order
 *   caamsim_prim.c   HMAC-SHA256, key derivation, AES-CTR helpers
 *   caamsim_wrap.c   the "hardware": JDKEK, black keys, blobs
 *   caamsim_keygen.c the /dev/caam-keygen misc device and its CREATE ioctl
 *   caamsim_import.c the IMPORT ioctl
 *   caamsim_tk.c     the tk(ecb(aes)) / tk(cbc(aes)) skciphers
 *
 * Object layout facts (docs/caam-abi.md §3): every key or blob handed to
 * user space starts with a 20-byte tag of five native-endian u32 values:
 * magic "TagO", version 0, type, red key length, object length.
 */
#ifndef CAAMSIM_H
#define CAAMSIM_H

#include <linux/types.h>
#include <linux/bits.h>
#include <linux/math.h>
#include <linux/list.h>
#include <linux/ktime.h>
#include <crypto/sha2.h>

#define CAAMSIM_TAG_MAGIC	0x5461674f	/* "TagO" read as a LE u32 */
#define CAAMSIM_TAG_VERSION	0
#define CAAMSIM_TAG_SIZE	20

/* Tag type bits (docs/caam-abi.md §3). */
#define CAAMSIM_TYPE_BLACK	BIT(0)	/* 0 red, 1 black */
#define CAAMSIM_TYPE_BLOB	BIT(1)	/* 0 key, 1 blob (the driver never sets it) */
#define CAAMSIM_TYPE_TDKEK	BIT(2)	/* 0 JDKEK, 1 TDKEK */
#define CAAMSIM_TYPE_CCM	BIT(3)	/* 0 ECB, 1 CCM */
#define CAAMSIM_TYPE_SECMEM	BIT(4)	/* 0 general memory, 1 secure memory */

/* The only two types the keygen driver produces: black, JDKEK, general memory. */
#define CAAMSIM_TYPE_ECB_KEY	(CAAMSIM_TYPE_BLACK)
#define CAAMSIM_TYPE_CCM_KEY	(CAAMSIM_TYPE_BLACK | CAAMSIM_TYPE_CCM)

#define CAAMSIM_MIN_KEY		16
#define CAAMSIM_MAX_KEY		64

/* CCM black key overhead: 6-byte nonce + 6-byte tag (see caamsim_wrap.c). */
#define CAAMSIM_CCM_NONCE	6
#define CAAMSIM_CCM_ICV		6
#define CAAMSIM_CCM_OVERHEAD	(CAAMSIM_CCM_NONCE + CAAMSIM_CCM_ICV)

/* Blob overhead on top of the CCM-sized payload: 32-byte blob key + 16-byte MAC. */
#define CAAMSIM_BLOB_KEY	32
#define CAAMSIM_BLOB_MAC	16
#define CAAMSIM_BLOB_OVERHEAD	(CAAMSIM_BLOB_KEY + CAAMSIM_BLOB_MAC)

/* Largest objects, tag included: 96 and 144 bytes, the capacities NXP's tool passes. */
#define CAAMSIM_MAX_BLACK_TAGGED \
	(CAAMSIM_TAG_SIZE + CAAMSIM_MAX_KEY + CAAMSIM_CCM_OVERHEAD)
#define CAAMSIM_MAX_BLOB_TAGGED \
	(CAAMSIM_TAG_SIZE + CAAMSIM_MAX_KEY + CAAMSIM_CCM_OVERHEAD + \
	 CAAMSIM_BLOB_OVERHEAD)

#define CAAMSIM_OTPMK_SIZE	32

struct caamsim_tag {
	u32 magic;
	u32 version;
	u32 type;
	u32 red_key_len;
	u32 obj_len;
};

static inline bool caamsim_key_len_ok(u32 len)
{
	return len >= CAAMSIM_MIN_KEY && len <= CAAMSIM_MAX_KEY;
}

static inline bool caamsim_type_ok(u32 type)
{
	return type == CAAMSIM_TYPE_ECB_KEY || type == CAAMSIM_TYPE_CCM_KEY;
}

/* Black key object size (no tag): ECB roundup(L,16), CCM roundup(L,8)+12. */
static inline u32 caamsim_black_len(u32 type, u32 red_len)
{
	if (type & CAAMSIM_TYPE_CCM)
		return round_up(red_len, 8) + CAAMSIM_CCM_OVERHEAD;
	return round_up(red_len, 16);
}

/* Blob object size (no tag): roundup(L,8) + 12 + 48, whatever the key type. */
static inline u32 caamsim_blob_len(u32 red_len)
{
	return round_up(red_len, 8) + CAAMSIM_CCM_OVERHEAD +
	       CAAMSIM_BLOB_OVERHEAD;
}

/* HMAC-SHA256 in steps; keys of at most one block (ours are 32 bytes). */
struct caamsim_hmac {
	struct sha256_state inner;
	struct sha256_state outer;
};

void caamsim_hmac_start(struct caamsim_hmac *h, const u8 *key, size_t klen);
void caamsim_hmac_add(struct caamsim_hmac *h, const void *data, size_t len);
void caamsim_hmac_add_u32(struct caamsim_hmac *h, u32 v);	/* as LE32 */
void caamsim_hmac_finish(struct caamsim_hmac *h, u8 out[SHA256_DIGEST_SIZE]);
/* out = HMAC-SHA256(key, label || extra) */
void caamsim_derive(const u8 key[32], const char *label, const u8 *extra,
		    size_t extra_len, u8 out[32]);
/* buf ^= AES-256-CTR keystream; counter block nonce (<=12 B) || BE32 from 1 */
void caamsim_ctr_xor(const u8 key[32], const u8 *nonce, size_t nonce_len,
		     u8 *buf, size_t len);

void caamsim_tag_put(u8 *dst, u32 type, u32 red_len, u32 obj_len);
void caamsim_tag_get(const u8 *src, struct caamsim_tag *tag);

int caamsim_wrap_init(const u8 otpmk[CAAMSIM_OTPMK_SIZE]);
void caamsim_wrap_exit(void);

/* Black keys under the JDKEK of this "boot" (module load). */
void caamsim_black_wrap(u32 type, const u8 *red, u32 red_len, u8 *obj);
int caamsim_black_unwrap(u32 type, u32 red_len, const u8 *obj, u32 obj_len,
			 u8 *red);

/* Blobs under the key derived from the otpmk module parameter. */
void caamsim_blob_seal(u32 type, const u8 *red, u32 red_len, u8 *obj);
int caamsim_blob_open(u32 type, u32 red_len, const u8 *obj, u32 obj_len,
		      u8 *red);

/* Test-only: a positive errno every keygen ioctl returns (caamsim_main.c). */
extern int caamsim_fail_ioctl;

int caamsim_keygen_init(void);
void caamsim_keygen_exit(void);

int caamsim_tk_init(void);
void caamsim_tk_exit(void);

/*
 * Optional timing model of a CAAM job ring (caamsim_model.c). A job is
 * one tk() request: run() does its AES synchronously in the ring's worker,
 * done() hands the result (or -EINPROGRESS for a job leaving the backlog)
 * to the caller's completion callback.
 */
struct caamsim_job {
	struct list_head node;
	ktime_t submitted;
	u64 cost_ns;
	int (*run)(struct caamsim_job *job);
	void (*done)(struct caamsim_job *job, int err);
};

bool caamsim_model_on(void);
u64 caamsim_model_cost(unsigned int bytes);
/* -EINPROGRESS (queued), -EBUSY (on the backlog) or -ENOSPC (refused). */
int caamsim_model_submit(struct caamsim_job *job, bool may_backlog);
int caamsim_model_init(void);
void caamsim_model_exit(void);

#endif /* CAAMSIM_H */
