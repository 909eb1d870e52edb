#include "devices/pl011.h"

#include <errno.h>
#include <string.h>

/* Register offsets and bits, as in the PL011 Technical Reference Manual (ARM DDI 0183). */
#define REG_DR 0x000
#define REG_RSR_ECR 0x004
#define REG_FR 0x018
#define REG_ILPR 0x020
#define REG_IBRD 0x024
#define REG_FBRD 0x028
#define REG_LCR_H 0x02c
#define REG_CR 0x030
#define REG_IFLS 0x034
#define REG_IMSC 0x038
#define REG_RIS 0x03c
#define REG_MIS 0x040
#define REG_ICR 0x044
#define REG_DMACR 0x048
#define REG_ID 0xfe0 /* PeriphID0-3, PCellID0-3: one byte per word up to 0xffc */

#define DR_OE 0x800 /* overrun; FE, PE, BE (0x100-0x400) never arise here */
#define RSR_OE 0x8
#define RSR_MASK 0xf

#define FR_CTS 0x001
#define FR_DSR 0x002
#define FR_DCD 0x004
#define FR_RXFE 0x010
#define FR_RXFF 0x040
#define FR_TXFE 0x080
#define FR_RI 0x100

#define LCR_H_FEN 0x10

#define CR_LBE 0x0080
#define CR_DTR 0x0400
#define CR_RTS 0x0800
#define CR_OUT1 0x1000
#define CR_OUT2 0x2000
#define CR_MASK 0xff87 /* bits 6:3 are reserved */
#define CR_RESET 0x0300 /* TXE, RXE */

#define IFLS_RESET 0x12 /* both levels at half the FIFO */
#define IFLS_MASK 0x3f

#define INT_RX 0x010
#define INT_TX 0x020
#define INT_RT 0x040
#define INT_OE 0x400
#define INT_MASK 0x7ff

#define DMACR_MASK 0x7

static const uint8_t id_bytes[8] = { 0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

/* Drive the interrupt line from the register state; only changes reach KVM. */
static void update_irq_locked(struct pl011 *u)
{
	int level = (u->ris & u->imsc) != 0;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set(&u->irq, level);
	}
}

/* The receive FIFO's depth: one holding register when the FIFOs are off. */
static unsigned int rx_depth(const struct pl011 *u)
{
	return (u->lcr_h & LCR_H_FEN) ? PL011_FIFO : 1;
}

/* Characters at which RXRIS rises: 1/8, 1/4, 1/2, 3/4 or 7/8 of the FIFO (IFLS bits 5:3). */
static unsigned int rx_level(const struct pl011 *u)
{
	static const unsigned int eighths[] = { 1, 2, 4, 6, 7 };
	unsigned int sel = (u->ifls >> 3) & 7;

	if (!(u->lcr_h & LCR_H_FEN))
		return 1;
	return PL011_FIFO * eighths[sel < 4 ? sel : 4] / 8; /* reserved values: the highest */
}

static void rx_push_locked(struct pl011 *u, uint8_t c)
{
	if (u->rx_count >= rx_depth(u)) {
		u->rx_overrun = true;
		u->rsr |= RSR_OE;
		u->ris |= INT_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % PL011_FIFO] = (uint16_t)(c | (u->rx_overrun ? DR_OE : 0));
	u->rx_overrun = false;
	u->rx_count++;
	if (u->rx_count == rx_level(u))
		u->ris |= INT_RX;
	u->ris |= INT_RT; /* the receive timeout, taken to run out at once */
}

/* Empty the receive FIFO; tell the input loop there is room. */
static void rx_clear_locked(struct pl011 *u)
{
	bool had = u->rx_count != 0;

	u->rx_head = u->rx_count = 0;
	u->ris &= (uint16_t)~(INT_RX | INT_RT);
	if (had)
		uart_tx_notify(&u->tx);
}

static uint16_t rx_pop_locked(struct pl011 *u)
{
	uint16_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % PL011_FIFO;
	u->rx_count--;
	if (u->rx_count < rx_level(u))
		u->ris &= (uint16_t)~INT_RX;
	if (!u->rx_count) {
		u->ris &= (uint16_t)~INT_RT;
		uart_tx_notify(&u->tx); /* the input loop may be waiting for room */
	}
	u->rsr = (uint16_t)((u->rsr & RSR_OE) | ((c >> 8) & (RSR_MASK & ~RSR_OE)));
	return c;
}

