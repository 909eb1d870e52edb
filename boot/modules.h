#pragma once
/*
 * Kernel module resolution for `ember exec`: which module files, in which
 * order, the guest init must load so that a list of wanted modules works,
 * read from a modules directory (/lib/modules/RELEASE or --modules DIR).
 *
 * A wanted name ('-' and '_' alike) listed in DIR/modules.builtin needs no
 * file. Otherwise its file is NAME.ko, NAME.ko.xz or NAME.ko.zst anywhere
 * under DIR (symbolic links not followed; of two files of one name the
 * smaller relative path wins). The dependencies of a .ko come from its ELF
 * .modinfo section (depends=); those of a compressed module, which cannot be
 * read without decompressing, from its line in DIR/modules.dep, and without
 * one it is refused with a message saying to run depmod.
 */
#include <stddef.h>

#define MODULES_MAX 64	     /* files in one resolution */
#define MODULES_MAX_DEPTH 16 /* modules in one dependency chain */
#define MODULES_NAME_MAX 55  /* the kernel's MODULE_NAME_LEN - 1 */
#define MODULES_FILE_MAX (64u << 20)

struct modules_list {
	size_t n;
	char *path[MODULES_MAX]; /* host paths, dependencies first, each once; malloc'd */
};

/*
 * Resolve `names` against `dir` into *out (which the caller releases with
 * modules_list_free(), also after a failure). 0, or -errno with `why`
 * (a buffer of `whylen` bytes) naming the module, file or chain:
 * -ENOENT (neither built in nor found under dir), -ELOOP (a dependency loop
 * or a chain deeper than MODULES_MAX_DEPTH), -ENOEXEC (a malformed module,
 * or one without .modinfo), -ENOTSUP (compressed, not in modules.dep),
 * -E2BIG (over MODULES_MAX), -EINVAL (an invalid name), -ENOMEM, or an
 * error reading dir.
 */
__attribute__((warn_unused_result)) int modules_resolve(const char *dir, const char *const *names,
							size_t nnames, struct modules_list *out,
							char *why, size_t whylen);
void modules_list_free(struct modules_list *l);

/*
 * The depends= value (comma-separated names, maybe empty) from the .modinfo
 * section of an untrusted module image of `size` bytes, which must be an
 * ELF64 little-endian x86-64 relocatable object. 0, -ENOEXEC (not such an
 * object, or a header, section table, name or section outside the file),
 * -ENOENT (no .modinfo section), -ERANGE (value longer than outlen - 1);
 * *why names the reason.
 */
__attribute__((warn_unused_result)) int modules_elf_depends(const void *data, size_t size,
							    char *out, size_t outlen,
							    const char **why);
