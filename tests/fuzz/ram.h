#pragma once
/*
 * Guest RAM for the fuzz targets: a struct gm like vmm/gm.c lays out (low
 * RAM from 0, optionally more from 4 GiB), but each region backed by its own
 * malloc() buffer instead of one anonymous mapping. AddressSanitizer puts
 * redzones around heap buffers, so any byte a device reads or writes outside
 * guest RAM is reported, which an mmap()ed region would not show.
 */
#include <stdbool.h>
#include <stdint.h>

#include "vmm/gm.h"

struct ram {
	struct gm m;
	bool sparse[GM_MAX_REGIONS]; /* an anonymous mapping, not a heap buffer */
};

/* `low` bytes at 0, `high` bytes at 4 GiB (0: none). Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int ram_init(struct ram *r, uint64_t low, uint64_t high);
void ram_destroy(struct ram *r);

/*
 * Add `size` bytes at `gpa` as a sparse anonymous mapping: room for chains
 * of several GiB (their segments overlapping) that cost only the pages a run
 * touches. No redzones there: a stray access past its end lands in the
 * guard page the mapping ends with (unmapped: a crash). Returns 0 or -ENOMEM.
 */
__attribute__((warn_unused_result)) int ram_add_sparse(struct ram *r, uint64_t gpa, uint64_t size);

/* Zero every region (a sparse one by dropping its pages). */
void ram_clear(struct ram *r);

/* Whether host range [p, p + len) lies wholly inside one region. */
bool ram_contains(const struct ram *r, const void *p, uint64_t len);
