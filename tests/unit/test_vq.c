/*
 * virtio/vq: the split virtqueue, device side, with a well-behaved driver:
 * ring setup checks, chains, copies, index wrap-around and notification
 * suppression. Hostile drivers: test_vq_hostile.c; random ones: test_vq_stress.c.
 */
#include "vmm/layout.h"
#include "tests/unit/suites.h"
#include "tests/unit/test_vq.h"

/* ---- vq_setup ---- */

static int setup(struct fx *f, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	return vq_setup(&f->q, &f->m, size, desc, avail, used, true, true);
}

START_TEST(test_setup_rejects_bad_size)
{
	static const uint16_t bad[] = { 0, 3, 6, 100, 255, 257, 384, 512, 1024, 32768, 65535 };
	struct fx f;

	fx_open(&f, SIZE, false, false);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(setup(&f, bad[i], 0x10000, 0x20000, 0x30000), -EINVAL);
		ck_assert(!f.q.ready);
		ck_assert_int_eq(vq_pop(&f.q, &f.c), 0);
		ck_assert(!vq_should_notify(&f.q));
		ck_assert(!vq_enable_notify(&f.q));
	}
	fx_close(&f);
}
END_TEST

START_TEST(test_setup_accepts_powers_of_two)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	for (unsigned int size = 1; size <= VQ_MAX_SIZE; size *= 2) {
		ck_assert_int_eq(setup(&f, size, 0x10000, 0x20000, 0x30000), 0);
		ck_assert(f.q.ready);
		ck_assert_uint_eq(f.q.size, size);
		ck_assert_uint_eq(f.q.desc_gpa, 0x10000);
		ck_assert_uint_eq(f.q.last_avail, 0);
	}
	fx_close(&f);
}
END_TEST

START_TEST(test_setup_alignment)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	ck_assert_int_eq(setup(&f, SIZE, 0x10008, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10001, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x1000f, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, 0x20001, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, 0x20000, 0x30002), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, 0x20000, 0x30001), -EINVAL);
	ck_assert(!f.q.ready);
	/* The spec's minimum alignments: 16, 2, 4. */
	ck_assert_int_eq(setup(&f, SIZE, 0x10010, 0x20002, 0x30004), 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_setup_rejects_rings_outside_ram)
{
	uint64_t d = fake_vring_desc_bytes(SIZE), a = fake_vring_avail_bytes(SIZE);
	uint64_t u = fake_vring_used_bytes(SIZE);
	struct fx f;

	fx_open(&f, SIZE, false, false);
	/* Partly outside: each part straddles the end of RAM. */
	ck_assert_int_eq(setup(&f, SIZE, RAM - d / 2, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, RAM - a + 2, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, 0x20000, (RAM - u + 4) & ~3ULL), -EINVAL);
	/* Wholly outside. */
	ck_assert_int_eq(setup(&f, SIZE, RAM, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, 2 * RAM, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, 0x20000, LAYOUT_4G), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, LAYOUT_MMIO_HOLE, LAYOUT_IOAPIC, LAYOUT_4G), -EINVAL);
	ck_assert(!f.q.ready);
	ck_assert_ptr_null(f.q.desc);
	fx_close(&f);
}
END_TEST

START_TEST(test_setup_rings_ending_at_end_of_ram)
{
	uint64_t d = fake_vring_desc_bytes(SIZE), a = fake_vring_avail_bytes(SIZE);
	uint64_t u = fake_vring_used_bytes(SIZE), used = (RAM - u) & ~3ULL;
	struct fx f;

	fx_open(&f, SIZE, false, false);
	/* 6 + 8 * size is 2 mod 4: the highest aligned used ring ends 2 bytes short. */
	ck_assert_int_eq(setup(&f, SIZE, RAM - d, RAM - 2 * a, used - 4), 0);
	ck_assert_int_eq(setup(&f, SIZE, RAM - d, RAM - 2 * a, used), 0);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, RAM - a, 0x30000), 0);
	ck_assert_int_eq(setup(&f, SIZE, RAM - d, RAM - 2 * a, used + 4), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, RAM - d + 16, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, RAM - a + 2, 0x30000), -EINVAL);

	/* And the queue works with its avail ring there. */
	fake_vring_init(&f.v, &f.m, SIZE, RAM - 0x1000, RAM - a, RAM - 0x800);
	ck_assert_int_eq(setup(&f, SIZE, f.v.desc, f.v.avail, f.v.used), 0);
	fake_vring_desc(&f.v, SIZE - 1, RAM - 0x900, 8, F_R, 0);
	fake_vring_publish(&f.v, SIZE - 1);
	fx_pop_ok(&f, SIZE - 1, 1, 1);
	ck_assert_ptr_eq(f.c.seg[0].iov_base, fx_host(&f, RAM - 0x900));
	fx_close(&f);
}
END_TEST

