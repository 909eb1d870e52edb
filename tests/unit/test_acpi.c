/* boot/acpi and boot/aml: the tables Linux reads, checked byte by byte in guest RAM. */
#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "vmm/layout.h"
#include "tests/unit/suites.h"

#define MIB (1ULL << 20)
#define SDT_HEADER_LEN 36
#define FADT_HW_REDUCED (1U << 20)
#define FADT_RESET_REG_SUP (1U << 10)
#define GAS_SYSTEM_IO 1

static const unsigned int cpu_counts[] = { 1, 2, 255 };

/* Guest RAM with the tables built for `cpus` vCPUs; returns the RSDP address. */
static uint64_t build(struct gm *m, unsigned int cpus)
{
	uint64_t rsdp = 0;

	ck_assert_int_eq(gm_init(m, 64 * MIB, LAYOUT_MMIO_HOLE), 0);
	ck_assert_int_eq(acpi_build(m, cpus, &rsdp), 0);
	return rsdp;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/*
 * The table at `gpa`: inside the ACPI area, with signature `sig`, a length
 * that fits and a zero checksum. Returns a host pointer and its length.
 */
static const uint8_t *table(const struct gm *m, uint64_t gpa, const char *sig, uint32_t *len)
{
	const uint8_t *t = gm_ptr(m, gpa, SDT_HEADER_LEN);

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_ge(gpa, LAYOUT_ACPI);
	ck_assert_msg(memcmp(t, sig, 4) == 0, "expected %s at 0x%llx", sig, (unsigned long long)gpa);
	*len = u32_at(t + 4);
	ck_assert_uint_ge(*len, SDT_HEADER_LEN);
	ck_assert_uint_le(gpa + *len, LAYOUT_ACPI_END);
	ck_assert_uint_eq(sum(t, *len), 0);
	return t;
}

/* The table the XSDT lists with signature `sig`. */
static const uint8_t *xsdt_entry(const struct gm *m, uint64_t rsdp, const char *sig, uint32_t *len)
{
	const uint8_t *r = gm_ptr(m, rsdp, 36), *x;
	uint32_t xlen;

	x = table(m, u64_at(r + 24), "XSDT", &xlen);
	for (uint32_t off = SDT_HEADER_LEN; off + 8 <= xlen; off += 8) {
		const uint8_t *t = gm_ptr(m, u64_at(x + off), 4);

		if (t && !memcmp(t, sig, 4))
			return table(m, u64_at(x + off), sig, len);
	}
	ck_abort_msg("%s not in the XSDT", sig);
	return NULL;
}

START_TEST(test_rsdp_signature_and_checksums)
{
	const uint8_t *r;
	uint64_t rsdp;
	struct gm m;

	rsdp = build(&m, cpu_counts[_i]);
	ck_assert_uint_eq(rsdp, LAYOUT_ACPI); /* where the kernel's scan finds it */
	r = gm_ptr(&m, rsdp, 36);
	ck_assert_ptr_nonnull(r);
	ck_assert_mem_eq(r, "RSD PTR ", 8);
	ck_assert_uint_eq(r[15], 2);
	ck_assert_uint_eq(u32_at(r + 20), 36);
	ck_assert_uint_eq(sum(r, 20), 0);
	ck_assert_uint_eq(sum(r, 36), 0);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_xsdt_points_at_fadt_and_madt)
{
	const uint8_t *r, *x;
	uint32_t len;
	uint64_t rsdp;
	struct gm m;

	rsdp = build(&m, cpu_counts[_i]);
	r = gm_ptr(&m, rsdp, 36);
	x = table(&m, u64_at(r + 24), "XSDT", &len);
	ck_assert_uint_eq(len, SDT_HEADER_LEN + 2 * 8);
	table(&m, u64_at(x + 36), "FACP", &len);
	table(&m, u64_at(x + 44), "APIC", &len);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_madt_one_enabled_lapic_per_cpu)
{
	unsigned int cpus = cpu_counts[_i], lapics = 0, ioapics = 0;
	const uint8_t *t;
	uint32_t len, off;
	struct gm m;

	t = xsdt_entry(&m, build(&m, cpus), "APIC", &len);
	ck_assert_uint_eq(u32_at(t + 36), LAYOUT_LAPIC);
	for (off = 44; off + 2 <= len; off += t[off + 1]) {
		const uint8_t *e = t + off;

		ck_assert_uint_ge(e[1], 2);
		ck_assert_uint_le(off + e[1], len);
		if (e[0] == 0) {
			ck_assert_uint_eq(e[1], 8);
			ck_assert_uint_eq(e[2], lapics); /* ACPI processor id */
			ck_assert_uint_eq(e[3], lapics); /* APIC id */
			ck_assert_uint_eq(u32_at(e + 4) & 1, 1);
			lapics++;
		} else if (e[0] == 1) {
			ck_assert_uint_eq(e[1], 12);
			ck_assert_uint_eq(u32_at(e + 4), LAYOUT_IOAPIC);
			ck_assert_uint_eq(u32_at(e + 8), 0); /* GSI base */
			ioapics++;
		}
	}
	ck_assert_uint_eq(off, len);
	ck_assert_uint_eq(lapics, cpus);
	ck_assert_uint_eq(ioapics, 1);
	gm_destroy(&m);
}
END_TEST

/* A Generic Address Structure naming an 8-bit I/O port. */
static void assert_io_gas(const uint8_t *g, uint16_t port)
{
	ck_assert_uint_eq(g[0], GAS_SYSTEM_IO);
	ck_assert_uint_eq(g[1], 8);
	ck_assert_uint_eq(u64_at(g + 4), port);
}

START_TEST(test_fadt_hw_reduced_with_power_registers)
{
	const uint8_t *t;
	uint32_t len;
	struct gm m;

	t = xsdt_entry(&m, build(&m, cpu_counts[_i]), "FACP", &len);
	ck_assert_uint_eq(len, 276);
	ck_assert_uint_ge(t[8], 5); /* revision with sleep registers */
	ck_assert_uint_eq(u32_at(t + 112) & FADT_HW_REDUCED, FADT_HW_REDUCED);
	ck_assert_uint_eq(u32_at(t + 112) & FADT_RESET_REG_SUP, FADT_RESET_REG_SUP);
	assert_io_gas(t + 116, PORT_ACPI_SLEEP + 2); /* RESET_REG */
	ck_assert_uint_eq(t[128], ACPI_RESET_VALUE);
	assert_io_gas(t + 244, PORT_ACPI_SLEEP);     /* SLEEP_CONTROL_REG */
	assert_io_gas(t + 256, PORT_ACPI_SLEEP + 1); /* SLEEP_STATUS_REG */
	gm_destroy(&m);
}
END_TEST

START_TEST(test_dsdt_valid_with_s5_and_pci0)
{
	const uint8_t *fadt, *dsdt, *s5;
	uint32_t len, dlen;
	uint64_t dsdt_gpa;
	struct gm m;

	fadt = xsdt_entry(&m, build(&m, cpu_counts[_i]), "FACP", &len);
	dsdt_gpa = u64_at(fadt + 140);
	ck_assert_uint_eq(u32_at(fadt + 40), dsdt_gpa);
	dsdt = table(&m, dsdt_gpa, "DSDT", &dlen);
	ck_assert_ptr_nonnull(memmem(dsdt, dlen, "PCI0", 4));
	ck_assert_ptr_nonnull(memmem(dsdt, dlen, "\x0c\x41\xd0\x0a\x03", 5)); /* PNP0A03 */
	s5 = memmem(dsdt, dlen, "_S5_", 4);
	ck_assert_ptr_nonnull(s5);
	/* Package(4) { SLP_TYP, ... }: opcode, PkgLength, count, BytePrefix value. */
	ck_assert_uint_eq(s5[4], AML_PACKAGE_OP);
	ck_assert_uint_eq(s5[6], 4);
	ck_assert_uint_eq(s5[7], 0x0a);
	ck_assert_uint_eq(s5[8], ACPI_S5_SLP_TYP);
	gm_destroy(&m);
}
END_TEST

/*
 * The power button: PWRB (PNP0C0C) and a Generic Event Device (the string
 * "ACPI0013") whose _CRS is an edge, active-high Extended Interrupt on
 * IRQ_GED and whose _EVT(1) notifies \_SB.PWRB with 0x80. (iasl -d reads it
 * back as such; these bytes pin the encodings down.)
 */
START_TEST(test_dsdt_power_button)
{
	static const uint8_t irq[] = { 0x89, 6, 0, 0x03, 1, IRQ_GED, 0, 0, 0, 0x79, 0 };
	static const uint8_t evt[] = { '_', 'E', 'V', 'T', 1, 0x86, '\\', 0x2e, '_', 'S', 'B', '_',
				       'P', 'W', 'R', 'B', 0x0a, 0x80 };
	const uint8_t *fadt, *dsdt, *m_evt;
	uint32_t len, dlen;
	struct gm m;

	fadt = xsdt_entry(&m, build(&m, 1), "FACP", &len);
	dsdt = table(&m, u64_at(fadt + 140), "DSDT", &dlen);
	ck_assert_ptr_nonnull(memmem(dsdt, dlen, "PWRB", 4));
	ck_assert_ptr_nonnull(memmem(dsdt, dlen, "\x0c\x41\xd0\x0c\x0c", 5)); /* PNP0C0C */
	ck_assert_ptr_nonnull(memmem(dsdt, dlen, "GED0", 4));
	ck_assert_ptr_nonnull(memmem(dsdt, dlen, "\x0d" "ACPI0013", 10)); /* with its NUL */
	ck_assert_ptr_nonnull(memmem(dsdt, dlen, irq, sizeof(irq)));
	m_evt = memmem(dsdt, dlen, evt, sizeof(evt));
	ck_assert_ptr_nonnull(m_evt);
	ck_assert_uint_eq(m_evt[-2], AML_METHOD_OP); /* Method, one-byte PkgLength */
	ck_assert_uint_eq(m_evt[-1], 1 + sizeof(evt));
	gm_destroy(&m);
}
END_TEST

START_TEST(test_build_fails_without_ram_for_tables)
{
	uint64_t rsdp = 0;
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 512 << 10, LAYOUT_MMIO_HOLE), 0);
	ck_assert_int_lt(acpi_build(&m, 1, &rsdp), 0);
	ck_assert_uint_eq(rsdp, 0);
	gm_destroy(&m);
}
END_TEST

