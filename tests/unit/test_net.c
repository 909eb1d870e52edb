/*
 * virtio/net: identity and config space, the default MAC, transmit through
 * queue 1 (chain shapes, batches, short and hostile chains, a full socket),
 * net_open() on a real tap, and --net parsing. Receive: test_net_rx.c and
 * test_net_order.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "tests/unit/test_net.h"
#include "vmm/cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- identity, MAC, config space ---- */

START_TEST(test_default_mac)
{
	static const char *const names[] = { "tap0", "tap1", "tap00", "0pat", "ember-net0", "a",
					     "b", "" };
	uint8_t mac[8][6], again[6];

	for (unsigned int i = 0; i < 8; i++) {
		net_default_mac(names[i], mac[i]);
		net_default_mac(names[i], again);
		ck_assert_mem_eq(mac[i], again, 6); /* stable */
		ck_assert_uint_eq(mac[i][0], 0x52);
		ck_assert_uint_eq(mac[i][1], 0x54);
		ck_assert_uint_eq(mac[i][2], 0x00);
		ck_assert_uint_eq(mac[i][0] & 1, 0); /* unicast */
		ck_assert_uint_eq(mac[i][0] & 2, 2); /* locally administered */
		for (unsigned int j = 0; j < i; j++)
			ck_assert_msg(memcmp(mac[i], mac[j], 6), "'%s' and '%s' share a MAC",
				      names[i], names[j]);
	}
}
END_TEST

START_TEST(test_identity_and_features)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
			VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
			VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
			VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
			VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_FEAT_VERSION_1;
	struct nfx f;

	nfx_attach(&f);
	ck_assert_uint_eq(f.n.vdev.device_id, 1);
	ck_assert_uint_eq(f.n.vdev.num_queues, 2);
	ck_assert_uint_eq(f.n.vdev.qcfg[RXQ].max_size, NET_QUEUE_SIZE);
	ck_assert_uint_eq(f.n.vdev.qcfg[TXQ].max_size, NET_QUEUE_SIZE);
	ck_assert_uint_eq(f.n.vdev.host_features & want, want);
	/* Nothing it cannot do: no control queue, no multiqueue, no UFO. */
	ck_assert(!(f.n.vdev.host_features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)));
	ck_assert(!(f.n.vdev.host_features & VIRTIO_BIT(VIRTIO_NET_F_MQ)));
	ck_assert(!(f.n.vdev.host_features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO)));
	ck_assert_uint_eq(f.n.vdev.config_size, sizeof(struct virtio_net_config));
	ck_assert_str_eq(f.n.tap, "nfx0");
	nfx_close(&f);
}
END_TEST

START_TEST(test_config_space)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	struct virtio_net_config cfg;
	struct virtio_dev *v;
	uint8_t b[6], junk[8];
	uint16_t status = 0;
	struct nfx f;

	nfx_attach(&f);
	v = &f.n.vdev;
	v->ops->config_read(v, 0, b, 6);
	ck_assert_mem_eq(b, mac, 6);
	v->ops->config_read(v, offsetof(struct virtio_net_config, status), &status, 2);
	ck_assert_uint_eq(status, VIRTIO_NET_S_LINK_UP);
	for (uint32_t i = 0; i < 6; i++) { /* byte by byte, as a driver may */
		v->ops->config_read(v, i, &b[0], 1);
		ck_assert_uint_eq(b[0], mac[i]);
	}
	v->ops->config_read(v, 0, &cfg, sizeof(cfg));
	ck_assert_mem_eq(cfg.mac, mac, 6);
	ck_assert_uint_eq(cfg.status, VIRTIO_NET_S_LINK_UP);
	/* Beyond the structure: nothing copied. */
	memset(junk, 0x5a, sizeof(junk));
	v->ops->config_read(v, v->config_size - 2, junk, 4);
	for (unsigned int i = 0; i < sizeof(junk); i++)
		ck_assert_uint_eq(junk[i], 0x5a);
	/* Writes are ignored: the MAC and status belong to the host. */
	memset(junk, 0x11, sizeof(junk));
	v->ops->config_write(v, 0, junk, 6);
	v->ops->config_write(v, 6, junk, 2);
	v->ops->config_write(v, 2, junk, 1);
	v->ops->config_read(v, 0, &cfg, sizeof(cfg));
	ck_assert_mem_eq(cfg.mac, mac, 6);
	ck_assert_uint_eq(cfg.status, VIRTIO_NET_S_LINK_UP);
	nfx_close(&f);
}
END_TEST

