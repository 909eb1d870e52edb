#pragma once
/*
 * pvpanic as a PCI function (vendor 0x1b36, device 0x0011, as QEMU numbers
 * it, so Linux's pvpanic-pci driver binds): a guest kernel that panics
 * writes PVPANIC_PANICKED to the one byte at the start of BAR 0, and Ember
 * stops with EXIT_GUEST_PANIC instead of waiting for a guest that will not
 * come back. Reading that byte gives the events the device understands.
 * A kernel that has a crash kernel loaded writes PVPANIC_CRASH_LOADED
 * instead and goes on into it: Ember logs that and keeps running.
 *
 * No state besides the PCI function; the exit hook does the rest.
 */
#include "devices/pci.h"
#include "vmm/exit.h"

#define PVPANIC_VENDOR	     0x1b36
#define PVPANIC_DEVICE	     0x0011
#define PVPANIC_CLASS	     0x088000 /* base system peripheral, other */
#define PVPANIC_BAR_SIZE     0x1000
#define PVPANIC_PANICKED     1
#define PVPANIC_CRASH_LOADED 2

struct pvpanic {
	struct pci_dev pci;
	const struct exit_hook *exit;
};

/* Build the PCI function; the caller then calls pci_add(). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int pvpanic_init(struct pvpanic *p,
						     const struct exit_hook *exit);
