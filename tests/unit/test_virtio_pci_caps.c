/*
 * virtio/pci: the PCI side of the transport: identity, the capability list,
 * ISR and MSI-X interrupts, device configuration, the notification region
 * and kicks served on the I/O thread, port kicks through I/O BAR 2, the
 * VIRTIO_PCI_CAP_PCI_CFG window, BAR moves, and one request end to end through virtio-blk.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "tests/unit/fake_vring.h"
#include "tests/unit/test_virtio_pci.h"
#include "virtio/blk.h"

#define CAP_VENDOR 0x09
#define CAP_MSIX   0x11
#define SLOT	   3

struct cap {
	uint8_t at, id, len, type, bar;
	uint32_t offset, length, extra;
};

/* Walk the list from 0x34 (bounded: a loop fails the test). Returns the count. */
static unsigned int walk_caps(const struct pci_dev *d, struct cap *out, unsigned int max)
{
	unsigned int n = 0;
	uint8_t at = d->cfg[PCI_CAP_PTR];

	while (at) {
		const uint8_t *c = d->cfg + at;

		ck_assert_uint_lt(n, max);
		ck_assert_uint_ge(at, PCI_CAP_FIRST);
		ck_assert_uint_eq(at % 4, 0);
		out[n] = (struct cap){
			.at = at, .id = c[0], .len = c[2], .type = c[3], .bar = c[4]
		};
		memcpy(&out[n].offset, c + 8, 4);
		memcpy(&out[n].length, c + 12, 4);
		if (at + 20 <= PCI_CFG_SIZE)
			memcpy(&out[n].extra, c + 16, 4);
		n++;
		at = c[1];
	}
	return n;
}

