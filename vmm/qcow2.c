/*
 * qcow2 images: opening, validation and reads (writes: vmm/qcow2_write.c).
 *
 * The layout, all numbers big-endian, everything in clusters of 2^cluster_bits bytes:
 *   header      cluster 0: magic "QFI\xfb", version (2 or 3), virtual size, where the L1
 *               table and the refcount table are, feature bits; extensions follow it
 *               (backing format, feature names) and the backing file's name.
 *   L1 table    one 8-byte entry per L2 table: host offset of the table (0: none).
 *   L2 table    one cluster of 8-byte cluster descriptors, one per guest cluster:
 *                 bits 9-55 host offset of the data (0: not here, ask the backing file),
 *                 bit 0 (v3) reads as zeros, bit 62 compressed (then the low bits are a
 *                 byte offset and a count of 512-byte sectors of raw deflate data),
 *                 bit 63 "copied": refcount is exactly 1, the cluster may be written in place.
 *   refcounts   a refcount table (contiguous clusters, 8-byte entries) points at refcount
 *               blocks, one cluster each of 2^refcount_order-bit counters, one per host
 *               cluster: how many tables or entries use it (0: free).
 * So a guest offset splits into L1 index | L2 index | offset in cluster.
 */
#include "vmm/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "vmm/iov.h"
#include "vmm/qcow2_impl.h"

#define MAX_CHAIN 16
#define V2_HEADER 72
#define V3_HEADER 104
#define EXT_FEATURE_NAMES 0x6803f857u

enum {
	INCOMPAT_DIRTY = 1u << 0,
	INCOMPAT_CORRUPT = 1u << 1,
	INCOMPAT_DATA_FILE = 1u << 2,
	INCOMPAT_COMPRESSION = 1u << 3,
	INCOMPAT_EXTL2 = 1u << 4,
};

/* The files of a backing chain seen so far, to refuse loops. */
struct chain {
	dev_t dev[MAX_CHAIN + 1];
	ino_t ino[MAX_CHAIN + 1];
	int n;
};

