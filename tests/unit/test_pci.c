/*
 * devices/pci: configuration mechanism #1 at 0xcf8-0xcff, driven through pci_config_ops;
 * memory BARs (sizing, placement, relocation, dispatch through pci_mmio_ops), I/O BARs
 * (the same through pci_io_ops), capabilities and the config hooks devices hear.
 */
#include <errno.h>
#include <string.h>

#include "devices/pci.h"
#include "tests/unit/suites.h"

/* Offsets within the 8-port window that starts at 0xcf8. */
#define ADDR_PORT 0 /* 0xcf8 */
#define DATA_PORT 4 /* 0xcfc */

static uint32_t cfg_addr(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	return 0x80000000U | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static void latch(struct pci *p, uint32_t addr)
{
	pci_config_ops.write(p, ADDR_PORT, &addr, 4);
}

/* An access of `len` bytes at window offset `off`, zero-extended. */
static uint32_t rd(struct pci *p, uint64_t off, uint32_t len)
{
	uint32_t v = 0;

	pci_config_ops.read(p, off, &v, len);
	return v;
}

static void wr(struct pci *p, uint64_t off, uint32_t v, uint32_t len)
{
	pci_config_ops.write(p, off, &v, len);
}

/* 32-bit read of register `reg` of 00:dev.0. */
static uint32_t read_reg(struct pci *p, unsigned int dev, unsigned int reg)
{
	latch(p, cfg_addr(0, dev, 0, reg));
	return rd(p, DATA_PORT, 4);
}

static void pci_ok(struct pci *p)
{
	ck_assert_int_eq(pci_init(p), 0);
}

START_TEST(test_address_latch_reads_back)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, 0x80001234);
	ck_assert_uint_eq(rd(&p, ADDR_PORT, 4), 0x80001234);
	latch(&p, 0);
	ck_assert_uint_eq(rd(&p, ADDR_PORT, 4), 0);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_address_latch_needs_4_byte_access)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, 0x80000800);
	wr(&p, ADDR_PORT, 0xff, 1);
	wr(&p, ADDR_PORT + 2, 0xffff, 2);
	ck_assert_uint_eq(rd(&p, ADDR_PORT, 4), 0x80000800);
	ck_assert_uint_eq(rd(&p, ADDR_PORT, 1), 0xff);
	ck_assert_uint_eq(rd(&p, ADDR_PORT, 2), 0xffff);
	ck_assert_uint_eq(rd(&p, ADDR_PORT + 1, 1), 0xff);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_host_bridge_identity)
{
	struct pci p;

	pci_ok(&p);
	ck_assert_uint_eq(read_reg(&p, 0, 0x00), 0x0d578086);
	ck_assert_uint_eq(read_reg(&p, 0, 0x08) >> 8, 0x060000);
	ck_assert_uint_eq((read_reg(&p, 0, 0x0c) >> 16) & 0xff, 0); /* header type 0 */
	pci_destroy(&p);
}
END_TEST

START_TEST(test_absent_slot_reads_all_ones)
{
	struct pci p;

	pci_ok(&p);
	ck_assert_uint_eq(read_reg(&p, 5, 0x00), 0xffffffff);
	ck_assert_uint_eq(read_reg(&p, 31, 0x00), 0xffffffff);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_other_bus_reads_all_ones)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, cfg_addr(1, 0, 0, 0));
	ck_assert_uint_eq(rd(&p, DATA_PORT, 4), 0xffffffff);
	latch(&p, cfg_addr(255, 0, 0, 0));
	ck_assert_uint_eq(rd(&p, DATA_PORT, 4), 0xffffffff);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_other_function_reads_all_ones)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, cfg_addr(0, 0, 1, 0));
	ck_assert_uint_eq(rd(&p, DATA_PORT, 4), 0xffffffff);
	latch(&p, cfg_addr(0, 0, 7, 0));
	ck_assert_uint_eq(rd(&p, DATA_PORT, 2), 0xffff);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_disabled_latch_reads_all_ones)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, cfg_addr(0, 0, 0, 0) & ~0x80000000U);
	ck_assert_uint_eq(rd(&p, DATA_PORT, 4), 0xffffffff);
	ck_assert_uint_eq(rd(&p, DATA_PORT, 1), 0xff);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_byte_and_word_reads_in_data_window)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, cfg_addr(0, 0, 0, 0));
	ck_assert_uint_eq(rd(&p, 4, 1), 0x86);
	ck_assert_uint_eq(rd(&p, 5, 1), 0x80);
	ck_assert_uint_eq(rd(&p, 6, 1), 0x57);
	ck_assert_uint_eq(rd(&p, 7, 1), 0x0d);
	ck_assert_uint_eq(rd(&p, 4, 2), 0x8086);
	ck_assert_uint_eq(rd(&p, 6, 2), 0x0d57);
	latch(&p, cfg_addr(0, 0, 0, 0x08));
	ck_assert_uint_eq(rd(&p, 7, 1), 0x06); /* base class */
	ck_assert_uint_eq(rd(&p, 6, 1), 0x00); /* sub-class */
	pci_destroy(&p);
}
END_TEST

