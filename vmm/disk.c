/*
 * The disk layer's common part: opening an image (probing, locking, the
 * checks a user can act on), the request slots, the second line of request
 * checks, completions and the sticky errors. The engines move the bytes:
 * vmm/disk_raw.c and vmm/disk_qcow2.c. Contract: vmm/disk.h.
 */
#include "vmm/disk.h"
#include "vmm/disk_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/qcow2.h"

#define QCOW2_MAGIC "QFI\xfb"

bool disk_op_writes(enum disk_op op)
{
	return op == DISK_WRITE || op == DISK_DISCARD || op == DISK_WRITE_ZEROES;
}

void disk_list_add(struct disk *d, int *head, int *tail, int i)
{
	d->slot[i].next = -1;
	if (*head < 0)
		*head = i;
	else
		d->slot[*tail].next = i;
	*tail = i;
}

int disk_list_take(struct disk *d, int *head, int *tail)
{
	int i = *head;

	if (i >= 0) {
		*head = d->slot[i].next;
		if (*head < 0)
			*tail = -1;
		d->slot[i].next = -1;
	}
	return i;
}

void disk_signal(struct disk *d)
{
	uint64_t one = 1;

	if (d->efd >= 0 && write(d->efd, &one, sizeof(one)) < 0) {
		/* Only EAGAIN is possible (the counter is full): it is readable anyway. */
	}
}

/* Whether the 8 bytes at the start of an image are a qcow2 header's. */
static bool is_qcow2_header(const uint8_t *p)
{
	return !memcmp(p, QCOW2_MAGIC, 4) && p[4] == 0 && p[5] == 0 && p[6] == 0 &&
	       (p[7] == 2 || p[7] == 3);
}

void disk_complete(struct disk *d, int i, int result)
{
	struct disk_slot *s = &d->slot[i];

	s->result = result;
	s->done = true;
	if (result && result != -ECANCELED)
		d->stats.errors++;
	if (s->r.op == DISK_FLUSH && result && result != -ECANCELED && !d->flush_failed) {
		d->flush_failed = true;
		log_err("%s: a flush failed (%s): data the guest wrote may be lost; every later flush "
			"fails too", d->info.path, strerror(-result));
	}
	if (d->info.engine == DISK_ENGINE_QCOW2 && disk_op_writes(s->r.op) && result == -EIO &&
	    !d->meta_failed) {
		d->meta_failed = true;
		log_err("%s: malformed qcow2 metadata: the disk refuses writes from now on; run "
			"qemu-img check on the image", d->info.path);
	}
	if (result == -ENOSPC && !d->full_logged) {
		d->full_logged = true;
		log_err("%s: no space left for the image on its file system: the guest sees I/O errors",
			d->info.path);
	}
	d->done[(d->done_first + d->done_n++) % d->depth] = (unsigned int)i;
}

/* The open-time checks of a raw image: a file or block device of at least one sector. */
static int check_raw_size(struct disk *d, uint64_t size)
{
	if (size < DISK_SECTOR) {
		log_err("disk image '%s' is empty (%llu bytes); create it first, e.g. truncate -s 1G %s",
			d->info.path, (unsigned long long)size, d->info.path);
		return -EINVAL;
	}
	if (size % DISK_SECTOR)
		log_warn("disk image '%s': the last %llu bytes (less than a sector) are not visible",
			 d->info.path, (unsigned long long)(size % DISK_SECTOR));
	d->info.size = size - size % DISK_SECTOR;
	d->info.discard_align = 4096;
	d->ops = &disk_raw_ops;
	d->info.engine = d->opt.aio == DISK_AIO_SYNC ? DISK_ENGINE_RAW_SYNC : DISK_ENGINE_RAW_URING;
	return 0;
}

