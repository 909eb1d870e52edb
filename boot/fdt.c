#include "boot/fdt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

/* Phandles of the nodes others point at. */
#define PH_GIC 1
#define PH_ITS 2
#define PH_CLK 3

/* The GIC binding's three cells: type, number, flags. */
#define GIC_SPI 0
#define GIC_PPI 1
#define IRQ_LEVEL_HIGH 4

/* The architected timer's PPIs: secure and non-secure physical, virtual, hypervisor. */
static const uint32_t timer_ppi[] = { 13, 14, 11, 10 };

#define MAX_CELLS (32 * 4 * 10) /* the longest property: the PCI interrupt map of 32 slots x 4 pins */

/* A property value being assembled, big-endian cells; an overflow is remembered. */
struct cells {
	fdt32_t v[MAX_CELLS];
	unsigned int n;
	bool full;
};

static void put(struct cells *c, uint32_t x)
{
	if (c->n == MAX_CELLS) {
		c->full = true;
		return;
	}
	c->v[c->n++] = cpu_to_fdt32(x);
}

static void put64(struct cells *c, uint64_t x)
{
	put(c, (uint32_t)(x >> 32));
	put(c, (uint32_t)x);
}

/* The builder: libfdt's sequential writer, its first error kept. */
struct fdtw {
	void *fdt;
	int err;
	struct cells c;
};

static void chk(struct fdtw *w, int r)
{
	if (r < 0 && !w->err)
		w->err = r;
}

static void begin(struct fdtw *w, const char *fmt, uint64_t addr)
{
	char name[64];

	snprintf(name, sizeof(name), fmt, (unsigned long long)addr);
	chk(w, fdt_begin_node(w->fdt, name));
}

static void end(struct fdtw *w)
{
	chk(w, fdt_end_node(w->fdt));
}

static void str(struct fdtw *w, const char *name, const char *s)
{
	chk(w, fdt_property_string(w->fdt, name, s));
}

/* A list of strings ("a\0b\0"), `len` bytes with their NULs. */
static void strs(struct fdtw *w, const char *name, const char *s, int len)
{
	chk(w, fdt_property(w->fdt, name, s, len));
}

static void u32(struct fdtw *w, const char *name, uint32_t v)
{
	chk(w, fdt_property_cell(w->fdt, name, v));
}

static void empty(struct fdtw *w, const char *name)
{
	chk(w, fdt_property(w->fdt, name, NULL, 0));
}

/* Start a cell list in w->c. */
static struct cells *cells(struct fdtw *w)
{
	w->c.n = 0;
	w->c.full = false;
	return &w->c;
}

/* Write w->c as property `name`. */
static void flush(struct fdtw *w, const char *name)
{
	if (w->c.full && !w->err)
		w->err = -FDT_ERR_NOSPACE;
	chk(w, fdt_property(w->fdt, name, w->c.v, (int)(w->c.n * sizeof(fdt32_t))));
}

/* reg = <addr size> with two cells each. */
static void reg(struct fdtw *w, uint64_t addr, uint64_t size)
{
	struct cells *c = cells(w);

	put64(c, addr);
	put64(c, size);
	flush(w, "reg");
}

static void chosen(struct fdtw *w, const struct fdt_platform *p)
{
	char path[64];

	begin(w, "chosen", 0);
	if (p->cmdline)
		str(w, "bootargs", p->cmdline);
	snprintf(path, sizeof(path), "/pl011@%llx", (unsigned long long)p->uart_base);
	str(w, "stdout-path", path);
	if (p->initrd_end > p->initrd_start) {
		chk(w, fdt_property_u64(w->fdt, "linux,initrd-start", p->initrd_start));
		chk(w, fdt_property_u64(w->fdt, "linux,initrd-end", p->initrd_end));
	}
	end(w);
}

uint32_t fdt_mpidr(unsigned int vcpu)
{
	return (vcpu & 0xf) | ((vcpu >> 4) & 0xff) << 8 | ((vcpu >> 12) & 0xff) << 16;
}

