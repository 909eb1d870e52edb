#include "virtio/net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/tap.h"
#include "vmm/iov.h"

#define VIRTIO_ID_NET 1
#define RXQ 0
#define TXQ 1
#define HDR_LEN sizeof(struct virtio_net_hdr_v1)
#define NUM_BUFFERS_OFF offsetof(struct virtio_net_hdr_v1, num_buffers)
#define ETH_MAX_FRAME (1514 + 4)     /* with one VLAN tag */
#define GSO_MAX_FRAME (65535 + 14 + 4) /* an IP datagram of 64 KiB in a tagged frame */

static struct net *to_net(struct virtio_dev *v)
{
	return v->priv;
}

void net_default_mac(const char *tap, uint8_t mac[6])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *p = tap; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x52; /* locally administered, unicast */
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

/* What the tap's registration wakes on: frames to read unless paused, room to write
 * while transmission waits for its next turn. */
static void tap_events(struct net *n, bool rx_paused, bool tx_more)
{
	if (n->rx_paused != rx_paused || n->tx_more != tx_more) {
		n->rx_paused = rx_paused;
		n->tx_more = tx_more;
		evloop_set_events(n->loop, n->tap_fd,
				  (rx_paused ? 0 : EPOLLIN) | (tx_more ? EPOLLOUT : 0));
	}
}

static void pause_rx(struct net *n, bool pause)
{
	tap_events(n, pause, n->tx_more);
}

/* Forget the receive buffers taken (a reset, or a queue that broke). */
static void rx_drop_all(struct net *n)
{
	n->rx_chains = n->rx_niov = 0;
	n->rx_room = 0;
}

/* The first `k` buffers taken were filled: the rest move to the front. */
static void rx_drop_front(struct net *n, unsigned int k)
{
	unsigned int segs = 0;

	for (unsigned int i = 0; i < k; i++) {
		segs += n->rx_buf[i].nseg;
		n->rx_room -= n->rx_buf[i].cap;
	}
	n->rx_chains -= k;
	n->rx_niov -= segs;
	memmove(n->rx_iov, n->rx_iov + segs, n->rx_niov * sizeof(n->rx_iov[0]));
	memmove(n->rx_buf, n->rx_buf + k, n->rx_chains * sizeof(n->rx_buf[0]));
}

/*
 * Take buffers from the ring until those held fit the largest frame (one
 * buffer without MRG_RXBUF). Returns 1 when they do, 0 when the ring ran
 * out first, -1 when the guest broke the queue.
 */
static int rx_take(struct net *n, struct vq *q, bool mrg)
{
	struct vq_chain c;
	int r;

	while (n->rx_room < n->rx_max && n->rx_chains < (mrg ? NET_RX_MAX_CHAINS : 1)) {
		r = vq_pop(q, &c);
		if (r <= 0)
			return r;
		/* Receive buffers are write-only, and each holds at least a header (virtio
		 * 1.2, 5.1.6.3.1: every buffer does with MRG_RXBUF). A used length is 32
		 * bits, and so is a buffer's size here: a chain of 4 GiB or more (its
		 * segments may overlap) cannot be described, and is refused. */
		if (c.nread || n->rx_niov + c.n > NET_RX_MAX_IOV || c.write_len < HDR_LEN ||
		    c.write_len > NET_RX_BUF_MAX) {
			q->broken = true;
			return -1;
		}
		memcpy(&n->rx_iov[n->rx_niov], c.seg, c.n * sizeof(c.seg[0]));
		n->rx_niov += c.n;
		n->rx_buf[n->rx_chains] = (struct net_rx_buf){
			.head = c.head, .nseg = (uint16_t)c.n, .cap = (uint32_t)c.write_len,
		};
		n->rx_room += n->rx_buf[n->rx_chains].cap; /* what rx_drop_front() takes off */
		n->rx_chains++;
	}
	return 1;
}

/*
 * Receive one frame. Returns 1 when a frame was delivered, 0 when the tap
 * has none, -1 when the guest lacks buffers (reading is paused), -2 when the
 * queue broke.
 */
