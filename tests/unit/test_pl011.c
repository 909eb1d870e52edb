/* devices/pl011: PL011 registers driven through pl011_ops with offsets in its window. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pl011.h"
#include "tests/unit/suites.h"

/* Register offsets from the PL011 TRM. */
#define DR 0x000
#define RSR 0x004
#define FR 0x018
#define ILPR 0x020
#define IBRD 0x024
#define FBRD 0x028
#define LCR_H 0x02c
#define CR 0x030
#define IFLS 0x034
#define IMSC 0x038
#define RIS 0x03c
#define MIS 0x040
#define ICR 0x044
#define DMACR 0x048

#define FR_CTS 0x001
#define FR_DSR 0x002
#define FR_DCD 0x004
#define FR_BUSY 0x008
#define FR_RXFE 0x010
#define FR_TXFF 0x020
#define FR_RXFF 0x040
#define FR_TXFE 0x080
#define FR_RI 0x100

#define LCR_H_FEN 0x10
#define LCR_H_8N1_FIFO 0x70 /* WLEN 8, FEN: what Linux's set_termios writes */
#define CR_LBE 0x0080

#define INT_RX 0x010
#define INT_TX 0x020
#define INT_RT 0x040
#define INT_OE 0x400

#define DR_OE 0x800
#define RSR_OE 0x8

/* A UART whose interrupt line goes nowhere; output into a non-blocking pipe. */
struct uart_fix {
	struct pl011 u;
	int out[2]; /* [0]: what the guest transmitted */
	int space;  /* eventfd, or -1 */
};

static void uart_init(struct uart_fix *t, bool with_space_fd)
{
	struct irq_line nowhere = { .vm_fd = -1, .gsi = 1 };

	ck_assert_int_eq(pipe2(t->out, O_NONBLOCK), 0);
	t->space = with_space_fd ? eventfd(0, EFD_NONBLOCK) : -1;
	if (with_space_fd)
		ck_assert_int_ge(t->space, 0);
	ck_assert_int_eq(pl011_init(&t->u, nowhere, t->out[1], t->space), 0);
}

static void uart_destroy(struct uart_fix *t)
{
	pl011_destroy(&t->u);
	close(t->out[0]);
	if (t->out[1] >= 0)
		close(t->out[1]);
	if (t->space >= 0)
		close(t->space);
}

/* An access of `len` bytes at `off`, zero-extended; the bytes past len must stay as they were. */
static uint32_t rdn(struct uart_fix *t, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	pl011_ops.read(&t->u, off, &v, len);
	return (uint32_t)v;
}

static uint32_t rd(struct uart_fix *t, uint64_t off)
{
	return rdn(t, off, 4);
}

static void wrn(struct uart_fix *t, uint64_t off, uint32_t v, uint32_t len)
{
	uint64_t w = v;

	pl011_ops.write(&t->u, off, &w, len);
}

static void wr(struct uart_fix *t, uint64_t off, uint32_t v)
{
	wrn(t, off, v, 4);
}

static void rx(struct uart_fix *t, const char *bytes, size_t n)
{
	ck_assert_uint_eq(pl011_rx(&t->u, (const uint8_t *)bytes, n), n);
}

/* Bytes the guest has transmitted so far (at most `cap`). */
static ssize_t transmitted(struct uart_fix *t, char *buf, size_t cap)
{
	ssize_t n = read(t->out[0], buf, cap);

	return n < 0 && errno == EAGAIN ? 0 : n;
}

