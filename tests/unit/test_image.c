/*
 * boot/image: the arm64 Image header, gzip'd Images, the layout of kernel,
 * initrd and device tree in guest RAM, and the copy into it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <zlib.h>

#include "boot/image.h"
#include "tests/unit/suites.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define RAM_BASE 0x40000000ULL /* where arm64 VMMs put RAM */
#define FAKE_SIZE (64 * KIB)
#define FAKE_IMAGE_SIZE (3 * MIB + 0x1234) /* file, then room for BSS; not page-aligned */
#define DTB_SIZE (64 * KIB)

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A synthetic Image of `size` bytes: a header as Linux writes it, then patterned bytes. */
static uint8_t *fake_image(size_t size, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	uint8_t *p = malloc(size);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 13 + 5);
	memset(p, 0, size < IMAGE_HDR_SIZE ? size : IMAGE_HDR_SIZE);
	if (size < IMAGE_HDR_SIZE)
		return p;
	put_le(p + 0x00, 0x91005a4d, 4); /* code0: "MZ" as an instruction, as EFI-stub kernels have */
	put_le(p + 0x04, 0x14000000, 4); /* code1: b stext */
	put_le(p + 0x08, text_offset, 8);
	put_le(p + 0x10, image_size, 8);
	put_le(p + 0x18, flags, 8);
	put_le(p + 0x38, IMAGE_MAGIC, 4);
	put_le(p + 0x3c, 0x40, 4); /* res5: PE header offset */
	return p;
}

/* A typical modern kernel: text_offset 0, 4K pages, may be placed anywhere. */
static uint8_t *good_image(void)
{
	return fake_image(FAKE_SIZE, 0, FAKE_IMAGE_SIZE, 0xa);
}

static void assert_refused(const void *data, size_t size, int err, const char *words)
{
	struct image img;
	const char *why = NULL;

	ck_assert_int_eq(image_parse(data, size, &img, &why), err);
	ck_assert_ptr_nonnull(why);
	if (words)
		ck_assert_msg(strstr(why, words), "'%s' does not say '%s'", why, words);
}

