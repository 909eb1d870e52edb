/*
 * Shared by the hostile micro-guests (hostile_vq.c, hostile_cfg.c): a
 * driver that breaks the rules on purpose, on top of virtio.h and
 * virtio_blk.h.
 *
 * Disks, in PCI order: A is attacked, B stays healthy, C (hostile_vq only)
 * is read-only. After every attack hostile_after() resets A, brings it up
 * again and writes and reads back one sector of A and one of B, so a device
 * that broke, or a VMM that lost track of a disk, shows at once. The sector
 * written after attack i is HOSTILE_SEQ + i, filled with the word
 * disk_word + sector; tests/guests/run.sh checks exactly those sectors in
 * the images afterwards.
 *
 * Output: "PASS name (what the device did)" or "FAIL name: why" per
 * attack, then "attacks N",
 * then the guest exits with its own code (code + 1 if anything failed).
 *
 * Guest code runs slowly where /dev/kvm emulates it, so buffers are filled
 * and compared with rep stos/scas and rings are zeroed only as far as used.
 */
#pragma once
#include <stdint.h>

#include "guest.h"
#include "virtio.h"
#include "virtio_blk.h"

#define HOSTILE_RAM_END 0x10000000u /* run.sh passes --memory 256M */
#define HOSTILE_HOLE_FREE 0xd0000000u /* in the PCI window, no BAR there */
#define HOSTILE_IOAPIC 0xfec00000u
#define HOSTILE_ROM 0xffff0000u	  /* firmware: a read-only memory slot, not RAM */
#define HOSTILE_SEQ 256u	  /* first sector written by the after-attack checks */
#define HOSTILE_QSIZE 32

#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

/* Guest memory, one area per disk where it matters. */
#define H_QMEM(i) (0x100000u + 0x2000u * (i)) /* desc +0, avail +0x1000, used +0x1400 */
#define H_REQS(i) (0x110000u + 0x4000u * (i)) /* struct vblk_req array */
#define H_RAW 0x120000u			      /* hostile request: header */
#define H_RAW_STATUS (H_RAW + 0x20)	      /* ... and its status byte */
#define H_TABLE 0x121000u		      /* small indirect tables */
#define H_WBUF(i) (0x200000u + 0x1000u * (i)) /* one sector written by the checks */
#define H_RBUF(i) (0x208000u + 0x1000u * (i)) /* ... and read back */
#define H_DATA 0x210000u		      /* data of hostile requests (64 KiB) */
#define H_BIG 0x400000u			      /* 1 MiB: the 64K-descriptor table */
#define H_BULK 0x600000u		      /* 512 KiB of reads in flight */

/* Outcomes of waiting for a request, besides a status byte (0-255). */
#define H_NEEDS_RESET (-100)
#define H_TIMEOUT (-101)
#define H_BAD_ID (-102)
#define H_NO_SLOT (-103)
#define H_WAIT (1ULL << 32) /* TSC cycles: about a second */

#define H_FEATURES                                                                              \
	(VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) | VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH) |          \
	 VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_FEATURE(VIRTIO_BLK_F_SEG_MAX) |         \
	 VIRTIO_FEATURE(VIRTIO_BLK_F_RO) | VIRTIO_FEATURE(VIRTIO_BLK_F_DISCARD) |               \
	 VIRTIO_FEATURE(VIRTIO_BLK_F_WRITE_ZEROES))

struct hdisk {
	struct virtio_pci pci;
	struct virtq q;
	unsigned int index; /* 0: A, 1: B, 2: C */
	uint32_t word;	    /* sector s is written with word + s */
	uint32_t sectors;
	uint32_t bar;	    /* BAR 0 as found at start */
};

struct hctx {
	struct hdisk a, b, c;
	unsigned int attacks, failures;
	const char *seen; /* what the device did, printed after PASS */
};

/* An attack returns NULL when Ember behaved, else why not. */
struct hattack {
	const char *name;
	const char *(*run)(struct hctx *c, uint32_t arg);
	uint32_t arg;
};

/* ---- memory ---- */

static inline void h_fill(uint32_t addr, uint32_t word, uint32_t bytes)
{
	uint32_t n = bytes / 4;

	__asm__ volatile("cld; rep stosl" : "+c"(n), "+D"(addr) : "a"(word) : "memory", "cc");
}

/* Do all words of [addr, addr + bytes) equal `word`? */
static inline int h_same(uint32_t addr, uint32_t word, uint32_t bytes)
{
	uint32_t n = bytes / 4;
	uint8_t ne;

	__asm__ volatile("cld; repe scasl; setne %0"
			 : "=q"(ne), "+c"(n), "+D"(addr)
			 : "a"(word)
			 : "memory", "cc");
	return !ne && n == 0;
}

