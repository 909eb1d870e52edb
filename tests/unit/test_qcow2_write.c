/* vmm/qcow2: writes, zeroing, discard and growth, checked by qemu-img check and convert against
 * a model of the disk the test keeps; a writer killed at a random moment. */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "tests/unit/qcow2_fixture.h"
#include "tests/unit/rng.h"
#include "tests/unit/suites.h"
#include "vmm/qcow2_impl.h"

#define MIB (1024 * 1024)

/* qemu-img check: 0 no errors; 3 leaked clusters only (allowed when `leaks_ok`). */
static void expect_check(const char *dir, const char *name, bool leaks_ok)
{
	int rc = qf_run(dir, "qemu-img check %s", name);

	if (rc == 3 && leaks_ok)
		return;
	if (rc) {
		qf_run(dir, "qemu-img check %s >&2", name);
		ck_abort_msg("qemu-img check %s/%s exited %d", dir, name, rc);
	}
}

/* Random writes, zeroes and discards crossing cluster boundaries, mirrored in `model`. */
static void random_ops(struct qcow2 *q, uint8_t *model, size_t size, uint64_t cs, int ops,
		       uint64_t seed)
{
	struct rng r = { seed };
	uint8_t *buf = malloc(4 * cs + 8192);

	ck_assert_ptr_nonnull(buf);
	for (int i = 0; i < ops; i++) {
		uint64_t len = 1 + rng_below(&r, 3 * cs + 4096), off, kind = rng_below(&r, 10);

		if (len > size)
			len = size;
		off = rng_below(&r, size - len + 1);
		if (rng_below(&r, 4) == 0) /* often on a cluster edge */
			off = (off / cs) * cs;
		if (kind < 7) {
			memset(buf, (int)(1 + rng_below(&r, 255)), len);
			buf[0] ^= (uint8_t)i;
			ck_assert_int_eq(qcow2_write(q, off, buf, len), 0);
			memcpy(model + off, buf, len);
		} else if (kind < 9) {
			ck_assert_int_eq(qcow2_write_zeroes(q, off, len), 0);
			memset(model + off, 0, len);
		} else {
			/* discard: whole clusters inside the range read as zeros */
			uint64_t a = (off + cs - 1) / cs * cs, b = (off + len) / cs * cs;

			ck_assert_int_eq(qcow2_discard(q, off, len), 0);
			if ((off + len) == size)
				b = size;
			if (a < b)
				memset(model + a, 0, b - a);
		}
	}
	free(buf);
}

static const unsigned int cluster_sizes[] = { 512, 4096, 65536, 2 * MIB };

START_TEST(test_random_writes)
{
	size_t size = 6 * MIB + 1536;
	uint8_t *model = calloc(1, size);
	char dir[64], why[256];
	struct qcow2 *q;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2w");
	for (int v3 = 0; v3 <= 1; v3++) {
		for (size_t i = 0; i < 4; i++) {
			unsigned int cs = cluster_sizes[i];

			qf_sh(dir, "qemu-img create -f qcow2 -o compat=%s,cluster_size=%u img.qcow2 %zu",
			      v3 ? "1.1" : "0.10", cs, size);
			memset(model, 0, size);
			ck_assert_msg(qf_open(dir, "img.qcow2", true, &q, &fd, why, sizeof(why)) == 0,
				      "%s", why);
			random_ops(q, model, size, cs, 300, 0x1234 + i * 2 + (uint64_t)v3);
			ck_assert_int_eq(qcow2_flush(q), 0);
			qf_expect_disk(q, model, size);
			qf_close(q, fd);
			expect_check(dir, "img.qcow2", false);
			qf_expect_convert(dir, "img.qcow2", model, size);
			/* and on a reopened engine */
			ck_assert_int_eq(qf_open(dir, "img.qcow2", false, &q, &fd, why, sizeof(why)), 0);
			qf_expect_disk(q, model, size);
			qf_close(q, fd);
		}
	}
	tmpdir_remove(dir);
	free(model);
}
END_TEST

