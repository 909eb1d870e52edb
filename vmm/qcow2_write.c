/*
 * qcow2 images: writes, cluster allocation and refcounts (layout: vmm/qcow2.c).
 *
 * Crash safety comes from the order of the writes, with an fdatasync (a
 * barrier) wherever a later write must not reach the disk before an earlier one:
 *   - a cluster's refcount is raised before any table points at it;
 *   - a new table (L2, refcount block, refcount or L1 table) is written before
 *     what points at it (L1 entry, refcount table entry, header);
 *   - a pointer is removed before the refcount of what it pointed at drops.
 * A crash between two steps therefore leaves clusters with a refcount and no
 * user (leaks, which qemu-img check -r leaks reclaims), never a table pointing
 * at a free cluster. Guest data is written before the L2 entry that maps it;
 * it is durable after qcow2_flush(). Only 16-bit refcounts are written.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/iov.h"
#include "vmm/qcow2.h"
#include "vmm/qcow2_impl.h"

#define BATCH 32 /* clusters allocated before one barrier */

static int barrier(struct qcow2 *q)
{
	if (!q->unsynced)
		return 0;
	if (fdatasync(q->fd) < 0)
		return -errno;
	q->unsynced = false;
	return 0;
}

/* Load the refcount block for host cluster `idx`; *slot is its index there, NULL block: none. */
static int rb_load(struct qcow2 *q, uint64_t idx, bool *present, uint64_t *slot)
{
	uint64_t r = idx >> q->rb_bits, off;
	int err;

	*slot = idx & ((1ull << q->rb_bits) - 1);
	*present = r < q->rt_entries && q->rt[r];
	if (!*present)
		return 0;
	if (q->rt[r] & QCOW2_RT_RESERVED)
		return -EIO;
	off = q->rt[r];
	if (off == q->rb_off)
		return 0;
	err = qcow2_check_host(q, off, q->cs, true);
	if (err)
		return err;
	q->rb_off = 0;
	err = qcow2_pread(q->fd, q->rb, q->cs, off);
	if (!err)
		q->rb_off = off;
	return err;
}

static int rc_get(struct qcow2 *q, uint64_t idx, uint16_t *v)
{
	uint64_t slot;
	bool present;
	int err = rb_load(q, idx, &present, &slot);

	*v = !err && present ? be16toh(q->rb[slot]) : 0;
	return err;
}

/*
 * Add `delta` (+1 or -1) to the refcounts of the `n` host clusters from
 * `idx`, all counted by one refcount block, which must exist: checked
 * first, then one write of the entries.
 */
static int rc_add_run(struct qcow2 *q, uint64_t idx, uint64_t n, int delta)
{
	uint64_t slot;
	bool present;
	int err = rb_load(q, idx, &present, &slot);

	if (err)
		return err;
	if (!present || slot + n > (1ull << q->rb_bits))
		return -EIO;
	for (uint64_t i = slot; i < slot + n; i++) {
		uint16_t v = be16toh(q->rb[i]);

		if ((delta < 0 && v == 0) || (delta > 0 && v == UINT16_MAX))
			return -EIO;
	}
	for (uint64_t i = slot; i < slot + n; i++)
		q->rb[i] = htobe16((uint16_t)(be16toh(q->rb[i]) + delta));
	q->unsynced = true;
	err = qcow2_pwrite(q->fd, &q->rb[slot], n * 2, q->rb_off + slot * 2);
	if (err || delta > 0)
		return err;
	for (uint64_t i = 0; i < n; i++) {
		if (q->rb[slot + i])
			continue;
		if (idx + i < q->free_lo)
			q->free_lo = idx + i;
		if ((idx + i) << q->cluster_bits == q->l2_off)
			q->l2_off = 0;
		q->zbuf_valid = false;
	}
	return 0;
}

static int rc_add(struct qcow2 *q, uint64_t idx, int delta)
{
	return rc_add_run(q, idx, 1, delta);
}