static uint64_t space_signals(struct uart_fix *t)
{
	uint64_t n = 0;

	return read(t->space, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

/* ---- data ---- */

START_TEST(test_dr_write_reaches_output)
{
	struct uart_fix t;
	char buf[8];

	uart_init(&t, false);
	wr(&t, DR, 'O');
	wrn(&t, DR, 'K', 1); /* earlycon writes DR a byte at a time */
	wrn(&t, DR, 0x100 | '!', 2); /* only bits 7:0 are data */
	ck_assert_int_eq(transmitted(&t, buf, sizeof(buf)), 3);
	ck_assert_mem_eq(buf, "OK!", 3);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_output_fd_minus_one_discards)
{
	struct irq_line nowhere = { .vm_fd = -1 };
	struct pl011 u;
	uint32_t v = 'x';

	ck_assert_int_eq(pl011_init(&u, nowhere, -1, -1), 0);
	pl011_ops.write(&u, DR, &v, 4);
	pl011_ops.read(&u, FR, &v, 4);
	ck_assert_uint_eq(v & FR_TXFE, FR_TXFE);
	ck_assert_uint_eq(pl011_tx_pending(&u), 0);
	pl011_destroy(&u);
}
END_TEST

START_TEST(test_flags_at_reset)
{
	struct uart_fix t;

	uart_init(&t, false);
	ck_assert_uint_eq(rd(&t, FR), FR_TXFE | FR_RXFE | FR_CTS | FR_DSR | FR_DCD);
	wr(&t, DR, 'a');
	/* earlycon waits for !TXFF before a byte and !BUSY after it: never set here */
	ck_assert_uint_eq(rd(&t, FR) & (FR_TXFF | FR_BUSY), 0);
	ck_assert_uint_eq(rd(&t, FR) & FR_TXFE, FR_TXFE);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_rx_clears_rxfe_and_pops_in_order)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	rx(&t, "hello", 5);
	ck_assert_uint_eq(rd(&t, FR) & (FR_RXFE | FR_RXFF), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(rd(&t, DR), (uint8_t) "hello"[i]);
	ck_assert_uint_eq(rd(&t, FR) & FR_RXFE, FR_RXFE);
	ck_assert_uint_eq(rd(&t, DR), 0); /* an empty FIFO reads 0 and stays empty */
	ck_assert_uint_eq(rd(&t, FR) & FR_RXFE, FR_RXFE);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_fifo_holds_32_then_refuses)
{
	uint8_t in[40];
	struct uart_fix t;

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)('A' + i);
	uart_init(&t, false);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	ck_assert_uint_eq(pl011_rx_space(&t.u), PL011_FIFO);
	ck_assert_uint_eq(pl011_rx(&t.u, in, sizeof(in)), PL011_FIFO);
	ck_assert_uint_eq(pl011_rx_space(&t.u), 0);
	ck_assert_uint_eq(rd(&t, FR) & FR_RXFF, FR_RXFF);
	ck_assert_uint_eq(pl011_rx(&t.u, in, 1), 0);
	ck_assert_uint_eq(rd(&t, RSR), 0); /* host input waits, it is not lost */
	ck_assert_uint_eq(rd(&t, DR), 'A');
	ck_assert_uint_eq(rd(&t, FR) & FR_RXFF, 0);
	ck_assert_uint_eq(pl011_rx(&t.u, in + PL011_FIFO, 8), 1);
	for (unsigned int i = 1; i <= PL011_FIFO; i++)
		ck_assert_uint_eq(rd(&t, DR), in[i]);
	ck_assert_uint_eq(rd(&t, FR) & FR_RXFE, FR_RXFE);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_fifo_order_survives_wrap_around)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	for (int round = 0; round < 5; round++) {
		rx(&t, "0123456789abcdefghij", 20);
		for (int i = 0; i < 20; i++)
			ck_assert_uint_eq(rd(&t, DR), (uint8_t) "0123456789abcdefghij"[i]);
	}
	uart_destroy(&t);
}
END_TEST

