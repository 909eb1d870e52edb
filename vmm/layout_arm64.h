#pragma once
/*
 * The arm64 guest physical address map, in one place (the device tree,
 * boot/fdt.c, tells the guest all of it). Devices below 1 GiB, RAM above,
 * as on QEMU's `virt` machine, so that a reader who knows one knows both.
 *
 *   0x0800_0000  GICv3 distributor (64 KiB)
 *   0x0808_0000  GICv3 ITS (128 KiB): PCI MSIs, told apart by requester id
 *   0x0900_0000  PL011 UART (4 KiB), SPI 1
 *   0x0901_0000  test exit port (as the x86 port 0x501: 64 + N for a write of N)
 *   0x0a00_0000  GICv3 redistributors, 128 KiB per vCPU (up to 256)
 *   0x1000_0000  PCI memory window (32-bit BARs), up to 0x3efe_ffff
 *   0x3eff_0000  PCI I/O window (64 KiB of ports, memory-mapped; BARs from port 0x1000)
 *   0x3f00_0000  PCI ECAM, bus 0 (1 MiB)
 *   0x4000_0000  RAM: the kernel at a 2 MiB boundary + its text offset,
 *                the initrd after it, the device tree near the top
 */
#include <stdint.h>

#define LAYOUT_GICD 0x08000000ULL
#define LAYOUT_GICD_SIZE 0x10000ULL
#define LAYOUT_GITS 0x08080000ULL
#define LAYOUT_GITS_SIZE 0x20000ULL
#define LAYOUT_UART 0x09000000ULL
#define LAYOUT_UART_SIZE 0x1000ULL
#define LAYOUT_EXIT_PORT 0x09010000ULL
#define LAYOUT_GICR 0x0a000000ULL
#define LAYOUT_GICR_PER_CPU 0x20000ULL
#define LAYOUT_GICR_MAX_CPUS 256
#define LAYOUT_PCI_MMIO 0x10000000ULL
#define LAYOUT_PCI_MMIO_SIZE 0x2eff0000ULL
#define LAYOUT_PCI_IO_WINDOW 0x3eff0000ULL /* PCI port 0 */
#define LAYOUT_PCI_IO_WINDOW_SIZE 0x10000ULL
#define LAYOUT_PCI_ECAM 0x3f000000ULL
#define LAYOUT_PCI_ECAM_SIZE 0x100000ULL /* bus 0 only */
#define LAYOUT_RAM_BASE 0x40000000ULL
/* No hole above RAM: one region, up to 1 TiB of address space. */
#define LAYOUT_MMIO_HOLE 0x10000000000ULL
#define LAYOUT_HIGH_RAM_BASE LAYOUT_MMIO_HOLE

/*
 * The CPU reaches PCI port p at the I/O window + p. I/O BARs may be
 * anywhere from port 0x1000 (Linux assigns them from there on arm64) to the
 * window's end; Ember first places them from 0x1000 too.
 */
#define LAYOUT_PORTS_MMIO LAYOUT_PCI_IO_WINDOW
#define LAYOUT_PCI_IO 0x1000ULL
#define LAYOUT_PCI_IO_SIZE 0xf000ULL

#define LAYOUT_FIRMWARE_MAX (16ULL << 20) /* --firmware: copied to the start of RAM */
#define LAYOUT_DTB_MAX (2ULL << 20)	  /* the boot protocol's limit for the tree */

#define LAYOUT_CONSOLE "ttyAMA0" /* what Linux calls the PL011 */

/* What --kernel and --firmware take, for the help text. */
#define LAYOUT_KERNEL_NAME "arm64 Image"
#define LAYOUT_HELP_KERNEL "Linux arm64 Image, or a gzip'd one (Debian's vmlinuz)"
#define LAYOUT_HELP_FIRMWARE "raw image copied to the start of RAM (0x40000000) and started\n" \
	"                     there, x0 = the device tree's address"

/* Interrupts, as SPI numbers (GIC INTID 32 + n); KVM's GSI n is SPI n. */
#define IRQ_UART 1
#define LAYOUT_PCI_INTX_SPI 3 /* INTA-INTD of slot s, pin p: SPI 3 + (s + p) % 4 */
#define LAYOUT_PCI_INTX_GSI(slot, pin) (LAYOUT_PCI_INTX_SPI + ((slot) + (pin)) % 4)
#define LAYOUT_PCI_FIRST_SLOT 1 /* slot 0 is the host bridge */
