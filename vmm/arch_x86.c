/*
 * x86-64 (vmm/arch.h): what a PC-like guest needs that an arm64 one does
 * not. KVM's PIC, I/O APIC and PIT; COM1, the i8042's reset line, the
 * test exit port, ACPI's sleep registers and PCI configuration on ports;
 * CPUID as KVM supports it; a Linux bzImage with boot_params, e820 and
 * ACPI tables; a firmware image ending at 4 GiB, where the reset vector is.
 */
#include "vmm/arch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/kvm.h>

#include "boot/acpi.h"
#include "boot/cpu.h"
#include "boot/linux.h"
#include "devices/i8042.h"
#include "devices/power.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/kvmstate.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static const struct kvm_cap_need caps[] = {
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
};

const struct kvm_cap_need *const arch_kvm_caps = caps;
const size_t arch_nr_kvm_caps = sizeof(caps) / sizeof(caps[0]);

/*
 * The in-kernel local APIC emulates the TSC-deadline timer mode, but KVM
 * before Linux 6.14 leaves it out of the supported CPUID, because it
 * depends on that irqchip (which Ember always creates) and says so through
 * KVM_CAP_TSC_DEADLINE_TIMER instead. Without the bit a Linux guest programs
 * its timer through the APIC's count registers, a slower exit than KVM's
 * fast path for the deadline MSR, at every tick it stops or starts.
 */
static void add_tsc_deadline(int kvm_fd, struct kvm_cpuid2 *c)
{
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		return;
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= 1U << 24;
}

#define CPUID_SPARE 8 /* entries cpu_cpuid_patch() may add */

/* KVM_GET_SUPPORTED_CPUID into a new allocation with CPUID_SPARE entries of room. */
static int supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out, unsigned int *cap)
{
	for (unsigned int n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (n + CPUID_SPARE) * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			add_tsc_deadline(kvm_fd, c);
			*out = c;
			*cap = c->nent + CPUID_SPARE;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

int arch_vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int err;

	(void)cfg;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ LAYOUT_KVM_IDENTITY }) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		err = -errno;
		log_err("cannot create the in-kernel interrupt controller and timer: %s",
			strerror(-err));
		return err;
	}
	err = supported_cpuid(vm->kvm_fd, &vm->arch.cpuid, &vm->arch.cpuid_cap);
	if (err)
		log_err("cannot read the CPUID KVM supports: %s", strerror(-err));
	return err;
}

/* Port-I/O devices; the table keeps the port map readable in one place. */
int arch_vm_devices(struct vm *vm, const struct vm_config *cfg)
{
	struct irq_line com1 = { .vm_fd = vm->vm_fd, .gsi = IRQ_COM1 };
	const struct {
		uint64_t base, len;
		const char *name;
		const struct bus_ops *ops;
		void *ctx;
	} pio[] = {
		{ PORT_I8042_DATA, 1, "i8042", &i8042_data_ops, NULL },
		{ PORT_I8042_CMD, 1, "i8042", &i8042_cmd_ops, &vm->exit_hook },
		{ PORT_COM1, 8, "serial", &serial_ops, &vm->arch.serial },
		{ PORT_DEBUG_EXIT, POWER_EXIT_PORT_LEN, "exit-port", &power_exit_port_ops, &vm->exit_hook },
		{ PORT_ACPI_SLEEP, POWER_ACPI_LEN, "acpi-power", &power_acpi_ops, &vm->exit_hook },
		{ PORT_PCI_CONFIG, PCI_CONFIG_LEN, "pci-config", &pci_config_ops, &vm->pci },
		{ LAYOUT_PCI_IO, LAYOUT_PCI_IO_SIZE, "pci-io", &pci_io_ops, &vm->pci },
	};
	int err = serial_init(&vm->arch.serial, com1, cfg->serial_out_fd, vm->rx_space_fd);

	if (err) {
		log_err("cannot set up the serial port: %s", strerror(-err));
		return err;
	}
	vm->arch.serial_ready = true;
	vm->uart = serial_uart(&vm->arch.serial);
	for (size_t i = 0; i < sizeof(pio) / sizeof(pio[0]); i++) {
		err = bus_add(&vm->pio, pio[i].base, pio[i].len, pio[i].name, pio[i].ops, pio[i].ctx);
		if (err) {
			log_err("cannot place %s at port %#llx: %s", pio[i].name,
				(unsigned long long)pio[i].base, strerror(-err));
			return err;
		}
	}
	/* The whole PCI window goes to the PCI module, which finds the BAR. */
	err = bus_add(&vm->mmio, LAYOUT_PCI_MMIO, LAYOUT_PCI_MMIO_SIZE, "pci-mmio", &pci_mmio_ops,
		      &vm->pci);
	if (err)
		log_err("cannot place the PCI MMIO window: %s", strerror(-err));
	return err;
}

