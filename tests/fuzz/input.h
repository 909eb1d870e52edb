#pragma once
/*
 * Reading a fuzz input as a stream of fields. Every reader is total: past
 * the end of the input it yields zeros, so a target never needs to check
 * lengths and a short input is simply a short run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct input {
	const uint8_t *p;
	size_t left;
};

static inline struct input input_init(const uint8_t *data, size_t size)
{
	return (struct input){ .p = data, .left = size };
}

static inline bool input_empty(const struct input *in)
{
	return in->left == 0;
}

/* Copy up to `n` bytes into `dst`, zero the rest. Returns the bytes taken from the input. */
static inline size_t input_bytes(struct input *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->p += k;
	in->left -= k;
	return k;
}

/* Little-endian fixed-width fields. */
static inline uint64_t input_le(struct input *in, size_t n)
{
	uint8_t b[8];
	uint64_t v = 0;

	input_bytes(in, b, n);
	for (size_t i = n; i-- > 0;)
		v = v << 8 | b[i];
	return v;
}

static inline uint8_t input_u8(struct input *in)
{
	return (uint8_t)input_le(in, 1);
}

static inline uint16_t input_u16(struct input *in)
{
	return (uint16_t)input_le(in, 2);
}

static inline uint32_t input_u32(struct input *in)
{
	return (uint32_t)input_le(in, 4);
}

static inline uint64_t input_u64(struct input *in)
{
	return input_le(in, 8);
}