/* The one capability of `type` (not for notifications: there are two). */
static const struct cap *find_vendor_cap(const struct cap *c, unsigned int n, uint8_t type)
{
	const struct cap *found = NULL;

	for (unsigned int i = 0; i < n; i++) {
		if (c[i].id == CAP_VENDOR && c[i].type == type) {
			ck_assert_ptr_null(found); /* one of each */
			found = &c[i];
		}
	}
	return found;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

START_TEST(test_pci_identity_and_bar)
{
	const uint8_t *cfg;
	struct pfx p;

	pfx_open(&p);
	cfg = p.vp.pci.cfg;
	ck_assert_uint_eq(get32(cfg + 0x00), (0x1040U + PFX_DEV_ID) << 16 | 0x1af4);
	ck_assert_uint_eq(cfg[0x08], 1); /* revision 1: modern only */
	ck_assert_uint_eq(get32(cfg + 0x08) >> 8, 0xff0000);
	ck_assert_uint_eq(get32(cfg + 0x2c), (0x1040U + PFX_DEV_ID) << 16 | 0x1af4);
	ck_assert_uint_eq(cfg[PCI_INTERRUPT_PIN], 1);
	ck_assert_uint_eq(cfg[PCI_INTERRUPT_LINE], 16);
	ck_assert(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	ck_assert_uint_eq(p.vp.pci.bar[0].size, VIRTIO_PCI_BAR_SIZE);
	ck_assert(p.vp.pci.bar[0].is64);
	ck_assert_uint_eq(get32(cfg + PCI_BAR0) & 0xf, 0x4); /* memory, 64-bit */
	/* BAR 2: the port notifications. */
	ck_assert(p.vp.pci.bar[VIRTIO_PCI_NOTIFY_BAR].io);
	ck_assert_uint_eq(p.vp.pci.bar[VIRTIO_PCI_NOTIFY_BAR].size, 4 * VIRTIO_MAX_QUEUES);
	ck_assert_uint_eq(get32(cfg + PCI_BAR0 + 4 * VIRTIO_PCI_NOTIFY_BAR) & 3, 1);
	for (unsigned int i = VIRTIO_PCI_NOTIFY_BAR + 1; i < PCI_BARS; i++)
		ck_assert_uint_eq(p.vp.pci.bar[i].size, 0);
	pfx_close(&p);
}
END_TEST

START_TEST(test_capability_list)
{
	struct cap c[16];
	const struct cap *k;
	unsigned int n, msix = 0;
	struct pfx p;

	pfx_open(&p);
	n = walk_caps(&p.vp.pci, c, 16);
	ck_assert_uint_eq(n, 7);
	k = find_vendor_cap(c, n, VIRTIO_PCI_CAP_COMMON_CFG);
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(k->len, 16);
	ck_assert_uint_eq(k->bar, 0);
	ck_assert_uint_eq(k->offset, COMMON);
	ck_assert_uint_ge(k->length, sizeof(struct virtio_pci_common_cfg));
	/* Two notification structures, ports first: a driver takes the first it can use. */
	for (unsigned int i = 0, seen = 0; i < n; i++) {
		if (c[i].id != CAP_VENDOR || c[i].type != VIRTIO_PCI_CAP_NOTIFY_CFG)
			continue;
		ck_assert_uint_eq(c[i].len, 20);
		ck_assert_uint_eq(c[i].bar, seen++ ? 0 : VIRTIO_PCI_NOTIFY_BAR);
		ck_assert_uint_eq(c[i].offset, c[i].bar ? 0 : NOTIFY);
		ck_assert_uint_eq(c[i].extra, 4); /* notify_off_multiplier */
		ck_assert_uint_ge(c[i].length, 4 * (PFX_QUEUES - 1) + 2);
		ck_assert_uint_le(seen, 2);
		if (i + 1 == n)
			ck_assert_uint_eq(seen, 2);
	}
	k = find_vendor_cap(c, n, VIRTIO_PCI_CAP_ISR_CFG);
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(k->bar, 0);
	ck_assert_uint_eq(k->offset, ISR);
	ck_assert_uint_ge(k->length, 1);
	k = find_vendor_cap(c, n, VIRTIO_PCI_CAP_DEVICE_CFG);
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(k->bar, 0);
	ck_assert_uint_eq(k->offset, DEVCFG);
	ck_assert_uint_eq(k->length, PFX_CFG_SIZE);
	k = find_vendor_cap(c, n, VIRTIO_PCI_CAP_PCI_CFG);
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(k->len, 20);
	ck_assert_int_eq(k->at, p.vp.cfg_cap);
	/* Every region lies inside its BAR. */
	for (unsigned int i = 0; i < n; i++)
		if (c[i].id == CAP_VENDOR && c[i].type != VIRTIO_PCI_CAP_PCI_CFG)
			ck_assert_uint_le(c[i].offset + c[i].length, p.vp.pci.bar[c[i].bar].size);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *m = p.vp.pci.cfg + c[i].at;
		uint16_t ctrl;

		if (c[i].id != CAP_MSIX)
			continue;
		msix++;
		memcpy(&ctrl, m + 2, 2);
		ck_assert_uint_eq((ctrl & 0x7ff) + 1, PFX_QUEUES + 1); /* table size */
		ck_assert_uint_eq(ctrl & 0xc000, 0);	       /* off and unmasked at reset */
		ck_assert_uint_eq(get32(m + 4), MSIX_TBL | 0); /* offset | BIR 0 */
		ck_assert_uint_eq(get32(m + 8), MSIX_PBA | 0);
		ck_assert_int_eq(c[i].at, p.vp.msix.cap);
	}
	ck_assert_uint_eq(msix, 1);
	pfx_close(&p);
}
END_TEST

START_TEST(test_no_device_cap_without_config)
{
	struct cap c[16];
	unsigned int n;
	struct pfx p;

	pfx_open_cfg(&p, 0);
	n = walk_caps(&p.vp.pci, c, 16);
	ck_assert_uint_eq(n, 6);
	ck_assert_ptr_null(find_vendor_cap(c, n, VIRTIO_PCI_CAP_DEVICE_CFG));
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG, 4), 0);
	pfx_wr(&p, DEVCFG, 0x12345678, 4);
	ck_assert_uint_eq(p.d.config_writes, 0);
	pfx_close(&p);
}
END_TEST

/* ---- interrupts ---- */

