#include "boot/image.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* Header fields (booting.rst), all little-endian. */
#define OFF_TEXT_OFFSET 0x08
#define OFF_IMAGE_SIZE 0x10
#define OFF_FLAGS 0x18
#define OFF_MAGIC 0x38

#define PAGE 4096ULL
#define TEXT_OFFSET_MAX (2ULL << 20) /* head.S: TEXT_OFFSET must be less than 2MB */
#define GZIP_MIN 18		     /* a 10-byte header and an 8-byte trailer */
#define GZIP_FIRST_GUESS (1ULL << 20)
#define INITRD_WINDOW (32ULL << 30)  /* kernel and initrd in one 1 GiB-aligned window of 32 GiB */
#define INITRD_WINDOW_ALIGN (1ULL << 30)

static int fail(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

static uint64_t le(const uint8_t *p, unsigned int bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

/* Why a file without the magic is not an Image, naming what it looks like instead. */
static const char *not_an_image(const uint8_t *p, size_t size)
{
	if (!memcmp(p, "\x7f" "ELF", 4))
		return "an ELF file (vmlinux?), not an arm64 Image: give arch/arm64/boot/Image";
	if (p[0] == 'M' && p[1] == 'Z' && !memcmp(p + 4, "zimg", 4))
		return "an EFI zboot image (it inflates itself under EFI): give the plain Image or "
		       "Image.gz";
	if (size >= 0x206 && !memcmp(p + 0x202, "HdrS", 4))
		return "an x86 bzImage, not an arm64 Image";
	return "not an arm64 Image (no ARM\\x64 magic at offset 0x38)";
}

/* Flags bits 1-2: the kernel's page size (0: not said). */
static const unsigned int page_sizes[4] = { 0, 4096, 16384, 65536 };

/*
 * A kernel built with the EFI stub is also a PE/COFF image: "MZ" at 0, the
 * PE header's offset at 0x3c, and a section table saying where in the file
 * each section's bytes are. The Image header alone cannot tell a truncated
 * file (image_size counts the BSS, which the file lacks), but a PE header
 * can: the file must hold every section it lists. Returns the file size the
 * header asks for, 0 without a (sane) PE header.
 */
#define PE_MZ 0x5a4d
#define PE_OFF 0x3c
#define PE_SIG 0x00004550 /* "PE\0\0" */
#define PE_SECTION_SIZE 40

static uint64_t pe_file_size(const uint8_t *p, size_t size)
{
	uint64_t pe, table, nsec, end = 0;

	if (le(p, 2) != PE_MZ)
		return 0;
	pe = le(p + PE_OFF, 4);
	if (pe > size || size - pe < 24 || le(p + pe, 4) != PE_SIG)
		return 0;
	nsec = le(p + pe + 6, 2);
	table = pe + 24 + le(p + pe + 20, 2); /* after the optional header */
	if (table > size || nsec > (size - table) / PE_SECTION_SIZE)
		return 0;
	for (uint64_t i = 0; i < nsec; i++) {
		const uint8_t *sec = p + table + i * PE_SECTION_SIZE;
		uint64_t raw = le(sec + 16, 4), at = le(sec + 20, 4);

		if (raw && at + raw > end)
			end = at + raw;
	}
	return end;
}

int image_parse(const void *data, size_t size, struct image *img, const char **why)
{
	const uint8_t *p = data;
	uint64_t text_offset, image_size;

	memset(img, 0, sizeof(*img));
	if (size < IMAGE_HDR_SIZE)
		return fail(why, "file too small to hold an arm64 Image header", -ENOEXEC);
	if (le(p + OFF_MAGIC, 4) != IMAGE_MAGIC)
		return fail(why, not_an_image(p, size), -ENOEXEC);
	text_offset = le(p + OFF_TEXT_OFFSET, 8);
	image_size = le(p + OFF_IMAGE_SIZE, 8);
	img->flags = le(p + OFF_FLAGS, 8);
	if (img->flags & IMAGE_FLAG_BE)
		return fail(why, "big-endian kernel (Image flags bit 0): only little-endian is supported",
			    -ENOEXEC);
	if (!image_size) { /* before Linux 3.17: text_offset of unknown byte order, no size */
		img->legacy = true;
		text_offset = IMAGE_OLD_TEXT_OFFSET;
		image_size = size;
	}
	if (text_offset % PAGE || text_offset >= TEXT_OFFSET_MAX)
		return fail(why, "Image header text_offset is not 4 KiB-aligned below 2 MiB", -ENOEXEC);
	if (image_size > IMAGE_SIZE_MAX)
		return fail(why, "Image header image_size is over 1 GiB: not a kernel's", -ENOEXEC);
	if (image_size < size)
		return fail(why, "Image header image_size is smaller than the file", -ENOEXEC);
	if (pe_file_size(p, size) > size)
		return fail(why, "truncated kernel: its PE header lists sections past the end of the file",
			    -ENOEXEC);
	img->data = p;
	img->size = size;
	img->text_offset = text_offset;
	img->image_size = image_size;
	img->page_size = page_sizes[(img->flags & IMAGE_FLAG_PAGE_MASK) >> IMAGE_FLAG_PAGE_SHIFT];
	return 0;
}

/* The output buffer of image_gunzip(): grows by doubling up to `limit` (the cap + 1). */
struct sink {
	uint8_t *buf;
	size_t len, cap, limit;
};

static int sink_grow(struct sink *s)
{
	size_t cap = s->cap > s->limit / 2 ? s->limit : s->cap * 2;
	uint8_t *b = realloc(s->buf, cap);

	if (!b)
		return -ENOMEM;
	s->buf = b;
	s->cap = cap;
	return 0;
}

/* Run zlib over the whole input; 0 at the stream's end, else a negative errno. */
static int inflate_all(z_stream *zs, const uint8_t *in, size_t size, struct sink *s,
		       const char **why)
{
	size_t fed = 0;

	for (;;) {
		size_t room, out_before;
		int zr, err;

		if (!zs->avail_in && fed < size) {
			zs->next_in = (Bytef *)(uintptr_t)(in + fed);
			zs->avail_in = (uInt)(size - fed > UINT_MAX ? UINT_MAX : size - fed);
			fed += zs->avail_in;
		}
		if (s->len == s->cap) {
			if (s->cap == s->limit)
				return fail(why, "gzip'd kernel inflates past the size allowed", -EFBIG);
			if ((err = sink_grow(s)))
				return fail(why, "out of memory inflating the kernel", err);
		}
		room = s->cap - s->len > UINT_MAX ? UINT_MAX : s->cap - s->len;
		zs->next_out = s->buf + s->len;
		zs->avail_out = (uInt)room;
		out_before = room;
		zr = inflate(zs, Z_NO_FLUSH);
		s->len += out_before - zs->avail_out;
		if (zr == Z_STREAM_END)
			return 0;
		if (zr == Z_MEM_ERROR)
			return fail(why, "out of memory inflating the kernel", -ENOMEM);
		if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR)
			return fail(why, "gzip'd kernel is corrupt (bad data or checksum)", -ENOEXEC);
		/*
		 * Z_BUF_ERROR: no progress, which with room to write means no input
		 * left (it is refilled above while any remains). Z_OK with room left
		 * and no input: zlib wrote all it could and needs more.
		 */
		if (zr == Z_BUF_ERROR || (!zs->avail_in && fed == size && zs->avail_out))
			return fail(why, "gzip'd kernel is truncated", -ENOEXEC);
	}
}

int image_gunzip(const void *data, size_t size, size_t max, uint8_t **out, size_t *out_size,
		 const char **why)
{
	const uint8_t *p = data;
	struct sink s = { .limit = max == SIZE_MAX ? max : max + 1 };
	z_stream zs;
	int err;

	*out = NULL;
	*out_size = 0;
	if (size < GZIP_MIN || p[0] != 0x1f || p[1] != 0x8b)
		return fail(why, "not a gzip stream", -ENOEXEC);
	s.cap = size > s.limit / 4 ? s.limit : size * 4;
	if (s.cap < GZIP_FIRST_GUESS)
		s.cap = GZIP_FIRST_GUESS < s.limit ? GZIP_FIRST_GUESS : s.limit;
	s.buf = malloc(s.cap);
	if (!s.buf)
		return fail(why, "out of memory inflating the kernel", -ENOMEM);
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) { /* 16: a gzip wrapper, nothing else */
		free(s.buf);
		return fail(why, "out of memory inflating the kernel", -ENOMEM);
	}
	err = inflate_all(&zs, p, size, &s, why);
	inflateEnd(&zs);
	if (!err && s.len > max) /* the stream ended just as it filled the last byte allowed + 1 */
		err = fail(why, "gzip'd kernel inflates past the size allowed", -EFBIG);
	if (!err && !s.len)
		err = fail(why, "gzip'd kernel inflates to nothing", -ENOEXEC);
	if (err) {
		free(s.buf);
		return err;
	}
	*out = realloc(s.buf, s.len); /* give back the doubling's slack */
	if (!*out)
		*out = s.buf;
	*out_size = s.len;
	return 0;
}

