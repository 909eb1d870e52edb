/*
 * The UART's output when its reader stalls or goes away (ember run ... |
 * head, a terminal stopped with Ctrl-S, a CI log reader that fell behind):
 * a transmit never blocks the vCPU that wrote THR, nor anyone waiting for
 * the serial lock; what the fd cannot take waits in a buffer the main loop
 * flushes, and the rest is dropped. SIGPIPE: test_console.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "devices/serial.h"
#include "tests/unit/suites.h"

#define THR 0
#define TOTAL (256u << 10) /* four times a pipe's buffer */

struct writer {
	struct serial *s;
	int done; /* atomic */
};

/* A vCPU printing: TOTAL bytes written to THR. */
static void *guest_prints(void *arg)
{
	struct writer *w = arg;

	for (unsigned int i = 0; i < TOTAL; i++) {
		uint8_t c = (uint8_t)('a' + i % 26);

		serial_ops.write(w->s, THR, &c, 1);
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Wait up to `ms` for the writer to finish. */
static bool finished(struct writer *w, unsigned int ms)
{
	for (unsigned int i = 0; i < ms && !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

/* stdout as Ember gets it: a blocking pipe, whose reader does not read. */
START_TEST(test_stalled_reader_blocks_nothing)
{
	struct irq_line nowhere = { .vm_fd = -1, .gsi = 4 };
	struct writer w = { 0 };
	struct serial s;
	pthread_t th;
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(serial_init(&s, nowhere, p[1], -1), 0);
	w.s = &s;
	ck_assert_int_eq(pthread_create(&th, NULL, guest_prints, &w), 0);
	if (!finished(&w, 3000)) {
		/* Let the writer out before failing: read what it is blocked on. */
		ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
		while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE))
			if (read(p[0], buf, sizeof(buf)) <= 0)
				usleep(100);
		pthread_join(th, NULL);
		ck_abort_msg("a transmit blocked on the stalled reader");
	}
	pthread_join(th, NULL);
	/* The serial lock is free: the main loop can serve input meanwhile. */
	ck_assert_uint_eq(serial_rx_space(&s), SERIAL_FIFO);
	ck_assert_uint_eq(serial_tx_pending(&s), UART_TX_BUF);
	ck_assert_uint_gt(s.tx.dropped, 0);
	/* The reader comes back: the pipe's bytes, then the buffer as the loop flushes it. */
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 1000 && (serial_flush(&s) || got < TOTAL - s.tx.dropped); i++) {
		while ((n = read(p[0], buf, sizeof(buf))) > 0) {
			for (ssize_t k = 0; k < n; k++)
				ck_assert(buf[k] >= 'a' && buf[k] <= 'z');
			got += (size_t)n;
		}
	}
	ck_assert_uint_eq(serial_tx_pending(&s), 0);
	ck_assert_uint_eq(got + s.tx.dropped, TOTAL);
	ck_assert_uint_ge(got, UART_TX_BUF + 4096); /* at least the buffer and a page of pipe */
	serial_destroy(&s);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The reader went away (SIGPIPE ignored, as console_open() does): output is dropped. */
START_TEST(test_reader_gone_output_dropped)
{
	struct irq_line nowhere = { .vm_fd = -1, .gsi = 4 };
	struct writer w = { 0 };
	struct serial s;
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(serial_init(&s, nowhere, p[1], -1), 0);
	close(p[0]);
	w.s = &s;
	guest_prints(&w);
	ck_assert_uint_eq(s.tx.dropped, TOTAL);
	ck_assert_uint_eq(serial_tx_pending(&s), 0);
	serial_destroy(&s);
	close(p[1]);
}
END_TEST

void serial_out_tcases(Suite *s)
{
	TCase *tc = tcase_create("output");

	tcase_add_test(tc, test_stalled_reader_blocks_nothing);
	tcase_add_test(tc, test_reader_gone_output_dropped);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
}
