/*
 * virtio/net receive: frames the peer writes land in buffers the guest
 * posted on queue 0, by kick (queue_notify) or by the I/O thread. Plain and
 * mergeable buffers, the header's num_buffers, chains given back, receive
 * back-pressure (the device leaves frames in the socket while the guest has
 * posted too little room), bad buffers, reset, EVENT_IDX, and a flood
 * through the event loop checked frame by frame.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_net.h"

/* What a tap puts in front of a received frame; the device rewrites num_buffers only. */
static const struct virtio_net_hdr_v1 rx_in = {
	.flags = VIRTIO_NET_HDR_F_DATA_VALID, .gso_type = VIRTIO_NET_HDR_GSO_NONE,
	.hdr_len = 0x1234, .gso_size = 0x5678, .csum_start = 0x9abc, .csum_offset = 0xdef0,
	.num_buffers = 0x7777,
};

/* Post one writable buffer of `len` bytes; its guest address in *gpa. */
static uint16_t post(struct nfx *f, uint32_t len, uint64_t *gpa)
{
	*gpa = f->buf_next;
	return nfx_post_rx(f, len);
}

/* The header the device wrote at `gpa` must be rx_in with num_buffers `nbuf`. */
static void hdr_is(struct nfx *f, uint64_t gpa, uint16_t nbuf)
{
	struct virtio_net_hdr_v1 h;

	memcpy(&h, nfx_host(f, gpa, NFX_HDR), NFX_HDR);
	ck_assert_uint_eq(h.num_buffers, nbuf);
	h.num_buffers = rx_in.num_buffers;
	ck_assert_mem_eq(&h, &rx_in, NFX_HDR);
}

static void paused_with_pending(struct nfx *f, ssize_t frame)
{
	ck_assert_int_eq(nfx_pending(f), frame);
	pthread_mutex_lock(&f->n.vdev.lock);
	ck_assert(f->n.rx_paused);
	pthread_mutex_unlock(&f->n.vdev.lock);
}

/* The driver writes status 0, as the transport passes it on. */
static void driver_reset(struct nfx *f)
{
	pthread_mutex_lock(&f->n.vdev.lock);
	virtio_driver_reset(&f->n.vdev);
	pthread_mutex_unlock(&f->n.vdev.lock);
}

/* ---- plain buffers ---- */

START_TEST(test_rx_plain)
{
	uint64_t gpa;
	struct nfx f;
	uint16_t head;

	nfx_open(&f, 0);
	head = post(&f, 2048, &gpa);
	nfx_send(&f, &rx_in, 1, 100);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 1);
	nfx_used_is(&f, RXQ, 0, head, NFX_HDR + 100);
	hdr_is(&f, gpa, 1);
	ck_assert(nfx_guest_is_pattern(&f, gpa + NFX_HDR, 1, 0, 100));
	ck_assert_uint_eq(*nfx_host(&f, gpa + NFX_HDR + 100, 1), 0xee); /* nothing past the frame */
	ck_assert_int_eq(nfx_pending(&f), -1);
	nfx_close(&f);
}
END_TEST

/* num_buffers straddles two descriptors: header as 11 + 1 bytes in separate places. */
START_TEST(test_rx_header_split)
{
	struct fake_seg s[3];
	uint64_t a, b, c;
	struct nfx f;
	uint16_t head, nbuf;

	nfx_open(&f, 0);
	a = nfx_buf(&f, 16, 0xee);
	b = nfx_buf(&f, 16, 0xee);
	c = nfx_buf(&f, 2000, 0xee);
	s[0] = (struct fake_seg){ a, 11, F_W };
	s[1] = (struct fake_seg){ b, 1, F_W };
	s[2] = (struct fake_seg){ c, 2000, F_W };
	head = nfx_publish(&f, RXQ, s, 3);
	nfx_send(&f, &rx_in, 2, 1500);
	nfx_kick(&f, RXQ);
	nfx_used_is(&f, RXQ, 0, head, NFX_HDR + 1500);
	ck_assert_mem_eq(nfx_host(&f, a, 10), &rx_in, 10);
	nbuf = (uint16_t)(*nfx_host(&f, a + 10, 1) | *nfx_host(&f, b, 1) << 8);
	ck_assert_uint_eq(nbuf, 1);
	ck_assert_uint_eq(*nfx_host(&f, a + 11, 1), 0xee);
	ck_assert_uint_eq(*nfx_host(&f, b + 1, 1), 0xee);
	ck_assert(nfx_guest_is_pattern(&f, c, 2, 0, 1500));
	nfx_close(&f);
}
END_TEST

