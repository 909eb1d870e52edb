/*
 * vmm/vhost_user: the frontend's side of the conversation against a fake
 * backend on a socket pair (tests/unit/fake_vhost.h): negotiation, the
 * encoding of each request, the memory table of shared guest RAM, rings
 * outside RAM refused, and replies that break the rules (wrong request,
 * wrong size, bad flags, none, a closed socket, descriptors) failing the
 * call, for good, without a crash.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/fake_vhost.h"
#include "tests/unit/suites.h"
#include "vmm/layout.h"
#include "vmm/vhost_user.h"

#define LEN(a)	    (sizeof(a) / sizeof((a)[0]))
#define FEATURES    (VIRTIO_V1 | VHOST_USER_F_PROTOCOL_FEATURES | (1ULL << 28))
#define VIRTIO_V1   (1ULL << 32)
#define ALL_PROTO   (VHOST_USER_PROTOCOL_F_MQ | VHOST_USER_PROTOCOL_F_REPLY_ACK | \
		     VHOST_USER_PROTOCOL_F_CONFIG | (1ULL << 15))
#define SHORT_WAIT  200 /* ms: a silent backend's test */

static struct fake_vhost b;

static void start(struct vhost_user *u, uint64_t features, uint64_t protocol)
{
	int fd;

	fake_vhost_start(&b, features, protocol, &fd);
	ck_assert_int_eq(vhost_user_init(u, fd, SHORT_WAIT), 0);
}

/* Close the frontend, let the backend drain and end: its log is then complete. */
static void finish(struct vhost_user *u)
{
	vhost_user_close(u);
	fake_vhost_join(&b);
}

static const struct fake_vhost_req *req(unsigned int i)
{
	ck_assert_uint_lt(i, b.n);
	return &b.log[i];
}

START_TEST(test_negotiate_with_protocol_features)
{
	struct vhost_user u;

	memset(&b, 0, sizeof(b));
	start(&u, FEATURES, ALL_PROTO);
	ck_assert_int_eq(vhost_user_negotiate(&u, VHOST_USER_PROTOCOL_F_MQ), 0);
	ck_assert_uint_eq(u.features, FEATURES);
	/* What both know: not CONFIG (not wanted), not bit 15 (unknown to Ember). */
	ck_assert_uint_eq(u.protocol_features,
			  VHOST_USER_PROTOCOL_F_MQ | VHOST_USER_PROTOCOL_F_REPLY_ACK);
	ck_assert_uint_eq(u.queue_num, 2);
	finish(&u);
	ck_assert_uint_eq(b.n, 5);
	ck_assert_uint_eq(req(0)->hdr.request, VHOST_USER_GET_FEATURES);
	ck_assert_uint_eq(req(0)->hdr.size, 0);
	ck_assert_uint_eq(req(0)->hdr.flags, VHOST_USER_VERSION);
	ck_assert_uint_eq(req(1)->hdr.request, VHOST_USER_GET_PROTOCOL_FEATURES);
	ck_assert_uint_eq(req(2)->hdr.request, VHOST_USER_SET_PROTOCOL_FEATURES);
	ck_assert_uint_eq(req(2)->hdr.size, 8);
	ck_assert_uint_eq(req(2)->hdr.flags, VHOST_USER_VERSION); /* no ack before it is agreed */
	ck_assert_uint_eq(req(2)->p.u64, VHOST_USER_PROTOCOL_F_MQ | VHOST_USER_PROTOCOL_F_REPLY_ACK);
	ck_assert_uint_eq(req(3)->hdr.request, VHOST_USER_SET_OWNER);
	ck_assert_uint_eq(req(3)->hdr.flags, VHOST_USER_VERSION | VHOST_USER_FLAG_NEED_REPLY);
	ck_assert_uint_eq(req(4)->hdr.request, VHOST_USER_GET_QUEUE_NUM);
}
END_TEST

/* Wanting everything agrees to what Ember implements only (found by fuzz_vhost_user). */
START_TEST(test_negotiate_only_known_protocol_features)
{
	struct vhost_user u;

	memset(&b, 0, sizeof(b));
	start(&u, FEATURES, ALL_PROTO | (1ULL << 13) | (1ULL << 14));
	ck_assert_int_eq(vhost_user_negotiate(&u, ~0ULL), 0);
	ck_assert_uint_eq(u.protocol_features, VHOST_USER_PROTOCOL_F_MQ |
						       VHOST_USER_PROTOCOL_F_REPLY_ACK |
						       VHOST_USER_PROTOCOL_F_CONFIG);
	finish(&u);
	ck_assert_uint_eq(req(2)->p.u64, u.protocol_features);
}
END_TEST

