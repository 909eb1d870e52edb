#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/arch.h"
#include "vmm/log.h"

static const struct {
	int cap;
	const char *name;
} needed_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
};

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
	for (size_t i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, needed_caps[i].cap) <= 0) {
			log_err("this KVM lacks %s, which Ember needs (kernel too old?)",
				needed_caps[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	err = arch_kvm_check(fd);
	if (err) {
		close(fd);
		return err;
	}
	*kvm_fd = fd;
	return 0;
}