START_TEST(test_rx_batch_one_kick)
{
	static const size_t lens[] = { 60, 1514, 0, 1000, 42 };
	uint64_t gpa[5];
	uint16_t head[5];
	struct nfx f;

	nfx_open(&f, 0);
	for (unsigned int i = 0; i < 5; i++)
		head[i] = post(&f, 1600, &gpa[i]);
	for (unsigned int i = 0; i < 5; i++)
		nfx_send(&f, &rx_in, i, lens[i]);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 5);
	for (unsigned int i = 0; i < 5; i++) {
		nfx_used_is(&f, RXQ, (uint16_t)i, head[i], (uint32_t)(NFX_HDR + lens[i]));
		hdr_is(&f, gpa[i], 1);
		ck_assert(nfx_guest_is_pattern(&f, gpa[i] + NFX_HDR, i, 0, lens[i]));
	}
	nfx_close(&f);
}
END_TEST

/* Through the I/O thread: no kicks, frames arrive as the peer writes them. */
START_TEST(test_rx_through_event_loop)
{
	uint64_t gpa[4];
	uint16_t head[4];
	struct nfx f;

	nfx_open(&f, 0);
	for (unsigned int i = 0; i < 4; i++)
		head[i] = post(&f, 1600, &gpa[i]);
	nfx_start(&f);
	for (unsigned int i = 0; i < 3; i++)
		nfx_send(&f, &rx_in, i, 100 + i);
	nfx_wait_used(&f, RXQ, 3);
	nfx_send(&f, &rx_in, 3, 1514);
	nfx_wait_used(&f, RXQ, 4);
	for (unsigned int i = 0; i < 4; i++) {
		size_t len = i < 3 ? 100 + i : 1514;

		nfx_used_is(&f, RXQ, (uint16_t)i, head[i], (uint32_t)(NFX_HDR + len));
		hdr_is(&f, gpa[i], 1);
		ck_assert(nfx_guest_is_pattern(&f, gpa[i] + NFX_HDR, i, 0, len));
	}
	nfx_close(&f);
}
END_TEST

/* A frame shorter than its header cannot be described: dropped, the buffer kept. */
START_TEST(test_rx_runt_dropped)
{
	uint8_t runt[5] = { 1, 2, 3, 4, 5 };
	uint64_t gpa;
	struct nfx f;
	uint16_t head;

	nfx_open(&f, 0);
	head = post(&f, 2048, &gpa);
	ck_assert_int_eq(send(f.peer, runt, sizeof(runt), 0), (ssize_t)sizeof(runt));
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 0);
	ck_assert_int_eq(nfx_pending(&f), -1);
	nfx_send(&f, &rx_in, 6, 64);
	nfx_kick(&f, RXQ);
	nfx_used_is(&f, RXQ, 0, head, NFX_HDR + 64);
	ck_assert(nfx_guest_is_pattern(&f, gpa + NFX_HDR, 6, 0, 64));
	ck_assert_uint_eq(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	nfx_close(&f);
}
END_TEST

/* ---- mergeable buffers ---- */