/* ---- transmit ---- */

static const struct virtio_net_hdr_v1 tx_hdr = {
	.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_NONE,
	.hdr_len = 54, .csum_start = 34, .csum_offset = 16, .num_buffers = 0,
};

/* Header + payload of pattern `seed` at a fresh guest address. */
static uint64_t tx_frame(struct nfx *f, unsigned int seed, size_t len)
{
	uint64_t gpa = nfx_buf(f, (uint32_t)(NFX_HDR + len), 0);
	uint8_t *p = nfx_host(f, gpa, NFX_HDR + len);
	struct virtio_net_hdr_v1 h = tx_hdr;

	h.hdr_len = (uint16_t)(seed + 1); /* tells frames apart in the header too */
	memcpy(p, &h, NFX_HDR);
	for (size_t i = 0; i < len; i++)
		p[NFX_HDR + i] = nfx_pattern(seed, i);
	return gpa;
}

/* tx_frame() as a chain of one descriptor, published. Returns the head. */
static uint16_t tx_one(struct nfx *f, unsigned int seed, size_t len)
{
	struct fake_seg s = { tx_frame(f, seed, len), (uint32_t)(NFX_HDR + len), F_R };

	return nfx_publish(f, TXQ, &s, 1);
}

/* The peer must receive exactly the frame tx_frame(seed, len) built. */
static void peer_got(struct nfx *f, unsigned int seed, size_t len)
{
	static uint8_t buf[70000];
	struct virtio_net_hdr_v1 h = tx_hdr;
	ssize_t n = nfx_recv(f, buf, sizeof(buf));

	ck_assert_int_eq(n, (ssize_t)(NFX_HDR + len));
	h.hdr_len = (uint16_t)(seed + 1);
	ck_assert_mem_eq(buf, &h, NFX_HDR);
	for (size_t i = 0; i < len; i++)
		ck_assert_uint_eq(buf[NFX_HDR + i], nfx_pattern(seed, i));
}

static void peer_got_nothing(struct nfx *f)
{
	uint8_t b[16];

	ck_assert_int_eq(nfx_recv(f, b, sizeof(b)), -1);
}

START_TEST(test_tx_one_descriptor)
{
	struct nfx f;
	uint16_t head;

	nfx_open(&f, 0);
	head = tx_one(&f, 3, 60);
	nfx_kick(&f, TXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, TXQ), 1);
	nfx_used_is(&f, TXQ, 0, head, 0);
	peer_got(&f, 3, 60);
	peer_got_nothing(&f);
	ck_assert_uint_eq(f.n.tx_errors, 0);
	ck_assert_uint_eq(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	nfx_close(&f);
}
END_TEST

/* Cut points inside header + 1500-byte frame: each shape is one chain of several descriptors. */
static const struct {
	unsigned int n;
	uint32_t cut[6];
} tx_shapes[] = {
	{ 2, { 12 } },			    /* header, frame */
	{ 3, { 12, 13 } },		    /* header, 1 byte, rest */
	{ 3, { 5, 12 } },		    /* header split in two */
	{ 6, { 1, 11, 12, 700, 701 } },	    /* odd sizes everywhere */
	{ 4, { 10, 14, 1000 } },	    /* a descriptor straddling header and frame */
};

