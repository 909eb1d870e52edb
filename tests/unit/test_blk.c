/*
 * virtio/blk: requests of every type through queue 0 with synchronous I/O
 * (each completes inside queue_notify): data checked against the image file,
 * chain shapes, statuses and used lengths, hostile headers and ranges.
 * Opening, locking, read-only images and io_uring: test_blk_io.c.
 */
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/suites.h"
#include "tests/unit/test_blk.h"

static bool guest_all(struct bfx *f, uint64_t gpa, uint8_t byte, uint64_t len)
{
	const uint8_t *p = bfx_host(f, gpa, len);

	for (uint64_t i = 0; i < len; i++)
		if (p[i] != byte)
			return false;
	return true;
}

/* ---- device identity ---- */

START_TEST(test_features_and_config)
{
	struct virtio_blk_config cfg;
	uint64_t want = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
			VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) | VIRTIO_FEAT_VERSION_1;
	uint64_t capacity = 0;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	ck_assert_uint_eq(f.b.vdev.device_id, 2);
	ck_assert_uint_eq(f.b.vdev.num_queues, 1);
	ck_assert_uint_eq(f.b.vdev.qcfg[0].max_size, BLK_QUEUE_SIZE);
	ck_assert_uint_eq(f.b.vdev.host_features & want, want);
	ck_assert(!(f.b.vdev.host_features & VIRTIO_BIT(VIRTIO_BLK_F_RO)));
	ck_assert_uint_eq(f.b.vdev.config_size, sizeof(cfg));
	f.b.vdev.ops->config_read(&f.b.vdev, 0, &capacity, 8);
	ck_assert_uint_eq(capacity, BFX_SECTORS);
	f.b.vdev.ops->config_read(&f.b.vdev, 0, &cfg, sizeof(cfg));
	ck_assert_uint_eq(cfg.capacity, BFX_SECTORS);
	ck_assert_uint_eq(cfg.blk_size, 512);
	ck_assert_uint_eq(cfg.seg_max, BLK_SEG_MAX);
	ck_assert_uint_eq(cfg.max_discard_seg, 1);
	ck_assert_uint_eq(cfg.max_write_zeroes_seg, 1);
	ck_assert_uint_eq(cfg.write_zeroes_may_unmap, 1);
	/* Beyond the structure: nothing copied. */
	capacity = 0x1234;
	f.b.vdev.ops->config_read(&f.b.vdev, sizeof(cfg) - 4, &capacity, 8);
	ck_assert_uint_eq(capacity, 0x1234);
	bfx_close(&f);
}
END_TEST

/* ---- IN and OUT ---- */

START_TEST(test_in_reads_the_image)
{
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	bfx_fill(&f, BFX_DATA, 0xee, 4096);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 3, BFX_DATA, 1024, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1024 + 1);
	ck_assert(bfx_guest_is_pattern(&f, BFX_DATA, 3 * 512, 1024));
	ck_assert(guest_all(&f, BFX_DATA + 1024, 0xee, 4096 - 1024)); /* nothing past the buffer */
	/* The whole image, and its last sector. */
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 0, BFX_DATA, BFX_IMAGE, &used), 0);
	ck_assert_uint_eq(used, BFX_IMAGE + 1);
	ck_assert(bfx_guest_is_pattern(&f, BFX_DATA, 0, BFX_IMAGE));
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, BFX_SECTORS - 1, BFX_DATA2, 512, &used), 0);
	ck_assert_uint_eq(used, 513);
	ck_assert(bfx_guest_is_pattern(&f, BFX_DATA2, BFX_IMAGE - 512, 512));
	bfx_close(&f);
}
END_TEST

START_TEST(test_out_writes_the_image)
{
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	bfx_fill(&f, BFX_DATA, 0x5a, 1024);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_OUT, 5, BFX_DATA, 1024, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	ck_assert(bfx_file_is_byte(&f, 5 * 512, 1024, 0x5a));
	ck_assert(bfx_file_is_pattern(&f, 0, 5 * 512));
	ck_assert(bfx_file_is_pattern(&f, 7 * 512, BFX_IMAGE - 7 * 512));
	bfx_close(&f);
}
END_TEST

