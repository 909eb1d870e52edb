/*
 * boot/cpio and boot/initramfs: archives read back by a small newc reader
 * (and by cpio(1) when installed), with exact names, modes, sizes and bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boot/cpio.h"
#include "boot/exec_spec.h"
#include "boot/init_image.h"
#include "boot/initramfs.h"
#include "tests/unit/suites.h"
#include "tests/unit/tmpdir.h"

#define MAX_ENTRIES 32

struct ent {
	char name[128];
	uint32_t ino, mode, nlink, rmajor, rminor;
	const uint8_t *data;
	size_t size;
};

static uint32_t hex8(const uint8_t *p)
{
	char s[9];

	memcpy(s, p, 8);
	s[8] = '\0';
	ck_assert_uint_eq(strspn(s, "0123456789ABCDEF"), 8);
	return (uint32_t)strtoul(s, NULL, 16);
}

/* Read every entry up to the trailer, which must end the archive exactly. Returns the count. */
static size_t read_archive(const uint8_t *buf, size_t len, struct ent *e)
{
	size_t off = 0, n = 0;

	ck_assert_uint_eq(len % 4, 0);
	for (;;) {
		uint32_t namesize;

		ck_assert_uint_le(off + 110, len);
		ck_assert_mem_eq(buf + off, "070701", 6);
		ck_assert_uint_lt(n, MAX_ENTRIES);
		e[n].ino = hex8(buf + off + 6);
		e[n].mode = hex8(buf + off + 14);
		ck_assert_uint_eq(hex8(buf + off + 22), 0); /* uid */
		ck_assert_uint_eq(hex8(buf + off + 30), 0); /* gid */
		e[n].nlink = hex8(buf + off + 38);
		e[n].size = hex8(buf + off + 54);
		e[n].rmajor = hex8(buf + off + 78);
		e[n].rminor = hex8(buf + off + 86);
		namesize = hex8(buf + off + 94);
		ck_assert_uint_eq(hex8(buf + off + 102), 0); /* check */
		ck_assert_uint_le(off + 110 + namesize, len);
		ck_assert_uint_lt(namesize, sizeof(e[n].name));
		ck_assert_uint_eq(buf[off + 110 + namesize - 1], 0);
		memcpy(e[n].name, buf + off + 110, namesize);
		off = (off + 110 + namesize + 3) & ~(size_t)3;
		e[n].data = buf + off;
		ck_assert_uint_le(off + e[n].size, len);
		for (size_t i = off + e[n].size; i < ((off + e[n].size + 3) & ~(size_t)3); i++)
			ck_assert_uint_eq(buf[i], 0); /* padding */
		off = (off + e[n].size + 3) & ~(size_t)3;
		if (!strcmp(e[n].name, "TRAILER!!!")) {
			ck_assert_uint_eq(off, len);
			return n + 1;
		}
		n++;
	}
}

/* Names as cpio(1) lists them, one a line, or NULL if cpio is not installed. */
static char *cpio_tool_list(const struct cpio *c)
{
	char dir[64], cmd[256], *out = calloc(1, 4096);
	FILE *p;
	size_t got;

	if (access("/usr/bin/cpio", X_OK) != 0) {
		free(out);
		return NULL;
	}
	tmpdir_create(dir, sizeof(dir), "cpio");
	tmpdir_write(dir, "a.cpio", c->buf, c->len);
	snprintf(cmd, sizeof(cmd), "/usr/bin/cpio -it --quiet < %s/a.cpio", dir);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	got = fread(out, 1, 4095, p);
	out[got] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	tmpdir_remove(dir);
	return out;
}

START_TEST(test_entries_read_back)
{
	static const char body[] = "0123456789";
	struct ent e[MAX_ENTRIES];
	struct cpio c;
	char *listed;

	cpio_init(&c);
	ck_assert_int_eq(cpio_add_dir(&c, "d", 0755), 0);
	for (size_t size = 0; size <= 5; size++) {
		char name[16];

		snprintf(name, sizeof(name), "d/f%.*s", (int)size, "xxxxx"); /* name lengths vary too */
		ck_assert_int_eq(cpio_add_file(&c, name, 0640 + size, body, size), 0);
	}
	ck_assert_int_eq(cpio_add_chardev(&c, "d/console", 0600, 5, 1), 0);
	ck_assert_int_eq(cpio_finish(&c), 0);
	ck_assert_uint_eq(read_archive(c.buf, c.len, e), 9);
	ck_assert_str_eq(e[0].name, "d");
	ck_assert_uint_eq(e[0].mode, S_IFDIR | 0755);
	ck_assert_uint_eq(e[0].nlink, 2);
	for (size_t i = 1; i <= 6; i++) {
		ck_assert_uint_eq(e[i].mode, S_IFREG | (0640 + (i - 1)));
		ck_assert_uint_eq(e[i].size, i - 1);
		ck_assert_mem_eq(e[i].data, body, i - 1);
		ck_assert_uint_eq(strlen(e[i].name), 3 + (i - 1));
		ck_assert_uint_ne(e[i].ino, e[i - 1].ino);
	}
	ck_assert_str_eq(e[7].name, "d/console");
	ck_assert_uint_eq(e[7].mode, S_IFCHR | 0600);
	ck_assert_uint_eq(e[7].rmajor, 5);
	ck_assert_uint_eq(e[7].rminor, 1);
	listed = cpio_tool_list(&c);
	if (listed) {
		ck_assert_str_eq(listed, "d\nd/f\nd/fx\nd/fxx\nd/fxxx\nd/fxxxx\nd/fxxxxx\nd/console\n");
		free(listed);
	}
	cpio_free(&c);
}
END_TEST