/* Host clusters the header, the L1 table and the refcount table occupy: never allocated. */
static bool reserved(const struct qcow2 *q, uint64_t idx)
{
	uint64_t off = idx << q->cluster_bits;

	return idx == 0 || (off < q->l1_off + (uint64_t)q->l1_size * 8 && q->l1_off < off + q->cs) ||
	       (off < q->rt_off + (uint64_t)q->rt_clusters * q->cs && q->rt_off < off + q->cs);
}

static int extend(struct qcow2 *q, uint64_t end)
{
	if (end <= q->file_size)
		return 0;
	if (ftruncate(q->fd, (off_t)end) < 0)
		return -errno;
	q->file_size = end;
	q->unsynced = true;
	return 0;
}

/* Write an 8-byte big-endian value at `off` (a table entry or header field). */
static int put64(struct qcow2 *q, uint64_t off, uint64_t v)
{
	uint64_t be = htobe64(v);

	q->unsynced = true;
	return qcow2_pwrite(q->fd, &be, 8, off);
}

/* A refcount block at free cluster `idx` that counts itself, entered in the table. */
static int new_refblock(struct qcow2 *q, uint64_t idx)
{
	uint64_t r = idx >> q->rb_bits, off = idx << q->cluster_bits;
	int err;

	q->rb_off = 0;
	memset(q->rb, 0, q->cs);
	q->rb[idx & ((1ull << q->rb_bits) - 1)] = htobe16(1);
	err = qcow2_pwrite(q->fd, q->rb, q->cs, off);
	if (err)
		return err;
	if (off + q->cs > q->file_size)
		q->file_size = off + q->cs;
	q->unsynced = true;
	err = barrier(q);
	if (!err)
		err = put64(q, q->rt_off + r * 8, off);
	if (err)
		return err;
	q->rt[r] = off;
	q->rb_off = off;
	return 0;
}

static int grow_rt(struct qcow2 *q);

/* Find a free host cluster (refcount 0, else at the end of the file) and give it refcount 1. */
static int alloc_cluster(struct qcow2 *q, uint64_t *off)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t end = (q->file_size + q->cs - 1) >> q->cluster_bits, idx = q->free_lo;
		uint16_t v = 1;
		int err = 0;

		for (; idx < end; idx++) {
			err = rc_get(q, idx, &v);
			if (err)
				return err;
			if (!v && !reserved(q, idx))
				break;
		}
		if (idx >= end)
			idx = end;
		q->free_lo = idx;
		if ((idx >> q->rb_bits) >= q->rt_entries)
			err = grow_rt(q);
		else if (!q->rt[idx >> q->rb_bits])
			err = new_refblock(q, idx);
		else {
			err = extend(q, (idx + 1) << q->cluster_bits);
			if (!err)
				err = rc_add(q, idx, 1);
			if (!err) {
				q->free_lo = idx + 1;
				*off = idx << q->cluster_bits;
				return 0;
			}
		}
		if (err)
			return err;
	}
	return -EIO;
}

/* Size the new refcount table at cluster `at`: *nt table clusters then *nb new blocks. */
static void size_rt(const struct qcow2 *q, uint64_t at, uint64_t *nt, uint64_t *nb)
{
	uint64_t per = q->cs / 8;

	*nt = (q->rt_entries * 2 + per - 1) / per;
	*nb = 0;
	for (int i = 0; i < 16; i++) {
		uint64_t last = at + *nt + *nb - 1, entries = (last >> q->rb_bits) + 1, t, b = 0;

		if (entries < q->rt_entries * 2)
			entries = q->rt_entries * 2;
		t = (entries + per - 1) / per;
		for (uint64_t r = at >> q->rb_bits; r <= last >> q->rb_bits; r++)
			b += r >= q->rt_entries || !q->rt[r];
		if (t == *nt && b == *nb)
			return;
		*nt = t;
		*nb = b;
	}
}

/*
 * Move the refcount table to a larger one at the end of the file, with new refcount blocks
 * for the clusters it and they occupy, then switch the header to it and free the old one.
 */
