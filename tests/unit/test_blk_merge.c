/*
 * virtio/blk's merging through io_uring: requests of one direction that
 * continue one another on the disk go to the kernel as one transfer (up to
 * DISK_MERGE_BYTES and DISK_MAX_IOV iovecs), and each still completes on its
 * own chain with its own used length; anything else (a gap, the other
 * direction, a flush, the limits) starts a new transfer. A merged transfer
 * that comes up short fails every request in it.
 */
#include <pthread.h>
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
	if (!f->b.disk->raw.merge) /* the kernel lacks IORING_FEAT_SUBMIT_STABLE (before 5.5) */
		fprintf(stderr, "%s: io_uring %s: requests are not merged here\n", __FILE__,
			f->b.disk->raw.uring ? "without SUBMIT_STABLE" : "unavailable");
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

/* Transfers still queued for io_uring or in it, read as the I/O thread leaves them. */
static unsigned int inflight(struct bfx *f)
{
	unsigned int n;

	pthread_mutex_lock(&f->b.vdev.lock);
	n = f->b.disk->raw.inflight;
	pthread_mutex_unlock(&f->b.vdev.lock);
	return n;
}

/*
 * After one kick: each of the n requests completed exactly once, with its own
 * used length and `status`, and nothing more.
 */
static void check_done(struct bfx *f, const struct mreq *r, unsigned int n, uint16_t used0,
		       uint8_t status)
{
	bool seen[64] = { false };

	ck_assert_uint_le(n, 64);
	bfx_wait_used(f, (uint16_t)(used0 + n));
	for (unsigned int k = 0; k < n; k++) {
		uint32_t id, len;
		unsigned int j;

		fake_vring_used_elem(&f->v, (uint16_t)(used0 + k), &id, &len);
		for (j = 0; j < n && r[j].head != id; j++)
			;
		ck_assert_uint_lt(j, n);
		ck_assert(!seen[j]);
		seen[j] = true;
		ck_assert_uint_eq(len, r[j].type == VIRTIO_BLK_T_IN ? r[j].len + 1 : 1);
	}
	for (unsigned int k = 0; k < n; k++)
		ck_assert_uint_eq(bfx_get8(f, r[k].status), status);
	ck_assert_uint_eq(inflight(f), 0);
	ck_assert_uint_eq(bfx_used_idx(f), (uint16_t)(used0 + n));
}

/* Each IN request's buffer holds the image's bytes at its sector. */
static void check_reads(struct bfx *f, const struct mreq *r, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		if (r[k].type == VIRTIO_BLK_T_IN && r[k].len)
			ck_assert(bfx_guest_is_pattern(f, r[k].data, r[k].sector * 512, r[k].len));
}

START_TEST(test_merge_adjacent_reads_and_writes)
{
	/* Data lengths in sectors: each request its own size, so its own used length. */
	static const uint32_t secs[8] = { 1, 3, 2, 8, 1, 4, 2, 5 };
	struct mreq r[16];
	struct bfx f;
	uint64_t in = 7, out = 40;

	open_merging(&f, BFX_IMAGE);
	/* Eight reads from sector 7 on, one after another on the disk, into buffers
	 * out of order in guest memory; then eight writes from sector 40 on. */
	for (unsigned int k = 0; k < 16; k++) {
		uint32_t len = secs[k % 8] * SEG;
		bool rd = k < 8;

		r[k] = (struct mreq){ rd ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, rd ? in : out,
				      BFX_DATA + 0x2000ULL * (k * 5 % 16), len, 0, 0 };
		*(rd ? &in : &out) += secs[k % 8];
		publish(&f, &r[k], 1, 0, (uint8_t)(0x30 + k));
	}
	bfx_kick(&f);
	check_done(&f, r, 16, 0, VIRTIO_BLK_S_OK);
	check_reads(&f, r, 8);
	for (unsigned int k = 8; k < 16; k++)
		ck_assert(bfx_file_is_byte(&f, r[k].sector * 512, r[k].len, (uint8_t)(0x30 + k)));
	ck_assert(bfx_file_is_pattern(&f, 0, 40 * 512));
	ck_assert(bfx_file_is_pattern(&f, out * 512, BFX_IMAGE - out * 512));
	/* One transfer each way: 7 + 7 requests rode in another's. */
	ck_assert_uint_eq(bfx_merged(&f), f.b.disk->raw.merge ? 14 : 0);
	bfx_close(&f);
}
END_TEST

