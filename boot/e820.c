#include "boot/e820.h"

#include <errno.h>

#include "vmm/layout.h"

static int add(struct boot_e820_entry *tab, int *n, int max, uint64_t addr, uint64_t size,
	       uint32_t type)
{
	if (size == 0)
		return 0;
	if (*n >= max)
		return -ENOSPC;
	tab[*n] = (struct boot_e820_entry){ .addr = addr, .size = size, .type = type };
	(*n)++;
	return 0;
}

int e820_build(const struct gm *m, struct boot_e820_entry *tab, int max)
{
	uint64_t low_end = gm_low_end(m);
	int n = 0, err = 0;

	if (low_end <= LAYOUT_HIGH_RAM)
		return -ENOSPC; /* Linux needs RAM above 1 MiB */
	err |= add(tab, &n, max, 0, LAYOUT_EBDA, E820_RAM);
	err |= add(tab, &n, max, LAYOUT_EBDA, LAYOUT_HIGH_RAM - LAYOUT_EBDA, E820_RESERVED);
	err |= add(tab, &n, max, LAYOUT_HIGH_RAM, low_end - LAYOUT_HIGH_RAM, E820_RAM);
	for (unsigned int i = 1; i < m->nr; i++)
		err |= add(tab, &n, max, m->region[i].gpa, m->region[i].size, E820_RAM);
	return err ? -ENOSPC : n;
}
