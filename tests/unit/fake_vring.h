#pragma once
/*
 * The driver side of a split virtqueue, for unit tests of virtio/vq.c and
 * the devices built on it. It lays out the descriptor table, the available
 * ring (flags, idx, ring[size], used_event) and the used ring (flags, idx,
 * ring[size] of {id, len}, avail_event) at chosen guest addresses in a
 * struct gm, and reads and writes them as a guest would.
 *
 * Every access goes through gm_read()/gm_write() and fails the running Check
 * test if it is not in RAM, so a test only pokes what it laid out. Hostile
 * tests write values no well-behaved driver would with the raw setters.
 */
#include <stdbool.h>
#include <stdint.h>

#include "virtio/vq.h"
#include "vmm/gm.h"

struct fake_vring {
	const struct gm *mem;
	uint16_t size;
	uint64_t desc, avail, used; /* guest addresses of the three parts */
	uint16_t avail_idx;	    /* the driver's copy of avail->idx */
};

/* One buffer of a chain: guest address, length, device-writable or not. */
struct fake_seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Bytes of each part for a queue of `size` entries, event fields included. */
uint64_t fake_vring_desc_bytes(uint16_t size);
uint64_t fake_vring_avail_bytes(uint16_t size);
uint64_t fake_vring_used_bytes(uint16_t size);

/* Lay the rings out at the given addresses and zero them (all must be RAM). */
void fake_vring_init(struct fake_vring *v, const struct gm *m, uint16_t size, uint64_t desc,
		     uint64_t avail, uint64_t used);

/*
 * Lay the rings out back to back from `base` (16-aligned): descriptor table,
 * available ring, used ring at the next 4-byte boundary. Returns the first
 * guest address after the used ring.
 */
uint64_t fake_vring_init_at(struct fake_vring *v, const struct gm *m, uint16_t size, uint64_t base);

/* Write descriptor `i` of the table at guest address `table` (ring or indirect). */
void fake_vring_table_desc(const struct gm *m, uint64_t table, uint32_t i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next);

/* Write descriptor `i` of the queue's own table; `i` may be any value below size. */
void fake_vring_desc(struct fake_vring *v, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next);

/*
 * Write `n` segments as descriptors first, first + 1, ... (mod size), each
 * linked to the next with NEXT. Returns `first`, the head to publish.
 */
uint16_t fake_vring_chain(struct fake_vring *v, uint16_t first, const struct fake_seg *segs,
			  unsigned int n);

/* Write `n` segments as an indirect table at `table`, entry i linked to i + 1. */
void fake_vring_indirect(const struct gm *m, uint64_t table, const struct fake_seg *segs,
			 uint32_t n);

/* Put `head` in the next avail slot and bump avail->idx (what a driver does). */
void fake_vring_publish(struct fake_vring *v, uint16_t head);

/* Raw writes for hostile cases. set_avail_idx also moves the driver's copy. */
void fake_vring_set_avail_idx(struct fake_vring *v, uint16_t idx);
void fake_vring_set_avail_ring(struct fake_vring *v, uint16_t slot, uint16_t head);
void fake_vring_set_avail_flags(struct fake_vring *v, uint16_t flags);
void fake_vring_set_used_event(struct fake_vring *v, uint16_t event);

/* What the device wrote: used->idx, used->flags, avail_event, used->ring[idx % size]. */
uint16_t fake_vring_used_idx(const struct fake_vring *v);
uint16_t fake_vring_used_flags(const struct fake_vring *v);
uint16_t fake_vring_avail_event(const struct fake_vring *v);
void fake_vring_used_elem(const struct fake_vring *v, uint16_t idx, uint32_t *id, uint32_t *len);
