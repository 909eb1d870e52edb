#pragma once
/*
 * Guest notifications that never reach userspace on a vCPU thread: KVM
 * matches a guest write to an address (MMIO) or port (PIO) and signals an
 * eventfd instead of exiting (KVM_IOEVENTFD). The virtio transports bind
 * one per queue; the I/O thread reads them.
 */
#include <stdbool.h>
#include <stdint.h>

/*
 * Bind (assign) or unbind eventfd `fd` to guest writes of `len` bytes at
 * `addr` (a port when `pio`); `len` 0 matches writes of any width (see
 * ioeventfd_any_length()). A `vm_fd` < 0 (unit tests) does nothing.
 * Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int ioeventfd_set(int vm_fd, int fd, uint64_t addr,
						      uint32_t len, bool pio, bool assign);

/* Whether KVM matches writes of any width (KVM_CAP_IOEVENTFD_ANY_LENGTH). */
bool ioeventfd_any_length(int vm_fd);
