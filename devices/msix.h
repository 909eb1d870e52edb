#pragma once
/*
 * MSI-X for a PCI function: the capability, the vector table and pending
 * bit array (both placed by the owner inside one of its BARs), and
 * delivery. Each vector has an eventfd bound with KVM_IRQFD to its own GSI,
 * whose MSI route follows the table entry; a vector fires by writing its
 * eventfd, or sets its pending bit while masked. A route is pushed to KVM
 * (which replaces its whole table) only when a vector fires with a message
 * that changed since its last push, never on a table write.
 *
 * Locking: `lock` guards table, PBA and enable/mask state. Order: pci lock,
 * then a device's own lock, then this lock, then the irq router's.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "vmm/irq.h"

#define MSIX_MAX_VECTORS 64
#define MSIX_ENTRY_SIZE 16
#define MSIX_CAP_LEN 12

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct msix {
	pthread_mutex_t lock;
	unsigned int nr;
	struct msix_entry table[MSIX_MAX_VECTORS];
	uint64_t pending; /* the PBA: one bit per vector */
	bool enabled, func_masked;
	struct irq_router *router;
	int vm_fd;
	int gsi_base;
	int efd[MSIX_MAX_VECTORS];
	struct msix_entry routed[MSIX_MAX_VECTORS]; /* last address/data pushed to KVM */
	bool route_valid[MSIX_MAX_VECTORS];
	int cap; /* config offset of the capability in the owner's pci_dev */
	const struct pci_dev *dev; /* the owner: its requester id goes with each route */
};

/*
 * Prepare `nr` vectors: GSIs from `router`, one eventfd each bound with
 * KVM_IRQFD (skipped when vm_fd < 0), and the capability added to `d`
 * pointing at the table (`bir`, `table_off`) and PBA (`pba_off`).
 * Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int msix_init(struct msix *m, unsigned int nr,
						  struct irq_router *router, int vm_fd,
						  struct pci_dev *d, uint8_t bir, uint32_t table_off,
						  uint32_t pba_off);
void msix_destroy(struct msix *m);

/* The table and PBA as a snapshot keeps them (enable and mask bits live in config space). */
struct msix_state {
	uint32_t nr;
	uint32_t reserved;
	uint64_t pending;
	struct msix_entry table[MSIX_MAX_VECTORS];
};

void msix_save(struct msix *m, struct msix_state *st);

/*
 * Take a snapshot's table and PBA (untrusted: another vector count is
 * -EINVAL; reserved control bits are cleared as a guest write clears them),
 * then follow the control bits already loaded into `d`'s config space.
 * Routes are pushed to KVM as vectors fire, as always.
 */
__attribute__((warn_unused_result)) int msix_load(struct msix *m, const struct pci_dev *d,
						  const struct msix_state *st);

/* Accesses to the table and PBA, offsets relative to each. */
void msix_table_read(struct msix *m, uint64_t off, void *data, uint32_t len);
void msix_table_write(struct msix *m, uint64_t off, const void *data, uint32_t len);
void msix_pba_read(struct msix *m, uint64_t off, void *data, uint32_t len);

/* The guest wrote config bytes [reg, reg + len) of `d`: follow enable/mask bits. */
void msix_config_written(struct msix *m, const struct pci_dev *d, uint32_t reg, uint32_t len);

/* Whether MSI-X is on (the driver enabled it). */
bool msix_enabled(struct msix *m);

/*
 * For a source that raises `vector` through an irqfd of its own (a
 * vhost-user backend's call eventfd): the vector's GSI, its MSI route
 * pushed to KVM first if the table entry changed since the last push.
 * -EAGAIN while the vector or the function is masked (the source must then
 * go through msix_notify(), which keeps it pending), -ENODEV while MSI-X is
 * off, -EINVAL for a vector that does not exist.
 */
int msix_vector_gsi(struct msix *m, unsigned int vector);

/*
 * Signal `vector`: delivered, or left pending while masked. Returns 0,
 * -ENODEV when MSI-X is off (the caller uses INTx), -EINVAL for a vector
 * that does not exist (e.g. VIRTIO_MSI_NO_VECTOR).
 */
int msix_notify(struct msix *m, unsigned int vector);
