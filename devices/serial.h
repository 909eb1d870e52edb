#pragma once
/*
 * A 16550A UART: the registers Linux's 8250 driver uses, 16-byte receive
 * FIFO, interrupts for received data, transmitter empty, line and modem
 * status. Transmitted bytes go to an output fd without ever blocking: a
 * pipe or terminal is written through a non-blocking descriptor of its
 * own; what it cannot take waits in a buffer (UART_TX_BUF) that the main
 * loop flushes when the fd is writable again, and what does not fit there,
 * or what a reader that went away would have got, is dropped. So a stalled
 * or closed stdout never holds a vCPU, the serial lock, or the main loop.
 *
 * Locking: `lock` guards all registers. It is a leaf lock: nothing else is
 * taken while it is held except the irqchip ioctl and non-blocking writes.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/uart.h"
#include "devices/uart_tx.h"
#include "vmm/bus.h"
#include "vmm/irq.h"

#define SERIAL_FIFO 16

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	/* Output, never blocking (devices/uart_tx.h); its space_fd is also written
	 * when the RX FIFO drains, for the main loop's input. */
	struct uart_tx tx;
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_ipending; /* transmitter-empty interrupt pending */
	int irq_level;
	uint8_t rx[SERIAL_FIFO];
	unsigned int rx_head, rx_count;
};

extern const struct bus_ops serial_ops;

/* The registers and receive FIFO, as a snapshot keeps them (output waiting in tx is flushed, not kept). */
struct serial_state {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t thr_ipending, rx_head, rx_count;
	uint8_t rx[SERIAL_FIFO];
	uint8_t reserved[4];
};

void serial_save(struct serial *s, struct serial_state *st);

/*
 * Take the registers of a snapshot (untrusted: a FIFO index or count out of
 * range is -EINVAL) and drive the interrupt line to match. Before the vCPUs
 * run.
 */
__attribute__((warn_unused_result)) int serial_load(struct serial *s,
						    const struct serial_state *st);

/*
 * Initialise; `out_fd` and `space_fd` are borrowed, not closed (a pipe,
 * terminal or socket out_fd is reopened non-blocking where /proc allows).
 * Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int serial_init(struct serial *s, struct irq_line irq,
						    int out_fd, int space_fd);
void serial_destroy(struct serial *s);

/* Queue host input for the guest. Returns bytes accepted (0 when the FIFO is full). */
size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len);

/* Room left in the receive FIFO. */
size_t serial_rx_space(struct serial *s);

/* Bytes of output waiting for the fd to take them. */
size_t serial_tx_pending(struct serial *s);

/* Write what waits, as much as the fd takes now; returns what still waits. Never blocks. */
size_t serial_flush(struct serial *s);

/* The console's view of this UART (devices/uart.h). */
struct uart serial_uart(struct serial *s);
