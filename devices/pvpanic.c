#include "devices/pvpanic.h"

#include <string.h>

#include "vmm/log.h"

static void pvpanic_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	(void)ctx;
	memset(data, 0, len);
	if (off == 0)
		*(uint8_t *)data = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	const struct pvpanic *p = ctx;
	uint8_t v = *(const uint8_t *)data;

	(void)len;
	if (off != 0)
		return;
	if (v & PVPANIC_PANICKED)
		exit_request(p->exit, EXIT_GUEST_PANIC, "guest kernel panicked (pvpanic)");
	else if (v & PVPANIC_CRASH_LOADED)
		log_info("guest kernel panicked and starts its crash kernel (pvpanic)");
}

static const struct bus_ops pvpanic_ops = {.read = pvpanic_read, .write = pvpanic_write};

int pvpanic_init(struct pvpanic *p, const struct exit_hook *exit)
{
	memset(p, 0, sizeof(*p));
	p->exit = exit;
	pci_dev_header(&p->pci, PVPANIC_VENDOR, PVPANIC_DEVICE, PVPANIC_CLASS);
	p->pci.name = "pvpanic";
	return pci_dev_add_bar(&p->pci, 0, PVPANIC_BAR_SIZE, false, &pvpanic_ops, p);
}
