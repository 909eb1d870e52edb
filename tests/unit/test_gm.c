/* vmm/gm: the one checked door from guest physical addresses to host memory. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "tests/unit/suites.h"
#include "vmm/gm.h"

#define MIB (1ULL << 20)
#define FAKE_HOLE MIB /* low RAM ends at 1 MiB, the rest starts at 4 GiB */

static void init_ok(struct gm *m, uint64_t ram, uint64_t hole)
{
	ck_assert_int_eq(gm_init(m, ram, hole), 0);
}

START_TEST(test_init_rejects_zero_size)
{
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 0, FAKE_HOLE), -EINVAL);
	ck_assert_uint_eq(m.nr, 0);
}
END_TEST

START_TEST(test_init_rejects_size_not_4k_multiple)
{
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 4097, FAKE_HOLE), -EINVAL);
	ck_assert_int_eq(gm_init(&m, 0x1800, FAKE_HOLE), -EINVAL);
	ck_assert_int_eq(gm_init(&m, MIB - 1, FAKE_HOLE), -EINVAL);
	ck_assert_ptr_null(m.map);
}
END_TEST

START_TEST(test_init_rejects_bad_hole)
{
	struct gm m;

	ck_assert_int_eq(gm_init(&m, MIB, 0), -EINVAL);
	ck_assert_int_eq(gm_init(&m, MIB, LAYOUT_4G + 0x1000), -EINVAL);
}
END_TEST

START_TEST(test_init_below_hole_is_one_region)
{
	struct gm m;

	init_ok(&m, 512 << 10, FAKE_HOLE);
	ck_assert_uint_eq(m.nr, 1);
	ck_assert_uint_eq(m.region[0].gpa, 0);
	ck_assert_uint_eq(m.region[0].size, 512 << 10);
	ck_assert_uint_eq(gm_low_end(&m), 512 << 10);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_init_equal_to_hole_is_one_region)
{
	struct gm m;

	init_ok(&m, FAKE_HOLE, FAKE_HOLE);
	ck_assert_uint_eq(m.nr, 1);
	ck_assert_uint_eq(gm_low_end(&m), FAKE_HOLE);
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_4G, 1));
	gm_destroy(&m);
}
END_TEST

START_TEST(test_init_above_hole_splits_at_4g)
{
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	ck_assert_uint_eq(m.nr, 2);
	ck_assert_uint_eq(m.region[0].gpa, 0);
	ck_assert_uint_eq(m.region[0].size, FAKE_HOLE);
	ck_assert_uint_eq(m.region[1].gpa, LAYOUT_4G);
	ck_assert_uint_eq(m.region[1].size, 2 * MIB);
	ck_assert_uint_eq(gm_low_end(&m), FAKE_HOLE);
	ck_assert_uint_eq(m.ram_size, 3 * MIB);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_ptr_first_and_last_byte_of_each_region)
{
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	ck_assert_ptr_eq(gm_ptr(&m, 0, 1), m.map);
	ck_assert_ptr_eq(gm_ptr(&m, FAKE_HOLE - 1, 1), m.map + FAKE_HOLE - 1);
	ck_assert_ptr_eq(gm_ptr(&m, LAYOUT_4G, 1), m.map + FAKE_HOLE);
	ck_assert_ptr_eq(gm_ptr(&m, LAYOUT_4G + 2 * MIB - 1, 1), m.map + 3 * MIB - 1);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_ptr_whole_region_ok_one_more_byte_not)
{
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	ck_assert_ptr_eq(gm_ptr(&m, 0, FAKE_HOLE), m.map);
	ck_assert_ptr_null(gm_ptr(&m, 0, FAKE_HOLE + 1));
	ck_assert_ptr_eq(gm_ptr(&m, LAYOUT_4G, 2 * MIB), m.map + FAKE_HOLE);
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_4G, 2 * MIB + 1));
	gm_destroy(&m);
}
END_TEST

START_TEST(test_ptr_len_zero_is_null)
{
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	ck_assert_ptr_null(gm_ptr(&m, 0, 0));
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_4G, 0));
	gm_destroy(&m);
}
END_TEST

START_TEST(test_ptr_crossing_region_end_is_null)
{
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	ck_assert_ptr_null(gm_ptr(&m, FAKE_HOLE - 1, 2));
	ck_assert_ptr_null(gm_ptr(&m, FAKE_HOLE - 4, 8));
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_4G + 2 * MIB - 4, 8));
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_4G - 1, 2)); /* from the hole into RAM */
	gm_destroy(&m);
}
END_TEST

