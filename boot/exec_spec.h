#pragma once
/*
 * The exec description: what `ember exec` asks the guest init to do. Ember
 * writes it into the initramfs as /ember/exec; init (boot/init/init.c) reads
 * it. Shared by both sides, so it uses only the C library.
 *
 * Format: a sequence of records, each `key=value` followed by one NUL byte.
 * Values may hold any byte but NUL (spaces, newlines, '=' included); the key
 * is everything before the first '='. The file ends with a record's NUL.
 *
 *   ember-exec=1        first record, exactly this (format version 1)
 *   root=TAG            virtio-fs tag of the read-only root (exactly one)
 *   share=TAG           a further virtio-fs share, immediately followed by
 *   dir=/GUESTDIR         where it is mounted (absolute, below the root) and
 *   mode=ro|rw            whether read-only
 *   module=/lib/modules/FILE  a kernel module to load, in load order
 *   cwd=/DIR            working directory of the command (at most one; "/")
 *   env=NAME=VALUE      one environment entry, in order
 *   arg=ARG             argv, in order; at least one, argv[0] not empty
 *   end=                last record, empty value: a description cut short
 *                       at a record boundary still lacks it
 *
 * Record kinds other than share/dir/mode may come in any order. An unknown
 * key, a missing end= or anything after it, a missing or repeated root, a share without its dir and mode, a
 * count or size beyond the limits below: the whole description is refused.
 */
#include <stdbool.h>
#include <stddef.h>

#define EXEC_SPEC_MAGIC "ember-exec=1"
#define EXEC_SPEC_MAX_BYTES (1u << 20) /* whole description */
#define EXEC_SPEC_MAX_ARGS 4096
#define EXEC_SPEC_MAX_ENV 1024
#define EXEC_SPEC_MAX_SHARES 32
#define EXEC_SPEC_MAX_MODULES 64
#define EXEC_SPEC_MAX_TAG 36	/* virtio-fs tag field */
#define EXEC_SPEC_MAX_PATH 4095 /* dir=, cwd=, module= values */
#define EXEC_SPEC_MODULE_DIR "/lib/modules/"

struct exec_share {
	const char *tag;
	const char *dir; /* absolute path in the guest, no "." or ".." component */
	bool readonly;
};

/*
 * A parsed or to-be-written description. Strings are not owned: after
 * exec_spec_parse() they point into the parsed buffer. argv and env hold a
 * NULL after their last entry, ready for execve().
 */
struct exec_spec {
	const char *root; /* virtio-fs tag */
	const char *cwd;  /* NULL: "/" */
	size_t nshares;
	struct exec_share shares[EXEC_SPEC_MAX_SHARES];
	size_t nmodules;
	const char *modules[EXEC_SPEC_MAX_MODULES]; /* EXEC_SPEC_MODULE_DIR + file name */
	size_t nenv;
	const char *env[EXEC_SPEC_MAX_ENV + 1]; /* "NAME=VALUE" */
	size_t nargs;
	const char *argv[EXEC_SPEC_MAX_ARGS + 1];
};

/*
 * Check a description against the rules the parser enforces (tags 1 to 36
 * bytes without control characters or '/', absolute clean paths, modules
 * directly under /lib/modules/, env entries NAME=VALUE, argv[0] not empty,
 * counts within the limits). 0 or -EINVAL with *why naming the reason.
 */
__attribute__((warn_unused_result)) int exec_spec_check(const struct exec_spec *s,
							const char **why);

/*
 * Serialize `s` (checked first) into a malloc'd buffer the caller frees.
 * 0, -EINVAL with *why set, -E2BIG beyond EXEC_SPEC_MAX_BYTES, -ENOMEM.
 */
__attribute__((warn_unused_result)) int exec_spec_write(const struct exec_spec *s, char **out,
							size_t *len, const char **why);

/*
 * Parse `len` bytes (untrusted) into *s, whose strings then point into
 * `buf`: keep `buf` alive and unchanged while *s is used. 0, or -EINVAL
 * with *why naming the reason (truncation, unknown key, limits, ...).
 */
__attribute__((warn_unused_result)) int exec_spec_parse(const char *buf, size_t len,
							struct exec_spec *s, const char **why);
