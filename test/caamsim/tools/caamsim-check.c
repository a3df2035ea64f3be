// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * caamsim-check: a small static test program for the caamsim module (and,
 * where it makes sense, a real i.MX CAAM). It drives /dev/caam-keygen
 * directly and the tk(...) skciphers through AF_ALG, so it runs in a bare
 * busybox initramfs.
 *
 *   caamsim-check sizes                         check sizes, tags and error texts
 *   caamsim-check create ecb|ccm -s|-t VALUE KEY BLOB
 *   caamsim-check import BLOB KEY
 *   caamsim-check encrypt KEY ecb|cbc           hex of a fixed 64-byte plaintext
 *                                               under tk(ecb|cbc(aes)) with KEY
 *   caamsim-check known ecb|ccm                 black key from a known plaintext
 *                                               key encrypts like plain AES
 *   caamsim-check tamper BLOB                   every single-bit flip is refused
 *
 * Exit status 0 when every check passed.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_alg.h>

#include "caam_keygen.h"

#define DEV "/dev/caam-keygen"
#define TAG 20

static int failures;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		failures++;
}

static int dev_fd(void)
{
	static int fd = -1;

	if (fd < 0) {
		fd = open(DEV, O_RDWR);
		if (fd < 0) {
			perror(DEV);
			exit(2);
		}
	}
	return fd;
}

struct result {
	int err;		/* errno, 0 on success */
	uint8_t key[256];
	uint32_t key_len;
	uint8_t blob[256];
	uint32_t blob_len;
};

/* CREATE with caam-keygen's capacities (96/144) unless caps are given. */
static void do_create(const char *enc, const char *mode, const void *val,
		      size_t val_len, uint32_t kcap, uint32_t bcap,
		      struct result *r)
{
	struct caam_keygen_cmd c;

	memset(r, 0, sizeof(*r));
	memset(&c, 0, sizeof(c));
	c.key_enc_len = strlen(enc) + 1;
	c.key_mode_len = strlen(mode) + 1;
	c.key_value_len = val_len;
	c.key_enc = (uintptr_t)enc;
	c.key_mode = (uintptr_t)mode;
	c.key_value = (uintptr_t)val;
	c.black_key = (uintptr_t)r->key;
	c.black_key_len = kcap;
	c.blob = (uintptr_t)r->blob;
	c.blob_len = bcap;
	if (ioctl(dev_fd(), CAAM_KEYGEN_IOCTL_CREATE, &c) < 0)
		r->err = errno;
	r->key_len = c.black_key_len;
	r->blob_len = c.blob_len;
}

static void do_import(const uint8_t *blob, uint32_t len, struct result *r)
{
	struct caam_keygen_cmd c;

	memset(r, 0, sizeof(*r));
	memset(&c, 0, sizeof(c));
	memcpy(r->blob, blob, len);
	c.blob = (uintptr_t)r->blob;
	c.blob_len = len;
	c.black_key = (uintptr_t)r->key;
	c.black_key_len = 96;
	if (ioctl(dev_fd(), CAAM_KEYGEN_IOCTL_IMPORT, &c) < 0)
		r->err = errno;
	r->key_len = c.black_key_len;
}

static uint32_t tagword(const uint8_t *p, int i)
{
	uint32_t v;

	memcpy(&v, p + 4 * i, 4);
	return v;
}

static uint32_t up(uint32_t v, uint32_t m)
{
	return (v + m - 1) / m * m;
}

