/* The virtio-net test fixture: see test_net.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_net.h"
#include "vmm/log.h"

static const uint8_t nfx_mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

void nfx_attach(struct nfx *f)
{
	nfx_attach_ram(f, NFX_RAM);
}

void nfx_attach_ram(struct nfx *f, uint64_t ram)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	f->peer = -1;
	/* The device refuses TUNSETOFFLOAD on a socket with a warning at every activation. */
	f->log_level = log_get_level();
	log_set_level(LOG_ERR);
	ck_assert_int_eq(gm_init(&f->m, ram, ram), 0);
	ck_assert_int_eq(evloop_init(&f->loop), 0);
	/* A tap fd is non-blocking (tap_open); the device end must be too. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
			 0);
	ck_assert_int_eq(net_attach(&f->n, sv[0], "nfx0", nfx_mac, &f->m, &f->loop), 0);
	f->attached = true;
	f->peer = sv[1];
	f->buf_next = NFX_BUF;
}

void nfx_activate(struct nfx *f, const struct nfx_cfg *c)
{
	struct virtio_dev *v = &f->n.vdev;
	uint16_t rx_size = c->rx_size ? c->rx_size : NET_QUEUE_SIZE;

	fake_vring_init_at(&f->rx, &f->m, rx_size, NFX_RX_RING);
	fake_vring_init_at(&f->tx, &f->m, NET_QUEUE_SIZE, NFX_TX_RING);
	f->rx_next = f->tx_next = 0;
	pthread_mutex_lock(&v->lock);
	v->driver_features = c->features | VIRTIO_FEAT_VERSION_1 | VIRTIO_FEAT_INDIRECT_DESC |
			     (c->event_idx ? VIRTIO_FEAT_EVENT_IDX : 0);
	ck_assert_uint_eq(v->driver_features & ~v->host_features, 0);
	v->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	if (!c->no_rx_queue)
		ck_assert_int_eq(vq_setup(&v->vq[RXQ], &f->m, rx_size, f->rx.desc, f->rx.avail,
					  f->rx.used, c->event_idx, true),
				 0);
	ck_assert_int_eq(vq_setup(&v->vq[TXQ], &f->m, NET_QUEUE_SIZE, f->tx.desc, f->tx.avail,
				  f->tx.used, c->event_idx, true),
			 0);
	v->status |= VIRTIO_STATUS_DRIVER_OK;
	v->ops->activate(v);
	pthread_mutex_unlock(&v->lock);
}

void nfx_open(struct nfx *f, uint64_t features)
{
	nfx_attach(f);
	nfx_activate(f, &(struct nfx_cfg){ .features = features });
}

void nfx_start(struct nfx *f)
{
	ck_assert_int_eq(evloop_start(&f->loop), 0);
	f->loop_running = true;
}

void nfx_close(struct nfx *f)
{
	/* The loop first: a peer closed under a running loop makes the socket readable forever. */
	if (f->loop_running)
		evloop_stop(&f->loop);
	if (f->attached)
		net_close(&f->n);
	if (f->peer >= 0)
		close(f->peer);
	evloop_destroy(&f->loop);
	gm_destroy(&f->m);
	log_set_level((enum log_level)f->log_level);
}

