#pragma once
/*
 * The guest physical address map of the architecture being built: x86-64
 * (vmm/layout_x86.h) or arm64 (vmm/layout_arm64.h). Both define where RAM
 * starts (LAYOUT_RAM_BASE), the hole RAM stops at (LAYOUT_MMIO_HOLE), where
 * the rest of RAM goes (LAYOUT_HIGH_RAM_BASE), and the PCI windows
 * (LAYOUT_PCI_MMIO, LAYOUT_PCI_IO) that BARs are placed in.
 */
#if defined(__aarch64__)
#include "vmm/layout_arm64.h"
#else
#include "vmm/layout_x86.h"
#endif
