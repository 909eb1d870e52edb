/*
 * devices/pci: the ECAM window (pci_ecam_ops) against configuration
 * mechanism #1 (pci_config_ops): the same functions, registers, write masks,
 * BAR sizing and hooks; extended space; other buses and functions, widths
 * and alignments a hostile guest may use.
 */
#include <string.h>

#include "devices/pci.h"
#include "tests/unit/suites.h"

#define DATA_PORT 4 /* 0xcfc within the 0xcf8 window */
#define SLOT 3

static uint64_t ecam_off(unsigned int bus, unsigned int dev, unsigned int fn, uint32_t reg)
{
	return (uint64_t)bus << 20 | dev << 15 | fn << 12 | reg;
}

/* An ECAM read of `len` bytes, zero-extended. */
static uint64_t erd(struct pci *p, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	pci_ecam_ops.read(p, off, &v, len);
	return v;
}

static void ewr(struct pci *p, uint64_t off, uint64_t v, uint32_t len)
{
	pci_ecam_ops.write(p, off, &v, len);
}

/* A read of `len` bytes at register `reg` of 00:dev.0 through 0xcf8/0xcfc. */
static uint32_t cf8_rd(struct pci *p, unsigned int dev, uint32_t reg, uint32_t len)
{
	uint32_t addr = 0x80000000U | dev << 11 | (reg & 0xfc), v = 0;

	pci_config_ops.write(p, 0, &addr, 4);
	pci_config_ops.read(p, DATA_PORT + (reg & 3), &v, len);
	return v;
}

/* A function in SLOT with a 64-bit BAR 0 (16 KiB) and a 32-bit BAR 2 (4 KiB), hooks recorded. */
struct fn {
	struct pci_dev d;
	unsigned int moves, cfg_reads, cfg_writes;
	unsigned int move_bar;
	uint64_t move_addr;
	uint32_t reg, reg_len;
};

static void bar_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	(void)ctx, (void)off;
	memset(data, 0x5a, len);
}

static void bar_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	(void)ctx, (void)off, (void)data, (void)len;
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

static void fn_bar_moved(void *ctx, unsigned int bar, uint64_t addr)
{
	struct fn *f = ctx;

	f->moves++;
	f->move_bar = bar;
	f->move_addr = addr;
}

static void fn_config_written(void *ctx, uint32_t reg, uint32_t len)
{
	struct fn *f = ctx;

	f->cfg_writes++;
	f->reg = reg;
	f->reg_len = len;
}

static void fn_config_reading(void *ctx, uint32_t reg, uint32_t len)
{
	struct fn *f = ctx;

	f->cfg_reads++;
	f->reg = reg;
	f->reg_len = len;
}

static const struct pci_dev_ops fn_ops = {
	.bar_moved = fn_bar_moved,
	.config_written = fn_config_written,
	.config_reading = fn_config_reading,
};

static void bus_with_fn(struct pci *p, struct fn *f)
{
	ck_assert_int_eq(pci_init(p), 0);
	pci_set_window(p, 0x10000000, 0x10000000); /* arm64 puts its 32-bit window low */
	memset(f, 0, sizeof(*f));
	pci_dev_header(&f->d, 0x1af4, 0x1042, 0x010000);
	f->d.ops = &fn_ops;
	f->d.ctx = f;
	ck_assert_int_eq(pci_dev_add_bar(&f->d, 0, 0x4000, true, &bar_ops, f), 0);
	ck_assert_int_eq(pci_dev_add_bar(&f->d, 2, 0x1000, false, &bar_ops, f), 0);
	pci_dev_set_intx(&f->d, 5);
	ck_assert_int_eq(pci_add(p, SLOT, &f->d), 0);
	f->moves = 0;
}

START_TEST(test_host_bridge_identity_as_through_cf8)
{
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	ck_assert_uint_eq(erd(&p, ecam_off(0, 0, 0, 0x00), 2), 0x8086);
	ck_assert_uint_eq(erd(&p, ecam_off(0, 0, 0, 0x02), 2), 0x0d57);
	ck_assert_uint_eq(erd(&p, ecam_off(0, 0, 0, 0x00), 4), cf8_rd(&p, 0, 0x00, 4));
	ck_assert_uint_eq(erd(&p, ecam_off(0, 0, 0, 0x08), 4) >> 8, 0x060000);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_function_identity_as_through_cf8)
{
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, 0x00), 4), 0x10421af4);
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, 0x00), 4), cf8_rd(&p, SLOT, 0x00, 4));
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, 0x0b), 1), 0x01); /* base class */
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, 0x3d), 1), 1);	  /* INTA# */
	pci_destroy(&p);
}
END_TEST

