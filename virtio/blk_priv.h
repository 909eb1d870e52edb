#pragma once
/*
 * What virtio/blk.c (requests) and virtio/blk_setup.c (opening the image,
 * the io_uring ring, the device) share. Not for use outside virtio-blk.
 */
#include <stdint.h>

#include "virtio/virtio.h"

#define SECTOR 512ULL
#define VIRTIO_ID_BLOCK 2
#define MAX_DISCARD_SECTORS (1U << 22) /* 2 GiB per segment */

/* The device's side of the virtio interface (virtio/blk.c). */
extern const struct virtio_dev_ops blk_ops;

/* I/O thread: io_uring completions are ready (its eventfd). */
void blk_uring_ready(void *ctx, uint32_t events);

/* I/O thread: a queue or a zero-writing stopped at its turn's bound and resumes. */
void blk_resume_ready(void *ctx, uint32_t events);

/* Back to the state after blk_open(): requests in flight completed, queues emptied. */
void blk_reset(struct virtio_dev *v);
