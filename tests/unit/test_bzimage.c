/* boot/bzimage: validation of the setup header of synthetic bzImages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/bzimage.h"
#include "tests/unit/fake_bzimage.h"
#include "tests/unit/rng.h"
#include "tests/unit/suites.h"

/*
 * Parse a heap copy of exactly `size` bytes, so that ASan catches any read
 * past the end. The pointers left in *bz die with the copy.
 */
static int parse_exact(const void *data, size_t size, struct bzimage *bz, const char **why)
{
	uint8_t *copy = malloc(size ? size : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, data, size);
	rc = bzimage_parse(copy, size, bz, why);
	free(copy);
	return rc;
}

/* The image must be rejected with -ENOEXEC and a reason. */
static void assert_rejected(const void *data, size_t size)
{
	const char *why = NULL;
	struct bzimage bz;

	ck_assert_int_eq(parse_exact(data, size, &bz, &why), -ENOEXEC);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_gt(strlen(why), 0);
}

START_TEST(test_valid_image_accepted)
{
	struct fake_bzimage f;
	const char *why = NULL;
	struct bzimage bz;

	fake_bzimage_init(&f);
	ck_assert_int_eq(bzimage_parse(f.data, sizeof(f.data), &bz, &why), 0);
	ck_assert_uint_eq(bz.load_addr, FAKE_BZ_PREF_ADDRESS);
	ck_assert_uint_eq(bz.kernel_size, FAKE_BZ_PAYLOAD);
	ck_assert_ptr_eq(bz.kernel, f.data + FAKE_BZ_SETUP_SIZE);
	ck_assert_ptr_eq(bz.setup, f.data);
	ck_assert_uint_eq(bz.setup_size, FAKE_BZ_SETUP_SIZE);
	ck_assert_uint_eq(bz.hdr_end, 0x202 + FAKE_BZ_HDR_LEN_BYTE);
	ck_assert_uint_eq(bz.init_size, FAKE_BZ_INIT_SIZE);
	ck_assert_uint_eq(bz.hdr.version, 0x020f);
	ck_assert_uint_eq(bz.hdr.cmdline_size, FAKE_BZ_CMDLINE_SIZE);
}
END_TEST

START_TEST(test_protocol_2_12_accepted)
{
	struct fake_bzimage f;
	const char *why;
	struct bzimage bz;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->version = BZIMAGE_MIN_VERSION;
	ck_assert_int_eq(bzimage_parse(f.data, sizeof(f.data), &bz, &why), 0);
}
END_TEST

START_TEST(test_other_preferred_address_honoured)
{
	struct fake_bzimage f;
	const char *why;
	struct bzimage bz;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->pref_address = 0x2000000;
	ck_assert_int_eq(bzimage_parse(f.data, sizeof(f.data), &bz, &why), 0);
	ck_assert_uint_eq(bz.load_addr, 0x2000000);
}
END_TEST

START_TEST(test_unusable_preferred_address_falls_back_to_16m)
{
	struct fake_bzimage f;
	const char *why;
	struct bzimage bz;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->pref_address = 0x10000; /* below 1 MiB */
	ck_assert_int_eq(bzimage_parse(f.data, sizeof(f.data), &bz, &why), 0);
	ck_assert_uint_eq(bz.load_addr, 0x1000000);
	fake_bzimage_hdr(&f)->pref_address = 0x2100000; /* not 2 MiB aligned */
	ck_assert_int_eq(bzimage_parse(f.data, sizeof(f.data), &bz, &why), 0);
	ck_assert_uint_eq(bz.load_addr, 0x1000000);
}
END_TEST

START_TEST(test_setup_sects_zero_means_four)
{
	struct fake_bzimage f;
	const char *why;
	struct bzimage bz;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->setup_sects = 0;
	ck_assert_int_eq(bzimage_parse(f.data, sizeof(f.data), &bz, &why), 0);
	ck_assert_uint_eq(bz.setup_size, 5 * 512);
}
END_TEST

