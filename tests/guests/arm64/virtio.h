/*
 * A minimal virtio-pci (modern, virtio 1.x) driver for arm64 micro-guests:
 * the arm64 counterpart of tests/guests/virtio.h, which reaches PCI through
 * x86 ports. Here configuration space is the ECAM window (bus 0, function
 * 0), PCI ports are memory at the I/O window + port, and addresses are 64
 * bits. The rest follows the x86 header: the vendor capabilities say where
 * the common, notify, ISR and device structures are (nothing about the BAR
 * layout is assumed; of two notification structures the first listed is
 * used, as the specification asks, unless the caller wants memory), feature
 * negotiation, and split virtqueues driven by polling. The MMU is off, so a
 * guest physical address is the pointer.
 *
 * pci_assign_bars() gives every BAR of a function an address of the
 * guest's choosing, as firmware or Linux would, and reports where Ember had
 * placed them: the kicks and BAR accesses must follow the move.
 *
 * Header-only; all state lives in the caller's structs. Fallible functions
 * return 0 (or a non-negative result) on success and a negative VIRTIO_E_*
 * code, so a test can turn each cause into its own fail code.
 *
 * Ordering: the rings are in RAM that the device reads and writes from
 * another host CPU; stores to them are ordered with dsb before the index
 * that publishes them and before the notification (wmb/mb in guest.h), and
 * a used element is read after the index that published it (rmb).
 */
#pragma once
#include <stdint.h>

#include "guest.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE(type) (0x1040 + (type)) /* modern device IDs */

/* Feature bits (virtio 1.2, 6) */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_FEATURE(bit) (1ULL << (bit))

/* Device status */
#define VIRTIO_S_ACKNOWLEDGE 1
#define VIRTIO_S_DRIVER 2
#define VIRTIO_S_DRIVER_OK 4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 64
#define VIRTIO_S_FAILED 128

/* Errors */
#define VIRTIO_E_NOCAPLIST (-1)	 /* status register: no capability list */
#define VIRTIO_E_CAPS (-2)	 /* common, notify or ISR structure missing */
#define VIRTIO_E_BAR (-3)	 /* structure in an unassigned BAR, or a BAR outside the windows */
#define VIRTIO_E_RESET (-4)	 /* status did not read back 0 after a reset */
#define VIRTIO_E_VERSION_1 (-5)	 /* device does not offer VERSION_1 */
#define VIRTIO_E_FEATURES (-6)	 /* FEATURES_OK did not stick */
#define VIRTIO_E_NOQUEUE (-7)	 /* queue does not exist (size 0) */
#define VIRTIO_E_QSIZE (-8)	 /* size not a power of two, or above 256 */
#define VIRTIO_E_QENABLE (-9)	 /* queue_enable did not read back 1 */
#define VIRTIO_E_DRIVER_OK (-10) /* DRIVER_OK did not stick, or NEEDS_RESET */
#define VIRTIO_E_FULL (-11)	 /* not enough free descriptors */
#define VIRTIO_E_USED_ID (-12)	 /* device returned an id that is no chain head */

/* ---- PCI: ECAM, bus 0 (vmm/layout_arm64.h) ---- */

#define PCI_ECAM 0x3f000000ul
#define PCI_MMIO_WINDOW 0x10000000ul	 /* 32-bit memory BARs */
#define PCI_MMIO_WINDOW_END 0x3eff0000ul
#define PCI_IO_WINDOW 0x3eff0000ul /* the CPU address of PCI port 0 */
#define PCI_IO_FIRST 0x1000u	   /* I/O BARs from this port */
#define PCI_IO_END 0x10000u
#define PCI_SLOTS 32
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_VNDR 0x09

/* Configuration register `reg` of device `slot`: offset slot << 15 | reg. */
static inline uint64_t pci_cfg(unsigned int slot, unsigned int reg)
{
	return PCI_ECAM + ((uint64_t)(slot & 31) << 15) + (reg & 0xfff);
}

static inline uint32_t pci_read32(unsigned int slot, unsigned int reg) { return mmio_read32(pci_cfg(slot, reg & ~3u)); }
static inline uint16_t pci_read16(unsigned int slot, unsigned int reg) { return mmio_read16(pci_cfg(slot, reg & ~1u)); }
static inline uint8_t pci_read8(unsigned int slot, unsigned int reg) { return mmio_read8(pci_cfg(slot, reg)); }
static inline void pci_write32(unsigned int slot, unsigned int reg, uint32_t v) { mmio_write32(pci_cfg(slot, reg & ~3u), v); }
static inline void pci_write16(unsigned int slot, unsigned int reg, uint16_t v) { mmio_write16(pci_cfg(slot, reg & ~1u), v); }

