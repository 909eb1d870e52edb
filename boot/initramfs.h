#pragma once
/*
 * The initramfs of `ember exec`: the guest init, the kernel modules it
 * loads and the description of the command, as a newc cpio archive:
 *   /init (0755)  /dev /dev/console /proc /sys /newroot
 *   /lib/modules/FILE (0644, one per module)  /ember/exec (0644)
 */
#include <stddef.h>

#include "boot/cpio.h"
#include "boot/exec_spec.h"

#define INITRAMFS_MODULE_MAX (64u << 20) /* bytes of one module file */

struct initramfs_input {
	const void *init; /* the guest init program (init_image()) */
	size_t init_size;
	const char *const *modules; /* host paths, load order (modules_resolve()) */
	size_t nmodules;
	const struct exec_spec *spec; /* with no modules: the builder adds one per file */
};

/*
 * Build the archive into `out` (initialized here; the caller releases it
 * with cpio_free(), also after a failure). Each module is read from the host
 * and stored under its file name, which must be unique; the description
 * written to /ember/exec lists them in the given order. 0, or -errno with
 * `why` (a buffer of `whylen` bytes) naming the file or reason: a module
 * that cannot be read, -EINVAL (an invalid description, modules already in
 * it, two modules of one file name), -EFBIG, -ENOMEM.
 */
__attribute__((warn_unused_result)) int initramfs_build(const struct initramfs_input *in,
							struct cpio *out, char *why,
							size_t whylen);