/* Negotiate, enable queue 0 (16 entries, vector `vec`), DRIVER_OK. Returns the fake ring. */
static void bring_up(struct pfx *p, struct fake_vring *fv, uint16_t vec)
{
	ck_assert_uint_eq(pfx_negotiate(p, VIRTIO_FEAT_VERSION_1),
			  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	fake_vring_init_at(fv, &p->m, 16, 0x10000);
	pfx_queue_conf(p, 0, 16, fv->desc, fv->avail, fv->used);
	pfx_wr(p, CC(queue_msix_vector), vec, 2);
	pfx_queue_enable(p);
	pfx_set_status(p, pfx_status(p) | VIRTIO_STATUS_DRIVER_OK);
	ck_assert(p->d.vdev.vq[0].ready);
}

static void queue_interrupt(struct pfx *p)
{
	pthread_mutex_lock(&p->d.vdev.lock);
	virtio_queue_interrupt(&p->d.vdev, 0);
	pthread_mutex_unlock(&p->d.vdev.lock);
}

static void config_interrupt(struct pfx *p)
{
	pthread_mutex_lock(&p->d.vdev.lock);
	virtio_needs_reset(&p->d.vdev);
	pthread_mutex_unlock(&p->d.vdev.lock);
}

/* Set the MSI-X control word as a guest would (config write, then the hook). */
static void msix_ctrl(struct pfx *p, uint16_t ctrl)
{
	memcpy(p->vp.pci.cfg + p->vp.msix.cap + 2, &ctrl, 2);
	p->vp.pci.ops->config_written(p->vp.pci.ctx, (uint32_t)p->vp.msix.cap + 2, 2);
}

START_TEST(test_isr_read_clears_intx)
{
	struct fake_vring fv;
	struct pfx p;

	pfx_open(&p);
	bring_up(&p, &fv, VIRTIO_MSI_NO_VECTOR);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 0);
	queue_interrupt(&p);
	ck_assert_int_eq(p.vp.intx_level, 1);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 1);
	ck_assert_int_eq(p.vp.intx_level, 0);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 0);
	config_interrupt(&p);
	queue_interrupt(&p);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 4), 3); /* both causes, any width */
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 0);
	/* The driver asked for no interrupts. */
	fake_vring_set_avail_flags(&fv, VRING_AVAIL_F_NO_INTERRUPT);
	queue_interrupt(&p);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 0);
	/* Writes to the ISR do nothing. */
	fake_vring_set_avail_flags(&fv, 0);
	queue_interrupt(&p);
	pfx_wr(&p, ISR, 0, 1);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 1);
	/* Counted: the interrupts sent, not the one the driver declined. */
	ck_assert_uint_eq(p.d.vdev.stats[0].interrupts, 3);
	ck_assert_uint_eq(p.d.vdev.stats[0].kicks, 0);
	pfx_close(&p);
}
END_TEST

START_TEST(test_msix_interrupts)
{
	struct fake_vring fv;
	struct pfx p;

	pfx_open(&p);
	bring_up(&p, &fv, 1);
	pfx_wr(&p, CC(msix_config), 0, 2);
	/* The table through BAR 0: entries start masked. */
	for (unsigned int v = 0; v < PFX_QUEUES + 1; v++)
		ck_assert_uint_eq(pfx_rd(&p, MSIX_TBL + 16 * v + 12, 4), 1);
	pfx_wr(&p, MSIX_TBL + 16 + 0, 0xfee00000, 4);
	pfx_wr(&p, MSIX_TBL + 16 + 8, 0x41, 4);
	ck_assert_uint_eq(pfx_rd(&p, MSIX_TBL + 16, 8), 0xfee00000);
	msix_ctrl(&p, 0x8000);
	ck_assert(msix_enabled(&p.vp.msix));

	/* Vector 1 masked: the interrupt waits in the PBA. */
	queue_interrupt(&p);
	ck_assert_uint_eq(pfx_rd(&p, MSIX_PBA, 8), 1U << 1);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.msix.efd[1]), 0);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 0); /* MSI-X on: no ISR, no INTx */
	ck_assert_int_eq(p.vp.intx_level, 0);
	/* Unmasked: delivered. */
	pfx_wr(&p, MSIX_TBL + 16 + 12, 0, 4);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.msix.efd[1]), 1);
	ck_assert_uint_eq(pfx_rd(&p, MSIX_PBA, 8), 0);
	queue_interrupt(&p);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.msix.efd[1]), 1);
	ck_assert_uint_eq(p.router.msi[p.vp.msix.gsi_base + 1 - IRQ_IOAPIC_PINS].address_lo,
			  0xfee00000);
	ck_assert_uint_eq(p.router.msi[p.vp.msix.gsi_base + 1 - IRQ_IOAPIC_PINS].data, 0x41);

	/* Configuration changes on vector 0. */
	pfx_wr(&p, MSIX_TBL + 12, 0, 4);
	config_interrupt(&p);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.msix.efd[0]), 1);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.msix.efd[1]), 0);

	/* No vector assigned: nothing at all while MSI-X is on. */
	pfx_wr(&p, CC(queue_select), 0, 2);
	pfx_wr(&p, CC(queue_msix_vector), VIRTIO_MSI_NO_VECTOR, 2);
	queue_interrupt(&p);
	for (unsigned int v = 0; v < PFX_QUEUES + 1; v++)
		ck_assert_uint_eq(pfx_eventfd_count(p.vp.msix.efd[v]), 0);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 0);
	ck_assert_uint_eq(pfx_rd(&p, MSIX_PBA, 8), 0);

	/* MSI-X off again: back to INTx and the ISR. */
	pfx_wr(&p, CC(queue_msix_vector), 1, 2);
	msix_ctrl(&p, 0);
	queue_interrupt(&p);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.msix.efd[1]), 0);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 1);
	pfx_close(&p);
}
END_TEST