/* CPUID for this vCPU, x87/SSE state as after reset and, on the boot vCPU, the LAPIC's LINT wiring. */
int arch_vcpu_init(struct vm *vm, struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	struct kvm_fpu fpu;

	cpu_cpuid_patch(vm->arch.cpuid, vm->arch.cpuid_cap, v->id, vm->nr_vcpus);
	if (ioctl(v->fd, KVM_SET_CPUID2, vm->arch.cpuid) < 0)
		return -errno;
	cpu_reset_fpu(&fpu);
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	if (v->id != 0)
		return 0;
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	cpu_lapic_lints(&lapic);
	return ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

int arch_vm_finish(struct vm *vm)
{
	(void)vm;
	return 0;
}

void arch_vm_destroy(struct vm *vm)
{
	if (vm->arch.serial_ready)
		serial_destroy(&vm->arch.serial);
	vm->arch.serial_ready = false;
	free(vm->arch.cpuid);
	vm->arch.cpuid = NULL;
	if (vm->arch.firmware)
		munmap(vm->arch.firmware, vm->arch.firmware_size);
	vm->arch.firmware = NULL;
}

void arch_vcpu_dump(int fd, unsigned int id)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0) {
		log_err("vCPU %u: cannot read registers: %s", id, strerror(errno));
		return;
	}
	log_err("vCPU %u registers:", id);
	log_err(" rip %016llx rsp %016llx rflags %016llx", r.rip, r.rsp, r.rflags);
	log_err(" rax %016llx rbx %016llx rcx %016llx rdx %016llx", r.rax, r.rbx, r.rcx, r.rdx);
	log_err(" rsi %016llx rdi %016llx rbp %016llx", r.rsi, r.rdi, r.rbp);
	log_err(" r8  %016llx r9  %016llx r10 %016llx r11 %016llx", r.r8, r.r9, r.r10, r.r11);
	log_err(" r12 %016llx r13 %016llx r14 %016llx r15 %016llx", r.r12, r.r13, r.r14, r.r15);
	log_err(" cs %04x base %llx  ds %04x  ss %04x", s.cs.selector, s.cs.base, s.ds.selector,
		s.ss.selector);
	log_err(" cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx", s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}

uint32_t arch_pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	return LAYOUT_PCI_INTX_GSI(slot, pin);
}

int arch_kernel_parse(struct arch_kernel *k, const void *data, size_t size, const char **why)
{
	return bzimage_parse(data, size, &k->bz, why);
}

void arch_kernel_release(struct arch_kernel *k)
{
	(void)k; /* the bzImage is read where it is mapped */
}

_Static_assert(ARCH_KERNEL_RELEASE_MAX == BZIMAGE_VERSION_MAX, "a bzImage's release must fit");

int arch_kernel_release_name(const struct arch_kernel *k, char *out, size_t size, const char **why)
{
	return bzimage_version(&k->bz, out, size, why);
}

int arch_kernel_fits(const struct arch_kernel *k, size_t initrd_size, uint64_t memory,
		     const char **why)
{
	return linux_check_fit(&k->bz, initrd_size, memory, why);
}

