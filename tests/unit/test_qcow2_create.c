/* vmm/qcow2_create: overlays over a raw and a qcow2 base, named through /proc/self/fd as
 * snapshot=on names them, checked against qemu-img create and qemu-img check. The base fd is
 * opened without O_CLOEXEC so that the qemu-img the test runs sees the same /proc/self/fd/N. */
#include <endian.h>
#include <errno.h>

#include "tests/unit/qcow2_fixture.h"
#include "tests/unit/suites.h"

#define MIB (1024ull * 1024)
#define TIB (1024ull * 1024 * MIB)
#define CS  65536

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* DIR/NAME opened read-only, inheritable: "/proc/self/fd/N" in *link. */
static int open_base(const char *dir, const char *name, char *link, size_t len)
{
	char p[512];
	int fd;

	qf_path(p, sizeof(p), dir, name);
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	snprintf(link, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* A new empty file DIR/NAME, open read-write. */
static int new_file(const char *dir, const char *name)
{
	char p[512];
	int fd;

	qf_path(p, sizeof(p), dir, name);
	unlink(p);
	fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* DIR/NAME made an overlay by qcow2_create_overlay; its fd. */
static int make_overlay(const char *dir, const char *name, uint64_t size, const char *backing,
			const char *fmt)
{
	int fd = new_file(dir, name);

	ck_assert_int_eq(qcow2_create_overlay(fd, size, backing, fmt), 0);
	return fd;
}

static struct qcow2 *open_engine(int fd, bool writable)
{
	char why[256];
	struct qcow2 *q;
	int err = qcow2_open(&q, fd, writable, NULL, why, sizeof(why));

	ck_assert_msg(err == 0, "qcow2_open: %d, %s", err, why);
	return q;
}

/*
 * DIR/NAME says what `qemu-img create -f qcow2 -b BACKING -F FMT ref.qcow2 SIZE` says: the same
 * header fields, backing format extension, backing name, refcount table and block (the one
 * difference: QEMU adds a feature-name table, so the backing name sits further on).
 */
static void expect_like_qemu(const char *dir, const char *name, uint64_t size,
			     const char *backing, const char *fmt)
{
	size_t mlen, qlen;
	uint8_t *m, *r;
	uint64_t l1_off, l1_size;

	qf_sh(dir, "rm -f ref.qcow2 && qemu-img create -f qcow2 -u -b '%s' -F %s ref.qcow2 %llu",
	      backing, fmt, (unsigned long long)size);
	m = qf_slurp(dir, name, &mlen);
	r = qf_slurp(dir, "ref.qcow2", &qlen);
	ck_assert_uint_ge(qlen, 3 * CS);
	ck_assert_mem_eq(m, r, 8);
	ck_assert_mem_eq(m + 16, r + 16, 112 - 16);
	/* the first extension: the backing format, padded to 8 bytes */
	ck_assert_uint_eq(get32(m + 112), 0xe2792aca);
	ck_assert_mem_eq(m + 112, r + 112, 8 + ((get32(r + 116) + 7) & ~7u));
	ck_assert_uint_eq(get32(m + 16), strlen(backing));
	ck_assert_mem_eq(m + get64(m + 8), backing, strlen(backing));
	ck_assert_mem_eq(r + get64(r + 8), backing, strlen(backing));
	ck_assert_mem_eq(m + CS, r + CS, 2 * CS); /* refcount table and block */
	l1_off = get64(m + 40);
	l1_size = get32(m + 36);
	ck_assert_uint_ge(mlen, l1_off + l1_size * 8);
	for (uint64_t i = 0; i < l1_size * 8; i++)
		ck_assert_uint_eq(m[l1_off + i], 0);
	free(m);
	free(r);
	unlink("ref.qcow2");
}

/* qemu-img check is clean and qemu-img info names the backing file and its format. */
static void expect_qemu_accepts(const char *dir, const char *name, const char *backing,
				const char *fmt)
{
	qf_sh(dir, "qemu-img check %s", name);
	qf_sh(dir, "qemu-img info %s | grep -qx 'backing file: %s'", name, backing);
	qf_sh(dir, "qemu-img info %s | grep -qx 'backing file format: %s'", name, fmt);
}

/* Writes, zeroes and a discard across clusters and the base's end, mirrored in `model`. */
static void some_writes(struct qcow2 *q, uint8_t *model, uint64_t size)
{
	static const struct {
		uint64_t off, len;
		int kind; /* 0 write, 1 write zeroes, 2 discard (whole clusters only) */
	} ops[] = {
		{ 0, 1, 0 },	       { CS - 100, 200, 0 },	 { 3 * MIB - 700, 5000, 0 },
		{ 2 * CS, 3 * CS, 1 }, { 5 * CS + 7, 1000, 1 }, { MIB, 2 * CS, 2 },
		{ 4 * MIB - 4096, 4096, 0 },
	};
	uint8_t buf[3 * CS];

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		uint64_t off = ops[i].off, len = ops[i].len;

		ck_assert_uint_le(off + len, size);
		if (ops[i].kind == 0) {
			memset(buf, 0x60 + (int)i, len);
			ck_assert_int_eq(qcow2_write(q, off, buf, len), 0);
			memcpy(model + off, buf, len);
		} else if (ops[i].kind == 1) {
			ck_assert_int_eq(qcow2_write_zeroes(q, off, len), 0);
			memset(model + off, 0, len);
		} else {
			ck_assert_int_eq(qcow2_discard(q, off, len), 0);
			memset(model + off, 0, len);
		}
	}
	ck_assert_int_eq(qcow2_flush(q), 0);
}

/* The file DIR/NAME still holds exactly `want`. */
static void expect_file(const char *dir, const char *name, const uint8_t *want, size_t len)
{
	size_t got_len;
	uint8_t *got = qf_slurp(dir, name, &got_len);

	ck_assert_uint_eq(got_len, len);
	ck_assert_msg(memcmp(got, want, len) == 0, "%s changed", name);
	free(got);
}

/* An overlay over a raw base shorter than the disk: reads give the base, then zeros. */
START_TEST(test_overlay_over_raw)
{
	size_t base_len = 3 * MIB + 512, size = 4 * MIB;
	uint8_t *base = malloc(base_len), *model = calloc(1, size);
	char dir[64], link[64];
	struct qcow2 *q;
	int bfd, fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2c");
	for (size_t i = 0; i < base_len; i++)
		base[i] = (uint8_t)(i * 7 + i / 4096);
	tmpdir_write(dir, "base.raw", base, base_len);
	memcpy(model, base, base_len);
	bfd = open_base(dir, "base.raw", link, sizeof(link));
	fd = make_overlay(dir, "ov.qcow2", size, link, "raw");
	expect_like_qemu(dir, "ov.qcow2", size, link, "raw");
	expect_qemu_accepts(dir, "ov.qcow2", link, "raw");
	q = open_engine(fd, true);
	qf_expect_disk(q, model, size);
	some_writes(q, model, size);
	qf_expect_disk(q, model, size);
	qf_close(q, fd);
	expect_file(dir, "base.raw", base, base_len);
	qf_sh(dir, "qemu-img check ov.qcow2");
	qf_expect_convert(dir, "ov.qcow2", model, size);
	close(bfd);
	tmpdir_remove(dir);
	free(base);
	free(model);
}
END_TEST

/* An overlay over a qcow2 base with compressed and plain clusters. */
START_TEST(test_overlay_over_qcow2)
{
	size_t size = 4 * MIB, base_len, len;
	char dir[64], link[64];
	uint8_t *base, *model;
	struct qcow2 *q;
	int bfd, fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2c");
	qf_sh(dir, "seq 1 500000 | head -c 2M > text.raw && truncate -s 4M text.raw && "
		   "qemu-img convert -c -O qcow2 -o cluster_size=4k text.raw base.qcow2 && "
		   "qemu-io -f qcow2 -c 'write -P 0x5a 1M 300k' base.qcow2 && "
		   "qemu-img convert -O raw base.qcow2 start.raw");
	base = qf_slurp(dir, "base.qcow2", &base_len);
	model = qf_slurp(dir, "start.raw", &len);
	ck_assert_uint_eq(len, size);
	bfd = open_base(dir, "base.qcow2", link, sizeof(link));
	fd = make_overlay(dir, "ov.qcow2", size, link, "qcow2");
	expect_like_qemu(dir, "ov.qcow2", size, link, "qcow2");
	expect_qemu_accepts(dir, "ov.qcow2", link, "qcow2");
	q = open_engine(fd, true);
	qf_expect_disk(q, model, size);
	some_writes(q, model, size);
	qf_expect_disk(q, model, size);
	qf_close(q, fd);
	expect_file(dir, "base.qcow2", base, base_len);
	qf_sh(dir, "qemu-img check ov.qcow2");
	qf_expect_convert(dir, "ov.qcow2", model, size);
	close(bfd);
	tmpdir_remove(dir);
	free(base);
	free(model);
}
END_TEST

/*
 * A qcow2 base whose own backing name is relative: named as /proc/self/fd/N it is resolved
 * beside the base's real path (QEMU looks in /proc/self/fd/ and cannot open it).
 */
START_TEST(test_base_with_relative_backing)
{
	size_t size = 2 * MIB, len;
	char dir[64], link[64];
	struct qcow2 *q;
	uint8_t *model;
	int bfd, fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2c");
	qf_sh(dir, "qemu-img create -f raw b0.raw 2M && "
		   "qemu-io -f raw -c 'write -P 0x11 0 2M' b0.raw && "
		   "qemu-img create -f qcow2 -b b0.raw -F raw b1.qcow2 && "
		   "qemu-io -f qcow2 -c 'write -P 0x22 512k 64k' b1.qcow2 && "
		   "qemu-img convert -O raw b1.qcow2 start.raw");
	model = qf_slurp(dir, "start.raw", &len);
	ck_assert_uint_eq(len, size);
	bfd = open_base(dir, "b1.qcow2", link, sizeof(link));
	fd = make_overlay(dir, "ov.qcow2", size, link, "qcow2");
	q = open_engine(fd, true);
	qf_expect_disk(q, model, size);
	model[0] = 0x33;
	ck_assert_int_eq(qcow2_write(q, 0, model, 1), 0);
	qf_expect_disk(q, model, size);
	qf_close(q, fd);
	close(bfd);
	tmpdir_remove(dir);
	free(model);
}
END_TEST

/* A base given as raw is read as raw even when it starts with a qcow2 header. */
START_TEST(test_raw_format_is_not_probed)
{
	char dir[64], link[64];
	uint8_t *img, *got;
	struct qcow2 *q;
	size_t len;
	int bfd, fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2c");
	qf_sh(dir, "qemu-img create -f qcow2 -o cluster_size=4k img.qcow2 64M && "
		   "qemu-io -f qcow2 -c 'write -P 0x77 0 64k' img.qcow2");
	img = qf_slurp(dir, "img.qcow2", &len);
	got = malloc(len);
	bfd = open_base(dir, "img.qcow2", link, sizeof(link));
	fd = make_overlay(dir, "ov.qcow2", (len + 511) & ~511ull, link, "raw");
	q = open_engine(fd, false);
	ck_assert_int_eq(qcow2_read(q, 0, got, len), 0);
	ck_assert_mem_eq(got, "QFI\xfb", 4);
	ck_assert_msg(memcmp(got, img, len) == 0, "the raw base was not read as raw");
	qf_close(q, fd);
	/* the same file named as qcow2: its disk */
	fd = make_overlay(dir, "ov2.qcow2", 64 * MIB, link, "qcow2");
	q = open_engine(fd, false);
	ck_assert_int_eq(qcow2_read(q, 0, got, 4096), 0);
	for (size_t i = 0; i < 4096; i++)
		ck_assert_uint_eq(got[i], 0x77);
	qf_close(q, fd);
	close(bfd);
	tmpdir_remove(dir);
	free(img);
	free(got);
}
END_TEST

/* Disks of 1 TiB and 10 TiB (three L1 clusters): L1 sized as QEMU sizes it, both ends usable. */
START_TEST(test_large_overlay)
{
	static const uint64_t sizes[] = { 512, MIB + 512, TIB, 10 * TIB };
	char dir[64], link[64], buf[4096], got[4096];
	struct qcow2 *q;
	int bfd, fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "qcow2c");
	tmpdir_write(dir, "base.raw", "base", 4);
	bfd = open_base(dir, "base.raw", link, sizeof(link));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t size = sizes[i], end = size - (size < 4096 ? size : 4096);
		size_t n = size < 4096 ? (size_t)size : 4096;

		fd = make_overlay(dir, "ov.qcow2", size, link, "raw");
		expect_like_qemu(dir, "ov.qcow2", size, link, "raw");
		q = open_engine(fd, true);
		ck_assert_uint_eq(qcow2_virtual_size(q), size);
		ck_assert_int_eq(qcow2_read(q, 0, got, 4), 0);
		ck_assert_mem_eq(got, "base", 4);
		memset(buf, 0x42 + (int)i, sizeof(buf));
		ck_assert_int_eq(qcow2_write(q, end, buf, n), 0);
		ck_assert_int_eq(qcow2_write(q, size - n, buf, n), 0);
		ck_assert_int_eq(qcow2_read(q, end, got, n), 0);
		ck_assert_mem_eq(got, buf, n);
		ck_assert_int_eq(qcow2_write(q, size, buf, 1), -EINVAL);
		ck_assert_int_eq(qcow2_flush(q), 0);
		qf_close(q, fd);
		qf_sh(dir, "qemu-img check ov.qcow2");
	}
	close(bfd);
	tmpdir_remove(dir);
}
END_TEST

