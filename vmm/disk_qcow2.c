/*
 * The qcow2 engine: one worker thread per disk runs the synchronous engine
 * of vmm/qcow2.h, one request at a time, first in first out (which gives
 * FLUSH its ordering rule), a slice of DISK_QCOW2_SLICE bytes at a time,
 * straight from and into the guest's buffers. Why a thread rather than
 * turns on the I/O thread: vmm/disk.h, "Threads".
 *
 * Hand-off: the owner collects a batch (queue), then hands it over under
 * qc.lock (submit) and wakes the worker; the worker puts finished requests
 * on the done list under the same lock and signals the completion fd; the
 * owner collects them (work). qc.lock is a leaf: held for list moves only,
 * never across the engine's I/O.
 *
 * Reads on the owner's thread: a READ whose clusters are plain and mapped by
 * the L2 table the engine has cached skips the worker. The owner looks the
 * place up (qcow2_map_cached(), no I/O) and reads it through a ring of its
 * own, whose completions signal the completion fd: no wake-up of the worker
 * and back, which cost random 4 KiB reads a tenth of a raw disk's rate. The
 * rules that keep it right, all counted on the owner's side:
 *   - the engine is looked at only while the worker has nothing
 *     (`handed` 0): the owner's collecting of the worker's last results
 *     under qc.lock orders what the worker did before the look;
 *   - not while a write-type request is queued and not completed
 *     (`writes`): a read must not pass a write queued before it, so such
 *     reads queue behind it for the worker, in order;
 *   - a batch holding a write-type request is handed over only once the
 *     owner's reads have completed: a DISCARD could otherwise free a
 *     cluster one of them is reading and a write fill it with another
 *     place's data (or a table) before the read gets there.
 * FLUSH needs nothing more: reads have no order against it.
 */
#include "vmm/disk.h"
#include "vmm/disk_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/iov.h"
#include "vmm/log.h"
#include "vmm/qcow2.h"

/* DISCARD and WRITE_ZEROES go to the engine in pieces this long, aligned to it,
 * so that a drain waits for one piece: a multiple of every cluster size. */
#define ZERO_PIECE (64ull << 20)

#define DRAIN_TRIES 8 /* submissions a drain tries before it gives the owner's ring up */

/* Append the list head..tail (linked through slot.next, not empty) to (*h, *t). */
static void list_append(struct disk *d, int *h, int *t, int head, int tail)
{
	if (*h < 0)
		*h = head;
	else
		d->slot[*t].next = head;
	*t = tail;
}

static bool cancelled(struct disk *d)
{
	return __atomic_load_n(&d->qc.cancel, __ATOMIC_RELAXED);
}

/*
 * READ and WRITE straight from and into the buffers, a slice at a time (a
 * drain waits for one). No copy of what the guest writes: the engine only
 * writes those bytes, derives nothing from them, so a guest that changes
 * them meanwhile only gets a mix of its own old and new data, as on raw.
 */
static int run_rw(struct disk *d, const struct disk_req *r)
{
	struct disk_qcow2 *c = &d->qc;
	uint64_t pos = 0;
	int err = 0;

	while (pos < r->len && !err) {
		size_t n = r->len - pos < DISK_QCOW2_SLICE ? (size_t)(r->len - pos) : DISK_QCOW2_SLICE;
		unsigned int k;

		if (pos && cancelled(d))
			return -ECANCELED;
		iov_slice(r->iov, r->niov, pos, n, c->part, DISK_MAX_IOV, &k);
		err = r->op == DISK_READ ? qcow2_readv(c->q, r->offset + pos, c->part, k, n)
					 : qcow2_writev(c->q, r->offset + pos, c->part, k, n);
		pos += n;
	}
	return err;
}

/* DISCARD and WRITE_ZEROES, a piece at a time. */
static int run_zero(struct disk *d, const struct disk_req *r)
{
	uint64_t off = r->offset, end = r->offset + r->len;
	int err = 0;

	while (off < end && !err) {
		uint64_t stop = (off / ZERO_PIECE + 1) * ZERO_PIECE;

		if (off != r->offset && cancelled(d))
			return -ECANCELED;
		if (stop > end)
			stop = end;
		err = r->op == DISK_DISCARD ? qcow2_discard(d->qc.q, off, stop - off)
					    : qcow2_write_zeroes(d->qc.q, off, stop - off);
		off = stop;
	}
	return err;
}

static int run(struct disk *d, const struct disk_req *r)
{
	switch (r->op) {
	case DISK_READ:
	case DISK_WRITE:
		return run_rw(d, r);
	case DISK_FLUSH:
		return qcow2_flush(d->qc.q);
	case DISK_DISCARD:
	case DISK_WRITE_ZEROES:
		return run_zero(d, r);
	}
	return -EOPNOTSUPP;
}

