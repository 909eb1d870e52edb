#include "virtio/pci.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmm/layout.h"
#include "vmm/ioeventfd.h"
#include "vmm/log.h"

/* BAR 0 layout: one 4 KiB page per structure. */
#define COMMON_OFF 0x0000
#define ISR_OFF 0x1000
#define DEVICE_OFF 0x2000
#define NOTIFY_OFF 0x3000
#define MSIX_TABLE_OFF 0x4000
#define MSIX_PBA_OFF 0x5000
#define REGION_SIZE 0x1000
#define NOTIFY_MULT 4
#define NOTIFY_IO_SIZE (NOTIFY_MULT * VIRTIO_MAX_QUEUES) /* I/O BAR 2: notifications only */

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_DEVICE_BASE 0x1040
#define CAP_VENDOR 0x09
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4
#define CAP_PCI_CFG 5

#define ISR_QUEUE 1
#define ISR_CONFIG 2

/* The common configuration structure (virtio 1.2, 4.1.4.3), little-endian. */
struct common_cfg {
	uint32_t device_feature_select;
	uint32_t device_feature;
	uint32_t driver_feature_select;
	uint32_t driver_feature;
	uint16_t config_msix_vector;
	uint16_t num_queues;
	uint8_t device_status;
	uint8_t config_generation;
	uint16_t queue_select;
	uint16_t queue_size;
	uint16_t queue_msix_vector;
	uint16_t queue_enable;
	uint16_t queue_notify_off;
	uint64_t queue_desc;
	uint64_t queue_driver;
	uint64_t queue_device;
	uint16_t queue_notify_data;
	uint16_t queue_reset;
} __attribute__((packed));

#define FIELD(f) offsetof(struct common_cfg, f), sizeof(((struct common_cfg *)0)->f)

/* Does the access [off, off + len) touch field [foff, foff + flen)? */
static bool touches(uint64_t off, uint32_t len, size_t foff, size_t flen)
{
	return off < foff + flen && foff < off + len;
}

static struct virtio_queue_cfg *selected(struct virtio_pci *vp)
{
	struct virtio_dev *v = vp->vdev;

	return vp->queue_select < v->num_queues ? &v->qcfg[vp->queue_select] : NULL;
}

static void common_image(struct virtio_pci *vp, struct common_cfg *c)
{
	struct virtio_dev *v = vp->vdev;
	struct virtio_queue_cfg *q = selected(vp);

	memset(c, 0, sizeof(*c));
	c->device_feature_select = vp->dfselect;
	c->device_feature = vp->dfselect < 2 ? (uint32_t)(v->host_features >> (32 * vp->dfselect)) : 0;
	c->driver_feature_select = vp->gfselect;
	c->driver_feature = vp->gfselect < 2 ? (uint32_t)(v->driver_features >> (32 * vp->gfselect)) : 0;
	c->config_msix_vector = v->config_msix_vector;
	c->num_queues = (uint16_t)v->num_queues;
	c->device_status = v->status;
	c->config_generation = v->config_generation;
	c->queue_select = vp->queue_select;
	if (q) {
		c->queue_size = q->size;
		c->queue_msix_vector = q->msix_vector;
		c->queue_enable = q->enabled;
		c->queue_notify_off = vp->queue_select;
		c->queue_desc = q->desc;
		c->queue_driver = q->avail;
		c->queue_device = q->used;
	}
}

static uint16_t valid_vector(struct virtio_pci *vp, uint16_t vec)
{
	return vec < vp->msix.nr ? vec : VIRTIO_MSI_NO_VECTOR;
}

static void set_intx(struct virtio_pci *vp, int level)
{
	if (level != vp->intx_level) {
		trace_line(vp->trace, TRACE_IRQ, "irq %s intx level %d", vp->label, level);
		vp->intx_level = level;
		irq_set(&vp->intx, level);
	}
}

static void reset(struct virtio_pci *vp)
{
	virtio_driver_reset(vp->vdev);
	vp->isr = 0;
	set_intx(vp, 0);
}

static bool features_ok(const struct virtio_dev *v)
{
	return !(v->driver_features & ~v->host_features) && (v->driver_features & VIRTIO_FEAT_VERSION_1);
}