/* Refused: what QEMU refuses too (size 0 or unaligned or past 2 PiB, a name of 1024 bytes),
 * an unknown format, a file that is not empty. Nothing is written then. */
START_TEST(test_bad_arguments)
{
	static const uint64_t max = 1ull << 51; /* 2 PiB: an L1 table of 32 MiB */
	char dir[64], name[1100];
	struct stat st;
	int fd;

	tmpdir_create(dir, sizeof(dir), "qcow2c");
	memset(name, 'a', sizeof(name));
	name[0] = '/';
	name[1024] = '\0';
	fd = new_file(dir, "ov.qcow2");
	ck_assert_int_eq(qcow2_create_overlay(fd, 0, "/b", "raw"), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, 1000, "/b", "raw"), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, max + 512, "/b", "raw"), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, 1ull << 62, "/b", "raw"), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, ~0ull & ~511ull, "/b", "raw"), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, MIB, name, "raw"), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, MIB, "", "raw"), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, MIB, NULL, "raw"), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, MIB, "/b", "vmdk"), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, MIB, "/b", ""), -EINVAL);
	ck_assert_int_eq(qcow2_create_overlay(fd, MIB, "/b", NULL), -EINVAL);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	/* the limits themselves are fine: 2 PiB and a name of 1023 bytes */
	name[1023] = '\0';
	ck_assert_int_eq(qcow2_create_overlay(fd, max, name, "qcow2"), 0);
	ck_assert_int_eq(qcow2_create_overlay(fd, MIB, "/b", "raw"), -EEXIST);
	{
		struct qcow2_open_opts o = { .no_backing = true };
		char why[256];
		struct qcow2 *q;

		ck_assert_int_eq(qcow2_open(&q, fd, true, &o, why, sizeof(why)), 0);
		ck_assert_uint_eq(qcow2_virtual_size(q), max);
		qcow2_close(q);
	}
	close(fd);
	tmpdir_remove(dir);
}
END_TEST