static int grow_rt(struct qcow2 *q)
{
	uint64_t at = (q->file_size + q->cs - 1) >> q->cluster_bits, nt, nb, n, old_off;
	uint64_t *rt, *rtbe, old_clusters, last, j = 0;
	uint8_t hdr[12];
	int err;

	size_rt(q, at, &nt, &nb);
	n = nt * q->cs / 8;
	last = at + nt + nb;
	if (nt * q->cs > QCOW2_MAX_RT_BYTES)
		return -ENOSPC;
	rt = calloc(n, 8);
	rtbe = calloc(n, 8);
	if (!rt || !rtbe) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(rt, q->rt, q->rt_entries * 8);
	err = extend(q, last << q->cluster_bits);
	for (uint64_t r = at >> q->rb_bits; !err && r <= (last - 1) >> q->rb_bits; r++) {
		if (r < q->rt_entries && q->rt[r])
			continue;
		rt[r] = (at + nt + j++) << q->cluster_bits;
		memset(q->tmp, 0, q->cs);
		for (uint64_t c = at; c < last; c++)
			if (c >> q->rb_bits == r)
				((uint16_t *)q->tmp)[c & ((1ull << q->rb_bits) - 1)] = htobe16(1);
		err = qcow2_pwrite(q->fd, q->tmp, q->cs, rt[r]);
	}
	for (uint64_t c = at; !err && c < last; c++) /* clusters in ranges that had a block */
		if ((c >> q->rb_bits) < q->rt_entries && q->rt[c >> q->rb_bits])
			err = rc_add(q, c, 1);
	for (uint64_t i = 0; i < n; i++)
		rtbe[i] = htobe64(rt[i]);
	if (!err)
		err = qcow2_pwrite(q->fd, rtbe, n * 8, at << q->cluster_bits);
	q->unsynced = true;
	if (!err)
		err = barrier(q);
	if (err)
		goto out;
	old_off = q->rt_off;
	old_clusters = q->rt_clusters;
	memcpy(hdr, &(uint64_t){ htobe64(at << q->cluster_bits) }, 8);
	memcpy(hdr + 8, &(uint32_t){ htobe32((uint32_t)nt) }, 4);
	q->unsynced = true;
	err = qcow2_pwrite(q->fd, hdr, sizeof(hdr), QCOW2_HDR_RT_OFFSET);
	if (!err)
		err = barrier(q);
	if (err)
		goto out;
	free(q->rt);
	q->rt = rt;
	rt = NULL;
	q->rt_entries = n;
	q->rt_off = at << q->cluster_bits;
	q->rt_clusters = (uint32_t)nt;
	for (uint64_t i = 0; !err && i < old_clusters; i++)
		err = rc_add(q, (old_off >> q->cluster_bits) + i, -1);
out:
	free(rt);
	free(rtbe);
	return err;
}

/* Add cluster run [off, off + n clusters) to the reserve; `fresh`: past the old end of the file. */
static void resv_push(struct qcow2 *q, uint64_t off, uint64_t n, bool fresh)
{
	unsigned int last = q->resv_runs - 1;

	if (q->resv_runs > q->resv_first && (q->resv[last].off & 1) == fresh &&
	    (q->resv[last].off & ~1ull) + (q->resv[last].n << q->cluster_bits) == off) {
		q->resv[last].n += n;
		return;
	}
	q->resv[q->resv_runs].off = off | fresh;
	q->resv[q->resv_runs].n = n;
	q->resv_runs++;
}

/*
 * Reserve up to `want` clusters past the end of the file in one go: the
 * file grows once and each refcount block concerned is written once (not a
 * growth and a refcount write per cluster). Only while no cluster inside
 * the file may be free (free_lo), and as far as refcount blocks exist and
 * count 0 there: *got may be 0, and alloc_cluster() takes one the slow way.
 */
