/*
 * A minimal virtio-pci (modern, virtio 1.x) driver for micro-guests.
 *
 * PCI configuration space through ports 0xcf8/0xcfc (bus 0, function 0),
 * the vendor capabilities that say where the common, notify, ISR and device
 * structures are (nothing about the BAR layout is assumed; a notification
 * structure may be in an I/O BAR, and the first one listed is used, as the
 * specification asks), feature
 * negotiation, and split virtqueues driven by polling (guests that halt for
 * interrupts add irq.h). Paging is off, so a guest physical address is the
 * pointer.
 * Ember assigns the BARs; where no one did (QEMU running the guest as its
 * BIOS), pci_assign_bars() places them as firmware would.
 *
 * Header-only; all state lives in the caller's structs. Fallible functions
 * return 0 (or a non-negative result) on success and a negative VIRTIO_E_*
 * code, so a test can turn each cause into its own fail code.
 *
 * Ordering: x86 keeps stores in order and loads in order, so the only
 * barriers needed are compiler barriers (virtio_barrier()); the device runs
 * on another host thread and sees guest stores in program order.
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
#define VIRTIO_E_CAPS (-2)	 /* common, notify or device structure missing */
#define VIRTIO_E_BAR (-3)	 /* structure in an I/O, unassigned or >4 GiB BAR */
#define VIRTIO_E_RESET (-4)	 /* status did not read back 0 after a reset */
#define VIRTIO_E_VERSION_1 (-5)	 /* device does not offer VERSION_1 */
#define VIRTIO_E_FEATURES (-6)	 /* FEATURES_OK did not stick */
#define VIRTIO_E_NOQUEUE (-7)	 /* queue does not exist (size 0) */
#define VIRTIO_E_QSIZE (-8)	 /* size not a power of two, or above 256 */
#define VIRTIO_E_QENABLE (-9)	 /* queue_enable did not read back 1 */
#define VIRTIO_E_DRIVER_OK (-10) /* DRIVER_OK did not stick, or NEEDS_RESET */
#define VIRTIO_E_FULL (-11)	 /* not enough free descriptors */
#define VIRTIO_E_USED_ID (-12)	 /* device returned an id that is no chain head */

/* ---- PCI configuration space, bus 0 ---- */

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
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

static inline void pci_select(unsigned int slot, unsigned int reg)
{
	outl(PCI_CONFIG_ADDRESS, 0x80000000u | (slot & 31) << 11 | (reg & 0xfc));
}

static inline uint32_t pci_read32(unsigned int slot, unsigned int reg)
{
	pci_select(slot, reg);
	return inl(PCI_CONFIG_DATA);
}

static inline uint16_t pci_read16(unsigned int slot, unsigned int reg)
{
	pci_select(slot, reg);
	return inw((uint16_t)(PCI_CONFIG_DATA + (reg & 2)));
}

static inline uint8_t pci_read8(unsigned int slot, unsigned int reg)
{
	pci_select(slot, reg);
	return inb((uint16_t)(PCI_CONFIG_DATA + (reg & 3)));
}

static inline void pci_write16(unsigned int slot, unsigned int reg, uint16_t v)
{
	pci_select(slot, reg);
	outw((uint16_t)(PCI_CONFIG_DATA + (reg & 2)), v);
}

static inline void pci_write32(unsigned int slot, unsigned int reg, uint32_t v)
{
	pci_select(slot, reg);
	outl(PCI_CONFIG_DATA, v);
}

/* First slot >= `from` holding vendor:device, or -1. */
static inline int pci_find(unsigned int from, uint16_t vendor, uint16_t device)
{
	for (unsigned int s = from; s < PCI_SLOTS; s++)
		if (pci_read32(s, 0) == ((uint32_t)device << 16 | vendor))
			return (int)s;
	return -1;
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
	uint32_t common, isr, device, notify; /* addresses of the structures (notify: in memory) */
	uint32_t device_len;		      /* length of the device structure */
	uint32_t notify_mult;		      /* notify_off_multiplier */
	uint16_t notify_port;		      /* a notification structure in I/O space, 0: none */
	uint32_t notify_port_mult;
	int use_port;			      /* kick through notify_port (listed first) */
	uint64_t features;		      /* offered by the device, then negotiated */
};

static inline void virtio_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* Address of BAR `bar` of `slot` if it is a memory BAR below 4 GiB, else 0. */
static inline uint32_t virtio_bar_addr(unsigned int slot, unsigned int bar)
{
	uint32_t lo, hi = 0;

	if (bar > 5)
		return 0;
	lo = pci_read32(slot, PCI_BAR0 + 4 * bar);
	if (lo & 1)
		return 0; /* I/O space */
	if ((lo & 6) == 4) /* 64-bit */
		hi = bar < 5 ? pci_read32(slot, PCI_BAR0 + 4 * (bar + 1)) : 1;
	return hi ? 0 : lo & ~0xfu;
}

/*
 * Where pci_assign_bars() places BARs: the start of Ember's PCI window
 * (vmm/layout.h), and on QEMU's q35 free too (its RAM ends below; its
 * chipset and APIC ranges start at 0xfec00000).
 */
