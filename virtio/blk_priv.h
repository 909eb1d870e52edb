#pragma once
/*
 * What virtio/blk.c (requests) and virtio/blk_setup.c (the disk, the
 * device) share. Not for use outside virtio-blk.
 */
#include <stdint.h>

#include "virtio/virtio.h"
#include "vmm/disk.h"

#define SECTOR ((uint64_t)DISK_SECTOR)
#define VIRTIO_ID_BLOCK 2
#define MAX_DISCARD_SECTORS (1U << 22) /* 2 GiB per segment */

/* The device's side of the virtio interface (virtio/blk.c). */
extern const struct virtio_dev_ops blk_ops;

/* I/O thread: the disk's completion fd is readable. */
void blk_disk_ready(void *ctx, uint32_t events);

/* I/O thread: a queue stopped at its turn's bound and resumes. */
void blk_resume_ready(void *ctx, uint32_t events);

/* Back to the state after blk_open(): requests in flight completed, queues emptied. */
void blk_reset(struct virtio_dev *v);