/*
 * Reads of allocated clusters go to the worker's own io_uring ring, many
 * with one system call, straight into the guest's buffers (what a batch of
 * random 4 KiB reads needs to keep up with a raw disk). qcow2_map() gives
 * where the data is; nothing writes the image until the ring is empty
 * (ring_wait_all() before any other request), so the place stays right.
 */
static bool ring_read(struct disk *d, int i)
{
	struct disk_qcow2 *c = &d->qc;
	const struct disk_req *r = &d->slot[i].r;
	struct io_uring_sqe *sqe;
	uint64_t host;

	if (!c->ring_ok || r->op != DISK_READ || qcow2_map(c->q, r->offset, r->len, &host) || !host)
		return false;
	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe)
		return false; /* (the ring has an entry per slot) */
	io_uring_prep_readv(sqe, 0, r->iov, r->niov, host);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	io_uring_sqe_set_data64(sqe, (uint64_t)i);
	c->ring_pending++;
	return true;
}

/* Submit the reads in the ring and wait for all of them. */
static void ring_wait_all(struct disk *d)
{
	struct disk_qcow2 *c = &d->qc;

	while (c->ring_pending) {
		struct io_uring_cqe *cqe;
		int err = io_uring_submit_and_wait(&c->ring, 1);

		if (err < 0 && err != -EINTR && err != -EAGAIN && err != -EBUSY) {
			/* Not seen: the ring gave up. Its reads may still run: no guest buffer is
			 * safe to hand back. Stop the worker's use of it and keep waiting. */
			c->ring_ok = false;
			usleep(1000);
			continue;
		}
		while (c->ring_pending && !io_uring_peek_cqe(&c->ring, &cqe)) {
			uint64_t i = io_uring_cqe_get_data64(cqe);

			if (i < d->depth)
				d->slot[i].result = cqe->res < 0 ? cqe->res
						    : (uint64_t)cqe->res == d->slot[i].r.len ? 0 : -EIO;
			io_uring_cqe_seen(&c->ring, cqe);
			c->ring_pending--;
		}
	}
}

/*
 * The worker takes everything handed over so far as one batch, runs it in
 * order, and hands the results back together: one wake-up and one signal
 * of the completion fd per batch, not per request (a queue of 16 random
 * reads costs the I/O thread one turn). A drain (`cancel`) stops it between
 * requests; the rest of the batch completes with -ECANCELED.
 */
static void *worker(void *arg)
{
	struct disk *d = arg;
	struct disk_qcow2 *c = &d->qc;
	int err = c->thread_init ? c->thread_init(c->init_ctx) : 0;

	pthread_mutex_lock(&c->lock);
	c->init_err = err;
	c->init_done = true;
	pthread_cond_broadcast(&c->idle);
	while (!err) {
		int head, tail, i;

		while (!c->stop && c->todo_head < 0)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stop)
			break;
		head = c->todo_head;
		tail = c->todo_tail;
		c->todo_head = c->todo_tail = -1;
		c->current = head;
		pthread_mutex_unlock(&c->lock);
		for (i = head; i >= 0; i = d->slot[i].next) {
			if (cancelled(d)) {
				d->slot[i].result = -ECANCELED;
			} else if (!ring_read(d, i)) {
				ring_wait_all(d); /* in order: nothing runs beside the ring's reads */
				d->slot[i].result = run(d, &d->slot[i].r);
			}
		}
		ring_wait_all(d);
		pthread_mutex_lock(&c->lock);
		c->current = -1;
		list_append(d, &c->done_head, &c->done_tail, head, tail);
		pthread_cond_broadcast(&c->idle);
		disk_signal(d);
	}
	pthread_mutex_unlock(&c->lock);
	/* Here, not in qcow2_close() on the main thread, whose seccomp policy has no pwrite. */
	if (!err && qcow2_release_reserved(c->q)) {
		/* The clusters stay leaked: qemu-img check -r leaks reclaims them. */
	}
	return NULL;
}

/* What qc_start() set up, the thread aside (joined first). */
static void release(struct disk_qcow2 *c)
{
	if (c->ring_ok)
		io_uring_queue_exit(&c->ring);
	c->ring_ok = false;
	if (c->fring_open)
		io_uring_queue_exit(&c->fring);
	c->fring_ok = c->fring_open = false;
	pthread_cond_destroy(&c->idle);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
}

/*
 * The owner's ring, for reads only, on the image alone, its completions on
 * the completion fd. Without it every read goes to the worker (as before).
 * Completions the kernel finishes for the owner wait for its next system
 * call (COOP_TASKRUN), as on the raw engine's ring.
 */
