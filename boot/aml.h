#pragma once
/*
 * A tiny AML (ACPI Machine Language) writer: just the encodings Ember's
 * DSDT needs. Writers append to a fixed buffer; overflow is sticky and
 * reported by aml_ok().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX 8192

struct aml {
	uint8_t buf[AML_MAX];
	size_t len;
	bool overflow;
};

void aml_init(struct aml *a);
bool aml_ok(const struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);
/* A 4-character name segment, or "\\XXXX" for a root-relative one. */
void aml_name(struct aml *a, const char *name);
/* Integer constant in its shortest encoding. */
void aml_int(struct aml *a, uint64_t v);
/* String constant (ASCII, NUL-terminated in AML). */
void aml_string(struct aml *a, const char *s);
/* EISA ID such as "PNP0A03" as a DWord constant. */
void aml_eisaid(struct aml *a, const char *id);
/* Name(name, <the bytes of obj>) */
void aml_named(struct aml *a, const char *name, const struct aml *obj);
/* Opcode(s) followed by PkgLength and `body`: Scope, Device, Package, Buffer. */
void aml_pkg(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body);

#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_NAME_OP 0x08
#define AML_METHOD_OP 0x14