/* gzip (with zlib's gzip wrapper) `len` bytes; returns a malloc'd stream and its size. */
static uint8_t *gzip(const void *in, size_t len, size_t *out_len)
{
	size_t cap = compressBound((uLong)len) + 64;
	uint8_t *out = malloc(cap);
	z_stream zs;

	ck_assert_ptr_nonnull(out);
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

/* ---- header ---- */

START_TEST(test_parse_good_image)
{
	uint8_t *p = good_image();
	struct image img;
	const char *why;

	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	ck_assert_ptr_eq(img.data, p);
	ck_assert_uint_eq(img.size, FAKE_SIZE);
	ck_assert_uint_eq(img.text_offset, 0);
	ck_assert_uint_eq(img.image_size, FAKE_IMAGE_SIZE);
	ck_assert_uint_eq(img.flags, 0xa);
	ck_assert_uint_eq(img.page_size, 4096);
	ck_assert(!img.legacy);
	ck_assert_ptr_null(img.owned);
	free(p);
}
END_TEST

static const struct {
	uint64_t flags;
	unsigned int page_size;
} page_flags[] = {
	{ 0x0, 0 }, { 0x2, 4096 }, { 0x4, 16384 }, { 0x6, 65536 }, { 0xe, 65536 },
	{ 0xfffffffffffffff0ULL | 0x2, 4096 }, /* reserved bits: a later kernel's, accepted */
};

START_TEST(test_parse_page_size_flags)
{
	uint8_t *p = fake_image(FAKE_SIZE, 0x80000, FAKE_IMAGE_SIZE, page_flags[_i].flags);
	struct image img;
	const char *why;

	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	ck_assert_uint_eq(img.page_size, page_flags[_i].page_size);
	ck_assert_uint_eq(img.text_offset, 0x80000);
	free(p);
}
END_TEST

START_TEST(test_parse_refuses_truncated_header)
{
	uint8_t *p = good_image();

	assert_refused(p, 0, -ENOEXEC, "too small");
	assert_refused(p, 1, -ENOEXEC, "too small");
	assert_refused(p, IMAGE_HDR_SIZE - 1, -ENOEXEC, "too small");
	free(p);
}
END_TEST

START_TEST(test_parse_header_only_image)
{
	uint8_t *p = fake_image(IMAGE_HDR_SIZE, 0, IMAGE_HDR_SIZE, 0);
	struct image img;
	const char *why;

	ck_assert_int_eq(image_parse(p, IMAGE_HDR_SIZE, &img, &why), 0);
	free(p);
}
END_TEST

START_TEST(test_parse_refuses_wrong_magic)
{
	uint8_t *p = good_image();

	p[0x38] ^= 1;
	assert_refused(p, FAKE_SIZE, -ENOEXEC, "magic");
	put_le(p + 0x38, 0x41524d64, 4); /* "dMRA": the magic in the wrong byte order */
	assert_refused(p, FAKE_SIZE, -ENOEXEC, "magic");
	free(p);
}
END_TEST

START_TEST(test_parse_names_other_formats)
{
	uint8_t *p = fake_image(FAKE_SIZE, 0, 0, 0);

	memset(p, 0, IMAGE_HDR_SIZE);
	memcpy(p, "\x7f" "ELF", 4);
	assert_refused(p, FAKE_SIZE, -ENOEXEC, "ELF");
	memset(p, 0, IMAGE_HDR_SIZE);
	memcpy(p, "MZ\0\0zimg", 8);
	assert_refused(p, FAKE_SIZE, -ENOEXEC, "zboot");
	memset(p, 0, IMAGE_HDR_SIZE);
	memcpy(p + 0x202, "HdrS", 4);
	assert_refused(p, FAKE_SIZE, -ENOEXEC, "bzImage");
	free(p);
}
END_TEST

START_TEST(test_parse_refuses_big_endian)
{
	uint8_t *p = fake_image(FAKE_SIZE, 0, FAKE_IMAGE_SIZE, 0x3);

	assert_refused(p, FAKE_SIZE, -ENOEXEC, "big-endian");
	free(p);
}
END_TEST

START_TEST(test_parse_refuses_image_size_below_file)
{
	uint8_t *p = fake_image(FAKE_SIZE, 0, FAKE_SIZE - 1, 0);
	struct image img;
	const char *why;

	assert_refused(p, FAKE_SIZE, -ENOEXEC, "smaller than the file");
	put_le(p + 0x10, FAKE_SIZE, 8); /* exactly the file: fine */
	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	free(p);
}
END_TEST

START_TEST(test_parse_refuses_absurd_image_size)
{
	uint8_t *p = fake_image(FAKE_SIZE, 0, IMAGE_SIZE_MAX + 1, 0);
	struct image img;
	const char *why;

	assert_refused(p, FAKE_SIZE, -ENOEXEC, "image_size");
	put_le(p + 0x10, UINT64_MAX, 8);
	assert_refused(p, FAKE_SIZE, -ENOEXEC, "image_size");
	put_le(p + 0x10, IMAGE_SIZE_MAX, 8);
	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	free(p);
}
END_TEST

static const uint64_t bad_text_offsets[] = {
	1, 0x800, 0x80001, 0x7ffff, 2 * MIB, 2 * MIB + 4096, 1ULL << 40, UINT64_MAX & ~0xfffULL,
	UINT64_MAX,
};

START_TEST(test_parse_refuses_bad_text_offset)
{
	uint8_t *p = fake_image(FAKE_SIZE, bad_text_offsets[_i], FAKE_IMAGE_SIZE, 0);

	assert_refused(p, FAKE_SIZE, -ENOEXEC, "text_offset");
	free(p);
}
END_TEST

START_TEST(test_parse_text_offset_limits)
{
	uint8_t *p = fake_image(FAKE_SIZE, 2 * MIB - 4096, FAKE_IMAGE_SIZE, 0);
	struct image img;
	const char *why;

	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	ck_assert_uint_eq(img.text_offset, 2 * MIB - 4096);
	put_le(p + 0x08, 4096, 8);
	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	ck_assert_uint_eq(img.text_offset, 4096);
	free(p);
}
END_TEST

/* Before 3.17: image_size 0, text_offset in the kernel's byte order. */
START_TEST(test_parse_old_kernel)
{
	uint8_t *p = fake_image(FAKE_SIZE, 0x0000080000000000ULL, 0, 0);
	struct image img;
	const char *why;

	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	ck_assert(img.legacy);
	ck_assert_uint_eq(img.text_offset, IMAGE_OLD_TEXT_OFFSET);
	ck_assert_uint_eq(img.image_size, FAKE_SIZE);
	free(p);
}
END_TEST

/* ---- gzip ---- */

/* An EFI-stub kernel is a PE image too: its section table says how long the file must be. */
static void put_pe(uint8_t *p, uint64_t nsec, uint64_t last_end)
{
	put_le(p + 0x40, 0x00004550, 4); /* "PE\0\0" */
	put_le(p + 0x40 + 6, nsec, 2);
	put_le(p + 0x40 + 20, 0, 2); /* no optional header: the table follows at 0x58 */
	memset(p + 0x58, 0, 2 * 40);
	put_le(p + 0x58 + 16, 0x1000, 4); /* .text: 4 KiB at 4 KiB */
	put_le(p + 0x58 + 20, 0x1000, 4);
	put_le(p + 0x58 + 40 + 16, last_end - 0x2000, 4); /* .data: up to last_end */
	put_le(p + 0x58 + 40 + 20, 0x2000, 4);
}

START_TEST(test_parse_pe_sections_fit)
{
	uint8_t *p = good_image();
	struct image img;
	const char *why;

	put_pe(p, 2, FAKE_SIZE);
	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	free(p);
}
END_TEST

START_TEST(test_parse_refuses_truncated_pe_image)
{
	uint8_t *p = good_image();

	put_pe(p, 2, FAKE_SIZE);
	assert_refused(p, FAKE_SIZE - 1, -ENOEXEC, "truncated");
	assert_refused(p, 0x3000, -ENOEXEC, "truncated");
	free(p);
}
END_TEST

/* A PE header that cannot be read (offset or table past the file) proves nothing: no refusal. */
START_TEST(test_parse_ignores_insane_pe_header)
{
	uint8_t *p = good_image();
	struct image img;
	const char *why;

	put_pe(p, 0xffff, FAKE_SIZE * 4); /* more sections than the file holds */
	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	put_pe(p, 2, FAKE_SIZE);
	put_le(p + 0x3c, 0xfffffff0, 4); /* PE header offset past the end */
	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	free(p);
}
END_TEST

START_TEST(test_decode_plain_image_in_place)
{
	uint8_t *p = good_image();
	struct image img;
	const char *why;

	ck_assert_int_eq(image_decode(p, FAKE_SIZE, 0, &img, &why), 0);
	ck_assert_ptr_eq(img.data, p);
	ck_assert_ptr_null(img.owned);
	image_free(&img);
	free(p);
}
END_TEST

START_TEST(test_decode_gzipped_image)
{
	uint8_t *p = good_image(), *z;
	struct image img;
	const char *why;
	size_t zlen;

	z = gzip(p, FAKE_SIZE, &zlen);
	ck_assert_uint_lt(zlen, FAKE_SIZE);
	ck_assert_int_eq(image_decode(z, zlen, 0, &img, &why), 0);
	ck_assert_ptr_nonnull(img.owned);
	ck_assert_ptr_eq(img.data, img.owned);
	ck_assert_uint_eq(img.size, FAKE_SIZE);
	ck_assert_mem_eq(img.data, p, FAKE_SIZE);
	ck_assert_uint_eq(img.image_size, FAKE_IMAGE_SIZE);
	image_free(&img);
	ck_assert_ptr_null(img.owned);
	free(z);
	free(p);
}
END_TEST

/* Bigger than the first guess of four times the input: the buffer must grow. */
START_TEST(test_decode_gzip_that_grows_the_buffer)
{
	size_t size = 9 * MIB + 77, zlen;
	uint8_t *p = fake_image(size, 0, 16 * MIB, 0), *z;
	struct image img;
	const char *why;

	memset(p + IMAGE_HDR_SIZE, 0, size - IMAGE_HDR_SIZE); /* compresses ~1000:1 */
	p[size - 1] = 0x5a;
	z = gzip(p, size, &zlen);
	ck_assert_uint_lt(zlen * 4, size);
	ck_assert_int_eq(image_decode(z, zlen, 0, &img, &why), 0);
	ck_assert_uint_eq(img.size, size);
	ck_assert_mem_eq(img.data, p, size);
	image_free(&img);
	free(z);
	free(p);
}
END_TEST

START_TEST(test_gzip_truncated)
{
	uint8_t *p = good_image(), *z, *out;
	size_t zlen, out_len;
	const char *why;
	struct image img;

	z = gzip(p, FAKE_SIZE, &zlen);
	/* Cut in the header, in the data, in the trailer, one byte short. */
	const size_t cuts[] = { 2, 10, 18, zlen / 2, zlen - 8, zlen - 4, zlen - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		why = NULL;
		ck_assert_int_eq(image_gunzip(z, cuts[i], 1 * MIB, &out, &out_len, &why), -ENOEXEC);
		ck_assert_ptr_null(out);
		ck_assert_ptr_nonnull(why);
		ck_assert_int_eq(image_decode(z, cuts[i], 0, &img, &why), -ENOEXEC);
	}
	free(z);
	free(p);
}
END_TEST

START_TEST(test_gzip_corrupt)
{
	uint8_t *p = good_image(), *z, *out;
	size_t zlen, out_len;
	const char *why;
	/* A deflate byte, the CRC-32, the size (ISIZE), the compression method. */
	size_t at[] = { 0, 0, 0, 2 };

	z = gzip(p, FAKE_SIZE, &zlen);
	at[0] = zlen / 2;
	at[1] = zlen - 8;
	at[2] = zlen - 1;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		z[at[i]] ^= 0x40;
		why = NULL;
		ck_assert_int_eq(image_gunzip(z, zlen, 1 * MIB, &out, &out_len, &why), -ENOEXEC);
		ck_assert_ptr_null(out);
		ck_assert_ptr_nonnull(why);
		z[at[i]] ^= 0x40;
	}
	ck_assert_int_eq(image_gunzip(z, zlen, 1 * MIB, &out, &out_len, &why), 0);
	free(out);
	free(z);
	free(p);
}
END_TEST