static void setup_fring(struct disk *d)
{
	struct disk_qcow2 *c = &d->qc;

	if (io_uring_queue_init(d->depth, &c->fring,
				IORING_SETUP_R_DISABLED | IORING_SETUP_COOP_TASKRUN |
					IORING_SETUP_TASKRUN_FLAG) < 0 &&
	    io_uring_queue_init(d->depth, &c->fring, IORING_SETUP_R_DISABLED) < 0)
		return;
	c->fring_ok = c->fring_open = !disk_ring_fence(&c->fring, d->fd, d->efd, false);
	if (!c->fring_ok)
		io_uring_queue_exit(&c->fring);
}

static int qc_start(struct disk *d, int (*thread_init)(void *ctx), void *ctx)
{
	struct disk_qcow2 *c = &d->qc;
	int err;

	c->todo_head = c->todo_tail = c->done_head = c->done_tail = -1;
	c->batch_head = c->batch_tail = c->current = -1;
	c->thread_init = thread_init;
	c->init_ctx = ctx;
	/* Without a usable ring (no io_uring, no restrictions) reads are preadv() calls. */
	if (!io_uring_queue_init(d->depth, &c->ring, IORING_SETUP_R_DISABLED)) {
		c->ring_ok = !disk_ring_fence(&c->ring, d->fd, -1, false);
		if (!c->ring_ok)
			io_uring_queue_exit(&c->ring);
	}
	setup_fring(d);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	pthread_cond_init(&c->idle, NULL);
	err = -pthread_create(&c->thread, NULL, worker, d);
	if (err)
		goto err_sync;
	c->thread_started = true;
	pthread_mutex_lock(&c->lock);
	while (!c->init_done)
		pthread_cond_wait(&c->idle, &c->lock);
	err = c->init_err;
	pthread_mutex_unlock(&c->lock);
	if (!err)
		return 0;
	pthread_join(c->thread, NULL);
	c->thread_started = false;
err_sync:
	release(c);
	return err;
}

/* Complete slot `i` with `result`, keeping the owner's count of write-type requests. */
static void finish(struct disk *d, int i, int result)
{
	if (disk_op_writes(d->slot[i].r.op))
		d->qc.writes--;
	disk_complete(d, i, result);
}

/*
 * Serve READ `i` on the owner's thread when the rules above allow it: zeros
 * (at most a slice) at once, plain clusters through the owner's ring. False:
 * it is the worker's.
 */
static bool fast_read(struct disk *d, int i)
{
	struct disk_qcow2 *c = &d->qc;
	const struct disk_req *r = &d->slot[i].r;
	struct io_uring_sqe *sqe;
	uint64_t host;
	bool zero;

	if (!c->fring_ok || c->handed || c->writes ||
	    qcow2_map_cached(c->q, r->offset, r->len, &host, &zero))
		return false;
	if (zero && r->len <= DISK_QCOW2_SLICE) {
		for (unsigned int k = 0; k < r->niov; k++)
			memset(r->iov[k].iov_base, 0, r->iov[k].iov_len);
		finish(d, i, 0);
		return true;
	}
	if (!host)
		return false;
	sqe = io_uring_get_sqe(&c->fring);
	if (!sqe)
		return false; /* (the ring has an entry per slot) */
	io_uring_prep_readv(sqe, 0, r->iov, r->niov, host);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	io_uring_sqe_set_data64(sqe, (uint64_t)i);
	d->slot[i].fast = true;
	c->fast++;
	return true;
}

/* Give the kernel the reads prepared on the owner's ring; what it does not take yet stays. */
static void fast_submit(struct disk *d)
{
	if (d->qc.fring_ok && io_uring_sq_ready(&d->qc.fring))
		(void)io_uring_submit(&d->qc.fring); /* left over: backlog, the next work() */
}

/* Complete what the owner's ring has finished; `wait`: block for one. 0 or io_uring's error. */
static int fast_reap(struct disk *d, bool wait)
{
	struct disk_qcow2 *c = &d->qc;
	struct io_uring_cqe *cqe;
	int err = 0;

	while (c->fast) {
		uint64_t i;

		err = wait ? io_uring_wait_cqe(&c->fring, &cqe) : io_uring_peek_cqe(&c->fring, &cqe);
		if (err < 0)
			break;
		i = io_uring_cqe_get_data64(cqe);
		if (i < d->depth && d->slot[i].busy && d->slot[i].fast) {
			d->slot[i].fast = false;
			finish(d, (int)i, cqe->res < 0 ? cqe->res
					  : (uint64_t)cqe->res == d->slot[i].r.len ? 0 : -EIO);
		}
		io_uring_cqe_seen(&c->fring, cqe);
		c->fast--;
		wait = false;
	}
	return err == -EAGAIN ? 0 : err;
}

