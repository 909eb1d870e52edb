#include "boot/modules.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WALK_MAX_DEPTH 8	   /* directory levels below DIR */
#define INDEX_MAX 100000	   /* module files under DIR */
#define LIST_FILE_MAX (16u << 20) /* modules.builtin, modules.dep */
#define DEPENDS_MAX 4096

static const char *const suffixes[] = { ".ko", ".ko.xz", ".ko.zst" };

struct entry {
	char name[MODULES_NAME_MAX + 1]; /* '-' written as '_' */
	char *rel;			 /* path below DIR */
	bool compressed, visiting, done;
};

struct resolver {
	const char *dir;
	char *builtin, *dep; /* NUL-terminated file contents, NULL when absent */
	struct entry *idx;
	size_t nidx, cap;
	const char *chain[MODULES_MAX_DEPTH];
	struct modules_list *out;
	char *why;
	size_t whylen;
};

__attribute__((format(printf, 3, 4))) static int say(struct resolver *r, int err, const char *fmt,
						    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, r->whylen, fmt, ap);
	va_end(ap);
	return err;
}

/* Whole file, NUL-terminated, at most `max` bytes; -errno. */
static int slurp(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	*out = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EISDIR;
	else if ((unsigned long long)st.st_size > max)
		err = -EFBIG;
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		err = -ENOMEM;
	while (!err && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? -errno : -EIO; /* shrank while read */
		else
			got += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[got] = '\0';
	*out = buf;
	if (len)
		*len = got;
	return 0;
}

/* A module name from a file path ("kernel/fs/fuse/fuse.ko.xz" -> "fuse"); false if not a module file. */
static bool name_of(const char *path, size_t plen, char name[MODULES_NAME_MAX + 1], bool *compressed)
{
	const char *base = path;
	size_t n;

	for (size_t i = 0; i < plen; i++)
		if (path[i] == '/')
			base = path + i + 1;
	n = plen - (size_t)(base - path);
	for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); s++) {
		size_t sl = strlen(suffixes[s]);

		if (n > sl && n - sl <= MODULES_NAME_MAX && !memcmp(base + n - sl, suffixes[s], sl)) {
			for (size_t i = 0; i < n - sl; i++)
				name[i] = base[i] == '-' ? '_' : base[i];
			name[n - sl] = '\0';
			if (compressed)
				*compressed = s > 0;
			return true;
		}
	}
	return false;
}

static int index_add(struct resolver *r, const char *rel)
{
	struct entry e = { 0 };

	if (!name_of(rel, strlen(rel), e.name, &e.compressed))
		return 0;
	if (r->nidx == INDEX_MAX)
		return say(r, -E2BIG, "more than %d module files under %s", INDEX_MAX, r->dir);
	if (r->nidx == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct entry *n = realloc(r->idx, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->idx = n;
		r->cap = cap;
	}
	e.rel = strdup(rel);
	if (!e.rel)
		return -ENOMEM;
	r->idx[r->nidx++] = e;
	return 0;
}

/* Index every module file below DIR/rel ("" for DIR itself). */
static int walk(struct resolver *r, const char *rel, int depth)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent *d;
	DIR *dh;
	int err = 0;

	if (snprintf(path, sizeof(path), "%s/%s", r->dir, rel) >= (int)sizeof(path))
		return say(r, -ENAMETOOLONG, "path too long under %s", r->dir);
	dh = opendir(path);
	if (!dh)
		return say(r, -errno, "cannot read the modules directory %s: %s", path, strerror(errno));
	while (!err && (d = readdir(dh))) {
		unsigned char type = d->d_type;
		struct stat st;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", d->d_name) >=
		    (int)sizeof(sub))
			continue;
		if (type == DT_UNKNOWN)
			type = fstatat(dirfd(dh), d->d_name, &st, AT_SYMLINK_NOFOLLOW) ? DT_UNKNOWN
			       : S_ISDIR(st.st_mode)				      ? DT_DIR
			       : S_ISREG(st.st_mode)				      ? DT_REG
										      : DT_UNKNOWN;
		if (type == DT_DIR && depth < WALK_MAX_DEPTH)
			err = walk(r, sub, depth + 1);
		else if (type == DT_REG)
			err = index_add(r, sub);
	}
	closedir(dh);
	return err;
}

static struct entry *lookup(struct resolver *r, const char *name)
{
	struct entry *best = NULL;

	for (size_t i = 0; i < r->nidx; i++)
		if (!strcmp(r->idx[i].name, name) && (!best || strcmp(r->idx[i].rel, best->rel) < 0))
			best = &r->idx[i];
	return best;
}

