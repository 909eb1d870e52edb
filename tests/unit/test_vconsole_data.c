/*
 * virtio/vconsole, data: host -> guest (open, back-pressure, EOF, regular
 * files), guest -> host (order, a full socket, EPIPE, batches), a port
 * without fds. Fixture: test_vconsole.h.
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

/* ---- host -> guest ---- */

START_TEST(test_rx_waits_for_open_then_delivers)
{
	int in[2];
	struct vconsole_port_cfg ports[2] = { { .name = "ctl", .in_fd = -1, .out_fd = -1 }, { .name = "stdin", .in_fd = -1, .out_fd = -1 } };
	struct fake_seg s[3];
	uint64_t gpa;
	uint32_t len;
	struct cfx f;

	cfx_pipe(in);
	ports[1].in_fd = in[0];
	cfx_init(&f, ports, 2);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_put(in[1], "hello, guest");
	cfx_post(&f, rxq(1), 64);
	cfx_kick(&f, rxq(1));
	/* Not open: nothing read, in_fd not watched. */
	ck_assert_int_eq(cfx_pending(in[0]), 12);
	ck_assert(!cfx_used(&f, rxq(1), &gpa, &len));
	ck_assert_uint_eq(f.c.port[1].in_w->events, 0);
	cfx_open_port(&f, 1, true);
	cfx_expect_rx(&f, 1, "hello, guest");
	ck_assert_uint_eq(f.c.port[1].in_w->events, 0); /* no buffer left */
	/* A chain of three writable descriptors takes one read across them. */
	s[0] = (struct fake_seg){ cfx_buf(&f, 2, 0), 2, F_W };
	s[1] = (struct fake_seg){ cfx_buf(&f, 3, 0), 3, F_W };
	s[2] = (struct fake_seg){ cfx_buf(&f, 10, 0), 10, F_W };
	cfx_publish(&f, rxq(1), s, 3);
	cfx_kick(&f, rxq(1));
	ck_assert_uint_eq(f.c.port[1].in_w->events, EPOLLIN);
	cfx_put(in[1], "abcdefg");
	cfx_pump(&f, 100); /* EPOLLIN on in_fd */
	ck_assert(cfx_used(&f, rxq(1), &gpa, &len));
	ck_assert_uint_eq(len, 7);
	ck_assert_mem_eq(cfx_host(&f, s[0].addr, 2), "ab", 2);
	ck_assert_mem_eq(cfx_host(&f, s[1].addr, 3), "cde", 3);
	ck_assert_mem_eq(cfx_host(&f, s[2].addr, 2), "fg", 2);
	/* The guest closes the port: data stays in the pipe. */
	cfx_open_port(&f, 1, false);
	cfx_post(&f, rxq(1), 64);
	cfx_put(in[1], "later");
	ck_assert_int_eq(cfx_pump(&f, 0), 0);
	ck_assert_int_eq(cfx_pending(in[0]), 5);
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
	struct vconsole_port_cfg ports[1] = { { .name = "in", .in_fd = -1, .out_fd = -1 } };
	struct cfx f;

	cfx_pipe(in);
	ports[0].in_fd = in[0];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_post(&f, rxq(0), 4);
	cfx_open_port(&f, 0, true);
	cfx_put(in[1], "0123456789");
	cfx_pump(&f, 100);
	cfx_expect_rx(&f, 0, "0123");
	ck_assert(f.c.port[0].rx_starved);
	ck_assert_uint_eq(f.c.port[0].in_w->events, 0);
	ck_assert_int_eq(cfx_pump(&f, 0), 0);
	ck_assert_int_eq(cfx_pending(in[0]), 6);
	cfx_post(&f, rxq(0), 100);
	cfx_post(&f, rxq(0), 100);
	cfx_kick(&f, rxq(0));
	cfx_expect_rx(&f, 0, "456789");
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
	struct vconsole_port_cfg ports[1] = { { .name = "in", .in_fd = -1, .out_fd = -1 } };
	uint64_t gpa;
	uint32_t len;
	struct cfx f;

	cfx_pipe(in);
	ports[0].in_fd = in[0];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_ctrl_buffers(&f, 4);
	cfx_put(in[1], "last words");
	close(in[1]);
	cfx_post(&f, rxq(0), 5);
	cfx_open_port(&f, 0, true);
	cfx_expect_rx(&f, 0, "last ");
	cfx_expect_no_msg(&f); /* not yet: 5 bytes wait in the pipe */
	for (int i = 0; i < 5; i++)
		ck_assert_int_ge(cfx_pump(&f, 0), 0); /* HUP while starved: no spin, no harm */
	ck_assert(!f.c.port[0].in_w->polled);
	cfx_post(&f, rxq(0), 5);
	cfx_post(&f, rxq(0), 5);
	cfx_kick(&f, rxq(0));
	cfx_expect_rx(&f, 0, "words");
	cfx_expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_OPEN, 0);
	cfx_expect_no_msg(&f);
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
	struct vconsole_port_cfg ports[1] = { { .name = "file", .in_fd = fd, .out_fd = -1 } };
	unsigned int got = 0;
	uint64_t gpa;
	uint32_t len;
	struct cfx f;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	for (int i = 0; i < 100; i++)
		cfx_put(fd, "0123456789");
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
			ck_assert_mem_eq(cfx_host(&f, gpa, 10), "0123456789", 10);
			got += len;
			cfx_post(&f, rxq(0), 10); /* like Linux: the buffer goes back */
		}
		if (!cfx_pump(&f, 0)) /* the loop's turns, then a kick for the buffers put back */
			cfx_kick(&f, rxq(0));
	}
	ck_assert_uint_eq(got, 1000);
	cfx_kick(&f, rxq(0));
	cfx_expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_OPEN, 0);
	cfx_close(&f);
	close(fd);
}
END_TEST

