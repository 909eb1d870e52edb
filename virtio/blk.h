#pragma once
/*
 * virtio-blk over a raw image file (virtio 1.2, 5.2): IN, OUT, FLUSH,
 * GET_ID, DISCARD and WRITE_ZEROES, with several requests in flight
 * through io_uring (synchronous preadv/pwritev where io_uring is not
 * available). Requests are parsed from chains the virtqueue has already
 * checked; sector ranges are checked against the image size; a FLUSH
 * starts only after every request submitted before it has completed, and
 * completes only after fdatasync().
 *
 * The image is locked (OFD lock: shared for read-only, exclusive
 * otherwise) so that two writers cannot share it.
 *
 * Threads: requests are parsed, submitted and completed on the I/O thread
 * with the virtio_dev lock held.
 *
 * Merging: through io_uring, requests of the same direction that continue
 * one another on the disk (as a guest's sequential I/O does) go to the
 * kernel as one vectored read or write of up to BLK_MERGE_BYTES, which
 * saves the kernel's fixed cost per request; each still completes on its
 * own descriptor chain, all with the merged transfer's outcome.
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
#include <liburing.h>

#include "virtio/virtio.h"
#include "vmm/evloop.h"

#define BLK_QUEUE_SIZE 256
#define BLK_SEG_MAX (VQ_MAX_SEGS - 2) /* header and status take a descriptor each */

/*
 * A disk image opened, checked and locked before the VM exists, so that a
 * missing, empty or busy image is reported before /dev/kvm is needed.
 */
struct blk_image {
	const char *path;
	int fd; /* -1: closed, or handed to a device */
	bool readonly;
	uint64_t sectors;
};

/*
 * Open `path` (read-only or read-write), check that it is a file or block
 * device of at least one sector and take its OFD lock (shared for
 * read-only, exclusive otherwise). Logs a message naming the file and the
 * reason on failure (missing, unreadable, empty, locked by another process)
 * and returns -errno with img->fd == -1.
 */
__attribute__((warn_unused_result)) int blk_image_open(struct blk_image *img, const char *path,
						       bool readonly);
/* Close an image that no device took over; harmless when already closed. */
void blk_image_close(struct blk_image *img);

struct blk_options {
	const char *path;
	struct blk_image *image; /* opened by blk_image_open(): blk_open() takes its fd; or NULL */
	bool readonly;
	const char *id; /* serial reported by GET_ID (up to 20 bytes), may be NULL */
	bool sync_io;	/* no io_uring: each request done in turn on the I/O thread */
	unsigned int poll_us; /* longest look at an idle queue before asking for kicks; 0: never */
};

#define BLK_POLL_US_DEFAULT 32
#define BLK_POLL_US_MAX 1000
#define BLK_MERGE_BYTES (1u << 20) /* longest merged transfer */
#define BLK_MERGE_IOV 1024	   /* iovecs of all merged transfers in one submission (UIO_MAXIOV) */
/*
 * Work per turn of the I/O thread, so that one queue cannot hold it while
 * the guest keeps the ring fed: requests taken, bytes moved by synchronous
 * transfers, and zeros written where the file system cannot zero a range
 * (a WRITE_ZEROES of up to 2 GiB goes out in slices, one a turn). The rest
 * waits for the queue's next turn, after the loop's other sources.
 */
#define BLK_TURN_REQS BLK_QUEUE_SIZE
#define BLK_TURN_SYNC_BYTES (8u << 20)
#define BLK_ZERO_SLICE (1u << 20)

struct blk_req {
	bool busy;
	uint16_t head;
	uint8_t *status;   /* the chain's last writable byte */
	uint32_t used_len; /* bytes written into the chain, status included */
	int64_t expect;	   /* result io_uring must report for success */
	uint32_t type;	   /* IN, OUT or FLUSH, while in flight */
	uint64_t off;	   /* image offset of IN and OUT */
	int next;	   /* slot merged behind this one into the same transfer, or -1 */
	unsigned int niov;
	struct iovec iov[VQ_MAX_SEGS];
};

struct blk {
	struct virtio_dev vdev;
	const char *path;
	int fd;
	bool readonly;
	uint64_t sectors;
	char id[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config cfg;
	struct evloop *loop;
	bool uring;	 /* transfers go through io_uring (else synchronous preadv/pwritev) */
	bool ring_open;	 /* the ring exists (uring may have been given up since) */
	struct io_uring ring;
	int uring_fd; /* eventfd io_uring signals on completions */
	unsigned int inflight; /* transfers the kernel has taken and not completed */
	bool stalled; /* stopped taking requests: all slots in use */
	/* Queue polling (process_queue()): the longest window, the current one, and
	 * when the queue last went back to kicks (0: it has not, or the window is full). */
	uint64_t poll_max_ns, poll_ns, kicks_since;
	/* The run of requests being merged (process_queue() closes it before it
	 * submits): its first and last slot (-1: none), bytes and iovecs. */
	int run, run_last;
	uint64_t run_bytes;
	unsigned int run_niov;
	bool merge; /* the kernel copies a request's iovecs when it takes it (SUBMIT_STABLE) */
	struct iovec *miov; /* merged transfers' iovecs, until the submission that takes them */
	unsigned int miov_used;
	uint64_t merged; /* requests that went to the kernel inside another's transfer */
	struct blk_req *req;
	unsigned int nreq;
	/* More to do than a turn allows: this eventfd, set, brings the I/O thread
	 * back after its other sources (-1: no event loop, every turn runs whole). */
	int resume_fd;
	bool resume_armed;
	/* The WRITE_ZEROES being written in slices (slot -1: none), and whether
	 * another one waits for it (the queue takes nothing meanwhile). */
	int zero_slot;
	uint64_t zero_off, zero_left;
	bool zero_wait;
};

/*
 * Take over o->image (or open and lock o->path when it is NULL) and set up
 * the device. Logs a message naming the
 * file and the reason on failure (missing, unreadable, empty, locked by
 * another process). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int blk_open(struct blk *b, const struct blk_options *o,
						 const struct gm *mem, struct evloop *loop);
void blk_close(struct blk *b);
