/*
 * The disk layer (vmm/disk.h) driven directly, with no virtqueue: probing
 * and the sector-0 guard, the second line of request checks, back-pressure,
 * drain, FLUSH behind zeros written in slices, and the qcow2 engine on its
 * worker thread with qemu-img and qemu-io as the oracle.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/qcow2_fixture.h"
#include "tests/unit/suites.h"
#include "tests/unit/test_blk.h"
#include "vmm/disk.h"
#include "vmm/disk_impl.h"

#define IMG (1u << 20)

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9) * 13 + 1);
}

/* A raw image of `size` pattern bytes at DIR/NAME. */
static void raw_image(const char *dir, const char *name, uint64_t size)
{
	uint8_t *buf = malloc(size);
	char p[512];
	int fd;

	ck_assert_ptr_nonnull(buf);
	for (uint64_t i = 0; i < size; i++)
		buf[i] = pattern(i);
	qf_path(p, sizeof(p), dir, name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	close(fd);
	free(buf);
}

static struct disk *open_disk(const char *dir, const char *name, const struct disk_options *o,
			      unsigned int depth)
{
	struct disk *d;
	char p[512];

	qf_path(p, sizeof(p), dir, name);
	ck_assert_int_eq(disk_open(&d, strdup(p), o), 0);
	ck_assert_int_eq(disk_start(d, depth, NULL, NULL), 0);
	return d;
}

static void close_disk(struct disk *d)
{
	const char *path = disk_info(d)->path;

	disk_close(d);
	free((void *)path);
}

/* Reap until `want` completions came (in `out`, in order), waiting on the completion fd. */
static void reap_n(struct disk *d, struct disk_done *out, unsigned int want)
{
	unsigned int got = 0;

	for (int tries = 0; got < want && tries < 20000; tries++) {
		struct pollfd p = { .fd = disk_completion_fd(d), .events = POLLIN };

		got += disk_reap(d, out + got, want - got);
		if (got < want && poll(&p, 1, 1) > 0)
			disk_ack(d);
	}
	ck_assert_uint_eq(got, want);
}

/* One request queued, submitted and waited for: its result. */
static int run1(struct disk *d, enum disk_op op, uint64_t off, void *buf, uint64_t len)
{
	struct iovec v = { buf, len };
	struct disk_req r = { .cookie = 77, .op = op, .offset = off, .len = len,
			      .iov = buf ? &v : NULL, .niov = buf ? 1 : 0 };
	struct disk_done done;

	ck_assert_int_eq(disk_queue(d, &r), 0);
	disk_submit(d);
	reap_n(d, &done, 1);
	ck_assert_uint_eq(done.cookie, 77);
	return done.result;
}

static void read_file(const char *dir, const char *name, uint64_t off, void *buf, size_t len)
{
	char p[512];
	int fd;

	qf_path(p, sizeof(p), dir, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* ---- raw ---- */

START_TEST(test_raw_probed_reads_and_writes)
{
	struct disk_options o = { .aio = _i ? DISK_AIO_SYNC : DISK_AIO_IO_URING };
	uint8_t buf[8192], back[8192];
	struct disk *d;
	char dir[64];

	tmpdir_create(dir, sizeof(dir), "disk");
	raw_image(dir, "a.img", IMG);
	d = open_disk(dir, "a.img", &o, 8);
	ck_assert_int_eq(disk_info(d)->format, DISK_FORMAT_RAW);
	ck_assert_uint_eq(disk_info(d)->size, IMG);
	ck_assert_uint_eq(disk_info(d)->discard_align, 4096);
	ck_assert_int_eq(run1(d, DISK_READ, 4096, buf, sizeof(buf)), 0);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], pattern(4096 + i));
	memset(buf, 0x5c, sizeof(buf));
	ck_assert_int_eq(run1(d, DISK_WRITE, 65536, buf, sizeof(buf)), 0);
	ck_assert_int_eq(run1(d, DISK_FLUSH, 0, NULL, 0), 0);
	read_file(dir, "a.img", 65536, back, sizeof(back));
	ck_assert_mem_eq(back, buf, sizeof(buf));
	close_disk(d);
	tmpdir_remove(dir);
}
END_TEST

/* A raw image reached by probing refuses a write that would make it look like qcow2. */
START_TEST(test_raw_probed_sector0_guard)
{
	struct disk_options raw = { .format = DISK_FORMAT_RAW };
	uint8_t hdr[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 }, back[512], other[1024];
	struct disk *d;
	char dir[64];

	tmpdir_create(dir, sizeof(dir), "disk");
	raw_image(dir, "a.img", IMG);
	d = open_disk(dir, "a.img", NULL, 8);
	ck_assert(d->guard);
	ck_assert_int_eq(run1(d, DISK_WRITE, 0, hdr, sizeof(hdr)), -EIO);
	read_file(dir, "a.img", 0, back, sizeof(back));
	for (unsigned int i = 0; i < sizeof(back); i++)
		ck_assert_uint_eq(back[i], pattern(i)); /* untouched */
	/* Anything else at sector 0 goes through, and whole (two sectors here). */
	memset(other, 0x21, sizeof(other));
	ck_assert_int_eq(run1(d, DISK_WRITE, 0, other, sizeof(other)), 0);
	read_file(dir, "a.img", 0, other, sizeof(other));
	for (unsigned int i = 0; i < sizeof(other); i++)
		ck_assert_uint_eq(other[i], 0x21);
	close_disk(d);
	/* Done once, where it was checked, and completed once (it once also went on to the
	 * engine, which wrote the guest's buffer again: a race around the check). */
	{
		struct disk_options sync = { .aio = DISK_AIO_SYNC };
		struct iovec v = { other, 512 };
		struct disk_req r = { .cookie = 9, .op = DISK_WRITE, .len = 512, .iov = &v, .niov = 1 };
		struct disk_done done[2];

		d = open_disk(dir, "a.img", &sync, 4);
		ck_assert(d->guard);
		ck_assert_int_eq(disk_queue(d, &r), 0);
		disk_submit(d);
		ck_assert(!disk_backlog(d));
		ck_assert_uint_eq(disk_reap(d, done, 2), 1);
		ck_assert_uint_eq(disk_reap(d, done, 2), 0);
		ck_assert_uint_eq(disk_inflight(d), 0);
		close_disk(d);
	}
	/* format=raw: the user said what the image is; the guest may write anything. */
	d = open_disk(dir, "a.img", &raw, 8);
	ck_assert(!d->guard);
	ck_assert_int_eq(run1(d, DISK_WRITE, 0, hdr, sizeof(hdr)), 0);
	close_disk(d);
	/* And format=raw keeps it raw on the next start, qcow2 header or not. */
	d = open_disk(dir, "a.img", &raw, 8);
	ck_assert_int_eq(disk_info(d)->format, DISK_FORMAT_RAW);
	ck_assert_uint_eq(disk_info(d)->size, IMG);
	close_disk(d);
	tmpdir_remove(dir);
}
END_TEST

/* The second line of checks: every bad request still completes, with its error. */
START_TEST(test_bad_requests_complete_with_errors)
{
	struct disk_options ro = { .readonly = true };
	uint8_t buf[1024];
	struct iovec two[2] = { { buf, 512 }, { buf + 512, 100 } };
	struct disk_req r = { .op = DISK_READ, .offset = 0, .len = 1024, .iov = two, .niov = 2 };
	struct disk_done done;
	struct disk *d;
	char dir[64];

	tmpdir_create(dir, sizeof(dir), "disk");
	raw_image(dir, "a.img", IMG);
	d = open_disk(dir, "a.img", NULL, 4);
	ck_assert_int_eq(run1(d, DISK_READ, 100, buf, 512), -EINVAL);	      /* misaligned */
	ck_assert_int_eq(run1(d, DISK_READ, IMG - 512, buf, 1024), -EINVAL); /* past the end */
	ck_assert_int_eq(run1(d, DISK_READ, IMG, buf, 512), -EINVAL);
	ck_assert_int_eq(run1(d, (enum disk_op)42, 0, NULL, 0), -EOPNOTSUPP);
	ck_assert_int_eq(disk_queue(d, &r), 0); /* iovecs that do not add up to len */
	disk_submit(d);
	reap_n(d, &done, 1);
	ck_assert_int_eq(done.result, -EINVAL);
	ck_assert_uint_eq(disk_inflight(d), 0);
	close_disk(d);
	d = open_disk(dir, "a.img", &ro, 4);
	ck_assert(disk_info(d)->readonly);
	ck_assert_int_eq(run1(d, DISK_WRITE, 0, buf, 512), -EROFS);
	ck_assert_int_eq(run1(d, DISK_WRITE_ZEROES, 0, NULL, 512), -EROFS);
	ck_assert_int_eq(run1(d, DISK_READ, 0, buf, 512), 0);
	close_disk(d);
	tmpdir_remove(dir);
}
END_TEST

/* `depth` requests in flight, then -EAGAIN with nothing queued; drain cancels what has not started. */
START_TEST(test_depth_and_drain)
{
	struct disk_options o = { .aio = DISK_AIO_SYNC };
	uint8_t buf[3][512];
	struct iovec v[3];
	struct disk_done done[3];
	struct disk *d;
	char dir[64];

	tmpdir_create(dir, sizeof(dir), "disk");
	raw_image(dir, "a.img", IMG);
	d = open_disk(dir, "a.img", &o, 2);
	for (unsigned int i = 0; i < 3; i++) {
		struct disk_req r = { .cookie = i, .op = DISK_READ, .offset = 512ull * i, .len = 512,
				      .iov = &v[i], .niov = 1 };

		v[i] = (struct iovec){ buf[i], 512 };
		ck_assert_int_eq(disk_queue(d, &r), i < 2 ? 0 : -EAGAIN);
	}
	disk_submit(d);
	ck_assert(disk_backlog(d)); /* aio=sync: the reads wait for disk_reap() */
	ck_assert_uint_eq(disk_inflight(d), 2);
	disk_drain(d);
	ck_assert_uint_eq(disk_reap(d, done, 3), 2);
	ck_assert_int_eq(done[0].result, -ECANCELED);
	ck_assert_int_eq(done[1].result, -ECANCELED);
	ck_assert_uint_eq(disk_inflight(d), 0);
	ck_assert(!disk_backlog(d));
	close_disk(d);
	tmpdir_remove(dir);
}
END_TEST

/*
 * tmpfs cannot zero a range: WRITE_ZEROES goes out a slice per disk_reap(),
 * and a FLUSH queued behind it waits for the last slice, even through
 * io_uring, whose drain flag knows nothing of those writes.
 */
START_TEST(test_flush_waits_for_zeros_in_slices)
{
	struct disk_req z = { .cookie = 1, .op = DISK_WRITE_ZEROES, .offset = 0, .len = 8u << 20 };
	struct disk_req f = { .cookie = 2, .op = DISK_FLUSH };
	struct disk_done done[2];
	unsigned int n = 0, calls = 0;
	uint8_t back[4096];
	struct disk *d;
	char dir[64];

	snprintf(dir, sizeof(dir), "/dev/shm/ember-disk-XXXXXX");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: skipped, no /dev/shm\n", __func__);
		return;
	}
	raw_image(dir, "z.img", 8u << 20);
	d = open_disk(dir, "z.img", NULL, 4);
	ck_assert_int_eq(disk_queue(d, &z), 0);
	ck_assert_int_eq(disk_queue(d, &f), 0);
	disk_submit(d);
	while (n < 2 && calls++ < 100000) {
		struct pollfd p = { .fd = disk_completion_fd(d), .events = POLLIN };

		n += disk_reap(d, done + n, 2 - n);
		if (n < 2 && poll(&p, 1, 1) > 0)
			disk_ack(d);
	}
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_ge(calls, 8); /* a slice a turn */
	ck_assert_uint_eq(done[0].cookie, 1);
	ck_assert_uint_eq(done[1].cookie, 2);
	ck_assert_int_eq(done[0].result, 0);
	ck_assert_int_eq(done[1].result, 0);
	read_file(dir, "z.img", (8u << 20) - 4096, back, sizeof(back));
	for (unsigned int i = 0; i < sizeof(back); i++)
		ck_assert_uint_eq(back[i], 0);
	close_disk(d);
	tmpdir_remove(dir);
}
END_TEST

