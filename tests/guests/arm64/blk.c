/*
 * virtio-blk on arm64 through the modern virtio-pci transport over ECAM,
 * driven by polling.
 *
 * Disk A, the first virtio-blk function (a 1 MiB image the runner filled
 * with PATTERN: the word at byte offset o is 0x5a000000 + o): the guest
 * notes where Ember placed its BARs (memory BAR 0 in the 32-bit window, the
 * I/O BAR from port 0x1000), moves them elsewhere, negotiates VERSION_1 and
 * FLUSH, sets up one split virtqueue and kicks it through the notification
 * structure listed first (the I/O BAR, reached in the PCI I/O window).
 * It reads sector 0 and sectors 1000-1007 (a three-segment chain) and
 * compares, writes WRITTEN (0xc3000000 + o) to sectors 16-23 (two segments)
 * and to the last sector, flushes, reads 15-24 and the last sector back
 * (neighbours unchanged), checks that requests past the end fail with
 * IOERR and that the device works afterwards, and reads the id string.
 *
 * Disk B, the second function, if any (readonly=on, PATTERN too), kicked
 * through the memory notification structure: VIRTIO_BLK_F_RO offered, a
 * read works, a write fails with IOERR.
 *
 * Output for the runner: "ember placed ...", "capacity N", "read ok",
 * "write ok", "errors ok", "id STRING", "kicks io", "ro disk ok", "kicks
 * memory", "blk ok"; then SYSTEM_OFF. A failed check prints FAIL (and the
 * first differing word) and exits with its number.
 */
#include "guest.h"
#include "virtio.h"
#include "virtio_blk.h"

#define QA 0x40200000ul /* queue of disk A */
#define QB 0x40204000ul /* queue of disk B */
#define REQ 0x40210000ul
#define IDBUF 0x40211000ul
#define WBUF 0x40300000ul /* written */
#define RBUF 0x40400000ul /* read */
#define QSIZE 16
#define SECTORS 2048
#define MEM_BARS 0x20000000ul /* where the guest moves the BARs */
#define IO_BARS 0x2000u

#define PATTERN(o) (0x5a000000u + (uint32_t)(o)) /* the runner's image */
#define WRITTEN(o) (0xc3000000u + (uint32_t)(o)) /* what the guest writes */

struct disk {
	struct virtio_pci pci;
	struct virtq q;
};

static struct pci_alloc alloc = { MEM_BARS, IO_BARS };

/* Fill `len` bytes at `buf` with what disk offset `sector` * 512 on should hold. */
static void fill(uint64_t buf, uint64_t sector, uint32_t len, int written)
{
	volatile uint32_t *w = (volatile uint32_t *)buf;
	uint64_t o = sector * SECTOR_SIZE;

	for (uint32_t i = 0; i < len / 4; i++, o += 4)
		w[i] = written ? WRITTEN(o) : PATTERN(o);
}

/* `len` bytes at `buf`, read from `sector` on, hold PATTERN except [wfrom, wto) WRITTEN. */
static void check(uint64_t buf, uint64_t sector, uint32_t len, uint64_t wfrom, uint64_t wto,
		  uint8_t code)
{
	volatile uint32_t *w = (volatile uint32_t *)buf;
	uint64_t o = sector * SECTOR_SIZE;

	for (uint32_t i = 0; i < len / 4; i++, o += 4) {
		uint64_t s = o / SECTOR_SIZE;
		uint32_t want = s >= wfrom && s < wto ? WRITTEN(o) : PATTERN(o);

		if (w[i] != want) {
			puts_serial("disk offset ");
			put_hex(o);
			puts_serial(": got ");
			put_hex(w[i]);
			puts_serial(", want ");
			put_hex(want);
			putc_serial('\n');
			fail(code, o);
		}
	}
}

static void clear(uint64_t buf, uint32_t len)
{
	volatile uint64_t *w = (volatile uint64_t *)buf;

	for (uint32_t i = 0; i < len / 8; i++)
		w[i] = 0xeeeeeeeeeeeeeeeeull;
}

/* One request, waited for: returns its status byte. */
static uint8_t request(struct disk *d, uint32_t type, uint64_t sector, const struct vbuf *data,
		       unsigned int n, uint8_t code)
{
	struct vblk_req *r = (struct vblk_req *)REQ;
	uint32_t len;
	int head = vblk_submit(&d->q, r, type, sector, data, n), got;

	if (head < 0)
		fail(code, (uint64_t)(int64_t)head);
	virtq_kick(&d->q);
	got = virtq_wait(&d->q, &len, VIRTQ_TIMEOUT_MS);
	if (got != head)
		fail(code + 1, (uint64_t)(int64_t)got); /* timeout, or another chain */
	return r->status;
}