START_TEST(test_tx_split_chain)
{
	const size_t len = 1500;
	struct fake_seg s[6];
	uint64_t gpa;
	uint32_t from = 0;
	struct nfx f;
	uint16_t head;

	nfx_open(&f, 0);
	gpa = tx_frame(&f, 7, len);
	for (unsigned int i = 0; i < tx_shapes[_i].n; i++) {
		uint32_t to = (uint32_t)(NFX_HDR + len);

		if (i + 1 < tx_shapes[_i].n)
			to = tx_shapes[_i].cut[i];

		s[i] = (struct fake_seg){ gpa + from, to - from, F_R };
		from = to;
	}
	head = nfx_publish(&f, TXQ, s, tx_shapes[_i].n);
	nfx_kick(&f, TXQ);
	nfx_used_is(&f, TXQ, 0, head, 0);
	peer_got(&f, 7, len);
	ck_assert_uint_eq(f.n.tx_errors, 0);
	nfx_close(&f);
}
END_TEST

START_TEST(test_tx_indirect)
{
	const size_t len = 300;
	uint64_t gpa;
	struct nfx f;

	nfx_open(&f, 0);
	gpa = tx_frame(&f, 9, len);
	fake_vring_indirect(&f.m, NFX_TABLE,
			    (struct fake_seg[]){ { gpa, 7, F_R },
						 { gpa + 7, 5, F_R },
						 { gpa + 12, (uint32_t)len, F_R } },
			    3);
	fake_vring_desc(&f.tx, 5, NFX_TABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	fake_vring_publish(&f.tx, 5);
	nfx_kick(&f, TXQ);
	nfx_used_is(&f, TXQ, 0, 5, 0);
	peer_got(&f, 9, len);
	nfx_close(&f);
}
END_TEST

START_TEST(test_tx_batch_in_order)
{
	static const size_t lens[] = { 60, 1514, 0, 42, 9000, 64, 65535, 100 };
	uint16_t heads[8];
	struct nfx f;

	nfx_open(&f, 0);
	for (unsigned int i = 0; i < 8; i++) {
		struct fake_seg s[2];
		uint64_t gpa;

		if (i % 2 == 0) {
			heads[i] = tx_one(&f, i, lens[i]);
			continue;
		}
		/* Odd ones as header + frame. */
		gpa = tx_frame(&f, i, lens[i]);
		s[0] = (struct fake_seg){ gpa, NFX_HDR, F_R };
		s[1] = (struct fake_seg){ gpa + NFX_HDR, (uint32_t)lens[i], F_R };
		heads[i] = nfx_publish(&f, TXQ, s, 2);
	}
	nfx_kick(&f, TXQ); /* one kick for all */
	ck_assert_uint_eq(nfx_used_idx(&f, TXQ), 8);
	for (unsigned int i = 0; i < 8; i++) {
		nfx_used_is(&f, TXQ, (uint16_t)i, heads[i], 0);
		peer_got(&f, i, lens[i]);
	}
	peer_got_nothing(&f);
	ck_assert_uint_eq(f.n.tx_errors, 0);
	nfx_close(&f);
}
END_TEST

START_TEST(test_tx_short_chain_dropped)
{
	uint16_t heads[5];
	uint64_t gpa;
	struct nfx f;

	nfx_open(&f, 0);
	gpa = tx_frame(&f, 1, 100);
	heads[0] = nfx_publish(&f, TXQ, &(struct fake_seg){ gpa, 8, F_R }, 1);
	heads[1] = nfx_publish(&f, TXQ, (struct fake_seg[]){ { gpa, 6, F_R }, { gpa + 6, 5, F_R } },
			       2);
	/* Nothing readable; 4 readable bytes and the rest writable. */
	heads[2] = nfx_publish(&f, TXQ, &(struct fake_seg){ gpa, 100, F_W }, 1);
	heads[3] = nfx_publish(&f, TXQ,
			       (struct fake_seg[]){ { gpa, 4, F_R }, { gpa + 4, 96, F_W } }, 2);
	heads[4] = tx_one(&f, 2, 80);
	nfx_kick(&f, TXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, TXQ), 5);
	for (unsigned int i = 0; i < 5; i++)
		nfx_used_is(&f, TXQ, (uint16_t)i, heads[i], 0);
	ck_assert_uint_eq(f.n.tx_errors, 4);
	peer_got(&f, 2, 80); /* only the good one, and the queue goes on */
	peer_got_nothing(&f);
	ck_assert_uint_eq(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	nfx_close(&f);
}
END_TEST

/* Hostile transmit chains, each written as descriptor 1 (and 2) and published. */
static void hostile_tx(struct nfx *f, int kind)
{
	struct fake_vring *v = &f->tx;
	uint64_t gpa = nfx_buf(f, 256, 0);

	switch (kind) {
	case 0: fake_vring_desc(v, 1, NFX_RAM, 64, 0, 0); break; /* outside RAM */
	case 1: fake_vring_desc(v, 1, NFX_RAM - 32, 64, 0, 0); break; /* straddles the end */
	case 2: fake_vring_desc(v, 1, UINT64_MAX - 15, 64, 0, 0); break; /* wraps */
	case 3: fake_vring_desc(v, 1, gpa, 16, VRING_DESC_F_NEXT, 1); break; /* loops to itself */
	case 4: /* two-step loop */
		fake_vring_desc(v, 1, gpa, 16, VRING_DESC_F_NEXT, 2);
		fake_vring_desc(v, 2, gpa, 16, VRING_DESC_F_NEXT, 1);
		break;
	case 5: fake_vring_desc(v, 1, gpa, 16, VRING_DESC_F_NEXT, NET_QUEUE_SIZE); break;
	case 6: /* an indirect table that loops */
		fake_vring_table_desc(&f->m, NFX_TABLE, 0, gpa, 16, VRING_DESC_F_NEXT, 1);
		fake_vring_table_desc(&f->m, NFX_TABLE, 1, gpa, 16, VRING_DESC_F_NEXT, 0);
		fake_vring_desc(v, 1, NFX_TABLE, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	case 7: /* an indirect table outside RAM */
		fake_vring_desc(v, 1, NFX_RAM - 16, 64, VRING_DESC_F_INDIRECT, 0);
		break;
	}
	if (kind == 8)
		fake_vring_set_avail_idx(v, (uint16_t)(v->avail_idx + NET_QUEUE_SIZE + 1));
	else
		fake_vring_publish(v, 1);
}

START_TEST(test_tx_hostile_needs_reset)
{
	struct nfx f;
	uint16_t head;

	nfx_open(&f, 0);
	/* A good chain first: sent before the queue breaks. */
	head = tx_one(&f, 4, 70);
	hostile_tx(&f, _i);
	nfx_kick(&f, TXQ);
	if (_i != 8) { /* an absurd avail index breaks the queue before the good chain */
		nfx_used_is(&f, TXQ, 0, head, 0);
		peer_got(&f, 4, 70);
	}
	ck_assert_uint_eq(nfx_used_idx(&f, TXQ), _i != 8);
	peer_got_nothing(&f);
	ck_assert_uint_eq(nfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);
	/* Kicked again: nothing more, no crash. */
	nfx_kick(&f, TXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, TXQ), _i != 8);
	peer_got_nothing(&f);
	nfx_close(&f);
}
END_TEST

START_TEST(test_tx_full_socket_drops_not_stalls)
{
	int small = 4096;
	unsigned int got = 0;
	struct nfx f;

	nfx_open(&f, 0);
	ck_assert_int_eq(setsockopt(f.n.tap_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	for (unsigned int i = 0; i < 32; i++)
		tx_one(&f, i, 1000);
	nfx_kick(&f, TXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, TXQ), 32); /* every chain returned */
	ck_assert_uint_gt(f.n.tx_errors, 0);
	/* What was sent is whole and in order; the rest was counted. */
	for (; got < 32; got++) {
		uint8_t b[1100];
		ssize_t n = nfx_recv(&f, b, sizeof(b));

		if (n < 0)
			break;
		ck_assert_int_eq(n, NFX_HDR + 1000);
		ck_assert_uint_eq(b[NFX_HDR + 5], nfx_pattern(got, 5));
	}
	ck_assert_uint_eq(got + f.n.tx_errors, 32);
	/* Room again: the next chain goes out. */
	tx_one(&f, 77, 10);
	nfx_kick(&f, TXQ);
	peer_got(&f, 77, 10);
	nfx_close(&f);
}
END_TEST

START_TEST(test_tx_event_idx_asks_for_next_kick)
{
	struct nfx f;

	nfx_attach(&f);
	nfx_activate(&f, &(struct nfx_cfg){ .event_idx = true });
	for (unsigned int i = 0; i < 3; i++)
		tx_one(&f, i, 20);
	nfx_kick(&f, TXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, TXQ), 3);
	ck_assert_uint_eq(fake_vring_avail_event(&f.tx), 3);
	for (unsigned int i = 0; i < 3; i++)
		peer_got(&f, i, 20);
	nfx_close(&f);
}
END_TEST

/*
 * A kick with more than NET_TX_BATCH frames queued: the device sends the
 * bound, leaves the queue without a kick request (EVENT_IDX) and asks the
 * loop for EPOLLOUT; the loop's next turn sends the rest, in order, and
 * then asks for kicks again.
 */
START_TEST(test_tx_bounded_turn_resumes_on_loop)
{
	const unsigned int total = NET_TX_BATCH + 40;
	int big = 1 << 20;
	struct nfx f;

	nfx_attach(&f);
	nfx_activate(&f, &(struct nfx_cfg){ .event_idx = true });
	setsockopt(f.n.tap_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	for (unsigned int i = 0; i < total; i++)
		tx_one(&f, i, 20);
	nfx_kick(&f, TXQ);
	ck_assert_uint_eq(nfx_used_idx(&f, TXQ), NET_TX_BATCH);
	ck_assert(f.n.tx_more);
	ck_assert_uint_eq(fake_vring_avail_event(&f.tx), 0); /* no kick asked for meanwhile */
	nfx_start(&f);
	nfx_wait_used(&f, TXQ, (uint16_t)total);
	for (unsigned int i = 0; i < total; i++)
		peer_got(&f, i, 20);
	peer_got_nothing(&f);
	pthread_mutex_lock(&f.n.vdev.lock);
	ck_assert(!f.n.tx_more);
	ck_assert_uint_eq(fake_vring_avail_event(&f.tx), total);
	pthread_mutex_unlock(&f.n.vdev.lock);
	ck_assert_uint_eq(f.n.tx_errors, 0);
	nfx_close(&f);
}
END_TEST

/* ---- net_open on a tap ---- */

START_TEST(test_open_bad_names)
{
	static const char *const names[] = { "0123456789abcdef", "a-much-too-long-tap-name", "" };
	struct evloop loop;
	struct net n;
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 1 << 20, 1 << 20), 0);
	ck_assert_int_eq(evloop_init(&loop), 0);
	for (unsigned int i = 0; i < 3; i++) {
		struct net_options o = { .tap = names[i] };

		ck_assert_int_eq(net_open(&n, &o, &m, &loop), -EINVAL);
	}
	evloop_destroy(&loop);
	gm_destroy(&m);
}
END_TEST

