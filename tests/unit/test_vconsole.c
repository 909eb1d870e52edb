/*
 * virtio/vconsole: identity and config space, the multiport control
 * handshake, data both ways through pipes, socketpairs and regular files,
 * back-pressure, EOF and EPIPE, hostile control messages and chains, reset
 * in the middle of a transfer, four ports at once.
 *
 * The fixture plays the driver: every queue laid out with the fake vring
 * (CFX_QSIZE entries) and set up by hand, no transport (interrupts are
 * skipped). Kicks call queue_notify with the device lock held, as the I/O
 * thread does; cfx_pump() runs the event loop's callbacks on the test
 * thread (one epoll_wait), so fd events are served deterministically.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/fake_vring.h"
#include "tests/unit/suites.h"
#include "virtio/vconsole.h"
#include "vmm/log.h"

#define CFX_RAM (8ULL << 20)
#define CFX_RING(q) (0x10000ULL + (uint64_t)(q) * 0x1000)
#define CFX_BUF 0x100000ULL
#define CFX_QSIZE VCONSOLE_QUEUE_SIZE
#define CTRL_RX 2
#define CTRL_TX 3
#define F_R false
#define F_W true

static unsigned int rxq(unsigned int id)
{
	return id == 0 ? 0 : 2 * id + 2;
}

static unsigned int txq(unsigned int id)
{
	return rxq(id) + 1;
}

struct cfx {
	struct gm m;
	struct evloop loop;
	struct vconsole c;
	int log_level;
	unsigned int nq;
	struct fake_vring vr[VIRTIO_MAX_QUEUES];
	uint16_t next_desc[VIRTIO_MAX_QUEUES];
	uint16_t seen[VIRTIO_MAX_QUEUES];	     /* used entries the test has taken */
	uint64_t gpa[VIRTIO_MAX_QUEUES][CFX_QSIZE]; /* first buffer of each head */
	uint64_t buf_next;
};

struct msg {
	uint32_t id;
	uint16_t event, value;
	char name[VCONSOLE_NAME_MAX + 1];
};

static void cfx_init(struct cfx *f, const struct vconsole_port_cfg *ports, unsigned int n)
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
static void cfx_activate(struct cfx *f, uint64_t features)
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

static void cfx_reset(struct cfx *f)
{
	pthread_mutex_lock(&f->c.vdev.lock);
	virtio_driver_reset(&f->c.vdev);
	pthread_mutex_unlock(&f->c.vdev.lock);
}

static void cfx_close(struct cfx *f)
{
	vconsole_destroy(&f->c);
	evloop_destroy(&f->loop);
	gm_destroy(&f->m);
	log_set_level((enum log_level)f->log_level);
}