static int rx_one(struct net *n)
{
	struct vq *q = &n->vdev.vq[RXQ];
	bool mrg = virtio_has(&n->vdev, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	unsigned int used = 0, turns = 0;
	size_t left;
	uint16_t nbuf;
	ssize_t got;
	int r;

again:
	r = rx_take(n, q, mrg);
	/* Each turn takes a buffer or ends: more turns than the ring has entries
	 * means the accounting went wrong, and the device stops rather than spin. */
	if (r < 0 || ++turns > VQ_MAX_SIZE + 1) {
		if (r >= 0)
			q->broken = true;
		rx_drop_all(n);
		virtio_needs_reset(&n->vdev);
		pause_rx(n, true); /* the tap stays readable: do not wake for it until a reset */
		return -2;
	}
	/* Too little room for the largest frame: wait for more, unless the whole ring is ours. */
	if (!n->rx_chains || (r == 0 && mrg && n->rx_chains < q->size)) {
		/* Ring drained: with EVENT_IDX, ask for a kick at the next buffer posted. */
		if (vq_enable_notify(q))
			goto again; /* buffers arrived meanwhile */
		pause_rx(n, true);
		return -1;
	}
	got = readv(n->tap_fd, n->rx_iov, (int)n->rx_niov);
	if (got < (ssize_t)HDR_LEN)
		return 0; /* nothing to read (EAGAIN), or a runt we cannot describe */
	for (left = (size_t)got; left && used < n->rx_chains; used++) {
		struct net_rx_buf *b = &n->rx_buf[used];

		b->len = left < b->cap ? (uint32_t)left : b->cap;
		left -= b->len;
	}
	/* num_buffers before any used entry, and all entries of the frame at once: a driver
	 * reads the header as soon as it sees the first buffer, then takes the others. */
	nbuf = (uint16_t)used;
	iov_copy(n->rx_iov, n->rx_niov, NUM_BUFFERS_OFF, &nbuf, sizeof(nbuf), true);
	for (unsigned int i = 0; i < used; i++)
		vq_fill(q, n->rx_buf[i].head, n->rx_buf[i].len);
	vq_publish(q);
	rx_drop_front(n, used);
	return 1;
}

static void rx(struct net *n)
{
	struct vq *q = &n->vdev.vq[RXQ];
	uint8_t st = n->vdev.status;
	int r, frames = 0;

	if (!(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_NEEDS_RESET) || !q->ready) {
		pause_rx(n, true); /* nothing to read into until a reset and a new DRIVER_OK */
		return;
	}
	pause_rx(n, false);
	/* A bounded batch keeps the transmit side and other devices served too. */
	while (frames < 256 && (r = rx_one(n)) == 1)
		frames++;
	if (frames)
		virtio_queue_interrupt(&n->vdev, RXQ);
}

static void tx(struct net *n);

/* I/O thread: the tap has frames for the guest, or room for frames waiting to go out. */
static void tap_ready(void *ctx, uint32_t events)
{
	struct net *n = ctx;

	pthread_mutex_lock(&n->vdev.lock);
	if (!(n->vdev.status & VIRTIO_STATUS_DRIVER_OK)) {
		tap_events(n, true, false);
	} else {
		if (events & EPOLLOUT)
			tx(n);
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			rx(n);
	}
	pthread_mutex_unlock(&n->vdev.lock);
}

/*
 * Send what the guest queued, at most NET_TX_BATCH frames a turn: a guest that
 * keeps adding frames would otherwise hold the I/O thread. With more waiting,
 * the queue is left without a kick request and the loop calls back on EPOLLOUT
 * (a tap nearly always has room), after the other sources have had their turn.
 */
static void tx(struct net *n)
{
	struct vq *q = &n->vdev.vq[TXQ];
	struct vq_chain c;
	unsigned int frames = 0;
	int r;

	do {
		while ((r = frames < NET_TX_BATCH ? vq_pop(q, &c) : 0) == 1) {
			frames++;
			/* The chain is header + frame, exactly what the tap takes. */
			if (c.read_len < HDR_LEN || writev(n->tap_fd, c.seg, (int)c.nread) < 0) {
				if (log_limit_ok(&n->vdev.warn_limit, 10, LOG_WARN))
					log_warn("%s: a transmitted frame was dropped: %s", n->tap,
						 c.read_len < HDR_LEN ? "shorter than its header"
								      : strerror(errno));
				n->tx_errors++;
			}
			vq_push(q, c.head, 0);
		}
		if (r < 0) {
			tap_events(n, n->rx_paused, false);
			virtio_needs_reset(&n->vdev);
			return;
		}
		if (frames == NET_TX_BATCH && vq_avail_pending(q)) {
			tap_events(n, n->rx_paused, true);
			virtio_queue_interrupt(&n->vdev, TXQ);
			return;
		}
	} while (vq_enable_notify(q));
	tap_events(n, n->rx_paused, false);
	virtio_queue_interrupt(&n->vdev, TXQ);
}

static void net_queue_notify(struct virtio_dev *v, unsigned int q)
{
	struct net *n = to_net(v);

	if (q == TXQ)
		tx(n);
	else if (q == RXQ)
		rx(n); /* new buffers: resume reading the tap */
}

static void net_activate(struct virtio_dev *v)
{
	struct net *n = to_net(v);
	unsigned int off = 0;
	bool gso = false;

	if (virtio_has(v, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM))) {
		off |= TUN_F_CSUM;
		if (virtio_has(v, VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4)))
			off |= TUN_F_TSO4;
		if (virtio_has(v, VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6)))
			off |= TUN_F_TSO6;
		gso = off & (TUN_F_TSO4 | TUN_F_TSO6);
	}
	if (tap_set_offload(n->tap_fd, off))
		log_warn("%s: the tap refused offloads %#x; large frames are cut in the host", n->tap, off);
	n->rx_max = HDR_LEN + (gso ? GSO_MAX_FRAME : ETH_MAX_FRAME);
	pause_rx(n, false);
}