/* A gzip bomb: 16 MiB of zeros in about 16 KiB, against a cap of 1 MiB. */
START_TEST(test_gzip_past_cap_refused)
{
	size_t size = 16 * MIB, zlen, out_len;
	uint8_t *zeros = calloc(1, size), *z, *out;
	const char *why = NULL;
	struct image img;

	ck_assert_ptr_nonnull(zeros);
	z = gzip(zeros, size, &zlen);
	free(zeros);
	ck_assert_uint_lt(zlen, 32 * KIB);
	ck_assert_int_eq(image_gunzip(z, zlen, 1 * MIB, &out, &out_len, &why), -EFBIG);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(image_decode(z, zlen, 1 * MIB, &img, &why), -EFBIG);
	ck_assert_ptr_null(img.owned);
	free(z);
}
END_TEST

START_TEST(test_gzip_cap_is_inclusive)
{
	uint8_t *p = good_image(), *z, *out;
	size_t zlen, out_len;
	const char *why;

	z = gzip(p, FAKE_SIZE, &zlen);
	ck_assert_int_eq(image_gunzip(z, zlen, FAKE_SIZE, &out, &out_len, &why), 0);
	ck_assert_uint_eq(out_len, FAKE_SIZE);
	free(out);
	ck_assert_int_eq(image_gunzip(z, zlen, FAKE_SIZE - 1, &out, &out_len, &why), -EFBIG);
	ck_assert_int_eq(image_gunzip(z, zlen, 0, &out, &out_len, &why), -EFBIG);
	free(z);
	free(p);
}
END_TEST

