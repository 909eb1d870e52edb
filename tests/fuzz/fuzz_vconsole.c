/*
 * Fuzz target: virtio-console with multiport (virtio/vconsole.c), its
 * control and data queues driven by a hostile guest.
 *
 * Each input builds a fresh device with four ports over host fds the target
 * creates: port 0 a pipe each way (the input pipe holds a greeting), port 1
 * one end of a stream socket pair (in_fd == out_fd), port 2 an output pipe
 * whose reader is closed (EPIPE) and an input pipe whose writer is closed
 * (EOF), port 3 no fds at all. It negotiates MULTIPORT or not (and may set
 * up every queue anyway), EVENT_IDX and indirect, one queue size for all
 * queues, then runs operations: chains of chosen shapes on any queue
 * (segments in low or high RAM or at any address, writable where readable
 * is expected and the reverse, indirect), control messages of any id, event
 * and value, short or split across descriptors, guest output, receive
 * buffers, a whole handshake, kicks of any queue, passes of the I/O
 * thread's loop, hostile ring writes, config space accesses, the host
 * writing, draining and hanging up its ends, resets and reactivations.
 *
 * Checked around every call into the device (beyond ASan's view of the
 * heap-backed RAM): it writes guest RAM only in the used rings of ready
 * queues and in buffers a descriptor offers as writable; nothing at all
 * while the driver is not running or the device needs a reset; used
 * elements name a head of the ring, 0 bytes on transmit and control
 * transmit queues, at most the chain's writable size on receive queues, a
 * whole message on the control receive queue; without MULTIPORT no byte
 * moves on ports 1-3 and the control queues stay untouched; a host side
 * once gone stays gone and out_gone runs at most once. At the end the I/O
 * thread must fall idle without the guest doing anything, and after
 * vconsole_destroy() no fd may be left open and no source registered.
 *
 * Input: u8 features, u8 queue size, operations.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "tests/fuzz/io_thread.h"
#include "tests/fuzz/ram.h"
#include "tests/fuzz/ring.h"
#include "virtio/vconsole.h"
#include "vmm/evloop.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define NPORTS	   4
#define CTRL_RXQ   2
#define CTRL_TXQ   3
#define LOW_RAM	   (128u << 10)
#define HIGH_RAM   (16u << 10)
#define RING(q)	   ((uint64_t)(q) * 0x1000) /* a queue of 128 takes 0xd80 bytes */
#define TABLES	   0x10000ULL		    /* 0x400 of indirect tables per queue */
#define DATA	   0x14000ULL
#define DATA_SIZE  (LOW_RAM - DATA)
#define CTRL_LEN   sizeof(struct virtio_console_control)
#define MAX_RANGES 8192
#define FD_SCAN	   256

struct range {
	uint64_t start, end;
};

struct con_fuzz {
	struct ram ram;
	struct evloop loop;
	struct vconsole c;
	struct ring r[VIRTIO_MAX_QUEUES];
	struct arena data, high;
	bool multiport;
	unsigned int nq; /* queues set up by the last start() */
	/* Host ends: port 0's input writer and output reader, port 1's peer. */
	int in0_w, out0_r, peer1;
	int dev_fd[6]; /* the device's ends, closed after vconsole_destroy() */
	unsigned int gone[NPORTS];
	bool was_gone[NPORTS];
	uint64_t moved_at_start; /* bytes of ports 1-3 when the last start() negotiated */
	/* State before the current call into the device. */
	uint8_t *snap[2];
	uint8_t status;
	bool ready[VIRTIO_MAX_QUEUES];
	uint16_t used_idx[VIRTIO_MAX_QUEUES];
	struct range rg[MAX_RANGES];
	unsigned int nrg;
	bool rg_full;
	uint8_t buf[4096];
};

static struct con_fuzz *fz;

static unsigned int rxq(unsigned int id)
{
	return id == 0 ? 0 : 2 * id + 2;
}

/* ---- guest RAM as it was before the call (the snapshot) or as it is ---- */