static bool builtin(const struct resolver *r, const char *name)
{
	char n[MODULES_NAME_MAX + 1];

	for (const char *l = r->builtin; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);

		if (name_of(l, len, n, NULL) && !strcmp(n, name))
			return true;
		l += len + (end ? 1 : 0);
	}
	return false;
}

/* The dependencies of a compressed module, from its modules.dep line, as "a,b". */
static int moddep_depends(struct resolver *r, const struct entry *e, char *out, size_t outlen)
{
	size_t rl = strlen(e->rel), o = 0;

	for (const char *l = r->dep; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);

		if (len > rl && !memcmp(l, e->rel, rl) && l[rl] == ':') {
			for (const char *p = l + rl + 1; p < l + len;) {
				char n[MODULES_NAME_MAX + 1];
				size_t wl = strcspn(p, " \n");

				if (wl > (size_t)(l + len - p))
					wl = (size_t)(l + len - p);
				if (wl && name_of(p, wl, n, NULL)) {
					int w = snprintf(out + o, outlen - o, "%s%s", o ? "," : "", n);

					if (w < 0 || (size_t)w >= outlen - o)
						return say(r, -E2BIG, "%s: too many dependencies in modules.dep", e->rel);
					o += (size_t)w;
				}
				p += wl + 1;
			}
			out[o] = '\0';
			return 0;
		}
		l += len + (end ? 1 : 0);
	}
	return say(r, -ENOTSUP,
		   "%s/%s is compressed, so its dependencies cannot be read from it, and %s/modules.dep "
		   "has no line for it: run depmod, or use uncompressed modules",
		   r->dir, e->rel, r->dir);
}

static int read_depends(struct resolver *r, const struct entry *e, char *out, size_t outlen)
{
	char path[PATH_MAX], *data;
	const char *why;
	size_t len;
	int err;

	if (e->compressed)
		return moddep_depends(r, e, out, outlen);
	snprintf(path, sizeof(path), "%s/%s", r->dir, e->rel);
	err = slurp(path, MODULES_FILE_MAX, &data, &len);
	if (err)
		return say(r, err, "cannot read module %s: %s", path, strerror(-err));
	err = modules_elf_depends(data, len, out, outlen, &why);
	free(data);
	if (err)
		return say(r, err == -ERANGE || err == -ENOENT ? -ENOEXEC : err, "module %s: %s", path,
			   why);
	return 0;
}

static bool name_ok(const char *n, size_t len)
{
	if (len == 0 || len > MODULES_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		      (n[i] >= '0' && n[i] <= '9') || n[i] == '_' || n[i] == '-'))
			return false;
	return true;
}

static int chain_error(struct resolver *r, int err, const char *what, size_t depth, const char *last)
{
	char chain[(MODULES_NAME_MAX + 4) * (MODULES_MAX_DEPTH + 1) + 1];
	size_t o = 0;

	chain[0] = '\0';
	for (size_t i = 0; i < depth; i++)
		o += (size_t)snprintf(chain + o, sizeof(chain) - o, "%s -> ", r->chain[i]);
	snprintf(chain + o, sizeof(chain) - o, "%s", last);
	return say(r, err, "%s: %s", what, chain);
}

static int resolve(struct resolver *r, const char *want, size_t wlen, size_t depth)
{
	char name[MODULES_NAME_MAX + 1], deps[DEPENDS_MAX];
	struct entry *e;
	int err;

	if (!name_ok(want, wlen))
		return say(r, -EINVAL, "invalid module name '%.*s'", (int)(wlen > 64 ? 64 : wlen), want);
	for (size_t i = 0; i < wlen; i++)
		name[i] = want[i] == '-' ? '_' : want[i];
	name[wlen] = '\0';
	if (builtin(r, name))
		return 0;
	e = lookup(r, name);
	if (!e)
		return say(r, -ENOENT,
			   "module %s is neither built in (modules.builtin) nor found as %s.ko, "
			   ".ko.xz or .ko.zst under %s",
			   name, name, r->dir);
	if (e->done)
		return 0;
	if (e->visiting)
		return chain_error(r, -ELOOP, "dependency loop", depth, name);
	if (depth == MODULES_MAX_DEPTH)
		return chain_error(r, -ELOOP, "dependency chain deeper than 16", depth, name);
	err = read_depends(r, e, deps, sizeof(deps));
	if (err)
		return err;
	r->chain[depth] = e->name;
	e->visiting = true;
	for (const char *p = deps; *p && !err;) {
		size_t len = strcspn(p, ",");

		err = resolve(r, p, len, depth + 1);
		p += len + (p[len] ? 1 : 0);
	}
	e->visiting = false;
	if (err)
		return err;
	if (r->out->n == MODULES_MAX)
		return say(r, -E2BIG, "more than %d module files needed", MODULES_MAX);
	if (asprintf(&r->out->path[r->out->n], "%s/%s", r->dir, e->rel) < 0)
		return -ENOMEM;
	r->out->n++;
	e->done = true;
	return 0;
}