START_TEST(test_gzip_of_something_else)
{
	static const char text[] = "not a kernel, just some text that compresses";
	uint8_t *z, *out;
	size_t zlen, out_len;
	const char *why;
	struct image img;

	z = gzip(text, sizeof(text), &zlen);
	ck_assert_int_eq(image_decode(z, zlen, 0, &img, &why), -ENOEXEC); /* freed: LSan checks */
	ck_assert_ptr_null(img.owned);
	free(z);
	z = gzip("", 0, &zlen);
	ck_assert_int_eq(image_gunzip(z, zlen, MIB, &out, &out_len, &why), -ENOEXEC);
	ck_assert_int_eq(image_decode(z, zlen, 0, &img, &why), -ENOEXEC);
	free(z);
	ck_assert_int_eq(image_gunzip(text, sizeof(text), MIB, &out, &out_len, &why), -ENOEXEC);
}
END_TEST

START_TEST(test_gzip_trailing_bytes_ignored)
{
	uint8_t *p = good_image(), *z;
	size_t zlen;
	const char *why;
	struct image img;

	z = gzip(p, FAKE_SIZE, &zlen);
	z = realloc(z, zlen + 512);
	ck_assert_ptr_nonnull(z);
	memset(z + zlen, 0, 512); /* padding, as some build systems leave */
	ck_assert_int_eq(image_decode(z, zlen + 512, 0, &img, &why), 0);
	ck_assert_mem_eq(img.data, p, FAKE_SIZE);
	image_free(&img);
	free(z);
	free(p);
}
END_TEST

/* ---- layout ---- */

static struct image layout_image(uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	return (struct image){ .size = image_size < FAKE_SIZE ? image_size : FAKE_SIZE,
			       .text_offset = text_offset, .image_size = image_size, .flags = flags };
}

/* What every layout must be: inside RAM, aligned as booting.rst asks, nothing overlapping. */
static void assert_layout_sane(const struct image *img, uint64_t ram_base, uint64_t ram_size,
			       uint64_t initrd_size, uint64_t dtb_size, const struct image_layout *l)
{
	ck_assert_uint_eq((l->kernel - img->text_offset) % IMAGE_ALIGN, 0);
	ck_assert_uint_ge(l->kernel - img->text_offset, ram_base);
	ck_assert_uint_lt(l->kernel - img->text_offset - ram_base, IMAGE_ALIGN); /* lowest base */
	ck_assert_uint_eq(l->kernel_end, l->kernel + img->image_size);
	ck_assert_uint_le(l->kernel_end, l->initrd);
	ck_assert_uint_eq(l->initrd % 4096, 0);
	ck_assert_uint_eq(l->initrd_end - l->initrd, initrd_size);
	ck_assert_uint_le(l->initrd_end, l->dtb);
	ck_assert_uint_eq(l->dtb % IMAGE_ALIGN, 0);
	ck_assert_uint_le(l->dtb + dtb_size, ram_base + ram_size);
	ck_assert_uint_lt(ram_base + ram_size - (l->dtb + dtb_size), IMAGE_ALIGN); /* highest slot */
}