START_TEST(test_ptr_in_or_across_hole_is_null)
{
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	ck_assert_ptr_null(gm_ptr(&m, FAKE_HOLE, 1));
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_4G - 1, 1));
	/* Starts in low RAM and ends in high RAM, covering the whole hole. */
	ck_assert_ptr_null(gm_ptr(&m, FAKE_HOLE - 1, LAYOUT_4G - FAKE_HOLE + 2));
	ck_assert_ptr_null(gm_ptr(&m, 0, LAYOUT_4G + 1));
	gm_destroy(&m);
}
END_TEST

START_TEST(test_ptr_wrap_near_uint64_max_is_null)
{
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	ck_assert_ptr_null(gm_ptr(&m, UINT64_MAX, 1));
	ck_assert_ptr_null(gm_ptr(&m, UINT64_MAX, 2));
	ck_assert_ptr_null(gm_ptr(&m, UINT64_MAX - 0xf, 0x20));
	ck_assert_ptr_null(gm_ptr(&m, 1, UINT64_MAX));
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_4G, UINT64_MAX));
	ck_assert_ptr_null(gm_ptr(&m, 0, UINT64_MAX));
	gm_destroy(&m);
}
END_TEST

START_TEST(test_read_write_round_trip_both_regions)
{
	static const char msg[] = "ember guest memory";
	char out[sizeof(msg)] = { 0 };
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	ck_assert_int_eq(gm_write(&m, 0x1234, msg, sizeof(msg)), 0);
	ck_assert_int_eq(gm_read(&m, 0x1234, out, sizeof(out)), 0);
	ck_assert_str_eq(out, msg);
	ck_assert_int_eq(gm_write(&m, LAYOUT_4G + 2 * MIB - sizeof(msg), msg, sizeof(msg)), 0);
	ck_assert_mem_eq(m.map + 3 * MIB - sizeof(msg), msg, sizeof(msg));
	gm_destroy(&m);
}
END_TEST

START_TEST(test_read_out_of_range_faults_and_leaves_dst)
{
	uint8_t dst[8], expect[8];
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	memset(dst, 0xaa, sizeof(dst));
	memset(expect, 0xaa, sizeof(expect));
	ck_assert_int_eq(gm_read(&m, FAKE_HOLE - 4, dst, 8), -EFAULT);
	ck_assert_int_eq(gm_read(&m, FAKE_HOLE, dst, 1), -EFAULT);
	ck_assert_int_eq(gm_read(&m, UINT64_MAX - 3, dst, 8), -EFAULT);
	ck_assert_mem_eq(dst, expect, sizeof(dst));
	gm_destroy(&m);
}
END_TEST

START_TEST(test_write_out_of_range_faults_and_leaves_ram)
{
	uint8_t src[8], expect[4];
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	memset(src, 0x55, sizeof(src));
	memset(expect, 0xcc, sizeof(expect));
	memset(m.map + FAKE_HOLE - 4, 0xcc, 4);
	memset(m.map + 3 * MIB - 4, 0xcc, 4);
	ck_assert_int_eq(gm_write(&m, FAKE_HOLE - 4, src, 8), -EFAULT);
	ck_assert_int_eq(gm_write(&m, LAYOUT_4G + 2 * MIB - 4, src, 8), -EFAULT);
	ck_assert_int_eq(gm_write(&m, LAYOUT_4G - 4, src, 8), -EFAULT);
	ck_assert_mem_eq(m.map + FAKE_HOLE - 4, expect, 4);
	ck_assert_mem_eq(m.map + 3 * MIB - 4, expect, 4);
	ck_assert_uint_eq(m.map[FAKE_HOLE], 0); /* first byte of high RAM */
	gm_destroy(&m);
}
END_TEST

START_TEST(test_real_3g_hole_with_ram_above_4g)
{
	uint64_t ram = 3 * (1ULL << 30) + 8 * MIB, v = 0x1122334455667788ULL, r = 0;
	struct gm m;

	init_ok(&m, ram, LAYOUT_MMIO_HOLE);
	ck_assert_uint_eq(m.nr, 2);
	ck_assert_uint_eq(gm_low_end(&m), LAYOUT_MMIO_HOLE);
	ck_assert_uint_eq(m.region[1].gpa, LAYOUT_4G);
	ck_assert_uint_eq(m.region[1].size, 8 * MIB);
	ck_assert_ptr_nonnull(gm_ptr(&m, LAYOUT_MMIO_HOLE - 1, 1));
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_MMIO_HOLE, 1));
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_IOAPIC, 4));
	ck_assert_ptr_eq(gm_ptr(&m, LAYOUT_4G, 1), m.map + LAYOUT_MMIO_HOLE);
	ck_assert_ptr_nonnull(gm_ptr(&m, LAYOUT_4G + 8 * MIB - 1, 1));
	ck_assert_ptr_null(gm_ptr(&m, LAYOUT_4G + 8 * MIB - 1, 2));
	ck_assert_int_eq(gm_write(&m, LAYOUT_4G + 0x100, &v, sizeof(v)), 0);
	ck_assert_int_eq(gm_read(&m, LAYOUT_4G + 0x100, &r, sizeof(r)), 0);
	ck_assert_uint_eq(r, v);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_destroy_forgets_regions)
{
	struct gm m;

	init_ok(&m, 3 * MIB, FAKE_HOLE);
	gm_destroy(&m);
	ck_assert_uint_eq(m.nr, 0);
	ck_assert_ptr_null(m.map);
	ck_assert_ptr_null(gm_ptr(&m, 0, 1));
	ck_assert_uint_eq(gm_low_end(&m), 0);
}
END_TEST

