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

#define PENDING (-1) /* the request is in flight; io_uring will report it */

/* A transfer or flush done here, on the I/O thread. Returns what the system call did. */
static ssize_t do_sync(struct blk *b, uint32_t type, const struct iovec *iov, unsigned int niov,
		       uint64_t off)
{
	if (type == VIRTIO_BLK_T_IN)
		return preadv(b->fd, iov, (int)niov, (off_t)off);
	if (type == VIRTIO_BLK_T_OUT)
		return pwritev(b->fd, iov, (int)niov, (off_t)off);
	return fdatasync(b->fd);
}

/* Complete request `i` and those merged behind it: OK if the transfer moved all their bytes. */
static void complete_run(struct blk *b, int i, int64_t res)
{
	int64_t want = 0;
	uint8_t status;

	for (int j = i; j >= 0; j = b->req[j].next)
		want += b->req[j].expect;
	status = res == want ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	while (i >= 0) {
		struct blk_req *r = &b->req[i];

		i = r->next;
		r->next = -1;
		complete(b, r, status);
	}
}

/*
 * Give io_uring what is queued, including what an earlier submission left
 * (it can take fewer than offered, e.g. short of memory). Only what it took
 * counts as in flight. The merged iovecs are free again once it has taken
 * everything.
 */
static void submit_sq(struct blk *b)
{
	int n = 0;

	if (io_uring_sq_ready(&b->ring))
		n = io_uring_submit(&b->ring);
	if (n > 0)
		b->inflight += (unsigned int)n;
	if (!io_uring_sq_ready(&b->ring))
		b->miov_used = 0;
}

static int reap(struct blk *b, bool wait);

#define DRAIN_TRIES 8

/*
 * Submit everything queued and wait until all of it has completed. False
 * if io_uring would not take it all, or stopped reporting completions.
 */
static bool drain_ring(struct blk *b)
{
	for (unsigned int i = 0; i < DRAIN_TRIES && io_uring_sq_ready(&b->ring); i++) {
		submit_sq(b);
		if (io_uring_sq_ready(&b->ring) && reap(b, false) < 0)
			break;
	}
	while (b->inflight) {
		int err = reap(b, true);

		if (err < 0 && err != -EINTR && err != -EAGAIN)
			return false;
	}
	return !io_uring_sq_ready(&b->ring);
}

/*
 * Give io_uring request `lead` (with the requests merged behind it, whose
 * bytes `iov` lists) or a flush. Done here instead if the ring has no room.
 */
static void queue_transfer(struct blk *b, int lead, const struct iovec *iov, unsigned int niov)
{
	struct blk_req *r = &b->req[lead];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe) {
		submit_sq(b); /* room for this one, unless the kernel takes nothing */
		sqe = io_uring_get_sqe(&b->ring);
	}
	if (!sqe) {
		/* (Not seen: the ring has a slot per request.) A flush done here must
		 * still come after everything submitted before it. */
		if (r->type == VIRTIO_BLK_T_FLUSH && !drain_ring(b)) {
			complete_run(b, lead, -EIO);
			return;
		}
		complete_run(b, lead, do_sync(b, r->type, iov, niov, r->off));
		return;
	}
	/* File 0 of the ring's fixed files is the image (restrict_ring). */
	if (r->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, 0, iov, niov, r->off);
	else if (r->type == VIRTIO_BLK_T_OUT)
		io_uring_prep_writev(sqe, 0, iov, niov, r->off);
	else
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	/*
	 * io_uring starts requests in any order: a flush must wait for the
	 * writes submitted ahead of it, or it makes durable less than the
	 * driver asked for. (Requests submitted after it wait for it too.)
	 */
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE |
					    (r->type == VIRTIO_BLK_T_FLUSH ? IOSQE_IO_DRAIN : 0));
	io_uring_sqe_set_data64(sqe, (uint64_t)lead);
}

