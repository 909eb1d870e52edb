/*
 * Fuzz target: vmm/qcow2.c and vmm/qcow2_write.c, the header, L1/L2 and
 * refcount parsing, on an image file holding the input's bytes (a memfd).
 *
 * Input: the whole input is the image. Its last 64 bytes (all of it when
 * shorter) are also read as 8 operations of 8 bytes: u8 kind, u8 offset
 * low bits, u16 length, u32 offset in 512-byte units. Offsets are taken
 * modulo the virtual size and lengths cut at its end. kind % 8: 0-1 read
 * (up to 64 KiB), 2-3 write (up to 64 KiB), 4 write zeroes and 5 discard
 * (up to 256 KiB), 6 flush, 7 grow (by up to 32 MiB). Bit 3 of the first
 * kind also pads the file with zeros, by 512 times the low 16 bits of its
 * offset (up to 32 MiB), so that allocations can pass what one refcount
 * table cluster covers (8 MiB of 512-byte clusters) and move the table. In
 * the images qemu-img makes the tail is the last data cluster written, so a
 * seed's operations are the bytes it wrote last.
 *
 * Backing files: only the names "base.raw" and "b.qcow2" (relative, so
 * resolved beside the image's path, a temporary directory made at start)
 * are opened; the target reads the name from the input as the engine does
 * and opens any other image with no_backing. base.raw is 256 KiB of a
 * pattern, b.qcow2 an overlay of it (qcow2_create_overlay()). The engine
 * opens backing files read-only, so nothing outside the memfd is written.
 *
 * Each run: qcow2_open() read-only, reads of the disk's first 64 KiB and
 * last 4 KiB; then qcow2_open() writable (read-only again if refused) and
 * the operations, a flush and close. At most about 600 KiB move per run.
 *
 * Checks beyond the sanitizers:
 *   - in-range calls fail only as the contract says: -EIO (malformed),
 *     -ENOMEM, and for writes -ENOSPC or -EFBIG (limits), -EROFS (read-only);
 *     -EINVAL only from a grow past 2^62 bytes. Another code means a host
 *     call failed on an offset the engine should never have made (a pwrite
 *     or ftruncate past 2^63, say);
 *   - cluster 0 holds the header: writes change only the fields the engine
 *     rewrites (size, L1 size and offset, refcount table offset and size);
 *   - the file grows by no more than the clusters the operations could
 *     allocate (see growth_bound()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "vmm/log.h"
#include "vmm/qcow2.h"

#define OPS	    8
#define OP_SIZE	    8
#define MAX_IO	    (64u << 10)
#define MAX_HEADER  (2u << 20)	 /* the largest cluster: 2 MiB */
#define MAX_RT	    (8ull << 20) /* QCOW2_MAX_RT_BYTES */
#define MAX_CLUSTER (2ull << 20)
#define BASE_SIZE   (256u << 10)

struct op {
	uint8_t kind, lo;
	uint16_t len;
	uint32_t off;
};

struct qc_fuzz {
	int fd;
	char dir[64];	 /* base.raw and b.qcow2 */
	char path[96];	 /* the image's name for resolving backing names: DIR/img.qcow2 */
	uint8_t *buf;	 /* MAX_IO: data read and written */
	uint8_t *before; /* the input's first cluster, to compare the header with */
	char why[256];
};

static struct qc_fuzz *fz;

/* The tail of the input as operations (zeros where it is short). */
static void parse_ops(const uint8_t *data, size_t size, struct op *ops)
{
	size_t tail = size < OPS * OP_SIZE ? size : OPS * OP_SIZE;
	struct input in = input_init(data + size - tail, tail);

	for (int i = 0; i < OPS; i++) {
		ops[i].kind = input_u8(&in);
		ops[i].lo = input_u8(&in);
		ops[i].len = input_u16(&in);
		ops[i].off = input_u32(&in);
	}
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * May the engine open this image's backing file? Only when the header names one of the two files
 * of the temporary directory, read from the same bytes the engine reads it from.
 */
static bool backing_allowed(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "base.raw", "b.qcow2" };
	uint64_t off, len;

	if (size < 20)
		return false;
	off = be(data + 8, 8);
	len = be(data + 16, 4);
	if (!off || off >= size || len > size - off)
		return true; /* no backing file, or one the engine refuses */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len == strlen(names[i]) && !memcmp(data + off, names[i], len))
			return true;
	return false;
}

