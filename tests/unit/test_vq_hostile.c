/*
 * virtio/vq with a hostile driver: every field of the rings is the guest's.
 * Each case must end with the queue broken (vq_pop returns -EIO, then keeps
 * doing so), never a crash and never a host pointer outside guest RAM.
 */
#include "vmm/layout.h"
#include "tests/unit/test_vq.h"

START_TEST(test_hostile_loop_a_b_a)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_desc(&f.v, 2, BUF, 8, F_R | F_N, 5);
	fake_vring_desc(&f.v, 5, BUF, 8, F_R | F_N, 2);
	fake_vring_publish(&f.v, 2);
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_self_loop)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_desc(&f.v, 4, BUF, 8, F_W | F_N, 4);
	fake_vring_publish(&f.v, 4);
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_next_out_of_range)
{
	static const uint16_t bad[] = { SIZE, SIZE + 1, 0x8000, 0xffff };

	for (unsigned int k = 0; k < 4; k++) {
		struct fx f;

		fx_open(&f, SIZE, false, false);
		fake_vring_desc(&f.v, 0, BUF, 8, F_R | F_N, bad[k]);
		fake_vring_publish(&f.v, 0);
		fx_pop_broken(&f);
		fx_close(&f);
	}
}
END_TEST

START_TEST(test_hostile_chain_longer_than_queue)
{
	struct fx f;

	fx_open(&f, 4, false, false);
	for (unsigned int i = 0; i < 4; i++) /* 0, 1, 2, 3, 1, 2, 3, ... */
		fake_vring_desc(&f.v, i, BUF + i * 8, 8, F_R | F_N, i == 3 ? 1 : i + 1);
	fake_vring_publish(&f.v, 0);
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

/* Every descriptor of a 256-entry ring linked in a circle: a chain with no end. */
START_TEST(test_hostile_ring_all_linked)
{
	struct fx f;

	fx_open(&f, VQ_MAX_SIZE, false, false);
	for (unsigned int i = 0; i < VQ_MAX_SIZE; i++)
		fake_vring_desc(&f.v, i, BUF + i, 1, F_R | F_N, (uint16_t)((i + 1) % VQ_MAX_SIZE));
	fake_vring_publish(&f.v, 17);
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_buffer_outside_ram)
{
	fx_fresh_one_desc_breaks(RAM, false, RAM, 1, F_R);
	fx_fresh_one_desc_breaks(RAM, false, RAM + 0x1000, 16, F_W);
	fx_fresh_one_desc_breaks(RAM, false, LAYOUT_4G, 16, F_R);
	fx_fresh_one_desc_breaks(RAM, false, LAYOUT_MMIO_HOLE, 4, F_W);
	fx_fresh_one_desc_breaks(RAM, false, UINT64_MAX, 1, F_R);
}
END_TEST

START_TEST(test_hostile_buffer_crossing_end_of_ram)
{
	struct fx f;

	fx_fresh_one_desc_breaks(RAM, false, RAM - 8, 16, F_R);
	fx_fresh_one_desc_breaks(RAM, false, RAM - 1, 2, F_W);
	fx_fresh_one_desc_breaks(RAM, false, 0, RAM + 1, F_W);
	fx_fresh_one_desc_breaks(FAKE_HOLE + HIGH_RAM, false, LAYOUT_4G + HIGH_RAM - 4, 8, F_W);
	/* Ending exactly at the end is fine. */
	fx_open(&f, SIZE, false, false);
	fake_vring_desc(&f.v, 0, RAM - 16, 16, F_W, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_ok(&f, 0, 1, 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_buffer_crossing_hole)
{
	struct fx f;

	/* Into the hole: on the host side that is high RAM, contiguous in the mapping. */
	fx_fresh_one_desc_breaks(FAKE_HOLE + HIGH_RAM, false, FAKE_HOLE - 8, 16, F_R);
	fx_fresh_one_desc_breaks(FAKE_HOLE + HIGH_RAM, false, LAYOUT_4G - 8, 16, F_W);
	fx_fresh_one_desc_breaks(FAKE_HOLE + HIGH_RAM, false, FAKE_HOLE, 1, F_W);
	/* From low RAM over the whole hole into high RAM. */
	fx_fresh_one_desc_breaks(FAKE_HOLE + HIGH_RAM, false, FAKE_HOLE - 8,
				 (uint32_t)(LAYOUT_4G - FAKE_HOLE + 16), F_R);

	/* Up to the hole, and beyond it, are fine. */
	fx_open_ram(&f, FAKE_HOLE + HIGH_RAM, SIZE, false, false);
	fake_vring_desc(&f.v, 0, FAKE_HOLE - 8, 8, F_R | F_N, 1);
	fake_vring_desc(&f.v, 1, LAYOUT_4G, 8, F_W | F_N, 2);
	fake_vring_desc(&f.v, 2, LAYOUT_4G + HIGH_RAM - 8, 8, F_W, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_ok(&f, 0, 3, 1);
	ck_assert_ptr_eq(f.c.seg[1].iov_base, f.m.map + FAKE_HOLE);
	ck_assert_ptr_eq(f.c.seg[2].iov_base, f.m.map + FAKE_HOLE + HIGH_RAM - 8);
	fx_close(&f);
}
END_TEST

/* The real layout: 3 GiB below the hole, 4 MiB above (MAP_NORESERVE, little touched). */
START_TEST(test_hostile_buffer_crossing_real_hole)
{
	struct fx f;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(gm_init(&f.m, LAYOUT_MMIO_HOLE + 4 * MIB, LAYOUT_MMIO_HOLE), 0);
	fake_vring_init_at(&f.v, &f.m, SIZE, RING);
	ck_assert_int_eq(vq_setup(&f.q, &f.m, SIZE, f.v.desc, f.v.avail, f.v.used, false, false),
			 0);
	fake_vring_desc(&f.v, 0, LAYOUT_MMIO_HOLE - 0x800, 0x1000, F_W, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_addr_len_wraps)
{
	fx_fresh_one_desc_breaks(RAM, false, UINT64_MAX - 7, 16, F_R);
	fx_fresh_one_desc_breaks(RAM, false, UINT64_MAX - 0xfff, UINT32_MAX, F_W);
	fx_fresh_one_desc_breaks(RAM, false, -(uint64_t)UINT32_MAX + 0x10, UINT32_MAX, F_R);
	fx_fresh_one_desc_breaks(RAM, false, 0x1000, UINT32_MAX, F_W);
}
END_TEST

/* Like QEMU, the queue refuses zero-sized buffers. */
START_TEST(test_hostile_zero_length)
{
	static const struct fake_seg segs[] = {
		{ BUF, 8, false },
		{ BUF + 0x100, 0, true },
		{ BUF + 0x200, 8, true },
	};
	struct fx f;

	fx_fresh_one_desc_breaks(RAM, false, BUF, 0, F_R);
	fx_fresh_one_desc_breaks(RAM, false, 0, 0, F_W);
	fx_open(&f, SIZE, false, false);
	fake_vring_publish(&f.v, fake_vring_chain(&f.v, 0, segs, 3));
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_readable_after_writable)
{
	static const struct fake_seg segs[] = {
		{ BUF, 8, false },
		{ BUF + 0x100, 8, true },
		{ BUF + 0x200, 8, false },
	};
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_publish(&f.v, fake_vring_chain(&f.v, 0, segs, 3));
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_avail_idx_jumps)
{
	static const uint16_t bad[] = { SIZE + 1, SIZE + 2, 0x100, 0x8000, 0xffff };

	for (unsigned int k = 0; k < 5; k++) {
		struct fx f;

		fx_open(&f, SIZE, false, false);
		for (unsigned int i = 0; i < SIZE; i++)
			fake_vring_desc(&f.v, i, BUF, 8, F_R, 0);
		/* One good chain first, so last_avail is 1 and the jump is relative to it. */
		fake_vring_publish(&f.v, 0);
		fx_pop_ok(&f, 0, 1, 1);
		fake_vring_set_avail_idx(&f.v, (uint16_t)(1 + bad[k]));
		fx_pop_broken(&f);
		fx_close(&f);
	}
}
END_TEST

/* The driver moving avail->idx backwards is the same as a jump of nearly 65536. */
START_TEST(test_hostile_avail_idx_backwards)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_desc(&f.v, 0, BUF, 8, F_R, 0);
	fake_vring_publish(&f.v, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_ok(&f, 0, 1, 1);
	fx_pop_ok(&f, 0, 1, 1);
	fake_vring_set_avail_idx(&f.v, 1);
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_head_out_of_range)
{
	static const uint16_t bad[] = { SIZE, SIZE + 1, 0x8000, 0xffff };

	for (unsigned int k = 0; k < 4; k++) {
		struct fx f;

		fx_open(&f, SIZE, false, false);
		fake_vring_publish(&f.v, bad[k]);
		fx_pop_broken(&f);
		fx_close(&f);
	}
}
END_TEST

START_TEST(test_broken_queue_stays_broken)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_publish(&f.v, SIZE); /* bad head */
	fx_pop_broken(&f);
	/* A perfectly good chain afterwards changes nothing. */
	fake_vring_desc(&f.v, 1, BUF, 8, F_R, 0);
	fake_vring_publish(&f.v, 1);
	for (unsigned int k = 0; k < 5; k++)
		ck_assert_int_eq(vq_pop(&f.q, &f.c), -EIO);
	ck_assert(f.q.broken);
	fx_close(&f);
}
END_TEST

/* ---- hostile indirect tables ---- */

START_TEST(test_hostile_indirect_not_negotiated)
{
	struct fx f;

	fx_open(&f, SIZE, false, false);
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 8, F_R, 0);
	fx_one_desc_breaks(&f, TABLE, 16, F_I);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_indirect_with_next)
{
	struct fx f;

	fx_open(&f, SIZE, false, true);
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 8, F_R, 0);
	fake_vring_desc(&f.v, 0, TABLE, 16, F_I | F_N, 1);
	fake_vring_desc(&f.v, 1, BUF + 0x100, 8, F_W, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_indirect_bad_table_len)
{
	static const uint32_t bad[] = { 0, 1, 8, 15, 17, 24, 40, UINT32_MAX };

	for (unsigned int k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct fx f;

		fx_open(&f, SIZE, false, true);
		for (uint32_t i = 0; i < 3; i++)
			fake_vring_table_desc(&f.m, TABLE, i, BUF, 8, F_R, 0);
		fx_one_desc_breaks(&f, TABLE, bad[k], F_I);
		fx_close(&f);
	}
}
END_TEST

START_TEST(test_hostile_indirect_nested)
{
	struct fx f;

	fx_open(&f, SIZE, false, true);
	fake_vring_table_desc(&f.m, TABLE + 0x100, 0, BUF, 8, F_R, 0);
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 8, F_R | F_N, 1);
	fake_vring_table_desc(&f.m, TABLE, 1, TABLE + 0x100, 16, F_I, 0);
	fx_one_desc_breaks(&f, TABLE, 32, F_I);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_indirect_table_outside_ram)
{
	fx_fresh_one_desc_breaks(RAM, true, RAM, 16, F_I);
	fx_fresh_one_desc_breaks(RAM, true, RAM - 16, 32, F_I);
	fx_fresh_one_desc_breaks(RAM, true, UINT64_MAX - 15, 16, F_I);
	fx_fresh_one_desc_breaks(RAM, true, UINT64_MAX - 15, 32, F_I);
	fx_fresh_one_desc_breaks(RAM, true, 0, (uint32_t)(RAM + 16), F_I);
	fx_fresh_one_desc_breaks(FAKE_HOLE + HIGH_RAM, true, FAKE_HOLE - 16, 32, F_I);
}
END_TEST

START_TEST(test_hostile_indirect_loop)
{
	struct fx f;

	fx_open(&f, SIZE, false, true);
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 8, F_R | F_N, 1);
	fake_vring_table_desc(&f.m, TABLE, 1, BUF, 8, F_R | F_N, 0);
	fx_one_desc_breaks(&f, TABLE, 32, F_I);
	fx_close(&f);

	fx_open(&f, SIZE, false, true);
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 8, F_W | F_N, 0);
	fx_one_desc_breaks(&f, TABLE, 16, F_I);
	fx_close(&f);

	fx_open(&f, SIZE, false, true); /* 0 -> 1 -> 2 -> 3 -> 2 in a table of 4 */
	for (uint32_t i = 0; i < 4; i++)
		fake_vring_table_desc(&f.m, TABLE, i, BUF, 8, F_R | F_N, i == 3 ? 2 : i + 1);
	fx_one_desc_breaks(&f, TABLE, 64, F_I);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_indirect_next_out_of_table)
{
	struct fx f;

	fx_open(&f, SIZE, false, true);
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 8, F_R | F_N, 1);
	fake_vring_table_desc(&f.m, TABLE, 1, BUF, 8, F_R | F_N, 2);
	fake_vring_table_desc(&f.m, TABLE, 2, BUF, 8, F_R, 0); /* in RAM, but past the table */
	fx_one_desc_breaks(&f, TABLE, 32, F_I);
	fx_close(&f);

	fx_open(&f, SIZE, false, true);
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 8, F_R | F_N, 0xffff);
	fx_one_desc_breaks(&f, TABLE, 16, F_I);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_direct_then_indirect)
{
	struct fx f;

	fx_open(&f, SIZE, false, true);
	fake_vring_table_desc(&f.m, TABLE, 0, BUF + 0x100, 8, F_W, 0);
	fake_vring_desc(&f.v, 0, BUF, 8, F_R | F_N, 1);
	fake_vring_desc(&f.v, 1, TABLE, 16, F_I, 0);
	fake_vring_publish(&f.v, 0);
	fx_pop_broken(&f);
	fx_close(&f);
}
END_TEST