static void check_sizes(void)
{
	static const int sizes[] = { 16, 24, 32, 40, 64 };
	struct result r;
	char val[8];
	unsigned i, e;

	for (e = 0; e < 2; e++) {
		const char *enc = e ? "ccm" : "ecb";
		uint32_t type = e ? 9 : 1;

		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint32_t L = sizes[i];
			uint32_t k = e ? up(L, 8) + 12 : up(L, 16);
			uint32_t b = up(L, 8) + 12 + 48;

			snprintf(val, sizeof(val), "%u", L);
			do_create(enc, "-s", val, strlen(val) + 1, 96, 144, &r);
			check(!r.err && r.key_len == k + TAG && r.blob_len == b + TAG,
			      "create %s -s %u: key %u B (want %u), blob %u B (want %u), errno %d",
			      enc, L, r.key_len, k + TAG, r.blob_len, b + TAG, r.err);
			if (r.err)
				continue;
			check(tagword(r.key, 0) == 0x5461674f && tagword(r.key, 1) == 0 &&
			      tagword(r.key, 2) == type && tagword(r.key, 3) == L &&
			      tagword(r.key, 4) == k,
			      "  key tag magic %#x type %u red %u obj %u", tagword(r.key, 0),
			      tagword(r.key, 2), tagword(r.key, 3), tagword(r.key, 4));
			check(tagword(r.blob, 0) == 0x5461674f && tagword(r.blob, 2) == type &&
			      tagword(r.blob, 3) == L && tagword(r.blob, 4) == b,
			      "  blob tag type %u red %u obj %u", tagword(r.blob, 2),
			      tagword(r.blob, 3), tagword(r.blob, 4));
		}
	}

	do_create("ecb", "-t", "0123456789abcdef0123456789abcdef", 32, 96, 144, &r);
	check(!r.err && r.key_len == 52 && r.blob_len == 112,
	      "create ecb -t <32 bytes>: key %u blob %u errno %d", r.key_len, r.blob_len, r.err);

	do_create("ecb", "-s", "15", 3, 96, 144, &r);
	check(r.err == EINVAL && !strcmp((char *)r.blob,
	      "Invalid key size, expected values are between 16 and 64 bytes.\n"),
	      "size 15: errno %d msg \"%.80s\"", r.err, (char *)r.blob);
	do_create("ccm", "-s", "65", 3, 96, 144, &r);
	check(r.err == EINVAL && strstr((char *)r.blob, "between 16 and 64"),
	      "size 65: errno %d msg \"%.80s\"", r.err, (char *)r.blob);
	do_create("ecb", "-t", "short", 5, 96, 144, &r);
	check(r.err == EINVAL && strstr((char *)r.blob, "between 16 and 64"),
	      "-t 5 bytes: errno %d msg \"%.80s\"", r.err, (char *)r.blob);
	do_create("ecb", "-s", "abc", 4, 96, 144, &r);
	check(r.err == EINVAL && r.blob[0], "size abc: errno %d msg \"%.80s\"", r.err, (char *)r.blob);
	do_create("xts", "-s", "16", 3, 96, 144, &r);
	check(r.err == EINVAL && strstr((char *)r.blob, "ecb or ccm"),
	      "enc xts: errno %d msg \"%.80s\"", r.err, (char *)r.blob);
	do_create("ecb", "-x", "16", 3, 96, 144, &r);
	check(r.err == EINVAL && strstr((char *)r.blob, "-s"),
	      "mode -x: errno %d msg \"%.80s\"", r.err, (char *)r.blob);
	do_create("ecb", "-s", "16", 3, 30, 144, &r);
	check(r.err == EINVAL && r.key_len == 36 && r.blob[0],
	      "key buffer 30: errno %d needs %u msg \"%.80s\"", r.err, r.key_len, (char *)r.blob);
	do_create("ecb", "-s", "16", 3, 96, 90, &r);
	check(r.err == EINVAL && r.blob_len == 96,
	      "blob buffer 90: errno %d needs %u msg \"%.80s\"", r.err, r.blob_len, (char *)r.blob);
	do_create("ecb", "-s", "", 0, 96, 144, &r);
	check(r.err == EFAULT && r.blob[0], "empty value: errno %d msg \"%.80s\"", r.err, (char *)r.blob);

	/* IMPORT argument checks. */
	do_create("ccm", "-s", "32", 3, 96, 144, &r);
	{
		uint8_t blob[256];
		uint32_t len = r.blob_len;
		struct result m;

		memcpy(blob, r.blob, len);
		do_import(blob, len, &m);
		check(!m.err && m.key_len == 64, "import ccm 32: key %u (want 64) errno %d", m.key_len, m.err);
		do_import(blob, 20, &m);
		check(m.err == EINVAL, "import 20 bytes: errno %d msg \"%.80s\"", m.err, (char *)m.key);
		do_import(blob, len - 1, &m);
		check(m.err == EINVAL, "import short by 1: errno %d msg \"%.80s\"", m.err, (char *)m.key);
		blob[12] = 65;
		do_import(blob, len, &m);
		check(m.err == EINVAL, "import red len 65: errno %d msg \"%.80s\"", m.err, (char *)m.key);
	}
}

static int read_file(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0) {
		perror(path);
		exit(2);
	}
	return n;
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
		perror(path);
		exit(2);
	}
	close(fd);
}

/* Encrypt 64 fixed bytes with alg/key through AF_ALG; returns 0 or errno. */
static int afalg(const char *alg, const uint8_t *key, size_t klen, uint8_t out[64])
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG, .salg_type = "skcipher" };
	uint8_t in[64];
	char cbuf[CMSG_SPACE(4) + CMSG_SPACE(sizeof(struct af_alg_iv) + 16)];
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	struct iovec iov = { in, sizeof(in) };
	struct af_alg_iv *iv;
	int tfm, op, i, err = 0;
	int has_iv = strstr(alg, "cbc") != NULL;	/* ecb takes no IV */

	for (i = 0; i < 64; i++)
		in[i] = i * 7 + 1;
	strncpy((char *)sa.salg_name, alg, sizeof(sa.salg_name) - 1);
	tfm = socket(AF_ALG, SOCK_SEQPACKET, 0);
	if (tfm < 0)
		return errno;
	if (bind(tfm, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(tfm, SOL_ALG, ALG_SET_KEY, key, klen) < 0) {
		err = errno;
		close(tfm);
		return err;
	}
	op = accept(tfm, NULL, 0);
	if (op < 0) {
		err = errno;
		close(tfm);
		return err;
	}
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_control = cbuf;
	msg.msg_controllen = has_iv ? sizeof(cbuf) : CMSG_SPACE(4);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_ALG;
	cm->cmsg_type = ALG_SET_OP;
	cm->cmsg_len = CMSG_LEN(4);
	*(uint32_t *)CMSG_DATA(cm) = ALG_OP_ENCRYPT;
	if (!has_iv)
		goto send;
	cm = CMSG_NXTHDR(&msg, cm);
	cm->cmsg_level = SOL_ALG;
	cm->cmsg_type = ALG_SET_IV;
	cm->cmsg_len = CMSG_LEN(sizeof(struct af_alg_iv) + 16);
	iv = (struct af_alg_iv *)CMSG_DATA(cm);
	iv->ivlen = 16;
	memset(iv->iv, 0xa5, 16);
send:
	if (sendmsg(op, &msg, 0) != 64 || read(op, out, 64) != 64)
		err = errno ? errno : EIO;
	close(op);
	close(tfm);
	return err;
}

