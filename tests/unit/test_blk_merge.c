/*
 * virtio/blk's merging through io_uring: requests of one direction that
 * continue one another on the disk go to the kernel as one transfer (up to
 * BLK_MERGE_BYTES and BLK_MERGE_IOV iovecs), and each still completes on its
 * own chain with its own used length; anything else (a gap, the other
 * direction, a flush, the limits) starts a new transfer. A merged transfer
 * that comes up short fails every request in it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_blk.h"

#define SEG 512u

/* One request's place in a test: the guest buffer and the status byte. */
struct mreq {
	uint32_t type;
	uint64_t sector;
	uint64_t data;
	uint32_t len;
	uint16_t head;
	uint64_t status;
};

static void open_merging(struct bfx *f, uint64_t image)
{
	memset(f, 0, sizeof(*f));
	bfx_image(f, image);
	ck_assert_int_eq(bfx_try_open(f, false, false, NULL), 0);
	if (!f->b.merge) /* the kernel lacks IORING_FEAT_SUBMIT_STABLE (before 5.5) */
		fprintf(stderr, "%s: io_uring %s: requests are not merged here\n", __FILE__,
			f->b.uring ? "without SUBMIT_STABLE" : "unavailable");
}

/*
 * Publish request `r` with its data in `nseg` equal segments (as an indirect
 * table at `table` when it has more than one); OUT buffers get the byte `fill`.
 */
static void publish(struct bfx *f, struct mreq *r, unsigned int nseg, uint64_t table, uint8_t fill)
{
	struct fake_seg s[258];
	uint32_t part = r->len / nseg;

	ck_assert_uint_le(nseg, 256);
	r->status = bfx_status(f);
	s[0] = (struct fake_seg){ bfx_hdr(f, r->type, r->sector), 16, F_R };
	for (unsigned int i = 0; i < nseg; i++)
		s[1 + i] = (struct fake_seg){ r->data + (uint64_t)part * i, part,
					      r->type == VIRTIO_BLK_T_IN };
	s[1 + nseg] = (struct fake_seg){ r->status, 1, F_W };
	bfx_fill(f, r->data, r->type == VIRTIO_BLK_T_IN ? 0xee : fill, r->len);
	if (nseg == 1) {
		r->head = bfx_publish(f, s, 3);
		return;
	}
	fake_vring_indirect(&f->m, table, s, nseg + 2);
	r->head = f->next;
	fake_vring_desc(&f->v, r->head, table, (nseg + 2) * 16, VRING_DESC_F_INDIRECT, 0);
	f->next = (uint16_t)((f->next + 1) % BLK_QUEUE_SIZE);
	fake_vring_publish(&f->v, r->head);
}

/* After one kick, every request completed once with `status` and its own used length. */
static void check_done(struct bfx *f, const struct mreq *r, unsigned int n, uint16_t used0,
		       uint8_t status)
{
	bfx_wait_used(f, (uint16_t)(used0 + n));
	for (unsigned int k = 0; k < n; k++) {
		uint32_t id, len;
		unsigned int j;

		fake_vring_used_elem(&f->v, (uint16_t)(used0 + k), &id, &len);
		for (j = 0; j < n && r[j].head != id; j++)
			;
		ck_assert_uint_lt(j, n);
		ck_assert_uint_eq(len, r[j].type == VIRTIO_BLK_T_IN ? r[j].len + 1 : 1);
		ck_assert_uint_eq(bfx_get8(f, r[j].status), status);
	}
	ck_assert_uint_eq(f->b.inflight, 0);
}

/* Each IN request's buffer holds the image's bytes at its sector. */
static void check_reads(struct bfx *f, const struct mreq *r, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		if (r[k].type == VIRTIO_BLK_T_IN)
			ck_assert(bfx_guest_is_pattern(f, r[k].data, r[k].sector * 512, r[k].len));
}

START_TEST(test_merge_adjacent_reads_and_writes)
{
	struct mreq r[16];
	uint8_t buf[8 * SEG];
	struct bfx f;

	open_merging(&f, BFX_IMAGE);
	/* Eight reads of sectors 7, 8, ... 14 into buffers that are not in order
	 * in guest memory, then eight writes of sectors 40-47. */
	for (unsigned int k = 0; k < 16; k++) {
		r[k] = (struct mreq){ k < 8 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT,
				      k < 8 ? 7 + k : 40 + (k - 8), BFX_DATA + SEG * (k * 5 % 16),
				      SEG, 0, 0 };
		publish(&f, &r[k], 1, 0, (uint8_t)(0x30 + k));
	}
	bfx_kick(&f);
	check_done(&f, r, 16, 0, VIRTIO_BLK_S_OK);
	check_reads(&f, r, 8);
	bfx_file_read(&f, 40 * 512, buf, sizeof(buf));
	for (unsigned int k = 0; k < 8; k++)
		for (unsigned int i = 0; i < SEG; i++)
			ck_assert_uint_eq(buf[k * SEG + i], 0x38 + k);
	ck_assert(bfx_file_is_pattern(&f, 0, 40 * 512));
	ck_assert(bfx_file_is_pattern(&f, 48 * 512, BFX_IMAGE - 48 * 512));
	/* One transfer each way: 7 + 7 requests rode in another's. */
	ck_assert_uint_eq(f.b.merged, f.b.merge ? 14 : 0);
	bfx_close(&f);
}
END_TEST