/* ---- qcow2 ---- */

START_TEST(test_qcow2_probed_read_write_and_check)
{
	uint8_t *buf = malloc(3u << 20);
	struct iovec v[3];
	struct disk_req r;
	struct disk_done done;
	struct disk *d;
	char dir[64];

	ck_assert_ptr_nonnull(buf);
	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	qf_sh(dir, "qemu-img create -f qcow2 q.qcow2 64M");
	qf_sh(dir, "qemu-io -c 'write -P 0xab 0 64k' q.qcow2");
	d = open_disk(dir, "q.qcow2", NULL, 8);
	ck_assert_int_eq(disk_info(d)->format, DISK_FORMAT_QCOW2);
	ck_assert_int_eq(disk_info(d)->engine, DISK_ENGINE_QCOW2);
	ck_assert_uint_eq(disk_info(d)->size, 64u << 20);
	ck_assert_uint_eq(disk_info(d)->discard_align, 65536);
	ck_assert_int_eq(run1(d, DISK_READ, 0, buf, 65536 + 512), 0);
	for (unsigned int i = 0; i < 65536; i++)
		ck_assert_uint_eq(buf[i], 0xab);
	ck_assert_uint_eq(buf[65536], 0);
	/* 3 MiB in three iovecs: more than one of the worker's slices. */
	memset(buf, 0xcd, 3u << 20);
	v[0] = (struct iovec){ buf, 4096 };
	v[1] = (struct iovec){ buf + 4096, (2u << 20) - 4096 };
	v[2] = (struct iovec){ buf + (2u << 20), 1u << 20 };
	r = (struct disk_req){ .cookie = 5, .op = DISK_WRITE, .offset = 1u << 20, .len = 3u << 20,
			       .iov = v, .niov = 3 };
	ck_assert_int_eq(disk_queue(d, &r), 0);
	disk_submit(d);
	reap_n(d, &done, 1);
	ck_assert_int_eq(done.result, 0);
	ck_assert_int_eq(run1(d, DISK_WRITE_ZEROES, 2u << 20, NULL, 65536), 0);
	ck_assert_int_eq(run1(d, DISK_DISCARD, 3u << 20, NULL, 65536), 0);
	ck_assert_int_eq(run1(d, DISK_FLUSH, 0, NULL, 0), 0);
	close_disk(d);
	qf_sh(dir, "qemu-img check q.qcow2");
	qf_sh(dir, "qemu-io -c 'read -P 0xab 0 64k' -c 'read -P 0xcd 1M 1M' "
		   "-c 'read -P 0 2M 64k' -c 'read -P 0xcd 2112k 960k' -c 'read -P 0 3M 64k' "
		   "-c 'read -P 0xcd 3136k 960k' q.qcow2");
	free(buf);
	tmpdir_remove(dir);
}
END_TEST

