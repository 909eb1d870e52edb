/*
 * virtio-blk requests for arm64 micro-guests (virtio 1.2, 5.2), on top of
 * virtio.h: the header/data/status layout of a request as a descriptor
 * chain. The arm64 counterpart of tests/guests/virtio_blk.h.
 */
#pragma once
#include <stdint.h>

#include "virtio.h"

#define VIRTIO_ID_BLOCK 2

/* Feature bits */
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9

/* Device configuration offsets */
#define VIRTIO_BLK_CFG_CAPACITY 0 /* u64, in 512-byte sectors */

/* Request types and status values */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR_SIZE 512

struct virtio_blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* Memory of one request, owned by the caller until it completes. */
#define VBLK_MAX_DATA 8 /* data segments per request with this helper */
struct vblk_req {
	struct virtio_blk_hdr hdr;
	volatile uint8_t status;
	uint8_t pad[15];
} __attribute__((aligned(16)));

/*
 * Queue a request: header, `n` data buffers (device-writable for IN and
 * GET_ID, readable otherwise), status byte. The status is preset to 0xff so
 * that a completion without a status write shows. Returns the chain head or
 * VIRTIO_E_*. The caller kicks (virtq_kick) once per batch.
 */
static inline int vblk_submit(struct virtq *q, struct vblk_req *r, uint32_t type, uint64_t sector,
			      const struct vbuf *data, unsigned int n)
{
	struct vbuf b[VBLK_MAX_DATA + 2];
	int dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	int head;

	if (n > VBLK_MAX_DATA)
		return VIRTIO_E_FULL;
	r->hdr.type = type;
	r->hdr.reserved = 0;
	r->hdr.sector = sector;
	r->status = 0xff;
	b[0] = (struct vbuf){ (uint64_t)&r->hdr, sizeof(r->hdr), 0 };
	for (unsigned int k = 0; k < n; k++)
		b[k + 1] = (struct vbuf){ data[k].addr, data[k].len, dev_writes };
	b[n + 1] = (struct vbuf){ (uint64_t)&r->status, 1, 1 };
	head = virtq_add(q, b, n + 2);
	if (head >= 0)
		virtq_push(q, (uint16_t)head);
	return head;
}