/*
 * An 8-byte MMIO write from 32-bit code (KVM does not emulate MMX moves to
 * MMIO): cmpxchg8b reads the 8 bytes, then writes 8 bytes, the new value if
 * the read matched the two dwords read before, else the old value back.
 * Both are single 8-byte accesses for the VMM.
 */
static inline void mmio_write64(uint32_t a, uint64_t v)
{
	uint32_t lo = mmio_read32(a), hi = mmio_read32(a + 4);

	__asm__ volatile("lock cmpxchg8b (%4)"
			 : "+a"(lo), "+d"(hi)
			 : "b"((uint32_t)v), "c"((uint32_t)(v >> 32)), "r"(a)
			 : "memory", "cc");
}

static inline void mmio_write_n(uint32_t a, uint64_t v, unsigned int width)
{
	switch (width) {
	case 1: mmio_write8(a, (uint8_t)v); break;
	case 2: mmio_write16(a, (uint16_t)v); break;
	case 4: mmio_write32(a, (uint32_t)v); break;
	default: mmio_write64(a, v); break;
	}
}

/*
 * Read `width` bytes (1, 2, 4 or 8) at `a`. The 8-byte read is cmpxchg8b
 * with 0 expected: an 8-byte read, then the same 8 bytes written back.
 */
static inline void mmio_read_n(uint32_t a, unsigned int width)
{
	switch (width) {
	case 1: (void)mmio_read8(a); break;
	case 2: (void)mmio_read16(a); break;
	case 4: (void)mmio_read32(a); break;
	default: {
		uint32_t lo = 0, hi = 0;

		__asm__ volatile("lock cmpxchg8b (%2)"
				 : "+a"(lo), "+d"(hi)
				 : "r"(a), "b"(0), "c"(0)
				 : "memory", "cc");
		break;
	}
	}
}

/* ---- queues and requests ---- */

/* Queue `index` of `size` entries in the disk's 8 KiB at H_QMEM (the layout virtq uses). */
static inline int h_queue(struct hdisk *d, uint16_t size)
{
	uint32_t mem = H_QMEM(d->index);
	uint32_t c = d->pci.common;
	struct virtq *q = &d->q;
	uint16_t max;

	mmio_write16(c + VC_Q_SELECT, 0);
	max = mmio_read16(c + VC_Q_SIZE);
	if (!max)
		return VIRTIO_E_NOQUEUE;
	if (size > max)
		size = max;
	h_fill(mem, 0, 16u * size);
	h_fill(mem + 0x1000, 0, 8 + 2u * size);
	h_fill(mem + 0x1400, 0, 8 + 8u * size);
	q->index = 0;
	q->size = size;
	q->desc = (volatile struct vring_desc *)mem;
	q->avail = (volatile struct vring_avail *)(mem + 0x1000);
	q->used = (volatile struct vring_used *)(mem + 0x1400);
	q->avail_idx = q->last_used = 0;
	q->free_head = 0;
	q->num_free = size;
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	mmio_write16(c + VC_Q_SIZE, size);
	mmio_write32(c + VC_Q_DESC, mem);
	mmio_write32(c + VC_Q_DESC + 4, 0);
	mmio_write32(c + VC_Q_DRIVER, mem + 0x1000);
	mmio_write32(c + VC_Q_DRIVER + 4, 0);
	mmio_write32(c + VC_Q_DEVICE, mem + 0x1400);
	mmio_write32(c + VC_Q_DEVICE + 4, 0);
	q->notify = d->pci.notify + mmio_read16(c + VC_Q_NOTIFY_OFF) * d->pci.notify_mult;
	mmio_write16(c + VC_Q_ENABLE, 1);
	return mmio_read16(c + VC_Q_ENABLE) == 1 ? 0 : VIRTIO_E_QENABLE;
}

/* Reset, negotiate `features`, one queue of `size`, DRIVER_OK. 0 or VIRTIO_E_*. */
static inline int h_up(struct hdisk *d, uint64_t features, uint16_t size)
{
	int err = virtio_negotiate(&d->pci, features);

	if (!err)
		err = h_queue(d, size);
	if (!err)
		err = virtio_driver_ok(&d->pci);
	return err;
}

static inline int h_needs_reset(const struct hdisk *d)
{
	return virtio_status(&d->pci) & VIRTIO_S_NEEDS_RESET;
}