/* Every register of every slot, at every width and aligned offset: ECAM reads what 0xcfc does. */
START_TEST(test_whole_config_space_matches_cf8)
{
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	for (unsigned int dev = 0; dev < PCI_SLOTS; dev++)
		for (uint32_t len = 1; len <= 4; len *= 2)
			for (uint32_t reg = 0; reg < PCI_CFG_SIZE; reg += len)
				ck_assert_msg(erd(&p, ecam_off(0, dev, 0, reg), len) ==
						      cf8_rd(&p, dev, reg, len),
					      "00:%02x.0 reg 0x%02x len %u", dev, reg, len);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_writes_reach_the_same_space)
{
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	ewr(&p, ecam_off(0, SLOT, 0, PCI_COMMAND), 0xffff, 2);
	ck_assert_uint_eq(cf8_rd(&p, SLOT, PCI_COMMAND, 2), 0x0547); /* under the write mask */
	ck_assert_uint_eq(f.cfg_writes, 1);
	ck_assert_uint_eq(f.reg, PCI_COMMAND);
	ck_assert_uint_eq(f.reg_len, 2);
	ewr(&p, ecam_off(0, SLOT, 0, PCI_INTERRUPT_LINE), 0x2a, 1);
	ck_assert_uint_eq(f.d.cfg[PCI_INTERRUPT_LINE], 0x2a);
	ewr(&p, ecam_off(0, SLOT, 0, 0x00), 0xffffffff, 4); /* identity: read-only */
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, 0x00), 4), 0x10421af4);
	f.cfg_reads = 0;
	(void)erd(&p, ecam_off(0, SLOT, 0, 0x0a), 2);
	ck_assert_uint_eq(f.cfg_reads, 1); /* the device refreshes what is read */
	ck_assert_uint_eq(f.reg, 0x0a);
	ck_assert_uint_eq(f.reg_len, 2);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_bar_sizing_through_ecam)
{
	uint64_t bar0, bar2;
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	bar0 = pci_dev_bar_addr(&f.d, 0);
	bar2 = pci_dev_bar_addr(&f.d, 2);
	ck_assert_uint_eq(bar0, 0x10000000);
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, PCI_BAR0), 4), (uint32_t)bar0 | 4);
	/* Linux's __pci_read_base(): all ones into each dword, read the size back, restore. */
	ewr(&p, ecam_off(0, SLOT, 0, PCI_BAR0), 0xffffffff, 4);
	ewr(&p, ecam_off(0, SLOT, 0, PCI_BAR0 + 4), 0xffffffff, 4);
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, PCI_BAR0), 4), 0xffffc000U | 4);
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, PCI_BAR0 + 4), 4), 0xffffffff);
	ewr(&p, ecam_off(0, SLOT, 0, PCI_BAR0 + 8), 0xffffffff, 4);
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, PCI_BAR0 + 8), 4), 0xfffff000);
	ck_assert_uint_eq(cf8_rd(&p, SLOT, PCI_BAR0 + 8, 4), 0xfffff000);
	ck_assert_uint_eq(f.moves, 3);
	ck_assert_uint_eq(f.move_bar, 2);
	ewr(&p, ecam_off(0, SLOT, 0, PCI_BAR0), (uint32_t)bar0, 4);
	ewr(&p, ecam_off(0, SLOT, 0, PCI_BAR0 + 4), (uint32_t)(bar0 >> 32), 4);
	ewr(&p, ecam_off(0, SLOT, 0, PCI_BAR0 + 8), (uint32_t)bar2, 4);
	ck_assert_uint_eq(pci_dev_bar_addr(&f.d, 0), bar0);
	ck_assert_uint_eq(pci_dev_bar_addr(&f.d, 2), bar2);
	ck_assert_uint_eq(f.move_addr, bar2);
	ck_assert_uint_eq(f.cfg_writes, 0); /* BAR writes go to bar_moved() only */
	/* Unused BARs read 0 whatever is written. */
	ewr(&p, ecam_off(0, SLOT, 0, PCI_BAR0 + 12), 0xffffffff, 4);
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, PCI_BAR0 + 12), 4), 0);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_extended_space_reads_zero)
{
	static const uint32_t regs[] = { 0x100, 0x104, 0x200, 0x800, 0xffc };
	uint8_t before[PCI_CFG_SIZE];
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	memcpy(before, f.d.cfg, sizeof(before));
	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, regs[i]), 4), 0);
		ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, regs[i] + 2), 2), 0);
		ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, regs[i] + 3), 1), 0);
		ck_assert_uint_eq(erd(&p, ecam_off(0, 0, 0, regs[i]), 4), 0);
		/* An absent function has no extended space either. */
		ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT + 1, 0, regs[i]), 4), 0xffffffff);
		ewr(&p, ecam_off(0, SLOT, 0, regs[i]), 0xffffffff, 4);
		ewr(&p, ecam_off(0, SLOT, 0, regs[i] + 1), 0xff, 1);
	}
	ck_assert_mem_eq(f.d.cfg, before, sizeof(before));
	ck_assert_uint_eq(f.cfg_writes, 0);
	ck_assert_uint_eq(f.cfg_reads, 0);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_other_buses_read_all_ones)
{
	static const uint64_t offs[] = {
		1ULL << 20, (1ULL << 20) | (SLOT << 15), 255ULL << 20, (255ULL << 20) | 0xfffff,
		1ULL << 28, 1ULL << 40, UINT64_MAX - 3, UINT64_MAX & ~0xfffffULL,
	};
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	for (unsigned int i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		ck_assert_uint_eq(erd(&p, offs[i], 4), 0xffffffff);
		ck_assert_uint_eq(erd(&p, offs[i] & ~1ULL, 2), 0xffff);
		/* Bus 1's command register of the same slot: bus 0's stays. */
		ewr(&p, (offs[i] & ~0xfffULL) | PCI_COMMAND, 0x7, 2);
	}
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, PCI_COMMAND), 2), 0);
	ck_assert_uint_eq(erd(&p, ecam_off(0, 0, 0, PCI_COMMAND), 2), 0);
	ck_assert_uint_eq(f.cfg_writes, 0);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_other_functions_read_all_ones)
{
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	for (unsigned int fn = 1; fn < 8; fn++) {
		ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, fn, 0), 4), 0xffffffff);
		ck_assert_uint_eq(erd(&p, ecam_off(0, 0, fn, 0), 2), 0xffff);
		ewr(&p, ecam_off(0, SLOT, fn, PCI_COMMAND), 0x7, 2);
	}
	ck_assert_uint_eq(erd(&p, ecam_off(0, SLOT, 0, PCI_COMMAND), 2), 0);
	pci_destroy(&p);
}
END_TEST