START_TEST(test_out_then_in_round_trip)
{
	uint8_t *src;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	src = bfx_host(&f, BFX_DATA, 8192);
	for (unsigned int i = 0; i < 8192; i++)
		src[i] = (uint8_t)(i * 31 + 17);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_OUT, 40, BFX_DATA, 8192, NULL), 0);
	bfx_fill(&f, BFX_DATA2, 0, 8192);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 40, BFX_DATA2, 8192, NULL), 0);
	ck_assert_mem_eq(bfx_host(&f, BFX_DATA2, 8192), src, 8192);
	/* A zero-length IN is a valid no-op. */
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, 0, 0, 0, NULL), 0);
	bfx_close(&f);
}
END_TEST

START_TEST(test_multi_segment_in)
{
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	/* Header split in two, data in three uneven pieces, status in its own. */
	{
		uint64_t hdr = bfx_hdr(&f, VIRTIO_BLK_T_IN, 10);
		struct fake_seg s[] = {
			{ hdr, 8, F_R },
			{ hdr + 8, 8, F_R },
			{ BFX_DATA, 100, F_W },
			{ BFX_DATA2, 900, F_W },
			{ BFX_DATA + 4096, 24, F_W },
			{ bfx_status(&f), 1, F_W },
		};

		ck_assert_uint_eq(bfx_run(&f, s, 6, &used), VIRTIO_BLK_S_OK);
		ck_assert_uint_eq(used, 1024 + 1);
		ck_assert(bfx_guest_is_pattern(&f, BFX_DATA, 10 * 512, 100));
		ck_assert(bfx_guest_is_pattern(&f, BFX_DATA2, 10 * 512 + 100, 900));
		ck_assert(bfx_guest_is_pattern(&f, BFX_DATA + 4096, 10 * 512 + 1000, 24));
	}
	/* Data and status in one writable segment: the last byte is the status. */
	{
		struct fake_seg s[] = {
			{ bfx_hdr(&f, VIRTIO_BLK_T_IN, 20), 16, F_R },
			{ BFX_DATA + 8192, 513, F_W },
		};

		bfx_fill(&f, BFX_DATA + 8192, 0xee, 513);
		ck_assert_uint_eq(bfx_run(&f, s, 2, &used), VIRTIO_BLK_S_OK);
		ck_assert_uint_eq(used, 513);
		ck_assert(bfx_guest_is_pattern(&f, BFX_DATA + 8192, 20 * 512, 512));
	}
	bfx_close(&f);
}
END_TEST

START_TEST(test_multi_segment_out)
{
	uint8_t *p;
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	/* The header and the first 512 data bytes share a segment. */
	p = bfx_host(&f, BFX_DATA, 16 + 512);
	{
		struct {
			uint32_t type, reserved;
			uint64_t sector;
		} h = { VIRTIO_BLK_T_OUT, 0, 2 };

		memcpy(p, &h, 16);
	}
	memset(p + 16, 0x11, 512);
	bfx_fill(&f, BFX_DATA2, 0x22, 300);
	bfx_fill(&f, BFX_DATA2 + 4096, 0x33, 212);
	{
		struct fake_seg s[] = {
			{ BFX_DATA, 16 + 512, F_R },
			{ BFX_DATA2, 300, F_R },
			{ BFX_DATA2 + 4096, 212, F_R },
			{ bfx_status(&f), 1, F_W },
		};
		uint8_t buf[1024];

		ck_assert_uint_eq(bfx_run(&f, s, 4, &used), VIRTIO_BLK_S_OK);
		ck_assert_uint_eq(used, 1);
		bfx_file_read(&f, 2 * 512, buf, sizeof(buf));
		for (unsigned int i = 0; i < 1024; i++)
			ck_assert_uint_eq(buf[i], i < 512 ? 0x11 : i < 812 ? 0x22 : 0x33);
		ck_assert(bfx_file_is_pattern(&f, 0, 1024));
		ck_assert(bfx_file_is_pattern(&f, 4 * 512, 512));
	}
	bfx_close(&f);
}
END_TEST

