// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/caam-keygen and its CREATE ioctl (IMPORT is in caamsim_import.c):
 * the ABI of linux-imx's CAAM key generator (docs/caam-abi.md §2),
 * with the same argument checks, the
 * same errno classes and the same habit of writing a NUL-terminated error
 * text into a user buffer: the blob buffer for CREATE and for "not enough
 * space" answers, the black_key buffer for IMPORT input problems.
 *
 * Where the simulator deliberately differs from the real driver:
 *  - IMPORT rejections (short blob, bad tag, bad red key length, length
 *    mismatch, integrity failure) also get a text in the black_key buffer;
 *    linux-imx only logs those to the kernel log. Callers must not depend
 *    on a text being there.
 *  - IMPORT bounds blob_len by the largest possible tagged blob (144 bytes)
 *    before copying it in.
 *  - A failed blob integrity check returns EBADMSG, the kernel's errno for
 *    failed authentication; callers should treat EINVAL the same way.
 *  - Texts are our own wording, except the key size text that callers are
 *    known to match on (docs/caam-abi.md §2).
 * Texts end with a newline as the real driver's do; callers should trim.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/random.h>
#include <linux/err.h>

#include "caam_keygen.h"
#include "caamsim.h"
#include "caamsim_keygen.h"

#define MSG_KEY_SIZE \
	"Invalid key size, expected values are between 16 and 64 bytes.\n"

/* Copy msg, cut to fit, plus a NUL into a user buffer of cap bytes. */
void caamsim_user_msg(u64 uaddr, u32 cap, const char *msg)
{
	void __user *p = u64_to_user_ptr(uaddr);
	size_t n;

	if (cap <= 1 || !uaddr)
		return;
	n = min_t(size_t, cap - 1, strlen(msg));
	if (copy_to_user(p, msg, n))
		return;
	if (copy_to_user(p + n, "", 1))
		return;
}

/* Fetch a user string of len bytes, NUL-terminated in kernel memory. */
static char *fetch(struct caam_keygen_cmd *cmd, u64 uaddr, size_t len,
		   const char *what)
{
	char msg[96];
	char *s = memdup_user_nul(u64_to_user_ptr(uaddr), len);

	if (IS_ERR(s)) {
		if (PTR_ERR(s) == -ENOMEM)
			snprintf(msg, sizeof(msg),
				 "Out of memory while reading the %s.\n", what);
		else
			snprintf(msg, sizeof(msg),
				 "Cannot read the %s from user memory.\n", what);
		caamsim_user_msg(cmd->blob, cmd->blob_len, msg);
	}
	return s;
}

/* Tag and wrap red into out: black key and (for CREATE) blob. */
void caamsim_make_objects(u32 type, const u8 *red, u32 red_len,
			  struct caamsim_keygen_out *out, bool with_blob)
{
	u32 blen = caamsim_black_len(type, red_len);
	u32 olen = caamsim_blob_len(red_len);

	caamsim_tag_put(out->black, type, red_len, blen);
	caamsim_black_wrap(type, red, red_len, out->black + CAAMSIM_TAG_SIZE);
	out->black_len = CAAMSIM_TAG_SIZE + blen;
	if (!with_blob)
		return;
	/* The blob carries the same type value as the key (docs/caam-abi.md §3). */
	caamsim_tag_put(out->blob, type, red_len, olen);
	caamsim_blob_seal(type, red, red_len, out->blob + CAAMSIM_TAG_SIZE);
	out->blob_len = CAAMSIM_TAG_SIZE + olen;
}

/*
 * Copy results out. A too small buffer gets EINVAL, a text in the blob
 * buffer and the size it needs written back into the command block.
 */
long caamsim_send_out(struct caam_keygen_cmd *cmd, void __user *uarg,
		      const struct caamsim_keygen_out *out, bool with_blob)
{
	long ret = 0;

	if (cmd->black_key_len < out->black_len) {
		caamsim_user_msg(cmd->blob, cmd->blob_len,
				 "Black key buffer too small for the black key.\n");
		cmd->black_key_len = out->black_len;
		ret = -EINVAL;
		goto back;
	}
	cmd->black_key_len = out->black_len;
	if (copy_to_user(u64_to_user_ptr(cmd->black_key), out->black,
			 out->black_len))
		return -EFAULT;
	if (with_blob) {
		if (cmd->blob_len < out->blob_len) {
			caamsim_user_msg(cmd->blob, cmd->blob_len,
					 "Blob buffer too small for the blob.\n");
			cmd->blob_len = out->blob_len;
			ret = -EINVAL;
			goto back;
		}
		cmd->blob_len = out->blob_len;
		if (copy_to_user(u64_to_user_ptr(cmd->blob), out->blob,
				 out->blob_len))
			return -EFAULT;
	}
back:
	if (copy_to_user(uarg, cmd, sizeof(*cmd)))
		return -EFAULT;
	return ret;
}

