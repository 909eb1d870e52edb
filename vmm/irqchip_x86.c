/* The in-kernel PICs and I/O APIC (vmm/irqchip.h). */
#include "vmm/irqchip.h"

#include <linux/kvm.h>

#include "vmm/irq.h"

const bool irqchip_msi_devid = false;

static void route(struct kvm_irq_routing_entry *e, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	*e = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP };
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* KVM's defaults: GSIs 0-15 on the PICs (but the cascade), 0-23 on the I/O APIC. */
unsigned int irqchip_default_routes(struct kvm_irq_routing_entry *e)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < 16; i++)
		if (i != 2) /* pin 2 of the master PIC is the cascade */
			route(&e[n++], i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, i % 8);
	for (uint32_t i = 0; i < IRQ_IOAPIC_PINS; i++)
		route(&e[n++], i, KVM_IRQCHIP_IOAPIC, i);
	return n;
}

uint32_t irqchip_line(uint32_t gsi)
{
	return gsi;
}
