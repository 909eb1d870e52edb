/*
 * Fuzz target: virtio-net receive and transmit (virtio/net.c), attached
 * once with net_attach() to one end of a SOCK_SEQPACKET socket pair that
 * stands in for the tap (each message a frame behind a 12-byte header).
 *
 * Each input negotiates features (mergeable buffers, guest offloads,
 * EVENT_IDX, indirect descriptors), sizes the two queues and activates the
 * device, then interleaves: receive and transmit chains of chosen shapes
 * (header split or short, segments in low or high RAM or anywhere, up to
 * 1 GiB each in a sparse region so that a chain can reach 4 GiB and more,
 * wrong directions, indirect), frames of chosen headers and lengths sent by the
 * peer, kicks of either queue, passes of the I/O thread's loop (which
 * receives while the tap is readable and receive is not paused), hostile
 * ring writes, the peer draining what the device sent, and resets. The used
 * elements a kick writes must name a head of the ring and a length a frame
 * can have; the sanitizers check every access. The sockets are drained and
 * the device reset at the end.
 *
 * Input: u8 features, u8 queue sizes, operations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "tests/fuzz/io_thread.h"
#include "tests/fuzz/ram.h"
#include "tests/fuzz/ring.h"
#include "virtio/net.h"
#include "vmm/evloop.h"
#include "vmm/log.h"

#define RXQ	    0
#define TXQ	    1
#define LOW_RAM	    (512u << 10)
#define HIGH_RAM    (16u << 10)
#define HUGE_BASE   (8ULL << 30) /* a sparse region: receive chains of several GiB */
#define HUGE_RAM    (1ULL << 30)
#define HUGE_SHIFT  14		  /* a huge segment's length: u16 << 14, up to 1 GiB */
#define RX_RING	    0x0ULL
#define TX_RING	    0x2000ULL
#define TABLES	    0x4000ULL
#define TABLES_SIZE 0x4000ULL
#define DATA	    0x8000ULL
#define DATA_SIZE   (LOW_RAM - DATA)
#define HDR_LEN	    sizeof(struct virtio_net_hdr_v1)
#define FRAME_MAX   (HDR_LEN + 65535 + 18)

struct net_fuzz {
	struct ram ram;
	struct evloop loop;
	struct net n;
	int peer;
	struct ring r[2];
	struct arena data, high;
	bool event_idx, indirect;
	bool wild; /* a buffer address or ring field was written raw: buffers may overlap rings */
	uint16_t used_seen[2]; /* used elements already checked */
	uint8_t frame[FRAME_MAX];
};

static struct net_fuzz *fz;

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/*
 * The used elements the device wrote during the last kick name a head of
 * the ring and a length a frame can have. Only while every buffer lies where
 * the builders put it: a buffer the guest placed over its own used ring is
 * written after the elements of earlier frames, which is the guest's loss.
 */
static void check_used(struct net_fuzz *f, unsigned int q)
{
	struct fake_vring *v = &f->r[q].v;
	uint16_t idx = f->n.vdev.vq[q].used_idx;

	expect((uint16_t)(idx - f->used_seen[q]) <= 4 * NET_QUEUE_SIZE);
	if (f->wild)
		f->used_seen[q] = idx;
	for (; f->used_seen[q] != idx; f->used_seen[q]++) {
		uint32_t id, len;

		fake_vring_used_elem(v, f->used_seen[q], &id, &len);
		expect(id < v->size);
		expect(q == RXQ ? len <= FRAME_MAX : len == 0);
	}
}

static void kick(struct net_fuzz *f, unsigned int q)
{
	struct virtio_dev *v = &f->n.vdev;

	pthread_mutex_lock(&v->lock);
	v->ops->queue_notify(v, q);
	pthread_mutex_unlock(&v->lock);
	if (q < 2)
		check_used(f, q);
}

/* What nfx_activate() does: features, queues, DRIVER_OK, then activate. */
static void start(struct net_fuzz *f, uint8_t feat, uint8_t sizes)
{
	struct virtio_dev *v = &f->n.vdev;
	uint16_t rx_size = (uint16_t)(1u << (sizes % 9));
	uint16_t tx_size = (uint16_t)(1u << (sizes / 16 % 9));
	uint64_t want = VIRTIO_FEAT_VERSION_1;

	if (feat & 1)
		want |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (feat & 2)
		want |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	if (feat & 4)
		want |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
	if (feat & 8)
		want |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
	f->event_idx = feat & 16;
	f->indirect = !(feat & 32);
	want |= (f->event_idx ? VIRTIO_FEAT_EVENT_IDX : 0) |
		(f->indirect ? VIRTIO_FEAT_INDIRECT_DESC : 0);
	ring_init(&f->r[RXQ], &f->ram.m, rx_size, RX_RING,
		  (struct arena){ .base = TABLES, .size = TABLES_SIZE / 2 });
	ring_init(&f->r[TXQ], &f->ram.m, tx_size, TX_RING,
		  (struct arena){ .base = TABLES + TABLES_SIZE / 2, .size = TABLES_SIZE / 2 });
	f->used_seen[RXQ] = f->used_seen[TXQ] = 0;
	pthread_mutex_lock(&v->lock);
	v->driver_features = want;
	v->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	/* A hostile driver may set DRIVER_OK without the receive queue. */
	if (!(feat & 64) &&
	    vq_setup(&v->vq[RXQ], &f->ram.m, rx_size, f->r[RXQ].v.desc, f->r[RXQ].v.avail,
		     f->r[RXQ].v.used, f->event_idx, f->indirect))
		abort();
	if (vq_setup(&v->vq[TXQ], &f->ram.m, tx_size, f->r[TXQ].v.desc, f->r[TXQ].v.avail,
		     f->r[TXQ].v.used, f->event_idx, f->indirect))
		abort();
	v->status |= VIRTIO_STATUS_DRIVER_OK;
	v->ops->activate(v);
	pthread_mutex_unlock(&v->lock);
}

