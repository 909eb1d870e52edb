#include "boot/cpu.h"

#include <errno.h>
#include <string.h>

#include "vmm/layout.h"

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

/* Flat descriptors: code64 at 0x10, data at 0x18 (limit 4 GiB, granular). */
static const uint64_t gdt[] = {
	0,
	0,
	0x00af9b000000ffffULL, /* 0x10: present, DPL0, code exec/read, L=1 */
	0x00cf93000000ffffULL, /* 0x18: present, DPL0, data read/write, D/B=1 */
};

int cpu_build_tables(const struct gm *m)
{
	uint64_t pml4 = LAYOUT_PDPT | PTE_P | PTE_RW;
	uint64_t pdpt[4], pd[512];
	int err = 0;

	err |= gm_write(m, LAYOUT_GDT, gdt, sizeof(gdt));
	err |= gm_write(m, LAYOUT_PML4, &pml4, sizeof(pml4));
	for (unsigned int i = 0; i < 4; i++) {
		pdpt[i] = (LAYOUT_PD + i * 0x1000) | PTE_P | PTE_RW;
		for (unsigned int j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) + (PTE_P | PTE_RW | PTE_PS);
		err |= gm_write(m, LAYOUT_PD + i * 0x1000, pd, sizeof(pd));
	}
	err |= gm_write(m, LAYOUT_PDPT, pdpt, sizeof(pdpt));
	return err ? -EFAULT : 0;
}

static struct kvm_segment flat_segment(uint16_t sel, uint8_t type, uint8_t l, uint8_t db)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.dpl = 0, .db = db, .s = 1, .l = l, .g = 1,
	};
}

void cpu_linux_entry(struct kvm_sregs *sregs, struct kvm_regs *regs, uint64_t entry,
		     uint64_t boot_params)
{
	sregs->gdt.base = LAYOUT_GDT;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cs = flat_segment(CPU_BOOT_CS, 0xb, 1, 0);
	sregs->ds = flat_segment(CPU_BOOT_DS, 0x3, 0, 1);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->cr3 = LAYOUT_PML4;
	sregs->cr4 = CR4_PAE;
	sregs->cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs->efer = EFER_LME | EFER_LMA;

	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* reserved bit; interrupts off */
	regs->rip = entry;
	regs->rsi = boot_params;
}

void cpu_reset_fpu(struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = 0x37f;
	fpu->mxcsr = 0x1f80;
}

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], sizeof(v));
	v = (v & ~0x700U) | (mode << 8);
	memcpy(&l->regs[reg], &v, sizeof(v));
}

void cpu_lapic_lints(struct kvm_lapic_state *l)
{
	set_lvt_mode(l, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(l, APIC_LVT1, APIC_MODE_NMI);
}

/* For a CPUID field narrower than the value: saturate instead of spilling into the next one. */
static unsigned int min_u(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

/* Smallest s with (1 << s) >= n. */
static unsigned int order(unsigned int n)
{
	unsigned int s = 0;

	while ((1U << s) < n)
		s++;
	return s;
}

static struct kvm_cpuid_entry2 *find_entry(struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

/* Leaf 0xb describes levels by subleaf; make sure the core level (1) is there. */
static void add_core_level(struct kvm_cpuid2 *c, unsigned int cap)
{
	if (!find_entry(c, 0xb, 0) || find_entry(c, 0xb, 1) || c->nent >= cap)
		return;
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){
		.function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	};
}

void cpu_cpuid_patch(struct kvm_cpuid2 *c, unsigned int cap, unsigned int id, unsigned int nr)
{
	unsigned int shift = order(nr);

	add_core_level(c, cap);
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* EBX: initial APIC ID [31:24], logical processors per package [23:16]. */
			e->ebx = (e->ebx & 0xffff) | (id << 24) | (min_u(1U << shift, 0xff) << 16);
			e->ecx |= 1U << 31; /* running under a hypervisor */
			if (nr > 1)
				e->edx |= 1U << 28; /* HTT: the package field is valid */
			break;
		case 4:
			/* Intel: cores per package - 1 in [31:26]; one thread shares each cache. */
			e->eax = (e->eax & 0x3ff) | (min_u(nr - 1, 63) << 26);
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: level 0 = SMT (1 thread), level 1 = core (nr). */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1U << 8) | 0;
			} else if (e->index == 1) {
				e->eax = shift;
				e->ebx = nr;
				e->ecx = (2U << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000001:
			e->ecx &= ~(1U << 22); /* no TOPOEXT: leaf 0x8000001e is not described */
			break;
		case 0x80000008:
			/* AMD: ApicIdSize [15:12], number of cores - 1 [7:0]. */
			e->ecx = (e->ecx & ~0xf0ffU) | (shift << 12) | (nr - 1);
			break;
		}
	}
}