static bool view_read(struct con_fuzz *f, bool before, uint64_t gpa, void *dst, uint64_t len)
{
	const uint8_t *p = gm_ptr(&f->ram.m, gpa, len);

	if (!p)
		return false;
	if (before) {
		for (unsigned int i = 0; i < 2; i++) {
			const struct gm_region *g = &f->ram.m.region[i];

			if (p >= g->host && p < g->host + g->size)
				p = f->snap[i] + (p - g->host);
		}
	}
	memcpy(dst, p, len);
	return true;
}

static bool read_desc(struct con_fuzz *f, bool before, uint64_t table, uint32_t i,
		      struct vring_desc *d)
{
	return view_read(f, before, table + 16ULL * i, d, sizeof(*d));
}

static void add_range(struct con_fuzz *f, uint64_t addr, uint64_t len)
{
	if (!len)
		return;
	if (f->nrg == MAX_RANGES) {
		f->rg_full = true;
		return;
	}
	f->rg[f->nrg++] = (struct range){ addr, addr + len < addr ? UINT64_MAX : addr + len };
}

/* Every buffer a descriptor of a ready queue offers as writable, in either view. */
static void collect_writable(struct con_fuzz *f, bool before)
{
	for (unsigned int q = 0; q < f->c.vdev.num_queues; q++) {
		const struct vq *vq = &f->c.vdev.vq[q];

		if (!f->ready[q])
			continue;
		for (uint32_t i = 0; i < vq->size; i++) {
			struct vring_desc d, e;

			if (!read_desc(f, before, vq->desc_gpa, i, &d))
				continue;
			if (!(d.flags & VRING_DESC_F_INDIRECT)) {
				if (d.flags & VRING_DESC_F_WRITE)
					add_range(f, d.addr, d.len);
				continue;
			}
			for (uint32_t k = 0; k < d.len / 16 && k < VQ_MAX_SEGS; k++)
				if (read_desc(f, before, d.addr, k, &e) &&
				    (e.flags & VRING_DESC_F_WRITE))
					add_range(f, e.addr, e.len);
		}
	}
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort and merge the ranges: disjoint, in order. */
static void merge_ranges(struct con_fuzz *f)
{
	unsigned int n = 0;

	qsort(f->rg, f->nrg, sizeof(f->rg[0]), range_cmp);
	for (unsigned int i = 0; i < f->nrg; i++) {
		if (n && f->rg[i].start <= f->rg[n - 1].end) {
			if (f->rg[i].end > f->rg[n - 1].end)
				f->rg[n - 1].end = f->rg[i].end;
		} else {
			f->rg[n++] = f->rg[i];
		}
	}
	f->nrg = n;
}

static bool allowed(const struct con_fuzz *f, uint64_t gpa)
{
	unsigned int lo = 0, hi = f->nrg;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (gpa < f->rg[mid].start)
			hi = mid;
		else if (gpa >= f->rg[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Whether [addr, addr + len) meets any writable range. */
static bool meets_writable(const struct con_fuzz *f, uint64_t addr, uint64_t len)
{
	for (unsigned int i = 0; i < f->nrg; i++)
		if (f->rg[i].start < addr + len && addr < f->rg[i].end)
			return true;
	return false;
}

/*
 * The writable bytes of chain `head` of queue q as vq_pop() would see them,
 * or UINT64_MAX for a chain it refuses (no bound to check then).
 */
static uint64_t chain_write_len(struct con_fuzz *f, bool before, unsigned int q, uint16_t head)
{
	const struct vq *vq = &f->c.vdev.vq[q];
	uint64_t table = vq->desc_gpa, sum = 0;
	uint32_t i = head, limit = vq->size;
	struct vring_desc d;

	if (!read_desc(f, before, table, i, &d))
		return UINT64_MAX;
	if (d.flags & VRING_DESC_F_INDIRECT) {
		table = d.addr;
		limit = d.len / 16;
		i = 0;
	}
	for (uint32_t steps = 0; steps < limit && steps < VQ_MAX_SEGS; steps++) {
		if (i >= limit || !read_desc(f, before, table, i, &d))
			return UINT64_MAX;
		if (d.flags & VRING_DESC_F_WRITE)
			sum += d.len;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return sum;
		i = d.next;
	}
	return UINT64_MAX;
}

/* ---- around every call into the device ---- */

static uint64_t moved_elsewhere(const struct con_fuzz *f)
{
	uint64_t n = 0;

	for (unsigned int i = 1; i < NPORTS; i++)
		n += f->c.port[i].rx_bytes + f->c.port[i].tx_bytes + f->c.port[i].tx_dropped;
	return n;
}

static void call_begin(struct con_fuzz *f)
{
	for (unsigned int i = 0; i < 2; i++)
		memcpy(f->snap[i], f->ram.m.region[i].host, f->ram.m.region[i].size);
	f->status = f->c.vdev.status;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		f->ready[q] = f->c.vdev.vq[q].ready;
		f->used_idx[q] = f->c.vdev.vq[q].used_idx;
	}
}

static void check_used(struct con_fuzz *f, unsigned int q)
{
	const struct vq *vq = &f->c.vdev.vq[q];
	uint64_t ring = vq->used_gpa + 4;
	bool tx = q == 1 || q == CTRL_TXQ || (q > CTRL_TXQ && q % 2);

	if (!f->ready[q]) {
		expect(vq->used_idx == f->used_idx[q]);
		return;
	}
	if (!vq->ready)
		return; /* reset during the call */
	/* A receive buffer over the used ring overwrites elements: the guest's loss. */
	if (f->rg_full || meets_writable(f, ring, 8ULL * vq->size))
		return;
	for (uint16_t u = f->used_idx[q]; u != vq->used_idx; u++) {
		uint32_t el[2];
		uint64_t room;

		expect(view_read(f, false, ring + 8ULL * (u % vq->size), el, sizeof(el)));
		expect(el[0] < vq->size);
		if (tx) {
			expect(el[1] == 0);
			continue;
		}
		room = chain_write_len(f, true, q, (uint16_t)el[0]);
		if (room != UINT64_MAX) {
			uint64_t after = chain_write_len(f, false, q, (uint16_t)el[0]);

			expect(el[1] <= room || after == UINT64_MAX || el[1] <= after);
		}
		if (q == CTRL_RXQ)
			expect(el[1] == 0 ||
			       (el[1] >= CTRL_LEN && el[1] <= CTRL_LEN + VCONSOLE_NAME_MAX));
	}
}

static void check_ram(struct con_fuzz *f, bool running)
{
	for (unsigned int i = 0; i < 2; i++) {
		const struct gm_region *g = &f->ram.m.region[i];

		for (uint64_t off = 0; off < g->size; off += 64) {
			if (!memcmp(f->snap[i] + off, g->host + off, 64))
				continue;
			/* Nothing at all while the driver is not running or the device is broken. */
			expect(running);
			for (uint64_t k = off; k < off + 64; k++)
				if (f->snap[i][k] != g->host[k])
					expect(f->rg_full || allowed(f, g->gpa + k));
		}
	}
}

/* What the call wrote: guest RAM and used elements. */
static void check_writes(struct con_fuzz *f, bool running)
{
	struct vconsole *c = &f->c;

	f->nrg = 0;
	f->rg_full = false;
	collect_writable(f, true);
	collect_writable(f, false);
	for (unsigned int q = 0; q < c->vdev.num_queues; q++)
		if (f->ready[q])
			add_range(f, c->vdev.vq[q].used_gpa,
				  6 + 8ULL * c->vdev.vq[q].size); /* idx, ring, avail_event */
	merge_ranges(f);
	check_ram(f, running);
	for (unsigned int q = 0; q < c->vdev.num_queues; q++)
		check_used(f, q);
}

static void call_end(struct con_fuzz *f)
{
	struct vconsole *c = &f->c;
	bool running = (f->status & VIRTIO_STATUS_DRIVER_OK) &&
		       !(f->status & VIRTIO_STATUS_NEEDS_RESET);
	bool changed = false;

	for (unsigned int i = 0; i < 2; i++)
		changed |= memcmp(f->snap[i], f->ram.m.region[i].host, f->ram.m.region[i].size) != 0;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		changed |= c->vdev.vq[q].used_idx != f->used_idx[q];
	if (changed)
		check_writes(f, running);
	if (!f->multiport) {
		expect(moved_elsewhere(f) == f->moved_at_start);
		expect(c->vdev.vq[CTRL_RXQ].used_idx == f->used_idx[CTRL_RXQ]);
		expect(c->vdev.vq[CTRL_TXQ].used_idx == f->used_idx[CTRL_TXQ]);
	}
	for (unsigned int i = 0; i < NPORTS; i++) {
		bool gone = !vconsole_host_connected(&c->port[i]);

		expect(gone || !f->was_gone[i]); /* Ember never reconnects */
		f->was_gone[i] = gone;
		expect(f->gone[i] <= 1);
	}
}

static void out_gone(void *ctx)
{
	fz->gone[(uintptr_t)ctx]++;
}

/* ---- the driver ---- */

static void kick(struct con_fuzz *f, unsigned int q)
{
	call_begin(f);
	pthread_mutex_lock(&f->c.vdev.lock);
	f->c.vdev.ops->queue_notify(&f->c.vdev, q);
	pthread_mutex_unlock(&f->c.vdev.lock);
	call_end(f);
}

static void io_pass(struct con_fuzz *f)
{
	call_begin(f);
	io_thread_step(&f->loop); /* the callbacks take the device lock themselves */
	call_end(f);
}

static void reset(struct con_fuzz *f)
{
	call_begin(f);
	pthread_mutex_lock(&f->c.vdev.lock);
	virtio_driver_reset(&f->c.vdev);
	pthread_mutex_unlock(&f->c.vdev.lock);
	call_end(f);
}

/*
 * What a driver does: features, rings, DRIVER_OK, activate. feat: bit 0
 * MULTIPORT, 1 EVENT_IDX, 2 no indirect, 3 every queue set up even without
 * MULTIPORT, 4 one queue (chosen by the high bits) left out.
 */
static void start(struct con_fuzz *f, uint8_t feat, uint8_t size_sel)
{
	struct virtio_dev *v = &f->c.vdev;
	uint16_t size = (uint16_t)(1u << (size_sel % 8));
	bool event_idx = feat & 2, indirect = !(feat & 4);
	uint64_t want = VIRTIO_FEAT_VERSION_1;

	f->multiport = feat & 1;
	if (f->multiport)
		want |= VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT);
	want |= (event_idx ? VIRTIO_FEAT_EVENT_IDX : 0) | (indirect ? VIRTIO_FEAT_INDIRECT_DESC : 0);
	f->nq = f->multiport || (feat & 8) ? v->num_queues : 2;
	f->moved_at_start = moved_elsewhere(f);
	pthread_mutex_lock(&v->lock);
	v->driver_features = want;
	v->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	for (unsigned int q = 0; q < f->nq; q++) {
		ring_init(&f->r[q], &f->ram.m, size, RING(q),
			  (struct arena){ .base = TABLES + 0x400ULL * q, .size = 0x400 });
		if ((feat & 16) && q == (unsigned int)(feat >> 5) % f->nq)
			continue;
		if (vq_setup(&v->vq[q], &f->ram.m, size, f->r[q].v.desc, f->r[q].v.avail,
			     f->r[q].v.used, event_idx, indirect))
			abort();
	}
	v->status |= VIRTIO_STATUS_DRIVER_OK;
	call_begin(f);
	v->ops->activate(v);
	pthread_mutex_unlock(&v->lock);
	call_end(f);
}

/* A queue index: one of those set up, or (flag) any value. */
static unsigned int pick_queue(struct con_fuzz *f, uint8_t sel, bool any)
{
	return any ? sel : sel % (f->nq ? f->nq : 1);
}

static bool is_rx(unsigned int q)
{
	return q == 0 || q == CTRL_RXQ || (q > CTRL_TXQ && q % 2 == 0);
}

/* One segment: from the data arena, high RAM, anywhere in low RAM (over the rings too) or anywhere. */
static struct fake_seg seg(struct con_fuzz *f, uint32_t len, bool write, uint8_t where,
			   struct input *in)
{
	uint64_t addr;

	switch (where % 8) {
	case 5:
		addr = arena_take(&f->high, len);
		break;
	case 6:
		addr = input_u32(in) % LOW_RAM;
		break;
	case 7:
		addr = input_u64(in);
		break;
	default:
		addr = arena_take(&f->data, len);
		break;
	}
	return (struct fake_seg){ addr, len, write };
}

/* Lay `len` bytes of `src` over the segments (what fits in RAM). */
static void fill(struct con_fuzz *f, const struct fake_seg *s, unsigned int n, const uint8_t *src,
		 size_t len)
{
	for (unsigned int i = 0; i < n && len; i++) {
		size_t k = s[i].len < len ? s[i].len : len;

		if (gm_write(&f->ram.m, s[i].addr, src, k)) {
			/* outside RAM: the device must refuse the chain */
		}
		src += k;
		len -= k;
	}
}

/*
 * A chain of 1-8 segments on any queue: writable on receive queues and
 * readable on transmit ones unless flipped, lengths small (or any u16, or
 * zero), optionally indirect, its readable bytes taken from the input.
 */
static void chain(struct con_fuzz *f, uint8_t op, struct input *in)
{
	unsigned int q = pick_queue(f, input_u8(in), op & 0x80);
	uint8_t shape = input_u8(in);
	struct fake_seg s[RING_MAX_SEGS];
	unsigned int n = shape % 8 + 1;
	size_t total = 0;

	if (q >= f->nq)
		return;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t sf = input_u8(in);
		uint32_t len = sf & 0x40 ? input_u16(in) : input_u8(in) % 96;

		s[i] = seg(f, len, is_rx(q) ^ !!(sf & 0x80), sf, in);
		total += len;
	}
	if (shape & 16) {
		size_t k = input_u8(in);

		input_bytes(in, f->buf, k < sizeof(f->buf) ? k : sizeof(f->buf));
		fill(f, s, n, f->buf, total < k ? total : k);
	}
	ring_add(&f->r[q], s, n, shape & 8);
	if (shape & 32)
		kick(f, q);
}

/*
 * A control message: any id (the ports, one past them, or any u32), event
 * and value, at its length or short or with bytes after it, split over 1-3
 * segments, on the control transmit queue (or any queue).
 */
static void ctrl_msg(struct con_fuzz *f, uint8_t op, struct input *in)
{
	uint8_t a = input_u8(in), b = input_u8(in), shape = input_u8(in);
	struct virtio_console_control m = {
		.id = a & 0x80 ? input_u32(in) : (uint32_t)(a % (NPORTS + 2)),
		.event = b & 0x80 ? input_u16(in) : (uint16_t)(b % 9),
		.value = b & 0x40 ? input_u16(in) : (uint16_t)(b >> 4 & 1),
	};
	uint8_t raw[CTRL_LEN + 8] = { 0 };
	size_t len = shape & 4 ? input_u8(in) % sizeof(raw) : CTRL_LEN;
	unsigned int n = shape % 3 + 1, q = shape & 8 ? pick_queue(f, input_u8(in), true) : CTRL_TXQ;
	struct fake_seg s[3];
	size_t at = 0;

	if (q >= f->nq)
		return;
	memcpy(raw, &m, CTRL_LEN);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t piece = i + 1 < n ? (uint32_t)(len / n) : (uint32_t)(len - at);

		if (piece == 0)
			piece = shape & 16 ? 0 : 1; /* zero-length descriptors, or not */
		s[i] = seg(f, piece, !!(shape & 32 && i == n - 1), shape & 64 ? 6 : 0, in);
		at += piece;
	}
	fill(f, s, n, raw, len);
	ring_add(&f->r[q], s, n, shape & 128);
	if (!(op & 0x80))
		kick(f, q);
}

