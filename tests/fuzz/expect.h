#pragma once
/*
 * Invariants the fuzz targets check beyond what the sanitizers see: a false
 * one prints where it failed and aborts, which libFuzzer reports as a crash
 * and saves the input for.
 */
#include <stdio.h>
#include <stdlib.h>

#define expect(cond) ((cond) ? (void)0 : expect_failed(__FILE__, __LINE__, #cond))

__attribute__((noreturn)) static inline void expect_failed(const char *file, int line,
							   const char *what)
{
	fprintf(stderr, "%s:%d: expected %s\n", file, line, what);
	abort();
}