static void expect(uint8_t got, uint8_t want, uint8_t code)
{
	if (got != want)
		fail(code, got);
}

/*
 * Find the next virtio-blk function from `from`, move its BARs, probe,
 * negotiate and set up queue 0 at `qmem`. Returns its slot.
 */
static int setup(struct disk *d, unsigned int from, uint64_t qmem, int memory_kicks, uint8_t code)
{
	struct pci_bar old[6];
	int slot = pci_find(from, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK)), err;

	if (slot < 0)
		return -1;
	if ((err = pci_assign_bars((unsigned int)slot, &alloc, old)))
		fail(code, (uint64_t)(int64_t)err);
	puts_serial("ember placed slot ");
	put_dec(slot);
	puts_serial(" bar0 ");
	put_hex(old[0].addr);
	puts_serial(" bar2 port ");
	put_hex(old[2].addr);
	putc_serial('\n');
	/* BAR 0 memory (64-bit) in the window, BAR 2 an I/O BAR from port 0x1000 */
	if (old[0].io || !old[0].is64 || old[0].addr < PCI_MMIO_WINDOW ||
	    old[0].addr + old[0].size > PCI_MMIO_WINDOW_END)
		fail(code + 1, old[0].addr);
	if (!old[2].io || old[2].addr < PCI_IO_FIRST || old[2].addr + old[2].size > PCI_IO_END)
		fail(code + 2, old[2].addr);
	if (pci_bar_addr((unsigned int)slot, 0) < MEM_BARS)
		fail(code + 3, pci_bar_addr((unsigned int)slot, 0));
	if ((err = virtio_pci_probe(&d->pci, (unsigned int)slot, memory_kicks)))
		fail(code + 4, (uint64_t)(int64_t)err);
	if ((err = virtio_negotiate(&d->pci, VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH))))
		fail(code + 5, (uint64_t)(int64_t)err);
	if ((err = virtq_setup(&d->pci, &d->q, 0, QSIZE, qmem)))
		fail(code + 6, (uint64_t)(int64_t)err);
	if ((err = virtio_driver_ok(&d->pci)))
		fail(code + 7, (uint64_t)(int64_t)err);
	if (d->q.notify < (d->pci.use_io ? PCI_IO_WINDOW + IO_BARS : MEM_BARS))
		fail(code + 8, d->q.notify); /* not in the moved BAR */
	return slot;
}

