/* vmm/console: console_feed's Ctrl-A escape handling and back-pressure into the UART. */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/serial.h"
#include "tests/unit/suites.h"
#include "vmm/console.h"

#define CTRL_A "\x01"

struct term {
	struct console c;
	struct serial s;
};

/* A console not attached to any fd (console_open is not called), feeding a bare UART. */
static void term_init(struct term *t, bool raw)
{
	struct irq_line nowhere = { .vm_fd = -1 };

	t->c = (struct console){ .in_fd = -1, .raw = raw, .sig_fd = -1 };
	ck_assert_int_eq(serial_init(&t->s, nowhere, -1, -1), 0);
}

static size_t feed(struct term *t, const char *bytes, size_t n, bool *quit)
{
	struct uart u = serial_uart(&t->s);

	return console_feed(&t->c, &u, (const uint8_t *)bytes, n, quit);
}

/* The next byte the guest would read from the receive buffer. */
static uint8_t guest_reads(struct term *t)
{
	uint8_t v = 0;

	serial_ops.read(&t->s, 0, &v, 1);
	return v;
}

static void assert_fifo(struct term *t, const char *expect, size_t n)
{
	ck_assert_uint_eq(SERIAL_FIFO - serial_rx_space(&t->s), n);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(guest_reads(t), (uint8_t)expect[i]);
}

START_TEST(test_plain_bytes_reach_fifo)
{
	struct term t;
	bool quit = true;

	term_init(&t, true);
	ck_assert_uint_eq(feed(&t, "ls\r", 3, &quit), 3);
	ck_assert(!quit);
	assert_fifo(&t, "ls\r", 3);
	serial_destroy(&t.s);
}
END_TEST

START_TEST(test_ctrl_a_x_quits)
{
	struct term t;
	bool quit = false;

	term_init(&t, true);
	ck_assert_uint_eq(feed(&t, CTRL_A "x", 2, &quit), 2);
	ck_assert(quit);
	assert_fifo(&t, "", 0);
	serial_destroy(&t.s);
}
END_TEST

START_TEST(test_ctrl_a_x_stops_mid_buffer)
{
	struct term t;
	bool quit = false;

	term_init(&t, true);
	ck_assert_uint_eq(feed(&t, "ab" CTRL_A "Xcd", 6, &quit), 4);
	ck_assert(quit);
	assert_fifo(&t, "ab", 2);
	serial_destroy(&t.s);
}
END_TEST

START_TEST(test_ctrl_a_ctrl_a_sends_one_ctrl_a)
{
	struct term t;
	bool quit = true;

	term_init(&t, true);
	ck_assert_uint_eq(feed(&t, CTRL_A CTRL_A, 2, &quit), 2);
	ck_assert(!quit);
	assert_fifo(&t, CTRL_A, 1);
	serial_destroy(&t.s);
}
END_TEST

START_TEST(test_ctrl_a_other_key_sends_that_key)
{
	struct term t;
	bool quit = true;

	term_init(&t, true);
	ck_assert_uint_eq(feed(&t, CTRL_A "c", 2, &quit), 2);
	ck_assert(!quit);
	assert_fifo(&t, "c", 1);
	serial_destroy(&t.s);
}
END_TEST

START_TEST(test_escape_split_across_calls)
{
	struct term t;
	bool quit = true;

	term_init(&t, true);
	ck_assert_uint_eq(feed(&t, CTRL_A, 1, &quit), 1);
	ck_assert(!quit);
	assert_fifo(&t, "", 0);
	ck_assert_uint_eq(feed(&t, "x", 1, &quit), 1);
	ck_assert(quit);
	serial_destroy(&t.s);
}
END_TEST

START_TEST(test_split_ctrl_a_ctrl_a_sends_one)
{
	struct term t;
	bool quit;

	term_init(&t, true);
	ck_assert_uint_eq(feed(&t, "a" CTRL_A, 2, &quit), 2);
	ck_assert_uint_eq(feed(&t, CTRL_A "b", 2, &quit), 2);
	ck_assert(!quit);
	assert_fifo(&t, "a" CTRL_A "b", 3);
	serial_destroy(&t.s);
}
END_TEST

START_TEST(test_stops_when_fifo_full)
{
	static const char twenty[] = "abcdefghijklmnopqrst";
	struct term t;
	bool quit;

	term_init(&t, true);
	ck_assert_uint_eq(feed(&t, twenty, 20, &quit), SERIAL_FIFO);
	ck_assert(!quit);
	ck_assert_uint_eq(feed(&t, twenty + 16, 4, &quit), 0);
	ck_assert_uint_eq(guest_reads(&t), 'a');
	ck_assert_uint_eq(feed(&t, twenty + 16, 4, &quit), 1);
	assert_fifo(&t, "bcdefghijklmnopq", 16);
	serial_destroy(&t.s);
}
END_TEST

