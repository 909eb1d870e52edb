/*
 * virtio-blk at the edges of its accounting: a read whose length does not
 * fit the 32-bit used length, and a reset while io_uring refuses to take
 * what is queued (the ring's fd is swapped for /dev/null, so every
 * io_uring_enter fails).
 */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "tests/unit/test_blk.h"

#define SEG_255M (255U << 20)
#define HUGE_AT	 (16ULL << 20)

/*
 * A read into 17 overlapping 255 MiB segments (4 GiB + 239 MiB) of an 8 GiB
 * sparse image: IOERR with a used length of 1 (the status byte alone), not a
 * truncated length of data the device claims it wrote. _i: aio=sync.
 */
START_TEST(test_read_of_4g_or_more_refused)
{
	struct fake_seg s[19];
	uint32_t used = 0;
	struct bfx f;

	memset(&f, 0, sizeof(f));
	bfx_image(&f, BFX_IMAGE);
	ck_assert_int_eq(truncate(f.path, 8LL << 30), 0);
	f.size = 8ULL << 30;
	f.ram = 512ULL << 20;
	ck_assert_int_eq(bfx_try_open(&f, false, _i, NULL), 0);
	s[0] = (struct fake_seg){ bfx_hdr(&f, VIRTIO_BLK_T_IN, 0), 16, F_R };
	for (unsigned int i = 1; i <= 17; i++)
		s[i] = (struct fake_seg){ HUGE_AT, SEG_255M, F_W };
	s[18] = (struct fake_seg){ bfx_status(&f), 1, F_W };
	ck_assert_uint_eq(bfx_run(&f, s, 19, &used), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	bfx_close(&f);
}
END_TEST

/* Queue 0 set up again after a reset, DRIVER_OK (what a driver does). */
static void requeue(struct bfx *f)
{
	struct virtio_dev *v = &f->b.vdev;

	f->next = 0;
	fake_vring_init_at(&f->v, &f->m, BLK_QUEUE_SIZE, BFX_RING);
	pthread_mutex_lock(&v->lock);
	ck_assert_int_eq(vq_setup(&v->vq[0], &f->m, BLK_QUEUE_SIZE, f->v.desc, f->v.avail,
				  f->v.used, false, true),
			 0);
	v->driver_features = v->host_features & ~VIRTIO_FEAT_EVENT_IDX;
	v->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		    VIRTIO_STATUS_DRIVER_OK;
	pthread_mutex_unlock(&v->lock);
}

/*
 * Requests queued for io_uring that it never took: the reset must not wait
 * for them (they will never complete), and they must never run afterwards
 * (their buffers are the guest's again). The disk goes on synchronously.
 */
START_TEST(test_reset_with_requests_io_uring_never_took)
{
	int saved, null_fd, ring_fd;
	struct fake_seg s[3];
	struct bfx f;

	bfx_open(&f, false, false, NULL);
	ck_assert(f.b.disk->raw.uring);
	ring_fd = f.b.disk->raw.ring.ring_fd;
	saved = dup(ring_fd);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(null_fd, 0);
	ck_assert_int_eq(dup2(null_fd, ring_fd), ring_fd); /* io_uring_enter now fails */
	for (unsigned int i = 0; i < 2; i++) {
		s[0] = (struct fake_seg){ bfx_hdr(&f, VIRTIO_BLK_T_IN, 8 * i), 16, F_R };
		s[1] = (struct fake_seg){ BFX_DATA + 4096 * i, 4096, F_W };
		s[2] = (struct fake_seg){ bfx_status(&f), 1, F_W };
		bfx_publish(&f, s, 3);
	}
	bfx_kick(&f);
	ck_assert_uint_eq(bfx_used_idx(&f), 0); /* taken, never submitted */
	pthread_mutex_lock(&f.b.vdev.lock);
	virtio_driver_reset(&f.b.vdev); /* spun for ever before the fix */
	pthread_mutex_unlock(&f.b.vdev.lock);
	ck_assert(!f.b.disk->raw.uring);
	ck_assert_int_eq(dup2(saved, ring_fd), ring_fd);
	close(saved);
	close(null_fd);
	/* The disk works on, synchronously; the refused reads never ran. */
	bfx_fill(&f, BFX_DATA, 0xaa, 8192);
	requeue(&f);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 3, BFX_DATA2, 512, NULL), VIRTIO_BLK_S_OK);
	ck_assert(bfx_guest_is_pattern(&f, BFX_DATA2, 3 * 512, 512));
	ck_assert_uint_eq(bfx_get8(&f, BFX_DATA), 0xaa);
	ck_assert_uint_eq(bfx_get8(&f, BFX_DATA + 4096), 0xaa);
	bfx_close(&f);
}
END_TEST

/*
 * A FLUSH is done synchronously only when io_uring has no submission entry
 * for it; queue_transfer() then drains the ring first. That path is not
 * reached: the ring has an entry for every request slot (a merged transfer
 * takes one for several), so some slot is always busy without an entry
 * when the ring is full. This pins that down.
 */
START_TEST(test_ring_has_an_entry_per_slot)
{
	struct bfx f;

	bfx_open(&f, false, false, NULL);
	ck_assert(f.b.disk->raw.uring);
	ck_assert_uint_ge(*f.b.disk->raw.ring.sq.kring_entries, f.b.nreq);
	bfx_close(&f);
}
END_TEST

void blk_edge_tcases(Suite *s)
{
	TCase *tc = tcase_create("edges");

	tcase_add_loop_test(tc, test_read_of_4g_or_more_refused, 0, 2);
	tcase_add_test(tc, test_reset_with_requests_io_uring_never_took);
	tcase_add_test(tc, test_ring_has_an_entry_per_slot);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
}