START_TEST(test_negotiate_without_protocol_features)
{
	struct vhost_user u;
	uint8_t cfg[4];

	memset(&b, 0, sizeof(b));
	start(&u, VIRTIO_V1, ALL_PROTO);
	ck_assert_int_eq(vhost_user_negotiate(&u, ~0ULL), 0);
	ck_assert_uint_eq(u.protocol_features, 0);
	ck_assert_int_eq(vhost_user_set_vring_enable(&u, 0, true), -ENOTSUP);
	ck_assert_int_eq(vhost_user_get_config(&u, 0, cfg, sizeof(cfg)), -ENOTSUP);
	ck_assert_int_eq(vhost_user_set_features(&u, VIRTIO_V1), 0);
	finish(&u);
	ck_assert_uint_eq(b.n, 3);
	ck_assert_uint_eq(req(1)->hdr.request, VHOST_USER_SET_OWNER);
	ck_assert_uint_eq(req(1)->hdr.flags, VHOST_USER_VERSION); /* nobody would answer */
	ck_assert_uint_eq(req(2)->p.u64, VIRTIO_V1); /* PROTOCOL_FEATURES only if offered */
}
END_TEST

static void same_file(unsigned int i, unsigned int k, int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_gt(req(i)->nfds, k);
	ck_assert(req(i)->dev[k] == st.st_dev && req(i)->ino[k] == st.st_ino);
}

/* Each vring request as the protocol lays it out. */
START_TEST(test_vring_requests_encoding)
{
	struct vhost_user u;
	struct gm m;
	uint16_t base = 0;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	uint8_t *host;

	ck_assert_int_eq(gm_init_shared(&m, 1 << 20, 2 << 20), 0);
	memset(&b, 0, sizeof(b));
	b.vring_base = 42;
	start(&u, FEATURES, ALL_PROTO);
	ck_assert_int_eq(vhost_user_negotiate(&u, 0), 0);
	host = m.region[0].host;
	ck_assert_int_eq(vhost_user_set_features(&u, VIRTIO_V1), 0);
	ck_assert_int_eq(vhost_user_set_vring_num(&u, 1, 256), 0);
	ck_assert_int_eq(vhost_user_set_vring_addr(&u, &m, 1, 256, 0x1000, 0x2000, 0x3000), 0);
	ck_assert_int_eq(vhost_user_set_vring_base(&u, 1, 0), 0);
	ck_assert_int_eq(vhost_user_set_vring_kick(&u, 1, kick), 0);
	ck_assert_int_eq(vhost_user_set_vring_call(&u, 1, call), 0);
	ck_assert_int_eq(vhost_user_set_vring_call(&u, 1, -1), 0);
	ck_assert_int_eq(vhost_user_set_vring_enable(&u, 1, true), 0);
	ck_assert_int_eq(vhost_user_get_vring_base(&u, 1, &base), 0);
	ck_assert_uint_eq(base, 42);
	finish(&u);
	ck_assert_uint_eq(b.n, 13);
	ck_assert_uint_eq(req(4)->p.u64, VIRTIO_V1 | VHOST_USER_F_PROTOCOL_FEATURES);
	ck_assert_uint_eq(req(5)->hdr.request, VHOST_USER_SET_VRING_NUM);
	ck_assert_uint_eq(req(5)->hdr.size, 8);
	ck_assert_uint_eq(req(5)->p.state.index, 1);
	ck_assert_uint_eq(req(5)->p.state.num, 256);
	ck_assert_uint_eq(req(6)->hdr.request, VHOST_USER_SET_VRING_ADDR);
	ck_assert_uint_eq(req(6)->hdr.size, 40);
	ck_assert_uint_eq(req(6)->p.addr.index, 1);
	ck_assert_uint_eq(req(6)->p.addr.flags, 0);
	ck_assert_uint_eq(req(6)->p.addr.desc, (uintptr_t)(host + 0x1000));
	ck_assert_uint_eq(req(6)->p.addr.avail, (uintptr_t)(host + 0x2000));
	ck_assert_uint_eq(req(6)->p.addr.used, (uintptr_t)(host + 0x3000));
	ck_assert_uint_eq(req(6)->p.addr.log, 0);
	ck_assert_uint_eq(req(7)->hdr.request, VHOST_USER_SET_VRING_BASE);
	ck_assert_uint_eq(req(8)->hdr.request, VHOST_USER_SET_VRING_KICK);
	ck_assert_uint_eq(req(8)->p.u64, 1);
	same_file(8, 0, kick);
	ck_assert_uint_eq(req(9)->hdr.request, VHOST_USER_SET_VRING_CALL);
	same_file(9, 0, call);
	ck_assert_uint_eq(req(10)->p.u64, 1 | VHOST_USER_VRING_NOFD);
	ck_assert_uint_eq(req(10)->nfds, 0);
	ck_assert_uint_eq(req(11)->hdr.request, VHOST_USER_SET_VRING_ENABLE);
	ck_assert_uint_eq(req(11)->p.state.num, 1);
	ck_assert_uint_eq(req(12)->hdr.request, VHOST_USER_GET_VRING_BASE);
	ck_assert_uint_eq(req(12)->hdr.flags, VHOST_USER_VERSION); /* it has a reply of its own */
	for (unsigned int i = 3; i < 12; i++)
		ck_assert_uint_eq(req(i)->hdr.flags, VHOST_USER_VERSION | VHOST_USER_FLAG_NEED_REPLY);
	close(kick);
	close(call);
	gm_destroy(&m);
}
END_TEST