/* `k` writable buffers of `len` bytes on queue q, then a kick. */
static void post(struct con_fuzz *f, unsigned int q, unsigned int k, uint32_t len)
{
	if (q >= f->nq)
		return;
	for (unsigned int i = 0; i < k; i++) {
		struct fake_seg s = { arena_take(&f->data, len), len, true };

		ring_add(&f->r[q], &s, 1, false);
	}
	kick(f, q);
}

static void send_ctrl(struct con_fuzz *f, uint32_t id, uint16_t event, uint16_t value)
{
	struct virtio_console_control m = { .id = id, .event = event, .value = value };
	struct fake_seg s = { arena_take(&f->data, CTRL_LEN), CTRL_LEN, false };

	fill(f, &s, 1, (const uint8_t *)&m, CTRL_LEN);
	ring_add(&f->r[CTRL_TXQ], &s, 1, false);
	kick(f, CTRL_TXQ);
}

/* What a Linux driver does: control buffers, DEVICE_READY, PORT_READY and PORT_OPEN each. */
static void handshake(struct con_fuzz *f, uint8_t open_mask)
{
	if (f->nq <= CTRL_TXQ)
		return;
	post(f, CTRL_RXQ, 8, 80);
	send_ctrl(f, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (unsigned int i = 0; i < NPORTS; i++) {
		post(f, CTRL_RXQ, 3, 80);
		send_ctrl(f, i, VIRTIO_CONSOLE_PORT_READY, 1);
	}
	for (unsigned int i = 0; i < NPORTS; i++)
		if (open_mask & (1u << i))
			send_ctrl(f, i, VIRTIO_CONSOLE_PORT_OPEN, 1);
}

/* The guest writes input bytes to port `id` (as one chain of 1-3 segments) and kicks. */
static void guest_write(struct con_fuzz *f, unsigned int id, struct input *in)
{
	size_t len = input_u8(in) + 1;
	unsigned int n = len % 3 + 1, q = rxq(id) + 1;
	struct fake_seg s[3];
	size_t at = 0;

	if (q >= f->nq)
		return;
	input_bytes(in, f->buf, len);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t piece = i + 1 < n ? (uint32_t)(len / n) : (uint32_t)(len - at);

		s[i] = (struct fake_seg){ arena_take(&f->data, piece), piece, false };
		at += piece;
	}
	fill(f, s, n, f->buf, len);
	ring_add(&f->r[q], s, n, false);
	kick(f, q);
}

