/*
 * Hostile register accesses against virtio-pci (see hostile.h for the
 * disks and the checks run after every attack).
 *
 * Writes (and reads) of every width, 1, 2, 4 and 8 bytes, at every offset of
 * the common and device configuration, the ISR, the MSI-X table and PBA,
 * across the boundaries of BAR 0's regions and of the BAR itself;
 * notifications for queues that do not exist and at odd offsets; every
 * offset of PCI configuration space of disk A, of the host bridge and of an
 * empty slot, through every port width; functions and buses that do not
 * exist; the VIRTIO_PCI_CAP_PCI_CFG window with bad BARs, offsets and
 * lengths; BAR 0 of disk A moved onto disk B's, onto RAM, the I/O APIC, the
 * local APIC, the firmware, above 4 GiB, sized, and moved and used
 * elsewhere in the window. Ember has no extended (ECAM) configuration
 * window: that range of the PCI window is unmapped and must read all ones.
 *
 * Exit: 42 if every attack passed, 43 otherwise (Ember: 106 / 107).
 */
#include "hostile.h"

#define CODE 42
#define EMPTY_SLOT 31
#define MSIX_VECTORS 2 /* virtio-blk: one queue and the configuration vector */
#define MSIX_TABLE 0x4000
#define MSIX_PBA 0x5000
#define BAR_SIZE 0x8000
#define BLK_ID ((uint32_t)VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK) << 16 | VIRTIO_PCI_VENDOR)

static const uint64_t values[] = { 0, ~0ULL, 0x5a5a5a5a5a5a5a5aULL };
#define NVALUES (sizeof(values) / sizeof(values[0]))

static const unsigned int widths[] = { 1, 2, 4, 8 };

/* ---- PCI configuration mechanism #1, any width at any offset ---- */

static uint32_t cfg_address(unsigned int bus, unsigned int slot, unsigned int func,
			    unsigned int reg)
{
	return 0x80000000u | bus << 16 | (slot & 31) << 11 | (func & 7) << 8 | (reg & 0xfc);
}

/* `width` bytes at data port 0xcfc + (reg & 3): widths that run past 0xcff are kept too. */
static void cfg_out(uint32_t address, unsigned int reg, unsigned int width, uint32_t v)
{
	uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (reg & 3));

	outl(PCI_CONFIG_ADDRESS, address);
	if (width == 1)
		outb(port, (uint8_t)v);
	else if (width == 2)
		outw(port, (uint16_t)v);
	else
		outl(port, v);
}

static uint32_t cfg_in(uint32_t address, unsigned int reg, unsigned int width)
{
	uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (reg & 3));

	outl(PCI_CONFIG_ADDRESS, address);
	return width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
}

static void cfg_write32(unsigned int slot, unsigned int reg, uint32_t v)
{
	cfg_out(cfg_address(0, slot, 0, reg), reg, 4, v);
}

/* The config space of `slot` as 64 dwords, and back (BARs first, COMMAND last). */
static void cfg_save(unsigned int slot, uint32_t save[64])
{
	for (unsigned int i = 0; i < 64; i++)
		save[i] = pci_read32(slot, 4 * i);
}

static void cfg_restore(unsigned int slot, const uint32_t save[64])
{
	for (unsigned int i = 4; i < 10; i++)
		cfg_write32(slot, 4 * i, save[i]);
	for (unsigned int i = 2; i < 64; i++)
		if (i < 4 || i >= 10)
			cfg_write32(slot, 4 * i, save[i]);
	cfg_write32(slot, PCI_COMMAND, save[1]);
}

static unsigned int slot_of(const struct hdisk *d)
{
	return d->pci.slot;
}

/* ---- BAR 0 regions: every width, offset and value; reads too ---- */

/* Write and read every width at offsets [from, to) of A's BAR 0 region `base`. */
static void sweep_mmio(uint32_t base, uint32_t from, uint32_t to)
{
	for (unsigned int w = 0; w < 4; w++)
		for (uint32_t off = from; off < to; off++) {
			for (unsigned int v = 0; v < NVALUES; v++)
				mmio_write_n(base + off, values[v], widths[w]);
			mmio_read_n(base + off, widths[w]);
		}
}

static const char *common_sweep(struct hctx *c, uint32_t arg)
{
	uint32_t cm = c->a.pci.common;

	(void)arg;
	sweep_mmio(cm, 0, 0x48); /* the structure is 0x3c bytes */
	sweep_mmio(cm, 0xff0, 0x1000);
	c->seen = "no crash; reset restores";
	return 0;
}

