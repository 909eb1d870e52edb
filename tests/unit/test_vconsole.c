/*
 * virtio/vconsole: identity and config space, the multiport control
 * handshake, hostile control messages and chains, reset in the middle of a
 * transfer, four ports at once, no multiport. Data: test_vconsole_data.c;
 * fixture: test_vconsole.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "tests/unit/test_vconsole.h"

/* ---- identity and set-up ---- */

START_TEST(test_identity_and_config)
{
	struct vconsole_port_cfg ports[3] = {
		{ .name = "a", .in_fd = -1, .out_fd = -1 }, { .name = "b", .in_fd = -1, .out_fd = -1 }, { .name = "c", .in_fd = -1, .out_fd = -1 }
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
		p[i] = (struct vconsole_port_cfg){ .name = NULL, .in_fd = -1, .out_fd = -1 };
	ck_assert_int_eq(gm_init(&m, CFX_RAM, CFX_RAM), 0);
	ck_assert_int_eq(evloop_init(&loop), 0);
	ck_assert_int_eq(vconsole_init(&c, p, 0, &m, &loop), -EINVAL);
	ck_assert_int_eq(vconsole_init(&c, p, VCONSOLE_MAX_PORTS + 1, &m, &loop), -EINVAL);
	p[1].name = longname;
	ck_assert_int_eq(vconsole_init(&c, p, 2, &m, &loop), -ENAMETOOLONG);
	p[1].name = "ok";
	cfx_pipe(fds);
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
	struct vconsole_port_cfg ports[2] = { { .name = "ember.stdin", .in_fd = -1, .out_fd = -1 }, { .name = "ember.stdout", .in_fd = -1, .out_fd = -1 } };
	struct cfx f;

	cfx_init(&f, ports, 2);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f); /* fds -1: still offered, named and connected */
	ck_assert(f.c.port[1].ready);
	ck_assert_uint_eq(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
}
END_TEST

START_TEST(test_unnamed_port_gets_no_name)
{
	struct vconsole_port_cfg ports[1] = { { .name = NULL, .in_fd = -1, .out_fd = -1 } };
	struct cfx f;

	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_ctrl_buffers(&f, 4);
	cfx_ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	cfx_expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_ADD, 0);
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	cfx_expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	cfx_expect_no_msg(&f);
	cfx_close(&f);
}
END_TEST

/* Messages for the guest wait for its buffers, none lost; a buffer too small is skipped. */
START_TEST(test_ctrl_waits_for_buffers)
{
	struct vconsole_port_cfg ports[3] = { { .name = "p0", .in_fd = -1, .out_fd = -1 }, { .name = "p1", .in_fd = -1, .out_fd = -1 }, { .name = "p2", .in_fd = -1, .out_fd = -1 } };
	struct fake_seg tiny;
	struct cfx f;

	cfx_init(&f, ports, 3);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	cfx_expect_no_msg(&f);
	ck_assert_uint_eq(f.c.port[2].ctrl_pending, 1);
	cfx_ctrl_buffers(&f, 1);
	cfx_expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_ADD, 0);
	cfx_expect_no_msg(&f);
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
	cfx_expect_msg(&f, 1, VIRTIO_CONSOLE_PORT_ADD, 0);
	cfx_ctrl_buffers(&f, 4);
	cfx_expect_msg(&f, 2, VIRTIO_CONSOLE_PORT_ADD, 0);
	cfx_expect_no_msg(&f);
	ck_assert_uint_eq(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
}
END_TEST