static const struct {
	uint32_t reg, len;
} bad_width[] = {
	{ 0x01, 2 }, { 0x03, 2 }, { 0x02, 4 }, { 0x01, 4 }, { 0x05, 4 }, { 0x00, 8 },
	{ 0x04, 8 }, { 0x00, 3 }, { 0x04, 0 }, { 0xfff, 2 }, { 0xffe, 4 }, { 0x3d, 2 },
};

START_TEST(test_misaligned_or_odd_width_ignored)
{
	uint8_t buf[8], before[PCI_CFG_SIZE];
	uint64_t off = ecam_off(0, SLOT, 0, bad_width[_i].reg);
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	memcpy(before, f.d.cfg, sizeof(before));
	memset(buf, 0, sizeof(buf));
	pci_ecam_ops.read(&p, off, buf, bad_width[_i].len);
	for (uint32_t i = 0; i < bad_width[_i].len; i++)
		ck_assert_uint_eq(buf[i], 0xff);
	memset(buf, 0xff, sizeof(buf));
	pci_ecam_ops.write(&p, off, buf, bad_width[_i].len);
	ck_assert_mem_eq(f.d.cfg, before, sizeof(before));
	ck_assert_uint_eq(f.cfg_writes + f.cfg_reads + f.moves, 0);
	pci_destroy(&p);
}
END_TEST

