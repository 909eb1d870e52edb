#pragma once
/*
 * The frontend of vhost-user (QEMU's docs/interop/vhost-user.rst): a virtio
 * device whose queues another process, the backend (virtiofsd, ...), serves
 * straight from guest RAM. Ember tells it where things are over a unix
 * stream socket.
 *
 * Each message is a header {u32 request, u32 flags, u32 size} and `size`
 * bytes of payload; file descriptors travel beside it (SCM_RIGHTS). Flags
 * carry the version (1) in bits 0-1, REPLY (bit 2) on the backend's answers
 * and NEED_REPLY (bit 3) on requests that want an acknowledgement.
 *
 * The conversation:
 *   1. hello: GET_FEATURES; if the backend offers PROTOCOL_FEATURES (bit
 *      30), GET_PROTOCOL_FEATURES and SET_PROTOCOL_FEATURES (what both
 *      know); SET_OWNER; GET_QUEUE_NUM if MQ was agreed.
 *   2. the guest's driver is ready: SET_FEATURES (what the guest accepted),
 *      SET_MEM_TABLE (each RAM region: guest address, size, Ember's address
 *      of it, offset in the fd sent with it), then per queue SET_VRING_NUM,
 *      _ADDR (Ember's addresses of the rings: the backend finds them in the
 *      table), _BASE, _KICK (the eventfd KVM signals on the guest's kicks),
 *      _CALL (the eventfd that interrupts the guest), _ENABLE.
 *   3. reset: GET_VRING_BASE stops a queue and says where it stopped.
 * The backend answers GET_* requests, and, once REPLY_ACK is agreed, every
 * other request too (this frontend asks for it on all of them): a u64,
 * 0 for success.
 *
 * Replies are hostile input: request, flags and size must be exactly what
 * was asked, descriptors are refused (closed), and a reply that takes
 * longer than the timeout fails with -ETIMEDOUT. A backend that closed its
 * end gives -ECONNRESET or -EPIPE, never SIGPIPE. After any of these the
 * connection is broken for good (u->err): every later call returns it.
 *
 * Locking: none. Calls on one connection are serialised by its owner (a
 * device holds its lock).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/gm.h"

enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
};

#define VHOST_USER_VERSION	   1U
#define VHOST_USER_VERSION_MASK	   3U
#define VHOST_USER_FLAG_REPLY	   (1U << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1U << 3)

/* A virtio feature bit of vhost-user's own: the backend speaks the protocol features. */
#define VHOST_USER_F_PROTOCOL_FEATURES (1ULL << 30)

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ	(1ULL << 0)
#define VHOST_USER_PROTOCOL_F_REPLY_ACK (1ULL << 3)
#define VHOST_USER_PROTOCOL_F_CONFIG	(1ULL << 9)

#define VHOST_USER_MAX_REGIONS	 8   /* memory regions SET_MEM_TABLE carries */
#define VHOST_USER_MAX_CONFIG	 256 /* bytes of device configuration per message */
#define VHOST_USER_VRING_NOFD	 (1ULL << 8) /* KICK/CALL: no descriptor comes with it */
#define VHOST_USER_TIMEOUT_MS	 5000

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* of the payload that follows */
} __attribute__((packed));

struct vhost_user_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;	      /* Ember's address of it */
	uint64_t mmap_offset; /* where it starts in the fd */
} __attribute__((packed));

struct vhost_user_mem {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_region region[VHOST_USER_MAX_REGIONS];
} __attribute__((packed));

struct vhost_user_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vhost_user_addr {
	uint32_t index;
	uint32_t flags; /* bit 0: log used ring writes (not used by Ember) */
	uint64_t desc, used, avail, log;
} __attribute__((packed));

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[VHOST_USER_MAX_CONFIG];
} __attribute__((packed));

#define VHOST_USER_CONFIG_HDR 12 /* offset, size, flags */

union vhost_user_payload {
	uint64_t u64;
	struct vhost_user_state state;
	struct vhost_user_addr addr;
	struct vhost_user_mem mem;
	struct vhost_user_config config;
};

struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union vhost_user_payload p;
} __attribute__((packed));

struct vhost_user {
	int fd;
	int timeout_ms;		    /* for each reply (and for room to send) */
	int err;		    /* 0, or why the connection is unusable */
	uint64_t features;	    /* what the backend offers (GET_FEATURES) */
	uint64_t protocol_features; /* agreed: offered by the backend and wanted */
	unsigned int queue_num;	    /* GET_QUEUE_NUM when MQ was agreed, else 0 */
};

