/*
 * virtio/blk: opening and locking images, read-only images, and requests
 * through io_uring (completions on the event loop thread): many in flight,
 * more requests than slots, reset and close with requests in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_blk.h"

/* ---- blk_open errors ---- */

/* blk_open (synchronous I/O) on `path`; a failed open leaves nothing to close. */
static int open_path(const char *path, bool readonly)
{
	struct blk_options o = { .path = path, .readonly = readonly, .sync_io = true };
	struct blk b;
	int err;

	memset(&b, 0x5a, sizeof(b));
	err = blk_open(&b, &o, NULL, NULL);
	if (err)
		ck_assert_ptr_null(b.disk);
	blk_close(&b); /* a no-op after a failed open */
	return err;
}

START_TEST(test_open_missing_file)
{
	struct bfx f;

	bfx_image(&f, BFX_IMAGE);
	unlink(f.path);
	ck_assert_int_eq(open_path(f.path, false), -ENOENT);
	ck_assert_int_eq(open_path(f.path, true), -ENOENT);
	ck_assert_int_eq(open_path("", true), -ENOENT);
}
END_TEST

START_TEST(test_open_empty_or_tiny_file)
{
	static const uint64_t sizes[] = { 0, 1, 511 };
	struct bfx f;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		bfx_image(&f, sizes[i]);
		ck_assert_int_eq(open_path(f.path, false), -EINVAL);
		ck_assert_int_eq(open_path(f.path, true), -EINVAL);
		unlink(f.path);
	}
}
END_TEST

START_TEST(test_open_directory_or_char_device)
{
	char dir[] = "/tmp/ember-blk-dir-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(open_path(dir, false), -EISDIR);
	ck_assert_int_eq(open_path(dir, true), -EINVAL);
	rmdir(dir);
	ck_assert_int_eq(open_path("/dev/null", true), -EINVAL);
}
END_TEST

START_TEST(test_open_partial_last_sector)
{
	struct bfx f;
	uint32_t used;

	memset(&f, 0, sizeof(f));
	bfx_image(&f, 1000); /* one sector and 488 bytes the guest cannot see */
	ck_assert_int_eq(bfx_try_open(&f, false, true, NULL), 0);
	ck_assert_uint_eq(f.b.cfg.capacity, 1);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 0, BFX_DATA, 512, &used), VIRTIO_BLK_S_OK);
	ck_assert(bfx_guest_is_pattern(&f, BFX_DATA, 0, 512));
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 0, BFX_DATA, 1024, &used),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_OUT, 1, BFX_DATA, 512, &used),
			  VIRTIO_BLK_S_IOERR);
	ck_assert(bfx_file_is_pattern(&f, 0, 1000));
	bfx_close(&f);
}
END_TEST

/*
 * A disk opened before the VM (disk_open) keeps its lock while it waits;
 * blk_open takes it over and closes it with the device.
 */
START_TEST(test_image_opened_first_then_taken_over)
{
	struct disk_options ro = { .format = DISK_FORMAT_RAW, .readonly = true };
	struct blk_options o = { .sync_io = true };
	struct disk *img, *other;
	struct blk b;
	struct bfx f;

	bfx_image(&f, BFX_IMAGE);
	ck_assert_int_eq(disk_open(&img, f.path, NULL), 0);
	ck_assert_uint_eq(disk_info(img)->size, BFX_IMAGE);
	ck_assert_int_eq(disk_open(&other, f.path, &ro), -EBUSY);
	ck_assert_ptr_null(other);
	o.path = "not opened: the disk is";
	o.disk = img;
	ck_assert_int_eq(blk_open(&b, &o, NULL, NULL), 0);
	ck_assert_uint_eq(b.cfg.capacity, BFX_IMAGE / 512);
	ck_assert_str_eq(b.path, f.path);
	ck_assert_int_eq(fcntl(b.disk->fd, F_GETFD), FD_CLOEXEC);
	blk_close(&b);
	ck_assert_int_eq(disk_open(&img, f.path, NULL), 0); /* the lock went with the disk */
	disk_close(img);
	unlink(f.path);
}
END_TEST

/* ---- locking ---- */

static int open_second(struct bfx *f, struct blk *b, bool readonly)
{
	struct blk_options o = { .path = f->path, .readonly = readonly, .sync_io = true };

	return blk_open(b, &o, &f->m, NULL);
}

START_TEST(test_lock_writer_excludes_everyone)
{
	struct blk b2;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	ck_assert_int_eq(open_second(&f, &b2, false), -EBUSY);
	ck_assert_int_eq(open_second(&f, &b2, true), -EBUSY);
	/* The failed opens did not disturb the first. */
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 0, BFX_DATA, 512, NULL), VIRTIO_BLK_S_OK);
	/* Closing drops the lock. */
	blk_close(&f.b);
	f.opened = false;
	ck_assert_int_eq(open_second(&f, &b2, false), 0);
	blk_close(&b2);
	bfx_close(&f);
}
END_TEST