static const char *device_sweep(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;

	(void)arg;
	sweep_mmio(a->pci.device, 0, 0x48);
	sweep_mmio(a->pci.device, 0xff0, 0x1000);
	if ((uint32_t)virtio_cfg_read64(&a->pci, VIRTIO_BLK_CFG_CAPACITY) != a->sectors)
		return "the capacity changed";
	if (h_needs_reset(a))
		return "NEEDS_RESET after config writes";
	c->seen = "ignored (read-only)";
	return h_read_ok(a);
}

static const char *isr_sweep(struct hctx *c, uint32_t arg)
{
	(void)arg;
	sweep_mmio(c->a.pci.isr, 0, 0x10);
	sweep_mmio(c->a.pci.isr, 0xff0, 0x1000);
	c->seen = "ignored";
	return h_needs_reset(&c->a) ? "NEEDS_RESET after ISR writes" : h_read_ok(&c->a);
}

/* MSI-X stays disabled in config space, so nothing is delivered; entries are masked again after. */
static const char *msix_sweep(struct hctx *c, uint32_t arg)
{
	uint32_t bar = c->a.bar;

	(void)arg;
	sweep_mmio(bar + MSIX_TABLE, 0, 16 * MSIX_VECTORS + 16);
	sweep_mmio(bar + MSIX_PBA, 0, 16);
	for (unsigned int v = 0; v < MSIX_VECTORS; v++) {
		mmio_write32(bar + MSIX_TABLE + 16 * v, 0);
		mmio_write32(bar + MSIX_TABLE + 16 * v + 4, 0);
		mmio_write32(bar + MSIX_TABLE + 16 * v + 8, 0);
		mmio_write32(bar + MSIX_TABLE + 16 * v + 12, 1);
		if (mmio_read32(bar + MSIX_TABLE + 16 * v + 12) != 1)
			return "a vector did not mask again";
	}
	c->seen = "stored; nothing delivered";
	return h_read_ok(&c->a);
}

/* Offset of capability `id` in `slot`'s config space, or 0. */
static unsigned int find_cap(unsigned int slot, uint8_t id, int vendor_type)
{
	unsigned int p = pci_read8(slot, PCI_CAP_PTR) & 0xfc;

	for (unsigned int guard = 0; p >= 0x40 && guard < 48; guard++, p = pci_read8(slot, p + 1) & 0xfc)
		if (pci_read8(slot, p) == id && (vendor_type < 0 || pci_read8(slot, p + 3) == vendor_type))
			return p;
	return 0;
}

static void msix_entry(uint32_t bar, unsigned int v, uint32_t data, uint32_t ctrl)
{
	mmio_write32(bar + MSIX_TABLE + 16 * v, 0xfee00000u); /* local APIC 0, fixed delivery */
	mmio_write32(bar + MSIX_TABLE + 16 * v + 4, 0);
	mmio_write32(bar + MSIX_TABLE + 16 * v + 8, data);
	mmio_write32(bar + MSIX_TABLE + 16 * v + 12, ctrl);
}

/*
 * MSI-X on: vectors assigned (and out-of-range ones refused), completions
 * signalled through them while the messages are rewritten, the function
 * masked and unmasked; then MSI-X off and the vectors masked again. The
 * guest's local APIC is software-disabled, so nothing reaches its code.
 */
static const char *msix_live(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	unsigned int s = slot_of(a), cap = find_cap(s, 0x11, -1);
	uint32_t cm = a->pci.common;
	const char *why = 0;

	(void)arg;
	if (!cap)
		return "no MSI-X capability";
	for (unsigned int v = 0; v < MSIX_VECTORS; v++)
		msix_entry(a->bar, v, 0x40 + v, 0);
	pci_write16(s, cap + 2, 0x8000); /* enable */
	mmio_write16(cm + VC_MSIX_CONFIG, 1);
	mmio_write16(cm + VC_Q_SELECT, 0);
	mmio_write16(cm + VC_Q_MSIX, 0x1234);
	if (mmio_read16(cm + VC_Q_MSIX) != 0xffff)
		why = "an out-of-range vector was taken";
	mmio_write16(cm + VC_Q_MSIX, 0);
	if (!why && (mmio_read16(cm + VC_Q_MSIX) != 0 || mmio_read16(cm + VC_MSIX_CONFIG) != 1))
		why = "a valid vector was refused";
	for (unsigned int i = 0; i < 8 && !why; i++) {
		msix_entry(a->bar, 0, 0x40 + i, 0);
		why = h_read_ok(a);
	}
	pci_write16(s, cap + 2, 0xc000); /* function mask: completions leave a pending bit */
	if (!why)
		why = h_read_ok(a);
	if (!why && !(mmio_read32(a->bar + MSIX_PBA) & 1))
		why = "no pending bit while masked";
	pci_write16(s, cap + 2, 0x8000); /* unmask: the pending vector is delivered */
	if (!why && (mmio_read32(a->bar + MSIX_PBA) & 1))
		why = "pending bit stayed after unmasking";
	pci_write16(s, cap + 2, 0);
	for (unsigned int v = 0; v < MSIX_VECTORS; v++)
		msix_entry(a->bar, v, 0, 1);
	c->seen = "vectors used, rewritten, masked; restored";
	return why ? why : h_read_ok(a);
}