START_TEST(test_layout_typical)
{
	struct image img = layout_image(0, 32 * MIB, 0xa);
	struct image_layout l;
	const char *why;

	ck_assert_int_eq(image_layout(&img, RAM_BASE, 256 * MIB, 10 * MIB, DTB_SIZE, &l, &why), 0);
	ck_assert_uint_eq(l.kernel, RAM_BASE);
	ck_assert_uint_eq(l.kernel_end, RAM_BASE + 32 * MIB);
	ck_assert_uint_eq(l.initrd, RAM_BASE + 32 * MIB);
	ck_assert_uint_eq(l.initrd_end, RAM_BASE + 42 * MIB);
	ck_assert_uint_eq(l.dtb, RAM_BASE + 254 * MIB);
	assert_layout_sane(&img, RAM_BASE, 256 * MIB, 10 * MIB, DTB_SIZE, &l);
}
END_TEST

START_TEST(test_layout_text_offset_and_unaligned_sizes)
{
	struct image img = layout_image(0x80000, FAKE_IMAGE_SIZE, 0);
	struct image_layout l;
	const char *why;

	ck_assert_int_eq(image_layout(&img, RAM_BASE, 128 * MIB, 12345, DTB_SIZE, &l, &why), 0);
	ck_assert_uint_eq(l.kernel, RAM_BASE + 0x80000);
	ck_assert_uint_eq(l.initrd, (RAM_BASE + 0x80000 + FAKE_IMAGE_SIZE + 4095) & ~4095ULL);
	assert_layout_sane(&img, RAM_BASE, 128 * MIB, 12345, DTB_SIZE, &l);
}
END_TEST

START_TEST(test_layout_unaligned_ram)
{
	struct image img = layout_image(0x80000, FAKE_IMAGE_SIZE, 0);
	uint64_t base = RAM_BASE + 0x1000, size = 129 * MIB + 0x3000;
	struct image_layout l;
	const char *why;

	ck_assert_int_eq(image_layout(&img, base, size, 0, DTB_SIZE, &l, &why), 0);
	ck_assert_uint_eq(l.kernel, RAM_BASE + 2 * MIB + 0x80000); /* the next 2 MiB boundary */
	ck_assert_uint_eq(l.initrd, l.initrd_end);		   /* no initrd */
	ck_assert_uint_eq(l.dtb, RAM_BASE + 128 * MIB);
	assert_layout_sane(&img, base, size, 0, DTB_SIZE, &l);
}
END_TEST

START_TEST(test_layout_dtb_sizes)
{
	struct image img = layout_image(0, 8 * MIB, 0);
	struct image_layout l;
	const char *why;

	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * MIB, 0, 0, &l, &why), -EINVAL);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * MIB, 0, IMAGE_DTB_MAX + 1, &l, &why),
			 -EINVAL);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * MIB, 0, IMAGE_DTB_MAX, &l, &why), 0);
	ck_assert_uint_eq(l.dtb, RAM_BASE + 62 * MIB);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * MIB, 0, 1, &l, &why), 0);
	ck_assert_uint_eq(l.dtb, RAM_BASE + 62 * MIB);
}
END_TEST

/* The least RAM that holds it all, and a page less. */
START_TEST(test_layout_exact_fit)
{
	struct image img = layout_image(0x80000, 6 * MIB - 0x80000, 0);
	struct image_layout l;
	const char *why = NULL;
	uint64_t need = 6 * MIB + 4 * MIB + 2 * MIB; /* kernel, initrd, the device tree's slot */

	ck_assert_int_eq(image_layout(&img, RAM_BASE, need, 4 * MIB, IMAGE_DTB_MAX, &l, &why), 0);
	ck_assert_uint_eq(l.initrd_end, l.dtb);
	assert_layout_sane(&img, RAM_BASE, need, 4 * MIB, IMAGE_DTB_MAX, &l);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, need - 4096, 4 * MIB, IMAGE_DTB_MAX, &l, &why),
			 -ENOMEM);
	ck_assert_ptr_nonnull(why);
	/* A small device tree needs only its own bytes, from a 2 MiB boundary above the initrd. */
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 10 * MIB + 4096, 4 * MIB, 4096, &l, &why), 0);
	ck_assert_uint_eq(l.dtb, RAM_BASE + 10 * MIB);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 10 * MIB + 4095, 4 * MIB, 4096, &l, &why),
			 -ENOMEM);
}
END_TEST

