/*
 * The raw engine: the image's bytes are the disk's. Reads and writes go
 * through io_uring, fenced to the image, with adjacent requests merged into
 * one transfer; or, with aio=sync or no usable io_uring, through
 * preadv/pwritev on the owner's thread, a turn's worth per disk_reap().
 * DISCARD and WRITE_ZEROES are fallocate() calls; zeros the file system
 * cannot make are written in slices, a turn's worth at a time, and a FLUSH
 * queued behind them waits for them.
 */
#include "vmm/disk.h"
#include "vmm/disk_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/iov.h"
#include "vmm/log.h"

#define DRAIN_TRIES 8

static void sync_add(struct disk *d, int i)
{
	disk_list_add(d, &d->raw.sync_head, &d->raw.sync_tail, i);
}

/*
 * Move all of a READ or WRITE with system calls here, calling again after a
 * short transfer (the second call reports why, e.g. ENOSPC). 0 or -errno.
 */
static int rw_now(int fd, enum disk_op op, const struct iovec *iov, unsigned int niov,
		  uint64_t off, uint64_t len)
{
	struct iovec rest[DISK_MAX_IOV];
	uint64_t done = 0;
	unsigned int n = niov;

	while (done < len) {
		const struct iovec *v = iov;
		ssize_t got;

		if (done) {
			iov_slice(iov, niov, done, len - done, rest, DISK_MAX_IOV, &n);
			v = rest;
		}
		got = op == DISK_READ ? preadv(fd, v, (int)n, (off_t)(off + done))
				      : pwritev(fd, v, (int)n, (off_t)(off + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EIO; /* a read past the end of a file that shrank */
		done += (uint64_t)got;
	}
	return 0;
}

int disk_raw_guarded_write(struct disk *d, int i)
{
	const struct disk_req *r = &d->slot[i].r;
	struct iovec v[DISK_MAX_IOV + 1];
	uint8_t first[DISK_SECTOR];
	unsigned int n = 0;

	iov_copy(r->iov, r->niov, 0, first, DISK_SECTOR, false);
	if (!memcmp(first, "QFI\xfb", 4)) {
		if (!d->guard_logged)
			log_err("%s: the guest wrote a qcow2 header to the start of this raw image, which "
				"was probed: refused (add format=raw to its --disk to allow it)",
				d->info.path);
		d->guard_logged = true;
		return -EIO;
	}
	v[0] = (struct iovec){ .iov_base = first, .iov_len = DISK_SECTOR };
	iov_slice(r->iov, r->niov, DISK_SECTOR, r->len - DISK_SECTOR, v + 1, DISK_MAX_IOV, &n);
	return rw_now(d->fd, DISK_WRITE, v, n + 1, 0, r->len);
}

/* The result for `expect` bytes when the transfer reported `res`. */
static int transfer_result(int64_t res, uint64_t expect)
{
	if (res < 0)
		return (int)res;
	return (uint64_t)res == expect ? 0 : -EIO;
}

/* Complete slot `i` and those merged behind it with the outcome of their transfer. */
static void complete_run(struct disk *d, int i, int64_t res)
{
	uint64_t want = 0;
	int result;

	for (int j = i; j >= 0; j = d->slot[j].next)
		want += d->slot[j].r.len;
	result = transfer_result(res, want);
	while (i >= 0) {
		int next = d->slot[i].next;

		d->slot[i].next = -1;
		disk_complete(d, i, result);
		i = next;
	}
}

/*
 * Give io_uring what is queued, including what an earlier submission left
 * (it can take fewer than offered). Only what it took counts as in flight.
 * The merged iovecs are free again once it has taken everything.
 */
static void submit_sq(struct disk *d)
{
	struct disk_raw *w = &d->raw;
	int n = 0;

	if (io_uring_sq_ready(&w->ring))
		n = io_uring_submit(&w->ring);
	if (n > 0)
		w->inflight += (unsigned int)n;
	if (!io_uring_sq_ready(&w->ring))
		w->miov_used = 0;
}

/* Collect what io_uring completed; `wait` blocks for one. 0, or io_uring's error. */
static int reap_cqes(struct disk *d, bool wait)
{
	struct disk_raw *w = &d->raw;
	struct io_uring_cqe *cqe;
	int err = 0;

	while (w->inflight) {
		err = wait ? io_uring_wait_cqe(&w->ring, &cqe) : io_uring_peek_cqe(&w->ring, &cqe);
		if (err < 0)
			break;
		uint64_t i = io_uring_cqe_get_data64(cqe);

		if (i < d->depth && d->slot[i].busy)
			complete_run(d, (int)i, cqe->res);
		io_uring_cqe_seen(&w->ring, cqe);
		w->inflight--;
		wait = false;
	}
	return err == -EAGAIN ? 0 : err;
}

/* Submit everything queued and wait for all of it. False if io_uring would not. */
static bool drain_ring(struct disk *d)
{
	struct disk_raw *w = &d->raw;

	for (unsigned int i = 0; i < DRAIN_TRIES && io_uring_sq_ready(&w->ring); i++) {
		submit_sq(d);
		if (io_uring_sq_ready(&w->ring) && reap_cqes(d, false) < 0)
			break;
	}
	while (w->inflight) {
		int err = reap_cqes(d, true);

		if (err < 0 && err != -EINTR && err != -EAGAIN)
			return false;
	}
	return !io_uring_sq_ready(&w->ring);
}

/*
 * Give io_uring slot `lead` (with the slots merged behind it, whose bytes
 * `iov` lists) or a FLUSH. Done here instead if the ring has no room.
 */
static void queue_transfer(struct disk *d, int lead, const struct iovec *iov, unsigned int niov)
{
	struct disk_raw *w = &d->raw;
	const struct disk_req *r = &d->slot[lead].r;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
	uint64_t len = 0;

	if (!sqe) {
		submit_sq(d); /* room for this one, unless the kernel takes nothing */
		sqe = io_uring_get_sqe(&w->ring);
	}
	if (!sqe) {
		/* (Not seen: the ring has an entry per slot.) A FLUSH done here must
		 * still come after everything submitted before it. */
		if (r->op == DISK_FLUSH)
			complete_run(d, lead, drain_ring(d) && !fdatasync(d->fd) ? 0 : -EIO);
		else {
			for (int j = lead; j >= 0; j = d->slot[j].next)
				len += d->slot[j].r.len;
			complete_run(d, lead,
				     rw_now(d->fd, r->op, iov, niov, r->offset, len) ? -EIO : (int64_t)len);
		}
		return;
	}
	/* File 0 of the ring's fixed files is the image (disk_ring_fence()). */
	if (r->op == DISK_READ)
		io_uring_prep_readv(sqe, 0, iov, niov, r->offset);
	else if (r->op == DISK_WRITE)
		io_uring_prep_writev(sqe, 0, iov, niov, r->offset);
	else
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	/*
	 * io_uring starts requests in any order: a FLUSH waits for the writes
	 * submitted ahead of it, or it makes durable less than was asked.
	 */
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE | (r->op == DISK_FLUSH ? IOSQE_IO_DRAIN : 0));
	io_uring_sqe_set_data64(sqe, (uint64_t)lead);
}

/*
 * Hand the open run to io_uring: as one transfer when it merged requests
 * (their iovecs copied one after another into miov, which the kernel copies
 * in turn when it takes the transfer: SUBMIT_STABLE), else as it is.
 */
static void close_run(struct disk *d)
{
	struct disk_raw *w = &d->raw;
	int lead = w->run;

	if (lead < 0)
		return;
	w->run = -1;
	if (d->slot[lead].next >= 0 && w->miov_used + w->run_niov > DISK_MAX_IOV)
		submit_sq(d); /* makes room, unless io_uring left some of it queued */
	if (d->slot[lead].next < 0 || w->miov_used + w->run_niov > DISK_MAX_IOV) {
		for (int i = lead, next; i >= 0; i = next) {
			next = d->slot[i].next;
			d->slot[i].next = -1;
			queue_transfer(d, i, d->slot[i].r.iov, d->slot[i].r.niov);
		}
		return;
	}
	struct iovec *iov = w->miov + w->miov_used;
	unsigned int n = 0;

	for (int i = lead; i >= 0; i = d->slot[i].next) {
		memcpy(iov + n, d->slot[i].r.iov, d->slot[i].r.niov * sizeof(*iov));
		n += d->slot[i].r.niov;
		d->stats.merged += i != lead;
	}
	w->miov_used += n;
	queue_transfer(d, lead, iov, n);
}

/* Queue READ or WRITE slot `i` behind the open run if it continues it, else as a new run. */
static void queue_rw(struct disk *d, int i)
{
	struct disk_raw *w = &d->raw;
	const struct disk_req *r = &d->slot[i].r;

	if (w->run >= 0 && w->merge && d->slot[w->run].r.op == r->op &&
	    d->slot[w->run].r.offset + w->run_bytes == r->offset &&
	    w->run_bytes + r->len <= DISK_MERGE_BYTES && w->run_niov + r->niov <= DISK_MAX_IOV) {
		d->slot[w->run_last].next = i;
		w->run_bytes += r->len;
		w->run_niov += r->niov;
	} else {
		close_run(d);
		w->run = i;
		w->run_bytes = r->len;
		w->run_niov = r->niov;
	}
	w->run_last = i;
}

/* DISCARD and WRITE_ZEROES: fallocate() now, or zeros in slices later. */
static void queue_fallocate(struct disk *d, int i)
{
	const struct disk_req *r = &d->slot[i].r;
	int mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (r->op == DISK_DISCARD || (r->flags & DISK_F_UNMAP))
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE; /* reads back as zeros */
	if (!fallocate(d->fd, mode, (off_t)r->offset, (off_t)r->len) || r->op == DISK_DISCARD) {
		disk_complete(d, i, 0); /* a discard is a hint: nothing lost if the FS cannot */
		return;
	}
	sync_add(d, i);
}

static void raw_queue(struct disk *d, int i)
{
	struct disk_raw *w = &d->raw;

	switch (d->slot[i].r.op) {
	case DISK_READ:
	case DISK_WRITE:
		if (w->uring)
			queue_rw(d, i);
		else
			sync_add(d, i);
		break;
	case DISK_FLUSH:
		if (w->uring && w->sync_head < 0) {
			close_run(d); /* ahead of the flush, which waits for it */
			queue_transfer(d, i, NULL, 0);
		} else {
			sync_add(d, i); /* behind zeros still to write */
		}
		break;
	default:
		queue_fallocate(d, i);
		break;
	}
}

static void raw_submit(struct disk *d)
{
	if (d->raw.uring) {
		close_run(d);
		submit_sq(d);
	}
}

/* Write up to a slice of zeros for slot `i`; complete it when done or failed. */
static void zero_step(struct disk *d, int i)
{
	static const uint8_t zeros[65536];
	struct disk_slot *s = &d->slot[i];
	uint64_t left = s->r.len - s->done_bytes;
	uint64_t n = left < DISK_ZERO_SLICE ? left : DISK_ZERO_SLICE, done = 0;

	while (done < n) {
		size_t k = n - done < sizeof(zeros) ? (size_t)(n - done) : sizeof(zeros);
		ssize_t w = pwrite(d->fd, zeros, k, (off_t)(s->r.offset + s->done_bytes + done));

		if (w <= 0) {
			disk_list_take(d, &d->raw.sync_head, &d->raw.sync_tail);
			disk_complete(d, i, w < 0 ? -errno : -EIO);
			return;
		}
		done += (uint64_t)w;
	}
	s->done_bytes += n;
	if (s->done_bytes == s->r.len) {
		disk_list_take(d, &d->raw.sync_head, &d->raw.sync_tail);
		disk_complete(d, i, 0);
	}
}

/* A turn of the synchronous list: up to DISK_TURN_SYNC_BYTES moved, or one slice of zeros. */
static void sync_turn(struct disk *d)
{
	struct disk_raw *w = &d->raw;
	uint64_t budget = DISK_TURN_SYNC_BYTES;
	int i;

	while ((i = w->sync_head) >= 0 && budget) {
		const struct disk_req *r = &d->slot[i].r;

		if (r->op == DISK_WRITE_ZEROES) {
			zero_step(d, i);
			break; /* one slice a turn: the other devices wait no longer than that */
		}
		disk_list_take(d, &w->sync_head, &w->sync_tail);
		if (r->op == DISK_FLUSH && w->uring) {
			close_run(d); /* the zeros it waited for are written: to the ring now */
			queue_transfer(d, i, NULL, 0);
			submit_sq(d);
		} else if (r->op == DISK_FLUSH) {
			disk_complete(d, i, fdatasync(d->fd) ? -errno : 0);
		} else {
			disk_complete(d, i, rw_now(d->fd, r->op, r->iov, r->niov, r->offset, r->len));
			budget -= r->len < budget ? r->len : budget;
		}
	}
}

static void raw_work(struct disk *d)
{
	if (d->raw.uring)
		reap_cqes(d, false);
	sync_turn(d);
}

static bool raw_backlog(const struct disk *d)
{
	return d->raw.sync_head >= 0;
}

static void raw_drain(struct disk *d)
{
	struct disk_raw *w = &d->raw;
	int i;

	/* What is still to do here was not started: dropped. */
	while ((i = disk_list_take(d, &w->sync_head, &w->sync_tail)) >= 0)
		disk_complete(d, i, -ECANCELED);
	if (!w->uring)
		return;
	close_run(d);
	if (drain_ring(d))
		return;
	/*
	 * Should io_uring refuse what is queued, it must never see it (the
	 * buffers are not ours after a drain): the ring is not entered again.
	 */
	log_err("%s: io_uring stopped taking requests; disk I/O is synchronous from now on",
		d->info.path);
	w->uring = false;
	w->inflight = 0;
	d->info.engine = DISK_ENGINE_RAW_SYNC;
	for (unsigned int j = 0; j < d->depth; j++) {
		bool waiting = d->slot[j].busy && !d->slot[j].done;

		if (waiting)
			disk_complete(d, (int)j, -ECANCELED);
	}
}

static void setup_uring(struct disk *d)
{
	struct disk_raw *w = &d->raw;

	/*
	 * Completions the kernel finishes on this thread's behalf wait for its
	 * next system call rather than interrupting it (COOP_TASKRUN;
	 * TASKRUN_FLAG tells liburing's peek to enter the kernel for them):
	 * buffered writes, which io_uring hands to its workers on ext4, went 10%
	 * faster so. Kernels before 5.19 lack both flags.
	 */
	if (io_uring_queue_init(d->depth, &w->ring,
				IORING_SETUP_R_DISABLED | IORING_SETUP_COOP_TASKRUN |
					IORING_SETUP_TASKRUN_FLAG) < 0 &&
	    io_uring_queue_init(d->depth, &w->ring, IORING_SETUP_R_DISABLED) < 0) {
		log_info("%s: io_uring unavailable: disk I/O is synchronous", d->info.path);
		return;
	}
	if (disk_ring_fence(&w->ring, d->fd, d->efd, true) < 0) {
		/* A kernel older than 5.10 has io_uring without restrictions: not used. */
		log_info("%s: io_uring restrictions unavailable: disk I/O is synchronous", d->info.path);
		io_uring_queue_exit(&w->ring);
		return;
	}
	w->uring = w->ring_open = true;
	/* Merging needs the kernel to copy iovecs when it takes a request (5.5 on). */
	w->merge = w->ring.features & IORING_FEAT_SUBMIT_STABLE;
}

static int raw_start(struct disk *d, int (*thread_init)(void *ctx), void *ctx)
{
	struct disk_raw *w = &d->raw;

	(void)thread_init, (void)ctx; /* no thread of its own */
	w->run = w->run_last = w->sync_head = w->sync_tail = -1;
	w->miov = calloc(DISK_MAX_IOV, sizeof(*w->miov));
	if (!w->miov)
		return -ENOMEM;
	if (d->info.engine == DISK_ENGINE_RAW_URING)
		setup_uring(d);
	if (!w->uring)
		d->info.engine = DISK_ENGINE_RAW_SYNC;
	return 0;
}

static void raw_stop(struct disk *d)
{
	if (d->raw.ring_open)
		io_uring_queue_exit(&d->raw.ring);
	d->raw.ring_open = d->raw.uring = false;
	free(d->raw.miov);
	d->raw.miov = NULL;
}

const struct disk_engine_ops disk_raw_ops = {
	.start = raw_start,
	.queue = raw_queue,
	.submit = raw_submit,
	.work = raw_work,
	.backlog = raw_backlog,
	.drain = raw_drain,
	.stop = raw_stop,
};
