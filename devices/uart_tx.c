#include "devices/uart_tx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A non-blocking descriptor of our own for a pipe, terminal or socket (a
 * regular file never blocks), so as not to change the flags of one shared
 * with the shell. -1 where /proc cannot reopen it (a socket): then out_fd is
 * used as it is.
 */
static int reopen_nonblocking(int fd)
{
	char path[32];
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || S_ISREG(st.st_mode))
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

void uart_tx_init(struct uart_tx *t, int out_fd, int space_fd)
{
	t->out_own = reopen_nonblocking(out_fd);
	t->out_fd = t->out_own >= 0 ? t->out_own : out_fd;
	t->space_fd = space_fd;
	t->buf = NULL;
	t->head = t->len = 0;
	t->dropped = 0;
}

void uart_tx_destroy(struct uart_tx *t)
{
	if (t->out_own >= 0)
		close(t->out_own);
	t->out_own = -1;
	free(t->buf);
	t->buf = NULL;
}

/* A lost wake-up only delays the main loop's next look. */
void uart_tx_notify(const struct uart_tx *t)
{
	uint64_t one = 1;

	if (t->space_fd >= 0 && write(t->space_fd, &one, sizeof(one)) < 0) {
	}
}

/* A write the fd refused: full (try later) or gone (drop, as the guest must go on). */
static bool out_full(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

size_t uart_tx_flush(struct uart_tx *t)
{
	while (t->len) {
		size_t n = t->head + t->len <= UART_TX_BUF ? t->len : UART_TX_BUF - t->head;
		ssize_t w = write(t->out_fd, t->buf + t->head, n);

		if (w <= 0) {
			if (w < 0 && out_full())
				return t->len;
			t->dropped += t->len; /* the reader went away */
			t->head = t->len = 0;
			return 0;
		}
		t->head = (t->head + (size_t)w) % UART_TX_BUF;
		t->len -= (size_t)w;
	}
	t->head = 0;
	return 0;
}

void uart_tx_put(struct uart_tx *t, uint8_t c)
{
	if (t->out_fd < 0)
		return;
	if (!t->len) {
		ssize_t w = write(t->out_fd, &c, 1);

		if (w == 1)
			return;
		if (w == 0 || !out_full()) {
			t->dropped++; /* the host side closed its end: the guest goes on */
			return;
		}
	}
	if (!t->buf)
		t->buf = malloc(UART_TX_BUF);
	if (!t->buf || t->len == UART_TX_BUF) {
		t->dropped++;
		return;
	}
	t->buf[(t->head + t->len) % UART_TX_BUF] = c;
	if (t->len++ == 0)
		uart_tx_notify(t); /* the main loop waits for the fd to be writable */
}