int image_decode(const void *data, size_t size, size_t max, struct image *img, const char **why)
{
	const uint8_t *p = data;
	uint8_t *raw;
	size_t raw_size;
	int err;

	memset(img, 0, sizeof(*img));
	if (size < 2 || p[0] != 0x1f || p[1] != 0x8b)
		return image_parse(data, size, img, why);
	err = image_gunzip(data, size, max ? max : IMAGE_INFLATED_MAX, &raw, &raw_size, why);
	if (err)
		return err;
	err = image_parse(raw, raw_size, img, why);
	if (err) {
		free(raw);
		return err;
	}
	img->owned = raw;
	return 0;
}

void image_free(struct image *img)
{
	free(img->owned);
	img->owned = NULL;
	img->data = NULL;
}

/* v rounded up to a power of two `a`; false if that wraps. */
static bool align_up(uint64_t v, uint64_t a, uint64_t *out)
{
	if (__builtin_add_overflow(v, a - 1, out))
		return false;
	*out &= ~(a - 1);
	return true;
}

/* Kernel at the lowest 2 MiB-aligned base, then the initrd, page-aligned. */
static int place_kernel_initrd(const struct image *img, uint64_t ram_base, uint64_t ram_end,
			       uint64_t initrd_size, struct image_layout *out, const char **why)
{
	uint64_t base;

	if (!align_up(ram_base, IMAGE_ALIGN, &base) ||
	    __builtin_add_overflow(base, img->text_offset, &out->kernel) ||
	    __builtin_add_overflow(out->kernel, img->image_size, &out->kernel_end) ||
	    out->kernel_end > ram_end)
		return fail(why, "guest RAM is too small for the kernel; raise --memory", -ENOMEM);
	if (!align_up(out->kernel_end, PAGE, &out->initrd) ||
	    __builtin_add_overflow(out->initrd, initrd_size, &out->initrd_end) ||
	    out->initrd_end > ram_end)
		return fail(why, "guest RAM is too small for the kernel and initrd; raise --memory",
			    -ENOMEM);
	return 0;
}