static bool iface_exists(const char *name)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	return stat(path, &st) == 0;
}

/* Runs only as root with /dev/net/tun; otherwise it says so and passes without checking. */
START_TEST(test_open_real_tap)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x01, 0x02, 0x03 };
	struct net_options o = { 0 };
	uint8_t want[6], got[6];
	char name[16];
	struct evloop loop;
	struct net n;
	struct gm m;
	int err;

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)) {
		printf("net: test_open_real_tap skipped: needs root and /dev/net/tun\n");
		return;
	}
	snprintf(name, sizeof(name), "embt%u%c", (unsigned int)getpid() % 100000, 'a' + _i);
	ck_assert(!iface_exists(name));
	o.tap = name;
	if (_i) { /* the second run gives a MAC */
		memcpy(o.mac, mac, 6);
		o.mac_set = true;
	}
	ck_assert_int_eq(gm_init(&m, 1 << 20, 1 << 20), 0);
	ck_assert_int_eq(evloop_init(&loop), 0);
	err = net_open(&n, &o, &m, &loop);
	if (err == -EPERM || err == -EACCES) {
		printf("net: test_open_real_tap skipped: no CAP_NET_ADMIN (%s)\n", strerror(-err));
		goto out;
	}
	ck_assert_int_eq(err, 0);
	ck_assert(iface_exists(name));
	ck_assert_str_eq(n.tap, name);
	n.vdev.ops->config_read(&n.vdev, 0, got, 6);
	if (_i)
		memcpy(want, mac, 6);
	else
		net_default_mac(name, want);
	ck_assert_mem_eq(got, want, 6);
	net_close(&n);
	ck_assert_int_eq(n.tap_fd, -1);
	for (int i = 0; i < 200 && iface_exists(name); i++)
		usleep(5000);
	ck_assert_msg(!iface_exists(name), "tap %s still exists after net_close", name);
	net_close(&n); /* twice: harmless */