static const char *const bad_names[] = { "", "/abs", "a//b", "a/", "./a", "a/./b", "a/..", "..",
					 "." };

START_TEST(test_bad_names_refused)
{
	struct cpio c;

	cpio_init(&c);
	ck_assert_int_eq(cpio_add_dir(&c, bad_names[_i], 0755), -EINVAL);
	ck_assert_int_eq(cpio_add_file(&c, bad_names[_i], 0644, "x", 1), -EINVAL);
	ck_assert_uint_eq(c.len, 0);
	cpio_free(&c);
}
END_TEST

START_TEST(test_limits)
{
	char *longname = malloc(CPIO_MAX_NAME + 2);
	struct cpio c;

	cpio_init(&c);
	memset(longname, 'n', CPIO_MAX_NAME + 1);
	longname[CPIO_MAX_NAME + 1] = '\0';
	ck_assert_int_eq(cpio_add_dir(&c, longname, 0755), -EINVAL);
	longname[CPIO_MAX_NAME] = '\0';
	ck_assert_int_eq(cpio_add_dir(&c, longname, 0755), 0);
	ck_assert_int_eq(cpio_add_dir(&c, "m", 010000), -EINVAL);
	ck_assert_int_eq(cpio_add_chardev(&c, "m", 010644, 1, 3), -EINVAL);
	/* Sizes are refused before the body is read: a 1-byte buffer will do. */
	ck_assert_int_eq(cpio_add_file(&c, "big", 0644, "x", (size_t)UINT32_MAX + 1), -EFBIG);
	ck_assert_int_eq(cpio_add_file(&c, "big", 0644, "x", CPIO_MAX_SIZE), -EFBIG);
	ck_assert_int_eq(cpio_finish(&c), 0);
	ck_assert_int_eq(cpio_finish(&c), -EINVAL);
	ck_assert_int_eq(cpio_add_dir(&c, "late", 0755), -EINVAL);
	cpio_free(&c);
	free(longname);
}
END_TEST

static const struct ent *find(const struct ent *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return &e[i];
	ck_abort_msg("%s not in the archive", name);
	return NULL;
}

struct fixture {
	char dir[64];
	char mod_a[128], mod_b[128];
	const char *mods[2];
	struct exec_spec *spec;
	struct initramfs_input in;
};

static void fixture_init(struct fixture *f)
{
	tmpdir_create(f->dir, sizeof(f->dir), "initramfs");
	tmpdir_write(f->dir, "k/fs/a.ko", "AAAA-module", 11);
	tmpdir_write(f->dir, "k/drv/b-c.ko.xz", "\xfd" "7zXZ", 5);
	snprintf(f->mod_a, sizeof(f->mod_a), "%s/k/fs/a.ko", f->dir);
	snprintf(f->mod_b, sizeof(f->mod_b), "%s/k/drv/b-c.ko.xz", f->dir);
	f->mods[0] = f->mod_a;
	f->mods[1] = f->mod_b;
	f->spec = calloc(1, sizeof(*f->spec));
	f->spec->root = "root";
	f->spec->nargs = 2;
	f->spec->argv[0] = "echo";
	f->spec->argv[1] = "hi";
	f->in = (struct initramfs_input){ .init = "\x7f" "ELFinit", .init_size = 8,
					  .modules = f->mods, .nmodules = 2, .spec = f->spec };
}

static void fixture_fini(struct fixture *f)
{
	tmpdir_remove(f->dir);
	free(f->spec);
}