/* Modem inputs: connected (CTS, DSR, DCD), or the outputs fed back in loopback. */
static uint32_t modem_flags(const struct pl011 *u)
{
	if (!(u->cr & CR_LBE))
		return FR_CTS | FR_DSR | FR_DCD;
	return ((u->cr & CR_RTS) ? FR_CTS : 0) | ((u->cr & CR_DTR) ? FR_DSR : 0) |
	       ((u->cr & CR_OUT1) ? FR_DCD : 0) | ((u->cr & CR_OUT2) ? FR_RI : 0);
}

static uint32_t flags_locked(const struct pl011 *u)
{
	return FR_TXFE | modem_flags(u) | (u->rx_count ? 0 : FR_RXFE) |
	       (u->rx_count >= rx_depth(u) ? FR_RXFF : 0);
}

static uint32_t read_reg(struct pl011 *u, uint64_t off)
{
	switch (off) {
	case REG_DR:
		return rx_pop_locked(u);
	case REG_RSR_ECR:
		return u->rsr;
	case REG_FR:
		return flags_locked(u);
	case REG_ILPR:
		return u->ilpr;
	case REG_IBRD:
		return u->ibrd;
	case REG_FBRD:
		return u->fbrd;
	case REG_LCR_H:
		return u->lcr_h;
	case REG_CR:
		return u->cr;
	case REG_IFLS:
		return u->ifls;
	case REG_IMSC:
		return u->imsc;
	case REG_RIS:
		return u->ris;
	case REG_MIS:
		return u->ris & u->imsc;
	case REG_DMACR:
		return u->dmacr;
	}
	if (off >= REG_ID && off < PL011_SIZE)
		return id_bytes[(off - REG_ID) / 4];
	return 0; /* ICR (write-only), reserved and test registers */
}

static void transmit_locked(struct pl011 *u, uint8_t c)
{
	if (u->cr & CR_LBE)
		rx_push_locked(u, c);
	else
		uart_tx_put(&u->tx, c);
	u->ris |= INT_TX; /* gone at once: the transmit FIFO is below its level again */
}

static void write_reg(struct pl011 *u, uint64_t off, uint32_t v)
{
	switch (off) {
	case REG_DR:
		transmit_locked(u, (uint8_t)v);
		break;
	case REG_RSR_ECR: /* any write clears the errors */
		u->rsr = 0;
		break;
	case REG_ILPR:
		u->ilpr = (uint8_t)v;
		break;
	case REG_IBRD:
		u->ibrd = (uint16_t)v;
		break;
	case REG_FBRD:
		u->fbrd = v & 0x3f;
		break;
	case REG_LCR_H:
		if ((u->lcr_h ^ v) & LCR_H_FEN)
			rx_clear_locked(u); /* the FIFOs flush when they are turned on or off */
		u->lcr_h = (uint8_t)v;
		break;
	case REG_CR:
		u->cr = v & CR_MASK;
		break;
	case REG_IFLS:
		u->ifls = v & IFLS_MASK;
		break;
	case REG_IMSC:
		u->imsc = v & INT_MASK;
		break;
	case REG_ICR:
		u->ris &= (uint16_t)~(v & INT_MASK);
		break;
	case REG_DMACR:
		u->dmacr = v & DMACR_MASK;
		break;
	default: /* FR, RIS, MIS, the identification registers: read-only */
		break;
	}
}

/* 1, 2 or 4 bytes at the start of a register in the window. */
static bool access_ok(uint64_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && !(off & 3) && off < PL011_SIZE;
}

static void pl011_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct pl011 *u = ctx;
	uint32_t v;

	memset(data, 0, len);
	if (!access_ok(off, len))
		return;
	pthread_mutex_lock(&u->lock);
	v = read_reg(u, off);
	update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
	memcpy(data, &v, len); /* little-endian host: the register's low bytes */
}