static uint8_t *host(struct cfx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gm_ptr(&f->m, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

static uint64_t cfx_buf(struct cfx *f, uint32_t len, uint8_t fill)
{
	uint64_t gpa = f->buf_next;

	f->buf_next = (gpa + len + 15) & ~15ULL;
	ck_assert_uint_le(f->buf_next, CFX_RAM);
	if (len)
		memset(host(f, gpa, len), fill, len);
	return gpa;
}

static uint16_t cfx_publish(struct cfx *f, unsigned int q, const struct fake_seg *s, unsigned int n)
{
	uint16_t head = fake_vring_chain(&f->vr[q], f->next_desc[q], s, n);

	f->gpa[q][head] = s[0].addr;
	f->next_desc[q] = (uint16_t)((f->next_desc[q] + n) % CFX_QSIZE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fake_vring_publish(&f->vr[q], head);
	return head;
}

static void cfx_kick(struct cfx *f, unsigned int q)
{
	pthread_mutex_lock(&f->c.vdev.lock);
	f->c.vdev.ops->queue_notify(&f->c.vdev, q);
	pthread_mutex_unlock(&f->c.vdev.lock);
}

/* Post one writable buffer of `len` bytes on queue q (no kick). Returns its address. */
static uint64_t cfx_post(struct cfx *f, unsigned int q, uint32_t len)
{
	struct fake_seg s = { cfx_buf(f, len, 0xee), len, F_W };

	cfx_publish(f, q, &s, 1);
	return s.addr;
}

/* Take the next used entry of queue q, if any: its buffer's address and length. */
static bool cfx_used(struct cfx *f, unsigned int q, uint64_t *gpa, uint32_t *len)
{
	uint32_t id;

	if (fake_vring_used_idx(&f->vr[q]) == f->seen[q])
		return false;
	fake_vring_used_elem(&f->vr[q], f->seen[q]++, &id, len);
	ck_assert_uint_lt(id, CFX_QSIZE);
	*gpa = f->gpa[q][id];
	return true;
}

static void cfx_ctrl_send(struct cfx *f, uint32_t id, uint16_t event, uint16_t value)
{
	struct virtio_console_control m = { .id = id, .event = event, .value = value };
	struct fake_seg s = { cfx_buf(f, sizeof(m), 0), sizeof(m), F_R };

	memcpy(host(f, s.addr, sizeof(m)), &m, sizeof(m));
	cfx_publish(f, CTRL_TX, &s, 1);
	cfx_kick(f, CTRL_TX);
}

/* The next control message for the driver, if any. */
static bool cfx_ctrl_recv(struct cfx *f, struct msg *m)
{
	struct virtio_console_control h;
	uint64_t gpa;
	uint32_t len;

	if (!cfx_used(f, CTRL_RX, &gpa, &len))
		return false;
	ck_assert_uint_ge(len, sizeof(h));
	ck_assert_uint_le(len, sizeof(h) + VCONSOLE_NAME_MAX);
	memcpy(&h, host(f, gpa, sizeof(h)), sizeof(h));
	memset(m, 0, sizeof(*m));
	*m = (struct msg){ .id = h.id, .event = h.event, .value = h.value };
	if (len > sizeof(h))
		memcpy(m->name, host(f, gpa + sizeof(h), len - sizeof(h)), len - sizeof(h));
	return true;
}

static void expect_msg(struct cfx *f, uint32_t id, uint16_t event, uint16_t value)
{
	struct msg m;

	ck_assert_msg(cfx_ctrl_recv(f, &m), "no message (want port %u event %u)", id, event);
	ck_assert_uint_eq(m.id, id);
	ck_assert_uint_eq(m.event, event);
	ck_assert_uint_eq(m.value, value);
}

static void expect_no_msg(struct cfx *f)
{
	struct msg m;

	ck_assert_msg(!cfx_ctrl_recv(f, &m), "unexpected message: port %u event %u value %u",
		      m.id, m.event, m.value);
}

static void cfx_ctrl_buffers(struct cfx *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		cfx_post(f, CTRL_RX, 128);
	cfx_kick(f, CTRL_RX);
}

/* DEVICE_READY, PORT_ADD for each; PORT_READY for each, PORT_NAME and PORT_OPEN(1) back. */
static void cfx_handshake(struct cfx *f)
{
	struct msg m;
	unsigned int n = f->c.nports;

	cfx_ctrl_buffers(f, 8);
	cfx_ctrl_send(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (unsigned int i = 0; i < n; i++)
		expect_msg(f, i, VIRTIO_CONSOLE_PORT_ADD, 0);
	expect_no_msg(f);
	for (unsigned int i = 0; i < n; i++) {
		cfx_ctrl_buffers(f, 2);
		cfx_ctrl_send(f, i, VIRTIO_CONSOLE_PORT_READY, 1);
		ck_assert(cfx_ctrl_recv(f, &m));
		ck_assert_uint_eq(m.id, i);
		ck_assert_uint_eq(m.event, VIRTIO_CONSOLE_PORT_NAME);
		ck_assert_str_eq(m.name, f->c.port[i].name);
		expect_msg(f, i, VIRTIO_CONSOLE_PORT_OPEN, 1);
		expect_no_msg(f);
	}
}

static void cfx_open_port(struct cfx *f, unsigned int id, bool open)
{
	cfx_ctrl_send(f, id, VIRTIO_CONSOLE_PORT_OPEN, open);
}

/* Dispatch what the event loop has ready, on this thread. Returns the events served. */
static int cfx_pump(struct cfx *f, int timeout_ms)
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

static uint8_t status(struct cfx *f)
{
	return f->c.vdev.status;
}

/* A non-blocking pipe: p[0] read end, p[1] write end. */
static void mkpipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

static int pending(int fd)
{
	int n = 0;

	ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

static void put(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* The next rx entry of port `id` must hold exactly `want`. */
static void expect_rx(struct cfx *f, unsigned int id, const char *want)
{
	uint64_t gpa;
	uint32_t len;

	ck_assert_msg(cfx_used(f, rxq(id), &gpa, &len), "port %u: no data (want '%s')", id, want);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(host(f, gpa, len), want, len);
}

/* Publish `s` as one tx chain of port `id`, cut into `nseg` readable pieces, and kick. */
static void guest_write(struct cfx *f, unsigned int id, const char *s, unsigned int nseg)
{
	size_t len = strlen(s), at = 0;
	struct fake_seg seg[8];

	ck_assert_uint_le(nseg, 8);
	for (unsigned int i = 0; i < nseg; i++) {
		size_t piece = i + 1 < nseg ? len / nseg : len - at;

		seg[i] = (struct fake_seg){ cfx_buf(f, (uint32_t)piece, 0), (uint32_t)piece, F_R };
		memcpy(host(f, seg[i].addr, piece), s + at, piece);
		at += piece;
	}
	cfx_publish(f, txq(id), seg, nseg);
	cfx_kick(f, txq(id));
}

static void expect_out(int fd, const char *want)
{
	char buf[256] = { 0 };
	size_t len = strlen(want);

	ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), (ssize_t)len);
	ck_assert_str_eq(buf, want);
}

/* ---- identity and set-up ---- */

START_TEST(test_identity_and_config)
{
	struct vconsole_port_cfg ports[3] = {
		{ "a", -1, -1 }, { "b", -1, -1 }, { "c", -1, -1 }
	};
	struct virtio_console_config cfg;
	struct virtio_dev *v;
	uint8_t junk[8];
	struct cfx f;

	cfx_init(&f, ports, 3);
	v = &f.c.vdev;
	ck_assert_uint_eq(v->device_id, 3);
	ck_assert_uint_eq(v->num_queues, 8);
	ck_assert(v->host_features & VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	ck_assert(!(v->host_features & VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE)));
	ck_assert_uint_eq(v->config_size, sizeof(cfg));
	v->ops->config_read(v, 0, &cfg, sizeof(cfg));
	ck_assert_uint_eq(cfg.max_nr_ports, 3);
	ck_assert_uint_eq(cfg.cols, 0);
	/* Writes (emerg_wr included) change nothing; reads past the end copy nothing. */
	memset(junk, 0x5a, sizeof(junk));
	v->ops->config_write(v, 8, junk, 4);
	v->ops->config_write(v, 4, junk, 4);
	v->ops->config_read(v, 4, &cfg.max_nr_ports, 4);
	ck_assert_uint_eq(cfg.max_nr_ports, 3);
	v->ops->config_read(v, 10, junk, 4);
	v->ops->config_read(v, UINT32_MAX, junk, 4);
	for (unsigned int i = 0; i < sizeof(junk); i++)
		ck_assert_uint_eq(junk[i], 0x5a);
	cfx_close(&f);
}
END_TEST

START_TEST(test_init_refuses_bad_configs)
{
	char longname[VCONSOLE_NAME_MAX + 2];
	struct vconsole_port_cfg p[VCONSOLE_MAX_PORTS + 1];
	int fds[2];
	struct evloop loop;
	struct gm m;
	struct vconsole c;

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	for (unsigned int i = 0; i <= VCONSOLE_MAX_PORTS; i++)
		p[i] = (struct vconsole_port_cfg){ NULL, -1, -1 };
	ck_assert_int_eq(gm_init(&m, CFX_RAM, CFX_RAM), 0);
	ck_assert_int_eq(evloop_init(&loop), 0);
	ck_assert_int_eq(vconsole_init(&c, p, 0, &m, &loop), -EINVAL);
	ck_assert_int_eq(vconsole_init(&c, p, VCONSOLE_MAX_PORTS + 1, &m, &loop), -EINVAL);
	p[1].name = longname;
	ck_assert_int_eq(vconsole_init(&c, p, 2, &m, &loop), -ENAMETOOLONG);
	p[1].name = "ok";
	mkpipe(fds);
	p[0].out_fd = fds[1];
	p[1].in_fd = fds[1]; /* one fd number in two ports */
	ck_assert_int_eq(vconsole_init(&c, p, 2, &m, &loop), -EINVAL);
	p[1].in_fd = p[1].out_fd = fds[0];
	ck_assert_int_eq(vconsole_init(&c, p, VCONSOLE_MAX_PORTS, &m, &loop), 0);
	ck_assert_uint_eq(c.vdev.num_queues, VIRTIO_MAX_QUEUES);
	ck_assert_ptr_eq(c.port[1].in_w, c.port[1].out_w); /* one registration for both */
	vconsole_destroy(&c);
	close(fds[0]);
	close(fds[1]);
	evloop_destroy(&loop);
	gm_destroy(&m);
}
END_TEST

/* ---- the control handshake ---- */

START_TEST(test_handshake)
{
	struct vconsole_port_cfg ports[2] = { { "ember.stdin", -1, -1 }, { "ember.stdout", -1, -1 } };
	struct cfx f;

	cfx_init(&f, ports, 2);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f); /* fds -1: still offered, named and connected */
	ck_assert(f.c.port[1].ready);
	ck_assert_uint_eq(status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
}
END_TEST

START_TEST(test_unnamed_port_gets_no_name)
{
	struct vconsole_port_cfg ports[1] = { { NULL, -1, -1 } };
	struct cfx f;

	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_ctrl_buffers(&f, 4);
	cfx_ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_ADD, 0);
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_no_msg(&f);
	cfx_close(&f);
}
END_TEST

/* Messages for the guest wait for its buffers, none lost; a buffer too small is skipped. */
START_TEST(test_ctrl_waits_for_buffers)
{
	struct vconsole_port_cfg ports[3] = { { "p0", -1, -1 }, { "p1", -1, -1 }, { "p2", -1, -1 } };
	struct fake_seg tiny;
	struct cfx f;

	cfx_init(&f, ports, 3);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_no_msg(&f);
	ck_assert_uint_eq(f.c.port[2].ctrl_pending, 1);
	cfx_ctrl_buffers(&f, 1);
	expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_ADD, 0);
	expect_no_msg(&f);
	/* 4 bytes cannot hold a message: returned empty, the next buffer takes it. */
	tiny = (struct fake_seg){ cfx_buf(&f, 4, 0x77), 4, F_W };
	cfx_publish(&f, CTRL_RX, &tiny, 1);
	cfx_ctrl_buffers(&f, 1);
	{
		uint64_t gpa;
		uint32_t len;

		ck_assert(cfx_used(&f, CTRL_RX, &gpa, &len));
		ck_assert_uint_eq(gpa, tiny.addr);
		ck_assert_uint_eq(len, 0);
	}
	expect_msg(&f, 1, VIRTIO_CONSOLE_PORT_ADD, 0);
	cfx_ctrl_buffers(&f, 4);
	expect_msg(&f, 2, VIRTIO_CONSOLE_PORT_ADD, 0);
	expect_no_msg(&f);
	ck_assert_uint_eq(status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
}
END_TEST

/* Unknown events, ids out of range, short and split messages, storms: no harm. */
START_TEST(test_hostile_control)
{
	struct vconsole_port_cfg ports[2] = { { "a", -1, -1 }, { "b", -1, -1 } };
	struct virtio_console_control m = { .id = 1, .event = VIRTIO_CONSOLE_PORT_READY, .value = 1 };
	struct fake_seg s[2];
	struct cfx f;

	cfx_init(&f, ports, 2);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_ctrl_buffers(&f, 8);
	/* Before DEVICE_READY a PORT_READY adds nothing. */
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_no_msg(&f);
	for (unsigned int i = 0; i < 40; i++) /* a storm: PORT_ADD once per port */
		cfx_ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_ADD, 0);
	expect_msg(&f, 1, VIRTIO_CONSOLE_PORT_ADD, 0);
	expect_no_msg(&f);
	cfx_ctrl_send(&f, 2, VIRTIO_CONSOLE_PORT_READY, 1);
	cfx_ctrl_send(&f, UINT32_MAX, VIRTIO_CONSOLE_PORT_OPEN, 1);
	cfx_ctrl_send(&f, 0x80000000u, VIRTIO_CONSOLE_PORT_READY, 1);
	cfx_ctrl_send(&f, 0, 0xffff, 1);
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_PORT_NAME, 1);
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_RESIZE, 1);
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_PORT_READY, 0); /* the driver failed the port */
	expect_no_msg(&f);
	/* Short: 4 bytes of a message, and a zero-length one. */
	s[0] = (struct fake_seg){ cfx_buf(&f, 4, 0), 4, F_R };
	memcpy(host(&f, s[0].addr, 4), &m, 4);
	cfx_publish(&f, CTRL_TX, s, 1);
	cfx_kick(&f, CTRL_TX);
	expect_no_msg(&f);
	/* Split over two descriptors: a whole message, served. */
	s[0] = (struct fake_seg){ cfx_buf(&f, 3, 0), 3, F_R };
	s[1] = (struct fake_seg){ cfx_buf(&f, 5, 0), 5, F_R };
	memcpy(host(&f, s[0].addr, 3), &m, 3);
	memcpy(host(&f, s[1].addr, 5), (uint8_t *)&m + 3, 5);
	cfx_publish(&f, CTRL_TX, s, 2);
	cfx_kick(&f, CTRL_TX);
	ck_assert(f.c.port[1].ready);
	for (unsigned int i = 0; i < 20; i++) /* a PORT_READY storm: the name once */
		cfx_ctrl_send(&f, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_msg(&f, 1, VIRTIO_CONSOLE_PORT_NAME, 0);
	expect_msg(&f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_no_msg(&f);
	ck_assert_uint_eq(status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	/* Every control tx buffer came back. */
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[CTRL_TX]), f.vr[CTRL_TX].avail_idx);
	/* A zero-length descriptor breaks a virtqueue rule (vq_pop): NEEDS_RESET. */
	s[0].len = 0;
	cfx_publish(&f, CTRL_TX, s, 1);
	cfx_kick(&f, CTRL_TX);
	ck_assert_uint_ne(status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
}
END_TEST

/* A read-only control rx buffer, or one outside RAM: the device needs a reset, writes nothing. */
START_TEST(test_hostile_ctrl_rx_buffers)
{
	struct vconsole_port_cfg ports[1] = { { "a", -1, -1 } };
	struct fake_seg bad[2] = {
		{ CFX_BUF, 64, F_R },	  /* the device may not write it */
		{ CFX_RAM - 8, 64, F_W }, /* runs past the end of RAM */
	};
	struct cfx f;

	for (unsigned int k = 0; k < 2; k++) {
		cfx_init(&f, ports, 1);
		cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
		ck_assert_uint_eq(cfx_buf(&f, 64, 0x33), CFX_BUF);
		cfx_publish(&f, CTRL_RX, &bad[k], 1);
		cfx_ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
		ck_assert_uint_ne(status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
		ck_assert_uint_eq(fake_vring_used_idx(&f.vr[CTRL_RX]), 0);
		for (unsigned int i = 0; i < 64; i++)
			ck_assert_uint_eq(host(&f, CFX_BUF, 64)[i], 0x33);
		/* A reset and a new driver start over. */
		cfx_reset(&f);
		cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
		cfx_handshake(&f);
		cfx_close(&f);
	}
}
END_TEST

/* ---- host -> guest ---- */

START_TEST(test_rx_waits_for_open_then_delivers)
{
	int in[2];
	struct vconsole_port_cfg ports[2] = { { "ctl", -1, -1 }, { "stdin", -1, -1 } };
	struct fake_seg s[3];
	uint64_t gpa;
	uint32_t len;
	struct cfx f;

	mkpipe(in);
	ports[1].in_fd = in[0];
	cfx_init(&f, ports, 2);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	put(in[1], "hello, guest");
	cfx_post(&f, rxq(1), 64);
	cfx_kick(&f, rxq(1));
	/* Not open: nothing read, in_fd not watched. */
	ck_assert_int_eq(pending(in[0]), 12);
	ck_assert(!cfx_used(&f, rxq(1), &gpa, &len));
	ck_assert_uint_eq(f.c.port[1].in_w->events, 0);
	cfx_open_port(&f, 1, true);
	expect_rx(&f, 1, "hello, guest");
	ck_assert_uint_eq(f.c.port[1].in_w->events, 0); /* no buffer left */
	/* A chain of three writable descriptors takes one read across them. */
	s[0] = (struct fake_seg){ cfx_buf(&f, 2, 0), 2, F_W };
	s[1] = (struct fake_seg){ cfx_buf(&f, 3, 0), 3, F_W };
	s[2] = (struct fake_seg){ cfx_buf(&f, 10, 0), 10, F_W };
	cfx_publish(&f, rxq(1), s, 3);
	cfx_kick(&f, rxq(1));
	ck_assert_uint_eq(f.c.port[1].in_w->events, EPOLLIN);
	put(in[1], "abcdefg");
	cfx_pump(&f, 100); /* EPOLLIN on in_fd */
	ck_assert(cfx_used(&f, rxq(1), &gpa, &len));
	ck_assert_uint_eq(len, 7);
	ck_assert_mem_eq(host(&f, s[0].addr, 2), "ab", 2);
	ck_assert_mem_eq(host(&f, s[1].addr, 3), "cde", 3);
	ck_assert_mem_eq(host(&f, s[2].addr, 2), "fg", 2);
	/* The guest closes the port: data stays in the pipe. */
	cfx_open_port(&f, 1, false);
	cfx_post(&f, rxq(1), 64);
	put(in[1], "later");
	ck_assert_int_eq(cfx_pump(&f, 0), 0);
	ck_assert_int_eq(pending(in[0]), 5);
	ck_assert_uint_eq(f.c.port[1].rx_bytes, 19);
	cfx_close(&f);
	close(in[0]);
	close(in[1]);
}
END_TEST

/* No buffers: in_fd is not watched; a kick of the rx queue resumes. */
START_TEST(test_rx_backpressure)
{
	int in[2];
	struct vconsole_port_cfg ports[1] = { { "in", -1, -1 } };
	struct cfx f;

	mkpipe(in);
	ports[0].in_fd = in[0];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_post(&f, rxq(0), 4);
	cfx_open_port(&f, 0, true);
	put(in[1], "0123456789");
	cfx_pump(&f, 100);
	expect_rx(&f, 0, "0123");
	ck_assert(f.c.port[0].rx_starved);
	ck_assert_uint_eq(f.c.port[0].in_w->events, 0);
	ck_assert_int_eq(cfx_pump(&f, 0), 0);
	ck_assert_int_eq(pending(in[0]), 6);
	cfx_post(&f, rxq(0), 100);
	cfx_post(&f, rxq(0), 100);
	cfx_kick(&f, rxq(0));
	expect_rx(&f, 0, "456789");
	ck_assert(!f.c.port[0].rx_starved); /* a buffer left: in_fd watched again */
	ck_assert_uint_eq(f.c.port[0].in_w->events, EPOLLIN);
	cfx_close(&f);
	close(in[0]);
	close(in[1]);
}
END_TEST

/* EOF of in_fd: every byte first, then PORT_OPEN(0); nothing read after. */
START_TEST(test_rx_eof_after_data)
{
	int in[2];
	struct vconsole_port_cfg ports[1] = { { "in", -1, -1 } };
	uint64_t gpa;
	uint32_t len;
	struct cfx f;

	mkpipe(in);
	ports[0].in_fd = in[0];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_ctrl_buffers(&f, 4);
	put(in[1], "last words");
	close(in[1]);
	cfx_post(&f, rxq(0), 5);
	cfx_open_port(&f, 0, true);
	expect_rx(&f, 0, "last ");
	expect_no_msg(&f); /* not yet: 5 bytes wait in the pipe */
	for (int i = 0; i < 5; i++)
		ck_assert_int_ge(cfx_pump(&f, 0), 0); /* HUP while starved: no spin, no harm */
	ck_assert(!f.c.port[0].in_w->polled);
	cfx_post(&f, rxq(0), 5);
	cfx_post(&f, rxq(0), 5);
	cfx_kick(&f, rxq(0));
	expect_rx(&f, 0, "words");
	expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_OPEN, 0);
	expect_no_msg(&f);
	ck_assert(!cfx_used(&f, rxq(0), &gpa, &len)); /* the last buffer stays posted */
	ck_assert(!vconsole_host_connected(&f.c.port[0]));
	ck_assert_int_eq(cfx_pump(&f, 0), 0);
	cfx_close(&f);
	close(in[0]);
}
END_TEST

/* A regular file as in_fd (epoll refuses it): read whenever the guest has room, in turns. */
START_TEST(test_rx_regular_file)
{
	char path[] = "/tmp/vconsole-rx-XXXXXX";
	int fd = mkstemp(path);
	struct vconsole_port_cfg ports[1] = { { "file", fd, -1 } };
	unsigned int got = 0;
	uint64_t gpa;
	uint32_t len;
	struct cfx f;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	for (int i = 0; i < 100; i++)
		put(fd, "0123456789");
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	cfx_init(&f, ports, 1);
	ck_assert(!f.c.port[0].in_w->polled);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_ctrl_buffers(&f, 2);
	for (int i = 0; i < 80; i++)
		cfx_post(&f, rxq(0), 10);
	cfx_open_port(&f, 0, true);
	for (int round = 0; round < 50 && got < 1000; round++) {
		while (cfx_used(&f, rxq(0), &gpa, &len)) {
			ck_assert_uint_eq(len, 10);
			ck_assert_mem_eq(host(&f, gpa, 10), "0123456789", 10);
			got += len;
			cfx_post(&f, rxq(0), 10); /* like Linux: the buffer goes back */
		}
		if (!cfx_pump(&f, 0)) /* the loop's turns, then a kick for the buffers put back */
			cfx_kick(&f, rxq(0));
	}
	ck_assert_uint_eq(got, 1000);
	cfx_kick(&f, rxq(0));
	expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_OPEN, 0);
	cfx_close(&f);
	close(fd);
}
END_TEST

