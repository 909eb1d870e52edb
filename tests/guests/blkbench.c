/*
 * virtio-blk throughput, device side. The guest never touches the data and
 * does as little as it can per request, so that what the TSC measures is
 * the VMM's request path: the kick, the I/O thread, io_uring (or
 * preadv/pwritev), the used ring and the interrupt.
 *
 * The same image runs under Ember (--firmware) and, for comparison in the
 * same benchmark run (tests/bench/blk.sh), as the BIOS of QEMU's q35 with
 * virtio-blk-pci: there no firmware has placed the BARs, so the guest does
 * (pci_assign_bars(), a no-op under Ember), start.S maps RAM under the
 * image, and the disk's serial= stands in for Ember's id=. The interrupt
 * set-up below is the same for both: in-kernel LAPIC, MSI-X through KVM.
 *
 * On a /dev/kvm that emulates CPL0 code (PVM: ~1 us an instruction) every
 * guest instruction per request counts, so all the work is done before the
 * clock starts: each request of a phase gets its own 64-byte record, built
 * once, holding its indirect table (header, data, status descriptors) and
 * its header with the sector already in it. Ring descriptor i is request
 * slot i; the available ring holds slot (position mod depth) at every
 * position, written once. A batch of B requests then costs the guest one
 * store per request (the slot's descriptor now points at the next record:
 * ~2.4 instructions a request, unrolled), an index store and, unless the
 * device is still busy taking requests (VIRTIO_F_EVENT_IDX), a kick. Before
 * a group of slots is reused, one `repe scasl` over the status bytes of the
 * batch that held it checks that all of them completed with
 * VIRTIO_BLK_S_OK; the guest never reads used elements (completions are in
 * order here; the status check makes reuse safe if they were not).
 *
 * Waiting halts instead of polling, so that the vCPU thread leaves its CPU
 * to Ember's I/O thread: used_event asks for an MSI-X interrupt when the
 * awaited completion arrives. The interrupt only ends the `hlt`: its
 * handler returns with `ret $8` because PVM's emulator has no
 * protected-mode `iret`. A LAPIC timer tick bounds each halt, so a device
 * that never answers still hits the deadline.
 *
 * Phases, chosen by the disk's id string (GET_ID: Ember's id=, QEMU's
 * serial=; NAME runs one, all or no id runs all; none = set-up only; tsc =
 * spin for 2^30 TSC cycles between the lines "tsc spin" and "tsc done", so
 * that the host can check the guest's TSC rate):
 *   seqread, seqwrite      64 KiB requests over the whole disk, 256 in
 *                          flight, published 128 at a time
 *   seqread1m, seqwrite1m  1 MiB requests (one 1 MiB buffer each) over the
 *                          whole disk, 32 in flight, 16 at a time
 *   randread               4 KiB reads at pseudo-random 4 KiB-aligned
 *                          offsets (xorshift, drawn before the clock
 *                          starts), 32 in flight, 16 at a time
 *   seqread1b, seqwrite1b, seqread1m1b, seqwrite1m1b
 *                          the sequential phases with every request's data
 *                          in one buffer (the guest never looks at it), as
 *                          dd does: the data copies stay in the CPU's cache
 *                          as dd's do, so the figure compares Ember's
 *                          request path with dd's like for like
 * Each phase prints "bench NAME opbytes B ops N depth D batch K cycles C
 * waiting W irqs I kicks Q": C and W in hex, TSC cycles from the first
 * kick to the last completion and the part of them spent halted waiting
 * for the device; I the device's interrupts taken (not the timer's), Q
 * notifications sent. The host turns cycles into time (tests/bench/blk.sh).
 */
#include "guest.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "irq.h"

