#pragma once
/*
 * The disk layer: an image of some format, opened and served by one engine,
 * behind a small asynchronous interface. virtio-blk (the protocol: chains,
 * status bytes, features, GET_ID, polling the ring) sits above it; the
 * formats and the ways of moving bytes sit below it. Design: docs/disk.md.
 *
 * Objects
 *   struct disk      an opened image: a format (raw or qcow2) and an engine
 *                    (raw over io_uring, raw with synchronous calls, or qcow2
 *                    on a worker thread). Opaque; engines are const ops tables
 *                    inside the layer.
 *   struct disk_req  one request: a cookie the caller chooses (virtio-blk: its
 *                    slot), a type (READ, WRITE, FLUSH, DISCARD, WRITE_ZEROES),
 *                    a byte offset and length, and for READ and WRITE the
 *                    iovecs (guest buffers).
 *   struct disk_done one completion: the cookie and a result, 0 or -errno.
 *
 * Submission and completion
 *   disk_queue() adds requests to a batch; disk_submit() is the doorbell that
 *   hands the whole batch to the engine (one io_uring_enter, or one wake-up of
 *   the worker). Completions are announced on one file descriptor,
 *   disk_completion_fd(), which the owner watches with the I/O thread's epoll
 *   and never reads itself; disk_reap() hands back (cookie, result) pairs.
 *   The same fd also brings the owner back when the disk has synchronous work
 *   left over from a turn (see "Threads"): the owner's only duty is to call
 *   disk_reap() when it is readable. Every request queued gets exactly one
 *   completion, including invalid ones (their error comes through disk_reap()
 *   too, so the caller has one path for results).
 *
 * Ordering
 *   None between requests in flight: two of them may start, finish and reach
 *   the medium in any order, and a READ overlapping a WRITE in flight may see
 *   old bytes, new bytes or a mix. (The virtio spec promises a driver no
 *   more; Linux waits for a write to complete before it depends on it.)
 *   The one rule is FLUSH: it completes only after every WRITE, DISCARD and
 *   WRITE_ZEROES queued before it on this disk has completed and, if it
 *   succeeded, is durable (survives a host crash or power loss). This is
 *   stronger than the spec's minimum (writes *completed* before the flush) and
 *   is what virtio-blk does today (IOSQE_IO_DRAIN). Requests queued after a
 *   FLUSH may complete before it. A completed WRITE that no FLUSH has covered
 *   yet may be lost, wholly or in part, by a crash.
 *   qcow2: the engine orders its own metadata with barriers (fdatasync)
 *   inside each call: refcounts first (a cluster's refcount is raised
 *   before any table points at it), then data, then the L2 entry that maps
 *   it, then L1 (a new table is written before what points at it), and a
 *   pointer is removed before the refcount of what it pointed at drops. So
 *   the tables are consistent after a crash at any moment (at worst leaked
 *   clusters). Data and its L2 entry have no barrier between them: until a
 *   FLUSH, a crash may keep the entry and lose the data, and the cluster
 *   then reads what the image file held there (zeros, or this image's own
 *   freed data, never another file's). A FLUSH is one fdatasync of the
 *   image, made after every request before it; the L2 cache is
 *   write-through, so no dirty metadata waits for it. Backing files are
 *   read-only and need no flush.
 *
 * Errors (struct disk_done.result) and virtio-blk's status byte
 *   0            success: every byte moved (a short transfer is -EIO)  -> OK
 *   -EOPNOTSUPP  the disk cannot do this type at all                    -> UNSUPP
 *   -EROFS       a write-type request on a read-only disk (virtio-blk
 *                offered VIRTIO_BLK_F_RO and should not have sent it)   -> IOERR
 *   -ENOSPC      the host file system (or a qcow2 table limit) has no
 *                room: the guest sees an I/O error, the user is told
 *                (rate-limited) which image and file system filled up   -> IOERR
 *   -EIO         the host reported an I/O error, a transfer came up
 *                short, a FLUSH failed, or the qcow2 image's metadata
 *                is malformed                                           -> IOERR
 *   -EINVAL      offset or length not a multiple of DISK_SECTOR, past
 *                the end of the disk, or iovecs that do not add up to
 *                len (virtio-blk checks first; this is a second line)   -> IOERR
 *   -ECANCELED   dropped by disk_drain() before it started (reset): the
 *                caller discards it, there is no chain to complete
 *   other -errno (-ENOMEM, ...)                                         -> IOERR
 *   Two errors are sticky. After a FLUSH fails every later FLUSH fails too:
 *   the kernel may have dropped the dirty pages and cleared the error, and
 *   a later success would tell the guest that lost data is durable. After
 *   qcow2 reports malformed metadata (-EIO from a write, discard or zeroing)
 *   the disk fails every later write-type request with -EIO without touching
 *   the file, so one bad table cannot spread; reads go on. Each is logged
 *   once, naming the image and what to do (qemu-img check).
 *
 * Threads
 *   main thread: disk_open() (before /dev/kvm is opened), disk_start(),
 *     disk_close() (after the I/O and vCPU threads have stopped).
 *   the owner: disk_queue(), disk_submit(), disk_reap(), disk_drain(),
 *     disk_inflight(), disk_stats(). The disk has no lock for these: the
 *     owner serialises them (virtio-blk: its virtio_dev lock), so they run on
 *     the I/O thread, or on a vCPU thread for a reset (disk_drain()).
 *   raw engines run on the owner's thread: io_uring needs no thread of
 *     ours, and aio=sync makes its system calls inside disk_reap(), bounded
 *     per call (DISK_TURN_SYNC_BYTES, or one DISK_ZERO_SLICE of zeros);
 *     what is left waits for the next disk_reap(), which the completion fd
 *     asks for (disk_backlog() says so).
 *   qcow2 runs on a worker thread of its own, one per qcow2 disk, not on
 *     the I/O thread under a budget: an allocating qcow2 write makes several
 *     fdatasync barriers, whose time no byte budget bounds (milliseconds to
 *     seconds on a loaded host), and the I/O thread also serves the NICs, the
 *     consoles and the other disks. One worker also gives the engine the
 *     serialised calls it requires with no lock inside it, and FIFO order
 *     gives FLUSH its rule for free. The worker takes requests in FIFO order
 *     from a hand-off list guarded by the disk's mutex (a leaf lock: taken
 *     under virtio_dev.lock, never the other way round, never held across a
 *     system call other than the eventfd write), moves data straight between
 *     the guest's buffers and the file in slices of at most DISK_QCOW2_SLICE
 *     bytes, and installs its seccomp filter first (disk_start()'s
 *     thread_init). READs the engine can place with no I/O (plain clusters
 *     of its cached L2 table, clusters that hold nothing) are served on the
 *     owner's thread instead, through a ring of the owner's own or zeroed at
 *     once, and only while the worker holds no request and no write-type
 *     request is queued (docs/disk.md, "Reads on the I/O thread").
 *
 * Reset and drain
 *   disk_drain() returns when no request is in flight: what no engine has
 *   started is dropped (-ECANCELED), the rest is waited for; afterwards no
 *   engine touches any request's buffers again. A reset runs it on the vCPU
 *   thread that wrote the status, so it waits at most for the I/O in the
 *   kernel and one slice of the qcow2 worker's current request.
 *
 * Options, probing and open-time checks
 *   format=raw|qcow2, or absent: probed (qcow2 magic "QFI\xfb" and version 2
 *   or 3 at offset 0 -> qcow2, anything else -> raw). format=raw is never
 *   probed: a raw image the guest writes can hold anything at offset 0,
 *   including a qcow2 header that names a host file (/etc/shadow, another
 *   VM's disk) as its backing file; probing it on the next start would hand
 *   that file to the guest. So a raw image reached by probing and opened
 *   writable refuses (-EIO, logged once with the hint "add format=raw")
 *   any write that would put the qcow2 magic into its first four bytes.
 *   readonly: the image is opened O_RDONLY and locked shared.
 *   snapshot=on: the image is opened read-only and locked shared, and the
 *   guest writes to a temporary qcow2 overlay whose backing file is that
 *   image (named through /proc/self/fd, so it is the very file checked and
 *   locked, with its format recorded so it is never probed again), created
 *   unlinked (O_TMPFILE in $TMPDIR, else DISK_SNAPSHOT_DIR): gone when Ember
 *   exits, even when killed. With readonly=on it changes nothing.
 *   aio=io_uring (default; synchronous if the kernel lacks io_uring or its
 *   restrictions, logged) or aio=sync: the raw engines. qcow2 ignores it.
 *   disk_open() does every check that can fail for a reason the user can fix,
 *   before /dev/kvm: the file exists, is a regular file or block device, has
 *   at least one sector (raw) or a valid header with supported features
 *   (qcow2; a dirty image or unsupported refcount width only read-only), is
 *   not locked by another user (OFD lock: exclusive when writable, shared
 *   otherwise; OFD locks belong to the open file, so the same image given
 *   twice, once writable, is refused too), its backing chain opens (each
 *   backing file read-only and locked shared as a reader, so no one can open
 *   it for writing while the VM runs, and a backing file some writer holds
 *   is refused), and the overlay is created.
 *   A message names the file, the reason and the fix.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define DISK_SECTOR	     512u
#define DISK_MAX_IOV	     1024u	/* iovecs in one request (UIO_MAXIOV) */
#define DISK_TURN_SYNC_BYTES (8u << 20) /* bytes moved synchronously per call (aio=sync) */
#define DISK_ZERO_SLICE	     (1u << 20) /* zeros written per call where fallocate cannot */
#define DISK_QCOW2_SLICE     (1u << 20) /* bytes the qcow2 worker moves per engine call */
#define DISK_SNAPSHOT_DIR    "/var/tmp" /* overlays without $TMPDIR (often disk, not RAM) */

