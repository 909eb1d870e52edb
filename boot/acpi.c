#include "boot/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/aml.h"
#include "boot/layout.h"

#define ACPI_SIZE (LAYOUT_ACPI_END - LAYOUT_ACPI)
#define FADT_LEN 276 /* revision 6 */
#define FADT_HW_REDUCED (1U << 20)
#define FADT_RESET_REG_SUP (1U << 10)
#define BOOT_ARCH_NO_VGA (1U << 2)
#define BOOT_ARCH_NO_CMOS_RTC (1U << 5)
#define GAS_SYSTEM_IO 1
#define PCI_PRT_SLOTS 32

/* The tables are laid out one after another in a host buffer, then copied in. */
struct acpi_img {
	uint8_t buf[ACPI_SIZE];
	size_t len;
};

struct sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct gas {
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)-s;
}

/* Reserve `len` bytes, 16-byte aligned; returns the offset or -1. */
static long img_alloc(struct acpi_img *img, size_t len)
{
	size_t off = (img->len + 15) & ~(size_t)15;

	if (len > sizeof(img->buf) || off > sizeof(img->buf) - len)
		return -1;
	img->len = off + len;
	return (long)off;
}

static void sdt_fill(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	struct sdt_header h = { .length = len, .revision = rev, .oem_revision = 1, .creator_revision = 1 };

	memcpy(h.signature, sig, 4);
	memcpy(h.oem_id, "EMBER ", 6);
	memcpy(h.oem_table_id, "EMBERVM ", 8);
	memcpy(h.creator_id, "EMBR", 4);
	memcpy(t, &h, sizeof(h));
	t[9] = checksum(t, len);
}

/* Buffer(){ descriptors..., EndTag }: the value of a _CRS. */
static void resource_buffer(struct aml *out, const void *res, size_t n)
{
	struct aml body;

	aml_init(&body);
	aml_int(&body, n + 2);
	aml_bytes(&body, res, n);
	aml_bytes(&body, (const uint8_t[]){ 0x79, 0 }, 2); /* end tag, checksum 0 = none */
	aml_init(out);
	aml_pkg(out, (const uint8_t[]){ AML_BUFFER_OP }, 1, &body);
}

static void pci_root_crs(struct aml *crs)
{
	static const uint8_t res[] = {
		/* Word address space: bus numbers 0-255, producer, fixed min/max. */
		0x88, 13, 0, 2, 0x0c, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 1,
		/* IO port: the 0xcf8-0xcff configuration mechanism itself. */
		0x47, 1, 0xf8, 0x0c, 0xf8, 0x0c, 1, 8,
		/* Word IO windows 0x0000-0x0cf7 and 0x0d00-0xffff. */
		0x88, 13, 0, 1, 0x0c, 3, 0, 0, 0, 0, 0xf7, 0x0c, 0, 0, 0xf8, 0x0c,
		0x88, 13, 0, 1, 0x0c, 3, 0, 0, 0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3,
		/* DWord memory, read/write, non-cacheable: the BAR window (values below). */
		0x87, 23, 0, 0, 0x0c, 1,
	};
	uint32_t mem[5] = { 0, (uint32_t)LAYOUT_PCI_MMIO,
			    (uint32_t)(LAYOUT_PCI_MMIO + LAYOUT_PCI_MMIO_SIZE - 1), 0,
			    (uint32_t)LAYOUT_PCI_MMIO_SIZE };
	uint8_t all[sizeof(res) + sizeof(mem)];

	memcpy(all, res, sizeof(res));
	memcpy(all + sizeof(res), mem, sizeof(mem));
	resource_buffer(crs, all, sizeof(all));
}

/* COM1: I/O 0x3f8-0x3ff and ISA IRQ 4 (edge, active high). */
static void com1_crs(struct aml *crs)
{
	const uint8_t res[] = {
		0x47, 1, PORT_COM1 & 0xff, PORT_COM1 >> 8, PORT_COM1 & 0xff, PORT_COM1 >> 8, 1, 8,
		0x22, (uint8_t)(1U << IRQ_COM1), (uint8_t)((1U << IRQ_COM1) >> 8),
	};

	resource_buffer(crs, res, sizeof(res));
}