#define QMEM 0x100000u	  /* descriptor table, available and used rings */
#define IDREQ 0x110000u	  /* GET_ID request */
#define IDBUF 0x111000u
#define STATUS 0x120000u  /* one status byte per request of a phase */
#define STATUS_END 0x200000u
#define RECS 0x200000u	  /* one 64-byte record per request of a phase */
#define RECS_END 0x1000000u
#define DATA 0x1000000u	  /* slot i's buffer at DATA + i * request size */
#define DATA_END 0x4000000u /* 48 MiB of buffers: the guest needs 64 MiB of RAM */
#define MAX_OPS ((RECS_END - RECS) / sizeof(struct rec))
#define QSIZE 256
#define SEQ_BYTES 65536u
#define RAND_BYTES 4096u
#define RAND_OPS 32768u
#define TSC_SPIN (1ULL << 30)
#define VEC_QUEUE 0x30 /* MSI-X vector 0: the request queue */
#define VEC_TICK 0x31  /* LAPIC timer: wakes a halted wait now and then to check its deadline */

/* A request, built before the clock starts: an indirect table and the header it points at. */
struct rec {
	struct vring_desc table[3]; /* header, data, status */
	struct virtio_blk_hdr hdr;
};

_Static_assert(sizeof(struct rec) == 64, "records are 64 bytes apart");
_Static_assert(MAX_OPS <= STATUS_END - STATUS, "a status byte per record");

struct phase {
	const char *name;
	uint32_t type, bytes, depth, batch;
	int random;
	int one_buffer; /* every request's data at DATA, as dd reuses its one buffer */
};

struct bench {
	struct virtio_pci pci;
	struct virtq q;
	uint32_t sectors;
	uint32_t rng;
	uint32_t built; /* records whose fixed parts are written */
};

static uint32_t kicks; /* notifications the device asked for (EVENT_IDX) */

static struct rec *rec(uint32_t n)
{
	return (struct rec *)(RECS + n * sizeof(struct rec));
}

static int streq(const volatile char *a, const char *b)
{
	unsigned int i;

	for (i = 0; i < VIRTIO_BLK_ID_BYTES && a[i] && a[i] == b[i]; i++)
		;
	return (i == VIRTIO_BLK_ID_BYTES || !a[i]) && !b[i];
}

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Are the `bytes` (a multiple of 4) status bytes at `addr` all VIRTIO_BLK_S_OK (0)? */
static int all_ok(uint32_t addr, uint32_t bytes)
{
	uint32_t n = bytes / 4;
	uint8_t ne;

	__asm__ volatile("cld; repe scasl; setne %0"
			 : "=q"(ne), "+D"(addr), "+c"(n)
			 : "a"(0)
			 : "memory", "cc");
	return !ne;
}

/* Fill `bytes` (a multiple of 4) at `addr` with `v`, four bytes at a time. */
static void fill(uint32_t addr, uint32_t v, uint32_t bytes)
{
	uint32_t n = bytes / 4;

	__asm__ volatile("cld; rep stosl" : "+D"(addr), "+c"(n) : "a"(v) : "memory");
}

/* First status byte of [from, from + n) that is not OK, as status << 24 | index. */
static uint32_t bad_status(uint32_t from, uint32_t n)
{
	for (uint32_t i = from; i < from + n; i++)
		if (((volatile uint8_t *)STATUS)[i])
			return (uint32_t)((volatile uint8_t *)STATUS)[i] << 24 | i;
	return 0;
}

/*
 * Build the phase's `ops` records and preset their status bytes, make
 * descriptor i an indirect one (pointed at a record per batch), and put in
 * the ring position of every request its slot: request n, published at
 * available index idx0 + n, is slot n mod depth. The header and status
 * descriptors of a record and the zero upper halves never change, so they
 * are written once, by the first phase that uses the record.
 */