START_TEST(test_hostile_indirect_bad_entries)
{
	struct fx f;

	fx_open(&f, SIZE, false, true); /* buffer outside RAM */
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 8, F_R | F_N, 1);
	fake_vring_table_desc(&f.m, TABLE, 1, RAM - 4, 8, F_W, 0);
	fx_one_desc_breaks(&f, TABLE, 32, F_I);
	fx_close(&f);

	fx_open(&f, SIZE, false, true); /* readable after writable */
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 8, F_W | F_N, 1);
	fake_vring_table_desc(&f.m, TABLE, 1, BUF, 8, F_R, 0);
	fx_one_desc_breaks(&f, TABLE, 32, F_I);
	fx_close(&f);

	fx_open(&f, SIZE, false, true); /* zero length */
	fake_vring_table_desc(&f.m, TABLE, 0, BUF, 0, F_R, 0);
	fx_one_desc_breaks(&f, TABLE, 16, F_I);
	fx_close(&f);

	fx_open(&f, SIZE, false, true); /* address + length wraps */
	fake_vring_table_desc(&f.m, TABLE, 0, UINT64_MAX - 3, 8, F_R, 0);
	fx_one_desc_breaks(&f, TABLE, 16, F_I);
	fx_close(&f);
}
END_TEST

/* A 4096-entry table linked in sequence: far more than VQ_MAX_SEGS segments. */
START_TEST(test_hostile_indirect_long_chain)
{
	static const uint32_t lens[] = { 4096, VQ_MAX_SEGS + 1 };

	for (unsigned int k = 0; k < 2; k++) {
		struct fx f;

		fx_open(&f, VQ_MAX_SIZE, false, true);
		for (uint32_t i = 0; i < lens[k]; i++)
			fake_vring_table_desc(&f.m, TABLE, i, BUF + (i & 0xff), 1,
					      i + 1 < lens[k] ? F_N : 0, (uint16_t)(i + 1));
		fx_one_desc_breaks(&f, TABLE, lens[k] * 16, F_I);
		fx_close(&f);
	}
}
END_TEST

