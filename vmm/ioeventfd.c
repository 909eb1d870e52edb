#include "vmm/ioeventfd.h"

#include <errno.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "vmm/layout.h"

int ioeventfd_set(int vm_fd, int fd, uint64_t addr, uint32_t len, bool pio, bool assign)
{
	/* Where ports are a window of memory (arm64), a port kick is a memory write there. */
	if (pio && LAYOUT_PORTS_MMIO) {
		addr += LAYOUT_PORTS_MMIO;
		pio = false;
	}
	struct kvm_ioeventfd e = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (vm_fd < 0)
		return 0;
	return ioctl(vm_fd, KVM_IOEVENTFD, &e) < 0 ? -errno : 0;
}

bool ioeventfd_any_length(int vm_fd)
{
	return vm_fd >= 0 && ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
}