out:
	evloop_destroy(&loop);
	gm_destroy(&m);
}
END_TEST

/* ---- --net ---- */

static const struct {
	const char *s, *tap;
	bool mac_set;
	uint8_t mac[6];
} good_nics[] = {
	{ "tap=tap0", "tap0", false, { 0 } },
	{ "tap=tap0,mac=52:54:00:12:34:56", "tap0", true, { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } },
	{ "mac=02:00:00:00:00:01,tap=x", "x", true, { 0x02, 0, 0, 0, 0, 0x01 } },
	{ "tap=t,mac=52:54:00:AB:cd:Ef", "t", true, { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef } },
	{ "tap=t,mac=fe:ff:ff:ff:ff:ff", "t", true, { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff } },
	{ "tap=0123456789abcde", "0123456789abcde", false, { 0 } }, /* 15 characters */
};

START_TEST(test_nic_parses)
{
	struct cli_nic n;

	ck_assert_msg(cli_parse_nic(good_nics[_i].s, &n) == 0, "'%s' rejected", good_nics[_i].s);
	ck_assert_str_eq(n.tap, good_nics[_i].tap);
	ck_assert_int_eq(n.mac_set, good_nics[_i].mac_set);
	if (n.mac_set)
		ck_assert_mem_eq(n.mac, good_nics[_i].mac, 6);
}
END_TEST