static long keygen_create(void __user *uarg)
{
	struct caam_keygen_cmd cmd;
	struct caamsim_keygen_out *out = NULL;
	char *enc = NULL, *mode = NULL, *val = NULL;
	u8 red[CAAMSIM_MAX_KEY];
	u32 type, red_len;
	bool random;
	long ret;

	if (copy_from_user(&cmd, uarg, sizeof(cmd)))
		return -EFAULT;

	/* Every string carries at least its NUL, so zero lengths are bogus. */
	if (cmd.key_enc_len < 1 || cmd.key_mode_len < 1 ||
	    cmd.key_value_len < 1) {
		caamsim_user_msg(cmd.blob, cmd.blob_len,
			 "Invalid arguments: key encryption, key mode and key value are all required.\n");
		return -EFAULT;
	}

	enc = fetch(&cmd, cmd.key_enc, cmd.key_enc_len, "key encryption type");
	if (IS_ERR(enc)) {
		ret = PTR_ERR(enc);
		enc = NULL;
		goto out;
	}
	if (!strcmp(enc, "ccm")) {
		type = CAAMSIM_TYPE_CCM_KEY;
	} else if (!strcmp(enc, "ecb")) {
		type = CAAMSIM_TYPE_ECB_KEY;
	} else {
		caamsim_user_msg(cmd.blob, cmd.blob_len,
			 "Invalid key encryption type, expected ecb or ccm.\n");
		ret = -EINVAL;
		goto out;
	}

	mode = fetch(&cmd, cmd.key_mode, cmd.key_mode_len, "key mode (-s or -t)");
	if (IS_ERR(mode)) {
		ret = PTR_ERR(mode);
		mode = NULL;
		goto out;
	}
	if (!strcmp(mode, "-s")) {
		random = true;
	} else if (!strcmp(mode, "-t")) {
		random = false;
	} else {
		caamsim_user_msg(cmd.blob, cmd.blob_len,
			 "Invalid key mode, expected -s (random) or -t (plaintext).\n");
		ret = -EINVAL;
		goto out;
	}

	val = fetch(&cmd, cmd.key_value, cmd.key_value_len,
		    "key value (size or plaintext)");
	if (IS_ERR(val)) {
		ret = PTR_ERR(val);
		val = NULL;
		goto out;
	}
	if (random) {
		/* "-s": the value is the key size as decimal text. */
		ret = kstrtou32(val, 10, &red_len);
		if (ret) {
			caamsim_user_msg(cmd.blob, cmd.blob_len,
				 "Invalid key size: not a decimal number.\n");
			goto out;
		}
	} else {
		/* "-t": the value is the plaintext key itself. */
		red_len = cmd.key_value_len;
	}
	if (!caamsim_key_len_ok(red_len)) {
		caamsim_user_msg(cmd.blob, cmd.blob_len, MSG_KEY_SIZE);
		ret = -EINVAL;
		goto out;
	}

	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out) {
		caamsim_user_msg(cmd.blob, cmd.blob_len,
			 "Out of memory while making the black key.\n");
		ret = -ENOMEM;
		goto out;
	}
	if (random)
		get_random_bytes(red, red_len);
	else
		memcpy(red, val, red_len);
	caamsim_make_objects(type, red, red_len, out, true);
	memzero_explicit(red, sizeof(red));
	ret = caamsim_send_out(&cmd, uarg, out, true);
out:
	kfree(enc);
	kfree(mode);
	kfree_sensitive(val);	/* may hold a plaintext key */
	kfree(out);
	return ret;
}

static long keygen_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	int fail = READ_ONCE(caamsim_fail_ioctl);

	if (fail > 0)
		return -fail;	/* test-only injected failure */
	switch (cmd) {
	case CAAM_KEYGEN_IOCTL_CREATE:
		return keygen_create((void __user *)arg);
	case CAAM_KEYGEN_IOCTL_IMPORT:
		return caamsim_keygen_import((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations keygen_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = keygen_ioctl,
	/* Pointers travel as __u64, so 32-bit callers share the layout. */
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice keygen_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "caam-keygen",
	.fops = &keygen_fops,
	.mode = 0600,		/* root only, as on linux-imx */
};

int caamsim_keygen_init(void)
{
	/* The ABI is 56 bytes on x86_64, arm64 and 32-bit ARM (docs/caam-abi.md §2). */
	BUILD_BUG_ON(sizeof(struct caam_keygen_cmd) != 56);
	BUILD_BUG_ON(offsetof(struct caam_keygen_cmd, blob) != 48);
	return misc_register(&keygen_dev);
}

void caamsim_keygen_exit(void)
{
	misc_deregister(&keygen_dev);
}