/* First slot >= `from` holding vendor:device, or -1. */
static inline int pci_find(unsigned int from, uint16_t vendor, uint16_t device)
{
	for (unsigned int s = from; s < PCI_SLOTS; s++)
		if (pci_read32(s, 0) == ((uint32_t)device << 16 | vendor))
			return (int)s;
	return -1;
}

/* A BAR as found before pci_assign_bars() moved it. */
struct pci_bar {
	uint64_t addr; /* memory address, or port for I/O */
	uint64_t size; /* 0: not implemented */
	int io, is64;
};

/* Where pci_assign_bars() puts BARs next: one allocator per guest. */
struct pci_alloc {
	uint64_t mem; /* next memory address, in the 32-bit window */
	uint32_t io;  /* next port */
};

/*
 * Size every BAR of `slot` (all ones written with decoding off), note in
 * old[6] where it was, and place it naturally aligned at the allocator's
 * next address of its kind; then memory and I/O decoding and bus mastering
 * on. Returns 0, or VIRTIO_E_BAR if a BAR does not fit its window.
 */
static inline int pci_assign_bars(unsigned int slot, struct pci_alloc *a, struct pci_bar old[6])
{
	uint16_t cmd = pci_read16(slot, PCI_COMMAND);
	int err = 0;

	pci_write16(slot, PCI_COMMAND, (uint16_t)(cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY)));
	for (unsigned int bar = 0; bar < 6; bar++)
		old[bar] = (struct pci_bar){ 0, 0, 0, 0 };
	for (unsigned int bar = 0; bar < 6; bar++) {
		unsigned int reg = PCI_BAR0 + 4 * bar;
		uint32_t lo = pci_read32(slot, reg), mask, hi = 0, hmask = 0xffffffffu;
		struct pci_bar *b = &old[bar];

		pci_write32(slot, reg, 0xffffffffu);
		mask = pci_read32(slot, reg);
		pci_write32(slot, reg, lo);
		if (!mask)
			continue; /* not implemented */
		b->io = mask & 1;
		b->is64 = !b->io && (mask & 6) == 4 && bar < 5;
		if (b->is64) {
			hi = pci_read32(slot, reg + 4);
			pci_write32(slot, reg + 4, 0xffffffffu);
			hmask = pci_read32(slot, reg + 4);
			pci_write32(slot, reg + 4, hi);
		}
		if (b->io) {
			uint32_t port;

			b->addr = lo & 0xfffcu;
			b->size = (~(mask & ~3u) + 1) & 0xffffu;
			port = (a->io + (uint32_t)b->size - 1) & ~((uint32_t)b->size - 1);
			if (!b->size || port < PCI_IO_FIRST || port + b->size > PCI_IO_END) {
				err = VIRTIO_E_BAR;
				continue;
			}
			pci_write32(slot, reg, port | 1);
			a->io = port + (uint32_t)b->size;
		} else {
			uint64_t m = (uint64_t)hmask << 32 | (mask & ~0xfu), addr;

			b->addr = ((uint64_t)hi << 32 | lo) & ~0xfull;
			b->size = ~m + 1;
			addr = (a->mem + b->size - 1) & ~(b->size - 1);
			if (!b->size || addr < PCI_MMIO_WINDOW || addr + b->size > PCI_MMIO_WINDOW_END) {
				err = VIRTIO_E_BAR;
			} else {
				pci_write32(slot, reg, (uint32_t)addr | (lo & 0xf));
				if (b->is64)
					pci_write32(slot, reg + 4, (uint32_t)(addr >> 32));
				a->mem = addr + b->size;
			}
			if (b->is64)
				bar++;
		}
	}
	pci_write16(slot, PCI_COMMAND,
		    (uint16_t)(cmd | PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
	return err;
}

/* The CPU address of memory BAR `bar` (64-bit aware), 0 if it is an I/O BAR or unassigned. */
static inline uint64_t pci_bar_addr(unsigned int slot, unsigned int bar)
{
	uint32_t lo;
	uint64_t hi = 0;

	if (bar > 5)
		return 0;
	lo = pci_read32(slot, PCI_BAR0 + 4 * bar);
	if (lo & 1)
		return 0;
	if ((lo & 6) == 4)
		hi = bar < 5 ? pci_read32(slot, PCI_BAR0 + 4 * (bar + 1)) : 0;
	return (hi << 32 | lo) & ~0xfull;
}

/* ---- virtio-pci transport ---- */

/* virtio_pci_cap.cfg_type */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* Common configuration structure offsets (virtio 1.2, 4.1.4.3) */
#define VC_DFSELECT 0x00
#define VC_DF 0x04
#define VC_GFSELECT 0x08
#define VC_GF 0x0c
#define VC_MSIX_CONFIG 0x10
#define VC_NUM_QUEUES 0x12
#define VC_STATUS 0x14
#define VC_GENERATION 0x15
#define VC_Q_SELECT 0x16
#define VC_Q_SIZE 0x18
#define VC_Q_MSIX 0x1a
#define VC_Q_ENABLE 0x1c
#define VC_Q_NOTIFY_OFF 0x1e
#define VC_Q_DESC 0x20
#define VC_Q_DRIVER 0x28
#define VC_Q_DEVICE 0x30

struct virtio_pci {
	unsigned int slot;
	uint64_t common, isr, device, notify; /* CPU addresses of the structures */
	uint32_t device_len;		      /* length of the device structure */
	uint32_t notify_mult;		      /* notify_off_multiplier */
	uint64_t notify_io;		      /* a notification structure in I/O space, 0: none */
	uint32_t notify_io_mult;
	int use_io;			      /* kick through notify_io (listed first) */
	uint64_t features;		      /* offered by the device, then negotiated */
};

/*
 * Read the vendor capabilities of `slot` (BARs assigned, decoding on).
 * `memory_kicks` picks the memory notification structure even when the
 * I/O one is listed first.
 */
static inline int virtio_pci_probe(struct virtio_pci *d, unsigned int slot, int memory_kicks)
{
	unsigned int p, guard;

	*d = (struct virtio_pci){ .slot = slot };
	if (!(pci_read16(slot, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return VIRTIO_E_NOCAPLIST;
	p = pci_read8(slot, PCI_CAP_PTR) & 0xfc;
	for (guard = 0; p >= 0x40 && guard < 48; guard++, p = pci_read8(slot, p + 1) & 0xfc) {
		uint8_t type, bar;
		uint32_t off, len;
		uint64_t base;

		if (pci_read8(slot, p) != PCI_CAP_ID_VNDR)
			continue;
		type = pci_read8(slot, p + 3);
		bar = pci_read8(slot, p + 4);
		off = pci_read32(slot, p + 8);
		len = pci_read32(slot, p + 12);
		if (type < VIRTIO_PCI_CAP_COMMON_CFG || type > VIRTIO_PCI_CAP_DEVICE_CFG || bar > 5)
			continue; /* PCI_CFG access window, or unknown */
		if (pci_read32(slot, PCI_BAR0 + 4 * bar) & 1) {
			uint32_t port = pci_read32(slot, PCI_BAR0 + 4 * bar) & 0xfffcu;

			if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && port >= PCI_IO_FIRST && !d->notify_io &&
			    off < PCI_IO_END - port) {
				d->notify_io = PCI_IO_WINDOW + port + off;
				d->notify_io_mult = pci_read32(slot, p + 16);
				d->use_io = !d->notify && !memory_kicks; /* the first listed */
			}
			continue; /* only notifications live in I/O space */
		}
		base = pci_bar_addr(slot, bar);
		if (base < PCI_MMIO_WINDOW || base >= PCI_MMIO_WINDOW_END || off + len < off)
			return VIRTIO_E_BAR;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG && !d->common)
			d->common = base + off;
		else if (type == VIRTIO_PCI_CAP_ISR_CFG && !d->isr)
			d->isr = base + off;
		else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !d->device) {
			d->device = base + off;
			d->device_len = len;
		} else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !d->notify) {
			d->notify = base + off;
			d->notify_mult = pci_read32(slot, p + 16);
		}
	}
	if (!d->common || !d->isr || (!d->notify && !d->notify_io) || (memory_kicks && !d->notify))
		return VIRTIO_E_CAPS;
	return 0;
}

