/*
 * vmm/snapfile: the snapshot state file as hostile input. A file built by
 * the writer parses back section for section; every truncation, every
 * flipped byte (header, section header, payload, padding), a foreign magic
 * or version, duplicate and unknown sections, counts and lengths out of
 * range and trailing bytes are refused; the writer's errors are sticky.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tests/unit/suites.h"
#include "vmm/snapfile.h"

#define MAX_TYPE 4
#define HDR 32	   /* file header */
#define SEC_HDR 24 /* section header */

static const uint8_t five[5] = { 'h', 'e', 'l', 'l', 'o' };
static const uint8_t thirteen[13] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
static const uint8_t eight[8] = { 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88 };

/* Four sections: 5 bytes, empty, 13 bytes (odd, padded), 8 bytes (no padding). */
static void build(struct snapfile_writer *w)
{
	snapfile_writer_init(w);
	snapfile_add(w, 1, 0, five, sizeof(five));
	snapfile_add(w, 2, 0, NULL, 0);
	snapfile_add(w, 3, 7, thirteen, sizeof(thirteen));
	snapfile_add(w, 1, 1, eight, sizeof(eight));
	ck_assert_int_eq(snapfile_finish(w), 0);
}

/* The file's expected size: header, four section headers, 8 + 0 + 16 + 8 payload bytes. */
#define BUILT_LEN (HDR + 4 * SEC_HDR + 8 + 0 + 16 + 8)

static struct snapfile *new_file(void)
{
	struct snapfile *f = malloc(sizeof(*f));

	ck_assert_ptr_nonnull(f);
	return f;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Recompute the header's checksum after a test changed one of its fields. */
static void reseal(uint8_t *b)
{
	put32(b + 24, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, 24));
}

/* Parse and expect `want` (nonzero: an error with a cause, no sections left behind). */
static void expect_parse(const void *buf, size_t len, int want, const char *why_part)
{
	struct snapfile *f = new_file();
	char why[SNAPFILE_WHY_MAX];

	f->n = 77;
	memset(why, 'x', sizeof(why));
	ck_assert_int_eq(snapfile_parse(f, buf, len, MAX_TYPE, why), want);
	ck_assert_ptr_nonnull(memchr(why, '\0', sizeof(why)));
	if (want) {
		ck_assert_uint_eq(f->n, 0);
		ck_assert_msg(why[0], "no cause given");
		if (why_part)
			ck_assert_msg(strstr(why, why_part), "'%s' lacks '%s'", why, why_part);
	}
	free(f);
}

START_TEST(test_round_trip)
{
	struct snapfile_writer w;
	struct snapfile *f = new_file();
	const struct snapfile_section *s;
	char why[SNAPFILE_WHY_MAX];
	uint8_t got5[5], got13[13], got8[8];

	build(&w);
	ck_assert_uint_eq(w.len, BUILT_LEN);
	ck_assert_int_eq(snapfile_parse(f, w.buf, w.len, MAX_TYPE, why), 0);
	ck_assert_str_eq(why, "");
	ck_assert_uint_eq(f->n, 4);
	s = snapfile_find(f, 1, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->len, 5);
	ck_assert_mem_eq(s->data, five, 5);
	s = snapfile_find(f, 2, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->len, 0);
	ck_assert_int_eq(snapfile_get(f, 2, 0, NULL, 0), 0);
	ck_assert_int_eq(snapfile_get(f, 3, 7, got13, sizeof(got13)), 0);
	ck_assert_mem_eq(got13, thirteen, 13);
	ck_assert_int_eq(snapfile_get(f, 1, 1, got8, sizeof(got8)), 0);
	ck_assert_mem_eq(got8, eight, 8);
	ck_assert_int_eq(snapfile_get(f, 1, 0, got5, sizeof(got5)), 0);
	ck_assert_mem_eq(got5, five, 5);
	/* Every payload lies inside the buffer. */
	for (unsigned int i = 0; i < f->n; i++)
		ck_assert(f->sec[i].data >= w.buf && f->sec[i].data + f->sec[i].len <= w.buf + w.len);
	free(f);
	snapfile_writer_free(&w);
	ck_assert_ptr_null(w.buf);
}
END_TEST

