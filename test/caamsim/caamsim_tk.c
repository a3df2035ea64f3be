// SPDX-License-Identifier: GPL-2.0-only
/*
 * tk(ecb(aes)) and tk(cbc(aes)): skciphers whose key is a whole tagged
 * black key, as CAAM registers them with CONFIG_CRYPTO_DEV_FSL_CAAM_TK_API
 * (docs/caam-abi.md §4). dm-crypt reaches them through a table cipher
 * such as "capi:tk(cbc(aes))-plain" and a ":36:logon:..." key.
 *
 * setkey checks the tag, recovers the red key under the current JDKEK and
 * gives it to an inner software ecb(aes)/cbc(aes) tfm owned by this tfm;
 * the red key lives only in that tfm's key schedule and is wiped from our
 * stack right away. Requests are forwarded to the inner tfm through a
 * sub-request kept in our request context, with the caller's completion
 * callback and flags, so an async inner implementation (aesni via cryptd,
 * for instance) works for async callers such as dm-crypt.
 *
 * With the timing model on (caamsim_model.c) a request is a job on the
 * simulated ring instead: the ring's worker runs it on the same inner tfm,
 * waiting for it there (process context), and completes it after the
 * modelled time.
 */
#include <linux/crypto.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/err.h>
#include <crypto/aes.h>
#include <crypto/internal/skcipher.h>

#include "caamsim.h"

struct tk_alg {
	struct skcipher_alg alg;
	const char *inner_name;
};

struct tk_ctx {
	struct crypto_skcipher *inner;
};

/* Our request context: the ring job, then the inner sub-request. */
struct tk_req {
	struct caamsim_job job;
	struct skcipher_request *req;
	bool encrypt;
	struct skcipher_request sub;	/* last: its context follows */
};

static const struct tk_alg *to_tk_alg(struct crypto_skcipher *tfm)
{
	return container_of(crypto_skcipher_alg(tfm), struct tk_alg, alg);
}

static int tk_init(struct crypto_skcipher *tfm)
{
	struct tk_ctx *ctx = crypto_skcipher_ctx(tfm);
	struct crypto_skcipher *inner;

	/*
	 * dm-crypt asks for algorithms that do not allocate memory per request
	 * (CRYPTO_ALG_ALLOCATES_MEMORY masked out); pass that promise on.
	 */
	inner = crypto_alloc_skcipher(to_tk_alg(tfm)->inner_name, 0,
				      CRYPTO_ALG_ALLOCATES_MEMORY);
	if (IS_ERR(inner))
		return PTR_ERR(inner);
	ctx->inner = inner;
	crypto_skcipher_set_reqsize(tfm, sizeof(struct tk_req) +
					 crypto_skcipher_reqsize(inner));
	return 0;
}

static void tk_exit(struct crypto_skcipher *tfm)
{
	struct tk_ctx *ctx = crypto_skcipher_ctx(tfm);

	crypto_free_skcipher(ctx->inner);
}

static int tk_setkey(struct crypto_skcipher *tfm, const u8 *key,
		     unsigned int keylen)
{
	struct tk_ctx *ctx = crypto_skcipher_ctx(tfm);
	struct caamsim_tag tag;
	u8 red[CAAMSIM_MAX_KEY];
	int ret;

	if (keylen <= CAAMSIM_TAG_SIZE) {
		pr_warn_ratelimited("caamsim: tk setkey: %u bytes cannot be a tagged black key\n",
				    keylen);
		return -EINVAL;
	}
	caamsim_tag_get(key, &tag);
	if (tag.magic != CAAMSIM_TAG_MAGIC || tag.version != CAAMSIM_TAG_VERSION ||
	    !caamsim_type_ok(tag.type) || !caamsim_key_len_ok(tag.red_key_len) ||
	    tag.obj_len != keylen - CAAMSIM_TAG_SIZE) {
		pr_warn_ratelimited("caamsim: tk setkey: invalid tag (magic %#x type %u red %u obj %u, key %u bytes)\n",
				    tag.magic, tag.type, tag.red_key_len,
				    tag.obj_len, keylen);
		return -EINVAL;
	}
	ret = caamsim_black_unwrap(tag.type, tag.red_key_len,
				   key + CAAMSIM_TAG_SIZE, tag.obj_len, red);
	if (ret) {
		pr_warn_ratelimited("caamsim: tk setkey: black key rejected (%d)%s\n",
				    ret, ret == -EBADMSG ?
				    ": CCM integrity check failed, key made under another JDKEK or corrupted" : "");
		return -EINVAL;
	}
	ret = crypto_skcipher_setkey(ctx->inner, red, tag.red_key_len);
	memzero_explicit(red, sizeof(red));
	return ret;
}