START_TEST(test_lock_readers_share)
{
	struct blk b2, b3;
	struct bfx f;

	bfx_open(&f, true, true, NULL);
	ck_assert_int_eq(open_second(&f, &b2, true), 0);
	ck_assert_int_eq(open_second(&f, &b3, false), -EBUSY);
	blk_close(&f.b);
	f.opened = false;
	ck_assert_int_eq(open_second(&f, &b3, false), -EBUSY); /* b2 still reads */
	blk_close(&b2);
	ck_assert_int_eq(open_second(&f, &b3, false), 0);
	blk_close(&b3);
	bfx_close(&f);
}
END_TEST

/* ---- read-only images ---- */

START_TEST(test_readonly_image)
{
	uint64_t feat;
	uint32_t used;
	struct bfx f;

	bfx_open(&f, true, true, NULL);
	feat = f.b.vdev.host_features;
	ck_assert(feat & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	ck_assert(!(feat & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)));
	ck_assert(!(feat & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)));
	ck_assert_int_eq(fcntl(f.b.disk->fd, F_GETFL) & O_ACCMODE, O_RDONLY);

	bfx_fill(&f, BFX_DATA, 0x44, 1024);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_OUT, 0, BFX_DATA, 1024, &used),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_DISCARD, 0, 8, 0), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8,
				      VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
			  VIRTIO_BLK_S_IOERR);
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));

	/* Reads, flushes and GET_ID still work. */
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 1, BFX_DATA, 1024, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1025);
	ck_assert(bfx_guest_is_pattern(&f, BFX_DATA, 512, 1024));
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_GET_ID, 0, BFX_DATA, 20, NULL), VIRTIO_BLK_S_OK);
	bfx_close(&f);
}
END_TEST

/* ---- io_uring ---- */

START_TEST(test_uring_round_trip)
{
	uint8_t *src;
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, false, "uring");
	if (!f.b.disk->raw.uring)
		fprintf(stderr, "test_uring_round_trip: io_uring unavailable, ran synchronously\n");
	src = bfx_host(&f, BFX_DATA, 8192);
	for (unsigned int i = 0; i < 8192; i++)
		src[i] = (uint8_t)(i * 13 + 5);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_OUT, 64, BFX_DATA, 8192, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	{
		uint8_t buf[8192];

		bfx_file_read(&f, 64 * 512, buf, sizeof(buf));
		ck_assert_mem_eq(buf, src, sizeof(buf));
	}
	ck_assert(bfx_file_is_pattern(&f, 0, 64 * 512));
	ck_assert(bfx_file_is_pattern(&f, 80 * 512, BFX_IMAGE - 80 * 512));
	bfx_fill(&f, BFX_DATA2, 0, 8192);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 64, BFX_DATA2, 8192, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 8193);
	ck_assert_mem_eq(bfx_host(&f, BFX_DATA2, 8192), src, 8192);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 2, BFX_DATA2, 1024, NULL), VIRTIO_BLK_S_OK);
	ck_assert(bfx_guest_is_pattern(&f, BFX_DATA2, 1024, 1024));
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	/* Requests that complete at once still do, in io_uring mode. */
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_GET_ID, 0, BFX_DATA, 20, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 21);
	ck_assert_mem_eq(bfx_host(&f, BFX_DATA, 6), "uring", 6);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, BFX_SECTORS, BFX_DATA, 512, &used),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(bfx_rw(&f, 99, 0, BFX_DATA, 512, &used), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 2, 0), VIRTIO_BLK_S_OK);
	ck_assert(bfx_file_is_zero(&f, 0, 1024));
	ck_assert_uint_eq(disk_inflight(f.b.disk), 0);
	bfx_close(&f);
}
END_TEST

#define MANY 84 /* 3 descriptors each: all fit in the 256-entry table at once */

