#pragma once
/*
 * Inside the qcow2 engine: the state vmm/qcow2.c (open, validation, reads) and
 * vmm/qcow2_write.c (allocation, refcounts, writes) share. Not for other
 * modules: they use vmm/qcow2.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* struct qcow2 is defined here; the public calls are in vmm/qcow2.h. */


#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_RESERVE_RUNS 64		/* runs of reserved clusters, at most */
#define QCOW2_RESERVE_FIRST 64		/* clusters the first reservation takes, at most */
#define QCOW2_RESERVE_MOST (64ull << 20)	/* bytes the largest takes, grown by doubling */
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull /* host offset in L1 and L2 entries */
#define QCOW2_COPIED (1ull << 63)		/* refcount is exactly 1: write in place */
#define QCOW2_COMPRESSED (1ull << 62)
#define QCOW2_ZERO 1ull				/* version 3: the cluster reads as zeros */
#define QCOW2_L1_RESERVED 0x7f000000000001ffull
#define QCOW2_L2_RESERVED 0x3f000000000001feull
#define QCOW2_RT_RESERVED 0x1ffull
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_RT_BYTES (8u << 20)
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau /* header extension: "raw", "qcow2", ... */

/* Header fields the engine rewrites (byte offsets). */
#define QCOW2_HDR_SIZE 24
#define QCOW2_HDR_L1_SIZE 36
#define QCOW2_HDR_L1_OFFSET 40
#define QCOW2_HDR_RT_OFFSET 48

struct qcow2 {
	int fd;
	bool writable;
	bool own_fd; /* a backing file this engine opened */
	unsigned int version;
	unsigned int cluster_bits;
	unsigned int l2_bits;	     /* entries per L2 table = 1 << l2_bits */
	unsigned int rb_bits;	     /* entries per refcount block (16-bit refcounts) */
	uint64_t cs;		     /* cluster size */
	uint64_t size;		     /* virtual disk size */
	uint64_t file_size;	     /* bytes in the file, grown by allocation */
	uint64_t l1_off;
	uint32_t l1_size;
	uint64_t *l1; /* host byte order */
	uint64_t rt_off;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt;	  /* host byte order; loaded for writable opens only */
	uint64_t free_lo; /* lowest cluster index that may have refcount 0 */
	bool unsynced;	  /* metadata written since the last fdatasync */
	/* Data clusters whose refcount (1) is already raised and synced, not used yet:
	 * an allocating write takes one with no barrier of its own (qcow2_write.c).
	 * Runs [resv_first, resv_runs) of clusters that follow one another in the file,
	 * taken in file order; bit 0 of `off`: past the old end of the file (zeros). */
	struct {
		uint64_t off, n;
	} resv[QCOW2_RESERVE_RUNS];
	unsigned int resv_first, resv_runs;
	uint64_t resv_want; /* clusters the next reservation takes (0: not set yet) */

	uint64_t *l2;	 /* one cached L2 table, entries big-endian as on disk */
	uint64_t l2_off; /* 0: none cached */
	uint16_t *rb;	 /* one cached refcount block, big-endian */
	uint64_t rb_off;
	uint8_t *zbuf; /* the last inflated compressed cluster */
	uint64_t zbuf_entry;
	bool zbuf_valid;
	uint8_t *cbuf; /* compressed bytes: up to two clusters */
	struct ZSTD_DCtx_s *zstd; /* compression type 1 (zstd) only; NULL with zlib */
	uint8_t *tmp;  /* one cluster for copy-on-write and new refcount blocks */
	uint8_t *zeros; /* one cluster of zeros */

	bool has_backing;
	struct qcow2 *bq; /* qcow2 backing file, or NULL */
	int bfd;	  /* raw backing file, or -1 */
	uint64_t bsize;	  /* bytes the backing file provides */
};

/* preadv() (pwritev() when `write`) all of bytes [pos, pos + len) of the list at `host`. */
int qcow2_pv(int fd, bool write, const struct iovec *iov, unsigned int niov, uint64_t pos,
	     uint64_t len, uint64_t host);

/* Read or write exactly `len` bytes at `off`: -EIO on a short transfer. */
int qcow2_pread(int fd, void *buf, size_t len, uint64_t off);
int qcow2_pwrite(int fd, const void *buf, size_t len, uint64_t off);

/* 0 when [off, off + len) may hold a cluster the tables point at: inside the file, past the
 * header cluster, clear of the L1 and refcount tables; `aligned` also asks cluster alignment. */
int qcow2_check_host(const struct qcow2 *q, uint64_t off, uint64_t len, bool aligned);

/* Make the L2 table at `off` the cached one (validated first). */
int qcow2_load_l2(struct qcow2 *q, uint64_t off);

/* The L2 entry for virtual offset `vpos` (0 when its L2 table is not allocated). */
int qcow2_lookup(struct qcow2 *q, uint64_t vpos, uint64_t *entry);

/* Read `n` bytes at `vpos` (all inside one cluster) as L2 entry `e` describes them. */
int qcow2_read_entry(struct qcow2 *q, uint64_t e, uint64_t vpos, uint8_t *buf, size_t n);

/* The host clusters a compressed entry occupies: [*first, *first + *count). */
void qcow2_compressed_span(const struct qcow2 *q, uint64_t e, uint64_t *first, uint64_t *count);
