#pragma once
/*
 * A Linux tap device as a network backend: frames are read and written with
 * a 12-byte virtio-net header in front (IFF_VNET_HDR), so the guest's
 * offload metadata passes through untouched.
 */
#include <stdbool.h>

/*
 * Attach to tap `name`, creating it (for this process's lifetime) if it
 * does not exist. Logs a clear message and returns -errno on failure:
 * no /dev/net/tun, no permission, tap busy, name too long.
 */
__attribute__((warn_unused_result)) int tap_open(const char *name, int *fd);

/* Tell the tap which offloads the guest accepts on receive (TUN_F_* bits). */
int tap_set_offload(int fd, unsigned int tun_flags);
