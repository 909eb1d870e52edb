/*
 * Hostile virtqueues and requests against virtio-blk (see hostile.h for the
 * disks and the checks run after every attack).
 *
 * Queue set-up with bad sizes and ring addresses; requests whose buffers
 * lie beyond RAM, in the MMIO hole, across the end of RAM or wrap around;
 * descriptor loops; indirect tables that are too big (a 64K-descriptor
 * chain, which disk C holds at sector 0: run.sh writes it), nested, looped
 * or misplaced; chains without a status byte; available indexes that jump;
 * sectors past or across the end of the disk; writes to the read-only disk
 * C; a reset with reads in flight; queue registers written late.
 *
 * Disk A must be 2048 sectors and fresh; it gets its last 8 sectors written
 * first (so that a request straddling the end can be seen to leave them
 * alone). Sectors from 1024 up, except those the checks write, are the
 * target of every hostile write and must stay zero.
 *
 * Exit: 40 if every attack passed, 41 otherwise (Ember: 104 / 105).
 */
#include "hostile.h"

#define CODE 40
#define TARGET 1024u		   /* sector hostile writes aim at */
#define TABLE_ENTRIES 65536u	   /* the indirect table on disk C */
#define WORD_HOSTILE 0xdeadbeefu /* data of hostile writes */

/* ---- queue set-up ---- */

/* Enable queue 0 with these registers: the device must refuse and ask for a reset. */
static const char *enable_refused(struct hctx *c, uint16_t size, const uint64_t ring[3])
{
	struct hdisk *a = &c->a;
	uint32_t cm = a->pci.common;

	if (virtio_negotiate(&a->pci, H_FEATURES))
		return "negotiation failed";
	mmio_write16(cm + VC_Q_SELECT, 0);
	mmio_write16(cm + VC_Q_SIZE, size);
	for (unsigned int i = 0; i < 3; i++) {
		mmio_write32(cm + VC_Q_DESC + 8 * i, (uint32_t)ring[i]);
		mmio_write32(cm + VC_Q_DESC + 8 * i + 4, (uint32_t)(ring[i] >> 32));
	}
	mmio_write16(cm + VC_Q_ENABLE, 1);
	if (mmio_read16(cm + VC_Q_ENABLE))
		return "queue enabled";
	if (!h_needs_reset(a))
		return "queue refused without NEEDS_RESET";
	c->seen = "queue refused, NEEDS_RESET";
	/* Carry on as a careless driver would: DRIVER_OK and a kick must do nothing. */
	virtio_set_status(&a->pci, VIRTIO_S_DRIVER_OK);
	mmio_write16(a->pci.notify, 0);
	return 0;
}

static void valid_rings(uint64_t ring[3])
{
	ring[0] = H_QMEM(0);
	ring[1] = H_QMEM(0) + 0x1000;
	ring[2] = H_QMEM(0) + 0x1400;
}

static const char *qsize(struct hctx *c, uint32_t size)
{
	uint64_t ring[3];

	valid_rings(ring);
	return enable_refused(c, (uint16_t)size, ring);
}

/* Size 1 is a power of two: it must work (requests go through indirect tables). */
static const char *qsize_one(struct hctx *c, uint32_t arg)
{
	(void)arg;
	if (h_up(&c->a, H_FEATURES, 1))
		return "bring-up with one entry failed";
	for (int i = 0; i < 3; i++)
		if (h_read_ok(&c->a))
			return "a read through a one-entry queue failed";
	c->seen = "accepted, reads work";
	return 0;
}

/* Places that are not RAM, for a ring or a buffer. */
static uint64_t bad_place(const struct hctx *c, unsigned int where)
{
	switch (where) {
	case 0: return HOSTILE_RAM_END;			/* just beyond RAM */
	case 1: return HOSTILE_RAM_END - 16;		/* across the end of RAM */
	case 2: return HOSTILE_HOLE_FREE;		/* MMIO hole, nothing there */
	case 3: return c->a.bar;			/* the device's own registers */
	case 4: return HOSTILE_IOAPIC;			/* the I/O APIC */
	case 5: return HOSTILE_ROM;			/* the firmware (read-only slot) */
	case 6: return 1ULL << 32;			/* above 4 GiB: no RAM there */
	default: return 0xfffffffffffffff0ULL;		/* wraps around */
	}
}

