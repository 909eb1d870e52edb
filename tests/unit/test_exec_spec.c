/* boot/exec_spec: the exec description, written and parsed back, and hostile bytes refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/exec_spec.h"
#include "tests/unit/suites.h"

/* Parse a heap copy of exactly `len` bytes (ASan sees any read past the end); *copy stays alive. */
static int parse_copy(const void *buf, size_t len, struct exec_spec *s, char **copy)
{
	const char *why = NULL;
	int rc;

	*copy = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(*copy);
	memcpy(*copy, buf, len);
	rc = exec_spec_parse(*copy, len, s, &why);
	if (rc) {
		ck_assert_ptr_nonnull(why);
		ck_assert_uint_gt(strlen(why), 0);
	}
	return rc;
}

static struct exec_spec *sample(void)
{
	struct exec_spec *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	s->root = "root";
	s->cwd = "/home/user/src";
	s->nshares = 2;
	s->shares[0] = (struct exec_share){ "share0", "/home/user/src", false };
	s->shares[1] = (struct exec_share){ "share1", "/srv/data", true };
	s->nmodules = 2;
	s->modules[0] = "/lib/modules/fuse.ko";
	s->modules[1] = "/lib/modules/virtiofs.ko";
	s->nenv = 2;
	s->env[0] = "PATH=/usr/bin:/bin";
	s->env[1] = "X=a=b c\nd";
	s->nargs = 5;
	s->argv[0] = "sh";
	s->argv[1] = "-c";
	s->argv[2] = "echo 'two words'\nexit 3";
	s->argv[3] = "key=value=more";
	s->argv[4] = "";
	return s;
}

/* Write s, expecting success; the buffer is the caller's. */
static char *write_ok(const struct exec_spec *s, size_t *len)
{
	const char *why = NULL;
	char *buf;

	ck_assert_int_eq(exec_spec_write(s, &buf, len, &why), 0);
	return buf;
}

START_TEST(test_round_trip)
{
	struct exec_spec *s = sample(), *p = calloc(1, sizeof(*p));
	size_t len;
	char *buf = write_ok(s, &len), *copy;

	ck_assert_int_eq(parse_copy(buf, len, p, &copy), 0);
	ck_assert_str_eq(p->root, "root");
	ck_assert_str_eq(p->cwd, s->cwd);
	ck_assert_uint_eq(p->nshares, 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_str_eq(p->shares[i].tag, s->shares[i].tag);
		ck_assert_str_eq(p->shares[i].dir, s->shares[i].dir);
		ck_assert_int_eq(p->shares[i].readonly, s->shares[i].readonly);
	}
	ck_assert_uint_eq(p->nmodules, 2);
	ck_assert_str_eq(p->modules[1], "/lib/modules/virtiofs.ko");
	ck_assert_uint_eq(p->nenv, 2);
	ck_assert_str_eq(p->env[1], "X=a=b c\nd");
	ck_assert_ptr_null(p->env[2]);
	ck_assert_uint_eq(p->nargs, 5);
	for (size_t i = 0; i < 5; i++)
		ck_assert_str_eq(p->argv[i], s->argv[i]);
	ck_assert_ptr_null(p->argv[5]);
	free(copy);
	free(buf);
	free(p);
	free(s);
}
END_TEST

START_TEST(test_exact_bytes)
{
	static const char want[] = "ember-exec=1\0root=r\0arg=a b\0end=\0";
	struct exec_spec *s = calloc(1, sizeof(*s));
	size_t len;
	char *buf;

	s->root = "r";
	s->nargs = 1;
	s->argv[0] = "a b";
	buf = write_ok(s, &len);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	ck_assert_mem_eq(buf, want, len);
	free(buf);
	free(s);
}
END_TEST

START_TEST(test_minimal_defaults)
{
	static const char in[] = "ember-exec=1\0arg=true\0root=t\0end=\0";
	struct exec_spec *p = malloc(sizeof(*p));
	char *copy;

	ck_assert_int_eq(parse_copy(in, sizeof(in) - 1, p, &copy), 0);
	ck_assert_ptr_null(p->cwd);
	ck_assert_uint_eq(p->nshares + p->nmodules + p->nenv, 0);
	ck_assert_str_eq(p->argv[0], "true");
	free(copy);
	free(p);
}
END_TEST

