#pragma once
/*
 * The fixture shared by the virtio-pci transport tests (test_virtio_pci.c,
 * test_virtio_pci_caps.c): a fake virtio device that records what the
 * transport asks of it, wrapped by virtio_pci_init() with no KVM (vm_fd -1),
 * an irq router that only records routes and an event loop that is started
 * only by tests that need kicks served. BAR 0 is driven through its bus ops
 * with offsets, as a guest driver would.
 */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_pci.h>

#include "virtio/pci.h"
#include "vmm/gm.h"

#define PFX_RAM	     (1ULL << 20)
#define PFX_QUEUES   2
#define PFX_QSIZE    64
#define PFX_CFG_SIZE 12
#define PFX_DEV_ID   5
#define PFX_FEATURES (VIRTIO_BIT(0) | VIRTIO_BIT(3) | VIRTIO_BIT(35)) /* the device's own */

/* BAR 0 layout (virtio/pci.c). */
#define COMMON	 0x0000
#define ISR	 0x1000
#define DEVCFG	 0x2000
#define NOTIFY	 0x3000
#define MSIX_TBL 0x4000
#define MSIX_PBA 0x5000

/* Offsets in the common configuration structure, from the Linux UAPI header. */
#define CC(field) offsetof(struct virtio_pci_common_cfg, field)

struct fake_dev {
	struct virtio_dev vdev;
	unsigned int notified[VIRTIO_MAX_QUEUES]; /* atomics: bumped on the I/O thread */
	unsigned int activated, resets;
	uint8_t config[PFX_CFG_SIZE];
	unsigned int config_writes;
	uint32_t cw_off, cw_len;
	uint8_t cw_data[8];
};

struct pfx {
	struct gm m;
	struct fake_dev d;
	struct irq_router router; /* unless the test passed one (pfx_open_on) */
	bool own_router;
	struct evloop loop;
	bool loop_running;
	struct virtio_pci vp;
};

/* Test cases defined beside test_virtio_pci.c, added to its suite. */
void virtio_pci_caps_tcases(Suite *s);
void virtio_pci_intx_tcases(Suite *s);
void virtio_pci_ext_tcases(Suite *s);

/* Build the fake device (`config_size` bytes of config) and its PCI function. */
void pfx_open_cfg(struct pfx *p, uint32_t config_size);
void pfx_open(struct pfx *p);
/* The same on VM fd `vm_fd` (a fake one: fake_kvm.h) with INTx on `gsi`, MSI through `router`. */
void pfx_open_on(struct pfx *p, int vm_fd, struct irq_router *router, uint8_t gsi);
/* The same with external queues (vhost-user's), on VM fd `vm_fd`, INTx on GSI 16. */
void pfx_open_external(struct pfx *p, int vm_fd);
void pfx_start_loop(struct pfx *p);
void pfx_close(struct pfx *p);

/* BAR 0 accesses of `len` bytes (1, 2, 4 or 8), zero-extended. */
uint64_t pfx_rd(struct pfx *p, uint64_t off, uint32_t len);
void pfx_wr(struct pfx *p, uint64_t off, uint64_t val, uint32_t len);

/* Common configuration shorthands. */
uint8_t pfx_status(struct pfx *p);
void pfx_set_status(struct pfx *p, uint8_t status);

/* ACKNOWLEDGE, DRIVER, driver features, FEATURES_OK; returns the status read back. */
uint8_t pfx_negotiate(struct pfx *p, uint64_t features);

/* Select queue `q` and write its size and ring addresses (64-bit, as two halves). */
void pfx_queue_conf(struct pfx *p, uint16_t q, uint16_t size, uint64_t desc, uint64_t avail,
		    uint64_t used);

/* A valid layout for queue `q` of `size` entries in RAM (fake vring zeroed there). */
void pfx_queue_ok(struct pfx *p, uint16_t q, uint16_t size);

/* Write queue_enable = 1 for the selected queue. */
void pfx_queue_enable(struct pfx *p);

/* Whether eventfd `fd` has been signalled (reads and clears it). */
uint64_t pfx_eventfd_count(int fd);