/* Open the qcow2 engine over d->fd (writable or not), with messages a user can act on. */
static int open_qcow2(struct disk *d, bool writable)
{
	struct qcow2_open_opts qo = { .path = d->info.path };
	char why[256];
	int err = qcow2_open(&d->qc.q, d->fd, writable, &qo, why, sizeof(why));

	if (err == -EROFS)
		log_err("qcow2 image '%s' can be opened read-only only: %s (add readonly=on, or "
			"snapshot=on)", d->info.path, why);
	else if (err)
		log_err("qcow2 image '%s': %s", d->info.path, why);
	if (err)
		return err;
	d->info.size = qcow2_virtual_size(d->qc.q) & ~(uint64_t)(DISK_SECTOR - 1);
	d->info.discard_align = qcow2_cluster_size(d->qc.q);
	d->ops = &disk_qcow2_ops;
	d->info.engine = DISK_ENGINE_QCOW2;
	if (!d->info.size) {
		log_err("qcow2 image '%s' has a virtual size of less than a sector", d->info.path);
		return -EINVAL;
	}
	return 0;
}

/* The file itself: opened, a file or block device, locked. Fills *size. */
static int open_file(struct disk *d, bool writable, uint64_t *size)
{
	const char *path = d->info.path;
	struct flock lk = { .l_type = writable ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET };
	struct stat st;
	int err;

	d->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (d->fd < 0) {
		err = -errno;
		log_err("cannot open disk image '%s'%s: %s", path, writable ? " for writing" : "",
			strerror(-err));
		return err;
	}
	if (fstat(d->fd, &st) < 0)
		return -errno;
	*size = 0;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else if (!S_ISBLK(st.st_mode) || ioctl(d->fd, BLKGETSIZE64, size) < 0) {
		log_err("disk image '%s' is neither a file nor a block device", path);
		return -EINVAL;
	}
	if (fcntl(d->fd, F_OFD_SETLK, &lk) < 0) {
		log_err("disk image '%s' is in use by another process (%s lock held)", path,
			writable ? "read or write" : "write");
		return -EBUSY;
	}
	return 0;
}

/* DISK_FORMAT_PROBE: the header decides. Sets d->info.format. */
static int probe(struct disk *d)
{
	uint8_t h[8] = { 0 };
	ssize_t n = pread(d->fd, h, sizeof(h), 0);

	if (n < 0) {
		log_err("cannot read disk image '%s': %s", d->info.path, strerror(errno));
		return -errno;
	}
	d->info.format = n == sizeof(h) && is_qcow2_header(h) ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW;
	return 0;
}

/*
 * snapshot=on: the image (opened read-only and locked shared) becomes the
 * backing file of a new qcow2 overlay that takes the guest's writes. The
 * overlay is an unnamed file (O_TMPFILE), gone when its fd closes, even if
 * Ember is killed; it names its base through /proc/self/fd, so the base is
 * the very file checked and locked here, and records the base's format so
 * that it is never probed.
 */
static int snapshot_overlay(struct disk *d)
{
	const char *dir = getenv("TMPDIR");
	const char *fmt = d->info.format == DISK_FORMAT_QCOW2 ? "qcow2" : "raw";
	char backing[32], why[256];
	int fd, err;

	if (!dir || !*dir)
		dir = DISK_SNAPSHOT_DIR;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		log_err("disk image '%s': snapshot=on cannot create its overlay in %s: %s (set TMPDIR "
			"to a directory on a file system with O_TMPFILE)", d->info.path, dir,
			strerror(-err));
		return err;
	}
	snprintf(backing, sizeof(backing), "/proc/self/fd/%d", d->fd);
	err = qcow2_create_overlay(fd, d->info.size, backing, fmt);
	if (!err) {
		/* The overlay's engine opens its own view of the base (a reader, locked shared). */
		qcow2_close(d->qc.q);
		d->qc.q = NULL;
		err = qcow2_open(&d->qc.q, fd, true, NULL, why, sizeof(why));
		if (err)
			log_err("disk image '%s': snapshot=on: the overlay does not open: %s",
				d->info.path, why);
	} else {
		log_err("disk image '%s': snapshot=on cannot write its overlay in %s: %s",
			d->info.path, dir, strerror(-err));
	}
	if (err) {
		close(fd);
		return err;
	}
	d->base_fd = d->fd;
	d->fd = fd;
	d->ops = &disk_qcow2_ops;
	d->info.engine = DISK_ENGINE_QCOW2;
	d->info.discard_align = qcow2_cluster_size(d->qc.q);
	return 0;
}

