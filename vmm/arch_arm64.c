/*
 * arm64 (vmm/arch.h): what an AArch64 guest needs that an x86 one does
 * not. KVM's GICv3 with an ITS (KVM_CREATE_DEVICE, initialised once every
 * vCPU exists), PSCI 0.2 in the kernel (CPU_ON for the secondary vCPUs,
 * SYSTEM_OFF and SYSTEM_RESET as system events), a PL011, the PCI ECAM and
 * the PCI windows on the MMIO bus, a device tree (boot/fdt.c) instead of
 * ACPI, and the Image boot protocol (boot/image.c): the boot vCPU starts at
 * the kernel with x0 holding the tree's address. The memory map is in
 * vmm/layout_arm64.h.
 */
#include "vmm/arch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "boot/fdt.h"
#include "devices/power.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define GIC_NR_IRQS 128 /* SGIs, PPIs and 96 SPIs: the wired pins need 24 */
#define UART_CLOCK_HZ 24000000

/* A core register's id for KVM_{GET,SET}_ONE_REG. */
#define CORE_REG(x)                                                                     \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                           \
	 (offsetof(struct kvm_regs, x) / sizeof(uint32_t)))

static const struct kvm_cap_need caps[] = {
	{ KVM_CAP_ARM_PSCI_0_2, "KVM_CAP_ARM_PSCI_0_2" },
	{ KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG" },
	{ KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL" },
};

const struct kvm_cap_need *const arch_kvm_caps = caps;
const size_t arch_nr_kvm_caps = sizeof(caps) / sizeof(caps[0]);

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val };

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

static int create_device(int vm_fd, uint32_t type, int *fd)
{
	struct kvm_create_device d = { .type = type };

	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &d) < 0)
		return -errno;
	*fd = (int)d.fd;
	return 0;
}

static int set_reg(int vcpu_fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&val };

	return ioctl(vcpu_fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int get_reg(int vcpu_fd, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)val };

	return ioctl(vcpu_fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

/* What every vCPU is initialised as: the host's preferred target, PSCI 0.2. */
int arch_vm_create(struct vm *vm, const struct vm_config *cfg)
{
	vm->arch.gic_fd = vm->arch.its_fd = -1;
	vm->arch.fds_valid = true;
	if (cfg->cpus > LAYOUT_GICR_MAX_CPUS) {
		log_err("%u vCPUs do not fit the redistributor map (at most %u)", cfg->cpus,
			LAYOUT_GICR_MAX_CPUS);
		return -EINVAL;
	}
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &vm->arch.vcpu_init) < 0) {
		int err = -errno;

		log_err("KVM names no preferred vCPU target (KVM_ARM_PREFERRED_TARGET): %s",
			strerror(-err));
		return err;
	}
	vm->arch.vcpu_init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	return 0;
}

/* vCPU 0 starts where the boot protocol says; the others stay off until PSCI CPU_ON. */
int arch_vcpu_init(struct vm *vm, struct vcpu *v)
{
	struct kvm_vcpu_init init = vm->arch.vcpu_init;

	if (v->id != 0)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	return ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0 ? -errno : 0;
}

/*
 * The GICv3 (distributor, redistributors) and its ITS, created and
 * initialised now that every vCPU exists: the devices that come next bind
 * irqfds to it, which KVM allows only once it is initialised.
 */
