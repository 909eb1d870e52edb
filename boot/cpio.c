#include "boot/cpio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HDR_SIZE 110 /* "070701" and 13 fields of 8 hex digits */

struct entry {
	const char *name;
	uint32_t mode; /* type and permissions */
	uint32_t nlink;
	uint32_t rmajor, rminor;
	const void *data;
	size_t size;
};

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
}

void cpio_free(struct cpio *c)
{
	free(c->buf);
	cpio_init(c);
}

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CPIO_MAX_NAME)
		return 0;
	for (const char *p = name;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!end)
			return 1;
		p = end + 1;
	}
}

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

/* Make room for `more` bytes, doubling the buffer. */
static int reserve(struct cpio *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 4096;
	uint8_t *nb;

	if (more > CPIO_MAX_SIZE || c->len + more > CPIO_MAX_SIZE)
		return -EFBIG;
	if (c->len + more <= c->cap)
		return 0;
	while (cap < c->len + more)
		cap *= 2;
	nb = realloc(c->buf, cap);
	if (!nb)
		return -ENOMEM;
	c->buf = nb;
	c->cap = cap;
	return 0;
}

static int append(struct cpio *c, const struct entry *e, uint32_t ino)
{
	size_t nl = strlen(e->name) + 1;
	size_t total = HDR_SIZE + nl + pad4(HDR_SIZE + nl) + e->size + pad4(e->size);
	char hdr[HDR_SIZE + 1];
	int err;

	if (e->size > UINT32_MAX)
		return -EFBIG;
	err = reserve(c, total);
	if (err)
		return err;
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, e->mode, 0u, 0u, e->nlink, 0u, (uint32_t)e->size, 0u, 0u, e->rmajor,
		 e->rminor, (uint32_t)nl, 0u);
	memcpy(c->buf + c->len, hdr, HDR_SIZE);
	memcpy(c->buf + c->len + HDR_SIZE, e->name, nl);
	memset(c->buf + c->len + HDR_SIZE + nl, 0, pad4(HDR_SIZE + nl));
	c->len += HDR_SIZE + nl + pad4(HDR_SIZE + nl);
	if (e->size)
		memcpy(c->buf + c->len, e->data, e->size);
	memset(c->buf + c->len + e->size, 0, pad4(e->size));
	c->len += e->size + pad4(e->size);
	return 0;
}

static int add(struct cpio *c, const struct entry *e)
{
	int err;

	if (c->finished || !name_ok(e->name))
		return -EINVAL;
	err = append(c, e, c->ino + 1);
	if (!err)
		c->ino++;
	return err;
}

int cpio_add_dir(struct cpio *c, const char *name, unsigned int mode)
{
	struct entry e = { .name = name, .mode = S_IFDIR | mode, .nlink = 2 };

	return mode > 07777 ? -EINVAL : add(c, &e);
}

int cpio_add_file(struct cpio *c, const char *name, unsigned int mode, const void *data,
		  size_t size)
{
	struct entry e = { .name = name, .mode = S_IFREG | mode, .nlink = 1, .data = data,
			   .size = size };

	return mode > 07777 ? -EINVAL : add(c, &e);
}

int cpio_add_chardev(struct cpio *c, const char *name, unsigned int mode, unsigned int major,
		     unsigned int minor)
{
	struct entry e = { .name = name, .mode = S_IFCHR | mode, .nlink = 1, .rmajor = major,
			   .rminor = minor };

	return mode > 07777 ? -EINVAL : add(c, &e);
}

int cpio_finish(struct cpio *c)
{
	struct entry e = { .name = "TRAILER!!!", .nlink = 1 };
	int err;

	if (c->finished)
		return -EINVAL;
	err = append(c, &e, 0);
	if (!err)
		c->finished = 1;
	return err;
}
