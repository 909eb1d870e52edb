#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

static const struct {
	int cap;
	const char *name;
} needed_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
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
	*kvm_fd = fd;
	return 0;
}

/*
 * The in-kernel local APIC emulates the TSC-deadline timer mode, but KVM
 * before Linux 6.14 leaves it out of the supported CPUID, because it
 * depends on that irqchip (which Ember always creates) and says so through
 * KVM_CAP_TSC_DEADLINE_TIMER instead. Without the bit a Linux guest programs
 * its timer through the APIC's count registers, a slower exit than KVM's
 * fast path for the deadline MSR, at every tick it stops or starts.
 */
static void add_tsc_deadline(int kvm_fd, struct kvm_cpuid2 *c)
{
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		return;
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= 1U << 24;
}

int kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out, unsigned int *cap)
{
	for (unsigned int n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (n + KVM_CPUID_SPARE) * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			add_tsc_deadline(kvm_fd, c);
			*out = c;
			*cap = c->nent + KVM_CPUID_SPARE;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}