/*
 * Take over connected stream socket `fd` (closed by vhost_user_close(), also
 * on failure here). Nothing is sent yet. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int vhost_user_init(struct vhost_user *u, int fd,
							int timeout_ms);

/* Connect to the backend listening on unix socket `path`, then vhost_user_init(). */
__attribute__((warn_unused_result)) int vhost_user_connect(struct vhost_user *u, const char *path,
							   int timeout_ms);

/* Close the socket: the backend sees the end of the conversation and stops. */
void vhost_user_close(struct vhost_user *u);

/*
 * Step 1 of the conversation. `want_protocol` are the protocol features the
 * caller can use; REPLY_ACK is always asked for, and only MQ, REPLY_ACK and
 * CONFIG are ever agreed (what this frontend implements). Fills u->features,
 * u->protocol_features, u->queue_num. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int vhost_user_negotiate(struct vhost_user *u,
							     uint64_t want_protocol);

/* Whether protocol feature(s) `f` were agreed. */
static inline bool vhost_user_has(const struct vhost_user *u, uint64_t f)
{
	return (u->protocol_features & f) == f;
}

/* SET_FEATURES; PROTOCOL_FEATURES is added when the backend offered it. */
__attribute__((warn_unused_result)) int vhost_user_set_features(struct vhost_user *u,
								uint64_t features);

/*
 * SET_MEM_TABLE from guest memory `m`, which must be shared (gm_init_shared():
 * -EINVAL otherwise) with at most VHOST_USER_MAX_REGIONS regions.
 */
__attribute__((warn_unused_result)) int vhost_user_set_mem_table(struct vhost_user *u,
								 const struct gm *m);

/*
 * Fill `msg` with the SET_MEM_TABLE request for `m` (fds[i] goes with
 * region i) and return how many regions, or -EINVAL. No I/O: for tests.
 */
int vhost_user_mem_table_msg(const struct gm *m, struct vhost_user_msg *msg,
			     int fds[VHOST_USER_MAX_REGIONS]);

__attribute__((warn_unused_result)) int vhost_user_set_vring_num(struct vhost_user *u,
								 unsigned int q, uint16_t num);

/*
 * SET_VRING_ADDR for a ring of `num` entries at guest addresses desc, avail
 * and used, sent as Ember's addresses of them. Returns -EFAULT, sending
 * nothing, unless all three lie in guest RAM (gm_ptr()).
 */
__attribute__((warn_unused_result)) int vhost_user_set_vring_addr(struct vhost_user *u,
								  const struct gm *m,
								  unsigned int q, uint16_t num,
								  uint64_t desc, uint64_t avail,
								  uint64_t used);

__attribute__((warn_unused_result)) int vhost_user_set_vring_base(struct vhost_user *u,
								  unsigned int q, uint16_t base);

/* Stop queue `q`; *base is where the backend would go on. */
__attribute__((warn_unused_result)) int vhost_user_get_vring_base(struct vhost_user *u,
								  unsigned int q, uint16_t *base);

/* Hand the backend queue `q`'s kick or call eventfd (a copy travels; `fd` stays the caller's). */
__attribute__((warn_unused_result)) int vhost_user_set_vring_kick(struct vhost_user *u,
								  unsigned int q, int fd);
__attribute__((warn_unused_result)) int vhost_user_set_vring_call(struct vhost_user *u,
								  unsigned int q, int fd);

/* SET_VRING_ENABLE; -ENOTSUP unless the backend speaks protocol features. */
__attribute__((warn_unused_result)) int vhost_user_set_vring_enable(struct vhost_user *u,
								    unsigned int q, bool enable);

/* Device configuration bytes [off, off + len); -ENOTSUP unless CONFIG was agreed. */
__attribute__((warn_unused_result)) int vhost_user_get_config(struct vhost_user *u, uint32_t off,
							      void *buf, uint32_t len);
__attribute__((warn_unused_result)) int vhost_user_set_config(struct vhost_user *u, uint32_t off,
							      const void *buf, uint32_t len);

/*
 * Whether `h` is the reply to `request` with a payload of exactly `size`
 * bytes: 0 or -EPROTO. Pure; the check every reply passes.
 */
int vhost_user_check_reply(const struct vhost_user_hdr *h, uint32_t request, uint32_t size);
