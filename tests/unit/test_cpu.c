/* boot/cpu: CPUID topology patching and the 64-bit boot tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/cpu.h"
#include "vmm/layout.h"
#include "tests/unit/suites.h"

#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL
#define ADDR_MASK 0x000ffffffffff000ULL

/* What KVM might report: recognisable junk in the fields cpu_cpuid_patch() owns. */
static const struct kvm_cpuid_entry2 host_leaves[] = {
	{ .function = 0, .eax = 0x1f, .ebx = 0x756e6547 },
	{ .function = 1, .eax = 0x000906ea, .ebx = 0xabcd0800, .ecx = 0x7ffafbff, .edx = 0x0f8bfbff },
	{ .function = 4, .index = 0, .eax = 0xfc004121, .ebx = 0x01c0003f },
	{ .function = 0xb, .index = 0, .eax = 9, .ebx = 9, .ecx = 9, .edx = 9 },
	{ .function = 0xb, .index = 1, .eax = 9, .ebx = 9, .ecx = 9, .edx = 9 },
	{ .function = 0xb, .index = 2, .eax = 9, .ebx = 9, .ecx = 9, .edx = 9 },
	{ .function = 0x80000001, .ecx = 0xffffffff, .edx = 0x2c100800 },
	{ .function = 0x80000008, .eax = 0x3030, .ecx = 0xffffffff },
};
#define NR_LEAVES (sizeof(host_leaves) / sizeof(host_leaves[0]))

static const unsigned int cpu_counts[] = { 1, 2, 3, 8, 200, 255 };

#define CAP (NR_LEAVES + 2) /* entries allocated: room for one appended subleaf and more */

/* A copy of host_leaves without the entry at `skip` (NR_LEAVES: skip none). */
static void cpuid_fill(struct kvm_cpuid2 *c, unsigned int skip)
{
	c->nent = 0;
	for (unsigned int i = 0; i < NR_LEAVES; i++)
		if (i != skip)
			c->entries[c->nent++] = host_leaves[i];
}

static struct kvm_cpuid2 *cpuid_new(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CAP * sizeof(c->entries[0]));

	ck_assert_ptr_nonnull(c);
	cpuid_fill(c, NR_LEAVES);
	return c;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	ck_abort_msg("no leaf 0x%x index %u", fn, idx);
	return NULL;
}

/* Bits of an APIC ID that the core level spans: smallest s with 2^s >= nr. */
static unsigned int core_bits(unsigned int nr)
{
	unsigned int s = 0;

	while ((1U << s) < nr)
		s++;
	return s;
}

