/*
 * kvmcheck: what an arm64 VMM needs from /dev/kvm, checked step by step in
 * the arm64 test host (tests/arm64/kvmcheck.sh builds it static and runs it
 * there). It opens /dev/kvm, checks the API version, creates a VM, asks for
 * the preferred vCPU target, makes a vCPU with PSCI 0.2, a GICv3 and an ITS
 * through KVM_CREATE_DEVICE, prints the capabilities Ember relies on, then
 * runs a 40-byte guest: 1000 byte stores to an address with no RAM (MMIO
 * exits, timed) and PSCI SYSTEM_OFF (a KVM_EXIT_SYSTEM_EVENT).
 * One "name: value" line per step; the last line is KVMCHECK-OK or
 * KVMCHECK-FAILED, and the exit status 0 or 1 says the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The guest's layout: QEMU virt's addresses, which Ember's arm64 map follows. */
#define RAM_BASE    0x40000000ULL
#define RAM_SIZE    0x10000ULL
#define GICD_BASE   0x08000000ULL
#define ITS_BASE    0x08080000ULL
#define GICR_BASE   0x080a0000ULL
#define MMIO_ADDR   0x09000000ULL /* no RAM there: each store is an MMIO exit */
#define MMIO_STORES 1000
#define NR_IRQS	    128 /* SGIs, PPIs and 96 SPIs */

/*
 * The guest, assembled with aarch64-linux-gnu-as:
 *	movz x1, #0x0900, lsl #16	// x1 = MMIO_ADDR
 *	mov  w2, #'K'
 *	mov  x3, #1000			// MMIO_STORES
 * 1:	strb w2, [x1]
 *	subs x3, x3, #1
 *	b.ne 1b
 *	movz x0, #0x8400, lsl #16
 *	movk x0, #0x0008		// x0 = PSCI SYSTEM_OFF (0x84000008)
 *	hvc  #0
 * 2:	b 2b
 */
static const uint32_t guest_code[] = {
	0xd2a12001, 0x52800962, 0xd2807d03, 0x39000022, 0xf1000463,
	0x54ffffc1, 0xd2b08000, 0xf2800100, 0xd4000002, 0x14000000,
};

static int failures;

/* Prints "what: ok" or "what: FAILED (errno text)" for an ioctl's result. */
static int report(const char *what, int ret)
{
	if (ret < 0) {
		printf("%s: FAILED (%s)\n", what, strerror(errno));
		failures++;
	} else {
		printf("%s: ok\n", what);
	}
	return ret;
}

static int set_attr(int dev, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)val,
	};
	return ioctl(dev, KVM_SET_DEVICE_ATTR, &a);
}

/* A GICv3 (distributor and one redistributor region) and its ITS. */
static void make_gic(int vm)
{
	struct kvm_create_device gic = {.type = KVM_DEV_TYPE_ARM_VGIC_V3};
	struct kvm_create_device its = {.type = KVM_DEV_TYPE_ARM_VGIC_ITS};
	uint64_t dist = GICD_BASE, redist = GICR_BASE, its_base = ITS_BASE;
	uint32_t nr_irqs = NR_IRQS;

	if (report("KVM_CREATE_DEVICE(VGIC_V3)", ioctl(vm, KVM_CREATE_DEVICE, &gic)) < 0)
		return;
	report("GICv3 distributor address",
	       set_attr(gic.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist));
	report("GICv3 redistributor address",
	       set_attr(gic.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist));
	report("GICv3 number of IRQs", set_attr(gic.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs));
	report("GICv3 init",
	       set_attr(gic.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL));

	if (report("KVM_CREATE_DEVICE(VGIC_ITS)", ioctl(vm, KVM_CREATE_DEVICE, &its)) < 0)
		return;
	report("ITS address",
	       set_attr(its.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &its_base));
	report("ITS init",
	       set_attr(its.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL));
}

