/* vmm/bus: sorted, non-overlapping ranges; dispatch with offsets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/rng.h"
#include "tests/unit/suites.h"
#include "vmm/bus.h"

/* A device that records its last access and reads as a fixed pattern. */
struct fake_dev {
	int reads, writes;
	uint64_t offset;
	uint32_t len;
	uint8_t written[8];
};

static void fake_read(void *ctx, uint64_t offset, void *data, uint32_t len)
{
	struct fake_dev *d = ctx;

	d->reads++;
	d->offset = offset;
	d->len = len;
	memset(data, 0x5a, len);
}

static void fake_write(void *ctx, uint64_t offset, const void *data, uint32_t len)
{
	struct fake_dev *d = ctx;

	d->writes++;
	d->offset = offset;
	d->len = len;
	memcpy(d->written, data, len);
}

static const struct bus_ops fake_ops = { .read = fake_read, .write = fake_write };
static const struct bus_ops no_read_ops = { .write = fake_write };

static void add_ok(struct bus *b, uint64_t base, uint64_t len, void *ctx)
{
	ck_assert_int_eq(bus_add(b, base, len, "fake", &fake_ops, ctx), 0);
}

static int add(struct bus *b, uint64_t base, uint64_t len)
{
	return bus_add(b, base, len, "fake", &fake_ops, NULL);
}

static void assert_sorted(const struct bus *b)
{
	for (size_t i = 1; i < b->nr; i++)
		ck_assert_uint_lt(b->range[i - 1].base + b->range[i - 1].len - 1, b->range[i].base);
}

START_TEST(test_add_sorted_order)
{
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 0x10, NULL);
	add_ok(&b, 0x200, 0x10, NULL);
	add_ok(&b, 0x300, 0x10, NULL);
	ck_assert_uint_eq(b.nr, 3);
	ck_assert_uint_eq(b.range[0].base, 0x100);
	ck_assert_uint_eq(b.range[2].base, 0x300);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_add_unsorted_is_kept_sorted)
{
	static const uint64_t bases[] = { 0x500, 0x100, 0x300, 0x0, 0x400, 0x200 };
	struct bus b;

	bus_init(&b);
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		add_ok(&b, bases[i], 0x80, NULL);
	ck_assert_uint_eq(b.nr, 6);
	for (size_t i = 0; i < b.nr; i++)
		ck_assert_uint_eq(b.range[i].base, i * 0x100);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_overlap_at_start_edge_rejected)
{
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 0x100, NULL);
	/* Last byte of the new range is the first byte of the old one. */
	ck_assert_int_eq(add(&b, 0xf0, 0x11), -EEXIST);
	ck_assert_int_eq(add(&b, 0x100, 1), -EEXIST);
	ck_assert_uint_eq(b.nr, 1);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_overlap_at_end_edge_rejected)
{
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 0x100, NULL);
	/* First byte of the new range is the last byte of the old one. */
	ck_assert_int_eq(add(&b, 0x1ff, 0x10), -EEXIST);
	ck_assert_int_eq(add(&b, 0x1ff, 1), -EEXIST);
	ck_assert_uint_eq(b.nr, 1);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_overlap_by_containment_rejected)
{
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 0x100, NULL);
	ck_assert_int_eq(add(&b, 0x120, 0x10), -EEXIST); /* inside */
	ck_assert_int_eq(add(&b, 0x0, 0x1000), -EEXIST); /* around */
	ck_assert_int_eq(add(&b, 0x100, 0x100), -EEXIST); /* identical */
	ck_assert_uint_eq(b.nr, 1);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_overlap_spanning_two_ranges_rejected)
{
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 0x10, NULL);
	add_ok(&b, 0x200, 0x10, NULL);
	ck_assert_int_eq(add(&b, 0x10f, 0xf2), -EEXIST);
	ck_assert_int_eq(add(&b, 0x110, 0xf1), -EEXIST);
	ck_assert_uint_eq(b.nr, 2);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_zero_length_rejected)
{
	struct bus b;

	bus_init(&b);
	ck_assert_int_eq(add(&b, 0x100, 0), -EINVAL);
	ck_assert_uint_eq(b.nr, 0);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_wrap_around_rejected)
{
	struct bus b;

	bus_init(&b);
	ck_assert_int_eq(add(&b, UINT64_MAX - 1, 3), -EINVAL);
	ck_assert_int_eq(add(&b, 2, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(add(&b, UINT64_MAX, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(add(&b, UINT64_MAX, 2), -EINVAL);
	ck_assert_uint_eq(b.nr, 0);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_range_ending_at_top_of_space_allowed)
{
	struct fake_dev d = { 0 };
	struct bus b;

	bus_init(&b);
	add_ok(&b, UINT64_MAX - 0xf, 0x10, &d);
	ck_assert_ptr_nonnull(bus_find(&b, UINT64_MAX, 1));
	ck_assert_ptr_null(bus_find(&b, UINT64_MAX, 2));
	ck_assert_ptr_nonnull(bus_find(&b, UINT64_MAX - 7, 8));
	bus_destroy(&b);
}
END_TEST

START_TEST(test_missing_ops_rejected)
{
	struct bus b;

	bus_init(&b);
	ck_assert_int_eq(bus_add(&b, 0x100, 1, "x", NULL, NULL), -EINVAL);
	ck_assert_int_eq(bus_add(&b, 0x100, 1, "x", &no_read_ops, NULL), -EINVAL);
	ck_assert_uint_eq(b.nr, 0);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_adjacent_ranges_allowed)
{
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 0x100, NULL);
	add_ok(&b, 0x200, 0x100, NULL); /* right after */
	add_ok(&b, 0x0, 0x100, NULL);	/* right before */
	ck_assert_uint_eq(b.nr, 3);
	assert_sorted(&b);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_frozen_bus_rejects_add)
{
	struct fake_dev d = { 0 };
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 0x10, &d);
	bus_freeze(&b);
	ck_assert_int_eq(add(&b, 0x200, 0x10), -EBUSY);
	ck_assert_uint_eq(b.nr, 1);
	ck_assert_ptr_eq(bus_find(&b, 0x100, 1)->ctx, &d); /* lookups still work */
	bus_destroy(&b);
}
END_TEST

START_TEST(test_find_first_and_last_byte)
{
	struct fake_dev d = { 0 };
	const struct bus_range *r;
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x3f8, 8, &d);
	r = bus_find(&b, 0x3f8, 1);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_eq(r->ctx, &d);
	ck_assert_ptr_eq(bus_find(&b, 0x3ff, 1), r);
	ck_assert_ptr_eq(bus_find(&b, 0x3f8, 8), r);
	ck_assert_ptr_null(bus_find(&b, 0x3f7, 1));
	ck_assert_ptr_null(bus_find(&b, 0x400, 1));
	bus_destroy(&b);
}
END_TEST

START_TEST(test_find_zero_length_or_wrap_is_null)
{
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0, 0x100, NULL);
	ck_assert_ptr_null(bus_find(&b, 0x10, 0));
	ck_assert_ptr_null(bus_find(&b, 0x10, UINT64_MAX));
	bus_destroy(&b);
}
END_TEST

