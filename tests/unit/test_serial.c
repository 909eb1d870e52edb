/* devices/serial: 16550A registers driven through serial_ops with offsets. */
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/serial.h"
#include "tests/unit/suites.h"

/* Register offsets from the 16550A data sheet. */
#define RBR_THR 0
#define IER 1
#define IIR_FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06

/* A UART whose interrupt line goes nowhere; output into a non-blocking pipe. */
struct uart_fix {
	struct serial s;
	int out[2]; /* [0]: what the guest transmitted */
	int space;  /* eventfd, or -1 */
};

static void uart_init(struct uart_fix *u, bool with_space_fd)
{
	struct irq_line nowhere = { .vm_fd = -1, .gsi = 4 };

	ck_assert_int_eq(pipe2(u->out, O_NONBLOCK), 0);
	u->space = with_space_fd ? eventfd(0, EFD_NONBLOCK) : -1;
	if (with_space_fd)
		ck_assert_int_ge(u->space, 0);
	ck_assert_int_eq(serial_init(&u->s, nowhere, u->out[1], u->space), 0);
}

static void uart_destroy(struct uart_fix *u)
{
	serial_destroy(&u->s);
	close(u->out[0]);
	close(u->out[1]);
	if (u->space >= 0)
		close(u->space);
}

static uint8_t rd(struct uart_fix *u, uint64_t off)
{
	uint8_t v = 0;

	serial_ops.read(&u->s, off, &v, 1);
	return v;
}

static void wr(struct uart_fix *u, uint64_t off, uint8_t v)
{
	serial_ops.write(&u->s, off, &v, 1);
}

static void rx(struct uart_fix *u, const char *bytes, size_t n)
{
	ck_assert_uint_eq(serial_rx(&u->s, (const uint8_t *)bytes, n), n);
}

/* Bytes the guest has transmitted so far (at most `cap`). */
static ssize_t transmitted(struct uart_fix *u, char *buf, size_t cap)
{
	ssize_t n = read(u->out[0], buf, cap);

	return n < 0 && errno == EAGAIN ? 0 : n;
}

START_TEST(test_thr_write_reaches_output)
{
	struct uart_fix u;
	char buf[8];

	uart_init(&u, false);
	wr(&u, RBR_THR, 'O');
	wr(&u, RBR_THR, 'K');
	ck_assert_int_eq(transmitted(&u, buf, sizeof(buf)), 2);
	ck_assert_mem_eq(buf, "OK", 2);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_output_fd_minus_one_discards)
{
	struct irq_line nowhere = { .vm_fd = -1 };
	struct serial s;
	uint8_t v = 'x';

	ck_assert_int_eq(serial_init(&s, nowhere, -1, -1), 0);
	serial_ops.write(&s, RBR_THR, &v, 1);
	serial_ops.read(&s, LSR, &v, 1);
	ck_assert_uint_eq(v & LSR_THRE, LSR_THRE);
	serial_destroy(&s);
}
END_TEST