/* The status state machine: bits only accumulate until a reset (0). */
static void write_status(struct virtio_pci *vp, uint8_t val)
{
	struct virtio_dev *v = vp->vdev;
	uint8_t old = v->status;

	if (val == 0) {
		reset(vp);
		return;
	}
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) && !features_ok(v))
		val &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK; /* the driver reads it back and gives up */
	if (!(val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK))
		val &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	v->status = (uint8_t)(old | (val & ~VIRTIO_STATUS_NEEDS_RESET));
	if (!(old & VIRTIO_STATUS_DRIVER_OK) && (v->status & VIRTIO_STATUS_DRIVER_OK) && v->ops->activate)
		v->ops->activate(v);
}

static void enable_queue(struct virtio_pci *vp, struct virtio_queue_cfg *q)
{
	struct virtio_dev *v = vp->vdev;
	unsigned int i = vp->queue_select;

	if (q->enabled || !(v->status & VIRTIO_STATUS_FEATURES_OK) || (v->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	if (q->size > q->max_size ||
	    vq_setup(&v->vq[i], v->mem, q->size, q->desc, q->avail, q->used,
		     virtio_has(v, VIRTIO_FEAT_EVENT_IDX), virtio_has(v, VIRTIO_FEAT_INDIRECT_DESC))) {
		virtio_needs_reset(v);
		return;
	}
	q->enabled = true;
}

static void route_calls_locked(struct virtio_pci *vp);

/* Apply a write to the common structure, field by field, any access width. */
static void common_write(struct virtio_pci *vp, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_dev *v = vp->vdev;
	struct virtio_queue_cfg *q = selected(vp);
	bool q_open = q && !q->enabled;
	struct common_cfg c;

	if (off + len > sizeof(c))
		return;
	common_image(vp, &c);
	memcpy((uint8_t *)&c + off, data, len);
	if (touches(off, len, FIELD(device_feature_select)))
		vp->dfselect = c.device_feature_select;
	if (touches(off, len, FIELD(driver_feature_select)))
		vp->gfselect = c.driver_feature_select;
	if (touches(off, len, FIELD(driver_feature)) && vp->gfselect < 2 &&
	    !(v->status & VIRTIO_STATUS_FEATURES_OK)) {
		unsigned int shift = 32 * vp->gfselect;

		v->driver_features = (v->driver_features & ~(0xffffffffULL << shift)) |
				     ((uint64_t)c.driver_feature << shift);
	}
	if (touches(off, len, FIELD(config_msix_vector)))
		v->config_msix_vector = valid_vector(vp, c.config_msix_vector);
	if (touches(off, len, FIELD(queue_select)))
		vp->queue_select = c.queue_select;
	if (q_open && touches(off, len, FIELD(queue_size)))
		q->size = c.queue_size;
	if (q && touches(off, len, FIELD(queue_msix_vector)))
		q->msix_vector = valid_vector(vp, c.queue_msix_vector);
	if (q_open && touches(off, len, FIELD(queue_desc)))
		q->desc = c.queue_desc;
	if (q_open && touches(off, len, FIELD(queue_driver)))
		q->avail = c.queue_driver;
	if (q_open && touches(off, len, FIELD(queue_device)))
		q->used = c.queue_device;
	if (q && touches(off, len, FIELD(queue_enable)) && c.queue_enable == 1)
		enable_queue(vp, q);
	if (touches(off, len, FIELD(device_status)))
		write_status(vp, c.device_status);
	route_calls_locked(vp); /* a queue's vector may have moved, or all of them on reset */
}

static void bar_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct virtio_pci *vp = ctx;
	struct virtio_dev *v = vp->vdev;
	uint64_t r = off % REGION_SIZE;

	memset(data, 0, len);
	if (off >= MSIX_TABLE_OFF && off < MSIX_TABLE_OFF + REGION_SIZE) {
		msix_table_read(&vp->msix, r, data, len);
		return;
	}
	if (off >= MSIX_PBA_OFF && off < MSIX_PBA_OFF + REGION_SIZE) {
		msix_pba_read(&vp->msix, r, data, len);
		return;
	}
	pthread_mutex_lock(&v->lock);
	if (off < COMMON_OFF + REGION_SIZE) {
		struct common_cfg c;

		common_image(vp, &c);
		if (r + len <= sizeof(c))
			memcpy(data, (uint8_t *)&c + r, len);
	} else if (off >= ISR_OFF && off < ISR_OFF + REGION_SIZE) {
		/* Reading the ISR acknowledges it and lowers INTx. */
		*(uint8_t *)data = vp->isr;
		vp->isr = 0;
		set_intx(vp, 0);
	} else if (off >= DEVICE_OFF && off < DEVICE_OFF + REGION_SIZE) {
		if (r + len <= v->config_size && v->ops->config_read)
			v->ops->config_read(v, (uint32_t)r, data, len);
	}
	pthread_mutex_unlock(&v->lock);
}

/* A kick that reached a vCPU thread: KVM had no ioeventfd for it (another width). */
static void kick(struct virtio_pci *vp, unsigned int q)
{
	uint64_t one = 1;

	__atomic_add_fetch(&vp->exit_kicks, 1, __ATOMIC_RELAXED);
	if (q < vp->vdev->num_queues && write(vp->kick[q].fd, &one, sizeof(one)) < 0) {
		/* Counter overflow only: a kick is pending anyway. */
	}
}

static void bar_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_pci *vp = ctx;
	struct virtio_dev *v = vp->vdev;
	uint64_t r = off % REGION_SIZE;

	if (off >= MSIX_TABLE_OFF && off < MSIX_TABLE_OFF + REGION_SIZE) {
		msix_table_write(&vp->msix, r, data, len);
		pthread_mutex_lock(&v->lock);
		route_calls_locked(vp); /* a vector was reprogrammed, masked or unmasked */
		pthread_mutex_unlock(&v->lock);
		return;
	}
	if (off >= NOTIFY_OFF && off < NOTIFY_OFF + REGION_SIZE) {
		/* Passed on to the I/O thread. */
		if (r % NOTIFY_MULT == 0)
			kick(vp, (unsigned int)(r / NOTIFY_MULT));
		return;
	}
	pthread_mutex_lock(&v->lock);
	if (off < COMMON_OFF + REGION_SIZE)
		common_write(vp, r, data, len);
	else if (off >= DEVICE_OFF && off < DEVICE_OFF + REGION_SIZE && r + len <= v->config_size &&
		 v->ops->config_write)
		v->ops->config_write(v, (uint32_t)r, data, len);
	pthread_mutex_unlock(&v->lock);
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

static void io_bar_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	(void)ctx, (void)off;
	memset(data, 0, len);
}

