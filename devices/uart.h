#pragma once
/*
 * What the console (vmm/console.c) needs of the guest's UART, whichever
 * model the architecture has: the 16550A on x86 (devices/serial.c), the
 * PL011 on arm64 (devices/pl011.c). Each model fills these four calls in;
 * the console's loop never knows which one it serves.
 */
#include <stddef.h>
#include <stdint.h>

#define UART_RX_MAX 32 /* the deepest receive FIFO of the models */

struct uart_ops {
	size_t (*rx)(void *dev, const uint8_t *buf, size_t len); /* queue input; bytes taken */
	size_t (*rx_space)(void *dev);	 /* room left in the receive FIFO */
	size_t (*tx_pending)(void *dev); /* output waiting for the fd */
	size_t (*flush)(void *dev);	 /* write what waits, never blocking; what still waits */
};

struct uart {
	const struct uart_ops *ops;
	void *dev;
	int out_fd; /* where output goes (polled for POLLOUT while output waits) */
};