/* ---- guest -> host ---- */

START_TEST(test_tx_in_order_through_a_pipe)
{
	int out[2];
	struct vconsole_port_cfg ports[2] = { { .name = "ctl", .in_fd = -1, .out_fd = -1 }, { .name = "stdout", .in_fd = -1, .out_fd = -1 } };
	struct fake_seg s[2];
	uint64_t gpa;
	uint32_t len;
	struct cfx f;

	cfx_pipe(out);
	ports[1].out_fd = out[1];
	cfx_init(&f, ports, 2);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_guest_write(&f, 1, "one ", 1);
	cfx_guest_write(&f, 1, "two three ", 3);
	cfx_guest_write(&f, 1, "four five six", 7);
	cfx_expect_out(out[0], "one two three four five six");
	for (int i = 0; i < 3; i++) {
		ck_assert(cfx_used(&f, txq(1), &gpa, &len));
		ck_assert_uint_eq(len, 0);
	}
	/* A writable descriptor in a tx chain is not output. */
	s[0] = (struct fake_seg){ cfx_buf(&f, 3, 'r'), 3, F_R };
	s[1] = (struct fake_seg){ cfx_buf(&f, 3, 'w'), 3, F_W };
	cfx_publish(&f, txq(1), s, 2);
	cfx_kick(&f, txq(1));
	cfx_expect_out(out[0], "rrr");
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(1)]), 4);
	ck_assert_uint_eq(cfx_status(&f) & VIRTIO_STATUS_NEEDS_RESET, 0);
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
	struct vconsole_port_cfg ports[1] = { { .name = "out", .in_fd = -1, .out_fd = -1 } };
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
		p = cfx_host(&f, s[k].addr, LEN / 2);
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
static void count_gone(void *ctx)
{
	(*(int *)ctx)++;
}

