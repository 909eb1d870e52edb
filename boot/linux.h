#pragma once
/* Place a parsed bzImage, its initrd and command line in guest RAM. */
#include <stddef.h>
#include <stdint.h>

#include "boot/bzimage.h"
#include "vmm/gm.h"

struct linux_boot {
	uint64_t entry;	      /* 64-bit entry point: load address + 0x200 */
	uint64_t boot_params; /* guest address of the zero page */
};

struct linux_images {
	const struct bzimage *bz;
	const void *initrd; /* may be NULL */
	size_t initrd_size;
	const char *cmdline;
	uint64_t rsdp; /* guest address of the ACPI RSDP, 0 if none */
};

/*
 * Would the kernel and an initrd of `initrd_size` bytes fit in `memory`
 * bytes of guest RAM, as linux_load() places them? Needs no guest RAM, so
 * it runs before the VM exists. 0, or -ENOMEM with *why naming the reason.
 */
__attribute__((warn_unused_result)) int linux_check_fit(const struct bzimage *bz,
							size_t initrd_size, uint64_t memory,
							const char **why);

/*
 * Copy the kernel to its load address, the initrd as high as the header
 * allows, the command line, and a boot_params with the e820 map. On failure
 * returns -errno and points *why at a sentence naming the reason (e.g. RAM
 * too small for the kernel).
 */
__attribute__((warn_unused_result)) int linux_load(const struct gm *m,
						   const struct linux_images *img,
						   struct linux_boot *out, const char **why);
