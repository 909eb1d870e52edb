#pragma once
/*
 * A UART's output side: bytes the guest transmits go to an output fd
 * without ever blocking. A pipe or terminal is written through a
 * non-blocking descriptor of its own; what it cannot take waits in a buffer
 * (UART_TX_BUF) that the main loop flushes when the fd is writable again,
 * and what does not fit there, or what a reader that went away would have
 * got, is dropped. So a stalled or closed stdout never holds a vCPU, the
 * UART's lock, or the main loop. Used by both UART models, the 8250
 * (devices/serial.c) and the PL011 (devices/pl011.c).
 *
 * Locking: none of its own; the owning UART's lock is held around every
 * call but init and destroy.
 */
#include <stddef.h>
#include <stdint.h>

#define UART_TX_BUF 65536

struct uart_tx {
	int out_fd;  /* -1: discard output */
	int out_own; /* out_fd when it is a non-blocking descriptor of our own, else -1 */
	/* eventfd written when the main loop should look again (here: output
	 * waits in buf; the UART also writes it when its receive FIFO drains); -1: none */
	int space_fd;
	/*
	 * Output the fd could not take yet: UART_TX_BUF bytes, allocated the
	 * first time output has to wait (most runs never need it); NULL before.
	 */
	uint8_t *buf;
	size_t head, len;
	uint64_t dropped; /* bytes dropped: buffer full, or the reader went away */
};

/*
 * Set up; `out_fd` and `space_fd` are borrowed, not closed (a pipe,
 * terminal or socket out_fd is reopened non-blocking where /proc allows).
 */
void uart_tx_init(struct uart_tx *t, int out_fd, int space_fd);
void uart_tx_destroy(struct uart_tx *t);

/* Send one byte: written now, buffered, or dropped. Never blocks. */
void uart_tx_put(struct uart_tx *t, uint8_t c);

/* Write what waits, as much as the fd takes now; returns what still waits. Never blocks. */
size_t uart_tx_flush(struct uart_tx *t);

/* Write space_fd (if any): the main loop should look at the UART again. */
void uart_tx_notify(const struct uart_tx *t);
