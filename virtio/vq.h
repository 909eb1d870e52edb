#pragma once
/*
 * Split virtqueue, device side (virtio 1.2, 2.7). The guest owns the rings;
 * everything read from them is copied into locals and checked before use:
 * ring addresses at setup, each descriptor's buffer through gm_ptr(), the
 * available index against the queue size, chains bounded by the queue size,
 * indirect tables not nested. A queue that breaks these rules is marked
 * broken and the transport reports DEVICE_NEEDS_RESET.
 *
 * Not thread-safe: one queue is served by one thread at a time (the owner's
 * lock).
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/gm.h"

#define VQ_MAX_SIZE 256
#define VQ_MAX_SEGS VQ_MAX_SIZE

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq {
	const struct gm *mem;
	uint16_t size;
	bool ready;
	bool event_idx;
	bool indirect;
	bool broken;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;   /* host views of the rings, checked at setup */
	volatile uint16_t *avail;  /* flags, idx, ring[size], used_event */
	volatile uint8_t *used;	   /* flags, idx, ring[size] of {id, len}, avail_event */
	uint16_t last_avail;	   /* next available entry to take */
	uint16_t used_idx;	   /* next used index to publish */
	uint16_t signalled_used;   /* used index at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
};

/* A validated chain: readable segments first, then writable ones. */
struct vq_chain {
	uint16_t head;
	unsigned int n, nread; /* segments in all, of which the first nread are readable */
	uint64_t read_len, write_len;
	struct iovec seg[VQ_MAX_SEGS];
};

/*
 * Check the ring addresses and size (a power of two up to VQ_MAX_SIZE, rings
 * aligned and wholly in RAM) and make the queue ready. Returns 0 or -EINVAL.
 */
__attribute__((warn_unused_result)) int vq_setup(struct vq *q, const struct gm *m, uint16_t size,
						 uint64_t desc, uint64_t avail, uint64_t used,
						 bool event_idx, bool indirect);
void vq_reset(struct vq *q);

/*
 * Take the next available chain. Returns 1 with *c filled, 0 when none is
 * available, or -EIO when the queue is (now) broken.
 */
int vq_pop(struct vq *q, struct vq_chain *c);

/* Give back the last `n` chains taken and not pushed: the next vq_pop() sees them again. */
void vq_unpop(struct vq *q, uint16_t n);

/* Return chain `head` to the guest with `len` bytes written into it. */
void vq_push(struct vq *q, uint16_t head, uint32_t len);

/*
 * vq_push() in two steps, for results the guest must see together (a frame
 * over several receive buffers): vq_fill() writes used elements, vq_publish()
 * then moves the used index past all of them at once.
 */
void vq_fill(struct vq *q, uint16_t head, uint32_t len);
void vq_publish(struct vq *q);

/* Has the driver made buffers available that vq_pop() has not taken? No side effects. */
bool vq_avail_pending(const struct vq *q);

/* After pushes: should the guest be interrupted (flags or EVENT_IDX)? */
bool vq_should_notify(struct vq *q);

/*
 * With EVENT_IDX, ask the guest to kick at the next buffer it adds. Returns
 * true if buffers arrived meanwhile (the caller should pop again).
 */
bool vq_enable_notify(struct vq *q);

/* Copy bytes from the readable part / into the writable part of a chain. */
uint64_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, uint64_t len);
uint64_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, uint64_t len);