START_TEST(test_indirect_chains)
{
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	{
		struct fake_seg t[] = {
			{ bfx_hdr(&f, VIRTIO_BLK_T_IN, 7), 16, F_R },
			{ BFX_DATA, 512, F_W },
			{ BFX_DATA2, 512, F_W },
			{ bfx_status(&f), 1, F_W },
		};
		struct fake_seg ring = { BFX_TABLE, sizeof(t) / sizeof(t[0]) * 16, F_R };
		uint16_t head, before = bfx_used_idx(&f);

		fake_vring_indirect(&f.m, BFX_TABLE, t, 4);
		fake_vring_desc(&f.v, 9, ring.addr, ring.len, VRING_DESC_F_INDIRECT, 0);
		head = 9;
		fake_vring_publish(&f.v, head);
		bfx_kick(&f);
		bfx_wait_used(&f, (uint16_t)(before + 1));
		bfx_used_is(&f, before, head, 1024 + 1);
		ck_assert_uint_eq(bfx_get8(&f, t[3].addr), VIRTIO_BLK_S_OK);
		ck_assert(bfx_guest_is_pattern(&f, BFX_DATA, 7 * 512, 512));
		ck_assert(bfx_guest_is_pattern(&f, BFX_DATA2, 8 * 512, 512));
	}
	{
		struct fake_seg t[] = {
			{ bfx_hdr(&f, VIRTIO_BLK_T_OUT, 30), 16, F_R },
			{ BFX_DATA + 4096, 512, F_R },
			{ bfx_status(&f), 1, F_W },
		};
		uint16_t before = bfx_used_idx(&f);

		bfx_fill(&f, BFX_DATA + 4096, 0x77, 512);
		fake_vring_indirect(&f.m, BFX_TABLE + 64, t, 3);
		fake_vring_desc(&f.v, 200, BFX_TABLE + 64, 3 * 16, VRING_DESC_F_INDIRECT, 0);
		fake_vring_publish(&f.v, 200);
		bfx_kick(&f);
		bfx_wait_used(&f, (uint16_t)(before + 1));
		bfx_used_is(&f, before, 200, 1);
		ck_assert_uint_eq(bfx_get8(&f, t[2].addr), VIRTIO_BLK_S_OK);
		ck_assert(bfx_file_is_byte(&f, 30 * 512, 512, 0x77));
	}
	bfx_close(&f);
}
END_TEST

/* ---- FLUSH, GET_ID, unknown types ---- */

START_TEST(test_flush_ok)
{
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	/* The sector field of a flush means nothing. */
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_FLUSH, UINT64_MAX, 0, 0, &used), VIRTIO_BLK_S_OK);
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));
	bfx_close(&f);
}
END_TEST

/* GET_ID into a writable buffer of `len` bytes preset to 0xaa; returns the used length. */
static uint32_t get_id(struct bfx *f, uint32_t len)
{
	uint32_t used;

	bfx_fill(f, BFX_DATA, 0xaa, 64);
	ck_assert_uint_eq(bfx_rw(f, VIRTIO_BLK_T_GET_ID, 0, BFX_DATA, len, &used), VIRTIO_BLK_S_OK);
	return used;
}

START_TEST(test_get_id)
{
	static const uint8_t want[20] = "ember-disk-0";
	struct bfx f;

	bfx_open(&f, false, true, "ember-disk-0");
	ck_assert_uint_eq(get_id(&f, 20), 21);
	ck_assert_mem_eq(bfx_host(&f, BFX_DATA, 20), want, 20); /* NUL-padded */
	/* A larger buffer still receives 20 bytes. */
	ck_assert_uint_eq(get_id(&f, 40), 21);
	ck_assert_mem_eq(bfx_host(&f, BFX_DATA, 20), want, 20);
	ck_assert(guest_all(&f, BFX_DATA + 20, 0xaa, 20));
	/* A smaller one gets what fits. */
	ck_assert_uint_eq(get_id(&f, 5), 6);
	ck_assert_mem_eq(bfx_host(&f, BFX_DATA, 5), "ember", 5);
	ck_assert(guest_all(&f, BFX_DATA + 5, 0xaa, 20));
	bfx_close(&f);
}
END_TEST

