#include "vmm/gm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/layout.h"

/*
 * KVM maps guest memory with 2 MiB pages only where the guest-physical and
 * host-virtual addresses agree modulo 2 MiB, so RAM starts on a 2 MiB
 * boundary (mmap aligns large mappings by itself only on recent kernels),
 * and asks for transparent huge pages where THP is in madvise mode: fewer
 * faults and TLB misses for the guest. Memory is still only taken when
 * touched.
 */
#define GM_ALIGN (2ULL << 20)
#define GM_PAGE 4096
#define GM_SAVE_RUN (1ULL << 20) /* gm_save(): pages written together, at most */

/*
 * `fd` -1: private anonymous memory; otherwise the file from offset 0,
 * shared (MAP_SHARED) or copy-on-write (MAP_PRIVATE).
 */
static uint8_t *map_aligned(uint64_t size, int fd, int file_flags)
{
	uint8_t *p, *start;
	uint64_t head;

	p = mmap(NULL, size + GM_ALIGN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (uint8_t *)(((uintptr_t)p + GM_ALIGN - 1) & ~(uintptr_t)(GM_ALIGN - 1));
	head = (uint64_t)(start - p);
	if (head)
		munmap(p, head);
	munmap(start + size, GM_ALIGN - head);
	/* The file goes over the aligned reservation, which it replaces. */
	if (fd >= 0 && mmap(start, size, PROT_READ | PROT_WRITE, file_flags | MAP_FIXED, fd, 0) ==
			       MAP_FAILED) {
		munmap(start, size);
		return NULL;
	}
	/* A hint, fine to fail. Not the first 2 MiB: every guest touches a few pages
	 * there at once (firmware alias, boot tables, real-mode stack), and a huge
	 * page would have the host zero all 2 MiB before the guest's first step. */
	if (size > GM_ALIGN)
		madvise(start + GM_ALIGN, size - GM_ALIGN, MADV_HUGEPAGE);
	return start;
}

static int check_size(uint64_t ram_size, uint64_t hole)
{
	if (ram_size == 0 || (ram_size & 0xfff) || hole <= LAYOUT_RAM_BASE ||
	    hole > LAYOUT_HIGH_RAM_BASE)
		return -EINVAL;
	return ram_size > (1ULL << 46) ? -ENOMEM : 0;
}

/*
 * Regions over the mapping: RAM from LAYOUT_RAM_BASE (0 on x86, 1 GiB on
 * arm64) up to the hole, the rest from LAYOUT_HIGH_RAM_BASE (4 GiB on x86).
 */
static void lay_out(struct gm *m, uint8_t *p, uint64_t ram_size, uint64_t hole)
{
	uint64_t low = hole - LAYOUT_RAM_BASE;

	m->map = p;
	m->map_size = ram_size;
	m->ram_size = ram_size;
	m->region[0] = (struct gm_region){ .gpa = LAYOUT_RAM_BASE, .size = ram_size < low ? ram_size : low,
					   .host = p };
	m->nr = 1;
	if (ram_size > low) {
		m->region[1] = (struct gm_region){ .gpa = LAYOUT_HIGH_RAM_BASE, .size = ram_size - low,
						   .host = m->map + low, .fd_offset = low };
		m->nr = 2;
	}
}

int gm_init(struct gm *m, uint64_t ram_size, uint64_t hole)
{
	int err = check_size(ram_size, hole);
	void *p;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (err)
		return err;
	p = map_aligned(ram_size, -1, 0);
	if (!p)
		return -ENOMEM;
	lay_out(m, p, ram_size, hole);
	return 0;
}

int gm_init_shared(struct gm *m, uint64_t ram_size, uint64_t hole)
{
	int err = check_size(ram_size, hole);
	void *p;
	int fd;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (err)
		return err;
	fd = memfd_create("ember-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)ram_size) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	p = map_aligned(ram_size, fd, MAP_SHARED);
	if (!p) {
		err = -errno;
		close(fd);
		return err ? err : -ENOMEM;
	}
	lay_out(m, p, ram_size, hole);
	m->shared = true;
	m->fd = fd;
	return 0;
}

int gm_init_file(struct gm *m, uint64_t ram_size, uint64_t hole, int fd)
{
	struct stat st;
	int err = check_size(ram_size, hole);
	void *p;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (err)
		return err;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* Pages past a short file's end would fault (SIGBUS) when the guest touches them. */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != ram_size)
		return -EINVAL;
	p = map_aligned(ram_size, fd, MAP_PRIVATE);
	if (!p)
		return -ENOMEM;
	lay_out(m, p, ram_size, hole);
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[GM_PAGE];

	return !memcmp(p, zero, GM_PAGE);
}

/* Write [off, off + len) of the mapping at the same offset of fd. */
static int write_run(const struct gm *m, int fd, uint64_t off, uint64_t len, uint64_t *written)
{
	while (len) {
		ssize_t n = pwrite(fd, m->map + off, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
		*written += (uint64_t)n;
	}
	return 0;
}

int gm_save(const struct gm *m, int fd, uint64_t *written)
{
	uint64_t run = 0, start = 0;
	int err = 0;

	*written = 0;
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)m->map_size) < 0)
		return -errno;
	for (uint64_t off = 0; off < m->map_size && !err; off += GM_PAGE) {
		if (!page_is_zero(m->map + off)) {
			if (!run)
				start = off;
			run += GM_PAGE;
			if (run < GM_SAVE_RUN)
				continue;
		}
		if (run)
			err = write_run(m, fd, start, run, written);
		run = 0;
	}
	if (!err && run)
		err = write_run(m, fd, start, run, written);
	return err;
}

void gm_destroy(struct gm *m)
{
	if (m->map)
		munmap(m->map, m->map_size);
	if (m->shared)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

void *gm_ptr(const struct gm *m, uint64_t gpa, uint64_t len)
{
	uint64_t last;

	if (len == 0 || __builtin_add_overflow(gpa, len - 1, &last))
		return NULL;
	for (unsigned int i = 0; i < m->nr; i++) {
		const struct gm_region *r = &m->region[i];

		/* r->size >= 1, so r->gpa + r->size - 1 cannot overflow for valid layouts. */
		if (gpa >= r->gpa && last <= r->gpa + (r->size - 1))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct gm *m, uint64_t gpa, void *dst, size_t len)
{
	void *p = gm_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct gm *m, uint64_t gpa, const void *src, size_t len)
{
	void *p = gm_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t gm_low_end(const struct gm *m)
{
	return m->nr ? m->region[0].size : 0;
}

uint64_t gm_resident(const struct gm *m)
{
	unsigned char vec[4096];
	uint64_t total = 0, chunk = sizeof(vec) * 4096ULL;

	for (uint64_t off = 0; off < m->map_size; off += chunk) {
		uint64_t len = m->map_size - off < chunk ? m->map_size - off : chunk;

		if (mincore(m->map + off, len, vec) < 0)
			return 0;
		for (uint64_t i = 0; i < (len + 4095) / 4096; i++)
			total += (vec[i] & 1) ? 4096 : 0;
	}
	return total;
}
