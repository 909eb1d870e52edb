#include "boot/bzimage.h"

#include <errno.h>
#include <string.h>

#include "vmm/layout.h"

#define BOOT_FLAG 0xaa55
#define HDR_MAGIC 0x53726448 /* "HdrS" */

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -ENOEXEC;
}

/* The protected-mode kernel's load address: its preferred one, if it can be honoured. */
static uint64_t load_address(const struct setup_header *h)
{
	uint64_t align = h->kernel_alignment;
	uint64_t pref = h->pref_address;

	if (pref >= LAYOUT_HIGH_RAM && (!align || !(align & (align - 1))) && (!align || pref % align == 0))
		return pref;
	return LAYOUT_KERNEL_DEFAULT;
}

int bzimage_parse(const void *data, size_t size, struct bzimage *bz, const char **why)
{
	const uint8_t *p = data;
	const struct setup_header *h;
	size_t setup_sects, hdr_end;

	memset(bz, 0, sizeof(*bz));
	if (size < 0x264 + sizeof(uint32_t))
		return fail(why, "file too small to hold a Linux boot header");
	h = (const void *)(p + BZ_HDR_OFFSET);
	memcpy(&bz->hdr, h, sizeof(bz->hdr) < size - BZ_HDR_OFFSET ? sizeof(bz->hdr) : size - BZ_HDR_OFFSET);
	h = &bz->hdr;
	if (h->boot_flag != BOOT_FLAG || h->header != HDR_MAGIC)
		return fail(why, "not a Linux bzImage (no boot sector signature or HdrS magic)");
	if (h->version < BZIMAGE_MIN_VERSION)
		return fail(why, "boot protocol older than 2.12 (no 64-bit entry point)");
	if (!(h->loadflags & LOADED_HIGH))
		return fail(why, "zImage (kernel not loaded high) is not supported");
	if (!(h->xloadflags & XLF_KERNEL_64))
		return fail(why, "kernel has no 64-bit entry point (32-bit only kernel)");
	setup_sects = h->setup_sects ? h->setup_sects : 4;
	bz->setup_size = (setup_sects + 1) * 512;
	hdr_end = 0x202 + (size_t)p[0x201]; /* the jump at 0x200 skips the header */
	if (hdr_end > bz->setup_size || hdr_end < 0x264)
		return fail(why, "malformed setup header length");
	bz->hdr_end = hdr_end;
	if (bz->setup_size >= size)
		return fail(why, "file truncated: no protected-mode kernel after the setup code");
	bz->setup = p;
	bz->kernel = p + bz->setup_size;
	bz->kernel_size = size - bz->setup_size;
	if ((uint64_t)h->syssize * 16 > bz->kernel_size)
		return fail(why, "file truncated: shorter than the size its header declares");
	if (h->init_size == 0 || h->init_size < bz->kernel_size)
		return fail(why, "header init_size is smaller than the kernel itself");
	if (h->cmdline_size == 0)
		return fail(why, "header allows no command line");
	bz->load_addr = load_address(h);
	bz->init_size = h->init_size;
	return 0;
}

static int release_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("._-+~", ch));
}

int bzimage_version(const struct bzimage *bz, char *out, size_t outlen, const char **why)
{
	size_t pos = (size_t)bz->hdr.kernel_version + BZ_ENTRY64_OFFSET, n = 0;
	const char *s;

	if (!bz->hdr.kernel_version)
		return fail(why, "the setup header names no kernel version string");
	if (pos >= bz->setup_size)
		return fail(why, "the kernel version pointer lies outside the setup code");
	s = (const char *)bz->setup + pos;
	if (!memchr(s, '\0', bz->setup_size - pos))
		return fail(why, "the kernel version string has no end inside the setup code");
	while (s[n] && s[n] != ' ') {
		if (!release_char(s[n]))
			return fail(why, "the kernel version string holds unexpected characters");
		n++;
	}
	if (n == 0)
		return fail(why, "the kernel version string is empty");
	if (n > BZIMAGE_VERSION_MAX || n >= outlen)
		return fail(why, "the kernel version string is too long");
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}
