#include "boot/linux.h"

#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/e820.h"
#include "vmm/layout.h"

#define PAGE_MASK_4K (~0xfffULL)

static int fail(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

/*
 * Where the kernel ends and the initrd starts in RAM that ends at `low_end`
 * (the initrd as high as the header allows, page-aligned); -ENOMEM with
 * *why when they do not fit. The one place that decides what fits.
 */
static int fit_below(const struct bzimage *bz, size_t initrd_size, uint64_t low_end,
		     uint64_t *kernel_end, uint64_t *initrd_addr, const char **why)
{
	uint64_t top = low_end;

	if (__builtin_add_overflow(bz->load_addr, bz->init_size, kernel_end) || *kernel_end > low_end)
		return fail(why, "kernel needs more memory than --memory gives", -ENOMEM);
	*initrd_addr = 0;
	if (!initrd_size)
		return 0;
	if ((uint64_t)bz->hdr.initrd_addr_max + 1 < top)
		top = (uint64_t)bz->hdr.initrd_addr_max + 1;
	if (initrd_size > top)
		return fail(why, "initrd does not fit in guest RAM; raise --memory", -ENOMEM);
	*initrd_addr = (top - initrd_size) & PAGE_MASK_4K;
	if (*initrd_addr < *kernel_end)
		return fail(why, "kernel and initrd do not fit in guest RAM together; raise --memory",
			    -ENOMEM);
	return 0;
}

int linux_check_fit(const struct bzimage *bz, size_t initrd_size, uint64_t memory,
		    const char **why)
{
	uint64_t kernel_end, initrd_addr;

	/* gm_init() puts RAM below the MMIO hole first, the rest above 4 GiB. */
	return fit_below(bz, initrd_size, memory < LAYOUT_MMIO_HOLE ? memory : LAYOUT_MMIO_HOLE,
			 &kernel_end, &initrd_addr, why);
}

static int place_initrd(const struct gm *m, const struct linux_images *img, uint64_t addr,
			struct boot_params *bp, const char **why)
{
	if (!img->initrd || !img->initrd_size)
		return 0;
	if (gm_write(m, addr, img->initrd, img->initrd_size))
		return fail(why, "initrd outside guest RAM", -EFAULT);
	bp->hdr.ramdisk_image = (uint32_t)addr;
	bp->hdr.ramdisk_size = (uint32_t)img->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)((uint64_t)img->initrd_size >> 32);
	return 0;
}

static int place_cmdline(const struct gm *m, const struct linux_images *img,
			 struct boot_params *bp, const char **why)
{
	size_t len = strlen(img->cmdline);

	/* cmdline_size excludes the terminating NUL (boot.rst); our area must hold the NUL too. */
	if (len > img->bz->hdr.cmdline_size || len >= LAYOUT_CMDLINE_MAX)
		return fail(why, "command line longer than the kernel accepts", -E2BIG);
	if (gm_write(m, LAYOUT_CMDLINE, img->cmdline, len + 1))
		return fail(why, "guest RAM too small for the command line", -ENOMEM);
	bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp->ext_cmd_line_ptr = 0;
	return 0;
}

/*
 * Linux may reboot by jumping to the BIOS reset vector (its choice on a
 * hardware-reduced ACPI platform without EFI). There is no BIOS: the
 * 16 bytes there write the ACPI reset register, which ends the VM.
 */
static int write_reset_stub(const struct gm *m)
{
	static const uint8_t stub[16] = {
		0xb0, ACPI_RESET_VALUE,				/* mov al, 1 */
		0xba, (PORT_ACPI_SLEEP + 2) & 0xff, (PORT_ACPI_SLEEP + 2) >> 8, /* mov dx, port */
		0xee,						/* out dx, al */
		0xfa, 0xf4,					/* cli; hlt */
		0xeb, 0xfc,					/* jmp to cli */
	};

	return gm_write(m, LAYOUT_RESET_VECTOR, stub, sizeof(stub));
}

int linux_load(const struct gm *m, const struct linux_images *img, struct linux_boot *out,
	       const char **why)
{
	const struct bzimage *bz = img->bz;
	struct boot_params bp;
	uint64_t kernel_end, initrd_addr;
	int n, err;

	err = fit_below(bz, img->initrd ? img->initrd_size : 0, gm_low_end(m), &kernel_end,
			&initrd_addr, why);
	if (err)
		return err;
	if (gm_write(m, bz->load_addr, bz->kernel, bz->kernel_size))
		return fail(why, "kernel outside guest RAM", -EFAULT);

	memset(&bp, 0, sizeof(bp));
	/* Copy the setup header as the file has it, then fill in the loader's fields. */
	memcpy((uint8_t *)&bp + BZ_HDR_OFFSET, bz->setup + BZ_HDR_OFFSET, bz->hdr_end - BZ_HDR_OFFSET);
	bp.hdr.type_of_loader = 0xff; /* undefined loader */
	bp.hdr.code32_start = (uint32_t)bz->load_addr;
	bp.hdr.vid_mode = 0xffff; /* "normal" */
	bp.acpi_rsdp_addr = img->rsdp;

	err = place_cmdline(m, img, &bp, why);
	if (!err)
		err = place_initrd(m, img, initrd_addr, &bp, why);
	if (err)
		return err;
	n = e820_build(m, bp.e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0)
		return fail(why, "cannot describe guest RAM in e820", n);
	bp.e820_entries = (uint8_t)n;
	if (gm_write(m, LAYOUT_ZERO_PAGE, &bp, sizeof(bp)) || write_reset_stub(m))
		return fail(why, "guest RAM too small for boot_params", -ENOMEM);
	out->entry = bz->load_addr + BZ_ENTRY64_OFFSET;
	out->boot_params = LAYOUT_ZERO_PAGE;
	return 0;
}