/* ---- device configuration ---- */

START_TEST(test_device_config)
{
	struct pfx p;

	pfx_open(&p);
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG, 1), 0xc0);
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG + 1, 2), 0xc2c1);
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG + 4, 4), 0xc7c6c5c4);
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG + 4, 8), 0xcbcac9c8c7c6c5c4ULL);
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG + PFX_CFG_SIZE - 1, 1), 0xcb);
	/* Beyond config_size, or crossing it: zeros. */
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG + PFX_CFG_SIZE, 1), 0);
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG + PFX_CFG_SIZE - 2, 4), 0);
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG + 8, 8), 0);
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG + 0xffc, 4), 0);
	/* Writes within reach the device, others do not. */
	pfx_wr(&p, DEVCFG + 4, 0xa1b2, 2);
	ck_assert_uint_eq(p.d.config_writes, 1);
	ck_assert_uint_eq(p.d.cw_off, 4);
	ck_assert_uint_eq(p.d.cw_len, 2);
	ck_assert_uint_eq(p.d.cw_data[0], 0xb2);
	ck_assert_uint_eq(p.d.cw_data[1], 0xa1);
	pfx_wr(&p, DEVCFG + PFX_CFG_SIZE - 2, 0, 4);
	pfx_wr(&p, DEVCFG + PFX_CFG_SIZE, 0, 1);
	pfx_wr(&p, DEVCFG + 0x800, 0, 4);
	ck_assert_uint_eq(p.d.config_writes, 1);
	pfx_close(&p);
}
END_TEST

/* ---- kicks ---- */

/* A driver's OUT and IN, through the bus's I/O window. */
static void port_wr(struct pci *bus, uint64_t port, uint32_t val, uint32_t len)
{
	pci_io_ops.write(bus, port - bus->io_base, &val, len);
}

static uint32_t port_rd(struct pci *bus, uint64_t port, uint32_t len)
{
	uint32_t v = 0;

	pci_io_ops.read(bus, port - bus->io_base, &v, len);
	return v;
}

/* One notification structure as the driver writes it: BAR 0's region, or the I/O BAR's ports. */
struct notify_path {
	struct pfx *p;
	struct pci *bus;   /* the ports: through the bus's I/O window */
	uint64_t base;	   /* the ports' first, or NOTIFY */
	uint64_t straddle; /* an offset whose 4-byte write reaches no queue's address */
};

static void path_wr(const struct notify_path *n, uint64_t off, uint32_t val, uint32_t len)
{
	if (n->bus)
		port_wr(n->bus, n->base + off, val, len);
	else
		pfx_wr(n->p, n->base + off, val, len);
}

/* Writes at queue q's address (base + 4q) kick q, any width; other offsets and queues do not. */
static void check_notify_structure(const struct notify_path *n)
{
	struct pfx *p = n->p;

	path_wr(n, 0, 0, 2);
	path_wr(n, 0, 0, 4);
	path_wr(n, 4, 1, 2);
	ck_assert_uint_eq(pfx_eventfd_count(p->vp.kick[0].fd), 2);
	ck_assert_uint_eq(pfx_eventfd_count(p->vp.kick[1].fd), 1);
	path_wr(n, 2, 0, 2);
	path_wr(n, 5, 0, 1);
	path_wr(n, 4 * PFX_QUEUES, 0, 2);
	path_wr(n, 4 * VIRTIO_MAX_QUEUES, 0, 2);
	path_wr(n, n->straddle, 0, 4);
	ck_assert_uint_eq(pfx_eventfd_count(p->vp.kick[0].fd), 0);
	ck_assert_uint_eq(pfx_eventfd_count(p->vp.kick[1].fd), 0);
}

START_TEST(test_notify_region_kicks)
{
	struct pfx p;
	struct notify_path n = { .p = &p, .base = NOTIFY, .straddle = 0xffc };

	pfx_open(&p);
	check_notify_structure(&n);
	for (unsigned int q = PFX_QUEUES; q < VIRTIO_MAX_QUEUES; q++)
		ck_assert_int_eq(p.vp.kick[q].fd, -1);
	ck_assert_uint_eq(pfx_rd(&p, NOTIFY, 4), 0);
	pfx_close(&p);
}
END_TEST

static unsigned int notified(struct pfx *p, unsigned int q)
{
	return __atomic_load_n(&p->d.notified[q], __ATOMIC_SEQ_CST);
}

/* Kick queue `q` and wait (bounded) for the device to have been told `want` times. */
static void kick_and_wait(struct pfx *p, unsigned int q, unsigned int want)
{
	pfx_wr(p, NOTIFY + 4 * q, q, 2);
	for (int i = 0; i < 5000 && notified(p, q) < want; i++)
		usleep(1000);
	ck_assert_uint_eq(notified(p, q), want);
}

