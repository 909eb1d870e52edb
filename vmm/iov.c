#include "vmm/iov.h"

#include <string.h>

uint64_t iov_copy(const struct iovec *iov, unsigned int n, uint64_t off, void *buf, uint64_t len,
		  bool to_iov)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		uint64_t seg = iov[i].iov_len, k;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		k = seg - off < len - done ? seg - off : len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, (uint8_t *)buf + done, k);
		else
			memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

uint64_t iov_slice(const struct iovec *iov, unsigned int n, uint64_t skip, uint64_t len,
		   struct iovec *out, unsigned int max, unsigned int *nout)
{
	uint64_t got = 0;

	*nout = 0;
	for (unsigned int i = 0; i < n && got < len && *nout < max; i++) {
		uint64_t seg = iov[i].iov_len, k;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		k = seg - skip < len - got ? seg - skip : len - got;
		out[*nout].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[*nout].iov_len = k;
		(*nout)++;
		got += k;
		skip = 0;
	}
	return got;
}
