/*
 * Fuzz target: the virtio-blk request path (virtio/blk.c) over three small
 * temporary images, each opened once with blk_open(): writable and
 * read-only (with a serial) with synchronous I/O, and writable with
 * io_uring. There is no I/O thread: completions are taken when the device
 * polls for them after a submit, when the input runs one pass of the I/O
 * thread's loop, and at reset, which waits for the rest.
 *
 * Each input picks a device, a queue size and the features, then drives
 * queue 0 as a driver would, well or badly: requests of every type (and
 * unknown ones) with chosen sectors, segment counts, lengths, directions,
 * split headers, missing or oversized status, direct or indirect, in low or
 * high RAM; hostile ring writes; kicks; resets. After every kick of a
 * synchronous device, and the further turns of the loop it asked for (a
 * bounded number), unless it asked for a reset, each request published
 * must have completed. At the end the device is reset for the next input.
 *
 * Input: u8 flags (bit 0 read-only device, bit 3 io_uring device, bit 1
 * EVENT_IDX, bit 2 no indirect descriptors), u8 queue size selector,
 * operations.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "tests/fuzz/io_thread.h"
#include "tests/fuzz/ram.h"
#include "tests/fuzz/ring.h"
#include "virtio/blk.h"
#include "vmm/evloop.h"
#include "vmm/log.h"

#define IMAGE_SIZE  (64u << 10) /* 128 sectors */
#define LOW_RAM	    (256u << 10)
#define HIGH_RAM    (16u << 10)
#define RING_BASE   0x0ULL    /* up to 6.7 KiB for 256 entries */
#define TABLES	    0x2000ULL /* indirect tables */
#define TABLES_SIZE 0x4000ULL
#define DATA	    0x8000ULL /* headers, data, statuses */
#define DATA_SIZE   (LOW_RAM - DATA)
#define SERIAL	    "fuzz-serial-20-bytes" /* exactly 20: no NUL in GET_ID */

struct dev {
	char path[64];
	struct blk b;
};

struct blk_fuzz {
	struct ram ram;
	struct evloop loop; /* never started: the io_uring device only registers with it */
	struct dev dev[3]; /* writable; read-only with a serial; writable with io_uring */
	struct blk *b;
	struct ring r;
	struct arena data, high;
	bool event_idx, indirect;
};

static struct blk_fuzz *fz;

static const uint32_t types[] = {
	VIRTIO_BLK_T_IN,     VIRTIO_BLK_T_OUT,	   VIRTIO_BLK_T_FLUSH,
	VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
	10, /* GET_LIFETIME, not offered */
	0xffffffff,
};

static void open_dev(struct dev *d, bool readonly, const char *id, bool sync)
{
	struct blk_options o = { .path = d->path, .readonly = readonly, .id = id, .sync_io = sync };
	int fd;

	snprintf(d->path, sizeof(d->path), "/tmp/ember-fuzz-blk-XXXXXX");
	fd = mkstemp(d->path);
	if (fd < 0 || ftruncate(fd, IMAGE_SIZE) || close(fd))
		abort();
	if (blk_open(&d->b, &o, &fz->ram.m, &fz->loop))
		abort();
	unlink(d->path); /* the device holds it open; nothing is left behind, even after a crash */
}

/* Turns a kick may take: the queue's size over the requests of a turn, zeros a slice each. */
#define MAX_TURNS 4096

static void kick(struct blk_fuzz *f)
{
	struct virtio_dev *v = &f->b->vdev;
	uint16_t avail_before = 0, avail_after = 0;
	bool more;

	expect(gm_read(&fz->ram.m, f->r.v.avail + 2, &avail_before, 2) == 0);
	pthread_mutex_lock(&v->lock);
	v->ops->queue_notify(v, 0);
	more = f->b->resume_armed || disk_backlog(f->b->disk);
	pthread_mutex_unlock(&v->lock);
	/* The device asked for more turns (a turn's allowance spent, zeros written a
	 * slice a turn): the I/O thread would give them, after its other sources. */
	for (unsigned int i = 0; more && i < MAX_TURNS; i++) {
		io_thread_step(&fz->loop);
		pthread_mutex_lock(&v->lock);
		more = f->b->resume_armed || disk_backlog(f->b->disk);
		pthread_mutex_unlock(&v->lock);
	}
	expect(!more);
	pthread_mutex_lock(&v->lock);
	/* Synchronous I/O: whatever was available has completed, unless the queue broke. */
	if (disk_info(f->b->disk)->engine == DISK_ENGINE_RAW_SYNC &&
	    !(v->status & VIRTIO_STATUS_NEEDS_RESET) && v->vq[0].ready) {
		expect(gm_read(&fz->ram.m, f->r.v.avail + 2, &avail_after, 2) == 0);
		/* Every request taken has completed; and every one available was taken,
		 * unless a read the guest asked for overwrote its own avail index. */
		expect(v->vq[0].used_idx == v->vq[0].last_avail);
		expect(avail_after != avail_before || v->vq[0].last_avail == avail_after);
	}
	pthread_mutex_unlock(&v->lock);
}