static void disk_a(struct disk *d)
{
	uint64_t cap = virtio_cfg_read64(&d->pci, VIRTIO_BLK_CFG_CAPACITY), last = SECTORS - 1;
	volatile char *id = (volatile char *)IDBUF;
	struct vbuf b[3];

	puts_serial("capacity ");
	put_dec((int64_t)cap);
	putc_serial('\n');
	if (cap != SECTORS)
		fail(20, cap);
	if (!virtio_has(&d->pci, VIRTIO_BLK_F_FLUSH))
		fail(21, d->pci.features);

	/* Reads of what the runner wrote. */
	clear(RBUF, 0x2000);
	b[0] = (struct vbuf){ RBUF, 512, 1 };
	expect(request(d, VIRTIO_BLK_T_IN, 0, b, 1, 22), VIRTIO_BLK_S_OK, 24);
	check(RBUF, 0, 512, 0, 0, 25);
	clear(RBUF, 0x2000);
	b[0] = (struct vbuf){ RBUF, 512, 1 };
	b[1] = (struct vbuf){ RBUF + 0x1000, 2048, 1 }; /* out of order in memory */
	b[2] = (struct vbuf){ RBUF + 0x200, 1536, 1 };
	expect(request(d, VIRTIO_BLK_T_IN, 1000, b, 3, 22), VIRTIO_BLK_S_OK, 26);
	check(RBUF, 1000, 512, 0, 0, 27);
	check(RBUF + 0x1000, 1001, 2048, 0, 0, 27);
	check(RBUF + 0x200, 1005, 1536, 0, 0, 27);
	puts_serial("read ok\n");

	/* Writes, a flush, and the same places read back with their neighbours. */
	fill(WBUF, 16, 4096, 1);
	b[0] = (struct vbuf){ WBUF, 1536, 0 };
	b[1] = (struct vbuf){ WBUF + 1536, 2560, 0 };
	expect(request(d, VIRTIO_BLK_T_OUT, 16, b, 2, 22), VIRTIO_BLK_S_OK, 28);
	fill(WBUF + 0x2000, last, 512, 1);
	b[0] = (struct vbuf){ WBUF + 0x2000, 512, 0 };
	expect(request(d, VIRTIO_BLK_T_OUT, last, b, 1, 22), VIRTIO_BLK_S_OK, 29);
	expect(request(d, VIRTIO_BLK_T_FLUSH, 0, b, 0, 22), VIRTIO_BLK_S_OK, 30);
	clear(RBUF, 0x2000);
	b[0] = (struct vbuf){ RBUF, 10 * 512, 1 };
	expect(request(d, VIRTIO_BLK_T_IN, 15, b, 1, 22), VIRTIO_BLK_S_OK, 31);
	check(RBUF, 15, 10 * 512, 16, 24, 32);
	b[0] = (struct vbuf){ RBUF, 1024, 1 };
	expect(request(d, VIRTIO_BLK_T_IN, last - 1, b, 1, 22), VIRTIO_BLK_S_OK, 33);
	check(RBUF, last - 1, 1024, last, last + 1, 34);
	puts_serial("write ok\n");

	/* Past the end, and across it: IOERR, and the device goes on. */
	b[0] = (struct vbuf){ RBUF, 512, 1 };
	expect(request(d, VIRTIO_BLK_T_IN, SECTORS, b, 1, 22), VIRTIO_BLK_S_IOERR, 35);
	b[0] = (struct vbuf){ RBUF, 1024, 1 };
	expect(request(d, VIRTIO_BLK_T_IN, last, b, 1, 22), VIRTIO_BLK_S_IOERR, 36);
	b[0] = (struct vbuf){ WBUF, 1024, 0 };
	expect(request(d, VIRTIO_BLK_T_OUT, last, b, 1, 22), VIRTIO_BLK_S_IOERR, 37);
	b[0] = (struct vbuf){ RBUF, 512, 1 };
	expect(request(d, VIRTIO_BLK_T_IN, 0, b, 1, 22), VIRTIO_BLK_S_OK, 38);
	check(RBUF, 0, 512, 0, 0, 38);
	puts_serial("errors ok\n");

	for (unsigned int i = 0; i <= VIRTIO_BLK_ID_BYTES; i++)
		id[i] = 0;
	b[0] = (struct vbuf){ IDBUF, VIRTIO_BLK_ID_BYTES, 1 };
	expect(request(d, VIRTIO_BLK_T_GET_ID, 0, b, 1, 22), VIRTIO_BLK_S_OK, 39);
	puts_serial("id ");
	for (unsigned int i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++)
		putc_serial(id[i]);
	putc_serial('\n');
}

static void disk_b(struct disk *d)
{
	struct vbuf b[1] = { { RBUF, 512, 1 } };

	if (!virtio_offers(&d->pci, VIRTIO_BLK_F_RO))
		fail(50, d->pci.features);
	clear(RBUF, 512);
	expect(request(d, VIRTIO_BLK_T_IN, 5, b, 1, 51), VIRTIO_BLK_S_OK, 53);
	check(RBUF, 5, 512, 0, 0, 54);
	fill(WBUF, 5, 512, 1);
	b[0] = (struct vbuf){ WBUF, 512, 0 };
	expect(request(d, VIRTIO_BLK_T_OUT, 5, b, 1, 51), VIRTIO_BLK_S_IOERR, 55);
	b[0] = (struct vbuf){ RBUF, 512, 1 };
	expect(request(d, VIRTIO_BLK_T_IN, 5, b, 1, 51), VIRTIO_BLK_S_OK, 56);
	check(RBUF, 5, 512, 0, 0, 57);
	puts_serial("ro disk ok\n");
}

void guest_main(void)
{
	struct disk a, b;
	int slot;

	if ((slot = setup(&a, 1, QA, 0, 10)) < 0)
		fail(1, 0); /* no virtio-blk */
	disk_a(&a);
	puts_serial(a.pci.use_io ? "kicks io\n" : "kicks memory\n");
	if (setup(&b, (unsigned int)slot + 1, QB, 1, 40) >= 0) {
		disk_b(&b);
		puts_serial(b.pci.use_io ? "kicks io\n" : "kicks memory\n");
	}
	puts_serial("blk ok\n");
	system_off();
}