static void prepare(struct bench *b, const struct phase *p, uint32_t ops, uint16_t idx0)
{
	uint32_t data_flags = VRING_DESC_F_NEXT | (p->type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0);
	uint32_t span = p->bytes / SECTOR_SIZE, slots = b->sectors / span;
	uint32_t data = DATA, slot = 0, sector = 0;

	for (; b->built < ops; b->built++) {
		struct rec *r = rec(b->built);

		r->table[0] = (struct vring_desc){ (uint32_t)&r->hdr, sizeof(r->hdr), VRING_DESC_F_NEXT, 1 };
		r->table[1] = (struct vring_desc){ 0, 0, 0, 2 };
		r->table[2] = (struct vring_desc){ STATUS + b->built, 1, VRING_DESC_F_WRITE, 0 };
		r->hdr = (struct virtio_blk_hdr){ 0, 0, 0 };
	}
	for (uint32_t n = 0; n < ops; n++) {
		volatile uint32_t *d = (volatile uint32_t *)&rec(n)->table[1];
		volatile uint32_t *h = (volatile uint32_t *)&rec(n)->hdr;

		d[0] = data;	   /* addr (the upper half stays 0) */
		d[2] = p->bytes;   /* len */
		d[3] = data_flags | 2u << 16; /* flags, next */
		h[0] = p->type;
		h[2] = p->random ? xorshift(&b->rng) % slots * span : sector;
		sector += span;
		if (!p->one_buffer)
			data += p->bytes;
		if (++slot == p->depth) {
			slot = 0;
			data = DATA;
		}
	}
	fill(STATUS, 0xffffffffu, (ops + 3) & ~3u);
	for (unsigned int i = 0; i < QSIZE; i++) {
		b->q.desc[i] = (struct vring_desc){ 0, sizeof(rec(0)->table), VRING_DESC_F_INDIRECT, 0 };
		b->q.avail->ring[(idx0 + i) % QSIZE] = (uint16_t)(i % p->depth);
	}
}

/*
 * Wait until the used index reaches `idx` (mod 2^16); fail with `code` on
 * timeout. The wait halts: used_event asks the device for an interrupt when
 * it gets there (VIRTIO_F_EVENT_IDX). Returns the TSC cycles spent waiting
 * (0, without reading the TSC, if the index was there already).
 */
static uint64_t wait_used(struct virtq *q, uint16_t idx, uint8_t code)
{
	volatile uint16_t *used_event = &q->avail->ring[QSIZE];
	uint64_t t0, deadline;

	if ((int16_t)(q->used->idx - idx) >= 0)
		return 0;
	t0 = rdtsc();
	deadline = t0 + VIRTQ_TIMEOUT;
	*used_event = (uint16_t)(idx - 1);
	/* used_event before the index is read again (pairs with the device's fence) */
	full_barrier();
	while ((int16_t)(q->used->idx - idx) < 0) {
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		if (rdtsc() > deadline)
			fail(code, q->used->idx);
	}
	return rdtsc() - t0;
}

/*
 * Notify the device of the chains published up to avail_idx, unless it is
 * still taking requests and has not asked for one (VIRTIO_F_EVENT_IDX).
 */
static void kick(struct virtq *q, uint16_t old)
{
	uint16_t avail_event;

	virtio_barrier(); /* ring entries before the index that publishes them */
	q->avail->idx = q->avail_idx;
	/* the index before avail_event is read (pairs with the device's fence) */
	full_barrier();
	avail_event = *(volatile uint16_t *)((uint32_t)q->used + 4 + 8 * QSIZE);
	if ((uint16_t)(q->avail_idx - avail_event - 1) < (uint16_t)(q->avail_idx - old)) {
		mmio_write16(q->notify, q->index);
		kicks++;
	}
}

/* Point the n descriptors from `d` at the records from `a`: one store each, n a multiple of 8. */
static void point(volatile struct vring_desc *d, uint32_t a, uint32_t n)
{
	volatile uint32_t *w = (volatile uint32_t *)&d->addr, *end = w + 4 * n;

	do {
		w[0] = a;
		w[4] = a + 1 * sizeof(struct rec);
		w[8] = a + 2 * sizeof(struct rec);
		w[12] = a + 3 * sizeof(struct rec);
		w[16] = a + 4 * sizeof(struct rec);
		w[20] = a + 5 * sizeof(struct rec);
		w[24] = a + 6 * sizeof(struct rec);
		w[28] = a + 7 * sizeof(struct rec);
		w += 32;
		a += 8 * sizeof(struct rec);
	} while (w != end);
}