/* Every device, function and a spread of registers and widths: the rule, and no crash. */
START_TEST(test_hostile_sweep)
{
	static const uint32_t regs[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x10, 0x3c, 0x3e,
					 0xfc, 0xfd, 0xff, 0x100, 0x101, 0xffc, 0xffd, 0xfff };
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	for (unsigned int dev = 0; dev < PCI_SLOTS; dev++)
		for (unsigned int fn = 0; fn < 8; fn++)
			for (unsigned int r = 0; r < sizeof(regs) / sizeof(regs[0]); r++)
				for (uint32_t len = 1; len <= 8; len *= 2) {
					uint32_t reg = regs[r];
					bool present = fn == 0 && (dev == 0 || dev == SLOT);
					bool aligned = len < 8 && !(reg & (len - 1));
					uint64_t ones = len == 8 ? UINT64_MAX : (1ULL << (8 * len)) - 1;
					uint64_t want = !present || !aligned ? ones
							: reg >= PCI_CFG_SIZE   ? 0
										: cf8_rd(&p, dev, reg, len);

					ck_assert_uint_eq(erd(&p, ecam_off(0, dev, fn, reg), len), want);
				}
	pci_destroy(&p);
}
END_TEST

START_TEST(test_ecam_leaves_the_cf8_latch)
{
	uint32_t latch = 0x80001810, v = 0;
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	pci_config_ops.write(&p, 0, &latch, 4);
	(void)erd(&p, ecam_off(0, 0, 0, 0), 4);
	ewr(&p, ecam_off(0, SLOT, 0, PCI_INTERRUPT_LINE), 1, 1);
	pci_config_ops.read(&p, 0, &v, 4);
	ck_assert_uint_eq(v, latch);
	pci_destroy(&p);
}
END_TEST

START_TEST(test_describe_names_the_function)
{
	char buf[64];
	struct pci p;
	struct fn f;

	bus_with_fn(&p, &f);
	pci_ecam_ops.describe(&p, ecam_off(0, 0, 0, 0x04), buf, sizeof(buf));
	ck_assert_str_eq(buf, "00:00.0 config 0x04");
	pci_ecam_ops.describe(&p, ecam_off(0, SLOT, 0, 0x10), buf, sizeof(buf));
	ck_assert_str_eq(buf, "00:03.0 config 0x10");
	f.d.name = "vda";
	pci_ecam_ops.describe(&p, ecam_off(0, SLOT, 0, 0x104), buf, sizeof(buf));
	ck_assert_str_eq(buf, "vda config 0x104");
	pci_ecam_ops.describe(&p, ecam_off(0, 5, 0, 0), buf, sizeof(buf));
	ck_assert_str_eq(buf, "no function");
	pci_ecam_ops.describe(&p, ecam_off(1, 0, 0, 0), buf, sizeof(buf));
	ck_assert_str_eq(buf, "no function");
	pci_destroy(&p);
}
END_TEST

Suite *pci_ecam_suite(void)
{
	Suite *s = suite_create("pci_ecam");
	TCase *tc = tcase_create("ecam");
	TCase *hostile_tc = tcase_create("hostile");

	tcase_add_test(tc, test_host_bridge_identity_as_through_cf8);
	tcase_add_test(tc, test_function_identity_as_through_cf8);
	tcase_add_test(tc, test_whole_config_space_matches_cf8);
	tcase_add_test(tc, test_writes_reach_the_same_space);
	tcase_add_test(tc, test_bar_sizing_through_ecam);
	tcase_add_test(tc, test_extended_space_reads_zero);
	tcase_add_test(tc, test_ecam_leaves_the_cf8_latch);
	tcase_add_test(tc, test_describe_names_the_function);
	suite_add_tcase(s, tc);

	tcase_add_test(hostile_tc, test_other_buses_read_all_ones);
	tcase_add_test(hostile_tc, test_other_functions_read_all_ones);
	tcase_add_loop_test(hostile_tc, test_misaligned_or_odd_width_ignored, 0,
			    sizeof(bad_width) / sizeof(bad_width[0]));
	tcase_add_test(hostile_tc, test_hostile_sweep);
	suite_add_tcase(s, hostile_tc);
	return s;
}