START_TEST(test_rx_mrg_spans_buffers)
{
	const size_t len = 4000; /* 4012 with the header: 1536 + 1536 + 940 */
	uint64_t gpa[48];
	uint16_t head[48];
	struct nfx f;

	nfx_open(&f, NFX_MRG | NFX_TSO4);
	ck_assert_uint_ge(f.n.rx_max, NFX_HDR + 65536);
	for (unsigned int i = 0; i < 48; i++) /* 72 KiB: room for the largest frame */
		head[i] = post(&f, 1536, &gpa[i]);
	nfx_send(&f, &rx_in, 5, len);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 3);
	nfx_used_is(&f, RXQ, 0, head[0], 1536);
	nfx_used_is(&f, RXQ, 1, head[1], 1536);
	nfx_used_is(&f, RXQ, 2, head[2], NFX_HDR + len - 2 * 1536);
	hdr_is(&f, gpa[0], 3);
	ck_assert(nfx_guest_is_pattern(&f, gpa[0] + NFX_HDR, 5, 0, 1536 - NFX_HDR));
	ck_assert(nfx_guest_is_pattern(&f, gpa[1], 5, 1536 - NFX_HDR, 1536));
	ck_assert(nfx_guest_is_pattern(&f, gpa[2], 5, 3072 - NFX_HDR, len + NFX_HDR - 3072));
	ck_assert_uint_eq(*nfx_host(&f, gpa[2] + NFX_HDR + len - 2 * 1536, 1), 0xee);
	/* The chains popped but not filled went back: the next frame starts at the fourth. */
	nfx_send(&f, &rx_in, 6, 100);
	nfx_send(&f, &rx_in, 7, 1600);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 6);
	nfx_used_is(&f, RXQ, 3, head[3], NFX_HDR + 100);
	hdr_is(&f, gpa[3], 1);
	ck_assert(nfx_guest_is_pattern(&f, gpa[3] + NFX_HDR, 6, 0, 100));
	nfx_used_is(&f, RXQ, 4, head[4], 1536);
	nfx_used_is(&f, RXQ, 5, head[5], NFX_HDR + 1600 - 1536);
	hdr_is(&f, gpa[4], 2);
	ck_assert(nfx_guest_is_pattern(&f, gpa[5], 7, 1536 - NFX_HDR, NFX_HDR + 1600 - 1536));
	nfx_close(&f);
}
END_TEST

/*
 * The buffers taken for a frame and left unfilled stay taken, in ring order,
 * for the next frames: each small frame then takes one more from the ring
 * (not the 43 that make room for 64 KiB again). A reset drops them: the
 * frame after it goes to the new ring's buffer.
 */
START_TEST(test_rx_mrg_buffers_kept)
{
	uint64_t gpa[48], ngpa;
	uint16_t head[48], nhead;
	struct virtio_dev *v;
	struct nfx f;

	nfx_open(&f, NFX_MRG | NFX_TSO4);
	v = &f.n.vdev;
	for (unsigned int i = 0; i < 48; i++)
		head[i] = post(&f, 1536, &gpa[i]);
	for (unsigned int k = 0; k < 5; k++) {
		nfx_send(&f, &rx_in, 10 + k, 60 + k);
		nfx_kick(&f, RXQ);
		ck_assert_uint_eq(nfx_used_idx(&f, RXQ), k + 1);
		nfx_used_is(&f, RXQ, (uint16_t)k, head[k], NFX_HDR + 60 + k);
		hdr_is(&f, gpa[k], 1);
		ck_assert(nfx_guest_is_pattern(&f, gpa[k] + NFX_HDR, 10 + k, 0, 60 + k));
		/* 43 x 1536 bytes hold the largest frame (65549 with its header); after each
		 * frame the device took one more, looking for the next. */
		pthread_mutex_lock(&v->lock);
		ck_assert_uint_eq(v->vq[RXQ].last_avail, 44 + k);
		ck_assert_uint_eq(f.n.rx_chains, 43);
		pthread_mutex_unlock(&v->lock);
	}
	/* A frame spanning two of the kept buffers. */
	nfx_send(&f, &rx_in, 20, 3000);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 7);
	nfx_used_is(&f, RXQ, 5, head[5], 1536);
	nfx_used_is(&f, RXQ, 6, head[6], NFX_HDR + 3000 - 1536);
	hdr_is(&f, gpa[5], 2);
	driver_reset(&f);
	ck_assert_uint_eq(f.n.rx_chains, 0);
	nfx_activate(&f, &(struct nfx_cfg){ .features = NFX_MRG | NFX_TSO4 });
	nhead = post(&f, 1536, &ngpa);
	for (unsigned int i = 1; i < 48; i++)
		nfx_post_rx(&f, 1536);
	nfx_send(&f, &rx_in, 21, 70);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 1);
	nfx_used_is(&f, RXQ, 0, nhead, NFX_HDR + 70);
	ck_assert(nfx_guest_is_pattern(&f, ngpa + NFX_HDR, 21, 0, 70));
	for (unsigned int i = 7; i < 48; i++) /* the old ring's kept buffers: untouched */
		ck_assert_uint_eq(*nfx_host(&f, gpa[i], 1), 0xee);
	nfx_close(&f);
}
END_TEST

