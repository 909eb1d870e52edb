#pragma once
/*
 * A small JSON reader and writer for the API socket (docs/api.md), which
 * speaks one flat object per line.
 *
 * The reader takes one object whose members are strings, numbers, true,
 * false or null, and refuses anything else: nested objects and arrays,
 * duplicate names, more than JSON_MAX_MEMBERS members, invalid UTF-8,
 * control characters in strings, "\u0000", lone surrogates, text after the
 * object. It decodes strings in place, so it needs no memory beyond the
 * line it is given, and it reads exactly `len` bytes (a NUL byte is just an
 * invalid character). Pure: no allocation, no I/O.
 *
 * The writer builds text into a fixed buffer: every value is escaped so
 * that the result is one line of valid JSON whatever bytes it is handed
 * (invalid UTF-8 becomes U+FFFD); running out of room sets `overflow`
 * instead of writing past the buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_MEMBERS 16

enum json_type { JSON_STRING, JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL };

struct json_value {
	enum json_type type;
	/*
	 * STRING: the decoded UTF-8, NUL-terminated, without NUL inside.
	 * NUMBER: the number's text as the sender wrote it (valid JSON number
	 * syntax), not terminated. Points into the parsed text.
	 */
	const char *s;
	size_t len;
};

struct json_member {
	const char *name; /* decoded, NUL-terminated */
	size_t name_len;
	struct json_value v;
};

struct json_object {
	struct json_member m[JSON_MAX_MEMBERS];
	unsigned int n;
};

/* Where parsing stopped and why (a static string). */
struct json_error {
	size_t at;
	const char *what;
};

/*
 * Parse `len` bytes of `text` as one flat object (whitespace around it is
 * allowed). Decodes strings in place, so `text` is changed and `o` points
 * into it. Returns 0, or -EINVAL with `e` set (e may be NULL).
 */
__attribute__((warn_unused_result)) int json_parse(char *text, size_t len, struct json_object *o,
						   struct json_error *e);

/* The member called `name`, or NULL. */
const struct json_value *json_get(const struct json_object *o, const char *name);

/* The length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one. */
size_t json_utf8_seq(const uint8_t *s, size_t n);

/* A text being written; see json_out_init(). */
struct json_out {
	char *buf;
	size_t size, len;
	bool overflow;	/* something did not fit: the text is incomplete */
	bool need_comma; /* a value was written in the current object or array */
	bool after_key;	 /* a name was written: its value comes next */
};

/* Write into `buf` (`size` bytes); the text stays NUL-terminated while it fits. */
void json_out_init(struct json_out *o, char *buf, size_t size);

/* '{' / '}' and '[' / ']'; an object or array may be a value of another. */
void json_begin(struct json_out *o);
void json_end(struct json_out *o);
void json_array_begin(struct json_out *o);
void json_array_end(struct json_out *o);

/* A member's name inside an object; its value is the next value written. */
void json_key(struct json_out *o, const char *name);

/* Values. */
void json_str(struct json_out *o, const char *s, size_t n);
void json_cstr(struct json_out *o, const char *s);
void json_uint(struct json_out *o, uint64_t v);
void json_int(struct json_out *o, int64_t v);
void json_bool(struct json_out *o, bool v);
void json_null(struct json_out *o);
/* A number with three decimals (seconds with milliseconds). */
void json_millis(struct json_out *o, uint64_t ms);
/* A number given as JSON text (a request's id as the client wrote it): not checked. */
void json_raw(struct json_out *o, const char *s, size_t n);