/* arg: ring (0 desc, 1 avail, 2 used) << 8 | place (8: RAM, misaligned) */
static const char *ring_at(struct hctx *c, uint32_t arg)
{
	static const uint32_t misalign[3] = { 8, 1, 2 };
	unsigned int which = arg >> 8;
	uint64_t ring[3];

	valid_rings(ring);
	if ((arg & 0xff) == 8)
		ring[which] += misalign[which];
	else
		ring[which] = bad_place(c, arg & 0xff);
	return enable_refused(c, HOSTILE_QSIZE, ring);
}

/* ---- data buffers ---- */

/* header, data, status as descriptors 0-2, with one of them replaced by (addr, len). */
static const char *chain3(struct hctx *c, uint32_t type, int bad, uint64_t addr, uint32_t len)
{
	struct hdisk *a = &c->a;
	uint16_t dflags = type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0;

	h_fill(H_DATA, WORD_HOSTILE, SECTOR_SIZE);
	h_raw_header(type, TARGET);
	h_desc(a, 0, bad == 0 ? addr : H_RAW, bad == 0 ? len : 16, VRING_DESC_F_NEXT, 1);
	h_desc(a, 1, bad == 1 ? addr : H_DATA, bad == 1 ? len : SECTOR_SIZE,
	       (uint16_t)(dflags | VRING_DESC_F_NEXT), 2);
	h_desc(a, 2, bad == 2 ? addr : H_RAW_STATUS, bad == 2 ? len : 1, VRING_DESC_F_WRITE, 0);
	return h_refused(c, h_raw(a, 0));
}

/* arg: OUT << 8 | place (9: a zero-length buffer, 10: a 4 GiB one) */
static const char *data_at(struct hctx *c, uint32_t arg)
{
	uint32_t type = arg >> 8 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	unsigned int where = arg & 0xff;

	if (where == 9)
		return chain3(c, type, 1, H_DATA, 0);
	if (where == 10)
		return chain3(c, type, 1, H_DATA, 0xfffffe00u);
	return chain3(c, type, 1, where == 1 ? HOSTILE_RAM_END - 256 : bad_place(c, where), SECTOR_SIZE);
}

/* arg: 0 header beyond RAM, 1 status beyond RAM, 2 status in ROM, 3 status of length 0 */
static const char *hdr_status_at(struct hctx *c, uint32_t arg)
{
	switch (arg) {
	case 0: return chain3(c, VIRTIO_BLK_T_OUT, 0, HOSTILE_RAM_END, 16);
	case 1: return chain3(c, VIRTIO_BLK_T_OUT, 2, HOSTILE_RAM_END, 1);
	case 2: return chain3(c, VIRTIO_BLK_T_OUT, 2, HOSTILE_ROM, 1);
	default: return chain3(c, VIRTIO_BLK_T_OUT, 2, H_RAW_STATUS, 0);
	}
}

/* ---- descriptor chains ---- */

/* arg: 0 self loop, 1 two-step loop, 2 loop through the ring, 3 next == size, 4 next 0xffff */
static const char *desc_loop(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;

	h_fill(H_DATA, WORD_HOSTILE, SECTOR_SIZE);
	h_raw_header(VIRTIO_BLK_T_OUT, TARGET);
	switch (arg) {
	case 0:
		h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, 0);
		break;
	case 1:
		h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, 1);
		h_desc(a, 1, H_DATA, SECTOR_SIZE, VRING_DESC_F_NEXT, 0);
		break;
	case 2:
		h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, 1);
		for (uint16_t i = 1; i < HOSTILE_QSIZE; i++)
			h_desc(a, i, H_DATA, SECTOR_SIZE, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % HOSTILE_QSIZE));
		break;
	default:
		h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, arg == 3 ? HOSTILE_QSIZE : 0xffff);
		break;
	}
	return h_refused(c, h_raw(a, 0));
}

