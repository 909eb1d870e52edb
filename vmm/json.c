#include "vmm/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- the reader ---- */

/* The text being parsed: bytes [0, len), read position `at`. */
struct reader {
	char *t;
	size_t len, at;
	struct json_error *e;
};

static int fail(struct reader *r, const char *what)
{
	if (r->e) {
		r->e->at = r->at;
		r->e->what = what;
	}
	return -EINVAL;
}

static void skip_ws(struct reader *r)
{
	while (r->at < r->len && (r->t[r->at] == ' ' || r->t[r->at] == '\t' ||
				  r->t[r->at] == '\n' || r->t[r->at] == '\r'))
		r->at++;
}

static bool peek(const struct reader *r, char c)
{
	return r->at < r->len && r->t[r->at] == c;
}

size_t json_utf8_seq(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0; /* a continuation byte, an overlong lead (0xc0, 0xc1) or past U+10FFFF */
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int hex4(struct reader *r, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, r->at++) {
		char c = r->at < r->len ? r->t[r->at] : 0;

		if (c >= '0' && c <= '9')
			*v = *v << 4 | (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v = *v << 4 | (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return fail(r, "\\u needs four hex digits");
	}
	return 0;
}

/* Code point `cp` as UTF-8 at t[*w]; in place, the output never passes the input. */
static void put_utf8(char *t, size_t *w, uint32_t cp)
{
	if (cp < 0x80) {
		t[(*w)++] = (char)cp;
	} else if (cp < 0x800) {
		t[(*w)++] = (char)(0xc0 | cp >> 6);
		t[(*w)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		t[(*w)++] = (char)(0xe0 | cp >> 12);
		t[(*w)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[(*w)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		t[(*w)++] = (char)(0xf0 | cp >> 18);
		t[(*w)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[(*w)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[(*w)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* After "\u": one code point, a surrogate pair taking two escapes. */
static int unicode_escape(struct reader *r, uint32_t *cp)
{
	uint32_t lo;

	if (hex4(r, cp))
		return -EINVAL;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return fail(r, "a low surrogate without a high one");
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (r->at + 2 > r->len || r->t[r->at] != '\\' || r->t[r->at + 1] != 'u')
			return fail(r, "a high surrogate without a low one");
		r->at += 2;
		if (hex4(r, &lo))
			return -EINVAL;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(r, "a high surrogate without a low one");
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (*cp == 0)
		return fail(r, "\\u0000 is not accepted");
	return 0;
}

/* One escape after the backslash, decoded to t[*w]. */
static int escape(struct reader *r, size_t *w)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *p;
	uint32_t cp;

	if (r->at >= r->len)
		return fail(r, "unterminated string");
	p = strchr(from, r->t[r->at]);
	if (p && *p) {
		r->t[(*w)++] = to[p - from];
		r->at++;
		return 0;
	}
	if (r->t[r->at] != 'u')
		return fail(r, "unknown escape");
	r->at++;
	if (unicode_escape(r, &cp))
		return -EINVAL;
	put_utf8(r->t, w, cp);
	return 0;
}

/* A string at r->at (the opening quote), decoded in place and NUL-terminated. */
static int string(struct reader *r, const char **s, size_t *n)
{
	size_t w = ++r->at, start = w;

	for (;;) {
		uint8_t c;
		size_t seq;

		if (r->at >= r->len)
			return fail(r, "unterminated string");
		c = (uint8_t)r->t[r->at];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(r, "a control character in a string");
		if (c == '\\') {
			r->at++;
			if (escape(r, &w))
				return -EINVAL;
			continue;
		}
		seq = json_utf8_seq((const uint8_t *)r->t + r->at, r->len - r->at);
		if (!seq)
			return fail(r, "invalid UTF-8");
		memmove(r->t + w, r->t + r->at, seq);
		w += seq;
		r->at += seq;
	}
	r->at++;
	r->t[w] = 0; /* w is at most the closing quote's position, which is read */
	*s = r->t + start;
	*n = w - start;
	return 0;
}

static bool digit(const struct reader *r)
{
	return r->at < r->len && r->t[r->at] >= '0' && r->t[r->at] <= '9';
}

static void digits(struct reader *r)
{
	while (digit(r))
		r->at++;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(struct reader *r, struct json_value *v)
{
	size_t start = r->at;

	if (peek(r, '-'))
		r->at++;
	if (peek(r, '0'))
		r->at++;
	else if (digit(r))
		digits(r);
	else
		return fail(r, "not a value");
	if (peek(r, '.')) {
		r->at++;
		if (!digit(r))
			return fail(r, "a digit must follow the decimal point");
		digits(r);
	}
	if (peek(r, 'e') || peek(r, 'E')) {
		r->at++;
		if (peek(r, '+') || peek(r, '-'))
			r->at++;
		if (!digit(r))
			return fail(r, "a digit must follow the exponent");
		digits(r);
	}
	if (digit(r))
		return fail(r, "a number cannot have leading zeros");
	v->type = JSON_NUMBER;
	v->s = r->t + start;
	v->len = r->at - start;
	return 0;
}

static bool word(struct reader *r, const char *w)
{
	size_t n = strlen(w);

	if (r->len - r->at < n || memcmp(r->t + r->at, w, n))
		return false;
	r->at += n;
	return true;
}

static int value(struct reader *r, struct json_value *v)
{
	if (r->at >= r->len)
		return fail(r, "a value is missing");
	switch (r->t[r->at]) {
	case '"':
		v->type = JSON_STRING;
		return string(r, &v->s, &v->len);
	case '{':
	case '[':
		return fail(r, "nested objects and arrays are not accepted");
	case 't':
		v->type = JSON_TRUE;
		break;
	case 'f':
		v->type = JSON_FALSE;
		break;
	case 'n':
		v->type = JSON_NULL;
		break;
	default:
		return number(r, v);
	}
	v->s = NULL;
	v->len = 0;
	if (!word(r, v->type == JSON_TRUE ? "true" : v->type == JSON_FALSE ? "false" : "null"))
		return fail(r, "not a value");
	return 0;
}

static bool duplicate(const struct json_object *o, const struct json_member *m)
{
	for (unsigned int i = 0; i < o->n; i++)
		if (o->m[i].name_len == m->name_len && !memcmp(o->m[i].name, m->name, m->name_len))
			return true;
	return false;
}

/* One "name": value at r->at. */
static int member(struct reader *r, struct json_object *o)
{
	struct json_member m;

	if (!peek(r, '"'))
		return fail(r, "a member name (a string) is expected");
	if (o->n == JSON_MAX_MEMBERS)
		return fail(r, "too many members");
	if (string(r, &m.name, &m.name_len))
		return -EINVAL;
	skip_ws(r);
	if (!peek(r, ':'))
		return fail(r, "':' is expected after a member name");
	r->at++;
	skip_ws(r);
	if (value(r, &m.v))
		return -EINVAL;
	if (duplicate(o, &m))
		return fail(r, "a member name appears twice");
	o->m[o->n++] = m;
	return 0;
}

int json_parse(char *text, size_t len, struct json_object *o, struct json_error *e)
{
	struct reader r = { .t = text, .len = len, .e = e };

	o->n = 0;
	skip_ws(&r);
	if (!peek(&r, '{'))
		return fail(&r, "a JSON object is expected");
	r.at++;
	skip_ws(&r);
	if (peek(&r, '}')) {
		r.at++;
	} else {
		for (;;) {
			if (member(&r, o))
				return -EINVAL;
			skip_ws(&r);
			if (peek(&r, '}')) {
				r.at++;
				break;
			}
			if (!peek(&r, ','))
				return fail(&r, "',' or '}' is expected");
			r.at++;
			skip_ws(&r);
		}
	}
	skip_ws(&r);
	if (r.at != r.len)
		return fail(&r, "text after the object");
	return 0;
}

const struct json_value *json_get(const struct json_object *o, const char *name)
{
	size_t n = strlen(name);

	for (unsigned int i = 0; i < o->n; i++)
		if (o->m[i].name_len == n && !memcmp(o->m[i].name, name, n))
			return &o->m[i].v;
	return NULL;
}

/* ---- the writer ---- */

void json_out_init(struct json_out *o, char *buf, size_t size)
{
	*o = (struct json_out){ .buf = buf, .size = size };
	if (size)
		buf[0] = 0;
	else
		o->overflow = true;
}

static void put(struct json_out *o, const char *s, size_t n)
{
	if (o->overflow || n >= o->size - o->len) {
		o->overflow = true; /* the NUL needs a byte too */
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

/* Before any value: the comma that separates it from the one before. */
static void value_start(struct json_out *o)
{
	if (!o->after_key && o->need_comma)
		put(o, ",", 1);
	o->after_key = false;
	o->need_comma = true;
}

void json_begin(struct json_out *o)
{
	value_start(o);
	put(o, "{", 1);
	o->need_comma = false;
}

void json_end(struct json_out *o)
{
	put(o, "}", 1);
	o->need_comma = true;
}

void json_array_begin(struct json_out *o)
{
	value_start(o);
	put(o, "[", 1);
	o->need_comma = false;
}

void json_array_end(struct json_out *o)
{
	put(o, "]", 1);
	o->need_comma = true;
}

/* The string body (without quotes), escaped. */
static void put_escaped(struct json_out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n;) {
		uint8_t c = (uint8_t)s[i];
		size_t seq = json_utf8_seq((const uint8_t *)s + i, n - i);
		char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };

		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			put(o, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			put(o, esc, 6);
		} else if (!seq) {
			put(o, "\\ufffd", 6); /* not UTF-8: the replacement character */
			seq = 1;
		} else {
			put(o, s + i, seq);
		}
		i += seq ? seq : 1;
	}
}

void json_key(struct json_out *o, const char *name)
{
	if (o->need_comma)
		put(o, ",", 1);
	put(o, "\"", 1);
	put_escaped(o, name, strlen(name));
	put(o, "\":", 2);
	o->after_key = true;
	o->need_comma = true;
}

void json_str(struct json_out *o, const char *s, size_t n)
{
	value_start(o);
	put(o, "\"", 1);
	put_escaped(o, s, n);
	put(o, "\"", 1);
}

void json_cstr(struct json_out *o, const char *s)
{
	json_str(o, s, strlen(s));
}

void json_raw(struct json_out *o, const char *s, size_t n)
{
	value_start(o);
	put(o, s, n);
}

void json_uint(struct json_out *o, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);

	json_raw(o, b, (size_t)n);
}

void json_int(struct json_out *o, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);

	json_raw(o, b, (size_t)n);
}

void json_millis(struct json_out *o, uint64_t ms)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%" PRIu64 ".%03u", ms / 1000, (unsigned int)(ms % 1000));

	json_raw(o, b, (size_t)n);
}

void json_bool(struct json_out *o, bool v)
{
	json_raw(o, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json_out *o)
{
	json_raw(o, "null", 4);
}