START_TEST(test_kick_served_on_io_thread)
{
	struct fake_vring fv;
	struct pfx p;

	pfx_open(&p);
	pfx_start_loop(&p);
	/* Before DRIVER_OK a kick is drained and ignored. */
	pfx_wr(&p, NOTIFY, 0, 2);
	usleep(20000);
	ck_assert_uint_eq(notified(&p, 0), 0);
	bring_up(&p, &fv, VIRTIO_MSI_NO_VECTOR);
	kick_and_wait(&p, 0, 1);
	kick_and_wait(&p, 0, 2);
	/* Queue 1 is not enabled: its kick reaches nobody. */
	pfx_wr(&p, NOTIFY + 4, 1, 2);
	usleep(20000);
	ck_assert_uint_eq(notified(&p, 1), 0);
	/* A device that needs a reset is not asked to serve its queues. */
	config_interrupt(&p);
	pfx_wr(&p, NOTIFY, 0, 2);
	usleep(20000);
	ck_assert_uint_eq(notified(&p, 0), 2);
	/* Every kick is counted, served or not. */
	pthread_mutex_lock(&p.d.vdev.lock);
	ck_assert_uint_eq(p.d.vdev.stats[0].kicks, 4);
	ck_assert_uint_eq(p.d.vdev.stats[1].kicks, 1);
	pthread_mutex_unlock(&p.d.vdev.lock);
	pfx_close(&p);
}
END_TEST

/* ---- through the PCI bus: the PCI_CFG window and BAR moves ---- */

static void bus_cfg_wr(struct pci *bus, uint32_t reg, uint32_t val, uint32_t len)
{
	uint32_t a = 0x80000000U | SLOT << 11 | (reg & 0xfc);

	pci_config_ops.write(bus, 0, &a, 4);
	pci_config_ops.write(bus, 4 + (reg & 3), &val, len);
}

static uint32_t bus_cfg_rd(struct pci *bus, uint32_t reg, uint32_t len)
{
	uint32_t a = 0x80000000U | SLOT << 11 | (reg & 0xfc), v = 0;

	pci_config_ops.write(bus, 0, &a, 4);
	pci_config_ops.read(bus, 4 + (reg & 3), &v, len);
	return v;
}

static void on_bus(struct pfx *p, struct pci *bus)
{
	ck_assert_int_eq(pci_init(bus), 0);
	ck_assert_int_eq(pci_add(bus, SLOT, &p->vp.pci), 0);
}

static void set_window(struct pci *bus, int cap, uint8_t bar, uint32_t off, uint32_t len)
{
	bus_cfg_wr(bus, (uint32_t)cap + 4, bar, 1);
	bus_cfg_wr(bus, (uint32_t)cap + 8, off, 4);
	bus_cfg_wr(bus, (uint32_t)cap + 12, len, 4);
}