START_TEST(test_trailing_bytes_after_payload_accepted)
{
	uint8_t *buf = calloc(1, FAKE_BZ_SIZE + 512);
	struct fake_bzimage f;
	const char *why;
	struct bzimage bz;

	ck_assert_ptr_nonnull(buf);
	fake_bzimage_init(&f);
	memcpy(buf, f.data, sizeof(f.data)); /* e.g. a signature appended to the file */
	ck_assert_int_eq(bzimage_parse(buf, FAKE_BZ_SIZE + 512, &bz, &why), 0);
	ck_assert_uint_eq(bz.kernel_size, FAKE_BZ_PAYLOAD + 512);
	free(buf);
}
END_TEST

/* Truncated files: empty, inside the boot sector, inside the header, setup only, short payload. */
static const size_t truncated_sizes[] = {
	0,
	0x1f1,
	0x200,
	0x267,
	0x268,
	FAKE_BZ_SETUP_SIZE - 1,
	FAKE_BZ_SETUP_SIZE,
	FAKE_BZ_SETUP_SIZE + 16,
	FAKE_BZ_SIZE - 1,
};

START_TEST(test_truncated_file_rejected)
{
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	assert_rejected(f.data, truncated_sizes[_i]);
}
END_TEST

START_TEST(test_bad_boot_flag_rejected)
{
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->boot_flag = 0x55aa;
	assert_rejected(f.data, sizeof(f.data));
}
END_TEST

START_TEST(test_bad_header_magic_rejected)
{
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	memcpy(f.data + 0x202, "HdrZ", 4);
	assert_rejected(f.data, sizeof(f.data));
}
END_TEST

static const uint16_t old_versions[] = { 0x020b, 0x0206, 0x0200, 0x0000 };

START_TEST(test_protocol_2_11_and_older_rejected)
{
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->version = old_versions[_i];
	assert_rejected(f.data, sizeof(f.data));
}
END_TEST

START_TEST(test_not_loaded_high_rejected)
{
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->loadflags = 0;
	assert_rejected(f.data, sizeof(f.data));
}
END_TEST

START_TEST(test_32bit_only_kernel_rejected)
{
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	assert_rejected(f.data, sizeof(f.data));
}
END_TEST

START_TEST(test_init_size_smaller_than_payload_rejected)
{
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->init_size = FAKE_BZ_PAYLOAD - 1;
	assert_rejected(f.data, sizeof(f.data));
	fake_bzimage_hdr(&f)->init_size = 0;
	assert_rejected(f.data, sizeof(f.data));
}
END_TEST

START_TEST(test_no_command_line_room_rejected)
{
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->cmdline_size = 0;
	assert_rejected(f.data, sizeof(f.data));
}
END_TEST

START_TEST(test_header_length_byte_too_small_rejected)
{
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	f.data[0x201] = 0x10; /* header would end at 0x212, before cmdline_size */
	assert_rejected(f.data, sizeof(f.data));
}
END_TEST

START_TEST(test_reasons_differ_by_cause)
{
	struct fake_bzimage f;
	const char *magic_why, *version_why;
	struct bzimage bz;

	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->header = 0;
	ck_assert_int_eq(bzimage_parse(f.data, sizeof(f.data), &bz, &magic_why), -ENOEXEC);
	fake_bzimage_init(&f);
	fake_bzimage_hdr(&f)->version = 0x0200;
	ck_assert_int_eq(bzimage_parse(f.data, sizeof(f.data), &bz, &version_why), -ENOEXEC);
	ck_assert_str_ne(magic_why, version_why);
}
END_TEST

/* What an accepted image must satisfy, whatever its bytes. */
static void assert_consistent(const uint8_t *data, size_t size, int rc, const struct bzimage *bz,
			      const char *why)
{
	if (rc) {
		ck_assert_int_eq(rc, -ENOEXEC);
		ck_assert_ptr_nonnull(why);
		ck_assert_uint_gt(strlen(why), 0);
		return;
	}
	ck_assert_ptr_eq(bz->setup, data);
	ck_assert_uint_lt(bz->setup_size, size);
	ck_assert_uint_le(bz->hdr_end, bz->setup_size);
	ck_assert_ptr_eq(bz->kernel, data + bz->setup_size);
	ck_assert_uint_eq(bz->setup_size + bz->kernel_size, size);
	ck_assert_uint_ge(bz->init_size, bz->kernel_size);
	ck_assert_uint_ge(bz->load_addr, 0x100000);
}

