#pragma once
/*
 * An ARM PrimeCell PL011 UART (ARM DDI 0183), as Linux's amba-pl011
 * driver and its earlycon (`earlycon=pl011,ADDR`) drive it, on the MMIO
 * bus (pl011_ops, a 4 KiB window): data and receive status, flags, baud
 * divisors, line and control registers, interrupt FIFO levels, mask, raw
 * and masked status and clear, DMA control (kept, never used), and the
 * PrimeCell identification registers the AMBA bus matches the driver by
 * (peripheral 0x00141011: part 0x011, designer ARM, revision 1, which
 * Linux's table matches as 0x00041011 under mask 0x000fffff; cell
 * 0xb105f00d).
 *
 * The same interface as the 8250 model (devices/serial.h), so that the VM
 * picks one or the other: output to an fd that never blocks the guest
 * (devices/uart_tx.h), host input queued with pl011_rx(), one level
 * interrupt line, pl011_save()/pl011_load() for snapshots.
 *
 * Transmission is immediate: the transmit FIFO always reads empty (TXFE,
 * never TXFF or BUSY), and each byte written to DR raises the transmit
 * interrupt (TXRIS: the FIFO fell below its level), which ICR clears. The
 * receive FIFO holds PL011_FIFO characters (one when LCR_H.FEN is clear);
 * RXRIS rises when it reaches the IFLS level and clears when reads take it
 * below; the receive timeout (RTRIS) is taken to have run out as soon as a
 * character waits, and clears when the FIFO empties. ICR clears either.
 * The line is high while RIS & IMSC is non-zero. Loopback (CR.LBE) sends
 * transmitted bytes to the receive FIFO (an overrun sets OE) and the
 * modem outputs to the inputs in FR. Not modelled: the enable bits (data
 * moves whatever CR says, as firmware would have enabled the UART for
 * earlycon), baud rates, break, parity and framing errors, modem status
 * interrupts, DMA.
 *
 * Accesses: 1, 2 or 4 bytes at a register's offset; narrower reads give
 * the register's low bytes, narrower writes the value zero-extended. Any
 * other access (8 bytes, not at a register's start, a reserved offset)
 * reads 0 and writes nothing.
 *
 * Locking: `lock` guards all registers and the output buffer. It is a leaf
 * lock: nothing else is taken while it is held except the irqchip ioctl and
 * non-blocking writes.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/uart.h"
#include "devices/uart_tx.h"
#include "vmm/bus.h"
#include "vmm/irq.h"

#define PL011_SIZE 0x1000 /* the MMIO window */
#define PL011_FIFO 32	  /* receive FIFO entries (LCR_H.FEN set) */

struct pl011 {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct uart_tx tx;
	/* Receive FIFO: the character in bits 7:0, its error bits (as DR reads them) in 11:8. */
	uint16_t rx[PL011_FIFO];
	unsigned int rx_head, rx_count;
	bool rx_overrun; /* a character was lost: the next one stored carries OE */
	uint16_t rsr;	 /* receive status: FE, PE, BE of the last character read; OE */
	uint16_t ris;	 /* raw interrupt status */
	uint16_t imsc, ibrd, cr, dmacr;
	uint8_t ilpr, fbrd, lcr_h, ifls;
	int irq_level;
};

extern const struct bus_ops pl011_ops; /* ctx: struct pl011 *, offsets within PL011_SIZE */

/*
 * Initialise; `out_fd` and `space_fd` are borrowed, not closed (a pipe,
 * terminal or socket out_fd is reopened non-blocking where /proc allows).
 * space_fd (an eventfd, or -1) is written when the receive FIFO drains or
 * output starts waiting for the fd. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int pl011_init(struct pl011 *u, struct irq_line irq,
						   int out_fd, int space_fd);
void pl011_destroy(struct pl011 *u);

/* Queue host input for the guest. Returns bytes accepted (0 when the FIFO is full). */
size_t pl011_rx(struct pl011 *u, const uint8_t *buf, size_t len);

/* Room left in the receive FIFO (its depth depends on LCR_H.FEN). */
size_t pl011_rx_space(struct pl011 *u);

/* Bytes of output waiting for the fd to take them. */
size_t pl011_tx_pending(struct pl011 *u);

/* Write what waits, as much as the fd takes now; returns what still waits. Never blocks. */
size_t pl011_flush(struct pl011 *u);

/* The registers and receive FIFO, as a snapshot keeps them (output waiting in tx is flushed, not kept). */
struct pl011_state {
	uint16_t rx[PL011_FIFO];
	uint16_t rsr, ris, imsc, ibrd, cr, dmacr;
	uint8_t ilpr, fbrd, lcr_h, ifls;
	uint8_t rx_head, rx_count, rx_overrun;
	uint8_t reserved[5];
};

void pl011_save(struct pl011 *u, struct pl011_state *st);

/*
 * Take the registers of a snapshot (untrusted: a FIFO index or count out of
 * range for its FEN setting, or a flag not 0 or 1, is -EINVAL; other
 * fields keep only the bits a guest can write) and drive the interrupt line
 * to match. Before the vCPUs run.
 */
__attribute__((warn_unused_result)) int pl011_load(struct pl011 *u,
						   const struct pl011_state *st);

/* The console's view of this UART (devices/uart.h). */
struct uart pl011_uart(struct pl011 *u);