START_TEST(test_get_size_mismatch_and_missing)
{
	struct snapfile_writer w;
	struct snapfile *f = new_file();
	char why[SNAPFILE_WHY_MAX];
	uint8_t buf[16];

	build(&w);
	ck_assert_int_eq(snapfile_parse(f, w.buf, w.len, MAX_TYPE, why), 0);
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(snapfile_get(f, 1, 0, buf, 4), -EBADMSG);
	ck_assert_int_eq(snapfile_get(f, 1, 0, buf, 6), -EBADMSG);
	ck_assert_int_eq(snapfile_get(f, 2, 0, buf, 1), -EBADMSG);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0x5a); /* nothing copied on a mismatch */
	ck_assert_int_eq(snapfile_get(f, 1, 2, buf, 5), -ENOENT);
	ck_assert_int_eq(snapfile_get(f, 4, 0, buf, 5), -ENOENT);
	ck_assert_int_eq(snapfile_get(f, 0, 0, buf, 0), -ENOENT);
	ck_assert_ptr_null(snapfile_find(f, 3, 0));
	ck_assert_ptr_null(snapfile_find(f, UINT32_MAX, UINT32_MAX));
	free(f);
	snapfile_writer_free(&w);
}
END_TEST

START_TEST(test_empty_file_and_unaligned_buffer)
{
	struct snapfile_writer w;
	uint8_t *shifted;

	snapfile_writer_init(&w);
	ck_assert_int_eq(snapfile_finish(&w), 0);
	ck_assert_uint_eq(w.len, HDR);
	expect_parse(w.buf, w.len, 0, NULL);
	snapfile_writer_free(&w);
	/* A buffer at an odd address parses the same (no aligned loads). */
	build(&w);
	shifted = malloc(w.len + 1);
	ck_assert_ptr_nonnull(shifted);
	memcpy(shifted + 1, w.buf, w.len);
	expect_parse(shifted + 1, w.len, 0, NULL);
	free(shifted);
	snapfile_writer_free(&w);
}
END_TEST

START_TEST(test_every_truncation_refused)
{
	struct snapfile_writer w;

	build(&w);
	for (size_t len = 0; len < w.len; len++) {
		/* A copy of exactly `len` bytes: ASan sees a read past it. */
		uint8_t *cut = malloc(len ? len : 1);

		ck_assert_ptr_nonnull(cut);
		memcpy(cut, w.buf, len);
		expect_parse(cut, len, len < HDR ? -EINVAL : -EBADMSG, NULL);
		free(cut);
	}
	snapfile_writer_free(&w);
}
END_TEST

/* Every byte of the file flipped in three ways, one at a time: each is refused. */
START_TEST(test_every_flipped_byte_refused)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	struct snapfile_writer w;
	struct snapfile *f = new_file();
	char why[SNAPFILE_WHY_MAX];

	build(&w);
	for (size_t i = 0; i < w.len; i++) {
		for (size_t k = 0; k < sizeof(masks); k++) {
			w.buf[i] ^= masks[k];
			ck_assert_msg(snapfile_parse(f, w.buf, w.len, MAX_TYPE, why) < 0,
				      "byte %zu ^ %#x accepted", i, masks[k]);
			ck_assert_uint_eq(f->n, 0);
			w.buf[i] ^= masks[k];
		}
	}
	ck_assert_int_eq(snapfile_parse(f, w.buf, w.len, MAX_TYPE, why), 0);
	free(f);
	snapfile_writer_free(&w);
}
END_TEST

/* The padding after the 5-byte payload and after the 13-byte one, named explicitly. */
START_TEST(test_nonzero_padding_refused)
{
	struct snapfile_writer w;
	size_t pad5 = HDR + SEC_HDR + 5, pad13 = HDR + 3 * SEC_HDR + 8 + 13;

	build(&w);
	for (size_t i = pad5; i < HDR + SEC_HDR + 8; i++) {
		w.buf[i] = 1;
		expect_parse(w.buf, w.len, -EBADMSG, "padding");
		w.buf[i] = 0;
	}
	for (size_t i = pad13; i < pad13 + 3; i++) {
		w.buf[i] = 0x80;
		expect_parse(w.buf, w.len, -EBADMSG, "padding");
		w.buf[i] = 0;
	}
	expect_parse(w.buf, w.len, 0, NULL);
	snapfile_writer_free(&w);
}
END_TEST

START_TEST(test_wrong_magic_is_einval)
{
	struct snapfile_writer w;

	build(&w);
	w.buf[0] = 'X';
	expect_parse(w.buf, w.len, -EINVAL, "EMBERSNP");
	memcpy(w.buf, "EMBERSNQ", 8);
	reseal(w.buf); /* a valid checksum does not help */
	expect_parse(w.buf, w.len, -EINVAL, NULL);
	snapfile_writer_free(&w);
	expect_parse("", 0, -EINVAL, NULL);
	expect_parse("EMBERSNP", 8, -EINVAL, NULL);
}
END_TEST