/* format=qcow2 on a file that is not one, and a qcow2 image opened as raw. */
START_TEST(test_qcow2_format_given)
{
	struct disk_options q = { .format = DISK_FORMAT_QCOW2 };
	struct disk_options raw = { .format = DISK_FORMAT_RAW };
	uint8_t magic[4];
	struct disk *d;
	char dir[64], p[512];

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	raw_image(dir, "a.img", IMG);
	qf_path(p, sizeof(p), dir, "a.img");
	ck_assert_int_eq(disk_open(&d, p, &q), -EINVAL);
	ck_assert_ptr_null(d);
	qf_sh(dir, "qemu-img create -f qcow2 q.qcow2 64M");
	d = open_disk(dir, "q.qcow2", &raw, 4);
	ck_assert_int_eq(disk_info(d)->format, DISK_FORMAT_RAW);
	ck_assert_int_eq(run1(d, DISK_READ, 0, p, 512), 0); /* the header's bytes, as data */
	memcpy(magic, p, 4);
	ck_assert_mem_eq(magic, "QFI\xfb", 4);
	close_disk(d);
	tmpdir_remove(dir);
}
END_TEST

/*
 * Malformed metadata found by a write: that write fails, and so does every
 * later write-type request, without touching the file; reads go on.
 */
START_TEST(test_qcow2_malformed_metadata_stops_writes)
{
	uint8_t buf[4096], l1off_be[8], bad[8];
	uint64_t l1off;
	struct stat before, after;
	struct disk *d;
	char dir[64], p[512];
	int fd;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	qf_sh(dir, "qemu-img create -f qcow2 q.qcow2 1G");
	qf_sh(dir, "qemu-io -c 'write -P 0x11 0 64k' q.qcow2");
	/* L1[0] now points past the end of the file. */
	qf_path(p, sizeof(p), dir, "q.qcow2");
	fd = open(p, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, l1off_be, 8, 40), 8);
	l1off = be64toh(*(uint64_t *)l1off_be);
	*(uint64_t *)bad = htobe64(0x8000000000000000ull | (64ull << 30));
	ck_assert_int_eq(pwrite(fd, bad, 8, (off_t)l1off), 8);
	close(fd);
	d = open_disk(dir, "q.qcow2", NULL, 4);
	memset(buf, 0x22, sizeof(buf));
	ck_assert_int_eq(run1(d, DISK_WRITE, 65536, buf, sizeof(buf)), -EIO);
	ck_assert(d->meta_failed);
	ck_assert_int_eq(stat(p, &before), 0);
	ck_assert_int_eq(run1(d, DISK_WRITE, 600u << 20, buf, sizeof(buf)), -EIO);
	ck_assert_int_eq(run1(d, DISK_WRITE_ZEROES, 600u << 20, NULL, 65536), -EIO);
	ck_assert_int_eq(run1(d, DISK_READ, 600u << 20, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(buf[0], 0);
	ck_assert_int_eq(stat(p, &after), 0);
	ck_assert_int_eq(before.st_size, after.st_size);
	ck_assert_int_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	close_disk(d);
	tmpdir_remove(dir);
}
END_TEST

/* A drain while the worker is busy: every request completes once, and nothing after. */
START_TEST(test_qcow2_drain_with_work_queued)
{
	enum { N = 32 };
	static uint8_t buf[N][65536];
	struct iovec v[N];
	struct disk_done done[N];
	unsigned int ok = 0, cancelled = 0;
	struct disk *d;
	char dir[64];

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	qf_sh(dir, "qemu-img create -f qcow2 q.qcow2 64M");
	d = open_disk(dir, "q.qcow2", NULL, N);
	for (unsigned int i = 0; i < N; i++) {
		struct disk_req r = { .cookie = i, .op = DISK_WRITE, .offset = 65536ull * i,
				      .len = 65536, .iov = &v[i], .niov = 1 };

		memset(buf[i], (int)i + 1, sizeof(buf[i]));
		v[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		ck_assert_int_eq(disk_queue(d, &r), 0);
	}
	disk_submit(d);
	disk_drain(d);
	ck_assert_uint_eq(disk_reap(d, done, N), N);
	for (unsigned int i = 0; i < N; i++) {
		ck_assert(done[i].result == 0 || done[i].result == -ECANCELED);
		ok += !done[i].result;
		cancelled += done[i].result == -ECANCELED;
	}
	ck_assert_uint_eq(ok + cancelled, N);
	ck_assert_uint_eq(disk_inflight(d), 0);
	close_disk(d);
	qf_sh(dir, "qemu-img check q.qcow2");
	tmpdir_remove(dir);
}
END_TEST

/* Queue a 4 KiB READ or WRITE of buf at off, cookie `cookie`. */
static void queue4k(struct disk *d, enum disk_op op, uint64_t off, uint8_t *buf, struct iovec *v,
		    uint64_t cookie)
{
	struct disk_req r = { .cookie = cookie, .op = op, .offset = off, .len = 4096, .iov = v,
			      .niov = 1 };

	*v = (struct iovec){ buf, 4096 };
	ck_assert_int_eq(disk_queue(d, &r), 0);
}

/*
 * Reads on the owner's ring: once the worker has cached the L2 table, reads
 * of allocated clusters skip it, and reads of clusters that hold nothing
 * complete at once; a read queued behind a write to its range
 * goes to the worker behind it and sees the write; a DISCARD waits for the
 * owner's reads before it reaches the worker; a drain waits for them.
 */
START_TEST(test_qcow2_reads_on_owner_ring)
{
	enum { N = 8 };
	static uint8_t buf[N][4096];
	struct iovec v[N];
	struct disk_done done[N];
	struct disk_req r = { .cookie = 99, .op = DISK_DISCARD, .offset = 4u << 16,
			      .len = 4u << 16 };
	struct disk *d;
	char dir[64];

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	qf_sh(dir, "qemu-img create -f qcow2 q.qcow2 64M");
	qf_sh(dir, "qemu-io -c 'write -P 0x5a 0 1M' q.qcow2");
	d = open_disk(dir, "q.qcow2", NULL, N);
	if (!d->qc.fring_ok) { /* no io_uring here: every read goes to the worker */
		close_disk(d);
		tmpdir_remove(dir);
		return;
	}
	/* The first read goes to the worker, which caches the L2 table. */
	ck_assert_int_eq(run1(d, DISK_READ, 0, buf[0], 4096), 0);
	for (unsigned int i = 0; i < N; i++)
		queue4k(d, DISK_READ, 69632ull * i, buf[i], &v[i], i);
	ck_assert_uint_eq(d->qc.fast, N);
	disk_submit(d);
	ck_assert_uint_eq(d->qc.handed, 0);
	reap_n(d, done, N);
	for (unsigned int i = 0; i < N; i++) {
		ck_assert_int_eq(done[i].result, 0);
		for (unsigned int j = 0; j < 4096; j++)
			ck_assert_uint_eq(buf[i][j], 0x5a);
	}
	/* Unallocated clusters (no backing file): zeros at once, neither ring nor worker. */
	memset(buf[0], 0xee, 4096);
	queue4k(d, DISK_READ, 4u << 20, buf[0], &v[0], 0);
	ck_assert_uint_eq(d->qc.fast + d->qc.batch_n, 0);
	disk_submit(d);
	reap_n(d, done, 1);
	ck_assert_int_eq(done[0].result, 0);
	for (unsigned int j = 0; j < 4096; j++)
		ck_assert_uint_eq(buf[0][j], 0);
	/* A write, then a read of the same range, in one batch. */
	memset(buf[0], 0x6b, 4096);
	queue4k(d, DISK_WRITE, 8192, buf[0], &v[0], 0);
	queue4k(d, DISK_READ, 8192, buf[1], &v[1], 1);
	ck_assert_uint_eq(d->qc.fast, 0);
	disk_submit(d);
	reap_n(d, done, 2);
	ck_assert_int_eq(done[0].result | done[1].result, 0);
	ck_assert_mem_eq(buf[0], buf[1], 4096);
	/* Reads of clusters 4 to 7, then their DISCARD: held until the reads complete. */
	for (unsigned int i = 0; i < 4; i++)
		queue4k(d, DISK_READ, (4ull + i) << 16, buf[i], &v[i], i);
	ck_assert_int_eq(disk_queue(d, &r), 0);
	ck_assert_uint_eq(d->qc.fast, 4);
	disk_submit(d);
	ck_assert_uint_eq(d->qc.handed, 0);
	reap_n(d, done, 5);
	for (unsigned int i = 0; i < 5; i++)
		ck_assert_int_eq(done[i].result, 0);
	ck_assert_uint_eq(buf[3][100], 0x5a);
	/* A drain with reads on the ring. */
	ck_assert_int_eq(run1(d, DISK_READ, 0, buf[0], 4096), 0);
	for (unsigned int i = 0; i < 4; i++)
		queue4k(d, DISK_READ, 4096ull * i, buf[i], &v[i], i);
	ck_assert_uint_eq(d->qc.fast, 4);
	disk_submit(d);
	disk_drain(d);
	ck_assert_uint_eq(d->qc.fast, 0);
	ck_assert_uint_eq(disk_reap(d, done, N), 4);
	for (unsigned int i = 0; i < 4; i++)
		ck_assert_int_eq(done[i].result, 0);
	/* Without the ring (none, or given up), reads go to the worker; a drain passes it by. */
	io_uring_queue_exit(&d->qc.fring);
	d->qc.fring_ok = d->qc.fring_open = false;
	ck_assert_int_eq(run1(d, DISK_READ, 0, buf[0], 4096), 0);
	ck_assert_uint_eq(buf[0][0], 0x5a);
	disk_drain(d);
	close_disk(d);
	qf_sh(dir, "qemu-img check q.qcow2");
	qf_sh(dir, "qemu-io -c 'read -P 0x5a 0 8k' -c 'read -P 0x6b 8k 4k' -c 'read -P 0 256k 256k' "
		   "-c 'read -P 0x5a 512k 512k' q.qcow2");
	tmpdir_remove(dir);
}
END_TEST

/* A qcow2 image that needs repair opens read-only only; a read-only qcow2 refuses writes. */
START_TEST(test_qcow2_readonly)
{
	struct disk_options ro = { .readonly = true };
	uint8_t buf[512];
	struct disk *d;
	char dir[64];

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	qf_sh(dir, "qemu-img create -f qcow2 q.qcow2 64M");
	d = open_disk(dir, "q.qcow2", &ro, 4);
	ck_assert(disk_info(d)->readonly);
	ck_assert_int_eq(run1(d, DISK_WRITE, 0, buf, sizeof(buf)), -EROFS);
	ck_assert_int_eq(run1(d, DISK_READ, 0, buf, sizeof(buf)), 0);
	close_disk(d);
	tmpdir_remove(dir);
}
END_TEST

/* virtio-blk over a qcow2 disk: the guest's view, and the image qemu-io reads afterwards. */
START_TEST(test_blk_over_qcow2)
{
	struct bfx f;
	char dir[64];

	if (!qf_have_qemu(__func__))
		return;
	memset(&f, 0, sizeof(f));
	tmpdir_create(dir, sizeof(dir), "disk");
	qf_sh(dir, "qemu-img create -f qcow2 -o cluster_size=4096 q.qcow2 8M");
	qf_sh(dir, "qemu-io -c 'write -P 0x5a 1M 8k' q.qcow2");
	ck_assert_int_lt(snprintf(f.path, sizeof(f.path), "%.48s/q.qcow2", dir), (int)sizeof(f.path));
	ck_assert_int_eq(disk_open(&f.disk, f.path, NULL), 0);
	f.uring = true; /* completions come from the worker, through the event loop */
	ck_assert_int_eq(bfx_try_open(&f, false, false, "qcow2-disk"), 0);
	ck_assert_uint_eq(f.b.cfg.capacity, (8u << 20) / 512);
	ck_assert_uint_eq(f.b.cfg.discard_sector_alignment, 4096 / 512);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 2048, BFX_DATA, 8192, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(bfx_get8(&f, BFX_DATA), 0x5a);
	ck_assert_uint_eq(bfx_get8(&f, BFX_DATA + 8191), 0x5a);
	bfx_fill(&f, BFX_DATA, 0x77, 16384);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_OUT, 100, BFX_DATA, 16384, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 100, BFX_DATA2, 16384, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(bfx_get8(&f, BFX_DATA2 + 16383), 0x77);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, 2048, 16, 0), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 16384, BFX_DATA, 512, NULL), VIRTIO_BLK_S_IOERR);
	evloop_stop(&f.loop);
	f.loop_running = false;
	blk_close(&f.b);
	f.opened = false;
	qf_sh(dir, "qemu-img check q.qcow2");
	qf_sh(dir, "qemu-io -c 'read -P 0x77 50k 16k' -c 'read -P 0 1M 8k' q.qcow2");
	bfx_close(&f);
	tmpdir_remove(dir);
}
END_TEST