static void reset(struct net_fuzz *f)
{
	struct virtio_dev *v = &f->n.vdev;

	pthread_mutex_lock(&v->lock);
	virtio_driver_reset(v);
	pthread_mutex_unlock(&v->lock);
}

static void drain(int fd)
{
	while (recv(fd, fz->frame, sizeof(fz->frame), MSG_DONTWAIT) >= 0)
		;
}

/*
 * One segment: in low or high RAM, at any address, or (where & 8) a huge
 * one at the start of the sparse region, so that a few of them (overlapping)
 * make a chain of 4 GiB or more.
 */
static struct fake_seg seg(struct net_fuzz *f, uint32_t len, bool write, uint8_t where,
			   struct input *in)
{
	uint64_t addr;

	if (where & 8) {
		uint64_t big = (uint64_t)(len & 0xffff) << HUGE_SHIFT;

		return (struct fake_seg){ HUGE_BASE, (uint32_t)(big < HUGE_RAM ? big : HUGE_RAM), write };
	}
	if (where & 2) {
		addr = input_u64(in);
		f->wild = true;
	} else if (where & 1) {
		addr = arena_take(&f->high, len);
	} else {
		addr = arena_take(&f->data, len);
	}
	return (struct fake_seg){ addr, len, write };
}

/*
 * A chain for queue `q`: up to 8 segments of chosen lengths, writable for
 * receive and readable for transmit unless flipped, the first one possibly
 * the header alone.
 */
static void chain(struct net_fuzz *f, unsigned int q, struct input *in)
{
	uint8_t shape = input_u8(in);
	struct fake_seg s[RING_MAX_SEGS];
	unsigned int n = 0, nseg = shape % 8 + 1;

	if (shape & 8) /* the header in a segment of its own, whole or short */
		s[n++] = seg(f, shape & 16 ? input_u8(in) % HDR_LEN : HDR_LEN, q == RXQ, 0, in);
	for (unsigned int i = 0; i < nseg; i++) {
		uint32_t len = input_u16(in);
		uint8_t sf = input_u8(in);

		if (sf & 8)
			len += 65536; /* more than one frame */
		s[n++] = seg(f, len, (q == RXQ) ^ (sf & 1), sf >> 1, in);
	}
	ring_add(&f->r[q], s, n, shape & 32);
}

/* The peer (the tap) sends one frame: a header from the input, a patterned payload. */
static void send_frame(struct net_fuzz *f, struct input *in)
{
	size_t len = input_u16(in);

	if (len & 1)
		len += input_u8(in) * 256ULL; /* up to a 64 KiB TSO frame and beyond */
	len = HDR_LEN + (len < FRAME_MAX - HDR_LEN ? len : FRAME_MAX - HDR_LEN);
	input_bytes(in, f->frame, HDR_LEN);
	for (size_t i = HDR_LEN; i < len; i++)
		f->frame[i] = (uint8_t)(i * 7);
	if (send(f->peer, f->frame, len, MSG_DONTWAIT) < 0)
		expect(errno == EAGAIN || errno == ENOBUFS); /* socket full: the tap drops it */
}

static void step(struct net_fuzz *f, struct input *in)
{
	uint8_t op = input_u8(in);

	switch (op % 11) {
	case 0:
	case 1:
		chain(f, RXQ, in);
		break;
	case 2:
		chain(f, TXQ, in);
		break;
	case 3:
		send_frame(f, in);
		break;
	case 4:
		kick(f, RXQ);
		break;
	case 5:
		kick(f, op & 0x80 ? input_u8(in) : TXQ); /* also queues that do not exist */
		break;
	case 6:
		ring_hostile(&f->r[op >> 7], input_u8(in), in, LOW_RAM);
		f->wild = true;
		break;
	case 7:
		drain(f->peer);
		break;
	case 8: /* reset and negotiate again */
		reset(f);
		start(f, input_u8(in), input_u8(in));
		break;
	case 9: /* a frame and the receive kick that takes it */
		send_frame(f, in);
		kick(f, RXQ);
		break;
	case 10: /* the I/O thread sees the tap readable (unless receive is paused) */
		io_thread_step(&f->loop);
		check_used(f, RXQ);
		break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int sv[2];

	(void)argc, (void)argv;
	log_set_level(LOG_ERR); /* no offloads on a socket; broken queues by the million */
	fz = calloc(1, sizeof(*fz));
	if (!fz || ram_init(&fz->ram, LOW_RAM, HIGH_RAM) ||
	    ram_add_sparse(&fz->ram, HUGE_BASE, HUGE_RAM) || evloop_init(&fz->loop))
		abort();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	if (net_attach(&fz->n, sv[0], "fuzz0", mac, &fz->ram.m, &fz->loop))
		abort();
	fz->peer = sv[1];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = input_init(data, size);
	struct net_fuzz *f = fz;
	uint8_t feat = input_u8(&in), sizes = input_u8(&in);
	unsigned int steps = 0;

	ram_clear(&f->ram);
	f->wild = false;
	f->data = (struct arena){ .base = DATA, .size = DATA_SIZE, .next = DATA };
	f->high = (struct arena){ .base = LAYOUT_4G, .size = HIGH_RAM, .next = LAYOUT_4G };
	start(f, feat, sizes);
	while (!input_empty(&in) && steps++ < 1024)
		step(f, &in);
	kick(f, TXQ);
	kick(f, RXQ);
	reset(f);
	drain(f->peer);
	drain(f->n.tap_fd);
	return 0;
}