/* arg: the head index put in the available ring */
static const char *avail_head(struct hctx *c, uint32_t arg)
{
	h_raw_header(VIRTIO_BLK_T_IN, 0);
	return h_refused(c, h_raw(&c->a, (uint16_t)arg));
}

/* arg: how far the available index jumps ahead (mod 2^16) */
static const char *avail_jump(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	uint32_t id;

	h_raw_header(VIRTIO_BLK_T_IN, 0);
	h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, 1);
	h_desc(a, 1, H_RAW_STATUS, 1, VRING_DESC_F_WRITE, 0);
	for (unsigned int i = 0; i < HOSTILE_QSIZE; i++)
		a->q.avail->ring[i] = 0;
	a->q.avail_idx = (uint16_t)(a->q.avail_idx + arg);
	virtq_kick(&a->q);
	if (h_wait_used(a, &id) != H_NEEDS_RESET)
		return "the device took the entries";
	c->seen = "NEEDS_RESET";
	return 0;
}

/* Readable after writable, no writable byte at all, a writable header, a short header. */
static const char *chain_shape(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;

	h_raw_header(VIRTIO_BLK_T_OUT, TARGET);
	h_fill(H_DATA, WORD_HOSTILE, SECTOR_SIZE);
	switch (arg) {
	case 0:
		h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, 1);
		h_desc(a, 1, H_RAW_STATUS, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
		h_desc(a, 2, H_DATA, SECTOR_SIZE, 0, 0);
		break;
	case 1:
		h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, 1);
		h_desc(a, 1, H_DATA, SECTOR_SIZE, 0, 0);
		break;
	case 2:
		h_desc(a, 0, H_RAW, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
		h_desc(a, 1, H_RAW_STATUS, 1, VRING_DESC_F_WRITE, 0);
		break;
	default:
		h_desc(a, 0, H_RAW, 8, VRING_DESC_F_NEXT, 1);
		h_desc(a, 1, H_RAW_STATUS, 1, VRING_DESC_F_WRITE, 0);
		break;
	}
	return h_refused(c, h_raw(a, 0));
}

/* ---- indirect tables ---- */

static void table_entry(uint32_t table, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	volatile struct vring_desc *e = (volatile struct vring_desc *)table + i;

	e->addr = addr;
	e->len = len;
	e->flags = flags;
	e->next = next;
}

/* A well-formed OUT request to TARGET as a three-entry table at `table`. */
static void valid_table(uint32_t table)
{
	table_entry(table, 0, H_RAW, 16, VRING_DESC_F_NEXT, 1);
	table_entry(table, 1, H_DATA, SECTOR_SIZE, VRING_DESC_F_NEXT, 2);
	table_entry(table, 2, H_RAW_STATUS, 1, VRING_DESC_F_WRITE, 0);
}

/*
 * The table on disk C: 65536 descriptors chained in order, header, 65534
 * data sectors, status (run.sh builds it). Read into H_BIG and offered as
 * one indirect descriptor.
 */
static const char *indirect_64k(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	volatile struct vring_desc *t = (volatile struct vring_desc *)H_BIG;

	(void)arg;
	if (h_do(&c->c, VIRTIO_BLK_T_IN, 0, H_BIG, TABLE_ENTRIES * 16) != VIRTIO_BLK_S_OK)
		return "could not read the table from disk C";
	if (t[0].addr != H_RAW || t[1].next != 2 || t[TABLE_ENTRIES - 2].next != TABLE_ENTRIES - 1 ||
	    t[TABLE_ENTRIES - 1].addr != H_RAW_STATUS)
		return "disk C does not hold the expected table";
	h_fill(H_DATA, WORD_HOSTILE, SECTOR_SIZE);
	h_raw_header(VIRTIO_BLK_T_OUT, TARGET);
	h_desc(a, 0, H_BIG, TABLE_ENTRIES * 16, VRING_DESC_F_INDIRECT, 0);
	return h_refused(c, h_raw(a, 0));
}