static const char *const bad_nics[] = {
	"",
	"tap=",
	"mac=52:54:00:12:34:56",		/* no tap */
	"tap0",					/* not key=value */
	"tap=0123456789abcdef",			/* 16 characters */
	"tap=a,mac=",
	"tap=a,mac=52:54:00:12:34",		/* five octets */
	"tap=a,mac=52:54:00:12:34:56:78",	/* seven */
	"tap=a,mac=52:54:00:12:34:567",		/* too long */
	"tap=a,mac=52:54:00:12:34:5",		/* too short */
	"tap=a,mac=52:54:00:12:34:5g",		/* not hex */
	"tap=a,mac=zz:54:00:12:34:56",
	"tap=a,mac=52-54-00-12-34-56",		/* wrong separator */
	"tap=a,mac=5254.0012.3456",
	"tap=a,mac=53:54:00:12:34:56",		/* multicast */
	"tap=a,mac=ff:ff:ff:ff:ff:ff",		/* broadcast */
	"tap=a,mac=01:00:5e:00:00:01",
	"tap=a,mac=+2:54:00:12:34:56",		/* a sign is not a hex digit */
	"tap=a,mac= 2:54:00:12:34:56",		/* nor a space */
	"tap=a,mac=52:54:00:12:34:+6",
	"tap=a,mac=52:54:00:12: 4:56",
	"tap=a,foo=bar",			/* unknown key */
	"tap=a,model=virtio",
	"tap=a,,mac=52:54:00:12:34:56",		/* empty item */
	"TAP=a",
};