int disk_open(struct disk **dp, const char *path, const struct disk_options *o)
{
	static const struct disk_options defaults = { .format = DISK_FORMAT_PROBE };
	struct disk *d = calloc(1, sizeof(*d));
	uint64_t size;
	bool writable;
	int err;

	*dp = NULL;
	if (!d)
		return -ENOMEM;
	d->opt = o ? *o : defaults;
	d->fd = d->efd = d->base_fd = -1;
	d->info.path = path;
	d->info.readonly = d->opt.readonly;
	writable = !d->opt.readonly && !d->opt.snapshot;
	err = open_file(d, writable, &size);
	if (!err && d->opt.format == DISK_FORMAT_PROBE) {
		err = probe(d);
		d->guard = writable && d->info.format == DISK_FORMAT_RAW;
	} else {
		d->info.format = d->opt.format;
	}
	if (!err && d->info.format == DISK_FORMAT_QCOW2)
		err = open_qcow2(d, writable);
	else if (!err)
		err = check_raw_size(d, size);
	if (!err && d->opt.snapshot && !d->opt.readonly)
		err = snapshot_overlay(d);
	if (err) {
		disk_close(d);
		return err;
	}
	*dp = d;
	return 0;
}

int disk_start(struct disk *d, unsigned int depth, int (*thread_init)(void *ctx), void *ctx)
{
	int err;

	if (!depth)
		return -EINVAL;
	d->depth = depth;
	d->slot = calloc(depth, sizeof(*d->slot));
	d->done = calloc(depth, sizeof(*d->done));
	if (!d->slot || !d->done)
		return -ENOMEM;
	for (unsigned int i = 0; i < depth; i++)
		d->slot[i].next = i + 1 < depth ? (int)i + 1 : -1;
	d->free_head = 0;
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->efd < 0)
		return -errno;
	err = d->ops->start(d, thread_init, ctx);
	if (err) {
		close(d->efd);
		d->efd = -1;
	}
	return err;
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	if (d->efd >= 0) {
		disk_drain(d);
		d->ops->stop(d);
		close(d->efd);
	}
	if (d->qc.q)
		qcow2_close(d->qc.q);
	if (d->fd >= 0) {
		/* Released now, not when the last reference to the file goes (an io_uring
		 * ring's fixed file may hold it a while): the image is free as Ember exits. */
		fcntl(d->fd, F_OFD_SETLK, &(struct flock){ .l_type = F_UNLCK, .l_whence = SEEK_SET });
		close(d->fd);
	}
	if (d->base_fd >= 0)
		close(d->base_fd);
	free(d->slot);
	free(d->done);
	free(d);
}

const struct disk_info *disk_info(const struct disk *d)
{
	return &d->info;
}

int disk_completion_fd(const struct disk *d)
{
	return d->efd;
}

/* Whether the iovecs cover exactly `len` bytes (none of them absurd). */
static bool iov_adds_up(const struct disk_req *r)
{
	uint64_t sum = 0;

	if (r->len == 0 && r->niov == 0)
		return true;
	if (!r->iov || !r->niov || r->niov > DISK_MAX_IOV)
		return false;
	for (unsigned int i = 0; i < r->niov; i++) {
		if (r->iov[i].iov_len > r->len - sum)
			return false;
		sum += r->iov[i].iov_len;
	}
	return sum == r->len;
}