/* Whether DIR has no entry (the overlays were unnamed: nothing left behind). */
static bool dir_empty(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
	return system(cmd) == 0;
}

/*
 * snapshot=on over a raw and over a qcow2 image: the guest's writes read
 * back, the image is byte for byte what it was, two VMs share one base,
 * the overlay leaves no file behind, and a base some writer holds is refused.
 */
START_TEST(test_snapshot_on)
{
	struct disk_options snap = { .snapshot = true };
	uint8_t buf[65536];
	struct disk *d, *e, *w;
	char dir[64], tmp[64], p[512];
	char *saved = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	tmpdir_create(tmp, sizeof(tmp), "disk-tmp");
	setenv("TMPDIR", tmp, 1);
	raw_image(dir, "a.img", IMG);
	qf_sh(dir, "qemu-img convert -f raw -O qcow2 a.img q.qcow2");
	qf_sh(dir, "sha256sum a.img q.qcow2 > sums");
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "q.qcow2" : "a.img";

		d = open_disk(dir, name, &snap, 4);
		e = open_disk(dir, name, &snap, 4); /* a second VM on the same base */
		ck_assert_int_eq(disk_info(d)->engine, DISK_ENGINE_QCOW2);
		ck_assert_int_eq(disk_info(d)->format, k ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW);
		ck_assert(!disk_info(d)->readonly);
		ck_assert_uint_eq(disk_info(d)->size, IMG);
		memset(buf, 0x99, sizeof(buf));
		ck_assert_int_eq(run1(d, DISK_WRITE, 4096, buf, 8192), 0);
		ck_assert_int_eq(run1(d, DISK_FLUSH, 0, NULL, 0), 0);
		ck_assert_int_eq(run1(d, DISK_READ, 0, buf, sizeof(buf)), 0);
		for (unsigned int i = 0; i < sizeof(buf); i++)
			ck_assert_uint_eq(buf[i], i >= 4096 && i < 12288 ? 0x99 : pattern(i));
		ck_assert_int_eq(run1(e, DISK_READ, 4096, buf, 512), 0);
		ck_assert_uint_eq(buf[0], pattern(4096)); /* the other VM does not see it */
		/* A writer cannot have the base meanwhile. */
		qf_path(p, sizeof(p), dir, name);
		ck_assert_int_eq(disk_open(&w, p, NULL), -EBUSY);
		close_disk(d);
		close_disk(e);
	}
	qf_sh(dir, "sha256sum -c --quiet sums");
	ck_assert(dir_empty(tmp));
	/* The other way round: a base that a writer holds is refused with snapshot=on. */
	qf_path(p, sizeof(p), dir, "a.img");
	ck_assert_int_eq(disk_open(&w, p, NULL), 0);
	ck_assert_int_eq(disk_open(&d, p, &snap), -EBUSY);
	disk_close(w);
	if (saved)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	tmpdir_remove(tmp);
	tmpdir_remove(dir);
}
END_TEST