START_TEST(test_access_past_data_window_reads_all_ones)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, cfg_addr(0, 0, 0, 0));
	ck_assert_uint_eq(rd(&p, 7, 2), 0xffff);
	ck_assert_uint_eq(rd(&p, 6, 4), 0xffffffff);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_command_register_writable_within_mask)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, cfg_addr(0, 0, 0, 0x04));
	wr(&p, DATA_PORT, 0xffff, 2);
	ck_assert_uint_eq(rd(&p, DATA_PORT, 2), 0x0547);
	wr(&p, DATA_PORT, 0x0006, 2);
	ck_assert_uint_eq(rd(&p, DATA_PORT, 2), 0x0006);
	wr(&p, DATA_PORT, 0xffffffff, 4); /* status half is read-only */
	ck_assert_uint_eq(rd(&p, DATA_PORT, 4), 0x0547);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_vendor_id_read_only)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, cfg_addr(0, 0, 0, 0));
	wr(&p, DATA_PORT, 0x12345678, 4);
	wr(&p, DATA_PORT + 1, 0xff, 1);
	ck_assert_uint_eq(rd(&p, DATA_PORT, 4), 0x0d578086);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_write_with_disabled_latch_ignored)
{
	struct pci p;

	pci_ok(&p);
	latch(&p, cfg_addr(0, 0, 0, 0x04) & ~0x80000000U);
	wr(&p, DATA_PORT, 0x0007, 2);
	ck_assert_uint_eq(read_reg(&p, 0, 0x04) & 0xffff, 0);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_add_errors)
{
	struct pci_dev d;
	struct pci p;

	pci_ok(&p);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(pci_add(&p, PCI_SLOTS, &d), -EINVAL);
	ck_assert_int_eq(pci_add(&p, 3, NULL), -EINVAL);
	ck_assert_int_eq(pci_add(&p, 0, &d), -EEXIST); /* the host bridge */
	ck_assert_int_eq(pci_add(&p, 3, &d), 0);
	ck_assert_int_eq(pci_add(&p, 3, &d), -EEXIST);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_added_device_visible_in_its_slot)
{
	struct pci_dev d;
	struct pci p;

	pci_ok(&p);
	memset(&d, 0, sizeof(d));
	pci_dev_header(&d, 0x1af4, 0x1042, 0x010000);
	ck_assert_int_eq(pci_add(&p, 3, &d), 0);
	ck_assert_uint_eq(read_reg(&p, 3, 0x00), 0x10421af4);
	ck_assert_uint_eq(read_reg(&p, 3, 0x08) >> 8, 0x010000);
	ck_assert_uint_eq(read_reg(&p, 2, 0x00), 0xffffffff);
	latch(&p, cfg_addr(0, 3, 0, 0x04));
	wr(&p, DATA_PORT, 0x0002, 2);
	ck_assert_uint_eq(d.cfg[0x04], 0x02);
	pci_destroy(&p);
}
END_TEST

/* ---- memory BARs ---- */

#define WIN_BASE 0xe0000000ULL /* a test window, away from the default */
#define WIN_SIZE 0x01000000ULL

/* What one BAR's bus ops saw. */
struct bar_rec {
	unsigned int reads, writes;
	uint64_t off;
	uint32_t len, val;
};

struct bar_dev {
	struct pci_dev d;
	struct bar_rec rec[PCI_BARS];
	unsigned int moves;
	unsigned int move_bar[32];
	uint64_t move_addr[32];
	unsigned int cfg_reads, cfg_writes;
	uint32_t reg, reg_len;
};

static void bar_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct bar_rec *r = ctx;

	r->reads++;
	r->off = off;
	r->len = len;
	memset(data, (uint8_t)(0x10 + off), len);
}

static void bar_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct bar_rec *r = ctx;

	r->writes++;
	r->off = off;
	r->len = len;
	r->val = 0;
	memcpy(&r->val, data, len < 4 ? len : 4);
}

static const struct bus_ops rec_ops = { .read = bar_read, .write = bar_write };

static void rec_bar_moved(void *ctx, unsigned int bar, uint64_t addr)
{
	struct bar_dev *b = ctx;

	ck_assert_uint_lt(b->moves, 32);
	b->move_bar[b->moves] = bar;
	b->move_addr[b->moves] = addr;
	b->moves++;
}

static void rec_config_written(void *ctx, uint32_t reg, uint32_t len)
{
	struct bar_dev *b = ctx;

	b->cfg_writes++;
	b->reg = reg;
	b->reg_len = len;
}

static void rec_config_reading(void *ctx, uint32_t reg, uint32_t len)
{
	struct bar_dev *b = ctx;

	b->cfg_reads++;
	b->reg = reg;
	b->reg_len = len;
}

static const struct pci_dev_ops rec_dev_ops = {
	.bar_moved = rec_bar_moved,
	.config_written = rec_config_written,
	.config_reading = rec_config_reading,
};

static void bar_dev_init(struct bar_dev *b)
{
	memset(b, 0, sizeof(*b));
	pci_dev_header(&b->d, 0x1234, 0x5678, 0xff0000);
	b->d.ops = &rec_dev_ops;
	b->d.ctx = b;
}

