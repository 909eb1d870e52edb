/*
 * Fuzz target: the two ways `ember run` loads a guest image, on a file
 * holding the input's bytes (a memfd, opened by path with file_map() as
 * run.c does).
 *
 * Kernel (--kernel): bzimage_parse(), then the boot tables and ACPI as
 * run.c builds them and linux_load() with an initrd and a command line into
 * heap-backed guest RAM of 2, 24 or 72 MiB. A load that succeeds must have
 * put the kernel at its load address above 1 MiB, left the ACPI tables
 * intact and placed the initrd after the kernel's init_size, below
 * initrd_addr_max and inside RAM, with boot_params saying so.
 *
 * Firmware (--firmware): vm_create() with the image (needs /dev/kvm; the
 * mode does nothing without it). A VM that is created must map the image's
 * bytes to end at 4 GiB and copy its last 128 KiB (or all of it) to end at
 * 1 MiB.
 *
 * Creating a VM takes tens of milliseconds where loading a kernel takes
 * well under one, so only a mode byte ending in 0xf selects the firmware.
 *
 * Input: u8 mode, then the file. Kernel: mode bits 1-2 pick the RAM (2, 24,
 * 72 MiB), bits 3-4 the initrd (none, 4 KiB, 1 MiB + 1, 20 MiB), bit 5 a
 * 4 KiB command line. Firmware (bits 0-3 all set): bits 4-5 pick the VM's
 * memory (2, 4, 16 + 4 KiB, 256 MiB); with bit 6 a u32 file size comes
 * first and the rest is zero-padded or cut to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/bzimage.h"
#include "boot/cpu.h"
#include "vmm/layout.h"
#include "boot/linux.h"
#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "tests/fuzz/ram.h"
#include "vmm/file.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define MAX_KERNEL (512ULL << 20) /* as run.c */
#define MIB	   (1ULL << 20)

static const uint64_t ram_sizes[] = { 2 * MIB, 24 * MIB, 72 * MIB };
static const size_t initrd_sizes[] = { 0, 4096, MIB + 1, 20 * MIB };
static const uint64_t vm_sizes[] = { 2 * MIB, 4 * MIB, 16 * MIB + 4096, 256 * MIB };

struct bz_fuzz {
	int fd;	       /* the memfd holding the file */
	char path[64]; /* its name in /proc/self/fd */
	struct ram ram[3];
	uint8_t *initrd;
	char cmdline[LAYOUT_CMDLINE_MAX];
	bool kvm;
};

static struct bz_fuzz *fz;

/* Make the file hold `data`, then cut or zero-extend it to `size` bytes. */
static void set_file(const uint8_t *data, size_t len, size_t size)
{
	if (ftruncate(fz->fd, 0) || (len && pwrite(fz->fd, data, len, 0) != (ssize_t)len) ||
	    ftruncate(fz->fd, (off_t)size))
		abort();
}

static bool guest_is(const struct gm *m, uint64_t gpa, const void *want, size_t len)
{
	const void *p = gm_ptr(m, gpa, len);

	return p && !memcmp(p, want, len);
}

static void check_loaded(const struct gm *m, const struct linux_images *li,
			 const struct linux_boot *lb, uint64_t rsdp)
{
	const struct bzimage *bz = li->bz;
	struct boot_params bp;
	uint64_t top = gm_low_end(m), rd;

	expect(bz->load_addr >= LAYOUT_HIGH_RAM && lb->entry == bz->load_addr + 0x200);
	expect(bz->load_addr + bz->init_size <= top);
	expect(guest_is(m, bz->load_addr, bz->kernel, bz->kernel_size));
	expect(guest_is(m, rsdp, "RSD PTR ", 8));
	expect(gm_read(m, lb->boot_params, &bp, sizeof(bp)) == 0);
	expect(bp.hdr.cmd_line_ptr == LAYOUT_CMDLINE);
	expect(guest_is(m, LAYOUT_CMDLINE, li->cmdline, strlen(li->cmdline) + 1));
	if (!li->initrd_size)
		return;
	rd = bp.hdr.ramdisk_image | (uint64_t)bp.ext_ramdisk_image << 32;
	expect(bp.hdr.ramdisk_size == li->initrd_size);
	expect(rd >= bz->load_addr + bz->init_size && rd + li->initrd_size <= top);
	expect(rd + li->initrd_size - 1 <= bz->hdr.initrd_addr_max);
}