/* Every proper prefix of a valid description is refused. */
START_TEST(test_truncated_refused)
{
	struct exec_spec *s = sample(), *p = malloc(sizeof(*p));
	size_t len;
	char *buf = write_ok(s, &len), *copy;

	for (size_t cut = 0; cut < len; cut++) {
		ck_assert_int_eq(parse_copy(buf, cut, p, &copy), -EINVAL);
		free(copy);
	}
	free(buf);
	free(p);
	free(s);
}
END_TEST

static const struct {
	const char *bytes;
	size_t len;
} bad[] = {
#define B(x) { x, sizeof(x) - 1 }
	B("ember-exec=1\0root=r\0arg=a"),		  /* last record without NUL */
	B("ember-exec=2\0root=r\0arg=a\0end=\0"),		  /* other version */
	B("ember-exec=1\0root=r\0arg=a\0color=red\0end=\0"),	  /* unknown key */
	B("ember-exec=1\0root=r\0arg=a\0noequals\0end=\0"),	  /* record without '=' */
	B("ember-exec=1\0root=r\0end=\0"),			  /* empty argv */
	B("ember-exec=1\0root=r\0arg=\0end=\0"),		  /* empty argv[0] */
	B("ember-exec=1\0arg=a\0end=\0"),			  /* no root */
	B("ember-exec=1\0root=r\0root=s\0arg=a\0end=\0"),	  /* root twice */
	B("ember-exec=1\0root=\0arg=a\0end=\0"),		  /* empty tag */
	B("ember-exec=1\0root=a/b\0arg=a\0end=\0"),		  /* '/' in a tag */
	B("ember-exec=1\0root=0123456789012345678901234567890123456\0arg=a\0end=\0"), /* 37 bytes */
	B("ember-exec=1\0root=r\0share=s\0arg=a\0end=\0"),	  /* share without dir */
	B("ember-exec=1\0root=r\0share=s\0dir=/x\0arg=a\0end=\0"), /* share without mode */
	B("ember-exec=1\0root=r\0share=s\0dir=/x\0mode=rx\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0share=s\0mode=ro\0dir=/x\0arg=a\0end=\0"), /* order */
	B("ember-exec=1\0root=r\0share=s\0dir=/x/../y\0mode=ro\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0share=s\0dir=x\0mode=ro\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0share=s\0dir=/\0mode=ro\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0share=s\0dir=/x\0mode=ro\0end=\0"), /* ends after a share, no argv */
	B("ember-exec=1\0root=r\0dir=/x\0arg=a\0end=\0"),	  /* dir outside a share */
	B("ember-exec=1\0root=r\0module=/lib/modules/../x.ko\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0module=/tmp/x.ko\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0module=/lib/modules/a/b.ko\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0cwd=relative\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0cwd=/a//b\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0cwd=/a\0cwd=/b\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0env=NOEQUALS\0arg=a\0end=\0"),
	B("ember-exec=1\0root=r\0env==value\0arg=a\0end=\0"),
	B("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
	B("ember-exec=1\0root=r\0arg=a\0"),			  /* no end= */
	B("ember-exec=1\0root=r\0arg=a\0end=\0arg=b\0"),	  /* data after end= */
	B("ember-exec=1\0root=r\0arg=a\0end=\0\0"),
	B("ember-exec=1\0root=r\0arg=a\0end=x\0"),
	B("ember-exec=1\0root=r\0arg=a\0share=s\0end=\0"),	  /* end= inside a share */
	B(""),
#undef B
};

START_TEST(test_hostile_refused)
{
	struct exec_spec *p = malloc(sizeof(*p));
	char *copy;

	ck_assert_int_eq(parse_copy(bad[_i].bytes, bad[_i].len, p, &copy), -EINVAL);
	free(copy);
	free(p);
}
END_TEST

/* A description of `n` arg= records, refused beyond the limit. */
START_TEST(test_too_many_records)
{
	const size_t n = EXEC_SPEC_MAX_ARGS + 1;
	char *buf = malloc(32 + n * 6), *copy, *end;
	struct exec_spec *p = malloc(sizeof(*p));
	size_t len = 0;

	memcpy(buf, "ember-exec=1\0root=r\0", 20);
	len = 20;
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + len, "arg=x\0", 6);
		len += 6;
	}
	memcpy(buf + len, "end=\0", 5);
	ck_assert_int_eq(parse_copy(buf, len + 5, p, &copy), -EINVAL);
	free(copy);
	end = buf + len - 6; /* one arg less: exactly the limit */
	memcpy(end, "end=\0", 5);
	ck_assert_int_eq(parse_copy(buf, len - 1, p, &copy), 0);
	ck_assert_uint_eq(p->nargs, EXEC_SPEC_MAX_ARGS);
	free(copy);
	free(p);
	free(buf);
}
END_TEST