/* Compressed clusters of both types read back as the raw image they came from; a write beside. */
START_TEST(test_qcow2_compressed_zlib_and_zstd)
{
	static const char *const types[] = { "zlib", "zstd" };
	uint8_t *buf = malloc(IMG);
	struct disk *d;
	char dir[64];

	ck_assert_ptr_nonnull(buf);
	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	raw_image(dir, "a.img", IMG);
	qf_sh(dir, "qemu-img convert -c -f raw -O qcow2 -o compression_type=%s,cluster_size=16k "
		   "a.img c.qcow2", types[_i]);
	d = open_disk(dir, "c.qcow2", NULL, 4);
	ck_assert_int_eq(run1(d, DISK_READ, 0, buf, IMG), 0);
	for (uint64_t i = 0; i < IMG; i++)
		ck_assert_uint_eq(buf[i], pattern(i));
	memset(buf, 0x3c, 4096);
	ck_assert_int_eq(run1(d, DISK_WRITE, 20480, buf, 4096), 0); /* inside a compressed cluster */
	ck_assert_int_eq(run1(d, DISK_FLUSH, 0, NULL, 0), 0);
	close_disk(d);
	qf_sh(dir, "qemu-img check c.qcow2");
	qf_sh(dir, "qemu-io -c 'read -P 0x3c 20k 4k' c.qcow2");
	free(buf);
	tmpdir_remove(dir);
}
END_TEST