START_TEST(test_fifo_off_holds_one_character)
{
	struct uart_fix t;

	uart_init(&t, false); /* FEN is clear after reset */
	ck_assert_uint_eq(pl011_rx_space(&t.u), 1);
	ck_assert_uint_eq(pl011_rx(&t.u, (const uint8_t *)"xy", 2), 1);
	ck_assert_uint_eq(rd(&t, FR) & (FR_RXFF | FR_RXFE), FR_RXFF);
	ck_assert_uint_eq(rd(&t, DR), 'x');
	ck_assert_uint_eq(rd(&t, FR) & (FR_RXFF | FR_RXFE), FR_RXFE);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_fen_change_flushes_receive_fifo)
{
	struct uart_fix t;

	uart_init(&t, true);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	rx(&t, "abc", 3);
	wr(&t, LCR_H, LCR_H_8N1_FIFO); /* FEN unchanged: kept */
	ck_assert_uint_eq(pl011_rx_space(&t.u), PL011_FIFO - 3);
	ck_assert_uint_eq(space_signals(&t), 0);
	wr(&t, LCR_H, LCR_H_8N1_FIFO & ~LCR_H_FEN);
	ck_assert_uint_eq(rd(&t, FR) & FR_RXFE, FR_RXFE);
	ck_assert_uint_eq(pl011_rx_space(&t.u), 1);
	ck_assert_uint_ge(space_signals(&t), 1); /* the input loop may be waiting for room */
	uart_destroy(&t);
}
END_TEST

START_TEST(test_space_eventfd_written_when_fifo_drains)
{
	struct uart_fix t;

	uart_init(&t, true);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	rx(&t, "abc", 3);
	rd(&t, DR);
	rd(&t, DR);
	ck_assert_uint_eq(space_signals(&t), 0);
	rd(&t, DR);
	ck_assert_uint_ge(space_signals(&t), 1);
	rd(&t, DR); /* reading an empty FIFO drains nothing */
	ck_assert_uint_eq(space_signals(&t), 0);
	uart_destroy(&t);
}
END_TEST

/* A reader that takes nothing: output waits in the buffer, then the main loop flushes it. */
START_TEST(test_stalled_output_is_buffered_then_flushed)
{
	enum { N = 3 * 4096 };
	static char got[N];
	struct uart_fix t;
	size_t have = 0;

	uart_init(&t, true);
	ck_assert_int_ge(fcntl(t.out[1], F_SETPIPE_SZ, 4096), 4096);
	for (int i = 0; i < N; i++)
		wrn(&t, DR, (uint8_t)('a' + i % 26), 1);
	ck_assert_uint_gt(pl011_tx_pending(&t.u), 0);
	ck_assert_uint_ge(space_signals(&t), 1); /* the main loop is told to watch the fd */
	for (int i = 0; i < 100 && have < N; i++) {
		ssize_t n = transmitted(&t, got + have, N - have);

		ck_assert_int_ge(n, 0);
		have += (size_t)n;
		pl011_flush(&t.u);
	}
	ck_assert_uint_eq(have, N);
	ck_assert_uint_eq(pl011_tx_pending(&t.u), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(got[i], 'a' + i % 26);
	ck_assert_uint_eq(t.u.tx.dropped, 0);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_output_to_a_closed_reader_is_dropped)
{
	struct uart_fix t;

	signal(SIGPIPE, SIG_IGN); /* as console_open() does */
	uart_init(&t, false);
	close(t.out[0]);
	t.out[0] = open("/dev/null", O_RDONLY);
	wr(&t, DR, 'a');
	wr(&t, DR, 'b');
	ck_assert_uint_eq(t.u.tx.dropped, 2);
	ck_assert_uint_eq(pl011_tx_pending(&t.u), 0);
	ck_assert_uint_eq(rd(&t, FR) & FR_TXFE, FR_TXFE);
	uart_destroy(&t);
}
END_TEST

/* ---- interrupts ---- */

START_TEST(test_no_interrupt_at_reset)
{
	struct uart_fix t;

	uart_init(&t, false);
	ck_assert_uint_eq(rd(&t, RIS), 0);
	ck_assert_uint_eq(rd(&t, MIS), 0);
	ck_assert_uint_eq(rd(&t, IMSC), 0);
	ck_assert_int_eq(t.u.irq_level, 0);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_rx_interrupt_at_fifo_level)
{
	struct uart_fix t;
	char sixteen[16];

	memset(sixteen, 'r', sizeof(sixteen));
	uart_init(&t, false);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	wr(&t, IMSC, INT_RX); /* IFLS at reset: half the FIFO, 16 characters */
	rx(&t, sixteen, 15);
	ck_assert_uint_eq(rd(&t, RIS) & INT_RX, 0);
	ck_assert_int_eq(t.u.irq_level, 0);
	rx(&t, sixteen, 1);
	ck_assert_uint_eq(rd(&t, RIS) & INT_RX, INT_RX);
	ck_assert_uint_eq(rd(&t, MIS), INT_RX);
	ck_assert_int_eq(t.u.irq_level, 1);
	rd(&t, DR); /* 15 left: below the level */
	ck_assert_uint_eq(rd(&t, RIS) & INT_RX, 0);
	ck_assert_int_eq(t.u.irq_level, 0);
	wr(&t, IFLS, 0x00); /* 1/8: 4 characters */
	for (int i = 0; i < 15; i++)
		rd(&t, DR);
	rx(&t, sixteen, 3);
	ck_assert_int_eq(t.u.irq_level, 0);
	rx(&t, sixteen, 1);
	ck_assert_int_eq(t.u.irq_level, 1);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_receive_timeout_while_data_waits)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	wr(&t, IMSC, INT_RT);
	rx(&t, "ab", 2);
	ck_assert_uint_eq(rd(&t, MIS), INT_RT);
	ck_assert_int_eq(t.u.irq_level, 1);
	rd(&t, DR);
	ck_assert_int_eq(t.u.irq_level, 1);
	rd(&t, DR);
	ck_assert_uint_eq(rd(&t, RIS) & INT_RT, 0);
	ck_assert_int_eq(t.u.irq_level, 0);
	rx(&t, "c", 1);
	ck_assert_int_eq(t.u.irq_level, 1);
	wr(&t, ICR, INT_RT); /* cleared by ICR while the character still waits */
	ck_assert_uint_eq(rd(&t, RIS) & INT_RT, 0);
	ck_assert_int_eq(t.u.irq_level, 0);
	rx(&t, "d", 1); /* a new character starts a new timeout */
	ck_assert_int_eq(t.u.irq_level, 1);
	uart_destroy(&t);
}
END_TEST