static void io_bar_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	(void)data, (void)len;
	if (off % NOTIFY_MULT == 0)
		kick(ctx, (unsigned int)(off / NOTIFY_MULT));
}

static const struct bus_ops io_bar_ops = { .read = io_bar_read, .write = io_bar_write };

static void interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	int err = msix_notify(&vp->msix, vector);

	if (err != -ENODEV) { /* delivered, pending, or no vector assigned */
		if (!err)
			trace_line(vp->trace, TRACE_IRQ, "irq %s msix vector %u", vp->label, vector);
		return;
	}
	vp->isr |= isr_bit;
	set_intx(vp, 1);
}

static void notify_queue(struct virtio_dev *v, unsigned int q)
{
	struct virtio_pci *vp = v->transport_ctx;

	if (vp->trace && (vp->trace->classes & TRACE_VIRTIO)) {
		uint16_t used = v->vq[q].used_idx;

		trace_line(vp->trace, TRACE_VIRTIO, "virtio %s queue %u used %u (+%u)", vp->label, q,
			   used, (uint16_t)(used - vp->traced_used[q]));
		vp->traced_used[q] = used;
	}
	interrupt(vp, v->qcfg[q].msix_vector, ISR_QUEUE);
}

static void notify_config(struct virtio_dev *v)
{
	v->config_generation++;
	interrupt(v->transport_ctx, v->config_msix_vector, ISR_CONFIG);
}

static int kick_fd(struct virtio_dev *v, unsigned int q)
{
	struct virtio_pci *vp = v->transport_ctx;

	return v->external_queues && q < v->num_queues ? vp->kick[q].fd : -1;
}

static int call_fd(struct virtio_dev *v, unsigned int q)
{
	struct virtio_pci *vp = v->transport_ctx;

	return v->external_queues && q < v->num_queues ? vp->call[q].fd : -1;
}

static const struct virtio_transport_ops transport_ops = {
	.notify_queue = notify_queue,
	.notify_config = notify_config,
	.kick_fd = kick_fd,
	.call_fd = call_fd,
};

