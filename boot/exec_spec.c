#include "boot/exec_spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static bool tag_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > EXEC_SPEC_MAX_TAG)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f || t[i] == '/')
			return false;
	return true;
}

/* Absolute, at most EXEC_SPEC_MAX_PATH bytes, no empty, "." or ".." component ("/" alone is fine). */
static bool path_ok(const char *p)
{
	size_t n = p ? strlen(p) : 0;

	if (n == 0 || n > EXEC_SPEC_MAX_PATH || p[0] != '/')
		return false;
	if (n == 1)
		return true;
	for (const char *c = p + 1;;) {
		const char *end = strchr(c, '/');
		size_t len = end ? (size_t)(end - c) : strlen(c);

		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!end)
			return true;
		c = end + 1;
	}
}

static bool module_ok(const char *m)
{
	const size_t dl = strlen(EXEC_SPEC_MODULE_DIR);
	const char *f;

	if (!m || strncmp(m, EXEC_SPEC_MODULE_DIR, dl) != 0)
		return false;
	f = m + dl;
	return *f && !strchr(f, '/') && strlen(f) <= 255 && strcmp(f, ".") && strcmp(f, "..");
}

int exec_spec_check(const struct exec_spec *s, const char **why)
{
	if (!tag_ok(s->root))
		return fail(why, "root tag missing, empty, longer than 36 bytes or with '/' or control bytes");
	if (s->cwd && !path_ok(s->cwd))
		return fail(why, "cwd is not a clean absolute path");
	if (s->nshares > EXEC_SPEC_MAX_SHARES)
		return fail(why, "too many shares");
	for (size_t i = 0; i < s->nshares; i++) {
		if (!tag_ok(s->shares[i].tag))
			return fail(why, "share tag empty, longer than 36 bytes or with '/' or control bytes");
		if (!path_ok(s->shares[i].dir) || !strcmp(s->shares[i].dir, "/"))
			return fail(why, "share dir is not a clean absolute path below /");
	}
	if (s->nmodules > EXEC_SPEC_MAX_MODULES)
		return fail(why, "too many modules");
	for (size_t i = 0; i < s->nmodules; i++)
		if (!module_ok(s->modules[i]))
			return fail(why, "module is not a file name directly under /lib/modules/");
	if (s->nenv > EXEC_SPEC_MAX_ENV)
		return fail(why, "too many environment entries");
	for (size_t i = 0; i < s->nenv; i++) {
		const char *eq = s->env[i] ? strchr(s->env[i], '=') : NULL;

		if (!eq || eq == s->env[i])
			return fail(why, "environment entry is not NAME=VALUE");
	}
	if (s->nargs == 0)
		return fail(why, "no command (argv is empty)");
	if (s->nargs > EXEC_SPEC_MAX_ARGS)
		return fail(why, "too many arguments");
	for (size_t i = 0; i < s->nargs; i++)
		if (!s->argv[i])
			return fail(why, "argument missing");
	if (!s->argv[0][0])
		return fail(why, "argv[0] is empty");
	return 0;
}

/* Writer: `buf` NULL counts the bytes only. */
struct out {
	char *buf;
	size_t len;
};

static void emit(struct out *o, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);

	if (o->buf) {
		memcpy(o->buf + o->len, key, kl);
		o->buf[o->len + kl] = '=';
		memcpy(o->buf + o->len + kl + 1, value, vl);
		o->buf[o->len + kl + 1 + vl] = '\0';
	}
	o->len += kl + vl + 2;
}

static void emit_all(const struct exec_spec *s, struct out *o)
{
	emit(o, "ember-exec", "1");
	emit(o, "root", s->root);
	for (size_t i = 0; i < s->nshares; i++) {
		emit(o, "share", s->shares[i].tag);
		emit(o, "dir", s->shares[i].dir);
		emit(o, "mode", s->shares[i].readonly ? "ro" : "rw");
	}
	for (size_t i = 0; i < s->nmodules; i++)
		emit(o, "module", s->modules[i]);
	if (s->cwd)
		emit(o, "cwd", s->cwd);
	for (size_t i = 0; i < s->nenv; i++)
		emit(o, "env", s->env[i]);
	for (size_t i = 0; i < s->nargs; i++)
		emit(o, "arg", s->argv[i]);
	emit(o, "end", "");
}