/* Shared RAM split around the hole: one region each side, the memfd with each. */
START_TEST(test_mem_table_from_shared_ram)
{
	const uint64_t hole = 2 << 20;
	struct vhost_user u;
	struct gm m;

	ck_assert_int_eq(gm_init_shared(&m, 6 << 20, hole), 0);
	memset(&b, 0, sizeof(b));
	start(&u, FEATURES, ALL_PROTO);
	ck_assert_int_eq(vhost_user_negotiate(&u, 0), 0);
	ck_assert_int_eq(vhost_user_set_mem_table(&u, &m), 0);
	finish(&u);
	ck_assert_uint_eq(b.n, 5);
	ck_assert_uint_eq(req(4)->hdr.request, VHOST_USER_SET_MEM_TABLE);
	ck_assert_uint_eq(req(4)->hdr.size, 8 + 2 * 32);
	ck_assert_uint_eq(req(4)->p.mem.nregions, 2);
	ck_assert_uint_eq(req(4)->nfds, 2);
	same_file(4, 0, m.fd);
	same_file(4, 1, m.fd);
	ck_assert_uint_eq(req(4)->p.mem.region[0].gpa, 0);
	ck_assert_uint_eq(req(4)->p.mem.region[0].size, hole);
	ck_assert_uint_eq(req(4)->p.mem.region[0].uaddr, (uintptr_t)m.map);
	ck_assert_uint_eq(req(4)->p.mem.region[0].mmap_offset, 0);
	ck_assert_uint_eq(req(4)->p.mem.region[1].gpa, LAYOUT_4G);
	ck_assert_uint_eq(req(4)->p.mem.region[1].size, (6 << 20) - hole);
	ck_assert_uint_eq(req(4)->p.mem.region[1].uaddr, (uintptr_t)m.map + hole);
	ck_assert_uint_eq(req(4)->p.mem.region[1].mmap_offset, hole);
	gm_destroy(&m);
}
END_TEST

/* Private RAM cannot be mapped by another process: refused before anything is sent. */
START_TEST(test_mem_table_needs_shared_ram)
{
	struct vhost_user u;
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 1 << 20, 2 << 20), 0);
	memset(&b, 0, sizeof(b));
	start(&u, VIRTIO_V1, 0);
	ck_assert_int_eq(vhost_user_set_mem_table(&u, &m), -EINVAL);
	ck_assert_int_eq(u.err, 0); /* the connection is still good */
	finish(&u);
	ck_assert_uint_eq(b.n, 0);
	gm_destroy(&m);
}
END_TEST

/* Rings are given to the backend as Ember's addresses: only ever of guest RAM. */
START_TEST(test_vring_addr_outside_ram_refused)
{
	static const uint64_t bad[][3] = {
		{ 0xff800, 0x2000, 0x3000 },	/* descriptors (4 KiB) run past the end of RAM */
		{ 0x1000, 0xffe00, 0x3000 },	/* avail ring (518 bytes) past the end */
		{ 0x1000, 0x2000, 0xff800 },	/* used ring (2054 bytes) past the end */
		{ 0x1000, 0x2000, LAYOUT_4G },	/* no RAM at 4 GiB in 1 MiB */
		{ UINT64_MAX - 8, 0x2000, 0x3000 }, /* wraps */
	};
	struct vhost_user u;
	struct gm m;

	ck_assert_int_eq(gm_init_shared(&m, 1 << 20, 2 << 20), 0);
	memset(&b, 0, sizeof(b));
	start(&u, VIRTIO_V1, 0);
	for (size_t i = 0; i < LEN(bad); i++)
		ck_assert_int_eq(vhost_user_set_vring_addr(&u, &m, 0, 256, bad[i][0], bad[i][1],
							   bad[i][2]),
				 -EFAULT);
	ck_assert_int_eq(vhost_user_set_vring_addr(&u, &m, 0, 0, 0x1000, 0x2000, 0x3000), -EFAULT);
	ck_assert_int_eq(vhost_user_set_vring_addr(&u, &m, 0, 256, 0x1000, 0x2000, 0x3000), 0);
	finish(&u);
	ck_assert_uint_eq(b.n, 1); /* only the good one reached the backend */
	gm_destroy(&m);
}
END_TEST

