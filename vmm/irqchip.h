#pragma once
/*
 * The in-kernel interrupt controller's numbering, which differs by
 * architecture: vmm/irqchip_x86.c (the PICs and the I/O APIC) or
 * vmm/irqchip_arm64.c (the GICv3's SPIs, and an ITS for MSIs). What
 * KVM_IRQ_LINE calls wired pin `gsi`, the routes every GSI routing table
 * starts with, and whether MSI routes name the requester.
 */
#include <stdbool.h>
#include <stdint.h>

struct kvm_irq_routing_entry;

#define IRQCHIP_DEFAULT_ROUTES_MAX 40 /* the longest list irqchip_default_routes() writes */

/* MSI routes carry the function's requester id (KVM_MSI_VALID_DEVID): an ITS needs it. */
extern const bool irqchip_msi_devid;

/* The wired pins' routes, as KVM sets them up by default, into e[]; returns how many. */
unsigned int irqchip_default_routes(struct kvm_irq_routing_entry *e);

/* KVM_IRQ_LINE's `irq` for wired pin `gsi`. */
uint32_t irqchip_line(uint32_t gsi);