struct disk;

enum disk_format {
	DISK_FORMAT_PROBE, /* no format= given: probed, with the sector-0 guard above */
	DISK_FORMAT_RAW,
	DISK_FORMAT_QCOW2,
};

enum disk_aio {
	DISK_AIO_IO_URING,
	DISK_AIO_SYNC,
};

struct disk_options {
	enum disk_format format;
	enum disk_aio aio;
	bool readonly;
	bool snapshot; /* writes go to a temporary qcow2 overlay, deleted at exit */
};

enum disk_engine {
	DISK_ENGINE_RAW_URING,
	DISK_ENGINE_RAW_SYNC,
	DISK_ENGINE_QCOW2,
};

/* What the device needs to describe the disk (virtio-blk's config and features). */
struct disk_info {
	const char *path;
	enum disk_format format; /* as opened: never DISK_FORMAT_PROBE */
	enum disk_engine engine; /* RAW_URING may become RAW_SYNC in disk_start() */
	bool readonly;		 /* the guest cannot write (readonly=on, or a read-only qcow2) */
	uint64_t size;		 /* bytes, a multiple of DISK_SECTOR */
	uint32_t discard_align;	 /* bytes: 4096 for raw, the cluster size for qcow2 */
};

enum disk_op {
	DISK_READ,
	DISK_WRITE,
	DISK_FLUSH,
	DISK_DISCARD,	   /* a hint: each sector then reads as before or as zeros */
	DISK_WRITE_ZEROES, /* the range reads as zeros once it completes */
};

