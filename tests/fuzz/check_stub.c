/*
 * The two functions Check's assertion macros call, for code shared with the
 * unit tests (tests/unit/fake_vring.c) that runs in a fuzz target instead
 * of a Check test: a passing assertion does nothing, a failing one aborts,
 * which the fuzzer reports as a crash. Linking these instead of libcheck
 * keeps the targets free of Check's test-runner state.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void _mark_point(const char *file, int line)
{
	(void)file, (void)line;
}

void _ck_assert_failed(const char *file, int line, const char *expr, const char *msg, ...)
{
	fprintf(stderr, "%s:%d: %s\n", file, line, expr);
	(void)msg;
	abort();
}