START_TEST(test_setup_rings_and_the_hole)
{
	uint64_t d = fake_vring_desc_bytes(SIZE), end_hi = LAYOUT_4G + HIGH_RAM;
	struct fx f;

	fx_open_ram(&f, FAKE_HOLE + HIGH_RAM, SIZE, false, false);
	/* Ending exactly at the end of low RAM, or wholly in high RAM: fine. */
	ck_assert_int_eq(setup(&f, SIZE, FAKE_HOLE - d, 0x20000, 0x30000), 0);
	ck_assert_int_eq(setup(&f, SIZE, LAYOUT_4G, LAYOUT_4G + 0x1000, end_hi - 0x1000), 0);
	/* Straddling the hole (either edge), in the hole, or past high RAM: not. */
	ck_assert_int_eq(setup(&f, SIZE, FAKE_HOLE - d / 2, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, LAYOUT_4G - 16, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, FAKE_HOLE - 8, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, 0x20000, LAYOUT_4G - 8), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, FAKE_HOLE, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, end_hi - d / 2, 0x20000, 0x30000), -EINVAL);
	fx_close(&f);
}
END_TEST

START_TEST(test_setup_wrap_near_uint64_max)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	ck_assert_int_eq(setup(&f, SIZE, UINT64_MAX & ~15ULL, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, UINT64_MAX - 1, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, SIZE, 0x10000, 0x20000, UINT64_MAX & ~3ULL), -EINVAL);
	ck_assert_int_eq(setup(&f, VQ_MAX_SIZE, -4096ULL, 0x20000, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, VQ_MAX_SIZE, 0x10000, -512ULL, 0x30000), -EINVAL);
	ck_assert_int_eq(setup(&f, VQ_MAX_SIZE, 0x10000, 0x20000, -2048ULL), -EINVAL);
	ck_assert(!f.q.ready);
	fx_close(&f);
}
END_TEST

START_TEST(test_setup_failure_and_reset_leave_queue_idle)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_desc(&f.v, 0, BUF, 8, F_R, 0);
	fake_vring_publish(&f.v, 0);
	ck_assert_int_eq(setup(&f, SIZE, RAM, f.v.avail, f.v.used), -EINVAL);
	ck_assert_int_eq(vq_pop(&f.q, &f.c), 0);
	ck_assert_int_eq(setup(&f, SIZE, f.v.desc, f.v.avail, f.v.used), 0);
	vq_reset(&f.q);
	ck_assert(!f.q.ready);
	ck_assert_int_eq(vq_pop(&f.q, &f.c), 0);
	ck_assert(!vq_should_notify(&f.q));
	ck_assert(!vq_enable_notify(&f.q));
	fx_close(&f);
}
END_TEST

/*
 * A device still holding a chain when the driver resets the queue may
 * complete it: vq_push on a queue that is not (or no longer) set up must not
 * divide by its zero size or write through its NULL ring pointer.
 */
START_TEST(test_push_on_idle_queue_is_harmless)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_desc(&f.v, 0, BUF, 8, F_W, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_ok(&f, 0, 1, 0);
	vq_reset(&f.q);
	vq_push(&f.q, f.c.head, 8);
	ck_assert_uint_eq(fake_vring_used_idx(&f.v), 0);
	fx_close(&f);
}
END_TEST

/* ---- vq_pop, vq_push, chain copies: well-behaved drivers ---- */

