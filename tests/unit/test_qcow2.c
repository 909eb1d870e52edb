/* vmm/qcow2: opening and reading images qemu-img and qemu-io made (versions 2 and 3, cluster
 * sizes 512 bytes to 2 MiB, compressed clusters, backing chains of qcow2 and raw). */
#include <errno.h>

#include "tests/unit/qcow2_fixture.h"
#include "tests/unit/suites.h"

#define MIB (1024 * 1024)

static const unsigned int cluster_sizes[] = { 512, 4096, 65536, 2 * MIB };

/* Data at cluster edges, across clusters, and a zeroed range (-z: the zero flag in v3). */
static void data_image(const char *dir, bool v3, unsigned int cs, uint8_t *model, size_t size)
{
	qf_sh(dir, "qemu-img create -f qcow2 -o compat=%s,cluster_size=%u img.qcow2 %zu",
	      v3 ? "1.1" : "0.10", cs, size);
	qf_sh(dir,
	      "qemu-io -f qcow2 -c 'write -P 0xab 0 64k' -c 'write -P 0xcd 1049000 5000' "
	      "-c 'write -P 0x11 3M 1M' -c 'write -z 3670016 262144' -c 'write -P 0x22 %zu 512' "
	      "img.qcow2",
	      size - 512);
	memset(model, 0, size);
	memset(model, 0xab, 65536);
	memset(model + 1049000, 0xcd, 5000);
	memset(model + 3 * MIB, 0x11, MIB);
	memset(model + 3670016, 0, 262144);
	memset(model + size - 512, 0x22, 512);
}

START_TEST(test_read_qemu_io_data)
{
	size_t size = 8 * MIB;
	uint8_t *model = malloc(size);
	char dir[64], why[256];
	struct qcow2 *q;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2");
	for (int v3 = 0; v3 <= 1; v3++) {
		for (size_t i = 0; i < sizeof(cluster_sizes) / sizeof(cluster_sizes[0]); i++) {
			data_image(dir, v3, cluster_sizes[i], model, size);
			ck_assert_msg(qf_open(dir, "img.qcow2", false, &q, &fd, why, sizeof(why)) == 0,
				      "%s", why);
			qf_expect_disk(q, model, size);
			/* reads off the end fail, partial reads inside succeed */
			ck_assert_int_eq(qcow2_read(q, size - 1, model, 2), -EINVAL);
			ck_assert_int_eq(qcow2_read(q, UINT64_MAX, model, 2), -EINVAL);
			qf_close(q, fd);
		}
	}
	tmpdir_remove(dir);
	free(model);
}
END_TEST

START_TEST(test_read_compressed)
{
	size_t size = 4 * MIB, len;
	char dir[64], why[256];
	struct qcow2 *q;
	uint8_t *raw;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2");
	/* text compresses, random bytes do not (qemu stores those clusters uncompressed) */
	qf_sh(dir, "seq 1 400000 | head -c 2000000 > src.raw && head -c 1000000 /dev/urandom >> "
		   "src.raw && truncate -s %zu src.raw",
	      size);
	raw = qf_slurp(dir, "src.raw", &len);
	for (size_t i = 0; i < 3; i++) {
		qf_sh(dir, "qemu-img convert -c -O qcow2 -o cluster_size=%u src.raw img.qcow2",
		      cluster_sizes[i]);
		ck_assert_msg(qf_open(dir, "img.qcow2", false, &q, &fd, why, sizeof(why)) == 0, "%s",
			      why);
		qf_expect_disk(q, raw, size);
		qf_close(q, fd);
	}
	tmpdir_remove(dir);
	free(raw);
}
END_TEST