/* ---- guest -> host ---- */

START_TEST(test_tx_in_order_through_a_pipe)
{
	int out[2];
	struct vconsole_port_cfg ports[2] = { { "ctl", -1, -1 }, { "stdout", -1, -1 } };
	struct fake_seg s[2];
	uint64_t gpa;
	uint32_t len;
	struct cfx f;

	mkpipe(out);
	ports[1].out_fd = out[1];
	cfx_init(&f, ports, 2);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	guest_write(&f, 1, "one ", 1);
	guest_write(&f, 1, "two three ", 3);
	guest_write(&f, 1, "four five six", 7);
	expect_out(out[0], "one two three four five six");
	for (int i = 0; i < 3; i++) {
		ck_assert(cfx_used(&f, txq(1), &gpa, &len));
		ck_assert_uint_eq(len, 0);
	}
	/* A writable descriptor in a tx chain is not output. */
	s[0] = (struct fake_seg){ cfx_buf(&f, 3, 'r'), 3, F_R };
	s[1] = (struct fake_seg){ cfx_buf(&f, 3, 'w'), 3, F_W };
	cfx_publish(&f, txq(1), s, 2);
	cfx_kick(&f, txq(1));
	expect_out(out[0], "rrr");
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(1)]), 4);
	ck_assert_uint_eq(status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
	close(out[0]);
	close(out[1]);
}
END_TEST

