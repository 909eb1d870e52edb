#pragma once
/*
 * The state KVM keeps for a VM and its vCPUs, to and from a snapshot's
 * sections (docs/snapshot.md): the interrupt controllers, the PIT and
 * kvmclock; each vCPU's registers, FPU/XSAVE, XCRs, MSRs, LAPIC, events,
 * MP state and debug registers.
 *
 * Saving needs every vCPU out of KVM_RUN with its last exit completed (the
 * pause does a KVM_RUN with immediate_exit before it parks, see vcpu.c).
 * Loading goes in the order KVM needs: special registers (the APIC base)
 * before the LAPIC, the LAPIC before the MSRs (TSC deadline), XCRs before
 * XSAVE, events and MP state last.
 */
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm/snapfile.h"

/* Section types of the state file. */
enum kvmstate_section {
	KVMSTATE_CONFIG = 1, /* vmm/snapshot.c: how the VM was made */
	KVMSTATE_CPUID,	     /* the CPUID entries the vCPUs were given */
	KVMSTATE_VM,	     /* PIC pair, I/O APIC, PIT, kvmclock */
	KVMSTATE_REGS,	     /* per vCPU (index: its id) from here on */
	KVMSTATE_SREGS,
	KVMSTATE_XSAVE,
	KVMSTATE_XCRS,
	KVMSTATE_LAPIC,
	KVMSTATE_MSRS,
	KVMSTATE_MP_STATE,
	KVMSTATE_EVENTS,
	KVMSTATE_DEBUGREGS,
	KVMSTATE_PLATFORM, /* vmm/snapshot.c: serial, PCI latch */
	KVMSTATE_PCI,	   /* vmm/snapshot.c: a plain PCI function (index: slot) */
	KVMSTATE_VIRTIO,   /* vmm/snapshot.c: a virtio-pci function (index: its kind and number) */
	KVMSTATE_FIRMWARE, /* vmm/snapshot.c: the --firmware image (it is mapped, not in RAM) */
	KVMSTATE_MAX = KVMSTATE_FIRMWARE,
};

#define KVMSTATE_MAX_MSRS 512

/* The VM's section: irqchip, PIT, kvmclock (as the pause read it). */
struct kvmstate_vm {
	struct kvm_irqchip pic[2], ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/*
 * Save the VM's state with kvmclock `clock` (read when the pause completed)
 * and the host's CLOCK_REALTIME read right after it, in ns (used where KVM
 * gave no wall-clock time with the clock). 0 or -errno.
 */
__attribute__((warn_unused_result)) int kvmstate_save_vm(int vm_fd,
							 const struct kvm_clock_data *clock,
							 uint64_t realtime_ns,
							 struct snapfile_writer *w);

/* The host's CLOCK_REALTIME in ns: what kvmstate_save_vm() wants beside the clock. */
uint64_t kvmstate_realtime_ns(void);

/*
 * Load the VM's state from `f`; kvmclock last, moved on by the wall-clock
 * time since it was saved. 0 or -errno, the cause in why.
 */
__attribute__((warn_unused_result)) int kvmstate_load_vm(int vm_fd, const struct snapfile *f,
							 char why[SNAPFILE_WHY_MAX]);

/* Save vCPU `id` (fd `vcpu_fd`); `kvm_fd` gives the MSR list. 0 or -errno. */
__attribute__((warn_unused_result)) int kvmstate_save_vcpu(int kvm_fd, int vm_fd, int vcpu_fd,
							   unsigned int id,
							   struct snapfile_writer *w);

/* Load vCPU `id` from `f`, in KVM's order. 0 or -errno, the cause in why. */
__attribute__((warn_unused_result)) int kvmstate_load_vcpu(int vm_fd, int vcpu_fd, unsigned int id,
							   const struct snapfile *f,
							   char why[SNAPFILE_WHY_MAX]);

/*
 * Is every CPUID feature the snapshot's guest was given also in `host`
 * (what this host's KVM supports, as Ember patches it)? 0, or -ENOTSUP
 * with the first missing bits in why. Leaves compared: 1, 7, 0xd.1,
 * 0x80000001 (the feature flags a guest acts on).
 */
__attribute__((warn_unused_result)) int kvmstate_check_cpuid(const struct kvm_cpuid2 *saved,
							     const struct kvm_cpuid2 *host,
							     char why[SNAPFILE_WHY_MAX]);