/* Mergeable without TSO: room for one Ethernet frame is enough, one buffer used. */
START_TEST(test_rx_mrg_without_gso)
{
	uint64_t gpa[2];
	uint16_t head[2];
	struct nfx f;

	nfx_open(&f, NFX_MRG);
	ck_assert_uint_lt(f.n.rx_max, 2048);
	head[0] = post(&f, 1536, &gpa[0]);
	head[1] = post(&f, 1536, &gpa[1]);
	nfx_send(&f, &rx_in, 8, 1514);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 1);
	nfx_used_is(&f, RXQ, 0, head[0], NFX_HDR + 1514);
	hdr_is(&f, gpa[0], 1);
	nfx_send(&f, &rx_in, 9, 60);
	nfx_kick(&f, RXQ);
	nfx_used_is(&f, RXQ, 1, head[1], NFX_HDR + 60);
	nfx_close(&f);
}
END_TEST

/* A whole ring of small buffers is room enough, even if it holds less than the largest frame. */
START_TEST(test_rx_mrg_small_ring_is_enough)
{
	uint64_t gpa[32];
	uint16_t head[32];
	struct nfx f;

	nfx_attach(&f);
	nfx_activate(&f, &(struct nfx_cfg){ .features = NFX_MRG | NFX_TSO4, .rx_size = 32 });
	for (unsigned int i = 0; i < 32; i++)
		head[i] = post(&f, 1536, &gpa[i]);
	nfx_send(&f, &rx_in, 3, 3000);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 2);
	nfx_used_is(&f, RXQ, 0, head[0], 1536);
	nfx_used_is(&f, RXQ, 1, head[1], NFX_HDR + 3000 - 1536);
	hdr_is(&f, gpa[0], 2);
	nfx_close(&f);
}
END_TEST

/*
 * Small mergeable buffers (1 KiB, as a driver may post): the whole 256-entry
 * ring holds 256 KiB, far more than the largest frame, so frames must flow.
 */
START_TEST(test_rx_mrg_small_buffers_flow)
{
	uint64_t gpa[NET_QUEUE_SIZE];
	uint16_t head[NET_QUEUE_SIZE];
	struct nfx f;

	nfx_open(&f, NFX_MRG | NFX_TSO4);
	for (unsigned int i = 0; i < NET_QUEUE_SIZE; i++)
		head[i] = post(&f, 1024, &gpa[i]);
	nfx_send(&f, &rx_in, 4, 100);
	nfx_kick(&f, RXQ);
	ck_assert_msg(nfx_used_idx(&f, RXQ) == 1,
		      "a frame waits although the guest posted %u buffers of 1 KiB (rx_max %zu)",
		      NET_QUEUE_SIZE, f.n.rx_max);
	nfx_used_is(&f, RXQ, 0, head[0], NFX_HDR + 100);
	hdr_is(&f, gpa[0], 1);
	nfx_close(&f);
}
END_TEST

/* ---- back-pressure ---- */

/*
 * TSO4 + mergeable: room for 64 KiB is needed. With 15 KiB posted the frame
 * stays in the socket; more buffers and a kick deliver it. _i = 1: the
 * I/O thread runs meanwhile (no busy loop while paused).
 */
