#pragma once
/* The e820 memory map handed to Linux in boot_params. */
#include <asm/bootparam.h>
#include <asm/e820.h>

#include "vmm/gm.h"

/*
 * Describe guest RAM: usable low memory below the EBDA, the reserved
 * EBDA/BIOS area up to 1 MiB (where the ACPI tables live), usable RAM above
 * 1 MiB and above 4 GiB. Returns the number of entries written (at most
 * `max`) or -ENOSPC.
 */
__attribute__((warn_unused_result)) int e820_build(const struct gm *m, struct boot_e820_entry *tab,
						   int max);
