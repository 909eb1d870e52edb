#pragma once
/*
 * Snapshot and restore (docs/snapshot.md). A snapshot is a directory of two
 * files: `state` (vmm/snapfile.h: the configuration, KVM's state, each
 * device's) and `memory` (guest RAM, sparse), which a restore maps
 * copy-on-write.
 *
 * Saving runs on the main thread with every vCPU parked and the I/O thread
 * parked (vm_quiesce()); restoring runs between vm_create() and vm_start().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/cli.h"
#include "vmm/disk.h"
#include "vmm/snapfile.h"
#include "vmm/vm.h"

#define SNAPSHOT_STATE "state"
#define SNAPSHOT_MEMORY "memory"

/* A disk as the snapshot records it: enough to open it again and check it is the same size. */
struct snapshot_disk {
	char path[4096]; /* absolute */
	uint64_t size;
	uint8_t format, readonly, sync_io, reserved;
	int32_t poll_us;
	char id[24];
};

struct snapshot_nic {
	char tap[16];
	uint8_t mac[6];
	uint8_t reserved[2];
};

/* How the VM was made: the configuration section. */
struct snapshot_config {
	uint64_t memory;
	uint32_t cpus, nr_disks, nr_nics, reserved;
	struct snapshot_disk disk[CLI_MAX_DISKS];
	struct snapshot_nic nic[CLI_MAX_NICS];
};

/* What Ember knows at start that a snapshot needs: the configuration, or why there can be none. */
struct snapshot_source {
	struct snapshot_config config;
	char refuse[SNAPFILE_WHY_MAX]; /* empty: snapshots can be taken */
};

/*
 * Record how the VM is made, from the command line and its opened disks,
 * before the threads' seccomp filters (paths are made absolute here). A VM
 * that cannot be saved (virtio-fs, exec's console, a snapshot=on disk) gets
 * the reason in src->refuse; it is not an error to start it.
 */
void snapshot_describe(struct snapshot_source *src, const struct cli_config *cfg,
		       struct disk *const *disks, bool has_fs_or_console);

struct snapshot_result {
	uint64_t state_bytes, memory_bytes; /* memory: data written (the rest are holes) */
	uint64_t touched_bytes;		    /* guest RAM resident before the save (mincore) */
};

/*
 * Save the VM (vCPUs and I/O thread parked, disks idle) into directory
 * `dir` (absolute, existing): `memory` then `state`, each written under a
 * temporary name, synced and renamed, so a snapshot being replaced stays
 * readable (and a restored VM's mapping of it intact) until the end.
 * 0 or -errno, the cause in why.
 */
__attribute__((warn_unused_result)) int snapshot_save(struct vm *vm,
						      const struct snapshot_source *src,
						      const char *dir, struct snapshot_result *res,
						      char why[SNAPFILE_WHY_MAX]);

/* A snapshot opened for restore. */
struct snapshot_image {
	uint8_t *buf; /* the state file */
	size_t len;
	struct snapfile *file;
	struct snapshot_config config;
	int mem_fd;
	const void *firmware; /* into buf, or NULL */
	size_t firmware_size;
};

/*
 * An image that holds nothing (what snapshot_close() leaves), without
 * zeroing its configuration: 32 KiB that a run without --restore never
 * reads, and would otherwise touch page by page.
 */
static inline void snapshot_image_init(struct snapshot_image *img)
{
	img->buf = NULL;
	img->len = 0;
	img->file = NULL;
	img->mem_fd = -1;
	img->firmware = NULL;
	img->firmware_size = 0;
}

/*
 * Read and check `dir`'s state file (every checksum, the configuration's
 * values) and open its memory file (its size must be the RAM's). Logs the
 * cause and returns -errno on failure.
 */
__attribute__((warn_unused_result)) int snapshot_open(struct snapshot_image *img, const char *dir);
void snapshot_close(struct snapshot_image *img);

/* Fill cfg's machine (memory, vCPUs, disks, NICs) from the snapshot; other options stay. */
void snapshot_to_cli(const struct snapshot_image *img, struct cli_config *cfg);

/* Each opened disk has the size it had. Logs and returns -ESTALE if not. */
__attribute__((warn_unused_result)) int snapshot_check_disks(const struct snapshot_image *img,
							     struct disk *const *disks);

/*
 * Put the snapshot's state into a VM just made from it (vm_create() with
 * the snapshot's memory file and configuration): CPUID check, interrupt
 * controllers, PIT and kvmclock, platform devices, PCI functions, vCPUs,
 * then a kick and an interrupt for each ready queue. Logs the cause and
 * returns -errno on failure.
 */
__attribute__((warn_unused_result)) int snapshot_load(struct vm *vm,
						      const struct snapshot_image *img);
