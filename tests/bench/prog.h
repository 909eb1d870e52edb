/*
 * Shared by the benchmarks' static helper programs that draw random
 * offsets and time themselves: tests/bench/randread.c (on the host) and
 * tests/linux/guest/blkio.c (in a Linux guest).
 */
#pragma once
#include <stdint.h>
#include <time.h>

/* The seed of the offsets' xorshift sequence, the micro-guest blkbench.c's
 * too, so that every reader draws the same offsets. */
#define PROG_RNG_SEED 0x2545f491u

/* The next number of the xorshift32 sequence in *s. */
static inline uint32_t prog_xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t prog_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