START_TEST(test_random_bytes_never_crash)
{
	struct rng rng = { 0x9e3779b97f4a7c15ULL };
	struct fake_bzimage f;

	fake_bzimage_init(&f);
	for (int iter = 0; iter < 2000; iter++) {
		size_t size = (size_t)rng_below(&rng, FAKE_BZ_SIZE + 1);
		uint8_t *buf = malloc(size ? size : 1);
		const char *why = NULL;
		struct bzimage bz;
		int rc;

		ck_assert_ptr_nonnull(buf);
		for (size_t i = 0; i < size; i++)
			buf[i] = (uint8_t)rng_next(&rng);
		/* Half the time plant the signatures so that parsing goes deeper. */
		if ((iter & 1) && size >= 0x206) {
			memcpy(buf + 0x1fe, "\x55\xaa", 2);
			memcpy(buf + 0x202, "HdrS", 4);
		}
		rc = bzimage_parse(buf, size, &bz, &why);
		assert_consistent(buf, size, rc, &bz, why);
		free(buf);
	}
}
END_TEST

START_TEST(test_mutated_headers_never_crash)
{
	struct rng rng = { 0xc0ffee1234567ULL };
	struct fake_bzimage f;

	for (int iter = 0; iter < 5000; iter++) {
		size_t size = FAKE_BZ_SIZE, flips = 1 + rng_below(&rng, 8);
		uint8_t *buf;
		const char *why = NULL;
		struct bzimage bz;
		int rc;

		fake_bzimage_init(&f);
		for (size_t k = 0; k < flips; k++) {
			/* Mostly inside the header (0x1f1-0x26b), sometimes anywhere in setup. */
			size_t at = (k & 1) ? 0x1f1 + rng_below(&rng, 0x7b)
					    : rng_below(&rng, FAKE_BZ_SETUP_SIZE);

			f.data[at] = (uint8_t)rng_next(&rng);
		}
		if (rng_below(&rng, 4) == 0)
			size = (size_t)rng_below(&rng, FAKE_BZ_SIZE + 1);
		buf = malloc(size ? size : 1);
		ck_assert_ptr_nonnull(buf);
		memcpy(buf, f.data, size);
		rc = bzimage_parse(buf, size, &bz, &why);
		assert_consistent(buf, size, rc, &bz, why);
		free(buf);
	}
}
END_TEST

/* An image whose kernel_version field points at `text` placed at `at` in the setup code. */
static void fake_with_version(struct fake_bzimage *f, size_t at, const char *text, size_t len)
{
	fake_bzimage_init(f);
	memcpy(f->data + at, text, len);
	fake_bzimage_hdr(f)->kernel_version = (uint16_t)(at - BZ_ENTRY64_OFFSET);
}

static int version_of(struct fake_bzimage *f, char *out, size_t outlen)
{
	const char *why = NULL;
	struct bzimage bz;
	int rc;

	ck_assert_int_eq(bzimage_parse(f->data, sizeof(f->data), &bz, &why), 0);
	rc = bzimage_version(&bz, out, outlen, &why);
	if (rc) {
		ck_assert_int_eq(rc, -ENOEXEC);
		ck_assert_ptr_nonnull(why);
	}
	return rc;
}

