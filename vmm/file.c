#include "vmm/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/log.h"

int file_map(const char *path, const char *what, size_t max, struct file_map *f)
{
	struct stat st;
	int fd, err = 0;

	f->data = NULL;
	f->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_err("cannot open %s '%s': %s", what, path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		log_err("%s '%s' is not a regular file", what, path);
		err = -EISDIR;
	} else if (st.st_size == 0) {
		log_err("%s '%s' is empty", what, path);
		err = -ENODATA;
	} else if ((unsigned long long)st.st_size > max) {
		log_err("%s '%s' is too large (%lld bytes, at most %zu)", what, path,
			(long long)st.st_size, max);
		err = -EFBIG;
	} else {
		f->data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (f->data == MAP_FAILED) {
			err = -errno;
			f->data = NULL;
			log_err("cannot map %s '%s': %s", what, path, strerror(-err));
		} else {
			f->size = (size_t)st.st_size;
		}
	}
	close(fd);
	return err;
}

void file_unmap(struct file_map *f)
{
	if (f->data)
		munmap(f->data, f->size);
	f->data = NULL;
	f->size = 0;
}
