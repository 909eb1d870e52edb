#pragma once
/*
 * The snapshot state file: a versioned, checksummed container of sections
 * (docs/snapshot.md). This module knows the container only; what a section
 * holds is vmm/snapshot.c's business.
 *
 *   header   32 bytes: "EMBERSNP", u32 version, u32 sections, u64 file
 *            length, u32 CRC-32 of the 24 bytes before it, u32 zero
 *   section  24 bytes: u32 type, u32 index, u64 length, u32 CRC-32 of the
 *            16 bytes before it and the payload, u32 zero; then the payload,
 *            zero-padded to 8 bytes (non-zero padding is refused)
 *
 * Little-endian, as the only hosts that can restore it are. The file is
 * input like any other the user gives: parsing checks every length, offset
 * and checksum before a byte of a section is used.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAPFILE_VERSION 1
#define SNAPFILE_MAX_SECTIONS 1024
#define SNAPFILE_MAX_SIZE (64ULL << 20) /* the state file, without RAM */
#define SNAPFILE_WHY_MAX 160

struct snapfile_section {
	uint32_t type, index;
	const uint8_t *data; /* into the parsed buffer */
	uint64_t len;
};

/* A parsed file: sections point into the caller's buffer, which must outlive it. */
struct snapfile {
	unsigned int n;
	struct snapfile_section sec[SNAPFILE_MAX_SECTIONS];
};

/*
 * Check and index `buf`: magic, version, length, every checksum, no two
 * sections with the same type and index, types 1..max_type only. Returns 0,
 * or -EINVAL/-EBADMSG/-EPROTO (a version this build does not read) with the
 * cause in `why` (naming the section).
 */
__attribute__((warn_unused_result)) int snapfile_parse(struct snapfile *f, const void *buf,
						       size_t len, uint32_t max_type,
						       char why[SNAPFILE_WHY_MAX]);

/* The section (type, index), or NULL. */
const struct snapfile_section *snapfile_find(const struct snapfile *f, uint32_t type,
					     uint32_t index);

/* Copy section (type, index) of exactly `len` bytes into dst: 0, -ENOENT or -EBADMSG (its size). */
__attribute__((warn_unused_result)) int snapfile_get(const struct snapfile *f, uint32_t type,
						     uint32_t index, void *dst, size_t len);

/* Builds a file in memory; errors are sticky and reported by snapfile_finish(). */
struct snapfile_writer {
	uint8_t *buf;
	size_t len, cap;
	unsigned int n;
	int err;
};

void snapfile_writer_init(struct snapfile_writer *w);
void snapfile_add(struct snapfile_writer *w, uint32_t type, uint32_t index, const void *data,
		  size_t len);
/* Fill in the header: 0 with the file in w->buf[0, w->len), or the first error (-errno). */
__attribute__((warn_unused_result)) int snapfile_finish(struct snapfile_writer *w);
void snapfile_writer_free(struct snapfile_writer *w);
