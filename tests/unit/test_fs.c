/*
 * virtio/fs: the virtio-fs device on its vhost-user backend (the fake of
 * fake_vhost.h) inside the virtio-pci transport with no KVM: the
 * configuration space and features the guest sees, what the backend is
 * told at DRIVER_OK and in which order, what a reset asks of it, and a
 * backend that goes away (DEVICE_NEEDS_RESET, the VM told once).
 */
#include <errno.h>
#include <linux/virtio_pci.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/fake_vhost.h"
#include "tests/unit/fake_vring.h"
#include "tests/unit/suites.h"
#include "virtio/fs.h"
#include "virtio/pci.h"

#define CC(field) offsetof(struct virtio_pci_common_cfg, field)
#define DEVCFG	  0x2000
#define RAM	  (1ULL << 20)
#define V1	  VIRTIO_FEAT_VERSION_1
#define BACKEND_FEATURES                                                                           \
	(V1 | VIRTIO_FEAT_EVENT_IDX | VIRTIO_FEAT_INDIRECT_DESC | VHOST_USER_F_PROTOCOL_FEATURES | \
	 VIRTIO_BIT(0) | VIRTIO_BIT(33) | VIRTIO_BIT(24))
#define PROTO (VHOST_USER_PROTOCOL_F_MQ | VHOST_USER_PROTOCOL_F_REPLY_ACK)

struct fx {
	struct gm m;
	struct fs f;
	struct irq_router router;
	struct evloop loop;
	bool running;
	struct virtio_pci vp;
	unsigned int lost; /* atomic: the callback may run on the I/O thread */
};

static struct fake_vhost b;

static void on_lost(void *ctx)
{
	struct fx *x = ctx;

	__atomic_add_fetch(&x->lost, 1, __ATOMIC_SEQ_CST);
}

static int fx_try(struct fx *x, const char *tag, uint64_t features, bool shared)
{
	struct fs_options o = { .tag = tag, .loop = &x->loop, .lost = on_lost, .lost_ctx = x,
				.timeout_ms = 500 };
	int sock;

	memset(x, 0, sizeof(*x));
	ck_assert_int_eq(shared ? gm_init_shared(&x->m, RAM, RAM) : gm_init(&x->m, RAM, RAM), 0);
	o.mem = &x->m;
	ck_assert_int_eq(evloop_init(&x->loop), 0);
	fake_vhost_start(&b, features, PROTO, &sock);
	return fs_init(&x->f, sock, &o);
}

static void fx_open(struct fx *x)
{
	ck_assert_int_eq(fx_try(x, "root", BACKEND_FEATURES, true), 0);
	ck_assert_int_eq(irq_router_init(&x->router, -1), 0);
	ck_assert_int_eq(virtio_pci_init(&x->vp, &x->f.vdev, -1, &x->router, &x->loop, 16), 0);
}

/* Everything down; the backend has then seen the whole conversation. */
static void fx_close(struct fx *x)
{
	if (x->running)
		evloop_stop(&x->loop);
	virtio_pci_destroy(&x->vp);
	fs_destroy(&x->f);
	fake_vhost_join(&b);
	irq_router_destroy(&x->router);
	evloop_destroy(&x->loop);
	gm_destroy(&x->m);
}

static uint64_t rd(struct fx *x, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	x->vp.pci.bar[0].ops->read(x->vp.pci.bar[0].ctx, off, &v, len);
	return v;
}

static void wr(struct fx *x, uint64_t off, uint64_t val, uint32_t len)
{
	x->vp.pci.bar[0].ops->write(x->vp.pci.bar[0].ctx, off, &val, len);
}

static uint64_t device_features(struct fx *x)
{
	wr(x, CC(device_feature_select), 0, 4);
	uint64_t lo = rd(x, CC(device_feature), 4);

	wr(x, CC(device_feature_select), 1, 4);
	return lo | rd(x, CC(device_feature), 4) << 32;
}