/* snapshot=on's way: an unnamed O_TMPFILE overlay, opened with no path. */
START_TEST(test_tmpfile_overlay)
{
	size_t base_len = 256 * 1024, size = 4 * MIB;
	uint8_t *base = malloc(base_len), *model = calloc(1, size);
	char dir[64], link[64];
	struct qcow2 *q;
	int bfd, fd;

	tmpdir_create(dir, sizeof(dir), "qcow2c");
	for (size_t i = 0; i < base_len; i++)
		base[i] = (uint8_t)(i ^ (i >> 9));
	tmpdir_write(dir, "base.raw", base, base_len);
	memcpy(model, base, base_len);
	bfd = open_base(dir, "base.raw", link, sizeof(link));
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "%s: skipped, no O_TMPFILE in %s: %s\n", __func__, dir,
			strerror(errno));
		goto out;
	}
	ck_assert_int_eq(qcow2_create_overlay(fd, size, link, "raw"), 0);
	q = open_engine(fd, true);
	qf_expect_disk(q, model, size);
	some_writes(q, model, size);
	qf_expect_disk(q, model, size);
	qcow2_close(q);
	q = open_engine(fd, false); /* a second engine on the same file agrees */
	qf_expect_disk(q, model, size);
	qf_close(q, fd);
	expect_file(dir, "base.raw", base, base_len);
out:
	close(bfd);
	tmpdir_remove(dir);
	free(base);
	free(model);
}
END_TEST

Suite *qcow2_create_suite(void)
{
	Suite *s = suite_create("qcow2_create");
	TCase *tc = tcase_create("create");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_overlay_over_raw);
	tcase_add_test(tc, test_overlay_over_qcow2);
	tcase_add_test(tc, test_base_with_relative_backing);
	tcase_add_test(tc, test_raw_format_is_not_probed);
	tcase_add_test(tc, test_large_overlay);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_tmpfile_overlay);
	suite_add_tcase(s, tc);
	return s;
}