/* What Linux's driver does: RXIM | RTIM, one typed character, read until RXFE. */
START_TEST(test_linux_receive_sequence)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, ICR, 0x7ff);
	wr(&t, IFLS, 0x12);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	wr(&t, CR, 0x301);
	wr(&t, IMSC, INT_RX | INT_RT);
	ck_assert_int_eq(t.u.irq_level, 0);
	rx(&t, "k", 1);
	ck_assert_int_eq(t.u.irq_level, 1);
	ck_assert_uint_ne(rd(&t, MIS) & (INT_RX | INT_RT), 0);
	while (!(rd(&t, FR) & FR_RXFE))
		ck_assert_uint_eq(rdn(&t, DR, 2), 'k'); /* Linux reads with 16-bit accesses */
	ck_assert_int_eq(t.u.irq_level, 0);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_fifo_off_interrupts_on_each_character)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, IMSC, INT_RX);
	rx(&t, "z", 1);
	ck_assert_int_eq(t.u.irq_level, 1);
	rd(&t, DR);
	ck_assert_int_eq(t.u.irq_level, 0);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_tx_interrupt_after_write_masked_and_cleared)
{
	struct uart_fix t;

	uart_init(&t, false);
	ck_assert_uint_eq(rd(&t, RIS) & INT_TX, 0);
	wr(&t, DR, 'a');
	ck_assert_uint_eq(rd(&t, RIS) & INT_TX, INT_TX);
	ck_assert_int_eq(t.u.irq_level, 0); /* masked */
	wr(&t, IMSC, INT_TX);
	ck_assert_uint_eq(rd(&t, MIS), INT_TX);
	ck_assert_int_eq(t.u.irq_level, 1);
	wr(&t, ICR, INT_TX);
	ck_assert_uint_eq(rd(&t, RIS) & INT_TX, 0);
	ck_assert_int_eq(t.u.irq_level, 0);
	wr(&t, DR, 'b'); /* the next byte leaves at once: raised again */
	ck_assert_int_eq(t.u.irq_level, 1);
	wr(&t, IMSC, 0); /* Linux masks TXIM once nothing is left to send */
	ck_assert_int_eq(t.u.irq_level, 0);
	ck_assert_uint_eq(rd(&t, MIS), 0);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_icr_clears_only_its_bits)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	wr(&t, IMSC, 0x7ff);
	rx(&t, "q", 1);
	wr(&t, DR, 'q');
	ck_assert_uint_eq(rd(&t, RIS), INT_RT | INT_TX);
	wr(&t, ICR, INT_TX);
	ck_assert_uint_eq(rd(&t, RIS), INT_RT);
	ck_assert_int_eq(t.u.irq_level, 1);
	wr(&t, ICR, 0xffffffff);
	ck_assert_uint_eq(rd(&t, RIS), 0);
	ck_assert_int_eq(t.u.irq_level, 0);
	ck_assert_uint_eq(rd(&t, ICR), 0); /* write-only */
	uart_destroy(&t);
}
END_TEST

