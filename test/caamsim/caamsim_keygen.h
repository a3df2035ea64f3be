/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the two halves of the /dev/caam-keygen device
 * (caamsim_keygen.c: device and CREATE; caamsim_import.c: IMPORT).
 */
#ifndef CAAMSIM_KEYGEN_H
#define CAAMSIM_KEYGEN_H

#include "caam_keygen.h"
#include "caamsim.h"

/* What one ioctl produces before it is copied out. */
struct caamsim_keygen_out {
	u8 black[CAAMSIM_MAX_BLACK_TAGGED];
	u32 black_len;
	u8 blob[CAAMSIM_MAX_BLOB_TAGGED];
	u32 blob_len;
};

/* Copy msg (cut to fit) and a NUL into the user buffer uaddr of cap bytes. */
void caamsim_user_msg(u64 uaddr, u32 cap, const char *msg);
/* Tag and wrap red: black key, and the blob too when with_blob. */
void caamsim_make_objects(u32 type, const u8 *red, u32 red_len,
			  struct caamsim_keygen_out *out, bool with_blob);
/* Copy results and the updated command block back to user space. */
long caamsim_send_out(struct caam_keygen_cmd *cmd, void __user *uarg,
		      const struct caamsim_keygen_out *out, bool with_blob);

long caamsim_keygen_import(void __user *uarg);

#endif /* CAAMSIM_KEYGEN_H */