START_TEST(test_rx_backpressure)
{
	uint64_t gpa0;
	struct nfx f;
	uint16_t head0;

	nfx_open(&f, NFX_MRG | NFX_TSO4);
	head0 = post(&f, 1536, &gpa0);
	for (unsigned int i = 1; i < 10; i++)
		nfx_post_rx(&f, 1536);
	if (_i)
		nfx_start(&f);
	nfx_send(&f, &rx_in, 1, 200);
	if (_i)
		ck_assert_double_lt(nfx_loop_cpu_ms(&f, 100), 30);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 0);
	paused_with_pending(&f, NFX_HDR + 200);
	if (_i)
		ck_assert_double_lt(nfx_loop_cpu_ms(&f, 100), 30);
	for (unsigned int i = 0; i < 40; i++)
		nfx_post_rx(&f, 1536);
	nfx_kick(&f, RXQ); /* the guest's kick for new buffers */
	nfx_wait_used(&f, RXQ, 1);
	nfx_used_is(&f, RXQ, 0, head0, NFX_HDR + 200); /* the first buffer posted, nothing lost */
	hdr_is(&f, gpa0, 1);
	ck_assert(nfx_guest_is_pattern(&f, gpa0 + NFX_HDR, 1, 0, 200));
	ck_assert_int_eq(nfx_pending(&f), -1);
	if (_i) { /* reading resumed: the next frame comes without a kick */
		nfx_send(&f, &rx_in, 2, 300);
		nfx_wait_used(&f, RXQ, 2);
		nfx_used_is(&f, RXQ, 1, (uint16_t)(head0 + 1), NFX_HDR + 300);
	}
	nfx_close(&f);
}
END_TEST

/* No buffers at all (_i: 0 plain, 1 mergeable + TSO4, 2 plain with the loop running). */
START_TEST(test_rx_no_buffers)
{
	uint64_t gpa;
	struct nfx f;
	uint16_t head;

	nfx_open(&f, _i == 1 ? NFX_MRG | NFX_TSO4 : 0);
	if (_i == 2)
		nfx_start(&f);
	nfx_send(&f, &rx_in, 3, 500);
	nfx_kick(&f, RXQ);
	if (_i == 2)
		ck_assert_double_lt(nfx_loop_cpu_ms(&f, 100), 30);
	paused_with_pending(&f, NFX_HDR + 500);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 0);
	head = post(&f, _i == 1 ? 65600 : 2048, &gpa);
	nfx_kick(&f, RXQ);
	nfx_wait_used(&f, RXQ, 1);
	nfx_used_is(&f, RXQ, 0, head, NFX_HDR + 500);
	hdr_is(&f, gpa, 1);
	ck_assert(nfx_guest_is_pattern(&f, gpa + NFX_HDR, 3, 0, 500));
	nfx_close(&f);
}
END_TEST

/*
 * EVENT_IDX: a device that stops for want of buffers must ask to be kicked
 * when the next one is posted (avail_event), or a driver honouring
 * EVENT_IDX never kicks and receive stops for good.
 */
START_TEST(test_rx_event_idx_backpressure)
{
	uint16_t old, event;
	uint64_t gpa;
	struct nfx f;
	uint16_t head;

	nfx_attach(&f);
	nfx_activate(&f, &(struct nfx_cfg){ .features = 0, .event_idx = true });
	nfx_post_rx(&f, 2048);
	nfx_kick(&f, RXQ);
	nfx_send(&f, &rx_in, 1, 100);
	nfx_send(&f, &rx_in, 2, 100);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 1);
	paused_with_pending(&f, NFX_HDR + 100);
	/* The driver posts one buffer and kicks only if vring_need_event() says so. */
	old = f.rx.avail_idx;
	head = post(&f, 2048, &gpa);
	event = fake_vring_avail_event(&f.rx);
	if ((uint16_t)(f.rx.avail_idx - event - 1) < (uint16_t)(f.rx.avail_idx - old))
		nfx_kick(&f, RXQ);
	ck_assert_msg(nfx_used_idx(&f, RXQ) == 2,
		      "receive stalled: avail_event %u, buffer %u posted without a kick",
		      event, old);
	nfx_used_is(&f, RXQ, 1, head, NFX_HDR + 100);
	ck_assert(nfx_guest_is_pattern(&f, gpa + NFX_HDR, 2, 0, 100));
	nfx_close(&f);
}
END_TEST