/* Accesses across the boundary between regions, and across the end of the BAR into disk B's. */
static const char *region_edges(struct hctx *c, uint32_t arg)
{
	(void)arg;
	for (uint32_t edge = 0x1000; edge <= BAR_SIZE; edge += 0x1000)
		sweep_mmio(c->a.bar + edge - 7, 0, 7);
	c->seen = "dropped";
	return 0;
}

/* ---- notifications ---- */

/* Kicks for queues 1-1023 (all absent), with their own index and with another. */
static const char *notify_absent(struct hctx *c, uint32_t arg)
{
	uint32_t n = c->a.pci.notify;

	(void)arg;
	for (uint32_t q = 1; q < 1024; q++)
		mmio_write16(n + 4 * q, (uint16_t)(arg ? 0 : q));
	c->seen = "ignored";
	return h_needs_reset(&c->a) ? "NEEDS_RESET after kicks" : h_read_ok(&c->a);
}

/* Every width at every offset of the first 64 bytes, odd ones included, and a wrong index. */
static const char *notify_odd(struct hctx *c, uint32_t arg)
{
	uint32_t n = c->a.pci.notify;

	(void)arg;
	for (unsigned int w = 0; w < 4; w++)
		for (uint32_t off = 0; off < 64; off++)
			mmio_write_n(n + off, off, widths[w]);
	mmio_write16(n, 0x1234); /* queue 0's address, another index: the address decides */
	c->seen = "kicks of queue 0 served, others ignored";
	return h_needs_reset(&c->a) ? "NEEDS_RESET after kicks" : h_read_ok(&c->a);
}

/* The port notification structure: every width at every port of it and past it. */
static const char *notify_port_odd(struct hctx *c, uint32_t arg)
{
	uint16_t n = c->a.pci.notify_port;

	(void)arg;
	if (!n)
		return "no port notification structure";
	for (uint16_t off = 0; off < 64; off++) {
		outb((uint16_t)(n + off), (uint8_t)off);
		outw((uint16_t)(n + off), off);
		outl((uint16_t)(n + off), 0xffffffffu);
		(void)inb((uint16_t)(n + off));
		(void)inw((uint16_t)(n + off));
		(void)inl((uint16_t)(n + off));
	}
	outw(n, 0x1234); /* queue 0's port, another index: the port decides */
	c->seen = "kicks of queue 0 served, others ignored";
	return h_needs_reset(&c->a) ? "NEEDS_RESET after kicks" : h_read_ok(&c->a);
}

/* Kicks while the device is reset, and before DRIVER_OK. */
static const char *notify_not_ready(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;

	(void)arg;
	mmio_write8(a->pci.common + VC_STATUS, 0);
	mmio_write16(a->pci.notify, 0);
	if (virtio_negotiate(&a->pci, H_FEATURES))
		return "negotiation failed";
	mmio_write16(a->pci.notify, 0);
	c->seen = "ignored";
	return virtio_status(&a->pci) & VIRTIO_S_NEEDS_RESET ? "NEEDS_RESET" : 0;
}

/* ---- PCI configuration space ---- */

/* Every width at every offset of `slot`, three values, reads too; then restore. */
static void cfg_sweep(unsigned int slot, unsigned int width)
{
	uint32_t save[64];
	uint32_t address;

	cfg_save(slot, save);
	for (unsigned int reg = 0; reg < 256; reg++) {
		address = cfg_address(0, slot, 0, reg);
		for (unsigned int v = 0; v < NVALUES; v++)
			cfg_out(address, reg, width, (uint32_t)values[v]);
		(void)cfg_in(address, reg, width);
	}
	cfg_restore(slot, save);
}

