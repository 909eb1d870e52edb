/*
 * boot/modules: the .modinfo reader over synthetic (and broken) ELF files,
 * resolution over a synthetic modules tree, and over the Debian kit's
 * modules when tests/linux/fetch.sh has fetched them.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/bzimage.h"
#include "boot/modules.h"
#include "tests/unit/suites.h"
#include "tests/unit/tmpdir.h"

#define KIT "build/kit"

/*
 * A minimal module: ELF header, section names, .modinfo, then the section
 * table (null, .shstrtab, .modinfo, .text). Returns its size.
 */
struct ko {
	uint8_t b[4096];
	size_t size;
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh; /* the table, 4 entries */
};

static const char shstr[] = "\0.shstrtab\0.modinfo\0.text";

static void ko_make(struct ko *k, const char *modinfo, size_t milen)
{
	size_t str_off = sizeof(Elf64_Ehdr), mi_off = str_off + sizeof(shstr);
	size_t sh_off = (mi_off + milen + 7) & ~(size_t)7;

	memset(k, 0, sizeof(*k));
	ck_assert_uint_le(sh_off + 4 * sizeof(Elf64_Shdr), sizeof(k->b));
	k->eh = (Elf64_Ehdr *)k->b;
	k->sh = (Elf64_Shdr *)(k->b + sh_off);
	memcpy(k->eh->e_ident, ELFMAG, SELFMAG);
	k->eh->e_ident[EI_CLASS] = ELFCLASS64;
	k->eh->e_ident[EI_DATA] = ELFDATA2LSB;
	k->eh->e_ident[EI_VERSION] = EV_CURRENT;
	k->eh->e_type = ET_REL;
	k->eh->e_machine = EM_X86_64;
	k->eh->e_version = EV_CURRENT;
	k->eh->e_ehsize = sizeof(Elf64_Ehdr);
	k->eh->e_shoff = sh_off;
	k->eh->e_shentsize = sizeof(Elf64_Shdr);
	k->eh->e_shnum = 4;
	k->eh->e_shstrndx = 1;
	memcpy(k->b + str_off, shstr, sizeof(shstr));
	memcpy(k->b + mi_off, modinfo, milen);
	k->sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = str_off,
				 .sh_size = sizeof(shstr) };
	k->sh[2] = (Elf64_Shdr){ .sh_name = 11, .sh_type = SHT_PROGBITS, .sh_offset = mi_off,
				 .sh_size = milen };
	k->sh[3] = (Elf64_Shdr){ .sh_name = 20, .sh_type = SHT_NOBITS, .sh_offset = mi_off };
	k->size = sh_off + 4 * sizeof(Elf64_Shdr);
}

#define MI(s) s, sizeof(s) - 1

/* modules_elf_depends on a heap copy of exactly `size` bytes. */
static int depends(const void *data, size_t size, char *out, size_t outlen)
{
	void *copy = malloc(size ? size : 1);
	const char *why = NULL;
	int rc;

	memcpy(copy, data, size);
	rc = modules_elf_depends(copy, size, out, outlen, &why);
	free(copy);
	if (rc)
		ck_assert_ptr_nonnull(why);
	return rc;
}