START_TEST(test_tx_epipe)
{
	int out[2], gone = 0;
	struct vconsole_port_cfg ports[1] = { { .name = "out", .in_fd = -1, .out_fd = -1,
						.out_gone = count_gone, .out_gone_ctx = &gone } };
	struct cfx f;

	cfx_pipe(out);
	ports[0].out_fd = out[1];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_ctrl_buffers(&f, 2);
	cfx_guest_write(&f, 0, "seen", 1);
	cfx_expect_out(out[0], "seen");
	close(out[0]);
	cfx_guest_write(&f, 0, "lost", 2);
	ck_assert(f.c.port[0].out_broken);
	cfx_expect_msg(&f, 0, VIRTIO_CONSOLE_PORT_OPEN, 0);
	cfx_expect_no_msg(&f);
	cfx_guest_write(&f, 0, "dropped too", 1);
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(0)]), 3);
	ck_assert_uint_eq(f.c.port[0].tx_dropped, 15);
	ck_assert_uint_eq(f.c.port[0].tx_bytes, 4);
	ck_assert_int_eq(gone, 1); /* out_gone: once, at the failure */
	ck_assert(!f.c.port[0].out_w->polled);
	ck_assert_int_eq(cfx_pump(&f, 0), 0);
	cfx_close(&f);
	close(out[1]);
}
END_TEST

/*
 * EVENT_IDX: a turn that ends at its bound just as the ring runs dry must
 * still publish avail_event for the guest's next buffer, or the guest
 * (which kicks only when its index passes avail_event) never kicks again.
 */
START_TEST(test_tx_full_batch_asks_for_the_next_kick)
{
	int out[2];
	struct vconsole_port_cfg ports[1] = { { .name = "out", .in_fd = -1, .out_fd = -1 } };
	struct cfx f;
	char buf[VCONSOLE_BATCH + 1];

	cfx_pipe(out);
	ports[0].out_fd = out[1];
	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	f.c.vdev.vq[txq(0)].event_idx = true;
	cfx_handshake(&f);
	for (unsigned int i = 0; i < VCONSOLE_BATCH; i++) {
		struct fake_seg seg = { cfx_buf(&f, 1, 'a'), 1, F_R };

		cfx_publish(&f, txq(0), &seg, 1);
	}
	cfx_kick(&f, txq(0));
	ck_assert_int_eq(read(out[0], buf, sizeof(buf)), VCONSOLE_BATCH);
	ck_assert(!f.c.port[0].tx_more);
	/* The next buffer the guest adds is at index VCONSOLE_BATCH: it must kick for it. */
	ck_assert_uint_eq(fake_vring_avail_event(&f.vr[txq(0)]), VCONSOLE_BATCH);
	cfx_close(&f);
	close(out[0]);
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
	struct vconsole_port_cfg ports[1] = { { .name = "file", .in_fd = -1, .out_fd = -1 } };
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
	struct vconsole_port_cfg ports[1] = { { .name = "null", .in_fd = -1, .out_fd = -1 } };
	struct cfx f;

	cfx_init(&f, ports, 1);
	cfx_activate(&f, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
	cfx_handshake(&f);
	cfx_open_port(&f, 0, true);
	cfx_post(&f, rxq(0), 16);
	cfx_kick(&f, rxq(0));
	cfx_guest_write(&f, 0, "into the void", 3);
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[txq(0)]), 1);
	ck_assert_uint_eq(fake_vring_used_idx(&f.vr[rxq(0)]), 0);
	ck_assert_uint_eq(f.c.port[0].tx_dropped, 13);
	cfx_close(&f);
}
END_TEST

void vconsole_data_tcases(Suite *s)
{
	TCase *t = tcase_create("data");
	tcase_add_test(t, test_rx_waits_for_open_then_delivers);
	tcase_add_test(t, test_rx_backpressure);
	tcase_add_test(t, test_rx_eof_after_data);
	tcase_add_test(t, test_rx_regular_file);
	tcase_add_test(t, test_tx_in_order_through_a_pipe);
	tcase_add_test(t, test_tx_backpressure);
	tcase_add_test(t, test_tx_epipe);
	tcase_add_test(t, test_tx_full_batch_asks_for_the_next_kick);
	tcase_add_test(t, test_tx_batches_and_regular_file);
	tcase_add_test(t, test_port_without_fds_drops);
	suite_add_tcase(s, t);
}
