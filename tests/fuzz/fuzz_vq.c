/*
 * Fuzz target: the split-virtqueue walker (virtio/vq.c).
 *
 * The input is a queue configuration followed by a stream of driver and
 * device operations on a small guest RAM (32 KiB at 0, 16 KiB at 4 GiB):
 * descriptors written anywhere (ring table or indirect tables), heads
 * published, raw indices and bytes poked, interleaved with vq_pop(),
 * vq_push(), vq_fill()/vq_publish(), vq_unpop() and the notification
 * helpers. At the end the queue is popped until empty and every chain is
 * pushed back. Every chain returned must describe only guest RAM and add up
 * to the lengths it claims; the sanitizers catch any other host access.
 *
 * Input: u8 size selector, u8 flags, [3 x u64 ring addresses], operations.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "tests/fuzz/ram.h"
#include "virtio/vq.h"

#define LOW_RAM	  (32u << 10)
#define HIGH_RAM  (16u << 10)
#define COPY_MAX  (64u << 10)
#define MAX_TAKEN 1024 /* a lying driver can republish heads: more than the queue size */

enum op {
	OP_DESC,	 /* write a descriptor of the ring's table */
	OP_DESC_AT,	 /* write a descriptor anywhere in low RAM (indirect tables) */
	OP_PUBLISH,	 /* put a head in the next avail slot and bump the index */
	OP_AVAIL_IDX,	 /* set the available index to any value */
	OP_POKE,	 /* write raw bytes into low RAM */
	OP_POP,		 /* vq_pop() */
	OP_PUSH,	 /* vq_push() the oldest chain taken */
	OP_FILL,	 /* vq_fill() the oldest chain taken */
	OP_PUBLISH_USED, /* vq_publish() */
	OP_UNPOP,	 /* vq_unpop() some of the chains taken */
	OP_NOTIFY,	 /* vq_should_notify() */
	OP_ENABLE,	 /* vq_enable_notify() */
	OP_RESET,	 /* vq_reset() and vq_setup() again */
	OP_COUNT
};

struct vq_fuzz {
	struct ram ram;
	struct vq q;
	struct vq_chain c;
	uint16_t size_arg;
	uint64_t desc, avail, used;
	bool event_idx, indirect;
	uint16_t avail_idx;	   /* the driver's copy */
	uint16_t taken[MAX_TAKEN]; /* heads popped and not returned, oldest first */
	unsigned int ntaken;
	uint8_t buf[COPY_MAX];
};

static struct vq_fuzz *fz;

/* What vq_pop() returned must be a well-formed view of guest RAM. */
static void check_chain(const struct vq_fuzz *f, const struct vq_chain *c)
{
	uint64_t rd = 0, wr = 0;

	expect(c->head < f->q.size);
	expect(c->n >= 1 && c->n <= VQ_MAX_SEGS && c->nread <= c->n);
	for (unsigned int i = 0; i < c->n; i++) {
		expect(c->seg[i].iov_len > 0);
		expect(ram_contains(&f->ram, c->seg[i].iov_base, c->seg[i].iov_len));
		if (i < c->nread)
			rd += c->seg[i].iov_len;
		else
			wr += c->seg[i].iov_len;
	}
	expect(rd == c->read_len && wr == c->write_len);
}

/* Copy through the chain as a device would: whole readable part, whole writable part. */
static void touch_chain(struct vq_fuzz *f, const struct vq_chain *c, struct input *in)
{
	uint64_t rd = c->read_len < COPY_MAX ? c->read_len : COPY_MAX;
	uint64_t wr = c->write_len < COPY_MAX ? c->write_len : COPY_MAX;
	uint64_t off = input_u16(in);

	expect(vq_chain_read(c, 0, f->buf, rd) == rd);
	expect(vq_chain_write(c, 0, f->buf, wr) == wr);
	expect(vq_chain_read(c, c->read_len, f->buf, 1) == 0);
	expect(vq_chain_write(c, c->write_len, f->buf, 1) == 0);
	/* A copy from an offset gets what is left past it. */
	if (off < c->read_len)
		expect(vq_chain_read(c, off, f->buf, COPY_MAX) ==
		       (c->read_len - off < COPY_MAX ? c->read_len - off : COPY_MAX));
	if (off < c->write_len)
		expect(vq_chain_write(c, off, f->buf, 1) == 1);
}

/* A driver's store: bytes outside RAM go nowhere. */
static void store(struct vq_fuzz *f, uint64_t gpa, const void *src, size_t n)
{
	void *p = gm_ptr(&f->ram.m, gpa, n);

	if (p)
		memcpy(p, src, n);
}

static void put_desc(struct vq_fuzz *f, uint64_t gpa, struct input *in)
{
	struct vring_desc d;

	d.addr = input_u64(in);
	d.len = input_u32(in);
	d.flags = input_u16(in);
	d.next = input_u16(in);
	store(f, gpa, &d, sizeof(d));
}

