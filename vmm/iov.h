#pragma once
/*
 * Byte ranges of an iovec list (a descriptor chain's segments, a frame's
 * receive buffers): the one place that walks them, for virtqueues, disks
 * and NICs alike.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * Copy up to `len` bytes between `buf` and the list's bytes from `off` on:
 * into the list when `to_iov`, out of it otherwise. Stops at the list's
 * end. Returns the bytes copied.
 */
uint64_t iov_copy(const struct iovec *iov, unsigned int n, uint64_t off, void *buf, uint64_t len,
		  bool to_iov);

/*
 * Describe bytes [skip, skip + len) of the list as at most `max` iovecs in
 * `out` (pointing into the same memory; nothing is copied). Stops at the
 * list's end or at `max` entries. Sets *nout and returns the bytes covered.
 */
uint64_t iov_slice(const struct iovec *iov, unsigned int n, uint64_t skip, uint64_t len,
		   struct iovec *out, unsigned int max, unsigned int *nout);