START_TEST(test_escape_kept_while_fifo_full)
{
	static const char full[SERIAL_FIFO] = "0123456789abcdef";
	struct term t;
	bool quit;

	term_init(&t, true);
	ck_assert_uint_eq(feed(&t, full, SERIAL_FIFO, &quit), SERIAL_FIFO);
	/* Ctrl-A needs no room; the key after it waits for room. */
	ck_assert_uint_eq(feed(&t, CTRL_A "z", 2, &quit), 1);
	ck_assert_uint_eq(guest_reads(&t), '0');
	ck_assert_uint_eq(feed(&t, "z", 1, &quit), 1);
	ck_assert(!quit);
	assert_fifo(&t, "123456789abcdefz", 16);
	serial_destroy(&t.s);
}
END_TEST

START_TEST(test_not_raw_passes_ctrl_a_through)
{
	struct term t;
	bool quit = true;

	term_init(&t, false);
	ck_assert_uint_eq(feed(&t, CTRL_A "x", 2, &quit), 2);
	ck_assert(!quit);
	assert_fifo(&t, CTRL_A "x", 2);
	serial_destroy(&t.s);
}
END_TEST

/*
 * Once the console is open, a reader of the guest's output that went away
 * (ember run ... | head) does not end Ember: a write gets EPIPE, no SIGPIPE.
 */
START_TEST(test_open_console_survives_a_closed_reader)
{
	struct irq_line nowhere = { .vm_fd = -1 };
	struct console c;
	struct serial s;
	uint8_t v = 'x';
	int p[2];

	ck_assert_int_eq(console_open(&c, -1), 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(serial_init(&s, nowhere, p[1], -1), 0);
	close(p[0]);
	serial_ops.write(&s, 0, &v, 1); /* killed by SIGPIPE here before the fix */
	ck_assert_int_eq(write(p[1], &v, 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	serial_destroy(&s);
	close(p[1]);
	console_close(&c);
}
END_TEST

/* An extra poll source (the API socket's place): a pipe whose bytes are counted; 's' asks for a stop. */
struct extra {
	int pipe[2], stop_fd, fills, bytes;
};

static unsigned int extra_fill(void *ctx, struct pollfd *pfd, unsigned int max)
{
	struct extra *x = ctx;

	ck_assert_uint_eq(max, CONSOLE_EXTRA_MAX);
	x->fills++;
	pfd[0] = (struct pollfd){ .fd = x->pipe[0], .events = POLLIN };
	return 1;
}

static void extra_ready(void *ctx, const struct pollfd *pfd, unsigned int n)
{
	struct extra *x = ctx;
	uint64_t one = 1;
	char c;

	ck_assert_uint_eq(n, 1);
	if (!(pfd[0].revents & POLLIN))
		return;
	ck_assert_int_eq(read(x->pipe[0], &c, 1), 1);
	x->bytes++;
	if (c == 's')
		ck_assert_int_eq(write(x->stop_fd, &one, sizeof(one)), sizeof(one));
}

START_TEST(test_loop_serves_extra_source)
{
	struct extra x = { .stop_fd = eventfd(0, EFD_NONBLOCK) };
	struct console_source src = { .fill = extra_fill, .ready = extra_ready, .ctx = &x };
	int status = 42;
	struct console_vm vm = { .stop_fd = x.stop_fd, .exit_status = &status, .rx_space_fd = -1,
				 .extra = &src };
	struct term t;

	term_init(&t, false);
	vm.uart = serial_uart(&t.s);
	ck_assert_int_eq(pipe(x.pipe), 0);
	ck_assert_int_eq(write(x.pipe[1], "abs", 3), 3);
	ck_assert_int_eq(console_loop(&t.c, &vm), 42);
	ck_assert_int_eq(x.bytes, 3);
	ck_assert_int_ge(x.fills, 4);
	serial_destroy(&t.s);
	close(x.pipe[0]);
	close(x.pipe[1]);
	close(x.stop_fd);
}
END_TEST

Suite *console_suite(void)
{
	Suite *s = suite_create("console");
	TCase *feed_tc = tcase_create("feed");

	tcase_add_test(feed_tc, test_plain_bytes_reach_fifo);
	tcase_add_test(feed_tc, test_ctrl_a_x_quits);
	tcase_add_test(feed_tc, test_ctrl_a_x_stops_mid_buffer);
	tcase_add_test(feed_tc, test_ctrl_a_ctrl_a_sends_one_ctrl_a);
	tcase_add_test(feed_tc, test_ctrl_a_other_key_sends_that_key);
	tcase_add_test(feed_tc, test_escape_split_across_calls);
	tcase_add_test(feed_tc, test_split_ctrl_a_ctrl_a_sends_one);
	tcase_add_test(feed_tc, test_stops_when_fifo_full);
	tcase_add_test(feed_tc, test_escape_kept_while_fifo_full);
	tcase_add_test(feed_tc, test_not_raw_passes_ctrl_a_through);
	tcase_add_test(feed_tc, test_open_console_survives_a_closed_reader);
	tcase_add_test(feed_tc, test_loop_serves_extra_source);
	suite_add_tcase(s, feed_tc);
	return s;
}
