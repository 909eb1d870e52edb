/*
 * vmm/json: the API socket's reader of flat objects and its writer. Valid
 * input decodes as JSON says; malformed and hostile input (nesting, broken
 * escapes and UTF-8, NUL bytes, lines cut anywhere) is refused with a
 * reason, never read past its length; the writer's output is one line of
 * valid JSON whatever it is handed, and never passes its buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/rng.h"
#include "tests/unit/suites.h"
#include "vmm/json.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parse a copy of `len` bytes in a buffer of exactly that size (ASan sees any overread). */
static int parse_n(const char *text, size_t len, struct json_object *o, struct json_error *e,
		   char **copy)
{
	*copy = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(*copy);
	memcpy(*copy, text, len);
	return json_parse(*copy, len, o, e);
}

static int parse(const char *text, struct json_object *o, struct json_error *e, char **copy)
{
	return parse_n(text, strlen(text), o, e, copy);
}

static void expect_string(const struct json_object *o, const char *name, const char *want,
			  size_t want_len)
{
	const struct json_value *v = json_get(o, name);

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->type, JSON_STRING);
	ck_assert_uint_eq(v->len, want_len);
	ck_assert_mem_eq(v->s, want, want_len);
	ck_assert_int_eq(v->s[v->len], 0);
}

START_TEST(test_request_parses)
{
	struct json_object o;
	char *t;
	const struct json_value *id;

	ck_assert_int_eq(parse(" {\"id\": 17 ,\t\"cmd\":\"status\"}\r\n", &o, NULL, &t), 0);
	ck_assert_uint_eq(o.n, 2);
	id = json_get(&o, "id");
	ck_assert_int_eq(id->type, JSON_NUMBER);
	ck_assert_uint_eq(id->len, 2);
	ck_assert_mem_eq(id->s, "17", 2);
	expect_string(&o, "cmd", "status", 6);
	ck_assert_ptr_null(json_get(&o, "nope"));
	free(t);
}
END_TEST

START_TEST(test_empty_object_and_literals)
{
	struct json_object o;
	char *t;

	ck_assert_int_eq(parse("{}", &o, NULL, &t), 0);
	ck_assert_uint_eq(o.n, 0);
	free(t);
	ck_assert_int_eq(parse("{\"t\":true,\"f\":false,\"n\":null}", &o, NULL, &t), 0);
	ck_assert_int_eq(json_get(&o, "t")->type, JSON_TRUE);
	ck_assert_int_eq(json_get(&o, "f")->type, JSON_FALSE);
	ck_assert_int_eq(json_get(&o, "n")->type, JSON_NULL);
	free(t);
}
END_TEST

static const char *const good_numbers[] = {
	"0", "-0", "7", "-12", "12.5", "0.001", "1e10", "1E+2", "-1.5e-3", "123456789012345678901234567890",
};

START_TEST(test_numbers_kept_as_written)
{
	char text[96];
	struct json_object o;
	const struct json_value *v;
	char *t;

	snprintf(text, sizeof(text), "{\"n\":%s}", good_numbers[_i]);
	ck_assert_msg(parse(text, &o, NULL, &t) == 0, "%s refused", text);
	v = json_get(&o, "n");
	ck_assert_int_eq(v->type, JSON_NUMBER);
	ck_assert_uint_eq(v->len, strlen(good_numbers[_i]));
	ck_assert_mem_eq(v->s, good_numbers[_i], v->len);
	free(t);
}
END_TEST

