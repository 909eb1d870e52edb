#include "boot/initramfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/file.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int add_skeleton(struct cpio *c)
{
	static const struct {
		const char *name;
		unsigned int mode;
	} dirs[] = { { "dev", 0755 },	  { "proc", 0555 },	   { "sys", 0555 },
		     { "newroot", 0755 }, { "lib", 0755 },	   { "lib/modules", 0755 },
		     { "ember", 0755 } };
	int err = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !err; i++)
		err = cpio_add_dir(c, dirs[i].name, dirs[i].mode);
	/* The kernel opens /dev/console for init's first fds, before devtmpfs is mounted. */
	return err ? err : cpio_add_chardev(c, "dev/console", 0600, 5, 1);
}

static int add_module(struct cpio *c, const char *path, char *why, size_t whylen)
{
	struct file_map f;
	char name[300];
	int err;

	if (snprintf(name, sizeof(name), "lib/modules/%s", base_name(path)) >= (int)sizeof(name))
		err = -ENAMETOOLONG;
	else
		err = file_map(path, "kernel module", INITRAMFS_MODULE_MAX, &f);
	if (err) {
		snprintf(why, whylen, "cannot read kernel module %s: %s", path, strerror(-err));
		return err;
	}
	err = cpio_add_file(c, name, 0644, f.data, f.size);
	file_unmap(&f);
	if (err)
		snprintf(why, whylen, "cannot add kernel module %s: %s", path, strerror(-err));
	return err;
}

/* The description with one module= per file; the strings live in *names. */
static int spec_with_modules(const struct initramfs_input *in, struct exec_spec *s, char **names,
			     char *why, size_t whylen)
{
	*s = *in->spec;
	if (s->nmodules || in->nmodules > EXEC_SPEC_MAX_MODULES) {
		snprintf(why, whylen, "%s", s->nmodules ? "the description already lists modules"
							: "too many kernel modules");
		return -EINVAL;
	}
	for (size_t i = 0; i < in->nmodules; i++) {
		for (size_t j = 0; j < i; j++)
			if (!strcmp(base_name(in->modules[i]), base_name(in->modules[j]))) {
				snprintf(why, whylen, "modules %s and %s have the same file name",
					 in->modules[j], in->modules[i]);
				return -EINVAL;
			}
		if (asprintf(&names[i], "%s%s", EXEC_SPEC_MODULE_DIR, base_name(in->modules[i])) < 0)
			return -ENOMEM;
		s->modules[s->nmodules++] = names[i];
	}
	return 0;
}

static int add_spec(const struct initramfs_input *in, struct cpio *c, char *why, size_t whylen)
{
	char *names[EXEC_SPEC_MAX_MODULES] = { 0 }, *buf = NULL;
	struct exec_spec *s = malloc(sizeof(*s));
	const char *reason;
	size_t len;
	int err = s ? spec_with_modules(in, s, names, why, whylen) : -ENOMEM;

	if (!err) {
		err = exec_spec_write(s, &buf, &len, &reason);
		if (err == -EINVAL || err == -E2BIG)
			snprintf(why, whylen, "invalid exec description: %s", reason);
	}
	if (!err)
		err = cpio_add_file(c, "ember/exec", 0644, buf, len);
	free(buf);
	for (size_t i = 0; i < EXEC_SPEC_MAX_MODULES; i++)
		free(names[i]);
	free(s);
	return err;
}

int initramfs_build(const struct initramfs_input *in, struct cpio *out, char *why, size_t whylen)
{
	int err;

	cpio_init(out);
	snprintf(why, whylen, "initramfs too large or out of memory");
	err = add_skeleton(out);
	if (!err)
		err = add_spec(in, out, why, whylen);
	for (size_t i = 0; i < in->nmodules && !err; i++)
		err = add_module(out, in->modules[i], why, whylen);
	if (!err)
		err = cpio_add_file(out, "init", 0755, in->init, in->init_size);
	if (!err)
		err = cpio_finish(out);
	return err;
}
