/* The in-kernel GICv3 (vmm/irqchip.h): wired pins are SPIs, GSI n is SPI n (INTID 32 + n). */
#include "vmm/irqchip.h"

#include <linux/kvm.h>

#include "vmm/irq.h"

/* The ITS tells MSIs apart by the requester id of the function that sent them. */
const bool irqchip_msi_devid = true;

/* KVM's default: GSI n is irqchip 0, pin n (SPI n). */
unsigned int irqchip_default_routes(struct kvm_irq_routing_entry *e)
{
	for (uint32_t i = 0; i < IRQ_IOAPIC_PINS; i++) {
		e[i] = (struct kvm_irq_routing_entry){ .gsi = i, .type = KVM_IRQ_ROUTING_IRQCHIP };
		e[i].u.irqchip.irqchip = 0;
		e[i].u.irqchip.pin = i;
	}
	return IRQ_IOAPIC_PINS;
}

/* KVM_IRQ_LINE on arm64 names the interrupt's type and its GIC INTID. */
uint32_t irqchip_line(uint32_t gsi)
{
	return (uint32_t)KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT | (32 + gsi);
}