int arch_vm_finish(struct vm *vm)
{
	uint64_t dist = LAYOUT_GICD, redist = LAYOUT_GICR, its = LAYOUT_GITS;
	uint32_t nr_irqs = GIC_NR_IRQS;
	const char *what = "create the GICv3";
	int err = create_device(vm->vm_fd, KVM_DEV_TYPE_ARM_VGIC_V3, &vm->arch.gic_fd);

	if (!err && (what = "place the GICv3",
		     err = set_attr(vm->arch.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				    KVM_VGIC_V3_ADDR_TYPE_DIST, &dist)) == 0)
		err = set_attr(vm->arch.gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			       KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
	if (!err && (what = "size the GICv3",
		     err = set_attr(vm->arch.gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs)) == 0 &&
	    (what = "create the ITS",
	     err = create_device(vm->vm_fd, KVM_DEV_TYPE_ARM_VGIC_ITS, &vm->arch.its_fd)) == 0 &&
	    (what = "place the ITS",
	     err = set_attr(vm->arch.its_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE,
			    &its)) == 0 &&
	    (what = "initialise the GICv3",
	     err = set_attr(vm->arch.gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
			    NULL)) == 0) {
		what = "initialise the ITS";
		err = set_attr(vm->arch.its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
			       NULL);
	}
	if (err)
		log_err("cannot %s: %s", what, strerror(-err));
	return err;
}

/* The PL011, the test exit port, and PCI: ECAM, I/O window, memory window. All MMIO. */
int arch_vm_devices(struct vm *vm, const struct vm_config *cfg)
{
	struct irq_line uart_irq = { .vm_fd = vm->vm_fd, .gsi = IRQ_UART };
	const struct {
		uint64_t base, len;
		const char *name;
		const struct bus_ops *ops;
		void *ctx;
	} mmio[] = {
		{ LAYOUT_UART, LAYOUT_UART_SIZE, "pl011", &pl011_ops, &vm->arch.uart },
		{ LAYOUT_EXIT_PORT, POWER_EXIT_PORT_LEN, "exit-port", &power_exit_port_ops,
		  &vm->exit_hook },
		{ LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE, "pci-ecam", &pci_ecam_ops, &vm->pci },
		{ LAYOUT_PCI_IO_WINDOW + LAYOUT_PCI_IO, LAYOUT_PCI_IO_SIZE, "pci-io", &pci_io_ops,
		  &vm->pci },
		{ LAYOUT_PCI_MMIO, LAYOUT_PCI_MMIO_SIZE, "pci-mmio", &pci_mmio_ops, &vm->pci },
	};
	int err = pl011_init(&vm->arch.uart, uart_irq, cfg->serial_out_fd, vm->rx_space_fd);

	if (err) {
		log_err("cannot set up the PL011: %s", strerror(-err));
		return err;
	}
	vm->arch.uart_ready = true;
	vm->uart = pl011_uart(&vm->arch.uart);
	for (size_t i = 0; i < sizeof(mmio) / sizeof(mmio[0]); i++) {
		err = bus_add(&vm->mmio, mmio[i].base, mmio[i].len, mmio[i].name, mmio[i].ops,
			      mmio[i].ctx);
		if (err) {
			log_err("cannot place %s at %#llx: %s", mmio[i].name,
				(unsigned long long)mmio[i].base, strerror(-err));
			return err;
		}
	}
	return 0;
}

void arch_vm_destroy(struct vm *vm)
{
	if (vm->arch.uart_ready)
		pl011_destroy(&vm->arch.uart);
	vm->arch.uart_ready = false;
	if (vm->arch.fds_valid && vm->arch.its_fd >= 0)
		close(vm->arch.its_fd);
	if (vm->arch.fds_valid && vm->arch.gic_fd >= 0)
		close(vm->arch.gic_fd);
	vm->arch.its_fd = vm->arch.gic_fd = -1;
}

void arch_vcpu_dump(int fd, unsigned int id)
{
	uint64_t pc, pstate, sp, x[4], elr, sp_el1;

	if (get_reg(fd, CORE_REG(regs.pc), &pc) || get_reg(fd, CORE_REG(regs.pstate), &pstate) ||
	    get_reg(fd, CORE_REG(regs.sp), &sp) || get_reg(fd, CORE_REG(sp_el1), &sp_el1) ||
	    get_reg(fd, CORE_REG(elr_el1), &elr)) {
		log_err("vCPU %u: cannot read registers: %s", id, strerror(errno));
		return;
	}
	for (unsigned int i = 0; i < 4; i++)
		if (get_reg(fd, CORE_REG(regs.regs[i]), &x[i]))
			x[i] = 0;
	log_err("vCPU %u registers:", id);
	log_err(" pc %016llx pstate %016llx sp_el0 %016llx sp_el1 %016llx", (unsigned long long)pc,
		(unsigned long long)pstate, (unsigned long long)sp, (unsigned long long)sp_el1);
	log_err(" x0 %016llx x1 %016llx x2 %016llx x3 %016llx elr_el1 %016llx",
		(unsigned long long)x[0], (unsigned long long)x[1], (unsigned long long)x[2],
		(unsigned long long)x[3], (unsigned long long)elr);
}

uint32_t arch_pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	return LAYOUT_PCI_INTX_GSI(slot, pin);
}

