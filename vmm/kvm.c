#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/arch.h"
#include "vmm/log.h"

static const struct kvm_cap_need needed_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
};

/* 0 if KVM has every capability of caps[0..n), else -ENOTSUP, the first missing one logged. */
static int missing_cap(int fd, const struct kvm_cap_need *caps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_err("this KVM lacks %s, which Ember needs (kernel too old?)", caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

int kvm_open(int *kvm_fd)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), err, v;

	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			log_err("/dev/kvm does not exist: load kvm_intel or kvm_amd and enable "
				"virtualization in the firmware");
		else if (err == -EACCES || err == -EPERM)
			log_err("no permission to open /dev/kvm: add your user to the 'kvm' group "
				"or run as root");
		else
			log_err("cannot open /dev/kvm: %s", strerror(-err));
		return err;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		log_err("/dev/kvm speaks API version %d, Ember needs %d", v, KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	err = missing_cap(fd, needed_caps, sizeof(needed_caps) / sizeof(needed_caps[0]));
	if (!err)
		err = missing_cap(fd, arch_kvm_caps, arch_nr_kvm_caps);
	if (err) {
		close(fd);
		return err;
	}
	*kvm_fd = fd;
	return 0;
}