/* ---- bad buffers, reset ---- */

START_TEST(test_rx_bad_buffers_need_reset)
{
	struct fake_seg s[2];
	uint64_t gpa;
	struct nfx f;

	nfx_open(&f, _i >= 3 ? NFX_MRG | NFX_TSO4 : 0);
	gpa = nfx_buf(&f, 4096, 0xee);
	switch (_i) {
	case 0: nfx_publish(&f, RXQ, &(struct fake_seg){ gpa, 2048, F_R }, 1); break;
	case 1: nfx_publish(&f, RXQ, &(struct fake_seg){ gpa, 8, F_W }, 1); break;
	case 2: /* readable, then writable */
		s[0] = (struct fake_seg){ gpa, 12, F_R };
		s[1] = (struct fake_seg){ gpa + 16, 2000, F_W };
		nfx_publish(&f, RXQ, s, 2);
		break;
	case 3: /* 11 bytes in two descriptors */
		s[0] = (struct fake_seg){ gpa, 6, F_W };
		s[1] = (struct fake_seg){ gpa + 16, 5, F_W };
		nfx_publish(&f, RXQ, s, 2);
		break;
	case 4: /* a good first buffer, a readable second one */
		nfx_publish(&f, RXQ, &(struct fake_seg){ gpa, 1536, F_W }, 1);
		nfx_publish(&f, RXQ, &(struct fake_seg){ gpa + 2048, 1536, F_R }, 1);
		break;
	case 5: nfx_publish(&f, RXQ, &(struct fake_seg){ NFX_RAM - 100, 1536, F_W }, 1); break;
	case 6: /* a good first buffer, a second one shorter than a header */
		nfx_publish(&f, RXQ, &(struct fake_seg){ gpa, 1536, F_W }, 1);
		nfx_publish(&f, RXQ, &(struct fake_seg){ gpa + 2048, 11, F_W }, 1);
		break;
	}
	nfx_send(&f, &rx_in, 1, 100);
	nfx_kick(&f, RXQ);
	ck_assert_uint_eq(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 0);
	ck_assert_uint_eq(*nfx_host(&f, gpa, 1), 0xee); /* nothing written */
	ck_assert_int_eq(nfx_pending(&f), NFX_HDR + 100);
	nfx_kick(&f, RXQ); /* again: still nothing, no crash */
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 0);
	nfx_close(&f);
}
END_TEST