static void put16(struct vq_fuzz *f, uint64_t gpa, uint16_t v)
{
	store(f, gpa, &v, sizeof(v));
}

static int setup(struct vq_fuzz *f)
{
	f->ntaken = 0;
	f->avail_idx = 0;
	put16(f, f->avail + 2, 0); /* a driver starts its rings afresh */
	return vq_setup(&f->q, &f->ram.m, f->size_arg, f->desc, f->avail, f->used, f->event_idx,
			f->indirect);
}

static uint16_t take_oldest(struct vq_fuzz *f)
{
	uint16_t head = f->taken[0];

	f->ntaken--;
	memmove(f->taken, f->taken + 1, f->ntaken * sizeof(f->taken[0]));
	return head;
}

static void pop(struct vq_fuzz *f, struct input *in)
{
	int r = vq_pop(&f->q, &f->c);

	expect(r == 1 || r == 0 || r == -EIO);
	expect(r != -EIO || f->q.broken);
	if (r != 1)
		return;
	check_chain(f, &f->c);
	touch_chain(f, &f->c, in);
	if (f->ntaken == MAX_TAKEN)
		vq_push(&f->q, take_oldest(f), 0);
	f->taken[f->ntaken++] = f->c.head;
}

static void step(struct vq_fuzz *f, struct input *in)
{
	uint8_t op = input_u8(in) % OP_COUNT;
	uint16_t size = f->q.size ? f->q.size : 1;

	switch (op) {
	case OP_DESC:
		put_desc(f, f->desc + 16ULL * (input_u16(in) % size), in);
		break;
	case OP_DESC_AT:
		put_desc(f, input_u16(in) % LOW_RAM, in);
		break;
	case OP_PUBLISH:
		put16(f, f->avail + 4 + 2ULL * (f->avail_idx % size), input_u16(in));
		f->avail_idx++;
		put16(f, f->avail + 2, f->avail_idx);
		break;
	case OP_AVAIL_IDX:
		f->avail_idx = input_u16(in);
		put16(f, f->avail + 2, f->avail_idx);
		break;
	case OP_POKE: {
		uint64_t gpa = input_u16(in) % LOW_RAM;
		uint8_t b[256];
		size_t n = input_u8(in);

		input_bytes(in, b, n);
		store(f, gpa, b, n);
		break;
	}
	case OP_POP:
		pop(f, in);
		break;
	case OP_PUSH:
		if (f->ntaken)
			vq_push(&f->q, take_oldest(f), input_u32(in));
		break;
	case OP_FILL:
		if (f->ntaken)
			vq_fill(&f->q, take_oldest(f), input_u32(in));
		break;
	case OP_PUBLISH_USED:
		vq_publish(&f->q);
		break;
	case OP_UNPOP: {
		/* Only chains taken last and not returned may be given back. */
		uint16_t n = (uint16_t)(input_u8(in) % (f->ntaken + 1));

		vq_unpop(&f->q, n);
		f->ntaken -= n;
		break;
	}
	case OP_NOTIFY:
		(void)vq_should_notify(&f->q);
		break;
	case OP_ENABLE:
		(void)vq_enable_notify(&f->q);
		break;
	case OP_RESET:
		vq_reset(&f->q);
		expect(setup(f) == 0);
		break;
	}
}

/* Pop until empty (or broken), pushing every chain back. */
static void drain(struct vq_fuzz *f, struct input *in)
{
	for (unsigned int i = 0; i < 4 * VQ_MAX_SIZE; i++) {
		unsigned int before = f->ntaken;

		pop(f, in);
		if (f->ntaken == before)
			break;
		vq_push(&f->q, take_oldest(f), (uint32_t)f->c.write_len);
	}
	while (f->ntaken)
		vq_push(&f->q, take_oldest(f), 0);
	(void)vq_should_notify(&f->q);
	(void)vq_enable_notify(&f->q);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz = calloc(1, sizeof(*fz));
	if (!fz || ram_init(&fz->ram, LOW_RAM, HIGH_RAM))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = input_init(data, size);
	struct vq_fuzz *f = fz;
	uint8_t sel = input_u8(&in), flags = input_u8(&in);
	unsigned int steps = 0;

	ram_clear(&f->ram);
	f->size_arg = sel & 0x80 ? input_u16(&in) : (uint16_t)(1u << (sel % 9));
	f->event_idx = flags & 1;
	f->indirect = flags & 2;
	if (flags & 4) { /* rings anywhere, even outside RAM */
		f->desc = input_u64(&in);
		f->avail = input_u64(&in);
		f->used = input_u64(&in);
	} else { /* back to back from 0, as a driver lays them out */
		f->desc = 0;
		f->avail = 16ULL * f->size_arg;
		f->used = (f->avail + 6 + 2ULL * f->size_arg + 3) & ~3ULL;
	}
	if (setup(f))
		return 0;
	while (!input_empty(&in) && steps++ < 4096)
		step(f, &in);
	drain(f, &in);
	vq_reset(&f->q);
	return 0;
}