/* Indirect descriptors the device must refuse; arg picks the variant. */
static const char *indirect_bad(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	uint64_t addr = H_TABLE;
	uint32_t len = 48;
	uint16_t flags = VRING_DESC_F_INDIRECT;

	h_fill(H_DATA, WORD_HOSTILE, SECTOR_SIZE);
	h_raw_header(VIRTIO_BLK_T_OUT, TARGET);
	valid_table(H_TABLE);
	valid_table(H_TABLE + 0x100);
	switch (arg) {
	case 0: len = 0; break;					/* empty table */
	case 1: len = 40; break;				/* 2.5 entries */
	case 2: addr = HOSTILE_RAM_END; break;			/* beyond RAM */
	case 3: addr = HOSTILE_RAM_END - 32; break;		/* across the end of RAM */
	case 4: addr = HOSTILE_HOLE_FREE; break;		/* in the MMIO hole */
	case 5: len = 0xfffffff0u; break;			/* 4 GiB */
	case 6: /* nested: the table's first entry is itself indirect */
		table_entry(H_TABLE, 0, H_TABLE + 0x100, 48, VRING_DESC_F_INDIRECT, 0);
		break;
	case 7: /* nested after the header */
		table_entry(H_TABLE, 1, H_TABLE + 0x100, 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 2);
		break;
	case 8: /* loop inside the table */
		table_entry(H_TABLE, 1, H_DATA, SECTOR_SIZE, VRING_DESC_F_NEXT, 0);
		break;
	case 9: /* next beyond the table */
		table_entry(H_TABLE, 1, H_DATA, SECTOR_SIZE, VRING_DESC_F_NEXT, 7);
		break;
	case 10: /* INDIRECT together with NEXT */
		flags |= VRING_DESC_F_NEXT;
		h_desc(a, 1, H_RAW_STATUS, 1, VRING_DESC_F_WRITE, 0);
		break;
	default: /* an indirect descriptor after a plain one */
		h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, 1);
		h_desc(a, 1, H_TABLE + 16, 32, VRING_DESC_F_INDIRECT, 0);
		return h_refused(c, h_raw(a, 0));
	}
	h_desc(a, 0, addr, len, flags, 1);
	return h_refused(c, h_raw(a, 0));
}

/* A well-formed indirect request when INDIRECT_DESC was not negotiated. */
static const char *indirect_not_negotiated(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;

	(void)arg;
	if (h_up(a, H_FEATURES & ~VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), HOSTILE_QSIZE))
		return "bring-up without INDIRECT_DESC failed";
	h_fill(H_DATA, WORD_HOSTILE, SECTOR_SIZE);
	h_raw_header(VIRTIO_BLK_T_OUT, TARGET);
	valid_table(H_TABLE);
	h_desc(a, 0, H_TABLE, 48, VRING_DESC_F_INDIRECT, 0);
	return h_refused(c, h_raw(a, 0));
}

/* ---- sectors and request types: an error status, the device keeps working ---- */

struct range_case {
	uint32_t type;
	uint64_t sector; /* ~0ULL - k: capacity - k */
	uint32_t len;	 /* data bytes; for DISCARD / WRITE_ZEROES the sector count */
	uint32_t flags;	 /* DISCARD / WRITE_ZEROES flags */
	uint8_t want;
};