START_TEST(test_get_id_20_bytes_without_nul)
{
	struct bfx f;

	bfx_open(&f, false, true, "abcdefghijklmnopqrst");
	ck_assert_uint_eq(get_id(&f, 32), 21);
	ck_assert_mem_eq(bfx_host(&f, BFX_DATA, 20), "abcdefghijklmnopqrst", 20);
	ck_assert(guest_all(&f, BFX_DATA + 20, 0xaa, 12));
	bfx_close(&f);
}
END_TEST

START_TEST(test_get_id_none_is_zeros)
{
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	ck_assert_uint_eq(get_id(&f, 20), 21);
	ck_assert(guest_all(&f, BFX_DATA, 0, 20));
	/* Only the status byte: nothing else to write. */
	{
		struct fake_seg s[] = { { bfx_hdr(&f, VIRTIO_BLK_T_GET_ID, 0), 16, F_R },
					{ bfx_status(&f), 1, F_W } };
		uint32_t used;

		ck_assert_uint_eq(bfx_run(&f, s, 2, &used), VIRTIO_BLK_S_OK);
		ck_assert_uint_eq(used, 1);
	}
	bfx_close(&f);
}
END_TEST

static const uint32_t unknown_types[] = {
	2 /* SCSI_CMD */,
	3,
	5,
	9,
	10,
	12,
	14 /* SECURE_ERASE */,
	99,
	0x80000000U /* BARRIER */,
	0x80000001U /* BARRIER | OUT */,
	UINT32_MAX,
};

START_TEST(test_unknown_type_unsupp)
{
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	bfx_fill(&f, BFX_DATA, 0x99, 512);
	ck_assert_uint_eq(bfx_rw(&f, unknown_types[_i], 0, BFX_DATA, 512, &used),
			  VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(used, 1);
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));
	bfx_close(&f);
}
END_TEST

/* ---- bad ranges and hostile chains ---- */

static const struct {
	uint64_t sector;
	uint32_t len;
} bad_ranges[] = {
	{ BFX_SECTORS, 512 },	       /* starts at the end */
	{ BFX_SECTORS - 1, 1024 },     /* crosses the end */
	{ 0, BFX_IMAGE + 512 },	       /* longer than the image */
	{ UINT64_MAX, 512 },	       /* near UINT64_MAX */
	{ UINT64_MAX / 512 + 1, 512 }, /* sector * 512 wraps to 0 */
	{ 1ULL << 55, 512 },	       /* sector * 512 == 2^64 */
	{ 0, 511 },		       /* not whole sectors */
	{ 0, 513 },
	{ 3, 100 },
};

START_TEST(test_bad_range_in_ioerr)
{
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	bfx_fill(&f, BFX_DATA, 0xee, BFX_IMAGE + 512);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_IN, bad_ranges[_i].sector, BFX_DATA,
				 bad_ranges[_i].len, &used),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	ck_assert(guest_all(&f, BFX_DATA, 0xee, bad_ranges[_i].len));
	bfx_close(&f);
}
END_TEST

START_TEST(test_bad_range_out_ioerr_file_untouched)
{
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	bfx_fill(&f, BFX_DATA, 0x44, BFX_IMAGE + 512);
	ck_assert_uint_eq(bfx_rw(&f, VIRTIO_BLK_T_OUT, bad_ranges[_i].sector, BFX_DATA,
				 bad_ranges[_i].len, &used),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));
	bfx_close(&f);
}
END_TEST

START_TEST(test_short_header_ioerr)
{
	uint32_t used;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	for (uint32_t len = 1; len < 16; len++) {
		struct fake_seg s[] = {
			{ bfx_hdr(&f, VIRTIO_BLK_T_OUT, 0), len, F_R },
			{ bfx_status(&f), 1, F_W },
		};

		ck_assert_uint_eq(bfx_run(&f, s, 2, &used), VIRTIO_BLK_S_IOERR);
		ck_assert_uint_eq(used, 1);
	}
	/* No readable part at all: the "header" is missing. */
	{
		struct fake_seg s[] = { { BFX_DATA, 512, F_W }, { bfx_status(&f), 1, F_W } };

		bfx_fill(&f, BFX_DATA, 0xee, 512);
		ck_assert_uint_eq(bfx_run(&f, s, 2, &used), VIRTIO_BLK_S_IOERR);
		ck_assert_uint_eq(used, 1);
		ck_assert(guest_all(&f, BFX_DATA, 0xee, 512));
	}
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));
	ck_assert(!(f.b.vdev.status & VIRTIO_STATUS_NEEDS_RESET));
	bfx_close(&f);
}
END_TEST