static int add_bar(struct bar_dev *b, unsigned int i, uint64_t size, bool is64)
{
	return pci_dev_add_bar(&b->d, i, size, is64, &rec_ops, &b->rec[i]);
}

/* A device with BAR 0 (64-bit, 32 KiB), BAR 2 (4 KiB) and BAR 3 (1 MiB) in slot 3. */
static void bar_dev_on_bus(struct pci *p, struct bar_dev *b)
{
	pci_ok(p);
	pci_set_window(p, WIN_BASE, WIN_SIZE);
	bar_dev_init(b);
	ck_assert_int_eq(add_bar(b, 0, 0x8000, true), 0);
	ck_assert_int_eq(add_bar(b, 2, 0x1000, false), 0);
	ck_assert_int_eq(add_bar(b, 3, 0x100000, false), 0);
	ck_assert_int_eq(pci_add(p, 3, &b->d), 0);
}

static void cfg_wr(struct pci *p, unsigned int dev, unsigned int reg, uint32_t v, uint32_t len)
{
	latch(p, cfg_addr(0, dev, 0, reg));
	wr(p, DATA_PORT + (reg & 3), v, len);
}

START_TEST(test_add_bar_validation)
{
	struct bar_dev b;

	bar_dev_init(&b);
	ck_assert_int_eq(add_bar(&b, PCI_BARS, 0x1000, false), -EINVAL);
	ck_assert_int_eq(add_bar(&b, 5, 0x1000, true), -EINVAL); /* no room for the high half */
	ck_assert_int_eq(add_bar(&b, 0, 0, false), -EINVAL);
	ck_assert_int_eq(add_bar(&b, 0, 2048, false), -EINVAL);	      /* below 4 KiB */
	ck_assert_int_eq(add_bar(&b, 0, 0x3000, false), -EINVAL);     /* not a power of two */
	ck_assert_int_eq(add_bar(&b, 0, 1ULL << 32, false), -EINVAL); /* too big for 32 bits */
	ck_assert_int_eq(pci_dev_add_bar(&b.d, 0, 0x1000, false, NULL, NULL), -EINVAL);
	ck_assert_int_eq(b.d.bar[0].size, 0);
	ck_assert_int_eq(add_bar(&b, 0, 1ULL << 31, false), 0);
	ck_assert_int_eq(add_bar(&b, 0, 0x1000, false), -EINVAL); /* taken */
	ck_assert_int_eq(add_bar(&b, 4, 1ULL << 32, true), 0);
	ck_assert_int_eq(add_bar(&b, 1, 0x1000, false), 0);
	/* Flags in the registers: memory, 32- or 64-bit. */
	ck_assert_uint_eq(b.d.cfg[PCI_BAR0] & 0xf, 0);
	ck_assert_uint_eq(b.d.cfg[PCI_BAR0 + 16] & 0xf, 4);
	ck_assert(b.d.bar[4].is64);
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, 0), 0);
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, 2), 0); /* unused */
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, PCI_BARS), 0);
}
END_TEST

START_TEST(test_add_bar_rejects_upper_half_of_64_bit_bar)
{
	struct bar_dev b;

	bar_dev_init(&b);
	ck_assert_int_eq(add_bar(&b, 0, 0x1000, true), 0);
	ck_assert_int_eq(add_bar(&b, 1, 0x1000, false), -EINVAL); /* BAR 0's high dword */
	ck_assert_int_eq(add_bar(&b, 1, 0x1000, true), -EINVAL);
	ck_assert_int_eq(add_bar(&b, 3, 0x1000, false), 0);
	ck_assert_int_eq(add_bar(&b, 2, 0x1000, true), -EINVAL); /* its high dword is BAR 3 */
}
END_TEST

