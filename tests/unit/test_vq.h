#pragma once
/*
 * The fixture shared by the virtqueue tests (test_vq.c, test_vq_hostile.c,
 * test_vq_stress.c): guest RAM, a fake driver ring and the queue under test,
 * and checks that a popped chain is sane or that the queue broke.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "tests/unit/fake_vring.h"
#include "virtio/vq.h"
#include "vmm/gm.h"

#define MIB	  (1ULL << 20)
#define RAM	  MIB	     /* the usual guest: one region, 0 to 1 MiB */
#define FAKE_HOLE MIB	     /* with more RAM: low RAM ends at 1 MiB, the rest from 4 GiB */
#define HIGH_RAM  (2 * MIB)  /* RAM above 4 GiB in the split layout */
#define RING	  0x1000ULL  /* rings laid out back to back from here */
#define BUF	  0x20000ULL /* data buffers */
#define TABLE	  0x40000ULL /* indirect tables (up to 4096 entries: 64 KiB) */
#define SIZE	  16	     /* default queue size */

#define F_R 0
#define F_W VRING_DESC_F_WRITE
#define F_N VRING_DESC_F_NEXT
#define F_I VRING_DESC_F_INDIRECT

/* Test cases defined beside test_vq.c, added to its suite. */
void vq_hostile_tcases(Suite *s);
void vq_stress_tcases(Suite *s);

struct fx {
	struct gm m;
	struct fake_vring v;
	struct vq q;
	struct vq_chain c;
};

static inline void fx_open_ram(struct fx *f, uint64_t ram, uint16_t size, bool event_idx,
			       bool indirect)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(gm_init(&f->m, ram, FAKE_HOLE), 0);
	fake_vring_init_at(&f->v, &f->m, size, RING);
	ck_assert_int_eq(
		vq_setup(&f->q, &f->m, size, f->v.desc, f->v.avail, f->v.used, event_idx, indirect),
		0);
}

static inline void fx_open(struct fx *f, uint16_t size, bool event_idx, bool indirect)
{
	fx_open_ram(f, RAM, size, event_idx, indirect);
}

static inline void fx_close(struct fx *f)
{
	gm_destroy(&f->m);
}

static inline uint8_t *fx_host(struct fx *f, uint64_t gpa)
{
	return gm_ptr(&f->m, gpa, 1);
}

/* Whether [base, base + len) lies inside one RAM region's host memory. */
static inline bool fx_iov_in_ram(const struct gm *m, const struct iovec *s)
{
	const uint8_t *p = s->iov_base;

	for (unsigned int i = 0; i < m->nr; i++) {
		const struct gm_region *r = &m->region[i];

		if (p >= r->host && s->iov_len <= r->size &&
		    (uint64_t)(p - r->host) <= r->size - s->iov_len)
			return true;
	}
	return false;
}

/* A popped chain is well formed: bounded, readable first, lengths summed, all in RAM. */
static inline void fx_chain_sane(const struct gm *m, const struct vq_chain *c, uint16_t size)
{
	uint64_t rd = 0, wr = 0;

	ck_assert_uint_lt(c->head, size);
	ck_assert_uint_ge(c->n, 1);
	ck_assert_uint_le(c->n, VQ_MAX_SEGS);
	ck_assert_uint_le(c->nread, c->n);
	for (unsigned int i = 0; i < c->n; i++) {
		ck_assert_msg(fx_iov_in_ram(m, &c->seg[i]),
			      "segment %u (%p, %zu) outside guest RAM", i, c->seg[i].iov_base,
			      c->seg[i].iov_len);
		ck_assert_uint_gt(c->seg[i].iov_len, 0);
		if (i < c->nread)
			rd += c->seg[i].iov_len;
		else
			wr += c->seg[i].iov_len;
	}
	ck_assert_uint_eq(c->read_len, rd);
	ck_assert_uint_eq(c->write_len, wr);
}

static inline void fx_pop_ok(struct fx *f, uint16_t head, unsigned int n, unsigned int nread)
{
	ck_assert_int_eq(vq_pop(&f->q, &f->c), 1);
	ck_assert_uint_eq(f->c.head, head);
	ck_assert_uint_eq(f->c.n, n);
	ck_assert_uint_eq(f->c.nread, nread);
	ck_assert(!f->q.broken);
	fx_chain_sane(&f->m, &f->c, f->q.size);
}

/* The queue must now be broken, and stay so. */
static inline void fx_pop_broken(struct fx *f)
{
	ck_assert_int_eq(vq_pop(&f->q, &f->c), -EIO);
	ck_assert(f->q.broken);
	ck_assert_int_eq(vq_pop(&f->q, &f->c), -EIO);
}

/* Publish one descriptor as a whole chain and expect vq_pop to break the queue. */
static inline void fx_one_desc_breaks(struct fx *f, uint64_t addr, uint32_t len, uint16_t flags)
{
	fake_vring_desc(&f->v, 0, addr, len, flags, 0);
	fake_vring_publish(&f->v, 0);
	fx_pop_broken(f);
}

/* As fx_one_desc_breaks, on a fresh queue of its own. */
static inline void fx_fresh_one_desc_breaks(uint64_t ram, bool indirect, uint64_t addr,
					    uint32_t len, uint16_t flags)
{
	struct fx f;

	fx_open_ram(&f, ram, SIZE, false, indirect);
	fx_one_desc_breaks(&f, addr, len, flags);
	fx_close(&f);
}