/* A full socket: the rest of the buffer waits for EPOLLOUT, nothing lost or reordered. */
START_TEST(test_tx_backpressure)
{
	enum { LEN = 200000 };
	int sv[2], sndbuf = 4096;
	struct vconsole_port_cfg ports[1] = { { "out", -1, -1 } };
	static uint8_t got[LEN];
	struct fake_seg s[2];
	size_t have = 0;
	uint8_t *p;
	struct cfx f;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	ports[0].out_fd = sv[0];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	for (int k = 0; k < 2; k++) {
		s[k] = (struct fake_seg){ cfx_buf(&f, LEN / 2, 0), LEN / 2, F_R };
		p = host(&f, s[k].addr, LEN / 2);
		for (size_t i = 0; i < LEN / 2; i++)
			p[i] = (uint8_t)((k * LEN / 2 + i) * 7 + 1);
	}
	cfx_publish(&f, txq(0), &s[0], 1);
	cfx_publish(&f, txq(0), &s[1], 1);
	cfx_kick(&f, txq(0));
	ck_assert(f.c.port[0].tx_busy);
	ck_assert(f.c.port[0].tx_wait);
	ck_assert_uint_eq(f.c.port[0].out_w->events, EPOLLOUT);
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(0)]), 0);
	for (int i = 0; i < 10000 && have < LEN; i++) {
		ssize_t n = read(sv[1], got + have, LEN - have);

		if (n > 0)
			have += (size_t)n;
		cfx_pump(&f, 0);
	}
	ck_assert_uint_eq(have, LEN);
	for (size_t i = 0; i < LEN; i++)
		ck_assert_uint_eq(got[i], (uint8_t)(i * 7 + 1));
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(0)]), 2);
	ck_assert(!f.c.port[0].tx_wait);
	ck_assert_uint_eq(f.c.port[0].out_w->events, 0);
	cfx_close(&f);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* The reader went away: PORT_OPEN(0), and the guest's output is consumed and dropped. */
