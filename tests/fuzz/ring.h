#pragma once
/*
 * The driver side of one virtqueue for the device fuzz targets (fuzz_blk,
 * fuzz_net), on top of the unit tests' fake vring (tests/unit/fake_vring.h):
 * chains built from input-chosen segments, placed in the ring or in an
 * indirect table, and the hostile writes a driver can make between kicks
 * (any descriptor, any head, any available index, any bytes).
 */
#include <stdbool.h>
#include <stdint.h>

#include "tests/fuzz/input.h"
#include "tests/unit/fake_vring.h"

#define RING_MAX_SEGS 16 /* segments of one chain the builders make */

/* A bump allocator over [base, base + size) of guest RAM that starts over when full. */
struct arena {
	uint64_t base, size, next;
};

struct ring {
	struct fake_vring v;
	uint16_t next; /* next descriptor a direct chain takes */
	struct arena tables; /* indirect tables */
};

/* Take `len` bytes (16-aligned start). A length beyond the arena overlaps what follows it. */
uint64_t arena_take(struct arena *a, uint64_t len);

/* Lay the rings out from `base` and zero them; indirect tables go to `tables`. */
void ring_init(struct ring *r, const struct gm *m, uint16_t size, uint64_t base,
	       struct arena tables);

/* Write `segs` as one chain (in the ring, or as an indirect table) and publish its head. */
uint16_t ring_add(struct ring *r, const struct fake_seg *segs, unsigned int n, bool indirect);

/*
 * One hostile driver write, its kind chosen by `op` (any value), its fields
 * read from `in`: a descriptor of the ring, a head published, the available
 * index, the flags or used_event field, or raw bytes at an offset of guest
 * RAM below `poke_limit`.
 */
void ring_hostile(struct ring *r, uint8_t op, struct input *in, uint64_t poke_limit);