START_TEST(test_layout_ram_too_small)
{
	struct image img = layout_image(0, 32 * MIB, 0);
	struct image_layout l;
	const char *why;

	why = NULL;
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 16 * MIB, 0, DTB_SIZE, &l, &why), -ENOMEM);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 32 * MIB, 0, DTB_SIZE, &l, &why), -ENOMEM);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * MIB, 64 * MIB, DTB_SIZE, &l, &why),
			 -ENOMEM);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * MIB, UINT64_MAX, DTB_SIZE, &l, &why),
			 -ENOMEM);
	/* RAM that starts just past a 2 MiB boundary loses what lies below the next one. */
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 34 * MIB, 0, DTB_SIZE, &l, &why), 0);
	ck_assert_int_eq(image_layout(&img, RAM_BASE + 4096, 34 * MIB, 0, DTB_SIZE, &l, &why),
			 -ENOMEM);
	ck_assert_int_eq(image_layout(&img, RAM_BASE + 4096, 36 * MIB - 4096, 0, DTB_SIZE, &l,
				      &why), 0);
}
END_TEST

START_TEST(test_layout_refuses_bad_ram)
{
	struct image img = layout_image(0, 8 * MIB, 0);
	struct image_layout l;
	const char *why;

	ck_assert_int_eq(image_layout(&img, RAM_BASE, 0, 0, DTB_SIZE, &l, &why), -EINVAL);
	ck_assert_int_eq(image_layout(&img, UINT64_MAX - MIB, 2 * MIB, 0, DTB_SIZE, &l, &why),
			 -EINVAL);
	ck_assert_int_eq(image_layout(&img, 1ULL << 63, 1ULL << 63, 0, DTB_SIZE, &l, &why),
			 -EINVAL); /* ends at exactly 2^64: wraps */
}
END_TEST

/* Values no parsed header gives, and RAM at the top of the address space: no wrap-around. */
START_TEST(test_layout_overflowing_values)
{
	struct image img = layout_image(0, UINT64_MAX, 0);
	uint64_t top = UINT64_MAX - 64 * MIB - 4094; /* 2^64 - 64 MiB - 4095 */
	struct image_layout l;
	const char *why;

	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * MIB, 0, DTB_SIZE, &l, &why), -ENOMEM);
	img = layout_image(UINT64_MAX & ~0xfffULL, 8 * MIB, 0);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * MIB, 0, DTB_SIZE, &l, &why), -ENOMEM);
	img = layout_image(0, 8 * MIB, 0);
	/* No 2 MiB boundary left before the end of the address space. */
	ck_assert_int_eq(image_layout(&img, UINT64_MAX - 4096, 4096, 0, DTB_SIZE, &l, &why),
			 -ENOMEM);
	/* The kernel would run past it. */
	ck_assert_int_eq(image_layout(&img, UINT64_MAX - 4 * MIB, 4 * MIB, 0, DTB_SIZE, &l, &why),
			 -ENOMEM);
	ck_assert_int_eq(image_layout(&img, top, 64 * MIB, MIB, DTB_SIZE, &l, &why), 0);
	ck_assert_uint_eq(l.kernel, 0 - 64 * MIB);
	ck_assert_uint_eq(l.dtb, 0 - 2 * MIB);
	assert_layout_sane(&img, top, 64 * MIB, MIB, DTB_SIZE, &l);
	ck_assert_int_eq(image_layout(&img, 1ULL << 63, 1ULL << 40, 1ULL << 34, DTB_SIZE, &l, &why),
			 0);
	assert_layout_sane(&img, 1ULL << 63, 1ULL << 40, 1ULL << 34, DTB_SIZE, &l);
}
END_TEST

START_TEST(test_layout_initrd_window)
{
	struct image img = layout_image(0, 32 * MIB, 0);
	struct image_layout l;
	const char *why = NULL;

	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * GIB, 31 * GIB, DTB_SIZE, &l, &why), 0);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * GIB, 32 * GIB - 32 * MIB, DTB_SIZE, &l,
				      &why), 0);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * GIB, 32 * GIB - 32 * MIB + 1, DTB_SIZE,
				      &l, &why), -E2BIG);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(image_layout(&img, RAM_BASE, 64 * GIB, 40 * GIB, DTB_SIZE, &l, &why),
			 -E2BIG);
}
END_TEST