/* Writes over a qcow2 and a raw backing file and over compressed clusters: copy on write. */
START_TEST(test_overlay_writes)
{
	size_t size = 4 * MIB, len;
	char dir[64], why[256];
	uint8_t *model;
	struct qcow2 *q;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2w");
	qf_sh(dir, "qemu-img create -f qcow2 -o cluster_size=4k base.qcow2 %zu && "
		   "qemu-io -f qcow2 -c 'write -P 0x31 0 3M' base.qcow2 && "
		   "qemu-img convert -O raw base.qcow2 base.raw && "
		   "qemu-img create -f qcow2 -o cluster_size=64k -b base.qcow2 -F qcow2 o1.qcow2 && "
		   "qemu-img create -f qcow2 -o compat=0.10,cluster_size=4k -b base.raw -F raw o2.qcow2 && "
		   "seq 1 900000 | head -c %zu > text.raw && truncate -s %zu text.raw && "
		   "qemu-img convert -c -O qcow2 -o cluster_size=4k text.raw comp.qcow2",
	      size, size, size);
	const char *names[] = { "o1.qcow2", "o2.qcow2", "comp.qcow2" };
	for (int i = 0; i < 3; i++) {
		qf_sh(dir, "qemu-img convert -O raw %s start.raw", names[i]);
		model = qf_slurp(dir, "start.raw", &len);
		ck_assert_uint_eq(len, size);
		ck_assert_msg(qf_open(dir, names[i], true, &q, &fd, why, sizeof(why)) == 0, "%s",
			      why);
		random_ops(q, model, size, i == 0 ? 65536 : 4096, 200, 77 + (uint64_t)i);
		qf_expect_disk(q, model, size);
		qf_close(q, fd);
		expect_check(dir, names[i], false);
		qf_expect_convert(dir, names[i], model, size);
		free(model);
	}
	tmpdir_remove(dir);
}
END_TEST

/* 512-byte clusters: one refcount table cluster covers 8 MiB, so writing more moves it. */
START_TEST(test_refcount_table_grows)
{
	size_t size = 24 * MIB, chunk = 256 * 1024;
	uint8_t *model = calloc(1, size), *buf = malloc(chunk);
	char dir[64], why[256];
	struct qcow2 *q;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2w");
	qf_sh(dir, "qemu-img create -f qcow2 -o cluster_size=512 img.qcow2 %zu", size);
	ck_assert_msg(qf_open(dir, "img.qcow2", true, &q, &fd, why, sizeof(why)) == 0, "%s", why);
	for (size_t off = 0; off < 20 * MIB; off += chunk) {
		memset(buf, (int)(off / chunk) + 1, chunk);
		ck_assert_int_eq(qcow2_write(q, off, buf, chunk), 0);
		memcpy(model + off, buf, chunk);
	}
	qf_close(q, fd);
	expect_check(dir, "img.qcow2", false);
	qf_expect_convert(dir, "img.qcow2", model, size);
	tmpdir_remove(dir);
	free(model);
	free(buf);
}
END_TEST

/*
 * Sequential allocating writes: the reserve grows (one barrier for 4, then
 * 8, 16, 32 MiB of clusters), hands clusters out in file order, and a clean
 * close gives back what is left and shortens the file again.
 */
START_TEST(test_sequential_reserve)
{
	size_t size = 96 * MIB, chunk = MIB;
	uint8_t *model = calloc(1, size), *buf = malloc(chunk);
	char dir[64], why[256], p[512];
	struct stat st;
	struct qcow2 *q;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2w");
	qf_sh(dir, "qemu-img create -f qcow2 img.qcow2 %zu", size);
	ck_assert_msg(qf_open(dir, "img.qcow2", true, &q, &fd, why, sizeof(why)) == 0, "%s", why);
	for (size_t off = 0; off < 40 * MIB; off += chunk) {
		memset(buf, (int)(off / chunk) + 1, chunk);
		ck_assert_int_eq(qcow2_write(q, off, buf, chunk), 0);
		memcpy(model + off, buf, chunk);
	}
	ck_assert_uint_eq(q->resv_want << 16, QCOW2_RESERVE_MOST); /* 4 + 8 + 16 MiB used up */
	ck_assert_uint_eq(q->resv_runs - q->resv_first, 1);	  /* the rest of 32: one run */
	/* header, L1, refcount table and block, L2; then the clusters reserved */
	ck_assert_uint_eq(q->file_size, 5 * 65536 + 60 * MIB);
	ck_assert_int_eq(qcow2_release_reserved(q), 0);
	ck_assert_uint_eq(q->file_size, 5 * 65536 + 40 * MIB);
	qf_path(p, sizeof(p), dir, "img.qcow2");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, q->file_size);
	qf_close(q, fd);
	expect_check(dir, "img.qcow2", false);
	qf_expect_convert(dir, "img.qcow2", model, size);
	tmpdir_remove(dir);
	free(model);
	free(buf);
}
END_TEST

