#include "devices/pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/layout.h"

#define ADDR_ENABLE 0x80000000U
#define HOST_VENDOR 0x8086 /* a generic host bridge identity Linux knows */
#define HOST_DEVICE 0x0d57
#define CLASS_HOST_BRIDGE 0x060000
#define BAR_MEM_TYPE_64 0x4
#define BAR_IO_SPACE 0x1
#define IO_BAR_MAX 256 /* what a type-0 function may ask for */
#define IO_ADDR_MASK 0xfffcU /* x86 ports are 16 bits: the upper half reads 0 */

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

void pci_dev_header(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code)
{
	memset(d, 0, sizeof(*d));
	put16(d->cfg + 0x00, vendor);
	put16(d->cfg + 0x02, device);
	d->cfg[0x09] = (uint8_t)class_code;
	d->cfg[0x0a] = (uint8_t)(class_code >> 8);
	d->cfg[0x0b] = (uint8_t)(class_code >> 16);
	d->cfg[0x0e] = 0; /* header type 0, single function */
	put16(d->wmask + PCI_COMMAND, 0x0547); /* I/O, memory, master, parity, SERR, INTx disable */
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->cap_end = PCI_CAP_FIRST;
}

int pci_dev_add_bar(struct pci_dev *d, unsigned int i, uint64_t size, bool is64,
		    const struct bus_ops *ops, void *ctx)
{
	uint32_t flags = is64 ? BAR_MEM_TYPE_64 : 0;

	/* A 64-bit BAR also takes register i + 1: neither may be in use. */
	if (i >= PCI_BARS || (is64 && i + 1 >= PCI_BARS) || size < 4096 || (size & (size - 1)) ||
	    (!is64 && size > (1ULL << 31)) || !ops || d->bar[i].size ||
	    (is64 && d->bar[i + 1].size) || (i > 0 && d->bar[i - 1].is64))
		return -EINVAL;
	d->bar[i] = (struct pci_bar){ .size = size, .is64 = is64, .ops = ops, .ctx = ctx };
	memcpy(d->cfg + PCI_BAR0 + 4 * i, &flags, 4);
	return 0;
}

