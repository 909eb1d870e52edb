#include "vmm/irq.h"

#include <errno.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

int irq_set(const struct irq_line *l, int level)
{
	struct kvm_irq_level irq = { .irq = l->gsi, .level = (uint32_t)level };

	if (l->vm_fd < 0)
		return 0;
	return ioctl(l->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}