/*
 * The model's worker (process context, may sleep): the job's AES on the
 * inner tfm, waiting for it if that one is asynchronous.
 */
static int tk_job_run(struct caamsim_job *job)
{
	struct tk_req *r = container_of(job, struct tk_req, job);
	struct skcipher_request *req = r->req;
	struct tk_ctx *ctx = crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));
	DECLARE_CRYPTO_WAIT(wait);

	skcipher_request_set_tfm(&r->sub, ctx->inner);
	skcipher_request_set_callback(&r->sub, CRYPTO_TFM_REQ_MAY_SLEEP |
				      CRYPTO_TFM_REQ_MAY_BACKLOG,
				      crypto_req_done, &wait);
	skcipher_request_set_crypt(&r->sub, req->src, req->dst, req->cryptlen,
				   req->iv);
	return crypto_wait_req(r->encrypt ? crypto_skcipher_encrypt(&r->sub) :
					    crypto_skcipher_decrypt(&r->sub),
			       &wait);
}

static void tk_job_done(struct caamsim_job *job, int err)
{
	skcipher_request_complete(container_of(job, struct tk_req, job)->req,
				  err);
}

static int tk_crypt(struct skcipher_request *req, bool encrypt)
{
	struct tk_ctx *ctx = crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));
	struct tk_req *r = skcipher_request_ctx(req);
	struct skcipher_request *sub = &r->sub;

	if (caamsim_model_on()) {
		r->req = req;
		r->encrypt = encrypt;
		r->job.cost_ns = caamsim_model_cost(req->cryptlen);
		r->job.run = tk_job_run;
		r->job.done = tk_job_done;
		return caamsim_model_submit(&r->job, req->base.flags &
					    CRYPTO_TFM_REQ_MAY_BACKLOG);
	}
	skcipher_request_set_tfm(sub, ctx->inner);
	/* Completion goes straight to the caller: same function, same data. */
	skcipher_request_set_callback(sub, req->base.flags, req->base.complete,
				      req->base.data);
	skcipher_request_set_crypt(sub, req->src, req->dst, req->cryptlen,
				   req->iv);
	return encrypt ? crypto_skcipher_encrypt(sub) :
			 crypto_skcipher_decrypt(sub);
}

static int tk_encrypt(struct skcipher_request *req)
{
	return tk_crypt(req, true);
}

static int tk_decrypt(struct skcipher_request *req)
{
	return tk_crypt(req, false);
}

#define TK_ALG(_name, _driver, _inner, _ivsize)				\
	{								\
		.inner_name = _inner,					\
		.alg = {						\
			.base = {					\
				.cra_name = _name,			\
				.cra_driver_name = _driver,		\
				.cra_priority = 3000,			\
				.cra_flags = CRYPTO_ALG_ASYNC |		\
					     CRYPTO_ALG_KERN_DRIVER_ONLY, \
				.cra_blocksize = AES_BLOCK_SIZE,	\
				.cra_ctxsize = sizeof(struct tk_ctx),	\
				.cra_module = THIS_MODULE,		\
			},						\
			.init = tk_init,				\
			.exit = tk_exit,				\
			.setkey = tk_setkey,				\
			.encrypt = tk_encrypt,				\
			.decrypt = tk_decrypt,				\
			/* whole tagged black keys: 36..96 bytes */	\
			.min_keysize = CAAMSIM_TAG_SIZE + CAAMSIM_MIN_KEY, \
			.max_keysize = CAAMSIM_MAX_BLACK_TAGGED,	\
			.ivsize = _ivsize,				\
		},							\
	}

static struct tk_alg tk_algs[] = {
	TK_ALG("tk(ecb(aes))", "tk-ecb-aes-caamsim", "ecb(aes)", 0),
	TK_ALG("tk(cbc(aes))", "tk-cbc-aes-caamsim", "cbc(aes)", AES_BLOCK_SIZE),
};

int caamsim_tk_init(void)
{
	int i, ret;

	ret = caamsim_model_init();
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(tk_algs); i++) {
		ret = crypto_register_skcipher(&tk_algs[i].alg);
		if (ret) {
			while (--i >= 0)
				crypto_unregister_skcipher(&tk_algs[i].alg);
			caamsim_model_exit();
			return ret;
		}
	}
	return 0;
}

void caamsim_tk_exit(void)
{
	int i;

	for (i = ARRAY_SIZE(tk_algs) - 1; i >= 0; i--)
		crypto_unregister_skcipher(&tk_algs[i].alg);
	caamsim_model_exit();
}
