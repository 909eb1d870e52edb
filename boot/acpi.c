#include "boot/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/aml.h"
#include "vmm/layout.h"

#define ACPI_SIZE (LAYOUT_ACPI_END - LAYOUT_ACPI)
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

/* ACPI 6.x, 5.2.5.3: the Root System Description Pointer (revision 2). */
struct rsdp {
	char signature[8];
	uint8_t checksum; /* of the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* of all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

/* ACPI 6.x, 5.2.9: the Fixed ACPI Description Table, revision 6. Ember fills few fields:
 * a hardware-reduced platform has no PM1/GPE blocks, only sleep and reset registers. */
struct fadt {
	struct sdt_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk;
	uint32_t gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len;
	uint8_t gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk, x_pm2_cnt_blk;
	struct gas x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct gas sleep_control_reg, sleep_status_reg;
	char hypervisor_vendor[8];
} __attribute__((packed));

/* ACPI 6.x, 5.2.12: the MADT's header and the four kinds of entry Ember writes. */
struct madt {
	struct sdt_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic { /* type 0 */
	uint8_t type, length, acpi_id, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic { /* type 1 */
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

struct madt_override { /* type 2: an ISA IRQ that arrives on another GSI */
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi { /* type 4 */
	uint8_t type, length, acpi_id;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

_Static_assert(sizeof(struct sdt_header) == 36, "ACPI table header");
_Static_assert(sizeof(struct gas) == 12, "ACPI generic address");
_Static_assert(sizeof(struct rsdp) == 36, "RSDP revision 2");
_Static_assert(sizeof(struct fadt) == 276, "FADT revision 6");
_Static_assert(__builtin_offsetof(struct fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH");
_Static_assert(__builtin_offsetof(struct fadt, reset_reg) == 116, "FADT RESET_REG");
_Static_assert(__builtin_offsetof(struct fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(__builtin_offsetof(struct fadt, sleep_control_reg) == 244, "FADT SLEEP_CONTROL_REG");
_Static_assert(sizeof(struct madt) == 44, "MADT header");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT local APIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT I/O APIC");
_Static_assert(sizeof(struct madt_override) == 10, "MADT interrupt source override");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT local APIC NMI");

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

/*
 * Device(name) { _HID, _UID 0, _CRS (if any), and `extra` (more objects) }.
 * A _HID of the EISA form (three letters, four hex digits) is encoded as
 * one; any other ("ACPI0013") as a string.
 */
static void add_device(struct aml *scope, const char *name, const char *hid,
		       const struct aml *crs, const struct aml *extra)
{
	static const uint8_t device_op[] = { 0x5b, 0x82 };
	struct aml dev, obj;

	aml_init(&dev);
	aml_name(&dev, name);
	aml_init(&obj);
	if (strlen(hid) == 7)
		aml_eisaid(&obj, hid);
	else
		aml_string(&obj, hid);
	aml_named(&dev, "_HID", &obj);
	aml_init(&obj);
	aml_int(&obj, 0);
	aml_named(&dev, "_UID", &obj);
	if (crs)
		aml_named(&dev, "_CRS", crs);
	if (extra)
		aml_bytes(&dev, extra->buf, extra->len);
	aml_pkg(scope, device_op, sizeof(device_op), &dev);
}

/*
 * The power button of a hardware-reduced platform: a Generic Event Device
 * (ACPI0013) whose interrupt (IRQ_GED, edge) runs its _EVT method, which
 * notifies the button device (PNP0C0C) with 0x80, "pressed". Linux's GED
 * driver is built in; its button driver turns the notification into a
 * KEY_POWER input event (what a guest does with it is the guest's policy).
 */
static void add_power_button(struct aml *sb)
{
	const uint8_t irq[] = {
		0x89, 6, 0, /* Extended Interrupt, 6 bytes */
		0x03,	    /* consumer, edge, active high, exclusive */
		1,	    /* one interrupt */
		IRQ_GED, 0, 0, 0,
	};
	struct aml crs, evt, body;

	add_device(sb, "PWRB", "PNP0C0C", NULL, NULL);
	resource_buffer(&crs, irq, sizeof(irq));
	/* Method(_EVT, 1) { Notify(\_SB.PWRB, 0x80) } */
	aml_init(&body);
	aml_name(&body, "_EVT");
	aml_byte(&body, 1); /* one argument, not serialized */
	aml_bytes(&body, (const uint8_t[]){ 0x86, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B',
					     0x0a, 0x80 },
		  13);
	aml_init(&evt);
	aml_pkg(&evt, (const uint8_t[]){ AML_METHOD_OP }, 1, &body);
	add_device(sb, "GED0", "ACPI0013", &crs, &evt);
}

/*
 * The DSDT: \_S5 for power-off, and under \_SB the PCI root bridge,
 * COM1 and the power button. A hardware-reduced platform has no legacy PIC setup in Linux, so
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
	add_power_button(&sb);
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

static struct gas io_gas(uint16_t port)
{
	return (struct gas){ .space = GAS_SYSTEM_IO, .bit_width = 8, .access_size = 1, .address = port };
}

static long build_fadt(struct acpi_img *img, uint64_t dsdt)
{
	long off = img_alloc(img, sizeof(struct fadt));
	struct fadt f;

	if (off < 0)
		return -1;
	memset(&f, 0, sizeof(f));
	f.iapc_boot_arch = BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC;
	f.flags = FADT_HW_REDUCED | FADT_RESET_REG_SUP;
	f.reset_reg = io_gas(PORT_ACPI_SLEEP + 2);
	f.reset_value = ACPI_RESET_VALUE;
	f.dsdt = (uint32_t)dsdt;
	f.x_dsdt = dsdt;
	f.sleep_control_reg = io_gas(PORT_ACPI_SLEEP);
	f.sleep_status_reg = io_gas(PORT_ACPI_SLEEP + 1);
	memcpy(f.hypervisor_vendor, "EMBERVMM", 8);
	memcpy(img->buf + off, &f, sizeof(f));
	sdt_fill(img->buf + off, "FACP", sizeof(f), 6);
	return off;
}

/* Append `len` bytes of `entry` at *p (inside the table being built). */
static void put(uint8_t **p, const void *entry, size_t len)
{
	memcpy(*p, entry, len);
	*p += len;
}

static long build_madt(struct acpi_img *img, unsigned int cpus)
{
	size_t len = sizeof(struct madt) + cpus * sizeof(struct madt_lapic) +
		     sizeof(struct madt_ioapic) + sizeof(struct madt_override) +
		     sizeof(struct madt_lapic_nmi);
	long off = img_alloc(img, len);
	/* The 8259s exist (in-kernel): PCAT_COMPAT. */
	struct madt m = { .lapic_address = (uint32_t)LAYOUT_LAPIC, .flags = 1 };
	struct madt_ioapic io = { .type = 1, .length = sizeof(io), .address = (uint32_t)LAYOUT_IOAPIC };
	/* ISA IRQ 0 (the PIT) arrives on GSI 2. */
	struct madt_override pit = { .type = 2, .length = sizeof(pit), .source = 0, .gsi = 2 };
	/* NMI on LINT1 of every processor. */
	struct madt_lapic_nmi nmi = { .type = 4, .length = sizeof(nmi), .acpi_id = 0xff, .lint = 1 };
	uint8_t *t, *p;

	if (off < 0)
		return -1;
	t = img->buf + off;
	p = t + sizeof(m);
	memcpy(t, &m, sizeof(m));
	for (unsigned int i = 0; i < cpus; i++) {
		struct madt_lapic l = { .type = 0, .length = sizeof(l), .acpi_id = (uint8_t)i,
					.apic_id = (uint8_t)i, .flags = 1 /* enabled */ };

		put(&p, &l, sizeof(l));
	}
	put(&p, &io, sizeof(io));
	put(&p, &pit, sizeof(pit));
	put(&p, &nmi, sizeof(nmi));
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
	struct rsdp r = { .revision = 2 /* ACPI 2.0+: the XSDT */, .length = sizeof(r),
			  .xsdt_address = xsdt };

	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, "EMBER ", 6);
	r.checksum = checksum((const uint8_t *)&r, 20);
	r.extended_checksum = checksum((const uint8_t *)&r, sizeof(r));
	/* At offset 0: the kernel scans 16-byte boundaries. */
	memcpy(img->buf, &r, sizeof(r));
}

int acpi_build(const struct gm *m, unsigned int cpus, uint64_t *rsdp)
{
	struct acpi_img *img = calloc(1, sizeof(*img));
	uint64_t x[2];
	long dsdt, fadt, madt, xsdt;
	int err = -ENOSPC;

	if (!img)
		return -ENOMEM;
	img_alloc(img, sizeof(struct rsdp)); /* RSDP first */
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
