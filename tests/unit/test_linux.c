/* boot/linux and boot/e820: placing a synthetic bzImage, initrd and command line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "boot/e820.h"
#include "vmm/layout.h"
#include "boot/linux.h"
#include "tests/unit/fake_bzimage.h"
#include "tests/unit/suites.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define CMDLINE "console=ttyS0 root=/dev/vda rw"

/* A guest, its kernel image and what linux_load() made of them. */
struct boot_fixture {
	struct gm mem;
	struct fake_bzimage image;
	struct bzimage bz;
	struct linux_images img;
	struct linux_boot out;
	struct boot_params bp;
	const char *why;
};

/* Guest RAM of `ram` bytes with the real MMIO hole; the fake image parsed. */
static void fixture_init(struct boot_fixture *f, uint64_t ram)
{
	const char *why;

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(gm_init(&f->mem, ram, LAYOUT_MMIO_HOLE), 0);
	fake_bzimage_init(&f->image);
	ck_assert_int_eq(bzimage_parse(f->image.data, sizeof(f->image.data), &f->bz, &why), 0);
	f->img.bz = &f->bz;
	f->img.cmdline = CMDLINE;
}

static int fixture_load(struct boot_fixture *f)
{
	int rc = linux_load(&f->mem, &f->img, &f->out, &f->why);

	if (!rc)
		ck_assert_int_eq(gm_read(&f->mem, LAYOUT_ZERO_PAGE, &f->bp, sizeof(f->bp)), 0);
	return rc;
}

static void assert_failed_with_reason(struct boot_fixture *f, int err)
{
	ck_assert_int_eq(fixture_load(f), err);
	ck_assert_ptr_nonnull(f->why);
	ck_assert_uint_gt(strlen(f->why), 0);
}