static int reserve_tail(struct qcow2 *q, uint64_t want, uint64_t *got)
{
	uint64_t first = (q->file_size + q->cs - 1) >> q->cluster_bits, n = 0;
	int err = 0;

	*got = 0;
	if (q->free_lo < first)
		return 0;
	while (!err && n < want) {
		uint64_t idx = first + n, r = idx >> q->rb_bits, slot, k = 0, room;
		bool present;

		if (r >= q->rt_entries || !q->rt[r])
			break;
		err = rb_load(q, idx, &present, &slot);
		if (err || !present)
			break;
		room = (1ull << q->rb_bits) - slot;
		while (k < room && n + k < want && !q->rb[slot + k])
			k++;
		if (!k)
			break;
		err = extend(q, (idx + k) << q->cluster_bits);
		if (!err)
			err = rc_add_run(q, idx, k, 1);
		if (!err)
			n += k;
		if (k < room && n < want)
			break; /* a cluster past the end already counted: malformed, left alone */
	}
	if (n) {
		resv_push(q, first << q->cluster_bits, n, true);
		q->free_lo = first + n;
	}
	*got = n;
	return err;
}

/*
 * Fill the reserve: one reservation (at the end of the file where possible,
 * else a cluster at a time), synced once. The first takes 8 MiB worth of
 * clusters (4 to QCOW2_RESERVE_FIRST); each next one twice as many, up to
 * QCOW2_RESERVE_MOST bytes: an image being filled sequentially with 64 KiB
 * clusters makes a barrier after 4, 12, 28, 60 MiB, then every 64 MiB, not
 * every 4. A reservation is never larger than what the ones before it
 * handed out (plus the first), so a crash leaks at most about as many
 * clusters as were written since the image was opened, never written
 * themselves (sparse), and a clean close gives them back.
 */
static int refill(struct qcow2 *q)
{
	uint64_t want, got = 0;
	int err = 0;

	if (!q->resv_want) {
		q->resv_want = (8u << 20) >> q->cluster_bits;
		if (q->resv_want > QCOW2_RESERVE_FIRST)
			q->resv_want = QCOW2_RESERVE_FIRST;
		if (q->resv_want < 4)
			q->resv_want = 4;
	}
	want = q->resv_want;
	q->resv_first = q->resv_runs = 0;
	while (!err && got < want && q->resv_runs < QCOW2_RESERVE_RUNS) {
		uint64_t n, end = q->file_size, off;

		err = reserve_tail(q, want - got, &n);
		if (!err && !n) {
			err = alloc_cluster(q, &off);
			if (!err)
				resv_push(q, off, 1, off >= end);
			n = !err;
		}
		got += n;
	}
	if (got) {
		int synced = barrier(q);

		if (synced) { /* not known durable: never handed out (leaked, not reused) */
			q->resv_first = q->resv_runs = 0;
			return synced;
		}
	}
	if (q->resv_want << q->cluster_bits < QCOW2_RESERVE_MOST)
		q->resv_want *= 2;
	return got ? 0 : err; /* after a partial reservation, its clusters serve first */
}

/*
 * A data cluster for an allocating write: one of the reserved ones, whose
 * refcounts went to the file and were synced together, so the write needs
 * no barrier between refcount and L2 entry of its own. A crash leaks the
 * reserved clusters not used yet (qemu-img check -r leaks reclaims them); a
 * clean close gives them back (qcow2_release_reserved()). *fresh: the
 * cluster lies past what the file held, so it reads as zeros already.
 */
static int take_cluster(struct qcow2 *q, uint64_t *off, bool *fresh)
{
	int err = q->resv_first < q->resv_runs ? 0 : refill(q);

	if (err)
		return err;
	*off = q->resv[q->resv_first].off & ~1ull;
	*fresh = q->resv[q->resv_first].off & 1;
	q->resv[q->resv_first].off += q->cs;
	if (!--q->resv[q->resv_first].n)
		q->resv_first++;
	return 0;
}

/* Does this L2 entry read as zeros (so a new cluster that holds zeros needs no copy)? */
static bool reads_zero(const struct qcow2 *q, uint64_t e)
{
	return (!(e & QCOW2_COMPRESSED) && (e & QCOW2_ZERO)) || (!e && !q->has_backing);
}