/* Set up queue 0 of `size` entries and set DRIVER_OK, as the transport would. */
static void start(struct blk_fuzz *f, uint16_t size)
{
	struct virtio_dev *v = &f->b->vdev;

	ring_init(&f->r, &f->ram.m, size, RING_BASE,
		  (struct arena){ .base = TABLES, .size = TABLES_SIZE });
	pthread_mutex_lock(&v->lock);
	v->driver_features = v->host_features & ~VIRTIO_FEAT_EVENT_IDX & ~VIRTIO_FEAT_INDIRECT_DESC;
	if (f->event_idx)
		v->driver_features |= VIRTIO_FEAT_EVENT_IDX;
	if (f->indirect)
		v->driver_features |= VIRTIO_FEAT_INDIRECT_DESC;
	v->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	if (vq_setup(&v->vq[0], &f->ram.m, size, f->r.v.desc, f->r.v.avail, f->r.v.used,
		     f->event_idx, f->indirect))
		abort();
	v->status |= VIRTIO_STATUS_DRIVER_OK;
	pthread_mutex_unlock(&v->lock);
}

/* The driver writes 0 to the status register. */
static void reset(struct blk_fuzz *f)
{
	struct virtio_dev *v = &f->b->vdev;

	pthread_mutex_lock(&v->lock);
	virtio_driver_reset(v);
	pthread_mutex_unlock(&v->lock);
}

static void put(struct blk_fuzz *f, uint64_t gpa, const void *src, size_t n)
{
	void *p = gm_ptr(&f->ram.m, gpa, n);

	if (p)
		memcpy(p, src, n);
}

/* One segment of `len` bytes: in low or high RAM, or at any address. */
static struct fake_seg seg(struct blk_fuzz *f, uint32_t len, bool write, uint8_t where,
			   struct input *in)
{
	uint64_t addr;

	if (where & 2)
		addr = input_u64(in);
	else if (where & 1)
		addr = arena_take(&f->high, len);
	else
		addr = arena_take(&f->data, len);
	return (struct fake_seg){ addr, len, write };
}

/*
 * A request: header (whole or split), up to 7 data segments, a status
 * segment (1 byte, or a chosen length, or none).
 */
static void request(struct blk_fuzz *f, struct input *in)
{
	uint8_t shape = input_u8(in), tsel = input_u8(in);
	uint32_t type = tsel & 0x80 ? input_u32(in) : types[tsel % 8];
	uint64_t sector = shape & 0x20 ? input_u64(in) : input_u8(in);
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} hdr = { type, 0, sector };
	bool data_write = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct fake_seg s[RING_MAX_SEGS];
	unsigned int n = 0, ndata = shape & 7;

	if (shape & 0x10) { /* header in two pieces */
		uint32_t first = input_u8(in) % 16 + 1;

		s[n] = seg(f, first, false, 0, in);
		put(f, s[n++].addr, &hdr, first);
		if (first < 16) {
			s[n] = seg(f, 16 - first, false, 0, in);
			put(f, s[n++].addr, (uint8_t *)&hdr + first, 16 - first);
		}
	} else {
		s[n] = seg(f, 16, false, 0, in);
		put(f, s[n++].addr, &hdr, 16);
	}
	for (unsigned int i = 0; i < ndata; i++) {
		uint32_t len = input_u16(in);
		uint8_t sf = input_u8(in);

		s[n] = seg(f, len, data_write ^ (sf & 1), sf >> 1, in);
		if (i == 0 && (type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES)) {
			struct virtio_blk_discard_write_zeroes d;

			d.sector = sf & 0x80 ? input_u64(in) : input_u8(in);
			d.num_sectors = sf & 0x80 ? input_u32(in) : input_u8(in);
			d.flags = input_u8(in) % 4;
			put(f, s[n].addr, &d, len < sizeof(d) ? len : sizeof(d));
		}
		n++;
	}
	if (!(shape & 0x40))
		s[n++] = seg(f, shape & 0x80 ? input_u8(in) : 1, true, 0, in);
	ring_add(&f->r, s, n, shape & 8);
}

static void step(struct blk_fuzz *f, struct input *in)
{
	uint8_t op = input_u8(in);

	switch (op % 9) {
	case 0:
	case 1:
	case 2:
		request(f, in);
		break;
	case 3:
		kick(f);
		break;
	case 4:
	case 5:
		ring_hostile(&f->r, input_u8(in), in, LOW_RAM);
		break;
	case 6: /* a request, then its kick */
		request(f, in);
		kick(f);
		break;
	case 7: /* reset and start again with another queue size */
		reset(f);
		start(f, (uint16_t)(1u << (input_u8(in) % 9)));
		break;
	case 8: /* the I/O thread takes io_uring completions */
		io_thread_step(&f->loop);
		break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERR); /* a broken queue warns; the fuzzer breaks them by the million */
	fz = calloc(1, sizeof(*fz));
	if (!fz || ram_init(&fz->ram, LOW_RAM, HIGH_RAM) || evloop_init(&fz->loop))
		abort();
	open_dev(&fz->dev[0], false, NULL, true);
	open_dev(&fz->dev[1], true, SERIAL, true);
	open_dev(&fz->dev[2], false, NULL, false);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = input_init(data, size);
	struct blk_fuzz *f = fz;
	uint8_t flags = input_u8(&in), qsel = input_u8(&in);
	unsigned int steps = 0;

	ram_clear(&f->ram);
	f->b = &f->dev[flags & 1 ? 1 : flags & 8 ? 2 : 0].b;
	f->event_idx = flags & 2;
	f->indirect = !(flags & 4);
	f->data = (struct arena){ .base = DATA, .size = DATA_SIZE, .next = DATA };
	f->high = (struct arena){ .base = LAYOUT_4G, .size = HIGH_RAM, .next = LAYOUT_4G };
	start(f, (uint16_t)(1u << (qsel % 9)));
	while (!input_empty(&in) && steps++ < 1024)
		step(f, &in);
	kick(f);
	reset(f);
	return 0;
}
