#include "boot/aml.h"

#include <string.h>

void aml_init(struct aml *a)
{
	a->len = 0;
	a->overflow = false;
}

bool aml_ok(const struct aml *a)
{
	return !a->overflow;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > AML_MAX - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

void aml_name(struct aml *a, const char *name)
{
	if (name[0] == '\\') {
		aml_byte(a, '\\');
		name++;
	}
	aml_bytes(a, name, 4);
}

void aml_int(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, 0x00); /* ZeroOp */
	} else if (v == 1) {
		aml_byte(a, 0x01); /* OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);
		aml_bytes(a, &(uint16_t){ (uint16_t)v }, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, 0x0c);
		aml_bytes(a, &(uint32_t){ (uint32_t)v }, 4);
	} else {
		aml_byte(a, 0x0e);
		aml_bytes(a, &v, 8);
	}
}

void aml_eisaid(struct aml *a, const char *id)
{
	/* Three letters packed 5 bits each, then four hex digits; stored big-endian. */
	uint32_t v = ((uint32_t)(id[0] - 0x40) << 26) | ((uint32_t)(id[1] - 0x40) << 21) |
		     ((uint32_t)(id[2] - 0x40) << 16);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10);

		v |= d << (4 * (6 - i));
	}
	aml_byte(a, 0x0c);
	aml_bytes(a, &(uint32_t){ __builtin_bswap32(v) }, 4);
}

void aml_named(struct aml *a, const char *name, const struct aml *obj)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, name);
	aml_bytes(a, obj->buf, obj->len);
	if (obj->overflow)
		a->overflow = true;
}

/* PkgLength counts its own bytes: 1 byte up to 63, else a lead byte and 1-3 more. */
static void pkg_length(struct aml *a, size_t body)
{
	size_t n = body + 1 < 0x40 ? 1 : body + 2 < 0x1000 ? 2 : body + 3 < 0x100000 ? 3 : 4;
	size_t total = body + n;

	if (n == 1) {
		aml_byte(a, (uint8_t)total);
		return;
	}
	aml_byte(a, (uint8_t)(((n - 1) << 6) | (total & 0xf)));
	for (size_t i = 1; i < n; i++)
		aml_byte(a, (uint8_t)(total >> (4 + 8 * (i - 1))));
}

void aml_pkg(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
	aml_bytes(a, op, oplen);
	pkg_length(a, body->len);
	aml_bytes(a, body->buf, body->len);
	if (body->overflow)
		a->overflow = true;
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, 0x0d); /* StringPrefix */
	aml_bytes(a, s, strlen(s) + 1);
}