/* Give back the clusters of reserve run `k`, a refcount block's share at a time. */
static int release_run(struct qcow2 *q, unsigned int k)
{
	uint64_t idx = q->resv[k].off >> q->cluster_bits, n = q->resv[k].n;
	int err = 0;

	while (!err && n) {
		uint64_t room = (1ull << q->rb_bits) - (idx & ((1ull << q->rb_bits) - 1));
		uint64_t m = n < room ? n : room;

		err = rc_add_run(q, idx, m, -1);
		idx += m;
		n -= m;
	}
	return err;
}

/* Clusters at the end of the file that nothing uses go (what the reserve took, mostly). */
static int trim_tail(struct qcow2 *q)
{
	uint64_t end = (q->file_size + q->cs - 1) >> q->cluster_bits, top = end;
	uint16_t v = 0;
	int err = 0;

	while (!err && end > q->free_lo && !reserved(q, end - 1)) {
		err = rc_get(q, end - 1, &v);
		if (err || v)
			break;
		end--;
	}
	if (err || end == top)
		return err;
	if (ftruncate(q->fd, (off_t)(end << q->cluster_bits)) < 0)
		return -errno;
	q->file_size = end << q->cluster_bits;
	q->unsynced = true;
	return 0;
}

int qcow2_release_reserved(struct qcow2 *q)
{
	int err = 0;

	if (!q->writable)
		return 0;
	while (!err && q->resv_first < q->resv_runs) {
		err = release_run(q, q->resv_first);
		if (!err)
			q->resv_first++;
	}
	if (!err)
		err = trim_tail(q);
	if (!err)
		err = barrier(q);
	return err;
}

/* Drop the references an L2 entry held (after the entry itself is gone and synced). */
static int free_entry(struct qcow2 *q, uint64_t e)
{
	uint64_t first, count;
	int err = 0;

	if (e & QCOW2_COMPRESSED) {
		qcow2_compressed_span(q, e, &first, &count);
		for (uint64_t i = 0; !err && i < count; i++)
			err = rc_add(q, first + i, -1);
		return err;
	}
	if (e & QCOW2_OFFSET_MASK)
		return rc_add(q, (e & QCOW2_OFFSET_MASK) >> q->cluster_bits, -1);
	return 0;
}

/* Make the L2 table for L1 index `l1i` writable in place (allocated, refcount 1) and cached. */
static int ensure_l2(struct qcow2 *q, uint64_t l1i)
{
	uint64_t l1e = q->l1[l1i], old = l1e & QCOW2_OFFSET_MASK, off;
	int err;

	if (l1e & ~(QCOW2_OFFSET_MASK | QCOW2_COPIED))
		return -EIO;
	if (old && (l1e & QCOW2_COPIED))
		return qcow2_load_l2(q, old);
	if (old) {
		err = qcow2_load_l2(q, old);
		if (err)
			return err;
	}
	err = alloc_cluster(q, &off);
	if (err)
		return err;
	if (!old)
		memset(q->l2, 0, q->cs);
	q->l2_off = 0;
	q->unsynced = true;
	err = qcow2_pwrite(q->fd, q->l2, q->cs, off);
	if (!err)
		err = barrier(q);
	if (!err)
		err = put64(q, q->l1_off + l1i * 8, off | QCOW2_COPIED);
	if (err)
		return err;
	q->l1[l1i] = off | QCOW2_COPIED;
	q->l2_off = off;
	if (!old)
		return 0;
	err = barrier(q);
	return err ? err : rc_add(q, old >> q->cluster_bits, -1);
}

/* May this entry's cluster be overwritten in place? */
static bool in_place(uint64_t e)
{
	return (e & QCOW2_COPIED) && !(e & (QCOW2_COMPRESSED | QCOW2_ZERO)) &&
	       (e & QCOW2_OFFSET_MASK);
}

