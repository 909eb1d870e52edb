#include "devices/power.h"

#include <string.h>


#define SLP_EN 0x20
#define SLP_TYP(v) (((v) >> 2) & 7)

static void acpi_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	(void)ctx, (void)off;
	memset(data, 0, len); /* no wake status, no pending sleep */
}

static void acpi_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	uint8_t v = *(const uint8_t *)data;

	(void)len;
	if (off == 0 && (v & SLP_EN) && SLP_TYP(v) == ACPI_S5_SLP_TYP)
		exit_request(ctx, EXIT_GUEST_OFF, "guest powered off");
	else if (off == 2 && v == ACPI_RESET_VALUE)
		exit_request(ctx, EXIT_GUEST_OFF, "guest rebooted (ACPI reset)");
}

const struct bus_ops power_acpi_ops = { .read = acpi_read, .write = acpi_write };

static void exit_port_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	uint8_t v = *(const uint8_t *)data;

	(void)off, (void)len;
	exit_request(ctx, v ? EXIT_PORT_BASE + (v & 63) : EXIT_GUEST_OFF, "guest wrote the exit port");
}

const struct bus_ops power_exit_port_ops = { .read = acpi_read, .write = exit_port_write };