/* The statuses of requests [first, first + n) are not all OK yet: wait for them, or fail. */
static __attribute__((noinline)) void wait_ok(uint32_t first, uint32_t n)
{
	uint64_t deadline = rdtsc() + VIRTQ_TIMEOUT;

	while (!all_ok(STATUS + first, n))
		if (rdtsc() > deadline)
			fail(12, bad_status(first, n));
}

static void run_phase(struct bench *b, const struct phase *p)
{
	struct virtq *q = &b->q;
	uint32_t bs = p->batch;
	uint32_t ops = b->sectors / (p->bytes / SECTOR_SIZE);
	uint16_t idx0 = q->avail_idx;
	uint64_t t0, t1, waited = 0;
	uint32_t irqs0, kicks0;

	if (p->random)
		ops = RAND_OPS;
	if (ops > MAX_OPS)
		ops = MAX_OPS;
	ops -= ops % bs;
	if (!ops || bs % 8 || p->depth % bs || QSIZE % p->depth ||
	    (uint64_t)p->depth * p->bytes > DATA_END - DATA)
		fail(10, ops);
	prepare(b, p, ops, idx0);
	/*
	 * The clock runs from here. Batch k (requests [first, first + bs)) goes
	 * to the slots [slot0, slot0 + bs), k mod (depth / bs) groups along; the
	 * batch that held them before, depth requests back, must have completed.
	 */
	irqs0 = irqs;
	kicks0 = kicks;
	t0 = rdtsc();
	for (uint32_t first = 0, slot0 = 0; first < ops; first += bs) {
		if (first >= p->depth) {
			uint32_t old = first - p->depth;
			uint16_t want = (uint16_t)(idx0 + old + bs);

			if ((int16_t)(q->used->idx - want) < 0)
				waited += wait_used(q, want, 11);
			if (!all_ok(STATUS + old, bs)) /* out of order, or failed */
				wait_ok(old, bs);
		}
		point(&q->desc[slot0], (uint32_t)rec(first), bs);
		slot0 += bs;
		if (slot0 == p->depth)
			slot0 = 0;
		q->avail_idx = (uint16_t)(idx0 + first + bs);
		kick(q, (uint16_t)(idx0 + first));
	}
	waited += wait_used(q, q->avail_idx, 11);
	t1 = rdtsc();
	if (!all_ok(STATUS, ops))
		fail(12, bad_status(0, ops));
	q->last_used = q->avail_idx;

	puts_serial("bench ");
	puts_serial(p->name);
	puts_serial(" opbytes ");
	put_dec(p->bytes);
	puts_serial(" ops ");
	put_dec(ops);
	puts_serial(" depth ");
	put_dec(p->depth);
	puts_serial(" batch ");
	put_dec(bs);
	puts_serial(" cycles ");
	put_hex64(t1 - t0);
	puts_serial(" waiting ");
	put_hex64(waited);
	puts_serial(" irqs ");
	put_dec(irqs - irqs0);
	puts_serial(" kicks ");
	put_dec(kicks - kicks0);
	putc_serial('\n');
}