START_TEST(test_elf_depends)
{
	struct ko k;
	char out[64];

	ko_make(&k, MI("license=GPL\0depends=fuse,virtio_ring\0name=virtiofs\0"));
	ck_assert_int_eq(depends(k.b, k.size, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "fuse,virtio_ring");
	ko_make(&k, MI("license=GPL\0depends=\0"));
	ck_assert_int_eq(depends(k.b, k.size, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ko_make(&k, MI("license=GPL\0name=x\0")); /* no depends= at all */
	ck_assert_int_eq(depends(k.b, k.size, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ko_make(&k, MI("depends=abc")); /* last string ends with the section, not with a NUL */
	ck_assert_int_eq(depends(k.b, k.size, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "abc");
	ko_make(&k, MI("depends=fuse,virtio_ring\0"));
	ck_assert_int_eq(depends(k.b, k.size, out, 8), -ERANGE);
}
END_TEST

START_TEST(test_elf_truncated)
{
	struct ko k;
	char out[64];

	ko_make(&k, MI("depends=fuse\0"));
	for (size_t size = 0; size < k.size; size++) /* the section table is last: all refused */
		ck_assert_int_eq(depends(k.b, size, out, sizeof(out)), -ENOEXEC);
}
END_TEST

/* One field broken at a time; each must be refused with -ENOEXEC. */
START_TEST(test_elf_hostile)
{
	struct ko k;
	char out[64];

	ko_make(&k, MI("depends=fuse\0"));
	switch (_i) {
	case 0: k.b[0] = 'M'; break;
	case 1: k.eh->e_ident[EI_CLASS] = ELFCLASS32; break;
	case 2: k.eh->e_ident[EI_DATA] = ELFDATA2MSB; break;
	case 3: k.eh->e_type = ET_EXEC; break;
	case 4: k.eh->e_machine = EM_386; break;
	case 5: k.eh->e_shentsize = 32; break;
	case 6: k.eh->e_shoff = k.size; break;
	case 7: k.eh->e_shoff = UINT64_MAX - 8; break;
	case 8: k.eh->e_shnum = 0xff00; break;
	case 9: k.eh->e_shnum = 0; break;
	case 10: k.eh->e_shstrndx = 4; break;
	case 11: k.sh[1].sh_offset = k.size; break;
	case 12: k.sh[1].sh_size = UINT64_MAX; break;
	case 13: k.sh[1].sh_type = SHT_PROGBITS; break;
	case 14: k.sh[2].sh_name = sizeof(shstr); break;	/* past the name table */
	case 15: k.sh[2].sh_offset = k.size + 1; break;		/* .modinfo past the end */
	case 16: k.sh[2].sh_size = k.size; break;		/* ... or running past it */
	case 17: k.sh[2].sh_offset = UINT64_MAX; break;
	case 18: k.sh[1].sh_size = 19; break;			/* ".modinfo" unterminated */
	case 19: k.sh[2].sh_type = SHT_NOBITS; break;
	}
	ck_assert_int_eq(depends(k.b, k.size, out, sizeof(out)), -ENOEXEC);
}
END_TEST

START_TEST(test_elf_no_modinfo)
{
	struct ko k;
	char out[64];

	ko_make(&k, MI("depends=fuse\0"));
	k.b[sizeof(Elf64_Ehdr) + 18] = 'x'; /* ".modinfo" -> ".modinfx" */
	ck_assert_int_eq(depends(k.b, k.size, out, sizeof(out)), -ENOENT);
	ck_assert_int_eq(depends("#!/bin/sh\necho not a module\n", 28, out, sizeof(out)), -ENOEXEC);
}
END_TEST

/* Random bytes over a valid module: refused or parsed, never a read out of bounds. */
START_TEST(test_elf_mutations_never_crash)
{
	unsigned int seed = 7;
	struct ko k, m;
	char out[64];

	ko_make(&k, MI("license=GPL\0depends=fuse\0"));
	for (int round = 0; round < 20000; round++) {
		m = k;
		for (int j = 0; j < 4; j++) {
			seed = seed * 1103515245 + 12345;
			m.b[(seed >> 8) % k.size] = (uint8_t)(seed >> 19);
		}
		(void)depends(m.b, k.size, out, sizeof(out));
	}
}
END_TEST

/* A module file DIR/REL with the given depends= (NULL: no .modinfo). */
static void write_ko(const char *dir, const char *rel, const char *deps)
{
	char mi[256];
	int n = snprintf(mi, sizeof(mi), "license=GPL%cdepends=%s%c", 0, deps ? deps : "", 0);
	struct ko k;

	ko_make(&k, mi, (size_t)n);
	if (!deps)
		k.b[sizeof(Elf64_Ehdr) + 18] = 'x';
	tmpdir_write(dir, rel, k.b, k.size);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
	tmpdir_write(dir, rel, text, strlen(text));
}

struct tree {
	char dir[64];
	struct modules_list l;
	char why[512];
};

static void tree_init(struct tree *t)
{
	tmpdir_create(t->dir, sizeof(t->dir), "modules");
	write_text(t->dir, "modules.builtin", "kernel/drivers/virtio/virtio.ko\nkernel/fs/ext4/ext4.ko\n");
	write_ko(t->dir, "kernel/fs/fuse/fuse.ko", "");
	write_ko(t->dir, "kernel/fs/fuse/virtiofs.ko", "fuse,virtio");
	write_ko(t->dir, "kernel/misc/pvpanic.ko", "");
	write_ko(t->dir, "kernel/misc/pvpanic-pci.ko", "pvpanic");
	write_text(t->dir, "kernel/misc/README", "not a module");
}

static int resolve(struct tree *t, const char *const *names, size_t n)
{
	modules_list_free(&t->l);
	return modules_resolve(t->dir, names, n, &t->l, t->why, sizeof(t->why));
}

static void assert_file(const struct tree *t, size_t i, const char *rel)
{
	char want[256];

	snprintf(want, sizeof(want), "%s/%s", t->dir, rel);
	ck_assert_uint_lt(i, t->l.n);
	ck_assert_str_eq(t->l.path[i], want);
}

static void tree_fini(struct tree *t)
{
	modules_list_free(&t->l);
	tmpdir_remove(t->dir);
}

START_TEST(test_resolve_order)
{
	static const char *const want[] = { "virtiofs", "pvpanic_pci", "virtio", "fuse", "ext4" };
	struct tree t = { 0 };

	tree_init(&t);
	ck_assert_int_eq(resolve(&t, want, 5), 0);
	ck_assert_uint_eq(t.l.n, 4);
	assert_file(&t, 0, "kernel/fs/fuse/fuse.ko");
	assert_file(&t, 1, "kernel/fs/fuse/virtiofs.ko");
	assert_file(&t, 2, "kernel/misc/pvpanic.ko");
	assert_file(&t, 3, "kernel/misc/pvpanic-pci.ko");
	ck_assert_int_eq(resolve(&t, want + 2, 1), 0); /* built in: no file */
	ck_assert_uint_eq(t.l.n, 0);
	tree_fini(&t);
}
END_TEST

START_TEST(test_resolve_missing_named)
{
	static const char *const want[] = { "nosuch_mod" };
	static const char *const dep[] = { "needy" };
	struct tree t = { 0 };

	tree_init(&t);
	ck_assert_int_eq(resolve(&t, want, 1), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "nosuch_mod"));
	ck_assert_ptr_nonnull(strstr(t.why, t.dir));
	write_ko(t.dir, "kernel/needy.ko", "fuse,gone_dep");
	ck_assert_int_eq(resolve(&t, dep, 1), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "gone_dep"));
	modules_list_free(&t.l); /* fuse.ko, resolved before the failure */
	ck_assert_int_eq(modules_resolve("/nonexistent/ember", want, 1, &t.l, t.why, sizeof(t.why)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "/nonexistent/ember"));
	tree_fini(&t);
}
END_TEST

START_TEST(test_resolve_loop_named)
{
	static const char *const want[] = { "loop_a" };
	struct tree t = { 0 };

	tree_init(&t);
	write_ko(t.dir, "kernel/loop-a.ko", "fuse,loop_b");
	write_ko(t.dir, "kernel/loop_b.ko", "loop-c");
	write_ko(t.dir, "kernel/loop_c.ko", "loop_a");
	ck_assert_int_eq(resolve(&t, want, 1), -ELOOP);
	ck_assert_ptr_nonnull(strstr(t.why, "loop_a -> loop_b -> loop_c -> loop_a"));
	tree_fini(&t);
}
END_TEST

/* A chain of `len` modules m0 -> m1 -> ... */
static void write_chain(const char *dir, int len)
{
	for (int i = 0; i < len; i++) {
		char rel[32], dep[16];

		snprintf(rel, sizeof(rel), "kernel/m%d.ko", i);
		snprintf(dep, sizeof(dep), "m%d", i + 1);
		write_ko(dir, rel, i + 1 < len ? dep : "");
	}
}

START_TEST(test_resolve_depth)
{
	static const char *const want[] = { "m0" };
	struct tree t = { 0 };

	tree_init(&t);
	write_chain(t.dir, MODULES_MAX_DEPTH);
	ck_assert_int_eq(resolve(&t, want, 1), 0);
	ck_assert_uint_eq(t.l.n, MODULES_MAX_DEPTH);
	assert_file(&t, 0, "kernel/m15.ko");
	write_chain(t.dir, MODULES_MAX_DEPTH + 1);
	ck_assert_int_eq(resolve(&t, want, 1), -ELOOP);
	ck_assert_ptr_nonnull(strstr(t.why, "deeper than 16: m0 -> m1 -> "));
	ck_assert_ptr_nonnull(strstr(t.why, "m15 -> m16"));
	tree_fini(&t);
}
END_TEST

START_TEST(test_resolve_bad_files)
{
	static const char *const bad[] = { "broken" }, *const none[] = { "nomodinfo" },
				 *const name[] = { "../etc" }, *const dep[] = { "weird" };
	struct tree t = { 0 };

	tree_init(&t);
	write_text(t.dir, "kernel/broken.ko", "\x7f" "ELF but not really");
	ck_assert_int_eq(resolve(&t, bad, 1), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(t.why, "kernel/broken.ko"));
	write_ko(t.dir, "kernel/nomodinfo.ko", NULL);
	ck_assert_int_eq(resolve(&t, none, 1), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(t.why, ".modinfo"));
	ck_assert_int_eq(resolve(&t, name, 1), -EINVAL);
	write_ko(t.dir, "kernel/weird.ko", "fuse,,x");
	ck_assert_int_eq(resolve(&t, dep, 1), -EINVAL);
	tree_fini(&t);
}
END_TEST

/* Compressed modules: dependencies from modules.dep, or a refusal saying so. */
START_TEST(test_resolve_compressed)
{
	static const char *const want[] = { "squashed" };
	struct tree t = { 0 };

	tree_init(&t);
	write_text(t.dir, "kernel/fs/squashed.ko.zst", "(\xb5/\xfd not decompressed");
	ck_assert_int_eq(resolve(&t, want, 1), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(t.why, "modules.dep"));
	ck_assert_ptr_nonnull(strstr(t.why, "kernel/fs/squashed.ko.zst"));
	write_text(t.dir, "modules.dep",
		   "kernel/fs/fuse/fuse.ko:\n"
		   "kernel/fs/squashed.ko.zst: kernel/misc/pvpanic.ko kernel/fs/fuse/fuse.ko\n");
	ck_assert_int_eq(resolve(&t, want, 1), 0);
	ck_assert_uint_eq(t.l.n, 3);
	assert_file(&t, 0, "kernel/misc/pvpanic.ko");
	assert_file(&t, 1, "kernel/fs/fuse/fuse.ko");
	assert_file(&t, 2, "kernel/fs/squashed.ko.zst");
	tree_fini(&t);
}
END_TEST

static size_t index_of(const struct modules_list *l, const char *suffix)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->path[i]), m = strlen(suffix);

		if (n >= m && !strcmp(l->path[i] + n - m, suffix))
			return i;
	}
	ck_abort_msg("%s not resolved", suffix);
	return 0;
}

/* The Debian kit: real modules, real kernel. Skipped without build/kit. */
START_TEST(test_kit)
{
	static const char *const want[] = { "virtiofs", "virtio_console", "pvpanic-pci" };
	struct modules_list l;
	char *img;
	size_t img_size;
	char why[512], kver[BZIMAGE_VERSION_MAX + 1], want_ver[80] = "";
	const char *reason;
	struct bzimage bz;
	FILE *f;

	if (access(KIT "/modules/modules.builtin", R_OK) || access(KIT "/vmlinuz", R_OK)) {
		fprintf(stderr, "modules: kit test skipped (no %s; run tests/linux/fetch.sh)\n", KIT);
		return;
	}
	ck_assert_int_eq(modules_resolve(KIT "/modules", want, 3, &l, why, sizeof(why)), 0);
	ck_assert_uint_lt(index_of(&l, "/fuse.ko"), index_of(&l, "/virtiofs.ko"));
	ck_assert_uint_lt(index_of(&l, "/virtio_ring.ko"), index_of(&l, "/virtiofs.ko"));
	ck_assert_uint_lt(index_of(&l, "/virtio.ko"), index_of(&l, "/virtio_console.ko"));
	ck_assert_uint_lt(index_of(&l, "/pvpanic.ko"), index_of(&l, "/pvpanic-pci.ko"));
	for (size_t i = 0; i < l.n; i++)
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(l.path[i], l.path[j]);
	ck_assert_uint_eq(l.n, 7); /* fuse virtio virtio_ring virtiofs virtio_console pvpanic{,-pci} */
	modules_list_free(&l);

	f = fopen(KIT "/kver", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(want_ver, sizeof(want_ver), f));
	fclose(f);
	want_ver[strcspn(want_ver, "\n")] = '\0';
	f = fopen(KIT "/vmlinuz", "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	img_size = (size_t)ftell(f);
	rewind(f);
	img = malloc(img_size);
	ck_assert_uint_eq(fread(img, 1, img_size, f), img_size);
	fclose(f);
	ck_assert_int_eq(bzimage_parse(img, img_size, &bz, &reason), 0);
	ck_assert_int_eq(bzimage_version(&bz, kver, sizeof(kver), &reason), 0);
	ck_assert_str_eq(kver, want_ver);
	free(img);
}
END_TEST

Suite *modules_suite(void)
{
	Suite *s = suite_create("modules");
	TCase *elf = tcase_create("elf");
	TCase *res = tcase_create("resolve");

	tcase_add_test(elf, test_elf_depends);
	tcase_add_test(elf, test_elf_truncated);
	tcase_add_loop_test(elf, test_elf_hostile, 0, 20);
	tcase_add_test(elf, test_elf_no_modinfo);
	tcase_add_test(elf, test_elf_mutations_never_crash);
	tcase_set_timeout(elf, 30);
	suite_add_tcase(s, elf);
	tcase_add_test(res, test_resolve_order);
	tcase_add_test(res, test_resolve_missing_named);
	tcase_add_test(res, test_resolve_loop_named);
	tcase_add_test(res, test_resolve_depth);
	tcase_add_test(res, test_resolve_bad_files);
	tcase_add_test(res, test_resolve_compressed);
	tcase_add_test(res, test_kit);
	tcase_set_timeout(res, 30);
	suite_add_tcase(s, res);
	return s;
}