/* ---- the host side ---- */

static void host_write(int fd, struct input *in)
{
	size_t len = input_u16(in) % 8192;

	if (fd < 0)
		return;
	for (size_t i = 0; i < len; i++)
		fz->buf[i % sizeof(fz->buf)] = (uint8_t)(i * 13);
	while (len) {
		size_t k = len < sizeof(fz->buf) ? len : sizeof(fz->buf);
		ssize_t w = write(fd, fz->buf, k);

		if (w <= 0)
			break; /* full: the rest is dropped */
		len -= (size_t)w;
	}
}

static void drain(int fd)
{
	while (fd >= 0 && read(fd, fz->buf, sizeof(fz->buf)) > 0)
		;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void host_op(struct con_fuzz *f, struct input *in)
{
	switch (input_u8(in) % 6) {
	case 0:
		host_write(f->in0_w, in);
		break;
	case 1:
		host_write(f->peer1, in);
		break;
	case 2:
		drain(f->out0_r);
		drain(f->peer1);
		break;
	case 3:
		close_fd(&f->in0_w); /* EOF on port 0's input */
		break;
	case 4:
		close_fd(&f->peer1); /* port 1's peer hangs up */
		break;
	case 5:
		close_fd(&f->out0_r); /* port 0's reader goes away: EPIPE */
		break;
	}
}

static void config(struct con_fuzz *f, struct input *in)
{
	uint8_t b[16];
	uint32_t off = input_u8(in) & 0x80 ? input_u32(in) : input_u8(in) % 16;
	uint32_t len = input_u8(in) % (sizeof(b) + 1);

	memset(b, 0x5a, sizeof(b));
	call_begin(f);
	pthread_mutex_lock(&f->c.vdev.lock);
	if (off & 1)
		f->c.vdev.ops->config_write(&f->c.vdev, off, b, len);
	else
		f->c.vdev.ops->config_read(&f->c.vdev, off, b, len);
	pthread_mutex_unlock(&f->c.vdev.lock);
	call_end(f);
}

static void step(struct con_fuzz *f, struct input *in)
{
	uint8_t op = input_u8(in);

	switch (op % 14) {
	case 0:
	case 1:
		chain(f, op, in);
		break;
	case 2:
	case 3:
		ctrl_msg(f, op, in);
		break;
	case 4:
		guest_write(f, input_u8(in) % NPORTS, in);
		break;
	case 5: { /* receive buffers for a port (or the control queue) */
		uint8_t a = input_u8(in), b = input_u8(in);

		post(f, a & 0x80 ? CTRL_RXQ : rxq(a % NPORTS), b % 8 + 1, (uint32_t)(b >> 3) * 16 + 1);
		break;
	}
	case 6:
		kick(f, pick_queue(f, input_u8(in), op & 0x80));
		break;
	case 7:
	case 8:
		io_pass(f);
		break;
	case 9:
		ring_hostile(&f->r[pick_queue(f, input_u8(in), false)], input_u8(in), in, LOW_RAM);
		break;
	case 10:
		host_op(f, in);
		break;
	case 11:
		if (op & 0x80) {
			reset(f);
		} else {
			uint8_t feat = input_u8(in);

			reset(f);
			start(f, feat, input_u8(in));
		}
		break;
	case 12:
		handshake(f, input_u8(in));
		break;
	case 13:
		config(f, in);
		break;
	}
}

/* ---- set-up and teardown of one device per input ---- */

static void make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
		abort();
}