START_TEST(test_other_version_is_eproto)
{
	static const uint32_t versions[] = { 0, SNAPFILE_VERSION + 1, UINT32_MAX };
	struct snapfile_writer w;

	build(&w);
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		put32(w.buf + 8, versions[i]);
		reseal(w.buf);
		expect_parse(w.buf, w.len, -EPROTO, "version");
	}
	/* Without the checksum fixed it is damage, not a version. */
	put32(w.buf + 8, SNAPFILE_VERSION + 1);
	put32(w.buf + 24, get32(w.buf + 24) ^ 1);
	expect_parse(w.buf, w.len, -EBADMSG, "checksum");
	snapfile_writer_free(&w);
}
END_TEST

START_TEST(test_duplicate_section_refused)
{
	struct snapfile_writer w;

	snapfile_writer_init(&w);
	snapfile_add(&w, 1, 0, five, sizeof(five));
	snapfile_add(&w, 2, 0, NULL, 0);
	snapfile_add(&w, 1, 0, eight, sizeof(eight));
	ck_assert_int_eq(snapfile_finish(&w), 0);
	expect_parse(w.buf, w.len, -EBADMSG, "twice");
	snapfile_writer_free(&w);
	/* The same type with other indexes, the same index with other types: fine. */
	snapfile_writer_init(&w);
	snapfile_add(&w, 1, 0, NULL, 0);
	snapfile_add(&w, 1, 1, NULL, 0);
	snapfile_add(&w, 2, 0, NULL, 0);
	snapfile_add(&w, 2, UINT32_MAX, NULL, 0);
	ck_assert_int_eq(snapfile_finish(&w), 0);
	expect_parse(w.buf, w.len, 0, NULL);
	snapfile_writer_free(&w);
}
END_TEST

START_TEST(test_unknown_type_refused)
{
	static const uint32_t types[] = { 0, MAX_TYPE + 1, UINT32_MAX };
	struct snapfile_writer w;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		snapfile_writer_init(&w);
		snapfile_add(&w, 1, 0, five, sizeof(five));
		snapfile_add(&w, types[i], 0, thirteen, sizeof(thirteen));
		ck_assert_int_eq(snapfile_finish(&w), 0);
		expect_parse(w.buf, w.len, -EBADMSG, "unknown type");
		snapfile_writer_free(&w);
	}
	snapfile_writer_init(&w);
	snapfile_add(&w, MAX_TYPE, 0, NULL, 0);
	ck_assert_int_eq(snapfile_finish(&w), 0);
	expect_parse(w.buf, w.len, 0, NULL);
	snapfile_writer_free(&w);
}
END_TEST

START_TEST(test_section_count_out_of_step)
{
	static const uint32_t counts[] = { SNAPFILE_MAX_SECTIONS + 1, UINT32_MAX };
	struct snapfile_writer w;

	build(&w);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		put32(w.buf + 12, counts[i]);
		reseal(w.buf);
		expect_parse(w.buf, w.len, -EBADMSG, "sections");
	}
	put32(w.buf + 12, 5); /* one more than there are */
	reseal(w.buf);
	expect_parse(w.buf, w.len, -EBADMSG, "cut off");
	put32(w.buf + 12, 3); /* one fewer: the last is left over */
	reseal(w.buf);
	expect_parse(w.buf, w.len, -EBADMSG, "after the last section");
	put32(w.buf + 12, 0);
	reseal(w.buf);
	expect_parse(w.buf, w.len, -EBADMSG, "after the last section");
	snapfile_writer_free(&w);
}
END_TEST

START_TEST(test_trailing_bytes_refused)
{
	struct snapfile_writer w;
	uint8_t *longer;

	build(&w);
	longer = calloc(1, w.len + 8);
	ck_assert_ptr_nonnull(longer);
	memcpy(longer, w.buf, w.len);
	/* The header still says the old length. */
	expect_parse(longer, w.len + 8, -EBADMSG, "truncated or extended");
	/* The header's length updated: eight bytes that belong to no section. */
	put64(longer + 16, w.len + 8);
	reseal(longer);
	expect_parse(longer, w.len + 8, -EBADMSG, "after the last section");
	free(longer);
	snapfile_writer_free(&w);
}
END_TEST