START_TEST(test_pop_empty_returns_0)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	ck_assert_int_eq(vq_pop(&f.q, &f.c), 0);
	ck_assert_int_eq(vq_pop(&f.q, &f.c), 0);
	ck_assert(!f.q.broken);
	ck_assert_uint_eq(f.q.last_avail, 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_pop_single_readable)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_desc(&f.v, 3, BUF, 100, F_R, 0);
	fake_vring_publish(&f.v, 3);
	fx_pop_ok(&f, 3, 1, 1);
	ck_assert_ptr_eq(f.c.seg[0].iov_base, fx_host(&f, BUF));
	ck_assert_uint_eq(f.c.seg[0].iov_len, 100);
	ck_assert_uint_eq(f.c.read_len, 100);
	ck_assert_uint_eq(f.c.write_len, 0);
	ck_assert_uint_eq(f.q.last_avail, 1);
	ck_assert_int_eq(vq_pop(&f.q, &f.c), 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_pop_readable_then_writable)
{
	static const struct fake_seg segs[] = { { BUF, 16, false }, { BUF + 0x1000, 512, true } };
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_publish(&f.v, fake_vring_chain(&f.v, 5, segs, 2));
	fx_pop_ok(&f, 5, 2, 1);
	ck_assert_ptr_eq(f.c.seg[0].iov_base, fx_host(&f, BUF));
	ck_assert_ptr_eq(f.c.seg[1].iov_base, fx_host(&f, BUF + 0x1000));
	ck_assert_uint_eq(f.c.read_len, 16);
	ck_assert_uint_eq(f.c.write_len, 512);
	fx_close(&f);
}
END_TEST

START_TEST(test_pop_lengths_summed)
{
	static const struct fake_seg segs[] = {
		{ BUF, 1, false },
		{ BUF + 0x100, 100, false },
		{ BUF + 0x1000, 4096, false },
		{ BUF + 0x3000, 7, true },
		{ BUF + 0x10000, 65536, true },
	};
	struct fx f;

	fx_open(&f, SIZE, false, false);
	/* Starting at 14 the chain wraps round the table: 14, 15, 0, 1, 2. */
	fake_vring_publish(&f.v, fake_vring_chain(&f.v, 14, segs, 5));
	fx_pop_ok(&f, 14, 5, 3);
	ck_assert_uint_eq(f.c.read_len, 1 + 100 + 4096);
	ck_assert_uint_eq(f.c.write_len, 7 + 65536);
	for (unsigned int i = 0; i < 5; i++)
		ck_assert_ptr_eq(f.c.seg[i].iov_base, fx_host(&f, segs[i].addr));
	fx_close(&f);
}
END_TEST

