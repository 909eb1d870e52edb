#pragma once
/*
 * A virtio device as its transport sees it, and the interface between the
 * two. The device (virtio/blk.c, ...) knows nothing of PCI: it offers
 * features, a config space and queue handlers. The transport (virtio/pci.c)
 * owns the status state machine, feature negotiation, queue registers,
 * kicks and interrupts, and calls the device through virtio_dev_ops.
 *
 * Locking: `lock` guards status, features and queues. The transport takes
 * it for register accesses from vCPU threads; the I/O thread takes it while
 * a device serves a queue. Device ops are called with it held.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/vq.h"
#include "vmm/gm.h"
#include "vmm/log.h"

#define VIRTIO_MAX_QUEUES 16 /* virtio-console with 7 ports: 2 per port and 2 control */

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Feature masks (bit numbers from the specification). */
#define VIRTIO_BIT(n) (1ULL << (n))
#define VIRTIO_FEAT_INDIRECT_DESC VIRTIO_BIT(28)
#define VIRTIO_FEAT_EVENT_IDX VIRTIO_BIT(29)
#define VIRTIO_FEAT_VERSION_1 VIRTIO_BIT(32)

#define VIRTIO_MSI_NO_VECTOR 0xffff

struct virtio_dev;

struct virtio_dev_ops {
	/* Queue `q` was kicked (I/O thread). */
	void (*queue_notify)(struct virtio_dev *v, unsigned int q);
	/* DRIVER_OK was set: the negotiated features and ready queues are final. */
	void (*activate)(struct virtio_dev *v);
	/* The driver reset the device: finish in-flight work; afterwards touch no guest memory. */
	void (*reset)(struct virtio_dev *v);
	/* Device-specific configuration space, offsets checked against config_size. */
	void (*config_read)(struct virtio_dev *v, uint32_t off, void *data, uint32_t len);
	void (*config_write)(struct virtio_dev *v, uint32_t off, const void *data, uint32_t len);
	/* Optional: chains of queue `q` taken from the ring and not yet used (a snapshot
	 * gives them back: they are taken again after a restore). Device quiet. */
	unsigned int (*held)(struct virtio_dev *v, unsigned int q);
};

struct virtio_transport_ops {
	/* Raise the used-buffer interrupt of queue `q`. */
	void (*notify_queue)(struct virtio_dev *v, unsigned int q);
	/* Raise the configuration-change interrupt. */
	void (*notify_config)(struct virtio_dev *v);
	/*
	 * Devices with external_queues only (-1 otherwise, or for no such
	 * queue). kick_fd: the eventfd KVM signals when the guest kicks queue
	 * `q`. call_fd: an eventfd whose every write raises queue `q`'s
	 * interrupt, with the transport's masking and INTx fallback. Both stay
	 * the transport's, valid until it is destroyed; the device hands them
	 * on (vhost-user sends copies to its backend).
	 */
	int (*kick_fd)(struct virtio_dev *v, unsigned int q);
	int (*call_fd)(struct virtio_dev *v, unsigned int q);
};

struct virtio_queue_cfg {
	uint16_t size, max_size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, avail, used;
};

/* What one queue has cost so far: the guest's kicks (each a VM exit) and the
 * interrupts sent to it. Counted under the device lock; printed with -v. */
struct virtio_queue_stats {
	uint64_t kicks, interrupts;
};

struct virtio_dev {
	pthread_mutex_t lock;
	const char *name;
	uint32_t device_id;
	/* Set by the device after virtio_dev_init(), before the transport's init: another
	 * process serves the queues (vhost-user). The transport's I/O thread then neither
	 * reads their kicks nor calls queue_notify; see transport ops kick_fd and call_fd. */
	bool external_queues;
	const struct virtio_dev_ops *ops;
	void *priv; /* the device's own state */
	const struct gm *mem;
	uint64_t host_features;
	uint64_t driver_features;
	uint8_t status;
	uint8_t config_generation;
	uint32_t config_size;
	unsigned int num_queues;
	struct virtio_queue_cfg qcfg[VIRTIO_MAX_QUEUES];
	struct vq vq[VIRTIO_MAX_QUEUES];
	uint16_t config_msix_vector;
	const struct virtio_transport_ops *transport;
	void *transport_ctx;
	struct log_limit warn_limit; /* guest-triggered warnings */
	struct virtio_queue_stats stats[VIRTIO_MAX_QUEUES]; /* kept across resets */
};

/*
 * Initialise the common part; `features` are the device's own (the
 * transport adds VERSION_1, EVENT_IDX, INDIRECT_DESC). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int virtio_dev_init(struct virtio_dev *v, const char *name,
							uint32_t device_id,
							const struct virtio_dev_ops *ops, void *priv,
							const struct gm *mem, uint64_t features,
							uint32_t config_size, unsigned int num_queues,
							uint16_t queue_size);
void virtio_dev_destroy(struct virtio_dev *v);

/* Whether feature bit(s) `f` were negotiated. */
static inline bool virtio_has(const struct virtio_dev *v, uint64_t f)
{
	return (v->driver_features & f) == f;
}

/* Log each queue's counts at info level, as "LABEL: queue N: K kicks, I interrupts". */
void virtio_log_stats(struct virtio_dev *v, const char *label);

/* Mark the device broken (a queue broke a rule): NEEDS_RESET and a config interrupt. Lock held. */
void virtio_needs_reset(struct virtio_dev *v);

/* Interrupt the guest for queue `q` if its suppression settings allow. Lock held. */
void virtio_queue_interrupt(struct virtio_dev *v, unsigned int q);

/* Reset everything the driver negotiated (status 0 written). Lock held. */
void virtio_dev_reset(struct virtio_dev *v);

/*
 * The driver wrote status 0: the device drops the work that points into the
 * old rings (ops->reset), then everything negotiated goes (virtio_dev_reset).
 * What a transport does on that write, besides its own registers. Lock held.
 */
void virtio_driver_reset(struct virtio_dev *v);

/* A queue as a snapshot keeps it: registers and ring positions. */
struct virtio_queue_state {
	uint16_t size, msix_vector, last_avail, used_idx;
	uint8_t enabled, reserved[7];
	uint64_t desc, avail, used;
};

/* The transport-independent state of a device, for a snapshot. */
struct virtio_dev_state {
	uint64_t driver_features;
	uint8_t status, config_generation;
	uint16_t config_msix_vector;
	uint32_t num_queues;
	struct virtio_queue_state q[VIRTIO_MAX_QUEUES];
};

/*
 * Save the device's state (the device quiet: no request in flight). Chains
 * a device holds (ops->held) are given back: last_avail is moved back over
 * them, so that a restored device takes them again.
 */
void virtio_dev_save(struct virtio_dev *v, struct virtio_dev_state *st);

/*
 * Take a snapshot's state (untrusted) into a device just created: features
 * the device does not offer, queue sizes above its maximum, rings outside
 * RAM, vectors at or above `nr_vectors` are -EINVAL. Then DRIVER_OK
 * activates the device as the driver's write would have. Before the
 * device's threads run.
 */
__attribute__((warn_unused_result)) int virtio_dev_load(struct virtio_dev *v,
							const struct virtio_dev_state *st,
							unsigned int nr_vectors);
