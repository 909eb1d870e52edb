#pragma once
/*
 * Interrupts into KVM's in-kernel irqchip.
 *
 * An irq_line is a wire to an I/O APIC pin (ISA devices, PCI INTx): devices
 * hold one and call irq_set() with the level they want.
 *
 * The irq_router owns KVM's GSI routing table. KVM_SET_GSI_ROUTING replaces
 * the whole table, so the router keeps the default irqchip routes (PIC and
 * I/O APIC pins) and adds one MSI route per allocated GSI. MSI sources
 * (MSI-X vectors) raise their interrupt by writing an eventfd bound to the
 * GSI with KVM_IRQFD, so no ioctl is needed on the hot path.
 *
 * Shared pins: a level-triggered PCI line may carry several functions; each
 * holds its own irq_line from irq_router_line() and the pin is high while
 * any of them asserts it (one function acknowledging its interrupt must not
 * hide another's).
 *
 * Locking: `lock` guards the table, `pin_lock` the shared pins; both are leaf
 * locks.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

struct irq_router;

struct irq_line {
	int vm_fd; /* -1: a line that goes nowhere (unit tests) */
	uint32_t gsi;
	struct irq_router *shared; /* the pin's sources are ORed there; NULL: the line is its own */
	unsigned int source;	   /* this source's bit among the pin's (shared lines) */
};

/*
 * Drive the line to `level` (0 or 1). On a shared line this sets the
 * source's own level; the pin follows the OR of all its sources. Returns 0
 * or -errno.
 */
int irq_set(const struct irq_line *l, int level);

#define IRQ_IOAPIC_PINS 24
#define IRQ_MSI_MAX 512 /* GSIs for MSI, from IRQ_IOAPIC_PINS up */
#define IRQ_PIN_SOURCES 64 /* sources that may share one pin */

struct irq_router {
	pthread_mutex_t lock;
	int vm_fd; /* -1: record routes but issue no ioctl (unit tests) */
	uint32_t next_gsi;
	struct kvm_irq_routing_msi msi[IRQ_MSI_MAX];
	bool msi_valid[IRQ_MSI_MAX];
	uint64_t pushes; /* KVM_SET_GSI_ROUTING calls (each replaces the whole table) */
	/* Shared level-triggered pins (PCI INTx), under their own leaf lock so that
	 * a routing push does not hold up an interrupt. */
	pthread_mutex_t pin_lock;
	unsigned int pin_sources[IRQ_IOAPIC_PINS];
	uint64_t pin_asserted[IRQ_IOAPIC_PINS]; /* one bit per source that holds it high */
};

__attribute__((warn_unused_result)) int irq_router_init(struct irq_router *r, int vm_fd);
void irq_router_destroy(struct irq_router *r);

/*
 * A new source on I/O APIC pin `gsi`, which other sources may share (PCI
 * INTx, several functions per pin): *l drives the pin as the OR of all of
 * them. Returns 0, -EINVAL (no such pin) or -ENOSPC.
 */
__attribute__((warn_unused_result)) int irq_router_line(struct irq_router *r, uint32_t gsi,
							struct irq_line *l);

/* Reserve `n` consecutive GSIs for MSI; returns the first or -ENOSPC. */
int irq_router_alloc(struct irq_router *r, unsigned int n);

/*
 * Point `gsi` at the MSI message (addr, data) from the PCI function whose
 * requester id is `devid` (what an arm64 ITS needs; x86 ignores it), or
 * remove its route when `valid` is false, and push the table to KVM.
 * Returns 0 or -errno.
 */
int irq_router_set_msi(struct irq_router *r, uint32_t gsi, uint64_t addr, uint32_t data,
		       uint32_t devid, bool valid);

/* Bind (or with `assign` false, unbind) eventfd `fd` to `gsi` via KVM_IRQFD. */
int irq_irqfd(int vm_fd, int fd, uint32_t gsi, bool assign);