uint8_t *nfx_host(struct nfx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gm_ptr(&f->m, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

uint64_t nfx_buf(struct nfx *f, uint32_t len, uint8_t fill)
{
	uint64_t gpa = f->buf_next;

	ck_assert_uint_le(gpa + len, f->m.ram_size);
	f->buf_next = (gpa + len + 15) & ~15ULL;
	if (len)
		memset(nfx_host(f, gpa, len), fill, len);
	return gpa;
}

uint16_t nfx_publish(struct nfx *f, unsigned int q, const struct fake_seg *segs, unsigned int n)
{
	struct fake_vring *v = q == RXQ ? &f->rx : &f->tx;
	uint16_t *next = q == RXQ ? &f->rx_next : &f->tx_next;
	uint16_t head = fake_vring_chain(v, *next, segs, n);

	*next = (uint16_t)((*next + n) % v->size);
	/* Ring entries before the index that publishes them (the vq reads with acquire). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fake_vring_publish(v, head);
	return head;
}

uint16_t nfx_post_rx(struct nfx *f, uint32_t len)
{
	struct fake_seg s = { nfx_buf(f, len, 0xee), len, F_W };

	return nfx_publish(f, RXQ, &s, 1);
}

void nfx_kick(struct nfx *f, unsigned int q)
{
	pthread_mutex_lock(&f->n.vdev.lock);
	f->n.vdev.ops->queue_notify(&f->n.vdev, q);
	pthread_mutex_unlock(&f->n.vdev.lock);
}

uint8_t nfx_status(struct nfx *f)
{
	uint8_t s;

	pthread_mutex_lock(&f->n.vdev.lock);
	s = f->n.vdev.status;
	pthread_mutex_unlock(&f->n.vdev.lock);
	return s;
}

uint16_t nfx_used_idx(struct nfx *f, unsigned int q)
{
	const struct fake_vring *v = q == RXQ ? &f->rx : &f->tx;
	const uint16_t *p = (const uint16_t *)nfx_host(f, v->used + 2, 2);

	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

void nfx_wait_used(struct nfx *f, unsigned int q, uint16_t idx)
{
	for (int i = 0; i < 4000 && nfx_used_idx(f, q) != idx; i++)
		usleep(500);
	ck_assert_uint_eq(nfx_used_idx(f, q), idx);
}

void nfx_used_is(struct nfx *f, unsigned int q, uint16_t idx, uint16_t head, uint32_t len)
{
	uint32_t id, l;

	fake_vring_used_elem(q == RXQ ? &f->rx : &f->tx, idx, &id, &l);
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(l, len);
}

uint8_t nfx_pattern(unsigned int seed, size_t off)
{
	return (uint8_t)(off * 7 + (off >> 8) * 3 + seed * 29 + 1);
}

void nfx_send(struct nfx *f, const struct virtio_net_hdr_v1 *hdr, unsigned int seed, size_t len)
{
	uint8_t *frame = malloc(NFX_HDR + len);

	ck_assert_ptr_nonnull(frame);
	if (hdr)
		memcpy(frame, hdr, NFX_HDR);
	else
		memset(frame, 0, NFX_HDR);
	for (size_t i = 0; i < len; i++)
		frame[NFX_HDR + i] = nfx_pattern(seed, i);
	ck_assert_int_eq(send(f->peer, frame, NFX_HDR + len, MSG_DONTWAIT),
			 (ssize_t)(NFX_HDR + len));
	free(frame);
}

ssize_t nfx_recv(struct nfx *f, void *buf, size_t size)
{
	ssize_t n = recv(f->peer, buf, size, MSG_DONTWAIT | MSG_TRUNC);

	ck_assert(n >= 0 || errno == EAGAIN);
	ck_assert_int_le(n, (ssize_t)size); /* MSG_TRUNC: the whole frame fitted */
	return n;
}

ssize_t nfx_pending(struct nfx *f)
{
	char c;
	ssize_t n = recv(f->n.tap_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);

	ck_assert(n >= 0 || errno == EAGAIN);
	return n;
}

bool nfx_guest_is_pattern(struct nfx *f, uint64_t gpa, unsigned int seed, size_t off, size_t len)
{
	const uint8_t *p = len ? nfx_host(f, gpa, len) : NULL;

	for (size_t i = 0; i < len; i++)
		if (p[i] != nfx_pattern(seed, off + i))
			return false;
	return true;
}

static double cpu_ms(clockid_t id)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(id, &ts), 0);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double nfx_loop_cpu_ms(struct nfx *f, unsigned int ms)
{
	clockid_t id;
	double before;

	ck_assert(f->loop_running);
	ck_assert_int_eq(pthread_getcpuclockid(f->loop.thread, &id), 0);
	before = cpu_ms(id);
	usleep(ms * 1000);
	return cpu_ms(id) - before;
}
