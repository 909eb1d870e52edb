/*
 * virtio-blk through the modern virtio-pci transport, driven by polling.
 *
 * On the first virtio-blk device: capacity and block size from the device
 * configuration; writes of a pattern (plain chains, multi-segment chains,
 * indirect tables, several requests per kick, the last sectors of the
 * disk), a FLUSH, reads back with other segmentations and a compare,
 * GET_ID, and requests that must fail without breaking the device (past
 * the end, unknown type). On a second device, if there is one, which must
 * be read-only: a write fails with IOERR, a read works.
 *
 * The word at disk byte offset o is PATTERN(o); tests/guests/run.sh checks
 * the same words in the image file afterwards. Output for the runner:
 * "capacity N", "id STRING", "ro disk ok" and finally "blk ok".
 *
 * The disk must be at least 2048 sectors (1 MiB) and fresh (zeros).
 */
#include "guest.h"
#include "virtio.h"
#include "virtio_blk.h"

#define QA 0x100000u /* queue of the first disk */
#define QB 0x104000u /* queue of the second disk */
#define REQS 0x110000u
#define WBUF 0x200000u /* pattern written */
#define RBUF 0x300000u /* read back */
#define ZBUF 0x400000u /* never written: zeros */
#define QSIZE 32       /* small, so the rings wrap during the test */
#define MIN_SECTORS 2048

#define PATTERN(o) (0x5a000000u + (o))

struct seg {
	uint32_t buf; /* offset in WBUF or RBUF */
	uint32_t len;
};

struct xfer {
	uint32_t sector; /* ~0u: the last 8 sectors of the disk */
	int indirect;
	unsigned int nseg;
	struct seg seg[4];
};

/* Batch one of writes: the shapes a driver uses. */
static const struct xfer writes[] = {
	{ 8, 0, 1, { { 0x0000, 4096 } } },
	{ 100, 0, 3, { { 0x3000, 512 }, { 0x5000, 3584 }, { 0x1000, 8192 } } },
	{ 1000, 1, 4, { { 0x8000, 4096 }, { 0xa000, 2048 }, { 0xb000, 6144 }, { 0x9000, 4096 } } },
	{ ~0u, 0, 1, { { 0xd000, 4096 } } },
};

/* The same areas read back, split differently; 1500-1563 also holds the gaps of batch two. */
static const struct xfer reads[] = {
	{ 8, 0, 2, { { 0x0000, 1024 }, { 0x0400, 3072 } } },
	{ 100, 0, 1, { { 0x1000, 12288 } } },
	{ 1000, 1, 3, { { 0x4000, 512 }, { 0x4200, 12288 }, { 0x7200, 3584 } } },
	{ ~0u, 0, 2, { { 0x9000, 2048 }, { 0x9800, 2048 } } },
	{ 1500, 0, 1, { { 0x10000, 32768 } } },
	{ 0, 0, 1, { { 0x18000, 512 } } },
};

#define BATCH2 16 /* indirect writes of 1 KiB in two segments at 1500 + 4i */
#define BATCH2_SECTOR(i) (1500u + 4u * (i))
#define BATCH2_BUF(i) (0x10000u + 0x800u * (i))

struct disk {
	struct virtio_pci pci;
	struct virtq q;
	uint32_t sectors;
};

static struct vblk_req *req(unsigned int i)
{
	return (struct vblk_req *)(REQS + i * sizeof(struct vblk_req));
}

static uint32_t sector_of(const struct disk *d, const struct xfer *x)
{
	return x->sector == ~0u ? d->sectors - 8 : x->sector;
}

static void fill(uint32_t addr, uint32_t off, uint32_t len)
{
	for (uint32_t i = 0; i < len; i += 4)
		*(volatile uint32_t *)(addr + i) = PATTERN(off + i);
}

/* Submit `x` as request `r` with buffers in `base`; fail 10 if the queue is full. */
static int submit(struct disk *d, unsigned int r, uint32_t type, const struct xfer *x, uint32_t base)
{
	struct vbuf b[4];
	int head;

	for (unsigned int k = 0; k < x->nseg; k++)
		b[k] = (struct vbuf){ base + x->seg[k].buf, x->seg[k].len, 0 };
	head = vblk_submit(&d->q, req(r), type, sector_of(d, x), b, x->nseg, x->indirect);
	if (head < 0)
		fail(10, (uint32_t)-head);
	return head;
}

