/* vmm/qcow2: hostile images, patched from a valid one: each is refused at open or its reads give
 * -EIO, never a crash or a read outside the file (run under build/unit-san too). */
#include <endian.h>
#include <errno.h>

#include "tests/unit/qcow2_fixture.h"
#include "tests/unit/suites.h"

/* A valid v3 image with 4k clusters: data at 0 (plain) and in a second L2 table. */
struct hfx {
	char dir[64];
	uint8_t *img;
	size_t len;
	uint64_t l1_off, l2_off, rt_off;
};

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static bool hfx_init(struct hfx *f)
{
	if (!qf_have_qemu("qcow2_hostile"))
		return false;
	tmpdir_create(f->dir, sizeof(f->dir), "qcow2h");
	qf_sh(f->dir, "qemu-img create -f qcow2 -o cluster_size=4k good.qcow2 64M && "
		      "qemu-io -f qcow2 -c 'write -P 0xab 0 8k' -c 'write -P 0xcd 40M 4k' good.qcow2");
	f->img = qf_slurp(f->dir, "good.qcow2", &f->len);
	f->l1_off = get64(f->img + 40);
	f->rt_off = get64(f->img + 48);
	f->l2_off = get64(f->img + f->l1_off) & 0x00fffffffffffe00ull;
	return true;
}

/* Write the patched copy as bad.qcow2, open it read-only: the open's result. */
static int hfx_open(struct hfx *f, const uint8_t *img, size_t len, struct qcow2 **q, int *fd)
{
	char why[256];
	int err;

	tmpdir_write(f->dir, "bad.qcow2", img, len);
	err = qf_open(f->dir, "bad.qcow2", false, q, fd, why, sizeof(why));
	ck_assert_msg(err || strcmp(why, "ok") == 0, "open ok but why says '%s'", why);
	ck_assert_msg(!err || strlen(why) > 5, "open failed (%d) without saying why", err);
	return err;
}

/* Patch a copy of the good image with fn; the open must fail with `want` (0: open, then reads
 * of the disk's start and of 40M must fail with -EIO). */
static void expect_bad(struct hfx *f, void (*fn)(struct hfx *, uint8_t *), int want,
		       const char *what)
{
	uint8_t *img = malloc(f->len), buf[8192];
	struct qcow2 *q;
	int fd, err;

	memcpy(img, f->img, f->len);
	fn(f, img);
	err = hfx_open(f, img, f->len, &q, &fd);
	ck_assert_msg(err == want, "%s: open gave %d, expected %d", what, err, want);
	if (!err) {
		int a = qcow2_read(q, 0, buf, sizeof(buf));
		int b = qcow2_read(q, 40 << 20, buf, 4096);

		ck_assert_msg(a == -EIO || b == -EIO, "%s: reads gave %d and %d", what, a, b);
		qf_close(q, fd);
	}
	free(img);
}

#define PATCH(name, body)                                         \
	static void name(struct hfx *f, uint8_t *img)             \
	{                                                         \
		(void)f;                                          \
		body;                                             \
	}

PATCH(bad_magic, img[0] = 'X')
PATCH(version_4, put32(img + 4, 4))
PATCH(cluster_bits_8, put32(img + 20, 8))
PATCH(cluster_bits_22, put32(img + 20, 22))
PATCH(l1_past_eof, put64(img + 40, (f->len + 4096) & ~4095ull))
PATCH(l1_in_header, put64(img + 40, 0))
PATCH(l1_unaligned, put64(img + 40, f->l1_off + 512))
PATCH(l1_huge, put32(img + 36, 0x10000000))
PATCH(l1_too_small, put32(img + 36, 1))
PATCH(rt_over_l1, put64(img + 48, f->l1_off))
PATCH(rt_huge, put32(img + 56, 0x7fffffff))
PATCH(virtual_size_huge, put64(img + 24, ~0ull))
PATCH(crypt_aes, put32(img + 32, 1))
PATCH(unknown_incompat, img[79] |= 0x80)
PATCH(corrupt_bit, img[79] |= 2)
PATCH(data_file_bit, img[79] |= 4)
PATCH(compression_bit, img[79] |= 8)
PATCH(ext_l2_bit, img[79] |= 16)
PATCH(header_len_odd, put32(img + 100, 105))
PATCH(ext_too_long, uint32_t hl = be32toh(*(uint32_t *)(img + 100)); put32(img + hl, 0x12345678);
      put32(img + hl + 4, 0xfffffff0))
PATCH(backing_name_outside, put64(img + 8, 4000); put32(img + 16, 1000))
PATCH(l1e_past_eof, put64(img + f->l1_off, ((f->len + 8192) & ~4095ull) | (1ull << 63)))
PATCH(l1e_into_header, put64(img + f->l1_off, 0x200 | (1ull << 63)))
PATCH(l1e_at_l1, put64(img + f->l1_off, f->l1_off | (1ull << 63)))
PATCH(l1e_reserved, put64(img + f->l1_off, get64(img + f->l1_off) | 2))
PATCH(l2e_past_eof, put64(img + f->l2_off, (1ull << 50) | (1ull << 63)))
PATCH(l2e_unaligned, put64(img + f->l2_off, get64(img + f->l2_off) + 512))
PATCH(l2e_at_rt, put64(img + f->l2_off, f->rt_off | (1ull << 63)))
PATCH(l2e_into_header, put64(img + f->l2_off, 0x200ull | (1ull << 63)))
PATCH(l2e_compressed_garbage, put64(img + f->l2_off, (1ull << 62) | 0x3fffffffffffull))
PATCH(l2e_compressed_header, put64(img + f->l2_off, (1ull << 62) | 8))
PATCH(l2e_compressed_not_deflate,
      put64(img + f->l2_off, (1ull << 62) | (f->rt_off + 4096 * 8) | (3ull << 50)))

