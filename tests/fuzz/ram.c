/* Heap-backed guest RAM for the fuzz targets: see ram.h. */
#include "tests/fuzz/ram.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/layout.h"

static int add_region(struct ram *r, uint64_t gpa, uint64_t size)
{
	uint8_t *p = calloc(1, size);

	if (!p)
		return -ENOMEM;
	r->m.region[r->m.nr++] = (struct gm_region){ .gpa = gpa, .size = size, .host = p };
	r->m.ram_size += size;
	return 0;
}

int ram_init(struct ram *r, uint64_t low, uint64_t high)
{
	memset(r, 0, sizeof(*r));
	if (!low || add_region(r, 0, low) || (high && add_region(r, LAYOUT_4G, high))) {
		ram_destroy(r);
		return -ENOMEM;
	}
	return 0;
}

#define GUARD 4096

int ram_add_sparse(struct ram *r, uint64_t gpa, uint64_t size)
{
	uint8_t *p;

	if (r->m.nr == GM_MAX_REGIONS)
		return -ENOMEM;
	p = mmap(NULL, size + GUARD, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	if (mprotect(p + size, GUARD, PROT_NONE)) {
		munmap(p, size + GUARD);
		return -ENOMEM;
	}
	r->sparse[r->m.nr] = true;
	r->m.region[r->m.nr++] = (struct gm_region){ .gpa = gpa, .size = size, .host = p };
	r->m.ram_size += size;
	return 0;
}

void ram_destroy(struct ram *r)
{
	for (unsigned int i = 0; i < r->m.nr; i++) {
		if (r->sparse[i])
			munmap(r->m.region[i].host, r->m.region[i].size + GUARD);
		else
			free(r->m.region[i].host);
	}
	memset(r, 0, sizeof(*r));
}

void ram_clear(struct ram *r)
{
	for (unsigned int i = 0; i < r->m.nr; i++) {
		if (r->sparse[i])
			madvise(r->m.region[i].host, r->m.region[i].size, MADV_DONTNEED);
		else
			memset(r->m.region[i].host, 0, r->m.region[i].size);
	}
}

bool ram_contains(const struct ram *r, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned int i = 0; i < r->m.nr; i++) {
		uintptr_t base = (uintptr_t)r->m.region[i].host;

		uint64_t size = r->m.region[i].size;

		if (a >= base && len <= size && a - base <= size - len)
			return true;
	}
	return false;
}