int pci_dev_add_io_bar(struct pci_dev *d, unsigned int i, uint32_t size, const struct bus_ops *ops,
		       void *ctx)
{
	uint32_t flags = BAR_IO_SPACE;

	if (i >= PCI_BARS || size < 4 || size > IO_BAR_MAX || (size & (size - 1)) || !ops ||
	    d->bar[i].size || (i > 0 && d->bar[i - 1].is64))
		return -EINVAL;
	d->bar[i] = (struct pci_bar){ .size = size, .io = true, .ops = ops, .ctx = ctx };
	memcpy(d->cfg + PCI_BAR0 + 4 * i, &flags, 4);
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned int len)
{
	unsigned int off = d->cap_end;

	/* cap_end is 0 once a capability ended at 256 */
	if (len < 2 || off < PCI_CAP_FIRST || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	memcpy(d->cfg + off + 2, body, len - 2);
	if (d->cap_last)
		d->cfg[d->cap_last + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAP_PTR] = (uint8_t)off;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->cap_last = (uint8_t)off;
	d->cap_end = (uint8_t)((off + len + 3) & ~3U);
	return (int)off;
}

void pci_dev_set_intx(struct pci_dev *d, uint8_t gsi)
{
	d->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
	d->cfg[PCI_INTERRUPT_LINE] = gsi;
}

uint64_t pci_dev_bar_addr(const struct pci_dev *d, unsigned int i)
{
	uint64_t a;

	if (i >= PCI_BARS || !d->bar[i].size)
		return 0;
	if (d->bar[i].io)
		return get32(d->cfg + PCI_BAR0 + 4 * i) & IO_ADDR_MASK;
	a = get32(d->cfg + PCI_BAR0 + 4 * i) & ~0xfULL;
	if (d->bar[i].is64)
		a |= (uint64_t)get32(d->cfg + PCI_BAR0 + 4 * (i + 1)) << 32;
	return a;
}

int pci_init(struct pci *p)
{
	memset(p, 0, sizeof(*p));
	pci_dev_header(&p->host_bridge, HOST_VENDOR, HOST_DEVICE, CLASS_HOST_BRIDGE);
	p->slot[0] = &p->host_bridge;
	pci_set_window(p, LAYOUT_PCI_MMIO, LAYOUT_PCI_MMIO_SIZE);
	pci_set_io_window(p, LAYOUT_PCI_IO, LAYOUT_PCI_IO_SIZE);
	return -pthread_mutex_init(&p->lock, NULL);
}

void pci_set_window(struct pci *p, uint64_t base, uint64_t size)
{
	p->mmio_base = p->mmio_next = base;
	p->mmio_size = size;
}

void pci_set_io_window(struct pci *p, uint64_t base, uint64_t size)
{
	p->io_base = p->io_next = base;
	p->io_size = size;
}

void pci_destroy(struct pci *p)
{
	pthread_mutex_destroy(&p->lock);
}

static void set_bar_addr(struct pci_dev *d, unsigned int i, uint64_t addr)
{
	uint32_t lo = (uint32_t)addr | (get32(d->cfg + PCI_BAR0 + 4 * i) & 0xf);
	uint32_t hi = (uint32_t)(addr >> 32);

	memcpy(d->cfg + PCI_BAR0 + 4 * i, &lo, 4);
	if (d->bar[i].is64)
		memcpy(d->cfg + PCI_BAR0 + 4 * (i + 1), &hi, 4);
}

/* Next free, naturally aligned `size` bytes at or above *next in [base, base + len), or 0. */
static uint64_t place(uint64_t *next, uint64_t size, uint64_t base, uint64_t len)
{
	uint64_t addr = (*next + size - 1) & ~(size - 1);

	if (addr < *next || addr + size < addr || addr + size > base + len)
		return 0;
	*next = addr + size;
	return addr;
}

int pci_add(struct pci *p, unsigned int slot, struct pci_dev *d)
{
	uint64_t mem = p->mmio_next, io = p->io_next;
	uint64_t addr[PCI_BARS] = { 0 };

	if (slot >= PCI_SLOTS || !d)
		return -EINVAL;
	if (p->slot[slot])
		return -EEXIST;
	for (unsigned int i = 0; i < PCI_BARS; i++) {
		const struct pci_bar *b = &d->bar[i];

		if (!b->size)
			continue;
		addr[i] = b->io ? place(&io, b->size, p->io_base, p->io_size)
				: place(&mem, b->size, p->mmio_base, p->mmio_size);
		if (!addr[i])
			return -ENOSPC;
	}
	for (unsigned int i = 0; i < PCI_BARS; i++)
		if (d->bar[i].size)
			set_bar_addr(d, i, addr[i]);
	p->mmio_next = mem;
	p->io_next = io;
	p->slot[slot] = d;
	d->devfn = (uint16_t)(slot << 3);
	for (unsigned int i = 0; i < PCI_BARS; i++)
		if (d->bar[i].size && d->ops && d->ops->bar_moved)
			d->ops->bar_moved(d->ctx, i, pci_dev_bar_addr(d, i));
	return 0;
}

/* Device addressed by the latch (bus 0, function 0 only), or NULL. */
static struct pci_dev *target_locked(const struct pci *p)
{
	uint32_t a = p->address;

	if (!(a & ADDR_ENABLE) || ((a >> 16) & 0xff) || ((a >> 8) & 7))
		return NULL;
	return p->slot[(a >> 11) & 0x1f];
}

/* BAR index whose register (either half of a 64-bit BAR) holds `reg`, or -1. */
static int bar_of_reg(const struct pci_dev *d, uint32_t reg)
{
	if (reg < PCI_BAR0 || reg >= PCI_BAR0 + 4 * PCI_BARS)
		return -1;
	for (int i = 0; i < PCI_BARS; i++) {
		unsigned int dwords = d->bar[i].is64 ? 2 : 1;

		if (d->bar[i].size && (reg - PCI_BAR0) / 4 >= (unsigned int)i &&
		    (reg - PCI_BAR0) / 4 < i + dwords)
			return i;
	}
	return -1;
}

/* A BAR register write: low bits are size-aligned, the type bits read-only. */
static void write_bar_locked(struct pci_dev *d, int i, uint32_t reg, const uint8_t *v,
			     uint32_t len)
{
	uint32_t dword_reg = reg & ~3U, val = get32(d->cfg + dword_reg);

	memcpy((uint8_t *)&val + (reg & 3), v, len);
	if (d->bar[i].io) /* ports: keep the space bit */
		val = (uint32_t)(val & ~(d->bar[i].size - 1) & IO_ADDR_MASK) | BAR_IO_SPACE;
	else if (dword_reg == PCI_BAR0 + 4U * (unsigned int)i) /* low half: keep the flags */
		val = (uint32_t)((val & ~(d->bar[i].size - 1)) & ~0xfULL) |
		      (get32(d->cfg + dword_reg) & 0xf);
	else /* high half: size bits above 4 GiB read back as zero too */
		val &= (uint32_t)(~(d->bar[i].size - 1) >> 32);
	memcpy(d->cfg + dword_reg, &val, 4);
	if (d->ops && d->ops->bar_moved)
		d->ops->bar_moved(d->ctx, (unsigned int)i, pci_dev_bar_addr(d, (unsigned int)i));
}

/* Config bytes [reg, reg + len) of `d`, within its 256; the device refreshes them first. */
static void cfg_read_locked(struct pci_dev *d, uint32_t reg, void *data, uint32_t len)
{
	if (d->ops && d->ops->config_reading)
		d->ops->config_reading(d->ctx, reg, len);
	memcpy(data, d->cfg + reg, len);
}

/* A config write of [reg, reg + len), within 256: a BAR, or bits under the write mask. */
static void cfg_write_locked(struct pci_dev *d, uint32_t reg, const uint8_t *v, uint32_t len)
{
	int bar = bar_of_reg(d, reg);

	if (bar >= 0) {
		write_bar_locked(d, bar, reg, v, len);
		return;
	}
	for (uint32_t i = 0; i < len; i++)
		d->cfg[reg + i] = (uint8_t)((d->cfg[reg + i] & ~d->wmask[reg + i]) |
					    (v[i] & d->wmask[reg + i]));
	if (d->ops && d->ops->config_written)
		d->ops->config_written(d->ctx, reg, len);
}

static void config_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct pci *p = ctx;
	struct pci_dev *d;

	memset(data, 0xff, len);
	pthread_mutex_lock(&p->lock);
	if (off == 0 && len == 4)
		memcpy(data, &p->address, 4);
	else if (off >= 4 && off + len <= 8 && (d = target_locked(p)))
		cfg_read_locked(d, (p->address & 0xfc) + (uint32_t)(off - 4), data, len);
	pthread_mutex_unlock(&p->lock);
}