static void setup(struct con_fuzz *f)
{
	int a[2], b[2], s[2], c[2], d[2];
	static const char name3[] = "a-port-name-of-the-longest-length-a-name-can-have-63-bytes-long";

	make_pipe(a);
	make_pipe(b);
	make_pipe(c);
	make_pipe(d);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s))
		abort();
	close(c[0]); /* port 2's output has no reader: EPIPE */
	close(d[1]); /* port 2's input has no writer: EOF */
	if (write(a[1], "hello, guest\n", 13) != 13)
		abort();
	struct vconsole_port_cfg ports[NPORTS] = {
		{ "ember.stdin", a[0], b[1], out_gone, (void *)0 },
		{ "p1", s[0], s[0], out_gone, (void *)1 },
		{ NULL, d[0], c[1], out_gone, (void *)2 },
		{ name3, -1, -1, NULL, NULL },
	};
	int fds[6] = { a[0], b[1], s[0], c[1], d[0], -1 };

	memcpy(f->dev_fd, fds, sizeof(fds));
	f->in0_w = a[1];
	f->out0_r = b[0];
	f->peer1 = s[1];
	memset(f->gone, 0, sizeof(f->gone));
	memset(f->was_gone, 0, sizeof(f->was_gone));
	if (vconsole_init(&f->c, ports, NPORTS, &f->ram.m, &f->loop))
		abort();
}

