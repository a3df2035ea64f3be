/*
 * unlockfloor: the least a boot-time unlock of a plain (seed layout)
 * volume can do, as a baseline for caamcrypt open in the QEMU rig
 * (test/vm/bench_unlock_test.go). It makes only the kernel calls the
 * unlock needs and nothing else: read the blob file, one caam-keygen
 * IMPORT ioctl (docs/caam-abi.md §2), add_key of a logon key to the user
 * keyring (docs/caam-abi.md §6), the device's size, DM_DEV_CREATE +
 * DM_TABLE_LOAD + DM_DEV_SUSPEND (resume) on /dev/mapper/control with the
 * seed's tagged-key table (docs/caam-abi.md §4), and mount(2) of the
 * kernel's /dev/dm-N node (devtmpfs makes it; no /dev/mapper link, no
 * udev, no checks, no rollback, no key unlink).
 *
 * Usage: unlockfloor BLOB DEVICE NAME MOUNTPOINT SECTOR_SIZE
 * Exit 0 on success, 1 with a message naming the failed call otherwise.
 * Written for the benchmark only; not shipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <linux/keyctl.h>

/* The caam-keygen argument block, 56 bytes (docs/caam-abi.md §2). */
struct keygen_cmd {
	uint8_t enc_len, mode_len;
	uint16_t value_len;
	uint32_t black_len;
	uint64_t enc, mode, value, black;
	uint32_t blob_len;
	uint64_t blob;
};
_Static_assert(sizeof(struct keygen_cmd) == 56, "caam-keygen argument block is 56 bytes");
#define KEYGEN_IMPORT _IOWR('K', 1, struct keygen_cmd)

static void die(const char *what)
{
	fprintf(stderr, "unlockfloor: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One device-mapper ioctl with an optional crypt target appended. */
static void dm_call(int ctl, unsigned long req, const char *name, const char *params, uint64_t sectors,
		    uint32_t *dev_out)
{
	union {
		struct dm_ioctl io;
		char raw[16384];
	} buf;
	memset(&buf, 0, sizeof(buf));
	buf.io.version[0] = DM_VERSION_MAJOR;
	buf.io.data_size = sizeof(buf);
	buf.io.data_start = sizeof(struct dm_ioctl);
	snprintf(buf.io.name, sizeof(buf.io.name), "%s", name);
	if (params) {
		struct dm_target_spec *t = (struct dm_target_spec *)(buf.raw + buf.io.data_start);
		size_t plen = strlen(params) + 1;
		buf.io.target_count = 1;
		t->sector_start = 0;
		t->length = sectors;
		snprintf(t->target_type, sizeof(t->target_type), "crypt");
		memcpy((char *)(t + 1), params, plen);
		t->next = (uint32_t)((sizeof(*t) + plen + 7) & ~(size_t)7);
	}
	if (ioctl(ctl, req, &buf) < 0)
		die(req == DM_DEV_CREATE ? "DM_DEV_CREATE" : req == DM_TABLE_LOAD ? "DM_TABLE_LOAD" : "DM_DEV_SUSPEND (resume)");
	if (dev_out)
		*dev_out = (uint32_t)buf.io.dev;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: unlockfloor BLOB DEVICE NAME MOUNTPOINT SECTOR_SIZE\n");
		return 2;
	}
	const char *blobPath = argv[1], *dev = argv[2], *name = argv[3], *mnt = argv[4];
	int sectorSize = atoi(argv[5]);

	unsigned char blob[512], black[256];
	int fd = open(blobPath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open blob");
	ssize_t blobLen = read(fd, blob, sizeof(blob));
	if (blobLen <= 0)
		die("read blob");
	close(fd);

	struct keygen_cmd cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.black_len = sizeof(black);
	cmd.black = (uint64_t)(uintptr_t)black;
	cmd.blob_len = (uint32_t)blobLen;
	cmd.blob = (uint64_t)(uintptr_t)blob;
	fd = open("/dev/caam-keygen", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/caam-keygen");
	if (ioctl(fd, KEYGEN_IMPORT, &cmd) < 0)
		die("caam-keygen IMPORT");
	close(fd);

	char desc[160];
	snprintf(desc, sizeof(desc), "floor:%s", name);
	if (syscall(SYS_add_key, "logon", desc, black, (size_t)cmd.black_len, KEY_SPEC_USER_KEYRING) < 0)
		die("add_key");

	uint64_t bytes;
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		die("size of device");
	close(fd);
	uint64_t sectors = bytes / (uint64_t)sectorSize * (uint64_t)sectorSize / 512;

	char params[512];
	snprintf(params, sizeof(params), "capi:tk(cbc(aes))-plain :%u:logon:%s 0 %s 0 1 sector_size:%d",
		 cmd.black_len, desc, dev, sectorSize);
	int ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		die("open /dev/mapper/control");
	uint32_t devno = 0;
	dm_call(ctl, DM_DEV_CREATE, name, NULL, 0, NULL);
	dm_call(ctl, DM_TABLE_LOAD, name, params, sectors, NULL);
	dm_call(ctl, DM_DEV_SUSPEND, name, NULL, 0, &devno);
	close(ctl);

	char node[64];
	snprintf(node, sizeof(node), "/dev/dm-%u", minor(devno));
	if (mount(node, mnt, "ext4", 0, NULL) < 0)
		die("mount");
	return 0;
}
