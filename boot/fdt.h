#pragma once
/*
 * The flattened device tree an arm64 guest learns its hardware from (no
 * ACPI there), built with libfdt from a description of the platform:
 * memory, CPUs started through PSCI, the in-kernel GICv3 with an ITS for
 * MSIs, the architected timer, a PL011 console, a generic ECAM PCI host
 * bridge with its INTx map, and /chosen (command line, initrd, console).
 * Architecture-neutral C: it builds and is tested on any host (tests/unit,
 * test_fdt.c reads the tree back with libfdt and runs dtc over it).
 *
 * Interrupt numbers are as the GIC binding writes them: SPIs from 0
 * (GIC INTID 32 + n), PPIs from 0 (INTID 16 + n).
 */
#include <stddef.h>
#include <stdint.h>

#define FDT_MAX_SIZE 0x10000 /* what a tree for up to 255 vCPUs and 32 PCI slots needs, and more */

struct fdt_platform {
	uint64_t ram_base, ram_size;
	unsigned int nr_cpus; /* 1..255: cpu@M with reg M = fdt_mpidr(N) for vCPU N */
	uint64_t gicd_base, gicd_size; /* GICv3 distributor */
	uint64_t gicr_base, gicr_size; /* redistributors: 128 KiB per vCPU */
	uint64_t its_base, its_size;   /* 0: no ITS (PCI MSIs then unavailable) */
	uint64_t uart_base, uart_size;
	uint32_t uart_spi;
	uint32_t uart_clock_hz;
	uint64_t ecam_base, ecam_size;	   /* configuration space of bus 0 .. size/1 MiB - 1 */
	uint64_t pci_mmio_base, pci_mmio_size; /* 32-bit memory window, mapped 1:1 */
	uint64_t pci_io_base, pci_io_size;     /* I/O window (CPU address), ports from 0; 0: none */
	unsigned int pci_slots;		       /* devices 0..pci_slots-1 get INTx entries */
	uint32_t pci_intx_spi;		       /* slot s, pin p (0-3): SPI pci_intx_spi + (s + p) % 4 */
	const char *cmdline;		       /* NULL: none */
	uint64_t initrd_start, initrd_end;     /* guest addresses; equal: none */
};

/*
 * Build the tree into buf (at most `size` bytes). Returns its size, or
 * -EINVAL for a description that cannot be (no CPUs, more than 255, a zero
 * size), -ENOSPC if it does not fit.
 */
__attribute__((warn_unused_result)) int fdt_build(const struct fdt_platform *p, void *buf,
						  size_t size);

/*
 * The MPIDR affinity KVM gives vCPU `vcpu` (16 per cluster: Aff0 = vcpu %
 * 16, Aff1 the rest), which is what a cpu node's reg and PSCI's CPU_ON name.
 */
uint32_t fdt_mpidr(unsigned int vcpu);