START_TEST(test_loopback_overrun_sets_oe)
{
	struct uart_fix t;

	uart_init(&t, false); /* FIFO off: a single holding register */
	wr(&t, CR, 0x301 | CR_LBE);
	wr(&t, IMSC, INT_OE);
	wr(&t, DR, '1');
	ck_assert_int_eq(t.u.irq_level, 0);
	wr(&t, DR, '2'); /* no room: lost */
	ck_assert_uint_eq(rd(&t, RSR), RSR_OE);
	ck_assert_uint_eq(rd(&t, RIS) & INT_OE, INT_OE);
	ck_assert_int_eq(t.u.irq_level, 1);
	ck_assert_uint_eq(rd(&t, DR), '1');
	wr(&t, DR, '3'); /* the first character after the loss carries OE */
	ck_assert_uint_eq(rd(&t, DR), DR_OE | '3');
	wr(&t, RSR, 0); /* ECR: any write clears the errors */
	ck_assert_uint_eq(rd(&t, RSR), 0);
	wr(&t, ICR, INT_OE);
	ck_assert_int_eq(t.u.irq_level, 0);
	uart_destroy(&t);
}
END_TEST

/* ---- registers ---- */

START_TEST(test_identification_registers)
{
	static const uint8_t id[8] = { 0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	uint32_t periph = 0, cell = 0;
	struct uart_fix t;

	uart_init(&t, false);
	for (unsigned int i = 0; i < 8; i++) {
		ck_assert_uint_eq(rd(&t, 0xfe0 + 4 * i), id[i]);
		ck_assert_uint_eq(rdn(&t, 0xfe0 + 4 * i, 1), id[i]);
		wr(&t, 0xfe0 + 4 * i, 0xff); /* read-only */
	}
	/* As the AMBA bus assembles them: one byte from each word. */
	for (unsigned int i = 0; i < 4; i++) {
		periph |= (rd(&t, 0xfe0 + 4 * i) & 0xff) << (8 * i);
		cell |= (rd(&t, 0xff0 + 4 * i) & 0xff) << (8 * i);
	}
	ck_assert_uint_eq(periph, 0x00141011); /* part 0x011, designer ARM (0x41), revision 1 */
	ck_assert_uint_eq(periph & 0x000fffff, 0x00041011); /* the amba-pl011 id table's match */
	ck_assert_uint_eq(cell, 0xb105f00d);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_reset_values)
{
	struct uart_fix t;

	uart_init(&t, false);
	ck_assert_uint_eq(rd(&t, CR), 0x300);
	ck_assert_uint_eq(rd(&t, IFLS), 0x12);
	ck_assert_uint_eq(rd(&t, LCR_H), 0);
	ck_assert_uint_eq(rd(&t, IBRD), 0);
	ck_assert_uint_eq(rd(&t, FBRD), 0);
	ck_assert_uint_eq(rd(&t, ILPR), 0);
	ck_assert_uint_eq(rd(&t, DMACR), 0);
	ck_assert_uint_eq(rd(&t, RSR), 0);
	uart_destroy(&t);
}
END_TEST

static const struct {
	uint32_t off, written, read;
} reg_masks[] = {
	{ ILPR, 0x1ff, 0xff },	    { IBRD, 0x12345, 0x2345 }, { FBRD, 0xff, 0x3f },
	{ LCR_H, 0x1ef, 0xef },	    { CR, 0xffffffff, 0xff87 }, { IFLS, 0xff, 0x3f },
	{ IMSC, 0xffffffff, 0x7ff }, { DMACR, 0xff, 0x7 },
};

START_TEST(test_register_write_masks)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, reg_masks[_i].off, reg_masks[_i].written);
	ck_assert_uint_eq(rd(&t, reg_masks[_i].off), reg_masks[_i].read);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_status_registers_ignore_writes)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, FR, 0);
	wr(&t, RIS, 0x7ff);
	wr(&t, MIS, 0x7ff);
	ck_assert_uint_eq(rd(&t, FR), FR_TXFE | FR_RXFE | FR_CTS | FR_DSR | FR_DCD);
	ck_assert_uint_eq(rd(&t, RIS), 0);
	ck_assert_uint_eq(rd(&t, MIS), 0);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_narrow_accesses)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, CR, 0x0b01);
	ck_assert_uint_eq(rdn(&t, CR, 2), 0x0b01);
	ck_assert_uint_eq(rdn(&t, CR, 1), 0x01);
	wrn(&t, IBRD, 0x1234, 2);
	ck_assert_uint_eq(rd(&t, IBRD), 0x1234);
	wrn(&t, IBRD, 0x56, 1); /* zero-extended */
	ck_assert_uint_eq(rd(&t, IBRD), 0x56);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_loopback_feeds_modem_lines)
{
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, CR, 0x301 | CR_LBE);
	ck_assert_uint_eq(rd(&t, FR) & (FR_CTS | FR_DSR | FR_DCD | FR_RI), 0);
	wr(&t, CR, 0x301 | CR_LBE | 0x0800); /* RTS -> CTS */
	ck_assert_uint_eq(rd(&t, FR) & (FR_CTS | FR_DSR | FR_DCD | FR_RI), FR_CTS);
	wr(&t, CR, 0x301 | CR_LBE | 0x3c00); /* DTR, RTS, OUT1, OUT2 */
	ck_assert_uint_eq(rd(&t, FR) & (FR_CTS | FR_DSR | FR_DCD | FR_RI),
			  FR_CTS | FR_DSR | FR_DCD | FR_RI);
	wr(&t, CR, 0x301);
	ck_assert_uint_eq(rd(&t, FR) & (FR_CTS | FR_DSR | FR_DCD | FR_RI),
			  FR_CTS | FR_DSR | FR_DCD);
	uart_destroy(&t);
}
END_TEST