/* Unknown events, ids out of range, short and split messages, storms: no harm. */
START_TEST(test_hostile_control)
{
	struct vconsole_port_cfg ports[2] = { { .name = "a", .in_fd = -1, .out_fd = -1 }, { .name = "b", .in_fd = -1, .out_fd = -1 } };
	struct virtio_console_control m = { .id = 1, .event = VIRTIO_CONSOLE_PORT_READY, .value = 1 };
	struct fake_seg s[2];
	struct cfx f;

	cfx_init(&f, ports, 2);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_ctrl_buffers(&f, 8);
	/* Before DEVICE_READY a PORT_READY adds nothing. */
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	cfx_expect_no_msg(&f);
	for (unsigned int i = 0; i < 40; i++) /* a storm: PORT_ADD once per port */
		cfx_ctrl_send(&f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	cfx_expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_ADD, 0);
	cfx_expect_msg(&f, 1, VIRTIO_CONSOLE_PORT_ADD, 0);
	cfx_expect_no_msg(&f);
	cfx_ctrl_send(&f, 2, VIRTIO_CONSOLE_PORT_READY, 1);
	cfx_ctrl_send(&f, UINT32_MAX, VIRTIO_CONSOLE_PORT_OPEN, 1);
	cfx_ctrl_send(&f, 0x80000000u, VIRTIO_CONSOLE_PORT_READY, 1);
	cfx_ctrl_send(&f, 0, 0xffff, 1);
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_PORT_NAME, 1);
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_RESIZE, 1);
	cfx_ctrl_send(&f, 0, VIRTIO_CONSOLE_PORT_READY, 0); /* the driver failed the port */
	cfx_expect_no_msg(&f);
	/* Short: 4 bytes of a message, and a zero-length one. */
	s[0] = (struct fake_seg){ cfx_buf(&f, 4, 0), 4, F_R };
	memcpy(cfx_host(&f, s[0].addr, 4), &m, 4);
	cfx_publish(&f, CTRL_TX, s, 1);
	cfx_kick(&f, CTRL_TX);
	cfx_expect_no_msg(&f);
	/* Split over two descriptors: a whole message, served. */
	s[0] = (struct fake_seg){ cfx_buf(&f, 3, 0), 3, F_R };
	s[1] = (struct fake_seg){ cfx_buf(&f, 5, 0), 5, F_R };
	memcpy(cfx_host(&f, s[0].addr, 3), &m, 3);
	memcpy(cfx_host(&f, s[1].addr, 5), (uint8_t *)&m + 3, 5);
	cfx_publish(&f, CTRL_TX, s, 2);
	cfx_kick(&f, CTRL_TX);
	ck_assert(f.c.port[1].ready);
	for (unsigned int i = 0; i < 20; i++) /* a PORT_READY storm: the name once */
		cfx_ctrl_send(&f, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	cfx_expect_msg(&f, 1, VIRTIO_CONSOLE_PORT_NAME, 0);
	cfx_expect_msg(&f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	cfx_expect_no_msg(&f);
	ck_assert_uint_eq(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	/* Every control tx buffer came back. */
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[CTRL_TX]), f.vr[CTRL_TX].avail_idx);
	/* A zero-length descriptor breaks a virtqueue rule (vq_pop): NEEDS_RESET. */
	s[0].len = 0;
	cfx_publish(&f, CTRL_TX, s, 1);
	cfx_kick(&f, CTRL_TX);
	ck_assert_uint_ne(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
}
END_TEST

/* A read-only control rx buffer, or one outside RAM: the device needs a reset, writes nothing. */
START_TEST(test_hostile_ctrl_rx_buffers)
{
	struct vconsole_port_cfg ports[1] = { { .name = "a", .in_fd = -1, .out_fd = -1 } };
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
		ck_assert_uint_ne(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
		ck_assert_uint_eq(fake_vring_used_idx(&f.vr[CTRL_RX]), 0);
		for (unsigned int i = 0; i < 64; i++)
			ck_assert_uint_eq(cfx_host(&f, CFX_BUF, 64)[i], 0x33);
		/* A reset and a new driver start over. */
		cfx_reset(&f);
		cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
		cfx_handshake(&f);
		cfx_close(&f);
	}
}
END_TEST

/* ---- hostile data chains ---- */

/* Zero-length, read-only, outside RAM: NEEDS_RESET, nothing read or written; a reset recovers. */
START_TEST(test_hostile_rx_chains)
{
	int in[2];
	struct vconsole_port_cfg ports[1] = { { .name = "in", .in_fd = -1, .out_fd = -1 } };
	struct fake_seg bad[3] = {
		{ CFX_BUF, 0, F_W },	  /* empty */
		{ CFX_BUF, 8, F_R },	  /* the device may not write it */
		{ CFX_RAM - 4, 64, F_W }, /* runs past the end of RAM */
	};
	struct cfx f;

	cfx_pipe(in);
	ports[0].in_fd = in[0];
	cfx_init(&f, ports, 1);
	for (unsigned int k = 0; k < 3; k++) {
		cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
		f.buf_next = CFX_BUF;
		cfx_buf(&f, 64, 0x44);
		cfx_handshake(&f);
		cfx_open_port(&f, 0, true);
		cfx_put(in[1], "data");
		cfx_publish(&f, rxq(0), &bad[k], 1);
		cfx_kick(&f, rxq(0));
		ck_assert_uint_ne(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
		ck_assert_uint_eq(*cfx_host(&f, CFX_BUF, 1), 0x44);
		ck_assert_int_eq(cfx_pending(in[0]), 4);
		ck_assert_uint_eq(f.c.port[0].in_w->events, 0);
		ck_assert_int_eq(cfx_pump(&f, 0), 0);
		cfx_reset(&f);
		cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
		cfx_handshake(&f);
		cfx_post(&f, rxq(0), 16);
		cfx_open_port(&f, 0, true);
		cfx_expect_rx(&f, 0, "data");
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
	struct vconsole_port_cfg ports[1] = { { .name = "out", .in_fd = -1, .out_fd = -1 } };
	struct fake_seg s[2] = { { CFX_BUF, 4, F_R }, { CFX_RAM - 2, 4, F_R } };
	struct cfx f;

	cfx_pipe(out);
	ports[0].out_fd = out[1];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_publish(&f, txq(0), s, 2);
	cfx_kick(&f, txq(0));
	ck_assert_uint_ne(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	ck_assert_int_eq(cfx_pending(out[0]), 0);
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
	struct vconsole_port_cfg ports[1] = { { .name = "io", .in_fd = -1, .out_fd = -1 } };
	struct fake_seg s;
	static char sink[LEN];
	ssize_t n, total = 0;
	struct cfx f;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	cfx_pipe(in);
	ports[0] = (struct vconsole_port_cfg){ .name = "io", .in_fd = in[0], .out_fd = sv[0] };
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
	cfx_put(in[1], "fresh");
	cfx_post(&f, rxq(0), 16);
	cfx_kick(&f, rxq(0));
	ck_assert_int_eq(cfx_pending(in[0]), 5);
	cfx_handshake(&f);
	cfx_open_port(&f, 0, true);
	cfx_expect_rx(&f, 0, "fresh");
	cfx_guest_write(&f, 0, "after", 1);
	cfx_expect_out(sv[1], "after");
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
		cfx_pipe(in[i]);
		cfx_pipe(out[i]);
		ports[i] = (struct vconsole_port_cfg){ .name = names[i], .in_fd = in[i][0], .out_fd = out[i][1] };
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
		cfx_put(in[i][1], want);
		cfx_guest_write(&f, (unsigned int)i, names[i], 2);
	}
	ck_assert_int_eq(evloop_start(&f.loop), 0);
	for (int i = 0; i < 4; i++) {
		for (int t = 0; t < 2000 && fake_vring_used_idx(&f.vr[rxq((unsigned int)i)]) == 0; t++)
			usleep(1000);
		pthread_mutex_lock(&f.c.vdev.lock);
		snprintf(want, sizeof(want), "to port %d", i);
		cfx_expect_rx(&f, (unsigned int)i, want);
		pthread_mutex_unlock(&f.c.vdev.lock);
		cfx_expect_out(out[i][0], names[i]);
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
	struct vconsole_port_cfg ports[2] = { { .name = "con", .in_fd = -1, .out_fd = -1 }, { .name = "unused", .in_fd = -1, .out_fd = -1 } };
	struct cfx f;

	cfx_pipe(in);
	cfx_pipe(out);
	ports[0].in_fd = in[0];
	ports[0].out_fd = out[1];
	cfx_init(&f, ports, 2);
	cfx_activate(&f, 0);
	cfx_put(in[1], "typed");
	cfx_post(&f, 0, 16);
	cfx_kick(&f, 0);
	cfx_expect_rx(&f, 0, "typed");
	cfx_guest_write(&f, 0, "printed", 2);
	cfx_expect_out(out[0], "printed");
	cfx_kick(&f, CTRL_RX); /* not a queue now: ignored */
	cfx_kick(&f, CTRL_TX);
	cfx_kick(&f, 15);
	ck_assert_uint_eq(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}
END_TEST

/*
 * Without MULTIPORT only port 0 exists, but the transport still offers every
 * queue: a driver that sets up port 1's transmit queue and kicks it must not
 * reach port 1's host fd (found by fuzz_vconsole).
 */
START_TEST(test_without_multiport_other_ports_are_not_served)
{
	int out[2];
	struct vconsole_port_cfg ports[2] = { { .name = "con", .in_fd = -1, .out_fd = -1 },
					      { .name = "exit", .in_fd = -1, .out_fd = -1 } };
	struct fake_seg s;
	struct cfx f;

	cfx_pipe(out);
	ports[1].out_fd = out[1];
	cfx_init(&f, ports, 2);
	cfx_activate(&f, 0);
	fake_vring_init_at(&f.vr[txq(1)], &f.m, CFX_QSIZE, CFX_RING(txq(1)));
	ck_assert_int_eq(vq_setup(&f.c.vdev.vq[txq(1)], &f.m, CFX_QSIZE, f.vr[txq(1)].desc,
				  f.vr[txq(1)].avail, f.vr[txq(1)].used, false, true),
			 0);
	s = (struct fake_seg){ cfx_buf(&f, 6, 'x'), 6, F_R };
	cfx_publish(&f, txq(1), &s, 1);
	cfx_kick(&f, txq(1));
	cfx_kick(&f, rxq(1));
	cfx_pump(&f, 0);
	ck_assert_int_eq(cfx_pending(out[0]), 0);
	ck_assert_uint_eq(f.c.port[1].tx_bytes + f.c.port[1].tx_dropped, 0);
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(1)]), 0);
	ck_assert_uint_eq(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cfx_close(&f);
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
	vconsole_data_tcases(s);
	t = tcase_create("hostile and reset");
	tcase_add_test(t, test_hostile_rx_chains);
	tcase_add_test(t, test_hostile_tx_chain_outside_ram);
	tcase_add_test(t, test_reset_mid_transfer);
	suite_add_tcase(s, t);
	t = tcase_create("ports");
	tcase_add_test(t, test_four_ports);
	tcase_add_test(t, test_without_multiport);
	tcase_add_test(t, test_without_multiport_other_ports_are_not_served);
	suite_add_tcase(s, t);
	return s;
}
