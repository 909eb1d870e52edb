#pragma once
/*
 * Guest physical memory: the one door between guest addresses and host
 * pointers. RAM is one mapping split into at most two regions around the
 * 32-bit MMIO hole: private anonymous memory by default (gm_init()), or a
 * shared memfd (gm_init_shared()) when another process must map it too,
 * i.e. only when a vhost-user device is configured: its backend maps guest
 * RAM from the fd, at the offsets the regions give. Shared memory costs
 * more to fault in where shmem has no transparent huge pages (measured on
 * the test host: 115 ms against 7.4 ms for the first 32 MiB). Every access a device makes on behalf of the
 * guest goes through gm_ptr()/gm_read()/gm_write(), which check the whole
 * range [gpa, gpa + len) with overflow-safe arithmetic.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 4

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	uint64_t fd_offset; /* where the region starts in gm.fd (shared memory only) */
};

struct gm {
	struct gm_region region[GM_MAX_REGIONS];
	unsigned int nr;
	uint8_t *map; /* the one mapping that backs all regions */
	uint64_t map_size;
	uint64_t ram_size;
	bool shared; /* gm_init_shared(): `map` is the memfd `fd`, mapped MAP_SHARED */
	int fd;	     /* only meaningful when shared (a zeroed struct gm is not) */
};

/*
 * Map `ram_size` bytes of anonymous memory and lay it out (vmm/layout.h):
 * from LAYOUT_RAM_BASE up to address `hole`, the rest from
 * LAYOUT_HIGH_RAM_BASE. Returns 0, -EINVAL (size 0 or not a
 * multiple of 4 KiB) or -ENOMEM.
 */
__attribute__((warn_unused_result)) int gm_init(struct gm *m, uint64_t ram_size, uint64_t hole);

/*
 * The same layout, backed by a memfd (close-on-exec, sized to `ram_size`,
 * mapped MAP_SHARED) that m->fd keeps open until gm_destroy(). The fd and
 * each region's fd_offset and host address are what a vhost-user backend's
 * memory table needs. Returns 0, -EINVAL as gm_init() or -errno from
 * memfd_create, ftruncate or mmap.
 */
__attribute__((warn_unused_result)) int gm_init_shared(struct gm *m, uint64_t ram_size,
							uint64_t hole);
/*
 * RAM from a snapshot's memory file (a regular file of exactly ram_size
 * bytes, else -EINVAL), mapped copy-on-write: pages are read as the guest
 * touches them and its writes never reach the file. The caller keeps fd.
 */
__attribute__((warn_unused_result)) int gm_init_file(struct gm *m, uint64_t ram_size,
						      uint64_t hole, int fd);

/*
 * Write RAM to fd (from offset 0, ram_size bytes long), sparse: pages that
 * read as zeros are holes. *written: the bytes of data written. 0 or -errno.
 */
__attribute__((warn_unused_result)) int gm_save(const struct gm *m, int fd, uint64_t *written);

void gm_destroy(struct gm *m);

/*
 * Host pointer to guest range [gpa, gpa + len), or NULL if len is 0, the
 * range wraps, or any byte lies outside a single RAM region.
 */
void *gm_ptr(const struct gm *m, uint64_t gpa, uint64_t len);

/* Copy out of / into guest RAM. Return 0 or -EFAULT (range not all RAM). */
__attribute__((warn_unused_result)) int gm_read(const struct gm *m, uint64_t gpa, void *dst,
						size_t len);
__attribute__((warn_unused_result)) int gm_write(const struct gm *m, uint64_t gpa, const void *src,
						 size_t len);

/* End of the RAM region that starts at 0 (the "low" RAM below the hole). */
uint64_t gm_low_end(const struct gm *m);

/* Bytes of guest RAM currently backed by host memory (touched pages). */
uint64_t gm_resident(const struct gm *m);