#define CAP(k) (~0ULL - (k))
static const struct range_case range_cases[] = {
	{ VIRTIO_BLK_T_IN, CAP(0), 512, 0, VIRTIO_BLK_S_IOERR },		 /* at the end */
	{ VIRTIO_BLK_T_IN, CAP(1), 1024, 0, VIRTIO_BLK_S_IOERR },		 /* across it */
	{ VIRTIO_BLK_T_OUT, CAP(0), 512, 0, VIRTIO_BLK_S_IOERR },
	{ VIRTIO_BLK_T_OUT, CAP(1), 1024, 0, VIRTIO_BLK_S_IOERR },
	{ VIRTIO_BLK_T_OUT, 0xffffffffffffffffULL, 512, 0, VIRTIO_BLK_S_IOERR }, /* last sector of 2^64 */
	{ VIRTIO_BLK_T_OUT, 1ULL << 55, 512, 0, VIRTIO_BLK_S_IOERR },		 /* byte offset wraps to 0 */
	{ VIRTIO_BLK_T_OUT, 1ULL << 63, 512, 0, VIRTIO_BLK_S_IOERR },
	{ VIRTIO_BLK_T_IN, 0, 100, 0, VIRTIO_BLK_S_IOERR },			 /* not whole sectors */
	{ VIRTIO_BLK_T_OUT, TARGET + 76, 1000, 0, VIRTIO_BLK_S_IOERR },
	{ VIRTIO_BLK_T_WRITE_ZEROES, CAP(4), 8, 0, VIRTIO_BLK_S_IOERR },	 /* across the end */
	{ VIRTIO_BLK_T_WRITE_ZEROES, 0, 0xffffffffu, 0, VIRTIO_BLK_S_IOERR },	 /* 2^32 - 1 sectors */
	{ VIRTIO_BLK_T_WRITE_ZEROES, 1ULL << 55, 8, 0, VIRTIO_BLK_S_IOERR },
	{ VIRTIO_BLK_T_DISCARD, CAP(0), 8, 0, VIRTIO_BLK_S_IOERR },
	{ VIRTIO_BLK_T_WRITE_ZEROES, CAP(8), 1, 0xfffffffeu, VIRTIO_BLK_S_UNSUPP }, /* unknown flags */
	{ 0x7f, 0, 0, 0, VIRTIO_BLK_S_UNSUPP },					 /* unknown types */
	{ 0xffffffffu, 0, 0, 0, VIRTIO_BLK_S_UNSUPP },
};

/* One request of a range_case on disk `d`: returns the outcome. */
static int range_request(struct hdisk *d, const struct range_case *r)
{
	uint64_t sector = r->sector >= CAP(16) ? d->sectors - (~0ULL - r->sector) : r->sector;
	volatile struct {
		uint64_t sector;
		uint32_t num, flags;
	} *seg = (void *)(H_DATA + 0x1000);

	if (r->type == VIRTIO_BLK_T_DISCARD || r->type == VIRTIO_BLK_T_WRITE_ZEROES) {
		seg->sector = sector;
		seg->num = r->len;
		seg->flags = r->flags;
		return h_do(d, r->type, 0, H_DATA + 0x1000, 16);
	}
	h_fill(H_DATA, WORD_HOSTILE, 1024);
	return h_do(d, r->type, sector, H_DATA, r->len);
}

static const char *range(struct hctx *c, uint32_t arg)
{
	const struct range_case *r = &range_cases[arg];
	const char *why = h_error_kept(c, &c->a, range_request(&c->a, r), r->want);

	return why ? why : h_read_ok(&c->a);
}

/* ---- the read-only disk C: writes fail, C keeps working, its image is unchanged ---- */

static const char *readonly(struct hctx *c, uint32_t arg)
{
	static const struct range_case cases[] = {
		{ VIRTIO_BLK_T_OUT, 0, 512, 0, VIRTIO_BLK_S_IOERR },
		{ VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, VIRTIO_BLK_S_IOERR },
		{ VIRTIO_BLK_T_DISCARD, 0, 8, 0, VIRTIO_BLK_S_IOERR },
		{ VIRTIO_BLK_T_OUT, CAP(1), 512, 0, VIRTIO_BLK_S_IOERR },
	};
	struct hdisk *ro = &c->c;
	const char *why;

	if (arg == 4) { /* a driver that does not accept VIRTIO_BLK_F_RO still cannot write */
		if (h_up(ro, H_FEATURES & ~VIRTIO_FEATURE(VIRTIO_BLK_F_RO), HOSTILE_QSIZE))
			return "bring-up without F_RO failed";
		why = h_error_kept(c, ro, range_request(ro, &cases[0]), VIRTIO_BLK_S_IOERR);
		if (h_up(ro, H_FEATURES, HOSTILE_QSIZE))
			return "bring-up again failed";
	} else {
		why = h_error_kept(c, ro, range_request(ro, &cases[arg]), cases[arg].want);
	}
	return why ? why : h_read_ok(ro);
}

