#pragma once
/*
 * The arm64 Linux kernel Image (Documentation/arch/arm64/booting.rst): its
 * 64-byte header, a gzip'd Image (Image.gz, Debian's vmlinuz) inflated
 * first, where kernel, initrd and device tree go in guest RAM, and the
 * copy into it. The vCPU then starts at the kernel's load address with x0
 * holding the device tree's address (vCPU set-up is the caller's).
 *
 * Parsing and layout are pure checks and arithmetic on bytes in memory and
 * numbers; only image_load() touches guest RAM, through vmm/gm.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/gm.h"

#define IMAGE_HDR_SIZE 64
#define IMAGE_MAGIC 0x644d5241U /* "ARM\x64", little-endian, at offset 0x38 */
#define IMAGE_OLD_TEXT_OFFSET 0x80000ULL /* what an image_size of 0 (before Linux 3.17) implies */
#define IMAGE_ALIGN (2ULL << 20)	  /* the kernel's base, and the device tree's slot */
#define IMAGE_DTB_MAX (2ULL << 20)	  /* booting.rst: a device tree of at most 2 MiB */
#define IMAGE_INFLATED_MAX (256ULL << 20) /* default cap on an inflated Image.gz */
#define IMAGE_SIZE_MAX (1ULL << 30)	  /* an image_size beyond this is not a kernel's */

/* Header flags (booting.rst). */
#define IMAGE_FLAG_BE 0x1		/* bit 0: big-endian kernel */
#define IMAGE_FLAG_PAGE_SHIFT 1		/* bits 1-2: page size: unspecified, 4K, 16K, 64K */
#define IMAGE_FLAG_PAGE_MASK 0x6
#define IMAGE_FLAG_PHYS_ANYWHERE 0x8	/* bit 3: the 2 MiB base may be anywhere in RAM */

struct image {
	const uint8_t *data; /* the Image: the caller's bytes, or `owned` */
	size_t size;	     /* bytes of the Image file (after inflating) */
	uint64_t text_offset; /* from a 2 MiB-aligned base to the load address */
	uint64_t image_size;  /* bytes from the load address the kernel owns (>= size) */
	uint64_t flags;
	unsigned int page_size; /* 4096, 16384, 65536, or 0 when the header does not say */
	bool legacy;		/* image_size was 0: text_offset and image_size assumed */
	uint8_t *owned;		/* malloc'd inflated Image that image_free() frees; NULL: none */
};

/*
 * Validate a plain (not gzip'd) Image held in memory and describe it;
 * img->data points into `data`, which must outlive img. Refused with
 * -ENOEXEC and *why pointing at a static sentence naming the reason: too
 * short for the header, no "ARM\x64" magic (an ELF vmlinux, an x86
 * bzImage or an EFI zboot image named as such), a big-endian kernel, a
 * text_offset not 4 KiB-aligned or of 2 MiB or more, an image_size over
 * IMAGE_SIZE_MAX or smaller than the file.
 */
__attribute__((warn_unused_result)) int image_parse(const void *data, size_t size,
						    struct image *img, const char **why);

/*
 * Inflate a gzip stream (one member; bytes after it are ignored) into a
 * malloc'd buffer of at most `max` bytes: *out (the caller frees it) and
 * *out_size. 0, or with *why: -ENOEXEC (not gzip, corrupt, truncated, bad
 * checksum, empty), -EFBIG (inflates past `max`), -ENOMEM.
 */
__attribute__((warn_unused_result)) int image_gunzip(const void *data, size_t size, size_t max,
						     uint8_t **out, size_t *out_size,
						     const char **why);

/*
 * A kernel file as given: a gzip'd one (magic 1f 8b) is inflated with
 * image_gunzip() (cap `max`, 0 meaning IMAGE_INFLATED_MAX) into img->owned,
 * then parsed with image_parse(); a plain one is parsed in place. Errors as
 * those two; on failure nothing is left to free. Call image_free() after
 * success.
 */
__attribute__((warn_unused_result)) int image_decode(const void *data, size_t size, size_t max,
						     struct image *img, const char **why);

/* Free an inflated Image (nothing for one parsed in place). */
void image_free(struct image *img);

/* Where things go in guest RAM, all inside [ram_base, ram_base + ram_size), none overlapping. */
struct image_layout {
	uint64_t kernel;     /* load address and entry point: a 2 MiB-aligned base + text_offset */
	uint64_t kernel_end; /* kernel + image_size */
	uint64_t initrd;     /* page-aligned, from kernel_end up; equal to initrd_end: none */
	uint64_t initrd_end;
	uint64_t dtb; /* 2 MiB-aligned, as high as the device tree fits: the x0 the kernel gets */
};

/*
 * Lay out a kernel described by `img` (text_offset, image_size, flags),
 * an initrd of `initrd_size` bytes (0: none) and a device tree of
 * `dtb_size` bytes in RAM [ram_base, ram_base + ram_size). The kernel goes
 * at the lowest 2 MiB-aligned base in RAM (memory below it is outside the
 * kernel's linear map unless flags bit 3 says otherwise; the lowest suits
 * both), the initrd right after image_size, the device tree alone in the
 * highest 2 MiB-aligned slot that holds it, and kernel and initrd inside
 * one 1 GiB-aligned window of at most 32 GiB, as booting.rst asks. Pure
 * arithmetic: runs before guest RAM exists. 0, or with *why: -EINVAL (RAM
 * that wraps or is empty, a device tree of 0 or more than IMAGE_DTB_MAX
 * bytes), -ENOMEM (RAM too small for them all), -E2BIG (an initrd too big
 * for the window).
 */
__attribute__((warn_unused_result)) int image_layout(const struct image *img, uint64_t ram_base,
						     uint64_t ram_size, uint64_t initrd_size,
						     uint64_t dtb_size, struct image_layout *out,
						     const char **why);

struct image_files {
	const struct image *img;
	const void *initrd; /* NULL: none */
	size_t initrd_size;
	uint64_t dtb_size; /* what the caller's device tree will take (e.g. FDT_MAX_SIZE) */
};

/*
 * Lay out (image_layout()) and copy the kernel and initrd into guest RAM
 * `m`, whose RAM is [ram_base, ram_base + ram_size). The caller then
 * writes its device tree (with initrd and initrd_end in /chosen) at
 * out->dtb, and starts the boot vCPU at out->kernel with x0 = out->dtb.
 * 0, or -errno with *why: the errors of image_layout(), -EFAULT (the range
 * given is not all guest RAM).
 */
__attribute__((warn_unused_result)) int image_load(const struct gm *m, uint64_t ram_base,
						   uint64_t ram_size, const struct image_files *f,
						   struct image_layout *out, const char **why);
