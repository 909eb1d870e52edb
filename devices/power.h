#pragma once
/*
 * Platform power control, all on port I/O:
 *  - ACPI hardware-reduced sleep control (PORT_ACPI_SLEEP): SLP_EN with
 *    SLP_TYP = S5 powers off; sleep status (+1) reads 0; reset register (+2):
 *    writing ACPI_RESET_VALUE reboots. Reboot ends Ember, like power-off.
 *  - the exit port (PORT_DEBUG_EXIT): a byte N ends Ember with status 0 for
 *    N = 0, else 64 + (N & 63). Micro-guests and firmware use it.
 * No state: the device only forwards requests to the exit hook.
 */
#include "vmm/bus.h"
#include "vmm/exit.h"

extern const struct bus_ops power_acpi_ops; /* ctx: struct exit_hook * */
extern const struct bus_ops power_exit_port_ops;

#define ACPI_S5_SLP_TYP 5  /* SLP_TYP value the DSDT gives for S5 */
#define ACPI_RESET_VALUE 1 /* written to the reset register to reboot */
#define POWER_ACPI_LEN 3
#define POWER_EXIT_PORT_LEN 1