static inline uint8_t virtio_status(const struct virtio_pci *d)
{
	return mmio_read8(d->common + VC_STATUS);
}

static inline void virtio_set_status(const struct virtio_pci *d, uint8_t bits)
{
	mmio_write8(d->common + VC_STATUS, (uint8_t)(virtio_status(d) | bits));
}

/*
 * Reset, ACKNOWLEDGE | DRIVER, accept VERSION_1 and whatever of `wanted` the
 * device offers, FEATURES_OK (read back). d->features holds the negotiated
 * set afterwards. Queues are set up next, then virtio_driver_ok().
 */
static inline int virtio_negotiate(struct virtio_pci *d, uint64_t wanted)
{
	uint64_t offered;

	mmio_write8(d->common + VC_STATUS, 0);
	if (virtio_status(d) != 0)
		return VIRTIO_E_RESET;
	virtio_set_status(d, VIRTIO_S_ACKNOWLEDGE);
	virtio_set_status(d, VIRTIO_S_DRIVER);
	mmio_write32(d->common + VC_DFSELECT, 0);
	offered = mmio_read32(d->common + VC_DF);
	mmio_write32(d->common + VC_DFSELECT, 1);
	offered |= (uint64_t)mmio_read32(d->common + VC_DF) << 32;
	if (!(offered & VIRTIO_FEATURE(VIRTIO_F_VERSION_1))) {
		virtio_set_status(d, VIRTIO_S_FAILED);
		return VIRTIO_E_VERSION_1;
	}
	d->features = offered & (wanted | VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
	mmio_write32(d->common + VC_GFSELECT, 0);
	mmio_write32(d->common + VC_GF, (uint32_t)d->features);
	mmio_write32(d->common + VC_GFSELECT, 1);
	mmio_write32(d->common + VC_GF, (uint32_t)(d->features >> 32));
	virtio_set_status(d, VIRTIO_S_FEATURES_OK);
	if (!(virtio_status(d) & VIRTIO_S_FEATURES_OK)) {
		virtio_set_status(d, VIRTIO_S_FAILED);
		return VIRTIO_E_FEATURES;
	}
	return 0;
}

/* The device's offer of feature `bit` (read again: d->features is the accepted set). */
static inline int virtio_offers(const struct virtio_pci *d, unsigned int bit)
{
	mmio_write32(d->common + VC_DFSELECT, bit / 32);
	return (mmio_read32(d->common + VC_DF) >> (bit % 32)) & 1;
}

static inline int virtio_has(const struct virtio_pci *d, unsigned int bit)
{
	return (d->features >> bit) & 1;
}

/* Set DRIVER_OK after the queues are enabled; fails if the device refuses. */
static inline int virtio_driver_ok(const struct virtio_pci *d)
{
	uint8_t s;

	virtio_set_status(d, VIRTIO_S_DRIVER_OK);
	s = virtio_status(d);
	return (s & VIRTIO_S_DRIVER_OK) && !(s & VIRTIO_S_NEEDS_RESET) ? 0 : VIRTIO_E_DRIVER_OK;
}

/* Device configuration space: callers keep off + width within d->device_len. */
static inline uint32_t virtio_cfg_read32(const struct virtio_pci *d, uint32_t off)
{
	return mmio_read32(d->device + off);
}

/* A 64-bit field, read twice if the config generation changed meanwhile. */
static inline uint64_t virtio_cfg_read64(const struct virtio_pci *d, uint32_t off)
{
	uint32_t lo, hi;
	uint8_t gen;

	do {
		gen = mmio_read8(d->common + VC_GENERATION);
		lo = mmio_read32(d->device + off);
		hi = mmio_read32(d->device + off + 4);
	} while (gen != mmio_read8(d->common + VC_GENERATION));
	return (uint64_t)hi << 32 | lo;
}

/* ---- split virtqueue (virtio 1.2, 2.7) ---- */

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VIRTQ_MAX 256
#define VIRTQ_MEM 0x3000 /* bytes virtq_setup() needs: three pages */

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [size], then used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* [size], then avail_event */
};

