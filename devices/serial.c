#include "devices/serial.h"

#include <errno.h>
#include <string.h>

/* Register offsets and bits, as in the 16550A data sheet. */
#define REG_RBR_THR 0
#define REG_IER 1
#define REG_IIR_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08

#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_ERRORS 0x1e
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_DCD 0x80

static uint8_t iir_locked(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RLSI) && (s->lsr & LSR_ERRORS))
		return fifo | IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
		return fifo | IIR_MSI;
	return fifo | IIR_NONE;
}

/* Drive the interrupt line from the register state; only changes reach KVM. */
static void update_irq_locked(struct serial *s)
{
	int level = !(iir_locked(s) & IIR_NONE);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_set(&s->irq, level);
	}
}

static void rx_push_locked(struct serial *s, uint8_t c)
{
	if (s->rx_count == SERIAL_FIFO) {
		s->lsr |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO] = c;
	s->rx_count++;
}

/* Tell the input loop there is room again; a lost wake-up only delays input. */
static void notify_space_locked(struct serial *s)
{
	uart_tx_notify(&s->tx);
}

static uint8_t rx_pop_locked(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO;
	s->rx_count--;
	if (!s->rx_count)
		notify_space_locked(s);
	return c;
}

static uint8_t msr_locked(const struct serial *s)
{
	if (s->mcr & MCR_LOOP) {
		/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
		return (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) |
				 ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
	}
	return s->msr;
}

static uint8_t read_reg(struct serial *s, uint64_t off)
{
	uint8_t v = 0;

	switch (off) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		return rx_pop_locked(s);
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR_FCR:
		v = iir_locked(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = false; /* reading IIR acknowledges THRE */
		return v;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = s->lsr | LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
		s->lsr &= (uint8_t)~LSR_ERRORS; /* errors clear on read */
		return v;
	case REG_MSR:
		v = msr_locked(s);
		s->msr &= (uint8_t)~MSR_DELTAS;
		return v;
	case REG_SCR:
		return s->scr;
	}
	return 0xff;
}

static void transmit_locked(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP)
		rx_push_locked(s, c);
	else
		uart_tx_put(&s->tx, c); /* written now, buffered or dropped: never blocks */
	s->thr_ipending = true; /* transmitted at once, so the holding register is empty */
}

static void write_reg(struct serial *s, uint64_t off, uint8_t v)
{
	switch (off) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			transmit_locked(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling THRE interrupts while the holding register is empty raises one. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thr_ipending = true;
			s->ier = v & 0x0f;
		}
		break;
	case REG_IIR_FCR:
		s->fcr = v & (FCR_ENABLE | 0xc0);
		if ((v & FCR_CLEAR_RX) && s->rx_count) {
			s->rx_head = s->rx_count = 0;
			notify_space_locked(s); /* the input loop may be waiting for room */
		}
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & 0x1f;
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static void serial_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct serial *s = ctx;

	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	*(uint8_t *)data = read_reg(s, off);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct serial *s = ctx;

	(void)len; /* wider accesses write their low byte, as on an ISA bus */
	pthread_mutex_lock(&s->lock);
	write_reg(s, off, *(const uint8_t *)data);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_ops = { .read = serial_read, .write = serial_write };

int serial_init(struct serial *s, struct irq_line irq, int out_fd, int space_fd)
{
	memset(s, 0, sizeof(*s));
	s->irq = irq;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->mcr = 0x08; /* OUT2 */
	s->dll = 0x0c; /* 9600 baud, as after a PC BIOS */
	if (pthread_mutex_init(&s->lock, NULL))
		return -ENOMEM;
	uart_tx_init(&s->tx, out_fd, space_fd);
	return 0;
}

void serial_destroy(struct serial *s)
{
	uart_tx_destroy(&s->tx);
	pthread_mutex_destroy(&s->lock);
}

size_t serial_tx_pending(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->tx.len;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_flush(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = uart_tx_flush(&s->tx);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < SERIAL_FIFO)
		rx_push_locked(s, buf[n++]);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_save(struct serial *s, struct serial_state *st)
{
	pthread_mutex_lock(&s->lock);
	*st = (struct serial_state){
		.ier = s->ier, .lcr = s->lcr, .mcr = s->mcr, .lsr = s->lsr, .msr = s->msr,
		.scr = s->scr, .dll = s->dll, .dlm = s->dlm, .fcr = s->fcr,
		.thr_ipending = s->thr_ipending, .rx_head = (uint8_t)s->rx_head,
		.rx_count = (uint8_t)s->rx_count,
	};
	memcpy(st->rx, s->rx, sizeof(st->rx));
	pthread_mutex_unlock(&s->lock);
}

int serial_load(struct serial *s, const struct serial_state *st)
{
	if (st->rx_head >= SERIAL_FIFO || st->rx_count > SERIAL_FIFO || st->thr_ipending > 1)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	/*
	 * Only bits the device itself keeps: the guest's writes mask IER, MCR
	 * and FCR so, and LSR holds error bits only (DR, THRE and TEMT are
	 * computed when read; a stored DR would report data an empty FIFO
	 * does not have, forever).
	 */
	s->ier = st->ier & 0x0f;
	s->lcr = st->lcr;
	s->mcr = st->mcr & 0x1f;
	s->lsr = st->lsr & LSR_ERRORS;
	s->msr = st->msr;
	s->scr = st->scr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->fcr = st->fcr & (FCR_ENABLE | 0xc0);
	s->thr_ipending = st->thr_ipending;
	s->rx_head = st->rx_head;
	s->rx_count = st->rx_count;
	memcpy(s->rx, st->rx, sizeof(s->rx));
	s->irq_level = -1; /* unknown: update_irq_locked() drives the line either way */
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static size_t ops_rx(void *dev, const uint8_t *buf, size_t len)
{
	return serial_rx(dev, buf, len);
}

static size_t ops_rx_space(void *dev)
{
	return serial_rx_space(dev);
}

static size_t ops_tx_pending(void *dev)
{
	return serial_tx_pending(dev);
}

static size_t ops_flush(void *dev)
{
	return serial_flush(dev);
}

static const struct uart_ops serial_uart_ops = {
	.rx = ops_rx, .rx_space = ops_rx_space, .tx_pending = ops_tx_pending, .flush = ops_flush,
};

struct uart serial_uart(struct serial *s)
{
	return (struct uart){ .ops = &serial_uart_ops, .dev = s, .out_fd = s->tx.out_fd };
}