static unsigned int open_fds(void)
{
	unsigned int n = 0;

	for (int fd = 0; fd < FD_SCAN; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* Without the guest doing anything, the I/O thread must run out of work. */
static void settle(struct con_fuzz *f)
{
	struct epoll_event ev;

	for (unsigned int i = 0; i < 32 && epoll_wait(f->loop.epfd, &ev, 1, 0) > 0; i++)
		io_pass(f);
	expect(epoll_wait(f->loop.epfd, &ev, 1, 0) == 0);
}

static void teardown(struct con_fuzz *f)
{
	vconsole_destroy(&f->c);
	for (unsigned int i = 0; i < EVLOOP_MAX_SRCS; i++)
		expect(!f->loop.src[i].fn);
	for (unsigned int i = 0; i < 6; i++)
		close_fd(&f->dev_fd[i]);
	close_fd(&f->in0_w);
	close_fd(&f->out0_r);
	close_fd(&f->peer1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERR); /* hostile control messages warn by the million */
	signal(SIGPIPE, SIG_IGN);
	fz = calloc(1, sizeof(*fz));
	if (!fz || ram_init(&fz->ram, LOW_RAM, HIGH_RAM) || evloop_init(&fz->loop))
		abort();
	fz->snap[0] = malloc(LOW_RAM);
	fz->snap[1] = malloc(HIGH_RAM);
	if (!fz->snap[0] || !fz->snap[1])
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = input_init(data, size);
	struct con_fuzz *f = fz;
	uint8_t feat = input_u8(&in), size_sel = input_u8(&in);
	unsigned int steps = 0, fds = open_fds();

	ram_clear(&f->ram);
	f->data = (struct arena){ .base = DATA, .size = DATA_SIZE, .next = DATA };
	f->high = (struct arena){ .base = LAYOUT_4G, .size = HIGH_RAM, .next = LAYOUT_4G };
	setup(f);
	start(f, feat, size_sel);
	while (!input_empty(&in) && steps++ < 512)
		step(f, &in);
	settle(f);
	reset(f);
	teardown(f);
	expect(open_fds() == fds);
	return 0;
}
