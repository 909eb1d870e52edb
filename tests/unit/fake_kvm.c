/* A fake KVM VM fd for unit tests: see fake_kvm.h. */
#include "tests/unit/fake_kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAKE_GSIS 64
#define FAKE_FDS  1024

/* Test-only state: one fake VM per test process. */
static struct {
	int fd;
	int level[FAKE_GSIS];
	unsigned int line_calls[FAKE_GSIS];
	unsigned int routing_pushes;
	int irqfd_gsi[FAKE_FDS]; /* by eventfd, -1: not bound */
} fake = { .fd = -1 };

int fake_kvm_open(void)
{
	memset(&fake, 0, sizeof(fake));
	memset(fake.level, 0xff, sizeof(fake.level));
	memset(fake.irqfd_gsi, 0xff, sizeof(fake.irqfd_gsi));
	fake.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fake.fd;
}

void fake_kvm_close(int fd)
{
	if (fd >= 0 && fd == fake.fd)
		fake.fd = -1;
	if (fd >= 0)
		close(fd);
}

int fake_kvm_level(uint32_t gsi)
{
	return gsi < FAKE_GSIS ? fake.level[gsi] : -1;
}

unsigned int fake_kvm_line_calls(uint32_t gsi)
{
	return gsi < FAKE_GSIS ? fake.line_calls[gsi] : 0;
}

int fake_kvm_irqfd_gsi(int fd)
{
	return fd >= 0 && fd < FAKE_FDS ? fake.irqfd_gsi[fd] : -1;
}

unsigned int fake_kvm_routing_pushes(void)
{
	return fake.routing_pushes;
}

static int fake_ioctl(unsigned long req, void *arg)
{
	if (req == KVM_IRQ_LINE) {
		const struct kvm_irq_level *l = arg;

		if (l->irq < FAKE_GSIS) {
			fake.level[l->irq] = (int)l->level;
			fake.line_calls[l->irq]++;
		}
	} else if (req == KVM_SET_GSI_ROUTING) {
		fake.routing_pushes++;
	} else if (req == KVM_IRQFD) {
		const struct kvm_irqfd *f = arg;
		bool deassign = f->flags & KVM_IRQFD_FLAG_DEASSIGN;

		if (f->fd >= FAKE_FDS)
			return 0;
		if (deassign ? fake.irqfd_gsi[f->fd] != (int)f->gsi : fake.irqfd_gsi[f->fd] >= 0) {
			errno = deassign ? ENOENT : EBUSY; /* as KVM: one GSI per eventfd */
			return -1;
		}
		fake.irqfd_gsi[f->fd] = deassign ? -1 : (int)f->gsi;
	}
	return 0; /* KVM_CHECK_EXTENSION: 0, no capability; the rest succeed */
}

/* Every ioctl() of the unit binary comes here (glibc's prototype). */
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd >= 0 && fd == fake.fd)
		return fake_ioctl(req, arg);
	return (int)syscall(SYS_ioctl, fd, req, arg);
}
