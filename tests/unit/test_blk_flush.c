/*
 * virtio/blk's io_uring ring: a FLUSH must not start before the writes
 * submitted ahead of it (it would make durable less than the driver asked
 * for), and the ring takes nothing but the disk's own requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_blk.h"

/* OUT of 512 bytes from BFX_DATA to sector 8; *status: its status byte. Returns the head. */
static uint16_t publish_write(struct bfx *f, uint64_t *status)
{
	struct fake_seg w[3];

	w[0] = (struct fake_seg){ bfx_hdr(f, VIRTIO_BLK_T_OUT, 8), 16, F_R };
	w[1] = (struct fake_seg){ BFX_DATA, 512, F_R };
	w[2] = (struct fake_seg){ bfx_status(f), 1, F_W };
	*status = w[2].addr;
	return bfx_publish(f, w, 3);
}

static uint16_t publish_flush(struct bfx *f)
{
	struct fake_seg s[2];

	s[0] = (struct fake_seg){ bfx_hdr(f, VIRTIO_BLK_T_FLUSH, 0), 16, F_R };
	s[1] = (struct fake_seg){ bfx_status(f), 1, F_W };
	return bfx_publish(f, s, 2);
}

/* The SQE submitted `back` places before the ring's tail (0: the last one). */
static const struct io_uring_sqe *sqe_before_tail(struct bfx *f, unsigned int back)
{
	const struct io_uring_sq *sq = &f->b.disk->raw.ring.sq;

	return &sq->sqes[(sq->sqe_tail - 1 - back) & sq->ring_mask];
}

/*
 * A write and a FLUSH kicked together: the FLUSH goes to io_uring with
 * IOSQE_IO_DRAIN, so it starts only after the write has completed, and both
 * name the image as fixed file 0 (the only file the restricted ring takes).
 */
START_TEST(test_uring_flush_drains)
{
	struct virtio_dev *v;
	const struct io_uring_sqe *w, *fs;
	struct bfx f;
	uint64_t wst;
	uint16_t wr, fl;
	uint32_t id, len;

	bfx_open(&f, false, false, NULL);
	if (!f.b.disk->raw.uring) {
		fprintf(stderr, "flush ordering: io_uring unavailable, skipped\n");
		bfx_close(&f);
		return;
	}
	v = &f.b.vdev;
	bfx_fill(&f, BFX_DATA, 0x77, 512);
	pthread_mutex_lock(&v->lock);
	wr = publish_write(&f, &wst);
	fl = publish_flush(&f);
	v->ops->queue_notify(v, 0);
	w = sqe_before_tail(&f, 1);
	fs = sqe_before_tail(&f, 0);
	ck_assert_uint_eq(w->opcode, IORING_OP_WRITEV);
	ck_assert_uint_eq(w->flags, IOSQE_FIXED_FILE);
	ck_assert_int_eq(w->fd, 0);
	ck_assert_uint_eq(fs->opcode, IORING_OP_FSYNC);
	ck_assert_uint_eq(fs->flags, IOSQE_FIXED_FILE | IOSQE_IO_DRAIN);
	ck_assert_int_eq(fs->fd, 0);
	pthread_mutex_unlock(&v->lock);

	bfx_wait_used(&f, 2);
	fake_vring_used_elem(&f.v, 0, &id, &len);
	ck_assert_uint_eq(id, wr);
	ck_assert_uint_eq(bfx_get8(&f, wst), VIRTIO_BLK_S_OK);
	fake_vring_used_elem(&f.v, 1, &id, &len);
	ck_assert_uint_eq(id, fl);
	bfx_close(&f);
}
END_TEST

/* Submit one SQE on the device's ring and return its result. Lock held. */
static int ring_try(struct bfx *f, void (*prep)(struct io_uring_sqe *, int), int fd)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&f->b.disk->raw.ring);
	int res;

	ck_assert_ptr_nonnull(sqe);
	prep(sqe, fd);
	io_uring_sqe_set_data64(sqe, ~0ULL);
	ck_assert_int_eq(io_uring_submit(&f->b.disk->raw.ring), 1);
	ck_assert_int_eq(io_uring_wait_cqe(&f->b.disk->raw.ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(&f->b.disk->raw.ring, cqe);
	return res;
}

static char scratch[512];
static struct iovec scratch_iov = { scratch, sizeof(scratch) };

static void prep_read_plain(struct io_uring_sqe *sqe, int fd)
{
	io_uring_prep_readv(sqe, fd, &scratch_iov, 1, 0); /* a plain fd, not fixed file 0 */
}

static void prep_read_fixed(struct io_uring_sqe *sqe, int fd)
{
	(void)fd;
	io_uring_prep_readv(sqe, 0, &scratch_iov, 1, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
}

static void prep_openat(struct io_uring_sqe *sqe, int fd)
{
	(void)fd;
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
}

static void prep_read_linked(struct io_uring_sqe *sqe, int fd)
{
	prep_read_fixed(sqe, fd);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE | IOSQE_IO_LINK);
}

/*
 * The ring is restricted (io_uring operations bypass seccomp): a read of the
 * image as fixed file 0 works; a plain fd, another operation or another
 * flag is refused by the kernel.
 */
START_TEST(test_uring_ring_restricted)
{
	struct virtio_dev *v;
	struct bfx f;
	int fd;

	bfx_open(&f, false, false, NULL);
	if (!f.b.disk->raw.uring) {
		bfx_close(&f);
		return;
	}
	v = &f.b.vdev;
	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	pthread_mutex_lock(&v->lock);
	ck_assert_int_eq(ring_try(&f, prep_read_fixed, fd), 512);
	ck_assert_int_eq(ring_try(&f, prep_read_plain, fd), -EACCES);
	ck_assert_int_eq(ring_try(&f, prep_openat, fd), -EACCES);
	ck_assert_int_eq(ring_try(&f, prep_read_linked, fd), -EACCES);
	pthread_mutex_unlock(&v->lock);
	close(fd);
	bfx_close(&f);
}
END_TEST

void blk_flush_tcases(Suite *s)
{
	TCase *tc = tcase_create("flush ordering");

	tcase_add_test(tc, test_uring_flush_drains);
	tcase_add_test(tc, test_uring_ring_restricted);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
}
