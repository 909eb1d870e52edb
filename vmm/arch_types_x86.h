#pragma once
/* x86-64's part of struct vm and its parsed kernel (vmm/arch.h; the code is vmm/arch_x86.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/audit.h>
#include <linux/kvm.h>

#include "boot/bzimage.h"
#include "devices/serial.h"
#include "vmm/layout.h"

#define ARCH_NAME "x86-64"

/* seccomp (vmm/seccomp.c): the ABI the filters admit, and this architecture's own ioctls. */
#define ARCH_AUDIT AUDIT_ARCH_X86_64
#define ARCH_SYSCALL_LIMIT __X32_SYSCALL_BIT /* numbers from here on are the x32 ABI's */
/*
 * The main thread: pause (API) saves kvmclock once the vCPUs are parked and
 * resume puts it back; a snapshot (API) reads the VM's and each paused
 * vCPU's state.
 */
#define ARCH_MAIN_IOCTLS                                                                            \
	KVM_GET_CLOCK, KVM_SET_CLOCK, KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_CHECK_EXTENSION,           \
		KVM_GET_MSR_INDEX_LIST, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_XCRS, KVM_GET_LAPIC,   \
		KVM_GET_DEBUGREGS, KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE, KVM_GET_XSAVE,            \
		KVM_GET_XSAVE2, KVM_GET_MSRS
/* A SIGSYS handler's view of the call's second argument (an ioctl's request). */
#define ARCH_SIGSYS_ARG1(uc) ((uc)->uc_mcontext.gregs[REG_RSI])
#define ARCH_SYSCALL_NAMES 1 /* seccomp.c's table of call names is this numbering */
/* A vCPU thread: its registers for the dump when the guest fails. */
#define ARCH_VCPU_IOCTLS KVM_GET_REGS, KVM_GET_SREGS

struct arch_vm {
	struct serial serial; /* COM1 */
	bool serial_ready;
	struct kvm_cpuid2 *cpuid; /* as KVM supports it; patched per vCPU */
	unsigned int cpuid_cap;	  /* entries allocated in cpuid */
	void *firmware;		  /* read-only mapping at the top of 4 GiB, or NULL */
	size_t firmware_size;
	struct kvm_clock_data paused_clock; /* kvmclock when the pause completed */
	bool clock_saved;		    /* paused_clock holds it (KVM_GET_CLOCK worked) */
	uint64_t paused_realtime_ns;	    /* the host's CLOCK_REALTIME right after it */
};

struct arch_kernel {
	struct bzimage bz;
};