/* aml */

static const struct {
	uint64_t v;
	uint8_t len;
	uint8_t bytes[9];
} int_encodings[] = {
	{ 0, 1, { 0x00 } },
	{ 1, 1, { 0x01 } },
	{ 2, 2, { 0x0a, 0x02 } },
	{ 0x12, 2, { 0x0a, 0x12 } },
	{ 0xff, 2, { 0x0a, 0xff } },
	{ 0x100, 3, { 0x0b, 0x00, 0x01 } },
	{ 0x1234, 3, { 0x0b, 0x34, 0x12 } },
	{ 0x12345678, 5, { 0x0c, 0x78, 0x56, 0x34, 0x12 } },
	{ 0xffffffff, 5, { 0x0c, 0xff, 0xff, 0xff, 0xff } },
	{ 0x100000000ULL, 9, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 } },
	{ 0x123456789abcdef0ULL, 9, { 0x0e, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12 } },
};

START_TEST(test_aml_int_shortest_encoding)
{
	struct aml a;

	aml_init(&a);
	aml_int(&a, int_encodings[_i].v);
	ck_assert(aml_ok(&a));
	ck_assert_uint_eq(a.len, int_encodings[_i].len);
	ck_assert_mem_eq(a.buf, int_encodings[_i].bytes, a.len);
}
END_TEST