struct virtq {
	uint16_t index, size;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint64_t notify;    /* address the queue is kicked at (memory BAR or I/O window) */
	uint16_t avail_idx; /* next avail index (published by virtq_kick) */
	uint16_t last_used; /* next used entry to look at */
	uint16_t free_head; /* free descriptors, linked through .next */
	uint16_t num_free;
};

/* A buffer of a chain: device-readable, or device-writable if `write`. */
struct vbuf {
	uint64_t addr;
	uint32_t len;
	int write;
};

/*
 * Set up queue `index` with `size` entries (a power of two, at most 256 and
 * the device's maximum) in the 12 KiB at `mem` (4 KiB aligned): descriptor
 * table, then the available ring, then the used ring, a page each. Call
 * between virtio_negotiate() and virtio_driver_ok().
 */
static inline int virtq_setup(const struct virtio_pci *d, struct virtq *q, uint16_t index,
			      uint16_t size, uint64_t mem)
{
	volatile uint64_t *z = (volatile uint64_t *)mem;
	uint16_t max, off;

	mmio_write16(d->common + VC_Q_SELECT, index);
	max = mmio_read16(d->common + VC_Q_SIZE);
	if (!max)
		return VIRTIO_E_NOQUEUE;
	if (size > max)
		size = max;
	if (!size || size > VIRTQ_MAX || (size & (size - 1)))
		return VIRTIO_E_QSIZE;
	for (unsigned int i = 0; i < VIRTQ_MEM / 8; i++)
		z[i] = 0;
	q->index = index;
	q->size = size;
	q->desc = (volatile struct vring_desc *)mem;
	q->avail = (volatile struct vring_avail *)(mem + 0x1000);
	q->used = (volatile struct vring_used *)(mem + 0x2000);
	q->avail_idx = q->last_used = 0;
	q->free_head = 0;
	q->num_free = size;
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	mb(); /* the zeroed rings before the device learns where they are */
	mmio_write16(d->common + VC_Q_SIZE, size);
	mmio_write32(d->common + VC_Q_DESC, (uint32_t)mem);
	mmio_write32(d->common + VC_Q_DESC + 4, (uint32_t)(mem >> 32));
	mmio_write32(d->common + VC_Q_DRIVER, (uint32_t)(mem + 0x1000));
	mmio_write32(d->common + VC_Q_DRIVER + 4, (uint32_t)((mem + 0x1000) >> 32));
	mmio_write32(d->common + VC_Q_DEVICE, (uint32_t)(mem + 0x2000));
	mmio_write32(d->common + VC_Q_DEVICE + 4, (uint32_t)((mem + 0x2000) >> 32));
	off = mmio_read16(d->common + VC_Q_NOTIFY_OFF);
	q->notify = d->use_io ? d->notify_io + (uint64_t)off * d->notify_io_mult
			      : d->notify + (uint64_t)off * d->notify_mult;
	mmio_write16(d->common + VC_Q_ENABLE, 1);
	return mmio_read16(d->common + VC_Q_ENABLE) == 1 ? 0 : VIRTIO_E_QENABLE;
}