static unsigned int min_u(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

START_TEST(test_leaf1_apic_id_count_and_hypervisor_bit)
{
	unsigned int nr = cpu_counts[_i];
	struct kvm_cpuid2 *c = cpuid_new();

	for (unsigned int id = 0; id < nr; id++) {
		const struct kvm_cpuid_entry2 *e;

		cpuid_fill(c, NR_LEAVES);
		cpu_cpuid_patch(c, CAP, id, nr);
		e = leaf(c, 1, 0);
		ck_assert_uint_eq(e->ebx >> 24, id);
		ck_assert_uint_eq((e->ebx >> 16) & 0xff, min_u(1U << core_bits(nr), 0xff));
		ck_assert_uint_eq(e->ebx & 0xffff, 0x0800); /* brand and CLFLUSH size kept */
		ck_assert_uint_eq(e->ecx >> 31, 1);
		ck_assert_uint_eq((e->edx >> 28) & 1, nr > 1);
		ck_assert_uint_eq(e->eax, host_leaves[1].eax);
	}
	free(c);
}
END_TEST

START_TEST(test_leaf4_cores_per_package)
{
	unsigned int nr = cpu_counts[_i];
	struct kvm_cpuid2 *c = cpuid_new();
	const struct kvm_cpuid_entry2 *e;

	cpu_cpuid_patch(c, CAP, 0, nr);
	e = leaf(c, 4, 0);
	ck_assert_uint_eq(e->eax >> 26, min_u(nr - 1, 63)); /* a six-bit field */
	ck_assert_uint_eq((e->eax >> 14) & 0xfff, 0);	     /* one thread per cache */
	ck_assert_uint_eq(e->eax & 0x3ff, 0x121);
	ck_assert_uint_eq(e->ebx, host_leaves[2].ebx);
	free(c);
}
END_TEST

START_TEST(test_leaf_0xb_extended_topology)
{
	unsigned int nr = cpu_counts[_i];
	struct kvm_cpuid2 *c = cpuid_new();

	for (unsigned int id = 0; id < nr; id++) {
		const struct kvm_cpuid_entry2 *smt, *core, *end;

		cpuid_fill(c, NR_LEAVES);
		cpu_cpuid_patch(c, CAP, id, nr);
		smt = leaf(c, 0xb, 0);
		core = leaf(c, 0xb, 1);
		end = leaf(c, 0xb, 2);
		ck_assert_uint_eq(smt->eax, 0);
		ck_assert_uint_eq(smt->ebx, 1);
		ck_assert_uint_eq(smt->ecx, 0x100); /* level 0, type SMT */
		ck_assert_uint_eq(smt->edx, id);
		ck_assert_uint_eq(core->eax, core_bits(nr));
		ck_assert_uint_eq(core->ebx, nr);
		ck_assert_uint_eq(core->ecx, 0x201); /* level 1, type core */
		ck_assert_uint_eq(core->edx, id);
		ck_assert_uint_eq(id >> core->eax, 0); /* every vCPU in package 0 */
		ck_assert_uint_eq(end->ebx, 0);
		ck_assert_uint_eq(end->ecx, 2); /* type invalid: end of levels */
		ck_assert_uint_eq(end->edx, id);
	}
	free(c);
}
END_TEST

START_TEST(test_amd_leaves)
{
	unsigned int nr = cpu_counts[_i];
	struct kvm_cpuid2 *c = cpuid_new();
	const struct kvm_cpuid_entry2 *ext, *size;

	cpu_cpuid_patch(c, CAP, 0, nr);
	ext = leaf(c, 0x80000001, 0);
	ck_assert_uint_eq(ext->ecx, 0xffffffff & ~(1U << 22)); /* only TOPOEXT cleared */
	ck_assert_uint_eq(ext->edx, host_leaves[6].edx);
	size = leaf(c, 0x80000008, 0);
	ck_assert_uint_eq(size->ecx & 0xff, nr - 1);
	ck_assert_uint_eq((size->ecx >> 12) & 0xf, core_bits(nr));
	ck_assert_uint_eq(size->ecx & ~0xf0ffU, 0xffffffff & ~0xf0ffU);
	ck_assert_uint_eq(size->eax, 0x3030);
	free(c);
}
END_TEST

START_TEST(test_unrelated_leaves_untouched)
{
	struct kvm_cpuid2 *c = cpuid_new();
	const struct kvm_cpuid_entry2 *e;

	cpu_cpuid_patch(c, CAP, 1, 2);
	e = leaf(c, 0, 0);
	ck_assert_uint_eq(e->eax, host_leaves[0].eax);
	ck_assert_uint_eq(e->ebx, host_leaves[0].ebx);
	free(c);
}
END_TEST

#define CORE_LEVEL 4 /* index in host_leaves of leaf 0xb subleaf 1 */

START_TEST(test_missing_core_level_appended)
{
	struct kvm_cpuid2 *c = cpuid_new();
	const struct kvm_cpuid_entry2 *core;

	cpuid_fill(c, CORE_LEVEL);
	cpu_cpuid_patch(c, NR_LEAVES, 3, 4); /* exactly one free entry */
	ck_assert_uint_eq(c->nent, NR_LEAVES);
	core = leaf(c, 0xb, 1);
	ck_assert_uint_eq(core->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
			  KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	ck_assert_uint_eq(core->eax, 2);
	ck_assert_uint_eq(core->ebx, 4);
	ck_assert_uint_eq(core->ecx, 0x201);
	ck_assert_uint_eq(core->edx, 3);
	free(c);
}
END_TEST

START_TEST(test_core_level_not_appended_without_room)
{
	struct kvm_cpuid2 *c = cpuid_new();

	cpuid_fill(c, CORE_LEVEL);
	cpu_cpuid_patch(c, NR_LEAVES - 1, 0, 2);
	ck_assert_uint_eq(c->nent, NR_LEAVES - 1);
	free(c);
}
END_TEST

START_TEST(test_core_level_not_appended_twice_or_without_leaf_0xb)
{
	struct kvm_cpuid2 *c = cpuid_new();

	cpu_cpuid_patch(c, CAP, 0, 2); /* already present */
	ck_assert_uint_eq(c->nent, NR_LEAVES);
	cpu_cpuid_patch(c, CAP, 1, 2); /* patched again */
	ck_assert_uint_eq(c->nent, NR_LEAVES);
	c->nent = 3; /* leaves 0, 1 and 4 only: no leaf 0xb at all */
	cpu_cpuid_patch(c, CAP, 0, 2);
	ck_assert_uint_eq(c->nent, 3);
	free(c);
}
END_TEST

static uint64_t entry_at(const struct gm *m, uint64_t table, uint64_t index)
{
	uint64_t e;

	ck_assert_int_eq(gm_read(m, table + index * 8, &e, sizeof(e)), 0);
	return e;
}

/* Walk the page tables for virtual address `va`; returns the physical address. */
static uint64_t translate(const struct gm *m, uint64_t va)
{
	uint64_t pml4e = entry_at(m, LAYOUT_PML4, (va >> 39) & 511), pdpte, pde;

	ck_assert_uint_eq(pml4e & (PTE_P | PTE_RW), PTE_P | PTE_RW);
	pdpte = entry_at(m, pml4e & ADDR_MASK, (va >> 30) & 511);
	ck_assert_uint_eq(pdpte & (PTE_P | PTE_RW | PTE_PS), PTE_P | PTE_RW);
	pde = entry_at(m, pdpte & ADDR_MASK, (va >> 21) & 511);
	ck_assert_uint_eq(pde & (PTE_P | PTE_RW | PTE_PS), PTE_P | PTE_RW | PTE_PS);
	return (pde & ADDR_MASK & ~0x1fffffULL) | (va & 0x1fffff);
}

/* ---- register state (pure: vmm/vcpu.c hands it to KVM) ---- */

START_TEST(test_linux_entry_registers)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	memset(&s, 0xa5, sizeof(s)); /* whatever KVM had: every field the entry needs is set */
	memset(&r, 0xa5, sizeof(r));
	cpu_linux_entry(&s, &r, 0x1000200, 0x7000);
	ck_assert_uint_eq(r.rip, 0x1000200);
	ck_assert_uint_eq(r.rsi, 0x7000);
	ck_assert_uint_eq(r.rflags, 0x2); /* interrupts off */
	ck_assert_uint_eq(r.rax, 0);
	ck_assert_uint_eq(s.cs.selector, CPU_BOOT_CS);
	ck_assert_uint_eq(s.cs.l, 1);
	ck_assert_uint_eq(s.cs.db, 0);
	ck_assert_uint_eq(s.ds.selector, CPU_BOOT_DS);
	ck_assert_uint_eq(s.ss.selector, CPU_BOOT_DS);
	ck_assert_uint_eq(s.cr0 & 0x80000001, 0x80000001); /* PG and PE */
	ck_assert_uint_eq(s.cr4 & 0x20, 0x20);		   /* PAE */
	ck_assert_uint_eq(s.efer & 0x500, 0x500);	   /* LME and LMA */
	ck_assert_uint_eq(s.cr3, LAYOUT_PML4);
	ck_assert_uint_eq(s.gdt.base, LAYOUT_GDT);
}
END_TEST

START_TEST(test_fpu_and_lapic_lints)
{
	struct kvm_lapic_state l;
	struct kvm_fpu f;
	uint32_t lvt0, lvt1;

	memset(&f, 0xa5, sizeof(f));
	cpu_reset_fpu(&f);
	ck_assert_uint_eq(f.fcw, 0x37f);
	ck_assert_uint_eq(f.mxcsr, 0x1f80);
	ck_assert_uint_eq(f.fsw, 0);
	memset(&l, 0, sizeof(l));
	memcpy(&l.regs[0x350], &(uint32_t){ 0x10700 }, 4); /* masked, some other mode */
	cpu_lapic_lints(&l);
	memcpy(&lvt0, &l.regs[0x350], 4);
	memcpy(&lvt1, &l.regs[0x360], 4);
	ck_assert_uint_eq(lvt0, 0x10700); /* ExtINT (7 << 8), mask kept */
	ck_assert_uint_eq(lvt1, 0x400);	  /* NMI (4 << 8) */
}
END_TEST

START_TEST(test_page_tables_identity_map_4g)
{
	static const uint64_t probes[] = { 0, 0x1234, 0x1000000, 0x7fffffff, 0xc0000000,
					   0xfee00000, 0xffffffff };
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 16 << 20, LAYOUT_MMIO_HOLE), 0);
	ck_assert_int_eq(cpu_build_tables(&m), 0);
	ck_assert_uint_eq(entry_at(&m, LAYOUT_PML4, 0), LAYOUT_PDPT | PTE_P | PTE_RW);
	ck_assert_uint_eq(entry_at(&m, LAYOUT_PML4, 1), 0);
	for (unsigned int i = 0; i < 4; i++)
		ck_assert_uint_eq(entry_at(&m, LAYOUT_PDPT, i),
				  (LAYOUT_PD + i * 0x1000) | PTE_P | PTE_RW);
	ck_assert_uint_eq(entry_at(&m, LAYOUT_PDPT, 4), 0);
	ck_assert_uint_eq(entry_at(&m, LAYOUT_PD, 0), PTE_P | PTE_RW | PTE_PS);
	ck_assert_uint_eq(entry_at(&m, LAYOUT_PD, 1), 0x200000 | PTE_P | PTE_RW | PTE_PS);
	ck_assert_uint_eq(entry_at(&m, LAYOUT_PD + 0x3000, 511),
			  0xffe00000 | PTE_P | PTE_RW | PTE_PS);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		ck_assert_uint_eq(translate(&m, probes[i]), probes[i]);
	for (uint64_t va = 0; va < (1ULL << 32); va += 0x200000)
		ck_assert_uint_eq(translate(&m, va + 0x1234), va + 0x1234);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_gdt_has_flat_64bit_code_and_data)
{
	uint64_t gdt[4];
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 16 << 20, LAYOUT_MMIO_HOLE), 0);
	ck_assert_int_eq(cpu_build_tables(&m), 0);
	ck_assert_int_eq(gm_read(&m, LAYOUT_GDT, gdt, sizeof(gdt)), 0);
	ck_assert_uint_eq(gdt[0], 0);
	ck_assert_uint_eq(gdt[CPU_BOOT_CS / 8], 0x00af9b000000ffffULL);
	ck_assert_uint_eq(gdt[CPU_BOOT_DS / 8], 0x00cf93000000ffffULL);
	/* Code: present, L=1, D=0. Data: present, writable. */
	ck_assert_uint_eq((gdt[CPU_BOOT_CS / 8] >> 47) & 1, 1);
	ck_assert_uint_eq((gdt[CPU_BOOT_CS / 8] >> 53) & 3, 1);
	ck_assert_uint_eq((gdt[CPU_BOOT_DS / 8] >> 41) & 1, 1);
	gm_destroy(&m);
}
END_TEST

