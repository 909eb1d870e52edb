/*
 * floor (arm64): the least a VMM can do to run a micro-guest on arm64 KVM,
 * the floor that tests/arm64/bench.sh sets Ember's and QEMU's start-up
 * beside, as tests/bench/floor.c is on x86-64.
 *
 *   floor IMAGE [MIB]
 *
 * Opens /dev/kvm, makes a VM with one memory slot (MIB of RAM at
 * 0x4000_0000, default 128, mapped lazily), copies IMAGE (at most 16 MiB)
 * to the start of RAM, as Ember's --firmware does, and makes one vCPU
 * (KVM_ARM_VCPU_INIT with the preferred target and PSCI 0.2, for
 * SYSTEM_OFF), which starts there at EL1 with the MMU off. A store to the
 * PL011's data register (0x0900_0000, where Ember and QEMU's virt machine
 * have it) goes to stdout, loads from the UART read 0 (flag register: the
 * transmit FIFO has room); PSCI SYSTEM_OFF or SYSTEM_RESET ends the program
 * with status 0, a store of N to the test exit port (0x0901_0000, as
 * Ember's) with N; anything else with status 2. No interrupt controller,
 * no device tree, no other device. Built static, so it runs in the arm64
 * test host as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAM_BASE 0x40000000ULL
#define IMAGE_MAX (16u << 20)
#define UART 0x09000000ULL
#define UART_SIZE 0x1000ULL
#define EXIT_PORT 0x09010000ULL

static int die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 128;
	size_t ram = (size_t)mib << 20;
	struct kvm_userspace_memory_region slot;
	struct kvm_vcpu_init init;
	struct kvm_one_reg reg;
	uint64_t pc = RAM_BASE;
	struct kvm_run *run;
	int kvm, vm, vcpu, fd;
	struct stat st;
	uint8_t *mem;
	long run_size;

	if (argc < 2 || mib < 1) {
		fprintf(stderr, "usage: floor IMAGE [MIB]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return die(argv[1]);
	if (st.st_size < 4 || (uint64_t)st.st_size > IMAGE_MAX || (uint64_t)st.st_size > ram) {
		fprintf(stderr, "floor: %s: 4 bytes to 16 MiB, within RAM\n", argv[1]);
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return die("KVM_CREATE_VM");
	mem = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED)
		return die("mmap guest RAM");
	if (read(fd, mem, (size_t)st.st_size) != st.st_size)
		return die("read image");
	slot = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = RAM_BASE,
						     .memory_size = ram,
						     .userspace_addr = (uintptr_t)mem };
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return die("KVM_CREATE_VCPU");
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return die("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		return die("KVM_ARM_VCPU_INIT");
	/* The reset state is EL1h, interrupts masked, MMU off: only the PC to set. */
	reg = (struct kvm_one_reg){ .id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
					  KVM_REG_ARM_CORE_REG(regs.pc),
				    .addr = (uintptr_t)&pc };
	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0)
		return die("KVM_SET_ONE_REG(pc)");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		return die("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return die("mmap kvm_run");
	for (;;) {
		uint64_t a;

		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return die("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT &&
		    (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ||
		     run->system_event.type == KVM_SYSTEM_EVENT_RESET))
			return 0;
		if (run->exit_reason != KVM_EXIT_MMIO) {
			fprintf(stderr, "floor: exit reason %u\n", run->exit_reason);
			return 2;
		}
		a = run->mmio.phys_addr;
		if (run->mmio.is_write && a == UART) {
			if (write(STDOUT_FILENO, run->mmio.data, 1) < 0)
				return die("write");
		} else if (run->mmio.is_write && a == EXIT_PORT) {
			return run->mmio.data[0];
		} else if (!run->mmio.is_write) {
			memset(run->mmio.data, a - UART < UART_SIZE ? 0 : 0xff, run->mmio.len);
		}
	}
}