/* What the header says, in host byte order. */
struct hdr {
	uint32_t version, backing_len, cluster_bits, crypt, l1_size, rt_clusters, nb_snapshots;
	uint64_t backing_off, size, l1_off, rt_off, snapshots_off;
	uint64_t incompat, compat, autoclear;
	uint32_t refcount_order, header_len;
	uint8_t compression;
};

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int qcow2_pread(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int qcow2_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int qcow2_check_host(const struct qcow2 *q, uint64_t off, uint64_t len, bool aligned)
{
	uint64_t end;

	if (__builtin_add_overflow(off, len, &end) || end > q->file_size || off < q->cs)
		return -EIO;
	if (aligned && (off & (q->cs - 1)))
		return -EIO;
	if (overlaps(off, len, q->l1_off, (uint64_t)q->l1_size * 8) ||
	    overlaps(off, len, q->rt_off, (uint64_t)q->rt_clusters * q->cs))
		return -EIO;
	return 0;
}

int qcow2_load_l2(struct qcow2 *q, uint64_t off)
{
	int err;

	if (off == q->l2_off)
		return 0;
	err = qcow2_check_host(q, off, q->cs, true);
	if (err)
		return err;
	q->l2_off = 0;
	err = qcow2_pread(q->fd, q->l2, q->cs, off);
	if (err)
		return err;
	q->l2_off = off;
	return 0;
}

int qcow2_lookup(struct qcow2 *q, uint64_t vpos, uint64_t *entry)
{
	uint64_t l1i = vpos >> (q->cluster_bits + q->l2_bits), l1e, off;
	int err;

	*entry = 0;
	if (l1i >= q->l1_size)
		return 0;
	l1e = q->l1[l1i];
	if (l1e & QCOW2_L1_RESERVED)
		return -EIO;
	off = l1e & QCOW2_OFFSET_MASK;
	if (!off)
		return 0;
	err = qcow2_load_l2(q, off);
	if (err)
		return err;
	*entry = be64toh(q->l2[(vpos >> q->cluster_bits) & ((1ull << q->l2_bits) - 1)]);
	return 0;
}

/* Bytes the backing file gives for [vpos, vpos + n): zeros past its end or without one. */
static int read_backing(struct qcow2 *q, uint64_t vpos, uint8_t *buf, size_t n)
{
	size_t have = 0;
	int err = 0;

	if (q->has_backing && vpos < q->bsize)
		have = (size_t)(q->bsize - vpos < n ? q->bsize - vpos : n);
	if (have && q->bq) {
		err = qcow2_read(q->bq, vpos, buf, have);
	} else if (have) {
		/* A raw file may have shrunk since it was opened: zeros past its end. */
		for (size_t done = 0; done < have;) {
			ssize_t r = pread(q->bfd, buf + done, have - done, (off_t)(vpos + done));

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
			if (r == 0) {
				memset(buf + done, 0, have - done);
				break;
			}
			done += (size_t)r;
		}
	}
	memset(buf + have, 0, n - have);
	return err;
}

void qcow2_compressed_span(const struct qcow2 *q, uint64_t e, uint64_t *first, uint64_t *count)
{
	unsigned int x = 62 - (q->cluster_bits - 8);
	uint64_t off = e & ((1ull << x) - 1);
	uint64_t sectors = ((e >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
	uint64_t start = off & ~511ull, end = start + sectors * 512;

	*first = start >> q->cluster_bits;
	*count = ((end - 1) >> q->cluster_bits) - *first + 1;
}

/* zlib: raw deflate data, as QEMU writes it. 0 or -EIO. */
static int unzlib(struct qcow2 *q, size_t csize)
{
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return -ENOMEM;
	z.next_in = q->cbuf;
	z.avail_in = (uInt)csize;
	z.next_out = q->zbuf;
	z.avail_out = (uInt)q->cs;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if ((ret != Z_STREAM_END && ret != Z_BUF_ERROR && ret != Z_OK) || z.avail_out)
		return -EIO;
	return 0;
}

/*
 * zstd: one or more frames that fill the cluster exactly; what follows them
 * up to the sector's end is padding. The decoder's window is capped at the
 * largest cluster, so a frame cannot make it allocate more. 0 or -EIO.
 */
static int unzstd(struct qcow2 *q, size_t csize)
{
	ZSTD_inBuffer in = { q->cbuf, csize, 0 };
	ZSTD_outBuffer out = { q->zbuf, q->cs, 0 };

	if (ZSTD_isError(ZSTD_DCtx_reset(q->zstd, ZSTD_reset_session_only)))
		return -EIO;
	while (out.pos < out.size) {
		size_t before_in = in.pos, before_out = out.pos;
		size_t ret = ZSTD_decompressStream(q->zstd, &out, &in);

		if (ZSTD_isError(ret) || (in.pos == before_in && out.pos == before_out))
			return -EIO; /* corrupt, or the input ran out short of a cluster */
	}
	return 0;
}

/* Inflate the compressed cluster `e` into q->zbuf (kept for the next read of it). */
static int inflate_cluster(struct qcow2 *q, uint64_t e)
{
	unsigned int x = 62 - (q->cluster_bits - 8);
	uint64_t off = e & ((1ull << x) - 1);
	uint64_t sectors = ((e >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
	uint64_t csize = sectors * 512 - (off & 511);
	int err;

	if (q->zbuf_valid && q->zbuf_entry == e)
		return 0;
	q->zbuf_valid = false;
	if (off >= q->file_size)
		return -EIO;
	if (csize > q->file_size - off) /* the last one may end mid-sector */
		csize = q->file_size - off;
	err = qcow2_check_host(q, off, csize, false);
	if (err)
		return err;
	err = qcow2_pread(q->fd, q->cbuf, csize, off);
	if (!err)
		err = q->zstd ? unzstd(q, csize) : unzlib(q, csize);
	if (err)
		return err;
	q->zbuf_entry = e;
	q->zbuf_valid = true;
	return 0;
}

int qcow2_read_entry(struct qcow2 *q, uint64_t e, uint64_t vpos, uint8_t *buf, size_t n)
{
	uint64_t in = vpos & (q->cs - 1), off;
	int err;

	if (e & QCOW2_COMPRESSED) {
		if (e & QCOW2_COPIED)
			return -EIO;
		err = inflate_cluster(q, e);
		if (!err)
			memcpy(buf, q->zbuf + in, n);
		return err;
	}
	if ((e & QCOW2_L2_RESERVED) || ((e & QCOW2_ZERO) && q->version < 3))
		return -EIO;
	off = e & QCOW2_OFFSET_MASK;
	if (e & QCOW2_ZERO) {
		memset(buf, 0, n);
		return 0;
	}
	if (!off)
		return read_backing(q, vpos, buf, n);
	err = qcow2_check_host(q, off, q->cs, true);
	if (err)
		return err;
	return qcow2_pread(q->fd, buf, n, off + in);
}

int qcow2_read(struct qcow2 *q, uint64_t offset, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t end, e;
	int err;

	if (__builtin_add_overflow(offset, len, &end) || end > q->size)
		return -EINVAL;
	while (len) {
		size_t n = (size_t)(q->cs - (offset & (q->cs - 1)));

		if (n > len)
			n = len;
		err = qcow2_lookup(q, offset, &e);
		if (!err)
			err = qcow2_read_entry(q, e, offset, p, n);
		if (err)
			return err;
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}

/*
 * The host offset of the data of cluster entry `e` when it is a plain
 * allocated cluster inside the file (not compressed, not zero, not in the
 * backing file, not malformed), else 0: qcow2_read_entry() handles those.
 */
static uint64_t plain_cluster(const struct qcow2 *q, uint64_t e)
{
	uint64_t off = e & QCOW2_OFFSET_MASK;

	if ((e & (QCOW2_COMPRESSED | QCOW2_L2_RESERVED | QCOW2_ZERO)) || !off ||
	    qcow2_check_host(q, off, q->cs, true))
		return 0;
	return off;
}

#define READV_RUN (4u << 20) /* longest run of clusters read with one preadv */

int qcow2_pv(int fd, bool write, const struct iovec *iov, unsigned int niov, uint64_t pos,
	     uint64_t len, uint64_t host)
{
	struct iovec part[QCOW2_MAX_IOV];
	unsigned int n;

	while (len) {
		ssize_t got;

		iov_slice(iov, niov, pos, len, part, QCOW2_MAX_IOV, &n);
		got = write ? pwritev(fd, part, (int)n, (off_t)host)
			    : preadv(fd, part, (int)n, (off_t)host);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		pos += (uint64_t)got;
		host += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return 0;
}

/*
 * The run of the virtual disk from `v` (at most `max` bytes): *n bytes in
 * the cluster of entry *e, and when that cluster is plain, the clusters
 * after it that follow it in the file too (up to READV_RUN). Returns the
 * run's file offset, or 0 when the cluster is not plain (*n then stays
 * within it). 0 or -errno in *err.
 */
static uint64_t map_run(struct qcow2 *q, uint64_t v, uint64_t max, uint64_t *n, uint64_t *e,
			int *err)
{
	uint64_t in = v & (q->cs - 1), host;

	*n = q->cs - in < max ? q->cs - in : max;
	*err = qcow2_lookup(q, v, e);
	if (*err)
		return 0;
	host = plain_cluster(q, *e);
	if (!host)
		return 0;
	host += in;
	while (*n < max && *n < READV_RUN) {
		uint64_t m = max - *n < q->cs ? max - *n : q->cs, e2;

		if (qcow2_lookup(q, v + *n, &e2) || plain_cluster(q, e2) != host + *n)
			break;
		*n += m;
	}
	return host;
}

int qcow2_map(struct qcow2 *q, uint64_t offset, uint64_t len, uint64_t *host)
{
	uint64_t end, n, e;
	int err;

	*host = 0;
	if (__builtin_add_overflow(offset, len, &end) || end > q->size || !len)
		return -EINVAL;
	*host = map_run(q, offset, len, &n, &e, &err);
	if (err || n < len)
		*host = 0;
	return err;
}

/* Whether cluster entry `e` at `vpos` reads as zeros with no I/O (zero flag, or nothing below). */
static bool zero_entry(const struct qcow2 *q, uint64_t e, uint64_t vpos)
{
	if (e & QCOW2_COMPRESSED)
		return false;
	if (q->version >= 3 && (e & QCOW2_ZERO) && !(e & QCOW2_L2_RESERVED))
		return true;
	return !e && (!q->has_backing || vpos >= q->bsize);
}

/*
 * The L2 entry for `vpos` when no I/O is needed to find it: its table is
 * the cached one, or there is none (the entry is 0). False otherwise.
 */
static bool lookup_cached(const struct qcow2 *q, uint64_t vpos, uint64_t *entry)
{
	uint64_t l1i = vpos >> (q->cluster_bits + q->l2_bits), off;

	*entry = 0;
	if (l1i >= q->l1_size || (q->l1[l1i] & QCOW2_L1_RESERVED))
		return false;
	off = q->l1[l1i] & QCOW2_OFFSET_MASK;
	if (!off)
		return true;
	if (off != q->l2_off)
		return false;
	*entry = be64toh(q->l2[(vpos >> q->cluster_bits) & ((1ull << q->l2_bits) - 1)]);
	return true;
}

int qcow2_map_cached(const struct qcow2 *q, uint64_t offset, uint64_t len, uint64_t *host,
		     bool *zero)
{
	uint64_t end, pos = 0;

	*host = 0;
	*zero = false;
	if (__builtin_add_overflow(offset, len, &end) || end > q->size || !len)
		return -EINVAL;
	if (len > READV_RUN)
		return 0;
	while (pos < len) {
		uint64_t v = offset + pos, in = v & (q->cs - 1), e, h;

		if (!lookup_cached(q, v, &e))
			break;
		h = plain_cluster(q, e);
		if (h && !*zero && (!pos || h + in == *host + pos)) {
			*host = pos ? *host : h + in;
		} else if (!h && !*host && zero_entry(q, e, v) && (!pos || *zero)) {
			*zero = true;
		} else {
			break;
		}
		pos += q->cs - in;
	}
	if (pos < len) {
		*host = 0;
		*zero = false;
	}
	return 0;
}

/* Zeros into bytes [pos, pos + len) of the list, straight (no bounce). */
static void iov_zero(const struct iovec *iov, unsigned int niov, uint64_t pos, uint64_t len)
{
	struct iovec part[QCOW2_MAX_IOV];
	unsigned int n;

	iov_slice(iov, niov, pos, len, part, QCOW2_MAX_IOV, &n);
	for (unsigned int i = 0; i < n; i++)
		memset(part[i].iov_base, 0, part[i].iov_len);
}

int qcow2_readv(struct qcow2 *q, uint64_t offset, const struct iovec *iov, unsigned int niov,
		uint64_t len)
{
	uint64_t end, pos = 0;
	int err = 0;

	if (__builtin_add_overflow(offset, len, &end) || end > q->size || niov > QCOW2_MAX_IOV)
		return -EINVAL;
	while (!err && pos < len) {
		uint64_t v = offset + pos, n, e, host = map_run(q, v, len - pos, &n, &e, &err);

		if (err)
			break;
		if (host) {
			err = qcow2_pv(q->fd, false, iov, niov, pos, n, host);
		} else if (zero_entry(q, e, v)) {
			iov_zero(iov, niov, pos, n);
		} else {
			err = qcow2_read_entry(q, e, v, q->tmp, n);
			if (!err)
				iov_copy(iov, niov, pos, q->tmp, n, true);
		}
		pos += n;
	}
	return err;
}

uint64_t qcow2_virtual_size(const struct qcow2 *q)
{
	return q->size;
}

uint32_t qcow2_cluster_size(const struct qcow2 *q)
{
	return 1u << q->cluster_bits;
}

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

static void parse_header(const uint8_t *b, struct hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->version = get32(b + 4);
	h->backing_off = get64(b + 8);
	h->backing_len = get32(b + 16);
	h->cluster_bits = get32(b + 20);
	h->size = get64(b + 24);
	h->crypt = get32(b + 32);
	h->l1_size = get32(b + 36);
	h->l1_off = get64(b + 40);
	h->rt_off = get64(b + 48);
	h->rt_clusters = get32(b + 56);
	h->nb_snapshots = get32(b + 60);
	h->snapshots_off = get64(b + 64);
	h->refcount_order = 4;
	h->header_len = V2_HEADER;
	if (h->version >= 3) {
		h->incompat = get64(b + 72);
		h->compat = get64(b + 80);
		h->autoclear = get64(b + 88);
		h->refcount_order = get32(b + 96);
		h->header_len = get32(b + 100);
		if (h->header_len > V3_HEADER)
			h->compression = b[104];
	}
}

/* The name the feature table gives incompatible bit `bit`, or "unknown". */
static void feature_name(const uint8_t *c, size_t clen, const struct hdr *h, unsigned int bit,
			 char *name, size_t nlen)
{
	size_t pos = h->header_len;

	snprintf(name, nlen, "unknown");
	while (pos + 8 <= clen) {
		uint32_t type = get32(c + pos), len = get32(c + pos + 4);

		if (type == 0 || len > clen - pos - 8)
			return;
		if (type == EXT_FEATURE_NAMES) {
			for (size_t i = 0; i + 48 <= len; i += 48) {
				const uint8_t *f = c + pos + 8 + i;

				if (f[0] == 0 && f[1] == bit) {
					snprintf(name, nlen, "%.46s", (const char *)f + 2);
					return;
				}
			}
		}
		pos += 8 + ((len + 7ull) & ~7ull);
	}
}

/* The backing format extension ("" when absent); -EINVAL when the extensions are malformed. */
static int parse_extensions(const uint8_t *c, size_t clen, const struct hdr *h, char *fmt,
			    size_t flen, char *why, size_t whylen)
{
	size_t pos = h->header_len;

	fmt[0] = '\0';
	while (pos + 8 <= clen) {
		uint32_t type = get32(c + pos), len = get32(c + pos + 4);

		if (type == 0)
			return 0;
		if (len > clen - pos - 8) {
			say(why, whylen, "header extension 0x%08x at byte %zu runs past the header cluster",
			    type, pos);
			return -EINVAL;
		}
		if (type == QCOW2_EXT_BACKING_FORMAT) {
			if (len >= flen) {
				say(why, whylen, "backing format name too long (%u bytes)", len);
				return -EINVAL;
			}
			memcpy(fmt, c + pos + 8, len);
			fmt[len] = '\0';
		}
		pos += 8 + ((len + 7ull) & ~7ull);
	}
	return 0;
}

/* Header values every open needs: refuse what is malformed or not handled, say why. */
static int validate(const struct hdr *h, uint64_t fsize, bool writable, char *why, size_t whylen)
{
	uint64_t cs = 1ull << (h->cluster_bits & 63), need_l1, rt_bytes;
	unsigned int l2_bits = h->cluster_bits - 3;

	if (h->version != 2 && h->version != 3) {
		say(why, whylen, "qcow2 version %u (this engine reads versions 2 and 3)", h->version);
		return -EOPNOTSUPP;
	}
	if (h->cluster_bits < 9 || h->cluster_bits > 21) {
		say(why, whylen, "cluster_bits %u outside 9..21 (512 bytes to 2 MiB)", h->cluster_bits);
		return -EINVAL;
	}
	if (h->version == 3 && (h->header_len < V3_HEADER || h->header_len % 8 || h->header_len > cs)) {
		say(why, whylen, "header length %u (at least 104, a multiple of 8, within a cluster)",
		    h->header_len);
		return -EINVAL;
	}
	if (h->size > (1ull << 62)) {
		say(why, whylen, "virtual size %llu is too large", (unsigned long long)h->size);
		return -EINVAL;
	}
	need_l1 = (h->size + (cs << l2_bits) - 1) >> (h->cluster_bits + l2_bits);
	if (h->l1_size < need_l1 || (uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		say(why, whylen, "L1 table of %u entries for a %llu-byte disk (needs %llu, at most %u)",
		    h->l1_size, (unsigned long long)h->size, (unsigned long long)need_l1,
		    QCOW2_MAX_L1_BYTES / 8);
		return -EINVAL;
	}
	rt_bytes = (uint64_t)h->rt_clusters * cs;
	if (!h->rt_clusters || rt_bytes > QCOW2_MAX_RT_BYTES) {
		say(why, whylen, "refcount table of %u clusters (1 to %u bytes)", h->rt_clusters,
		    QCOW2_MAX_RT_BYTES);
		return -EINVAL;
	}
	if ((h->l1_off & (cs - 1)) || (h->rt_off & (cs - 1)) || h->l1_off < cs || h->rt_off < cs ||
	    h->l1_off > fsize || h->rt_off > fsize || (uint64_t)h->l1_size * 8 > fsize - h->l1_off ||
	    rt_bytes > fsize - h->rt_off ||
	    overlaps(h->l1_off, (uint64_t)h->l1_size * 8, h->rt_off, rt_bytes)) {
		say(why, whylen,
		    "L1 table at %#llx or refcount table at %#llx is unaligned, in the header, "
		    "past the end of the file (%llu bytes) or overlapping the other",
		    (unsigned long long)h->l1_off, (unsigned long long)h->rt_off,
		    (unsigned long long)fsize);
		return -EINVAL;
	}
	if (h->crypt) {
		say(why, whylen, "encrypted image (crypt_method %u): not supported; decrypt it with "
				 "qemu-img convert", h->crypt);
		return -EOPNOTSUPP;
	}
	if (h->refcount_order > 6) {
		say(why, whylen, "refcount_order %u (at most 6)", h->refcount_order);
		return -EINVAL;
	}
	if (writable && h->refcount_order != 4) {
		say(why, whylen, "refcount_order %u: %u-bit refcounts are read-only here (writes "
				 "need 16-bit ones; qemu-img amend -o refcount_bits=16)",
		    h->refcount_order, 1u << h->refcount_order);
		return -EROFS;
	}
	return 0;
}

/* Incompatible, autoclear and snapshot features: refuse what cannot be handled safely. */
static int check_features(const struct hdr *h, const uint8_t *c, size_t clen, bool writable,
			  char *why, size_t whylen)
{
	uint64_t known = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE |
			 INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;
	char name[48];

	if (h->incompat & ~known) {
		unsigned int bit = (unsigned int)__builtin_ctzll(h->incompat & ~known);

		feature_name(c, clen, h, bit, name, sizeof(name));
		say(why, whylen, "incompatible feature bit %u (%s) is not supported", bit, name);
		return -EOPNOTSUPP;
	}
	if (h->incompat & INCOMPAT_CORRUPT) {
		say(why, whylen, "the image is marked corrupt; repair it with qemu-img check -r all");
		return -EINVAL;
	}
	if (h->incompat & INCOMPAT_DATA_FILE) {
		say(why, whylen, "external data file images are not supported");
		return -EOPNOTSUPP;
	}
	if (h->incompat & INCOMPAT_EXTL2) {
		say(why, whylen, "extended L2 entries (subclusters) are not supported");
		return -EOPNOTSUPP;
	}
	/* The type is 0 (zlib) unless the incompatible bit says otherwise, and then 1 (zstd). */
	if (!!(h->incompat & INCOMPAT_COMPRESSION) != (h->compression != 0) || h->compression > 1) {
		say(why, whylen, "compression type %u is not supported (zlib and zstd are)",
		    h->compression);
		return -EOPNOTSUPP;
	}
	if (writable && (h->incompat & INCOMPAT_DIRTY)) {
		say(why, whylen, "the image is dirty (lazy refcounts not written back): open it "
				 "read-only, or run qemu-img check -r all first");
		return -EROFS;
	}
	if (writable && h->autoclear) {
		say(why, whylen, "autoclear features %#llx (bitmaps or raw data file) would go stale: "
				 "open read-only", (unsigned long long)h->autoclear);
		return -EROFS;
	}
	if (writable && h->nb_snapshots) {
		say(why, whylen, "the image has %u internal snapshots: open it read-only",
		    h->nb_snapshots);
		return -EROFS;
	}
	return 0;
}

static int open_at(struct qcow2 **qp, int fd, bool writable, const char *path, bool no_backing,
		   struct chain *ch, char *why, size_t whylen);

/* The backing path as QEMU resolves it: beside the image unless absolute. */
static int backing_path(int fd, const char *path, const char *name, char *out, size_t olen)
{
	char self[PATH_MAX], link[64];
	const char *slash;
	int n;

	if (name[0] == '/')
		return snprintf(out, olen, "%s", name) < (int)olen ? 0 : -ENAMETOOLONG;
	if (!path) {
		ssize_t r;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		r = readlink(link, self, sizeof(self) - 1);
		if (r < 0)
			return -errno;
		self[r] = '\0';
		path = self;
	}
	slash = strrchr(path, '/');
	if (!slash)
		n = snprintf(out, olen, "%s", name);
	else
		n = snprintf(out, olen, "%.*s/%s", (int)(slash - path), path, name);
	return n < (int)olen ? 0 : -ENAMETOOLONG;
}

/*
 * A name like /proc/self/fd/7 (an overlay made for snapshot=on names its base so) says nothing of
 * the directory the file is in: the base's own relative backing names are resolved beside the
 * file the descriptor is open on instead (QEMU would look in /proc/self/fd/ and fail).
 */
static bool names_fd(const char *name)
{
	return strncmp(name, "/proc/self/fd/", 14) == 0 || strncmp(name, "/dev/fd/", 8) == 0;
}

/* Open the backing file `name` of the image on `fd`, as `fmt` says or probed. */
static int open_backing(struct qcow2 *q, const char *path, const char *name, const char *fmt,
			struct chain *ch, char *why, size_t whylen)
{
	struct flock lk = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	char full[PATH_MAX], sub[256];
	uint8_t magic[4] = { 0 };
	bool is_qcow2;
	int bfd, err;

	if (strncmp(name, "json:", 5) == 0 || (strchr(name, ':') && !strchr(name, '/'))) {
		say(why, whylen, "backing file '%s' is a protocol or json: name, not a file", name);
		return -EOPNOTSUPP;
	}
	err = backing_path(q->fd, path, name, full, sizeof(full));
	if (err) {
		say(why, whylen, "cannot resolve backing file '%s': %s", name, strerror(-err));
		return err;
	}
	bfd = open(full, O_RDONLY | O_CLOEXEC);
	if (bfd < 0) {
		err = -errno;
		say(why, whylen, "cannot open backing file '%s': %s", full, strerror(-err));
		return err;
	}
	if (fcntl(bfd, F_OFD_SETLK, &lk) < 0) {
		say(why, whylen, "backing file '%s' is in use by a writer", full);
		close(bfd);
		return -EBUSY;
	}
	if (fmt[0])
		is_qcow2 = strcmp(fmt, "qcow2") == 0;
	else
		is_qcow2 = pread(bfd, magic, 4, 0) == 4 && get32(magic) == QCOW2_MAGIC;
	if (fmt[0] && !is_qcow2 && strcmp(fmt, "raw") != 0) {
		say(why, whylen, "backing file '%s' has format '%s' (qcow2 and raw only)", full, fmt);
		close(bfd);
		return -EOPNOTSUPP;
	}
	q->has_backing = true;
	if (!is_qcow2) {
		struct stat st;

		if (fstat(bfd, &st) < 0 || !S_ISREG(st.st_mode)) {
			say(why, whylen, "raw backing file '%s' is not a regular file", full);
			close(bfd);
			return -EINVAL;
		}
		for (int i = 0; i < ch->n; i++) {
			if (ch->dev[i] == st.st_dev && ch->ino[i] == st.st_ino) {
				say(why, whylen, "backing chain loops at '%s'", full);
				close(bfd);
				return -ELOOP;
			}
		}
		q->bfd = bfd;
		q->bsize = (uint64_t)st.st_size;
		return 0;
	}
	err = open_at(&q->bq, bfd, false, names_fd(full) ? NULL : full, false, ch, sub, sizeof(sub));
	if (err) {
		say(why, whylen, "backing file '%s': %s", full, sub);
		close(bfd);
		return err;
	}
	q->bq->own_fd = true;
	q->bsize = q->bq->size;
	return 0;
}

static int alloc_buffers(struct qcow2 *q)
{
	q->l2 = malloc(q->cs);
	q->rb = malloc(q->cs);
	q->zbuf = malloc(q->cs);
	q->cbuf = malloc(2 * q->cs);
	q->tmp = malloc(q->cs);
	q->zeros = calloc(1, q->cs);
	q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
	return q->l2 && q->rb && q->zbuf && q->cbuf && q->tmp && q->zeros && q->l1 ? 0 : -ENOMEM;
}

/* Load the L1 table, and for writing the refcount table, into host byte order. */
static int load_tables(struct qcow2 *q)
{
	int err = qcow2_pread(q->fd, q->l1, (size_t)q->l1_size * 8, q->l1_off);

	for (uint32_t i = 0; !err && i < q->l1_size; i++)
		q->l1[i] = be64toh(q->l1[i]);
	if (err || !q->writable)
		return err;
	q->rt = malloc(q->rt_entries * 8);
	if (!q->rt)
		return -ENOMEM;
	err = qcow2_pread(q->fd, q->rt, q->rt_entries * 8, q->rt_off);
	for (uint64_t i = 0; !err && i < q->rt_entries; i++)
		q->rt[i] = be64toh(q->rt[i]);
	return err;
}

static int setup(struct qcow2 *q, const struct hdr *h, char *why, size_t whylen)
{
	int err;

	q->version = h->version;
	q->cluster_bits = h->cluster_bits;
	q->cs = 1ull << h->cluster_bits;
	q->l2_bits = h->cluster_bits - 3;
	q->rb_bits = h->cluster_bits - 1;
	q->size = h->size;
	q->l1_off = h->l1_off;
	q->l1_size = h->l1_size;
	q->rt_off = h->rt_off;
	q->rt_clusters = h->rt_clusters;
	q->rt_entries = (uint64_t)h->rt_clusters * q->cs / 8;
	q->free_lo = (q->file_size + q->cs - 1) >> q->cluster_bits;
	err = alloc_buffers(q);
	if (!err && h->compression == 1) {
		/* A cluster is at most 2 MiB: no frame needs a longer window. */
		q->zstd = ZSTD_createDCtx();
		if (!q->zstd || ZSTD_isError(ZSTD_DCtx_setParameter(q->zstd, ZSTD_d_windowLogMax, 21)))
			err = -ENOMEM;
	}
	if (!err)
		err = load_tables(q);
	if (err)
		say(why, whylen, "cannot load the L1 or refcount table: %s", strerror(-err));
	return err;
}

/*
 * Read and validate the header: *c holds the header cluster, or the whole file when it is
 * shorter (*clen bytes; at least 512 allocated, as parse_header() reads up to byte 104).
 * The first sector comes first, so that a file is never read further than its cluster.
 */
static int read_header(int fd, uint64_t fsize, bool writable, struct hdr *h, uint8_t **c,
		       size_t *clen, char *why, size_t whylen)
{
	uint8_t *b = calloc(1, 512), *more;
	size_t n = fsize < 512 ? (size_t)fsize : 512;
	int err;

	*c = NULL;
	if (!b)
		return -ENOMEM;
	if (n < V2_HEADER || qcow2_pread(fd, b, n, 0) || get32(b) != QCOW2_MAGIC) {
		say(why, whylen, "not a qcow2 image (no QFI\\xfb magic)");
		err = -EINVAL;
		goto err_b;
	}
	parse_header(b, h);
	err = validate(h, fsize, writable, why, whylen);
	if (err)
		goto err_b;
	n = fsize < (1ull << h->cluster_bits) ? (size_t)fsize : (size_t)1 << h->cluster_bits;
	if (n > 512) {
		more = realloc(b, n);
		if (!more) {
			err = -ENOMEM;
			goto err_b;
		}
		b = more;
		err = qcow2_pread(fd, b + 512, n - 512, 512);
		if (err) {
			say(why, whylen, "cannot read the header cluster: %s", strerror(-err));
			goto err_b;
		}
	}
	*c = b;
	*clen = n;
	return 0;

err_b:
	free(b);
	return err;
}

static int open_at(struct qcow2 **qp, int fd, bool writable, const char *path, bool no_backing,
		   struct chain *ch, char *why, size_t whylen)
{
	uint8_t *c = NULL;
	char fmt[32], name[1024];
	struct qcow2 *q;
	struct stat st;
	struct hdr h;
	off_t fsize;
	size_t clen;
	int err;

	*qp = NULL;
	if (fstat(fd, &st) < 0 || (fsize = lseek(fd, 0, SEEK_END)) < 0) {
		err = -errno;
		say(why, whylen, "cannot stat the image: %s", strerror(-err));
		return err;
	}
	for (int i = 0; i < ch->n; i++) {
		if (ch->dev[i] == st.st_dev && ch->ino[i] == st.st_ino) {
			say(why, whylen, "backing chain loops (a file is its own backing file)");
			return -ELOOP;
		}
	}
	if (ch->n > MAX_CHAIN) {
		say(why, whylen, "backing chain deeper than %d files", MAX_CHAIN);
		return -ELOOP;
	}
	ch->dev[ch->n] = st.st_dev;
	ch->ino[ch->n++] = st.st_ino;
	err = read_header(fd, (uint64_t)fsize, writable, &h, &c, &clen, why, whylen);
	if (err)
		return err;
	if (h.header_len > clen) {
		say(why, whylen, "the file ends inside the header");
		err = -EINVAL;
		goto err_c;
	}
	err = check_features(&h, c, clen, writable, why, whylen);
	if (!err)
		err = parse_extensions(c, clen, &h, fmt, sizeof(fmt), why, whylen);
	if (err)
		goto err_c;
	name[0] = '\0';
	if (h.backing_off) {
		if (!h.backing_len || h.backing_len > 1023 || h.backing_off >= clen ||
		    h.backing_len > clen - h.backing_off) {
			say(why, whylen, "backing file name (%u bytes at %#llx) outside the header cluster",
			    h.backing_len, (unsigned long long)h.backing_off);
			err = -EINVAL;
			goto err_c;
		}
		memcpy(name, c + h.backing_off, h.backing_len);
		name[h.backing_len] = '\0';
		if (strlen(name) != h.backing_len) {
			say(why, whylen, "backing file name contains a NUL byte");
			err = -EINVAL;
			goto err_c;
		}
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		err = -ENOMEM;
		goto err_c;
	}
	q->fd = fd;
	q->bfd = -1;
	q->writable = writable;
	q->file_size = (uint64_t)fsize;
	err = setup(q, &h, why, whylen);
	if (!err && name[0] && !no_backing)
		err = open_backing(q, path, name, fmt, ch, why, whylen);
	if (err) {
		qcow2_close(q);
		goto err_c;
	}
	free(c);
	*qp = q;
	return 0;

err_c:
	free(c);
	return err;
}

int qcow2_open(struct qcow2 **q, int fd, bool writable, const struct qcow2_open_opts *o,
	       char *why, size_t whylen)
{
	struct chain ch = { .n = 0 };

	say(why, whylen, "ok");
	return open_at(q, fd, writable, o ? o->path : NULL, o ? o->no_backing : false, &ch, why,
		       whylen);
}

void qcow2_close(struct qcow2 *q)
{
	if (!q)
		return;
	if (q->resv_first < q->resv_runs && qcow2_release_reserved(q)) {
		/* Not fatal: the clusters stay leaked, which qemu-img check -r leaks reclaims. */
	}
	qcow2_close(q->bq);
	if (q->bfd >= 0)
		close(q->bfd);
	if (q->own_fd)
		close(q->fd);
	free(q->l1);
	free(q->rt);
	free(q->l2);
	free(q->rb);
	free(q->zbuf);
	free(q->cbuf);
	ZSTD_freeDCtx(q->zstd);
	free(q->tmp);
	free(q->zeros);
	free(q);
}