/* I/O thread: the backend signalled a queue whose call eventfd no irqfd takes now. */
static void call_ready(void *ctx, uint32_t events)
{
	struct virtio_pci_call *c = ctx;
	struct virtio_dev *v = c->vp->vdev;
	uint64_t n;

	(void)events;
	if (read(c->fd, &n, sizeof(n)) < 0)
		return; /* an irqfd took it meanwhile */
	pthread_mutex_lock(&v->lock);
	if ((v->status & VIRTIO_STATUS_DRIVER_OK) && c->q < v->num_queues) {
		v->stats[c->q].interrupts++;
		notify_queue(v, c->q);
	}
	pthread_mutex_unlock(&v->lock);
}

/*
 * Point queue q's call eventfd where its interrupt should go now: an irqfd
 * on its vector's GSI while MSI-X is on and the vector unmasked, else the
 * I/O thread. KVM refuses one eventfd on two GSIs, so an irqfd is unbound
 * before the next is bound; what the backend writes meanwhile stays in the
 * eventfd's count, which KVM delivers when it binds (and the I/O thread,
 * which watches it from the unbinding on, reads when it relays). Lock held.
 */
static void route_call(struct virtio_pci *vp, unsigned int q)
{
	struct virtio_pci_call *c = &vp->call[q];
	int want = msix_vector_gsi(&vp->msix, vp->vdev->qcfg[q].msix_vector);
	int err;

	want = want < 0 ? -1 : want;
	if (want == c->gsi)
		return;
	if (c->gsi >= 0)
		irq_irqfd(vp->vm_fd, c->fd, (uint32_t)c->gsi, false);
	if (want >= 0 && irq_irqfd(vp->vm_fd, c->fd, (uint32_t)want, true) < 0)
		want = -1;
	if (c->gsi < 0 && want >= 0) {
		evloop_del(vp->loop, c->fd);
	} else if (c->gsi >= 0 && want < 0) {
		err = evloop_add(vp->loop, c->fd, call_ready, c);
		if (err)
			log_err("%s: queue %u: cannot watch its call eventfd: %s", vp->vdev->name, q,
				strerror(-err));
	}
	c->gsi = want;
}

static void route_calls_locked(struct virtio_pci *vp)
{
	if (!vp->vdev->external_queues)
		return;
	for (unsigned int q = 0; q < vp->vdev->num_queues; q++)
		route_call(vp, q);
}

static int ioeventfd(struct virtio_pci *vp, unsigned int q, uint64_t base, bool io, bool assign)
{
	return ioeventfd_set(vp->vm_fd, vp->kick[q].fd,
			     base + (io ? 0 : NOTIFY_OFF) + (uint64_t)q * NOTIFY_MULT,
			     vp->ioeventfd_any_len ? 0 : 2, io, assign);
}

/* Move the kick ioeventfds of one notification structure from *at to `want` (0: none). */
static void move_kicks(struct virtio_pci *vp, uint64_t *at, uint64_t want, bool io)
{
	if (want == *at)
		return;
	for (unsigned int q = 0; *at && q < vp->vdev->num_queues; q++)
		ioeventfd(vp, q, *at, io, false);
	for (unsigned int q = 0; want && q < vp->vdev->num_queues; q++)
		ioeventfd(vp, q, want, io, true);
	*at = want;
}

/*
 * Kicks follow BAR 0 wherever the guest puts it inside the PCI window, and
 * only while the function decodes memory; the same for the I/O BAR, the
 * I/O window and I/O decoding. pci lock held.
 */
static void update_kicks(struct virtio_pci *vp)
{
	uint8_t cmd = vp->pci.cfg[PCI_COMMAND];
	uint64_t addr = pci_dev_bar_addr(&vp->pci, 0);
	uint64_t port = pci_dev_bar_addr(&vp->pci, VIRTIO_PCI_NOTIFY_BAR);
	bool usable = addr >= LAYOUT_PCI_MMIO &&
		      addr + VIRTIO_PCI_BAR_SIZE <= LAYOUT_PCI_MMIO + LAYOUT_PCI_MMIO_SIZE;
	bool port_usable = port >= LAYOUT_PCI_IO &&
			   port + NOTIFY_IO_SIZE <= LAYOUT_PCI_IO + LAYOUT_PCI_IO_SIZE;

	move_kicks(vp, &vp->bar_addr, (cmd & PCI_COMMAND_MEMORY) && usable ? addr : 0, false);
	move_kicks(vp, &vp->io_addr, (cmd & PCI_COMMAND_IO) && port_usable ? port : 0, true);
}

