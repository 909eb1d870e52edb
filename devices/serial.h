#pragma once
/*
 * A 16550A UART: the registers Linux's 8250 driver uses, 16-byte receive
 * FIFO, interrupts for received data, transmitter empty, line and modem
 * status. Transmitted bytes go straight to an output fd.
 *
 * Locking: `lock` guards all registers. It is a leaf lock: nothing else is
 * taken while it is held except the irqchip ioctl and the output write.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define SERIAL_FIFO 16

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	int out_fd;   /* -1: discard output */
	int space_fd; /* eventfd written when the RX FIFO drains; -1: none */
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_ipending; /* transmitter-empty interrupt pending */
	int irq_level;
	uint8_t rx[SERIAL_FIFO];
	unsigned int rx_head, rx_count;
};

extern const struct bus_ops serial_ops;

/* Initialise; `out_fd` and `space_fd` are borrowed, not closed. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int serial_init(struct serial *s, struct irq_line irq,
						    int out_fd, int space_fd);
void serial_destroy(struct serial *s);

/* Queue host input for the guest. Returns bytes accepted (0 when the FIFO is full). */
size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len);

/* Room left in the receive FIFO. */
size_t serial_rx_space(struct serial *s);