static void cpus(struct fdtw *w, const struct fdt_platform *p)
{
	begin(w, "cpus", 0);
	u32(w, "#address-cells", 1);
	u32(w, "#size-cells", 0);
	for (unsigned int i = 0; i < p->nr_cpus; i++) {
		uint32_t mpidr = fdt_mpidr(i);

		begin(w, "cpu@%llx", mpidr);
		str(w, "device_type", "cpu");
		str(w, "compatible", "arm,arm-v8");
		str(w, "enable-method", "psci");
		u32(w, "reg", mpidr);
		end(w);
	}
	end(w);
	begin(w, "psci", 0);
	strs(w, "compatible", "arm,psci-1.0\0arm,psci-0.2", sizeof("arm,psci-1.0\0arm,psci-0.2"));
	str(w, "method", "hvc");
	end(w);
}

static void gic(struct fdtw *w, const struct fdt_platform *p)
{
	struct cells *c;

	begin(w, "intc@%llx", p->gicd_base);
	str(w, "compatible", "arm,gic-v3");
	u32(w, "#interrupt-cells", 3);
	u32(w, "#address-cells", 2);
	u32(w, "#size-cells", 2);
	empty(w, "ranges");
	empty(w, "interrupt-controller");
	c = cells(w);
	put64(c, p->gicd_base);
	put64(c, p->gicd_size);
	put64(c, p->gicr_base);
	put64(c, p->gicr_size);
	flush(w, "reg");
	u32(w, "phandle", PH_GIC);
	if (p->its_size) {
		begin(w, "msi-controller@%llx", p->its_base);
		str(w, "compatible", "arm,gic-v3-its");
		empty(w, "msi-controller");
		u32(w, "#msi-cells", 1);
		reg(w, p->its_base, p->its_size);
		u32(w, "phandle", PH_ITS);
		end(w);
	}
	end(w);
}

static void timer(struct fdtw *w)
{
	struct cells *c;

	begin(w, "timer", 0);
	str(w, "compatible", "arm,armv8-timer");
	empty(w, "always-on");
	c = cells(w);
	for (unsigned int i = 0; i < sizeof(timer_ppi) / sizeof(timer_ppi[0]); i++) {
		put(c, GIC_PPI);
		put(c, timer_ppi[i]);
		put(c, IRQ_LEVEL_HIGH); /* no CPU mask: that is GICv2's */
	}
	flush(w, "interrupts");
	end(w);
}

static void uart(struct fdtw *w, const struct fdt_platform *p)
{
	struct cells *c;

	begin(w, "apb-pclk", 0);
	str(w, "compatible", "fixed-clock");
	u32(w, "#clock-cells", 0);
	u32(w, "clock-frequency", p->uart_clock_hz);
	str(w, "clock-output-names", "clk24mhz");
	u32(w, "phandle", PH_CLK);
	end(w);
	begin(w, "pl011@%llx", p->uart_base);
	strs(w, "compatible", "arm,pl011\0arm,primecell", sizeof("arm,pl011\0arm,primecell"));
	reg(w, p->uart_base, p->uart_size);
	c = cells(w);
	put(c, GIC_SPI);
	put(c, p->uart_spi);
	put(c, IRQ_LEVEL_HIGH);
	flush(w, "interrupts");
	c = cells(w);
	put(c, PH_CLK);
	put(c, PH_CLK);
	flush(w, "clocks");
	strs(w, "clock-names", "uartclk\0apb_pclk", sizeof("uartclk\0apb_pclk"));
	end(w);
}

/* ranges: <flags, PCI address (2 cells), CPU address (2), size (2)> per window. */
static void pci_ranges(struct fdtw *w, const struct fdt_platform *p)
{
	struct cells *c = cells(w);

	if (p->pci_io_size) {
		put(c, 0x01000000); /* I/O space */
		put64(c, 0);
		put64(c, p->pci_io_base);
		put64(c, p->pci_io_size);
	}
	put(c, 0x02000000); /* 32-bit memory space */
	put64(c, p->pci_mmio_base);
	put64(c, p->pci_mmio_base);
	put64(c, p->pci_mmio_size);
	flush(w, "ranges");
}