/* booting.rst: the initrd within a 1 GiB-aligned window of up to 32 GiB that covers the kernel too. */
static bool initrd_window_ok(const struct image_layout *l)
{
	uint64_t start = l->kernel & ~(INITRD_WINDOW_ALIGN - 1);

	/* The window starts at the kernel's 1 GiB boundary; 32 GiB is a multiple of 1 GiB. */
	return l->initrd == l->initrd_end || l->initrd_end - start <= INITRD_WINDOW;
}

int image_layout(const struct image *img, uint64_t ram_base, uint64_t ram_size,
		 uint64_t initrd_size, uint64_t dtb_size, struct image_layout *out, const char **why)
{
	uint64_t ram_end;
	int err;

	memset(out, 0, sizeof(*out));
	if (!ram_size || __builtin_add_overflow(ram_base, ram_size, &ram_end))
		return fail(why, "guest RAM is empty or wraps around the address space", -EINVAL);
	if (!dtb_size || dtb_size > IMAGE_DTB_MAX)
		return fail(why, "a device tree must be 1 byte to 2 MiB long", -EINVAL);
	err = place_kernel_initrd(img, ram_base, ram_end, initrd_size, out, why);
	if (err)
		return err;
	if (!initrd_window_ok(out))
		return fail(why, "initrd too big: kernel and initrd must lie within 32 GiB", -E2BIG);
	/* Alone in the highest 2 MiB-aligned slot it fits in, above the kernel and initrd. */
	if (ram_size < dtb_size)
		return fail(why, "guest RAM is too small for the device tree", -ENOMEM);
	out->dtb = (ram_end - dtb_size) & ~(IMAGE_ALIGN - 1);
	if (out->dtb < ram_base || out->dtb < out->initrd_end)
		return fail(why, "no room for the device tree above the kernel and initrd; raise --memory",
			    -ENOMEM);
	return 0;
}

int image_load(const struct gm *m, uint64_t ram_base, uint64_t ram_size,
	       const struct image_files *f, struct image_layout *out, const char **why)
{
	size_t initrd_size = f->initrd ? f->initrd_size : 0;
	int err;

	err = image_layout(f->img, ram_base, ram_size, initrd_size, f->dtb_size, out, why);
	if (err)
		return err;
	if (gm_write(m, out->kernel, f->img->data, f->img->size))
		return fail(why, "the kernel's place is not all guest RAM", -EFAULT);
	if (initrd_size && gm_write(m, out->initrd, f->initrd, initrd_size))
		return fail(why, "the initrd's place is not all guest RAM", -EFAULT);
	if (!gm_ptr(m, out->dtb, f->dtb_size))
		return fail(why, "the device tree's place is not all guest RAM", -EFAULT);
	return 0;
}