const char *const arch_device_names[] = { "pl011", NULL };

int arch_power_button(struct vm *vm)
{
	(void)vm;
	return -ENOTSUP; /* no button in the device tree yet */
}

/* The virtual counter runs on through a pause, as on real hardware that stops its cores. */
void arch_vm_paused(struct vm *vm)
{
	(void)vm;
}

void arch_vm_resuming(struct vm *vm)
{
	(void)vm;
}

int arch_kernel_parse(struct arch_kernel *k, const void *data, size_t size, const char **why)
{
	return image_decode(data, size, 0, &k->img, why);
}

void arch_kernel_release(struct arch_kernel *k)
{
	image_free(&k->img);
}

int arch_kernel_release_name(const struct arch_kernel *k, char *out, size_t size, const char **why)
{
	(void)k;
	(void)out;
	(void)size;
	*why = "ember exec is not built for arm64 yet";
	return -ENOTSUP;
}

int arch_kernel_fits(const struct arch_kernel *k, size_t initrd_size, uint64_t memory,
		     const char **why)
{
	struct image_layout l;

	return image_layout(&k->img, LAYOUT_RAM_BASE, memory, initrd_size, FDT_MAX_SIZE, &l, why);
}

/* The platform as the device tree describes it (vmm/layout_arm64.h). */
static void describe(uint64_t ram_size, unsigned int cpus, struct fdt_platform *p)
{
	*p = (struct fdt_platform){
		.ram_base = LAYOUT_RAM_BASE, .ram_size = ram_size, .nr_cpus = cpus,
		.gicd_base = LAYOUT_GICD, .gicd_size = LAYOUT_GICD_SIZE,
		.gicr_base = LAYOUT_GICR, .gicr_size = LAYOUT_GICR_PER_CPU * cpus,
		.its_base = LAYOUT_GITS, .its_size = LAYOUT_GITS_SIZE,
		.uart_base = LAYOUT_UART, .uart_size = LAYOUT_UART_SIZE, .uart_spi = IRQ_UART,
		.uart_clock_hz = UART_CLOCK_HZ,
		.ecam_base = LAYOUT_PCI_ECAM, .ecam_size = LAYOUT_PCI_ECAM_SIZE,
		.pci_mmio_base = LAYOUT_PCI_MMIO, .pci_mmio_size = LAYOUT_PCI_MMIO_SIZE,
		.pci_io_base = LAYOUT_PCI_IO_WINDOW, .pci_io_size = LAYOUT_PCI_IO_WINDOW_SIZE,
		.pci_slots = PCI_SLOTS, .pci_intx_spi = LAYOUT_PCI_INTX_SPI,
	};
}

/* Build the tree and write it at `gpa`. */
static int write_tree(struct vm *vm, const struct fdt_platform *p, uint64_t gpa, const char **why)
{
	void *buf = malloc(FDT_MAX_SIZE);
	int n = buf ? fdt_build(p, buf, FDT_MAX_SIZE) : -ENOMEM;
	int err = n < 0 ? n : gm_write(&vm->mem, gpa, buf, (size_t)n);

	if (n < 0)
		*why = "cannot build the device tree";
	else if (err)
		*why = "the device tree does not fit in guest RAM";
	free(buf);
	return err;
}