static void qc_queue(struct disk *d, int i)
{
	struct disk_qcow2 *c = &d->qc;

	if (disk_op_writes(d->slot[i].r.op))
		c->writes++;
	else if (d->slot[i].r.op == DISK_READ && fast_read(d, i))
		return;
	disk_list_add(d, &c->batch_head, &c->batch_tail, i);
	c->batch_n++;
}

/* Hand the batch to the worker, unless it must wait for the owner's reads (see the top). */
static void hand_over(struct disk *d)
{
	struct disk_qcow2 *c = &d->qc;

	if (c->batch_head < 0 || (c->writes && c->fast))
		return;
	pthread_mutex_lock(&c->lock);
	list_append(d, &c->todo_head, &c->todo_tail, c->batch_head, c->batch_tail);
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	c->handed += c->batch_n;
	c->batch_head = c->batch_tail = -1;
	c->batch_n = 0;
}

static void qc_submit(struct disk *d)
{
	fast_submit(d);
	hand_over(d);
}

/* Complete the list from `head` (the worker's, collected back). */
static void collect(struct disk *d, int head, int result)
{
	int i;

	while ((i = head) >= 0) {
		head = d->slot[i].next;
		d->slot[i].next = -1;
		d->qc.handed--;
		finish(d, i, result ? result : d->slot[i].result);
	}
}

static void qc_work(struct disk *d)
{
	struct disk_qcow2 *c = &d->qc;
	int head;

	fast_submit(d);
	if (c->fast && fast_reap(d, false) < 0) {
		/* Not seen: the next drain gives the ring up if it goes on refusing. */
	}
	pthread_mutex_lock(&c->lock);
	head = c->done_head;
	c->done_head = c->done_tail = -1;
	pthread_mutex_unlock(&c->lock);
	collect(d, head, 0);
	hand_over(d); /* a batch that waited for the owner's reads */
}

static bool qc_backlog(const struct disk *d)
{
	/* The worker's work and the ring's reads report through the completion fd themselves;
	 * reads the ring did not take yet need another work(). */
	return d->qc.fring_ok && io_uring_sq_ready(&d->qc.fring);
}

/*
 * Wait for every read on the owner's ring. Should the ring refuse them, it
 * is never entered again (the buffers are not ours after a drain): the reads
 * it never took complete with -ECANCELED, and reads go to the worker.
 */
static void fast_drain(struct disk *d)
{
	struct disk_qcow2 *c = &d->qc;

	if (!c->fring_ok)
		return; /* no ring, or given up: nothing on it */
	for (int tries = 0; tries < DRAIN_TRIES && io_uring_sq_ready(&c->fring); tries++) {
		fast_submit(d);
		if (fast_reap(d, false) < 0)
			break;
	}
	/* What the kernel took is waited for, even if it will not take the rest. */
	while (c->fast > io_uring_sq_ready(&c->fring)) {
		int err = fast_reap(d, true);

		if (err < 0 && err != -EINTR)
			break;
	}
	if (!c->fast)
		return;
	log_err("%s: io_uring stopped taking requests; qcow2 reads go through the disk's worker "
		"from now on", d->info.path);
	c->fring_ok = false;
	c->fast = 0;
	for (unsigned int j = 0; j < d->depth; j++) {
		if (d->slot[j].busy && !d->slot[j].done && d->slot[j].fast) {
			d->slot[j].fast = false;
			finish(d, (int)j, -ECANCELED);
		}
	}
}

static void qc_drain(struct disk *d)
{
	struct disk_qcow2 *c = &d->qc;
	int i, todo;

	while ((i = disk_list_take(d, &c->batch_head, &c->batch_tail)) >= 0)
		finish(d, i, -ECANCELED);
	c->batch_n = 0;
	fast_drain(d);
	pthread_mutex_lock(&c->lock);
	todo = c->todo_head;
	c->todo_head = c->todo_tail = -1;
	__atomic_store_n(&c->cancel, true, __ATOMIC_RELAXED);
	while (c->current >= 0)
		pthread_cond_wait(&c->idle, &c->lock);
	__atomic_store_n(&c->cancel, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->lock);
	collect(d, todo, -ECANCELED);
	qc_work(d);
}

static void qc_stop(struct disk *d)
{
	struct disk_qcow2 *c = &d->qc;

	if (!c->thread_started)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	c->thread_started = false;
	release(c);
}

const struct disk_engine_ops disk_qcow2_ops = {
	.start = qc_start,
	.queue = qc_queue,
	.submit = qc_submit,
	.work = qc_work,
	.backlog = qc_backlog,
	.drain = qc_drain,
	.stop = qc_stop,
};