static void net_reset(struct virtio_dev *v)
{
	rx_drop_all(to_net(v)); /* the buffers taken belong to the old rings */
	tap_events(to_net(v), true, false);
}

static void net_config_read(struct virtio_dev *v, uint32_t off, void *data, uint32_t len)
{
	const struct net *n = to_net(v);

	if (off + len <= sizeof(n->cfg))
		memcpy(data, (const uint8_t *)&n->cfg + off, len);
}

static void net_config_write(struct virtio_dev *v, uint32_t off, const void *data, uint32_t len)
{
	(void)v, (void)off, (void)data, (void)len; /* the MAC is set by the host only */
}

/* Receive buffers taken for the next frame: a snapshot gives them back to the ring. */
static unsigned int net_held(struct virtio_dev *v, unsigned int q)
{
	return q == RXQ ? to_net(v)->rx_chains : 0;
}

static const struct virtio_dev_ops net_ops = {
	.held = net_held,
	.queue_notify = net_queue_notify,
	.activate = net_activate,
	.reset = net_reset,
	.config_read = net_config_read,
	.config_write = net_config_write,
};

int net_attach(struct net *n, int fd, const char *name, const uint8_t mac[6], const struct gm *mem,
	       struct evloop *loop)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
			    VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
			    VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
			    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
			    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
	int err;

	memset(n, 0, sizeof(*n));
	n->loop = loop;
	n->tap_fd = fd;
	snprintf(n->tap, sizeof(n->tap), "%s", name);
	memcpy(n->cfg.mac, mac, 6);
	n->cfg.status = VIRTIO_NET_S_LINK_UP;
	n->rx_max = HDR_LEN + ETH_MAX_FRAME;
	err = virtio_dev_init(&n->vdev, "virtio-net", VIRTIO_ID_NET, &net_ops, n, mem, features,
			      sizeof(n->cfg), 2, NET_QUEUE_SIZE);
	if (!err)
		err = evloop_add(loop, n->tap_fd, tap_ready, n);
	if (err) {
		n->tap_fd = -1;
		return err;
	}
	pause_rx(n, true); /* nothing to read into until the driver is ready */
	return 0;
}

int net_attach_tap(struct net *n, int fd, const struct net_options *o, const struct gm *mem,
		   struct evloop *loop)
{
	uint8_t mac[6];

	if (o->mac_set)
		memcpy(mac, o->mac, 6);
	else
		net_default_mac(o->tap, mac);
	return net_attach(n, fd, o->tap, mac, mem, loop);
}

int net_open(struct net *n, const struct net_options *o, const struct gm *mem, struct evloop *loop)
{
	int fd, err;

	err = tap_open(o->tap, &fd);
	if (err)
		return err;
	err = net_attach_tap(n, fd, o, mem, loop);
	if (err)
		close(fd);
	return err;
}

void net_close(struct net *n)
{
	if (n->tap_fd < 0)
		return;
	evloop_del(n->loop, n->tap_fd);
	virtio_dev_destroy(&n->vdev);
	close(n->tap_fd); /* a tap Ember created disappears with it */
	n->tap_fd = -1;
}
