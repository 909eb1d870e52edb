/* The driver side of a virtqueue for the device fuzz targets: see ring.h. */
#include "tests/fuzz/ring.h"

#include <stdlib.h>

#include "vmm/gm.h"

uint64_t arena_take(struct arena *a, uint64_t len)
{
	uint64_t at;

	if (a->next - a->base + len > a->size)
		a->next = a->base;
	at = a->next;
	if (len <= a->size)
		a->next = a->base + ((a->next - a->base + len + 15) & ~15ULL);
	return at;
}

void ring_init(struct ring *r, const struct gm *m, uint16_t size, uint64_t base,
	       struct arena tables)
{
	fake_vring_init_at(&r->v, m, size, base);
	r->next = 0;
	r->tables = tables;
	r->tables.next = tables.base;
}

uint16_t ring_add(struct ring *r, const struct fake_seg *segs, unsigned int n, bool indirect)
{
	uint16_t head = r->next;

	if (indirect && n) {
		uint64_t table = arena_take(&r->tables, 16ULL * n);

		fake_vring_indirect(r->v.mem, table, segs, n);
		fake_vring_desc(&r->v, head, table, 16 * n, VRING_DESC_F_INDIRECT, 0);
		n = 1;
	} else {
		fake_vring_chain(&r->v, head, segs, n);
	}
	r->next = (uint16_t)((r->next + n) % r->v.size);
	fake_vring_publish(&r->v, head);
	return head;
}

void ring_hostile(struct ring *r, uint8_t op, struct input *in, uint64_t poke_limit)
{
	switch (op % 5) {
	case 0: {
		uint16_t i = input_u16(in) % r->v.size;
		uint64_t addr = input_u64(in);
		uint32_t len = input_u32(in);
		uint16_t flags = input_u16(in);

		fake_vring_desc(&r->v, i, addr, len, flags, input_u16(in));
		break;
	}
	case 1:
		fake_vring_publish(&r->v, input_u16(in));
		break;
	case 2:
		fake_vring_set_avail_idx(&r->v, input_u16(in));
		break;
	case 3:
		if (input_u8(in) & 1)
			fake_vring_set_used_event(&r->v, input_u16(in));
		else
			fake_vring_set_avail_flags(&r->v, input_u16(in));
		break;
	case 4: {
		uint64_t gpa = input_u32(in) % poke_limit;
		uint8_t b[256];
		size_t n = input_u8(in);

		n = n < poke_limit - gpa ? n : (size_t)(poke_limit - gpa);
		input_bytes(in, b, n);
		if (n && gm_write(r->v.mem, gpa, b, n))
			abort(); /* poke_limit lies beyond RAM */
		break;
	}
	}
}