/*
 * qcow2_readv() against qcow2_read() over an image of 4 KiB clusters written
 * in a scattered order (runs that follow on the host and runs that do not),
 * with zero, compressed-free and unallocated clusters, into many iovecs.
 */
START_TEST(test_qcow2_readv_matches_read)
{
	enum { LEN = 1u << 20 };
	uint8_t *a = malloc(LEN), *b = malloc(LEN);
	struct iovec v[300];
	struct qcow2 *q;
	char dir[64], why[256];
	unsigned int n = 0;
	uint64_t pos = 0;
	int fd;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	qf_sh(dir, "qemu-img create -f qcow2 -o cluster_size=4k r.qcow2 2M");
	qf_sh(dir, "qemu-io -c 'write -P 1 512k 64k' -c 'write -P 2 0 16k' -c 'write -P 3 100k 8k' "
		   "-c 'write -P 4 20k 40k' -c 'write -z 24k 8k' -c 'write -P 5 300k 4k' "
		   "-c 'write -P 6 4k 4k' r.qcow2");
	ck_assert_int_eq(qf_open(dir, "r.qcow2", false, &q, &fd, why, sizeof(why)), 0);
	while (pos < LEN) { /* iovecs of 512 bytes to 7.5 KiB */
		uint64_t len = 512u * (1 + n % 15);

		if (len > LEN - pos || n == 299)
			len = LEN - pos;
		v[n++] = (struct iovec){ b + pos, len };
		pos += len;
	}
	for (uint64_t off = 0; off < (2u << 20) - LEN + 1; off += 3584) {
		memset(b, 0xee, LEN);
		ck_assert_int_eq(qcow2_read(q, off, a, LEN), 0);
		ck_assert_int_eq(qcow2_readv(q, off, v, n, LEN), 0);
		ck_assert_mem_eq(a, b, LEN);
		if (off > 64 * 3584)
			off += 100000;
	}
	ck_assert_int_eq(qcow2_readv(q, (2u << 20) - 512, v, 1, 1024), -EINVAL);
	qf_close(q, fd);
	free(a);
	free(b);
	tmpdir_remove(dir);
}
END_TEST

