#pragma once
/* A seeded xorshift64* generator, so randomised tests repeat exactly. */
#include <stdint.h>

struct rng {
	uint64_t s; /* never 0 */
};

static inline uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* Uniform enough in [0, n) for tests; n > 0. */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}