START_TEST(test_backing_chain)
{
	size_t size = 4 * MIB, big = 6 * MIB;
	uint8_t *model = malloc(big), *got;
	char dir[64], why[256];
	struct qcow2 *q;
	size_t len;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2");
	/* base.qcow2 <- sub/mid.qcow2 (relative to sub/) <- sub/top.qcow2 (larger disk) */
	qf_sh(dir, "mkdir sub && qemu-img create -f qcow2 -o cluster_size=4k base.qcow2 %zu && "
		   "qemu-io -f qcow2 -c 'write -P 0x01 0 1M' -c 'write -P 0x02 2M 100k' base.qcow2",
	      size);
	qf_sh(dir, "cd sub && qemu-img create -f qcow2 -b ../base.qcow2 -F qcow2 mid.qcow2 && "
		   "qemu-io -f qcow2 -c 'write -P 0x03 4096 5000' mid.qcow2 && "
		   "qemu-img create -f qcow2 -o cluster_size=64k -b mid.qcow2 -F qcow2 top.qcow2 %zu "
		   "&& qemu-io -f qcow2 -c 'write -P 0x04 1000 100' -c 'write -P 0x05 %zu 8192' "
		   "top.qcow2",
	      big, size - 4096);
	qf_sh(dir, "qemu-img convert -O raw sub/top.qcow2 expect.raw");
	got = qf_slurp(dir, "expect.raw", &len);
	ck_assert_uint_eq(len, big);
	memcpy(model, got, big);
	free(got);
	ck_assert_msg(qf_open(dir, "sub/top.qcow2", false, &q, &fd, why, sizeof(why)) == 0, "%s",
		      why);
	qf_expect_disk(q, model, big);
	qf_close(q, fd);
	/* without backing handling only top's own clusters show */
	{
		char p[512];
		struct qcow2_open_opts o = { .path = p, .no_backing = true };
		uint8_t b[4];

		qf_path(p, sizeof(p), dir, "sub/top.qcow2");
		fd = open(p, O_RDONLY);
		ck_assert_int_eq(qcow2_open(&q, fd, false, &o, why, sizeof(why)), 0);
		ck_assert_int_eq(qcow2_read(q, 2 * MIB, b, 4), 0); /* base: 0x02 there */
		ck_assert_int_eq(b[0] | b[1] | b[2] | b[3], 0);
		qf_close(q, fd);
	}
	/* a raw backing file, shorter than the overlay */
	qf_sh(dir, "head -c 3000000 expect.raw > sub/base.raw && cd sub && "
		   "qemu-img create -f qcow2 -b base.raw -F raw over.qcow2 %zu && "
		   "qemu-io -f qcow2 -c 'write -P 0x06 2999000 2000' over.qcow2",
	      big);
	memset(model + 3000000, 0, big - 3000000);
	memset(model + 2999000, 0x06, 2000);
	ck_assert_msg(qf_open(dir, "sub/over.qcow2", false, &q, &fd, why, sizeof(why)) == 0, "%s",
		      why);
	qf_expect_disk(q, model, big);
	qf_close(q, fd);
	/* no backing format extension (its type renamed to an unknown one): probed as qcow2 */
	{
		size_t ilen;
		uint8_t *img = qf_slurp(dir, "sub/mid.qcow2", &ilen);
		static const uint8_t fmt_ext[4] = { 0xe2, 0x79, 0x2a, 0xca };
		uint8_t *hit = memmem(img, 4096, fmt_ext, 4);

		ck_assert_ptr_nonnull(hit);
		hit[0] = 0x7f;
		tmpdir_write(dir, "sub/mid.qcow2", img, ilen);
		free(img);
	}
	qf_sh(dir, "qemu-img convert -O raw sub/top.qcow2 expect.raw");
	got = qf_slurp(dir, "expect.raw", &len);
	ck_assert_msg(qf_open(dir, "sub/top.qcow2", false, &q, &fd, why, sizeof(why)) == 0, "%s",
		      why);
	qf_expect_disk(q, got, big);
	qf_close(q, fd);
	free(got);
	tmpdir_remove(dir);
	free(model);
}
END_TEST

START_TEST(test_backing_loops)
{
	char dir[64], why[256];
	struct qcow2 *q;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2");
	qf_sh(dir, "qemu-img create -f qcow2 a.qcow2 1M && "
		   "qemu-img create -f qcow2 -b a.qcow2 -F qcow2 b.qcow2 && "
		   "qemu-img rebase -u -b b.qcow2 -F qcow2 a.qcow2");
	ck_assert_int_eq(qf_open(dir, "a.qcow2", false, &q, &fd, why, sizeof(why)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(why, "loops"));
	qf_sh(dir, "qemu-img create -f qcow2 self.qcow2 1M && "
		   "qemu-img rebase -u -b self.qcow2 -F qcow2 self.qcow2");
	ck_assert_int_eq(qf_open(dir, "self.qcow2", false, &q, &fd, why, sizeof(why)), -ELOOP);
	/* a chain of 17 files is one too deep, 16 is fine */
	qf_sh(dir, "qemu-img create -f qcow2 c0.qcow2 1M && for i in $(seq 1 17); do "
		   "qemu-img create -f qcow2 -b c$((i-1)).qcow2 -F qcow2 c$i.qcow2 || exit 1; done");
	ck_assert_int_eq(qf_open(dir, "c17.qcow2", false, &q, &fd, why, sizeof(why)), -ELOOP);
	ck_assert_msg(qf_open(dir, "c16.qcow2", false, &q, &fd, why, sizeof(why)) == 0, "%s", why);
	qf_close(q, fd);
	/* a missing backing file is an error, not zeros */
	qf_sh(dir, "rm c0.qcow2");
	ck_assert_int_eq(qf_open(dir, "c1.qcow2", false, &q, &fd, why, sizeof(why)), -ENOENT);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_writable_refusals)
{
	char dir[64], why[256];
	struct qcow2 *q;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2");
	qf_sh(dir, "qemu-img create -f qcow2 -o refcount_bits=32 r32.qcow2 1M && "
		   "qemu-img create -f qcow2 snap.qcow2 1M && qemu-img snapshot -c s1 snap.qcow2");
	ck_assert_int_eq(qf_open(dir, "r32.qcow2", true, &q, &fd, why, sizeof(why)), -EROFS);
	ck_assert_ptr_nonnull(strstr(why, "refcount_order 5"));
	ck_assert_int_eq(qf_open(dir, "r32.qcow2", false, &q, &fd, why, sizeof(why)), 0);
	ck_assert_int_eq(qcow2_write(q, 0, "x", 1), -EROFS);
	qf_close(q, fd);
	ck_assert_int_eq(qf_open(dir, "snap.qcow2", true, &q, &fd, why, sizeof(why)), -EROFS);
	ck_assert_int_eq(qf_open(dir, "snap.qcow2", false, &q, &fd, why, sizeof(why)), 0);
	qf_close(q, fd);
	tmpdir_remove(dir);
}
END_TEST

Suite *qcow2_suite(void)
{
	Suite *s = suite_create("qcow2");
	TCase *tc = tcase_create("read");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_read_qemu_io_data);
	tcase_add_test(tc, test_read_compressed);
	tcase_add_test(tc, test_backing_chain);
	tcase_add_test(tc, test_backing_loops);
	tcase_add_test(tc, test_writable_refusals);
	suite_add_tcase(s, tc);
	return s;
}
