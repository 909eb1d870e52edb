#pragma once
/*
 * The virtio-pci modern transport (virtio 1.2, 4.1): a PCI function whose
 * BAR 0 holds the common, ISR, device and notification structures and the
 * MSI-X table, described by vendor capabilities. A second notification
 * structure sits in I/O BAR 2 and is listed first, so a driver that can use
 * port I/O (Linux does) kicks with OUT: KVM learns port and value from the
 * exit itself, where a memory write must be decoded, which on AMD hosts
 * means emulating the instruction. Queue kicks of either kind arrive on one
 * ioeventfd per queue, served by the I/O thread; interrupts leave through
 * MSI-X (irqfd) or, when the driver does not enable MSI-X, INTx.
 *
 * Queues served by another process (virtio_dev.external_queues: vhost-user)
 * bypass the I/O thread both ways: the backend gets each queue's kick
 * ioeventfd, and writes a call eventfd of the transport's that an irqfd
 * binds to the GSI of the queue's MSI-X vector. The binding follows the
 * guest: when it moves the vector, reprograms or masks it, or turns MSI-X
 * off, the transport rebinds or unbinds the irqfd, and while unbound the I/O
 * thread reads the call eventfd and raises the interrupt itself (pending
 * bit while masked, INTx without MSI-X).
 */
#include <stdint.h>

#include "devices/msix.h"
#include "devices/pci.h"
#include "virtio/virtio.h"
#include "vmm/evloop.h"
#include "vmm/irq.h"
#include "vmm/trace.h"

#define VIRTIO_PCI_BAR_SIZE 0x8000
#define VIRTIO_PCI_NOTIFY_BAR 2 /* the I/O BAR: port notifications only */

struct virtio_pci;

/* One queue's kick eventfd, as the I/O thread sees it. */
struct virtio_pci_kick {
	struct virtio_pci *vp;
	unsigned int q;
	int fd;
};

/* One queue's call eventfd, for a device whose queues are served elsewhere. */
struct virtio_pci_call {
	struct virtio_pci *vp;
	unsigned int q;
	int fd;
	int gsi; /* the GSI an irqfd binds it to; -1: the I/O thread relays it */
};

struct virtio_pci {
	struct virtio_dev *vdev;
	struct pci_dev pci;
	struct msix msix;
	struct irq_line intx;
	int vm_fd;
	struct evloop *loop;
	uint8_t isr;
	int intx_level;
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	struct virtio_pci_kick kick[VIRTIO_MAX_QUEUES];
	struct virtio_pci_call call[VIRTIO_MAX_QUEUES]; /* external queues only */
	uint64_t bar_addr;	 /* where the kick ioeventfds are registered, 0: nowhere */
	uint64_t io_addr;	 /* the same for the port notifications */
	uint64_t exit_kicks;	 /* kicks that came as a vCPU exit, not through an ioeventfd (atomic) */
	bool ioeventfd_any_len; /* KVM matches kicks of any width */
	int cfg_cap;		 /* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
	const struct trace *trace; /* --trace=virtio,irq lines, or NULL */
	const char *label;	   /* the device's name in them: vda, a tap's name */
	uint16_t traced_used[VIRTIO_MAX_QUEUES]; /* used index of each queue's last trace line */
};

/*
 * Build the PCI function for `vdev` and wire it: MSI-X with one vector per
 * queue plus one for configuration changes, INTx on `intx_gsi`, kick
 * eventfds on `loop`. The caller then calls pci_add(). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int virtio_pci_init(struct virtio_pci *vp,
							struct virtio_dev *vdev, int vm_fd,
							struct irq_router *router,
							struct evloop *loop, uint8_t intx_gsi);
void virtio_pci_destroy(struct virtio_pci *vp);

/* Trace this function's kicks, completions and interrupts as `label` (--trace). */
void virtio_pci_set_trace(struct virtio_pci *vp, const struct trace *t, const char *label);

/* Log, at info level, kicks that cost a trip to user space ("LABEL: N kicks ..."), if any. */
void virtio_pci_log_stats(struct virtio_pci *vp, const char *label);

/* A function as a snapshot keeps it: config space, MSI-X, the transport's registers, the device. */
struct virtio_pci_state {
	uint8_t cfg[PCI_CFG_SIZE];
	struct msix_state msix;
	struct virtio_dev_state dev;
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint8_t isr, intx_level;
	uint32_t reserved;
};

/* Save the function (vCPUs paused, the device quiet); `p`: the bus it sits on. */
void virtio_pci_save(struct virtio_pci *vp, struct pci *p, struct virtio_pci_state *st);

/*
 * Load a snapshot's state (untrusted, checked as the guest's own writes
 * are) into a function just placed on `p`: BARs, kicks where the BARs say,
 * MSI-X, the device and its queues. Returns 0 or -EINVAL.
 */
__attribute__((warn_unused_result)) int virtio_pci_load(struct virtio_pci *vp, struct pci *p,
							const struct virtio_pci_state *st);

/*
 * After a restore, once the vCPUs' state is in: kick every ready queue and
 * raise its interrupt once, for a kick or a completion the snapshot caught
 * on its way (a spurious one is harmless to a driver).
 */
void virtio_pci_restart(struct virtio_pci *vp);