START_TEST(test_tables_need_low_ram)
{
	struct gm m;

	ck_assert_int_eq(gm_init(&m, 0x8000, LAYOUT_MMIO_HOLE), 0); /* ends below the PML4 */
	ck_assert_int_eq(cpu_build_tables(&m), -EFAULT);
	gm_destroy(&m);
}
END_TEST

Suite *cpu_suite(void)
{
	Suite *s = suite_create("cpu");
	TCase *cpuid_tc = tcase_create("cpuid");
	TCase *tables_tc = tcase_create("tables");
	int n = sizeof(cpu_counts) / sizeof(cpu_counts[0]);

	tcase_add_loop_test(cpuid_tc, test_leaf1_apic_id_count_and_hypervisor_bit, 0, n);
	tcase_add_loop_test(cpuid_tc, test_leaf4_cores_per_package, 0, n);
	tcase_add_loop_test(cpuid_tc, test_leaf_0xb_extended_topology, 0, n);
	tcase_add_loop_test(cpuid_tc, test_amd_leaves, 0, n);
	tcase_add_test(cpuid_tc, test_unrelated_leaves_untouched);
	tcase_add_test(cpuid_tc, test_missing_core_level_appended);
	tcase_add_test(cpuid_tc, test_core_level_not_appended_without_room);
	tcase_add_test(cpuid_tc, test_core_level_not_appended_twice_or_without_leaf_0xb);
	suite_add_tcase(s, cpuid_tc);

	tcase_add_test(tables_tc, test_page_tables_identity_map_4g);
	tcase_add_test(tables_tc, test_linux_entry_registers);
	tcase_add_test(tables_tc, test_fpu_and_lapic_lints);
	tcase_add_test(tables_tc, test_gdt_has_flat_64bit_code_and_data);
	tcase_add_test(tables_tc, test_tables_need_low_ram);
	suite_add_tcase(s, tables_tc);
	return s;
}
