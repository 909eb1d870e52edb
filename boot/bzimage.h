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
