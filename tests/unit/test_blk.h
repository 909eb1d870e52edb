#pragma once
/*
 * The fixture shared by the virtio-blk tests (test_blk.c, test_blk_io.c and others;
 * helpers in blk_fixture.c): a temporary raw image filled with a known
 * pattern, guest RAM, queue 0 laid out with the fake vring and set up by
 * hand (no transport: interrupts are skipped), and a driver that publishes
 * requests and waits for them.
 *
 * With `.sync_io` every request completes inside queue_notify; with io_uring
 * completions arrive on the event loop thread and bfx_wait_used() polls the
 * used index (bounded).
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_blk.h>

#include "tests/unit/fake_vring.h"
#include "virtio/blk.h"
#include "vmm/disk_impl.h" /* white box: the raw engine's ring and merging */
#include "vmm/evloop.h"
#include "vmm/gm.h"

#define BFX_RAM	     (4ULL << 20)
#define BFX_IMAGE    (64ULL << 10) /* default image: 128 sectors */
#define BFX_SECTORS  (BFX_IMAGE / 512)
#define BFX_RING     0x1000ULL	 /* queue of BLK_QUEUE_SIZE entries */
#define BFX_HDR	     0x10000ULL	 /* request headers, 16 bytes per request */
#define BFX_STATUS   0x20000ULL	 /* status bytes, one per request */
#define BFX_SEGS     0x28000ULL	 /* discard / write-zeroes segments */
#define BFX_TABLE    0x30000ULL	 /* indirect tables, 64 bytes apart */
#define BFX_DATA     0x100000ULL /* data buffers (1 MiB) */
#define BFX_DATA2    0x200000ULL /* a second data area (1 MiB) */
#define BFX_MAX_REQS 1024

/* struct fake_seg.write */
#define F_R false
#define F_W true

struct bfx {
	char path[64];
	uint64_t size;
	struct gm m;
	struct fake_vring v;
	struct blk b;
	struct evloop loop;
	bool uring, loop_running, opened;
	bool event_idx;	      /* set before bfx_try_open(): negotiate EVENT_IDX */
	unsigned int poll_us; /* set before bfx_try_open(): blk_options.poll_us */
	/* Set before bfx_try_open(): the device runs on this loop (the test's; it
	 * starts and stops it), in either mode, and not on one of its own. */
	struct evloop *shared_loop;
	uint64_t ram; /* set before bfx_try_open(): guest RAM (sparse), 0: BFX_RAM */
	struct disk *disk; /* set before bfx_try_open(): the device takes this disk over */
	uint16_t next;	   /* next free descriptor of the ring */
	unsigned int nreq; /* header / status slots handed out */
};

/* Test cases defined beside test_blk.c, added to its suite. */
void blk_io_tcases(Suite *s);
void blk_flush_tcases(Suite *s);
void blk_poll_tcases(Suite *s);
void blk_merge_tcases(Suite *s);
void blk_turn_tcases(Suite *s);
void blk_edge_tcases(Suite *s);

/* Requests the disk merged into a neighbour's transfer so far. */
uint64_t bfx_merged(struct bfx *f);

/* The byte the image holds at `off` when created. */
uint8_t bfx_pattern(uint64_t off);

/* Create the temporary image (pattern-filled, `size` bytes) at f->path. */
void bfx_image(struct bfx *f, uint64_t size);

/* blk_open the image (id may be NULL) and set up queue 0; returns blk_open's result. */
int bfx_try_open(struct bfx *f, bool readonly, bool sync, const char *id);

/* bfx_image(BFX_IMAGE) and a successful bfx_try_open; io_uring mode starts the loop. */
void bfx_open(struct bfx *f, bool readonly, bool sync, const char *id);

/* Stop the loop, close the device, free guest RAM, delete the image. */
void bfx_close(struct bfx *f);

/* Guest address of a fresh header slot holding (type, sector). */
uint64_t bfx_hdr(struct bfx *f, uint32_t type, uint64_t sector);

/* Guest address of a fresh status byte, preset to 0xff. */
uint64_t bfx_status(struct bfx *f);

/* Write `segs` as the next chain (descriptors f->next, ...) and publish it. Returns the head. */
uint16_t bfx_publish(struct bfx *f, const struct fake_seg *segs, unsigned int n);

/* queue_notify with the device lock held, as the I/O thread would. */
void bfx_kick(struct bfx *f);

/* Used index as the driver sees it (acquire: entries and statuses before it are visible). */
uint16_t bfx_used_idx(struct bfx *f);

/* Wait (bounded) until the used index reaches `idx`; fails the test otherwise. */
void bfx_wait_used(struct bfx *f, uint16_t idx);

/* The used element for request number `idx` must be (head, len). */
void bfx_used_is(struct bfx *f, uint16_t idx, uint16_t head, uint32_t len);

/*
 * One request [header][data: `len` bytes at `data`, writable for IN and GET_ID][status],
 * published, kicked and waited for. Returns the status; *used_len if not NULL.
 */
uint8_t bfx_rw(struct bfx *f, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
	       uint32_t *used_len);

/* A request of the given segments whose last byte is the status; kicked and waited for. */
uint8_t bfx_run(struct bfx *f, const struct fake_seg *segs, unsigned int n, uint32_t *used_len);

/* DISCARD / WRITE_ZEROES with one segment (sector, num, flags). */
uint8_t bfx_discard(struct bfx *f, uint32_t type, uint64_t sector, uint32_t num, uint32_t flags);

uint8_t bfx_get8(struct bfx *f, uint64_t gpa);
void bfx_fill(struct bfx *f, uint64_t gpa, uint8_t byte, uint64_t len);
uint8_t *bfx_host(struct bfx *f, uint64_t gpa, uint64_t len);

/* The image bytes [off, off + len) through a file descriptor of the test's own. */
void bfx_file_read(struct bfx *f, uint64_t off, void *buf, uint64_t len);

/* Whether the image still holds the creation pattern / zeros / `byte` over [off, off + len). */
bool bfx_file_is_pattern(struct bfx *f, uint64_t off, uint64_t len);
bool bfx_file_is_zero(struct bfx *f, uint64_t off, uint64_t len);
bool bfx_file_is_byte(struct bfx *f, uint64_t off, uint64_t len, uint8_t byte);

/* Whether guest bytes [gpa, gpa + len) equal the image pattern from image offset `off`. */
bool bfx_guest_is_pattern(struct bfx *f, uint64_t gpa, uint64_t off, uint64_t len);
