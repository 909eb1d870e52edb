#pragma once
/*
 * virtio-net over a tap device (virtio 1.2, 5.1): MAC, link status,
 * mergeable receive buffers, checksum and TSO offloads in both directions
 * (the tap speaks the same 12-byte header, so frames pass without copies:
 * readv/writev straight between the tap and guest buffers).
 *
 * Receive has back-pressure: when the guest has posted too little buffer
 * space for the largest frame it accepts, Ember stops reading the tap until
 * the guest kicks the receive queue. Frames then wait in the tap's queue,
 * not in Ember. Transmit sends every chain of a kick before interrupting.
 *
 * Threads: everything runs on the I/O thread with the virtio_dev lock held.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_net.h>

#include "virtio/virtio.h"
#include "vmm/evloop.h"

#define NET_QUEUE_SIZE 256
#define NET_TX_BATCH 128 /* frames sent per turn of the I/O thread */
#define NET_RX_MAX_CHAINS NET_QUEUE_SIZE /* buffers one received frame may span: the whole ring */
#define NET_RX_MAX_IOV 1024
#define NET_RX_BUF_MAX UINT32_MAX /* largest receive chain: a used length is 32 bits */

struct net_options {
	const char *tap;
	uint8_t mac[6];
	bool mac_set; /* else derived from the tap name */
};

struct net {
	struct virtio_dev vdev;
	char tap[16];
	int tap_fd;
	struct evloop *loop;
	struct virtio_net_config cfg;
	bool rx_paused;
	bool tx_more; /* the transmit queue stopped at its per-turn bound: resume on EPOLLOUT */
	size_t rx_max; /* largest frame (with header) the guest accepts */
	/* Receive buffers taken from the ring and not filled yet, in ring order: the
	 * next frame goes into them. Kept from frame to frame (a reset drops them), so
	 * a small frame costs one buffer taken, not the dozens a 64 KiB one may need. */
	unsigned int rx_chains, rx_niov;
	size_t rx_room; /* bytes they hold */
	struct net_rx_buf {
		uint16_t head;
		uint16_t nseg; /* its segments in rx_iov */
		uint32_t cap;  /* its size */
		uint32_t len;  /* what the frame just read put in it */
	} rx_buf[NET_RX_MAX_CHAINS];
	struct iovec rx_iov[NET_RX_MAX_IOV];
	uint64_t tx_errors;
};

/* The MAC Ember gives a tap without mac=: 52:54:00 and three bytes of a hash of the name. */
void net_default_mac(const char *tap, uint8_t mac[6]);

/*
 * Set up the device on an open frame fd (a tap with 12-byte vnet headers,
 * or in tests a SOCK_SEQPACKET socket), which it then owns. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int net_attach(struct net *n, int fd, const char *name,
						   const uint8_t mac[6], const struct gm *mem,
						   struct evloop *loop);

/*
 * net_attach() on tap `fd` (opened with tap_open()) for the options' tap
 * name and MAC (mac= or the default derived from the name). The device owns
 * `fd` on success; on failure it stays the caller's. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int net_attach_tap(struct net *n, int fd,
						       const struct net_options *o,
						       const struct gm *mem, struct evloop *loop);

/* Open the tap and set up the device; logs the reason on failure. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int net_open(struct net *n, const struct net_options *o,
						 const struct gm *mem, struct evloop *loop);
void net_close(struct net *n);