/*
 * Wait for the next used entry (returned in *id) or for NEEDS_RESET.
 * Returns 0, H_NEEDS_RESET or H_TIMEOUT. Leaves the free list alone.
 */
static inline int h_wait_used(struct hdisk *d, uint32_t *id)
{
	uint64_t end = rdtsc() + H_WAIT;

	for (;;) {
		if (virtq_pending(&d->q)) {
			virtio_barrier();
			*id = d->q.used->ring[d->q.last_used & (d->q.size - 1)].id;
			d->q.last_used++;
			return 0;
		}
		if (h_needs_reset(d))
			return H_NEEDS_RESET;
		if (rdtsc() > end)
			return H_TIMEOUT;
		__asm__ volatile("pause");
	}
}

static inline struct vblk_req *h_req(const struct hdisk *d, unsigned int i)
{
	return (struct vblk_req *)(H_REQS(d->index) + i * sizeof(struct vblk_req));
}

/*
 * One well-formed request with `len` bytes at `buf` (0: none), through the
 * free list. Returns the status byte or an H_* outcome.
 */
static inline int h_do(struct hdisk *d, uint32_t type, uint64_t sector, uint32_t buf, uint32_t len)
{
	struct vbuf b = { buf, len, 0 };
	struct vblk_req *r = h_req(d, 0);
	uint32_t used;
	/* A queue too small for header, data and status takes the request as one indirect table. */
	int head = vblk_submit(&d->q, r, type, sector, &b, len ? 1 : 0, d->q.size < 3);
	uint64_t end = rdtsc() + H_WAIT;
	int got;

	if (head < 0)
		return H_NO_SLOT;
	virtq_kick(&d->q);
	while ((got = virtq_get(&d->q, &used)) == -1) {
		if (h_needs_reset(d))
			return H_NEEDS_RESET;
		if (rdtsc() > end)
			return H_TIMEOUT;
		__asm__ volatile("pause");
	}
	return got == head ? r->status : H_BAD_ID;
}

/* Descriptor `i` of the disk's queue, written as the attack wants it. */
static inline void h_desc(struct hdisk *d, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
			  uint16_t next)
{
	volatile struct vring_desc *e = &d->q.desc[i];

	e->addr = addr;
	e->len = len;
	e->flags = flags;
	e->next = next;
}

/* The hostile request's header at H_RAW, its status byte preset to 0xff. */
static inline void h_raw_header(uint32_t type, uint64_t sector)
{
	volatile struct virtio_blk_hdr *h = (volatile struct virtio_blk_hdr *)H_RAW;

	h->type = type;
	h->reserved = 0;
	h->sector = sector;
	*(volatile uint8_t *)H_RAW_STATUS = 0xff;
}

/*
 * Publish `head` (written by hand with h_desc), kick, and wait: returns the
 * status byte at H_RAW_STATUS if the device completed it, else an H_*
 * outcome. The free list is not kept: the disk is reset afterwards.
 */
static inline int h_raw(struct hdisk *d, uint16_t head)
{
	uint32_t id;
	int r;

	virtq_push(&d->q, head);
	virtq_kick(&d->q);
	r = h_wait_used(d, &id);
	return r ? r : *(volatile uint8_t *)H_RAW_STATUS;
}

static inline const char *h_outcome_name(int outcome)
{
	switch (outcome) {
	case H_NEEDS_RESET: return "NEEDS_RESET";
	case H_TIMEOUT: return "no answer";
	case VIRTIO_BLK_S_OK: return "OK";
	case VIRTIO_BLK_S_IOERR: return "IOERR";
	case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
	default: return "other";
	}
}

/* A request the device must refuse: an error status, or NEEDS_RESET. */
static inline const char *h_refused(struct hctx *c, int outcome)
{
	c->seen = h_outcome_name(outcome);
	if (outcome == H_NEEDS_RESET || outcome == VIRTIO_BLK_S_IOERR || outcome == VIRTIO_BLK_S_UNSUPP)
		return 0;
	if (outcome == VIRTIO_BLK_S_OK)
		return "completed with status OK";
	if (outcome == H_TIMEOUT)
		return "neither completed nor NEEDS_RESET";
	if (outcome == 0xff)
		return "completed without writing a status";
	return "unexpected outcome";
}

/* A request that must fail with `want` and leave the device working. */
static inline const char *h_error_kept(struct hctx *c, struct hdisk *d, int outcome, int want)
{
	c->seen = h_outcome_name(outcome);
	if (outcome == H_NEEDS_RESET)
		return "NEEDS_RESET where an error status was due";
	if (outcome != want)
		return outcome == VIRTIO_BLK_S_OK ? "completed with status OK" : "wrong status or no completion";
	return h_needs_reset(d) ? "NEEDS_RESET after the error" : 0;
}