/* Anonymous, lazily backed memory standing in for a big initrd. */
static void *big_buffer(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

static void assert_e820(const struct boot_e820_entry *e, uint64_t addr, uint64_t size,
			uint32_t type)
{
	ck_assert_uint_eq(e->addr, addr);
	ck_assert_uint_eq(e->size, size);
	ck_assert_uint_eq(e->type, type);
}

START_TEST(test_entry_is_load_address_plus_0x200)
{
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	ck_assert_int_eq(fixture_load(&f), 0);
	ck_assert_uint_eq(f.out.entry, FAKE_BZ_PREF_ADDRESS + 0x200);
	ck_assert_uint_eq(f.out.boot_params, LAYOUT_ZERO_PAGE);
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_kernel_copied_to_load_address)
{
	struct boot_fixture f;
	const uint8_t *k;

	fixture_init(&f, 64 * MIB);
	ck_assert_int_eq(fixture_load(&f), 0);
	k = gm_ptr(&f.mem, FAKE_BZ_PREF_ADDRESS, FAKE_BZ_PAYLOAD);
	ck_assert_ptr_nonnull(k);
	ck_assert_mem_eq(k, f.image.data + FAKE_BZ_SETUP_SIZE, FAKE_BZ_PAYLOAD);
	ck_assert_uint_eq(f.bp.hdr.code32_start, FAKE_BZ_PREF_ADDRESS);
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_zero_page_has_header_and_loader_fields)
{
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	f.img.rsdp = LAYOUT_ACPI;
	ck_assert_int_eq(fixture_load(&f), 0);
	ck_assert_uint_eq(f.bp.hdr.header, 0x53726448);
	ck_assert_uint_eq(f.bp.hdr.boot_flag, 0xaa55);
	ck_assert_uint_eq(f.bp.hdr.version, 0x020f);
	ck_assert_uint_eq(f.bp.hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(f.bp.acpi_rsdp_addr, LAYOUT_ACPI);
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_cmdline_pointer_and_string)
{
	struct boot_fixture f;
	char buf[sizeof(CMDLINE)];

	fixture_init(&f, 64 * MIB);
	ck_assert_int_eq(fixture_load(&f), 0);
	ck_assert_uint_eq(f.bp.hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	ck_assert_uint_eq(f.bp.ext_cmd_line_ptr, 0);
	ck_assert_int_eq(gm_read(&f.mem, LAYOUT_CMDLINE, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, CMDLINE); /* NUL-terminated in guest RAM */
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_e820_map_small_guest)
{
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	ck_assert_int_eq(fixture_load(&f), 0);
	ck_assert_uint_eq(f.bp.e820_entries, 3);
	assert_e820(&f.bp.e820_table[0], 0, LAYOUT_EBDA, E820_RAM);
	assert_e820(&f.bp.e820_table[1], LAYOUT_EBDA, LAYOUT_HIGH_RAM - LAYOUT_EBDA, E820_RESERVED);
	assert_e820(&f.bp.e820_table[2], LAYOUT_HIGH_RAM, 64 * MIB - LAYOUT_HIGH_RAM, E820_RAM);
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_e820_map_with_ram_above_4g)
{
	struct boot_fixture f;

	fixture_init(&f, 3 * GIB + 64 * MIB);
	ck_assert_int_eq(fixture_load(&f), 0);
	ck_assert_uint_eq(f.bp.e820_entries, 4);
	assert_e820(&f.bp.e820_table[2], LAYOUT_HIGH_RAM, LAYOUT_MMIO_HOLE - LAYOUT_HIGH_RAM,
		    E820_RAM);
	assert_e820(&f.bp.e820_table[3], LAYOUT_4G, 64 * MIB, E820_RAM);
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_e820_too_few_slots_is_enospc)
{
	struct boot_e820_entry tab[3];
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 3 * GIB + 64 * MIB, LAYOUT_MMIO_HOLE), 0);
	ck_assert_int_eq(e820_build(&m, tab, 3), -ENOSPC);
	ck_assert_int_eq(e820_build(&m, tab, 2), -ENOSPC);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_e820_no_ram_above_1m_is_enospc)
{
	struct boot_e820_entry tab[E820_MAX_ENTRIES_ZEROPAGE];
	struct gm m;

	ck_assert_int_eq(gm_init(&m, MIB, LAYOUT_MMIO_HOLE), 0);
	ck_assert_int_eq(e820_build(&m, tab, E820_MAX_ENTRIES_ZEROPAGE), -ENOSPC);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_initrd_placed_aligned_above_kernel_in_ram)
{
	size_t size = MIB + 123; /* not a page multiple */
	uint8_t *initrd = big_buffer(size);
	struct boot_fixture f;
	uint64_t addr;

	for (size_t i = 0; i < size; i += 997)
		initrd[i] = (uint8_t)i;
	fixture_init(&f, 64 * MIB);
	f.img.initrd = initrd;
	f.img.initrd_size = size;
	ck_assert_int_eq(fixture_load(&f), 0);
	addr = f.bp.hdr.ramdisk_image | (uint64_t)f.bp.ext_ramdisk_image << 32;
	ck_assert_uint_eq(addr & 0xfff, 0);
	ck_assert_uint_ge(addr, FAKE_BZ_PREF_ADDRESS + FAKE_BZ_INIT_SIZE);
	ck_assert_uint_le(addr + size, (uint64_t)f.bz.hdr.initrd_addr_max + 1);
	ck_assert_uint_le(addr + size, 64 * MIB);
	ck_assert_uint_eq(f.bp.hdr.ramdisk_size, size);
	ck_assert_uint_eq(f.bp.ext_ramdisk_size, 0);
	ck_assert_mem_eq(gm_ptr(&f.mem, addr, size), initrd, size);
	gm_destroy(&f.mem);
	munmap(initrd, size);
}
END_TEST

START_TEST(test_initrd_respects_initrd_addr_max)
{
	size_t size = 3 * MIB;
	uint8_t *initrd = big_buffer(size);
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	fake_bzimage_hdr(&f.image)->initrd_addr_max = 32 * MIB - 1;
	ck_assert_int_eq(bzimage_parse(f.image.data, sizeof(f.image.data), &f.bz, &f.why), 0);
	f.img.initrd = initrd;
	f.img.initrd_size = size;
	ck_assert_int_eq(fixture_load(&f), 0);
	ck_assert_uint_le(f.bp.hdr.ramdisk_image + size, 32 * MIB);
	ck_assert_uint_ge(f.bp.hdr.ramdisk_image, FAKE_BZ_PREF_ADDRESS + FAKE_BZ_INIT_SIZE);
	gm_destroy(&f.mem);
	munmap(initrd, size);
}
END_TEST

START_TEST(test_no_initrd_leaves_ramdisk_fields_zero)
{
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	ck_assert_int_eq(fixture_load(&f), 0);
	ck_assert_uint_eq(f.bp.hdr.ramdisk_image, 0);
	ck_assert_uint_eq(f.bp.hdr.ramdisk_size, 0);
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_initrd_larger_than_ram_rejected)
{
	size_t size = 64 * MIB;
	uint8_t *initrd = big_buffer(size);
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	f.img.initrd = initrd;
	f.img.initrd_size = size;
	assert_failed_with_reason(&f, -ENOMEM);
	gm_destroy(&f.mem);
	munmap(initrd, size);
}
END_TEST

START_TEST(test_initrd_overlapping_kernel_rejected)
{
	size_t size = 64 * MIB - FAKE_BZ_PREF_ADDRESS - FAKE_BZ_INIT_SIZE + 1;
	uint8_t *initrd = big_buffer(size);
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	f.img.initrd = initrd;
	f.img.initrd_size = size;
	assert_failed_with_reason(&f, -ENOMEM);
	gm_destroy(&f.mem);
	munmap(initrd, size);
}
END_TEST

START_TEST(test_kernel_larger_than_ram_rejected)
{
	struct boot_fixture f;

	fixture_init(&f, 16 * MIB); /* load address is 16 MiB: nothing fits */
	assert_failed_with_reason(&f, -ENOMEM);
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_kernel_init_size_beyond_ram_rejected)
{
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	fake_bzimage_hdr(&f.image)->init_size = 48 * MIB + 1;
	ck_assert_int_eq(bzimage_parse(f.image.data, sizeof(f.image.data), &f.bz, &f.why), 0);
	assert_failed_with_reason(&f, -ENOMEM);
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_cmdline_longer_than_cmdline_size_rejected)
{
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	fake_bzimage_hdr(&f.image)->cmdline_size = 16;
	ck_assert_int_eq(bzimage_parse(f.image.data, sizeof(f.image.data), &f.bz, &f.why), 0);
	f.img.cmdline = "console=ttyS0 quiet"; /* 19 characters */
	ck_assert_int_lt(fixture_load(&f), 0);
	ck_assert_ptr_nonnull(f.why);
	ck_assert_uint_gt(strlen(f.why), 0);
	gm_destroy(&f.mem);
}
END_TEST

/* boot.rst: cmdline_size is the maximum length without the terminating zero. */
START_TEST(test_cmdline_of_exactly_cmdline_size_accepted)
{
	struct boot_fixture f;

	fixture_init(&f, 64 * MIB);
	fake_bzimage_hdr(&f.image)->cmdline_size = 13;
	ck_assert_int_eq(bzimage_parse(f.image.data, sizeof(f.image.data), &f.bz, &f.why), 0);
	f.img.cmdline = "console=ttyS0"; /* 13 characters */
	ck_assert_int_eq(fixture_load(&f), 0);
	gm_destroy(&f.mem);
}
END_TEST

START_TEST(test_cmdline_longer_than_layout_area_rejected)
{
	char *cmdline = calloc(1, LAYOUT_CMDLINE_MAX + 1);
	struct boot_fixture f;

	ck_assert_ptr_nonnull(cmdline);
	memset(cmdline, 'a', LAYOUT_CMDLINE_MAX);
	fixture_init(&f, 64 * MIB);
	fake_bzimage_hdr(&f.image)->cmdline_size = 0xffffffff;
	ck_assert_int_eq(bzimage_parse(f.image.data, sizeof(f.image.data), &f.bz, &f.why), 0);
	f.img.cmdline = cmdline;
	ck_assert_int_lt(fixture_load(&f), 0);
	ck_assert_ptr_nonnull(f.why);
	gm_destroy(&f.mem);
	free(cmdline);
}
END_TEST

/*
 * linux_check_fit() runs before guest RAM exists; it must accept exactly
 * what linux_load() accepts, for RAM sizes and initrds around every edge.
 */
START_TEST(test_check_fit_agrees_with_load)
{
	static const uint64_t rams[] = { 2 * MIB, 16 * MIB, 16 * MIB + FAKE_BZ_INIT_SIZE - 4096,
					 16 * MIB + FAKE_BZ_INIT_SIZE, 64 * MIB, 256 * MIB };
	size_t max = 256 * MIB;
	uint8_t *initrd = big_buffer(max);

	for (size_t r = 0; r < sizeof(rams) / sizeof(rams[0]); r++) {
		uint64_t free_top = rams[r] > FAKE_BZ_PREF_ADDRESS + FAKE_BZ_INIT_SIZE ?
					    rams[r] - FAKE_BZ_PREF_ADDRESS - FAKE_BZ_INIT_SIZE : 0;
		const size_t sizes[] = { 0, 1, 4096, free_top ? free_top - 4096 : 0, free_top,
					 free_top + 1, free_top + 4096, rams[r] + 1 };

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct boot_fixture f;
			const char *why = NULL;
			int fit, load;

			if (sizes[i] > max)
				continue;
			fixture_init(&f, rams[r]);
			f.img.initrd = sizes[i] ? initrd : NULL;
			f.img.initrd_size = sizes[i];
			fit = linux_check_fit(&f.bz, sizes[i], rams[r], &why);
			load = fixture_load(&f);
			ck_assert_msg(fit == load, "RAM %llu, initrd %zu: check_fit %d, load %d",
				      (unsigned long long)rams[r], sizes[i], fit, load);
			if (fit)
				ck_assert_ptr_nonnull(why);
			gm_destroy(&f.mem);
		}
	}
	munmap(initrd, max);
}
END_TEST

Suite *linux_suite(void)
{
	Suite *s = suite_create("linux");
	TCase *load_tc = tcase_create("load");
	TCase *e820_tc = tcase_create("e820");
	TCase *initrd_tc = tcase_create("initrd");
	TCase *limits_tc = tcase_create("limits");

	tcase_add_test(load_tc, test_entry_is_load_address_plus_0x200);
	tcase_add_test(load_tc, test_kernel_copied_to_load_address);
	tcase_add_test(load_tc, test_zero_page_has_header_and_loader_fields);
	tcase_add_test(load_tc, test_cmdline_pointer_and_string);
	suite_add_tcase(s, load_tc);

	tcase_add_test(e820_tc, test_e820_map_small_guest);
	tcase_add_test(e820_tc, test_e820_map_with_ram_above_4g);
	tcase_add_test(e820_tc, test_e820_too_few_slots_is_enospc);
	tcase_add_test(e820_tc, test_e820_no_ram_above_1m_is_enospc);
	suite_add_tcase(s, e820_tc);

	tcase_add_test(initrd_tc, test_initrd_placed_aligned_above_kernel_in_ram);
	tcase_add_test(initrd_tc, test_initrd_respects_initrd_addr_max);
	tcase_add_test(initrd_tc, test_no_initrd_leaves_ramdisk_fields_zero);
	tcase_add_test(initrd_tc, test_initrd_larger_than_ram_rejected);
	tcase_add_test(initrd_tc, test_initrd_overlapping_kernel_rejected);
	suite_add_tcase(s, initrd_tc);

	tcase_add_test(limits_tc, test_kernel_larger_than_ram_rejected);
	tcase_add_test(limits_tc, test_kernel_init_size_beyond_ram_rejected);
	tcase_add_test(limits_tc, test_cmdline_longer_than_cmdline_size_rejected);
	tcase_add_test(limits_tc, test_cmdline_of_exactly_cmdline_size_accepted);
	tcase_add_test(limits_tc, test_cmdline_longer_than_layout_area_rejected);
	tcase_add_test(limits_tc, test_check_fit_agrees_with_load);
	suite_add_tcase(s, limits_tc);
	return s;
}