START_TEST(test_pci_add_assigns_aligned_addresses)
{
	struct bar_dev a, c;
	struct pci p;
	uint64_t lo[4], hi[4];
	unsigned int n = 0;

	bar_dev_on_bus(&p, &a);
	bar_dev_init(&c);
	ck_assert_int_eq(add_bar(&c, 1, 0x4000, false), 0);
	ck_assert_int_eq(pci_add(&p, 4, &c.d), 0);
	for (unsigned int k = 0; k < 2; k++) {
		struct bar_dev *b = k ? &c : &a;

		for (unsigned int i = 0; i < PCI_BARS; i++) {
			uint64_t addr = pci_dev_bar_addr(&b->d, i), size = b->d.bar[i].size;

			if (!size)
				continue;
			ck_assert_uint_eq(addr % size, 0);
			ck_assert_uint_ge(addr, WIN_BASE);
			ck_assert_uint_le(addr + size, WIN_BASE + WIN_SIZE);
			lo[n] = addr;
			hi[n++] = addr + size;
		}
	}
	ck_assert_uint_eq(n, 4);
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = i + 1; j < n; j++)
			ck_assert(hi[i] <= lo[j] || hi[j] <= lo[i]);
	/* Each BAR's owner heard where it lives; the type bits survived. */
	ck_assert_uint_eq(a.moves, 3);
	ck_assert_uint_eq(a.move_bar[0], 0);
	ck_assert_uint_eq(a.move_addr[0], pci_dev_bar_addr(&a.d, 0));
	ck_assert_uint_eq(a.move_bar[1], 2);
	ck_assert_uint_eq(a.move_addr[1], pci_dev_bar_addr(&a.d, 2));
	ck_assert_uint_eq(a.move_bar[2], 3);
	ck_assert_uint_eq(a.move_addr[2], pci_dev_bar_addr(&a.d, 3));
	ck_assert_uint_eq(c.moves, 1);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0) & 0xf, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0) & ~0xfU, (uint32_t)pci_dev_bar_addr(&a.d, 0));
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0 + 4), 0);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_pci_add_window_full)
{
	struct bar_dev a, c;
	struct pci p;

	pci_ok(&p);
	pci_set_window(&p, WIN_BASE, 0x4000);
	bar_dev_init(&a);
	ck_assert_int_eq(add_bar(&a, 0, 0x8000, false), 0);
	ck_assert_int_eq(pci_add(&p, 3, &a.d), -ENOSPC);
	ck_assert_uint_eq(a.moves, 0);
	ck_assert_uint_eq(read_reg(&p, 3, 0x00), 0xffffffff); /* slot left empty */
	bar_dev_init(&c);
	ck_assert_int_eq(add_bar(&c, 0, 0x4000, false), 0);
	ck_assert_int_eq(pci_add(&p, 3, &c.d), 0);
	ck_assert_uint_eq(pci_dev_bar_addr(&c.d, 0), WIN_BASE);
	bar_dev_init(&a);
	ck_assert_int_eq(add_bar(&a, 0, 0x1000, false), 0);
	ck_assert_int_eq(pci_add(&p, 4, &a.d), -ENOSPC); /* the window is used up */
	pci_destroy(&p);
}
END_TEST

START_TEST(test_pci_add_huge_64_bit_bar_outside_window)
{
	struct bar_dev a;
	struct pci p;

	pci_ok(&p);
	bar_dev_init(&a);
	ck_assert_int_eq(add_bar(&a, 0, 1ULL << 63, true), 0);
	ck_assert_int_eq(pci_add(&p, 3, &a.d), -ENOSPC);
	ck_assert_uint_eq(a.moves, 0);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_bar_sizing_protocol)
{
	uint64_t bar0, bar3;
	struct bar_dev b;
	struct pci p;

	bar_dev_on_bus(&p, &b);
	bar0 = pci_dev_bar_addr(&b.d, 0);
	bar3 = pci_dev_bar_addr(&b.d, 3);
	b.moves = 0;
	/* 64-bit BAR 0 (32 KiB): both dwords. */
	cfg_wr(&p, 3, PCI_BAR0, 0xffffffff, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0), 0xffff8000U | 4);
	cfg_wr(&p, 3, PCI_BAR0 + 4, 0xffffffff, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0 + 4), 0xffffffff);
	/* 32-bit BAR 3 (1 MiB). */
	cfg_wr(&p, 3, PCI_BAR0 + 12, 0xffffffff, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0 + 12), 0xfff00000);
	/* An unused BAR reads 0 whatever is written. */
	cfg_wr(&p, 3, PCI_BAR0 + 16, 0xffffffff, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0 + 16), 0);
	/* The owner hears of each step, sizing patterns included. */
	ck_assert_uint_eq(b.moves, 3);
	ck_assert_uint_eq(b.move_addr[0], 0xffff8000ULL | (bar0 >> 32 << 32));
	ck_assert_uint_eq(b.move_addr[1], 0xffffffffffff8000ULL);
	ck_assert_uint_eq(b.move_bar[2], 3);
	ck_assert_uint_eq(b.move_addr[2], 0xfff00000);
	/* Restore, as firmware does. */
	cfg_wr(&p, 3, PCI_BAR0, (uint32_t)bar0, 4);
	cfg_wr(&p, 3, PCI_BAR0 + 4, (uint32_t)(bar0 >> 32), 4);
	cfg_wr(&p, 3, PCI_BAR0 + 12, (uint32_t)bar3, 4);
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, 0), bar0);
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, 3), bar3);
	ck_assert_uint_eq(b.move_addr[b.moves - 1], bar3);
	ck_assert_uint_eq(b.move_addr[b.moves - 2], bar0);
	ck_assert_uint_eq(b.cfg_writes, 1); /* only the unused BAR register went to the hook */
	pci_destroy(&p);
}
END_TEST

START_TEST(test_bar_sizing_above_4g)
{
	struct bar_dev b;
	struct pci p;

	pci_ok(&p);
	pci_set_window(&p, 0x100000000ULL, 0x400000000ULL);
	bar_dev_init(&b);
	ck_assert_int_eq(add_bar(&b, 0, 8ULL << 30, true), 0);
	ck_assert_int_eq(pci_add(&p, 3, &b.d), 0);
	cfg_wr(&p, 3, PCI_BAR0, 0xffffffff, 4);
	cfg_wr(&p, 3, PCI_BAR0 + 4, 0xffffffff, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0), 0x4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0 + 4), 0xfffffffe); /* ~(8 GiB - 1) >> 32 */
	pci_destroy(&p);
}
END_TEST