START_TEST(test_tx_epipe)
{
	int out[2];
	struct vconsole_port_cfg ports[1] = { { "out", -1, -1 } };
	struct cfx f;

	mkpipe(out);
	ports[0].out_fd = out[1];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_ctrl_buffers(&f, 2);
	guest_write(&f, 0, "seen", 1);
	expect_out(out[0], "seen");
	close(out[0]);
	guest_write(&f, 0, "lost", 2);
	ck_assert(f.c.port[0].out_broken);
	expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_OPEN, 0);
	expect_no_msg(&f);
	guest_write(&f, 0, "dropped too", 1);
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(0)]), 3);
	ck_assert_uint_eq(f.c.port[0].tx_dropped, 15);
	ck_assert_uint_eq(f.c.port[0].tx_bytes, 4);
	ck_assert(!f.c.port[0].out_w->polled);
	ck_assert_int_eq(cfx_pump(&f, 0), 0);
	cfx_close(&f);
	close(out[1]);
}
END_TEST

/* More chains than a turn serves: the rest on the loop's next turn, in order; a regular
 * file (which epoll refuses) as out_fd. */
START_TEST(test_tx_batches_and_regular_file)
{
	enum { N = VCONSOLE_BATCH + 30 };
	char path[] = "/tmp/vconsole-tx-XXXXXX";
	int fd = mkstemp(path);
	struct vconsole_port_cfg ports[1] = { { "file", -1, -1 } };
	char buf[N + 1] = { 0 };
	struct cfx f;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ports[0].out_fd = fd;
	cfx_init(&f, ports, 1);
	ck_assert(!f.c.port[0].out_w->polled);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	for (unsigned int i = 0; i < N; i++) {
		struct fake_seg s = { cfx_buf(&f, 1, (uint8_t)('A' + i % 26)), 1, F_R };

		cfx_publish(&f, txq(0), &s, 1);
	}
	cfx_kick(&f, txq(0));
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(0)]), VCONSOLE_BATCH);
	ck_assert(f.c.port[0].tx_more);
	ck_assert_int_eq(cfx_pump(&f, 100), 1); /* the turn eventfd */
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(0)]), N);
	ck_assert(!f.c.port[0].tx_more);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), N);
	for (unsigned int i = 0; i < N; i++)
		ck_assert_uint_eq(buf[i], 'A' + i % 26);
	ck_assert_int_eq(cfx_pump(&f, 0), 0);
	cfx_close(&f);
	close(fd);
}
END_TEST

