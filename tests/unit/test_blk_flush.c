/*
 * virtio/blk: a FLUSH queued behind writes that are still in flight
 * (io_uring). A full pipe stands in for the image, so a write stays in
 * io_uring until the test drains the pipe: the FLUSH kicked together with
 * it must not complete first (it would make durable less than the driver
 * asked for), and the device must not take the FLUSH ahead of the write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_blk.h"

/* Fill pipe `p` until a write would block, then make its write end blocking again. */
static void fill_pipe(int p[2])
{
	static const uint8_t junk[4096];

	ck_assert_int_eq(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(fcntl(p[1], F_SETFL, 0), 0);
}

/* Read the pipe until the used index reaches `idx` (bounded). */
static void drain_until(struct bfx *f, int p[2], uint16_t idx)
{
	uint8_t buf[65536];

	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 20000 && bfx_used_idx(f) != idx; i++) {
		while (read(p[0], buf, sizeof(buf)) > 0)
			;
		usleep(500);
	}
	ck_assert_uint_eq(bfx_used_idx(f), idx);
}

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

START_TEST(test_uring_flush_waits_for_write_in_flight)
{
	struct bfx f;
	uint64_t wst;
	uint16_t wr, fl;
	uint32_t id, len;
	int p[2];

	bfx_open(&f, false, false, NULL);
	if (!f.b.uring) {
		fprintf(stderr, "flush ordering: io_uring unavailable, skipped\n");
		bfx_close(&f);
		return;
	}
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fill_pipe(p);
	ck_assert_int_eq(dup2(p[1], f.b.fd), f.b.fd); /* the device now writes into the pipe */
	close(p[1]);

	bfx_fill(&f, BFX_DATA, 0x77, 512);
	wr = publish_write(&f, &wst);
	fl = publish_flush(&f);
	bfx_kick(&f);
	usleep(100000);
	/* The write cannot finish while the pipe is full: nor may the FLUSH. */
	ck_assert_uint_eq(bfx_used_idx(&f), 0);

	drain_until(&f, p, 2);
	fake_vring_used_elem(&f.v, 0, &id, &len);
	ck_assert_uint_eq(id, wr);
	ck_assert_uint_eq(bfx_get8(&f, wst), VIRTIO_BLK_S_OK);
	fake_vring_used_elem(&f.v, 1, &id, &len);
	ck_assert_uint_eq(id, fl);
	close(p[0]);
	bfx_close(&f);
}
END_TEST

/* The FLUSH also waits for a write taken in an earlier kick. */
START_TEST(test_uring_flush_waits_for_earlier_kick)
{
	struct bfx f;
	uint64_t wst;
	uint16_t wr, fl;
	uint32_t id, len;
	int p[2];

	bfx_open(&f, false, false, NULL);
	if (!f.b.uring) {
		bfx_close(&f);
		return;
	}
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fill_pipe(p);
	ck_assert_int_eq(dup2(p[1], f.b.fd), f.b.fd);
	close(p[1]);

	wr = publish_write(&f, &wst);
	bfx_kick(&f);
	fl = publish_flush(&f);
	bfx_kick(&f);
	usleep(100000);
	ck_assert_uint_eq(bfx_used_idx(&f), 0);

	drain_until(&f, p, 2);
	fake_vring_used_elem(&f.v, 0, &id, &len);
	ck_assert_uint_eq(id, wr);
	fake_vring_used_elem(&f.v, 1, &id, &len);
	ck_assert_uint_eq(id, fl);
	close(p[0]);
	bfx_close(&f);
}
END_TEST

void blk_flush_tcases(Suite *s)
{
	TCase *tc = tcase_create("flush ordering");

	tcase_add_test(tc, test_uring_flush_waits_for_write_in_flight);
	tcase_add_test(tc, test_uring_flush_waits_for_earlier_kick);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
}