#define CRASH_REGION 12288 /* bytes per numbered write: three 4 KiB clusters */

/* Child: through the disk's worker, write region i with pattern i, flush, report i; until killed. */
static void crash_writer(const char *dir, int out)
{
	static uint8_t buf[CRASH_REGION];
	struct disk *d;

	d = open_disk(dir, "c.qcow2", NULL, 4);
	for (uint32_t i = 0;; i++) {
		memset(buf, (int)(i % 251) + 1, sizeof(buf));
		if (run1(d, DISK_WRITE, (uint64_t)(i % 300) * CRASH_REGION + 4096, buf, sizeof(buf)) ||
		    run1(d, DISK_FLUSH, 0, NULL, 0) || write(out, &i, sizeof(i)) != sizeof(i))
			_exit(3);
	}
}

/*
 * SIGKILL while the worker writes: qemu-img check finds no corruption
 * (leaked clusters allowed), and every region whose write a FLUSH covered
 * holds it.
 */
START_TEST(test_qcow2_crash_consistency)
{
	char dir[64], cmd[256];
	int p[2];
	pid_t pid;

	if (!qf_have_qemu(__func__))
		return;
	tmpdir_create(dir, sizeof(dir), "disk");
	for (int round = 0; round < 2; round++) {
		uint32_t last = UINT32_MAX, v;
		struct timespec ts = { 0, 50000000L + 100000000L * round };

		qf_sh(dir, "rm -f c.qcow2 && qemu-img create -f qcow2 -o cluster_size=4k c.qcow2 8M");
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
		/* 0: clean; 3: leaked clusters only. Right after the kill: the image's lock
		 * went with the process (the rings hold files of their own). */
		snprintf(cmd, sizeof(cmd), "cd '%s' && qemu-img check c.qcow2 >check.out 2>&1; "
			 "s=$?; [ $s -eq 0 ] || [ $s -eq 3 ] || { cat check.out >&2; exit 1; }", dir);
		ck_assert_int_eq(system(cmd), 0);
		/* What qemu reads from the image, once, checked here region by region. */
		qf_sh(dir, "qemu-img convert -f qcow2 -O raw c.qcow2 c.raw");
		for (uint32_t i = last >= 299 && last != UINT32_MAX ? last - 298 : 0;
		     last != UINT32_MAX && i <= last; i++) {
			static uint8_t got[CRASH_REGION];

			read_file(dir, "c.raw", (uint64_t)(i % 300) * CRASH_REGION + 4096, got,
				  sizeof(got));
			for (size_t j = 0; j < sizeof(got); j++)
				if (got[j] != (i % 251) + 1)
					ck_abort_msg("region %u byte %zu: %u", i, j, got[j]);
		}
	}
	tmpdir_remove(dir);
}
END_TEST

