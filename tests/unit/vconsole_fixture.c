/* The virtio-console test fixture: see test_vconsole.h. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>

#include "tests/unit/test_vconsole.h"
#include "vmm/log.h"

void cfx_init(struct cfx *f, const struct vconsole_port_cfg *ports, unsigned int n)
{
	memset(f, 0, sizeof(*f));
	f->log_level = log_get_level();
	log_set_level(LOG_ERR); /* hostile cases warn */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(gm_init(&f->m, CFX_RAM, CFX_RAM), 0);
	ck_assert_int_eq(evloop_init(&f->loop), 0);
	ck_assert_int_eq(vconsole_init(&f->c, ports, n, &f->m, &f->loop), 0);
	f->buf_next = CFX_BUF;
}

/* Lay out fresh rings for every queue, negotiate `features`, DRIVER_OK, activate. */
void cfx_activate(struct cfx *f, uint64_t features)
{
	struct virtio_dev *v = &f->c.vdev;

	f->nq = (features & VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT)) ? v->num_queues : 2;
	pthread_mutex_lock(&v->lock);
	v->driver_features = features | VIRTIO_FEAT_VERSION_1;
	v->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	for (unsigned int q = 0; q < f->nq; q++) {
		fake_vring_init_at(&f->vr[q], &f->m, CFX_QSIZE, CFX_RING(q));
		f->next_desc[q] = f->seen[q] = 0;
		ck_assert_int_eq(vq_setup(&v->vq[q], &f->m, CFX_QSIZE, f->vr[q].desc,
					  f->vr[q].avail, f->vr[q].used, false, true),
				 0);
	}
	v->status |= VIRTIO_STATUS_DRIVER_OK;
	v->ops->activate(v);
	pthread_mutex_unlock(&v->lock);
}

void cfx_reset(struct cfx *f)
{
	pthread_mutex_lock(&f->c.vdev.lock);
	virtio_driver_reset(&f->c.vdev);
	pthread_mutex_unlock(&f->c.vdev.lock);
}

void cfx_close(struct cfx *f)
{
	vconsole_destroy(&f->c);
	evloop_destroy(&f->loop);
	gm_destroy(&f->m);
	log_set_level((enum log_level)f->log_level);
}