static void pl011_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct pl011 *u = ctx;
	uint32_t v = 0;

	if (!access_ok(off, len))
		return;
	memcpy(&v, data, len);
	pthread_mutex_lock(&u->lock);
	write_reg(u, off, v);
	update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
}

const struct bus_ops pl011_ops = { .read = pl011_read, .write = pl011_write };

static void reset_regs(struct pl011 *u)
{
	u->cr = CR_RESET;
	u->ifls = IFLS_RESET;
}

int pl011_init(struct pl011 *u, struct irq_line irq, int out_fd, int space_fd)
{
	memset(u, 0, sizeof(*u));
	u->irq = irq;
	reset_regs(u);
	uart_tx_init(&u->tx, out_fd, space_fd);
	if (pthread_mutex_init(&u->lock, NULL)) {
		uart_tx_destroy(&u->tx);
		return -ENOMEM;
	}
	return 0;
}

void pl011_destroy(struct pl011 *u)
{
	uart_tx_destroy(&u->tx);
	pthread_mutex_destroy(&u->lock);
}

size_t pl011_rx(struct pl011 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	while (n < len && u->rx_count < rx_depth(u))
		rx_push_locked(u, buf[n++]);
	update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t pl011_rx_space(struct pl011 *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = rx_depth(u) - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t pl011_tx_pending(struct pl011 *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = u->tx.len;
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t pl011_flush(struct pl011 *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = uart_tx_flush(&u->tx);
	pthread_mutex_unlock(&u->lock);
	return n;
}

void pl011_save(struct pl011 *u, struct pl011_state *st)
{
	pthread_mutex_lock(&u->lock);
	*st = (struct pl011_state){
		.rsr = u->rsr, .ris = u->ris, .imsc = u->imsc, .ibrd = u->ibrd, .cr = u->cr,
		.dmacr = u->dmacr, .ilpr = u->ilpr, .fbrd = u->fbrd, .lcr_h = u->lcr_h,
		.ifls = u->ifls, .rx_head = (uint8_t)u->rx_head, .rx_count = (uint8_t)u->rx_count,
		.rx_overrun = u->rx_overrun,
	};
	memcpy(st->rx, u->rx, sizeof(st->rx));
	pthread_mutex_unlock(&u->lock);
}

int pl011_load(struct pl011 *u, const struct pl011_state *st)
{
	unsigned int depth = (st->lcr_h & LCR_H_FEN) ? PL011_FIFO : 1;

	if (st->rx_head >= PL011_FIFO || st->rx_count > depth || st->rx_overrun > 1)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	/* Only bits the device itself keeps: the masks a guest's writes go through. */
	for (unsigned int i = 0; i < PL011_FIFO; i++)
		u->rx[i] = st->rx[i] & (DR_OE | 0xff);
	u->rx_head = st->rx_head;
	u->rx_count = st->rx_count;
	u->rx_overrun = st->rx_overrun;
	u->rsr = st->rsr & RSR_MASK;
	u->ris = st->ris & INT_MASK;
	u->imsc = st->imsc & INT_MASK;
	u->ibrd = st->ibrd;
	u->cr = st->cr & CR_MASK;
	u->dmacr = st->dmacr & DMACR_MASK;
	u->ilpr = st->ilpr;
	u->fbrd = st->fbrd & 0x3f;
	u->lcr_h = st->lcr_h;
	u->ifls = st->ifls & IFLS_MASK;
	u->irq_level = -1; /* unknown: update_irq_locked() drives the line either way */
	update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static size_t ops_rx(void *dev, const uint8_t *buf, size_t len)
{
	return pl011_rx(dev, buf, len);
}

static size_t ops_rx_space(void *dev)
{
	return pl011_rx_space(dev);
}

static size_t ops_tx_pending(void *dev)
{
	return pl011_tx_pending(dev);
}

static size_t ops_flush(void *dev)
{
	return pl011_flush(dev);
}

static const struct uart_ops pl011_uart_ops = {
	.rx = ops_rx, .rx_space = ops_rx_space, .tx_pending = ops_tx_pending, .flush = ops_flush,
};

struct uart pl011_uart(struct pl011 *u)
{
	return (struct uart){ .ops = &pl011_uart_ops, .dev = u, .out_fd = u->tx.out_fd };
}