START_TEST(test_bar_relocation)
{
	struct bar_dev b;
	struct pci p;

	bar_dev_on_bus(&p, &b);
	b.moves = 0;
	cfg_wr(&p, 3, PCI_BAR0 + 8, 0xe0800000, 4);
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, 2), 0xe0800000);
	ck_assert_uint_eq(b.moves, 1);
	ck_assert_uint_eq(b.move_bar[0], 2);
	ck_assert_uint_eq(b.move_addr[0], 0xe0800000);
	/* Bits below the size cannot be set; the type bits are read-only. */
	cfg_wr(&p, 3, PCI_BAR0 + 8, 0xe0901fff, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0 + 8), 0xe0901000);
	ck_assert_uint_eq(b.move_addr[1], 0xe0901000);
	cfg_wr(&p, 3, PCI_BAR0, 0xe0a0000f, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0), 0xe0a00004);
	/* The high dword of a 64-bit BAR moves it above 4 GiB. */
	cfg_wr(&p, 3, PCI_BAR0 + 4, 0x2, 4);
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, 0), 0x2e0a00000ULL);
	ck_assert_uint_eq(b.move_bar[b.moves - 1], 0);
	ck_assert_uint_eq(b.move_addr[b.moves - 1], 0x2e0a00000ULL);
	/* A byte write into the middle of a BAR register. */
	cfg_wr(&p, 3, PCI_BAR0 + 8 + 2, 0xc0, 1);
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, 2), 0xe0c01000);
	pci_destroy(&p);
}
END_TEST

static uint32_t mmio_rd(struct pci *p, uint64_t addr, uint32_t len)
{
	uint32_t v = 0;

	pci_mmio_ops.read(p, addr - p->mmio_base, &v, len);
	return v;
}

static void mmio_wr(struct pci *p, uint64_t addr, uint32_t v, uint32_t len)
{
	pci_mmio_ops.write(p, addr - p->mmio_base, &v, len);
}