START_TEST(test_no_status_byte_breaks_queue)
{
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	bfx_fill(&f, BFX_DATA, 0x44, 512);
	{
		struct fake_seg s[] = { { bfx_hdr(&f, VIRTIO_BLK_T_OUT, 0), 16, F_R },
					{ BFX_DATA, 512, F_R } };

		bfx_publish(&f, s, 2);
	}
	bfx_kick(&f);
	ck_assert(f.b.vdev.status & VIRTIO_STATUS_NEEDS_RESET);
	ck_assert(f.b.vdev.vq[0].broken);
	ck_assert_uint_eq(bfx_used_idx(&f), 0);
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));
	/* Nothing more is taken from the broken queue. */
	{
		struct fake_seg s[] = { { bfx_hdr(&f, VIRTIO_BLK_T_OUT, 1), 16, F_R },
					{ BFX_DATA, 512, F_R },
					{ bfx_status(&f), 1, F_W } };

		bfx_publish(&f, s, 3);
	}
	bfx_kick(&f);
	ck_assert_uint_eq(bfx_used_idx(&f), 0);
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));
	bfx_close(&f);
}
END_TEST

START_TEST(test_header_only_chain_breaks_queue)
{
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	{
		struct fake_seg s[] = { { bfx_hdr(&f, VIRTIO_BLK_T_FLUSH, 0), 16, F_R } };

		bfx_publish(&f, s, 1);
	}
	bfx_kick(&f);
	ck_assert(f.b.vdev.status & VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(bfx_used_idx(&f), 0);
	bfx_close(&f);
}
END_TEST

/* ---- DISCARD and WRITE_ZEROES ---- */

START_TEST(test_discard_zeroes_range)
{
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_DISCARD, 8, 16, 0), VIRTIO_BLK_S_OK);
	ck_assert(bfx_file_is_pattern(&f, 0, 8 * 512));
	ck_assert(bfx_file_is_zero(&f, 8 * 512, 16 * 512));
	ck_assert(bfx_file_is_pattern(&f, 24 * 512, BFX_IMAGE - 24 * 512));
	/* Unaligned to the file system block: still reads back as zeros. */
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_DISCARD, 33, 3, 0), VIRTIO_BLK_S_OK);
	ck_assert(bfx_file_is_pattern(&f, 24 * 512, 9 * 512));
	ck_assert(bfx_file_is_zero(&f, 33 * 512, 3 * 512));
	ck_assert(bfx_file_is_pattern(&f, 36 * 512, BFX_IMAGE - 36 * 512));
	{
		struct stat st;

		ck_assert_int_eq(stat(f.path, &st), 0);
		ck_assert_uint_eq((uint64_t)st.st_size, BFX_IMAGE); /* size kept */
	}
	bfx_close(&f);
}
END_TEST

START_TEST(test_write_zeroes_zeroes_range)
{
	uint32_t flags = _i ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, flags),
			  VIRTIO_BLK_S_OK);
	ck_assert(bfx_file_is_pattern(&f, 0, 16 * 512));
	ck_assert(bfx_file_is_zero(&f, 16 * 512, 8 * 512));
	ck_assert(bfx_file_is_pattern(&f, 24 * 512, BFX_IMAGE - 24 * 512));
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, 3, 1, flags), VIRTIO_BLK_S_OK);
	ck_assert(bfx_file_is_pattern(&f, 0, 3 * 512));
	ck_assert(bfx_file_is_zero(&f, 3 * 512, 512));
	ck_assert(bfx_file_is_pattern(&f, 4 * 512, 12 * 512));
	/* The last sector. */
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, BFX_SECTORS - 1, 1, flags),
			  VIRTIO_BLK_S_OK);
	ck_assert(bfx_file_is_zero(&f, BFX_IMAGE - 512, 512));
	bfx_close(&f);
}
END_TEST

