/*
 * virtio-blk throughput, device side. The guest only builds descriptors and
 * never touches the data, so what it measures is Ember's request path: the
 * kick, the I/O thread, io_uring (or preadv/pwritev) and the used ring.
 *
 * Each request is one ring descriptor pointing at its own indirect table
 * (header, data segments, status), built once per phase; a request then
 * costs the guest a header update, an avail entry and a used entry. Phases,
 * chosen by the disk's id string (id=NAME runs one, id=all or no id runs
 * all; none = set-up only; tsc = spin for 2^30 TSC cycles, so that the host
 * can check the guest's TSC rate):
 *   seqread, seqwrite      64 KiB requests over the whole disk, 256 in
 *                          flight, refilled and kicked 128 at a time
 *   seqread1m, seqwrite1m  1 MiB requests of 16 segments of 64 KiB, 16 in
 *                          flight, kicked 8 at a time: the guest's share
 *                          per byte is 16 times smaller
 *   randread               4 KiB reads at random 4 KiB-aligned offsets,
 *                          32 in flight, refilled as they complete
 * Each phase prints "bench NAME opbytes B ops N cycles C" (C in hex, TSC
 * cycles from its first submission to its last completion); the host turns
 * cycles into time (tests/bench/blk.sh).
 */
#include "guest.h"
#include "virtio.h"
#include "virtio_blk.h"

#define QMEM 0x100000u
#define SLOTS 0x110000u	 /* 256 request slots of 512 bytes */
#define DATA 0x1000000u	 /* slot i's buffer at DATA + i * request size (16 MiB) */
#define IDREQ 0x150000u /* GET_ID, before the slots take over the descriptors */
#define IDBUF 0x151000u
#define MAX_SEGS 16
#define QSIZE 256
#define SEQ_BYTES 65536u
#define RAND_BYTES 4096u
#define RAND_OPS 16384u
#define TSC_SPIN (1ULL << 30)

struct slot {
	struct vring_desc table[MAX_SEGS + 2];
	struct virtio_blk_hdr hdr;
	volatile uint8_t status;
	uint8_t pad[511 - 16 * (MAX_SEGS + 2) - 16];
};

_Static_assert(sizeof(struct slot) == 512, "slots are 512 bytes apart");

struct phase {
	const char *name;
	uint32_t type, bytes, segs, depth, batch, ops;
	int random;
};

struct bench {
	struct virtio_pci pci;
	struct virtq q;
	uint32_t sectors;
	uint32_t rng;
};

static struct slot *slot(unsigned int i)
{
	return (struct slot *)(SLOTS + i * sizeof(struct slot));
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

/* Descriptor i is request slot i for good: its indirect table never changes within a phase. */
static void prepare(struct bench *b, const struct phase *p)
{
	uint16_t data_flags = (uint16_t)(VRING_DESC_F_NEXT |
					 (p->type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0));
	uint32_t seg = p->bytes / p->segs;

	for (unsigned int i = 0; i < p->depth; i++) {
		struct slot *s = slot(i);
		uint16_t k;

		s->table[0] = (struct vring_desc){ (uint32_t)&s->hdr, sizeof(s->hdr), VRING_DESC_F_NEXT, 1 };
		for (k = 1; k <= p->segs; k++)
			s->table[k] = (struct vring_desc){ DATA + i * p->bytes + (k - 1u) * seg, seg,
							   data_flags, (uint16_t)(k + 1) };
		s->table[k] = (struct vring_desc){ (uint32_t)&s->status, 1, VRING_DESC_F_WRITE, 0 };
		s->hdr.type = p->type;
		s->hdr.reserved = 0;
		b->q.desc[i] = (struct vring_desc){ (uint32_t)s->table, (k + 1u) * 16, VRING_DESC_F_INDIRECT, 0 };
	}
}

static void run_phase(struct bench *b, const struct phase *p)
{
	uint8_t ids[QSIZE];
	uint32_t nfree = p->depth, submitted = 0, done = 0, next = 0, want;
	uint32_t span = p->bytes / SECTOR_SIZE, slots = b->sectors / span;
	uint64_t t0, t1, deadline;
	struct virtq *q = &b->q;

	prepare(b, p);
	for (uint32_t i = 0; i < p->depth; i++)
		ids[i] = (uint8_t)(p->depth - 1 - i);
	t0 = rdtsc();
	while (done < p->ops) {
		want = p->ops - submitted < p->batch ? p->ops - submitted : p->batch;
		if (want && nfree >= want) {
			for (; nfree && submitted < p->ops; submitted++) {
				struct slot *s = slot(ids[--nfree]);

				s->hdr.sector = (uint64_t)(p->random ? xorshift(&b->rng) % slots : next++) * span;
				s->status = 0xff;
				virtq_push(q, ids[nfree]);
			}
			virtq_kick(q);
		}
		deadline = rdtsc() + VIRTQ_TIMEOUT;
		while (!virtq_pending(q))
			if (rdtsc() > deadline)
				fail(11, done);
		virtio_barrier(); /* used elements after the index */
		while (q->last_used != q->used->idx) {
			uint32_t id = q->used->ring[q->last_used++ & (QSIZE - 1)].id;

			if (id >= p->depth || slot(id)->status != VIRTIO_BLK_S_OK)
				fail(12, id << 8 | (id < p->depth ? slot(id)->status : 0));
			ids[nfree++] = (uint8_t)id;
			done++;
		}
	}
	t1 = rdtsc();
	puts_serial("bench ");
	puts_serial(p->name);
	puts_serial(" opbytes ");
	put_dec(p->bytes);
	puts_serial(" ops ");
	put_dec(p->ops);
	puts_serial(" cycles ");
	put_hex64(t1 - t0);
	putc_serial('\n');
}

void guest_main(void)
{
	struct bench b;
	volatile char *id = (volatile char *)IDBUF;
	struct vbuf idb = { IDBUF, VIRTIO_BLK_ID_BYTES, 0 };
	int slot_nr = pci_find(0, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK)), err;
	int all, head;