static void negotiate(struct fx *x, uint64_t features)
{
	wr(x, CC(device_status), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wr(x, CC(guest_feature_select), 0, 4);
	wr(x, CC(guest_feature), (uint32_t)features, 4);
	wr(x, CC(guest_feature_select), 1, 4);
	wr(x, CC(guest_feature), features >> 32, 4);
	wr(x, CC(device_status),
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	ck_assert(rd(x, CC(device_status), 1) & VIRTIO_STATUS_FEATURES_OK);
}

static struct fake_vring rings[FS_QUEUES];

static void queue(struct fx *x, uint16_t q, uint16_t size)
{
	struct fake_vring *v = &rings[q];

	fake_vring_init_at(v, &x->m, size, 0x10000ULL * (q + 1));
	wr(x, CC(queue_select), q, 2);
	wr(x, CC(queue_size), size, 2);
	wr(x, CC(queue_desc_lo), (uint32_t)v->desc, 4);
	wr(x, CC(queue_avail_lo), (uint32_t)v->avail, 4);
	wr(x, CC(queue_used_lo), (uint32_t)v->used, 4);
	wr(x, CC(queue_enable), 1, 2);
}

static void driver_ok(struct fx *x)
{
	wr(x, CC(device_status), rd(x, CC(device_status), 1) | VIRTIO_STATUS_DRIVER_OK, 1);
}

START_TEST(test_fs_config_space_and_features)
{
	struct fx x;
	char tag[FS_TAG_MAX];

	fx_open(&x);
	ck_assert_uint_eq(x.vp.pci.cfg[2] | x.vp.pci.cfg[3] << 8, 0x1040 + 26);
	ck_assert_uint_eq(rd(&x, CC(num_queues), 2), 2);
	/* The backend's offer, less what Ember's transport does not do (bits 0, 24, 33, 30). */
	ck_assert_uint_eq(device_features(&x),
			  V1 | VIRTIO_FEAT_EVENT_IDX | VIRTIO_FEAT_INDIRECT_DESC);
	for (unsigned int i = 0; i < FS_TAG_MAX; i++)
		tag[i] = (char)rd(&x, DEVCFG + i, 1);
	ck_assert_mem_eq(tag, "root\0\0\0\0", 8);
	ck_assert_uint_eq(rd(&x, DEVCFG + 36, 4), 1); /* num_request_queues */
	ck_assert_uint_eq(rd(&x, DEVCFG + 40, 4), 0); /* past the end */
	wr(&x, DEVCFG, 0x41414141, 4);		      /* read-only */
	ck_assert_uint_eq(rd(&x, DEVCFG, 4), 0x746f6f72);
	wr(&x, CC(queue_select), 1, 2);
	ck_assert_uint_eq(rd(&x, CC(queue_size), 2), FS_QUEUE_SIZE);
	fx_close(&x);
}
END_TEST

START_TEST(test_fs_full_tag_fills_the_field)
{
	const char *tag = "0123456789abcdef0123456789abcdef0123"; /* 36 bytes */
	struct fx x;

	ck_assert_int_eq(fx_try(&x, tag, BACKEND_FEATURES, true), 0);
	ck_assert_mem_eq(x.f.config.tag, tag, FS_TAG_MAX);
	x.vp = (struct virtio_pci){ 0 };
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		x.vp.kick[q].fd = x.vp.call[q].fd = -1;
	ck_assert_int_eq(irq_router_init(&x.router, -1), 0);
	fx_close(&x);
}
END_TEST

static const struct {
	const char *tag;
	uint64_t features;
	bool shared;
	int err;
} refused[] = {
	{ "", BACKEND_FEATURES, true, -EINVAL },
	{ "0123456789abcdef0123456789abcdef01234", BACKEND_FEATURES, true, -EINVAL },
	{ "root", BACKEND_FEATURES, false, -EINVAL }, /* private RAM: the backend cannot map it */
	{ "root", VHOST_USER_F_PROTOCOL_FEATURES, true, -ENOTSUP }, /* no VERSION_1 */
};

START_TEST(test_fs_init_refuses)
{
	struct fx x;

	ck_assert_int_eq(fx_try(&x, refused[_i].tag, refused[_i].features, refused[_i].shared),
			 refused[_i].err);
	fake_vhost_join(&b); /* the socket was closed */
	evloop_destroy(&x.loop);
	gm_destroy(&x.m);
}
END_TEST

static void same_file(const struct fake_vhost_req *r, struct stat st)
{
	ck_assert_uint_eq(r->nfds, 1);
	ck_assert(r->dev[0] == st.st_dev && r->ino[0] == st.st_ino);
}

/* DRIVER_OK: features, memory table, then per queue NUM ADDR BASE KICK CALL ENABLE. */
START_TEST(test_fs_activation_order)
{
	static const uint32_t per_queue[] = {
		VHOST_USER_SET_VRING_NUM,  VHOST_USER_SET_VRING_ADDR, VHOST_USER_SET_VRING_BASE,
		VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ENABLE,
	};
	const uint64_t accepted = V1 | VIRTIO_FEAT_EVENT_IDX;
	struct fx x;
	unsigned int at;
	struct stat kick[FS_QUEUES], call[FS_QUEUES];
	uintptr_t ram;

	memset(&b, 0, sizeof(b));
	fx_open(&x);
	ram = (uintptr_t)x.m.map;
	at = b.n; /* the hello: GET_FEATURES ... GET_QUEUE_NUM */
	negotiate(&x, accepted);
	queue(&x, 0, 64);
	queue(&x, 1, 128);
	driver_ok(&x);
	ck_assert_uint_eq(x.lost, 0);
	ck_assert(!(rd(&x, CC(device_status), 1) & VIRTIO_STATUS_NEEDS_RESET));
	for (unsigned int q = 0; q < FS_QUEUES; q++) {
		ck_assert_int_eq(fstat(x.f.vdev.transport->kick_fd(&x.f.vdev, q), &kick[q]), 0);
		ck_assert_int_eq(fstat(x.f.vdev.transport->call_fd(&x.f.vdev, q), &call[q]), 0);
	}
	wr(&x, CC(device_status), 0, 1); /* reset */
	fx_close(&x);
	ck_assert_uint_eq(b.log[at].hdr.request, VHOST_USER_SET_FEATURES);
	ck_assert_uint_eq(b.log[at].p.u64, accepted | VHOST_USER_F_PROTOCOL_FEATURES);
	ck_assert_uint_eq(b.log[at + 1].hdr.request, VHOST_USER_SET_MEM_TABLE);
	ck_assert_uint_eq(b.log[at + 1].p.mem.nregions, 1);
	at += 2;
	for (unsigned int q = 0; q < FS_QUEUES; q++) {
		for (unsigned int i = 0; i < 6; i++, at++) {
			const struct fake_vhost_req *r = &b.log[at];

			ck_assert_uint_eq(r->hdr.request, per_queue[i]);
			ck_assert_uint_eq(r->p.state.index, q); /* first u32 of each payload */
		}
		ck_assert_uint_eq(b.log[at - 6].p.state.num, q ? 128 : 64);
		ck_assert_uint_eq(b.log[at - 5].p.addr.desc,
				  ram + rings[q].desc);
		ck_assert_uint_eq(b.log[at - 4].p.state.num, 0);
		same_file(&b.log[at - 3], kick[q]);
		same_file(&b.log[at - 2], call[q]);
		ck_assert_uint_eq(b.log[at - 1].p.state.num, 1);
	}
	/* The reset: each queue disabled and stopped. */
	for (unsigned int q = 0; q < FS_QUEUES; q++, at += 2) {
		ck_assert_uint_eq(b.log[at].hdr.request, VHOST_USER_SET_VRING_ENABLE);
		ck_assert_uint_eq(b.log[at].p.state.num, 0);
		ck_assert_uint_eq(b.log[at + 1].hdr.request, VHOST_USER_GET_VRING_BASE);
		ck_assert_uint_eq(b.log[at + 1].p.state.index, q);
	}
	ck_assert_uint_eq(b.n, at);
}
END_TEST

/* Only the queues the driver enabled are handed over, and only those stopped. */
START_TEST(test_fs_only_enabled_queues)
{
	struct fx x;
	unsigned int at;

	memset(&b, 0, sizeof(b));
	fx_open(&x);
	at = b.n;
	negotiate(&x, V1);
	queue(&x, 1, 64);
	driver_ok(&x);
	wr(&x, CC(device_status), 0, 1);
	wr(&x, CC(device_status), 0, 1); /* a second reset asks nothing more */
	fx_close(&x);
	ck_assert_uint_eq(b.n, at + 2 + 6 + 2);
	ck_assert_uint_eq(b.log[at + 2].p.state.index, 1);
	ck_assert_int_eq(fake_vhost_find(&b, VHOST_USER_GET_VRING_BASE, 0), (int)(at + 9));
	ck_assert_uint_eq(b.log[at + 9].p.state.index, 1);
}
END_TEST

/* The backend refuses the memory table: NEEDS_RESET, the VM told once. */
START_TEST(test_fs_activation_failure_needs_reset)
{
	struct fx x;

	memset(&b, 0, sizeof(b));
	b.fault = FAKE_VHOST_NACK;
	b.fault_on = VHOST_USER_SET_MEM_TABLE;
	fx_open(&x);
	negotiate(&x, V1);
	queue(&x, 0, 64);
	driver_ok(&x);
	ck_assert(rd(&x, CC(device_status), 1) & VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(x.lost, 1);
	ck_assert_int_eq(fake_vhost_find(&b, VHOST_USER_SET_VRING_NUM, 0), -1);
	wr(&x, CC(device_status), 0, 1);
	negotiate(&x, V1);
	queue(&x, 0, 64);
	driver_ok(&x); /* fails again: still once */
	ck_assert_uint_eq(x.lost, 1);
	fx_close(&x);
}
END_TEST

/* The backend hangs up: the I/O thread sees it, the device needs a reset, the VM hears. */
START_TEST(test_fs_backend_hangup)
{
	struct fx x;
	uint8_t status = 0;

	memset(&b, 0, sizeof(b));
	fx_open(&x);
	ck_assert_int_eq(evloop_start(&x.loop), 0);
	x.running = true;
	negotiate(&x, V1);
	queue(&x, 0, 64);
	driver_ok(&x);
	shutdown(b.fd, SHUT_RDWR); /* the backend's thread reads the end and closes */
	for (int i = 0; i < 2000 && !__atomic_load_n(&x.lost, __ATOMIC_SEQ_CST); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	ck_assert_uint_eq(__atomic_load_n(&x.lost, __ATOMIC_SEQ_CST), 1);
	status = (uint8_t)rd(&x, CC(device_status), 1);
	ck_assert(status & VIRTIO_STATUS_NEEDS_RESET);
	wr(&x, CC(device_status), 0, 1); /* a reset cannot reach the backend: no hang, no crash */
	ck_assert_uint_eq(x.lost, 1);
	fx_close(&x);
}
END_TEST

Suite *fs_suite(void)
{
	Suite *s = suite_create("fs");
	TCase *tc = tcase_create("device");

	tcase_add_test(tc, test_fs_config_space_and_features);
	tcase_add_test(tc, test_fs_full_tag_fills_the_field);
	tcase_add_loop_test(tc, test_fs_init_refuses, 0, sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(tc, test_fs_activation_order);
	tcase_add_test(tc, test_fs_only_enabled_queues);
	tcase_add_test(tc, test_fs_activation_failure_needs_reset);
	tcase_add_test(tc, test_fs_backend_hangup);
	suite_add_tcase(s, tc);
	return s;
}
