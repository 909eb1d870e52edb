/*
 * Interrupts for micro-guests that halt until a device answers: an IDT, the
 * local APIC, and MSI-X table entries of a virtio-pci function.
 *
 * Interrupts only wake a halted wait: the handler counts, acknowledges and
 * returns with `ret $8` (dropping CS and EFLAGS), because the emulator PVM
 * runs this code in has no protected-mode `iret`. Interrupts stay disabled
 * except in `sti; hlt`, and nothing after the halt may depend on the flags.
 *
 * Since EFLAGS is not restored, an interrupt taken with its return address
 * on the `hlt` itself (inside the one-instruction shadow of `sti`, which a
 * nested host does not always honour) would come back to a `hlt` with
 * interrupts off and halt for good. The handler steps over such a `hlt` and
 * counts it in irq_at_hlt.
 */
#pragma once
#include "guest.h"
#include "virtio.h"

#define LAPIC 0xfee00000u
#define LAPIC_EOI (LAPIC + 0xb0)
#define LAPIC_SVR (LAPIC + 0xf0)
#define LAPIC_LVT_TIMER (LAPIC + 0x320)
#define LAPIC_LVT_LINT0 (LAPIC + 0x350)
#define LAPIC_LVT_LINT1 (LAPIC + 0x360)
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_TIMER_INIT (LAPIC + 0x380)
#define LAPIC_TIMER_DIV (LAPIC + 0x3e0)
#define PCI_CAP_ID_MSIX 0x11
#define VIRTIO_MSI_NO_VECTOR 0xffff

/*
 * Device interrupts taken: all of them (irqs), and per stub (irq_count[i]
 * for the vectors msix_route() bound to irq_stub[i]), so that a test can
 * tell one queue's interrupt from another's.
 */
#define IRQ_STUBS 4
volatile uint32_t irqs;
volatile uint32_t irq_count[IRQ_STUBS];
volatile uint32_t ticks; /* LAPIC timer interrupts taken */
volatile uint32_t irq_at_hlt; /* taken with the return address on a hlt: stepped over */
void irq_entry0(void), irq_entry1(void), irq_entry2(void), irq_entry3(void);
void tick_entry(void), spurious_entry(void);
#define IRQ_STUB(n)                                                                  \
	".globl irq_entry" #n "\n"                                                   \
	"irq_entry" #n ":\n"                                                         \
	"	incl irqs\n"                                                         \
	"	incl irq_count + 4 * " #n "\n"                                       \
	"	movl $0, 0xfee000b0\n" /* LAPIC_EOI */                               \
	"	jmp irq_return\n"
__asm__(IRQ_STUB(0) IRQ_STUB(1) IRQ_STUB(2) IRQ_STUB(3)
	".globl tick_entry\n"
	"tick_entry:\n"
	"	incl ticks\n"
	"	movl $0, 0xfee000b0\n"
	"	jmp irq_return\n"
	".globl spurious_entry\n" /* a spurious interrupt takes no EOI */
	"spurious_entry:\n"
	"irq_return:\n" /* step over a hlt the return address points at (0xf4) */
	"	pushl %eax\n"
	"	movl 4(%esp), %eax\n"
	"	cmpb $0xf4, (%eax)\n"
	"	jne 1f\n"
	"	incl 4(%esp)\n"
	"	incl irq_at_hlt\n"
	"1:	popl %eax\n"
	"	ret $8\n");
static void (*const irq_stub[IRQ_STUBS])(void) = { irq_entry0, irq_entry1, irq_entry2, irq_entry3 };

static uint64_t idt[256] __attribute__((aligned(8)));

static inline void irq_gate(unsigned int vec, void (*fn)(void))
{
	uint32_t a = (uint32_t)fn;

	idt[vec] = (uint64_t)(a & 0xffff) | 0x08ull << 16 | 0x8e00ull << 32 | (uint64_t)(a >> 16) << 48;
}

/*
 * The IDT (device vectors are added by msix_route()), the LAPIC on, and its timer
 * ticking every `period` bus cycles at vector `tick_vec` (0: no timer). LINT0
 * and LINT1 masked: KVM resets the boot CPU's LINT0 to ExtINT, and under
 * QEMU the 8259 (never initialized, vector base 0) would pass on the PIT's
 * ticks, which it starts at reset.
 */
static inline void irq_setup(unsigned int tick_vec, uint32_t period)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} idtr = { sizeof(idt) - 1, (uint32_t)idt };

	irq_gate(0xff, spurious_entry);
	__asm__ volatile("lidt %0" ::"m"(idtr));
	mmio_write32(LAPIC_SVR, 0x1ff); /* enabled, spurious vector 0xff */
	mmio_write32(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	mmio_write32(LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
	if (tick_vec) {
		irq_gate(tick_vec, tick_entry);
		mmio_write32(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
		mmio_write32(LAPIC_LVT_TIMER, 1u << 17 | tick_vec); /* periodic */
		mmio_write32(LAPIC_TIMER_INIT, period);
	}
}

/*
 * Turn MSI-X on for d and return the address of its table, or 0 if it has
 * none in a memory BAR below 4 GiB. Every entry starts masked, as reset
 * leaves it; msix_route() fills and unmasks one.
 */
static inline uint32_t msix_enable(const struct virtio_pci *d)
{
	unsigned int p = pci_read8(d->slot, PCI_CAP_PTR) & 0xfc;
	uint32_t table;

	for (unsigned int guard = 0; p >= 0x40 && pci_read8(d->slot, p) != PCI_CAP_ID_MSIX; guard++) {
		p = pci_read8(d->slot, p + 1) & 0xfc;
		if (guard > 48)
			return 0;
	}
	if (p < 0x40)
		return 0;
	table = pci_read32(d->slot, p + 4);
	if (!virtio_bar_addr(d->slot, table & 7))
		return 0;
	table = virtio_bar_addr(d->slot, table & 7) + (table & ~7u);
	pci_write16(d->slot, p + 2, (uint16_t)((pci_read16(d->slot, p + 2) & ~0x4000u) | 0x8000u));
	return table;
}

/*
 * Table entry `entry` sends `vec` to this CPU (APIC ID 0, fixed, edge),
 * unmasked; the vector counts in irq_count[stub].
 */
static inline void msix_route(uint32_t table, unsigned int entry, uint8_t vec, unsigned int stub)
{
	uint32_t e = table + 16 * entry;

	irq_gate(vec, irq_stub[stub % IRQ_STUBS]);
	mmio_write32(e, LAPIC); /* address: APIC ID 0, physical */
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, vec);
	mmio_write32(e + 12, 0);
}

/* Bind queue q of d to MSI-X table entry `entry`; false if the device refuses. */
static inline int virtio_queue_vector(const struct virtio_pci *d, uint16_t q, uint16_t entry)
{
	mmio_write16(d->common + VC_Q_SELECT, q);
	mmio_write16(d->common + VC_Q_MSIX, entry);
	return mmio_read16(d->common + VC_Q_MSIX) == entry;
}

/* A full barrier: a store (used_event) before the loads that follow it. */
static inline void full_barrier(void)
{
	__asm__ volatile("lock; addl $0, (%%esp)" ::: "memory", "cc");
}