START_TEST(test_escapes_decode)
{
	struct json_object o;
	char *t;

	ck_assert_int_eq(parse("{\"s\":\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\t\"}", &o, NULL, &t), 0);
	expect_string(&o, "s", "q\"b\\s/b\bf\fn\nr\rt\t", 16);
	free(t);
	/* e acute, euro sign, and U+1F600 from a surrogate pair; raw UTF-8 passes as it is. */
	ck_assert_int_eq(parse("{\"s\":\"\\u00e9\\u20AC\\ud83d\\ude00\xc3\xa9\"}", &o, NULL, &t), 0);
	expect_string(&o, "s", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9", 11);
	free(t);
	/* Names are decoded too. */
	ck_assert_int_eq(parse("{\"\\u0063md\":\"x\"}", &o, NULL, &t), 0);
	expect_string(&o, "cmd", "x", 1);
	free(t);
}
END_TEST

/* Each must be refused; `what` is part of the reason given. */
static const struct {
	const char *text;
	size_t len; /* 0: strlen */
	const char *what;
} bad[] = {
	{ "", 0, "object is expected" },
	{ "   ", 0, "object is expected" },
	{ "[]", 0, "object is expected" },
	{ "1", 0, "object is expected" },
	{ "\"s\"", 0, "object is expected" },
	{ "{", 0, "member name" },
	{ "}", 0, "object is expected" },
	{ "{\"a\"}", 0, "':'" },
	{ "{\"a\":}", 0, "not a value" },
	{ "{\"a\":", 0, "missing" },
	{ "{\"a\":1,}", 0, "member name" },
	{ "{,}", 0, "member name" },
	{ "{\"a\":1 \"b\":2}", 0, "',' or '}'" },
	{ "{'a':1}", 0, "member name" },
	{ "{a:1}", 0, "member name" },
	{ "{\"a\":01}", 0, "leading zeros" },
	{ "{\"a\":-}", 0, "not a value" },
	{ "{\"a\":1.}", 0, "decimal point" },
	{ "{\"a\":.5}", 0, "not a value" },
	{ "{\"a\":1e}", 0, "exponent" },
	{ "{\"a\":+1}", 0, "not a value" },
	{ "{\"a\":0x10}", 0, "',' or '}'" },
	{ "{\"a\":NaN}", 0, "not a value" },
	{ "{\"a\":tru}", 0, "not a value" },
	{ "{\"a\":nul}", 0, "not a value" },
	{ "{\"a\":True}", 0, "not a value" },
	{ "{\"a\":\"x}", 0, "unterminated" },
	{ "{\"a\":\"\\x\"}", 0, "unknown escape" },
	{ "{\"a\":\"\\u12\"}", 0, "four hex digits" },
	{ "{\"a\":\"\\u12G4\"}", 0, "four hex digits" },
	{ "{\"a\":\"\\ud800\"}", 0, "low one" },
	{ "{\"a\":\"\\ud800\\u0041\"}", 0, "low one" },
	{ "{\"a\":\"\\udc00\"}", 0, "low surrogate" },
	{ "{\"a\":\"\\u0000\"}", 0, "\\u0000" },
	{ "{\"a\":\"tab\there\"}", 0, "control character" },
	{ "{\"a\":\"\xc3\"}", 0, "UTF-8" },
	{ "{\"a\":\"\xc0\x80\"}", 0, "UTF-8" },
	{ "{\"a\":\"\xe0\x80\xaf\"}", 0, "UTF-8" },
	{ "{\"a\":\"\xed\xa0\x80\"}", 0, "UTF-8" },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0, "UTF-8" },
	{ "{\"a\":\"\xff\"}", 0, "UTF-8" },
	{ "{\"a\":\"\x80\"}", 0, "UTF-8" },
	{ "{\"a\":1}x", 0, "after the object" },
	{ "{\"a\":1}{\"b\":2}", 0, "after the object" },
	{ "{\"a\":{}}", 0, "nested" },
	{ "{\"a\":[1]}", 0, "nested" },
	{ "{\"a\":1,\"a\":2}", 0, "twice" },
	{ "{\"a\":1}\0", 8, "after the object" },
	{ "{\"a\0\":1}", 8, "control character" },
	{ "{\"a\":1\0}", 8, "',' or '}'" },
	{ "\0{}", 3, "object is expected" },
};

START_TEST(test_malformed_refused)
{
	size_t len = bad[_i].len ? bad[_i].len : strlen(bad[_i].text);
	struct json_error e = { 0 };
	struct json_object o;
	char *t;

	ck_assert_msg(parse_n(bad[_i].text, len, &o, &e, &t) == -EINVAL, "case %d accepted", _i);
	ck_assert_ptr_nonnull(e.what);
	ck_assert_msg(strstr(e.what, bad[_i].what), "case %d: '%s' does not say '%s'", _i, e.what,
		      bad[_i].what);
	ck_assert_uint_le(e.at, len);
	free(t);
}
END_TEST

/* A valid request cut at every length is refused, and never read past the cut. */
START_TEST(test_every_prefix_refused)
{
	static const char full[] = "{\"id\":\"a\\u00e9\\ud83d\\ude00\",\"n\":-1.5e+3,\"t\":true,\"cmd\":\"pause\"}";
	struct json_object o;
	char *t;

	for (size_t n = 0; n < sizeof(full) - 1; n++) {
		ck_assert_msg(parse_n(full, n, &o, NULL, &t) == -EINVAL, "prefix of %zu accepted", n);
		free(t);
	}
	ck_assert_int_eq(parse(full, &o, NULL, &t), 0);
	free(t);
}
END_TEST

