#pragma once
/* Helpers for the qcow2 tests: qemu-img and qemu-io as the oracle, images in a temp dir. */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/tmpdir.h"
#include "vmm/qcow2.h"

/* True when qemu-img and qemu-io are there; else say the test is skipped. */
static inline bool qf_have_qemu(const char *test)
{
	if (system("qemu-img --version >/dev/null 2>&1 && qemu-io --version >/dev/null 2>&1") ==
	    0)
		return true;
	fprintf(stderr, "%s: skipped, qemu-img or qemu-io missing (apt-get install qemu-utils)\n",
		test);
	return false;
}

/* Run a shell command in `dir`; its exit status. */
static inline int qf_run(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int qf_run(const char *dir, const char *fmt, ...)
{
	char cmd[4096];
	int n, st;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "cd '%s' && (", dir);
	va_start(ap, fmt);
	n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, ") >/dev/null 2>&1");
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define qf_sh(dir, ...) ck_assert_int_eq(qf_run(dir, __VA_ARGS__), 0)

static inline void qf_path(char *out, size_t len, const char *dir, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* Open DIR/NAME and the engine on it; the fd in *fd. Returns qcow2_open's result. */
static inline int qf_open(const char *dir, const char *name, bool writable, struct qcow2 **q,
			  int *fd, char *why, size_t whylen)
{
	char p[512];
	struct qcow2_open_opts o = { .path = p };
	int err;

	qf_path(p, sizeof(p), dir, name);
	*fd = open(p, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	ck_assert_int_ge(*fd, 0);
	err = qcow2_open(q, *fd, writable, &o, why, whylen);
	if (err) {
		close(*fd);
		*fd = -1;
	}
	return err;
}

static inline void qf_close(struct qcow2 *q, int fd)
{
	qcow2_close(q);
	if (fd >= 0)
		close(fd);
}

/* The whole of DIR/NAME in a malloc'd buffer, its size in *len. */
static inline uint8_t *qf_slurp(const char *dir, const char *name, size_t *len)
{
	char p[512];
	struct stat st;
	uint8_t *b;
	int fd;

	qf_path(p, sizeof(p), dir, name);
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

/* The engine reads the whole disk and it equals `model`. */
static inline void qf_expect_disk(struct qcow2 *q, const uint8_t *model, size_t size)
{
	uint8_t *got = malloc(size);

	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(qcow2_virtual_size(q), size);
	ck_assert_int_eq(qcow2_read(q, 0, got, size), 0);
	for (size_t i = 0; i < size; i++)
		if (got[i] != model[i])
			ck_abort_msg("byte %zu: read %#x, expected %#x", i, got[i], model[i]);
	free(got);
}

/* qemu-img convert -O raw of DIR/NAME equals `model`. */
static inline void qf_expect_convert(const char *dir, const char *name, const uint8_t *model,
				     size_t size)
{
	uint8_t *raw;
	size_t len;

	qf_sh(dir, "qemu-img convert -O raw %s out.raw", name);
	raw = qf_slurp(dir, "out.raw", &len);
	ck_assert_uint_eq(len, size);
	for (size_t i = 0; i < size; i++)
		if (raw[i] != model[i])
			ck_abort_msg("qemu-img convert: byte %zu is %#x, expected %#x", i, raw[i],
				     model[i]);
	free(raw);
	unlink("out.raw");
}