#define DISK_F_UNMAP 1u /* WRITE_ZEROES: the range may be deallocated */

struct disk_req {
	uint64_t cookie; /* any value; handed back in struct disk_done */
	enum disk_op op;
	uint32_t flags;	 /* DISK_F_*; 0 for other types than WRITE_ZEROES */
	uint64_t offset; /* bytes, a multiple of DISK_SECTOR; 0 for FLUSH */
	uint64_t len;	 /* bytes, a multiple of DISK_SECTOR (READ, WRITE: the iovecs' sum) */
	/* READ and WRITE: the buffers; the array and the memory it points at stay
	 * valid and unchanged until this request's completion is reaped. */
	const struct iovec *iov;
	unsigned int niov; /* at most DISK_MAX_IOV */
};

struct disk_done {
	uint64_t cookie;
	int result; /* 0 or -errno: see "Errors" above */
};

/* Counters for -v and the tests. */
struct disk_stats {
	uint64_t requests; /* queued */
	uint64_t merged;   /* went to the kernel inside another request's transfer */
	uint64_t errors;   /* completed with a result other than 0 or -ECANCELED */
};

/*
 * Open `path` as `o` says (NULL: probed, io_uring, writable, no snapshot),
 * with every check listed above, and store a new disk in *dp. No thread is
 * started and no ring is created yet. Logs a message naming the file, the
 * reason and the fix on failure, and returns -errno: -ENOENT, -EACCES and
 * the like from the system, -EINVAL not a usable image (empty, not a file
 * or block device, not valid qcow2 with format=qcow2), -EOPNOTSUPP a qcow2
 * feature not handled, -EROFS fine read-only only, -EBUSY the image or a
 * backing file locked by another user, -ELOOP a backing chain that loops or
 * is too deep. Main thread, before /dev/kvm.
 */