/* The second line of checks: 0 or the -errno the request completes with. */
static int check_req(struct disk *d, const struct disk_req *r)
{
	bool rw = r->op == DISK_READ || r->op == DISK_WRITE;

	if (r->op > DISK_WRITE_ZEROES)
		return -EOPNOTSUPP;
	if (disk_op_writes(r->op) && d->info.readonly)
		return -EROFS;
	if (r->op == DISK_FLUSH)
		return d->flush_failed ? -EIO : 0;
	if (r->offset % DISK_SECTOR || r->len % DISK_SECTOR || r->offset > d->info.size ||
	    r->len > d->info.size - r->offset || (rw && !iov_adds_up(r)) ||
	    (r->flags & ~(r->op == DISK_WRITE_ZEROES ? DISK_F_UNMAP : 0u)))
		return -EINVAL;
	if (disk_op_writes(r->op) && d->meta_failed)
		return -EIO;
	return 0;
}

int disk_queue(struct disk *d, const struct disk_req *r)
{
	int i = d->free_head, err;

	if (i < 0)
		return -EAGAIN;
	d->free_head = d->slot[i].next;
	d->slot[i] = (struct disk_slot){ .r = *r, .next = -1, .busy = true };
	d->busy++;
	d->stats.requests++;
	err = check_req(d, r);
	if (!err && r->len == 0 && r->op != DISK_FLUSH) {
		disk_complete(d, i, 0); /* nothing to move */
		return 0;
	}
	if (!err && d->guard && r->op == DISK_WRITE && r->offset == 0)
		err = disk_raw_guarded_write(d, i) ?: 1; /* done here: 1 completes it with 0 */
	if (err) {
		disk_complete(d, i, err > 0 ? 0 : err);
		return 0;
	}
	d->ops->queue(d, i);
	return 0;
}

void disk_submit(struct disk *d)
{
	d->ops->submit(d);
	if (d->done_n || d->ops->backlog(d))
		disk_signal(d);
}

void disk_ack(struct disk *d)
{
	uint64_t n;

	if (read(d->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing was signalled since the last look. */
	}
}

unsigned int disk_reap(struct disk *d, struct disk_done *done, unsigned int max)
{
	unsigned int n = 0;

	d->ops->work(d);
	while (n < max && d->done_n) {
		int i = (int)d->done[d->done_first];

		d->done_first = (d->done_first + 1) % d->depth;
		d->done_n--;
		done[n++] = (struct disk_done){ .cookie = d->slot[i].r.cookie,
						.result = d->slot[i].result };
		d->slot[i].busy = false;
		d->slot[i].next = d->free_head;
		d->free_head = i;
		d->busy--;
	}
	if (d->done_n || d->ops->backlog(d))
		disk_signal(d);
	return n;
}

unsigned int disk_inflight(const struct disk *d)
{
	return d->busy;
}

bool disk_backlog(const struct disk *d)
{
	return d->ops->backlog(d);
}

void disk_drain(struct disk *d)
{
	if (d->efd >= 0)
		d->ops->drain(d);
}

int disk_ring_fence(struct io_uring *ring, int fd, int efd, bool writes)
{
	struct io_uring_restriction res[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_IO_DRAIN },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
	};
	unsigned int n = writes ? 5 : 3;
	char self[32];
	int rfd, err;

	/*
	 * The ring gets a file of its own, opened again through /proc: a ring
	 * keeps its files until the kernel tears it down, some time after the
	 * process is gone, and the image's lock (an OFD lock) would stay with
	 * them: after a SIGKILL the image would still be locked for a while.
	 */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	rfd = open(self, (fcntl(fd, F_GETFL) & O_ACCMODE) | O_CLOEXEC); /* as `fd` was opened */
	err = io_uring_register_files(ring, rfd >= 0 ? &rfd : &fd, 1);
	if (rfd >= 0)
		close(rfd); /* the ring holds its own reference */
	/* The raw system call: Debian 12's shared liburing lacks the last two helpers. */
	if (err < 0 ||
	    (efd >= 0 && io_uring_register_eventfd(ring, efd) < 0) ||
	    syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res, n) < 0 ||
	    syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		return -EIO;
	return 0;
}

void disk_stats(const struct disk *d, struct disk_stats *s)
{
	*s = d->stats;
}