START_TEST(test_find_on_empty_bus_is_null)
{
	struct bus b;

	bus_init(&b);
	ck_assert_ptr_null(bus_find(&b, 0, 1));
	ck_assert_ptr_null(bus_find(&b, UINT64_MAX, 1));
	bus_destroy(&b);
}
END_TEST

START_TEST(test_access_straddling_range_end_fails)
{
	struct fake_dev d = { 0 };
	uint32_t v = 0;
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 8, &d);
	ck_assert_int_eq(bus_access(&b, 0x106, &v, 4, false), -ENOENT);
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert_int_eq(bus_access(&b, 0xfe, &v, 4, true), -ENOENT);
	ck_assert_int_eq(d.reads + d.writes, 0);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_access_straddling_two_ranges_fails)
{
	struct fake_dev d1 = { 0 }, d2 = { 0 };
	uint32_t v = 0;
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 4, &d1);
	add_ok(&b, 0x104, 4, &d2);
	ck_assert_int_eq(bus_access(&b, 0x102, &v, 4, false), -ENOENT);
	ck_assert_int_eq(bus_access(&b, 0x102, &v, 4, true), -ENOENT);
	ck_assert_int_eq(d1.reads + d1.writes + d2.reads + d2.writes, 0);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_unmapped_read_is_all_ones_and_enoent)
{
	uint64_t v8 = 0;
	uint8_t v1 = 0;
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 8, NULL);
	ck_assert_int_eq(bus_access(&b, 0x80, &v1, 1, false), -ENOENT);
	ck_assert_uint_eq(v1, 0xff);
	ck_assert_int_eq(bus_access(&b, 0x200, &v8, 8, false), -ENOENT);
	ck_assert_uint_eq(v8, UINT64_MAX);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_unmapped_write_is_dropped)
{
	struct fake_dev d = { 0 };
	uint32_t v = 0x12345678;
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 8, &d);
	ck_assert_int_eq(bus_access(&b, 0x108, &v, 4, true), -ENOENT);
	ck_assert_uint_eq(v, 0x12345678);
	ck_assert_int_eq(d.writes, 0);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_device_receives_offset_not_address)
{
	struct fake_dev d = { 0 };
	uint16_t w = 0xbeef, r = 0;
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0xfee00000, 0x1000, &d);
	ck_assert_int_eq(bus_access(&b, 0xfee000b0, &w, 2, true), 0);
	ck_assert_int_eq(d.writes, 1);
	ck_assert_uint_eq(d.offset, 0xb0);
	ck_assert_uint_eq(d.len, 2);
	ck_assert_mem_eq(d.written, &w, 2);
	ck_assert_int_eq(bus_access(&b, 0xfee00fff, &r, 1, false), 0);
	ck_assert_int_eq(d.reads, 1);
	ck_assert_uint_eq(d.offset, 0xfff);
	ck_assert_uint_eq(r & 0xff, 0x5a);
	bus_destroy(&b);
}
END_TEST