START_TEST(test_version_first_word)
{
	static const char v[] = "6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP";
	struct fake_bzimage f;
	char out[BZIMAGE_VERSION_MAX + 1];

	fake_with_version(&f, 0x300, v, sizeof(v));
	ck_assert_int_eq(version_of(&f, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "6.1.0-57-amd64");
	fake_with_version(&f, FAKE_BZ_SETUP_SIZE - 6, "6.9.1", 6); /* NUL in the last byte */
	ck_assert_int_eq(version_of(&f, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "6.9.1");
}
END_TEST

START_TEST(test_version_refused)
{
	char long_v[BZIMAGE_VERSION_MAX + 2];
	struct fake_bzimage f;
	char out[BZIMAGE_VERSION_MAX + 1];

	fake_bzimage_init(&f); /* kernel_version 0 */
	ck_assert_int_eq(version_of(&f, out, sizeof(out)), -ENOEXEC);
	fake_with_version(&f, 0x300, "6.1", 4);
	fake_bzimage_hdr(&f)->kernel_version = FAKE_BZ_SETUP_SIZE - BZ_ENTRY64_OFFSET; /* past setup */
	ck_assert_int_eq(version_of(&f, out, sizeof(out)), -ENOEXEC);
	fake_bzimage_hdr(&f)->kernel_version = 0xffff;
	ck_assert_int_eq(version_of(&f, out, sizeof(out)), -ENOEXEC);
	fake_with_version(&f, FAKE_BZ_SETUP_SIZE - 3, "6.1", 3); /* no NUL before the payload */
	f.data[FAKE_BZ_SETUP_SIZE] = 'x';
	ck_assert_int_eq(version_of(&f, out, sizeof(out)), -ENOEXEC);
	fake_with_version(&f, 0x300, " 6.1", 5); /* empty first word */
	ck_assert_int_eq(version_of(&f, out, sizeof(out)), -ENOEXEC);
	fake_with_version(&f, 0x300, "6.1\n/x", 7);
	ck_assert_int_eq(version_of(&f, out, sizeof(out)), -ENOEXEC);
	memset(long_v, '1', sizeof(long_v) - 1);
	long_v[sizeof(long_v) - 1] = '\0';
	fake_with_version(&f, 0x300, long_v, sizeof(long_v));
	ck_assert_int_eq(version_of(&f, out, sizeof(out)), -ENOEXEC);
	fake_with_version(&f, 0x300, "6.1.0", 6);
	ck_assert_int_eq(version_of(&f, out, 4), -ENOEXEC); /* caller's buffer too small */
}
END_TEST

Suite *bzimage_suite(void)
{
	Suite *s = suite_create("bzimage");
	TCase *ok_tc = tcase_create("accepted");
	TCase *bad_tc = tcase_create("rejected");
	TCase *fuzz_tc = tcase_create("fuzz");

	tcase_add_test(ok_tc, test_valid_image_accepted);
	tcase_add_test(ok_tc, test_protocol_2_12_accepted);
	tcase_add_test(ok_tc, test_other_preferred_address_honoured);
	tcase_add_test(ok_tc, test_unusable_preferred_address_falls_back_to_16m);
	tcase_add_test(ok_tc, test_setup_sects_zero_means_four);
	tcase_add_test(ok_tc, test_trailing_bytes_after_payload_accepted);
	suite_add_tcase(s, ok_tc);

	tcase_add_loop_test(bad_tc, test_truncated_file_rejected, 0,
			    sizeof(truncated_sizes) / sizeof(truncated_sizes[0]));
	tcase_add_test(bad_tc, test_bad_boot_flag_rejected);
	tcase_add_test(bad_tc, test_bad_header_magic_rejected);
	tcase_add_loop_test(bad_tc, test_protocol_2_11_and_older_rejected, 0,
			    sizeof(old_versions) / sizeof(old_versions[0]));
	tcase_add_test(bad_tc, test_not_loaded_high_rejected);
	tcase_add_test(bad_tc, test_32bit_only_kernel_rejected);
	tcase_add_test(bad_tc, test_init_size_smaller_than_payload_rejected);
	tcase_add_test(bad_tc, test_no_command_line_room_rejected);
	tcase_add_test(bad_tc, test_header_length_byte_too_small_rejected);
	tcase_add_test(bad_tc, test_reasons_differ_by_cause);
	tcase_add_test(ok_tc, test_version_first_word);
	tcase_add_test(bad_tc, test_version_refused);
	suite_add_tcase(s, bad_tc);

	tcase_add_test(fuzz_tc, test_random_bytes_never_crash);
	tcase_add_test(fuzz_tc, test_mutated_headers_never_crash);
	tcase_set_timeout(fuzz_tc, 60);
	suite_add_tcase(s, fuzz_tc);
	return s;
}
