#pragma once
/*
 * The guest physical address map, in one place.
 *
 *   0x0000_0000  real-mode IVT and BIOS data area (left zero)
 *   0x0000_0500  GDT used for the 64-bit Linux entry
 *   0x0000_7000  boot_params ("zero page")
 *   0x0000_9000  page tables: PML4, PDPT, 4 page directories (identity 0-4 GiB)
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  start of the reserved area below 1 MiB (EBDA by convention)
 *   0x000e_0000  ACPI tables (RSDP first, found by the kernel's scan of 0xe0000-0xfffff)
 *   0x000f_fff0  reset stub: a reboot through the BIOS reset vector ends up here
 *   0x0010_0000  RAM above 1 MiB; the kernel is loaded at its preferred address
 *   0xc000_0000  32-bit MMIO hole starts: PCI MMIO window
 *   0xfec0_0000  I/O APIC (in-kernel)
 *   0xfee0_0000  local APICs (in-kernel)
 *   0xfeff_c000  KVM identity-map page, then the 3-page TSS KVM needs on Intel
 *   0xff00_0000  firmware window (up to 16 MiB, ends at 4 GiB)
 *   0x1_0000_0000 RAM above the hole, when --memory exceeds 3 GiB
 */
#include <stdint.h>

#define LAYOUT_GDT 0x500ULL
#define LAYOUT_ZERO_PAGE 0x7000ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* four pages: 0xb000-0xefff */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_EBDA 0x9fc00ULL
#define LAYOUT_ACPI 0xe0000ULL
#define LAYOUT_ACPI_END 0xf0000ULL
#define LAYOUT_RESET_VECTOR 0xffff0ULL /* F000:FFF0, where a BIOS reboot jumps */
#define LAYOUT_HIGH_RAM 0x100000ULL
#define LAYOUT_KERNEL_DEFAULT 0x1000000ULL /* where a kernel goes whose preferred address will not do */

#define LAYOUT_MMIO_HOLE 0xc0000000ULL
#define LAYOUT_PCI_MMIO 0xc0000000ULL
#define LAYOUT_PCI_MMIO_SIZE 0x3c000000ULL /* up to 0xfbffffff */
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_KVM_IDENTITY 0xfeffc000ULL
#define LAYOUT_KVM_TSS 0xfeffd000ULL
#define LAYOUT_FIRMWARE_MAX (16ULL << 20)
#define LAYOUT_4G 0x100000000ULL
#define LAYOUT_RAM_BASE 0ULL		  /* RAM starts at 0 ... */
#define LAYOUT_HIGH_RAM_BASE LAYOUT_4G /* ... up to the hole; the rest from 4 GiB */
#define LAYOUT_FIRMWARE_LOW_MAX (128ULL << 10) /* part of firmware copied below 1 MiB */

/* Port I/O map */
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_COM1 0x3f8
#define PORT_PCI_CONFIG 0xcf8 /* 0xcf8-0xcff */
#define PORT_DEBUG_EXIT 0x501 /* test/firmware exit port */
#define PORT_ACPI_SLEEP 0x600 /* ACPI sleep control, then sleep status */
#define LAYOUT_PORTS_MMIO 0ULL /* ports are a bus of their own (KVM_EXIT_IO) */
#define LAYOUT_PCI_IO 0xc000ULL /* PCI I/O BAR window: ports 0xc000-0xcfff */
#define LAYOUT_PCI_IO_SIZE 0x1000ULL

#define LAYOUT_CONSOLE "ttyS0" /* what Linux calls the UART at PORT_COM1 */

/* What --kernel and --firmware take, for the help text. */
#define LAYOUT_KERNEL_NAME "bzImage"
#define LAYOUT_HELP_KERNEL "Linux bzImage (x86 boot protocol 2.12 or later, 64-bit)"
#define LAYOUT_HELP_FIRMWARE "raw image mapped below 4 GiB, started at the reset vector"

#define IRQ_COM1 4
/* The ACPI Generic Event Device's interrupt (edge, active high): the power button. */
#define IRQ_GED 5

/* PCI INTx: pin (0 = INTA) of device `slot` on I/O APIC pins 16-23, as the DSDT's _PRT says. */
#define LAYOUT_PCI_INTX_GSI(slot, pin) (16 + ((slot) + (pin)) % 8)
#define LAYOUT_PCI_FIRST_SLOT 1 /* slot 0 is the host bridge */