static void config_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct pci *p = ctx;
	struct pci_dev *d;

	pthread_mutex_lock(&p->lock);
	if (off == 0 && len == 4)
		memcpy(&p->address, data, 4);
	else if (off >= 4 && off + len <= 8 && (d = target_locked(p)))
		cfg_write_locked(d, (p->address & 0xfc) + (uint32_t)(off - 4), data, len);
	pthread_mutex_unlock(&p->lock);
}

const struct bus_ops pci_config_ops = { .read = config_read, .write = config_write };

/*
 * ECAM (PCIe memory-mapped configuration, as pci-host-ecam-generic reads
 * it): the window offset is bus << 20 | device << 15 | function << 12 |
 * register. Bus 0, function 0 only, as through 0xcf8; 1, 2 or 4 bytes,
 * naturally aligned. Anything else reads all ones and writes nothing.
 */
#define ECAM_BUS_SHIFT 20
#define ECAM_DEV_SHIFT 15
#define ECAM_FN_SHIFT 12
#define ECAM_REG_MASK 0xfffU

/* The function an ECAM offset names, or NULL; *reg its register (0-4095). */
static struct pci_dev *ecam_target_locked(const struct pci *p, uint64_t off, uint32_t *reg)
{
	if ((off >> ECAM_BUS_SHIFT) || ((off >> ECAM_FN_SHIFT) & 7))
		return NULL;
	*reg = (uint32_t)off & ECAM_REG_MASK;
	return p->slot[(off >> ECAM_DEV_SHIFT) & (PCI_SLOTS - 1)];
}

static bool ecam_access_ok(uint64_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && !(off & (len - 1));
}

static void ecam_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct pci *p = ctx;
	struct pci_dev *d;
	uint32_t reg;

	memset(data, 0xff, len);
	if (!ecam_access_ok(off, len))
		return;
	pthread_mutex_lock(&p->lock);
	d = ecam_target_locked(p, off, &reg);
	if (d && reg >= PCI_CFG_SIZE)
		memset(data, 0, len); /* extended space: no extended capability there */
	else if (d)
		cfg_read_locked(d, reg, data, len);
	pthread_mutex_unlock(&p->lock);
}

static void ecam_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct pci *p = ctx;
	struct pci_dev *d;
	uint32_t reg;

	if (!ecam_access_ok(off, len))
		return;
	pthread_mutex_lock(&p->lock);
	d = ecam_target_locked(p, off, &reg);
	if (d && reg < PCI_CFG_SIZE)
		cfg_write_locked(d, reg, data, len);
	pthread_mutex_unlock(&p->lock);
}

/* --trace: "vda config 0x04", "00:02.0 config 0x10", or "no function" for what `off` reaches. */
static void ecam_describe(void *ctx, uint64_t off, char *buf, size_t size)
{
	struct pci *p = ctx;
	struct pci_dev *d;
	uint32_t reg = 0;

	pthread_mutex_lock(&p->lock);
	d = ecam_target_locked(p, off, &reg);
	if (!d)
		snprintf(buf, size, "no function");
	else if (d->name)
		snprintf(buf, size, "%s config 0x%02x", d->name, reg);
	else
		snprintf(buf, size, "00:%02x.0 config 0x%02x",
			 (unsigned int)(off >> ECAM_DEV_SHIFT) & (PCI_SLOTS - 1), reg);
	pthread_mutex_unlock(&p->lock);
}