START_TEST(test_config_round_trip)
{
	struct vhost_user u;
	uint8_t buf[8];

	memset(&b, 0, sizeof(b));
	start(&u, FEATURES, ALL_PROTO);
	ck_assert_int_eq(vhost_user_negotiate(&u, VHOST_USER_PROTOCOL_F_CONFIG), 0);
	ck_assert_int_eq(vhost_user_get_config(&u, 4, buf, sizeof(buf)), 0);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 4 + i);
	ck_assert_int_eq(vhost_user_set_config(&u, 2, "ab", 2), 0);
	ck_assert_int_eq(vhost_user_get_config(&u, 0, buf, 0), -EINVAL);
	ck_assert_int_eq(vhost_user_get_config(&u, 0, buf, VHOST_USER_MAX_CONFIG + 1), -EINVAL);
	finish(&u);
	ck_assert_uint_eq(req(4)->hdr.request, VHOST_USER_GET_CONFIG);
	ck_assert_uint_eq(req(4)->hdr.size, 12 + 8);
	ck_assert_uint_eq(req(5)->hdr.request, VHOST_USER_SET_CONFIG);
	ck_assert_uint_eq(req(5)->p.config.offset, 2);
	ck_assert_uint_eq(req(5)->p.config.size, 2);
	ck_assert_mem_eq(req(5)->p.config.data, "ab", 2);
}
END_TEST

/* ---- a backend that breaks the rules ---- */

static const struct {
	enum fake_vhost_fault fault;
	uint32_t on;
	int want;
} faults[] = {
	{ FAKE_VHOST_WRONG_REQUEST, VHOST_USER_GET_FEATURES, -EPROTO },
	{ FAKE_VHOST_SHORT, VHOST_USER_GET_FEATURES, -EPROTO },
	{ FAKE_VHOST_LONG, VHOST_USER_GET_FEATURES, -EPROTO },
	{ FAKE_VHOST_BAD_VERSION, VHOST_USER_GET_FEATURES, -EPROTO },
	{ FAKE_VHOST_NOT_REPLY, VHOST_USER_GET_FEATURES, -EPROTO },
	{ FAKE_VHOST_SILENT, VHOST_USER_GET_FEATURES, -ETIMEDOUT },
	{ FAKE_VHOST_CLOSE, VHOST_USER_GET_FEATURES, -ECONNRESET },
	{ FAKE_VHOST_SEND_FD, VHOST_USER_GET_FEATURES, -EPROTO },
	/* The same on an acknowledgement. */
	{ FAKE_VHOST_WRONG_REQUEST, VHOST_USER_SET_OWNER, -EPROTO },
	{ FAKE_VHOST_SHORT, VHOST_USER_SET_OWNER, -EPROTO },
	{ FAKE_VHOST_LONG, VHOST_USER_SET_OWNER, -EPROTO },
	{ FAKE_VHOST_NOT_REPLY, VHOST_USER_SET_OWNER, -EPROTO },
	{ FAKE_VHOST_SILENT, VHOST_USER_SET_OWNER, -ETIMEDOUT },
	{ FAKE_VHOST_CLOSE, VHOST_USER_SET_OWNER, -ECONNRESET },
	{ FAKE_VHOST_SEND_FD, VHOST_USER_SET_OWNER, -EPROTO },
	{ FAKE_VHOST_SHORT, VHOST_USER_GET_PROTOCOL_FEATURES, -EPROTO },
};

START_TEST(test_bad_reply_fails_for_good)
{
	struct vhost_user u;
	int err;

	memset(&b, 0, sizeof(b));
	b.fault = faults[_i].fault;
	b.fault_on = faults[_i].on;
	start(&u, FEATURES, ALL_PROTO);
	err = vhost_user_negotiate(&u, 0);
	ck_assert_msg(err == faults[_i].want, "fault %d on request %u: %d, not %d",
		      faults[_i].fault, faults[_i].on, err, faults[_i].want);
	ck_assert_int_eq(u.err, err);
	/* Whatever follows is refused at once: the stream is out of step. */
	ck_assert_int_eq(vhost_user_set_features(&u, VIRTIO_V1), err);
	finish(&u);
	ck_assert_int_eq(fake_vhost_find(&b, VHOST_USER_SET_FEATURES, 0), -1);
}
END_TEST