/* Name(_PRT, Package() { {slot << 16 | 0xffff, pin, 0, GSI}, ... }): INTx wiring of bus 0. */
static void pci_prt(struct aml *extra)
{
	struct aml all, entry, pkg;

	aml_init(&all);
	aml_byte(&all, (PCI_PRT_SLOTS - LAYOUT_PCI_FIRST_SLOT) * 4); /* NumElements */
	for (unsigned int slot = LAYOUT_PCI_FIRST_SLOT; slot < PCI_PRT_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			aml_init(&entry);
			aml_byte(&entry, 4);
			aml_int(&entry, ((uint64_t)slot << 16) | 0xffff);
			aml_int(&entry, pin);
			aml_int(&entry, 0); /* no link device: the last field is a GSI */
			aml_int(&entry, LAYOUT_PCI_INTX_GSI(slot, pin));
			aml_pkg(&all, (const uint8_t[]){ AML_PACKAGE_OP }, 1, &entry);
		}
	}
	aml_init(&pkg);
	aml_pkg(&pkg, (const uint8_t[]){ AML_PACKAGE_OP }, 1, &all);
	aml_named(extra, "_PRT", &pkg);
}

/* Device(name) { _HID, _UID 0, _CRS, and `extra` (more Name() objects) } */
static void add_device(struct aml *scope, const char *name, const char *hid,
		       const struct aml *crs, const struct aml *extra)
{
	static const uint8_t device_op[] = { 0x5b, 0x82 };
	struct aml dev, obj;

	aml_init(&dev);
	aml_name(&dev, name);
	aml_init(&obj);
	aml_eisaid(&obj, hid);
	aml_named(&dev, "_HID", &obj);
	aml_init(&obj);
	aml_int(&obj, 0);
	aml_named(&dev, "_UID", &obj);
	aml_named(&dev, "_CRS", crs);
	if (extra)
		aml_bytes(&dev, extra->buf, extra->len);
	aml_pkg(scope, device_op, sizeof(device_op), &dev);
}

/*
 * The DSDT: \_S5 for power-off, and under \_SB the PCI root bridge and
 * COM1. A hardware-reduced platform has no legacy PIC setup in Linux, so
 * the UART's IRQ must be described here for the kernel to wire it up.
 */
static int build_dsdt_aml(struct aml *out)
{
	struct aml obj, crs, extra, sb, s5;

	aml_init(out);
	/* Name(\_S5, Package(4) {SLP_TYP, 0, 0, 0}) */
	aml_init(&obj);
	aml_byte(&obj, 4);
	aml_int(&obj, ACPI_S5_SLP_TYP);
	aml_bytes(&obj, (const uint8_t[]){ 0, 0, 0 }, 3);
	aml_init(&s5);
	aml_pkg(&s5, (const uint8_t[]){ AML_PACKAGE_OP }, 1, &obj);
	aml_named(out, "\\_S5_", &s5);

	aml_init(&sb);
	aml_name(&sb, "\\_SB_");
	aml_init(&obj);
	aml_int(&obj, 0);
	aml_init(&extra);
	aml_named(&extra, "_SEG", &obj);
	aml_named(&extra, "_BBN", &obj);
	pci_prt(&extra);
	pci_root_crs(&crs);
	add_device(&sb, "PCI0", "PNP0A03", &crs, &extra);
	com1_crs(&crs);
	add_device(&sb, "COM1", "PNP0501", &crs, NULL);
	aml_pkg(out, (const uint8_t[]){ AML_SCOPE_OP }, 1, &sb);
	return aml_ok(out) ? 0 : -ENOSPC;
}

static long build_dsdt(struct acpi_img *img)
{
	struct aml aml;
	long off;

	if (build_dsdt_aml(&aml))
		return -1;
	off = img_alloc(img, sizeof(struct sdt_header) + aml.len);
	if (off < 0)
		return -1;
	memcpy(img->buf + off + sizeof(struct sdt_header), aml.buf, aml.len);
	sdt_fill(img->buf + off, "DSDT", (uint32_t)(sizeof(struct sdt_header) + aml.len), 2);
	return off;
}

static void put_gas(uint8_t *at, uint16_t port)
{
	struct gas g = { .space = GAS_SYSTEM_IO, .bit_width = 8, .access_size = 1, .address = port };

	memcpy(at, &g, sizeof(g));
}