START_TEST(test_initramfs_contents)
{
	static const char *const names[] = { "dev",	    "proc",	   "sys",
					     "newroot",	    "lib",	   "lib/modules",
					     "ember",	    "dev/console", "ember/exec",
					     "lib/modules/a.ko", "lib/modules/b-c.ko.xz", "init",
					     "TRAILER!!!" };
	struct ent e[MAX_ENTRIES];
	struct exec_spec *parsed = malloc(sizeof(*parsed));
	struct fixture f;
	struct cpio c;
	char why[256];
	const char *reason;
	const struct ent *x;
	char *spec_copy;
	size_t n;

	fixture_init(&f);
	ck_assert_int_eq(initramfs_build(&f.in, &c, why, sizeof(why)), 0);
	n = read_archive(c.buf, c.len, e);
	ck_assert_uint_eq(n, sizeof(names) / sizeof(names[0]));
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(e[i].name, names[i]);
	x = find(e, n, "init");
	ck_assert_uint_eq(x->mode, S_IFREG | 0755);
	ck_assert_uint_eq(x->size, 8);
	ck_assert_mem_eq(x->data, "\x7f" "ELFinit", 8);
	ck_assert_uint_eq(find(e, n, "newroot")->mode, S_IFDIR | 0755);
	ck_assert_uint_eq(find(e, n, "proc")->mode, S_IFDIR | 0555);
	ck_assert_uint_eq(find(e, n, "dev/console")->mode, S_IFCHR | 0600);
	x = find(e, n, "lib/modules/a.ko");
	ck_assert_uint_eq(x->mode, S_IFREG | 0644);
	ck_assert_uint_eq(x->size, 11);
	ck_assert_mem_eq(x->data, "AAAA-module", 11);
	ck_assert_uint_eq(find(e, n, "lib/modules/b-c.ko.xz")->size, 5);
	x = find(e, n, "ember/exec");
	spec_copy = malloc(x->size);
	memcpy(spec_copy, x->data, x->size);
	ck_assert_int_eq(exec_spec_parse(spec_copy, x->size, parsed, &reason), 0);
	ck_assert_uint_eq(parsed->nmodules, 2);
	ck_assert_str_eq(parsed->modules[0], "/lib/modules/a.ko");
	ck_assert_str_eq(parsed->modules[1], "/lib/modules/b-c.ko.xz");
	ck_assert_str_eq(parsed->argv[1], "hi");
	ck_assert_uint_eq(f.spec->nmodules, 0); /* the caller's description is left alone */
	free(spec_copy);
	free(parsed);
	cpio_free(&c);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_initramfs_missing_module_named)
{
	struct fixture f;
	struct cpio c;
	char why[256];

	fixture_init(&f);
	strcat(f.mod_b, ".gone");
	ck_assert_int_eq(initramfs_build(&f.in, &c, why, sizeof(why)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, f.mod_b));
	cpio_free(&c);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_initramfs_refusals)
{
	struct fixture f;
	struct cpio c;
	char why[256];

	fixture_init(&f);
	f.mods[1] = f.mod_a; /* two modules of one file name */
	ck_assert_int_eq(initramfs_build(&f.in, &c, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "same file name"));
	cpio_free(&c);
	f.mods[1] = f.mod_b;
	f.spec->nmodules = 1; /* modules are the builder's to add */
	f.spec->modules[0] = "/lib/modules/x.ko";
	ck_assert_int_eq(initramfs_build(&f.in, &c, why, sizeof(why)), -EINVAL);
	cpio_free(&c);
	f.spec->nmodules = 0;
	f.spec->nargs = 0; /* an invalid description */
	ck_assert_int_eq(initramfs_build(&f.in, &c, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "argv"));
	cpio_free(&c);
	fixture_fini(&f);
}
END_TEST

/* The guest init the Makefile embeds: a static x86-64 ELF executable. */
START_TEST(test_init_image_embedded)
{
	size_t len = 0;
	const uint8_t *p = init_image(&len);

	ck_assert_uint_gt(len, 4096);
	ck_assert_mem_eq(p, "\x7f" "ELF\x02\x01", 6);
	ck_assert_uint_eq(p[16], 2); /* ET_EXEC: static, not a shared object */
}
END_TEST

Suite *cpio_suite(void)
{
	Suite *s = suite_create("cpio");
	TCase *tc = tcase_create("archive");
	TCase *ir = tcase_create("initramfs");

	tcase_add_test(tc, test_entries_read_back);
	tcase_add_loop_test(tc, test_bad_names_refused, 0, sizeof(bad_names) / sizeof(bad_names[0]));
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	tcase_add_test(ir, test_initramfs_contents);
	tcase_add_test(ir, test_initramfs_missing_module_named);
	tcase_add_test(ir, test_initramfs_refusals);
	tcase_add_test(ir, test_init_image_embedded);
	suite_add_tcase(s, ir);
	return s;
}
