#pragma once
/*
 * virtio-console with multiport (virtio 1.2, 5.3): named byte-stream ports
 * between host file descriptors and the guest's /dev/vportNpM (udev links
 * /dev/virtio-ports/NAME). Built to carry a command's stdin, stdout, stderr
 * and exit status.
 *
 * The multiport protocol. Queues: port 0 rx (0) and tx (1), control rx (2,
 * device -> driver) and control tx (3, driver -> device), then port N rx and
 * tx at 2N + 2 and 2N + 3. A control message is struct
 * virtio_console_control {id, event, value}, PORT_NAME followed by the name.
 *
 *   driver: DEVICE_READY(1)        device: PORT_ADD(id) for every port
 *   driver: PORT_READY(id, 1)      device: PORT_NAME(id, name), and
 *                                          PORT_OPEN(id, 1) if the host side is connected
 *   driver: PORT_OPEN(id, 1 or 0)  the guest opened or closed the port's device node
 *   device: PORT_OPEN(id, 0)       the host side went away (EOF on in_fd, EPIPE on out_fd)
 *
 * Messages for the guest wait in the device (at most one of each kind per
 * port, so the wait is bounded) until the driver posts control rx buffers.
 *
 * Host -> guest: in_fd is read straight into the guest's receive buffers,
 * only while the guest has the port open (Linux drops data arriving for a
 * closed port) and has buffers posted; otherwise in_fd is not watched
 * (back-pressure) until the guest kicks the port's rx queue or opens it.
 * At EOF of in_fd, after every byte read before it has reached the guest,
 * the device sends PORT_OPEN(id, 0): the guest's read() then returns 0
 * once it has read what is queued.
 *
 * Guest -> host: each tx buffer is written to out_fd in order. On EAGAIN the
 * rest of the buffer waits for EPOLLOUT; the guest's buffer is returned only
 * when written. On EPIPE (or another write error) the host side is marked
 * disconnected, PORT_OPEN(id, 0) is sent, and from then on the guest's tx
 * buffers are consumed and dropped. What a Linux guest writer then sees
 * (drivers/char/virtio_console.c): write() blocks until the host side
 * reconnects, which Ember never does (with O_NONBLOCK: EAGAIN); poll()
 * reports POLLHUP and no POLLOUT; read() returns 0 once the queued data
 * has been read. A guest agent should poll and stop on POLLHUP.
 *
 * A port whose in_fd and out_fd are both -1 is still offered (named) and
 * connected: what the guest writes to it is dropped, reads block.
 *
 * Without MULTIPORT negotiated only port 0 exists (queues 0 and 1), as a
 * console the guest always has open.
 *
 * Threads: everything runs on the I/O thread with the virtio_dev lock held,
 * except ops->reset (a vCPU thread, lock held too).
 */
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_console.h>

#include "virtio/virtio.h"
#include "vmm/evloop.h"
#include "vmm/gm.h"

#define VCONSOLE_MAX_PORTS (VIRTIO_MAX_QUEUES / 2 - 1) /* 2 queues per port + 2 control */
#define VCONSOLE_QUEUE_SIZE 128
#define VCONSOLE_NAME_MAX 63	/* bytes of a port name, without the NUL */
#define VCONSOLE_BATCH 64	/* chains served per queue and turn of the I/O thread */

struct vconsole_port_cfg {
	const char *name; /* sent as PORT_NAME, e.g. "ember.stdout"; NULL or "": none */
	int in_fd;	  /* host -> guest data is read from here, or -1 */
	int out_fd;	  /* guest -> host data is written here, or -1 */
	/* If set: called once when out_fd fails (its reader went away), on the
	 * I/O thread with the device lock held (it must not take that lock). */
	void (*out_gone)(void *ctx);
	void *out_gone_ctx;
};

struct vconsole_port;

