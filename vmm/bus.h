#pragma once
/*
 * An address bus (one for port I/O, one for MMIO): a sorted array of
 * non-overlapping ranges, each bound to a device. Devices see offsets from
 * the start of their range, never absolute addresses.
 *
 * Locking: ranges are added before vCPUs start; afterwards the bus is frozen
 * and lookups take no lock. Each device serialises its own state.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* `len` is 1, 2, 4 or 8; `data` is little-endian guest data. */
	void (*read)(void *ctx, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *ctx, uint64_t offset, const void *data, uint32_t len);
	/* Optional, for --trace: name what inside the range holds `offset` (a window's
	 * device behind it) into `buf` of `size` bytes. */
	void (*describe)(void *ctx, uint64_t offset, char *buf, size_t size);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const char *name;
	const struct bus_ops *ops;
	void *ctx;
};

struct bus {
	struct bus_range *range;
	size_t nr, cap;
	bool frozen;
};

void bus_init(struct bus *b);
void bus_destroy(struct bus *b);

/*
 * Bind [base, base + len) to a device. Returns 0, -EINVAL (zero length,
 * wrap-around, missing ops), -EEXIST (overlaps a range already present),
 * -EBUSY (bus frozen) or -ENOMEM.
 */
__attribute__((warn_unused_result)) int bus_add(struct bus *b, uint64_t base, uint64_t len,
						const char *name, const struct bus_ops *ops,
						void *ctx);

/* Forbid further changes; lookups after this need no lock. */
void bus_freeze(struct bus *b);

/* Range holding all of [addr, addr + len), or NULL. */
const struct bus_range *bus_find(const struct bus *b, uint64_t addr, uint64_t len);

/*
 * Dispatch one access. An access that no device covers reads as all ones
 * and drops writes; it returns -ENOENT so the caller can log it.
 */
int bus_access(const struct bus *b, uint64_t addr, void *data, uint32_t len, bool is_write);