Suite *disk_suite(void)
{
	Suite *s = suite_create("disk");
	TCase *raw = tcase_create("raw");
	TCase *qc = tcase_create("qcow2");

	tcase_add_loop_test(raw, test_raw_probed_reads_and_writes, 0, 2);
	tcase_add_test(raw, test_raw_probed_sector0_guard);
	tcase_add_test(raw, test_bad_requests_complete_with_errors);
	tcase_add_test(raw, test_depth_and_drain);
	tcase_add_test(raw, test_flush_waits_for_zeros_in_slices);
	tcase_set_timeout(raw, 30);
	suite_add_tcase(s, raw);
	tcase_add_test(qc, test_qcow2_probed_read_write_and_check);
	tcase_add_test(qc, test_qcow2_format_given);
	tcase_add_test(qc, test_qcow2_malformed_metadata_stops_writes);
	tcase_add_test(qc, test_qcow2_drain_with_work_queued);
	tcase_add_test(qc, test_qcow2_reads_on_owner_ring);
	tcase_add_test(qc, test_qcow2_readonly);
	tcase_add_test(qc, test_blk_over_qcow2);
	tcase_add_test(qc, test_snapshot_on);
	tcase_add_test(qc, test_qcow2_crash_consistency);
	tcase_add_loop_test(qc, test_qcow2_compressed_zlib_and_zstd, 0, 2);
	tcase_add_test(qc, test_qcow2_readv_matches_read);
	tcase_set_timeout(qc, 60);
	suite_add_tcase(s, qc);
	return s;
}