/* A refusal (ack 1) fails that request only: the conversation is still in step. */
START_TEST(test_nack_fails_one_request)
{
	struct vhost_user u;

	memset(&b, 0, sizeof(b));
	b.fault = FAKE_VHOST_NACK;
	b.fault_on = VHOST_USER_SET_VRING_NUM;
	start(&u, FEATURES, ALL_PROTO);
	ck_assert_int_eq(vhost_user_negotiate(&u, 0), 0);
	ck_assert_int_eq(vhost_user_set_vring_num(&u, 0, 128), -EIO);
	ck_assert_int_eq(u.err, 0);
	ck_assert_int_eq(vhost_user_set_vring_base(&u, 0, 0), 0);
	finish(&u);
}
END_TEST

/* Writing to a backend that went away is -EPIPE or -ECONNRESET, never SIGPIPE. */
START_TEST(test_closed_backend_no_sigpipe)
{
	struct vhost_user u;
	int sv[2], err;

	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(vhost_user_init(&u, sv[0], SHORT_WAIT), 0);
	err = vhost_user_set_features(&u, VIRTIO_V1);
	ck_assert_msg(err == -EPIPE || err == -ECONNRESET, "%d", err);
	vhost_user_close(&u);
}
END_TEST

/* The check every reply passes, on its own. */
START_TEST(test_check_reply)
{
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES,
				    VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, 8 };

	ck_assert_int_eq(vhost_user_check_reply(&h, VHOST_USER_GET_FEATURES, 8), 0);
	h.flags |= VHOST_USER_FLAG_NEED_REPLY; /* echoed by some backends */
	ck_assert_int_eq(vhost_user_check_reply(&h, VHOST_USER_GET_FEATURES, 8), 0);
	h.flags |= 1U << 4;
	ck_assert_int_eq(vhost_user_check_reply(&h, VHOST_USER_GET_FEATURES, 8), -EPROTO);
	h.flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY;
	ck_assert_int_eq(vhost_user_check_reply(&h, VHOST_USER_GET_FEATURES, 7), -EPROTO);
	ck_assert_int_eq(vhost_user_check_reply(&h, VHOST_USER_SET_OWNER, 8), -EPROTO);
}
END_TEST

START_TEST(test_connect_by_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/ember-vu-XXXXXX";
	struct vhost_user u;
	char longpath[200];
	int ls, peer;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(ls, 1), 0);
	ck_assert_int_eq(vhost_user_connect(&u, sa.sun_path, 0), 0);
	ck_assert_int_eq(u.timeout_ms, VHOST_USER_TIMEOUT_MS);
	peer = accept(ls, NULL, NULL);
	ck_assert_int_ge(peer, 0);
	vhost_user_close(&u);
	close(peer);
	close(ls);
	unlink(sa.sun_path);
	ck_assert_int_eq(vhost_user_connect(&u, sa.sun_path, 0), -ENOENT);
	ck_assert_int_eq(u.err, -ENOENT);
	rmdir(dir);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	ck_assert_int_eq(vhost_user_connect(&u, longpath, 0), -ENAMETOOLONG);
	ck_assert_int_eq(vhost_user_negotiate(&u, 0), -ENAMETOOLONG);
}
END_TEST

Suite *vhost_user_suite(void)
{
	Suite *s = suite_create("vhost_user");
	TCase *ok = tcase_create("conversation");
	TCase *bad = tcase_create("hostile_backend");

	tcase_add_test(ok, test_negotiate_with_protocol_features);
	tcase_add_test(ok, test_negotiate_without_protocol_features);
	tcase_add_test(ok, test_negotiate_only_known_protocol_features);
	tcase_add_test(ok, test_vring_requests_encoding);
	tcase_add_test(ok, test_mem_table_from_shared_ram);
	tcase_add_test(ok, test_mem_table_needs_shared_ram);
	tcase_add_test(ok, test_vring_addr_outside_ram_refused);
	tcase_add_test(ok, test_config_round_trip);
	tcase_add_test(ok, test_connect_by_path);
	suite_add_tcase(s, ok);
	tcase_add_loop_test(bad, test_bad_reply_fails_for_good, 0, LEN(faults));
	tcase_add_test(bad, test_nack_fails_one_request);
	tcase_add_test(bad, test_closed_backend_no_sigpipe);
	tcase_add_test(bad, test_check_reply);
	suite_add_tcase(s, bad);
	return s;
}