static int load_list(struct resolver *r, const char *file, char **out)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", r->dir, file);
	err = slurp(path, LIST_FILE_MAX, out, NULL);
	if (err == -ENOENT)
		return 0;
	if (err)
		return say(r, err, "cannot read %s: %s", path, strerror(-err));
	/* A NUL inside would end the text early: harmless, the rest is ignored. */
	return 0;
}

int modules_resolve(const char *dir, const char *const *names, size_t nnames,
		    struct modules_list *out, char *why, size_t whylen)
{
	struct resolver r = { .dir = dir, .out = out, .why = why, .whylen = whylen };
	int err;

	memset(out, 0, sizeof(*out));
	if (whylen)
		why[0] = '\0';
	err = load_list(&r, "modules.builtin", &r.builtin);
	if (!err)
		err = load_list(&r, "modules.dep", &r.dep);
	if (!err)
		err = walk(&r, "", 0);
	for (size_t i = 0; i < nnames && !err; i++)
		err = resolve(&r, names[i], strlen(names[i]), 0);
	if (err == -ENOMEM)
		say(&r, err, "out of memory resolving modules under %s", dir);
	for (size_t i = 0; i < r.nidx; i++)
		free(r.idx[i].rel);
	free(r.idx);
	free(r.builtin);
	free(r.dep);
	return err;
}

void modules_list_free(struct modules_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->path[i]);
	l->n = 0;
}

static int elf_fail(const char **why, int err, const char *reason)
{
	*why = reason;
	return err;
}

static bool in_file(const Elf64_Shdr *sh, size_t size)
{
	return sh->sh_offset <= size && sh->sh_size <= size - sh->sh_offset;
}

int modules_elf_depends(const void *data, size_t size, char *out, size_t outlen, const char **why)
{
	const char *p = data, *strtab, *mi;
	Elf64_Ehdr eh;
	Elf64_Shdr sh, ss;

	if (size < sizeof(eh))
		return elf_fail(why, -ENOEXEC, "too short for an ELF header");
	memcpy(&eh, p, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return elf_fail(why, -ENOEXEC, "not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_type != ET_REL || eh.e_machine != EM_X86_64)
		return elf_fail(why, -ENOEXEC, "not an ELF64 little-endian x86-64 relocatable object");
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shnum >= SHN_LORESERVE ||
	    eh.e_shoff > size || (size - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum)
		return elf_fail(why, -ENOEXEC, "section header table missing or outside the file");
	if (eh.e_shstrndx >= eh.e_shnum)
		return elf_fail(why, -ENOEXEC, "section name table index out of range");
	memcpy(&ss, p + eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof(ss));
	if (ss.sh_type != SHT_STRTAB || !in_file(&ss, size))
		return elf_fail(why, -ENOEXEC, "section name table outside the file");
	strtab = p + ss.sh_offset;
	for (size_t i = 0; i < eh.e_shnum; i++) {
		memcpy(&sh, p + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof(sh));
		if (sh.sh_name >= ss.sh_size || !memchr(strtab + sh.sh_name, '\0', ss.sh_size - sh.sh_name))
			return elf_fail(why, -ENOEXEC, "section name outside the name table");
		if (strcmp(strtab + sh.sh_name, ".modinfo"))
			continue;
		if (sh.sh_type != SHT_PROGBITS || !in_file(&sh, size))
			return elf_fail(why, -ENOEXEC, ".modinfo section outside the file");
		mi = p + sh.sh_offset;
		for (size_t o = 0; o < sh.sh_size;) {
			const char *s = mi + o, *nul = memchr(s, '\0', sh.sh_size - o);
			size_t len = nul ? (size_t)(nul - s) : sh.sh_size - o;

			if (len >= 8 && !memcmp(s, "depends=", 8)) {
				if (len - 8 >= outlen)
					return elf_fail(why, -ERANGE, "depends= value too long");
				memcpy(out, s + 8, len - 8);
				out[len - 8] = '\0';
				return 0;
			}
			o += len + 1;
		}
		if (outlen)
			out[0] = '\0';
		return 0;
	}
	return elf_fail(why, -ENOENT, "no .modinfo section (not a kernel module)");
}