/*
 * Hand the open run to io_uring: as one transfer when it merged requests
 * (their iovecs copied one after another into miov, which the kernel copies
 * in turn when it takes the transfer: SUBMIT_STABLE), else as it is.
 */
static void close_run(struct blk *b)
{
	int lead = b->run;

	if (lead < 0)
		return;
	b->run = -1;
	if (b->req[lead].next >= 0 && b->miov_used + b->run_niov > BLK_MERGE_IOV)
		submit_sq(b); /* makes room, unless io_uring left some of it queued */
	if (b->req[lead].next < 0 || b->miov_used + b->run_niov > BLK_MERGE_IOV) {
		for (int i = lead, next; i >= 0; i = next) {
			next = b->req[i].next;
			b->req[i].next = -1;
			queue_transfer(b, i, b->req[i].iov, b->req[i].niov);
		}
		return;
	}
	struct iovec *iov = b->miov + b->miov_used;
	unsigned int n = 0;

	for (int i = lead; i >= 0; i = b->req[i].next) {
		memcpy(iov + n, b->req[i].iov, b->req[i].niov * sizeof(*iov));
		n += b->req[i].niov;
		b->merged += i != lead;
	}
	b->miov_used += n;
	queue_transfer(b, lead, iov, n);
}

/* Queue IN or OUT request `slot` behind the open run if it continues it, else as a new run. */
static void queue_rw(struct blk *b, int slot)
{
	struct blk_req *r = &b->req[slot];
	uint64_t len = (uint64_t)r->expect;

	if (b->run >= 0 && b->merge && b->req[b->run].type == r->type &&
	    b->req[b->run].off + b->run_bytes == r->off && b->run_bytes + len <= BLK_MERGE_BYTES &&
	    b->run_niov + r->niov <= BLK_MERGE_IOV) {
		b->req[b->run_last].next = slot;
		b->run_bytes += len;
		b->run_niov += r->niov;
	} else {
		close_run(b);
		b->run = slot;
		b->run_bytes = len;
		b->run_niov = r->niov;
	}
	b->run_last = slot;
}

/* Queue (or, without io_uring, do) one transfer or flush. Returns PENDING or a status. */
static int submit_io(struct blk *b, struct blk_req *r, uint32_t type, uint64_t off)
{
	r->type = type;
	r->off = off;
	r->next = -1;
	if (!b->uring)
		return do_sync(b, type, r->iov, r->niov, off) == r->expect ? VIRTIO_BLK_S_OK
									    : VIRTIO_BLK_S_IOERR;
	if (type == VIRTIO_BLK_T_FLUSH) {
		close_run(b); /* ahead of the flush, which waits for it */
		queue_transfer(b, (int)(r - b->req), NULL, 0);
	} else {
		queue_rw(b, (int)(r - b->req));
	}
	return PENDING;
}

#define DEFER (-2) /* the request must wait: the queue stops taking requests until it can */

/* Write `len` zeros (at most a slice) at `off`. Returns 0 or -EIO. */
static int write_zeros(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[65536];

	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);

		if (w <= 0)
			return -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

/* Come back to this disk after the event loop's other sources. */
static void resume_later(struct blk *b)
{
	uint64_t one = 1;

	if (b->resume_fd < 0 || b->resume_armed)
		return;
	if (write(b->resume_fd, &one, sizeof(one)) == sizeof(one))
		b->resume_armed = true;
}

