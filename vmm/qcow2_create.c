/*
 * qcow2 images: creating an empty overlay over a backing file (layout: vmm/qcow2.c).
 *
 * The overlay is what `qemu-img create -f qcow2 -b BACKING -F FMT IMG SIZE` writes, minus the
 * optional feature-name table: version 3, 64 KiB clusters, 16-bit refcounts, zlib. Clusters:
 *   0            header, the backing format extension, the end of extensions, the backing name
 *   1            refcount table: one entry, the refcount block at cluster 2
 *   2            refcount block: 1 for clusters 0, 1, 2 and each cluster of the L1 table
 *   3 .. 3+n-1   L1 table, all zeros: every guest cluster comes from the backing file
 * The caller opens it with qcow2_open() afterwards; nothing here keeps state.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/qcow2.h"
#include "vmm/qcow2_impl.h"

#define CLUSTER_BITS	 16
#define CS		 (1ull << CLUSTER_BITS)
#define HEADER_LEN	 112 /* the 104 bytes of version 3, the compression type, padding to 8 */
#define RT_CLUSTER	 1
#define RB_CLUSTER	 2
#define L1_CLUSTER	 3
#define MAX_BACKING_NAME 1023 /* what QEMU and qcow2_open() accept */

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/* Entries the L1 table needs for `size` bytes: one per L2 table of CS / 8 clusters. */
static uint64_t l1_entries(uint64_t size)
{
	unsigned int shift = CLUSTER_BITS + (CLUSTER_BITS - 3);

	return (size >> shift) + !!(size & ((1ull << shift) - 1)); /* rounded up, no overflow */
}

/* Refuse what QEMU or qcow2_open() would: the L1 table's size bounds the disk's. */
static int check_args(uint64_t size, const char *backing, const char *backing_fmt)
{
	size_t n;

	if (!size || size % 512 || l1_entries(size) * 8 > QCOW2_MAX_L1_BYTES)
		return -EINVAL;
	if (!backing || !backing_fmt)
		return -EINVAL;
	n = strlen(backing);
	if (!n || n > MAX_BACKING_NAME)
		return -EINVAL;
	if (strcmp(backing_fmt, "raw") != 0 && strcmp(backing_fmt, "qcow2") != 0)
		return -EINVAL;
	return 0;
}

/* Cluster 0: the header, the backing format extension, the end marker, the backing name. */
static void build_header(uint8_t *c, uint64_t size, uint32_t l1_size, const char *backing,
			 const char *backing_fmt)
{
	uint32_t flen = (uint32_t)strlen(backing_fmt), blen = (uint32_t)strlen(backing);
	uint64_t ext = HEADER_LEN, name = ext + 8 + ((flen + 7u) & ~7u) + 8;

	memset(c, 0, CS);
	put32(c, QCOW2_MAGIC);
	put32(c + 4, 3);
	put64(c + 8, name);
	put32(c + 16, blen);
	put32(c + 20, CLUSTER_BITS);
	put64(c + QCOW2_HDR_SIZE, size);
	put32(c + QCOW2_HDR_L1_SIZE, l1_size);
	put64(c + QCOW2_HDR_L1_OFFSET, L1_CLUSTER * CS);
	put64(c + QCOW2_HDR_RT_OFFSET, RT_CLUSTER * CS);
	put32(c + 56, 1);	    /* refcount table clusters */
	put32(c + 96, 4);	    /* refcount_order: 16-bit refcounts */
	put32(c + 100, HEADER_LEN); /* byte 104, compression type 0: zlib */
	put32(c + ext, QCOW2_EXT_BACKING_FORMAT);
	put32(c + ext + 4, flen);
	memcpy(c + ext + 8, backing_fmt, flen); /* the end marker after it is zeros */
	memcpy(c + name, backing, blen);
}

/* Clusters 0-2 from one zeroed buffer, then the L1 table's zeros by extending the file. */
static int write_image(int fd, uint8_t *c, uint64_t size, const char *backing,
		       const char *backing_fmt)
{
	uint64_t l1 = l1_entries(size), l1_clusters = (l1 * 8 + CS - 1) / CS;
	int err;

	build_header(c, size, (uint32_t)l1, backing, backing_fmt);
	err = qcow2_pwrite(fd, c, CS, 0);
	if (err)
		return err;
	memset(c, 0, CS);
	put64(c, RB_CLUSTER * CS);
	err = qcow2_pwrite(fd, c, CS, RT_CLUSTER * CS);
	if (err)
		return err;
	memset(c, 0, CS);
	for (uint64_t i = 0; i < L1_CLUSTER + l1_clusters; i++)
		((uint16_t *)c)[i] = htobe16(1);
	err = qcow2_pwrite(fd, c, CS, RB_CLUSTER * CS);
	if (err)
		return err;
	if (ftruncate(fd, (off_t)((L1_CLUSTER + l1_clusters) * CS)) < 0)
		return -errno;
	return fdatasync(fd) < 0 ? -errno : 0;
}

int qcow2_create_overlay(int fd, uint64_t size, const char *backing, const char *backing_fmt)
{
	struct stat st;
	uint8_t *c;
	int err = check_args(size, backing, backing_fmt);

	if (err)
		return err;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size)
		return -EEXIST; /* never overwrite what is there */
	c = malloc(CS);
	if (!c)
		return -ENOMEM;
	err = write_image(fd, c, size, backing, backing_fmt);
	free(c);
	return err;
}