const struct bus_ops pci_ecam_ops = { .read = ecam_read, .write = ecam_write,
				      .describe = ecam_describe };

/* Find the BAR decoding [addr, addr + len) in memory or I/O space; copies what the access needs. */
/* The slot and BAR that decode [addr, addr + len), with p->lock held; false: none. */
static bool find_bar_locked(const struct pci *p, bool io, uint64_t addr, uint32_t len,
			    unsigned int *slot, unsigned int *bar)
{
	uint8_t decode = io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;

	for (unsigned int s = 0; s < PCI_SLOTS; s++) {
		const struct pci_dev *d = p->slot[s];

		if (!d || !(d->cfg[PCI_COMMAND] & decode))
			continue;
		for (unsigned int i = 0; i < PCI_BARS; i++) {
			uint64_t base = pci_dev_bar_addr(d, i), size = d->bar[i].size;

			if (size && d->bar[i].io == io && addr >= base && addr - base < size &&
			    len <= size - (addr - base)) {
				*slot = s;
				*bar = i;
				return true;
			}
		}
	}
	return false;
}

static bool find_bar(struct pci *p, bool io, uint64_t addr, uint32_t len, struct pci_bar *out,
		     uint64_t *offset)
{
	unsigned int s, i;
	bool found;

	pthread_mutex_lock(&p->lock);
	found = find_bar_locked(p, io, addr, len, &s, &i);
	if (found) {
		*out = p->slot[s]->bar[i];
		*offset = addr - pci_dev_bar_addr(p->slot[s], i);
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

/* --trace: "vda BAR 4", "00:02.0 BAR 2", or "no BAR" for what decodes `addr`. */
static void window_describe(struct pci *p, bool io, uint64_t addr, char *buf, size_t size)
{
	unsigned int s, i;

	pthread_mutex_lock(&p->lock);
	if (!find_bar_locked(p, io, addr, 1, &s, &i))
		snprintf(buf, size, "no BAR");
	else if (p->slot[s]->name)
		snprintf(buf, size, "%s BAR %u", p->slot[s]->name, i);
	else
		snprintf(buf, size, "00:%02x.0 BAR %u", s, i);
	pthread_mutex_unlock(&p->lock);
}

static void window_read(struct pci *p, bool io, uint64_t addr, void *data, uint32_t len)
{
	struct pci_bar bar;
	uint64_t boff;

	if (find_bar(p, io, addr, len, &bar, &boff))
		bar.ops->read(bar.ctx, boff, data, len);
	else
		memset(data, 0xff, len);
}

static void window_write(struct pci *p, bool io, uint64_t addr, const void *data, uint32_t len)
{
	struct pci_bar bar;
	uint64_t boff;

	if (find_bar(p, io, addr, len, &bar, &boff))
		bar.ops->write(bar.ctx, boff, data, len);
}

static void mmio_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct pci *p = ctx;

	window_read(p, false, p->mmio_base + off, data, len);
}

static void mmio_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct pci *p = ctx;

	window_write(p, false, p->mmio_base + off, data, len);
}

static void mmio_describe(void *ctx, uint64_t off, char *buf, size_t size)
{
	struct pci *p = ctx;

	window_describe(p, false, p->mmio_base + off, buf, size);
}

const struct bus_ops pci_mmio_ops = { .read = mmio_read, .write = mmio_write,
				      .describe = mmio_describe };

static void io_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct pci *p = ctx;

	window_read(p, true, p->io_base + off, data, len);
}

static void io_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct pci *p = ctx;

	window_write(p, true, p->io_base + off, data, len);
}

static void io_describe(void *ctx, uint64_t off, char *buf, size_t size)
{
	struct pci *p = ctx;

	window_describe(p, true, p->io_base + off, buf, size);
}

const struct bus_ops pci_io_ops = { .read = io_read, .write = io_write, .describe = io_describe };

void pci_dev_save(struct pci *p, const struct pci_dev *d, uint8_t cfg[PCI_CFG_SIZE])
{
	pthread_mutex_lock(&p->lock);
	memcpy(cfg, d->cfg, PCI_CFG_SIZE);
	pthread_mutex_unlock(&p->lock);
}

void pci_dev_load(struct pci *p, struct pci_dev *d, const uint8_t cfg[PCI_CFG_SIZE])
{
	pthread_mutex_lock(&p->lock);
	for (uint32_t reg = 0; reg < PCI_CFG_SIZE; reg += 4) {
		int bar = bar_of_reg(d, reg);

		if (bar >= 0) {
			write_bar_locked(d, bar, reg, cfg + reg, 4);
			continue;
		}
		for (uint32_t i = reg; i < reg + 4; i++)
			d->cfg[i] = (uint8_t)((d->cfg[i] & ~d->wmask[i]) | (cfg[i] & d->wmask[i]));
	}
	pthread_mutex_unlock(&p->lock);
}
