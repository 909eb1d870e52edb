#include "vmm/irq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/irqchip.h"

static int kvm_line(int vm_fd, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = irqchip_line(gsi), .level = (uint32_t)level };

	if (vm_fd < 0)
		return 0;
	return ioctl(vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

/* A shared pin is driven only when the OR of its sources changes. */
static int shared_set(const struct irq_line *l, int level)
{
	struct irq_router *r = l->shared;
	uint64_t bit = 1ULL << l->source, *mask = &r->pin_asserted[l->gsi];
	bool was, now;
	int err = 0;

	pthread_mutex_lock(&r->pin_lock);
	was = *mask != 0;
	*mask = level ? *mask | bit : *mask & ~bit;
	now = *mask != 0;
	if (was != now)
		err = kvm_line(l->vm_fd, l->gsi, now);
	pthread_mutex_unlock(&r->pin_lock);
	return err;
}

int irq_set(const struct irq_line *l, int level)
{
	if (l->shared)
		return shared_set(l, level);
	return kvm_line(l->vm_fd, l->gsi, level);
}

int irq_router_init(struct irq_router *r, int vm_fd)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	r->next_gsi = IRQ_IOAPIC_PINS;
	err = -pthread_mutex_init(&r->lock, NULL);
	if (err)
		return err;
	err = -pthread_mutex_init(&r->pin_lock, NULL);
	if (err)
		pthread_mutex_destroy(&r->lock);
	return err;
}

void irq_router_destroy(struct irq_router *r)
{
	pthread_mutex_destroy(&r->pin_lock);
	pthread_mutex_destroy(&r->lock);
}

int irq_router_line(struct irq_router *r, uint32_t gsi, struct irq_line *l)
{
	int err = 0;

	if (gsi >= IRQ_IOAPIC_PINS)
		return -EINVAL;
	pthread_mutex_lock(&r->pin_lock);
	if (r->pin_sources[gsi] == IRQ_PIN_SOURCES)
		err = -ENOSPC;
	else
		*l = (struct irq_line){ .vm_fd = r->vm_fd, .gsi = gsi, .shared = r,
					.source = r->pin_sources[gsi]++ };
	pthread_mutex_unlock(&r->pin_lock);
	return err;
}

int irq_router_alloc(struct irq_router *r, unsigned int n)
{
	int first = -ENOSPC;

	pthread_mutex_lock(&r->lock);
	if (n <= IRQ_IOAPIC_PINS + IRQ_MSI_MAX - r->next_gsi) {
		first = (int)r->next_gsi;
		r->next_gsi += n;
	}
	pthread_mutex_unlock(&r->lock);
	return first;
}

/* The wired pins' routes, as KVM sets them up by default (vmm/irqchip.h), then ours. */
static int push_locked(struct irq_router *r)
{
	size_t max = IRQCHIP_DEFAULT_ROUTES_MAX + IRQ_MSI_MAX;
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + max * sizeof(t->entries[0]));
	int err = 0;

	if (!t)
		return -ENOMEM;
	t->nr = irqchip_default_routes(t->entries);
	for (uint32_t i = 0; i < IRQ_MSI_MAX; i++) {
		if (!r->msi_valid[i])
			continue;
		struct kvm_irq_routing_entry *e = &t->entries[t->nr++];

		/* An ITS (arm64) tells MSIs apart by the requester id of the function. */
		*e = (struct kvm_irq_routing_entry){ .gsi = IRQ_IOAPIC_PINS + i,
						      .type = KVM_IRQ_ROUTING_MSI,
						      .flags = irqchip_msi_devid ? KVM_MSI_VALID_DEVID : 0 };
		e->u.msi = r->msi[i];
	}
	r->pushes++;
	if (r->vm_fd >= 0 && ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		err = -errno;
	free(t);
	return err;
}

int irq_router_set_msi(struct irq_router *r, uint32_t gsi, uint64_t addr, uint32_t data,
		       uint32_t devid, bool valid)
{
	uint32_t i = gsi - IRQ_IOAPIC_PINS;
	int err;

	if (gsi < IRQ_IOAPIC_PINS || i >= IRQ_MSI_MAX)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	r->msi[i] = (struct kvm_irq_routing_msi){
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data,
		.devid = irqchip_msi_devid ? devid : 0
	};
	r->msi_valid[i] = valid;
	err = push_locked(r);
	pthread_mutex_unlock(&r->lock);
	return err;
}

int irq_irqfd(int vm_fd, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	if (vm_fd < 0)
		return 0;
	return ioctl(vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}
