#include "virtio/blk.h"
#include "virtio/blk_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/iov.h"
#include "vmm/relax.h"

#define HDR_LEN 16

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct blk *to_blk(struct virtio_dev *v)
{
	return v->priv;
}

/* Slot for a new request, or -1 when all are in use. */
static int free_slot(const struct blk *b)
{
	for (unsigned int i = 0; i < b->nreq; i++)
		if (!b->req[i].busy)
			return (int)i;
	return -1;
}

static void complete(struct blk *b, struct blk_req *r, uint8_t status)
{
	*r->status = status;
	vq_push(&b->vdev.vq[0], r->head, r->used_len);
	r->busy = false;
}

/*
 * The bytes [skip, total - drop) of segments [first, end) of a chain, as
 * iovecs. Returns the byte count.
 */
static uint64_t slice(const struct vq_chain *c, unsigned int first, unsigned int end,
		      uint64_t skip, uint64_t drop, struct blk_req *r)
{
	uint64_t total = 0;

	for (unsigned int i = first; i < end; i++)
		total += c->seg[i].iov_len;
	return iov_slice(c->seg + first, end - first, skip, total - skip - drop, r->iov,
			 VQ_MAX_SEGS, &r->niov);
}

static bool in_range(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	return bytes % SECTOR == 0 && sector <= b->sectors && bytes / SECTOR <= b->sectors - sector;
}

#define PENDING (-1) /* handed to the disk, which will report it */