static void bar_moved(void *ctx, unsigned int bar, uint64_t addr)
{
	(void)bar, (void)addr;
	update_kicks(ctx);
}

/* VIRTIO_PCI_CAP_PCI_CFG: a window into BAR 0 through config space. */
static void cfg_window(struct virtio_pci *vp, bool write)
{
	uint8_t *cap = vp->pci.cfg + vp->cfg_cap;
	uint32_t off, len;

	memcpy(&off, cap + 8, 4);
	memcpy(&len, cap + 12, 4);
	if ((len != 1 && len != 2 && len != 4) || off % len)
		return;
	if (cap[4] == VIRTIO_PCI_NOTIFY_BAR && off <= NOTIFY_IO_SIZE - len) {
		if (write)
			io_bar_write(vp, off, cap + 16, len);
		else
			io_bar_read(vp, off, cap + 16, len);
		return;
	}
	if (cap[4] != 0 || off > VIRTIO_PCI_BAR_SIZE - len) /* not off + len: it wraps */
		return;
	if (write)
		bar_write(vp, off, cap + 16, len);
	else
		bar_read(vp, off, cap + 16, len);
}

static void config_written(void *ctx, uint32_t reg, uint32_t len)
{
	struct virtio_pci *vp = ctx;

	msix_config_written(&vp->msix, &vp->pci, reg, len);
	if (vp->vdev->external_queues && vp->msix.cap > 0 &&
	    touches(reg, len, (size_t)vp->msix.cap + 2, 2)) { /* MSI-X on, off, masked */
		pthread_mutex_lock(&vp->vdev->lock);
		route_calls_locked(vp);
		pthread_mutex_unlock(&vp->vdev->lock);
	}
	if (touches(reg, len, PCI_COMMAND, 2))
		update_kicks(vp);
	if (vp->cfg_cap > 0 && touches(reg, len, (size_t)vp->cfg_cap + 16, 4))
		cfg_window(vp, true);
}

static void config_reading(void *ctx, uint32_t reg, uint32_t len)
{
	struct virtio_pci *vp = ctx;

	if (vp->cfg_cap > 0 && touches(reg, len, (size_t)vp->cfg_cap + 16, 4))
		cfg_window(vp, false);
}

static const struct pci_dev_ops pci_ops = {
	.bar_moved = bar_moved,
	.config_written = config_written,
	.config_reading = config_reading,
};