START_TEST(test_hostile_images)
{
	static const struct {
		void (*fn)(struct hfx *, uint8_t *);
		int want;
		const char *what;
	} cases[] = {
		{ bad_magic, -EINVAL, "bad magic" },
		{ version_4, -EOPNOTSUPP, "version 4" },
		{ cluster_bits_8, -EINVAL, "cluster_bits 8" },
		{ cluster_bits_22, -EINVAL, "cluster_bits 22" },
		{ l1_past_eof, -EINVAL, "L1 past EOF" },
		{ l1_in_header, -EINVAL, "L1 in the header" },
		{ l1_unaligned, -EINVAL, "L1 unaligned" },
		{ l1_huge, -EINVAL, "huge L1" },
		{ l1_too_small, -EINVAL, "L1 smaller than the disk" },
		{ rt_over_l1, -EINVAL, "refcount table over L1" },
		{ rt_huge, -EINVAL, "huge refcount table" },
		{ virtual_size_huge, -EINVAL, "huge virtual size" },
		{ crypt_aes, -EOPNOTSUPP, "encryption" },
		{ unknown_incompat, -EOPNOTSUPP, "unknown incompatible bit" },
		{ corrupt_bit, -EINVAL, "corrupt bit" },
		{ data_file_bit, -EOPNOTSUPP, "external data file" },
		{ compression_bit, -EOPNOTSUPP, "compression type" },
		{ ext_l2_bit, -EOPNOTSUPP, "extended L2" },
		{ header_len_odd, -EINVAL, "header length 105" },
		{ ext_too_long, -EINVAL, "extension past the cluster" },
		{ backing_name_outside, -EINVAL, "backing name outside the header" },
		{ l1e_past_eof, 0, "L1 entry past EOF" },
		{ l1e_into_header, 0, "L1 entry into the header" },
		{ l1e_at_l1, 0, "L1 entry at the L1 table" },
		{ l1e_reserved, 0, "L1 entry reserved bits" },
		{ l2e_past_eof, 0, "L2 entry past EOF" },
		{ l2e_unaligned, 0, "L2 entry unaligned" },
		{ l2e_at_rt, 0, "L2 entry at the refcount table" },
		{ l2e_into_header, 0, "L2 entry into the header" },
		{ l2e_compressed_garbage, 0, "compressed entry past EOF" },
		{ l2e_compressed_header, 0, "compressed entry in the header" },
		{ l2e_compressed_not_deflate, 0, "compressed entry not deflate" },
	};
	struct hfx f;

	if (!hfx_init(&f))
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_bad(&f, cases[i].fn, cases[i].want, cases[i].what);
	free(f.img);
	tmpdir_remove(f.dir);
}
END_TEST

/* The dirty bit: readable, not writable. A truncated file: refused. */
START_TEST(test_dirty_and_truncated)
{
	char why[256];
	struct qcow2 *q;
	struct hfx f;
	int fd;

	if (!hfx_init(&f))
		return;
	f.img[79] |= 1;
	tmpdir_write(f.dir, "dirty.qcow2", f.img, f.len);
	ck_assert_int_eq(qf_open(f.dir, "dirty.qcow2", true, &q, &fd, why, sizeof(why)), -EROFS);
	ck_assert_ptr_nonnull(strstr(why, "dirty"));
	ck_assert_int_eq(qf_open(f.dir, "dirty.qcow2", false, &q, &fd, why, sizeof(why)), 0);
	qf_close(q, fd);
	f.img[79] &= (uint8_t)~1;
	for (size_t len = 0; len < 200; len += 13) {
		tmpdir_write(f.dir, "short.qcow2", f.img, len);
		ck_assert_int_eq(qf_open(f.dir, "short.qcow2", false, &q, &fd, why, sizeof(why)),
				 -EINVAL);
	}
	/* cut after the tables: the data cluster is gone, its read is -EIO */
	{
		uint8_t buf[4096];

		tmpdir_write(f.dir, "cut.qcow2", f.img, f.len - 4096);
		if (qf_open(f.dir, "cut.qcow2", false, &q, &fd, why, sizeof(why)) == 0) {
			ck_assert_int_eq(qcow2_read(q, 40 << 20, buf, sizeof(buf)), -EIO);
			qf_close(q, fd);
		}
	}
	free(f.img);
	tmpdir_remove(f.dir);
}
END_TEST

Suite *qcow2_hostile_suite(void)
{
	Suite *s = suite_create("qcow2_hostile");
	TCase *tc = tcase_create("hostile");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hostile_images);
	tcase_add_test(tc, test_dirty_and_truncated);
	suite_add_tcase(s, tc);
	return s;
}
