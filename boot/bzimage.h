#pragma once
/*
 * Parser for the Linux x86 boot protocol's bzImage format
 * (Documentation/arch/x86/boot.rst). Only pure checks on bytes in memory;
 * loading is in boot/linux.c.
 */
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#define BZIMAGE_MIN_VERSION 0x020c /* xloadflags and the 64-bit entry */
#define BZ_HDR_OFFSET 0x1f1	    /* the setup header, in the file and in boot_params alike */
#define BZ_ENTRY64_OFFSET 0x200	    /* the 64-bit entry, from the protected-mode kernel's start */

struct bzimage {
	struct setup_header hdr; /* copy, host byte order is little-endian */
	const uint8_t *setup;	 /* start of file: boot sector + real-mode setup */
	size_t setup_size;	 /* (setup_sects + 1) * 512 */
	size_t hdr_end;		 /* end of the setup header within the file */
	const uint8_t *kernel;	 /* protected-mode kernel (compressed payload) */
	size_t kernel_size;
	uint64_t load_addr; /* where the protected-mode kernel goes */
	uint64_t init_size; /* memory it needs from load_addr while it decompresses */
};

/*
 * Validate a bzImage held in memory and describe it. On failure returns
 * -ENOEXEC and points *why at a static sentence naming the reason.
 */
__attribute__((warn_unused_result)) int bzimage_parse(const void *data, size_t size,
						      struct bzimage *bz, const char **why);

#define BZIMAGE_VERSION_MAX 64 /* bytes of a kernel release, without its NUL */

/*
 * The kernel release ("6.1.0-57-amd64") of a parsed image: the first word
 * of the string the setup header's kernel_version field points to (at that
 * value + 0x200 in the file, inside the setup code). `out` gets it with a
 * NUL; `outlen` must exceed BZIMAGE_VERSION_MAX. 0, or -ENOEXEC with *why
 * naming the reason (no version string, pointer outside the setup code, no
 * NUL before its end, empty or odd characters, longer than the maximum).
 */
__attribute__((warn_unused_result)) int bzimage_version(const struct bzimage *bz, char *out,
							size_t outlen, const char **why);