START_TEST(test_member_limit)
{
	char text[512];
	size_t n = 0;
	struct json_object o;
	char *t;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "{");
	for (int i = 0; i < JSON_MAX_MEMBERS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"m%d\":%d", i ? "," : "", i, i);
	snprintf(text + n, sizeof(text) - n, "}");
	ck_assert_int_eq(parse(text, &o, NULL, &t), 0);
	ck_assert_uint_eq(o.n, JSON_MAX_MEMBERS);
	free(t);
	snprintf(text + n, sizeof(text) - n, ",\"one\":1}");
	ck_assert_int_eq(parse(text, &o, NULL, &t), -EINVAL);
	free(t);
}
END_TEST

/* Deep nesting, long strings, long numbers: bounded, no recursion, no surprise. */
START_TEST(test_hostile_sizes)
{
	size_t n = 1 << 16;
	char *text = malloc(n + 32), *t;
	struct json_object o;
	struct json_error e;

	memset(text, '[', n);
	ck_assert_int_eq(parse_n(text, n, &o, &e, &t), -EINVAL);
	free(t);
	memcpy(text, "{\"a\":", 5);
	memset(text + 5, '{', n - 5);
	ck_assert_int_eq(parse_n(text, n, &o, &e, &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.what, "nested"));
	free(t);
	memcpy(text, "{\"a\":\"", 6);
	memset(text + 6, 'x', n - 6);
	memcpy(text + n, "\"}", 2);
	ck_assert_int_eq(parse_n(text, n + 2, &o, &e, &t), 0);
	ck_assert_uint_eq(json_get(&o, "a")->len, n - 6);
	free(t);
	memcpy(text, "{\"a\":", 5);
	memset(text + 5, '9', n - 5);
	text[n] = '}';
	ck_assert_int_eq(parse_n(text, n + 1, &o, &e, &t), 0);
	ck_assert_uint_eq(json_get(&o, "a")->len, n - 5);
	free(t);
	/* Escapes that decode to four bytes each, back to back: decoding in place keeps up. */
	n = 0;
	n += (size_t)sprintf(text, "{\"a\":\"");
	while (n < 60000)
		n += (size_t)sprintf(text + n, "\\ud83d\\ude00");
	n += (size_t)sprintf(text + n, "\"}");
	ck_assert_int_eq(parse_n(text, n, &o, &e, &t), 0);
	ck_assert_uint_eq(json_get(&o, "a")->len % 4, 0);
	free(t);
	free(text);
}
END_TEST

/* Random bytes and random mutations of a request: never accepted past the end, never crash. */
START_TEST(test_random_input)
{
	static const char seed[] = "{\"id\":\"x\\n\\u00e9\",\"cmd\":\"status\",\"n\":[1],\"z\":-0.5e3}";
	struct rng r = { 0x9e3779b97f4a7c15ULL };
	char buf[96], *t;
	struct json_object o;

	for (int i = 0; i < 20000; i++) {
		size_t n = rng_below(&r, sizeof(buf));

		if (i % 2) {
			for (size_t k = 0; k < n; k++)
				buf[k] = (char)rng_next(&r);
		} else {
			n = sizeof(seed) - 1;
			memcpy(buf, seed, n);
			for (int k = 0; k < 3; k++)
				buf[rng_below(&r, n)] = (char)rng_next(&r);
		}
		if (parse_n(buf, n, &o, NULL, &t) == 0) {
			ck_assert_uint_le(o.n, JSON_MAX_MEMBERS);
			for (unsigned int m = 0; m < o.n; m++)
				ck_assert(o.m[m].name >= t && o.m[m].name + o.m[m].name_len <= t + n);
		}
		free(t);
	}
}
END_TEST

START_TEST(test_utf8_sequences)
{
	ck_assert_uint_eq(json_utf8_seq((const uint8_t *)"A", 1), 1);
	ck_assert_uint_eq(json_utf8_seq((const uint8_t *)"\xc3\xa9", 2), 2);
	ck_assert_uint_eq(json_utf8_seq((const uint8_t *)"\xc3\xa9", 1), 0);
	ck_assert_uint_eq(json_utf8_seq((const uint8_t *)"\xef\xbf\xbf", 3), 3);
	ck_assert_uint_eq(json_utf8_seq((const uint8_t *)"\xf4\x8f\xbf\xbf", 4), 4);
	ck_assert_uint_eq(json_utf8_seq((const uint8_t *)"\xf0\x8f\xbf\xbf", 4), 0); /* overlong */
	ck_assert_uint_eq(json_utf8_seq((const uint8_t *)"\xed\xbf\xbf", 3), 0);     /* surrogate */
	ck_assert_uint_eq(json_utf8_seq((const uint8_t *)"", 0), 0);
}
END_TEST