int exec_spec_write(const struct exec_spec *s, char **out, size_t *len, const char **why)
{
	struct out o = { 0 };
	int err = exec_spec_check(s, why);

	*out = NULL;
	*len = 0;
	if (err)
		return err;
	/* Counting cannot overflow: at most ~5,300 strings, each shorter than the address space. */
	emit_all(s, &o);
	if (o.len > EXEC_SPEC_MAX_BYTES) {
		*why = "description larger than 1 MiB (arguments and environment too long)";
		return -E2BIG;
	}
	o.buf = malloc(o.len);
	if (!o.buf)
		return -ENOMEM;
	o.len = 0;
	emit_all(s, &o);
	*out = o.buf;
	*len = o.len;
	return 0;
}

/* One record; `st` is 1 after share= (dir= must follow), 2 after dir= (mode= must follow). */
static int parse_record(const char *key, size_t kl, const char *val, struct exec_spec *s, int *st,
			const char **why)
{
#define KEY(k) (kl == sizeof(k) - 1 && !memcmp(key, k, kl))
	struct exec_share *sh = s->nshares ? &s->shares[s->nshares - 1] : NULL;

	if (*st == 1 || *st == 2) {
		if (*st == 1 && KEY("dir"))
			sh->dir = val;
		else if (*st == 2 && KEY("mode") && (!strcmp(val, "ro") || !strcmp(val, "rw")))
			sh->readonly = !strcmp(val, "ro");
		else
			return fail(why, "share= not followed by dir= and mode=ro|rw");
		*st = *st == 1 ? 2 : 0;
	} else if (KEY("root")) {
		if (s->root)
			return fail(why, "root= given twice");
		s->root = val;
	} else if (KEY("share")) {
		if (s->nshares == EXEC_SPEC_MAX_SHARES)
			return fail(why, "too many shares");
		s->shares[s->nshares++].tag = val;
		*st = 1;
	} else if (KEY("module")) {
		if (s->nmodules == EXEC_SPEC_MAX_MODULES)
			return fail(why, "too many modules");
		s->modules[s->nmodules++] = val;
	} else if (KEY("cwd")) {
		if (s->cwd)
			return fail(why, "cwd= given twice");
		s->cwd = val;
	} else if (KEY("env")) {
		if (s->nenv == EXEC_SPEC_MAX_ENV)
			return fail(why, "too many environment entries");
		s->env[s->nenv++] = val;
	} else if (KEY("arg")) {
		if (s->nargs == EXEC_SPEC_MAX_ARGS)
			return fail(why, "too many arguments");
		s->argv[s->nargs++] = val;
	} else {
		return fail(why, "unknown key");
	}
	return 0;
#undef KEY
}

int exec_spec_parse(const char *buf, size_t len, struct exec_spec *s, const char **why)
{
	const size_t ml = sizeof(EXEC_SPEC_MAGIC); /* with its NUL */
	bool ended = false;
	int st = 0;

	memset(s, 0, sizeof(*s));
	if (len > EXEC_SPEC_MAX_BYTES)
		return fail(why, "description larger than 1 MiB");
	if (len < ml || memcmp(buf, EXEC_SPEC_MAGIC, ml) != 0)
		return fail(why, "does not start with ember-exec=1");
	for (size_t off = ml; off < len;) {
		const char *rec = buf + off, *nul = memchr(rec, '\0', len - off);
		const char *eq;

		if (!nul)
			return fail(why, "truncated: last record has no terminating NUL");
		if (ended)
			return fail(why, "data after end=");
		eq = memchr(rec, '=', (size_t)(nul - rec));
		if (!eq)
			return fail(why, "record without '='");
		if (eq - rec == 3 && !memcmp(rec, "end", 3) && eq + 1 == nul && !st) {
			ended = true;
		} else {
			int err = parse_record(rec, (size_t)(eq - rec), eq + 1, s, &st, why);

			if (err)
				return err;
		}
		off += (size_t)(nul - rec) + 1;
	}
	if (!ended)
		return fail(why, "truncated: no end= record");
	return exec_spec_check(s, why);
}