#define PCI_MMIO_WINDOW 0xc0000000u
#define PCI_MMIO_WINDOW_END 0xfc000000u

/*
 * Give every memory BAR of `slot` that reads 0 an address, as firmware
 * would: sized by writing all ones with decoding off, placed naturally
 * aligned in the window above the BARs placed before it (one allocator per
 * guest), then memory decoding and bus mastering on. Ember assigns every
 * BAR itself, so there nothing changes; a guest started as QEMU's -bios
 * has none assigned. Returns 0, or VIRTIO_E_BAR if a BAR does not fit.
 */
static inline int pci_assign_bars(unsigned int slot)
{
	static uint32_t next = PCI_MMIO_WINDOW;
	uint16_t cmd = pci_read16(slot, PCI_COMMAND);
	int sized = 0, placed = 0, err = 0;

	for (unsigned int bar = 0; bar < 6; bar++) {
		unsigned int reg = PCI_BAR0 + 4 * bar;
		uint32_t lo = pci_read32(slot, reg), hi = 0, mask, hmask = 0xffffffffu, size, addr;
		int is64 = (lo & 7) == 4 && bar < 5;

		if (lo & 1)
			continue; /* I/O space: the guests use none */
		if (is64)
			hi = pci_read32(slot, reg + 4);
		if ((lo & ~0xfu) || hi) {
			bar += (unsigned int)is64;
			continue;
		}
		pci_write16(slot, PCI_COMMAND, (uint16_t)(cmd & ~PCI_COMMAND_MEMORY));
		sized = 1;
		pci_write32(slot, reg, 0xffffffffu);
		mask = pci_read32(slot, reg) & ~0xfu;
		pci_write32(slot, reg, lo);
		if (is64) {
			pci_write32(slot, reg + 4, 0xffffffffu);
			hmask = pci_read32(slot, reg + 4);
			pci_write32(slot, reg + 4, 0);
		}
		bar += (unsigned int)is64;
		if (!mask && !is64)
			continue; /* not implemented */
		size = ~mask + 1;
		addr = (next + size - 1) & ~(size - 1);
		if (!mask || hmask != 0xffffffffu || addr < next || addr > PCI_MMIO_WINDOW_END - size) {
			err = VIRTIO_E_BAR; /* 4 GiB or more, or the window is full */
			break;
		}
		pci_write32(slot, reg, addr | (lo & 0xf));
		next = addr + size;
		placed = 1;
	}
	if (placed)
		cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (sized)
		pci_write16(slot, PCI_COMMAND, cmd);
	return err;
}

/*
 * Walk the capability list of `slot` and fill the structure addresses (the
 * first capability of each type wins, as the specification asks). Turns on
 * memory decoding and bus mastering. Returns 0 or VIRTIO_E_*.
 */