START_TEST(test_pci_cfg_window)
{
	struct pci bus;
	struct pfx p;
	int cap;

	pfx_open(&p);
	on_bus(&p, &bus);
	cap = p.vp.cfg_cap;
	ck_assert_int_gt(cap, 0);
	/* Select the high feature dword through the window, then read it through the window. */
	set_window(&bus, cap, 0, CC(device_feature_select), 4);
	ck_assert_uint_eq(bus_cfg_rd(&bus, (uint32_t)cap + 8, 4), CC(device_feature_select));
	bus_cfg_wr(&bus, (uint32_t)cap + 16, 1, 4);
	ck_assert_uint_eq(p.vp.dfselect, 1);
	set_window(&bus, cap, 0, CC(device_feature), 4);
	ck_assert_uint_eq(bus_cfg_rd(&bus, (uint32_t)cap + 16, 4), p.d.vdev.host_features >> 32);
	ck_assert(bus_cfg_rd(&bus, (uint32_t)cap + 16, 4) & 1); /* VERSION_1 */
	/* Byte and word windows. */
	bus_cfg_wr(&bus, (uint32_t)cap + 16, 0, 4); /* read-only field: ignored */
	set_window(&bus, cap, 0, CC(device_feature_select), 1);
	bus_cfg_wr(&bus, (uint32_t)cap + 16, 0, 1);
	ck_assert_uint_eq(p.vp.dfselect, 0);
	set_window(&bus, cap, 0, CC(device_feature) + 3, 1);
	ck_assert_uint_eq(bus_cfg_rd(&bus, (uint32_t)cap + 16, 1),
			  (uint8_t)(p.d.vdev.host_features >> 24));
	set_window(&bus, cap, 0, CC(num_queues), 2);
	ck_assert_uint_eq(bus_cfg_rd(&bus, (uint32_t)cap + 16, 2), PFX_QUEUES);
	/* The status register, written through the window. */
	set_window(&bus, cap, 0, CC(device_status), 1);
	bus_cfg_wr(&bus, (uint32_t)cap + 16, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	ck_assert_uint_eq(p.d.vdev.status, VIRTIO_STATUS_ACKNOWLEDGE);
	/* The device configuration. */
	set_window(&bus, cap, 0, DEVCFG + 4, 4);
	ck_assert_uint_eq(bus_cfg_rd(&bus, (uint32_t)cap + 16, 4), 0xc7c6c5c4);
	pci_destroy(&bus);
	pfx_close(&p);
}
END_TEST

#define IO_END (4 * VIRTIO_MAX_QUEUES) /* the I/O BAR: one 4-byte notify register a queue */

static const struct {
	uint8_t bar;
	uint32_t off, len;
} bad_windows[] = {
	{ 1, 0, 4 },	  { 5, 0, 4 },		{ 0, 0, 3 },	      { 0, 0, 0 },
	{ 0, 0, 8 },	  { 0, 2, 4 },		{ 0, 1, 2 },	      { 0, 0x8000, 4 },
	{ 0, 0x7ffe, 4 }, { 0, 0xfffffffc, 4 }, { 0, 0xffffffff, 1 }, { 0, 0x80000000, 4 },
	{ 2, IO_END, 2 },  { 2, IO_END - 2, 4 },		{ 2, 0xfffffffe, 2 }, { 3, 0, 2 },
};

START_TEST(test_pci_cfg_window_rejects_bad_windows)
{
	struct pci bus;
	struct pfx p;
	int cap;

	pfx_open(&p);
	on_bus(&p, &bus);
	cap = p.vp.cfg_cap;
	set_window(&bus, cap, bad_windows[_i].bar, bad_windows[_i].off, bad_windows[_i].len);
	bus_cfg_wr(&bus, (uint32_t)cap + 16, 0xdeadbeef, 4);
	ck_assert_uint_eq(p.vp.dfselect, 0);
	ck_assert_uint_eq(p.d.vdev.status, 0);
	ck_assert_uint_eq(p.d.config_writes, 0);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.kick[0].fd), 0);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.kick[1].fd), 0);
	/* A read through a bad window leaves the data register as the driver wrote it. */
	ck_assert_uint_eq(bus_cfg_rd(&bus, (uint32_t)cap + 16, 4), 0xdeadbeef);
	pci_destroy(&bus);
	pfx_close(&p);
}
END_TEST