START_TEST(test_aml_eisaid_pnp0a03)
{
	struct aml a;

	aml_init(&a);
	aml_eisaid(&a, "PNP0A03");
	ck_assert_uint_eq(a.len, 5);
	ck_assert_mem_eq(a.buf, "\x0c\x41\xd0\x0a\x03", 5);
}
END_TEST

START_TEST(test_aml_names)
{
	struct aml a, obj;

	aml_init(&a);
	aml_name(&a, "\\_SB_");
	ck_assert_uint_eq(a.len, 5);
	ck_assert_mem_eq(a.buf, "\\_SB_", 5);
	aml_init(&a);
	aml_init(&obj);
	aml_int(&obj, 0);
	aml_named(&a, "_UID", &obj);
	ck_assert_uint_eq(a.len, 6);
	ck_assert_mem_eq(a.buf, "\x08_UID\x00", 6);
}
END_TEST

/* Scope opcode, PkgLength for a body of `body` bytes, then the body, into `out`. */
static void pkg_of(struct aml *out, size_t body)
{
	struct aml b;

	aml_init(&b);
	for (size_t i = 0; i < body; i++)
		aml_byte(&b, (uint8_t)i);
	aml_init(out);
	aml_pkg(out, (const uint8_t[]){ AML_SCOPE_OP }, 1, &b);
}

