// SPDX-License-Identifier: GPL-2.0-only
/*
 * CAAM_KEYGEN_IOCTL_IMPORT: tagged blob in, tagged black key out.
 *
 * Checks in the order linux-imx makes them (docs/caam-abi.md §2):
 * blob_len <= 20, tag header, red key length outside 16..64,
 * blob_len - 20 != obj_len, then the blob's integrity check. The real
 * driver only logs these rejections; the simulator also writes the text
 * into the black_key buffer (see caamsim_keygen.c).
 */
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/err.h>

#include "caam_keygen.h"
#include "caamsim.h"
#include "caamsim_keygen.h"

static long import_fail(struct caam_keygen_cmd *cmd, long err, const char *msg)
{
	pr_err_ratelimited("caamsim: import: %s", msg);
	caamsim_user_msg(cmd->black_key, cmd->black_key_len, msg);
	return err;
}

long caamsim_keygen_import(void __user *uarg)
{
	struct caam_keygen_cmd cmd;
	struct caamsim_tag tag;
	struct caamsim_keygen_out *out = NULL;
	u8 *blob = NULL;
	u8 red[CAAMSIM_MAX_KEY];
	long ret;

	if (copy_from_user(&cmd, uarg, sizeof(cmd)))
		return -EFAULT;

	if (cmd.blob_len <= CAAMSIM_TAG_SIZE)
		return import_fail(&cmd, -EINVAL,
				   "Invalid blob length: too short to hold a tag header.\n");
	if (cmd.blob_len > CAAMSIM_MAX_BLOB_TAGGED)
		return import_fail(&cmd, -EINVAL,
				   "Invalid blob length: larger than any blob of a 16..64 byte key.\n");

	blob = memdup_user(u64_to_user_ptr(cmd.blob), cmd.blob_len);
	if (IS_ERR(blob)) {
		ret = PTR_ERR(blob);
		return import_fail(&cmd, ret, ret == -ENOMEM ?
				   "Out of memory while reading the blob.\n" :
				   "Cannot read the blob from user memory.\n");
	}

	caamsim_tag_get(blob, &tag);
	if (tag.magic != CAAMSIM_TAG_MAGIC || tag.version != CAAMSIM_TAG_VERSION) {
		ret = import_fail(&cmd, -EINVAL,
				  "Invalid blob: no valid tag object header.\n");
		goto out;
	}
	if (!caamsim_key_len_ok(tag.red_key_len)) {
		ret = import_fail(&cmd, -EINVAL,
				  "Invalid red key length in the blob tag, expected values are between 16 and 64 bytes.\n");
		goto out;
	}
	if (cmd.blob_len - CAAMSIM_TAG_SIZE != tag.obj_len) {
		ret = import_fail(&cmd, -EINVAL,
				  "Invalid blob: its length does not match the length in its tag header.\n");
		goto out;
	}
	if (!caamsim_type_ok(tag.type)) {
		ret = import_fail(&cmd, -EINVAL,
				  "Invalid blob: unsupported object type (only black JDKEK keys in general memory).\n");
		goto out;
	}

	ret = caamsim_blob_open(tag.type, tag.red_key_len,
				blob + CAAMSIM_TAG_SIZE, tag.obj_len, red);
	if (ret == -EBADMSG) {
		ret = import_fail(&cmd, ret,
				  "Blob integrity check failed: wrong device or corrupted blob.\n");
		goto out;
	} else if (ret) {
		ret = import_fail(&cmd, ret,
				  "Invalid blob: its length does not fit its red key length.\n");
		goto out;
	}

	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out) {
		memzero_explicit(red, sizeof(red));
		ret = import_fail(&cmd, -ENOMEM,
				  "Out of memory while making the black key.\n");
		goto out;
	}
	caamsim_make_objects(tag.type, red, tag.red_key_len, out, false);
	memzero_explicit(red, sizeof(red));
	ret = caamsim_send_out(&cmd, uarg, out, false);
out:
	kfree(blob);
	kfree(out);
	return ret;
}