START_TEST(test_bar_moves_follow_the_guest)
{
	struct pci bus;
	uint16_t nq = 0;
	struct pfx p;

	pfx_open(&p);
	on_bus(&p, &bus);
	ck_assert_uint_eq(pci_dev_bar_addr(&p.vp.pci, 0), LAYOUT_PCI_MMIO);
	ck_assert_uint_eq(p.vp.bar_addr, 0); /* kicks only while the function decodes memory */
	bus_cfg_wr(&bus, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	ck_assert_uint_eq(p.vp.bar_addr, LAYOUT_PCI_MMIO);
	/* Sizing: the BAR reads its size mask and decodes nowhere usable meanwhile. */
	bus_cfg_wr(&bus, PCI_BAR0, 0xffffffff, 4);
	ck_assert_uint_eq(bus_cfg_rd(&bus, PCI_BAR0, 4), (uint32_t) ~(VIRTIO_PCI_BAR_SIZE - 1) | 4);
	ck_assert_uint_eq(p.vp.bar_addr, 0);
	/* The guest moves it. */
	bus_cfg_wr(&bus, PCI_BAR0, (uint32_t)LAYOUT_PCI_MMIO + 0x100000, 4);
	ck_assert_uint_eq(p.vp.bar_addr, LAYOUT_PCI_MMIO + 0x100000);
	/* Above 4 GiB, outside the window: no kick address. */
	bus_cfg_wr(&bus, PCI_BAR0 + 4, 1, 4);
	ck_assert_uint_eq(p.vp.bar_addr, 0);
	bus_cfg_wr(&bus, PCI_BAR0 + 4, 0, 4);
	ck_assert_uint_eq(p.vp.bar_addr, LAYOUT_PCI_MMIO + 0x100000);
	/* Accesses reach the transport through the window. */
	pci_mmio_ops.read(&bus, 0x100000 + CC(num_queues), &nq, 2);
	ck_assert_uint_eq(nq, PFX_QUEUES);
	/* Memory decoding off: no kick address, and back on. */
	bus_cfg_wr(&bus, PCI_COMMAND, 0, 2);
	ck_assert_uint_eq(p.vp.bar_addr, 0);
	bus_cfg_wr(&bus, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	ck_assert_uint_eq(p.vp.bar_addr, LAYOUT_PCI_MMIO + 0x100000);
	pci_destroy(&bus);
	pfx_close(&p);
}
END_TEST

/* The first notification structure: ports in BAR 2, kicks while I/O decoding is on. */
START_TEST(test_port_notify_kicks)
{
	struct pci bus;
	struct pfx p;
	uint64_t port;

	pfx_open(&p);
	on_bus(&p, &bus);
	port = pci_dev_bar_addr(&p.vp.pci, VIRTIO_PCI_NOTIFY_BAR);
	ck_assert_uint_eq(port, LAYOUT_PCI_IO);
	ck_assert_uint_eq(p.vp.io_addr, 0);
	port_wr(&bus, port, 0, 2);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.kick[0].fd), 0);
	bus_cfg_wr(&bus, PCI_COMMAND, PCI_COMMAND_IO, 2);
	ck_assert_uint_eq(p.vp.io_addr, LAYOUT_PCI_IO);
	ck_assert_uint_eq(p.vp.bar_addr, 0); /* memory decoding is separate */
	/* Past the BAR's end (straddle) no port is decoded at all. */
	check_notify_structure(&(struct notify_path){ .p = &p, .bus = &bus, .base = port,
						      .straddle = 4 * VIRTIO_MAX_QUEUES - 2 });
	ck_assert_uint_eq(port_rd(&bus, port, 2), 0);
	/* Sizing, a move inside the I/O window, one outside it, decoding off. */
	bus_cfg_wr(&bus, PCI_BAR0 + 4 * VIRTIO_PCI_NOTIFY_BAR, 0xffffffff, 4);
	ck_assert_uint_eq(bus_cfg_rd(&bus, PCI_BAR0 + 4 * VIRTIO_PCI_NOTIFY_BAR, 4),
			  (0xffffU & ~(4U * VIRTIO_MAX_QUEUES - 1)) | 1);
	ck_assert_uint_eq(p.vp.io_addr, 0);
	bus_cfg_wr(&bus, PCI_BAR0 + 4 * VIRTIO_PCI_NOTIFY_BAR, LAYOUT_PCI_IO + 0x100, 4);
	ck_assert_uint_eq(p.vp.io_addr, LAYOUT_PCI_IO + 0x100);
	port_wr(&bus, LAYOUT_PCI_IO + 0x104, 1, 2);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.kick[1].fd), 1);
	bus_cfg_wr(&bus, PCI_BAR0 + 4 * VIRTIO_PCI_NOTIFY_BAR, LAYOUT_PCI_IO + LAYOUT_PCI_IO_SIZE, 4);
	ck_assert_uint_eq(p.vp.io_addr, 0);
	bus_cfg_wr(&bus, PCI_BAR0 + 4 * VIRTIO_PCI_NOTIFY_BAR, LAYOUT_PCI_IO + 0x100, 4);
	bus_cfg_wr(&bus, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	ck_assert_uint_eq(p.vp.io_addr, 0);
	ck_assert_uint_eq(p.vp.bar_addr, LAYOUT_PCI_MMIO);
	pci_destroy(&bus);
	pfx_close(&p);
}
END_TEST

/* The PCI_CFG window reaches the port notifications too. */
START_TEST(test_pci_cfg_window_kicks_through_io_bar)
{
	struct pci bus;
	struct pfx p;
	int cap;

	pfx_open(&p);
	on_bus(&p, &bus);
	cap = p.vp.cfg_cap;
	set_window(&bus, cap, VIRTIO_PCI_NOTIFY_BAR, 4, 2);
	bus_cfg_wr(&bus, (uint32_t)cap + 16, 1, 2);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.kick[1].fd), 1);
	ck_assert_uint_eq(bus_cfg_rd(&bus, (uint32_t)cap + 16, 2), 0);
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.kick[0].fd), 0);
	pci_destroy(&bus);
	pfx_close(&p);
}
END_TEST

/* ---- end to end: virtio-blk behind the transport, kicked through BAR 0 ---- */