START_TEST(test_mmio_dispatch_needs_memory_enable)
{
	uint64_t bar0, bar2;
	struct bar_dev b;
	struct pci p;

	bar_dev_on_bus(&p, &b);
	bar0 = pci_dev_bar_addr(&b.d, 0);
	bar2 = pci_dev_bar_addr(&b.d, 2);
	ck_assert_uint_eq(mmio_rd(&p, bar0 + 0x10, 4), 0xffffffff);
	mmio_wr(&p, bar0 + 0x10, 1, 4);
	ck_assert_uint_eq(b.rec[0].reads + b.rec[0].writes, 0);

	cfg_wr(&p, 3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	ck_assert_uint_eq(mmio_rd(&p, bar0 + 0x10, 4), 0x20202020);
	ck_assert_uint_eq(b.rec[0].reads, 1);
	ck_assert_uint_eq(b.rec[0].off, 0x10);
	ck_assert_uint_eq(b.rec[0].len, 4);
	mmio_wr(&p, bar2 + 0xffe, 0xabcd, 2);
	ck_assert_uint_eq(b.rec[2].writes, 1);
	ck_assert_uint_eq(b.rec[2].off, 0xffe);
	ck_assert_uint_eq(b.rec[2].val, 0xabcd);
	/* The last bytes of a BAR are in; an access straddling its end is not. */
	ck_assert_uint_eq(mmio_rd(&p, bar0 + 0x7ffc, 4), 0x0c0c0c0c);
	ck_assert_uint_eq(b.rec[0].off, 0x7ffc);
	ck_assert_uint_eq(mmio_rd(&p, bar0 + 0x7ffe, 4), 0xffffffff);
	mmio_wr(&p, bar2 + 0xffd, 0, 4);
	ck_assert_uint_eq(b.rec[0].reads, 2);
	ck_assert_uint_eq(b.rec[2].writes, 1);
	/* Between BARs nothing answers. */
	ck_assert_uint_eq(mmio_rd(&p, bar0 + 0x8000 + 0x100000 * 4, 4), 0xffffffff);
	/* Memory decoding off again: silence. */
	cfg_wr(&p, 3, PCI_COMMAND, 0, 2);
	ck_assert_uint_eq(mmio_rd(&p, bar0, 4), 0xffffffff);
	ck_assert_uint_eq(b.rec[0].reads, 2);
	pci_destroy(&p);
}
END_TEST

/* ---- I/O BARs ---- */

static int add_io_bar(struct bar_dev *b, unsigned int i, uint32_t size)
{
	return pci_dev_add_io_bar(&b->d, i, size, &rec_ops, &b->rec[i]);
}

static uint32_t io_rd(struct pci *p, uint64_t port, uint32_t len)
{
	uint32_t v = 0;

	pci_io_ops.read(p, port - p->io_base, &v, len);
	return v;
}

static void io_wr(struct pci *p, uint64_t port, uint32_t v, uint32_t len)
{
	pci_io_ops.write(p, port - p->io_base, &v, len);
}

START_TEST(test_add_io_bar_validation)
{
	struct bar_dev b;

	bar_dev_init(&b);
	ck_assert_int_eq(add_io_bar(&b, PCI_BARS, 32), -EINVAL);
	ck_assert_int_eq(add_io_bar(&b, 0, 0), -EINVAL);
	ck_assert_int_eq(add_io_bar(&b, 0, 2), -EINVAL);   /* below 4 ports */
	ck_assert_int_eq(add_io_bar(&b, 0, 24), -EINVAL);  /* not a power of two */
	ck_assert_int_eq(add_io_bar(&b, 0, 512), -EINVAL); /* more than a function may decode */
	ck_assert_int_eq(pci_dev_add_io_bar(&b.d, 0, 32, NULL, NULL), -EINVAL);
	ck_assert_int_eq(add_bar(&b, 0, 0x1000, true), 0);
	ck_assert_int_eq(add_io_bar(&b, 0, 32), -EINVAL); /* taken */
	ck_assert_int_eq(add_io_bar(&b, 1, 32), -EINVAL); /* BAR 0's high dword */
	ck_assert_int_eq(add_io_bar(&b, 2, 256), 0);
	ck_assert_int_eq(add_bar(&b, 2, 0x1000, false), -EINVAL);
	ck_assert_int_eq(add_io_bar(&b, 3, 4), 0);
	ck_assert_uint_eq(b.d.cfg[PCI_BAR0 + 8] & 3, 1); /* I/O space */
	ck_assert(b.d.bar[2].io && !b.d.bar[2].is64);
	ck_assert(!b.d.bar[0].io);
}
END_TEST

/* BAR 0 memory (4 KiB), BAR 1 I/O (32 ports), BAR 2 I/O (4 ports) in slot 3; slot 4: BAR 0 I/O (256). */
START_TEST(test_io_bars_placed_in_io_window)
{
	struct bar_dev a, c;
	struct pci p;

	pci_ok(&p);
	ck_assert_uint_eq(p.io_base, 0xc000);
	pci_set_io_window(&p, 0x1000, 0x200);
	bar_dev_init(&a);
	ck_assert_int_eq(add_bar(&a, 0, 0x1000, false), 0);
	ck_assert_int_eq(add_io_bar(&a, 1, 32), 0);
	ck_assert_int_eq(add_io_bar(&a, 2, 4), 0);
	ck_assert_int_eq(pci_add(&p, 3, &a.d), 0);
	ck_assert_uint_eq(pci_dev_bar_addr(&a.d, 0), p.mmio_base);
	ck_assert_uint_eq(pci_dev_bar_addr(&a.d, 1), 0x1000);
	ck_assert_uint_eq(pci_dev_bar_addr(&a.d, 2), 0x1020);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0 + 4), 0x1001);
	ck_assert_uint_eq(a.moves, 3);
	ck_assert_uint_eq(a.move_addr[1], 0x1000);
	/* 256 ports, naturally aligned: 0x1100-0x11ff is the last that fits. */
	bar_dev_init(&c);
	ck_assert_int_eq(add_io_bar(&c, 0, 256), 0);
	ck_assert_int_eq(pci_add(&p, 4, &c.d), 0);
	ck_assert_uint_eq(pci_dev_bar_addr(&c.d, 0), 0x1100);
	/* The window is full: the next device is refused, nothing of it placed. */
	bar_dev_init(&c);
	ck_assert_int_eq(add_bar(&c, 0, 0x1000, false), 0);
	ck_assert_int_eq(add_io_bar(&c, 1, 4), 0);
	ck_assert_int_eq(pci_add(&p, 5, &c.d), -ENOSPC);
	ck_assert_uint_eq(c.moves, 0);
	ck_assert_uint_eq(pci_dev_bar_addr(&c.d, 0), 0);
	ck_assert_uint_eq(read_reg(&p, 5, 0x00), 0xffffffff);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_io_bar_sizing_and_relocation)
{
	struct bar_dev b;
	struct pci p;
	uint64_t port;

	pci_ok(&p);
	bar_dev_init(&b);
	ck_assert_int_eq(add_io_bar(&b, 1, 32), 0);
	ck_assert_int_eq(pci_add(&p, 3, &b.d), 0);
	port = pci_dev_bar_addr(&b.d, 1);
	ck_assert_uint_eq(port, 0xc000);
	b.moves = 0;
	/* Sizing: ports are 16 bits here, so the upper half reads 0; the space bit stays. */
	cfg_wr(&p, 3, PCI_BAR0 + 4, 0xffffffff, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0 + 4), 0xffe1);
	ck_assert_uint_eq(b.move_addr[0], 0xffe0);
	/* Moved by the guest; bits below the size and the space bit cannot be changed. */
	cfg_wr(&p, 3, PCI_BAR0 + 4, 0xd01e, 4);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_BAR0 + 4), 0xd001);
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, 1), 0xd000);
	cfg_wr(&p, 3, PCI_BAR0 + 4 + 1, 0xc1, 1);
	ck_assert_uint_eq(pci_dev_bar_addr(&b.d, 1), 0xc100);
	ck_assert_uint_eq(b.moves, 3);
	ck_assert_uint_eq(b.move_bar[2], 1);
	ck_assert_uint_eq(b.move_addr[2], 0xc100);
	pci_destroy(&p);
}
END_TEST

