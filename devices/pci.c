#include "devices/pci.h"

#include <errno.h>
#include <string.h>

#define ADDR_ENABLE 0x80000000U
#define HOST_VENDOR 0x8086 /* a generic host bridge identity Linux knows */
#define HOST_DEVICE 0x0d57
#define CLASS_HOST_BRIDGE 0x060000
#define PCI_COMMAND 0x04

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

void pci_dev_header(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code)
{
	put16(d->cfg + 0x00, vendor);
	put16(d->cfg + 0x02, device);
	d->cfg[0x09] = (uint8_t)class_code;
	d->cfg[0x0a] = (uint8_t)(class_code >> 8);
	d->cfg[0x0b] = (uint8_t)(class_code >> 16);
	d->cfg[0x0e] = 0; /* header type 0, single function */
	put16(d->wmask + PCI_COMMAND, 0x0547); /* I/O, memory, master, parity, SERR, INTx disable */
}

int pci_init(struct pci *p)
{
	memset(p, 0, sizeof(*p));
	pci_dev_header(&p->host_bridge, HOST_VENDOR, HOST_DEVICE, CLASS_HOST_BRIDGE);
	p->slot[0] = &p->host_bridge;
	return -pthread_mutex_init(&p->lock, NULL);
}

void pci_destroy(struct pci *p)
{
	pthread_mutex_destroy(&p->lock);
}

int pci_add(struct pci *p, unsigned int slot, struct pci_dev *d)
{
	if (slot >= PCI_SLOTS || !d)
		return -EINVAL;
	if (p->slot[slot])
		return -EEXIST;
	p->slot[slot] = d;
	return 0;
}

/* Device addressed by the latch (bus 0, function 0 only), or NULL. */
static struct pci_dev *target_locked(const struct pci *p)
{
	uint32_t a = p->address;

	if (!(a & ADDR_ENABLE) || ((a >> 16) & 0xff) || ((a >> 8) & 7))
		return NULL;
	return p->slot[(a >> 11) & 0x1f];
}

static void config_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct pci *p = ctx;
	struct pci_dev *d;

	memset(data, 0xff, len);
	pthread_mutex_lock(&p->lock);
	if (off == 0 && len == 4) {
		memcpy(data, &p->address, 4);
	} else if (off >= 4 && off + len <= 8 && (d = target_locked(p))) {
		uint32_t reg = (p->address & 0xfc) + (uint32_t)(off - 4);

		memcpy(data, d->cfg + reg, len);
	}
	pthread_mutex_unlock(&p->lock);
}

static void config_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct pci *p = ctx;
	struct pci_dev *d;

	pthread_mutex_lock(&p->lock);
	if (off == 0 && len == 4) {
		memcpy(&p->address, data, 4);
	} else if (off >= 4 && off + len <= 8 && (d = target_locked(p))) {
		uint32_t reg = (p->address & 0xfc) + (uint32_t)(off - 4);
		const uint8_t *v = data;

		for (uint32_t i = 0; i < len; i++)
			d->cfg[reg + i] = (uint8_t)((d->cfg[reg + i] & ~d->wmask[reg + i]) |
						    (v[i] & d->wmask[reg + i]));
	}
	pthread_mutex_unlock(&p->lock);
}

const struct bus_ops pci_config_ops = { .read = config_read, .write = config_write };
