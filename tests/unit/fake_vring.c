/* The driver side of a split virtqueue for unit tests: see fake_vring.h. */
#include "tests/unit/fake_vring.h"

#include <check.h>
#include <string.h>

/* Offsets inside the available and used rings (virtio 1.2, 2.7.6 and 2.7.8). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX   2
#define AVAIL_RING  4
#define USED_FLAGS  0
#define USED_IDX    2
#define USED_RING   4
#define USED_ELEM   8
#define DESC_SIZE   16

static void put16(const struct gm *m, uint64_t gpa, uint16_t v)
{
	ck_assert_int_eq(gm_write(m, gpa, &v, sizeof(v)), 0);
}

static uint16_t get16(const struct gm *m, uint64_t gpa)
{
	uint16_t v = 0;

	ck_assert_int_eq(gm_read(m, gpa, &v, sizeof(v)), 0);
	return v;
}

uint64_t fake_vring_desc_bytes(uint16_t size)
{
	return (uint64_t)DESC_SIZE * size;
}

uint64_t fake_vring_avail_bytes(uint16_t size)
{
	return AVAIL_RING + 2ULL * size + 2;
}

uint64_t fake_vring_used_bytes(uint16_t size)
{
	return USED_RING + (uint64_t)USED_ELEM * size + 2;
}

static void zero(const struct gm *m, uint64_t gpa, uint64_t len)
{
	void *p = gm_ptr(m, gpa, len);

	ck_assert_ptr_nonnull(p);
	memset(p, 0, len);
}

void fake_vring_init(struct fake_vring *v, const struct gm *m, uint16_t size, uint64_t desc,
		     uint64_t avail, uint64_t used)
{
	ck_assert_uint_gt(size, 0);
	*v = (struct fake_vring){
		.mem = m, .size = size, .desc = desc, .avail = avail, .used = used
	};
	zero(m, desc, fake_vring_desc_bytes(size));
	zero(m, avail, fake_vring_avail_bytes(size));
	zero(m, used, fake_vring_used_bytes(size));
}

uint64_t fake_vring_init_at(struct fake_vring *v, const struct gm *m, uint16_t size, uint64_t base)
{
	uint64_t avail = base + fake_vring_desc_bytes(size);
	uint64_t used = (avail + fake_vring_avail_bytes(size) + 3) & ~3ULL;

	fake_vring_init(v, m, size, base, avail, used);
	return used + fake_vring_used_bytes(size);
}

void fake_vring_table_desc(const struct gm *m, uint64_t table, uint32_t i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	ck_assert_int_eq(gm_write(m, table + (uint64_t)DESC_SIZE * i, &d, sizeof(d)), 0);
}

void fake_vring_desc(struct fake_vring *v, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	ck_assert_uint_lt(i, v->size);
	fake_vring_table_desc(v->mem, v->desc, i, addr, len, flags, next);
}

uint16_t fake_vring_chain(struct fake_vring *v, uint16_t first, const struct fake_seg *segs,
			  unsigned int n)
{
	for (unsigned int k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((first + k) % v->size);
		uint16_t next = (uint16_t)((first + k + 1) % v->size);
		uint16_t flags = (segs[k].write ? VRING_DESC_F_WRITE : 0) |
				 (k + 1 < n ? VRING_DESC_F_NEXT : 0);

		fake_vring_desc(v, i, segs[k].addr, segs[k].len, flags, k + 1 < n ? next : 0);
	}
	return first;
}

void fake_vring_indirect(const struct gm *m, uint64_t table, const struct fake_seg *segs,
			 uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		uint16_t flags = (segs[k].write ? VRING_DESC_F_WRITE : 0) |
				 (k + 1 < n ? VRING_DESC_F_NEXT : 0);

		fake_vring_table_desc(m, table, k, segs[k].addr, segs[k].len, flags,
				      k + 1 < n ? (uint16_t)(k + 1) : 0);
	}
}

void fake_vring_publish(struct fake_vring *v, uint16_t head)
{
	fake_vring_set_avail_ring(v, v->avail_idx % v->size, head);
	fake_vring_set_avail_idx(v, (uint16_t)(v->avail_idx + 1));
}

void fake_vring_set_avail_idx(struct fake_vring *v, uint16_t idx)
{
	v->avail_idx = idx;
	put16(v->mem, v->avail + AVAIL_IDX, idx);
}

void fake_vring_set_avail_ring(struct fake_vring *v, uint16_t slot, uint16_t head)
{
	ck_assert_uint_lt(slot, v->size);
	put16(v->mem, v->avail + AVAIL_RING + 2ULL * slot, head);
}

void fake_vring_set_avail_flags(struct fake_vring *v, uint16_t flags)
{
	put16(v->mem, v->avail + AVAIL_FLAGS, flags);
}

void fake_vring_set_used_event(struct fake_vring *v, uint16_t event)
{
	put16(v->mem, v->avail + AVAIL_RING + 2ULL * v->size, event);
}

uint16_t fake_vring_used_idx(const struct fake_vring *v)
{
	return get16(v->mem, v->used + USED_IDX);
}

uint16_t fake_vring_used_flags(const struct fake_vring *v)
{
	return get16(v->mem, v->used + USED_FLAGS);
}

uint16_t fake_vring_avail_event(const struct fake_vring *v)
{
	return get16(v->mem, v->used + USED_RING + (uint64_t)USED_ELEM * v->size);
}

void fake_vring_used_elem(const struct fake_vring *v, uint16_t idx, uint32_t *id, uint32_t *len)
{
	uint64_t e = v->used + USED_RING + (uint64_t)USED_ELEM * (idx % v->size);

	ck_assert_int_eq(gm_read(v->mem, e, id, 4), 0);
	ck_assert_int_eq(gm_read(v->mem, e + 4, len, 4), 0);
}
