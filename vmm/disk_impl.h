#pragma once
/*
 * Inside the disk layer: what vmm/disk.c (options, checks, slots,
 * completions) shares with its engines, vmm/disk_raw.c (raw over io_uring
 * or synchronous calls) and vmm/disk_qcow2.c (qcow2 on a worker thread).
 * Not for use outside the layer: everyone else has vmm/disk.h, which is
 * included first (this header uses its types).
 */
#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>


struct qcow2;

/* One request from disk_queue() to disk_reap(). */
struct disk_slot {
	struct disk_req r; /* as queued: r.iov still points at the owner's array */
	int next;	   /* the engine's list link (merged run, FIFO), or -1 */
	int result;	   /* once completed */
	bool busy;	   /* queued and not reaped */
	bool done;	   /* completed, waiting to be reaped */
	uint64_t done_bytes; /* zeroing in slices: bytes already written */
	bool fast;	     /* qcow2: a READ on the owner's own ring, not the worker's */
};

/*
 * An engine. Every hook runs on the owner's thread, with the owner's
 * serialisation, except what a worker thread of the engine's own does.
 */
struct disk_engine_ops {
	/* Set up (ring, thread); may switch d->info.engine to another engine's ops. */
	int (*start)(struct disk *d, int (*thread_init)(void *ctx), void *ctx);
	/* Take slot `i`, already checked; complete it now (disk_complete) or later. */
	void (*queue)(struct disk *d, int i);
	/* The doorbell: hand what queue() kept to the kernel or the worker. */
	void (*submit)(struct disk *d);
	/* Up to a turn's work, and completions collected (disk_complete). */
	void (*work)(struct disk *d);
	/* Work left that needs another work() call (not I/O the kernel is doing). */
	bool (*backlog)(const struct disk *d);
	/* Nothing in flight on return: unstarted requests complete with -ECANCELED. */
	void (*drain)(struct disk *d);
	/* Undo start() (drained first). */
	void (*stop)(struct disk *d);
};

extern const struct disk_engine_ops disk_raw_ops;
extern const struct disk_engine_ops disk_qcow2_ops;

#define DISK_MERGE_BYTES (1u << 20) /* longest merged transfer (raw over io_uring) */

/* The raw engine's state: io_uring with merging, or synchronous calls. */
struct disk_raw {
	bool uring;	/* transfers go through io_uring (else preadv/pwritev here) */
	bool ring_open; /* the ring exists (uring may have been given up since) */
	bool merge;	/* the kernel copies iovecs at submission (SUBMIT_STABLE) */
	struct io_uring ring;
	unsigned int inflight; /* transfers the kernel has taken and not completed */
	/* The run being merged: first and last slot (-1: none), bytes, iovecs. */
	int run, run_last;
	uint64_t run_bytes;
	unsigned int run_niov;
	struct iovec *miov; /* merged transfers' iovecs, until the submission that takes them */
	unsigned int miov_used;
	/* Work for this thread, first in first out (-1: none): every request
	 * with aio=sync; through io_uring, zeros written in slices and a FLUSH
	 * that must wait for them. */
	int sync_head, sync_tail;
};

/* The qcow2 engine's state: one worker thread over vmm/qcow2.h. */
struct disk_qcow2 {
	struct qcow2 *q;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* disk.lock: guards the lists and flags below; a leaf */
	pthread_cond_t wake;  /* the worker waits on it for work */
	pthread_cond_t idle;  /* disk_drain() waits on it for the worker */
	int todo_head, todo_tail; /* handed over by submit, first in first out */
	int done_head, done_tail; /* finished by the worker */
	int current;		  /* the first request of the batch the worker is on, or -1 */
	bool cancel;		  /* drain: stop the current request after its slice */
	bool stop;
	int init_err; /* thread_init's result */
	bool init_done;
	int (*thread_init)(void *ctx);
	void *init_ctx;
	struct io_uring ring; /* the worker's, for reads of allocated clusters (if ring_ok) */
	bool ring_ok;
	unsigned int ring_pending; /* reads in the ring */
	struct iovec part[DISK_MAX_IOV]; /* the worker's: one slice of a request's iovecs */
	/* Kept by submit until the doorbell: the batch not handed over yet. */
	int batch_head, batch_tail;
	unsigned int batch_n;
	/*
	 * The owner's side (no lock: the owner's thread only). Reads of plain
	 * clusters whose L2 table the engine has cached go to the owner's own
	 * ring, not to the worker (vmm/disk_qcow2.c, "Reads on the owner's
	 * thread"): allowed only while `handed` and `writes` are 0.
	 */
	unsigned int handed; /* requests given to the worker and not collected back */
	unsigned int writes; /* write-type requests queued and not completed */
	struct io_uring fring; /* the owner's ring, for those reads */
	bool fring_ok;	 /* reads may go to it (given up if the kernel stops taking them) */
	bool fring_open; /* it exists, to be torn down */
	unsigned int fast; /* reads in fring, submitted or not, not reaped */
};

struct disk {
	struct disk_info info;
	struct disk_options opt;
	const struct disk_engine_ops *ops;
	int fd;		/* the image (qcow2: the top image; its chain is the engine's) */
	int base_fd;	/* snapshot=on: the user's image, under the overlay on fd (else -1) */
	int efd;	/* the completion fd, an eventfd (-1 before disk_start()) */
	struct disk_slot *slot;
	unsigned int depth;
	int free_head; /* free slots, linked through next */
	unsigned int busy; /* slots queued and not reaped */
	unsigned int *done; /* completed slots, in order, a ring of depth entries */
	unsigned int done_first, done_n;
	bool flush_failed; /* sticky: every later FLUSH fails */
	bool meta_failed;  /* sticky (qcow2): every later write-type request fails */
	bool guard;	   /* probed raw, writable: no qcow2 magic into sector 0 */
	bool guard_logged;
	bool full_logged;
	struct disk_stats stats;
	struct disk_raw raw;
	struct disk_qcow2 qc;
};

/*
 * A WRITE at offset 0 of a guarded image (probed raw, writable): done here
 * and now, from a copy of the first sector that is checked for the qcow2
 * magic (refused with -EIO) so that the guest cannot change it between the
 * check and the write. Returns 0 or -errno; the slot is not completed.
 */
int disk_raw_guarded_write(struct disk *d, int i);

/*
 * io_uring operations are not system calls, so a thread's seccomp filter
 * cannot see them: a ring (created IORING_SETUP_R_DISABLED) is fenced
 * before it is enabled. Vectored reads (and with `writes`, vectored writes
 * and fsync), only on `fd` (registered as fixed file 0, which every request
 * must name), with drain as the one other flag; no register operation
 * once enabled. `efd` (or -1) is registered for completions. 0 or -EIO
 * (a kernel before 5.10 has io_uring without restrictions).
 */
int disk_ring_fence(struct io_uring *ring, int fd, int efd, bool writes);

/* Complete slot `i` with `result` (0 or -errno). Owner's thread. */
void disk_complete(struct disk *d, int i, int result);

/* Signal the completion fd. Any thread. */
void disk_signal(struct disk *d);

/* True for WRITE, DISCARD and WRITE_ZEROES. */
bool disk_op_writes(enum disk_op op);

/* Append slot `i` to the list (*head, *tail) linked through slot.next. */
void disk_list_add(struct disk *d, int *head, int *tail, int i);

/* Take the first slot of the list, or -1. */
int disk_list_take(struct disk *d, int *head, int *tail);
