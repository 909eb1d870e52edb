#pragma once
/* arm64's part of struct vm and its parsed kernel (vmm/arch.h; the code is vmm/arch_arm64.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/audit.h>
#include <linux/kvm.h>

#include "boot/image.h"
#include "devices/pl011.h"
#include "vmm/layout.h"

#define ARCH_NAME "arm64"

/* seccomp (vmm/seccomp.c): the ABI the filters admit, and this architecture's own ioctls. */
#define ARCH_AUDIT AUDIT_ARCH_AARCH64
#define ARCH_SYSCALL_LIMIT 0x40000000 /* no second ABI shares the table; no call is numbered so high */
#define ARCH_MAIN_IOCTLS KVM_CHECK_EXTENSION
#define ARCH_SIGSYS_ARG1(uc) ((uc)->uc_mcontext.regs[1])
#define ARCH_SYSCALL_NAMES 0 /* seccomp.c's table of call names is x86-64's: numbers only */
#define ARCH_VCPU_IOCTLS KVM_GET_ONE_REG /* register dump when the guest fails */

struct arch_vm {
	struct pl011 uart;
	bool uart_ready;
	int gic_fd, its_fd; /* KVM_CREATE_DEVICE: the GICv3 and its ITS, -1: none */
	bool fds_valid;	    /* gic_fd and its_fd hold fds or -1 (not the zeroed struct's 0) */
	struct kvm_vcpu_init vcpu_init; /* KVM_ARM_PREFERRED_TARGET's, with PSCI 0.2 */
};

struct arch_kernel {
	struct image img;
};
