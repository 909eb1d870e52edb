#pragma once
/* Read-only whole-file mappings for kernels, initrds and firmware. */
#include <stddef.h>

struct file_map {
	void *data;
	size_t size;
};

/*
 * Map `path` read-only. Fails with a logged message naming the file and
 * -errno: -ENOENT, -EACCES, -EISDIR (not a regular file), -ENODATA (empty),
 * -EFBIG (larger than `max`).
 */
__attribute__((warn_unused_result)) int file_map(const char *path, const char *what, size_t max,
						 struct file_map *f);
void file_unmap(struct file_map *f);
