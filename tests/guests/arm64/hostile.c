/*
 * A hostile virtio-blk driver on arm64: requests whose buffers point into
 * MMIO space or past the end of RAM (or straddle it), a header outside RAM,
 * a descriptor loop, a next index past the table, an available index that
 * jumps past the queue size, and rings outside RAM. Ember must answer each
 * with IOERR in the used ring or with DEVICE_NEEDS_RESET (never hang, crash
 * or touch anything but guest RAM), and the device must work again after a
 * reset: after each attack the guest resets it, sets it up again and reads
 * sector 0 (the runner's pattern, as in blk.c). Nothing may reach the disk.
 *
 * Output: "PASS n NAME: ioerr|needs-reset|refused" per attack, "attacks N",
 * then exit code 40 (status 104) so that the runner knows the guest ended
 * here. Run with --memory 64M (RAM ends at 0x4400_0000) and one disk.
 */
#include "guest.h"
#include "virtio.h"
#include "virtio_blk.h"

#define RAM_END 0x44000000ul /* --memory 64M */
#define QH 0x40200000ul
#define REQ 0x40210000ul
#define RBUF 0x40400000ul
#define QSIZE 16
#define OUTCOME_MS 3000
#define DONE_CODE 40

#define PATTERN(o) (0x5a000000u + (uint32_t)(o))

enum outcome { IOERR, NEEDS_RESET, REFUSED };

static struct virtio_pci dev;
static struct virtq q;
static unsigned int attacks;

/* Reset and set the device up again; `ring` elsewhere than QH for the ring attack. */
static int bring_up(uint64_t ring)
{
	int err = virtio_negotiate(&dev, 0);

	if (!err)
		err = virtq_setup(&dev, &q, 0, QSIZE, ring);
	if (!err)
		err = virtio_driver_ok(&dev);
	return err;
}

/* What became of the chain at `head`: its status in the used ring, or NEEDS_RESET. */
static enum outcome wait_outcome(int head, uint8_t code)
{
	uint64_t end = deadline_ms(OUTCOME_MS);
	volatile struct vblk_req *r = (volatile struct vblk_req *)REQ;

	for (;;) {
		if (virtq_pending(&q)) {
			int got = virtq_get(&q, 0);

			if (got != head)
				fail(code, (uint64_t)(int64_t)got);
			if (r->status != VIRTIO_BLK_S_IOERR)
				fail(code, r->status); /* accepted: the attack worked */
			return IOERR;
		}
		if (virtio_status(&dev) & VIRTIO_S_NEEDS_RESET)
			return NEEDS_RESET;
		if (counter() > end)
			fail(code, 0xdead); /* neither: the device hangs */
		cpu_relax();
	}
}

/* Reset, set up, read sector 0 and compare. */
static void read_sector0(uint8_t code)
{
	struct vblk_req *r = (struct vblk_req *)REQ;
	struct vbuf b = { RBUF, 512, 1 };
	volatile uint32_t *w = (volatile uint32_t *)RBUF;
	int err, head;

	if ((err = bring_up(QH)))
		fail(code, (uint64_t)(int64_t)err);
	for (unsigned int i = 0; i < 128; i++)
		w[i] = 0;
	head = vblk_submit(&q, r, VIRTIO_BLK_T_IN, 0, &b, 1);
	virtq_kick(&q);
	if (virtq_wait(&q, 0, VIRTQ_TIMEOUT_MS) != head || r->status != VIRTIO_BLK_S_OK)
		fail(code, r->status);
	for (unsigned int i = 0; i < 128; i++)
		if (w[i] != PATTERN(4 * i))
			fail(code, i);
}

/* After an attack: the device works again after a reset. */
static void recover(const char *name, enum outcome o, uint8_t code)
{
	read_sector0(code);
	attacks++;
	puts_serial("PASS ");
	put_dec(attacks);
	putc_serial(' ');
	puts_serial(name);
	puts_serial(o == IOERR ? ": ioerr\n" : o == NEEDS_RESET ? ": needs-reset\n" : ": refused\n");
}

/* A request with one data buffer at `addr`, `len` bytes: IN (device writes) or OUT. */
static void bad_buffer(const char *name, uint32_t type, uint64_t addr, uint32_t len, uint8_t code)
{
	struct vbuf b = { addr, len, type == VIRTIO_BLK_T_IN };
	int head = vblk_submit(&q, (struct vblk_req *)REQ, type, 0, &b, 1);

	virtq_kick(&q);
	recover(name, wait_outcome(head, code), (uint8_t)(code + 1));
}

/* Raw descriptors: header, then `n` more chained by `next`, as given. */
static void bad_chain(const char *name, const struct vring_desc *d, unsigned int n, uint16_t avail_step,
		      uint8_t code)
{
	for (unsigned int i = 0; i < n; i++) {
		q.desc[i].addr = d[i].addr;
		q.desc[i].len = d[i].len;
		q.desc[i].flags = d[i].flags;
		q.desc[i].next = d[i].next;
	}
	q.avail->ring[q.avail_idx & (QSIZE - 1)] = 0;
	q.avail_idx = (uint16_t)(q.avail_idx + avail_step);
	virtq_kick(&q);
	recover(name, wait_outcome(0, code), (uint8_t)(code + 1));
}