START_TEST(test_nic_rejects)
{
	struct cli_nic n;

	ck_assert_msg(cli_parse_nic(bad_nics[_i], &n) == -EINVAL, "'%s' not rejected",
		      bad_nics[_i]);
}
END_TEST

START_TEST(test_cli_net_count)
{
	char *four[] = { "ember", "run", "--kernel", "k", "--net", "tap=n0", "--net=tap=n1",
			 "--net", "tap=n2,mac=52:54:00:00:00:02", "--net", "tap=n3" };
	char *five[] = { "ember", "run", "--kernel", "k", "--net", "tap=n0", "--net", "tap=n1",
			 "--net", "tap=n2", "--net", "tap=n3", "--net", "tap=n4" };
	char *bad[] = { "ember", "run", "--kernel", "k", "--net", "tap=n0,mac=01:00:00:00:00:00" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(four), four, &c), 0);
	ck_assert_uint_eq(c.nr_nics, 4);
	for (unsigned int i = 0; i < 4; i++) {
		char want[4] = { 'n', (char)('0' + i), 0 };

		ck_assert_str_eq(c.nic[i].tap, want);
		ck_assert_int_eq(c.nic[i].mac_set, i == 2);
	}
	ck_assert_uint_eq(c.nic[2].mac[5], 2);
	ck_assert_int_eq(cli_parse(ARGC(five), five, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(bad), bad, &c), -EINVAL);
}
END_TEST

Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *dev_tc = tcase_create("device");
	TCase *tx_tc = tcase_create("transmit");
	TCase *open_tc = tcase_create("open");
	TCase *cli_tc = tcase_create("--net");

	tcase_add_test(dev_tc, test_default_mac);
	tcase_add_test(dev_tc, test_identity_and_features);
	tcase_add_test(dev_tc, test_config_space);
	suite_add_tcase(s, dev_tc);

	tcase_add_test(tx_tc, test_tx_one_descriptor);
	tcase_add_loop_test(tx_tc, test_tx_split_chain, 0,
			    sizeof(tx_shapes) / sizeof(tx_shapes[0]));
	tcase_add_test(tx_tc, test_tx_indirect);
	tcase_add_test(tx_tc, test_tx_batch_in_order);
	tcase_add_test(tx_tc, test_tx_short_chain_dropped);
	tcase_add_loop_test(tx_tc, test_tx_hostile_needs_reset, 0, 9);
	tcase_add_test(tx_tc, test_tx_full_socket_drops_not_stalls);
	tcase_add_test(tx_tc, test_tx_event_idx_asks_for_next_kick);
	tcase_add_test(tx_tc, test_tx_bounded_turn_resumes_on_loop);
	suite_add_tcase(s, tx_tc);

	net_rx_tcases(s);
	net_order_tcases(s);
	net_huge_tcases(s);

	tcase_add_test(open_tc, test_open_bad_names);
	tcase_add_loop_test(open_tc, test_open_real_tap, 0, 2);
	suite_add_tcase(s, open_tc);

	tcase_add_loop_test(cli_tc, test_nic_parses, 0, sizeof(good_nics) / sizeof(good_nics[0]));
	tcase_add_loop_test(cli_tc, test_nic_rejects, 0, sizeof(bad_nics) / sizeof(bad_nics[0]));
	tcase_add_test(cli_tc, test_cli_net_count);
	suite_add_tcase(s, cli_tc);
	return s;
}