/* One slice of the zeros being written; completes the request after the last. */
static void zero_step(struct blk *b)
{
	uint64_t n = b->zero_left < BLK_ZERO_SLICE ? b->zero_left : BLK_ZERO_SLICE;
	struct blk_req *r = &b->req[b->zero_slot];
	int err = write_zeros(b->fd, b->zero_off, n);

	b->zero_off += n;
	b->zero_left -= n;
	if (!err && b->zero_left) {
		resume_later(b);
		return;
	}
	b->zero_slot = -1;
	b->zero_wait = false;
	complete(b, r, err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
	virtio_queue_interrupt(&b->vdev, 0);
}

/*
 * Zeros the file system could not write for us: a slice a turn (the whole
 * range at once only without an event loop). Returns PENDING, DEFER while
 * another such request is under way, or a status.
 */
static int zero_start(struct blk *b, struct blk_req *r, uint64_t off, uint64_t len)
{
	if (b->zero_slot >= 0)
		return DEFER;
	if (b->resume_fd < 0)
		return write_zeros(b->fd, off, len) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	r->type = VIRTIO_BLK_T_WRITE_ZEROES;
	r->next = -1;
	b->zero_slot = (int)(r - b->req);
	b->zero_off = off;
	b->zero_left = len;
	resume_later(b);
	return PENDING;
}

/* DISCARD and WRITE_ZEROES: one segment, at most the advertised size, done with fallocate(). */
static int discard_or_zero(struct blk *b, const struct vq_chain *c, struct blk_req *r, uint32_t type)
{
	struct virtio_blk_discard_write_zeroes seg;
	uint64_t off, len;
	int mode;

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
	off = seg.sector * SECTOR;
	len = (uint64_t)seg.num_sectors * SECTOR;
	if (type == VIRTIO_BLK_T_DISCARD || (seg.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE; /* reads back as zeros */
	else
		mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (!len || !fallocate(b->fd, mode, (off_t)off, (off_t)len))
		return VIRTIO_BLK_S_OK;
	if (type == VIRTIO_BLK_T_DISCARD)
		return VIRTIO_BLK_S_OK; /* discard is a hint: nothing lost if the FS cannot */
	return zero_start(b, r, off, len);
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
		r->expect = (int64_t)len;
		return submit_io(b, r, h.type, h.sector * SECTOR);
	case VIRTIO_BLK_T_OUT:
		if (b->readonly)
			return VIRTIO_BLK_S_IOERR;
		len = slice(c, 0, c->nread, HDR_LEN, 0, r);
		if (!in_range(b, h.sector, len))
			return VIRTIO_BLK_S_IOERR;
		r->expect = (int64_t)len;
		return submit_io(b, r, h.type, h.sector * SECTOR);
	case VIRTIO_BLK_T_FLUSH:
		r->expect = 0;
		return submit_io(b, r, h.type, 0);
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

static void handle_chain(struct blk *b, const struct vq_chain *c, struct blk_req *r)
{
	const struct iovec *last = &c->seg[c->n - 1];
	int status;

	r->busy = true;
	r->head = c->head;
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1; /* writable: checked by caller */
	r->used_len = 1;
	status = start_request(b, c, r);
	if (status == DEFER) {
		/* Taken again, and parsed again, once the request before it is done. */
		r->busy = false;
		vq_unpop(&b->vdev.vq[0], 1);
		b->zero_wait = true;
	} else if (status != PENDING) {
		complete(b, r, (uint8_t)status);
	}
}

static void submit_queued(struct blk *b)
{
	if (b->uring) {
		close_run(b);
		submit_sq(b);
	}
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
		if (b->uring && b->inflight) {
			unsigned int before = b->inflight;

			reap(b, false);
			if (b->inflight != before)
				virtio_queue_interrupt(&b->vdev, 0);
		}
		__builtin_ia32_pause();
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

/* A turn's allowance (turn_budget()): requests, and bytes moved synchronously. */
struct turn {
	unsigned int reqs;
	uint64_t sync_bytes;
};

/*
 * Take available requests, up to the free slots and the turn's allowance.
 * Returns -1 when the queue broke, else 0.
 */
static int take_requests(struct blk *b, struct turn *t)
{
	struct vq *q = &b->vdev.vq[0];
	struct vq_chain c;
	int slot, r;

	while (t->reqs && !b->zero_wait && (slot = free_slot(b)) >= 0) {
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
		t->reqs--;
		handle_chain(b, &c, &b->req[slot]);
		if (!b->uring) {
			t->sync_bytes += c.read_len + c.write_len;
			if (t->sync_bytes >= BLK_TURN_SYNC_BYTES)
				t->reqs = 0;
		}
	}
	return 0;
}

/*
 * Serve the queue for one turn. It ends when the ring is empty (the guest
 * is asked to kick again), when every slot is busy (completions resume it),
 * or when the turn's allowance is spent with requests still waiting (the
 * guest is not asked to kick: resume_fd brings the I/O thread back after
 * its other sources). Lock held.
 */
static void process_queue(struct blk *b)
{
	struct vq *q = &b->vdev.vq[0];
	struct turn t = { .reqs = b->resume_fd >= 0 ? BLK_TURN_REQS : UINT_MAX };

	for (;;) {
		if (take_requests(b, &t) < 0) {
			submit_queued(b);
			return;
		}
		submit_queued(b);
		/* Reads from the page cache complete within the submit: hand them
		 * back now rather than after another trip through the event loop.
		 * (Trying each read first with preadv2(RWF_NOWAIT) on this thread
		 * was slower in blk.sh: a system call per request, not per batch.) */
		if (b->uring)
			reap(b, false);
		b->stalled = free_slot(b) < 0;
		if (b->stalled || b->zero_wait)
			break;
		if (!t.reqs && vq_avail_pending(q)) {
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

/*
 * Finish what io_uring completed; `wait` blocks for at least one. Returns
 * 0, or what io_uring reported when it had nothing (-EAGAIN: none yet).
 * Lock held.
 */
static int reap(struct blk *b, bool wait)
{
	struct io_uring_cqe *cqe;
	int err = 0;

	while (b->inflight) {
		err = wait ? io_uring_wait_cqe(&b->ring, &cqe) : io_uring_peek_cqe(&b->ring, &cqe);
		if (err < 0)
			break;
		uint64_t i = io_uring_cqe_get_data64(cqe);

		if (i < b->nreq && b->req[i].busy)
			complete_run(b, (int)i, cqe->res);
		io_uring_cqe_seen(&b->ring, cqe);
		b->inflight--;
		wait = false;
	}
	return err == -EAGAIN ? 0 : err;
}

/* I/O thread: io_uring signalled completions. */
void blk_uring_ready(void *ctx, uint32_t events)
{
	struct blk *b = ctx;
	uint64_t n;

	(void)events;
	if (read(b->uring_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&b->vdev.lock);
	reap(b, false);
	virtio_queue_interrupt(&b->vdev, 0);
	if (b->stalled && b->vdev.vq[0].ready)
		process_queue(b); /* slots are free again */
	pthread_mutex_unlock(&b->vdev.lock);
}

/* I/O thread: the turn this disk asked for (resume_later()). */
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
	if (b->zero_slot >= 0)
		zero_step(b);
	st = b->vdev.status;
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_NEEDS_RESET) &&
	    b->vdev.vq[0].ready && b->zero_slot < 0)
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

	/*
	 * In-flight transfers still point into guest memory: wait for them. Should
	 * io_uring refuse what is queued, it must never see it (the guest's
	 * buffers are not ours after the reset): the ring is not entered again
	 * and the disk goes on with synchronous I/O.
	 */
	if (b->uring && !drain_ring(b)) {
		log_err("%s: io_uring stopped taking requests; disk I/O is synchronous from now on",
			b->path);
		b->uring = false;
		b->inflight = 0;
	}
	for (unsigned int i = 0; i < b->nreq; i++) {
		b->req[i].busy = false;
		b->req[i].next = -1;
	}
	b->run = -1;
	b->stalled = false;
	b->zero_slot = -1; /* the zeros not written yet are dropped: the driver reset */
	b->zero_wait = false;
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