START_TEST(test_merge_stops_at_gaps_direction_and_flush)
{
	/* runs: [IN 0, IN 1] [OUT 2] [IN 3] [IN 5, IN 6] FLUSH [IN 7, IN 8] [IN 10] [IN 9] */
	static const struct {
		uint32_t type;
		uint64_t sector;
	} plan[] = { { VIRTIO_BLK_T_IN, 0 },  { VIRTIO_BLK_T_IN, 1 },	 { VIRTIO_BLK_T_OUT, 2 },
		     { VIRTIO_BLK_T_IN, 3 },  { VIRTIO_BLK_T_IN, 5 },	 { VIRTIO_BLK_T_IN, 6 },
		     { VIRTIO_BLK_T_FLUSH, 0 }, { VIRTIO_BLK_T_IN, 7 }, { VIRTIO_BLK_T_IN, 8 },
		     { VIRTIO_BLK_T_IN, 10 }, { VIRTIO_BLK_T_IN, 9 } };
	enum { N = sizeof(plan) / sizeof(plan[0]) };
	struct mreq r[N];
	uint8_t buf[SEG];
	struct bfx f;

	open_merging(&f, BFX_IMAGE);
	for (unsigned int k = 0; k < N; k++) {
		r[k] = (struct mreq){ plan[k].type, plan[k].sector, BFX_DATA + SEG * k,
				      plan[k].type == VIRTIO_BLK_T_FLUSH ? 0 : SEG, 0, 0 };
		if (plan[k].type == VIRTIO_BLK_T_FLUSH) {
			struct fake_seg s[2] = { { bfx_hdr(&f, VIRTIO_BLK_T_FLUSH, 0), 16, F_R },
						 { 0, 1, F_W } };

			r[k].status = s[1].addr = bfx_status(&f);
			r[k].head = bfx_publish(&f, s, 2);
		} else {
			publish(&f, &r[k], 1, 0, 0x77);
		}
	}
	bfx_kick(&f);
	bfx_wait_used(&f, N);
	for (unsigned int k = 0; k < N; k++)
		ck_assert_uint_eq(bfx_get8(&f, r[k].status), VIRTIO_BLK_S_OK);
	check_reads(&f, r, N);
	bfx_file_read(&f, 2 * 512, buf, sizeof(buf));
	for (unsigned int i = 0; i < SEG; i++)
		ck_assert_uint_eq(buf[i], 0x77);
	ck_assert_uint_eq(f.b.merged, f.b.merge ? 3 : 0);
	bfx_close(&f);
}
END_TEST

/* 20 reads of 64 KiB in a row: a transfer stops at BLK_MERGE_BYTES (16 of them), the rest make another. */
START_TEST(test_merge_byte_limit)
{
	enum { N = 20, LEN = 65536 };
	struct mreq r[N];
	struct bfx f;

	_Static_assert(BLK_MERGE_BYTES == 16 * LEN, "the test assumes 1 MiB transfers");
	_Static_assert(BFX_DATA + (uint64_t)N * LEN <= BFX_RAM, "buffers fit in guest RAM");
	open_merging(&f, 2ULL << 20);
	for (unsigned int k = 0; k < N; k++) {
		r[k] = (struct mreq){ VIRTIO_BLK_T_IN, 128ULL * k, BFX_DATA + (uint64_t)LEN * k, LEN,
				      0, 0 };
		publish(&f, &r[k], 1, 0, 0);
	}
	bfx_kick(&f);
	check_done(&f, r, N, 0, VIRTIO_BLK_S_OK);
	check_reads(&f, r, N);
	ck_assert_uint_eq(f.b.merged, f.b.merge ? 15 + 3 : 0);
	bfx_close(&f);
}
END_TEST

/*
 * Requests of 100 segments each. Eleven in a row: ten fill a transfer's
 * iovecs (1000 of BLK_MERGE_IOV), the eleventh starts another. Then two runs
 * of six each in one kick: the second run's 600 iovecs do not fit beside the
 * first's until that one is submitted, which frees the room.
 */