void vq_hostile_tcases(Suite *s)
{
	TCase *hostile_tc = tcase_create("hostile");
	TCase *indirect_tc = tcase_create("hostile_indirect");

	tcase_add_test(hostile_tc, test_hostile_loop_a_b_a);
	tcase_add_test(hostile_tc, test_hostile_self_loop);
	tcase_add_test(hostile_tc, test_hostile_next_out_of_range);
	tcase_add_test(hostile_tc, test_hostile_chain_longer_than_queue);
	tcase_add_test(hostile_tc, test_hostile_ring_all_linked);
	tcase_add_test(hostile_tc, test_hostile_buffer_outside_ram);
	tcase_add_test(hostile_tc, test_hostile_buffer_crossing_end_of_ram);
	tcase_add_test(hostile_tc, test_hostile_buffer_crossing_hole);
	tcase_add_test(hostile_tc, test_hostile_buffer_crossing_real_hole);
	tcase_add_test(hostile_tc, test_hostile_addr_len_wraps);
	tcase_add_test(hostile_tc, test_hostile_zero_length);
	tcase_add_test(hostile_tc, test_hostile_readable_after_writable);
	tcase_add_test(hostile_tc, test_hostile_avail_idx_jumps);
	tcase_add_test(hostile_tc, test_hostile_avail_idx_backwards);
	tcase_add_test(hostile_tc, test_hostile_head_out_of_range);
	tcase_add_test(hostile_tc, test_broken_queue_stays_broken);
	tcase_add_test(indirect_tc, test_hostile_indirect_not_negotiated);
	tcase_add_test(indirect_tc, test_hostile_indirect_with_next);
	tcase_add_test(indirect_tc, test_hostile_indirect_bad_table_len);
	tcase_add_test(indirect_tc, test_hostile_indirect_nested);
	tcase_add_test(indirect_tc, test_hostile_indirect_table_outside_ram);
	tcase_add_test(indirect_tc, test_hostile_indirect_loop);
	tcase_add_test(indirect_tc, test_hostile_indirect_next_out_of_table);
	tcase_add_test(indirect_tc, test_hostile_direct_then_indirect);
	tcase_add_test(indirect_tc, test_hostile_indirect_bad_entries);
	tcase_add_test(indirect_tc, test_hostile_indirect_long_chain);
	suite_add_tcase(s, hostile_tc);
	suite_add_tcase(s, indirect_tc);
}