static uint64_t file_size(void)
{
	struct stat st;

	if (fstat(fz->fd, &st) < 0)
		abort();
	return (uint64_t)st.st_size;
}

/* [*off, *off + *n) for `o` on a disk of `size` bytes: inside it, at most `len` long. */
static void place(const struct op *o, uint64_t size, uint64_t len, uint64_t *off, uint64_t *n)
{
	*off = ((uint64_t)o->off * 512 + o->lo) % size;
	*n = len < size - *off ? len : size - *off;
}

static bool read_ok(int err)
{
	return err == 0 || err == -EIO || err == -ENOMEM;
}

static bool write_ok(int err, bool writable)
{
	return read_ok(err) || err == -ENOSPC || err == -EFBIG || (!writable && err == -EROFS);
}

/*
 * Bytes the file may have grown by: every cluster an operation touches may take a new data
 * cluster, a new L2 table and a refcount block for each of those (one per allocation at most),
 * and copying an L2 table or the L1 table on a grow as much again; a refcount table that moves
 * takes at most MAX_RT plus its blocks, and each allocation retries at most 8 times.
 * Clusters are at most MAX_CLUSTER bytes.
 */
static uint64_t growth_bound(uint64_t clusters, uint64_t cs)
{
	return 8 * (4 * clusters + 64) * cs + 2 * MAX_RT + 8 * MAX_CLUSTER;
}

/* Run one operation; the clusters it may allocate are added to *clusters. */
static void run_op(struct qcow2 *q, const struct op *o, bool writable, uint64_t cs,
		   uint64_t *clusters)
{
	uint64_t size = qcow2_virtual_size(q), off, n;
	int err;

	if (!size)
		return;
	switch (o->kind % 8) {
	case 0:
	case 1:
		place(o, size, (uint64_t)o->len + 1, &off, &n);
		expect(read_ok(qcow2_read(q, off, fz->buf, n)));
		break;
	case 2:
	case 3:
		place(o, size, (uint64_t)o->len + 1, &off, &n);
		memset(fz->buf, o->kind ^ o->lo, n);
		*clusters += n / cs + 2;
		err = qcow2_write(q, off, fz->buf, n);
		expect(write_ok(err, writable));
		break;
	case 4:
	case 5:
		place(o, size, ((uint64_t)o->len << 2) + 1, &off, &n);
		*clusters += n / cs + 2;
		err = o->kind % 8 == 4 ? qcow2_write_zeroes(q, off, n) : qcow2_discard(q, off, n);
		expect(write_ok(err, writable));
		break;
	case 6:
		expect(write_ok(qcow2_flush(q), writable));
		break;
	default:
		n = (uint64_t)o->len << 9;
		/* a new L1 table, allocated in up to 4 tries */
		*clusters += 4 * (((size + n) / (cs * cs / 8) + 1) * 8 / cs + 2);
		err = qcow2_grow(q, size + n);
		expect(write_ok(err, writable) || (err == -EINVAL && size + n > (1ull << 62)));
		break;
	}
}

/* The header cluster changed only where the engine rewrites header fields. */
static void check_header(size_t len)
{
	static const struct {
		size_t from, to;
	} same[] = { { 0, 24 }, { 32, 36 }, { 60, MAX_HEADER } };
	uint8_t *now = malloc(len);

	if (!now || pread(fz->fd, now, len, 0) != (ssize_t)len)
		abort();
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		size_t to = same[i].to < len ? same[i].to : len;

		if (same[i].from < to)
			expect(!memcmp(now + same[i].from, fz->before + same[i].from,
				       to - same[i].from));
	}
	free(now);
}