/* arg: width << 8 | which (0: disk A, 1: host bridge, 2: empty slot) */
static const char *pci_sweep(struct hctx *c, uint32_t arg)
{
	static const unsigned int fixed[] = { 0, 0, EMPTY_SLOT };
	unsigned int which = arg & 0xff, slot = which ? fixed[which] : slot_of(&c->a);

	cfg_sweep(slot, arg >> 8);
	if (pci_read32(slot_of(&c->a), 0) != BLK_ID)
		return "disk A's identity changed";
	if (virtio_bar_addr(slot_of(&c->a), 0) != c->a.bar)
		return "disk A's BAR did not restore";
	c->seen = "read-only bits kept; restored";
	return 0;
}

/* Other functions and buses, the reserved address bits, odd address-port widths. */
static const char *pci_address(struct hctx *c, uint32_t arg)
{
	unsigned int a = slot_of(&c->a);
	uint8_t line = pci_read8(a, 0x3c);

	(void)arg;
	for (unsigned int func = 1; func < 8; func++)
		for (unsigned int bus = 0; bus < 256; bus += 85) {
			cfg_out(cfg_address(bus, a, func, PCI_COMMAND), 0, 4, 0);
			if (cfg_in(cfg_address(bus, a, func, 0), 0, 4) != 0xffffffffu)
				return "an absent function answered";
		}
	for (unsigned int bus = 1; bus < 256; bus += 127)
		cfg_out(cfg_address(bus, a, 0, PCI_COMMAND), 0, 4, 0);
	/* Bits 30:24 are reserved (AMD's extended register number): Ember ignores them. */
	cfg_out(cfg_address(0, a, 0, 0x3c) | 0x7f000000u, 0x3c, 1, 0x5a);
	(void)cfg_in(cfg_address(0, a, 0, 0) | 0x0f000000u, 0, 4);
	cfg_out(cfg_address(0, a, 0, 0x3c), 0x3c, 1, line);
	/* The address register only latches whole dwords at 0xcf8. */
	outl(PCI_CONFIG_ADDRESS, cfg_address(0, a, 0, 0));
	outb(PCI_CONFIG_ADDRESS, 0);
	outw(PCI_CONFIG_ADDRESS + 2, 0);
	outb(PCI_CONFIG_ADDRESS + 3, 0);
	outl(PCI_CONFIG_ADDRESS + 1, 0); /* 0xcf9-0xcfc */
	outl(PCI_CONFIG_ADDRESS + 2, 0);
	(void)inb(PCI_CONFIG_ADDRESS + 1);
	(void)inw(PCI_CONFIG_ADDRESS + 2);
	if (inl(PCI_CONFIG_DATA) != BLK_ID)
		return "the address latch changed on a partial write";
	c->seen = "absent functions read all ones; partial latch writes dropped";
	return 0;
}

/* ---- the VIRTIO_PCI_CAP_PCI_CFG window ---- */

/* Window of (bar, off, len); a write of `v` or a read. Returns the data dword afterwards. */
static uint32_t window(unsigned int slot, unsigned int cap, uint8_t bar, uint32_t off, uint32_t len,
		       int write, uint32_t v)
{
	pci_select(slot, cap + 4);
	outb(PCI_CONFIG_DATA, bar);
	cfg_write32(slot, cap + 8, off);
	cfg_write32(slot, cap + 12, len);
	if (write)
		cfg_write32(slot, cap + 16, v);
	return pci_read32(slot, cap + 16);
}

static const char *pci_window(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	unsigned int s = slot_of(a), cap = find_cap(s, PCI_CAP_ID_VNDR, 5);
	static const struct {
		uint8_t bar;
		uint32_t off, len;
	} bad[] = {
		{ 0, 0x7ffe, 4 },	{ 0, 0x7fff, 1 },     { 0, 0x8000, 1 }, { 0, 0xfffffffcu, 4 },
		{ 0, 0x14, 3 },		{ 0, 0x14, 8 },	      { 0, 0x14, 0 },	{ 0, 0x15, 2 },
		{ 1, 0x14, 1 },		{ 5, 0x14, 1 },	      { 0xff, 0x14, 1 }, { 0, 0xffffffffu, 0xffffffffu },
	};

	(void)arg;
	if (!cap)
		return "no PCI_CFG capability";
	/* Accesses it must refuse: the status (0x14) must not be reset through them. */
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		window(s, cap, bad[i].bar, bad[i].off, bad[i].len, 1, 0);
		(void)window(s, cap, bad[i].bar, bad[i].off, bad[i].len, 0, 0);
	}
	if (!(virtio_status(&a->pci) & VIRTIO_S_DRIVER_OK))
		return "a refused window access reached the device";
	/* Accesses it must do: read the features, kick, write the MSI-X table, reset. */
	if (window(s, cap, 0, 0x4, 4, 0, 0) != mmio_read32(a->pci.common + VC_DF))
		return "window read differs from MMIO";
	window(s, cap, 0, 0x3000, 2, 1, 0);
	window(s, cap, 0, 0x3000 + 4 * 7, 2, 1, 7);
	window(s, cap, 0, MSIX_TABLE + 12, 4, 1, 1);
	(void)window(s, cap, 0, 0x1000, 1, 0, 0);
	window(s, cap, 0, 0x14, 1, 1, 0);
	if (virtio_status(&a->pci) != 0)
		return "a reset through the window did not happen";
	window(s, cap, 0, 0, 0, 0, 0);
	c->seen = "bad windows refused; good ones work";
	return 0;
}