START_TEST(test_loopback_data_does_not_reach_output)
{
	struct uart_fix t;
	char buf[4];

	uart_init(&t, false);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	wr(&t, CR, 0x301 | CR_LBE);
	wr(&t, DR, 'L');
	ck_assert_int_eq(transmitted(&t, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(rd(&t, DR), 'L');
	wr(&t, CR, 0x301);
	wr(&t, DR, 'M');
	ck_assert_int_eq(transmitted(&t, buf, sizeof(buf)), 1);
	uart_destroy(&t);
}
END_TEST

/* ---- hostile accesses: read 0, write nothing, never crash ---- */

static const struct {
	uint64_t off;
	uint32_t len;
} bad_access[] = {
	{ DR, 8 },	   { FR, 8 },	     { DR + 1, 1 },	{ DR + 2, 2 },	  { FR + 1, 1 },
	{ CR + 2, 2 },	   { IMSC + 3, 1 },  { 0xfe1, 1 },	{ 0xfe2, 2 },	  { 0x008, 4 },
	{ 0x01c, 4 },	   { 0x04c, 4 },     { 0x080, 4 },	{ 0x800, 4 },	  { 0xfdc, 4 },
	{ 0x1000, 4 },	   { 0x1fe0, 4 },    { 1ULL << 32, 4 }, { UINT64_MAX - 3, 4 },
	{ UINT64_MAX, 1 }, { DR, 3 },	     { DR, 0 },		{ DR, 16 },
};

START_TEST(test_hostile_access_reads_zero_writes_nothing)
{
	uint8_t buf[16];
	struct uart_fix t;
	char out[4];

	uart_init(&t, false);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	rx(&t, "keep", 4);
	memset(buf, 0xa5, sizeof(buf));
	pl011_ops.read(&t.u, bad_access[_i].off, buf, bad_access[_i].len);
	for (uint32_t i = 0; i < bad_access[_i].len; i++)
		ck_assert_uint_eq(buf[i], 0);
	memset(buf, 'x', sizeof(buf));
	pl011_ops.write(&t.u, bad_access[_i].off, buf, bad_access[_i].len);
	ck_assert_int_eq(transmitted(&t, out, sizeof(out)), 0);
	ck_assert_uint_eq(pl011_rx_space(&t.u), PL011_FIFO - 4); /* nothing popped */
	ck_assert_uint_eq(rd(&t, RIS), INT_RT);			/* nor any register changed */
	ck_assert_uint_eq(rd(&t, CR), 0x300);
	ck_assert_uint_eq(rd(&t, IMSC), 0);
	ck_assert_uint_eq(rd(&t, LCR_H), LCR_H_8N1_FIFO);
	ck_assert_uint_eq(rd(&t, DR), 'k');
	uart_destroy(&t);
}
END_TEST

START_TEST(test_every_offset_and_width_is_safe)
{
	struct uart_fix t;
	uint64_t v;

	uart_init(&t, false);
	for (uint64_t off = 0; off < PL011_SIZE + 16; off++) {
		for (uint32_t len = 1; len <= 8; len *= 2) {
			v = 0;
			pl011_ops.read(&t.u, off, &v, len);
			if (off & 3 || len == 8)
				ck_assert_uint_eq(v, 0);
		}
	}
	uart_destroy(&t);
}
END_TEST

/* ---- snapshot state ---- */

START_TEST(test_save_load_round_trip)
{
	struct pl011_state st;
	struct uart_fix a, b;

	uart_init(&a, false);
	uart_init(&b, false);
	wr(&a, LCR_H, LCR_H_8N1_FIFO);
	wr(&a, IBRD, 13);
	wr(&a, FBRD, 1);
	wr(&a, CR, 0x301);
	wr(&a, IMSC, INT_RX | INT_RT);
	rx(&a, "snap", 4);
	rd(&a, DR);
	pl011_save(&a.u, &st);
	ck_assert_int_eq(pl011_load(&b.u, &st), 0);
	ck_assert_int_eq(b.u.irq_level, 1);
	ck_assert_uint_eq(rd(&b, IBRD), 13);
	ck_assert_uint_eq(rd(&b, FBRD), 1);
	ck_assert_uint_eq(rd(&b, CR), 0x301);
	ck_assert_uint_eq(rd(&b, LCR_H), LCR_H_8N1_FIFO);
	ck_assert_uint_eq(rd(&b, DR), 'n');
	ck_assert_uint_eq(rd(&b, DR), 'a');
	ck_assert_uint_eq(rd(&b, DR), 'p');
	ck_assert_uint_eq(rd(&b, FR) & FR_RXFE, FR_RXFE);
	ck_assert_int_eq(b.u.irq_level, 0);
	uart_destroy(&a);
	uart_destroy(&b);
}
END_TEST

START_TEST(test_load_refuses_malformed_state)
{
	struct pl011_state st;
	struct uart_fix t;

	uart_init(&t, false);
	wr(&t, LCR_H, LCR_H_8N1_FIFO);
	pl011_save(&t.u, &st);
	st.rx_head = PL011_FIFO;
	ck_assert_int_eq(pl011_load(&t.u, &st), -EINVAL);
	st.rx_head = 0;
	st.rx_count = PL011_FIFO + 1;
	ck_assert_int_eq(pl011_load(&t.u, &st), -EINVAL);
	st.rx_count = 2;
	st.lcr_h = 0; /* FIFO off: one character at most */
	ck_assert_int_eq(pl011_load(&t.u, &st), -EINVAL);
	st.rx_count = 0;
	st.rx_overrun = 2;
	ck_assert_int_eq(pl011_load(&t.u, &st), -EINVAL);
	/* Other fields keep only what a guest could write. */
	st.rx_overrun = 0;
	st.cr = st.imsc = st.ris = 0xffff;
	st.rx_count = 1;
	st.rx[0] = 0xffff;
	ck_assert_int_eq(pl011_load(&t.u, &st), 0);
	ck_assert_uint_eq(rd(&t, CR), 0xff87);
	ck_assert_uint_eq(rd(&t, IMSC), 0x7ff);
	ck_assert_uint_eq(rd(&t, RIS), 0x7ff);
	ck_assert_uint_eq(rd(&t, DR), 0x8ff);
	uart_destroy(&t);
}
END_TEST

Suite *pl011_suite(void)
{
	Suite *s = suite_create("pl011");
	TCase *data_tc = tcase_create("data");
	TCase *irq_tc = tcase_create("interrupts");
	TCase *regs_tc = tcase_create("registers");
	TCase *hostile_tc = tcase_create("hostile");

	tcase_add_test(data_tc, test_dr_write_reaches_output);
	tcase_add_test(data_tc, test_output_fd_minus_one_discards);
	tcase_add_test(data_tc, test_flags_at_reset);
	tcase_add_test(data_tc, test_rx_clears_rxfe_and_pops_in_order);
	tcase_add_test(data_tc, test_fifo_holds_32_then_refuses);
	tcase_add_test(data_tc, test_fifo_order_survives_wrap_around);
	tcase_add_test(data_tc, test_fifo_off_holds_one_character);
	tcase_add_test(data_tc, test_fen_change_flushes_receive_fifo);
	tcase_add_test(data_tc, test_space_eventfd_written_when_fifo_drains);
	tcase_add_test(data_tc, test_stalled_output_is_buffered_then_flushed);
	tcase_add_test(data_tc, test_output_to_a_closed_reader_is_dropped);
	suite_add_tcase(s, data_tc);

	tcase_add_test(irq_tc, test_no_interrupt_at_reset);
	tcase_add_test(irq_tc, test_rx_interrupt_at_fifo_level);
	tcase_add_test(irq_tc, test_receive_timeout_while_data_waits);
	tcase_add_test(irq_tc, test_linux_receive_sequence);
	tcase_add_test(irq_tc, test_fifo_off_interrupts_on_each_character);
	tcase_add_test(irq_tc, test_tx_interrupt_after_write_masked_and_cleared);
	tcase_add_test(irq_tc, test_icr_clears_only_its_bits);
	tcase_add_test(irq_tc, test_loopback_overrun_sets_oe);
	suite_add_tcase(s, irq_tc);

	tcase_add_test(regs_tc, test_identification_registers);
	tcase_add_test(regs_tc, test_reset_values);
	tcase_add_loop_test(regs_tc, test_register_write_masks, 0,
			    sizeof(reg_masks) / sizeof(reg_masks[0]));
	tcase_add_test(regs_tc, test_status_registers_ignore_writes);
	tcase_add_test(regs_tc, test_narrow_accesses);
	tcase_add_test(regs_tc, test_loopback_feeds_modem_lines);
	tcase_add_test(regs_tc, test_loopback_data_does_not_reach_output);
	tcase_add_test(regs_tc, test_save_load_round_trip);
	tcase_add_test(regs_tc, test_load_refuses_malformed_state);
	suite_add_tcase(s, regs_tc);

	tcase_add_loop_test(hostile_tc, test_hostile_access_reads_zero_writes_nothing, 0,
			    sizeof(bad_access) / sizeof(bad_access[0]));
	tcase_add_test(hostile_tc, test_every_offset_and_width_is_safe);
	suite_add_tcase(s, hostile_tc);
	return s;
}