/* The INTx routing: the standard swizzle of a slot's four pins over four SPIs. */
static void pci_intx(struct fdtw *w, const struct fdt_platform *p)
{
	struct cells *c = cells(w);

	for (unsigned int s = 0; s < p->pci_slots; s++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			put(c, s << 11); /* child unit address: devfn << 8 in phys.hi */
			put(c, 0);
			put(c, 0);
			put(c, pin + 1); /* INTA..INTD */
			put(c, PH_GIC);
			put64(c, 0); /* the GIC's #address-cells (2), unused for SPIs */
			put(c, GIC_SPI);
			put(c, p->pci_intx_spi + (s + pin) % 4);
			put(c, IRQ_LEVEL_HIGH);
		}
	}
	flush(w, "interrupt-map");
	c = cells(w);
	put(c, 0x1f << 11);
	put(c, 0);
	put(c, 0);
	put(c, 7);
	flush(w, "interrupt-map-mask");
}

static void pci(struct fdtw *w, const struct fdt_platform *p)
{
	struct cells *c;
	uint64_t buses = p->ecam_size >> 20;

	begin(w, "pcie@%llx", p->ecam_base);
	str(w, "compatible", "pci-host-ecam-generic");
	str(w, "device_type", "pci");
	u32(w, "#address-cells", 3);
	u32(w, "#size-cells", 2);
	u32(w, "#interrupt-cells", 1);
	u32(w, "linux,pci-domain", 0);
	empty(w, "dma-coherent");
	c = cells(w);
	put(c, 0);
	put(c, (uint32_t)(buses ? buses - 1 : 0));
	flush(w, "bus-range");
	reg(w, p->ecam_base, p->ecam_size);
	pci_ranges(w, p);
	if (p->its_size) {
		c = cells(w);
		put(c, 0); /* requester ids 0..0xffff map to ITS device ids 0..0xffff */
		put(c, PH_ITS);
		put(c, 0);
		put(c, 0x10000);
		flush(w, "msi-map");
	}
	pci_intx(w, p);
	end(w);
}

static bool sane(const struct fdt_platform *p)
{
	return p->nr_cpus >= 1 && p->nr_cpus <= 255 && p->ram_size && p->gicd_size &&
	       p->gicr_size && p->uart_size && p->uart_clock_hz && p->ecam_size >= (1u << 20) &&
	       p->pci_mmio_size && p->pci_slots <= 32;
}

int fdt_build(const struct fdt_platform *p, void *buf, size_t size)
{
	struct fdtw w;

	if (!sane(p) || size > INT32_MAX)
		return -EINVAL;
	memset(&w, 0, sizeof(w));
	w.fdt = buf;
	/*
	 * Property names are not shared in the strings block: libfdt finds a
	 * shared one by comparing at every byte of the block, which was three
	 * quarters of the build's time (about 1.5 ms of an arm64 start-up under
	 * emulation). The tree is about a kilobyte larger for it.
	 */
	chk(&w, fdt_create_with_flags(buf, (int)size, FDT_CREATE_FLAG_NO_NAME_DEDUP));
	chk(&w, fdt_finish_reservemap(buf));
	begin(&w, "", 0);
	str(&w, "compatible", "linux,dummy-virt");
	u32(&w, "#address-cells", 2);
	u32(&w, "#size-cells", 2);
	u32(&w, "interrupt-parent", PH_GIC);
	chosen(&w, p);
	begin(&w, "memory@%llx", p->ram_base);
	str(&w, "device_type", "memory");
	reg(&w, p->ram_base, p->ram_size);
	end(&w);
	cpus(&w, p);
	gic(&w, p);
	timer(&w);
	uart(&w, p);
	pci(&w, p);
	end(&w);
	chk(&w, fdt_finish(buf));
	if (w.err)
		return w.err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
	return (int)fdt_totalsize(buf);
}
