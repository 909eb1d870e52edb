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
};

/* `low` bytes at 0, `high` bytes at 4 GiB (0: none). Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int ram_init(struct ram *r, uint64_t low, uint64_t high);
void ram_destroy(struct ram *r);

/* Zero every region. */
void ram_clear(struct ram *r);

/* Whether host range [p, p + len) lies wholly inside one region. */
bool ram_contains(const struct ram *r, const void *p, uint64_t len);