static inline int virtio_pci_probe(struct virtio_pci *d, unsigned int slot)
{
	unsigned int p, guard;

	d->slot = slot;
	d->common = d->isr = d->device = d->notify = 0;
	d->device_len = d->notify_mult = 0;
	d->notify_port = 0;
	d->notify_port_mult = 0;
	d->use_port = 0;
	d->features = 0;
	if (!(pci_read16(slot, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return VIRTIO_E_NOCAPLIST;
	p = pci_read8(slot, PCI_CAP_PTR) & 0xfc;
	for (guard = 0; p >= 0x40 && guard < 48; guard++, p = pci_read8(slot, p + 1) & 0xfc) {
		uint8_t type, bar;
		uint32_t off, len, base;

		if (pci_read8(slot, p) != PCI_CAP_ID_VNDR)
			continue;
		type = pci_read8(slot, p + 3);
		bar = pci_read8(slot, p + 4);
		off = pci_read32(slot, p + 8);
		len = pci_read32(slot, p + 12);
		if (type < VIRTIO_PCI_CAP_COMMON_CFG || type > VIRTIO_PCI_CAP_DEVICE_CFG)
			continue; /* PCI_CFG access window, or unknown */
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && bar <= 5 &&
		    ((base = pci_read32(slot, PCI_BAR0 + 4 * bar)) & 1)) {
			base &= 0xfffc; /* the port: x86 has 16 bits of them */
			if (base && !d->notify_port && off < 0x10000 - base) {
				d->notify_port = (uint16_t)(base + off);
				d->notify_port_mult = pci_read32(slot, p + 16);
				d->use_port = !d->notify; /* the first notification structure listed */
			}
			continue; /* an unassigned I/O BAR, or a second port structure */
		}
		base = virtio_bar_addr(slot, bar);
		if (!base || off + len < off)
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
	if (!d->common || (!d->notify && !d->notify_port) || !d->isr)
		return VIRTIO_E_CAPS;
	pci_write16(slot, PCI_COMMAND,
		    pci_read16(slot, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			    (d->notify_port ? PCI_COMMAND_IO : 0));
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

/* Reading the ISR acknowledges it: bit 0 queue interrupt, bit 1 config change. */
static inline uint8_t virtio_isr(const struct virtio_pci *d)
{
	return mmio_read8(d->isr);
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
#define VRING_AVAIL_F_NO_INTERRUPT 1
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
	uint32_t notify;     /* address the queue is kicked at */
	uint16_t port;	     /* or its port, when not 0 */
	uint16_t avail_idx;  /* next avail index (published by virtq_kick) */
	uint16_t last_used;  /* next used entry to look at */
	uint16_t free_head;  /* free descriptors, linked through .next */
	uint16_t num_free;
};

/* A buffer of a chain: device-readable, or device-writable if `write`. */
struct vbuf {
	uint32_t addr;
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
			      uint16_t size, uint32_t mem)
{
	uint16_t max;
	volatile uint32_t *z = (volatile uint32_t *)mem;

	mmio_write16(d->common + VC_Q_SELECT, index);
	max = mmio_read16(d->common + VC_Q_SIZE);
	if (!max)
		return VIRTIO_E_NOQUEUE;
	if (size > max)
		size = max;
	if (!size || size > VIRTQ_MAX || (size & (size - 1)))
		return VIRTIO_E_QSIZE;
	for (unsigned int i = 0; i < VIRTQ_MEM / 4; i++)
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
	mmio_write16(d->common + VC_Q_SIZE, size);
	mmio_write32(d->common + VC_Q_DESC, mem);
	mmio_write32(d->common + VC_Q_DESC + 4, 0);
	mmio_write32(d->common + VC_Q_DRIVER, mem + 0x1000);
	mmio_write32(d->common + VC_Q_DRIVER + 4, 0);
	mmio_write32(d->common + VC_Q_DEVICE, mem + 0x2000);
	mmio_write32(d->common + VC_Q_DEVICE + 4, 0);
	q->notify = d->notify + mmio_read16(d->common + VC_Q_NOTIFY_OFF) * d->notify_mult;
	q->port = d->use_port ? (uint16_t)(d->notify_port + mmio_read16(d->common + VC_Q_NOTIFY_OFF) *
								d->notify_port_mult)
			      : 0;
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

/*
 * One descriptor pointing at an indirect table the caller provides (n
 * entries, 16-byte aligned, untouched until the request completes).
 */
static inline int virtq_add_indirect(struct virtq *q, struct vring_desc *table,
				     const struct vbuf *b, unsigned int n)
{
	struct vbuf ind;

	if (!n)
		return VIRTIO_E_FULL;
	for (unsigned int k = 0; k < n; k++) {
		table[k].addr = b[k].addr;
		table[k].len = b[k].len;
		table[k].flags = (uint16_t)((b[k].write ? VRING_DESC_F_WRITE : 0) |
					    (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		table[k].next = (uint16_t)(k + 1);
	}
	ind.addr = (uint32_t)table;
	ind.len = n * (uint32_t)sizeof(*table);
	ind.write = 0;
	int head = virtq_add(q, &ind, 1);
	if (head >= 0)
		q->desc[head].flags = VRING_DESC_F_INDIRECT;
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
	virtio_barrier(); /* ring entries before the index that publishes them */
	q->avail->idx = q->avail_idx;
	virtio_barrier(); /* the index before the notification */
	if (q->port)
		outw(q->port, q->index);
	else
		mmio_write16(q->notify, q->index);
}

/*
 * Publish the chains pushed up to q->avail_idx and notify the device only if
 * it asked for it (VIRTIO_F_EVENT_IDX: its avail_event lies among the entries
 * added since `old`, the index the device was last shown), as Linux does.
 * Returns 1 if it notified.
 */
static inline int virtq_publish_event(struct virtq *q, uint16_t old)
{
	uint16_t now = q->avail_idx, event;

	virtio_barrier(); /* ring entries before the index that publishes them */
	q->avail->idx = now;
	/* the index before avail_event is read (pairs with the device's fence) */
	__asm__ volatile("lock; addl $0, (%%esp)" ::: "memory", "cc");
	event = ((volatile uint16_t *)q->used)[2 + 4 * q->size]; /* after flags, idx, 8-byte ring[size] */
	if ((uint16_t)(now - event - 1) >= (uint16_t)(now - old))
		return 0;
	if (q->port)
		outw(q->port, q->index);
	else
		mmio_write16(q->notify, q->index);
	return 1;
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
	virtio_barrier(); /* the element after the index that published it */
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

/*
 * Give up waiting after this many TSC cycles: seconds at any TSC rate, long
 * enough for an fdatasync on a slow disk, short of the test's timeout.
 */
#define VIRTQ_TIMEOUT (1ULL << 34)

/* virtq_get(), polling for up to `cycles` TSC cycles; -1 on timeout. */
static inline int virtq_wait(struct virtq *q, uint32_t *len, uint64_t cycles)
{
	uint64_t end = rdtsc() + cycles;
	int r;

	while ((r = virtq_get(q, len)) == -1) {
		if (rdtsc() > end)
			return -1;
		__asm__ volatile("pause");
	}
	return r;
}
