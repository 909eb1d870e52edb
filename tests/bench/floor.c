/*
 * floor: the least a VMM can do to run a micro-guest, as the floor that
 * make bench sets Ember's and QEMU's start-up and memory beside.
 *
 *   floor IMAGE [MIB]
 *
 * Opens /dev/kvm, makes a VM with one memory slot (MIB of guest RAM at
 * address 0, default 256 as Ember's --memory, mapped lazily) and one vCPU,
 * copies the image's last 64 KiB (all of a micro-guest) to just below
 * 1 MiB, where Ember's --firmware puts its RAM copy of the image, and starts
 * the vCPU at the real-mode alias of the reset vector (CS base 0xf0000, IP
 * 0xfff0: the same 16 bytes the reset vector runs under Ember, whose
 * second copy at 4 GiB this program does not map). Port writes to COM1
 * go to stdout; a read of COM1's line status says "transmitter empty"; a
 * write to port 0x501 ends the program with that exit code; any other
 * exit ends it with status 2. No interrupt controller, no devices, no
 * CPUID set-up. Built static, so it runs in the nested test host as is.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define EXIT_PORT 0x501
#define LOW_COPY 0x10000u /* the image's last 64 KiB, below 1 MiB */
#define HIGH_RAM 0x100000u

static int die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 256;
	size_t ram = (size_t)mib << 20, low;
	struct kvm_userspace_memory_region slot;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, fd;
	struct stat st;
	uint8_t *mem, *img;
	long run_size;

	if (argc < 2 || mib < 1) {
		fprintf(stderr, "usage: floor IMAGE [MIB]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < 16)
		return die(argv[1]);
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED)
		return die("mmap image");
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return die("KVM_CREATE_VM");
	/* Intel without unrestricted guest needs it for real mode; harmless elsewhere. */
	ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	mem = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED)
		return die("mmap guest RAM");
	slot = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
						     .memory_size = ram,
						     .userspace_addr = (uintptr_t)mem };
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return die("KVM_SET_USER_MEMORY_REGION");
	low = (size_t)st.st_size < LOW_COPY ? (size_t)st.st_size : LOW_COPY;
	memcpy(mem + HIGH_RAM - low, img + st.st_size - low, low);
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return die("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		return die("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return die("mmap kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return die("KVM_GET_SREGS");
	sregs.cs.selector = 0xf000;
	sregs.cs.base = 0xf0000;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0xfff0;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return die("KVM_SET_REGS");
	for (;;) {
		uint8_t *data;

		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return die("KVM_RUN");
		}
		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "floor: exit reason %u\n", run->exit_reason);
			return 2;
		}
		data = (uint8_t *)run + run->io.data_offset;
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == COM1) {
			if (write(STDOUT_FILENO, data, (size_t)run->io.size * run->io.count) < 0)
				return die("write");
		} else if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == EXIT_PORT) {
			return data[0];
		} else if (run->io.direction == KVM_EXIT_IO_IN) {
			memset(data, run->io.port == COM1_LSR ? 0x60 : 0xff,
			       (size_t)run->io.size * run->io.count);
		}
	}
}