/* ---- the writer ---- */

START_TEST(test_writer_structure)
{
	char buf[256];
	struct json_out o;

	json_out_init(&o, buf, sizeof(buf));
	json_begin(&o);
	json_key(&o, "id");
	json_raw(&o, "1.5e3", 5);
	json_key(&o, "ok");
	json_bool(&o, true);
	json_key(&o, "list");
	json_array_begin(&o);
	json_cstr(&o, "a");
	json_cstr(&o, "b");
	json_array_end(&o);
	json_key(&o, "o");
	json_begin(&o);
	json_key(&o, "n");
	json_uint(&o, 18446744073709551615ULL);
	json_key(&o, "i");
	json_int(&o, -5);
	json_end(&o);
	json_key(&o, "t");
	json_millis(&o, 12005);
	json_key(&o, "z");
	json_null(&o);
	json_end(&o);
	ck_assert(!o.overflow);
	ck_assert_str_eq(buf, "{\"id\":1.5e3,\"ok\":true,\"list\":[\"a\",\"b\"],\"o\":{\"n\":18446744073709551615,"
			      "\"i\":-5},\"t\":12.005,\"z\":null}");
}
END_TEST

START_TEST(test_writer_escapes)
{
	char buf[256];
	struct json_out o;

	json_out_init(&o, buf, sizeof(buf));
	json_str(&o, "q\"b\\n\nr\rt\t\x01\x1f\x7f\xc3\xa9\xff\xc3", 17);
	ck_assert(!o.overflow);
	ck_assert_str_eq(buf, "\"q\\\"b\\\\n\\nr\\rt\\t\\u0001\\u001f\\u007f\xc3\xa9\\ufffd\\ufffd\"");
}
END_TEST

/*
 * What the writer makes of any bytes reads back, through the reader, as a
 * valid string (but NUL, which it writes as \u0000 and the reader refuses).
 */
START_TEST(test_writer_output_parses)
{
	struct rng r = { 12345 };
	char in[64], buf[512];
	struct json_object o;
	struct json_out w;

	for (int i = 0; i < 5000; i++) {
		size_t n = rng_below(&r, sizeof(in));

		for (size_t k = 0; k < n; k++)
			in[k] = (char)(rng_next(&r) % 255 + 1);
		json_out_init(&w, buf, sizeof(buf));
		json_begin(&w);
		json_key(&w, "s");
		json_str(&w, in, n);
		json_end(&w);
		ck_assert(!w.overflow);
		ck_assert_msg(json_parse(buf, w.len, &o, NULL) == 0, "writer output refused");
		ck_assert_ptr_nonnull(json_get(&o, "s"));
	}
}
END_TEST

START_TEST(test_writer_overflow)
{
	char buf[24];
	struct json_out o;

	memset(buf, 'C', sizeof(buf));
	json_out_init(&o, buf, 16);
	json_begin(&o);
	json_key(&o, "long name");
	json_cstr(&o, "a value that cannot fit");
	json_end(&o);
	ck_assert(o.overflow);
	ck_assert_uint_lt(o.len, 16);
	ck_assert_int_eq(buf[o.len], 0);
	for (size_t i = 16; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 'C');
	json_out_init(&o, buf, 0);
	json_null(&o);
	ck_assert(o.overflow);
}
END_TEST

Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *rd = tcase_create("reader");
	TCase *wr = tcase_create("writer");

	tcase_add_test(rd, test_request_parses);
	tcase_add_test(rd, test_empty_object_and_literals);
	tcase_add_loop_test(rd, test_numbers_kept_as_written, 0, LEN(good_numbers));
	tcase_add_test(rd, test_escapes_decode);
	tcase_add_loop_test(rd, test_malformed_refused, 0, LEN(bad));
	tcase_add_test(rd, test_every_prefix_refused);
	tcase_add_test(rd, test_member_limit);
	tcase_add_test(rd, test_hostile_sizes);
	tcase_add_test(rd, test_random_input);
	tcase_add_test(rd, test_utf8_sequences);
	suite_add_tcase(s, rd);
	tcase_add_test(wr, test_writer_structure);
	tcase_add_test(wr, test_writer_escapes);
	tcase_add_test(wr, test_writer_output_parses);
	tcase_add_test(wr, test_writer_overflow);
	suite_add_tcase(s, wr);
	return s;
}
