#include "virtio/vconsole.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/iov.h"
#include "vmm/log.h"

#define VIRTIO_ID_CONSOLE 3
#define PORT0_RXQ 0
#define CTRL_RXQ 2 /* device -> driver */
#define CTRL_TXQ 3 /* driver -> device */

/* Control messages waiting for the guest, sent in this order. */
#define CTRL_ADD 1
#define CTRL_NAME 2
#define CTRL_OPEN 4

#define CTRL_HDR sizeof(struct virtio_console_control)

/* ---- small helpers ---- */

static struct vconsole *to_con(struct virtio_dev *v)
{
	return v->priv;
}

static unsigned int rxq_of(unsigned int id)
{
	return id == 0 ? PORT0_RXQ : 2 * id + 2;
}

static bool multiport(struct vconsole *c)
{
	return virtio_has(&c->vdev, VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT));
}

/* Driver running and nothing broken: the rings may be used. */
static bool live(struct vconsole *c)
{
	uint8_t st = c->vdev.status;

	return (st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_NEEDS_RESET);
}

static void warn_guest(struct vconsole *c, const char *what, uint32_t id)
{
	if (log_limit_ok(&c->vdev.warn_limit, 10, LOG_WARN))
		log_warn("virtio-console: %s (port %u); ignored", what, id);
}

/* The guest broke a queue rule: stop using the rings until it resets the device. */
static void broken(struct vconsole *c)
{
	virtio_needs_reset(&c->vdev);
}

bool vconsole_host_connected(const struct vconsole_port *p)
{
	return !p->in_eof && !p->out_broken;
}

/*
 * A queue served up to its per-turn bound: is there more for the next turn?
 * If the ring is empty just then, the guest must be asked to kick for its
 * next buffer (avail_event), or it never will: with EVENT_IDX it kicks only
 * when its index passes the one the device last published.
 */
static bool more_after_batch(struct vq *q)
{
	return vq_avail_pending(q) || vq_enable_notify(q);
}