START_TEST(test_blk_request_end_to_end)
{
	char path[] = "/tmp/ember-vpci-XXXXXX";
	struct blk_options o = { .path = path, .sync_io = true };
	uint8_t img[4096], status = 0xff;
	struct fake_vring fv;
	struct blk b;
	struct pfx p;
	uint64_t fired = 0;
	int fd;

	for (unsigned int i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 3 + 1);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, img, sizeof(img)), (ssize_t)sizeof(img));
	close(fd);

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(gm_init(&p.m, PFX_RAM, PFX_RAM), 0);
	ck_assert_int_eq(irq_router_init(&p.router, -1), 0);
	ck_assert_int_eq(evloop_init(&p.loop), 0);
	ck_assert_int_eq(blk_open(&b, &o, &p.m, &p.loop), 0);
	ck_assert_int_eq(virtio_pci_init(&p.vp, &b.vdev, -1, &p.router, &p.loop, 16), 0);
	pfx_start_loop(&p);

	/* The driver: features, queue 0 on vector 1, MSI-X on, DRIVER_OK. */
	ck_assert_uint_eq(pfx_negotiate(&p, VIRTIO_FEAT_VERSION_1 | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)),
			  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	ck_assert_uint_eq(pfx_rd(&p, DEVCFG, 8), sizeof(img) / 512); /* capacity */
	fake_vring_init_at(&fv, &p.m, 16, 0x10000);
	pfx_queue_conf(&p, 0, 16, fv.desc, fv.avail, fv.used);
	pfx_wr(&p, CC(queue_msix_vector), 1, 2);
	pfx_queue_enable(&p);
	pfx_wr(&p, MSIX_TBL + 16 + 12, 0, 4);
	memcpy(p.vp.pci.cfg + p.vp.msix.cap + 2, &(uint16_t){ 0x8000 }, 2);
	p.vp.pci.ops->config_written(p.vp.pci.ctx, (uint32_t)p.vp.msix.cap + 2, 2);
	pfx_set_status(&p, pfx_status(&p) | VIRTIO_STATUS_DRIVER_OK);

	/* IN of sector 3, kicked through the notification region. */
	{
		struct {
			uint32_t type, reserved;
			uint64_t sector;
		} h = { VIRTIO_BLK_T_IN, 0, 3 };
		struct fake_seg s[] = { { 0x40000, 16, false },
					{ 0x41000, 512, true },
					{ 0x42000, 1, true } };

		ck_assert_int_eq(gm_write(&p.m, 0x40000, &h, sizeof(h)), 0);
		ck_assert_int_eq(gm_write(&p.m, 0x42000, &status, 1), 0);
		fake_vring_chain(&fv, 0, s, 3);
		fake_vring_publish(&fv, 0);
	}
	pfx_wr(&p, NOTIFY, 0, 2);
	for (int i = 0; i < 5000 && !fired; i++) {
		fired = pfx_eventfd_count(p.vp.msix.efd[1]);
		if (!fired)
			usleep(1000);
	}
	ck_assert_uint_ge(fired, 1);
	ck_assert_uint_eq(fake_vring_used_idx(&fv), 1);
	ck_assert_int_eq(gm_read(&p.m, 0x42000, &status, 1), 0);
	ck_assert_uint_eq(status, VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(gm_ptr(&p.m, 0x41000, 512), img + 3 * 512, 512);

	evloop_stop(&p.loop);
	p.loop_running = false;
	virtio_pci_destroy(&p.vp);
	blk_close(&b);
	evloop_destroy(&p.loop);
	irq_router_destroy(&p.router);
	gm_destroy(&p.m);
	unlink(path);
}
END_TEST

void virtio_pci_caps_tcases(Suite *s)
{
	TCase *pci_tc = tcase_create("pci function");
	TCase *irq_tc = tcase_create("interrupts and kicks");

	tcase_add_test(pci_tc, test_pci_identity_and_bar);
	tcase_add_test(pci_tc, test_capability_list);
	tcase_add_test(pci_tc, test_no_device_cap_without_config);
	tcase_add_test(pci_tc, test_device_config);
	tcase_add_test(pci_tc, test_pci_cfg_window);
	tcase_add_loop_test(pci_tc, test_pci_cfg_window_rejects_bad_windows, 0,
			    sizeof(bad_windows) / sizeof(bad_windows[0]));
	tcase_add_test(pci_tc, test_bar_moves_follow_the_guest);
	tcase_add_test(pci_tc, test_port_notify_kicks);
	tcase_add_test(pci_tc, test_pci_cfg_window_kicks_through_io_bar);
	suite_add_tcase(s, pci_tc);

	tcase_add_test(irq_tc, test_isr_read_clears_intx);
	tcase_add_test(irq_tc, test_msix_interrupts);
	tcase_add_test(irq_tc, test_notify_region_kicks);
	tcase_add_test(irq_tc, test_kick_served_on_io_thread);
	tcase_add_test(irq_tc, test_blk_request_end_to_end);
	tcase_set_timeout(irq_tc, 20);
	suite_add_tcase(s, irq_tc);
}