/*
 * Runs: [IN 0, IN 1] [OUT 2] [IN 3] [IN 5, IN 6] [OUT 20, OUT 21] FLUSH [IN 7, IN 8]
 * [IN 10] [IN 9]; the IN 6 with no data between IN 5 and IN 6 completes at once
 * (the disk has nothing to move) and does not break the run. Everything before
 * the flush completes before it.
 */
START_TEST(test_merge_stops_at_gaps_direction_and_flush)
{
	static const struct {
		uint32_t type;
		uint64_t sector;
		uint32_t len;
	} plan[] = { { VIRTIO_BLK_T_IN, 0, SEG },   { VIRTIO_BLK_T_IN, 1, SEG },
		     { VIRTIO_BLK_T_OUT, 2, SEG },  { VIRTIO_BLK_T_IN, 3, SEG },
		     { VIRTIO_BLK_T_IN, 5, SEG },   { VIRTIO_BLK_T_IN, 6, 0 },
		     { VIRTIO_BLK_T_IN, 6, SEG },   { VIRTIO_BLK_T_OUT, 20, SEG },
		     { VIRTIO_BLK_T_OUT, 21, SEG }, { VIRTIO_BLK_T_FLUSH, 0, 0 },
		     { VIRTIO_BLK_T_IN, 7, SEG },   { VIRTIO_BLK_T_IN, 8, SEG },
		     { VIRTIO_BLK_T_IN, 10, SEG },  { VIRTIO_BLK_T_IN, 9, SEG } };
	enum { N = sizeof(plan) / sizeof(plan[0]), FLUSH_AT = 9 };
	struct mreq r[N];
	unsigned int flush_pos = N;
	struct bfx f;

	open_merging(&f, BFX_IMAGE);
	for (unsigned int k = 0; k < N; k++) {
		r[k] = (struct mreq){ plan[k].type, plan[k].sector, BFX_DATA + SEG * k, plan[k].len,
				      0, 0 };
		if (plan[k].len) {
			publish(&f, &r[k], 1, 0, (uint8_t)(0x70 + k));
		} else { /* a flush, or a read with no data: header and status only */
			struct fake_seg sg[2] = { { bfx_hdr(&f, plan[k].type, plan[k].sector), 16, F_R },
						  { 0, 1, F_W } };

			r[k].status = sg[1].addr = bfx_status(&f);
			r[k].head = bfx_publish(&f, sg, 2);
		}
	}
	bfx_kick(&f);
	check_done(&f, r, N, 0, VIRTIO_BLK_S_OK);
	check_reads(&f, r, N);
	ck_assert(bfx_file_is_byte(&f, 2 * 512, SEG, 0x72));
	ck_assert(bfx_file_is_byte(&f, 20 * 512, SEG, 0x77));
	ck_assert(bfx_file_is_byte(&f, 21 * 512, SEG, 0x78));
	for (unsigned int i = 0; i < N; i++) {
		uint32_t id, len;

		fake_vring_used_elem(&f.v, (uint16_t)i, &id, &len);
		if (id == r[FLUSH_AT].head)
			flush_pos = i;
	}
	ck_assert_uint_lt(flush_pos, N);
	for (unsigned int i = flush_pos + 1; i < N; i++) {
		uint32_t id, len;

		fake_vring_used_elem(&f.v, (uint16_t)i, &id, &len);
		for (unsigned int k = 0; k < FLUSH_AT; k++)
			ck_assert_uint_ne(id, r[k].head); /* drained before the flush began */
	}
	ck_assert_uint_eq(bfx_merged(&f), f.b.disk->raw.merge ? 1 + 1 + 1 + 1 : 0);
	bfx_close(&f);
}
END_TEST

/* 64 KiB reads in a row: sixteen fill a transfer (DISK_MERGE_BYTES); a seventeenth starts another. */
START_TEST(test_merge_byte_limit)
{
	enum { LEN = 65536 };
	struct mreq r[17];
	struct bfx f;

	_Static_assert(DISK_MERGE_BYTES == 16 * LEN, "the test assumes 1 MiB transfers");
	_Static_assert(BFX_DATA + 17ULL * LEN <= BFX_RAM, "buffers fit in guest RAM");
	open_merging(&f, 2ULL << 20);
	for (unsigned int n = 16, used = 0; n <= 17; used += n, n++) {
		for (unsigned int k = 0; k < n; k++) {
			r[k] = (struct mreq){ VIRTIO_BLK_T_IN, 128ULL * k, BFX_DATA + (uint64_t)LEN * k,
					      LEN, 0, 0 };
			publish(&f, &r[k], 1, 0, 0);
		}
		bfx_kick(&f);
		check_done(&f, r, n, (uint16_t)used, VIRTIO_BLK_S_OK);
		check_reads(&f, r, n);
		ck_assert_uint_eq(bfx_merged(&f), f.b.disk->raw.merge ? 15 * (n - 15) : 0);
	}
	bfx_close(&f);
}
END_TEST

