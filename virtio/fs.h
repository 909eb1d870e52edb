#pragma once
/*
 * virtio-fs (virtio 1.2, 5.11): a host directory the guest mounts by tag
 * (mount -t virtiofs TAG /mnt). The guest's FUSE requests are served by a
 * vhost-user backend (virtiofsd) straight from guest RAM: Ember keeps the
 * device's configuration (the tag, one request queue) and, when the driver
 * sets DRIVER_OK, tells the backend where RAM and the rings are
 * (vmm/vhost_user.h); it never reads a request itself. Queue 0 is the
 * high-priority queue, queue 1 the request queue.
 *
 * Guest RAM must be shared (gm_init_shared()). The transport must support
 * external queues (virtio/pci.c does): kicks go from KVM to the backend,
 * its calls to the guest through an irqfd.
 *
 * If the backend goes away (its socket hangs up, seen by the I/O thread, or
 * a request fails), the device sets DEVICE_NEEDS_RESET and calls `lost`
 * once, so that the VM can stop with an error instead of a guest waiting
 * for ever.
 *
 * Locking: the virtio_dev lock guards everything, the vhost-user
 * conversation included (DRIVER_OK and reset come on vCPU threads).
 */
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio.h"
#include "vmm/evloop.h"
#include "vmm/gm.h"
#include "vmm/vhost_user.h"

#define FS_DEVICE_ID 26
#define FS_TAG_MAX   36 /* bytes; not NUL-terminated when it fills the field */
#define FS_QUEUES    2	/* hiprio and one request queue */
/* Entries per queue offered: virtiofsd takes up to 1024, the transport's ring checks 256. */
#define FS_QUEUE_SIZE VQ_MAX_SIZE

/* The device configuration (little-endian). */
struct fs_config {
	char tag[FS_TAG_MAX];
	uint32_t num_request_queues;
} __attribute__((packed));

struct fs_options {
	const char *tag;       /* 1 to FS_TAG_MAX bytes */
	const struct gm *mem;  /* shared */
	struct evloop *loop;   /* the I/O thread, which watches the backend's socket */
	int timeout_ms;	       /* for each reply of the backend; 0: VHOST_USER_TIMEOUT_MS */
	/* The backend is gone. Called once, on the I/O thread or a vCPU thread, with
	 * the device lock held: it must not take it (vm_request_stop() is fine). */
	void (*lost)(void *ctx);
	void *lost_ctx;
};

struct fs {
	struct virtio_dev vdev;
	struct vhost_user vu;
	struct fs_config config;
	struct evloop *loop;
	bool watched;		   /* the socket is on the loop */
	bool started[FS_QUEUES];   /* handed to the backend since the last reset */
	bool gone;		   /* `lost` was called */
	void (*lost)(void *ctx);
	void *lost_ctx;
};

/*
 * Build the device on connected socket `sock` (taken over: closed by
 * fs_destroy(), also on failure): the vhost-user hello, the features the
 * backend offers masked by what the transport supports, the configuration,
 * the socket watched on o->loop. Then the caller wraps f->vdev in its
 * transport. Returns 0, -EINVAL (tag, RAM not shared), -ENOTSUP (the backend
 * lacks VERSION_1 or two queues) or -errno of the conversation; logged.
 */
__attribute__((warn_unused_result)) int fs_init(struct fs *f, int sock, const struct fs_options *o);

/* fs_init() on a connection to the backend listening on unix socket `path`. */
__attribute__((warn_unused_result)) int fs_open(struct fs *f, const char *path,
						const struct fs_options *o);

/* Stop watching and close the socket (the backend sees the end). After the transport's destroy. */
void fs_destroy(struct fs *f);