uint8_t *cfx_host(struct cfx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gm_ptr(&f->m, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

uint64_t cfx_buf(struct cfx *f, uint32_t len, uint8_t fill)
{
	uint64_t gpa = f->buf_next;

	f->buf_next = (gpa + len + 15) & ~15ULL;
	ck_assert_uint_le(f->buf_next, CFX_RAM);
	if (len)
		memset(cfx_host(f, gpa, len), fill, len);
	return gpa;
}

uint16_t cfx_publish(struct cfx *f, unsigned int q, const struct fake_seg *s, unsigned int n)
{
	uint16_t head = fake_vring_chain(&f->vr[q], f->next_desc[q], s, n);

	f->gpa[q][head] = s[0].addr;
	f->next_desc[q] = (uint16_t)((f->next_desc[q] + n) % CFX_QSIZE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fake_vring_publish(&f->vr[q], head);
	return head;
}

void cfx_kick(struct cfx *f, unsigned int q)
{
	pthread_mutex_lock(&f->c.vdev.lock);
	f->c.vdev.ops->queue_notify(&f->c.vdev, q);
	pthread_mutex_unlock(&f->c.vdev.lock);
}

/* Post one writable buffer of `len` bytes on queue q (no kick). Returns its address. */
uint64_t cfx_post(struct cfx *f, unsigned int q, uint32_t len)
{
	struct fake_seg s = { cfx_buf(f, len, 0xee), len, F_W };

	cfx_publish(f, q, &s, 1);
	return s.addr;
}

/* Take the next used entry of queue q, if any: its buffer's address and length. */
bool cfx_used(struct cfx *f, unsigned int q, uint64_t *gpa, uint32_t *len)
{
	uint32_t id;

	if (fake_vring_used_idx(&f->vr[q]) == f->seen[q])
		return false;
	fake_vring_used_elem(&f->vr[q], f->seen[q]++, &id, len);
	ck_assert_uint_lt(id, CFX_QSIZE);
	*gpa = f->gpa[q][id];
	return true;
}

void cfx_ctrl_send(struct cfx *f, uint32_t id, uint16_t event, uint16_t value)
{
	struct virtio_console_control m = { .id = id, .event = event, .value = value };
	struct fake_seg s = { cfx_buf(f, sizeof(m), 0), sizeof(m), F_R };

	memcpy(cfx_host(f, s.addr, sizeof(m)), &m, sizeof(m));
	cfx_publish(f, CTRL_TX, &s, 1);
	cfx_kick(f, CTRL_TX);
}

/* The next control message for the driver, if any. */
bool cfx_ctrl_recv(struct cfx *f, struct cfx_msg *m)
{
	struct virtio_console_control h;
	uint64_t gpa;
	uint32_t len;

	if (!cfx_used(f, CTRL_RX, &gpa, &len))
		return false;
	ck_assert_uint_ge(len, sizeof(h));
	ck_assert_uint_le(len, sizeof(h) + VCONSOLE_NAME_MAX);
	memcpy(&h, cfx_host(f, gpa, sizeof(h)), sizeof(h));
	memset(m, 0, sizeof(*m));
	*m = (struct cfx_msg){ .id = h.id, .event = h.event, .value = h.value };
	if (len > sizeof(h))
		memcpy(m->name, cfx_host(f, gpa + sizeof(h), len - sizeof(h)), len - sizeof(h));
	return true;
}

void cfx_expect_msg(struct cfx *f, uint32_t id, uint16_t event, uint16_t value)
{
	struct cfx_msg m;

	ck_assert_msg(cfx_ctrl_recv(f, &m), "no message (want port %u event %u)", id, event);
	ck_assert_uint_eq(m.id, id);
	ck_assert_uint_eq(m.event, event);
	ck_assert_uint_eq(m.value, value);
}

void cfx_expect_no_msg(struct cfx *f)
{
	struct cfx_msg m;

	ck_assert_msg(!cfx_ctrl_recv(f, &m), "unexpected message: port %u event %u value %u",
		      m.id, m.event, m.value);
}

void cfx_ctrl_buffers(struct cfx *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		cfx_post(f, CTRL_RX, 128);
	cfx_kick(f, CTRL_RX);
}

/* DEVICE_READY, PORT_ADD for each; PORT_READY for each, PORT_NAME and PORT_OPEN(1) back. */
void cfx_handshake(struct cfx *f)
{
	struct cfx_msg m;
	unsigned int n = f->c.nports;

	cfx_ctrl_buffers(f, 8);
	cfx_ctrl_send(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (unsigned int i = 0; i < n; i++)
		cfx_expect_msg(f, i, VIRTIO_CONSOLE_PORT_ADD, 0);
	cfx_expect_no_msg(f);
	for (unsigned int i = 0; i < n; i++) {
		cfx_ctrl_buffers(f, 2);
		cfx_ctrl_send(f, i, VIRTIO_CONSOLE_PORT_READY, 1);
		ck_assert(cfx_ctrl_recv(f, &m));
		ck_assert_uint_eq(m.id, i);
		ck_assert_uint_eq(m.event, VIRTIO_CONSOLE_PORT_NAME);
		ck_assert_str_eq(m.name, f->c.port[i].name);
		cfx_expect_msg(f, i, VIRTIO_CONSOLE_PORT_OPEN, 1);
		cfx_expect_no_msg(f);
	}
}

void cfx_open_port(struct cfx *f, unsigned int id, bool open)
{
	cfx_ctrl_send(f, id, VIRTIO_CONSOLE_PORT_OPEN, open);
}

/* Dispatch what the event loop has ready, on this thread. Returns the events served. */
int cfx_pump(struct cfx *f, int timeout_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(f->loop.epfd, ev, 16, timeout_ms);

	for (int i = 0; i < n; i++) {
		uint32_t slot = ev[i].data.u32;
		struct evloop_src s;

		if (slot == UINT32_MAX)
			continue;
		s = f->loop.src[slot];
		if (s.fn)
			s.fn(s.ctx, ev[i].events);
	}
	return n < 0 ? 0 : n;
}

uint8_t cfx_status(struct cfx *f)
{
	return f->c.vdev.status;
}

/* A non-blocking pipe: p[0] read end, p[1] write end. */
void cfx_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

int cfx_pending(int fd)
{
	int n = 0;

	ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

void cfx_put(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* The next rx entry of port `id` must hold exactly `want`. */
void cfx_expect_rx(struct cfx *f, unsigned int id, const char *want)
{
	uint64_t gpa;
	uint32_t len;

	ck_assert_msg(cfx_used(f, rxq(id), &gpa, &len), "port %u: no data (want '%s')", id, want);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(cfx_host(f, gpa, len), want, len);
}

/* Publish `s` as one tx chain of port `id`, cut into `nseg` readable pieces, and kick. */
void cfx_guest_write(struct cfx *f, unsigned int id, const char *s, unsigned int nseg)
{
	size_t len = strlen(s), at = 0;
	struct fake_seg seg[8];

	ck_assert_uint_le(nseg, 8);
	for (unsigned int i = 0; i < nseg; i++) {
		size_t piece = i + 1 < nseg ? len / nseg : len - at;

		seg[i] = (struct fake_seg){ cfx_buf(f, (uint32_t)piece, 0), (uint32_t)piece, F_R };
		memcpy(cfx_host(f, seg[i].addr, piece), s + at, piece);
		at += piece;
	}
	cfx_publish(f, txq(id), seg, nseg);
	cfx_kick(f, txq(id));
}

void cfx_expect_out(int fd, const char *want)
{
	char buf[256] = { 0 };
	size_t len = strlen(want);

	ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), (ssize_t)len);
	ck_assert_str_eq(buf, want);
}