static void load_kernel(uint8_t mode, const uint8_t *data, size_t size)
{
	struct ram *ram = &fz->ram[(mode >> 1) % 3];
	struct linux_images li = {
		.initrd = fz->initrd,
		.initrd_size = initrd_sizes[(mode >> 3) % 4],
		.cmdline = mode & 32 ? fz->cmdline : "console=ttyS0",
	};
	struct file_map fm;
	struct linux_boot lb;
	struct bzimage bz;
	const char *why;
	uint64_t rsdp;

	set_file(data, size, size);
	if (file_map(fz->path, "kernel", MAX_KERNEL, &fm))
		return;
	expect(fm.size == size);
	if (bzimage_parse(fm.data, fm.size, &bz, &why) == 0) {
		expect(bz.setup_size + bz.kernel_size == size && bz.hdr_end <= bz.setup_size);
		if (cpu_build_tables(&ram->m) || acpi_build(&ram->m, 1, &rsdp))
			abort(); /* every RAM size holds them */
		li.bz = &bz;
		li.rsdp = rsdp;
		if (linux_load(&ram->m, &li, &lb, &why) == 0)
			check_loaded(&ram->m, &li, &lb, rsdp);
	}
	file_unmap(&fm);
}

static void load_firmware(uint8_t mode, struct input *in)
{
	struct vm_config cfg = {
		.memory = vm_sizes[(mode >> 4) % 4], .cpus = 1, .serial_out_fd = -1
	};
	size_t size = mode & 64 ? input_u32(in) % (LAYOUT_FIRMWARE_MAX + 8192) + 1 : in->left;
	size_t low = size < LAYOUT_FIRMWARE_LOW_MAX ? size : LAYOUT_FIRMWARE_LOW_MAX;
	struct file_map fm;
	struct vm vm;

	if (!fz->kvm)
		return;
	set_file(in->p, in->left < size ? in->left : size, size);
	if (file_map(fz->path, "firmware", LAYOUT_FIRMWARE_MAX, &fm))
		return;
	cfg.firmware = fm.data;
	cfg.firmware_size = fm.size;
	if (vm_create(&vm, &cfg) == 0) {
		expect(vm.arch.firmware && vm.arch.firmware_size >= size && vm.arch.firmware_size % 4096 == 0);
		expect(!memcmp((uint8_t *)vm.arch.firmware + vm.arch.firmware_size - size, fm.data, size));
		expect(guest_is(&vm.mem, LAYOUT_HIGH_RAM - low, (uint8_t *)fm.data + size - low,
				low));
		vm_destroy(&vm);
	}
	file_unmap(&fm);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int kvm;

	(void)argc, (void)argv;
	log_set_level(LOG_ERR);
	fz = calloc(1, sizeof(*fz));
	if (!fz)
		abort();
	fz->fd = memfd_create("ember-fuzz-image", MFD_CLOEXEC);
	if (fz->fd < 0)
		abort();
	snprintf(fz->path, sizeof(fz->path), "/proc/self/fd/%d", fz->fd);
	for (unsigned int i = 0; i < 3; i++)
		if (ram_init(&fz->ram[i], ram_sizes[i], 0))
			abort();
	fz->initrd = calloc(1, initrd_sizes[3]);
	if (!fz->initrd)
		abort();
	memset(fz->cmdline, 'x', 4095); /* longer than most kernels take */
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	fz->kvm = kvm >= 0;
	if (kvm >= 0)
		close(kvm);
	else
		fprintf(stderr, "fuzz_bzimage: no /dev/kvm, the firmware loader is not fuzzed\n");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = input_init(data, size);
	uint8_t mode = input_u8(&in);

	if ((mode & 15) == 15)
		load_firmware(mode, &in);
	else
		load_kernel(mode, in.p, in.left);
	return 0;
}