/* ---- BAR 0 of disk A moved ---- */

static void set_bar(unsigned int slot, uint32_t lo, uint32_t hi)
{
	cfg_write32(slot, PCI_BAR0, lo);
	cfg_write32(slot, PCI_BAR0 + 4, hi);
}

/*
 * Move disk A's BAR 0, decoding on, touch it there, move it back. arg: 0 RAM
 * at 0, 1 I/O APIC, 2 local APIC, 3 firmware, 4 onto disk B's BAR, 5 above 4 GiB.
 */
static const char *bar_move(struct hctx *c, uint32_t arg)
{
	static const uint32_t place[] = { 0, HOSTILE_IOAPIC, 0xfee00000u, 0xffff0000u };
	unsigned int s = slot_of(&c->a);
	uint32_t lo = arg == 4 ? c->b.bar : arg == 5 ? c->a.bar : place[arg], hi = arg == 5;

	set_bar(s, lo, hi);
	if (arg == 4) { /* one range, two devices: read it and kick queue 0 there */
		(void)mmio_read32(c->b.pci.common + VC_DF);
		(void)mmio_read32(c->b.pci.device);
		mmio_write16(c->b.pci.notify, 0);
	}
	set_bar(s, c->a.bar, 0);
	if (!(virtio_status(&c->b.pci) & VIRTIO_S_DRIVER_OK))
		return "disk B lost its state";
	c->seen = "restored; both disks work";
	return 0;
}

/* Re-find A's structures after its BAR moved to `lo`, bring it up and use it. */
static const char *use_at(struct hctx *c, uint32_t lo)
{
	struct hdisk *a = &c->a;
	const char *why = 0;

	set_bar(slot_of(a), lo, 0);
	if (virtio_pci_probe(&a->pci, slot_of(a)) || a->pci.common != lo)
		why = "probe at the new place failed";
	else if (h_up(a, H_FEATURES, HOSTILE_QSIZE))
		why = "bring-up at the new place failed";
	else
		why = h_read_ok(a);
	set_bar(slot_of(a), c->a.bar, 0);
	if (virtio_pci_probe(&a->pci, slot_of(a)) && !why)
		why = "probe back at the old place failed";
	return why;
}

/* A moved to the window's last 32 KiB and to an unused address: it must work there. */
static const char *bar_use_elsewhere(struct hctx *c, uint32_t arg)
{
	const char *why = use_at(c, arg);

	c->seen = "works at the new place; kicks follow";
	return why;
}

/* Size the BAR (all ones), check the size mask, restore; with decoding off meanwhile. */
static const char *bar_sizing(struct hctx *c, uint32_t arg)
{
	unsigned int s = slot_of(&c->a);
	uint16_t cmd = pci_read16(s, PCI_COMMAND);
	uint32_t lo, hi;

	(void)arg;
	pci_write16(s, PCI_COMMAND, (uint16_t)(cmd & ~PCI_COMMAND_MEMORY));
	set_bar(s, 0xffffffffu, 0xffffffffu);
	lo = pci_read32(s, PCI_BAR0);
	hi = pci_read32(s, PCI_BAR0 + 4);
	pci_write16(s, PCI_COMMAND, cmd); /* decoding at the sizing pattern */
	(void)mmio_read32(lo & ~0xfu);
	set_bar(s, c->a.bar, 0);
	if (lo != ((~(BAR_SIZE - 1u)) | 4u) || hi != 0xffffffffu)
		return "wrong size mask";
	if (mmio_read32(c->a.pci.common + VC_DF) == 0xffffffffu)
		return "A does not answer after the BAR came back";
	c->seen = "size mask 0xffff8004; restored";
	return 0;
}

