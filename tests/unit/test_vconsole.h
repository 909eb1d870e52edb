#pragma once
/*
 * The virtio-console test fixture (vconsole_fixture.c), shared by
 * test_vconsole.c and test_vconsole_data.c. The fixture plays the driver:
 * every queue laid out with the fake vring (CFX_QSIZE entries) and set up by
 * hand, no transport (interrupts are skipped). Kicks call queue_notify with
 * the device lock held, as the I/O thread does; cfx_pump() runs the event
 * loop's callbacks on the test thread (one epoll_wait), so fd events are
 * served deterministically.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/unit/fake_vring.h"
#include "virtio/vconsole.h"
#include "vmm/evloop.h"
#include "vmm/gm.h"

#define CFX_RAM (8ULL << 20)
#define CFX_RING(q) (0x10000ULL + (uint64_t)(q) * 0x1000)
#define CFX_BUF 0x100000ULL
#define CFX_QSIZE VCONSOLE_QUEUE_SIZE
#define CTRL_RX 2
#define CTRL_TX 3
#define F_R false
#define F_W true

static inline unsigned int rxq(unsigned int id)
{
	return id == 0 ? 0 : 2 * id + 2;
}

static inline unsigned int txq(unsigned int id)
{
	return rxq(id) + 1;
}

struct cfx {
	struct gm m;
	struct evloop loop;
	struct vconsole c;
	int log_level;
	unsigned int nq;
	struct fake_vring vr[VIRTIO_MAX_QUEUES];
	uint16_t next_desc[VIRTIO_MAX_QUEUES];
	uint16_t seen[VIRTIO_MAX_QUEUES];	     /* used entries the test has taken */
	uint64_t gpa[VIRTIO_MAX_QUEUES][CFX_QSIZE]; /* first buffer of each head */
	uint64_t buf_next;
};

struct cfx_msg {
	uint32_t id;
	uint16_t event, value;
	char name[VCONSOLE_NAME_MAX + 1];
};

/* Guest RAM, event loop (not started), vconsole_init() with `ports`; SIGPIPE ignored. */
void cfx_init(struct cfx *f, const struct vconsole_port_cfg *ports, unsigned int n);

/* Lay out fresh rings for every queue, negotiate `features`, DRIVER_OK, activate. */
void cfx_activate(struct cfx *f, uint64_t features);

/* The driver writes status 0 (virtio_driver_reset, lock held). */
void cfx_reset(struct cfx *f);

/* vconsole_destroy(), free the loop and RAM (the test closes its fds). */
void cfx_close(struct cfx *f);

/* Host view of guest bytes [gpa, gpa + len); fails the test outside RAM. */
uint8_t *cfx_host(struct cfx *f, uint64_t gpa, uint64_t len);

/* A fresh guest buffer of `len` bytes (16-aligned), filled with `fill`. */
uint64_t cfx_buf(struct cfx *f, uint32_t len, uint8_t fill);

/* Write `s` as the next chain of queue q and publish it (no kick). Returns the head. */
uint16_t cfx_publish(struct cfx *f, unsigned int q, const struct fake_seg *s, unsigned int n);

/* queue_notify(q) with the device lock held, as the I/O thread would. */
void cfx_kick(struct cfx *f, unsigned int q);

/* Post one writable buffer of `len` bytes on queue q (no kick). Returns its address. */
uint64_t cfx_post(struct cfx *f, unsigned int q, uint32_t len);

/* Take the next used entry of queue q, if any: its buffer's address and length. */
bool cfx_used(struct cfx *f, unsigned int q, uint64_t *gpa, uint32_t *len);

/* The driver sends one control message on queue 3 and kicks. */
void cfx_ctrl_send(struct cfx *f, uint32_t id, uint16_t event, uint16_t value);

/* The next control message for the driver, if any. */
bool cfx_ctrl_recv(struct cfx *f, struct cfx_msg *m);

/* The next control message must be (id, event, value); or there must be none. */
void cfx_expect_msg(struct cfx *f, uint32_t id, uint16_t event, uint16_t value);
void cfx_expect_no_msg(struct cfx *f);

/* Post `n` control rx buffers of 128 bytes and kick queue 2. */
void cfx_ctrl_buffers(struct cfx *f, unsigned int n);

/* DEVICE_READY, PORT_ADD for each; PORT_READY for each, PORT_NAME and PORT_OPEN(1) back. */
void cfx_handshake(struct cfx *f);

/* The guest opens (or closes) port `id`: PORT_OPEN(id, open). */
void cfx_open_port(struct cfx *f, unsigned int id, bool open);

/* Dispatch what the event loop has ready, on this thread. Returns the events served. */
int cfx_pump(struct cfx *f, int timeout_ms);

/* The device status byte. */
uint8_t cfx_status(struct cfx *f);

/* A non-blocking pipe: p[0] read end, p[1] write end. */
void cfx_pipe(int p[2]);

/* Bytes waiting to be read on `fd` (FIONREAD). */
int cfx_pending(int fd);

/* Write all of string `s` to `fd`. */
void cfx_put(int fd, const char *s);

/* The next rx entry of port `id` must hold exactly `want`. */
void cfx_expect_rx(struct cfx *f, unsigned int id, const char *want);

/* Publish `s` as one tx chain of port `id`, cut into `nseg` readable pieces, and kick. */
void cfx_guest_write(struct cfx *f, unsigned int id, const char *s, unsigned int nseg);

/* One read of `fd` must return exactly `want`. */
void cfx_expect_out(int fd, const char *want);

/* Test cases defined in test_vconsole_data.c, added to the vconsole suite. */
void vconsole_data_tcases(Suite *s);