START_TEST(test_writer_refuses_what_parser_would)
{
	struct exec_spec *s = sample();
	const char *why = NULL;
	size_t len = 1;
	char *buf = (char *)1;

	s->nargs = 0;
	ck_assert_int_eq(exec_spec_write(s, &buf, &len, &why), -EINVAL);
	ck_assert_ptr_null(buf);
	ck_assert_ptr_nonnull(strstr(why, "argv"));
	s->nargs = 1;
	s->shares[1].dir = "/srv/./data";
	ck_assert_int_eq(exec_spec_write(s, &buf, &len, &why), -EINVAL);
	s->shares[1].dir = "/srv/data";
	s->modules[0] = "fuse.ko";
	ck_assert_int_eq(exec_spec_write(s, &buf, &len, &why), -EINVAL);
	s->modules[0] = "/lib/modules/fuse.ko";
	s->nenv = EXEC_SPEC_MAX_ENV + 1;
	ck_assert_int_eq(exec_spec_write(s, &buf, &len, &why), -EINVAL);
	free(s);
}
END_TEST

/* Arguments adding up to more than 1 MiB: -E2BIG from the writer, -EINVAL from the parser. */
START_TEST(test_size_limit)
{
	struct exec_spec *s = sample(), *p = malloc(sizeof(*p));
	char *big = malloc(EXEC_SPEC_MAX_BYTES), *buf, *copy;
	const char *why;
	size_t len;

	memset(big, 'a', EXEC_SPEC_MAX_BYTES - 1);
	big[EXEC_SPEC_MAX_BYTES - 1] = '\0';
	s->argv[1] = big;
	ck_assert_int_eq(exec_spec_write(s, &buf, &len, &why), -E2BIG);
	free(big);
	/* One byte over: "ember-exec=1\0root=r\0arg=aaa...\0end=\0" */
	big = malloc(EXEC_SPEC_MAX_BYTES + 1);
	memcpy(big, "ember-exec=1\0root=r\0arg=", 24);
	memset(big + 24, 'a', EXEC_SPEC_MAX_BYTES - 24);
	memcpy(big + EXEC_SPEC_MAX_BYTES - 5, "\0end=\0", 6);
	ck_assert_int_eq(parse_copy(big, EXEC_SPEC_MAX_BYTES + 1, p, &copy), -EINVAL);
	free(copy);
	memcpy(big + EXEC_SPEC_MAX_BYTES - 6, "\0end=\0", 6); /* exactly the limit */
	ck_assert_int_eq(parse_copy(big, EXEC_SPEC_MAX_BYTES, p, &copy), 0);
	free(copy);
	free(big);
	free(p);
	free(s);
}
END_TEST

/* Random mutations of a valid description: refused or accepted, never a read out of bounds. */
START_TEST(test_mutations_never_crash)
{
	struct exec_spec *s = sample(), *p = malloc(sizeof(*p));
	size_t len;
	char *buf = write_ok(s, &len), *copy;
	unsigned int seed = 1;

	for (int round = 0; round < 3000; round++) {
		char *m = malloc(len);

		memcpy(m, buf, len);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			m[(seed >> 8) % len] = (char)(seed >> 20);
		}
		if (parse_copy(m, len, p, &copy) == 0)
			ck_assert_uint_ge(p->nargs, 1);
		free(copy);
		free(m);
	}
	free(buf);
	free(p);
	free(s);
}
END_TEST

Suite *exec_spec_suite(void)
{
	Suite *s = suite_create("exec_spec");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_exact_bytes);
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_truncated_refused);
	tcase_add_loop_test(tc, test_hostile_refused, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_too_many_records);
	tcase_add_test(tc, test_writer_refuses_what_parser_would);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_mutations_never_crash);
	suite_add_tcase(s, tc);
	return s;
}