START_TEST(test_merge_iovec_limits)
{
	enum { SEGS = 100, LEN = SEGS * SEG, N1 = 11, N2 = 12 };
	struct mreq r[N1 + N2];
	struct bfx f;

	_Static_assert(BLK_MERGE_IOV == 1024, "the test assumes 1024 iovecs per submission");
	_Static_assert(BFX_DATA + (uint64_t)N1 * LEN <= BFX_RAM, "buffers fit in guest RAM");
	open_merging(&f, 4ULL << 20);
	for (unsigned int k = 0; k < N1; k++) {
		r[k] = (struct mreq){ VIRTIO_BLK_T_IN, (LEN / 512ULL) * k, BFX_DATA + (uint64_t)LEN * k,
				      LEN, 0, 0 };
		publish(&f, &r[k], SEGS, BFX_TABLE + 0x1000ULL * k, 0);
	}
	bfx_kick(&f);
	check_done(&f, r, N1, 0, VIRTIO_BLK_S_OK);
	check_reads(&f, r, N1);
	ck_assert_uint_eq(f.b.merged, f.b.merge ? 9 : 0);

	/* Sectors 0.. and, after a gap, 4000..: buffers reused, all reads. */
	for (unsigned int k = 0; k < N2; k++) {
		uint64_t sector = (k < 6 ? 0 : 4000) + (LEN / 512ULL) * (k % 6);

		r[N1 + k] = (struct mreq){ VIRTIO_BLK_T_IN, sector, BFX_DATA + (uint64_t)LEN * (k % 6) +
						(k < 6 ? 0 : 6ULL * LEN), LEN, 0, 0 };
		publish(&f, &r[N1 + k], SEGS, BFX_TABLE + 0x1000ULL * (N1 + k), 0);
	}
	bfx_kick(&f);
	check_done(&f, r + N1, N2, N1, VIRTIO_BLK_S_OK);
	check_reads(&f, r + N1, N2);
	ck_assert_uint_eq(f.b.merged, f.b.merge ? 9 + 5 + 5 : 0);
	ck_assert_uint_eq(f.b.miov_used, 0); /* all submitted: the room is free again */
	bfx_close(&f);
}
END_TEST

/*
 * The image shrinks under the device (another program truncates it): a merged
 * read that crosses the new end comes back short, and every request in it
 * fails, the ones wholly before the end too. A read on its own before the
 * end still works.
 */
START_TEST(test_merge_short_transfer_fails_all)
{
	struct mreq r[5];
	struct bfx f;

	open_merging(&f, BFX_IMAGE);
	ck_assert_int_eq(truncate(f.path, 20 * 512), 0);
	for (unsigned int k = 0; k < 4; k++) {
		r[k] = (struct mreq){ VIRTIO_BLK_T_IN, 18 + k, BFX_DATA + SEG * k, SEG, 0, 0 };
		publish(&f, &r[k], 1, 0, 0);
	}
	bfx_kick(&f);
	if (!f.b.merge) { /* one transfer each: sectors 18 and 19 are still there */
		bfx_wait_used(&f, 4);
		ck_assert_uint_eq(bfx_get8(&f, r[0].status), VIRTIO_BLK_S_OK);
		ck_assert_uint_eq(bfx_get8(&f, r[3].status), VIRTIO_BLK_S_IOERR);
		bfx_close(&f);
		return;
	}
	check_done(&f, r, 4, 0, VIRTIO_BLK_S_IOERR);
	r[4] = (struct mreq){ VIRTIO_BLK_T_IN, 19, BFX_DATA, SEG, 0, 0 };
	publish(&f, &r[4], 1, 0, 0);
	bfx_kick(&f);
	check_done(&f, r + 4, 1, 4, VIRTIO_BLK_S_OK);
	check_reads(&f, r + 4, 1);
	bfx_close(&f);
}
END_TEST

/* A kernel that may read iovecs after it took a request (no SUBMIT_STABLE): nothing merged. */
START_TEST(test_merge_needs_submit_stable)
{
	struct mreq r[6];
	struct bfx f;

	open_merging(&f, BFX_IMAGE);
	f.b.merge = false; /* white box: as such a kernel reports */
	for (unsigned int k = 0; k < 6; k++) {
		r[k] = (struct mreq){ VIRTIO_BLK_T_IN, 30 + k, BFX_DATA + SEG * k, SEG, 0, 0 };
		publish(&f, &r[k], 1, 0, 0);
	}
	bfx_kick(&f);
	check_done(&f, r, 6, 0, VIRTIO_BLK_S_OK);
	check_reads(&f, r, 6);
	ck_assert_uint_eq(f.b.merged, 0);
	bfx_close(&f);
}
END_TEST

void blk_merge_tcases(Suite *s)
{
	TCase *tc = tcase_create("merge");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_merge_adjacent_reads_and_writes);
	tcase_add_test(tc, test_merge_stops_at_gaps_direction_and_flush);
	tcase_add_test(tc, test_merge_byte_limit);
	tcase_add_test(tc, test_merge_iovec_limits);
	tcase_add_test(tc, test_merge_short_transfer_fails_all);
	tcase_add_test(tc, test_merge_needs_submit_stable);
	suite_add_tcase(s, tc);
}