/* A disk grown past what its L1 table covers gets a new L1 table; writes go to the far end. */
START_TEST(test_grow_l1)
{
	size_t size = 1 * MIB, big = 80 * MIB;
	uint8_t *model = calloc(1, big);
	char dir[64], why[256];
	struct qcow2 *q;
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2w");
	qf_sh(dir, "qemu-img create -f qcow2 -o cluster_size=512 img.qcow2 %zu && "
		   "qemu-io -f qcow2 -c 'write -P 0x41 0 100k' img.qcow2",
	      size);
	memset(model, 0x41, 100 * 1024);
	ck_assert_msg(qf_open(dir, "img.qcow2", true, &q, &fd, why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(qcow2_grow(q, size - 512), -EINVAL);
	ck_assert_int_eq(qcow2_write(q, size, "x", 1), -EINVAL);
	ck_assert_int_eq(qcow2_grow(q, big), 0);
	ck_assert_uint_eq(qcow2_virtual_size(q), big);
	random_ops(q, model, big, 512, 100, 99);
	memset(model + big - 3000, 0x42, 3000);
	ck_assert_int_eq(qcow2_write(q, big - 3000, model + big - 3000, 3000), 0);
	qf_expect_disk(q, model, big);
	qf_close(q, fd);
	expect_check(dir, "img.qcow2", false);
	qf_expect_convert(dir, "img.qcow2", model, big);
	tmpdir_remove(dir);
	free(model);
}
END_TEST

#define CRASH_REGION 12000 /* bytes per numbered write: crosses 4k clusters */

/* Child: write region i with pattern i, flush, report i; until killed. */
static void crash_writer(const char *dir, int out)
{
	uint8_t buf[CRASH_REGION];
	char why[256];
	struct qcow2 *q;
	int fd;

	if (qf_open(dir, "img.qcow2", true, &q, &fd, why, sizeof(why)))
		_exit(2);
	for (uint32_t i = 0;; i++) {
		uint64_t off = (uint64_t)(i % 300) * CRASH_REGION + 700;

		memset(buf, (int)(i % 251) + 1, sizeof(buf));
		if (qcow2_write(q, off, buf, sizeof(buf)) || qcow2_write_zeroes(q, 8 * MIB, MIB) ||
		    qcow2_write(q, 8 * MIB + (i % 64) * 4096, buf, 4096) || qcow2_flush(q) ||
		    write(out, &i, sizeof(i)) != sizeof(i))
			_exit(3);
	}
}

START_TEST(test_crash_consistency)
{
	char dir[64], why[256];
	struct qcow2 *q;
	int fd, p[2];
	pid_t pid;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2w");
	for (int round = 0; round < 3; round++) {
		uint32_t last = UINT32_MAX, v;
		struct timespec ts = { 0, 20000000L + 40000000L * round };
		uint8_t got[CRASH_REGION];

		qf_sh(dir, "qemu-img create -f qcow2 -o cluster_size=4k img.qcow2 16M");
		ck_assert_int_eq(pipe(p), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(p[0]);
			crash_writer(dir, p[1]);
		}
		close(p[1]);
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		while (read(p[0], &v, sizeof(v)) == sizeof(v))
			last = v;
		close(p[0]);
		expect_check(dir, "img.qcow2", true);
		ck_assert_int_eq(qf_open(dir, "img.qcow2", false, &q, &fd, why, sizeof(why)), 0);
		/* every region whose last write was flushed holds it (the one after may be torn) */
		for (uint32_t i = last >= 299 && last != UINT32_MAX ? last - 298 : 0;
		     last != UINT32_MAX && i <= last; i++) {
			uint64_t off = (uint64_t)(i % 300) * CRASH_REGION + 700;

			ck_assert_int_eq(qcow2_read(q, off, got, sizeof(got)), 0);
			for (size_t j = 0; j < sizeof(got); j++)
				ck_assert_uint_eq(got[j], (i % 251) + 1);
		}
		qf_close(q, fd);
	}
	tmpdir_remove(dir);
}
END_TEST

Suite *qcow2_write_suite(void)
{
	Suite *s = suite_create("qcow2_write");
	TCase *tc = tcase_create("write");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_random_writes);
	tcase_add_test(tc, test_overlay_writes);
	tcase_add_test(tc, test_refcount_table_grows);
	tcase_add_test(tc, test_sequential_reserve);
	tcase_add_test(tc, test_grow_l1);
	tcase_add_test(tc, test_crash_consistency);
	suite_add_tcase(s, tc);
	return s;
}