/* Decoding off: A's registers read all ones and writes are dropped; on again: they work. */
static const char *decode_off(struct hctx *c, uint32_t arg)
{
	struct hdisk *a = &c->a;
	unsigned int s = slot_of(a);
	uint16_t cmd = pci_read16(s, PCI_COMMAND);

	(void)arg;
	pci_write16(s, PCI_COMMAND, (uint16_t)(cmd & ~PCI_COMMAND_MEMORY));
	mmio_write8(a->pci.common + VC_STATUS, 0);
	mmio_write16(a->pci.notify, 0);
	if (mmio_read32(a->pci.common) != 0xffffffffu)
		return "registers answer with decoding off";
	pci_write16(s, PCI_COMMAND, cmd);
	if (!(virtio_status(&a->pci) & VIRTIO_S_DRIVER_OK))
		return "a write got through with decoding off";
	c->seen = "reads all ones, writes dropped";
	return h_read_ok(a);
}

/* MMIO where nothing decodes: the free part of the window, the would-be ECAM, past the window. */
static const char *unmapped(struct hctx *c, uint32_t arg)
{
	static const uint32_t where[] = { HOSTILE_HOLE_FREE, 0xe0000000u, 0xfc000000u, 0xfbfffff9u };

	(void)arg;
	for (unsigned int i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		sweep_mmio(where[i], 0, 7);
		if (mmio_read32(where[i]) != 0xffffffffu)
			return "an unmapped address did not read all ones";
	}
	c->seen = "reads all ones, writes dropped";
	return 0;
}

static const struct hattack attacks[] = {
	{ "common-cfg-every-width-offset", common_sweep, 0 },
	{ "device-cfg-every-width-offset", device_sweep, 0 },
	{ "isr-every-width-offset", isr_sweep, 0 },
	{ "msix-table-pba-every-width-offset", msix_sweep, 0 },
	{ "msix-enabled-vectors-rewritten-masked", msix_live, 0 },
	{ "bar-region-edges-and-bar-end", region_edges, 0 },
	{ "notify-absent-queues", notify_absent, 0 },
	{ "notify-absent-queues-other-index", notify_absent, 1 },
	{ "notify-every-width-odd-offsets", notify_odd, 0 },
	{ "notify-reset-or-not-ready", notify_not_ready, 0 },
	{ "notify-port-every-width-offset", notify_port_odd, 0 },
	{ "pci-cfg-disk-a-width-1", pci_sweep, 1 << 8 | 0 },
	{ "pci-cfg-disk-a-width-2", pci_sweep, 2 << 8 | 0 },
	{ "pci-cfg-disk-a-width-4", pci_sweep, 4 << 8 | 0 },
	{ "pci-cfg-host-bridge-width-1", pci_sweep, 1 << 8 | 1 },
	{ "pci-cfg-host-bridge-width-2", pci_sweep, 2 << 8 | 1 },
	{ "pci-cfg-host-bridge-width-4", pci_sweep, 4 << 8 | 1 },
	{ "pci-cfg-empty-slot-width-4", pci_sweep, 4 << 8 | 2 },
	{ "pci-cfg-absent-functions-buses-latch", pci_address, 0 },
	{ "pci-cfg-window-bad-and-good", pci_window, 0 },
	{ "bar-a-onto-ram-0", bar_move, 0 },
	{ "bar-a-onto-ioapic", bar_move, 1 },
	{ "bar-a-onto-lapic", bar_move, 2 },
	{ "bar-a-onto-firmware", bar_move, 3 },
	{ "bar-a-onto-disk-b", bar_move, 4 },
	{ "bar-a-above-4g", bar_move, 5 },
	{ "bar-a-used-at-window-end", bar_use_elsewhere, 0xfbff8000u },
	{ "bar-a-used-at-free-address", bar_use_elsewhere, HOSTILE_HOLE_FREE },
	{ "bar-a-sizing", bar_sizing, 0 },
	{ "bar-a-decoding-off", decode_off, 0 },
	{ "mmio-unmapped-and-no-ecam", unmapped, 0 },
};

void guest_main(void)
{
	struct hctx c;

	hostile_start(&c, 2, 1);
	hostile_run(&c, attacks, sizeof(attacks) / sizeof(attacks[0]));
	hostile_end(&c, CODE);
}

void ap_main(uint32_t id) { (void)id; }