/* I/O thread: a queue was kicked. */
static void kick_ready(void *ctx, uint32_t events)
{
	struct virtio_pci_kick *k = ctx;
	struct virtio_dev *v = k->vp->vdev;
	uint64_t n;

	(void)events;
	if (read(k->fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&v->lock);
	v->stats[k->q].kicks += n; /* an eventfd adds up the kicks since the last read */
	if ((v->status & VIRTIO_STATUS_DRIVER_OK) && !(v->status & VIRTIO_STATUS_NEEDS_RESET) &&
	    v->vq[k->q].ready) {
		uint16_t before = v->vq[k->q].last_avail;

		v->ops->queue_notify(v, k->q);
		trace_line(k->vp->trace, TRACE_VIRTIO, "virtio %s queue %u kick %llu, took %u chains",
			   k->vp->label, k->q, (unsigned long long)n,
			   (uint16_t)(v->vq[k->q].last_avail - before));
	}
	pthread_mutex_unlock(&v->lock);
}

void virtio_pci_set_trace(struct virtio_pci *vp, const struct trace *t, const char *label)
{
	vp->trace = t;
	vp->label = label;
	vp->pci.name = label;
}

/* PCI class by virtio device type; the driver matches on the device ID. */
static uint32_t class_of(uint32_t device_id)
{
	switch (device_id) {
	case 1: return 0x020000; /* network */
	case 2: return 0x018000; /* mass storage, other */
	case 3: return 0x078000; /* communication, other: a console */
	default: return 0xff0000;
	}
}

static void add_vendor_cap(struct pci_dev *d, uint8_t type, uint8_t bar, uint32_t off, uint32_t len,
			   const void *extra, unsigned int extra_len, int *where)
{
	uint8_t body[18] = { 0 };
	int at;

	body[0] = (uint8_t)(16 + extra_len); /* cap_len */
	body[1] = type;
	body[2] = bar;
	memcpy(body + 6, &off, 4);
	memcpy(body + 10, &len, 4);
	if (extra_len)
		memcpy(body + 14, extra, extra_len);
	at = pci_dev_add_cap(d, CAP_VENDOR, body, 16 + extra_len);
	if (where)
		*where = at;
}

static int setup_caps(struct virtio_pci *vp, struct irq_router *router)
{
	struct virtio_dev *v = vp->vdev;
	struct pci_dev *d = &vp->pci;
	uint32_t mult = NOTIFY_MULT, zero = 0;
	int err;

	add_vendor_cap(d, CAP_COMMON, 0, COMMON_OFF, sizeof(struct common_cfg), NULL, 0, NULL);
	/* Two notification structures: a driver takes the first it can use (virtio 1.2,
	 * 4.1.4), so ports come first and memory serves drivers without port I/O. */
	add_vendor_cap(d, CAP_NOTIFY, VIRTIO_PCI_NOTIFY_BAR, 0, NOTIFY_MULT * v->num_queues, &mult,
		       4, NULL);
	add_vendor_cap(d, CAP_NOTIFY, 0, NOTIFY_OFF, NOTIFY_MULT * v->num_queues, &mult, 4, NULL);
	add_vendor_cap(d, CAP_ISR, 0, ISR_OFF, 1, NULL, 0, NULL);
	if (v->config_size)
		add_vendor_cap(d, CAP_DEVICE, 0, DEVICE_OFF, v->config_size, NULL, 0, NULL);
	add_vendor_cap(d, CAP_PCI_CFG, 0, 0, 0, &zero, 4, &vp->cfg_cap);
	if (vp->cfg_cap < 0)
		return -ENOSPC;
	/* The driver chooses bar, offset and length of the window, and its data. */
	d->wmask[vp->cfg_cap + 4] = 0xff;
	memset(d->wmask + vp->cfg_cap + 8, 0xff, 12);
	err = msix_init(&vp->msix, v->num_queues + 1, router, vp->vm_fd, d, 0, MSIX_TABLE_OFF,
			MSIX_PBA_OFF);
	return err;
}

/*
 * Queue q's kick eventfd, served by the I/O thread; for an external queue
 * left to KVM and the backend, and a call eventfd the I/O thread relays
 * until MSI-X routes it (route_call()).
 */
static int queue_fds(struct virtio_pci *vp, unsigned int q)
{
	vp->kick[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vp->kick[q].fd < 0)
		return -errno;
	if (!vp->vdev->external_queues)
		return evloop_add(vp->loop, vp->kick[q].fd, kick_ready, &vp->kick[q]);
	vp->call[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vp->call[q].fd < 0)
		return -errno;
	return evloop_add(vp->loop, vp->call[q].fd, call_ready, &vp->call[q]);
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vdev, int vm_fd,
		    struct irq_router *router, struct evloop *loop, uint8_t intx_gsi)
{
	int err;

	memset(vp, 0, sizeof(*vp));
	vp->vdev = vdev;
	vp->vm_fd = vm_fd;
	vp->loop = loop;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vp->kick[q] = (struct virtio_pci_kick){ .vp = vp, .q = q, .fd = -1 };
		vp->call[q] = (struct virtio_pci_call){ .vp = vp, .q = q, .fd = -1, .gsi = -1 };
	}
	for (unsigned int i = 0; i < MSIX_MAX_VECTORS; i++)
		vp->msix.efd[i] = -1; /* nothing for virtio_pci_destroy() to close before msix_init() */
	vp->ioeventfd_any_len = ioeventfd_any_length(vm_fd);
	pci_dev_header(&vp->pci, VIRTIO_VENDOR, (uint16_t)(VIRTIO_DEVICE_BASE + vdev->device_id),
		       class_of(vdev->device_id));
	vp->pci.cfg[0x08] = 1; /* revision 1: a modern-only device */
	memcpy(vp->pci.cfg + 0x2c, &(uint16_t){ VIRTIO_VENDOR }, 2);
	memcpy(vp->pci.cfg + 0x2e, &(uint16_t){ (uint16_t)(VIRTIO_DEVICE_BASE + vdev->device_id) }, 2);
	vp->pci.ops = &pci_ops;
	vp->pci.ctx = vp;
	pci_dev_set_intx(&vp->pci, intx_gsi);
	/* Functions share the pin when there are more of them than lines: the
	 * router keeps the pin high while any of them asserts it. */
	err = irq_router_line(router, intx_gsi, &vp->intx);
	if (!err)
		err = pci_dev_add_bar(&vp->pci, 0, VIRTIO_PCI_BAR_SIZE, true, &bar_ops, vp);
	if (!err)
		err = pci_dev_add_io_bar(&vp->pci, VIRTIO_PCI_NOTIFY_BAR, NOTIFY_IO_SIZE, &io_bar_ops, vp);
	if (!err)
		err = setup_caps(vp, router);
	for (unsigned int q = 0; !err && q < vdev->num_queues; q++)
		err = queue_fds(vp, q);
	if (err) {
		virtio_pci_destroy(vp);
		return err;
	}
	vdev->transport = &transport_ops;
	vdev->transport_ctx = vp;
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct virtio_pci_call *c = &vp->call[q];

		if (c->fd < 0)
			continue;
		if (c->gsi >= 0)
			irq_irqfd(vp->vm_fd, c->fd, (uint32_t)c->gsi, false);
		else
			evloop_del(vp->loop, c->fd);
		close(c->fd);
		c->fd = -1;
		c->gsi = -1;
	}
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (vp->kick[q].fd < 0)
			continue;
		if (vp->bar_addr)
			ioeventfd(vp, q, vp->bar_addr, false, false);
		if (vp->io_addr)
			ioeventfd(vp, q, vp->io_addr, true, false);
		evloop_del(vp->loop, vp->kick[q].fd);
		close(vp->kick[q].fd);
		vp->kick[q].fd = -1;
	}
	msix_destroy(&vp->msix);
}

