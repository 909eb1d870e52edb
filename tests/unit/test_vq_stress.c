/*
 * virtio/vq against random rings: whatever the descriptors and indices say,
 * vq_pop returns 1, 0 or -EIO as an independent model of the rules predicts,
 * and every segment it hands out lies inside one region of guest RAM.
 */
#include <pthread.h>

#include "vmm/layout.h"
#include "tests/unit/rng.h"
#include "tests/unit/test_vq.h"

#define STRESS_ROUNDS  3000
#define STRESS_TABLE   0x80000ULL /* 16 indirect tables of 256 entries, 4 KiB apart */
#define STRESS_TABLES  16
#define STRESS_TABLE_N 256

struct ref_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* An independent model of the rules, reading guest memory through gm_read. */
struct ref_chain {
	unsigned int n, nread;
	bool indirect; /* the chain was an indirect table */
	struct ref_seg seg[VQ_MAX_SEGS];
};

static bool ref_add(const struct gm *m, struct ref_chain *c, const struct vring_desc *d)
{
	bool w = d->flags & VRING_DESC_F_WRITE;

	if (c->n == VQ_MAX_SEGS || (!w && c->n != c->nread) || !gm_ptr(m, d->addr, d->len))
		return false;
	c->seg[c->n++] = (struct ref_seg){ d->addr, d->len, w };
	c->nread += !w;
	return true;
}