START_TEST(test_chain_read_across_segments_with_offsets)
{
	static const struct fake_seg segs[] = {
		{ BUF, 5, false },
		{ BUF + 0x100, 3, false },
		{ BUF + 0x200, 8, false },
		{ BUF + 0x300, 4, true },
	};
	uint8_t out[32], want[16];
	struct fx f;

	fx_open(&f, SIZE, false, false);
	for (unsigned int i = 0; i < 16; i++)
		want[i] = (uint8_t)(0xa0 + i);
	memcpy(fx_host(&f, BUF), want, 5);
	memcpy(fx_host(&f, BUF + 0x100), want + 5, 3);
	memcpy(fx_host(&f, BUF + 0x200), want + 8, 8);
	memset(fx_host(&f, BUF + 0x300), 0xee, 4);
	fake_vring_publish(&f.v, fake_vring_chain(&f.v, 0, segs, 4));
	fx_pop_ok(&f, 0, 4, 3);

	ck_assert_uint_eq(vq_chain_read(&f.c, 0, out, sizeof(out)), 16); /* stops before writable */
	ck_assert_mem_eq(out, want, 16);
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(vq_chain_read(&f.c, 4, out, 6), 6); /* 1 + 3 + 2 bytes */
	ck_assert_mem_eq(out, want + 4, 6);
	ck_assert_uint_eq(vq_chain_read(&f.c, 5, out, 3), 3); /* exactly the second segment */
	ck_assert_mem_eq(out, want + 5, 3);
	ck_assert_uint_eq(vq_chain_read(&f.c, 15, out, 10), 1);
	ck_assert_uint_eq(out[0], want[15]);
	ck_assert_uint_eq(vq_chain_read(&f.c, 16, out, 10), 0);
	ck_assert_uint_eq(vq_chain_read(&f.c, UINT64_MAX, out, 10), 0);
	ck_assert_uint_eq(vq_chain_read(&f.c, 3, out, 0), 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_chain_write_across_segments_with_offsets)
{
	static const struct fake_seg segs[] = {
		{ BUF, 4, false },
		{ BUF + 0x100, 4, true },
		{ BUF + 0x200, 1, true },
		{ BUF + 0x300, 6, true },
	};
	static const uint8_t src[11] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	static const uint8_t ro[4] = { 0x77, 0x77, 0x77, 0x77 };
	struct fx f;

	fx_open(&f, SIZE, false, false);
	memset(fx_host(&f, BUF), 0x77, 4);
	fake_vring_publish(&f.v, fake_vring_chain(&f.v, 0, segs, 4));
	fx_pop_ok(&f, 0, 4, 1);

	ck_assert_uint_eq(vq_chain_write(&f.c, 0, src, 11), 11);
	ck_assert_mem_eq(fx_host(&f, BUF + 0x100), src, 4);
	ck_assert_mem_eq(fx_host(&f, BUF + 0x200), src + 4, 1);
	ck_assert_mem_eq(fx_host(&f, BUF + 0x300), src + 5, 6);
	ck_assert_mem_eq(fx_host(&f, BUF), ro, 4); /* the readable part is never written */

	ck_assert_uint_eq(vq_chain_write(&f.c, 3, ro, 3), 3); /* last of seg 1, seg 2, first of 3 */
	ck_assert_uint_eq(*fx_host(&f, BUF + 0x103), 0x77);
	ck_assert_uint_eq(*fx_host(&f, BUF + 0x200), 0x77);
	ck_assert_uint_eq(*fx_host(&f, BUF + 0x300), 0x77);
	ck_assert_uint_eq(*fx_host(&f, BUF + 0x301), src[6]);
	ck_assert_uint_eq(vq_chain_write(&f.c, 9, src, 11), 2); /* only 2 bytes left */
	ck_assert_uint_eq(vq_chain_write(&f.c, 11, src, 11), 0);
	ck_assert_uint_eq(vq_chain_write(&f.c, UINT64_MAX, src, 11), 0);
	ck_assert_uint_eq(*fx_host(&f, BUF + 0x306), 0); /* nothing past the last segment */
	fx_close(&f);
}
END_TEST

START_TEST(test_pop_several_chains_in_order)
{
	static const uint16_t heads[] = { 5, 0, 11, 3 };
	struct fx f;

	fx_open(&f, SIZE, false, false);
	for (unsigned int k = 0; k < 4; k++) {
		fake_vring_desc(&f.v, heads[k], BUF + k * 0x1000, 10 + k, k & 1 ? F_W : F_R, 0);
		fake_vring_publish(&f.v, heads[k]);
	}
	for (unsigned int k = 0; k < 4; k++) {
		fx_pop_ok(&f, heads[k], 1, k & 1 ? 0 : 1);
		ck_assert_ptr_eq(f.c.seg[0].iov_base, fx_host(&f, BUF + k * 0x1000));
		ck_assert_uint_eq(f.c.seg[0].iov_len, 10 + k);
	}
	ck_assert_int_eq(vq_pop(&f.q, &f.c), 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_pop_full_ring)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	for (unsigned int k = 0; k < SIZE; k++) {
		fake_vring_desc(&f.v, k, BUF + k * 16, 16, F_R, 0);
		fake_vring_publish(&f.v, SIZE - 1 - k);
	}
	for (unsigned int k = 0; k < SIZE; k++)
		fx_pop_ok(&f, SIZE - 1 - k, 1, 1);
	ck_assert_int_eq(vq_pop(&f.q, &f.c), 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_push_writes_id_len_and_bumps_used_idx)
{
	uint32_t id, len;
	struct fx f;

	fx_open(&f, SIZE, false, false);
	vq_push(&f.q, 3, 123);
	ck_assert_uint_eq(fake_vring_used_idx(&f.v), 1);
	fake_vring_used_elem(&f.v, 0, &id, &len);
	ck_assert_uint_eq(id, 3);
	ck_assert_uint_eq(len, 123);
	vq_push(&f.q, 15, 0);
	ck_assert_uint_eq(fake_vring_used_idx(&f.v), 2);
	fake_vring_used_elem(&f.v, 1, &id, &len);
	ck_assert_uint_eq(id, 15);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(f.q.used_idx, 2);
	ck_assert_uint_eq(fake_vring_used_flags(&f.v), 0);
	fx_close(&f);
}
END_TEST

/* vq_fill() writes elements the guest cannot see yet; vq_publish() shows them all at once. */
START_TEST(test_fill_then_publish)
{
	uint32_t id, len;
	struct fx f;

	fx_open(&f, SIZE, false, false);
	vq_push(&f.q, 1, 10);
	vq_fill(&f.q, 4, 40);
	vq_fill(&f.q, 5, 50);
	vq_fill(&f.q, 6, 60);
	ck_assert_uint_eq(fake_vring_used_idx(&f.v), 1);
	fake_vring_used_elem(&f.v, 2, &id, &len);
	ck_assert_uint_eq(id, 5);
	ck_assert_uint_eq(len, 50);
	vq_publish(&f.q);
	ck_assert_uint_eq(fake_vring_used_idx(&f.v), 4);
	fake_vring_used_elem(&f.v, 3, &id, &len);
	ck_assert_uint_eq(id, 6);
	ck_assert_uint_eq(len, 60);
	vq_publish(&f.q); /* nothing new: unchanged */
	ck_assert_uint_eq(fake_vring_used_idx(&f.v), 4);
	vq_reset(&f.q); /* idle: neither writes */
	vq_fill(&f.q, 7, 70);
	vq_publish(&f.q);
	ck_assert_uint_eq(fake_vring_used_idx(&f.v), 4);
	fx_close(&f);
}
END_TEST

/* Start both indices just short of 65535 and run chains through the 16-bit wrap. */
START_TEST(test_indices_wrap_set_fields)
{
	uint32_t id, len;
	struct fx f;

	fx_open(&f, SIZE, false, false);
	f.q.last_avail = f.q.used_idx = 65533;
	fake_vring_set_avail_idx(&f.v, 65533);
	for (unsigned int k = 0; k < 6; k++) {
		fake_vring_desc(&f.v, k, BUF + k * 16, 16, F_W, 0);
		fake_vring_publish(&f.v, k);
	}
	ck_assert_uint_eq(f.v.avail_idx, 3);
	for (unsigned int k = 0; k < 6; k++) {
		fx_pop_ok(&f, k, 1, 0);
		vq_push(&f.q, f.c.head, 100 + k);
	}
	ck_assert_int_eq(vq_pop(&f.q, &f.c), 0);
	ck_assert_uint_eq(f.q.last_avail, 3);
	ck_assert_uint_eq(fake_vring_used_idx(&f.v), 3);
	for (unsigned int k = 0; k < 6; k++) {
		fake_vring_used_elem(&f.v, (uint16_t)(65533 + k), &id, &len);
		ck_assert_uint_eq(id, k);
		ck_assert_uint_eq(len, 100 + k);
	}
	fx_close(&f);
}
END_TEST

START_TEST(test_indices_wrap_by_traffic)
{
	uint32_t id, len;
	struct fx f;

	fx_open(&f, 4, false, false);
	for (unsigned int k = 0; k < 70000; k++) {
		uint16_t head = k % 4;

		fake_vring_desc(&f.v, head, BUF + head * 0x100, 1 + k % 200, F_W, 0);
		fake_vring_publish(&f.v, head);
		if (k % 3 == 0) /* sometimes two in flight */
			fake_vring_publish(&f.v, head);
		while (vq_pop(&f.q, &f.c) == 1) {
			ck_assert_uint_eq(f.c.head, head);
			ck_assert_uint_eq(f.c.write_len, 1 + k % 200);
			vq_push(&f.q, f.c.head, k);
			fake_vring_used_elem(&f.v, (uint16_t)(fake_vring_used_idx(&f.v) - 1), &id,
					     &len);
			ck_assert_uint_eq(id, head);
			ck_assert_uint_eq(len, k);
		}
		ck_assert(!f.q.broken);
	}
	ck_assert_uint_eq(f.q.last_avail, f.v.avail_idx);
	ck_assert_uint_eq(fake_vring_used_idx(&f.v), f.v.avail_idx);
	ck_assert_uint_eq(f.v.avail_idx, (uint16_t)(70000 + 70000 / 3 + 1));
	fx_close(&f);
}
END_TEST

START_TEST(test_pop_chain_as_long_as_the_queue)
{
	struct fx f;

	fx_open(&f, VQ_MAX_SIZE, false, false);
	for (unsigned int i = 0; i < VQ_MAX_SIZE; i++)
		fake_vring_desc(&f.v, i, BUF + i, 1,
				(i < 128 ? F_R : F_W) | (i + 1 < VQ_MAX_SIZE ? F_N : 0),
				(uint16_t)(i + 1));
	fake_vring_publish(&f.v, 0);
	fx_pop_ok(&f, 0, VQ_MAX_SIZE, 128);
	ck_assert_uint_eq(f.c.read_len, 128);
	ck_assert_uint_eq(f.c.write_len, 128);
	fx_close(&f);
}
END_TEST

/* ---- indirect tables, well-formed ---- */

START_TEST(test_indirect_chain)
{
	static const struct fake_seg segs[] = {
		{ BUF, 16, false },
		{ BUF + 0x100, 32, false },
		{ BUF + 0x200, 1, true },
	};
	struct fx f;

	fx_open(&f, SIZE, false, true);
	fake_vring_indirect(&f.m, TABLE, segs, 3);
	/* The device must ignore WRITE on the descriptor that points at the table. */
	fake_vring_desc(&f.v, 7, TABLE, 3 * 16, F_I | F_W, 0);
	fake_vring_publish(&f.v, 7);
	fx_pop_ok(&f, 7, 3, 2);
	ck_assert_uint_eq(f.c.read_len, 48);
	ck_assert_uint_eq(f.c.write_len, 1);
	for (unsigned int i = 0; i < 3; i++)
		ck_assert_ptr_eq(f.c.seg[i].iov_base, fx_host(&f, segs[i].addr));
	fx_close(&f);
}
END_TEST

START_TEST(test_indirect_next_out_of_order)
{
	struct fx f;

	fx_open(&f, SIZE, false, true);
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 10, F_R | F_N, 2);
	fake_vring_table_desc(&f.m, TABLE, 1, BUF + 0x200, 30, F_W, 0);
	fake_vring_table_desc(&f.m, TABLE, 2, BUF + 0x100, 20, F_R | F_N, 1);
	fake_vring_desc(&f.v, 0, TABLE, 3 * 16, F_I, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_ok(&f, 0, 3, 2);
	ck_assert_ptr_eq(f.c.seg[1].iov_base, fx_host(&f, BUF + 0x100));
	ck_assert_ptr_eq(f.c.seg[2].iov_base, fx_host(&f, BUF + 0x200));
	fx_close(&f);
}
END_TEST

/* An indirect chain may be longer than the queue, up to VQ_MAX_SEGS segments. */
START_TEST(test_indirect_max_segs)
{
	struct fx f;

	fx_open(&f, 4, false, true);
	for (uint32_t i = 0; i < 300; i++) /* 300 entries, a chain through the first 256 */
		fake_vring_table_desc(&f.m, TABLE, i, BUF + i, 1, i + 1 < VQ_MAX_SEGS ? F_N : 0,
				      (uint16_t)(i + 1));
	fake_vring_desc(&f.v, 1, TABLE, 300 * 16, F_I, 0);
	fake_vring_publish(&f.v, 1);
	fx_pop_ok(&f, 1, VQ_MAX_SEGS, VQ_MAX_SEGS);
	fx_close(&f);
}
END_TEST

/* The spec sets no alignment for indirect tables: an odd address must be handled. */
START_TEST(test_indirect_misaligned_table)
{
	struct fx f;

	fx_open(&f, SIZE, false, true);
	fake_vring_table_desc(&f.m, TABLE + 1, 0, BUF, 10, F_R | F_N, 1);
	fake_vring_table_desc(&f.m, TABLE + 1, 1, BUF + 0x100, 20, F_W, 0);
	fake_vring_desc(&f.v, 0, TABLE + 1, 2 * 16, F_I, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_ok(&f, 0, 2, 1);
	ck_assert_uint_eq(f.c.write_len, 20);
	fx_close(&f);
}
END_TEST

/* ---- notification suppression ---- */

START_TEST(test_notify_flags_without_event_idx)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	vq_push(&f.q, 0, 1);
	ck_assert(vq_should_notify(&f.q));
	fake_vring_set_avail_flags(&f.v, VRING_AVAIL_F_NO_INTERRUPT);
	vq_push(&f.q, 0, 1);
	ck_assert(!vq_should_notify(&f.q));
	fake_vring_set_avail_flags(&f.v, 0xffff);
	ck_assert(!vq_should_notify(&f.q));
	fake_vring_set_avail_flags(&f.v, 0xfffe); /* unknown bits mean nothing */
	ck_assert(vq_should_notify(&f.q));
	fake_vring_set_used_event(&f.v, 1000); /* ignored without EVENT_IDX */
	ck_assert(vq_should_notify(&f.q));
	fx_close(&f);
}
END_TEST

START_TEST(test_notify_event_idx_used_event)
{
	struct fx f;

	fx_open(&f, SIZE, true, false);
	fake_vring_set_used_event(&f.v, 1000);
	ck_assert(vq_should_notify(&f.q));  /* the first call always notifies */
	ck_assert(!vq_should_notify(&f.q)); /* nothing pushed since */

	fake_vring_set_used_event(&f.v, 0); /* "interrupt me once used->idx passes 0" */
	vq_push(&f.q, 0, 1);
	ck_assert(vq_should_notify(&f.q));

	fake_vring_set_used_event(&f.v, 4);
	for (unsigned int k = 2; k <= 8; k++) {
		vq_push(&f.q, 0, 1);
		/* used idx goes 2..8: it passes used_event only at 5. */
		ck_assert_int_eq(vq_should_notify(&f.q), k == 5);
	}
	/* Several pushes at once, stepping over used_event between two calls. */
	fake_vring_set_used_event(&f.v, 10);
	vq_push(&f.q, 0, 1);
	vq_push(&f.q, 0, 1);
	vq_push(&f.q, 0, 1); /* 9, 10, 11 */
	ck_assert(vq_should_notify(&f.q));
	vq_push(&f.q, 0, 1);
	ck_assert(!vq_should_notify(&f.q)); /* used_event 10 already passed */
	/* With EVENT_IDX the NO_INTERRUPT flag is ignored. */
	fake_vring_set_avail_flags(&f.v, VRING_AVAIL_F_NO_INTERRUPT);
	fake_vring_set_used_event(&f.v, 12);
	vq_push(&f.q, 0, 1);
	ck_assert(vq_should_notify(&f.q));
	fx_close(&f);
}
END_TEST

START_TEST(test_notify_event_idx_wraps)
{
	struct fx f;

	fx_open(&f, SIZE, true, false);
	f.q.used_idx = 65534;
	ck_assert(vq_should_notify(&f.q));
	fake_vring_set_used_event(&f.v, 65535);
	vq_push(&f.q, 0, 1); /* 65535 */
	ck_assert(!vq_should_notify(&f.q));
	vq_push(&f.q, 0, 1); /* 0: passed 65535 */
	ck_assert(vq_should_notify(&f.q));
	fake_vring_set_used_event(&f.v, 0);
	vq_push(&f.q, 0, 1);
	vq_push(&f.q, 0, 1);
	ck_assert(vq_should_notify(&f.q));
	fx_close(&f);
}
END_TEST

START_TEST(test_enable_notify_writes_avail_event)
{
	struct fx f;

	fx_open(&f, SIZE, true, false);
	fake_vring_desc(&f.v, 0, BUF, 8, F_R, 0);
	ck_assert(!vq_enable_notify(&f.q));
	ck_assert_uint_eq(fake_vring_avail_event(&f.v), 0);
	fake_vring_publish(&f.v, 0);
	fake_vring_publish(&f.v, 0);
	ck_assert(vq_enable_notify(&f.q)); /* two arrived */
	fx_pop_ok(&f, 0, 1, 1);
	fx_pop_ok(&f, 0, 1, 1);
	ck_assert(!vq_enable_notify(&f.q));
	ck_assert_uint_eq(fake_vring_avail_event(&f.v), 2);
	fake_vring_publish(&f.v, 0); /* the guest adds one "meanwhile" */
	ck_assert(vq_enable_notify(&f.q));
	ck_assert_uint_eq(fake_vring_avail_event(&f.v), 2);
	fx_pop_ok(&f, 0, 1, 1);
	ck_assert(!vq_enable_notify(&f.q));
	ck_assert_uint_eq(fake_vring_avail_event(&f.v), 3);
	fx_close(&f);
}
END_TEST

START_TEST(test_enable_notify_without_event_idx)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_desc(&f.v, 0, BUF, 8, F_R, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_ok(&f, 0, 1, 1);
	ck_assert(!vq_enable_notify(&f.q));
	ck_assert_uint_eq(fake_vring_avail_event(&f.v), 0); /* not written */
	fx_close(&f);
}
END_TEST

Suite *vq_suite(void)
{
	Suite *s = suite_create("vq");
	TCase *setup_tc = tcase_create("setup");
	TCase *pop_tc = tcase_create("pop");
	TCase *notify_tc = tcase_create("notify");

	tcase_add_test(setup_tc, test_setup_rejects_bad_size);
	tcase_add_test(setup_tc, test_setup_accepts_powers_of_two);
	tcase_add_test(setup_tc, test_setup_alignment);
	tcase_add_test(setup_tc, test_setup_rejects_rings_outside_ram);
	tcase_add_test(setup_tc, test_setup_rings_ending_at_end_of_ram);
	tcase_add_test(setup_tc, test_setup_rings_and_the_hole);
	tcase_add_test(setup_tc, test_setup_wrap_near_uint64_max);
	tcase_add_test(setup_tc, test_setup_failure_and_reset_leave_queue_idle);
	tcase_add_test(setup_tc, test_push_on_idle_queue_is_harmless);
	suite_add_tcase(s, setup_tc);

	tcase_add_test(pop_tc, test_pop_empty_returns_0);
	tcase_add_test(pop_tc, test_pop_single_readable);
	tcase_add_test(pop_tc, test_pop_readable_then_writable);
	tcase_add_test(pop_tc, test_pop_lengths_summed);
	tcase_add_test(pop_tc, test_chain_read_across_segments_with_offsets);
	tcase_add_test(pop_tc, test_chain_write_across_segments_with_offsets);
	tcase_add_test(pop_tc, test_pop_several_chains_in_order);
	tcase_add_test(pop_tc, test_pop_full_ring);
	tcase_add_test(pop_tc, test_push_writes_id_len_and_bumps_used_idx);
	tcase_add_test(pop_tc, test_fill_then_publish);
	tcase_add_test(pop_tc, test_indices_wrap_set_fields);
	tcase_add_test(pop_tc, test_indices_wrap_by_traffic);
	/* That one runs 70000 chains to wrap the 16-bit indices: ~8 s under the sanitizers. */
	tcase_set_timeout(pop_tc, 60);
	tcase_add_test(pop_tc, test_pop_chain_as_long_as_the_queue);
	tcase_add_test(pop_tc, test_indirect_chain);
	tcase_add_test(pop_tc, test_indirect_next_out_of_order);
	tcase_add_test(pop_tc, test_indirect_max_segs);
	tcase_add_test(pop_tc, test_indirect_misaligned_table);
	suite_add_tcase(s, pop_tc);

	tcase_add_test(notify_tc, test_notify_flags_without_event_idx);
	tcase_add_test(notify_tc, test_notify_event_idx_used_event);
	tcase_add_test(notify_tc, test_notify_event_idx_wraps);
	tcase_add_test(notify_tc, test_enable_notify_writes_avail_event);
	tcase_add_test(notify_tc, test_enable_notify_without_event_idx);
	suite_add_tcase(s, notify_tc);

	vq_hostile_tcases(s);
	vq_stress_tcases(s);

	return s;
}