/* One fd of a port as the event loop sees it (in_fd and out_fd share one when equal). */
struct vconsole_watch {
	struct vconsole_port *port;
	int fd;		 /* -1: none */
	bool polled;	 /* registered with the loop; else read and written when wanted */
	uint32_t events; /* what the loop wakes on now */
};

struct vconsole_port {
	struct vconsole *con;
	unsigned int id;
	char name[VCONSOLE_NAME_MAX + 1];
	int in_fd, out_fd;
	void (*out_gone)(void *ctx);
	void *out_gone_ctx;
	struct vconsole_watch watch[2];
	struct vconsole_watch *in_w, *out_w; /* into watch[]; NULL without the fd */
	/* The host side: kept across guest resets (Ember never reconnects). */
	bool in_eof;	 /* in_fd ended or failed: nothing more to read */
	bool out_broken; /* out_fd failed (EPIPE): guest output is dropped */
	/* The guest side: forgotten at reset. */
	bool ready;	       /* PORT_READY(id, 1) seen */
	bool guest_open;       /* PORT_OPEN(id, 1) seen, no PORT_OPEN(id, 0) since */
	uint8_t ctrl_pending;  /* messages for the guest not sent yet: add, name, open bits */
	bool rx_starved;       /* the rx ring was empty: wait for a kick */
	bool rx_more, tx_more; /* stopped at the per-turn bound: come back next turn */
	bool tx_wait;	       /* out_fd said EAGAIN: wait for EPOLLOUT */
	bool tx_busy;	       /* tx_chain is taken and written up to tx_off */
	uint64_t tx_off;
	struct vq_chain tx_chain;
	uint64_t rx_bytes, tx_bytes, tx_dropped; /* counters for tests and logs */
};

struct vconsole {
	struct virtio_dev vdev;
	struct evloop *loop;
	struct virtio_console_config cfg;
	unsigned int nports;
	int turn_fd;	   /* eventfd: another turn of the I/O thread wanted */
	bool driver_ready; /* DEVICE_READY(1) seen since the last reset */
	bool ctrl_more;	   /* control tx stopped at the per-turn bound */
	struct vconsole_port port[VCONSOLE_MAX_PORTS];
};

/*
 * Set up the device with `n` ports (1 to VCONSOLE_MAX_PORTS), port i as
 * ports[i]. Names are copied (at most VCONSOLE_NAME_MAX bytes). The fds stay
 * the caller's: the device never closes them, and they must stay open until
 * vconsole_destroy(). Pipes, sockets and ttys must be non-blocking (the
 * device never waits on one); regular files and /dev/null, which epoll
 * refuses, are read and written whenever wanted. An fd number may serve one
 * port only (in_fd == out_fd of one port is fine: a socket); dup() it
 * otherwise. The caller must ignore SIGPIPE. The transport is attached by
 * the caller (virtio_pci_init on &c->vdev); `c` must not move afterwards.
 * Returns 0, -EINVAL (bad count, fd used twice), -ENAMETOOLONG or -errno.
 */
__attribute__((warn_unused_result)) int vconsole_init(struct vconsole *c,
						      const struct vconsole_port_cfg *ports,
						      unsigned int n, const struct gm *mem,
						      struct evloop *loop);

/* Stop watching the fds (left open) and free what init took. The loop must not be running
 * callbacks of this device (stop it first, or call on the I/O thread). */
void vconsole_destroy(struct vconsole *c);

/*
 * Once the VM has stopped (vCPUs and I/O thread joined): write what the
 * guest queued for the host and was not written yet (an out_fd that said
 * EAGAIN), so that a guest that powers off right after writing loses
 * nothing. Waits for each out_fd to take data; gives up on a port whose
 * reader takes nothing for `idle_ms`. Main thread.
 */
void vconsole_drain(struct vconsole *c, int idle_ms);

/* Whether the host side of port `p` is connected (no EOF on in_fd, no EPIPE on out_fd). */
bool vconsole_host_connected(const struct vconsole_port *p);