/* ---- the driver's side of the protocol ---- */

/* The same chain twice in the available ring: Ember must survive; either result is fine. */
static const char *same_head_twice(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	uint32_t id;
	int r;

	(void)arg;
	h_raw_header(VIRTIO_BLK_T_IN, 0);
	h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, 1);
	h_desc(a, 1, H_DATA, SECTOR_SIZE, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	h_desc(a, 2, H_RAW_STATUS, 1, VRING_DESC_F_WRITE, 0);
	virtq_push(&a->q, 0);
	virtq_push(&a->q, 0);
	virtq_kick(&a->q);
	for (int i = 0; i < 2; i++)
		if ((r = h_wait_used(a, &id)) == H_TIMEOUT)
			return "neither completed nor NEEDS_RESET";
		else if (r == H_NEEDS_RESET)
			break;
	c->seen = r == H_NEEDS_RESET ? "NEEDS_RESET" : "served twice";
	return 0;
}

/* A read whose buffer covers the queue's own rings: the guest's problem, not Ember's. */
static const char *buffer_over_rings(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	uint32_t id;

	(void)arg;
	h_raw_header(VIRTIO_BLK_T_IN, 0);
	h_desc(a, 0, H_RAW, 16, VRING_DESC_F_NEXT, 1);
	h_desc(a, 1, H_QMEM(0), 0x2000, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	h_desc(a, 2, H_RAW_STATUS, 1, VRING_DESC_F_WRITE, 0);
	virtq_push(&a->q, 0);
	virtq_kick(&a->q);
	/* Any outcome: the rings were overwritten. */
	c->seen = h_outcome_name(h_wait_used(a, &id) ? H_NEEDS_RESET : VIRTIO_BLK_S_OK);
	return 0;
}

/* Reset with 32 reads of 16 KiB in flight: status 0 after it, and no read half done. */
static const char *reset_in_flight(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	uint16_t used;

	(void)arg;
	for (unsigned int i = 0; i < HOSTILE_QSIZE; i++) {
		struct vbuf b = { H_BULK + 0x4000 * i, 0x4000, 0 };

		if (vblk_submit(&a->q, h_req(a, i), VIRTIO_BLK_T_IN, 32 * i, &b, 1, 1) < 0)
			return "could not queue the reads";
	}
	virtq_kick(&a->q);
	mmio_write8(a->pci.common + VC_STATUS, 0);
	if (virtio_status(&a->pci))
		return "status not 0 after the reset";
	/* Either the reset came before the kick was served, or it finished every read first. */
	used = (uint16_t)(a->q.used->idx - a->q.last_used);
	if (used != 0 && used != HOSTILE_QSIZE)
		return "the reset dropped reads in flight";
	c->seen = used ? "status 0, the 32 reads completed first" : "status 0, before the kick was served";
	return 0;
}

/* Queue registers written after DRIVER_OK are ignored; the queue keeps working. */
static const char *late_queue_writes(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	uint32_t cm = a->pci.common;

	(void)arg;
	mmio_write16(cm + VC_Q_SELECT, 0);
	mmio_write16(cm + VC_Q_SIZE, 3);
	mmio_write32(cm + VC_Q_DESC, HOSTILE_HOLE_FREE);
	mmio_write32(cm + VC_Q_DRIVER, HOSTILE_RAM_END);
	mmio_write32(cm + VC_Q_DEVICE + 4, 1);
	mmio_write16(cm + VC_Q_ENABLE, 0);
	if (mmio_read16(cm + VC_Q_SIZE) != HOSTILE_QSIZE || mmio_read32(cm + VC_Q_DESC) != H_QMEM(0) ||
	    mmio_read32(cm + VC_Q_DEVICE + 4) != 0 || mmio_read16(cm + VC_Q_ENABLE) != 1)
		return "queue registers changed after DRIVER_OK";
	c->seen = "ignored";
	return h_read_ok(a);
}

/* Status games: DRIVER_OK without FEATURES_OK, NEEDS_RESET set by the driver, late features. */
static const char *status_games(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	uint32_t cm = a->pci.common;

	c->seen = "ignored";
	switch (arg) {
	case 0:
		mmio_write8(cm + VC_STATUS, 0);
		mmio_write8(cm + VC_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_DRIVER_OK);
		return virtio_status(&a->pci) & VIRTIO_S_DRIVER_OK ? "DRIVER_OK taken without FEATURES_OK" : 0;
	case 1:
		mmio_write8(cm + VC_STATUS, (uint8_t)(virtio_status(&a->pci) | VIRTIO_S_NEEDS_RESET));
		if (h_needs_reset(a))
			return "the driver could set NEEDS_RESET";
		return h_read_ok(a);
	default:
		mmio_write32(cm + VC_GFSELECT, 0);
		mmio_write32(cm + VC_GF, 0xffffffffu);
		mmio_write32(cm + VC_GFSELECT, 1);
		mmio_write32(cm + VC_GF, 0xffffffffu);
		if (mmio_read32(cm + VC_GF) != (uint32_t)(a->pci.features >> 32))
			return "features changed after FEATURES_OK";
		return h_read_ok(a);
	}
}

/* A kick before DRIVER_OK is not served; after DRIVER_OK the request completes. */
static const char *kick_before_driver_ok(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	struct vbuf b = { H_DATA, SECTOR_SIZE, 0 };
	uint32_t len;
	int head;

	(void)arg;
	if (virtio_negotiate(&a->pci, H_FEATURES) || h_queue(a, HOSTILE_QSIZE))
		return "set-up failed";
	head = vblk_submit(&a->q, h_req(a, 0), VIRTIO_BLK_T_IN, 0, &b, 1, 0);
	virtq_kick(&a->q);
	for (int i = 0; i < 100; i++)
		if (virtq_pending(&a->q))
			return "served before DRIVER_OK";
	if (virtio_driver_ok(&a->pci))
		return "DRIVER_OK refused";
	virtq_kick(&a->q);
	if (virtq_wait(&a->q, &len, H_WAIT) != head || h_req(a, 0)->status != VIRTIO_BLK_S_OK)
		return "not served after DRIVER_OK";
	c->seen = "served after DRIVER_OK";
	return 0;
}

#define RINGS(r, p)                                                                       \
	{ "ring-desc-" r, ring_at, 0x000 | (p) }, { "ring-avail-" r, ring_at, 0x100 | (p) }, \
		{ "ring-used-" r, ring_at, 0x200 | (p) }
#define DATA(r, p) { "data-in-" r, data_at, (p) }, { "data-out-" r, data_at, 0x100 | (p) }

static const struct hattack attacks[] = {
	{ "qsize-0", qsize, 0 },
	{ "qsize-3", qsize, 3 },
	{ "qsize-100", qsize, 100 },
	{ "qsize-255", qsize, 255 },
	{ "qsize-257-above-max", qsize, 257 },
	{ "qsize-512-above-max", qsize, 512 },
	{ "qsize-65535", qsize, 65535 },
	{ "qsize-1-works", qsize_one, 0 },
	RINGS("beyond-ram", 0),
	RINGS("across-end-of-ram", 1),
	RINGS("in-mmio-hole", 2),
	RINGS("on-own-bar", 3),
	RINGS("on-ioapic", 4),
	RINGS("in-firmware-rom", 5),
	RINGS("above-4g", 6),
	RINGS("wrapping", 7),
	RINGS("misaligned", 8),
	DATA("beyond-ram", 0),
	DATA("across-end-of-ram", 1),
	DATA("in-mmio-hole", 2),
	DATA("on-own-bar", 3),
	DATA("on-ioapic", 4),
	DATA("in-firmware-rom", 5),
	DATA("above-4g", 6),
	DATA("wrapping", 7),
	DATA("len-0", 9),
	DATA("len-4g", 10),
	{ "header-beyond-ram", hdr_status_at, 0 },
	{ "status-beyond-ram", hdr_status_at, 1 },
	{ "status-in-firmware-rom", hdr_status_at, 2 },
	{ "status-len-0", hdr_status_at, 3 },
	{ "desc-self-loop", desc_loop, 0 },
	{ "desc-two-step-loop", desc_loop, 1 },
	{ "desc-loop-through-ring", desc_loop, 2 },
	{ "desc-next-equals-size", desc_loop, 3 },
	{ "desc-next-0xffff", desc_loop, 4 },
	{ "avail-head-equals-size", avail_head, HOSTILE_QSIZE },
	{ "avail-head-0xffff", avail_head, 0xffff },
	{ "avail-idx-size-plus-1", avail_jump, HOSTILE_QSIZE + 1 },
	{ "avail-idx-0x8000", avail_jump, 0x8000 },
	{ "avail-idx-backwards", avail_jump, 0xffff },
	{ "chain-readable-after-writable", chain_shape, 0 },
	{ "chain-without-writable-byte", chain_shape, 1 },
	{ "chain-writable-header", chain_shape, 2 },
	{ "chain-short-header", chain_shape, 3 },
	{ "indirect-64k-descriptors", indirect_64k, 0 },
	{ "indirect-len-0", indirect_bad, 0 },
	{ "indirect-len-not-multiple-of-16", indirect_bad, 1 },
	{ "indirect-table-beyond-ram", indirect_bad, 2 },
	{ "indirect-table-across-end-of-ram", indirect_bad, 3 },
	{ "indirect-table-in-mmio-hole", indirect_bad, 4 },
	{ "indirect-len-4g", indirect_bad, 5 },
	{ "indirect-nested", indirect_bad, 6 },
	{ "indirect-nested-after-header", indirect_bad, 7 },
	{ "indirect-loop", indirect_bad, 8 },
	{ "indirect-next-beyond-table", indirect_bad, 9 },
	{ "indirect-with-next-flag", indirect_bad, 10 },
	{ "indirect-after-plain-descriptor", indirect_bad, 11 },
	{ "indirect-not-negotiated", indirect_not_negotiated, 0 },
	{ "in-at-end-of-disk", range, 0 },
	{ "in-across-end-of-disk", range, 1 },
	{ "out-at-end-of-disk", range, 2 },
	{ "out-across-end-of-disk", range, 3 },
	{ "out-sector-2^64-1", range, 4 },
	{ "out-sector-offset-wraps", range, 5 },
	{ "out-sector-2^63", range, 6 },
	{ "in-partial-sector", range, 7 },
	{ "out-partial-sector", range, 8 },
	{ "write-zeroes-across-end-of-disk", range, 9 },
	{ "write-zeroes-2^32-sectors", range, 10 },
	{ "write-zeroes-offset-wraps", range, 11 },
	{ "discard-at-end-of-disk", range, 12 },
	{ "write-zeroes-unknown-flags", range, 13 },
	{ "type-0x7f", range, 14 },
	{ "type-0xffffffff", range, 15 },
	{ "readonly-out", readonly, 0 },
	{ "readonly-write-zeroes", readonly, 1 },
	{ "readonly-discard", readonly, 2 },
	{ "readonly-out-at-end", readonly, 3 },
	{ "readonly-out-without-f-ro", readonly, 4 },
	{ "same-chain-twice", same_head_twice, 0 },
	{ "buffer-over-own-rings", buffer_over_rings, 0 },
	{ "reset-with-reads-in-flight", reset_in_flight, 0 },
	{ "queue-writes-after-driver-ok", late_queue_writes, 0 },
	{ "driver-ok-without-features-ok", status_games, 0 },
	{ "driver-sets-needs-reset", status_games, 1 },
	{ "features-after-features-ok", status_games, 2 },
	{ "kick-before-driver-ok", kick_before_driver_ok, 0 },
};

void guest_main(void)
{
	struct hctx c;

	hostile_start(&c, 3, 1);
	if (c.a.sectors != 2048)
		fail(2, c.a.sectors);
	for (uint32_t s = c.a.sectors - 8; s < c.a.sectors; s++)
		if (h_sector_rw(&c.a, s))
			fail(3, s);
	hostile_run(&c, attacks, sizeof(attacks) / sizeof(attacks[0]));
	hostile_end(&c, CODE);
}

void ap_main(uint32_t id) { (void)id; }