/*
 * Wait for the n requests whose heads are in heads[] (any order); check each
 * status against want and, if want_len is non-zero, the used length.
 */
static void wait_all(struct disk *d, const int *heads, unsigned int n, uint8_t want,
		     const uint32_t *want_len, uint8_t fail_status, uint8_t fail_len)
{
	for (unsigned int done = 0; done < n; done++) {
		uint32_t len;
		int h = virtq_wait(&d->q, &len, VIRTQ_TIMEOUT);
		unsigned int i;

		if (h == -1)
			fail(11, done);
		if (h < 0)
			fail(12, (uint32_t)-h);
		for (i = 0; i < n && heads[i] != h; i++)
			;
		if (i == n)
			fail(12, (uint32_t)h);
		if (req(i)->status != want)
			fail(fail_status, i << 8 | req(i)->status);
		if (want_len && want_len[i] && len != want_len[i])
			fail(fail_len, i << 24 | len);
	}
}

/* One request with data in one buffer; returns its status. */
static uint8_t one(struct disk *d, uint32_t type, uint32_t sector, uint32_t buf, uint32_t len)
{
	struct vbuf b = { buf, len, 0 };
	int head = vblk_submit(&d->q, req(0), type, sector, &b, len ? 1 : 0, 0);
	uint32_t used;

	if (head < 0)
		fail(10, (uint32_t)-head);
	virtq_kick(&d->q);
	if (virtq_wait(&d->q, &used, VIRTQ_TIMEOUT) != head)
		fail(11, (uint32_t)head);
	return req(0)->status;
}

/* Kicks go to the first notification structure listed (ports on Ember), or to memory. */
static void bring_up(struct disk *d, int slot, uint32_t qmem, uint8_t code, int mem_kicks)
{
	const uint64_t wanted = VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) |
				VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH) |
				VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE) |
				VIRTIO_FEATURE(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_FEATURE(VIRTIO_BLK_F_RO);
	int err;

	if ((err = virtio_pci_probe(&d->pci, (unsigned int)slot)))
		fail(code, 0x100 | (uint32_t)-err);
	if (mem_kicks)
		d->pci.use_port = 0;
	puts_serial(d->pci.use_port ? "kicks port\n" : "kicks memory\n");
	if ((err = virtio_negotiate(&d->pci, wanted)))
		fail(code, 0x200 | (uint32_t)-err);
	if ((err = virtq_setup(&d->pci, &d->q, 0, QSIZE, qmem)))
		fail(code, 0x300 | (uint32_t)-err);
	if ((err = virtio_driver_ok(&d->pci)))
		fail(code, 0x400 | (uint32_t)-err);
	if (!virtio_has(&d->pci, VIRTIO_F_INDIRECT_DESC))
		fail(code, 0x500);
	d->sectors = (uint32_t)virtio_cfg_read64(&d->pci, VIRTIO_BLK_CFG_CAPACITY);
}

