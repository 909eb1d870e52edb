#include "devices/i8042.h"

#include <string.h>

#include "vmm/exit.h"

#define CMD_RESET 0xfe

static void i8042_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	(void)ctx, (void)off;
	memset(data, 0, len); /* data 0; status: output and input buffers empty */
}

static void i8042_ignore(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	(void)ctx, (void)off, (void)data, (void)len;
}

static void i8042_command(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	(void)off, (void)len;
	if (*(const uint8_t *)data == CMD_RESET)
		exit_request(ctx, EXIT_GUEST_OFF, "guest rebooted (keyboard controller reset)");
}

const struct bus_ops i8042_data_ops = { .read = i8042_read, .write = i8042_ignore };
const struct bus_ops i8042_cmd_ops = { .read = i8042_read, .write = i8042_command };