/* Take n descriptors off the free list as one chain; returns the head. */
static inline int virtq_add(struct virtq *q, const struct vbuf *b, unsigned int n)
{
	uint16_t head = q->free_head, i = head, last = head;

	if (!n || n > q->num_free)
		return VIRTIO_E_FULL;
	for (unsigned int k = 0; k < n; k++) {
		volatile struct vring_desc *d = &q->desc[i];

		d->addr = b[k].addr;
		d->len = b[k].len;
		d->flags = (uint16_t)((b[k].write ? VRING_DESC_F_WRITE : 0) |
				      (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		last = i;
		i = d->next; /* the free list link is the chain link */
	}
	q->free_head = q->desc[last].next;
	q->num_free = (uint16_t)(q->num_free - n);
	return head;
}

/* Put chain `head` in the available ring; the device sees it at virtq_kick(). */
static inline void virtq_push(struct virtq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
}

/* Publish the pushed chains, then notify the device (16-bit write of the index). */
static inline void virtq_kick(struct virtq *q)
{
	wmb(); /* descriptors and ring entries before the index that publishes them */
	q->avail->idx = q->avail_idx;
	mb(); /* the index before the notification */
	mmio_write16(q->notify, q->index);
}

/* Has the device returned chains we have not looked at yet? */
static inline int virtq_pending(const struct virtq *q)
{
	return q->used->idx != q->last_used;
}

/*
 * Take the next used entry and return its descriptors to the free list:
 * returns the head (with *len the bytes the device wrote), -1 if none is
 * there, or VIRTIO_E_USED_ID if the device returned a bogus id.
 */
static inline int virtq_get(struct virtq *q, uint32_t *len)
{
	volatile struct vring_used_elem *e;
	uint32_t id;
	uint16_t i, n = 1;

	if (!virtq_pending(q))
		return -1;
	rmb(); /* the element after the index that published it */
	e = &q->used->ring[q->last_used & (q->size - 1)];
	id = e->id;
	if (len)
		*len = e->len;
	q->last_used++;
	if (id >= q->size)
		return VIRTIO_E_USED_ID;
	for (i = (uint16_t)id; (q->desc[i].flags & VRING_DESC_F_NEXT) && n < q->size; n++)
		i = q->desc[i].next;
	q->desc[i].next = q->free_head;
	q->free_head = (uint16_t)id;
	q->num_free = (uint16_t)(q->num_free + n);
	return (int)id;
}

/* Give up on a request after this long: a slow disk's fdatasync, short of the runner's timeout. */
#define VIRTQ_TIMEOUT_MS 10000

/* virtq_get(), polling for up to `ms` milliseconds; -1 on timeout. */
static inline int virtq_wait(struct virtq *q, uint32_t *len, uint64_t ms)
{
	uint64_t end = deadline_ms(ms);
	int r;

	while ((r = virtq_get(q, len)) == -1) {
		if (counter() > end)
			return -1;
		cpu_relax();
	}
	return r;
}
