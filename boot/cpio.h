#pragma once
/*
 * A writer of "newc" cpio archives (magic 070701), the format the Linux
 * kernel unpacks as an initramfs, into a growable memory buffer. Entries
 * get uid/gid 0, mtime 0 and increasing inode numbers; every header and
 * every file body is padded to 4 bytes.
 */
#include <stddef.h>
#include <stdint.h>

#define CPIO_MAX_SIZE (1024u << 20) /* whole archive */
#define CPIO_MAX_NAME 4095	     /* bytes of a name, without its NUL */

struct cpio {
	uint8_t *buf; /* owned; cpio_free() releases it */
	size_t len;
	size_t cap;
	uint32_t ino;
	int finished; /* the trailer is written: no more entries */
};

void cpio_init(struct cpio *c);
void cpio_free(struct cpio *c);

/*
 * Append an entry. `name` is relative ("dev", "lib/modules/x.ko"): not
 * empty, no leading or doubled '/', no "." or ".." component, at most
 * CPIO_MAX_NAME bytes. `mode` holds permission bits only (<= 07777).
 * 0, -EINVAL (bad name or mode, or after cpio_finish), -EFBIG (a body over
 * 4 GiB - 1 or the archive over CPIO_MAX_SIZE), -ENOMEM. On failure the
 * archive is unchanged.
 */
__attribute__((warn_unused_result)) int cpio_add_dir(struct cpio *c, const char *name,
						     unsigned int mode);
__attribute__((warn_unused_result)) int cpio_add_file(struct cpio *c, const char *name,
						      unsigned int mode, const void *data,
						      size_t size);
/* A character device node (e.g. dev/console, 5:1). */
__attribute__((warn_unused_result)) int cpio_add_chardev(struct cpio *c, const char *name,
							 unsigned int mode, unsigned int major,
							 unsigned int minor);

/* Append the TRAILER!!! entry; the archive in c->buf/c->len is then complete. */
__attribute__((warn_unused_result)) int cpio_finish(struct cpio *c);
