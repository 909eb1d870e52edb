#pragma once
/*
 * x86 vCPU set-up: the tables a 64-bit Linux entry needs (GDT, identity
 * page tables) built in guest RAM, and the register state, CPUID and local
 * APIC values a vCPU starts with. Pure: vmm/vcpu.c hands them to KVM.
 */
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm/gm.h"

/* GDT selectors the boot protocol requires for the 64-bit entry. */
#define CPU_BOOT_CS 0x10
#define CPU_BOOT_DS 0x18

/* Write the GDT and page tables identity-mapping 0-4 GiB into guest RAM. */
__attribute__((warn_unused_result)) int cpu_build_tables(const struct gm *m);

/*
 * Registers for the Linux 64-bit entry: long mode, paging on, flat
 * segments, rip = entry, rsi = boot_params. `sregs` holds the vCPU's
 * current special registers and is changed in place; `regs` is filled.
 */
void cpu_linux_entry(struct kvm_sregs *sregs, struct kvm_regs *regs, uint64_t entry,
		     uint64_t boot_params);

/* x87/SSE state as after reset (FCW 0x37f, MXCSR 0x1f80). */
void cpu_reset_fpu(struct kvm_fpu *fpu);

/* In a local APIC's state: LINT0 as ExtINT and LINT1 as NMI, so the legacy PIC reaches the BSP. */
void cpu_lapic_lints(struct kvm_lapic_state *l);

/*
 * Adjust the host-supported CPUID in place for vCPU `id` of `nr`: APIC IDs,
 * a consistent topology (nr cores, one package, one thread per core), the
 * hypervisor bit. Where leaf 0xb exists but lacks its core-level subleaf,
 * that entry is appended if `cap` (entries allocated) leaves room. Pure.
 */
void cpu_cpuid_patch(struct kvm_cpuid2 *c, unsigned int cap, unsigned int id, unsigned int nr);
