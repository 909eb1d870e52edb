/*
 * virtio-net receive with buffers a real driver never posts: one chain of
 * 4 GiB or more. Segments may overlap, so 17 x 255 MiB fit in a guest of
 * 512 MiB (a sparse mapping: only touched pages cost memory). The used
 * length and the device's room accounting are 32 bits wide; such a chain
 * must be refused (NEEDS_RESET), not wrap a counter, and the I/O thread
 * must come back from the kick.
 */
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_net.h"

#define SEG_255M (255U << 20)
#define HUGE_AT	 (16ULL << 20) /* every segment starts here: they overlap */

/* One writable chain of `n` segments of `len` bytes (the last `last` bytes), all at HUGE_AT. */
static uint16_t post_huge(struct nfx *f, unsigned int n, uint32_t len, uint32_t last)
{
	struct fake_seg s[32];

	ck_assert_uint_le(n, 32);
	for (unsigned int i = 0; i < n; i++)
		s[i] = (struct fake_seg){ HUGE_AT, i + 1 == n ? last : len, F_W };
	return nfx_publish(f, RXQ, s, n);
}

static void open_huge(struct nfx *f, uint64_t features, bool event_idx)
{
	nfx_attach_ram(f, NFX_HUGE_RAM);
	nfx_activate(f, &(struct nfx_cfg){ .features = features, .event_idx = event_idx });
	f->buf_next = 320ULL << 20; /* ordinary buffers above the huge one */
}

/*
 * 17 x 255 MiB = 4 GiB + 239 MiB, then one ordinary buffer (with EVENT_IDX
 * the device finds it when it re-arms notifications). _i: bit 0 EVENT_IDX,
 * bit 1 MRG_RXBUF, bit 2 through the I/O thread rather than a kick.
 */
START_TEST(test_rx_chain_of_4g_or_more_needs_reset)
{
	bool event_idx = _i & 1, thread = _i & 4;
	uint64_t gpa;
	struct nfx f;
	uint16_t head;

	open_huge(&f, _i & 2 ? NFX_MRG : 0, event_idx);
	post_huge(&f, 17, SEG_255M, SEG_255M);
	nfx_post_rx(&f, 2048);
	nfx_send(&f, NULL, 1, 100);
	nfx_send(&f, NULL, 2, 100);
	if (thread) {
		nfx_start(&f);
		for (int i = 0; i < 2000 && !(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET); i++)
			usleep(500);
	} else {
		nfx_kick(&f, RXQ); /* hung here, holding the device lock, before the fix */
	}
	ck_assert_uint_eq(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 0);
	ck_assert_int_eq(nfx_pending(&f), NFX_HDR + 100); /* nothing read */
	/* A reset brings the device back. */
	pthread_mutex_lock(&f.n.vdev.lock);
	virtio_driver_reset(&f.n.vdev);
	pthread_mutex_unlock(&f.n.vdev.lock);
	if (thread) {
		evloop_stop(&f.loop);
		f.loop_running = false;
	}
	nfx_activate(&f, &(struct nfx_cfg){ .features = _i & 2 ? NFX_MRG : 0, .event_idx = event_idx });
	gpa = f.buf_next;
	head = nfx_post_rx(&f, 2048);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 1);
	nfx_used_is(&f, RXQ, 0, head, NFX_HDR + 100);
	ck_assert(nfx_guest_is_pattern(&f, gpa + NFX_HDR, 1, 0, 100));
	nfx_close(&f);
}
END_TEST

/* The largest chain the accounting holds, 4 GiB - 1 bytes, is served like any other. */
START_TEST(test_rx_chain_of_4g_minus_1_is_served)
{
	struct nfx f;
	uint16_t head;

	open_huge(&f, 0, _i);
	head = post_huge(&f, 17, SEG_255M, UINT32_MAX - 16 * SEG_255M);
	nfx_send(&f, NULL, 3, 100);
	nfx_send(&f, NULL, 4, 100);
	nfx_post_rx(&f, 2048);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 2);
	nfx_used_is(&f, RXQ, 0, head, NFX_HDR + 100);
	ck_assert(nfx_guest_is_pattern(&f, HUGE_AT + NFX_HDR, 3, 0, 100));
	ck_assert_int_eq(nfx_pending(&f), -1);
	nfx_close(&f);
}
END_TEST

void net_huge_tcases(Suite *s)
{
	TCase *tc = tcase_create("4 GiB receive chains");

	tcase_add_loop_test(tc, test_rx_chain_of_4g_or_more_needs_reset, 0, 8);
	tcase_add_loop_test(tc, test_rx_chain_of_4g_minus_1_is_served, 0, 2);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);
}
