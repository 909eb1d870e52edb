#pragma once
/* Temporary directory trees for the tests that read files (modules, initramfs). */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory /tmp/ember-NAME-XXXXXX written into `dir` (at least 64 bytes). */
static inline void tmpdir_create(char *dir, size_t size, const char *name)
{
	snprintf(dir, size, "/tmp/ember-%s-XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Write `len` bytes to DIR/REL, creating the directories on the way. */
static inline void tmpdir_write(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static inline int tmpdir_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void tmpdir_remove(const char *dir)
{
	nftw(dir, tmpdir_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