/* A port with no fds drops what the guest writes. */
START_TEST(test_port_without_fds_drops)
{
	struct vconsole_port_cfg ports[1] = { { "null", -1, -1 } };
	struct cfx f;

	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_open_port(&f, 0, true);
	cfx_post(&f, rxq(0), 16);
	cfx_kick(&f, rxq(0));
	guest_write(&f, 0, "into the void", 3);
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(0)]), 1);
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[rxq(0)]), 0);
	ck_assert_uint_eq(f.c.port[0].tx_dropped, 13);
	cfx_close(&f);
}
END_TEST

/* ---- hostile data chains ---- */

/* Zero-length, read-only, outside RAM: NEEDS_RESET, nothing read or written; a reset recovers. */
START_TEST(test_hostile_rx_chains)
{
	int in[2];
	struct vconsole_port_cfg ports[1] = { { "in", -1, -1 } };
	struct fake_seg bad[3] = {
		{ CFX_BUF, 0, F_W },	  /* empty */
		{ CFX_BUF, 8, F_R },	  /* the device may not write it */
		{ CFX_RAM - 4, 64, F_W }, /* runs past the end of RAM */
	};
	struct cfx f;

	mkpipe(in);
	ports[0].in_fd = in[0];
	cfx_init(&f, ports, 1);
	for (unsigned int k = 0; k < 3; k++) {
		cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
		f.buf_next = CFX_BUF;
		cfx_buf(&f, 64, 0x44);
		cfx_handshake(&f);
		cfx_open_port(&f, 0, true);
		put(in[1], "data");
		cfx_publish(&f, rxq(0), &bad[k], 1);
		cfx_kick(&f, rxq(0));
		ck_assert_uint_ne(status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
		ck_assert_uint_eq(*host(&f, CFX_BUF, 1), 0x44);
		ck_assert_int_eq(pending(in[0]), 4);
		ck_assert_uint_eq(f.c.port[0].in_w->events, 0);
		ck_assert_int_eq(cfx_pump(&f, 0), 0);
		cfx_reset(&f);
		cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
		cfx_handshake(&f);
		cfx_post(&f, rxq(0), 16);
		cfx_open_port(&f, 0, true);
		expect_rx(&f, 0, "data");
		cfx_reset(&f);
	}
	cfx_close(&f);
	close(in[0]);
	close(in[1]);
}
END_TEST

START_TEST(test_hostile_tx_chain_outside_ram)
{
	int out[2];
	struct vconsole_port_cfg ports[1] = { { "out", -1, -1 } };
	struct fake_seg s[2] = { { CFX_BUF, 4, F_R }, { CFX_RAM - 2, 4, F_R } };
	struct cfx f;

	mkpipe(out);
	ports[0].out_fd = out[1];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_publish(&f, txq(0), s, 2);
	cfx_kick(&f, txq(0));
	ck_assert_uint_ne(status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	ck_assert_int_eq(pending(out[0]), 0);
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(0)]), 0);
	cfx_close(&f);
	close(out[0]);
	close(out[1]);
}
END_TEST