	if (slot_nr < 0)
		fail(1, 0);
	if ((err = virtio_pci_probe(&b.pci, (unsigned int)slot_nr)))
		fail(2, (uint32_t)-err);
	if ((err = virtio_negotiate(&b.pci, VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC))))
		fail(3, (uint32_t)-err);
	if (!virtio_has(&b.pci, VIRTIO_F_INDIRECT_DESC))
		fail(4, (uint32_t)b.pci.features);
	if ((err = virtq_setup(&b.pci, &b.q, 0, QSIZE, QMEM)) || b.q.size != QSIZE)
		fail(5, (uint32_t)-err);
	if ((err = virtio_driver_ok(&b.pci)))
		fail(6, (uint32_t)-err);
	b.q.avail->flags = VRING_AVAIL_F_NO_INTERRUPT; /* polled */
	b.sectors = (uint32_t)virtio_cfg_read64(&b.pci, VIRTIO_BLK_CFG_CAPACITY);
	b.rng = 0x2545f491;
	if (b.sectors < 16 * SEQ_BYTES / SECTOR_SIZE)
		fail(7, b.sectors);

	head = vblk_submit(&b.q, (struct vblk_req *)IDREQ, VIRTIO_BLK_T_GET_ID, 0, &idb, 1, 0);
	virtq_kick(&b.q);
	if (head < 0 || virtq_wait(&b.q, 0, VIRTQ_TIMEOUT) != head)
		fail(8, (uint32_t)head);
	all = !id[0] || streq(id, "all");
	{
		uint32_t n64k = b.sectors / (SEQ_BYTES / SECTOR_SIZE), n1m = n64k / 16;
		const struct phase phases[] = {
			{ "seqread", VIRTIO_BLK_T_IN, SEQ_BYTES, 1, 256, 128, n64k, 0 },
			{ "seqwrite", VIRTIO_BLK_T_OUT, SEQ_BYTES, 1, 256, 128, n64k, 0 },
			{ "seqread1m", VIRTIO_BLK_T_IN, 16 * SEQ_BYTES, 16, 16, 8, n1m, 0 },
			{ "seqwrite1m", VIRTIO_BLK_T_OUT, 16 * SEQ_BYTES, 16, 16, 8, n1m, 0 },
			{ "randread", VIRTIO_BLK_T_IN, RAND_BYTES, 1, 32, 1, RAND_OPS, 1 },
		};
		int ran = streq(id, "none");

		if (streq(id, "tsc")) {
			uint64_t t0 = rdtsc();

			while (rdtsc() - t0 < TSC_SPIN)
				;
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