/*
 * Bytes of the list to write to the file, gathered while they follow one
 * another there, so that a run of clusters goes in one pwritev() (a 1 MiB
 * write into new clusters: one system call, not sixteen).
 */
struct gather {
	const struct iovec *iov;
	unsigned int niov;
	uint64_t pos, len, host; /* bytes [pos, pos + len) of the list, for the file at `host` */
};

static int gather_flush(struct qcow2 *q, struct gather *g)
{
	int err = g->len ? qcow2_pv(q->fd, true, g->iov, g->niov, g->pos, g->len, g->host) : 0;

	g->len = 0;
	return err;
}

/* Bytes [pos, pos + n) of the list go to the file at `host`. */
static int gather_add(struct qcow2 *q, struct gather *g, uint64_t pos, uint64_t n, uint64_t host)
{
	int err = 0;

	if (g->len && (g->pos + g->len != pos || g->host + g->len != host))
		err = gather_flush(q, g);
	if (!g->len) {
		g->pos = pos;
		g->host = host;
	}
	g->len += n;
	return err;
}

/* The data of clusters [0, k) of a batch: in place, into new clusters, or copied on write. */
static int write_data(struct qcow2 *q, uint64_t vpos, struct gather *g, uint64_t len,
		      const uint64_t *old, const uint64_t *new, const bool *fresh, size_t k)
{
	uint64_t done = 0, start = g->pos;
	int err = 0;

	g->len = 0;
	for (size_t i = 0; !err && i < k; i++) {
		uint64_t v = vpos + done, in = v & (q->cs - 1), host;
		uint64_t n = q->cs - in < len - done ? q->cs - in : len - done;

		if (!new[i]) {
			host = old[i] & QCOW2_OFFSET_MASK;
			err = qcow2_check_host(q, host, q->cs, true);
			if (!err)
				err = gather_add(q, g, start + done, n, host + in);
		} else if (n == q->cs || (fresh[i] && reads_zero(q, old[i]))) {
			/* Whole, or the rest is zeros on both sides: only the new bytes. */
			err = gather_add(q, g, start + done, n, new[i] + in);
		} else { /* copy on write: the old contents around the new bytes */
			err = gather_flush(q, g);
			if (!err)
				err = qcow2_read_entry(q, old[i], v - in, q->tmp, q->cs);
			iov_copy(g->iov, g->niov, start + done, q->tmp + in, n, false);
			if (!err)
				err = qcow2_pwrite(q->fd, q->tmp, q->cs, new[i]);
		}
		done += n;
	}
	return err ? err : gather_flush(q, g);
}

/* Write bytes [g->pos, g->pos + len) of g's list at `vpos`: in one L2 table, BATCH clusters
 * at most. */