/* ---- reset ---- */

/* Reset with a chain half written and the port open: the old work is gone. */
START_TEST(test_reset_mid_transfer)
{
	enum { LEN = 100000 };
	int sv[2], sndbuf = 4096, in[2];
	struct vconsole_port_cfg ports[1] = { { "io", -1, -1 } };
	struct fake_seg s;
	static char sink[LEN];
	ssize_t n, total = 0;
	struct cfx f;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	mkpipe(in);
	ports[0] = (struct vconsole_port_cfg){ "io", in[0], sv[0] };
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_open_port(&f, 0, true);
	s = (struct fake_seg){ cfx_buf(&f, LEN, 'x'), LEN, F_R };
	cfx_publish(&f, txq(0), &s, 1);
	cfx_kick(&f, txq(0));
	ck_assert(f.c.port[0].tx_busy);
	cfx_reset(&f);
	ck_assert(!f.c.port[0].tx_busy);
	ck_assert(!f.c.port[0].guest_open);
	ck_assert_uint_eq(f.c.port[0].in_w->events, 0);
	/* What the socket holds came before the reset; nothing follows it. */
	while ((n = read(sv[1], sink, sizeof(sink))) > 0)
		total += n;
	ck_assert_int_lt(total, LEN);
	ck_assert_int_eq(cfx_pump(&f, 0), 0);
	ck_assert_int_eq(read(sv[1], sink, sizeof(sink)), -1);
	/* A new driver: nothing is read for the port until it opens it again. */
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	put(in[1], "fresh");
	cfx_post(&f, rxq(0), 16);
	cfx_kick(&f, rxq(0));
	ck_assert_int_eq(pending(in[0]), 5);
	cfx_handshake(&f);
	cfx_open_port(&f, 0, true);
	expect_rx(&f, 0, "fresh");
	guest_write(&f, 0, "after", 1);
	expect_out(sv[1], "after");
	cfx_close(&f);
	close(sv[0]);
	close(sv[1]);
	close(in[0]);
	close(in[1]);
}
END_TEST