/* A sweep of RAM bases and sizes, text offsets, image, initrd and device tree sizes. */
START_TEST(test_layout_sweep)
{
	static const uint64_t bases[] = { 0, 4096, RAM_BASE, RAM_BASE + 2 * MIB - 4096,
					  0x80000000ULL, 1ULL << 40 };
	static const uint64_t sizes[] = { 8 * MIB, 64 * MIB + 4096, 1 * GIB };
	static const uint64_t offsets[] = { 0, 4096, 0x80000, 2 * MIB - 4096 };
	static const uint64_t images[] = { 64, 3 * MIB + 1, 20 * MIB };
	static const uint64_t initrds[] = { 0, 1, 5 * MIB + 3 };
	static const uint64_t dtbs[] = { 8, DTB_SIZE, IMAGE_DTB_MAX };
	unsigned int ok = 0, refused = 0;

#define N(a) (sizeof(a) / sizeof((a)[0]))
	for (unsigned int a = 0; a < N(bases); a++)
		for (unsigned int b = 0; b < N(sizes); b++)
			for (unsigned int c = 0; c < N(offsets); c++)
				for (unsigned int d = 0; d < N(images); d++)
					for (unsigned int e = 0; e < N(initrds); e++)
						for (unsigned int f = 0; f < N(dtbs); f++) {
							struct image img = layout_image(offsets[c], images[d], 0);
							struct image_layout l;
							const char *why;
							int rc = image_layout(&img, bases[a], sizes[b],
									      initrds[e], dtbs[f], &l, &why);

							if (rc == 0) {
								assert_layout_sane(&img, bases[a], sizes[b],
										   initrds[e], dtbs[f], &l);
								ok++;
							} else {
								ck_assert_int_eq(rc, -ENOMEM);
								refused++;
							}
						}
#undef N
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_gt(refused, 0);
}
END_TEST

/* ---- loading into guest RAM ---- */

/* Guest RAM of `size` bytes at RAM_BASE, one region, as arm64 lays it out. */
static void arm_ram(struct gm *m, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	memset(m, 0, sizeof(*m));
	m->region[0] = (struct gm_region){ .gpa = RAM_BASE, .size = size, .host = p };
	m->nr = 1;
	m->ram_size = size;
	m->fd = -1;
}

static void arm_ram_free(struct gm *m)
{
	munmap(m->region[0].host, m->region[0].size);
}

START_TEST(test_load_copies_kernel_and_initrd)
{
	uint8_t *p = fake_image(FAKE_SIZE, 0x80000, FAKE_IMAGE_SIZE, 0x2);
	uint8_t initrd[10000];
	struct image img;
	struct image_files f = { .img = &img, .initrd = initrd, .initrd_size = sizeof(initrd),
				 .dtb_size = DTB_SIZE };
	struct image_layout l;
	const char *why;
	struct gm m;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	arm_ram(&m, 64 * MIB);
	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	ck_assert_int_eq(image_load(&m, RAM_BASE, 64 * MIB, &f, &l, &why), 0);
	ck_assert_uint_eq(l.kernel, RAM_BASE + 0x80000); /* the entry point */
	ck_assert_mem_eq(gm_ptr(&m, l.kernel, FAKE_SIZE), p, FAKE_SIZE);
	ck_assert_mem_eq(gm_ptr(&m, l.initrd, sizeof(initrd)), initrd, sizeof(initrd));
	ck_assert_ptr_nonnull(gm_ptr(&m, l.dtb, DTB_SIZE));
	ck_assert_uint_eq(l.dtb, RAM_BASE + 62 * MIB);
	arm_ram_free(&m);
	free(p);
}
END_TEST

START_TEST(test_load_gzipped_kernel_without_initrd)
{
	uint8_t *p = good_image(), *z;
	struct image img;
	struct image_files f = { .img = &img, .initrd_size = 4096 /* no buffer: none */,
				 .dtb_size = DTB_SIZE };
	struct image_layout l;
	const char *why;
	size_t zlen;
	struct gm m;

	arm_ram(&m, 16 * MIB);
	z = gzip(p, FAKE_SIZE, &zlen);
	ck_assert_int_eq(image_decode(z, zlen, 0, &img, &why), 0);
	ck_assert_int_eq(image_load(&m, RAM_BASE, 16 * MIB, &f, &l, &why), 0);
	ck_assert_uint_eq(l.kernel, RAM_BASE);
	ck_assert_uint_eq(l.initrd, l.initrd_end);
	ck_assert_mem_eq(gm_ptr(&m, l.kernel, FAKE_SIZE), p, FAKE_SIZE);
	image_free(&img);
	arm_ram_free(&m);
	free(z);
	free(p);
}
END_TEST