START_TEST(test_discard_bad_requests)
{
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	/* DISCARD takes no flags; WRITE_ZEROES only UNMAP. */
	ck_assert_uint_eq(
		bfx_discard(&f, VIRTIO_BLK_T_DISCARD, 0, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
		VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 2), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0x80000001U),
			  VIRTIO_BLK_S_UNSUPP);
	/* Out of range. */
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_DISCARD, BFX_SECTORS, 1, 0),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, BFX_SECTORS - 1, 2, 0),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX, 1, 0),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_DISCARD, 1ULL << 55, 1, 0),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(bfx_discard(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, UINT32_MAX, 0),
			  VIRTIO_BLK_S_IOERR);
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));
	bfx_close(&f);
}
END_TEST

/* DISCARD / WRITE_ZEROES with `nseg` segments (16 bytes each) after the header. */
static uint8_t discard_nseg(struct bfx *f, uint32_t type, uint32_t payload)
{
	uint64_t hdr = bfx_hdr(f, type, 0);
	struct fake_seg s[3];
	unsigned int n = 0;

	bfx_fill(f, BFX_SEGS + 4096, 0, 64); /* sector 0, 0 sectors, no flags: harmless */
	s[n++] = (struct fake_seg){ hdr, 16, F_R };
	if (payload)
		s[n++] = (struct fake_seg){ BFX_SEGS + 4096, payload, F_R };
	s[n++] = (struct fake_seg){ bfx_status(f), 1, F_W };
	return bfx_run(f, s, n, NULL);
}

START_TEST(test_discard_wrong_segment_count_unsupp)
{
	static const uint32_t type[] = { VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES };
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	for (unsigned int t = 0; t < 2; t++) {
		ck_assert_uint_eq(discard_nseg(&f, type[t], 0), VIRTIO_BLK_S_UNSUPP);  /* none */
		ck_assert_uint_eq(discard_nseg(&f, type[t], 32), VIRTIO_BLK_S_UNSUPP); /* two */
		ck_assert_uint_eq(discard_nseg(&f, type[t], 48), VIRTIO_BLK_S_UNSUPP);
		ck_assert_uint_eq(discard_nseg(&f, type[t], 8),
				  VIRTIO_BLK_S_UNSUPP); /* part of one */
		ck_assert_uint_eq(discard_nseg(&f, type[t], 17), VIRTIO_BLK_S_UNSUPP);
		ck_assert_uint_eq(discard_nseg(&f, type[t], 16), VIRTIO_BLK_S_OK); /* exactly one */
	}
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));
	bfx_close(&f);
}
END_TEST

START_TEST(test_discard_segment_split_across_descriptors)
{
	struct virtio_blk_discard_write_zeroes seg = { .sector = 4, .num_sectors = 2, .flags = 0 };
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	ck_assert_int_eq(gm_write(&f.m, BFX_SEGS, &seg, sizeof(seg)), 0);
	{
		struct fake_seg s[] = {
			{ bfx_hdr(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0), 16, F_R },
			{ BFX_SEGS, 5, F_R },
			{ BFX_SEGS + 5, 11, F_R },
			{ bfx_status(&f), 1, F_W },
		};

		ck_assert_uint_eq(bfx_run(&f, s, 4, NULL), VIRTIO_BLK_S_OK);
	}
	ck_assert(bfx_file_is_pattern(&f, 0, 4 * 512));
	ck_assert(bfx_file_is_zero(&f, 4 * 512, 2 * 512));
	ck_assert(bfx_file_is_pattern(&f, 6 * 512, BFX_IMAGE - 6 * 512));
	bfx_close(&f);
}
END_TEST

/* ---- many requests ---- */

/* Publish IN requests first .. first + n - 1 of one sector each (3 descriptors), heads[k] for
 * request k. */
static void publish_reads(struct bfx *f, unsigned int first, unsigned int n, uint16_t *heads)
{
	for (unsigned int k = first; k < first + n; k++) {
		unsigned int sector = k % BFX_SECTORS;
		struct fake_seg s[] = {
			{ bfx_hdr(f, VIRTIO_BLK_T_IN, sector), 16, F_R },
			{ BFX_DATA + 512ULL * (k % 1024), 512, F_W },
			{ BFX_STATUS + 2048 + k, 1, F_W },
		};

		bfx_fill(f, s[2].addr, 0xff, 1);
		heads[k] = bfx_publish(f, s, 3);
	}
}

