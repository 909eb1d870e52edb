/* devices/pci: configuration mechanism #1 at 0xcf8-0xcff, driven through pci_config_ops. */
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

Suite *pci_suite(void)
{
	Suite *s = suite_create("pci");
	TCase *cfg_tc = tcase_create("config");

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
	return s;
}