/* KVM_CHECK_EXTENSION on the VM: some answers (MSI_DEVID) depend on it. */
static void print_caps(int vm)
{
	static const struct {
		const char *name;
		long cap;
	} caps[] = {
		{"KVM_CAP_IRQFD", KVM_CAP_IRQFD},
		{"KVM_CAP_IRQ_ROUTING", KVM_CAP_IRQ_ROUTING},
		{"KVM_CAP_MSI_DEVID", KVM_CAP_MSI_DEVID},
		{"KVM_CAP_ARM_PSCI_0_2", KVM_CAP_ARM_PSCI_0_2},
		{"KVM_CAP_ONE_REG", KVM_CAP_ONE_REG},
		{"KVM_CAP_SIGNAL_MSI", KVM_CAP_SIGNAL_MSI},
		{"KVM_CAP_ARM_VM_IPA_SIZE", KVM_CAP_ARM_VM_IPA_SIZE},
		{"KVM_CAP_IOEVENTFD", KVM_CAP_IOEVENTFD},
		{"KVM_CAP_NR_VCPUS", KVM_CAP_NR_VCPUS},
		{"KVM_CAP_MAX_VCPUS", KVM_CAP_MAX_VCPUS},
	};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		printf("%s: %d\n", caps[i].name, ioctl(vm, KVM_CHECK_EXTENSION, caps[i].cap));
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Runs the guest until PSCI SYSTEM_OFF; checks every MMIO exit on the way. */
static void run_guest(int kvm, int vm, int vcpu)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = RAM_BASE,
		.memory_size = RAM_SIZE,
	};
	uint64_t pc = RAM_BASE;
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      KVM_REG_ARM_CORE_REG(regs.pc),
		.addr = (uint64_t)(uintptr_t)&pc,
	};
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run;
	void *ram;
	int mmio = 0, bad = 0;
	double t0, t1;

	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	run = mmap(NULL, size > 0 ? size : 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (ram == MAP_FAILED || run == MAP_FAILED || size <= 0) {
		printf("guest memory and kvm_run mapping: FAILED (%s)\n", strerror(errno));
		failures++;
		return;
	}
	memcpy(ram, guest_code, sizeof(guest_code));
	region.userspace_addr = (uint64_t)(uintptr_t)ram;
	if (report("KVM_SET_USER_MEMORY_REGION", ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region)) <
		    0 ||
	    report("KVM_SET_ONE_REG(pc)", ioctl(vcpu, KVM_SET_ONE_REG, &reg)) < 0)
		return;

	t0 = now_us();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			report("KVM_RUN", -1);
			return;
		}
		if (run->exit_reason != KVM_EXIT_MMIO)
			break;
		if (!run->mmio.is_write || run->mmio.phys_addr != MMIO_ADDR || run->mmio.len != 1 ||
		    run->mmio.data[0] != 'K')
			bad++;
		mmio++;
	}
	t1 = now_us();
	printf("guest MMIO exits: %d (expected %d, %d unexpected)\n", mmio, MMIO_STORES, bad);
	if (mmio > 0)
		printf("guest MMIO exit round trip: %.1f us\n", (t1 - t0) / mmio);
	if (mmio != MMIO_STORES || bad)
		failures++;
	if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT &&
	    run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
		printf("guest PSCI SYSTEM_OFF: ok (KVM_EXIT_SYSTEM_EVENT)\n");
	} else {
		printf("guest PSCI SYSTEM_OFF: FAILED (exit reason %u)\n", run->exit_reason);
		failures++;
	}
}

int main(void)
{
	struct kvm_vcpu_init init;
	int kvm, vm, vcpu, ver;

	setvbuf(stdout, NULL, _IOLBF, 0);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (report("open /dev/kvm", kvm) < 0)
		goto out;
	ver = ioctl(kvm, KVM_GET_API_VERSION, 0);
	printf("KVM_GET_API_VERSION: %d\n", ver);
	if (ver != KVM_API_VERSION)
		failures++;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (report("KVM_CREATE_VM", vm) < 0)
		goto out;
	if (report("KVM_ARM_PREFERRED_TARGET", ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init)) < 0)
		goto out;
	printf("preferred target: %u\n", init.target);
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (report("KVM_CREATE_VCPU", vcpu) < 0)
		goto out;
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (report("KVM_ARM_VCPU_INIT(PSCI_0_2)", ioctl(vcpu, KVM_ARM_VCPU_INIT, &init)) < 0)
		goto out;
	make_gic(vm);
	print_caps(vm);
	run_guest(kvm, vm, vcpu);
out:
	printf("%s\n", failures ? "KVMCHECK-FAILED" : "KVMCHECK-OK");
	return failures ? 1 : 0;
}
