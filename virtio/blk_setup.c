/*
 * virtio-blk set-up and teardown: the image opened, checked and locked, the
 * io_uring ring fenced to that image, the device's configuration. The
 * requests themselves are virtio/blk.c's.
 */
#include "virtio/blk.h"
#include "virtio/blk_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/log.h"

int blk_image_open(struct blk_image *img, const char *path, bool readonly)
{
	struct flock lk = { .l_type = readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	uint64_t size = 0;
	int err;

	memset(img, 0, sizeof(*img));
	img->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (img->fd < 0) {
		err = -errno;
		log_err("cannot open disk image '%s'%s: %s", path, readonly ? "" : " for writing",
			strerror(-err));
		return err;
	}
	if (fstat(img->fd, &st) < 0) {
		err = -errno;
		goto err_fd;
	}
	if (S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (!S_ISBLK(st.st_mode) || ioctl(img->fd, BLKGETSIZE64, &size) < 0) {
		log_err("disk image '%s' is neither a file nor a block device", path);
		err = -EINVAL;
		goto err_fd;
	}
	if (size < SECTOR) {
		log_err("disk image '%s' is empty (%llu bytes); create it first, e.g. truncate -s 1G %s",
			path, (unsigned long long)size, path);
		err = -EINVAL;
		goto err_fd;
	}
	if (fcntl(img->fd, F_OFD_SETLK, &lk) < 0) {
		log_err("disk image '%s' is in use by another process (%s lock held)", path,
			readonly ? "write" : "read or write");
		err = -EBUSY;
		goto err_fd;
	}
	if (size % SECTOR)
		log_warn("disk image '%s': the last %llu bytes (less than a sector) are not visible",
			 path, (unsigned long long)(size % SECTOR));
	img->path = path;
	img->readonly = readonly;
	img->sectors = size / SECTOR;
	return 0;

err_fd:
	close(img->fd);
	img->fd = -1;
	return err;
}

void blk_image_close(struct blk_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

/* Take over an open image (o->image) or open o->path; fills path, fd, readonly, sectors. */
static int open_image(struct blk *b, const struct blk_options *o)
{
	struct blk_image own, *img = o->image;
	int err;

	if (!img) {
		err = blk_image_open(&own, o->path, o->readonly);
		if (err) {
			b->fd = -1;
			return err;
		}
		img = &own;
	}
	b->fd = img->fd;
	img->fd = -1; /* the device owns it now */
	b->path = img->path;
	b->readonly = img->readonly;
	b->sectors = img->sectors;
	return 0;
}

static void fill_config(struct blk *b)
{
	struct virtio_blk_config *c = &b->cfg;

	memset(c, 0, sizeof(*c));
	c->capacity = b->sectors;
	c->seg_max = BLK_SEG_MAX;
	c->blk_size = SECTOR;
	c->max_discard_sectors = MAX_DISCARD_SECTORS;
	c->max_discard_seg = 1;
	c->discard_sector_alignment = 4096 / SECTOR;
	c->max_write_zeroes_sectors = MAX_DISCARD_SECTORS;
	c->max_write_zeroes_seg = 1;
	c->write_zeroes_may_unmap = 1;
}

/*
 * io_uring operations are not system calls, so the I/O thread's seccomp
 * filter cannot see them: the ring itself is restricted to what a disk
 * needs before it is enabled. Vectored reads and writes and fsync, only on
 * the image (registered as fixed file 0, which every request must use),
 * with drain as the one other flag; no register operation once enabled.
 */
static int restrict_ring(struct blk *b)
{
	struct io_uring_restriction res[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_IO_DRAIN },
	};

	/* The raw system call: Debian 12's shared liburing lacks the last two helpers. */
	if (io_uring_register_files(&b->ring, &b->fd, 1) < 0 ||
	    io_uring_register_eventfd(&b->ring, b->uring_fd) < 0 ||
	    syscall(__NR_io_uring_register, b->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, res,
		    sizeof(res) / sizeof(res[0])) < 0 ||
	    syscall(__NR_io_uring_register, b->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		return -EIO;
	return 0;
}

static int setup_uring(struct blk *b)
{
	b->uring_fd = -1;
	/*
	 * Completions the kernel finishes on this thread's behalf wait for its next
	 * system call rather than interrupting it (COOP_TASKRUN; TASKRUN_FLAG tells
	 * liburing's peek to enter the kernel for them): buffered writes, which
	 * io_uring hands to its workers on ext4, went 10% faster so. Kernels before
	 * 5.19 lack both flags.
	 */
	if (io_uring_queue_init(BLK_QUEUE_SIZE, &b->ring,
				IORING_SETUP_R_DISABLED | IORING_SETUP_COOP_TASKRUN |
					IORING_SETUP_TASKRUN_FLAG) < 0 &&
	    io_uring_queue_init(BLK_QUEUE_SIZE, &b->ring, IORING_SETUP_R_DISABLED) < 0) {
		log_info("io_uring unavailable: disk I/O is synchronous");
		return 0;
	}
	b->uring_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->uring_fd < 0 || restrict_ring(b) < 0) {
		/* A kernel older than 5.10 has io_uring without restrictions: not used. */
		log_info("io_uring restrictions unavailable: disk I/O is synchronous");
		if (b->uring_fd >= 0)
			close(b->uring_fd);
		b->uring_fd = -1;
		io_uring_queue_exit(&b->ring);
		return 0;
	}
	if (evloop_add(b->loop, b->uring_fd, blk_uring_ready, b) < 0) {
		close(b->uring_fd);
		b->uring_fd = -1;
		io_uring_queue_exit(&b->ring);
		return -EIO;
	}
	b->uring = b->ring_open = true;
	/* Merging needs the kernel to copy iovecs when it takes a request (5.5 on). */
	b->merge = b->ring.features & IORING_FEAT_SUBMIT_STABLE;
	return 0;
}

/* The eventfd that gives the disk another turn (none without an event loop). */
static int setup_resume(struct blk *b)
{
	if (!b->loop)
		return 0;
	b->resume_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->resume_fd < 0)
		return -errno;
	if (evloop_add(b->loop, b->resume_fd, blk_resume_ready, b) < 0) {
		close(b->resume_fd);
		b->resume_fd = -1;
		return -EIO;
	}
	return 0;
}

static void close_resume(struct blk *b)
{
	if (b->resume_fd < 0)
		return;
	evloop_del(b->loop, b->resume_fd);
	close(b->resume_fd);
	b->resume_fd = -1;
}

int blk_open(struct blk *b, const struct blk_options *o, const struct gm *mem, struct evloop *loop)
{
	uint64_t features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			    (1ULL << VIRTIO_BLK_F_FLUSH);
	int err;

	memset(b, 0, sizeof(*b));
	b->loop = loop;
	b->uring_fd = -1;
	b->resume_fd = -1;
	b->zero_slot = -1;
	err = open_image(b, o);
	if (err)
		goto err_fd;
	if (b->readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	if (o->id) /* 20 bytes, NUL-padded, not terminated when all 20 are used (as specified) */
		memcpy(b->id, o->id, strnlen(o->id, sizeof(b->id)));
	fill_config(b);
	b->poll_max_ns = (uint64_t)(o->poll_us < BLK_POLL_US_MAX ? o->poll_us : BLK_POLL_US_MAX) * 1000;
	b->poll_ns = b->poll_max_ns;
	b->nreq = BLK_QUEUE_SIZE;
	b->req = calloc(b->nreq, sizeof(*b->req)); /* pages are touched only when used */
	b->miov = calloc(BLK_MERGE_IOV, sizeof(*b->miov));
	b->run = -1;
	if (!b->req || !b->miov) {
		err = -ENOMEM;
		goto err_req;
	}
	err = o->sync_io ? 0 : setup_uring(b);
	if (err)
		goto err_req;
	err = setup_resume(b);
	if (err)
		goto err_uring;
	err = virtio_dev_init(&b->vdev, "virtio-blk", VIRTIO_ID_BLOCK, &blk_ops, b, mem, features,
			      sizeof(b->cfg), 1, BLK_QUEUE_SIZE);
	if (err)
		goto err_resume;
	return 0;

err_resume:
	close_resume(b);
err_uring:
	if (b->ring_open) {
		evloop_del(loop, b->uring_fd);
		io_uring_queue_exit(&b->ring);
		close(b->uring_fd);
	}
err_req:
	free(b->req);
	free(b->miov);
err_fd:
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	return err;
}

void blk_close(struct blk *b)
{
	if (b->fd < 0)
		return;
	pthread_mutex_lock(&b->vdev.lock);
	blk_reset(&b->vdev);
	pthread_mutex_unlock(&b->vdev.lock);
	close_resume(b);
	if (b->ring_open) {
		evloop_del(b->loop, b->uring_fd);
		io_uring_queue_exit(&b->ring);
		close(b->uring_fd);
	}
	virtio_dev_destroy(&b->vdev);
	free(b->req);
	free(b->miov);
	/*
	 * The ring's fixed-file reference to the image goes only when the kernel
	 * has torn the ring down, some time after io_uring_queue_exit(): release
	 * the lock now, so the image is free for the next user as Ember exits.
	 */
	fcntl(b->fd, F_OFD_SETLK, &(struct flock){ .l_type = F_UNLCK, .l_whence = SEEK_SET });
	close(b->fd);
	b->fd = -1;
}