/* Reads through a read-only engine: the start and the end of the disk. */
static void read_only_pass(const struct qcow2_open_opts *o)
{
	struct qcow2 *q;
	uint64_t size, n;

	if (qcow2_open(&q, fz->fd, false, o, fz->why, sizeof(fz->why)))
		return;
	size = qcow2_virtual_size(q);
	n = size < MAX_IO ? size : MAX_IO;
	expect(read_ok(qcow2_read(q, 0, fz->buf, n)));
	n = size < 4096 ? size : 4096;
	expect(read_ok(qcow2_read(q, size - n, fz->buf, n)));
	qcow2_close(q);
}

/* The operations through a writable engine (read-only if refused), then the checks. */
static void write_pass(const struct qcow2_open_opts *o, const struct op *ops, uint64_t in_size,
		       uint64_t cs)
{
	bool writable = true;
	uint64_t clusters = 0;
	struct qcow2 *q;

	if (qcow2_open(&q, fz->fd, true, o, fz->why, sizeof(fz->why))) {
		writable = false;
		if (qcow2_open(&q, fz->fd, false, o, fz->why, sizeof(fz->why)))
			return;
	}
	for (int i = 0; i < OPS; i++)
		run_op(q, &ops[i], writable, cs, &clusters);
	expect(write_ok(qcow2_flush(q), writable));
	qcow2_close(q);
	check_header(in_size < cs ? (size_t)in_size : (size_t)cs);
	expect(file_size() <= in_size + growth_bound(clusters, cs));
}

static void remove_dir(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/base.raw", fz->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/b.qcow2", fz->dir);
	unlink(p);
	rmdir(fz->dir);
}

/* The temporary directory with base.raw (a pattern) and b.qcow2 (an overlay of it). */
static void make_dir(void)
{
	char p[128];
	int fd;

	snprintf(fz->dir, sizeof(fz->dir), "/tmp/ember-fuzz-qcow2-XXXXXX");
	if (!mkdtemp(fz->dir))
		abort();
	atexit(remove_dir);
	snprintf(fz->path, sizeof(fz->path), "%s/img.qcow2", fz->dir);
	for (size_t i = 0; i < MAX_IO; i++)
		fz->buf[i] = (uint8_t)(i * 13 + i / 512);
	snprintf(p, sizeof(p), "%s/base.raw", fz->dir);
	fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	for (uint64_t off = 0; fd >= 0 && off < BASE_SIZE; off += MAX_IO)
		if (pwrite(fd, fz->buf, MAX_IO, (off_t)off) != MAX_IO)
			abort();
	if (fd < 0 || close(fd))
		abort();
	snprintf(p, sizeof(p), "%s/b.qcow2", fz->dir);
	fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || qcow2_create_overlay(fd, 2 * BASE_SIZE, "base.raw", "raw") || close(fd))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERR);
	fz = calloc(1, sizeof(*fz));
	if (!fz)
		abort();
	fz->fd = memfd_create("ember-fuzz-qcow2", MFD_CLOEXEC);
	fz->buf = malloc(MAX_IO);
	fz->before = malloc(MAX_HEADER);
	if (fz->fd < 0 || !fz->buf || !fz->before)
		abort();
	make_dir();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qcow2_open_opts o = { .path = fz->path, .no_backing = !backing_allowed(data, size) };
	uint64_t cs = 512, in_size = size;
	struct op ops[OPS];

	parse_ops(data, size, ops);
	if (ops[0].kind & 8)
		in_size += (uint64_t)(ops[0].off & 0xffff) * 512;
	if (ftruncate(fz->fd, 0) || (size && pwrite(fz->fd, data, size, 0) != (ssize_t)size) ||
	    ftruncate(fz->fd, (off_t)in_size))
		abort();
	if (size >= 24 && be(data + 20, 4) >= 9 && be(data + 20, 4) <= 21)
		cs = 1ull << be(data + 20, 4); /* as the header says: for the bounds only */
	memcpy(fz->before, data, size < cs ? size : cs); /* and the padding's zeros: */
	if (size < cs)
		memset(fz->before + size, 0, (in_size < cs ? in_size : cs) - size);
	read_only_pass(&o);
	write_pass(&o, ops, in_size, cs);
	return 0;
}
