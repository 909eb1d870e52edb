#pragma once
/*
 * qcow2 images: a synchronous format engine over a file descriptor. One call
 * at a time: the caller serialises every call on one struct qcow2 (no locks
 * inside). All functions return 0 or -errno; -EIO means the image itself is
 * malformed (an offset outside the file, a table that overlaps another, a
 * refcount out of range), never that memory outside a buffer was touched.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct qcow2;

struct qcow2_open_opts {
	/* The image's path, to resolve a relative backing file name as QEMU does (beside the
	 * image). NULL: taken from /proc/self/fd. */
	const char *path;
	/* Ignore the backing file: clusters the image does not hold read as zeros. */
	bool no_backing;
};

/*
 * Parse and validate the qcow2 image on `fd` (opened O_RDWR when `writable`),
 * open its backing chain read-only (each file locked as a reader), and store a
 * new engine in *q. The caller keeps `fd` (open and locked) until
 * qcow2_close(). `o` may be NULL. On failure `why` (may be NULL) says what is
 * wrong and what to do: -EINVAL not a valid qcow2 image, -EOPNOTSUPP a feature
 * this engine does not handle, -EROFS fine read-only but not for writing,
 * -ELOOP a backing chain that loops or is deeper than 16, -EBUSY a backing
 * file locked by a writer, other -errno from the system. The header is never
 * rewritten by opening.
 */
__attribute__((warn_unused_result)) int qcow2_open(struct qcow2 **q, int fd, bool writable,
						   const struct qcow2_open_opts *o, char *why,
						   size_t whylen);

/*
 * Give back the clusters the engine reserved for allocating writes and did
 * not use (their refcounts back to 0, synced), so that a clean close leaves
 * no leaked cluster. qcow2_close() does it too; call it first where the
 * closing thread may not write the image (a seccomp policy). 0 or -errno.
 */
__attribute__((warn_unused_result)) int qcow2_release_reserved(struct qcow2 *q);

/* Close the engine and its backing chain; `fd` stays open (the caller's). NULL is fine. */
void qcow2_close(struct qcow2 *q);

/* Size of the virtual disk in bytes. */
uint64_t qcow2_virtual_size(const struct qcow2 *q);

/* Bytes per cluster (a power of two, 512 to 2 MiB). */
uint32_t qcow2_cluster_size(const struct qcow2 *q);

/*
 * Read `len` bytes of the virtual disk at `offset` into `buf`: clusters the
 * image does not hold come from the backing file (zeros past its end or
 * without one). -EINVAL when the range passes the end of the disk.
 */
__attribute__((warn_unused_result)) int qcow2_read(struct qcow2 *q, uint64_t offset, void *buf,
						   size_t len);

#define QCOW2_MAX_IOV 1024 /* iovecs in one qcow2_readv() (UIO_MAXIOV) */

/*
 * qcow2_read() into an iovec list of `len` bytes (at most QCOW2_MAX_IOV
 * entries), reading allocated clusters straight into it: clusters that
 * follow one another in the file go in one preadv(), with no copy.
 */
__attribute__((warn_unused_result)) int qcow2_readv(struct qcow2 *q, uint64_t offset,
						    const struct iovec *iov, unsigned int niov,
						    uint64_t len);

/*
 * Where [offset, offset + len) lies in the image file, when all of it is in
 * allocated clusters (not compressed, not zero, not the backing file's) that
 * follow one another in the file (up to 4 MiB): *host is that file offset,
 * and a reader may preadv() it as it pleases until the next call that
 * writes. *host is 0 otherwise (qcow2_readv() then reads it). 0 or -errno
 * (-EINVAL: past the end of the disk, or len 0; -EIO: malformed tables).
 */
__attribute__((warn_unused_result)) int qcow2_map(struct qcow2 *q, uint64_t offset, uint64_t len,
						  uint64_t *host);

/*
 * qcow2_map() with no I/O and no change to the engine: *host is 0 also when
 * an L2 table the range needs is not the one cached, or the range is longer
 * than 4 MiB. *zero instead says that the whole range reads as zeros with
 * no I/O (zero clusters, or unallocated ones with nothing below). The one
 * call that may run on another thread than the others, while none of them
 * runs (the disk layer's I/O thread, while its worker is idle). 0 or
 * -EINVAL (past the end of the disk, or len 0).
 */
__attribute__((warn_unused_result)) int qcow2_map_cached(const struct qcow2 *q, uint64_t offset,
							 uint64_t len, uint64_t *host, bool *zero);

/*
 * Write `len` bytes at `offset`: clusters are allocated (copied on write from
 * the backing file, compressed or zero clusters) at the end of the file or
 * where a refcount is 0. Metadata is ordered so that a crash at any point
 * leaves at worst leaked clusters; the data itself is durable only after
 * qcow2_flush(). -EROFS when not opened writable.
 */
__attribute__((warn_unused_result)) int qcow2_write(struct qcow2 *q, uint64_t offset,
						    const void *buf, size_t len);

/*
 * qcow2_write() from an iovec list of `len` bytes (at most QCOW2_MAX_IOV
 * entries), written to the file straight from it: clusters that follow one
 * another in the file go in one pwritev(). The engine does nothing with
 * the bytes but write them, so a caller whose buffers may change meanwhile
 * (a guest's) gets at worst a mix of old and new bytes in the range.
 */
__attribute__((warn_unused_result)) int qcow2_writev(struct qcow2 *q, uint64_t offset,
						     const struct iovec *iov, unsigned int niov,
						     uint64_t len);

/* Make everything written so far durable (fdatasync). */
__attribute__((warn_unused_result)) int qcow2_flush(struct qcow2 *q);

/*
 * Make [offset, offset + len) read as zeros. Whole clusters become zero
 * clusters (version 3) or unallocated (version 2 without a backing file),
 * their host clusters freed; other bytes are written as zeros.
 */
__attribute__((warn_unused_result)) int qcow2_write_zeroes(struct qcow2 *q, uint64_t offset,
							   uint64_t len);

/*
 * Discard: whole clusters in the range read as zeros afterwards and their host
 * clusters are freed (as qcow2_write_zeroes); partial clusters are left as
 * they are.
 */
__attribute__((warn_unused_result)) int qcow2_discard(struct qcow2 *q, uint64_t offset,
						      uint64_t len);

/*
 * Grow the virtual disk to `size` bytes (never shrinks: -EINVAL), moving the
 * L1 table to a larger one when it no longer covers the disk. -EROFS when not
 * opened writable.
 */
__attribute__((warn_unused_result)) int qcow2_grow(struct qcow2 *q, uint64_t size);

/*
 * Turn the empty regular file on `fd` (opened for writing) into a qcow2 image
 * of version 3 with 64 KiB clusters, a virtual disk of `size` bytes (a
 * multiple of 512, at most 2 PiB) that holds no cluster of its own: every
 * read goes to the backing file `backing` (1 to 1023 bytes; an absolute name
 * such as "/proc/self/fd/7" is used as it is, a relative one is resolved
 * beside the image), whose format `backing_fmt` ("raw" or "qcow2") is
 * recorded so that it is never probed. Synced (fdatasync) before returning;
 * open it with qcow2_open(). 0, -EINVAL for a bad size, name or format or a
 * file that is not a regular one, -EEXIST when the file is not empty, other
 * -errno from writing.
 */
__attribute__((warn_unused_result)) int qcow2_create_overlay(int fd, uint64_t size,
							     const char *backing,
							     const char *backing_fmt);
