#include "vmm/snapfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAGIC "EMBERSNP"
#define HEADER_LEN 32
#define SECTION_LEN 24

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* CRC-32 of [p, p + len), continuing from `c` (0 to start). */
static uint32_t crc_more(uint32_t c, const uint8_t *p, uint64_t len)
{
	/* zlib takes uInt lengths: feed it in slices. */
	while (len) {
		uInt n = len > (1U << 30) ? (1U << 30) : (uInt)len;

		c = (uint32_t)crc32(c, p, n);
		p += n;
		len -= n;
	}
	return c;
}

static uint32_t crc(const uint8_t *p, uint64_t len)
{
	return crc_more(0, p, len);
}

/*
 * A section's checksum covers its type, index and length as well as its
 * payload: a flipped bit in the section header must not turn one section
 * into another (or move it to an index nothing else has) unnoticed.
 */
static uint32_t section_crc(const uint8_t *h, const uint8_t *data, uint64_t len)
{
	return crc_more(crc(h, 16), data, len);
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static uint64_t pad8(uint64_t n)
{
	return (n + 7) & ~7ULL;
}

static int check_header(const uint8_t *b, size_t len, uint32_t *nsec, char *why)
{
	if (len < HEADER_LEN || memcmp(b, MAGIC, 8)) {
		snprintf(why, SNAPFILE_WHY_MAX, "not an Ember snapshot (no EMBERSNP header)");
		return -EINVAL;
	}
	if (crc(b, 24) != get32(b + 24) || get32(b + 28)) {
		snprintf(why, SNAPFILE_WHY_MAX, "the header is damaged (checksum)");
		return -EBADMSG;
	}
	if (get32(b + 8) != SNAPFILE_VERSION) {
		snprintf(why, SNAPFILE_WHY_MAX, "format version %u, this Ember reads version %u",
			 get32(b + 8), SNAPFILE_VERSION);
		return -EPROTO;
	}
	if (get64(b + 16) != len) {
		snprintf(why, SNAPFILE_WHY_MAX, "truncated or extended: %zu bytes, the header says %llu",
			 len, (unsigned long long)get64(b + 16));
		return -EBADMSG;
	}
	*nsec = get32(b + 12);
	if (*nsec > SNAPFILE_MAX_SECTIONS) {
		snprintf(why, SNAPFILE_WHY_MAX, "%u sections (at most %u)", *nsec,
			 SNAPFILE_MAX_SECTIONS);
		return -EBADMSG;
	}
	return 0;
}

/* Section i at *off: checked and recorded; *off moves past it. */
static int parse_section(struct snapfile *f, const uint8_t *b, size_t len, uint64_t *off,
			 uint32_t max_type, char *why)
{
	unsigned int i = f->n;
	struct snapfile_section *s = &f->sec[i];
	const uint8_t *h = b + *off;

	if (len - *off < SECTION_LEN) {
		snprintf(why, SNAPFILE_WHY_MAX, "section %u: cut off", i);
		return -EBADMSG;
	}
	s->type = get32(h);
	s->index = get32(h + 4);
	s->len = get64(h + 8);
	*off += SECTION_LEN;
	if (get32(h + 20) || s->len > len - *off || pad8(s->len) > len - *off) {
		snprintf(why, SNAPFILE_WHY_MAX, "section %u (type %u): bad length %llu", i, s->type,
			 (unsigned long long)s->len);
		return -EBADMSG;
	}
	s->data = b + *off;
	if (section_crc(h, s->data, s->len) != get32(h + 16)) {
		snprintf(why, SNAPFILE_WHY_MAX, "section %u (type %u, index %u): checksum mismatch",
			 i, s->type, s->index);
		return -EBADMSG;
	}
	/* The padding is covered by no checksum: only zeros leave nothing to hide in it. */
	if (!all_zero(s->data + s->len, pad8(s->len) - s->len)) {
		snprintf(why, SNAPFILE_WHY_MAX, "section %u (type %u, index %u): padding not zero",
			 i, s->type, s->index);
		return -EBADMSG;
	}
	if (s->type == 0 || s->type > max_type) {
		snprintf(why, SNAPFILE_WHY_MAX, "section %u: unknown type %u", i, s->type);
		return -EBADMSG;
	}
	if (snapfile_find(f, s->type, s->index)) {
		snprintf(why, SNAPFILE_WHY_MAX, "section %u: type %u, index %u twice", i, s->type,
			 s->index);
		return -EBADMSG;
	}
	*off += pad8(s->len);
	f->n++;
	return 0;
}

int snapfile_parse(struct snapfile *f, const void *buf, size_t len, uint32_t max_type,
		   char why[SNAPFILE_WHY_MAX])
{
	const uint8_t *b = buf;
	uint64_t off = HEADER_LEN;
	uint32_t nsec;
	int err;

	f->n = 0;
	why[0] = '\0';
	err = check_header(b, len, &nsec, why);
	while (!err && f->n < nsec)
		err = parse_section(f, b, len, &off, max_type, why);
	if (!err && off != len) {
		snprintf(why, SNAPFILE_WHY_MAX, "%llu bytes after the last section",
			 (unsigned long long)(len - off));
		err = -EBADMSG;
	}
	if (err)
		f->n = 0;
	return err;
}

const struct snapfile_section *snapfile_find(const struct snapfile *f, uint32_t type,
					     uint32_t index)
{
	for (unsigned int i = 0; i < f->n; i++)
		if (f->sec[i].type == type && f->sec[i].index == index)
			return &f->sec[i];
	return NULL;
}

int snapfile_get(const struct snapfile *f, uint32_t type, uint32_t index, void *dst, size_t len)
{
	const struct snapfile_section *s = snapfile_find(f, type, index);

	if (!s)
		return -ENOENT;
	if (s->len != len)
		return -EBADMSG;
	if (len) /* an empty section may be read into no buffer (NULL) */
		memcpy(dst, s->data, len);
	return 0;
}

void snapfile_writer_init(struct snapfile_writer *w)
{
	*w = (struct snapfile_writer){ 0 };
	snapfile_add(w, 0, 0, NULL, 0); /* room for the header: see reserve() */
}

static int reserve(struct snapfile_writer *w, size_t more)
{
	size_t want;
	uint8_t *p;

	if (more > SNAPFILE_MAX_SIZE || w->len > SNAPFILE_MAX_SIZE - more)
		return -EFBIG;
	want = w->len + more;
	if (want <= w->cap)
		return 0;
	if (want < 2 * w->cap)
		want = 2 * w->cap;
	p = realloc(w->buf, want);
	if (!p)
		return -ENOMEM;
	w->buf = p;
	w->cap = want;
	return 0;
}

void snapfile_add(struct snapfile_writer *w, uint32_t type, uint32_t index, const void *data,
		  size_t len)
{
	bool header = !w->buf;
	size_t need = header ? HEADER_LEN : SECTION_LEN + pad8(len);
	uint8_t *h;

	if (w->err)
		return;
	/* Before pad8(): a length near SIZE_MAX would wrap it to a small `need`. */
	if (len > SNAPFILE_MAX_SIZE) {
		w->err = -EFBIG;
		return;
	}
	w->err = reserve(w, need);
	if (w->err)
		return;
	h = w->buf + w->len;
	memset(h, 0, need);
	w->len += need;
	if (header)
		return;
	if (w->n == SNAPFILE_MAX_SECTIONS) {
		w->err = -E2BIG;
		return;
	}
	put32(h, type);
	put32(h + 4, index);
	put64(h + 8, len);
	if (len)
		memcpy(h + SECTION_LEN, data, len);
	put32(h + 16, section_crc(h, h + SECTION_LEN, len));
	w->n++;
}

int snapfile_finish(struct snapfile_writer *w)
{
	if (w->err)
		return w->err;
	memcpy(w->buf, MAGIC, 8);
	put32(w->buf + 8, SNAPFILE_VERSION);
	put32(w->buf + 12, w->n);
	put64(w->buf + 16, w->len);
	put32(w->buf + 24, crc(w->buf, 24));
	put32(w->buf + 28, 0);
	return 0;
}

void snapfile_writer_free(struct snapfile_writer *w)
{
	free(w->buf);
	*w = (struct snapfile_writer){ 0 };
}