static bool seen(const uint32_t *v, unsigned int n, uint32_t x)
{
	for (unsigned int i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Walk a table of `n` entries at `table` from entry `i`; no entry may be visited twice. */
static bool ref_walk(const struct gm *m, struct ref_chain *c, uint64_t table, uint32_t n,
		     uint32_t i, bool indirect_ok, bool in_table)
{
	uint32_t visited[VQ_MAX_SEGS + 1], nv = 0;

	for (;;) {
		struct vring_desc d;

		if (gm_read(m, table + 16ULL * i, &d, sizeof(d)))
			return false;
		visited[nv++] = i;
		if (d.flags & VRING_DESC_F_INDIRECT) {
			uint32_t tn = d.len / 16;

			if (in_table || !indirect_ok || c->n || (d.flags & VRING_DESC_F_NEXT) ||
			    d.len % 16 || !tn || !gm_ptr(m, d.addr, d.len))
				return false;
			c->indirect = true;
			return ref_walk(m, c, d.addr, tn, 0, false, true);
		}
		if (!ref_add(m, c, &d))
			return false;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return true;
		if (d.next >= n || seen(visited, nv, d.next) || nv > VQ_MAX_SEGS)
			return false;
		i = d.next;
	}
}

/* Expected vq_pop() result for the queue state in *q and guest memory. */
static int ref_pop(const struct vq *q, const struct fake_vring *v, struct ref_chain *c)
{
	const struct gm *m = v->mem;
	uint16_t idx, head;

	if (q->broken)
		return -EIO;
	ck_assert_int_eq(gm_read(m, v->avail + 2, &idx, 2), 0);
	if (idx == q->last_avail)
		return 0;
	if ((uint16_t)(idx - q->last_avail) > q->size)
		return -EIO;
	ck_assert_int_eq(gm_read(m, v->avail + 4 + 2ULL * (q->last_avail % q->size), &head, 2), 0);
	if (head >= q->size)
		return -EIO;
	c->n = c->nread = 0;
	c->indirect = false;
	return ref_walk(m, c, v->desc, q->size, head, q->indirect, false) ? 1 : -EIO;
}

static uint64_t rand_addr(struct rng *r)
{
	switch (rng_below(r, 10)) {
	case 0: return rng_next(r);
	case 1: return UINT64_MAX - rng_below(r, 0x2000);
	case 2: return FAKE_HOLE - rng_below(r, 64);
	case 3: return LAYOUT_4G - rng_below(r, 64);
	case 4: return LAYOUT_4G + HIGH_RAM - rng_below(r, 64);
	case 5: return LAYOUT_4G + rng_below(r, HIGH_RAM);
	case 6: return STRESS_TABLE + rng_below(r, STRESS_TABLES * 4096);
	default: return rng_below(r, FAKE_HOLE);
	}
}

static uint32_t rand_len(struct rng *r)
{
	switch (rng_below(r, 8)) {
	case 0: return 0;
	case 1: return (uint32_t)rng_next(r);
	case 2:
		return 16 * (uint32_t)rng_below(r, 300) +
		       (rng_below(r, 4) ? 0 : (uint32_t)rng_below(r, 16));
	case 3: return (uint32_t)rng_below(r, 0x100000);
	default: return 1 + (uint32_t)rng_below(r, 256);
	}
}

/* How hostile a round is: 1 in `bad` descriptors random (0: none); NEXT set with p 1 - 1/cont. */
struct stress_mix {
	unsigned int bad, cont;
	unsigned int indirect; /* 1 in `indirect` descriptors points at a table (0: none) */
};

/*
 * A random descriptor: mostly well formed (a buffer in RAM, linked to the
 * next entry, readable in the first half of the table) so that walks go deep
 * before they meet something hostile; sometimes a pointer into the indirect
 * area; 1 in mix->bad anything at all.
 */
static void rand_desc(struct rng *r, const struct gm *m, uint64_t table, uint32_t i, uint32_t n,
		      const struct stress_mix *mix)
{
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;

	if (mix->bad && rng_below(r, mix->bad) == 0) {
		addr = rand_addr(r);
		len = rand_len(r);
		flags = rng_below(r, 16) ? (uint16_t)rng_below(r, 8) : (uint16_t)rng_next(r);
		next = rng_below(r, 16) ? (uint16_t)rng_below(r, n + 2) : (uint16_t)rng_next(r);
	} else if (mix->indirect && rng_below(r, mix->indirect) == 0) {
		addr = STRESS_TABLE + 4096 * rng_below(r, STRESS_TABLES);
		len = 16 * (1 + (uint32_t)rng_below(r, STRESS_TABLE_N));
		flags = VRING_DESC_F_INDIRECT;
		next = 0;
	} else {
		addr = rng_below(r, 2) ? BUF + rng_below(r, 0x10000)
				       : LAYOUT_4G + rng_below(r, MIB);
		len = 1 + (uint32_t)rng_below(r, 512);
		flags = (i * 2 >= n ? VRING_DESC_F_WRITE : 0) |
			(rng_below(r, mix->cont) ? VRING_DESC_F_NEXT : 0);
		next = (uint16_t)((i + 1) % n);
	}
	fake_vring_table_desc(m, table, i, addr, len, flags, next);
}

/* Pop once and compare with the model: same result, same segments, all in RAM. */
static int stress_check_pop(struct fx *f, bool *indirect)
{
	struct ref_chain want;
	int rc, expect = ref_pop(&f->q, &f->v, &want);

	rc = vq_pop(&f->q, &f->c);
	ck_assert_msg(rc == 1 || rc == 0 || rc == -EIO, "vq_pop returned %d", rc);
	ck_assert_int_eq(rc, expect);
	ck_assert_int_eq(f->q.broken, rc == -EIO);
	if (rc != 1)
		return rc;
	fx_chain_sane(&f->m, &f->c, f->q.size);
	*indirect = want.indirect;
	ck_assert_uint_eq(f->c.n, want.n);
	ck_assert_uint_eq(f->c.nread, want.nread);
	for (unsigned int i = 0; i < f->c.n; i++) {
		ck_assert_ptr_eq(f->c.seg[i].iov_base,
				 gm_ptr(&f->m, want.seg[i].gpa, want.seg[i].len));
		ck_assert_uint_eq(f->c.seg[i].iov_len, want.seg[i].len);
	}
	return rc;
}

/* What a device does with a chain: read the request, write a reply, complete it. */
static void stress_use_chain(struct rng *r, struct fx *f)
{
	uint8_t buf[256];

	memset(buf, (int)rng_below(r, 256), sizeof(buf));
	(void)vq_chain_read(&f->c, rng_below(r, 64), buf, rng_below(r, sizeof(buf)));
	(void)vq_chain_write(&f->c, rng_below(r, 64), buf, rng_below(r, sizeof(buf)));
	vq_push(&f->q, f->c.head, (uint32_t)rng_next(r));
	(void)vq_should_notify(&f->q);
}

/* The guest scribbles on its rings between two pops. */
static void stress_guest_moves(struct rng *r, struct fx *f, const struct stress_mix *mix)
{
	uint16_t size = f->q.size;

	switch (rng_below(r, 8)) {
	case 0: rand_desc(r, &f->m, f->v.desc, (uint32_t)rng_below(r, size), size, mix); break;
	case 1:
		fake_vring_set_avail_ring(&f->v, (uint16_t)rng_below(r, size),
					  (uint16_t)rng_below(r, size + 1));
		break;
	case 2: fake_vring_set_used_event(&f->v, (uint16_t)rng_next(r)); break;
	case 3: fake_vring_set_avail_flags(&f->v, (uint16_t)rng_below(r, 2)); break;
	default: break;
	}
}

START_TEST(test_stress_random_rings)
{
	struct rng r = { 0x5eedf00dcafe1234ULL };
	static const struct stress_mix table_mix = { .bad = 64, .cont = 32 };
	uint64_t chains = 0, long_chains = 0, indirect_chains = 0, broken = 0;
	struct fx f;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(gm_init(&f.m, FAKE_HOLE + HIGH_RAM, FAKE_HOLE), 0);
	for (uint32_t i = 0; i < STRESS_TABLES * STRESS_TABLE_N; i++)
		rand_desc(&r, &f.m, STRESS_TABLE + 4096 * (i / STRESS_TABLE_N), i % STRESS_TABLE_N,
			  STRESS_TABLE_N, &table_mix);
	for (unsigned int round = 0; round < STRESS_ROUNDS; round++) {
		static const unsigned int bads[] = { 0, 256, 32, 4, 1 };
		static const unsigned int conts[] = { 2, 8, 64 }, indirects[] = { 0, 1, 8 };
		struct stress_mix mix = { .bad = bads[rng_below(&r, 5)],
					  .cont = conts[rng_below(&r, 3)],
					  .indirect = indirects[rng_below(&r, 3)] };
		struct stress_mix tmix = { .bad = mix.bad, .cont = mix.cont };
		uint16_t size = (uint16_t)(1u << rng_below(&r, 9));
		uint64_t base = rng_below(&r, 2) ? RING : LAYOUT_4G + RING;

		fake_vring_init_at(&f.v, &f.m, size, base);
		ck_assert_int_eq(vq_setup(&f.q, &f.m, size, f.v.desc, f.v.avail, f.v.used,
					  rng_below(&r, 2), rng_below(&r, 4) != 0),
				 0);
		for (uint32_t i = 0; i < size; i++) {
			rand_desc(&r, &f.m, f.v.desc, i, size, &mix);
			fake_vring_set_avail_ring(&f.v, i,
						  !mix.bad || rng_below(&r, 8 * mix.bad)
							  ? (uint16_t)rng_below(&r, size)
							  : (uint16_t)rng_next(&r));
		}
		for (uint32_t i = 0; i < 8; i++) /* churn the shared indirect area a little */
			rand_desc(&r, &f.m, STRESS_TABLE + 4096 * rng_below(&r, STRESS_TABLES),
				  (uint32_t)rng_below(&r, STRESS_TABLE_N), STRESS_TABLE_N, &tmix);
		fake_vring_set_avail_idx(&f.v, rng_below(&r, 16) ? (uint16_t)rng_below(&r, size + 1)
								 : (uint16_t)rng_next(&r));
		for (unsigned int k = 0; k < 3u * size + 8; k++) {
			bool ind = false;
			int rc = stress_check_pop(&f, &ind);

			if (rc == -EIO) {
				ck_assert_int_eq(vq_pop(&f.q, &f.c), -EIO);
				broken++;
				break;
			}
			if (rc == 1) {
				chains++;
				long_chains += f.c.n >= 16;
				indirect_chains += ind;
				stress_use_chain(&r, &f);
			} else {
				if (rng_below(&r, 4) == 0)
					break;
				(void)vq_enable_notify(&f.q);
				fake_vring_set_avail_idx(
					&f.v, (uint16_t)(f.v.avail_idx + rng_below(&r, size + 2)));
			}
			stress_guest_moves(&r, &f, &mix);
		}
	}
	/* The run went deep into both outcomes (9559 chains, 408 of 16+ segments, 603 indirect). */
	ck_assert_uint_gt(chains, 5000);
	ck_assert_uint_gt(long_chains, 200);
	ck_assert_uint_gt(indirect_chains, 300);
	ck_assert_uint_gt(broken, 1000);
	gm_destroy(&f.m);
}
END_TEST

/*
 * A guest vCPU rewrites descriptor 0 field by field while the device pops it:
 * (BUF, 8) is the only valid state, the others are outside RAM or too long,
 * and NEXT sometimes makes it a self loop. Whatever mix of old and new fields
 * vq_pop sees, it must validate the same copy it hands out (no second read).
 */
struct race_guest {
	struct vring_desc *d; /* host view of descriptor 0 */
	int stop;
};

static void *race_guest_run(void *arg)
{
	struct race_guest *g = arg;

	for (unsigned int k = 0; !__atomic_load_n(&g->stop, __ATOMIC_RELAXED); k++) {
		switch (k % 4) {
		case 0: __atomic_store_n(&g->d->addr, BUF, __ATOMIC_RELAXED); break;
		case 1: __atomic_store_n(&g->d->len, UINT32_MAX, __ATOMIC_RELAXED); break;
		case 2: __atomic_store_n(&g->d->addr, RAM - 4, __ATOMIC_RELAXED); break;
		default: __atomic_store_n(&g->d->len, 8, __ATOMIC_RELAXED); break;
		}
		__atomic_store_n(&g->d->flags, (k & 0x40) ? F_N : 0, __ATOMIC_RELAXED);
	}
	return NULL;
}

START_TEST(test_race_guest_rewrites_descriptor)
{
	struct race_guest g;
	unsigned int ok = 0, broken = 0;
	pthread_t t;
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_desc(&f.v, 0, BUF, 8, F_R, 0);
	g = (struct race_guest){ .d = gm_ptr(&f.m, f.v.desc, sizeof(struct vring_desc)) };
	ck_assert_int_eq(pthread_create(&t, NULL, race_guest_run, &g), 0);
	for (unsigned int k = 0; k < 200000; k++) {
		int rc;

		fake_vring_publish(&f.v, 0);
		rc = vq_pop(&f.q, &f.c);
		if (rc == 1) {
			/* NEXT cleared mid-walk ends a self loop early: several copies, all valid.
			 */
			ck_assert_uint_le(f.c.n, SIZE);
			for (unsigned int i = 0; i < f.c.n; i++) {
				ck_assert_ptr_eq(f.c.seg[i].iov_base, fx_host(&f, BUF));
				ck_assert_uint_eq(f.c.seg[i].iov_len, 8);
			}
			vq_push(&f.q, 0, 0);
			ok++;
			continue;
		}
		ck_assert_int_eq(rc, -EIO);
		broken++;
		fake_vring_set_avail_idx(&f.v, 0); /* the driver resets the queue */
		ck_assert_int_eq(
			vq_setup(&f.q, &f.m, SIZE, f.v.desc, f.v.avail, f.v.used, false, false), 0);
	}
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELAXED);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_eq(ok + broken, 200000);
	fx_close(&f);
}
END_TEST

void vq_stress_tcases(Suite *s)
{
	TCase *stress_tc = tcase_create("stress");

	tcase_add_test(stress_tc, test_stress_random_rings);
	tcase_add_test(stress_tc, test_race_guest_rewrites_descriptor);
	tcase_set_timeout(stress_tc, 120);
	suite_add_tcase(s, stress_tc);
}