static int write_batch(struct qcow2 *q, uint64_t vpos, struct gather *g, uint64_t len)
{
	uint64_t old[BATCH], new[BATCH], first = (vpos >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	bool fresh[BATCH];
	size_t k = (size_t)((((vpos & (q->cs - 1)) + len - 1) >> q->cluster_bits) + 1);
	bool any = false, frees = false;
	int err;

	err = ensure_l2(q, vpos >> (q->cluster_bits + q->l2_bits));
	for (size_t i = 0; !err && i < k; i++) {
		old[i] = be64toh(q->l2[first + i]);
		new[i] = 0;
		fresh[i] = false;
		if (!in_place(old[i])) {
			err = take_cluster(q, &new[i], &fresh[i]);
			any = true;
			frees |= (old[i] & (QCOW2_COMPRESSED | QCOW2_OFFSET_MASK)) != 0;
		}
	}
	if (!err)
		err = write_data(q, vpos, g, len, old, new, fresh, k);
	if (err || !any)
		return err;
	if (!q->l2_off)
		return -EIO;
	/* ensure_l2() left the table cached; COW reads do not evict it (backing is another engine) */
	for (size_t i = 0; i < k; i++)
		if (new[i])
			q->l2[first + i] = htobe64(new[i] | QCOW2_COPIED);
	q->unsynced = true;
	err = qcow2_pwrite(q->fd, q->l2 + first, k * 8, q->l2_off + first * 8);
	if (err || !frees)
		return err; /* the next barrier (a reservation, a FLUSH) takes the entries along */
	/* The old clusters lose a reference only once no entry points at them on disk. */
	err = barrier(q);
	for (size_t i = 0; !err && i < k; i++)
		if (new[i])
			err = free_entry(q, old[i]);
	return err;
}

/* write_batch() of `n` bytes from a flat buffer (zeros). */
static int write_flat(struct qcow2 *q, uint64_t vpos, const void *buf, uint64_t n)
{
	struct iovec v = { (void *)buf, n };
	struct gather g = { .iov = &v, .niov = 1 };

	return write_batch(q, vpos, &g, n);
}

static int check_range(const struct qcow2 *q, uint64_t offset, uint64_t len)
{
	uint64_t end;

	if (!q->writable)
		return -EROFS;
	if (__builtin_add_overflow(offset, len, &end) || end > q->size)
		return -EINVAL;
	return 0;
}

int qcow2_writev(struct qcow2 *q, uint64_t offset, const struct iovec *iov, unsigned int niov,
		 uint64_t len)
{
	struct gather g = { .iov = iov, .niov = niov };
	uint64_t pos = 0;
	int err = check_range(q, offset, len);

	if (!err && niov > QCOW2_MAX_IOV)
		err = -EINVAL;
	while (!err && pos < len) {
		uint64_t table = q->cs << q->l2_bits, v = offset + pos;
		uint64_t n = table - (v & (table - 1)), cap = BATCH * q->cs - (v & (q->cs - 1));

		if (n > cap)
			n = cap;
		if (n > len - pos)
			n = len - pos;
		g.pos = pos;
		err = write_batch(q, v, &g, n);
		pos += n;
	}
	return err;
}

int qcow2_write(struct qcow2 *q, uint64_t offset, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	return qcow2_writev(q, offset, &v, 1, len);
}

int qcow2_flush(struct qcow2 *q)
{
	if (!q->writable)
		return 0;
	q->unsynced = true;
	return barrier(q);
}

/* Make the whole cluster at `vpos` read as zeros by its L2 entry, freeing its host cluster. */
static int zero_cluster(struct qcow2 *q, uint64_t vpos)
{
	uint64_t l1i = vpos >> (q->cluster_bits + q->l2_bits), e, ne, slot;
	int err;

	if (!(q->l1[l1i] & QCOW2_OFFSET_MASK) && !q->has_backing)
		return 0; /* already zeros */
	if (q->version < 3 && q->has_backing) { /* no zero flag: write zeros */
		return write_flat(q, vpos, q->zeros, q->cs);
	}
	err = ensure_l2(q, l1i);
	if (err)
		return err;
	slot = (vpos >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	e = be64toh(q->l2[slot]);
	ne = q->version >= 3 ? QCOW2_ZERO : 0;
	if (e == ne || (e == 0 && !q->has_backing))
		return 0;
	q->l2[slot] = htobe64(ne);
	err = put64(q, q->l2_off + slot * 8, ne);
	if (!err)
		err = barrier(q);
	return err ? err : free_entry(q, e);
}

static int zero_range(struct qcow2 *q, uint64_t offset, uint64_t len, bool discard)
{
	int err = check_range(q, offset, len);

	while (!err && len) {
		uint64_t in = offset & (q->cs - 1), n = q->cs - in;

		if (n > len)
			n = len;
		if (!in && (n == q->cs || offset + n == q->size)) { /* a whole cluster, or the disk's tail */
			err = zero_cluster(q, offset);
		} else if (!discard) {
			err = write_flat(q, offset, q->zeros, n);
		}
		offset += n;
		len -= n;
	}
	return err;
}

int qcow2_write_zeroes(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	return zero_range(q, offset, len, false);
}

int qcow2_discard(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	return zero_range(q, offset, len, true);
}

/* Allocate `n` contiguous free clusters (retrying past refcount blocks that land between). */
static int alloc_run(struct qcow2 *q, uint64_t n, uint64_t *off)
{
	for (int tries = 0; tries < 4; tries++) {
		uint64_t first = 0, got = 0, o;
		int err = 0;

		q->free_lo = (q->file_size + q->cs - 1) >> q->cluster_bits;
		while (!err && got < n) {
			err = alloc_cluster(q, &o);
			if (err)
				break;
			if (got && o != first + got * q->cs) { /* not contiguous: give back, retry */
				err = rc_add(q, o >> q->cluster_bits, -1);
				for (uint64_t i = 0; !err && i < got; i++)
					err = rc_add(q, (first >> q->cluster_bits) + i, -1);
				got = 0;
				break;
			}
			if (!got)
				first = o;
			got++;
		}
		if (err)
			return err;
		if (got == n) {
			*off = first;
			return 0;
		}
	}
	return -EIO;
}

/* Write a new L1 table of `n` entries, switch the header to it, free the old one. */
static int grow_l1(struct qcow2 *q, uint64_t n, uint64_t size)
{
	uint64_t clusters = (n * 8 + q->cs - 1) >> q->cluster_bits, off, *l1, *be;
	uint64_t old_off = q->l1_off, old_clusters = ((uint64_t)q->l1_size * 8 + q->cs - 1) >> q->cluster_bits;
	uint8_t hdr[24] = { 0 };
	int err;

	l1 = calloc(n, 8);
	be = calloc(clusters * q->cs / 8, 8);
	err = l1 && be ? alloc_run(q, clusters, &off) : -ENOMEM;
	if (err)
		goto out;
	memcpy(l1, q->l1, (size_t)q->l1_size * 8);
	for (uint64_t i = 0; i < n; i++)
		be[i] = htobe64(l1[i]);
	q->unsynced = true;
	err = qcow2_pwrite(q->fd, be, clusters * q->cs, off);
	if (!err)
		err = barrier(q);
	if (err)
		goto out;
	/* size, crypt_method (0), l1_size, l1_table_offset: one write inside the first sector */
	memcpy(hdr, &(uint64_t){ htobe64(size) }, 8);
	memcpy(hdr + 12, &(uint32_t){ htobe32((uint32_t)n) }, 4);
	memcpy(hdr + 16, &(uint64_t){ htobe64(off) }, 8);
	q->unsynced = true;
	err = qcow2_pwrite(q->fd, hdr, sizeof(hdr), QCOW2_HDR_SIZE);
	if (!err)
		err = barrier(q);
	if (err)
		goto out;
	free(q->l1);
	q->l1 = l1;
	l1 = NULL;
	q->l1_off = off;
	q->l1_size = (uint32_t)n;
	q->size = size;
	for (uint64_t i = 0; !err && old_off && i < old_clusters; i++)
		err = rc_add(q, (old_off >> q->cluster_bits) + i, -1);
out:
	free(l1);
	free(be);
	return err;
}

int qcow2_grow(struct qcow2 *q, uint64_t size)
{
	unsigned int shift = q->cluster_bits + q->l2_bits;
	uint64_t need, n, be = 0;
	int err;

	if (!q->writable)
		return -EROFS;
	if (size < q->size || size > (1ull << 62))
		return -EINVAL;
	need = (size + (1ull << shift) - 1) >> shift;
	if (need > q->l1_size) {
		n = ((need * 8 + q->cs - 1) & ~(q->cs - 1)) / 8; /* fill the clusters */
		if (n * 8 > QCOW2_MAX_L1_BYTES)
			n = QCOW2_MAX_L1_BYTES / 8;
		if (need > n)
			return -EFBIG;
		return grow_l1(q, n, size);
	}
	be = htobe64(size);
	q->unsynced = true;
	err = qcow2_pwrite(q->fd, &be, 8, QCOW2_HDR_SIZE);
	if (!err)
		err = barrier(q);
	if (!err)
		q->size = size;
	return err;
}