START_TEST(test_uring_many_in_flight)
{
	uint16_t head_of[MANY];
	int req_of[BLK_QUEUE_SIZE];
	struct bfx f;

	bfx_open(&f, false, false, NULL);
	memset(req_of, -1, sizeof(req_of));
	/* Reads of sectors 0-31, writes of 64-95, and some that fail at once, in one kick. */
	for (unsigned int k = 0; k < MANY; k++) {
		uint32_t type = k % 3 == 1 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
		uint64_t sector = type == VIRTIO_BLK_T_OUT ? 64 + k / 3 : k / 3;
		uint64_t data = BFX_DATA + 512ULL * k;
		struct fake_seg s[3];

		if (k % 3 == 2)
			sector = BFX_SECTORS + k; /* out of range */
		bfx_fill(&f, data, (uint8_t)k, 512);
		s[0] = (struct fake_seg){ bfx_hdr(&f, type, sector), 16, F_R };
		s[1] = (struct fake_seg){ data, 512, type == VIRTIO_BLK_T_IN };
		s[2] = (struct fake_seg){ BFX_STATUS + 2048 + k, 1, F_W };
		bfx_fill(&f, s[2].addr, 0xff, 1);
		head_of[k] = bfx_publish(&f, s, 3);
		req_of[head_of[k]] = (int)k;
	}
	bfx_kick(&f);
	bfx_wait_used(&f, MANY);
	/* Completions may come in any order; each request exactly once. */
	for (unsigned int i = 0; i < MANY; i++) {
		uint32_t id, len;
		int k;

		fake_vring_used_elem(&f.v, (uint16_t)i, &id, &len);
		ck_assert_uint_lt(id, BLK_QUEUE_SIZE);
		k = req_of[id];
		ck_assert_int_ge(k, 0);
		req_of[id] = -1;
		ck_assert_uint_eq(len, k % 3 == 0 ? 513 : 1);
		ck_assert_uint_eq(bfx_get8(&f, BFX_STATUS + 2048 + k),
				  k % 3 == 2 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
	}
	for (unsigned int k = 0; k < MANY; k++) {
		if (k % 3 == 0)
			ck_assert(bfx_guest_is_pattern(&f, BFX_DATA + 512ULL * k, (k / 3) * 512ULL,
						       512));
		if (k % 3 != 1)
			continue;
		ck_assert(bfx_file_is_byte(&f, (64 + k / 3) * 512ULL, 512, (uint8_t)k));
	}
	ck_assert_uint_eq(disk_inflight(f.b.disk), 0);
	bfx_close(&f);
}
END_TEST

/* Request k: IN of sector k % 128 into its own buffer, as indirect table `head`. */
static void indirect_read(struct bfx *f, unsigned int k, uint16_t head)
{
	uint64_t table = BFX_TABLE + 64ULL * head;
	struct fake_seg t[] = {
		{ bfx_hdr(f, VIRTIO_BLK_T_IN, k % BFX_SECTORS), 16, F_R },
		{ BFX_DATA + 512ULL * k, 512, F_W },
		{ BFX_STATUS + 2048 + k, 1, F_W },
	};

	bfx_fill(f, t[1].addr, 0xee, 512);
	bfx_fill(f, t[2].addr, 0xff, 1);
	fake_vring_indirect(&f->m, table, t, 3);
	fake_vring_desc(&f->v, head, table, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	fake_vring_publish(&f->v, head);
}

START_TEST(test_uring_more_requests_than_slots)
{
	unsigned int seen[BLK_QUEUE_SIZE] = { 0 };
	struct virtio_dev *v;
	struct bfx f;

	bfx_open(&f, false, false, NULL);
	v = &f.b.vdev;
	if (!f.b.disk->raw.uring) {
		fprintf(stderr,
			"test_uring_more_requests_than_slots: io_uring unavailable, skipped\n");
		bfx_close(&f);
		return;
	}
	/*
	 * The first kick takes all 256 chains into the 256 slots (reads that
	 * the page cache served may complete at once and free theirs). The
	 * driver (hostile: it reuses heads still in flight) then offers 44
	 * more; those without a slot must wait for one, not be lost.
	 */
	pthread_mutex_lock(&v->lock);
	for (unsigned int k = 0; k < BLK_QUEUE_SIZE; k++)
		indirect_read(&f, k, (uint16_t)k);
	v->ops->queue_notify(v, 0);
	ck_assert_uint_eq(v->vq[0].last_avail, BLK_QUEUE_SIZE);
	ck_assert_uint_le(disk_inflight(f.b.disk), BLK_QUEUE_SIZE);
	for (unsigned int k = BLK_QUEUE_SIZE; k < 300; k++)
		indirect_read(&f, k, (uint16_t)(k - BLK_QUEUE_SIZE));
	v->ops->queue_notify(v, 0);
	ck_assert(f.b.stalled || v->vq[0].last_avail == 300);
	ck_assert_uint_le(disk_inflight(f.b.disk), BLK_QUEUE_SIZE);
	pthread_mutex_unlock(&v->lock);

	bfx_wait_used(&f, 300);
	pthread_mutex_lock(&v->lock);
	ck_assert_uint_eq(disk_inflight(f.b.disk), 0);
	ck_assert(!f.b.stalled);
	pthread_mutex_unlock(&v->lock);
	for (unsigned int i = 0; i < 300; i++) {
		uint32_t id, len;

		fake_vring_used_elem(&f.v, (uint16_t)i, &id, &len);
		ck_assert_uint_lt(id, BLK_QUEUE_SIZE);
		ck_assert_uint_eq(len, 513);
		seen[id]++;
	}
	for (unsigned int h = 0; h < BLK_QUEUE_SIZE; h++)
		ck_assert_uint_eq(seen[h], h < 300 - BLK_QUEUE_SIZE ? 2 : 1);
	for (unsigned int k = 0; k < 300; k++) {
		ck_assert_uint_eq(bfx_get8(&f, BFX_STATUS + 2048 + k), VIRTIO_BLK_S_OK);
		ck_assert(bfx_guest_is_pattern(&f, BFX_DATA + 512ULL * k,
					       (k % BFX_SECTORS) * 512ULL, 512));
	}
	bfx_close(&f);
}
END_TEST

START_TEST(test_uring_reset_waits_for_in_flight)
{
	struct virtio_dev *v;
	struct bfx f;

	bfx_open(&f, false, false, NULL);
	v = &f.b.vdev;
	pthread_mutex_lock(&v->lock);
	for (unsigned int k = 0; k < 32; k++)
		indirect_read(&f, k, (uint16_t)k);
	v->ops->queue_notify(v, 0);
	v->ops->reset(v); /* the transport calls this before forgetting the rings */
	ck_assert_uint_eq(disk_inflight(f.b.disk), 0);
	for (unsigned int i = 0; i < f.b.nreq; i++)
		ck_assert(!f.b.req[i].busy);
	ck_assert_uint_eq(bfx_used_idx(&f), 32);
	virtio_dev_reset(v);
	pthread_mutex_unlock(&v->lock);
	for (unsigned int k = 0; k < 32; k++)
		ck_assert_uint_eq(bfx_get8(&f, BFX_STATUS + 2048 + k), VIRTIO_BLK_S_OK);
	/* After the reset the queue is gone: a kick takes nothing. */
	indirect_read(&f, 32, 32);
	bfx_kick(&f);
	usleep(10000);
	ck_assert_uint_eq(bfx_used_idx(&f), 32);
	bfx_close(&f);
}
END_TEST

START_TEST(test_uring_close_with_requests_in_flight)
{
	struct virtio_dev *v;
	struct bfx f;

	bfx_open(&f, false, false, NULL);
	v = &f.b.vdev;
	pthread_mutex_lock(&v->lock);
	for (unsigned int k = 0; k < 64; k++)
		indirect_read(&f, k, (uint16_t)k);
	v->ops->queue_notify(v, 0);
	pthread_mutex_unlock(&v->lock);
	/* blk_close() must wait for the transfers, not free what they point at:
	 * when it returns, each read has completed into guest RAM (which
	 * bfx_close() frees) and the image is free for the next user. */
	evloop_stop(&f.loop);
	f.loop_running = false;
	blk_close(&f.b);
	f.opened = false;
	ck_assert_ptr_null(f.b.disk); /* closed: nothing was left in flight */
	ck_assert_uint_eq(bfx_used_idx(&f), 64);
	for (unsigned int k = 0; k < 64; k++) {
		ck_assert_uint_eq(bfx_get8(&f, BFX_STATUS + 2048 + k), VIRTIO_BLK_S_OK);
		ck_assert(bfx_guest_is_pattern(&f, BFX_DATA + 512ULL * k, (k % BFX_SECTORS) * 512ULL,
					       512));
	}
	{
		int fd = open(f.path, O_RDWR | O_CLOEXEC);
		struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &lk), 0); /* the lock went with it */
		close(fd);
	}
	bfx_close(&f);
}
END_TEST

void blk_io_tcases(Suite *s)
{
	TCase *open_tc = tcase_create("open");
	TCase *uring_tc = tcase_create("io_uring");

	tcase_add_test(open_tc, test_open_missing_file);
	tcase_add_test(open_tc, test_open_empty_or_tiny_file);
	tcase_add_test(open_tc, test_open_directory_or_char_device);
	tcase_add_test(open_tc, test_open_partial_last_sector);
	tcase_add_test(open_tc, test_image_opened_first_then_taken_over);
	tcase_add_test(open_tc, test_lock_writer_excludes_everyone);
	tcase_add_test(open_tc, test_lock_readers_share);
	tcase_add_test(open_tc, test_readonly_image);
	suite_add_tcase(s, open_tc);

	tcase_add_test(uring_tc, test_uring_round_trip);
	tcase_add_test(uring_tc, test_uring_many_in_flight);
	tcase_add_test(uring_tc, test_uring_more_requests_than_slots);
	tcase_add_test(uring_tc, test_uring_reset_waits_for_in_flight);
	tcase_add_test(uring_tc, test_uring_close_with_requests_in_flight);
	tcase_set_timeout(uring_tc, 30);
	suite_add_tcase(s, uring_tc);
}