void virtio_pci_log_stats(struct virtio_pci *vp, const char *label)
{
	uint64_t n = __atomic_load_n(&vp->exit_kicks, __ATOMIC_RELAXED);

	if (n)
		log_info("%s: %llu kicks came as vCPU exits, not through an ioeventfd", label,
			 (unsigned long long)n);
}

void virtio_pci_save(struct virtio_pci *vp, struct pci *p, struct virtio_pci_state *st)
{
	memset(st, 0, sizeof(*st));
	pci_dev_save(p, &vp->pci, st->cfg);
	msix_save(&vp->msix, &st->msix);
	virtio_dev_save(vp->vdev, &st->dev);
	pthread_mutex_lock(&vp->vdev->lock);
	st->dfselect = vp->dfselect;
	st->gfselect = vp->gfselect;
	st->queue_select = vp->queue_select;
	st->isr = vp->isr;
	st->intx_level = (uint8_t)vp->intx_level;
	pthread_mutex_unlock(&vp->vdev->lock);
}

int virtio_pci_load(struct virtio_pci *vp, struct pci *p, const struct virtio_pci_state *st)
{
	int err;

	if (st->intx_level > 1 || st->isr > (ISR_QUEUE | ISR_CONFIG))
		return -EINVAL;
	pci_dev_load(p, &vp->pci, st->cfg);
	pthread_mutex_lock(&p->lock);
	update_kicks(vp);
	pthread_mutex_unlock(&p->lock);
	err = msix_load(&vp->msix, &vp->pci, &st->msix);
	if (!err)
		err = virtio_dev_load(vp->vdev, &st->dev, vp->msix.nr);
	if (err)
		return err;
	pthread_mutex_lock(&vp->vdev->lock);
	vp->dfselect = st->dfselect;
	vp->gfselect = st->gfselect;
	vp->queue_select = st->queue_select;
	vp->isr = st->isr;
	set_intx(vp, st->intx_level);
	pthread_mutex_unlock(&vp->vdev->lock);
	return 0;
}

void virtio_pci_restart(struct virtio_pci *vp)
{
	struct virtio_dev *v = vp->vdev;
	uint64_t one = 1;

	pthread_mutex_lock(&v->lock);
	for (unsigned int q = 0; (v->status & VIRTIO_STATUS_DRIVER_OK) && q < v->num_queues; q++) {
		if (!v->qcfg[q].enabled)
			continue;
		if (vp->kick[q].fd >= 0 && write(vp->kick[q].fd, &one, sizeof(one)) < 0) {
			/* Counter overflow only: a kick is pending anyway. */
		}
		notify_queue(v, q);
	}
	pthread_mutex_unlock(&v->lock);
}
