#pragma once
/*
 * PCI bus 0 behind configuration mechanism #1 (ports 0xcf8-0xcff), with
 * the host bridge at 00:00.0. Devices own a 256-byte configuration space;
 * a write changes only the bits their write mask allows.
 *
 * Locking: `lock` guards the address latch and every device's config space.
 */
#include <pthread.h>
#include <stdint.h>

#include "vmm/bus.h"

#define PCI_SLOTS 32
#define PCI_CFG_SIZE 256
#define PCI_CONFIG_LEN 8 /* 0xcf8-0xcff */

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
};

struct pci {
	pthread_mutex_t lock;
	uint32_t address; /* the 0xcf8 latch */
	struct pci_dev *slot[PCI_SLOTS];
	struct pci_dev host_bridge;
};

extern const struct bus_ops pci_config_ops; /* ctx: struct pci * */

/* Set up bus 0 with the host bridge in slot 0. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int pci_init(struct pci *p);
void pci_destroy(struct pci *p);

/* Fill the identity fields of a type-0 header. */
void pci_dev_header(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code);

/* Put `d` (owned by the caller) in `slot`. Returns 0, -EINVAL or -EEXIST. */
__attribute__((warn_unused_result)) int pci_add(struct pci *p, unsigned int slot,
						struct pci_dev *d);