/* A driver feature the device did not offer must make FEATURES_OK fail. */
static void check_feature_refusal(struct virtio_pci *p)
{
	mmio_write8(p->common + VC_STATUS, 0);
	virtio_set_status(p, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	mmio_write32(p->common + VC_GFSELECT, 1);
	mmio_write32(p->common + VC_GF, 1u | 1u << 2); /* VERSION_1 and RING_PACKED (34) */
	virtio_set_status(p, VIRTIO_S_FEATURES_OK);
	if (virtio_status(p) & VIRTIO_S_FEATURES_OK)
		fail(34, virtio_status(p));
}

static void write_pattern(struct disk *d)
{
	int heads[BATCH2];
	uint32_t ones[BATCH2];
	unsigned int n = sizeof(writes) / sizeof(writes[0]);
	uint8_t isr;

	for (unsigned int i = 0; i < n; i++) {
		const struct xfer *x = &writes[i];
		uint32_t off = sector_of(d, x) * SECTOR_SIZE;

		for (unsigned int k = 0; k < x->nseg; k++) {
			fill(WBUF + x->seg[k].buf, off, x->seg[k].len);
			off += x->seg[k].len;
		}
		heads[i] = submit(d, i, VIRTIO_BLK_T_OUT, x, WBUF);
		ones[i] = 1;
	}
	virtq_kick(&d->q);
	wait_all(d, heads, n, VIRTIO_BLK_S_OK, ones, 13, 14);
	/* No MSI-X: completions raise INTx and set ISR bit 0; reading it clears it. */
	isr = virtio_isr(&d->pci);
	if (!(isr & 1))
		fail(15, isr);
	if ((isr = virtio_isr(&d->pci)))
		fail(16, isr);
	d->q.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;

	for (unsigned int i = 0; i < BATCH2; i++) {
		struct xfer x = { BATCH2_SECTOR(i), 1, 2, { { BATCH2_BUF(i), 512 }, { BATCH2_BUF(i) + 0x400, 512 } } };

		fill(WBUF + BATCH2_BUF(i), x.sector * SECTOR_SIZE, 512);
		fill(WBUF + BATCH2_BUF(i) + 0x400, x.sector * SECTOR_SIZE + 512, 512);
		heads[i] = submit(d, i, VIRTIO_BLK_T_OUT, &x, WBUF);
		ones[i] = 1;
	}
	virtq_kick(&d->q);
	wait_all(d, heads, BATCH2, VIRTIO_BLK_S_OK, ones, 13, 14);
	if (one(d, VIRTIO_BLK_T_FLUSH, 0, 0, 0) != VIRTIO_BLK_S_OK)
		fail(17, req(0)->status);
}

/* Expected word at disk offset `off` of the 1500-1563 read: pattern or gap. */
static uint32_t expect_at(uint32_t off)
{
	uint32_t s = off / SECTOR_SIZE;

	if (s >= 1500 && s < 1500 + 4 * BATCH2 && (s - 1500) % 4 >= 2)
		return 0; /* the gap between two batch-two writes */
	if (s == 0)
		return 0; /* never written */
	return PATTERN(off);
}

static void read_back(struct disk *d)
{
	unsigned int n = sizeof(reads) / sizeof(reads[0]);
	int heads[sizeof(reads) / sizeof(reads[0])];
	uint32_t lens[sizeof(reads) / sizeof(reads[0])];

	for (unsigned int i = 0; i < n; i++) {
		lens[i] = 1;
		for (unsigned int k = 0; k < reads[i].nseg; k++)
			lens[i] += reads[i].seg[k].len;
		heads[i] = submit(d, i, VIRTIO_BLK_T_IN, &reads[i], RBUF);
	}
	virtq_kick(&d->q);
	wait_all(d, heads, n, VIRTIO_BLK_S_OK, lens, 18, 19);
	for (unsigned int i = 0; i < n; i++) {
		const struct xfer *x = &reads[i];
		uint32_t off = sector_of(d, x) * SECTOR_SIZE;

		for (unsigned int k = 0; k < x->nseg; k++) {
			volatile uint32_t *w = (volatile uint32_t *)(RBUF + x->seg[k].buf);

			for (uint32_t j = 0; j < x->seg[k].len / 4; j++, off += 4)
				if (w[j] != expect_at(off))
					fail(expect_at(off) ? 20 : 21, off);
		}
	}
}

static void get_id(struct disk *d)
{
	volatile char *id = (volatile char *)(RBUF + 0x20000);
	struct vbuf b = { (uint32_t)id, VIRTIO_BLK_ID_BYTES, 0 };
	uint32_t len;
	int head, end;

	for (int i = 0; i < VIRTIO_BLK_ID_BYTES; i++)
		id[i] = 'X';
	head = vblk_submit(&d->q, req(0), VIRTIO_BLK_T_GET_ID, 0, &b, 1, 0);
	virtq_kick(&d->q);
	if (head < 0 || virtq_wait(&d->q, &len, VIRTQ_TIMEOUT) != head)
		fail(11, (uint32_t)head);
	if (req(0)->status != VIRTIO_BLK_S_OK || len != VIRTIO_BLK_ID_BYTES + 1)
		fail(22, len << 8 | req(0)->status);
	for (end = 0; end < VIRTIO_BLK_ID_BYTES && id[end]; end++)
		;
	for (int i = end; i < VIRTIO_BLK_ID_BYTES; i++)
		if (id[i])
			fail(23, (uint32_t)i);
	puts_serial("id ");
	for (int i = 0; i < end; i++)
		putc_serial(id[i]);
	putc_serial('\n');
}

/* Requests the device must refuse, after which it must still work. */
static void bad_requests(struct disk *d)
{
	uint8_t s;

	if ((s = one(d, VIRTIO_BLK_T_IN, d->sectors - 1, RBUF, 1024)) != VIRTIO_BLK_S_IOERR)
		fail(24, s);
	if ((s = one(d, VIRTIO_BLK_T_IN, d->sectors, RBUF, 512)) != VIRTIO_BLK_S_IOERR)
		fail(25, s);
	if ((s = one(d, VIRTIO_BLK_T_OUT, d->sectors - 1, ZBUF, 1024)) != VIRTIO_BLK_S_IOERR)
		fail(26, s);
	if ((s = one(d, 0x7f, 0, 0, 0)) != VIRTIO_BLK_S_UNSUPP)
		fail(28, s);
	if ((s = one(d, VIRTIO_BLK_T_IN, 8, RBUF + 0x30000, 512)) != VIRTIO_BLK_S_OK)
		fail(27, s);
	if (*(volatile uint32_t *)(RBUF + 0x30000 + 4) != PATTERN(8 * SECTOR_SIZE + 4))
		fail(27, *(volatile uint32_t *)(RBUF + 0x30000 + 4));
	if (virtio_status(&d->pci) & VIRTIO_S_NEEDS_RESET)
		fail(27, virtio_status(&d->pci));
}

static void readonly_disk(int slot)
{
	struct disk d;
	uint8_t s;

	bring_up(&d, slot, QB, 29, 1); /* the other notification structure */
	if (!virtio_has(&d.pci, VIRTIO_BLK_F_RO))
		fail(30, (uint32_t)d.pci.features);
	if ((s = one(&d, VIRTIO_BLK_T_OUT, 0, WBUF, 512)) != VIRTIO_BLK_S_IOERR)
		fail(31, s);
	if ((s = one(&d, VIRTIO_BLK_T_IN, 0, RBUF + 0x30000, 512)) != VIRTIO_BLK_S_OK)
		fail(32, s);
	mmio_write8(d.pci.common + VC_STATUS, 0);
	if (virtio_status(&d.pci))
		fail(33, virtio_status(&d.pci));
	puts_serial("ro disk ok\n");
}

void guest_main(void)
{
	struct disk d;
	int slot = pci_find(0, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK)), slot2;

	if (slot < 0)
		fail(1, 0);
	if (virtio_pci_probe(&d.pci, (unsigned int)slot))
		fail(2, (uint32_t)slot);
	check_feature_refusal(&d.pci);
	bring_up(&d, slot, QA, 3, 0);
	if (!virtio_has(&d.pci, VIRTIO_BLK_F_FLUSH))
		fail(4, (uint32_t)d.pci.features);
	if (virtio_has(&d.pci, VIRTIO_BLK_F_RO))
		fail(9, (uint32_t)d.pci.features);
	puts_serial("capacity ");
	put_dec(d.sectors);
	putc_serial('\n');
	if (d.sectors < MIN_SECTORS)
		fail(7, d.sectors);
	if (virtio_has(&d.pci, VIRTIO_BLK_F_BLK_SIZE) &&
	    virtio_cfg_read32(&d.pci, VIRTIO_BLK_CFG_BLK_SIZE) != SECTOR_SIZE)
		fail(8, virtio_cfg_read32(&d.pci, VIRTIO_BLK_CFG_BLK_SIZE));

	write_pattern(&d);
	read_back(&d);
	get_id(&d);
	bad_requests(&d);

	slot2 = pci_find((unsigned int)slot + 1, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK));
	if (slot2 >= 0)
		readonly_disk(slot2);
	mmio_write8(d.pci.common + VC_STATUS, 0);
	if (virtio_status(&d.pci))
		fail(33, virtio_status(&d.pci));
	puts_serial("blk ok\n");
	guest_exit(0);
}

void ap_main(uint32_t id) { (void)id; }
