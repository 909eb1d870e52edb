#pragma once
/* One vCPU: its thread, its KVM_RUN loop and the handling of every exit. */
#include "vmm/vm.h"

/* Create vCPU `id` of `vm`: fd, kvm_run mapping, CPUID. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int id);
void vcpu_destroy(struct vcpu *v);

/* Registers for Linux's 64-bit entry point (boot/cpu.c): rip = entry, rsi = boot_params. */
__attribute__((warn_unused_result)) int vcpu_set_linux_entry(struct vcpu *v, uint64_t entry,
							     uint64_t boot_params);

/* Start the vCPU's thread (state CREATED -> RUNNING). */
__attribute__((warn_unused_result)) int vcpu_start(struct vcpu *v);

/* Make the vCPU leave KVM_RUN soon; safe from any thread. */
void vcpu_force_exit(struct vcpu *v);

/* Install the no-op handler for the force-exit signal (once per process). */
__attribute__((warn_unused_result)) int vcpu_signal_setup(void);

/* Print general and segment registers of the vCPU to stderr. */
void vcpu_dump(const struct vcpu *v);