START_TEST(test_many_random_ranges_found)
{
	enum { N = 1000, SLOT = 0x10000 };
	uint64_t *base = calloc(N, sizeof(*base)), *len = calloc(N, sizeof(*len));
	unsigned int *order = calloc(N, sizeof(*order)), *ids = calloc(N, sizeof(*ids));
	struct rng rng = { 0x0123456789abcdefULL };
	struct bus b;

	ck_assert(base && len && order && ids);
	bus_init(&b);
	/* Range i lies somewhere in slot i, so none overlap; insert in shuffled order. */
	for (unsigned int i = 0; i < N; i++) {
		base[i] = (uint64_t)i * SLOT + 1 + rng_below(&rng, SLOT / 2);
		len[i] = 1 + rng_below(&rng, SLOT / 2 - 1);
		order[i] = ids[i] = i;
	}
	for (unsigned int i = N - 1; i > 0; i--) {
		unsigned int j = (unsigned int)rng_below(&rng, i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned int i = 0; i < N; i++)
		add_ok(&b, base[order[i]], len[order[i]], &ids[order[i]]);
	ck_assert_uint_eq(b.nr, N);
	assert_sorted(&b);
	for (unsigned int i = 0; i < N; i++) {
		uint64_t mid = base[i] + rng_below(&rng, len[i]);

		ck_assert_ptr_eq(bus_find(&b, base[i], 1)->ctx, &ids[i]);
		ck_assert_ptr_eq(bus_find(&b, base[i] + len[i] - 1, 1)->ctx, &ids[i]);
		ck_assert_ptr_eq(bus_find(&b, mid, 1)->ctx, &ids[i]);
		ck_assert_ptr_null(bus_find(&b, base[i] - 1, 1));
		ck_assert_ptr_null(bus_find(&b, base[i] + len[i], 1));
		ck_assert_ptr_null(bus_find(&b, base[i] + len[i] - 1, 2));
	}
	bus_destroy(&b);
	free(base);
	free(len);
	free(order);
	free(ids);
}
END_TEST

START_TEST(test_destroy_empties_bus)
{
	struct bus b;

	bus_init(&b);
	add_ok(&b, 0x100, 0x10, NULL);
	bus_freeze(&b);
	bus_destroy(&b);
	ck_assert_uint_eq(b.nr, 0);
	ck_assert(!b.frozen);
	ck_assert_ptr_null(bus_find(&b, 0x100, 1));
}
END_TEST

Suite *bus_suite(void)
{
	Suite *s = suite_create("bus");
	TCase *add_tc = tcase_create("add");
	TCase *find_tc = tcase_create("find");

	tcase_add_test(add_tc, test_add_sorted_order);
	tcase_add_test(add_tc, test_add_unsorted_is_kept_sorted);
	tcase_add_test(add_tc, test_overlap_at_start_edge_rejected);
	tcase_add_test(add_tc, test_overlap_at_end_edge_rejected);
	tcase_add_test(add_tc, test_overlap_by_containment_rejected);
	tcase_add_test(add_tc, test_overlap_spanning_two_ranges_rejected);
	tcase_add_test(add_tc, test_zero_length_rejected);
	tcase_add_test(add_tc, test_wrap_around_rejected);
	tcase_add_test(add_tc, test_range_ending_at_top_of_space_allowed);
	tcase_add_test(add_tc, test_missing_ops_rejected);
	tcase_add_test(add_tc, test_adjacent_ranges_allowed);
	tcase_add_test(add_tc, test_frozen_bus_rejects_add);
	tcase_add_test(add_tc, test_destroy_empties_bus);
	suite_add_tcase(s, add_tc);

	tcase_add_test(find_tc, test_find_first_and_last_byte);
	tcase_add_test(find_tc, test_find_zero_length_or_wrap_is_null);
	tcase_add_test(find_tc, test_find_on_empty_bus_is_null);
	tcase_add_test(find_tc, test_access_straddling_range_end_fails);
	tcase_add_test(find_tc, test_access_straddling_two_ranges_fails);
	tcase_add_test(find_tc, test_unmapped_read_is_all_ones_and_enoent);
	tcase_add_test(find_tc, test_unmapped_write_is_dropped);
	tcase_add_test(find_tc, test_device_receives_offset_not_address);
	tcase_add_test(find_tc, test_many_random_ranges_found);
	suite_add_tcase(s, find_tc);
	return s;
}