static long build_fadt(struct acpi_img *img, uint64_t dsdt)
{
	long off = img_alloc(img, FADT_LEN);
	uint8_t *t;
	uint32_t flags = FADT_HW_REDUCED | FADT_RESET_REG_SUP;
	uint16_t boot_arch = BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC;

	if (off < 0)
		return -1;
	t = img->buf + off;
	memcpy(t + 109, &boot_arch, 2);			/* IAPC_BOOT_ARCH */
	memcpy(t + 112, &flags, 4);			/* Flags */
	put_gas(t + 116, PORT_ACPI_SLEEP + 2);		/* RESET_REG */
	t[128] = ACPI_RESET_VALUE;			/* RESET_VALUE */
	t[131] = 0;					/* FADT minor version */
	memcpy(t + 40, &(uint32_t){ (uint32_t)dsdt }, 4); /* DSDT */
	memcpy(t + 140, &dsdt, 8);			/* X_DSDT */
	put_gas(t + 244, PORT_ACPI_SLEEP);		/* SLEEP_CONTROL_REG */
	put_gas(t + 256, PORT_ACPI_SLEEP + 1);		/* SLEEP_STATUS_REG */
	memcpy(t + 268, "EMBERVMM", 8);			/* hypervisor vendor identity */
	sdt_fill(t, "FACP", FADT_LEN, 6);
	return off;
}

static long build_madt(struct acpi_img *img, unsigned int cpus)
{
	size_t len = sizeof(struct sdt_header) + 8 + cpus * 8 + 12 + 10 + 6;
	long off = img_alloc(img, len);
	uint8_t *t, *p;
	uint32_t lapic = (uint32_t)LAYOUT_LAPIC, pcat_compat = 1, ioapic = (uint32_t)LAYOUT_IOAPIC;

	if (off < 0)
		return -1;
	t = img->buf + off;
	memcpy(t + 36, &lapic, 4);
	memcpy(t + 40, &pcat_compat, 4); /* the 8259s exist (in-kernel) */
	p = t + 44;
	for (unsigned int i = 0; i < cpus; i++, p += 8) {
		/* Processor local APIC: type 0, ACPI id, APIC id, enabled. */
		p[0] = 0, p[1] = 8, p[2] = (uint8_t)i, p[3] = (uint8_t)i, p[4] = 1;
	}
	/* I/O APIC: type 1, id 0, address, GSI base 0. */
	p[0] = 1, p[1] = 12, p[2] = 0;
	memcpy(p + 4, &ioapic, 4);
	p += 12;
	/* Interrupt source override: ISA IRQ 0 (PIT) arrives on GSI 2. */
	p[0] = 2, p[1] = 10, p[2] = 0, p[3] = 0, p[4] = 2;
	p += 10;
	/* Local APIC NMI: all processors, LINT1. */
	p[0] = 4, p[1] = 6, p[2] = 0xff, p[5] = 1;
	sdt_fill(t, "APIC", (uint32_t)len, 4);
	return off;
}

static long build_xsdt(struct acpi_img *img, const uint64_t *entries, unsigned int n)
{
	size_t len = sizeof(struct sdt_header) + n * 8;
	long off = img_alloc(img, len);

	if (off < 0)
		return -1;
	memcpy(img->buf + off + sizeof(struct sdt_header), entries, n * 8);
	sdt_fill(img->buf + off, "XSDT", (uint32_t)len, 1);
	return off;
}

static void build_rsdp(struct acpi_img *img, uint64_t xsdt)
{
	uint8_t *r = img->buf; /* at offset 0: the kernel scans 16-byte boundaries */
	uint32_t len = 36;

	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "EMBER ", 6);
	r[15] = 2; /* revision: ACPI 2.0+, XSDT */
	memcpy(r + 20, &len, 4);
	memcpy(r + 24, &xsdt, 8);
	r[8] = checksum(r, 20);
	r[32] = checksum(r, 36);
}

int acpi_build(const struct gm *m, unsigned int cpus, uint64_t *rsdp)
{
	struct acpi_img *img = calloc(1, sizeof(*img));
	uint64_t x[2];
	long dsdt, fadt, madt, xsdt;
	int err = -ENOSPC;

	if (!img)
		return -ENOMEM;
	img_alloc(img, 36); /* RSDP first */
	dsdt = build_dsdt(img);
	fadt = dsdt < 0 ? -1 : build_fadt(img, LAYOUT_ACPI + (uint64_t)dsdt);
	madt = fadt < 0 ? -1 : build_madt(img, cpus);
	if (madt >= 0) {
		x[0] = LAYOUT_ACPI + (uint64_t)fadt;
		x[1] = LAYOUT_ACPI + (uint64_t)madt;
		xsdt = build_xsdt(img, x, 2);
		if (xsdt >= 0) {
			build_rsdp(img, LAYOUT_ACPI + (uint64_t)xsdt);
			err = gm_write(m, LAYOUT_ACPI, img->buf, img->len);
		}
	}
	free(img);
	if (!err)
		*rsdp = LAYOUT_ACPI;
	return err;
}