/* ---- several ports, the loop thread, no multiport ---- */

/* Four ports with their own pipes, served by the running I/O thread. */
START_TEST(test_four_ports)
{
	static const char *const names[4] = { "ember.stdin", "ember.stdout", "ember.stderr",
					      "ember.exit" };
	int in[4][2], out[4][2];
	struct vconsole_port_cfg ports[4];
	char want[32];
	struct cfx f;

	for (int i = 0; i < 4; i++) {
		mkpipe(in[i]);
		mkpipe(out[i]);
		ports[i] = (struct vconsole_port_cfg){ names[i], in[i][0], out[i][1] };
	}
	cfx_init(&f, ports, 4);
	ck_assert_uint_eq(f.c.vdev.num_queues, 10);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	for (int i = 0; i < 4; i++) {
		cfx_post(&f, rxq((unsigned int)i), 32);
		cfx_open_port(&f, (unsigned int)i, true);
	}
	for (int i = 3; i >= 0; i--) {
		snprintf(want, sizeof(want), "to port %d", i);
		put(in[i][1], want);
		guest_write(&f, (unsigned int)i, names[i], 2);
	}
	ck_assert_int_eq(evloop_start(&f.loop), 0);
	for (int i = 0; i < 4; i++) {
		for (int t = 0; t < 2000 && fake_vring_used_idx(&f.vr[rxq((unsigned int)i)]) == 0; t++)
			usleep(1000);
		pthread_mutex_lock(&f.c.vdev.lock);
		snprintf(want, sizeof(want), "to port %d", i);
		expect_rx(&f, (unsigned int)i, want);
		pthread_mutex_unlock(&f.c.vdev.lock);
		expect_out(out[i][0], names[i]);
	}
	evloop_stop(&f.loop);
	cfx_close(&f);
	for (int i = 0; i < 4; i++) {
		close(in[i][0]);
		close(in[i][1]);
		close(out[i][0]);
		close(out[i][1]);
	}
}
END_TEST

/* Without MULTIPORT: port 0 on queues 0 and 1, always open, no control messages. */
START_TEST(test_without_multiport)
{
	int in[2], out[2];
	struct vconsole_port_cfg ports[2] = { { "con", -1, -1 }, { "unused", -1, -1 } };
	struct cfx f;

	mkpipe(in);
	mkpipe(out);
	ports[0].in_fd = in[0];
	ports[0].out_fd = out[1];
	cfx_init(&f, ports, 2);
	cfx_activate(&f, 0);
	put(in[1], "typed");
	cfx_post(&f, 0, 16);
	cfx_kick(&f, 0);
	expect_rx(&f, 0, "typed");
	guest_write(&f, 0, "printed", 2);
	expect_out(out[0], "printed");
	cfx_kick(&f, CTRL_RX); /* not a queue now: ignored */
	cfx_kick(&f, CTRL_TX);
	cfx_kick(&f, 15);
	ck_assert_uint_eq(status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}
END_TEST

Suite *vconsole_suite(void)
{
	Suite *s = suite_create("vconsole");
	TCase *t = tcase_create("setup");

	tcase_add_test(t, test_identity_and_config);
	tcase_add_test(t, test_init_refuses_bad_configs);
	suite_add_tcase(s, t);
	t = tcase_create("control");
	tcase_add_test(t, test_handshake);
	tcase_add_test(t, test_unnamed_port_gets_no_name);
	tcase_add_test(t, test_ctrl_waits_for_buffers);
	tcase_add_test(t, test_hostile_control);
	tcase_add_test(t, test_hostile_ctrl_rx_buffers);
	suite_add_tcase(s, t);
	t = tcase_create("data");
	tcase_add_test(t, test_rx_waits_for_open_then_delivers);
	tcase_add_test(t, test_rx_backpressure);
	tcase_add_test(t, test_rx_eof_after_data);
	tcase_add_test(t, test_rx_regular_file);
	tcase_add_test(t, test_tx_in_order_through_a_pipe);
	tcase_add_test(t, test_tx_backpressure);
	tcase_add_test(t, test_tx_epipe);
	tcase_add_test(t, test_tx_batches_and_regular_file);
	tcase_add_test(t, test_port_without_fds_drops);
	suite_add_tcase(s, t);
	t = tcase_create("hostile and reset");
	tcase_add_test(t, test_hostile_rx_chains);
	tcase_add_test(t, test_hostile_tx_chain_outside_ram);
	tcase_add_test(t, test_reset_mid_transfer);
	suite_add_tcase(s, t);
	t = tcase_create("ports");
	tcase_add_test(t, test_four_ports);
	tcase_add_test(t, test_without_multiport);
	suite_add_tcase(s, t);
	return s;
}