/* After a bad buffer, the I/O thread must not spin on the socket it no longer reads. */
START_TEST(test_rx_broken_queue_does_not_spin)
{
	struct nfx f;
	double ms;

	nfx_open(&f, 0);
	nfx_publish(&f, RXQ, &(struct fake_seg){ nfx_buf(&f, 2048, 0), 2048, F_R }, 1);
	nfx_start(&f);
	nfx_send(&f, &rx_in, 1, 100);
	for (int i = 0; i < 2000 && !(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(500);
	ck_assert_uint_eq(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);
	ms = nfx_loop_cpu_ms(&f, 200);
	ck_assert_msg(ms < 50, "the I/O thread used %.0f ms of CPU in 200 ms", ms);
	nfx_close(&f);
}
END_TEST

/* DRIVER_OK with queue 0 never enabled (a hostile driver): no busy loop either. */
START_TEST(test_rx_queue_not_ready_does_not_spin)
{
	struct nfx f;
	double ms;

	nfx_attach(&f);
	nfx_activate(&f, &(struct nfx_cfg){ .no_rx_queue = true });
	nfx_start(&f);
	nfx_send(&f, &rx_in, 1, 100);
	nfx_kick(&f, RXQ);
	ms = nfx_loop_cpu_ms(&f, 200);
	ck_assert_msg(ms < 50, "the I/O thread used %.0f ms of CPU in 200 ms", ms);
	ck_assert_int_eq(nfx_pending(&f), NFX_HDR + 100);
	nfx_close(&f);
}
END_TEST

/* Before DRIVER_OK nothing is read, and the loop sleeps. */
START_TEST(test_rx_not_before_driver_ok)
{
	struct nfx f;

	nfx_attach(&f);
	nfx_start(&f);
	nfx_send(&f, &rx_in, 1, 100);
	ck_assert_double_lt(nfx_loop_cpu_ms(&f, 100), 30);
	paused_with_pending(&f, NFX_HDR + 100);
	nfx_close(&f);
}
END_TEST

START_TEST(test_rx_reset_pauses)
{
	uint64_t gpa;
	struct nfx f;
	uint16_t head;

	nfx_open(&f, 0);
	nfx_post_rx(&f, 2048);
	nfx_post_rx(&f, 2048);
	nfx_start(&f);
	nfx_send(&f, &rx_in, 1, 100);
	nfx_wait_used(&f, RXQ, 1);
	driver_reset(&f);
	nfx_send(&f, &rx_in, 2, 200);
	ck_assert_double_lt(nfx_loop_cpu_ms(&f, 100), 30);
	paused_with_pending(&f, NFX_HDR + 200);
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 1); /* the second buffer stays untouched */
	/* Set up again: the waiting frame goes to the new ring. */
	nfx_activate(&f, &(struct nfx_cfg){ 0 });
	head = post(&f, 2048, &gpa);
	nfx_kick(&f, RXQ);
	nfx_wait_used(&f, RXQ, 1);
	nfx_used_is(&f, RXQ, 0, head, NFX_HDR + 200);
	ck_assert(nfx_guest_is_pattern(&f, gpa + NFX_HDR, 2, 0, 200));
	nfx_close(&f);
}
END_TEST

/* ---- a flood through the event loop ---- */

#define FLOOD_FRAMES 400
#define FLOOD_BUFS   64

static size_t flood_len(unsigned int k)
{
	return k % 17 == 5 ? 4000 : 60 + (k * 389) % 1455;
}

/* After reposting buffers from avail index `old` on: kick, or with EVENT_IDX only if asked to. */
static void flood_kick(struct nfx *f, bool event_idx, uint16_t old)
{
	uint16_t event;

	if (event_idx) {
		/* avail->idx before avail_event (pairs with the device's vq_enable_notify()). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		event = fake_vring_avail_event(&f->rx);
		if ((uint16_t)(f->rx.avail_idx - event - 1) >= (uint16_t)(f->rx.avail_idx - old))
			return;
	}
	nfx_kick(f, RXQ);
}

/* The driver: take used buffers frame by frame, check them, repost them, kick. */
static unsigned int flood_take(struct nfx *f, const uint64_t *gpa, uint16_t *seen, unsigned int k,
			       bool event_idx)
{
	static uint8_t frame[8192], want[8192];
	uint16_t used = nfx_used_idx(f, RXQ);

	while (*seen != used) {
		uint16_t old = f->rx.avail_idx;
		struct virtio_net_hdr_v1 h;
		uint32_t id, len;
		size_t got = 0;

		fake_vring_used_elem(&f->rx, *seen, &id, &len);
		memcpy(&h, nfx_host(f, gpa[id], NFX_HDR), NFX_HDR);
		ck_assert_uint_ge(h.num_buffers, 1);
		ck_assert_uint_le(h.num_buffers, (uint16_t)(used - *seen));
		for (uint16_t b = 0; b < h.num_buffers; b++) {
			fake_vring_used_elem(&f->rx, (uint16_t)(*seen + b), &id, &len);
			ck_assert_uint_lt(id, FLOOD_BUFS);
			ck_assert_uint_le(got + len, sizeof(frame));
			memcpy(frame + got, nfx_host(f, gpa[id], len), len);
			got += len;
			fake_vring_publish(&f->rx, (uint16_t)id);
		}
		*seen = (uint16_t)(*seen + h.num_buffers);
		ck_assert_uint_eq(got, NFX_HDR + flood_len(k));
		for (size_t i = 0; i < flood_len(k); i++)
			want[i] = nfx_pattern(k, i);
		ck_assert_msg(!memcmp(frame + NFX_HDR, want, flood_len(k)), "frame %u corrupt", k);
		k++;
		flood_kick(f, event_idx, old);
	}
	return k;
}

START_TEST(test_rx_flood_no_loss)
{
	static uint8_t out[NFX_HDR + 4000];
	unsigned int sent = 0, recvd = 0;
	uint64_t gpa[FLOOD_BUFS];
	uint16_t seen = 0;
	struct timespec t0, t;
	struct nfx f;

	nfx_attach(&f);
	nfx_activate(&f, &(struct nfx_cfg){ .features = NFX_MRG | NFX_TSO4, .event_idx = _i });
	for (unsigned int i = 0; i < FLOOD_BUFS; i++)
		ck_assert_uint_eq(post(&f, 1536, &gpa[i]), i);
	nfx_start(&f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (recvd < FLOOD_FRAMES) {
		while (sent < FLOOD_FRAMES) {
			size_t len = flood_len(sent);

			memset(out, 0, NFX_HDR);
			for (size_t i = 0; i < len; i++)
				out[NFX_HDR + i] = nfx_pattern(sent, i);
			if (send(f.peer, out, NFX_HDR + len, MSG_DONTWAIT) < 0) {
				ck_assert_int_eq(errno, EAGAIN);
				break;
			}
			sent++;
		}
		recvd = flood_take(&f, gpa, &seen, recvd, _i);
		clock_gettime(CLOCK_MONOTONIC, &t);
		ck_assert_msg(t.tv_sec - t0.tv_sec < 20, "stuck: %u sent, %u received", sent,
			      recvd);
		usleep(100);
	}
	ck_assert_int_eq(nfx_pending(&f), -1);
	nfx_close(&f);
}
END_TEST

void net_rx_tcases(Suite *s)
{
	TCase *rx_tc = tcase_create("receive");
	TCase *bp_tc = tcase_create("back-pressure");
	TCase *bad_tc = tcase_create("bad buffers and reset");

	tcase_add_test(rx_tc, test_rx_plain);
	tcase_add_test(rx_tc, test_rx_header_split);
	tcase_add_test(rx_tc, test_rx_mrg_buffers_kept);
	tcase_add_test(rx_tc, test_rx_batch_one_kick);
	tcase_add_test(rx_tc, test_rx_through_event_loop);
	tcase_add_test(rx_tc, test_rx_runt_dropped);
	tcase_add_test(rx_tc, test_rx_mrg_spans_buffers);
	tcase_add_test(rx_tc, test_rx_mrg_without_gso);
	tcase_add_test(rx_tc, test_rx_mrg_small_ring_is_enough);
	tcase_add_test(rx_tc, test_rx_mrg_small_buffers_flow);
	tcase_add_loop_test(rx_tc, test_rx_flood_no_loss, 0, 2); /* _i: EVENT_IDX */
	tcase_set_timeout(rx_tc, 30); /* the flood, on a loaded machine under ASan */
	suite_add_tcase(s, rx_tc);

	tcase_add_loop_test(bp_tc, test_rx_backpressure, 0, 2);
	tcase_add_loop_test(bp_tc, test_rx_no_buffers, 0, 3);
	tcase_add_test(bp_tc, test_rx_event_idx_backpressure);
	suite_add_tcase(s, bp_tc);

	tcase_add_loop_test(bad_tc, test_rx_bad_buffers_need_reset, 0, 7);
	tcase_add_test(bad_tc, test_rx_broken_queue_does_not_spin);
	tcase_add_test(bad_tc, test_rx_queue_not_ready_does_not_spin);
	tcase_add_test(bad_tc, test_rx_not_before_driver_ok);
	tcase_add_test(bad_tc, test_rx_reset_pauses);
	suite_add_tcase(s, bad_tc);
}
