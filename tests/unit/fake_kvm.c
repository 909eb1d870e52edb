/* A fake KVM VM fd for unit tests: see fake_kvm.h. */
#include "tests/unit/fake_kvm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAKE_GSIS 64

/* Test-only state: one fake VM per test process. */
static struct {
	int fd;
	int level[FAKE_GSIS];
	unsigned int line_calls[FAKE_GSIS];
	unsigned int routing_pushes;
} fake = { .fd = -1 };

int fake_kvm_open(void)
{
	memset(&fake, 0, sizeof(fake));
	memset(fake.level, 0xff, sizeof(fake.level));
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
