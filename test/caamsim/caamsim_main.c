// SPDX-License-Identifier: GPL-2.0-only
/*
 * caamsim module entry: parameters and load/unload order.
 *
 * Loading the module is a simulated power-on reset: a new random JDKEK, so
 * black keys from an earlier load are stale (docs/caam-abi.md §5).
 * The otpmk parameter stands for the SoC's fused master key: blobs made
 * with one value open only with the same value.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "caamsim.h"

/*
 * Default otpmk: a fixed, public value standing for the common test key of
 * a part whose secure boot is not closed. Not secret by design.
 */
#define CAAMSIM_DEFAULT_OTPMK \
	"6361616d73696d206f70656e2d706172742074657374206b657920763120212a"

static char *otpmk = CAAMSIM_DEFAULT_OTPMK;
/* Permission 0: the "fused" key is not readable back through sysfs. */
module_param(otpmk, charp, 0);
MODULE_PARM_DESC(otpmk,
		 "64 hex digits standing for the fused master key that blobs are bound to (default: a fixed open-part test key)");

/*
 * Test-only failure injection (the QEMU rig's hostile-environment cases):
 * fail_ioctl, when positive, is the errno every keygen ioctl returns (5 for
 * EIO); it is writable at run time in /sys/module/caamsim/parameters/.
 * no_tk leaves the tk() ciphers unregistered: a kernel whose CAAM driver
 * lacks the tagged-key API, with the keygen device present.
 */
int caamsim_fail_ioctl;
module_param_named(fail_ioctl, caamsim_fail_ioctl, int, 0644);
MODULE_PARM_DESC(fail_ioctl,
		 "test only: a positive errno that every keygen ioctl returns while set (5 = EIO); writable at run time");
static bool no_tk;
module_param(no_tk, bool, 0);
MODULE_PARM_DESC(no_tk, "test only: do not register the tk() ciphers");

static int __init caamsim_init(void)
{
	u8 key[CAAMSIM_OTPMK_SIZE];
	int ret;

	if (!otpmk || strlen(otpmk) != 2 * CAAMSIM_OTPMK_SIZE ||
	    hex2bin(key, otpmk, CAAMSIM_OTPMK_SIZE)) {
		pr_err("caamsim: otpmk must be exactly %d hex digits\n",
		       2 * CAAMSIM_OTPMK_SIZE);
		return -EINVAL;
	}
	ret = caamsim_wrap_init(key);
	memzero_explicit(key, sizeof(key));
	if (ret)
		goto err_wrap;
	ret = no_tk ? 0 : caamsim_tk_init();
	if (ret)
		goto err_wrap;
	/* The device appears last, once everything it relies on is ready. */
	ret = caamsim_keygen_init();
	if (ret)
		goto err_tk;
	pr_info("caamsim: simulated CAAM ready: /dev/caam-keygen, tk(ecb(aes)), tk(cbc(aes)); new JDKEK drawn%s\n",
		strcmp(otpmk, CAAMSIM_DEFAULT_OTPMK) ? ", custom otpmk" : ", default test otpmk");
	return 0;

err_tk:
	if (!no_tk)
		caamsim_tk_exit();
err_wrap:
	caamsim_wrap_exit();
	return ret;
}

static void __exit caamsim_exit(void)
{
	caamsim_keygen_exit();
	if (!no_tk)
		caamsim_tk_exit();
	caamsim_wrap_exit();
	pr_info("caamsim: unloaded, JDKEK wiped\n");
}

module_init(caamsim_init);
module_exit(caamsim_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Simulated NXP CAAM keygen device and tagged-key AES skciphers, for tests");
MODULE_AUTHOR("caamcrypt project");