START_TEST(test_more_chains_than_ring_entries)
{
	uint16_t heads[300];
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	/* 5 batches of 60 three-descriptor chains: avail and used positions wrap past 256. */
	for (unsigned int batch = 0; batch < 5; batch++) {
		publish_reads(&f, batch * 60, 60, heads);
		bfx_kick(&f);
		ck_assert_uint_eq(bfx_used_idx(&f), (batch + 1) * 60);
	}
	for (unsigned int k = 0; k < 300; k++) {
		bfx_used_is(&f, (uint16_t)k, heads[k], 513);
		ck_assert_uint_eq(bfx_get8(&f, BFX_STATUS + 2048 + k), VIRTIO_BLK_S_OK);
		ck_assert(bfx_guest_is_pattern(&f, BFX_DATA + 512ULL * k, (k % BFX_SECTORS) * 512,
					       512));
	}
	bfx_close(&f);
}
END_TEST

START_TEST(test_notify_without_requests_is_harmless)
{
	struct bfx f;

	bfx_open(&f, false, true, NULL);
	bfx_kick(&f);
	bfx_kick(&f);
	ck_assert_uint_eq(bfx_used_idx(&f), 0);
	ck_assert(!(f.b.vdev.status & VIRTIO_STATUS_NEEDS_RESET));
	/* A queue other than 0 does not exist. */
	pthread_mutex_lock(&f.b.vdev.lock);
	f.b.vdev.ops->queue_notify(&f.b.vdev, 1);
	pthread_mutex_unlock(&f.b.vdev.lock);
	ck_assert_uint_eq(bfx_used_idx(&f), 0);
	bfx_close(&f);
}
END_TEST

Suite *blk_suite(void)
{
	Suite *s = suite_create("blk");
	TCase *req_tc = tcase_create("requests");
	TCase *bad_tc = tcase_create("bad requests");

	tcase_add_test(req_tc, test_features_and_config);
	tcase_add_test(req_tc, test_in_reads_the_image);
	tcase_add_test(req_tc, test_out_writes_the_image);
	tcase_add_test(req_tc, test_out_then_in_round_trip);
	tcase_add_test(req_tc, test_multi_segment_in);
	tcase_add_test(req_tc, test_multi_segment_out);
	tcase_add_test(req_tc, test_indirect_chains);
	tcase_add_test(req_tc, test_flush_ok);
	tcase_add_test(req_tc, test_get_id);
	tcase_add_test(req_tc, test_get_id_20_bytes_without_nul);
	tcase_add_test(req_tc, test_get_id_none_is_zeros);
	tcase_add_test(req_tc, test_discard_zeroes_range);
	tcase_add_loop_test(req_tc, test_write_zeroes_zeroes_range, 0, 2);
	tcase_add_test(req_tc, test_discard_segment_split_across_descriptors);
	tcase_add_test(req_tc, test_more_chains_than_ring_entries);
	tcase_add_test(req_tc, test_notify_without_requests_is_harmless);
	suite_add_tcase(s, req_tc);

	tcase_add_loop_test(bad_tc, test_unknown_type_unsupp, 0,
			    sizeof(unknown_types) / sizeof(unknown_types[0]));
	tcase_add_loop_test(bad_tc, test_bad_range_in_ioerr, 0,
			    sizeof(bad_ranges) / sizeof(bad_ranges[0]));
	tcase_add_loop_test(bad_tc, test_bad_range_out_ioerr_file_untouched, 0,
			    sizeof(bad_ranges) / sizeof(bad_ranges[0]));
	tcase_add_test(bad_tc, test_short_header_ioerr);
	tcase_add_test(bad_tc, test_no_status_byte_breaks_queue);
	tcase_add_test(bad_tc, test_header_only_chain_breaks_queue);
	tcase_add_test(bad_tc, test_discard_bad_requests);
	tcase_add_test(bad_tc, test_discard_wrong_segment_count_unsupp);
	suite_add_tcase(s, bad_tc);

	blk_io_tcases(s);
	blk_flush_tcases(s);
	blk_poll_tcases(s);
	blk_merge_tcases(s);
	blk_turn_tcases(s);
	blk_edge_tcases(s);
	return s;
}
