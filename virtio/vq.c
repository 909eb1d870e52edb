#include "virtio/vq.h"
#include "vmm/iov.h"

#include <errno.h>
#include <string.h>

#define AVAIL_FLAGS 0
#define AVAIL_IDX 1
#define AVAIL_RING 2
#define USED_IDX_OFF 2
#define USED_RING_OFF 4
#define USED_ELEM 8

static uint64_t avail_bytes(uint16_t size)
{
	return 6 + 2ULL * size;
}

static uint64_t used_bytes(uint16_t size)
{
	return 6 + (uint64_t)USED_ELEM * size;
}

int vq_setup(struct vq *q, const struct gm *m, uint16_t size, uint64_t desc, uint64_t avail,
	     uint64_t used, bool event_idx, bool indirect)
{
	memset(q, 0, sizeof(*q));
	if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	q->desc = gm_ptr(m, desc, 16ULL * size);
	q->avail = gm_ptr(m, avail, avail_bytes(size));
	q->used = gm_ptr(m, used, used_bytes(size));
	if (!q->desc || !q->avail || !q->used) {
		memset(q, 0, sizeof(*q));
		return -EINVAL;
	}
	q->mem = m;
	q->size = size;
	q->desc_gpa = desc;
	q->avail_gpa = avail;
	q->used_gpa = used;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->ready = true;
	return 0;
}

void vq_reset(struct vq *q)
{
	memset(q, 0, sizeof(*q));
}

static uint16_t load16(const volatile void *p)
{
	return __atomic_load_n((const volatile uint16_t *)p, __ATOMIC_RELAXED);
}

static int broken(struct vq *q)
{
	q->broken = true;
	return -EIO;
}

/* Append descriptor `d` (already copied out of guest memory) to the chain. */
static int add_seg(struct vq *q, struct vq_chain *c, const struct vring_desc *d)
{
	bool w = d->flags & VRING_DESC_F_WRITE;
	void *p;

	if (c->n == VQ_MAX_SEGS)
		return -EIO;
	if (!w && c->n > c->nread)
		return -EIO; /* readable after writable */
	p = gm_ptr(q->mem, d->addr, d->len); /* NULL for len 0, wrap, or outside RAM */
	if (!p)
		return -EIO;
	c->seg[c->n].iov_base = p;
	c->seg[c->n].iov_len = d->len;
	c->n++;
	if (w) {
		c->write_len += d->len;
	} else {
		c->nread++;
		c->read_len += d->len;
	}
	return 0;
}

/* Walk an indirect table: a flat chain inside one descriptor's buffer. */
static int walk_indirect(struct vq *q, struct vq_chain *c, const struct vring_desc *outer)
{
	const uint8_t *table; /* any alignment: the specification sets none */
	uint32_t n = outer->len / sizeof(struct vring_desc);
	uint32_t i = 0, steps = 0;

	if (!q->indirect || (outer->flags & VRING_DESC_F_NEXT) || outer->len % sizeof(struct vring_desc) ||
	    !n)
		return -EIO;
	table = gm_ptr(q->mem, outer->addr, outer->len);
	if (!table)
		return -EIO;
	for (;;) {
		struct vring_desc d;

		memcpy(&d, table + (size_t)i * sizeof(d), sizeof(d)); /* copy first: the guest may change it */
		if ((d.flags & VRING_DESC_F_INDIRECT) || add_seg(q, c, &d))
			return -EIO;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n || ++steps >= n)
			return -EIO; /* out of the table, or a loop */
		i = d.next;
	}
}

int vq_pop(struct vq *q, struct vq_chain *c)
{
	uint16_t avail_idx, head, i, steps = 0;

	if (!q->ready || q->broken)
		return q->broken ? -EIO : 0;
	avail_idx = load16(&q->avail[AVAIL_IDX]);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return broken(q); /* the guest claims more buffers than the ring holds */
	/* Read the ring entry only after seeing the index (pairs with the guest's write barrier). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = load16(&q->avail[AVAIL_RING + q->last_avail % q->size]);
	if (head >= q->size)
		return broken(q);
	q->last_avail++;

	c->head = head;
	c->n = c->nread = 0;
	c->read_len = c->write_len = 0;
	for (i = head;;) {
		struct vring_desc d;

		memcpy(&d, &q->desc[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (c->n || walk_indirect(q, c, &d))
				return broken(q); /* indirect must be the chain's only descriptor */
			break;
		}
		if (add_seg(q, c, &d))
			return broken(q);
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= q->size || ++steps >= q->size)
			return broken(q);
		i = d.next;
	}
	return 1;
}

void vq_unpop(struct vq *q, uint16_t n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

void vq_fill(struct vq *q, uint16_t head, uint32_t len)
{
	volatile uint8_t *e;
	uint32_t id = head;

	if (!q->ready)
		return; /* reset meanwhile: the ring is no longer ours to write */
	e = q->used + USED_RING_OFF + (size_t)(q->used_idx % q->size) * USED_ELEM;
	memcpy((void *)e, &id, 4);
	memcpy((void *)(e + 4), &len, 4);
	q->used_idx++;
}

void vq_publish(struct vq *q)
{
	if (!q->ready)
		return;
	/* The elements (and the buffers they describe) before the index that publishes them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n((volatile uint16_t *)(q->used + USED_IDX_OFF), q->used_idx, __ATOMIC_RELAXED);
}

void vq_push(struct vq *q, uint16_t head, uint32_t len)
{
	vq_fill(q, head, len);
	vq_publish(q);
}

bool vq_avail_pending(const struct vq *q)
{
	return q->ready && !q->broken && load16(&q->avail[AVAIL_IDX]) != q->last_avail;
}

bool vq_should_notify(struct vq *q)
{
	uint16_t old, used_event;
	bool first;

	if (!q->ready)
		return false;
	/* Our used index store must be visible before we read the guest's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(&q->avail[AVAIL_FLAGS]) & VRING_AVAIL_F_NO_INTERRUPT);
	old = q->signalled_used;
	first = !q->signalled_valid;
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	if (first)
		return true;
	used_event = load16(&q->avail[AVAIL_RING + q->size]);
	/* vring_need_event(): did used_idx step past used_event since the last signal? */
	return (uint16_t)(q->used_idx - used_event - 1) < (uint16_t)(q->used_idx - old);
}

bool vq_enable_notify(struct vq *q)
{
	if (!q->ready || !q->event_idx)
		return false;
	__atomic_store_n((volatile uint16_t *)(q->used + USED_RING_OFF + (size_t)q->size * USED_ELEM),
			 q->last_avail, __ATOMIC_RELAXED);
	/* Publish avail_event before re-reading avail idx (pairs with the guest's kick check). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(&q->avail[AVAIL_IDX]) != q->last_avail;
}

static uint64_t chain_copy(const struct vq_chain *c, unsigned int first, unsigned int end,
			   uint64_t off, void *buf, uint64_t len, bool to_guest)
{
	return iov_copy(c->seg + first, end - first, off, buf, len, to_guest);
}

uint64_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, uint64_t len)
{
	return chain_copy(c, 0, c->nread, off, dst, len, false);
}

uint64_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, uint64_t len)
{
	return chain_copy(c, c->nread, c->n, off, (void *)src, len, true);
}