int arch_boot_linux(struct vm *vm, const struct arch_kernel *k, const void *initrd,
		    size_t initrd_size, const char *cmdline, const char **why)
{
	struct linux_images li = { .bz = &k->bz, .initrd = initrd, .initrd_size = initrd_size,
				   .cmdline = cmdline };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct linux_boot lb;
	int err = cpu_build_tables(&vm->mem);

	if (!err)
		err = acpi_build(&vm->mem, vm->nr_vcpus, &li.rsdp);
	if (err) {
		*why = "cannot build the boot tables in guest RAM";
		return err;
	}
	err = linux_load(&vm->mem, &li, &lb, why);
	if (err)
		return err;
	/* Linux's 64-bit entry point (boot/cpu.c): rip = entry, rsi = boot_params. */
	if (ioctl(vm->vcpu[0].fd, KVM_GET_SREGS, &sregs) < 0) {
		*why = "cannot read the boot vCPU's registers";
		return -errno;
	}
	cpu_linux_entry(&sregs, &regs, lb.entry, lb.boot_params);
	if (ioctl(vm->vcpu[0].fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vm->vcpu[0].fd, KVM_SET_REGS, &regs) < 0) {
		*why = "cannot set the boot vCPU's registers";
		return -errno;
	}
	return 0;
}

/* The image ends at 4 GiB, so its last 16 bytes hold the reset vector. */
int arch_load_firmware(struct vm *vm, const void *img, size_t size, bool fresh)
{
	size_t mapped = (size + 0xfff) & ~(size_t)0xfff;
	size_t low = size < LAYOUT_FIRMWARE_LOW_MAX ? size : LAYOUT_FIRMWARE_LOW_MAX;
	uint8_t *p;
	int err;

	if (size == 0 || size > LAYOUT_FIRMWARE_MAX)
		return -EFBIG;
	if (gm_low_end(&vm->mem) < LAYOUT_HIGH_RAM)
		return -ENOMEM;
	p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	memcpy(p + mapped - size, img, size);
	err = vm_set_slot(vm, VM_SLOT_FIRMWARE, KVM_MEM_READONLY, LAYOUT_4G - mapped, mapped, p);
	if (err) {
		munmap(p, mapped);
		return err;
	}
	vm->arch.firmware = p;
	vm->arch.firmware_size = mapped;
	/* Like a PC, the top of the image also appears just below 1 MiB (here as a RAM copy). */
	if (!fresh)
		return 0;
	return gm_write(&vm->mem, LAYOUT_HIGH_RAM - low, (const uint8_t *)img + size - low, low);
}

const char *const arch_device_names[] = { "serial", "i8042", "acpi-power", NULL };

int arch_power_button(struct vm *vm)
{
	struct irq_line l = { .vm_fd = vm->vm_fd, .gsi = IRQ_GED };
	int err = irq_set(&l, 1);

	/* An edge: the Generic Event Device's interrupt is edge-triggered (boot/acpi.c). */
	return err ? err : irq_set(&l, 0);
}

/*
 * No vCPU runs: kvmclock as the guest last saw it. Resume puts it back, so
 * the guest's clock does not count the pause (docs/api.md).
 */
void arch_vm_paused(struct vm *vm)
{
	vm->arch.clock_saved = ioctl(vm->vm_fd, KVM_GET_CLOCK, &vm->arch.paused_clock) == 0;
	vm->arch.paused_realtime_ns = kvmstate_realtime_ns();
	if (!vm->arch.clock_saved)
		log_warn("cannot read kvmclock at pause (%s): the guest's clock will jump on resume",
			 strerror(errno));
}

void arch_vm_resuming(struct vm *vm)
{
	struct kvm_clock_data c;

	if (!vm->arch.clock_saved)
		return;
	c = (struct kvm_clock_data){ .clock = vm->arch.paused_clock.clock };
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &c) < 0)
		log_warn("cannot put kvmclock back at resume (%s): the guest's clock jumps",
			 strerror(errno));
}

/* Reset starts the vCPU at the reset vector, 16 bytes below 4 GiB: in the image. */
int arch_start_firmware(struct vm *vm, const char **why)
{
	(void)vm;
	(void)why;
	return 0;
}

int arch_dump_dtb(const struct cli_config *cfg, const struct arch_kernel *k, size_t initrd_size,
		  const char *path)
{
	(void)cfg;
	(void)k;
	(void)initrd_size;
	(void)path;
	log_err("--dump-dtb: an x86-64 guest learns its hardware from ACPI tables, not a device tree");
	return -ENOTSUP;
}