/* `n` requests of `segs` segments each from `sector` on, one after another, published. */
static void publish_segmented(struct bfx *f, struct mreq *r, unsigned int n, unsigned int segs,
			      uint32_t type, uint64_t sector, uint64_t data, uint64_t table)
{
	for (unsigned int k = 0; k < n; k++) {
		r[k] = (struct mreq){ type, sector + segs * k, data + (uint64_t)segs * SEG * k, segs * SEG,
				      0, 0 };
		publish(f, &r[k], segs, table + 0x1000ULL * k, (uint8_t)(0x40 + k));
	}
}

/*
 * Requests of many segments. Eight of 128 fill a transfer's iovecs exactly
 * (DISK_MAX_IOV); with a ninth of one segment behind them, that one starts
 * another; ten of 100 merge
 * and an eleventh does not fit. Then two runs of six in one kick, reads and
 * then writes (which io_uring hands to its workers on most file systems):
 * the second run's 600 iovecs do not fit beside the first's until that one
 * is submitted, which frees the room.
 */
START_TEST(test_merge_iovec_limits)
{
	struct mreq r[24];
	struct bfx f;
	uint16_t used = 0;
	uint64_t merged = 0;

	_Static_assert(DISK_MAX_IOV == 1024, "the test assumes 1024 iovecs per submission");
	open_merging(&f, 4ULL << 20);
	for (unsigned int n = 8; n <= 9; n++) { /* 8 x 128 segments, then one more */
		publish_segmented(&f, r, 8, 128, VIRTIO_BLK_T_IN, 0, BFX_DATA, BFX_TABLE);
		if (n == 9)
			publish_segmented(&f, r + 8, 1, 1, VIRTIO_BLK_T_IN, 8 * 128,
					  BFX_DATA + 8 * 128 * SEG, BFX_TABLE + 0x8000);
		bfx_kick(&f);
		check_done(&f, r, n, used, VIRTIO_BLK_S_OK);
		check_reads(&f, r, n);
		used += n;
		merged += 7;
		ck_assert_uint_eq(bfx_merged(&f), f.b.disk->raw.merge ? merged : 0);
	}

	publish_segmented(&f, r, 11, 100, VIRTIO_BLK_T_IN, 0, BFX_DATA, BFX_TABLE);
	bfx_kick(&f);
	check_done(&f, r, 11, used, VIRTIO_BLK_S_OK);
	check_reads(&f, r, 11);
	used += 11;
	merged += 9;
	ck_assert_uint_eq(bfx_merged(&f), f.b.disk->raw.merge ? merged : 0);

	for (uint32_t type = VIRTIO_BLK_T_IN;; type = VIRTIO_BLK_T_OUT) {
		publish_segmented(&f, r, 6, 100, type, 0, BFX_DATA, BFX_TABLE);
		publish_segmented(&f, r + 6, 6, 100, type, 4000, BFX_DATA + 6 * 100 * SEG,
				  BFX_TABLE + 0x6000);
		bfx_kick(&f);
		check_done(&f, r, 12, used, VIRTIO_BLK_S_OK);
		used += 12;
		merged += 10;
		ck_assert_uint_eq(bfx_merged(&f), f.b.disk->raw.merge ? merged : 0);
		ck_assert_uint_eq(f.b.disk->raw.miov_used, 0); /* all submitted: the room is free again */
		if (type == VIRTIO_BLK_T_OUT)
			break;
		check_reads(&f, r, 12);
	}
	for (unsigned int k = 0; k < 12; k++)
		ck_assert(bfx_file_is_byte(&f, r[k].sector * 512, r[k].len, (uint8_t)(0x40 + k % 6)));
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
	if (!f.b.disk->raw.merge) { /* one transfer each: sectors 18 and 19 are still there */
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
	f.b.disk->raw.merge = false; /* white box: as such a kernel reports */
	for (unsigned int k = 0; k < 6; k++) {
		r[k] = (struct mreq){ VIRTIO_BLK_T_IN, 30 + k, BFX_DATA + SEG * k, SEG, 0, 0 };
		publish(&f, &r[k], 1, 0, 0);
	}
	bfx_kick(&f);
	check_done(&f, r, 6, 0, VIRTIO_BLK_S_OK);
	check_reads(&f, r, 6);
	ck_assert_uint_eq(bfx_merged(&f), 0);
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