/*
 * Queue 0's rings at an address no RAM backs (nothing is written there
 * first): refused at queue_enable, or NEEDS_RESET at DRIVER_OK or the kick.
 */
static void rings_outside_ram(uint8_t code)
{
	const uint64_t ring = 0x50000000ul;
	enum outcome o = REFUSED;
	int err = virtio_negotiate(&dev, 0);

	if (err)
		fail(code, (uint64_t)(int64_t)err);
	mmio_write16(dev.common + VC_Q_SELECT, 0);
	mmio_write16(dev.common + VC_Q_SIZE, QSIZE);
	mmio_write32(dev.common + VC_Q_DESC, (uint32_t)ring);
	mmio_write32(dev.common + VC_Q_DESC + 4, 0);
	mmio_write32(dev.common + VC_Q_DRIVER, (uint32_t)(ring + 0x1000));
	mmio_write32(dev.common + VC_Q_DRIVER + 4, 0);
	mmio_write32(dev.common + VC_Q_DEVICE, (uint32_t)(ring + 0x2000));
	mmio_write32(dev.common + VC_Q_DEVICE + 4, 0);
	mmio_write16(dev.common + VC_Q_ENABLE, 1);
	if (mmio_read16(dev.common + VC_Q_ENABLE) == 1) {
		err = virtio_driver_ok(&dev);
		if (!err) {
			mmio_write16(q.notify, 0);
			for (uint64_t end = deadline_ms(OUTCOME_MS); !(virtio_status(&dev) & VIRTIO_S_NEEDS_RESET);)
				if (counter() > end)
					fail(code, 0xdead);
		}
		o = NEEDS_RESET;
	}
	recover("rings outside RAM", o, (uint8_t)(code + 1));
}

void guest_main(void)
{
	struct vblk_req *r = (struct vblk_req *)REQ;
	uint64_t hdr = (uint64_t)&r->hdr, st = (uint64_t)&r->status;
	struct pci_alloc alloc = { PCI_MMIO_WINDOW + 0x100000, PCI_IO_FIRST + 0x400 };
	struct pci_bar old[6];
	int slot = pci_find(1, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK)), err;

	if (slot < 0)
		fail(1, 0);
	if ((err = pci_assign_bars((unsigned int)slot, &alloc, old)) ||
	    (err = virtio_pci_probe(&dev, (unsigned int)slot, 0)) || (err = bring_up(QH)))
		fail(2, (uint64_t)(int64_t)err);
	read_sector0(3); /* the baseline: no attack yet */

	bad_buffer("read into the PL011", VIRTIO_BLK_T_IN, 0x09000000ul, 512, 4);
	bad_buffer("read into the GIC distributor", VIRTIO_BLK_T_IN, 0x08000000ul, 512, 6);
	bad_buffer("read past the end of RAM", VIRTIO_BLK_T_IN, RAM_END, 512, 8);
	bad_buffer("read straddling the end of RAM", VIRTIO_BLK_T_IN, RAM_END - 256, 512, 10);
	bad_buffer("read below RAM at address 0", VIRTIO_BLK_T_IN, 0, 512, 12);
	bad_buffer("read of 4 GiB - 512 bytes", VIRTIO_BLK_T_IN, RBUF, 0xfffffe00u, 14);
	bad_buffer("write from the PCI ECAM", VIRTIO_BLK_T_OUT, 0x3f000000ul, 512, 16);
	bad_buffer("write from straddling the end of RAM", VIRTIO_BLK_T_OUT, RAM_END - 256, 512, 18);
	{
		const struct vring_desc d[] = {
			{ 0x09000000ul, 16, VRING_DESC_F_NEXT, 1 },
			{ RBUF, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 },
			{ st, 1, VRING_DESC_F_WRITE, 0 },
		};
		r->status = 0xff;
		bad_chain("header in the PL011", d, 3, 1, 20);
	}
	{
		const struct vring_desc d[] = {
			{ hdr, 16, VRING_DESC_F_NEXT, 1 },
			{ RBUF, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 },
			{ RBUF + 512, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1 },
		};
		r->hdr = (struct virtio_blk_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
		bad_chain("a descriptor loop", d, 3, 1, 22);
	}
	{
		const struct vring_desc d[] = {
			{ hdr, 16, VRING_DESC_F_NEXT, 1 },
			{ RBUF, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 200 },
		};
		r->hdr = (struct virtio_blk_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
		bad_chain("a next index past the table", d, 2, 1, 24);
	}
	{
		const struct vring_desc d[] = {
			{ hdr, 16, VRING_DESC_F_NEXT, 1 },
			{ st, 1, VRING_DESC_F_WRITE, 0 },
		};
		r->hdr = (struct virtio_blk_hdr){ VIRTIO_BLK_T_FLUSH, 0, 0 };
		bad_chain("an available index past the queue size", d, 2, QSIZE + 1, 26);
	}
	rings_outside_ram(28);

	puts_serial("attacks ");
	put_dec(attacks);
	putc_serial('\n');
	guest_exit(DONE_CODE);
}