START_TEST(test_load_refuses_what_ram_cannot_hold)
{
	uint8_t *p = good_image();
	static uint8_t initrd[64 * 1024];
	struct image img;
	struct image_files f = { .img = &img, .initrd = initrd, .initrd_size = sizeof(initrd),
				 .dtb_size = DTB_SIZE };
	struct image_layout l;
	const char *why = NULL;
	struct gm m;

	arm_ram(&m, 8 * MIB);
	ck_assert_int_eq(image_parse(p, FAKE_SIZE, &img, &why), 0);
	ck_assert_int_eq(image_load(&m, RAM_BASE, 4 * MIB, &f, &l, &why), -ENOMEM);
	ck_assert_ptr_nonnull(why);
	/* A range that claims more than the guest has: the copy refuses, nothing written outside. */
	why = NULL;
	ck_assert_int_eq(image_load(&m, RAM_BASE, 64 * MIB, &f, &l, &why), -EFAULT);
	ck_assert_ptr_nonnull(why);
	why = NULL;
	ck_assert_int_eq(image_load(&m, RAM_BASE - 64 * MIB, 128 * MIB, &f, &l, &why), -EFAULT);
	ck_assert_ptr_nonnull(why);
	arm_ram_free(&m);
	free(p);
}
END_TEST

Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *hdr_tc = tcase_create("header");
	TCase *gz_tc = tcase_create("gzip");
	TCase *layout_tc = tcase_create("layout");
	TCase *load_tc = tcase_create("load");

	tcase_add_test(hdr_tc, test_parse_good_image);
	tcase_add_loop_test(hdr_tc, test_parse_page_size_flags, 0,
			    sizeof(page_flags) / sizeof(page_flags[0]));
	tcase_add_test(hdr_tc, test_parse_refuses_truncated_header);
	tcase_add_test(hdr_tc, test_parse_header_only_image);
	tcase_add_test(hdr_tc, test_parse_refuses_wrong_magic);
	tcase_add_test(hdr_tc, test_parse_names_other_formats);
	tcase_add_test(hdr_tc, test_parse_refuses_big_endian);
	tcase_add_test(hdr_tc, test_parse_refuses_image_size_below_file);
	tcase_add_test(hdr_tc, test_parse_refuses_absurd_image_size);
	tcase_add_loop_test(hdr_tc, test_parse_refuses_bad_text_offset, 0,
			    sizeof(bad_text_offsets) / sizeof(bad_text_offsets[0]));
	tcase_add_test(hdr_tc, test_parse_text_offset_limits);
	tcase_add_test(hdr_tc, test_parse_old_kernel);
	tcase_add_test(hdr_tc, test_parse_pe_sections_fit);
	tcase_add_test(hdr_tc, test_parse_refuses_truncated_pe_image);
	tcase_add_test(hdr_tc, test_parse_ignores_insane_pe_header);
	suite_add_tcase(s, hdr_tc);

	tcase_add_test(gz_tc, test_decode_plain_image_in_place);
	tcase_add_test(gz_tc, test_decode_gzipped_image);
	tcase_add_test(gz_tc, test_decode_gzip_that_grows_the_buffer);
	tcase_add_test(gz_tc, test_gzip_truncated);
	tcase_add_test(gz_tc, test_gzip_corrupt);
	tcase_add_test(gz_tc, test_gzip_past_cap_refused);
	tcase_add_test(gz_tc, test_gzip_cap_is_inclusive);
	tcase_add_test(gz_tc, test_gzip_of_something_else);
	tcase_add_test(gz_tc, test_gzip_trailing_bytes_ignored);
	tcase_set_timeout(gz_tc, 30); /* the 64 MiB bomb is made under the sanitizers too */
	suite_add_tcase(s, gz_tc);

	tcase_add_test(layout_tc, test_layout_typical);
	tcase_add_test(layout_tc, test_layout_text_offset_and_unaligned_sizes);
	tcase_add_test(layout_tc, test_layout_unaligned_ram);
	tcase_add_test(layout_tc, test_layout_dtb_sizes);
	tcase_add_test(layout_tc, test_layout_exact_fit);
	tcase_add_test(layout_tc, test_layout_ram_too_small);
	tcase_add_test(layout_tc, test_layout_refuses_bad_ram);
	tcase_add_test(layout_tc, test_layout_overflowing_values);
	tcase_add_test(layout_tc, test_layout_initrd_window);
	tcase_add_test(layout_tc, test_layout_sweep);
	suite_add_tcase(s, layout_tc);

	tcase_add_test(load_tc, test_load_copies_kernel_and_initrd);
	tcase_add_test(load_tc, test_load_gzipped_kernel_without_initrd);
	tcase_add_test(load_tc, test_load_refuses_what_ram_cannot_hold);
	suite_add_tcase(s, load_tc);
	return s;
}