static int start_at(struct vm *vm, uint64_t pc, uint64_t dtb, const char **why)
{
	int fd = vm->vcpu[0].fd;

	if (set_reg(fd, CORE_REG(regs.pc), pc) || set_reg(fd, CORE_REG(regs.regs[0]), dtb) ||
	    set_reg(fd, CORE_REG(regs.regs[1]), 0) || set_reg(fd, CORE_REG(regs.regs[2]), 0) ||
	    set_reg(fd, CORE_REG(regs.regs[3]), 0)) {
		*why = "cannot set the boot vCPU's registers";
		return -errno;
	}
	return 0;
}

int arch_boot_linux(struct vm *vm, const struct arch_kernel *k, const void *initrd,
		    size_t initrd_size, const char *cmdline, const char **why)
{
	struct image_files f = { .img = &k->img, .initrd = initrd, .initrd_size = initrd_size,
				 .dtb_size = FDT_MAX_SIZE };
	struct fdt_platform p;
	struct image_layout l;
	int err = image_load(&vm->mem, LAYOUT_RAM_BASE, vm->mem.ram_size, &f, &l, why);

	if (err)
		return err;
	describe(vm->mem.ram_size, vm->nr_vcpus, &p);
	p.cmdline = cmdline;
	p.initrd_start = l.initrd;
	p.initrd_end = l.initrd_end;
	err = write_tree(vm, &p, l.dtb, why);
	return err ? err : start_at(vm, l.kernel, l.dtb, why);
}

/*
 * A raw image copied to the start of RAM, where vCPU 0 starts, with the
 * device tree (no command line) in RAM's last 2 MiB slot and its address in x0.
 */
int arch_load_firmware(struct vm *vm, const void *img, size_t size, bool fresh)
{
	if (size == 0 || size > LAYOUT_FIRMWARE_MAX)
		return -EFBIG;
	if (vm->mem.ram_size < size + 2 * LAYOUT_DTB_MAX)
		return -ENOMEM;
	return fresh ? gm_write(&vm->mem, LAYOUT_RAM_BASE, img, size) : 0;
}

int arch_start_firmware(struct vm *vm, const char **why)
{
	struct fdt_platform p;
	uint64_t dtb = (LAYOUT_RAM_BASE + vm->mem.ram_size - LAYOUT_DTB_MAX) & ~(LAYOUT_DTB_MAX - 1);
	int err;

	describe(vm->mem.ram_size, vm->nr_vcpus, &p);
	err = write_tree(vm, &p, dtb, why);
	return err ? err : start_at(vm, LAYOUT_RAM_BASE, dtb, why);
}

int arch_dump_dtb(const struct cli_config *cfg, const struct arch_kernel *k, size_t initrd_size,
		  const char *path)
{
	struct fdt_platform p;
	struct image_layout l;
	const char *why = "";
	void *buf = malloc(FDT_MAX_SIZE);
	int n = buf ? 0 : -ENOMEM, fd = -1;

	if (!n)
		n = image_layout(&k->img, LAYOUT_RAM_BASE, cfg->memory, initrd_size, FDT_MAX_SIZE, &l,
				 &why);
	if (!n) {
		describe(cfg->memory, cfg->cpus, &p);
		p.cmdline = cfg->cmdline ? cfg->cmdline : CLI_DEFAULT_CMDLINE;
		p.initrd_start = l.initrd;
		p.initrd_end = l.initrd_end;
		n = fdt_build(&p, buf, FDT_MAX_SIZE);
		why = "cannot build the device tree";
	}
	if (n >= 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		why = "cannot write it";
		if (fd < 0 || write(fd, buf, (size_t)n) != n)
			n = errno ? -errno : -EIO;
		if (fd >= 0 && close(fd) < 0 && n >= 0)
			n = -errno;
	}
	free(buf);
	if (n < 0) {
		log_err("--dump-dtb %s: %s: %s", path, why, strerror(-n));
		return n;
	}
	log_info("wrote the device tree to %s (dtc -I dtb -O dts %s shows it)", path, path);
	return 0;
}