/* ---- the after-attack checks ---- */

/* Write sector `s` of disk `d` with its word, read it back and compare. */
static inline const char *h_sector_rw(struct hdisk *d, uint32_t s)
{
	uint32_t w = d->word + s;
	int st;

	h_fill(H_WBUF(d->index), w, SECTOR_SIZE);
	h_fill(H_RBUF(d->index), 0, SECTOR_SIZE);
	if ((st = h_do(d, VIRTIO_BLK_T_OUT, s, H_WBUF(d->index), SECTOR_SIZE)) != VIRTIO_BLK_S_OK)
		return d->index ? "healthy disk B: write failed" : "disk A after reset: write failed";
	if ((st = h_do(d, VIRTIO_BLK_T_IN, s, H_RBUF(d->index), SECTOR_SIZE)) != VIRTIO_BLK_S_OK)
		return d->index ? "healthy disk B: read failed" : "disk A after reset: read failed";
	if (!h_same(H_RBUF(d->index), w, SECTOR_SIZE))
		return d->index ? "healthy disk B: read back differs" : "disk A after reset: read back differs";
	return 0;
}

/* A valid read of sector 0 (for disks that must keep working without a reset). */
static inline const char *h_read_ok(struct hdisk *d)
{
	return h_do(d, VIRTIO_BLK_T_IN, 0, H_RBUF(d->index), SECTOR_SIZE) == VIRTIO_BLK_S_OK
		       ? 0
		       : "a valid read failed afterwards";
}

static inline const char *h_reset_reuse(struct hctx *c, uint32_t sector)
{
	struct hdisk *a = &c->a;

	mmio_write8(a->pci.common + VC_STATUS, 0);
	if (virtio_status(&a->pci) != 0)
		return "disk A: status not 0 after reset";
	if (h_up(a, H_FEATURES, HOSTILE_QSIZE))
		return "disk A: bring-up after reset failed";
	return h_sector_rw(a, sector);
}

static inline void hostile_report(struct hctx *c, const char *name, const char *why)
{
	puts_serial(why ? "FAIL " : "PASS ");
	puts_serial(name);
	if (!why && c->seen) {
		puts_serial(" (");
		puts_serial(c->seen);
		putc_serial(')');
	}
	if (why) {
		puts_serial(": ");
		puts_serial(why);
		c->failures++;
	}
	putc_serial('\n');
}

/* After an attack: reset and reuse A, a valid write and read on B, report. */
static inline void hostile_after(struct hctx *c, const char *name, const char *why)
{
	uint32_t s = HOSTILE_SEQ + c->attacks++;
	const char *a = h_reset_reuse(c, s);
	const char *b = h_sector_rw(&c->b, s);

	hostile_report(c, name, why ? why : a ? a : b);
}

static inline void hostile_run(struct hctx *c, const struct hattack *t, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		c->seen = 0;
		hostile_after(c, t[i].name, t[i].run(c, t[i].arg));
	}
}

/* Find the virtio-blk disks in PCI order and bring them up; fail(code) if missing. */
static inline void hostile_start(struct hctx *c, unsigned int ndisks, uint8_t code)
{
	struct hdisk *d[3] = { &c->a, &c->b, &c->c };
	int slot = -1;

	c->attacks = c->failures = 0;
	c->seen = 0;
	for (unsigned int i = 0; i < ndisks; i++) {
		slot = pci_find((unsigned int)(slot + 1), VIRTIO_PCI_VENDOR,
				VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK));
		if (slot < 0)
			fail(code, i);
		d[i]->index = i;
		d[i]->word = 0xa0000000u + 0x10000000u * i;
		if (virtio_pci_probe(&d[i]->pci, (unsigned int)slot))
			fail(code, 0x10 + i);
		d[i]->bar = virtio_bar_addr((unsigned int)slot, 0);
		if (h_up(d[i], H_FEATURES, HOSTILE_QSIZE))
			fail(code, 0x20 + i);
		d[i]->sectors = (uint32_t)virtio_cfg_read64(&d[i]->pci, VIRTIO_BLK_CFG_CAPACITY);
	}
}

/* "attacks N", then exit with `code` if every attack passed, else code + 1. */
static inline __attribute__((noreturn)) void hostile_end(struct hctx *c, uint8_t code)
{
	puts_serial("attacks ");
	put_dec(c->attacks);
	putc_serial('\n');
	guest_exit(c->failures ? (uint8_t)(code + 1) : code);
}