/* The memfd behind shared RAM holds what the guest sees, each region at its fd_offset. */
START_TEST(test_shared_regions_are_the_memfd)
{
	const uint64_t hole = 2 << 20, size = 6 << 20;
	struct gm m;
	struct stat st;
	uint8_t b = 0;

	ck_assert_int_eq(gm_init_shared(&m, size, hole), 0);
	ck_assert(m.shared);
	ck_assert_int_ge(m.fd, 0);
	ck_assert_int_eq(fstat(m.fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, size);
	ck_assert_uint_eq(m.nr, 2);
	ck_assert_uint_eq(m.region[0].fd_offset, 0);
	ck_assert_uint_eq(m.region[1].fd_offset, hole);
	ck_assert_int_eq(gm_write(&m, LAYOUT_4G + 5, &(uint8_t){ 0xa5 }, 1), 0);
	ck_assert_int_eq(pread(m.fd, &b, 1, (off_t)(hole + 5)), 1);
	ck_assert_uint_eq(b, 0xa5);
	/* And the other way: a write to the file is guest RAM (another process's view). */
	ck_assert_int_eq(pwrite(m.fd, &(uint8_t){ 0x5a }, 1, 7), 1);
	ck_assert_int_eq(gm_read(&m, 7, &b, 1), 0);
	ck_assert_uint_eq(b, 0x5a);
	ck_assert_int_eq((int)((uintptr_t)m.map & ((2 << 20) - 1)), 0);
	gm_destroy(&m);
	ck_assert(!m.shared);
	ck_assert_int_eq(m.fd, -1);
}
END_TEST

START_TEST(test_private_ram_has_no_fd)
{
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 1 << 20, 2 << 20), 0);
	ck_assert(!m.shared);
	ck_assert_int_eq(m.fd, -1);
	gm_destroy(&m);
	ck_assert_int_eq(gm_init_shared(&m, 0, 2 << 20), -EINVAL);
	ck_assert(!m.shared);
}
END_TEST

Suite *gm_suite(void)
{
	Suite *s = suite_create("gm");
	TCase *init_tc = tcase_create("init");
	TCase *ptr_tc = tcase_create("ptr");
	TCase *copy_tc = tcase_create("read_write");

	tcase_add_test(init_tc, test_init_rejects_zero_size);
	tcase_add_test(init_tc, test_init_rejects_size_not_4k_multiple);
	tcase_add_test(init_tc, test_init_rejects_bad_hole);
	tcase_add_test(init_tc, test_init_below_hole_is_one_region);
	tcase_add_test(init_tc, test_init_equal_to_hole_is_one_region);
	tcase_add_test(init_tc, test_init_above_hole_splits_at_4g);
	tcase_add_test(init_tc, test_real_3g_hole_with_ram_above_4g);
	tcase_add_test(init_tc, test_destroy_forgets_regions);
	tcase_add_test(init_tc, test_shared_regions_are_the_memfd);
	tcase_add_test(init_tc, test_private_ram_has_no_fd);
	suite_add_tcase(s, init_tc);

	tcase_add_test(ptr_tc, test_ptr_first_and_last_byte_of_each_region);
	tcase_add_test(ptr_tc, test_ptr_whole_region_ok_one_more_byte_not);
	tcase_add_test(ptr_tc, test_ptr_len_zero_is_null);
	tcase_add_test(ptr_tc, test_ptr_crossing_region_end_is_null);
	tcase_add_test(ptr_tc, test_ptr_in_or_across_hole_is_null);
	tcase_add_test(ptr_tc, test_ptr_wrap_near_uint64_max_is_null);
	suite_add_tcase(s, ptr_tc);

	tcase_add_test(copy_tc, test_read_write_round_trip_both_regions);
	tcase_add_test(copy_tc, test_read_out_of_range_faults_and_leaves_dst);
	tcase_add_test(copy_tc, test_write_out_of_range_faults_and_leaves_ram);
	suite_add_tcase(s, copy_tc);
	return s;
}