/* The status byte for a disk's result. */
static uint8_t status_of(int result)
{
	if (!result)
		return VIRTIO_BLK_S_OK;
	return result == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

/* Hand request `r` to the disk. Returns PENDING, or a status when the disk is full. */
static int to_disk(struct blk *b, struct blk_req *r, enum disk_op op, uint64_t off, uint64_t len,
		   uint32_t flags)
{
	struct disk_req d = { .cookie = (uint64_t)(r - b->req), .op = op, .flags = flags,
			      .offset = off, .len = len, .iov = r->iov, .niov = r->niov };

	if (op != DISK_READ && op != DISK_WRITE)
		d.iov = NULL, d.niov = 0;
	/* The disk has a place per slot: -EAGAIN would be a bug here, not back-pressure. */
	return disk_queue(b->disk, &d) ? VIRTIO_BLK_S_IOERR : PENDING;
}

/* DISCARD and WRITE_ZEROES: one segment, at most the advertised size. */
static int discard_or_zero(struct blk *b, const struct vq_chain *c, struct blk_req *r, uint32_t type)
{
	struct virtio_blk_discard_write_zeroes seg;

	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (c->read_len != HDR_LEN + sizeof(seg) || vq_chain_read(c, HDR_LEN, &seg, sizeof(seg)) != sizeof(seg))
		return VIRTIO_BLK_S_UNSUPP; /* we advertise one segment per request */
	if (seg.num_sectors > (type == VIRTIO_BLK_T_DISCARD ? b->cfg.max_discard_sectors
							    : b->cfg.max_write_zeroes_sectors) ||
	    !in_range(b, seg.sector, (uint64_t)seg.num_sectors * SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if ((type == VIRTIO_BLK_T_DISCARD && seg.flags) ||
	    (seg.flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		return VIRTIO_BLK_S_UNSUPP;
	r->niov = 0;
	return to_disk(b, r, type == VIRTIO_BLK_T_DISCARD ? DISK_DISCARD : DISK_WRITE_ZEROES,
		       seg.sector * SECTOR, (uint64_t)seg.num_sectors * SECTOR,
		       (seg.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ? DISK_F_UNMAP : 0);
}

/* Parse one request and start it. Returns PENDING or the status to complete with now. */
static int start_request(struct blk *b, const struct vq_chain *c, struct blk_req *r)
{
	struct blk_hdr h;
	uint64_t len;

	if (vq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		return VIRTIO_BLK_S_IOERR;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		len = slice(c, c->nread, c->n, 0, 1, r);
		/* The used length (data and status) is 32 bits: a longer read cannot be reported. */
		if (len > UINT32_MAX - 1 || !in_range(b, h.sector, len))
			return VIRTIO_BLK_S_IOERR;
		r->used_len = (uint32_t)len + 1;
		return to_disk(b, r, DISK_READ, h.sector * SECTOR, len, 0);
	case VIRTIO_BLK_T_OUT:
		if (b->readonly)
			return VIRTIO_BLK_S_IOERR;
		len = slice(c, 0, c->nread, HDR_LEN, 0, r);
		if (!in_range(b, h.sector, len))
			return VIRTIO_BLK_S_IOERR;
		return to_disk(b, r, DISK_WRITE, h.sector * SECTOR, len, 0);
	case VIRTIO_BLK_T_FLUSH:
		r->niov = 0;
		return to_disk(b, r, DISK_FLUSH, 0, 0, 0);
	case VIRTIO_BLK_T_GET_ID:
		len = c->write_len - 1 < VIRTIO_BLK_ID_BYTES ? c->write_len - 1 : VIRTIO_BLK_ID_BYTES;
		r->used_len = (uint32_t)vq_chain_write(c, 0, b->id, len) + 1;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return discard_or_zero(b, c, r, h.type);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Come back to this queue after the event loop's other sources. */
static void resume_later(struct blk *b)
{
	uint64_t one = 1;

	if (b->resume_fd < 0 || b->resume_armed)
		return;
	if (write(b->resume_fd, &one, sizeof(one)) == sizeof(one))
		b->resume_armed = true;
}

#define REAP_BATCH 64

/*
 * Hand back what the disk finished: each request's status, its chain on the
 * used ring. With `drop` (a reset) the chains are gone: results discarded.
 * Returns how many chains went on the used ring.
 */
static unsigned int reap(struct blk *b, bool drop)
{
	struct disk_done done[REAP_BATCH];
	unsigned int n, pushed = 0;

	do {
		n = disk_reap(b->disk, done, REAP_BATCH);
		for (unsigned int i = 0; i < n; i++) {
			struct blk_req *r;

			if (done[i].cookie >= b->nreq || !b->req[done[i].cookie].busy)
				continue;
			r = &b->req[done[i].cookie];
			if (drop || done[i].result == -ECANCELED) {
				r->busy = false;
			} else {
				complete(b, r, status_of(done[i].result));
				pushed++;
			}
		}
	} while (n == REAP_BATCH);
	return pushed;
}

/* Without an event loop nothing comes back later: finish the disk's work now. */
static void finish_now(struct blk *b)
{
	while (!b->loop && disk_backlog(b->disk))
		reap(b, false);
}

static void handle_chain(struct blk *b, const struct vq_chain *c, struct blk_req *r)
{
	const struct iovec *last = &c->seg[c->n - 1];
	int status;

	r->busy = true;
	r->head = c->head;
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1; /* writable: checked by caller */
	r->used_len = 1;
	status = start_request(b, c, r);
	if (status != PENDING)
		complete(b, r, (uint8_t)status);
}

#define POLL_CLOCK_TURNS 64 /* turns of the polling loop between clock reads (~2-6 us natively) */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * The queue is empty. Rather than ask the guest for a kick at once (an exit
 * for every batch it adds), watch the ring for up to poll_ns, handing back
 * completions as they come. True if the driver added requests meanwhile:
 * the caller takes them without a kick. Only with EVENT_IDX, where not
 * moving avail_event is what keeps the guest from kicking.
 */
static bool poll_queue(struct blk *b)
{
	struct vq *q = &b->vdev.vq[0];
	uint64_t start;

	if (!b->poll_ns || !q->event_idx)
		return false;
	virtio_queue_interrupt(&b->vdev, 0); /* what is done so far, before the wait */
	start = now_ns();
	for (unsigned int turn = 1;; turn++) {
		if (vq_avail_pending(q))
			return true;
		if (disk_inflight(b->disk)) {
			unsigned int before = disk_inflight(b->disk);

			reap(b, false);
			if (disk_inflight(b->disk) != before)
				virtio_queue_interrupt(&b->vdev, 0);
		}
		relax();
		/*
		 * The clock only every POLL_CLOCK_TURNS turns: where the TSC is not
		 * usable it is a system call and an HPET read, which in a nested
		 * host under emulation takes the emulator's global lock and slowed
		 * the guest's vCPU down while the window was open.
		 */
		if (turn % POLL_CLOCK_TURNS == 0 && now_ns() - start >= b->poll_ns)
			break;
	}
	b->poll_ns /= 2; /* nothing came: look for less time next */
	return false;
}

/*
 * Take available requests, up to the free slots and the turn's allowance.
 * Returns -1 when the queue broke, else 0.
 */
static int take_requests(struct blk *b, unsigned int *reqs)
{
	struct vq *q = &b->vdev.vq[0];
	struct vq_chain c;
	int slot, r;

	while (*reqs && (slot = free_slot(b)) >= 0) {
		r = vq_pop(q, &c);
		if (r == 0)
			break;
		if (r < 0) {
			virtio_needs_reset(&b->vdev);
			return -1;
		}
		if (c.write_len == 0) {
			/* No byte to put a status in: the driver broke the protocol. */
			q->broken = true;
			virtio_needs_reset(&b->vdev);
			break;
		}
		(*reqs)--;
		handle_chain(b, &c, &b->req[slot]);
	}
	return 0;
}

/*
 * Serve the queue for one turn. It ends when the ring is empty (the guest
 * is asked to kick again), when every slot is busy or the disk has
 * synchronous work left (its completion fd resumes it), or when the turn's
 * allowance is spent with requests still waiting (the guest is not asked
 * to kick: resume_fd brings the I/O thread back after its other sources).
 * Lock held.
 */
static void process_queue(struct blk *b)
{
	struct vq *q = &b->vdev.vq[0];
	unsigned int reqs = b->resume_fd >= 0 ? BLK_TURN_REQS : UINT_MAX;

	for (;;) {
		int broke = take_requests(b, &reqs);

		disk_submit(b->disk);
		/* Reads from the page cache complete within the submit: hand them
		 * back now rather than after another trip through the event loop.
		 * (Trying each read first with preadv2(RWF_NOWAIT) on this thread
		 * was slower in blk.sh: a system call per request, not per batch.) */
		reap(b, false);
		finish_now(b);
		if (broke < 0)
			return;
		b->stalled = free_slot(b) < 0 || disk_backlog(b->disk);
		if (b->stalled)
			break;
		if (!reqs && vq_avail_pending(q)) {
			resume_later(b);
			break;
		}
		if (!poll_queue(b) && !vq_enable_notify(q))
			break;
	}
	if (!b->stalled && b->poll_ns < b->poll_max_ns)
		b->kicks_since = now_ns();
	virtio_queue_interrupt(&b->vdev, 0);
}

/* I/O thread: the disk finished requests, or has work for this thread. */
void blk_disk_ready(void *ctx, uint32_t events)
{
	struct blk *b = ctx;

	(void)events;
	pthread_mutex_lock(&b->vdev.lock);
	disk_ack(b->disk);
	/* Only for chains it put on the used ring now: the completion fd also wakes
	 * the loop for completions process_queue() already handed back, and a
	 * driver without EVENT_IDX would take a second interrupt for nothing. */
	if (reap(b, false))
		virtio_queue_interrupt(&b->vdev, 0);
	if (b->stalled && !disk_backlog(b->disk) && b->vdev.vq[0].ready)
		process_queue(b); /* slots are free again, or the backlog is done */
	pthread_mutex_unlock(&b->vdev.lock);
}

/* I/O thread: the turn this queue asked for (resume_later()). */
void blk_resume_ready(void *ctx, uint32_t events)
{
	struct blk *b = ctx;
	uint8_t st;
	uint64_t n;

	(void)events;
	if (read(b->resume_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&b->vdev.lock);
	b->resume_armed = false;
	st = b->vdev.status;
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_NEEDS_RESET) &&
	    b->vdev.vq[0].ready)
		process_queue(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

static void blk_queue_notify(struct virtio_dev *v, unsigned int q)
{
	struct blk *b = to_blk(v);

	if (q != 0)
		return;
	if (b->kicks_since) {
		uint64_t waited = now_ns() - b->kicks_since;

		/* A longer look would have caught this kick: look longer next time. */
		if (waited < b->poll_max_ns) {
			b->poll_ns = 2 * (waited > b->poll_ns ? waited : b->poll_ns);
			if (b->poll_ns > b->poll_max_ns)
				b->poll_ns = b->poll_max_ns;
		}
		b->kicks_since = 0;
	}
	process_queue(b);
}

void blk_reset(struct virtio_dev *v)
{
	struct blk *b = to_blk(v);

	/* Requests in flight still point into guest memory: the disk waits for
	 * them (or drops those not started), and their chains are forgotten. */
	disk_drain(b->disk);
	reap(b, true);
	for (unsigned int i = 0; i < b->nreq; i++)
		b->req[i].busy = false;
	b->stalled = false;
}

static void blk_config_read(struct virtio_dev *v, uint32_t off, void *data, uint32_t len)
{
	const struct blk *b = to_blk(v);

	if (off + len <= sizeof(b->cfg))
		memcpy(data, (const uint8_t *)&b->cfg + off, len);
}

static void blk_config_write(struct virtio_dev *v, uint32_t off, const void *data, uint32_t len)
{
	(void)v, (void)off, (void)data, (void)len; /* read-only: no writeback toggle offered */
}

const struct virtio_dev_ops blk_ops = {
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.config_read = blk_config_read,
	.config_write = blk_config_write,
};

bool blk_idle(struct blk *b)
{
	for (unsigned int i = 0; i < b->nreq; i++)
		if (b->req[i].busy)
			return false;
	return !b->disk || (!disk_inflight(b->disk) && !disk_backlog(b->disk));
}