__attribute__((warn_unused_result)) int disk_open(struct disk **dp, const char *path,
						  const struct disk_options *o);

/*
 * Get the disk ready to serve up to `depth` requests in flight: the io_uring
 * ring (restricted to this image's reads, writes and fsync) or the qcow2
 * worker, and the completion fd. `thread_init(ctx)` (may be NULL) runs first
 * on a worker thread the disk starts (its seccomp filter); disk_start()
 * waits for it and fails with its value when nonzero. Falling back from
 * io_uring to aio=sync is logged, not an error. Returns 0 or -errno. Main
 * thread.
 */
__attribute__((warn_unused_result)) int disk_start(struct disk *d, unsigned int depth,
						   int (*thread_init)(void *ctx), void *ctx);

/*
 * Drain (disk_drain()), stop the worker, tear the ring down, release every
 * lock and close the image, its backing chain and its overlay (which goes
 * with its fd). Completions not reaped are dropped. NULL is fine. Main
 * thread, once nothing else calls into the disk.
 */
void disk_close(struct disk *d);

/* The disk as opened; valid until disk_close(). Any thread. */
const struct disk_info *disk_info(const struct disk *d);

/*
 * The fd to watch for input (eventfd semantics; the owner must not read it):
 * readable when disk_reap() has completions to hand back or work to do.
 * Valid from disk_start() to disk_close().
 */
int disk_completion_fd(const struct disk *d);

/*
 * Add `r` to the batch the next disk_submit() hands to the engine. The disk
 * keeps `r->iov` (not a copy) until the completion is reaped; `*r` itself may
 * go. Through io_uring, a READ or WRITE that continues the one queued just
 * before it (same type, adjacent range) may go to the kernel inside the same
 * transfer (up to 1 MiB); each still completes on its own cookie, all with
 * that transfer's result. Returns 0 (the request will complete through
 * disk_reap(), errors included), or -EAGAIN with nothing queued when `depth`
 * requests are already in flight: the owner stops taking requests until a
 * completion frees a place (back-pressure). Owner's thread.
 */
__attribute__((warn_unused_result)) int disk_queue(struct disk *d, const struct disk_req *r);

/*
 * The doorbell: hand everything queued since the last call to the engine. If
 * the kernel takes less than offered, the rest stays queued and goes with the
 * next disk_submit() or disk_reap(); nothing is lost. Synchronous work
 * (aio=sync) is left for disk_reap(), which the completion fd asks for.
 * Owner's thread.
 */
void disk_submit(struct disk *d);

/*
 * Hand back up to `max` completions into `done` without blocking, after up
 * to a turn's synchronous work (aio=sync transfers, zero slices). Returns
 * how many. When more completions or work remain, the completion fd is left
 * readable. Cheap when nothing is ready (the owner calls it while it polls
 * its queue). Owner's thread.
 */
unsigned int disk_reap(struct disk *d, struct disk_done *done, unsigned int max);

/*
 * The owner's handler for the completion fd calls this first: it clears the
 * fd, so that it becomes readable again only for what comes after. (The
 * owner may call disk_reap() at any other time without it.) Owner's thread.
 */
void disk_ack(struct disk *d);

/*
 * Whether the disk has synchronous work left that only disk_reap() does
 * (aio=sync transfers past a turn's allowance, zeros written in slices).
 * An owner with no event loop calls disk_reap() until it is false. Owner's
 * thread.
 */
bool disk_backlog(const struct disk *d);

/* Requests queued and not reaped yet. Owner's thread. */
unsigned int disk_inflight(const struct disk *d);

/*
 * Wait until no engine has a request in flight: those not started complete
 * with -ECANCELED, the others complete as they end; all are left for
 * disk_reap(). On return no engine touches any request's buffers again.
 * Blocks (for I/O in the kernel and at most one DISK_QCOW2_SLICE of the
 * worker). Should io_uring stop reporting completions, the ring is never
 * entered again and the disk goes on with synchronous calls (logged).
 * Owner's thread, which may be a vCPU thread (reset).
 */
void disk_drain(struct disk *d);

/* Copy the disk's counters. Owner's thread. */
void disk_stats(const struct disk *d, struct disk_stats *s);