static void hex(const uint8_t *p, size_t n)
{
	while (n--)
		printf("%02x", *p++);
	printf("\n");
}

static void known(const char *enc)
{
	static const uint8_t red[32] = "caamsim known plaintext key 32B";
	uint8_t a[64], b[64];
	struct result r;
	int i, e1, e2;

	for (i = 0; i < 2; i++) {
		const char *mode = i ? "cbc" : "ecb";
		char tk[32], plain[32];

		do_create(enc, "-t", red, sizeof(red), 96, 144, &r);
		if (r.err) {
			check(0, "create %s -t: errno %d", enc, r.err);
			return;
		}
		snprintf(tk, sizeof(tk), "tk(%s(aes))", mode);
		snprintf(plain, sizeof(plain), "%s(aes)", mode);
		e1 = afalg(tk, r.key, r.key_len, a);
		e2 = afalg(plain, red, sizeof(red), b);
		check(!e1 && !e2 && !memcmp(a, b, 64),
		      "%s black key (%s) through %s equals %s with the red key (errno %d/%d)",
		      enc, r.key_len == 52 ? "52 B" : "64 B", tk, plain, e1, e2);
	}
}

static void tamper(const char *path)
{
	uint8_t blob[256];
	struct result r;
	int n = read_file(path, blob, sizeof(blob));
	int i, bit, refused = 0, total = 0, badmsg = 0;

	do_import(blob, n, &r);
	check(!r.err, "untouched blob imports (errno %d)", r.err);
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit += 3) {
			blob[i] ^= 1 << bit;
			do_import(blob, n, &r);
			blob[i] ^= 1 << bit;
			total++;
			if (r.err)
				refused++;
			if (r.err == EBADMSG)
				badmsg++;
		}
	}
	check(refused == total, "%d of %d bit flips refused (%d by the integrity check)",
	      refused, total, badmsg);
	blob[n - 1] ^= 0x80;
	do_import(blob, n, &r);
	printf("last-byte flip: errno %d (%s) msg \"%s\"\n", r.err, strerror(r.err), (char *)r.key);
}

int main(int argc, char **argv)
{
	struct result r;
	uint8_t buf[256], out[64];
	int n, err;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 2 && !strcmp(argv[1], "sizes")) {
		check_sizes();
	} else if (argc == 7 && !strcmp(argv[1], "create")) {
		const char *v = argv[4];
		size_t vl = !strcmp(argv[3], "-s") ? strlen(v) + 1 : strlen(v);

		do_create(argv[2], argv[3], v, vl, 96, 144, &r);
		if (r.err) {
			printf("create failed: errno %d (%s) msg \"%s\"\n", r.err,
			       strerror(r.err), (char *)r.blob);
			return 1;
		}
		write_file(argv[5], r.key, r.key_len);
		write_file(argv[6], r.blob, r.blob_len);
		printf("created key %u B, blob %u B\n", r.key_len, r.blob_len);
	} else if (argc == 4 && !strcmp(argv[1], "import")) {
		n = read_file(argv[2], buf, sizeof(buf));
		do_import(buf, n, &r);
		if (r.err) {
			printf("import failed: errno %d (%s) msg \"%s\"\n", r.err,
			       strerror(r.err), (char *)r.key);
			return 1;
		}
		write_file(argv[3], r.key, r.key_len);
		printf("imported key %u B\n", r.key_len);
	} else if (argc == 4 && !strcmp(argv[1], "encrypt")) {
		char alg[32];

		n = read_file(argv[2], buf, sizeof(buf));
		snprintf(alg, sizeof(alg), "tk(%s(aes))", argv[3]);
		err = afalg(alg, buf, n, out);
		if (err) {
			printf("%s setkey/encrypt failed: errno %d (%s)\n", alg, err, strerror(err));
			return 1;
		}
		hex(out, sizeof(out));
	} else if (argc == 3 && !strcmp(argv[1], "known")) {
		known(argv[2]);
	} else if (argc == 3 && !strcmp(argv[1], "tamper")) {
		tamper(argv[2]);
	} else {
		fprintf(stderr, "usage: see the comment at the top of caamsim-check.c\n");
		return 2;
	}
	return failures ? 1 : 0;
}