static void request_turn(struct vconsole *c)
{
	uint64_t one = 1;

	if (write(c->turn_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already nonzero, a turn is coming anyway. */
	}
}

/* ---- what the event loop watches ---- */

static void watch_set(struct vconsole *c, struct vconsole_watch *w, uint32_t events)
{
	if (w && w->polled && w->events != events) {
		w->events = events;
		evloop_set_events(c->loop, w->fd, events);
	}
}

/* Stop polling `w` (a hung-up fd wakes epoll whatever it asks for): it is then used
 * whenever wanted, and reads or writes tell what is left. */
static void watch_drop(struct vconsole *c, struct vconsole_watch *w)
{
	if (w && w->polled) {
		evloop_del(c->loop, w->fd);
		w->polled = false;
	}
}

static bool rx_allowed(struct vconsole_port *p)
{
	struct vconsole *c = p->con;

	return live(c) && p->guest_open && !p->in_eof && p->in_fd >= 0 &&
	       c->vdev.vq[rxq_of(p->id)].ready;
}

/* Wake on in_fd while the guest can take its data, on out_fd while a write waits for room. */
static void update_events(struct vconsole_port *p)
{
	uint32_t in = rx_allowed(p) && !p->rx_starved ? EPOLLIN : 0;
	uint32_t out = p->tx_wait ? EPOLLOUT : 0;

	if (p->in_w == p->out_w) {
		watch_set(p->con, p->in_w, in | out);
	} else {
		watch_set(p->con, p->in_w, in);
		watch_set(p->con, p->out_w, out);
	}
}

/* ---- control messages, device -> driver ---- */

/* The host side went away: tell the guest, if it knows the port. */
static void host_gone(struct vconsole_port *p)
{
	if (p->ready)
		p->ctrl_pending |= CTRL_OPEN;
}

/* Build message `bit` of port `p` into buf. Returns its length. */
static size_t ctrl_build(const struct vconsole_port *p, uint8_t bit, uint8_t *buf)
{
	struct virtio_console_control m = { .id = p->id };
	size_t name_len = 0;

	switch (bit) {
	case CTRL_ADD: m.event = VIRTIO_CONSOLE_PORT_ADD; break;
	case CTRL_NAME:
		m.event = VIRTIO_CONSOLE_PORT_NAME;
		name_len = strlen(p->name); /* no NUL: the driver adds one */
		break;
	default:
		m.event = VIRTIO_CONSOLE_PORT_OPEN;
		m.value = vconsole_host_connected(p);
		break;
	}
	memcpy(buf, &m, CTRL_HDR);
	memcpy(buf + CTRL_HDR, p->name, name_len);
	return CTRL_HDR + name_len;
}

/*
 * Put one message into the next control rx buffer. A buffer too small for it
 * goes back empty and the next one is tried. Returns 1 when sent, 0 when the
 * driver has no buffer, -1 when the queue broke.
 */
static int ctrl_put(struct vconsole *c, const uint8_t *msg, size_t len)
{
	struct vq *q = &c->vdev.vq[CTRL_RXQ];
	struct vq_chain ch;

	for (unsigned int tries = 0; tries <= q->size; tries++) {
		int r = vq_pop(q, &ch);

		if (r < 0)
			return -1;
		if (r == 0) {
			if (vq_enable_notify(q))
				continue;
			return 0;
		}
		if (ch.nread) /* a receive buffer the device may not write */
			return -1;
		if (ch.write_len < len) {
			warn_guest(c, "control rx buffer too small", 0);
			vq_push(q, ch.head, 0);
			continue;
		}
		vq_chain_write(&ch, 0, msg, len);
		vq_push(q, ch.head, (uint32_t)len);
		return 1;
	}
	return 0;
}

/* Send what waits for the guest, in port order, as far as its buffers go. */
static void ctrl_flush(struct vconsole *c)
{
	static const uint8_t order[] = { CTRL_ADD, CTRL_NAME, CTRL_OPEN };
	uint8_t msg[CTRL_HDR + VCONSOLE_NAME_MAX];
	unsigned int sent = 0;
	int r = 1;

	if (!live(c) || !c->vdev.vq[CTRL_RXQ].ready)
		return;
	for (unsigned int i = 0; r > 0 && i < c->nports; i++) {
		struct vconsole_port *p = &c->port[i];

		for (unsigned int k = 0; r > 0 && k < sizeof(order); k++) {
			if (!(p->ctrl_pending & order[k]))
				continue;
			r = ctrl_put(c, msg, ctrl_build(p, order[k], msg));
			if (r > 0) {
				p->ctrl_pending &= (uint8_t)~order[k];
				sent++;
			}
		}
	}
	if (r < 0)
		broken(c);
	if (sent)
		virtio_queue_interrupt(&c->vdev, CTRL_RXQ);
}

/* ---- guest -> host data ---- */

/* out_fd failed: the host side is gone, the guest's output is dropped from now on. */
static void out_failed(struct vconsole_port *p, int err)
{
	if (err != EPIPE)
		log_warn("virtio-console: port %u (%s): writing its output failed: %s; the rest is "
			 "dropped", p->id, p->name, strerror(err));
	p->out_broken = true;
	host_gone(p);
	if (p->out_w != p->in_w)
		watch_drop(p->con, p->out_w); /* a pipe without reader wakes epoll forever */
	if (p->out_gone)
		p->out_gone(p->out_gone_ctx);
}

/*
 * Write the rest of the taken tx chain to out_fd. Returns 1 when it is done
 * with (written, or dropped), 0 when out_fd is full (EAGAIN).
 */
static int tx_write(struct vconsole_port *p)
{
	struct vq_chain *ch = &p->tx_chain;
	struct iovec iov[VQ_MAX_SEGS];
	unsigned int n;
	ssize_t w;

	while (p->tx_off < ch->read_len) {
		if (p->out_fd < 0 || p->out_broken) {
			p->tx_dropped += ch->read_len - p->tx_off;
			break;
		}
		iov_slice(ch->seg, ch->nread, p->tx_off, ch->read_len - p->tx_off, iov, VQ_MAX_SEGS,
			  &n);
		w = writev(p->out_fd, iov, (int)n);
		if (w > 0) {
			p->tx_off += (uint64_t)w;
			p->tx_bytes += (uint64_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			return 0;
		} else if (!(w < 0 && errno == EINTR)) {
			out_failed(p, w < 0 ? errno : EIO);
		}
	}
	return 1;
}

/*
 * Write the guest's tx buffers in order, at most VCONSOLE_BATCH a turn. A
 * buffer is returned to the guest only once written (or dropped).
 */
static void tx_run(struct vconsole_port *p)
{
	struct vconsole *c = p->con;
	unsigned int q = rxq_of(p->id) + 1, done = 0;
	struct vq *vq = &c->vdev.vq[q];
	int r = 0;

	p->tx_wait = p->tx_more = false;
	if (!vq->ready)
		return;
	do {
		while (done < VCONSOLE_BATCH) {
			if (!p->tx_busy) {
				r = vq_pop(vq, &p->tx_chain);
				if (r <= 0)
					break;
				p->tx_busy = true;
				p->tx_off = 0;
			}
			if (!tx_write(p)) {
				p->tx_wait = p->out_w && p->out_w->polled;
				p->tx_more = !p->tx_wait; /* an fd epoll refused: try next turn */
				goto out;
			}
			vq_push(vq, p->tx_chain.head, 0);
			p->tx_busy = false;
			done++;
		}
		if (r < 0) {
			broken(c);
			goto out;
		}
		if (done == VCONSOLE_BATCH) {
			p->tx_more = more_after_batch(vq);
			goto out;
		}
	} while (vq_enable_notify(vq));
out:
	if (done)
		virtio_queue_interrupt(&c->vdev, q);
}

/*
 * After the VM stopped (no vCPU, no I/O thread): write out what the guest
 * queued and Ember has not written yet, waiting for out_fd to take it.
 */
void vconsole_drain(struct vconsole *c, int idle_ms)
{
	for (unsigned int i = 0; i < c->nports; i++) {
		struct vconsole_port *p = &c->port[i];

		while (p->out_fd >= 0 && !p->out_broken) {
			struct pollfd pfd = { .fd = p->out_fd, .events = POLLOUT };
			bool wait, more;

			pthread_mutex_lock(&c->vdev.lock);
			tx_run(p);
			wait = p->tx_busy;
			more = p->tx_more;
			pthread_mutex_unlock(&c->vdev.lock);
			if (!wait && !more)
				break;
			if (wait && poll(&pfd, 1, idle_ms) <= 0) {
				log_warn("virtio-console: port %u (%s): its reader took nothing for %d s; "
					 "the rest of the guest's output is dropped",
					 p->id, p->name, idle_ms / 1000);
				break;
			}
		}
	}
}

/* ---- host -> guest data ---- */

/* in_fd ended (or failed): what was read is in the guest's ring; now tell it. */
static void in_ended(struct vconsole_port *p, int err)
{
	if (err)
		log_warn("virtio-console: port %u (%s): reading its input failed: %s", p->id,
			 p->name, strerror(err));
	p->in_eof = true;
	host_gone(p);
	if (p->in_w != p->out_w)
		watch_drop(p->con, p->in_w); /* a pipe without writer wakes epoll forever */
}

/*
 * Read one chunk of in_fd into the next rx buffer. Returns 1 when a buffer
 * was filled, 0 to stop (no buffer, EAGAIN, EOF), -1 when the queue broke.
 */
static int rx_one(struct vconsole_port *p, struct vq *q)
{
	struct vq_chain ch;
	ssize_t got;
	int r = vq_pop(q, &ch);

	if (r == 0 && vq_enable_notify(q))
		r = vq_pop(q, &ch);
	if (r <= 0) {
		p->rx_starved = r == 0;
		return r;
	}
	if (ch.nread) /* a receive buffer the device may not write (vq_pop refuses empty ones) */
		return -1;
	got = readv(p->in_fd, ch.seg, (int)ch.n);
	if (got > 0) {
		vq_push(q, ch.head, (uint32_t)got);
		p->rx_bytes += (uint64_t)got;
		return 1;
	}
	vq_unpop(q, 1); /* the buffer stays the guest's, for the next read */
	if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
		p->rx_more = !p->in_w->polled; /* else the loop wakes us when there is data */
		return 0;
	}
	in_ended(p, got < 0 ? errno : 0);
	return 0;
}

/* Read in_fd into the guest's rx buffers, at most VCONSOLE_BATCH a turn. */
static void rx_run(struct vconsole_port *p)
{
	struct vconsole *c = p->con;
	unsigned int q = rxq_of(p->id), done = 0;
	int r = 0;

	p->rx_more = false;
	if (!rx_allowed(p))
		return;
	p->rx_starved = false;
	while (done < VCONSOLE_BATCH && (r = rx_one(p, &c->vdev.vq[q])) == 1)
		done++;
	if (r < 0)
		broken(c);
	/* A polled fd wakes the loop again while it has data; one that is not needs a turn. */
	else if (done == VCONSOLE_BATCH)
		p->rx_more = !(p->in_w && p->in_w->polled);
	if (done)
		virtio_queue_interrupt(&c->vdev, q);
}

/* Without MULTIPORT only port 0 exists, though the transport offers every queue. */
static bool port_exists(struct vconsole_port *p)
{
	return p->id == 0 || multiport(p->con);
}

/* Everything port `p` can do now: its output, its input, the events it waits for. */
static void port_serve(struct vconsole_port *p)
{
	struct vconsole *c = p->con;

	if (live(c) && port_exists(p)) {
		tx_run(p);
		rx_run(p);
	} else {
		p->tx_wait = p->tx_more = p->rx_more = false; /* nothing until a reset */
	}
	update_events(p);
	if (p->rx_more || p->tx_more)
		request_turn(c);
	ctrl_flush(c); /* after the data: PORT_OPEN(id, 0) follows the last bytes */
}

/* ---- control messages, driver -> device ---- */

static struct vconsole_port *port_of(struct vconsole *c, uint32_t id)
{
	return id < c->nports ? &c->port[id] : NULL;
}

static void on_device_ready(struct vconsole *c, uint16_t value)
{
	if (value != 1) {
		warn_guest(c, "the driver failed to set the device up", VIRTIO_CONSOLE_BAD_ID);
		return;
	}
	if (c->driver_ready)
		return; /* once per reset: a storm of them adds nothing */
	c->driver_ready = true;
	for (unsigned int i = 0; i < c->nports; i++)
		c->port[i].ctrl_pending |= CTRL_ADD;
}

static void on_port_ready(struct vconsole_port *p, uint16_t value)
{
	if (value != 1) {
		warn_guest(p->con, "the driver could not add a port", p->id);
		return;
	}
	if (p->ready || !p->con->driver_ready)
		return;
	p->ready = true;
	if (p->name[0])
		p->ctrl_pending |= CTRL_NAME;
	if (vconsole_host_connected(p))
		p->ctrl_pending |= CTRL_OPEN;
}

static void ctrl_handle(struct vconsole *c, const struct virtio_console_control *m)
{
	struct vconsole_port *p = port_of(c, m->id);

	if (m->event == VIRTIO_CONSOLE_DEVICE_READY) {
		on_device_ready(c, m->value);
	} else if (m->event != VIRTIO_CONSOLE_PORT_READY && m->event != VIRTIO_CONSOLE_PORT_OPEN) {
		warn_guest(c, "unknown control event from the driver", m->id);
	} else if (!p) {
		warn_guest(c, "control message for a port that does not exist", m->id);
	} else if (m->event == VIRTIO_CONSOLE_PORT_READY) {
		on_port_ready(p, m->value);
	} else {
		p->guest_open = m->value != 0;
		port_serve(p); /* read what waits for it, or stop reading */
	}
}

/* The driver's control messages, at most VCONSOLE_BATCH a turn. */
static void ctrl_tx(struct vconsole *c)
{
	struct vq *q = &c->vdev.vq[CTRL_TXQ];
	struct virtio_console_control m;
	struct vq_chain ch;
	unsigned int done = 0;
	uint64_t got;
	int r = 0;

	c->ctrl_more = false;
	if (!live(c) || !q->ready)
		return;
	do {
		while (done < VCONSOLE_BATCH && live(c) && (r = vq_pop(q, &ch)) == 1) {
			done++;
			/* Copied out before use, the buffer handed back at once. */
			memset(&m, 0, sizeof(m));
			got = vq_chain_read(&ch, 0, &m, sizeof(m));
			vq_push(q, ch.head, 0);
			if (got < sizeof(m))
				warn_guest(c, "short control message", (uint32_t)got);
			else
				ctrl_handle(c, &m);
		}
		if (r < 0)
			broken(c);
		if (r < 0 || !live(c))
			break;
		if (done == VCONSOLE_BATCH) {
			c->ctrl_more = more_after_batch(q);
			break;
		}
	} while (vq_enable_notify(q));
	if (c->ctrl_more)
		request_turn(c);
	if (done)
		virtio_queue_interrupt(&c->vdev, CTRL_TXQ);
}

/* ---- virtio_dev_ops ---- */

static void vconsole_queue_notify(struct virtio_dev *v, unsigned int q)
{
	struct vconsole *c = to_con(v);

	if (q == CTRL_RXQ && multiport(c)) {
		ctrl_flush(c);
	} else if (q == CTRL_TXQ && multiport(c)) {
		ctrl_tx(c);
		ctrl_flush(c);
	} else if (q == PORT0_RXQ || q == PORT0_RXQ + 1) {
		port_serve(&c->port[0]);
	} else if (q >= 4 && (q - 2) / 2 < c->nports && multiport(c)) {
		port_serve(&c->port[(q - 2) / 2]);
	}
}

static void vconsole_activate(struct virtio_dev *v)
{
	struct vconsole *c = to_con(v);

	if (!multiport(c)) {
		c->port[0].guest_open = true; /* a console: open as long as the driver runs */
		port_serve(&c->port[0]);
	}
}

static void vconsole_reset(struct virtio_dev *v)
{
	struct vconsole *c = to_con(v);

	c->driver_ready = c->ctrl_more = false;
	for (unsigned int i = 0; i < c->nports; i++) {
		struct vconsole_port *p = &c->port[i];

		/* The taken tx chain points into the old rings: its unwritten rest is lost. */
		p->tx_busy = p->tx_wait = p->tx_more = p->rx_more = p->rx_starved = false;
		p->ready = p->guest_open = false;
		p->ctrl_pending = 0;
		update_events(p);
	}
}

static void vconsole_config_read(struct virtio_dev *v, uint32_t off, void *data, uint32_t len)
{
	const struct vconsole *c = to_con(v);

	if (off <= sizeof(c->cfg) && len <= sizeof(c->cfg) - off)
		memcpy(data, (const uint8_t *)&c->cfg + off, len);
}

static void vconsole_config_write(struct virtio_dev *v, uint32_t off, const void *data,
				  uint32_t len)
{
	/* emerg_wr without VIRTIO_CONSOLE_F_EMERG_WRITE offered, sizes the host owns: ignored. */
	(void)v, (void)off, (void)data, (void)len;
}

static const struct virtio_dev_ops vconsole_ops = {
	.queue_notify = vconsole_queue_notify,
	.activate = vconsole_activate,
	.reset = vconsole_reset,
	.config_read = vconsole_config_read,
	.config_write = vconsole_config_write,
};

/* ---- set-up ---- */

/* I/O thread: an fd of a port is ready (or hung up). */
static void watch_ready(void *ctx, uint32_t events)
{
	struct vconsole_watch *w = ctx;
	struct vconsole *c = w->port->con;

	/* Its port's lock guards w too: the port is served under the device lock. */
	pthread_mutex_lock(&c->vdev.lock);
	if (events & (EPOLLHUP | EPOLLERR))
		watch_drop(c, w);
	port_serve(w->port);
	pthread_mutex_unlock(&c->vdev.lock);
}

/* I/O thread: a turn asked for by request_turn(). */
static void turn_ready(void *ctx, uint32_t events)
{
	struct vconsole *c = ctx;
	uint64_t n;

	(void)events;
	if (read(c->turn_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: another callback took the count; serve anyway. */
	}
	pthread_mutex_lock(&c->vdev.lock);
	if (c->ctrl_more && multiport(c))
		ctrl_tx(c);
	for (unsigned int i = 0; i < c->nports; i++)
		port_serve(&c->port[i]);
	pthread_mutex_unlock(&c->vdev.lock);
}

/* Register `fd` with the loop, waking on nothing yet. epoll refuses regular files
 * (EPERM): those are served whenever wanted. Returns 0 or -errno. */
static int watch_init(struct vconsole *c, struct vconsole_port *p, struct vconsole_watch *w,
		      int fd)
{
	int err;

	*w = (struct vconsole_watch){ .port = p, .fd = fd };
	err = evloop_add(c->loop, fd, watch_ready, w);
	if (err == -EPERM)
		return 0;
	if (err)
		return err;
	w->polled = true;
	w->events = EPOLLIN;
	watch_set(c, w, 0);
	return 0;
}

static int port_init(struct vconsole *c, unsigned int id, const struct vconsole_port_cfg *cfg)
{
	struct vconsole_port *p = &c->port[id];
	int err = 0;

	p->con = c;
	p->id = id;
	p->in_fd = cfg->in_fd;
	p->out_fd = cfg->out_fd;
	p->out_gone = cfg->out_gone;
	p->out_gone_ctx = cfg->out_gone_ctx;
	p->watch[0].fd = p->watch[1].fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", cfg->name ? cfg->name : "");
	if (p->in_fd >= 0) {
		err = watch_init(c, p, &p->watch[0], p->in_fd);
		p->in_w = &p->watch[0];
	}
	if (!err && p->out_fd >= 0 && p->out_fd == p->in_fd) {
		p->out_w = p->in_w;
	} else if (!err && p->out_fd >= 0) {
		err = watch_init(c, p, &p->watch[1], p->out_fd);
		p->out_w = &p->watch[1];
	}
	return err;
}

/* An fd number in two ports would be two registrations of one fd: refused. */
static int check_cfg(const struct vconsole_port_cfg *ports, unsigned int n)
{
	if (n == 0 || n > VCONSOLE_MAX_PORTS)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (ports[i].name && strlen(ports[i].name) > VCONSOLE_NAME_MAX)
			return -ENAMETOOLONG;
		for (unsigned int j = 0; j < i; j++) {
			int a[2] = { ports[i].in_fd, ports[i].out_fd };

			for (unsigned int k = 0; k < 2; k++)
				if (a[k] >= 0 && (a[k] == ports[j].in_fd || a[k] == ports[j].out_fd))
					return -EINVAL;
		}
	}
	return 0;
}

int vconsole_init(struct vconsole *c, const struct vconsole_port_cfg *ports, unsigned int n,
		  const struct gm *mem, struct evloop *loop)
{
	int err = check_cfg(ports, n);

	if (err)
		return err;
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->nports = n;
	c->cfg.max_nr_ports = n;
	c->turn_fd = -1;
	err = virtio_dev_init(&c->vdev, "virtio-console", VIRTIO_ID_CONSOLE, &vconsole_ops, c, mem,
			      VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT), sizeof(c->cfg), 2 * n + 2,
			      VCONSOLE_QUEUE_SIZE);
	if (err)
		return err;
	c->turn_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = c->turn_fd < 0 ? -errno : evloop_add(loop, c->turn_fd, turn_ready, c);
	for (unsigned int i = 0; !err && i < n; i++)
		err = port_init(c, i, &ports[i]);
	if (err)
		vconsole_destroy(c);
	return err;
}

void vconsole_destroy(struct vconsole *c)
{
	for (unsigned int i = 0; i < c->nports; i++) {
		watch_drop(c, &c->port[i].watch[0]);
		watch_drop(c, &c->port[i].watch[1]);
	}
	if (c->turn_fd >= 0) {
		evloop_del(c->loop, c->turn_fd);
		close(c->turn_fd);
		c->turn_fd = -1;
	}
	c->nports = 0;
	virtio_dev_destroy(&c->vdev);
}
