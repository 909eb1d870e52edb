#pragma once
/*
 * Just enough of the i8042 keyboard controller for the reset line: status
 * reads as "buffers empty" so the kernel's reset loop proceeds, and command
 * 0xfe (pulse reset) ends the VM like a reboot. No keyboard is attached.
 * Stateless; ctx is a struct exit_hook *.
 */
#include "vmm/bus.h"

/* One byte each: data at PORT_I8042_DATA, command/status at PORT_I8042_CMD. */
extern const struct bus_ops i8042_data_ops;
extern const struct bus_ops i8042_cmd_ops;