START_TEST(test_aml_pkglength_one_byte)
{
	struct aml a;

	pkg_of(&a, 10);
	ck_assert(aml_ok(&a));
	ck_assert_uint_eq(a.len, 12);
	ck_assert_uint_eq(a.buf[0], AML_SCOPE_OP);
	ck_assert_uint_eq(a.buf[1], 11); /* counts itself */
	ck_assert_uint_eq(a.buf[2], 0);
	ck_assert_uint_eq(a.buf[11], 9);
	pkg_of(&a, 62);
	ck_assert_uint_eq(a.buf[1], 63); /* largest one-byte length */
}
END_TEST

START_TEST(test_aml_pkglength_two_bytes)
{
	struct aml a;

	pkg_of(&a, 100);
	ck_assert(aml_ok(&a));
	ck_assert_uint_eq(a.len, 103);
	ck_assert_uint_eq(a.buf[1], 0x46); /* 102 = 0x66: one more byte, low nibble 6 */
	ck_assert_uint_eq(a.buf[2], 0x06);
	ck_assert_uint_eq(a.buf[3], 0);
	pkg_of(&a, 63); /* 63 + 1 no longer fits in six bits */
	ck_assert_uint_eq(a.buf[1], 0x41);
	ck_assert_uint_eq(a.buf[2], 0x04);
}
END_TEST

START_TEST(test_aml_overflow_is_sticky)
{
	static const uint8_t block[AML_MAX] = { 0 };
	struct aml a;

	aml_init(&a);
	aml_bytes(&a, block, AML_MAX);
	ck_assert(aml_ok(&a));
	ck_assert_uint_eq(a.len, AML_MAX);
	aml_byte(&a, 1);
	ck_assert(!aml_ok(&a));
	ck_assert_uint_eq(a.len, AML_MAX);
	aml_init(&a);
	aml_bytes(&a, block, AML_MAX - 1);
	aml_int(&a, 0x1234); /* needs 3 bytes, 1 left */
	ck_assert(!aml_ok(&a));
	aml_byte(&a, 0);
	ck_assert(!aml_ok(&a));
	ck_assert_uint_le(a.len, AML_MAX);
}
END_TEST

START_TEST(test_aml_overflow_propagates_through_pkg_and_named)
{
	static const uint8_t block[AML_MAX] = { 0 };
	struct aml body, out;

	aml_init(&body);
	aml_bytes(&body, block, AML_MAX);
	aml_byte(&body, 0);
	aml_init(&out);
	aml_pkg(&out, (const uint8_t[]){ AML_PACKAGE_OP }, 1, &body);
	ck_assert(!aml_ok(&out));
	aml_init(&out);
	aml_named(&out, "_CRS", &body);
	ck_assert(!aml_ok(&out));
}
END_TEST

Suite *acpi_suite(void)
{
	Suite *s = suite_create("acpi");
	TCase *tables_tc = tcase_create("tables");
	TCase *aml_tc = tcase_create("aml");
	int n = sizeof(cpu_counts) / sizeof(cpu_counts[0]);

	tcase_add_loop_test(tables_tc, test_rsdp_signature_and_checksums, 0, n);
	tcase_add_loop_test(tables_tc, test_xsdt_points_at_fadt_and_madt, 0, n);
	tcase_add_loop_test(tables_tc, test_madt_one_enabled_lapic_per_cpu, 0, n);
	tcase_add_loop_test(tables_tc, test_fadt_hw_reduced_with_power_registers, 0, n);
	tcase_add_loop_test(tables_tc, test_dsdt_valid_with_s5_and_pci0, 0, n);
	tcase_add_test(tables_tc, test_dsdt_power_button);
	tcase_add_test(tables_tc, test_build_fails_without_ram_for_tables);
	suite_add_tcase(s, tables_tc);

	tcase_add_loop_test(aml_tc, test_aml_int_shortest_encoding, 0,
			    sizeof(int_encodings) / sizeof(int_encodings[0]));
	tcase_add_test(aml_tc, test_aml_eisaid_pnp0a03);
	tcase_add_test(aml_tc, test_aml_names);
	tcase_add_test(aml_tc, test_aml_pkglength_one_byte);
	tcase_add_test(aml_tc, test_aml_pkglength_two_bytes);
	tcase_add_test(aml_tc, test_aml_overflow_is_sticky);
	tcase_add_test(aml_tc, test_aml_overflow_propagates_through_pkg_and_named);
	suite_add_tcase(s, aml_tc);
	return s;
}
