#pragma once
/*
 * The fixture shared by the virtio-net tests (test_net.c, test_net_rx.c,
 * test_net_order.c; helpers in net_fixture.c): guest RAM, a socketpair
 * (AF_UNIX, SOCK_SEQPACKET) standing in for the tap (each message is one
 * frame with a 12-byte struct virtio_net_hdr_v1 in front, as a tap with
 * IFF_VNET_HDR), the device
 * attached to one end with net_attach(), the test holding the other ("peer").
 *
 * Queues 0 (RX) and 1 (TX) are laid out with the fake vring and set up by
 * hand, no transport (interrupts are skipped). Activation follows the PCI
 * transport: DRIVER_OK is set, then ops->activate runs, lock held.
 *
 * Receive runs either through nfx_kick(f, RXQ) (the path a guest kick takes)
 * or, once nfx_start() ran the event loop, through the device's tap callback
 * on the I/O thread; nfx_wait_used() polls the used index (bounded).
 */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/virtio_net.h>

#include "tests/unit/fake_vring.h"
#include "virtio/net.h"
#include "vmm/evloop.h"
#include "vmm/gm.h"

#define NFX_RAM	    (8ULL << 20)
#define NFX_HUGE_RAM (512ULL << 20) /* room for a 255 MiB buffer: chains of 4 GiB and more */
#define NFX_RX_RING 0x1000ULL  /* queue 0, up to NET_QUEUE_SIZE entries */
#define NFX_TX_RING 0x4000ULL  /* queue 1 */
#define NFX_TABLE   0x8000ULL  /* indirect tables */
#define NFX_BUF	    0x100000ULL /* guest buffers, handed out upwards */
#define NFX_HDR	    sizeof(struct virtio_net_hdr_v1)

#define RXQ 0
#define TXQ 1

/* struct fake_seg.write */
#define F_R false
#define F_W true

/* Feature sets the tests negotiate (device bits; the fixture adds VERSION_1 and INDIRECT_DESC). */
#define NFX_MRG	 VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define NFX_TSO4 (VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))

struct nfx_cfg {
	uint64_t features;
	uint16_t rx_size;   /* 0: NET_QUEUE_SIZE */
	bool event_idx;	    /* negotiate EVENT_IDX, both queues use it */
	bool no_rx_queue;   /* DRIVER_OK without queue 0 ready (hostile) */
};

struct nfx {
	struct gm m;
	struct evloop loop;
	bool loop_running, attached;
	int log_level;
	struct net n;
	int peer;
	struct fake_vring rx, tx;
	uint16_t rx_next, tx_next; /* next free descriptor of each ring */
	uint64_t buf_next;	   /* next free guest buffer */
};

/* Guest RAM, event loop, socket pair, net_attach(); the device is not activated. */
void nfx_attach(struct nfx *f);

/*
 * The same with `ram` bytes of guest RAM from 0 (up to 4 GiB): a sparse
 * mapping, so a large one costs only the pages a test touches.
 */
void nfx_attach_ram(struct nfx *f, uint64_t ram);

/* Set up the queues, negotiate c->features, set DRIVER_OK and activate. */
void nfx_activate(struct nfx *f, const struct nfx_cfg *c);

/* nfx_attach() and nfx_activate() with `features` and default queues. */
void nfx_open(struct nfx *f, uint64_t features);

/* Run the event loop: frames from the peer then reach the guest without kicks. */
void nfx_start(struct nfx *f);

/* Stop the loop, net_close(), close the peer, free guest RAM. */
void nfx_close(struct nfx *f);

/* A fresh guest buffer of `len` bytes (16-aligned), filled with `fill`. */
uint64_t nfx_buf(struct nfx *f, uint32_t len, uint8_t fill);
uint8_t *nfx_host(struct nfx *f, uint64_t gpa, uint64_t len);

/* Write `segs` as the next chain of queue `q` and publish it (no kick). Returns the head. */
uint16_t nfx_publish(struct nfx *f, unsigned int q, const struct fake_seg *segs, unsigned int n);

/* Post one receive buffer of `len` bytes (a single writable descriptor). Returns its head. */
uint16_t nfx_post_rx(struct nfx *f, uint32_t len);

/* queue_notify(q) with the device lock held, as the I/O thread would. */
void nfx_kick(struct nfx *f, unsigned int q);

/* Status and TX error count, read under the device lock. */
uint8_t nfx_status(struct nfx *f);

/* Used index of queue `q` as the driver sees it; wait (bounded) until it reaches `idx`. */
uint16_t nfx_used_idx(struct nfx *f, unsigned int q);
void nfx_wait_used(struct nfx *f, unsigned int q, uint16_t idx);

/* The used element `idx` of queue `q` must be (head, len). */
void nfx_used_is(struct nfx *f, unsigned int q, uint16_t idx, uint16_t head, uint32_t len);

/* The byte frame `seed` holds at `off` (of its payload, after the header). */
uint8_t nfx_pattern(unsigned int seed, size_t off);

/* The peer sends one frame: `hdr` (NULL: zeros) and `len` payload bytes of pattern `seed`. */
void nfx_send(struct nfx *f, const struct virtio_net_hdr_v1 *hdr, unsigned int seed, size_t len);

/* The peer receives one frame without blocking; returns its length (-1: none). */
ssize_t nfx_recv(struct nfx *f, void *buf, size_t size);

/* Length of the next frame waiting for the device on its socket (-1: none). */
ssize_t nfx_pending(struct nfx *f);

/* Whether guest bytes [gpa, gpa + len) hold pattern `seed` from payload offset `off`. */
bool nfx_guest_is_pattern(struct nfx *f, uint64_t gpa, unsigned int seed, size_t off, size_t len);

/* CPU time the I/O thread used over `ms` milliseconds of the test thread sleeping. */
double nfx_loop_cpu_ms(struct nfx *f, unsigned int ms);

/* Test cases defined in test_net_rx.c, test_net_order.c and test_net_huge.c, added to the net suite. */
void net_rx_tcases(Suite *s);
void net_order_tcases(Suite *s);
void net_huge_tcases(Suite *s);
