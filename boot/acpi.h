#pragma once
/*
 * ACPI tables for a Linux guest: RSDP, XSDT, FADT (hardware-reduced, with
 * sleep and reset registers on the power device), MADT (one local APIC per
 * vCPU, the I/O APIC, the timer override) and a DSDT holding the PCI root
 * bridge and the \_S5 sleep state that lets the guest power off.
 */
#include <stdint.h>

#include "devices/power.h" /* the registers the tables describe: ACPI_S5_SLP_TYP, ACPI_RESET_VALUE */
#include "vmm/gm.h"

/*
 * Build the tables for `cpus` vCPUs into guest RAM at LAYOUT_ACPI.
 * Returns 0 with *rsdp set to the RSDP's guest address, or -errno.
 */
__attribute__((warn_unused_result)) int acpi_build(const struct gm *m, unsigned int cpus,
						   uint64_t *rsdp);