/* A section length past the file, up to values whose padding wraps around 2^64. */
START_TEST(test_length_overflow_refused)
{
	static const uint64_t lens[] = {
		6, 8, 9, 1 << 20, 1ULL << 32, 1ULL << 63, UINT64_MAX - 8, UINT64_MAX - 7,
		UINT64_MAX - 6, UINT64_MAX - 1, UINT64_MAX,
	};
	struct snapfile_writer w;
	uint8_t *sec1;

	build(&w);
	sec1 = w.buf + HDR; /* the 5-byte section's header */
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		put64(sec1 + 8, lens[i]);
		expect_parse(w.buf, w.len, -EBADMSG, NULL);
	}
	/* The last section one byte shorter: its last byte becomes padding (and its checksum is off). */
	put64(sec1 + 8, 5);
	put64(w.buf + w.len - 8 - SEC_HDR + 8, 7);
	expect_parse(w.buf, w.len, -EBADMSG, NULL);
	/* The file's own length field, huge. */
	snapfile_writer_free(&w);
	build(&w);
	put64(w.buf + 16, UINT64_MAX);
	reseal(w.buf);
	expect_parse(w.buf, w.len, -EBADMSG, "truncated or extended");
	snapfile_writer_free(&w);
}
END_TEST

/* The reserved words of the header and of a section header must be zero. */
START_TEST(test_reserved_words_refused)
{
	struct snapfile_writer w;

	build(&w);
	put32(w.buf + 28, 1);
	expect_parse(w.buf, w.len, -EBADMSG, NULL);
	put32(w.buf + 28, 0);
	put32(w.buf + HDR + 20, 1);
	expect_parse(w.buf, w.len, -EBADMSG, NULL);
	snapfile_writer_free(&w);
}
END_TEST

START_TEST(test_writer_too_many_sections_is_e2big)
{
	struct snapfile_writer w;
	size_t len;

	snapfile_writer_init(&w);
	for (uint32_t i = 0; i < SNAPFILE_MAX_SECTIONS; i++)
		snapfile_add(&w, 1, i, NULL, 0);
	ck_assert_int_eq(w.err, 0);
	ck_assert_int_eq(snapfile_finish(&w), 0);
	expect_parse(w.buf, w.len, 0, NULL);
	len = w.len;
	snapfile_add(&w, 1, SNAPFILE_MAX_SECTIONS, five, sizeof(five));
	ck_assert_int_eq(snapfile_finish(&w), -E2BIG);
	/* Sticky: later sections change nothing, finish keeps failing. */
	snapfile_add(&w, 2, 0, eight, sizeof(eight));
	ck_assert_int_eq(snapfile_finish(&w), -E2BIG);
	ck_assert_uint_le(w.len, len + SEC_HDR + 8);
	snapfile_writer_free(&w);
}
END_TEST

START_TEST(test_writer_oversized_section_is_efbig)
{
	static const size_t lens[] = { SNAPFILE_MAX_SIZE + 1, SIZE_MAX - 8, SIZE_MAX - 3, SIZE_MAX };
	struct snapfile_writer w;

	/* The payload is never read: the size is refused first (five bytes stand in for it). */
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		snapfile_writer_init(&w);
		snapfile_add(&w, 1, 0, five, lens[i]);
		ck_assert_int_eq(snapfile_finish(&w), -EFBIG);
		snapfile_add(&w, 1, 1, five, sizeof(five));
		ck_assert_int_eq(snapfile_finish(&w), -EFBIG);
		snapfile_writer_free(&w);
	}
}
END_TEST

Suite *snapfile_suite(void)
{
	Suite *s = suite_create("snapfile");
	TCase *tc = tcase_create("snapfile");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_get_size_mismatch_and_missing);
	tcase_add_test(tc, test_empty_file_and_unaligned_buffer);
	tcase_add_test(tc, test_every_truncation_refused);
	tcase_add_test(tc, test_every_flipped_byte_refused);
	tcase_add_test(tc, test_nonzero_padding_refused);
	tcase_add_test(tc, test_wrong_magic_is_einval);
	tcase_add_test(tc, test_other_version_is_eproto);
	tcase_add_test(tc, test_duplicate_section_refused);
	tcase_add_test(tc, test_unknown_type_refused);
	tcase_add_test(tc, test_section_count_out_of_step);
	tcase_add_test(tc, test_trailing_bytes_refused);
	tcase_add_test(tc, test_length_overflow_refused);
	tcase_add_test(tc, test_reserved_words_refused);
	tcase_add_test(tc, test_writer_too_many_sections_is_e2big);
	tcase_add_test(tc, test_writer_oversized_section_is_efbig);
	suite_add_tcase(s, tc);
	return s;
}
