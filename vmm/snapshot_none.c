/*
 * Snapshots on an architecture whose VM and vCPU state Ember does not save
 * yet (arm64: vmm/snapshot.c and vmm/kvmstate.c are x86-64's). Every VM is
 * described as one that cannot be saved, with the reason, so `ctl snapshot`
 * answers it and `--restore` refuses with it.
 */
#include "vmm/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/arch.h"
#include "vmm/log.h"

#define NO_SNAPSHOTS "snapshots are not supported on " ARCH_NAME " yet"

void snapshot_describe(struct snapshot_source *src, const struct cli_config *cfg,
		       struct disk *const *disks, bool has_fs_or_console)
{
	(void)cfg;
	(void)disks;
	(void)has_fs_or_console;
	memset(src, 0, sizeof(*src));
	snprintf(src->refuse, sizeof(src->refuse), "%s", NO_SNAPSHOTS);
}

int snapshot_save(struct vm *vm, const struct snapshot_source *src, const char *dir,
		  struct snapshot_result *res, char why[SNAPFILE_WHY_MAX])
{
	(void)vm;
	(void)src;
	(void)dir;
	memset(res, 0, sizeof(*res));
	snprintf(why, SNAPFILE_WHY_MAX, "%s", NO_SNAPSHOTS);
	return -ENOTSUP;
}

int snapshot_open(struct snapshot_image *img, const char *dir)
{
	memset(img, 0, sizeof(*img));
	img->mem_fd = -1;
	log_err("cannot restore '%s': %s", dir, NO_SNAPSHOTS);
	return -ENOTSUP;
}

void snapshot_close(struct snapshot_image *img)
{
	(void)img;
}

void snapshot_to_cli(const struct snapshot_image *img, struct cli_config *cfg)
{
	(void)img;
	(void)cfg;
}

int snapshot_check_disks(const struct snapshot_image *img, struct disk *const *disks)
{
	(void)img;
	(void)disks;
	return 0;
}

int snapshot_load(struct vm *vm, const struct snapshot_image *img)
{
	(void)vm;
	(void)img;
	return -ENOTSUP;
}
