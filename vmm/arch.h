#pragma once
/*
 * What differs between the architectures Ember runs on, behind one
 * interface. The Makefile builds one implementation:
 *
 *   vmm/arch_x86.c    x86-64: PIC, I/O APIC and PIT in the kernel, COM1 and
 *                     PCI configuration on ports, CPUID, ACPI tables, the
 *                     bzImage boot protocol (boot/linux.c), firmware at 4 GiB;
 *   vmm/arch_arm64.c  arm64: GICv3 and ITS in the kernel, a PL011 and the
 *                     ECAM on MMIO, PSCI, a device tree (boot/fdt.c), the
 *                     Image boot protocol (boot/image.c).
 *
 * Everything else (buses, PCI functions, virtio, disks, the I/O thread, the
 * vCPU loop, the console) is shared. The architecture's own state lives in
 * struct arch_vm (struct vm's `arch`), its parsed kernel in struct
 * arch_kernel; both come from the header included here.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#include "vmm/arch_types_x86.h"
#elif defined(__aarch64__)
#include "vmm/arch_types_arm64.h"
#else
#error "Ember is built for x86-64 or arm64"
#endif

struct vm;
struct vm_config;
struct cli_config;
struct vcpu;
struct kvm_cap_need;

/* The KVM capabilities this architecture needs beyond the common ones (kvm_open() checks both). */
extern const struct kvm_cap_need *const arch_kvm_caps;
extern const size_t arch_nr_kvm_caps;

/* The in-kernel interrupt controller and timers, before any device exists. 0 or -errno (logged). */
__attribute__((warn_unused_result)) int arch_vm_create(struct vm *vm, const struct vm_config *cfg);

/*
 * The platform devices (the UART first: vm->uart is set on return), placed
 * on the buses with the PCI configuration access and windows. 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int arch_vm_devices(struct vm *vm, const struct vm_config *cfg);

/* vCPU `v` (index v->id of vm->nr_vcpus) right after KVM_CREATE_VCPU. 0 or -errno. */
__attribute__((warn_unused_result)) int arch_vcpu_init(struct vm *vm, struct vcpu *v);

/* Once every vCPU exists. 0 or -errno (logged). */
__attribute__((warn_unused_result)) int arch_vm_finish(struct vm *vm);

/* Undo arch_vm_create() and arch_vm_devices(), whatever part of them was done. */
void arch_vm_destroy(struct vm *vm);

/* The platform devices' names, NULL-terminated (the API's device list). */
extern const char *const arch_device_names[];

/* Press the power button the guest was told of. 0 or -errno (-ENOTSUP: none). */
int arch_power_button(struct vm *vm);

/*
 * Every vCPU is parked (vm_pause()): hold the guest's clock where the
 * architecture lets Ember do so; arch_vm_resuming() puts it back.
 */
void arch_vm_paused(struct vm *vm);
void arch_vm_resuming(struct vm *vm);

/* The vCPU's registers, at error level, when the guest failed. */
void arch_vcpu_dump(int vcpu_fd, unsigned int id);

/* The GSI of PCI INTx pin `pin` (0 = INTA) of the device in `slot`. */
uint32_t arch_pci_intx_gsi(unsigned int slot, unsigned int pin);

/*
 * Check a kernel image (mapped read-only, untrusted) and describe it in *k.
 * 0, or -errno with *why naming the reason. arch_kernel_release() frees
 * what this allocated.
 */
__attribute__((warn_unused_result)) int arch_kernel_parse(struct arch_kernel *k, const void *data,
							  size_t size, const char **why);
void arch_kernel_release(struct arch_kernel *k);

/*
 * The kernel's release string (for /lib/modules/RELEASE), at most
 * ARCH_KERNEL_RELEASE_MAX bytes and its NUL. 0 or -errno with *why.
 */
#define ARCH_KERNEL_RELEASE_MAX 64
__attribute__((warn_unused_result)) int arch_kernel_release_name(const struct arch_kernel *k,
								 char *out, size_t size,
								 const char **why);

/*
 * Would the kernel and an initrd of `initrd_size` bytes fit in `memory`
 * bytes of RAM? Runs before the VM exists. 0 or -ENOMEM with *why.
 */
__attribute__((warn_unused_result)) int arch_kernel_fits(const struct arch_kernel *k,
							 size_t initrd_size, uint64_t memory,
							 const char **why);

/*
 * Put the kernel, initrd and command line in guest RAM with whatever the
 * architecture's boot protocol needs beside them (boot parameters and ACPI
 * tables, or a device tree), and point the boot vCPU at the entry. 0, or
 * -errno with *why.
 */
__attribute__((warn_unused_result)) int arch_boot_linux(struct vm *vm, const struct arch_kernel *k,
							const void *initrd, size_t initrd_size,
							const char *cmdline, const char **why);

/*
 * --dump-dtb: write to `path` the device tree a kernel `k` with an initrd
 * of `initrd_size` bytes would get with `cfg`'s memory, vCPUs and command
 * line, before any VM exists. 0, or -errno (logged; -ENOTSUP on an
 * architecture whose guests learn their hardware otherwise).
 */
__attribute__((warn_unused_result)) int arch_dump_dtb(const struct cli_config *cfg,
						      const struct arch_kernel *k,
						      size_t initrd_size, const char *path);

/* The largest --firmware image. */
#define ARCH_FIRMWARE_MAX LAYOUT_FIRMWARE_MAX

/*
 * Map a --firmware image where this architecture starts it, before the
 * vCPUs exist. `fresh`: false on a restore, where RAM already holds what
 * the image put there. 0 or -errno.
 */
__attribute__((warn_unused_result)) int arch_load_firmware(struct vm *vm, const void *img,
							   size_t size, bool fresh);

/*
 * The vCPUs exist: point the boot vCPU at the firmware where reset does
 * not already start it there. 0, or -errno with *why.
 */
__attribute__((warn_unused_result)) int arch_start_firmware(struct vm *vm, const char **why);
