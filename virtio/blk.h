#pragma once
/*
 * virtio-blk (virtio 1.2, 5.2): IN, OUT, FLUSH, GET_ID, DISCARD and
 * WRITE_ZEROES over a disk of the disk layer (vmm/disk.h), which knows the
 * image's format and moves its bytes. This file is the protocol: chains
 * parsed from a queue the virtqueue has already checked, the header and
 * sector range checked, each request handed to the disk with its slot as
 * the cookie, and the status byte written when the disk reports back.
 *
 * Threads: requests are parsed, queued and completed on the I/O thread
 * with the virtio_dev lock held; the disk's completion fd is one of the I/O
 * thread's sources. A reset (vCPU thread) drains the disk first.
 *
 * Kicks: a kick costs the guest an exit, so once the queue is empty the
 * I/O thread keeps looking at it for a short window (poll_us) before it
 * asks the guest to kick again (EVENT_IDX). The window adapts: it halves
 * each time nothing comes, and grows when a kick arrives soon after the
 * queue went back to kicks.
 */
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_blk.h>

#include "virtio/virtio.h"
#include "vmm/disk.h"
#include "vmm/evloop.h"

#define BLK_QUEUE_SIZE 256
#define BLK_SEG_MAX (VQ_MAX_SEGS - 2) /* header and status take a descriptor each */

struct blk_options {
	const char *path;
	struct disk *disk; /* opened by disk_open(): blk_open() takes it over; or NULL */
	bool readonly;	   /* without `disk`: open `path` (raw) read-only */
	const char *id; /* serial reported by GET_ID (up to 20 bytes), may be NULL */
	bool sync_io;	/* without `disk`: aio=sync, no io_uring */
	unsigned int poll_us; /* longest look at an idle queue before asking for kicks; 0: never */
	/* Runs first on a thread the disk starts (qcow2's worker): its seccomp filter. */
	int (*thread_init)(void *ctx);
	void *thread_ctx;
};

#define BLK_POLL_US_DEFAULT 32
#define BLK_POLL_US_MAX 1000
/*
 * Requests taken per turn of the I/O thread, so that one queue cannot hold
 * it while the guest keeps the ring fed; the disk bounds its own
 * synchronous work per turn (vmm/disk.h). The rest waits for the queue's
 * next turn, after the loop's other sources.
 */
#define BLK_TURN_REQS BLK_QUEUE_SIZE

struct blk_req {
	bool busy;
	uint16_t head;
	uint8_t *status;   /* the chain's last writable byte */
	uint32_t used_len; /* bytes written into the chain, status included */
	unsigned int niov;
	struct iovec iov[VQ_MAX_SEGS]; /* the data: the disk reads or writes these */
};

struct blk {
	struct virtio_dev vdev;
	const char *path;
	struct disk *disk;
	bool readonly;
	uint64_t sectors;
	char id[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config cfg;
	struct evloop *loop;
	bool stalled; /* stopped taking requests: all slots in use, or the disk has a backlog */
	/* Queue polling (process_queue()): the longest window, the current one, and
	 * when the queue last went back to kicks (0: it has not, or the window is full). */
	uint64_t poll_max_ns, poll_ns, kicks_since;
	struct blk_req *req;
	unsigned int nreq;
	/* More requests than a turn takes: this eventfd, set, brings the I/O thread
	 * back after its other sources (-1: no event loop, every turn runs whole). */
	int resume_fd;
	bool resume_armed;
};

/*
 * Take over o->disk (or open o->path as a raw image when it is NULL), start
 * it and set up the device. The disk is closed on failure too. Logs a
 * message naming the file and the reason on failure (missing, unreadable,
 * empty, locked by another process). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int blk_open(struct blk *b, const struct blk_options *o,
						 const struct gm *mem, struct evloop *loop);
void blk_close(struct blk *b);

/*
 * No request in flight or waiting in the disk, none taken from the ring
 * and unfinished. Call with the I/O thread parked (evloop_park()).
 */
bool blk_idle(struct blk *b);
