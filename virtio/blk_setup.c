/*
 * virtio-blk set-up and teardown: the disk taken over (or opened) and
 * started, its completion fd watched, the device's configuration. The
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

/* Take over o->disk, or open o->path as a raw image; then start it. */
static int open_disk(struct blk *b, const struct blk_options *o)
{
	struct disk_options dopt = { .format = DISK_FORMAT_RAW, .readonly = o->readonly,
				     .aio = o->sync_io ? DISK_AIO_SYNC : DISK_AIO_IO_URING };
	const struct disk_info *info;
	int err = 0;

	b->disk = o->disk;
	if (!b->disk)
		err = disk_open(&b->disk, o->path, &dopt);
	if (!err)
		err = disk_start(b->disk, BLK_QUEUE_SIZE, o->thread_init, o->thread_ctx);
	if (err)
		return err;
	info = disk_info(b->disk);
	b->path = info->path;
	b->readonly = info->readonly;
	b->sectors = info->size / SECTOR;
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
	c->discard_sector_alignment = disk_info(b->disk)->discard_align / SECTOR;
	c->max_write_zeroes_sectors = MAX_DISCARD_SECTORS;
	c->max_write_zeroes_seg = 1;
	c->write_zeroes_may_unmap = 1;
}

/* The disk's completion fd, one of the event loop's sources (none without a loop). */
static int watch_disk(struct blk *b)
{
	if (!b->loop)
		return 0;
	return evloop_add(b->loop, disk_completion_fd(b->disk), blk_disk_ready, b) < 0 ? -EIO : 0;
}

/* The eventfd that gives the queue another turn (none without an event loop). */
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
	b->resume_fd = -1;
	err = open_disk(b, o);
	if (err)
		goto err_disk;
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
	if (!b->req) {
		err = -ENOMEM;
		goto err_disk;
	}
	err = watch_disk(b);
	if (err)
		goto err_req;
	err = setup_resume(b);
	if (err)
		goto err_watch;
	err = virtio_dev_init(&b->vdev, "virtio-blk", VIRTIO_ID_BLOCK, &blk_ops, b, mem, features,
			      sizeof(b->cfg), 1, BLK_QUEUE_SIZE);
	if (err)
		goto err_resume;
	return 0;

err_resume:
	close_resume(b);
err_watch:
	if (loop)
		evloop_del(loop, disk_completion_fd(b->disk));
err_req:
	free(b->req);
err_disk:
	disk_close(b->disk);
	b->disk = NULL;
	return err;
}

void blk_close(struct blk *b)
{
	if (!b->disk)
		return;
	pthread_mutex_lock(&b->vdev.lock);
	blk_reset(&b->vdev);
	pthread_mutex_unlock(&b->vdev.lock);
	close_resume(b);
	if (b->loop)
		evloop_del(b->loop, disk_completion_fd(b->disk));
	virtio_dev_destroy(&b->vdev);
	free(b->req);
	disk_close(b->disk);
	b->disk = NULL;
}
