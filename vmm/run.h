#pragma once
/* `ember run`: build the VM the configuration describes, run it, tear it down. */
#include "virtio/vconsole.h"
#include "vmm/cli.h"

struct vm;

/*
 * What `ember exec` (vmm/exec.c) adds to a run: an initramfs built in
 * memory, its own command line, the virtio-console ports of the command's
 * streams, virtio-fs devices, a time limit.
 */
struct run_plan {
	const void *initrd; /* instead of --initrd; the caller's (not copied) */
	size_t initrd_size;
	const char *cmdline; /* instead of --cmdline */
	const struct vconsole_port_cfg *ports; /* a virtio-console device when set */
	unsigned int nr_ports;
	const struct cli_fs *fs; /* virtio-fs devices on vhost-user sockets */
	unsigned int nr_fs;
	unsigned int timeout; /* seconds before EXIT_TIMEOUT; 0: none */
	/* Called once the VM and its devices exist (vhost-user backends connected),
	 * before any thread has a seccomp filter. */
	void (*created)(void *ctx, struct vm *vm);
	void *ctx;
};

/* Returns Ember's exit status (see vmm/exit.h). */
int run_vm(const struct cli_config *cfg);

/* run_vm() with what exec adds. */
int run_vm_plan(const struct cli_config *cfg, const struct run_plan *plan);

/* `ember exec` (vmm/exec.c): the command's status, or one of exec's own (vmm/exit.h). */
int run_exec(const struct cli_config *cfg);
