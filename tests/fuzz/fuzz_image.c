/*
 * Fuzz target: the arm64 Image loader (boot/image.c) on the input as a
 * kernel file: image_decode() (a gzip'd input is inflated, capped at
 * 8 MiB), then image_load() with an initrd into heap-backed guest RAM of 8,
 * 40 or 72 MiB at guest address 0 or 1 GiB (where arm64 VMMs put RAM).
 *
 * A decoded Image must describe itself as image_parse() promises (a
 * 4 KiB-aligned text_offset below 2 MiB, an image_size of at least the
 * file and at most 1 GiB, little-endian); a plain input is used in place.
 * Errors are only those the contracts list. A load that succeeds must have
 * put the kernel at a 2 MiB-aligned base (the lowest in RAM) plus
 * text_offset, the initrd page-aligned after image_size, the device tree's
 * slot 2 MiB-aligned above both and inside RAM, and the kernel's and
 * initrd's bytes there.
 *
 * Input: u8 mode, then the file. Mode bits 0-1 pick the RAM (8, 40, 72
 * MiB, 8 again), bit 2 its base (0 or 1 GiB), bits 3-4 the initrd (none,
 * 4 KiB, 1 MiB + 1, 20 MiB), bit 5 the device tree's size (64 KiB or
 * 2 MiB).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/image.h"
#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "tests/fuzz/ram.h"
#include "vmm/log.h"

#define MIB (1ULL << 20)
#define INFLATE_CAP (8 * MIB)
#define ARM_RAM_BASE (1ULL << 30)

static const uint64_t ram_sizes[] = { 8 * MIB, 40 * MIB, 72 * MIB, 8 * MIB };
static const size_t initrd_sizes[] = { 0, 4096, MIB + 1, 20 * MIB };

struct image_fuzz {
	struct ram ram[3]; /* one per size, at guest address 0 */
	struct gm high[3]; /* the same buffers, seen at ARM_RAM_BASE */
	uint8_t *initrd;
};

static struct image_fuzz *fz;

static void check_image(const struct image *img, const uint8_t *data, size_t size, bool gz)
{
	expect(img->size >= IMAGE_HDR_SIZE && img->size <= img->image_size);
	expect(img->image_size <= IMAGE_SIZE_MAX);
	expect(img->text_offset % 4096 == 0 && img->text_offset < IMAGE_ALIGN);
	expect(!(img->flags & IMAGE_FLAG_BE));
	expect(!img->legacy || img->text_offset == IMAGE_OLD_TEXT_OFFSET);
	if (gz) {
		expect(img->owned && img->data == img->owned && img->size <= INFLATE_CAP);
	} else {
		expect(!img->owned && img->data == data && img->size == size);
	}
}

static bool guest_is(const struct gm *m, uint64_t gpa, const void *want, size_t len)
{
	const void *p = gm_ptr(m, gpa, len);

	return p && !memcmp(p, want, len);
}

static void check_loaded(const struct gm *m, uint64_t base, uint64_t size,
			 const struct image_files *f, const struct image_layout *l)
{
	const struct image *img = f->img;
	uint64_t kbase = l->kernel - img->text_offset;

	expect(kbase % IMAGE_ALIGN == 0 && kbase >= base && kbase - base < IMAGE_ALIGN);
	expect(l->kernel_end == l->kernel + img->image_size && l->kernel_end <= l->initrd);
	expect(l->initrd % 4096 == 0 && l->initrd_end - l->initrd == f->initrd_size);
	expect(l->initrd_end <= l->dtb && l->dtb % IMAGE_ALIGN == 0);
	expect(l->dtb + f->dtb_size <= base + size);
	expect(guest_is(m, l->kernel, img->data, img->size));
	if (f->initrd_size)
		expect(guest_is(m, l->initrd, f->initrd, f->initrd_size));
}

static void load(uint8_t mode, const struct image *img)
{
	unsigned int si = mode & 3;
	bool high = mode & 4;
	const struct gm *m = high ? &fz->high[si % 3] : &fz->ram[si % 3].m;
	uint64_t base = high ? ARM_RAM_BASE : 0;
	struct image_files f = {
		.img = img,
		.initrd = fz->initrd,
		.initrd_size = initrd_sizes[(mode >> 3) & 3],
		.dtb_size = mode & 32 ? IMAGE_DTB_MAX : 64 * 1024,
	};
	struct image_layout l;
	const char *why = NULL;
	int err;

	err = image_load(m, base, ram_sizes[si], &f, &l, &why);
	if (err) {
		expect((err == -ENOMEM || err == -E2BIG) && why);
		return;
	}
	check_loaded(m, base, ram_sizes[si], &f, &l);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERR);
	fz = calloc(1, sizeof(*fz));
	if (!fz)
		abort();
	for (unsigned int s = 0; s < 3; s++) {
		if (ram_init(&fz->ram[s], ram_sizes[s], 0))
			abort();
		fz->high[s] = fz->ram[s].m;
		fz->high[s].region[0].gpa = ARM_RAM_BASE;
	}
	fz->initrd = malloc(initrd_sizes[3]);
	if (!fz->initrd)
		abort();
	for (size_t i = 0; i < initrd_sizes[3]; i++)
		fz->initrd[i] = (uint8_t)(i * 31 + 7);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = input_init(data, size);
	uint8_t mode = input_u8(&in);
	bool gz = in.left >= 2 && in.p[0] == 0x1f && in.p[1] == 0x8b;
	const char *why = NULL;
	struct image img;
	int err;

	err = image_decode(in.p, in.left, INFLATE_CAP, &img, &why);
	if (err) {
		expect(why && !img.owned);
		expect(err == -ENOEXEC || (gz && (err == -EFBIG || err == -ENOMEM)));
		return 0;
	}
	check_image(&img, in.p, in.left, gz);
	load(mode, &img);
	image_free(&img);
	return 0;
}