void guest_main(void)
{
	struct bench b;
	volatile char *id = (volatile char *)IDBUF;
	struct vbuf idb = { IDBUF, VIRTIO_BLK_ID_BYTES, 0 };
	int slot_nr = pci_find(0, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK)), err;
	int all, head;
	uint32_t table;

	if (slot_nr < 0)
		fail(1, 0);
	if ((err = pci_assign_bars((unsigned int)slot_nr)))
		fail(2, (uint32_t)-err);
	if ((err = virtio_pci_probe(&b.pci, (unsigned int)slot_nr)))
		fail(2, (uint32_t)-err);
	if ((err = virtio_negotiate(&b.pci, VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) |
						VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX))))
		fail(3, (uint32_t)-err);
	if (!virtio_has(&b.pci, VIRTIO_F_INDIRECT_DESC) || !virtio_has(&b.pci, VIRTIO_F_EVENT_IDX))
		fail(4, (uint32_t)b.pci.features);
	if ((err = virtq_setup(&b.pci, &b.q, 0, QSIZE, QMEM)) || b.q.size != QSIZE)
		fail(5, (uint32_t)-err);
	irq_setup(VEC_TICK, 1u << 27);
	if (!(table = msix_enable(&b.pci)))
		fail(13, 1);
	msix_route(table, 0, VEC_QUEUE, 0);
	mmio_write16(b.pci.common + VC_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR);
	if (!virtio_queue_vector(&b.pci, 0, 0))
		fail(13, 3);
	if ((err = virtio_driver_ok(&b.pci)))
		fail(6, (uint32_t)-err);
	b.sectors = (uint32_t)virtio_cfg_read64(&b.pci, VIRTIO_BLK_CFG_CAPACITY);
	b.rng = 0x2545f491;
	b.built = 0;
	if (b.sectors < 16 * SEQ_BYTES / SECTOR_SIZE)
		fail(7, b.sectors);

	head = vblk_submit(&b.q, (struct vblk_req *)IDREQ, VIRTIO_BLK_T_GET_ID, 0, &idb, 1, 0);
	virtq_kick(&b.q);
	if (head < 0 || virtq_wait(&b.q, 0, VIRTQ_TIMEOUT) != head)
		fail(8, (uint32_t)head);
	all = !id[0] || streq(id, "all");
	/* Fault in the buffers now: the first phase should not pay for the host zeroing them. */
	for (uint32_t a = DATA; a < DATA_END; a += 4096)
		*(volatile uint32_t *)a = 0;
	{
		const struct phase phases[] = {
			{ "seqread", VIRTIO_BLK_T_IN, SEQ_BYTES, 256, 128, 0, 0 },
			{ "seqwrite", VIRTIO_BLK_T_OUT, SEQ_BYTES, 256, 128, 0, 0 },
			{ "seqread1m", VIRTIO_BLK_T_IN, 16 * SEQ_BYTES, 32, 16, 0, 0 },
			{ "seqwrite1m", VIRTIO_BLK_T_OUT, 16 * SEQ_BYTES, 32, 16, 0, 0 },
			{ "randread", VIRTIO_BLK_T_IN, RAND_BYTES, 32, 16, 1, 0 },
			{ "seqread1b", VIRTIO_BLK_T_IN, SEQ_BYTES, 256, 128, 0, 1 },
			{ "seqwrite1b", VIRTIO_BLK_T_OUT, SEQ_BYTES, 256, 128, 0, 1 },
			{ "seqread1m1b", VIRTIO_BLK_T_IN, 16 * SEQ_BYTES, 32, 16, 0, 1 },
			{ "seqwrite1m1b", VIRTIO_BLK_T_OUT, 16 * SEQ_BYTES, 32, 16, 0, 1 },
		};
		int ran = streq(id, "none");

		if (streq(id, "tsc")) { /* the host times the spin by when these lines arrive */
			uint64_t t0;

			puts_serial("tsc spin\n");
			t0 = rdtsc();
			while (rdtsc() - t0 < TSC_SPIN)
				;
			puts_serial("tsc done\n");
			ran = 1;
		}

		for (unsigned int i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
			if (all || streq(id, phases[i].name)) {
				run_phase(&b, &phases[i]);
				ran = 1;
			}
		}
		if (!ran)
			fail(9, 0);
	}
	puts_serial("blkbench done\n");
	guest_exit(0);
}

void ap_main(uint32_t id) { (void)id; }