START_TEST(test_lsr_shows_transmitter_empty)
{
	struct uart_fix u;

	uart_init(&u, false);
	ck_assert_uint_eq(rd(&u, LSR), LSR_THRE | LSR_TEMT);
	wr(&u, RBR_THR, 'a');
	ck_assert_uint_eq(rd(&u, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_rx_sets_data_ready)
{
	struct uart_fix u;

	uart_init(&u, false);
	ck_assert_uint_eq(rd(&u, LSR) & LSR_DR, 0);
	rx(&u, "x", 1);
	ck_assert_uint_eq(rd(&u, LSR) & LSR_DR, LSR_DR);
	ck_assert_uint_eq(rd(&u, RBR_THR), 'x');
	ck_assert_uint_eq(rd(&u, LSR) & LSR_DR, 0);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_rbr_pops_in_order)
{
	struct uart_fix u;

	uart_init(&u, false);
	rx(&u, "hello", 5);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(rd(&u, RBR_THR), (uint8_t) "hello"[i]);
	ck_assert_uint_eq(rd(&u, LSR) & LSR_DR, 0);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_fifo_order_survives_wrap_around)
{
	struct uart_fix u;

	uart_init(&u, false);
	rx(&u, "0123456789", 10);
	for (int i = 0; i < 10; i++)
		rd(&u, RBR_THR);
	rx(&u, "abcdefghijklmnop", 16);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(rd(&u, RBR_THR), (uint8_t)('a' + i));
	uart_destroy(&u);
}
END_TEST

START_TEST(test_fifo_holds_16_then_refuses)
{
	static const uint8_t twenty[20] = "abcdefghijklmnopqrst";
	struct uart_fix u;

	uart_init(&u, false);
	ck_assert_uint_eq(serial_rx_space(&u.s), SERIAL_FIFO);
	ck_assert_uint_eq(serial_rx(&u.s, twenty, sizeof(twenty)), 16);
	ck_assert_uint_eq(serial_rx_space(&u.s), 0);
	ck_assert_uint_eq(serial_rx(&u.s, twenty, 1), 0);
	ck_assert_uint_eq(rd(&u, LSR) & LSR_OE, 0); /* host input waits, it is not lost */
	ck_assert_uint_eq(rd(&u, RBR_THR), 'a');
	ck_assert_uint_eq(serial_rx_space(&u.s), 1);
	ck_assert_uint_eq(serial_rx(&u.s, twenty + 16, 4), 1);
	for (int i = 1; i < 17; i++)
		ck_assert_uint_eq(rd(&u, RBR_THR), twenty[i]);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_iir_none_pending_at_reset)
{
	struct uart_fix u;

	uart_init(&u, false);
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_NONE);
	ck_assert_int_eq(u.s.irq_level, 0);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_iir_rx_data_outranks_thre)
{
	struct uart_fix u;

	uart_init(&u, false);
	wr(&u, IER, 0x03); /* RDI | THRI: THRE now pending */
	rx(&u, "a", 1);
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_RDI);
	ck_assert_uint_eq(rd(&u, RBR_THR), 'a');
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_THRI);
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_NONE);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_iir_line_status_outranks_rx_data)
{
	struct uart_fix u;

	uart_init(&u, false);
	wr(&u, MCR, 0x10); /* loopback, so the guest can overrun its own FIFO */
	wr(&u, IER, 0x05); /* RLSI | RDI */
	for (int i = 0; i < SERIAL_FIFO + 1; i++)
		wr(&u, RBR_THR, (uint8_t)i);
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_RLSI);
	ck_assert_uint_eq(rd(&u, LSR) & LSR_OE, LSR_OE);
	ck_assert_uint_eq(rd(&u, LSR) & LSR_OE, 0); /* cleared by the read */
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_RDI);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_thre_interrupt_on_enable_cleared_by_iir_read)
{
	struct uart_fix u;

	uart_init(&u, false);
	wr(&u, IER, 0x02);
	ck_assert_int_eq(u.s.irq_level, 1);
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_THRI);
	ck_assert_int_eq(u.s.irq_level, 0);
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_NONE);
	wr(&u, IER, 0x02); /* already enabled: no new interrupt */
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_NONE);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_thre_interrupt_after_each_transmit)
{
	struct uart_fix u;

	uart_init(&u, false);
	wr(&u, IER, 0x02);
	rd(&u, IIR_FCR);
	wr(&u, RBR_THR, 'z');
	ck_assert_int_eq(u.s.irq_level, 1);
	ck_assert_uint_eq(rd(&u, IIR_FCR), IIR_THRI);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_iir_fifo_bits_follow_fcr)
{
	struct uart_fix u;

	uart_init(&u, false);
	ck_assert_uint_eq(rd(&u, IIR_FCR) & 0xc0, 0);
	wr(&u, IIR_FCR, 0x01);
	ck_assert_uint_eq(rd(&u, IIR_FCR), 0xc0 | IIR_NONE);
	wr(&u, IIR_FCR, 0x00);
	ck_assert_uint_eq(rd(&u, IIR_FCR) & 0xc0, 0);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_fcr_clears_receive_fifo)
{
	struct uart_fix u;

	uart_init(&u, false);
	rx(&u, "abcde", 5);
	wr(&u, IIR_FCR, 0x03); /* enable, clear RX */
	ck_assert_uint_eq(rd(&u, LSR) & LSR_DR, 0);
	ck_assert_uint_eq(serial_rx_space(&u.s), SERIAL_FIFO);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_dlab_maps_divisor_latches)
{
	struct uart_fix u;
	char buf[4];

	uart_init(&u, false);
	wr(&u, IER, 0x05);
	wr(&u, LCR, 0x83); /* DLAB, 8N1 */
	ck_assert_uint_eq(rd(&u, RBR_THR), 0x0c); /* 9600 baud after reset */
	wr(&u, RBR_THR, 0x01);			  /* 115200 baud */
	wr(&u, IER, 0x00);
	ck_assert_uint_eq(rd(&u, RBR_THR), 0x01);
	ck_assert_uint_eq(rd(&u, IER), 0x00);
	ck_assert_int_eq(transmitted(&u, buf, sizeof(buf)), 0);
	wr(&u, LCR, 0x03);
	ck_assert_uint_eq(rd(&u, IER), 0x05); /* untouched by the DLM write */
	ck_assert_uint_eq(rd(&u, LCR), 0x03);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_scratch_register_holds_value)
{
	struct uart_fix u;

	uart_init(&u, false);
	wr(&u, SCR, 0x5a);
	ck_assert_uint_eq(rd(&u, SCR), 0x5a);
	wr(&u, SCR, 0xa5);
	ck_assert_uint_eq(rd(&u, SCR), 0xa5);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_loopback_echoes_thr_into_rbr)
{
	struct uart_fix u;
	char buf[4];

	uart_init(&u, false);
	wr(&u, MCR, 0x10);
	wr(&u, RBR_THR, 'L');
	ck_assert_int_eq(transmitted(&u, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(rd(&u, LSR) & LSR_DR, LSR_DR);
	ck_assert_uint_eq(rd(&u, RBR_THR), 'L');
	uart_destroy(&u);
}
END_TEST

static const struct {
	uint8_t mcr, msr;
} loop_lines[] = {
	{ 0x10, 0x00 }, /* nothing asserted */
	{ 0x11, 0x20 }, /* DTR -> DSR */
	{ 0x12, 0x10 }, /* RTS -> CTS */
	{ 0x14, 0x40 }, /* OUT1 -> RI */
	{ 0x18, 0x80 }, /* OUT2 -> DCD */
	{ 0x1f, 0xf0 },
};

START_TEST(test_loopback_msr_mirrors_mcr)
{
	struct uart_fix u;

	uart_init(&u, false);
	wr(&u, MCR, loop_lines[_i].mcr);
	ck_assert_uint_eq(rd(&u, MSR) & 0xf0, loop_lines[_i].msr);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_msr_outside_loopback_has_carrier)
{
	struct uart_fix u;

	uart_init(&u, false);
	ck_assert_uint_eq(rd(&u, MSR), 0xb0); /* DCD, DSR, CTS */
	ck_assert_uint_eq(rd(&u, MCR), 0x08);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_irq_level_follows_rx_interrupt)
{
	struct uart_fix u;

	uart_init(&u, false);
	rx(&u, "ab", 2);
	ck_assert_int_eq(u.s.irq_level, 0); /* not enabled */
	wr(&u, IER, 0x01);
	ck_assert_int_eq(u.s.irq_level, 1);
	rd(&u, RBR_THR);
	ck_assert_int_eq(u.s.irq_level, 1);
	rd(&u, RBR_THR);
	ck_assert_int_eq(u.s.irq_level, 0);
	rx(&u, "c", 1);
	ck_assert_int_eq(u.s.irq_level, 1);
	wr(&u, IER, 0x00);
	ck_assert_int_eq(u.s.irq_level, 0);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_wide_read_zero_extends)
{
	struct uart_fix u;
	uint32_t v = 0xdeadbeef;

	uart_init(&u, false);
	serial_ops.read(&u.s, LSR, &v, 4);
	ck_assert_uint_eq(v, LSR_THRE | LSR_TEMT);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_status_registers_ignore_writes)
{
	struct uart_fix u;

	uart_init(&u, false);
	wr(&u, LSR, 0xff);
	wr(&u, MSR, 0x00);
	ck_assert_uint_eq(rd(&u, LSR), LSR_THRE | LSR_TEMT);
	ck_assert_uint_eq(rd(&u, MSR), 0xb0);
	uart_destroy(&u);
}
END_TEST

static uint64_t space_signals(struct uart_fix *u)
{
	uint64_t n = 0;

	return read(u->space, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

START_TEST(test_space_eventfd_written_when_fifo_drains)
{
	struct uart_fix u;

	uart_init(&u, true);
	rx(&u, "abc", 3);
	rd(&u, RBR_THR);
	rd(&u, RBR_THR);
	ck_assert_uint_eq(space_signals(&u), 0);
	rd(&u, RBR_THR);
	ck_assert_uint_ge(space_signals(&u), 1);
	rd(&u, RBR_THR); /* reading an empty FIFO drains nothing */
	ck_assert_uint_eq(space_signals(&u), 0);
	uart_destroy(&u);
}
END_TEST

START_TEST(test_space_eventfd_written_when_fcr_clears_fifo)
{
	static const uint8_t full[SERIAL_FIFO] = { 0 };
	struct uart_fix u;

	uart_init(&u, true);
	ck_assert_uint_eq(serial_rx(&u.s, full, sizeof(full)), SERIAL_FIFO);
	wr(&u, IIR_FCR, 0x03); /* Linux clears the FIFOs when it opens the port */
	ck_assert_uint_ge(space_signals(&u), 1);
	uart_destroy(&u);
}
END_TEST

void serial_out_tcases(Suite *s);

Suite *serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *data_tc = tcase_create("data");
	TCase *irq_tc = tcase_create("interrupts");
	TCase *regs_tc = tcase_create("registers");

	tcase_add_test(data_tc, test_thr_write_reaches_output);
	tcase_add_test(data_tc, test_output_fd_minus_one_discards);
	tcase_add_test(data_tc, test_lsr_shows_transmitter_empty);
	tcase_add_test(data_tc, test_rx_sets_data_ready);
	tcase_add_test(data_tc, test_rbr_pops_in_order);
	tcase_add_test(data_tc, test_fifo_order_survives_wrap_around);
	tcase_add_test(data_tc, test_fifo_holds_16_then_refuses);
	tcase_add_test(data_tc, test_fcr_clears_receive_fifo);
	tcase_add_test(data_tc, test_space_eventfd_written_when_fifo_drains);
	tcase_add_test(data_tc, test_space_eventfd_written_when_fcr_clears_fifo);
	suite_add_tcase(s, data_tc);

	tcase_add_test(irq_tc, test_iir_none_pending_at_reset);
	tcase_add_test(irq_tc, test_iir_rx_data_outranks_thre);
	tcase_add_test(irq_tc, test_iir_line_status_outranks_rx_data);
	tcase_add_test(irq_tc, test_thre_interrupt_on_enable_cleared_by_iir_read);
	tcase_add_test(irq_tc, test_thre_interrupt_after_each_transmit);
	tcase_add_test(irq_tc, test_iir_fifo_bits_follow_fcr);
	tcase_add_test(irq_tc, test_irq_level_follows_rx_interrupt);
	suite_add_tcase(s, irq_tc);

	tcase_add_test(regs_tc, test_dlab_maps_divisor_latches);
	tcase_add_test(regs_tc, test_scratch_register_holds_value);
	tcase_add_test(regs_tc, test_loopback_echoes_thr_into_rbr);
	tcase_add_loop_test(regs_tc, test_loopback_msr_mirrors_mcr, 0,
			    sizeof(loop_lines) / sizeof(loop_lines[0]));
	tcase_add_test(regs_tc, test_msr_outside_loopback_has_carrier);
	tcase_add_test(regs_tc, test_wide_read_zero_extends);
	tcase_add_test(regs_tc, test_status_registers_ignore_writes);
	suite_add_tcase(s, regs_tc);
	serial_out_tcases(s);
	return s;
}