/* A bus with one function in slot 3: a 4 KiB memory BAR 0 at *mem, a 32-port I/O BAR 1 at *port. */
static void slot3_mem_and_io(struct pci *p, struct bar_dev *b, uint64_t *mem, uint64_t *port)
{
	pci_ok(p);
	bar_dev_init(b);
	ck_assert_int_eq(add_bar(b, 0, 0x1000, false), 0);
	ck_assert_int_eq(add_io_bar(b, 1, 32), 0);
	ck_assert_int_eq(pci_add(p, 3, &b->d), 0);
	*mem = pci_dev_bar_addr(&b->d, 0);
	*port = pci_dev_bar_addr(&b->d, 1);
}

/* --trace: a window names the function and BAR behind an address, by name or by slot. */
START_TEST(test_window_describes_the_bar)
{
	struct bar_dev b;
	struct pci p;
	uint64_t mem, port;
	char what[40];

	slot3_mem_and_io(&p, &b, &mem, &port);
	pci_mmio_ops.describe(&p, mem + 8 - p.mmio_base, what, sizeof(what));
	ck_assert_str_eq(what, "no BAR"); /* decoding off */
	cfg_wr(&p, 3, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	pci_mmio_ops.describe(&p, mem + 8 - p.mmio_base, what, sizeof(what));
	ck_assert_str_eq(what, "00:03.0 BAR 0");
	b.d.name = "vdb";
	pci_io_ops.describe(&p, port + 31 - p.io_base, what, sizeof(what));
	ck_assert_str_eq(what, "vdb BAR 1");
	pci_io_ops.describe(&p, port + 32 - p.io_base, what, sizeof(what));
	ck_assert_str_eq(what, "no BAR");
	pci_destroy(&p);
}
END_TEST

START_TEST(test_io_dispatch_needs_io_enable)
{
	struct bar_dev b;
	struct pci p;
	uint64_t mem, port;

	slot3_mem_and_io(&p, &b, &mem, &port);
	/* Memory decoding does not open the ports. */
	cfg_wr(&p, 3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	ck_assert_uint_eq(io_rd(&p, port + 4, 2), 0xffff);
	io_wr(&p, port, 1, 2);
	ck_assert_uint_eq(b.rec[1].reads + b.rec[1].writes, 0);
	cfg_wr(&p, 3, PCI_COMMAND, PCI_COMMAND_IO, 2);
	ck_assert_uint_eq(io_rd(&p, port + 4, 2), 0x1414);
	ck_assert_uint_eq(b.rec[1].off, 4);
	io_wr(&p, port + 30, 0xbeef, 2);
	ck_assert_uint_eq(b.rec[1].writes, 1);
	ck_assert_uint_eq(b.rec[1].off, 30);
	ck_assert_uint_eq(b.rec[1].val, 0xbeef);
	/* Straddling the end, or past it: nobody. */
	io_wr(&p, port + 30, 0, 4);
	ck_assert_uint_eq(io_rd(&p, port + 32, 1), 0xff);
	ck_assert_uint_eq(b.rec[1].writes, 1);
	/* I/O decoding alone does not open memory, and the windows do not mix: both
	 * BARs start their window, yet the port access reaches the I/O BAR only. */
	ck_assert_uint_eq(mmio_rd(&p, mem, 4), 0xffffffff);
	ck_assert_uint_eq(mem - p.mmio_base, port - p.io_base);
	cfg_wr(&p, 3, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	ck_assert_uint_eq(io_rd(&p, port, 4), 0x10101010);
	ck_assert_uint_eq(b.rec[1].reads, 2);
	ck_assert_uint_eq(b.rec[0].reads + b.rec[0].writes, 0);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_capability_chain)
{
	static const uint8_t body[] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7 };
	struct bar_dev b;
	struct pci p;
	int c1, c2, c3;

	pci_ok(&p);
	bar_dev_init(&b);
	ck_assert_uint_eq(b.d.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST, 0);
	ck_assert_uint_eq(b.d.cfg[PCI_CAP_PTR], 0);
	c1 = pci_dev_add_cap(&b.d, 0x09, body, 6);
	c2 = pci_dev_add_cap(&b.d, 0x11, body, 10);
	c3 = pci_dev_add_cap(&b.d, 0x05, body, 2);
	ck_assert_int_eq(c1, PCI_CAP_FIRST);
	ck_assert_int_eq(c2, PCI_CAP_FIRST + 8); /* 6 bytes, rounded up to a dword */
	ck_assert_int_eq(c3, PCI_CAP_FIRST + 20);
	ck_assert(b.d.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	ck_assert_int_eq(pci_add(&p, 3, &b.d), 0);
	ck_assert_uint_eq((read_reg(&p, 3, PCI_COMMAND) >> 16) & PCI_STATUS_CAP_LIST,
			  PCI_STATUS_CAP_LIST);
	ck_assert_uint_eq(read_reg(&p, 3, PCI_CAP_PTR) & 0xff, c1);
	ck_assert_uint_eq(read_reg(&p, 3, c1), 0xa1a0U << 16 | c2 << 8 | 0x09);
	ck_assert_uint_eq(read_reg(&p, 3, c2), 0xa1a0U << 16 | c3 << 8 | 0x11);
	ck_assert_uint_eq(read_reg(&p, 3, c2 + 4), 0xa5a4a3a2);
	ck_assert_uint_eq(read_reg(&p, 3, c3) & 0xffff, 0x05); /* last: next 0 */
	/* Capabilities are read-only. */
	cfg_wr(&p, 3, c2, 0xffffffff, 4);
	ck_assert_uint_eq(read_reg(&p, 3, c2), 0xa1a0U << 16 | c3 << 8 | 0x11);
	/* Full: the space ends at 256. */
	ck_assert_int_eq(pci_dev_add_cap(&b.d, 0x09, body, 1), -ENOSPC);
	for (int i = 0; i < 64; i++) {
		int at = pci_dev_add_cap(&b.d, 0x09, body, 8);

		if (at < 0)
			break;
		ck_assert_int_ge(at, PCI_CAP_FIRST);
		ck_assert_int_le(at + 8, PCI_CFG_SIZE);
	}
	ck_assert_int_eq(pci_dev_add_cap(&b.d, 0x09, body, 8), -ENOSPC);
	ck_assert_int_eq(pci_dev_add_cap(&b.d, 0x09, body, 2), -ENOSPC);
	ck_assert_uint_eq(read_reg(&p, 3, 0x00), 0x56781234); /* the header is intact */
	pci_destroy(&p);
}
END_TEST

START_TEST(test_config_hooks)
{
	struct bar_dev b;
	struct pci p;

	bar_dev_on_bus(&p, &b);
	ck_assert_uint_eq(read_reg(&p, 3, 0x3c) & 0xff, 0);
	ck_assert_uint_eq(b.cfg_reads, 1);
	ck_assert_uint_eq(b.reg, 0x3c);
	ck_assert_uint_eq(b.reg_len, 4);
	latch(&p, cfg_addr(0, 3, 0, 0x08));
	(void)rd(&p, DATA_PORT + 2, 2);
	ck_assert_uint_eq(b.cfg_reads, 2);
	ck_assert_uint_eq(b.reg, 0x0a);
	ck_assert_uint_eq(b.reg_len, 2);
	cfg_wr(&p, 3, PCI_INTERRUPT_LINE, 0x0b, 1);
	ck_assert_uint_eq(b.cfg_writes, 1);
	ck_assert_uint_eq(b.reg, PCI_INTERRUPT_LINE);
	ck_assert_uint_eq(b.reg_len, 1);
	ck_assert_uint_eq(b.d.cfg[PCI_INTERRUPT_LINE], 0x0b); /* stored before the hook ran */
	cfg_wr(&p, 3, PCI_BAR0 + 8, 0xe0800000, 4);	      /* BARs: bar_moved instead */
	ck_assert_uint_eq(b.cfg_writes, 1);
	pci_destroy(&p);
}
END_TEST

Suite *pci_suite(void)
{
	Suite *s = suite_create("pci");
	TCase *cfg_tc = tcase_create("config");
	TCase *bar_tc = tcase_create("bars and capabilities");

	tcase_add_test(cfg_tc, test_address_latch_reads_back);
	tcase_add_test(cfg_tc, test_address_latch_needs_4_byte_access);
	tcase_add_test(cfg_tc, test_host_bridge_identity);
	tcase_add_test(cfg_tc, test_absent_slot_reads_all_ones);
	tcase_add_test(cfg_tc, test_other_bus_reads_all_ones);
	tcase_add_test(cfg_tc, test_other_function_reads_all_ones);
	tcase_add_test(cfg_tc, test_disabled_latch_reads_all_ones);
	tcase_add_test(cfg_tc, test_byte_and_word_reads_in_data_window);
	tcase_add_test(cfg_tc, test_access_past_data_window_reads_all_ones);
	tcase_add_test(cfg_tc, test_command_register_writable_within_mask);
	tcase_add_test(cfg_tc, test_vendor_id_read_only);
	tcase_add_test(cfg_tc, test_write_with_disabled_latch_ignored);
	tcase_add_test(cfg_tc, test_add_errors);
	tcase_add_test(cfg_tc, test_added_device_visible_in_its_slot);
	suite_add_tcase(s, cfg_tc);

	tcase_add_test(bar_tc, test_add_bar_validation);
	tcase_add_test(bar_tc, test_add_bar_rejects_upper_half_of_64_bit_bar);
	tcase_add_test(bar_tc, test_pci_add_assigns_aligned_addresses);
	tcase_add_test(bar_tc, test_pci_add_window_full);
	tcase_add_test(bar_tc, test_pci_add_huge_64_bit_bar_outside_window);
	tcase_add_test(bar_tc, test_bar_sizing_protocol);
	tcase_add_test(bar_tc, test_bar_sizing_above_4g);
	tcase_add_test(bar_tc, test_bar_relocation);
	tcase_add_test(bar_tc, test_mmio_dispatch_needs_memory_enable);
	tcase_add_test(bar_tc, test_add_io_bar_validation);
	tcase_add_test(bar_tc, test_io_bars_placed_in_io_window);
	tcase_add_test(bar_tc, test_io_bar_sizing_and_relocation);
	tcase_add_test(bar_tc, test_io_dispatch_needs_io_enable);
	tcase_add_test(bar_tc, test_window_describes_the_bar);
	tcase_add_test(bar_tc, test_capability_chain);
	tcase_add_test(bar_tc, test_config_hooks);
	suite_add_tcase(s, bar_tc);
	return s;
}
