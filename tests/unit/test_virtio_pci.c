/*
 * virtio/pci + virtio/virtio: the common configuration structure of the
 * modern transport, driven through BAR 0 with a fake device: feature
 * negotiation, the status state machine, reset, queue registers and their
 * checks, access widths. Capabilities, interrupts, device config, kicks and
 * the PCI_CFG window: test_virtio_pci_caps.c.
 */
#include <string.h>
#include <unistd.h>

#include "tests/unit/fake_vring.h"
#include "tests/unit/suites.h"
#include "tests/unit/test_virtio_pci.h"

/* ---- the fake device and the fixture ---- */

static struct fake_dev *fake_of(struct virtio_dev *v)
{
	return v->priv;
}

static void fake_queue_notify(struct virtio_dev *v, unsigned int q)
{
	__atomic_fetch_add(&fake_of(v)->notified[q], 1, __ATOMIC_SEQ_CST);
}

static void fake_activate(struct virtio_dev *v)
{
	fake_of(v)->activated++;
}

static void fake_reset(struct virtio_dev *v)
{
	fake_of(v)->resets++;
}

static void fake_config_read(struct virtio_dev *v, uint32_t off, void *data, uint32_t len)
{
	ck_assert_uint_le(off + len, PFX_CFG_SIZE); /* the transport checked */
	memcpy(data, fake_of(v)->config + off, len);
}

static void fake_config_write(struct virtio_dev *v, uint32_t off, const void *data, uint32_t len)
{
	struct fake_dev *d = fake_of(v);

	ck_assert_uint_le(off + len, PFX_CFG_SIZE);
	d->config_writes++;
	d->cw_off = off;
	d->cw_len = len;
	memcpy(d->cw_data, data, len < sizeof(d->cw_data) ? len : sizeof(d->cw_data));
}

static const struct virtio_dev_ops fake_ops = {
	.queue_notify = fake_queue_notify,
	.activate = fake_activate,
	.reset = fake_reset,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
};

static void open_with(struct pfx *p, uint32_t config_size, int vm_fd, struct irq_router *router,
		      uint8_t gsi, bool external)
{
	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(gm_init(&p->m, PFX_RAM, PFX_RAM), 0);
	for (unsigned int i = 0; i < PFX_CFG_SIZE; i++)
		p->d.config[i] = (uint8_t)(0xc0 + i);
	ck_assert_int_eq(virtio_dev_init(&p->d.vdev, "fake", PFX_DEV_ID, &fake_ops, &p->d, &p->m,
					 PFX_FEATURES, config_size, PFX_QUEUES, PFX_QSIZE),
			 0);
	p->d.vdev.external_queues = external;
	if (!router) {
		ck_assert_int_eq(irq_router_init(&p->router, vm_fd), 0);
		p->own_router = true;
		router = &p->router;
	}
	ck_assert_int_eq(evloop_init(&p->loop), 0);
	ck_assert_int_eq(virtio_pci_init(&p->vp, &p->d.vdev, vm_fd, router, &p->loop, gsi), 0);
}

void pfx_open_cfg(struct pfx *p, uint32_t config_size)
{
	open_with(p, config_size, -1, NULL, 16, false);
}

void pfx_open_on(struct pfx *p, int vm_fd, struct irq_router *router, uint8_t gsi)
{
	open_with(p, PFX_CFG_SIZE, vm_fd, router, gsi, false);
}

void pfx_open_external(struct pfx *p, int vm_fd)
{
	open_with(p, PFX_CFG_SIZE, vm_fd, NULL, 16, true);
}

void pfx_open(struct pfx *p)
{
	pfx_open_cfg(p, PFX_CFG_SIZE);
}

void pfx_start_loop(struct pfx *p)
{
	ck_assert_int_eq(evloop_start(&p->loop), 0);
	p->loop_running = true;
}

void pfx_close(struct pfx *p)
{
	if (p->loop_running)
		evloop_stop(&p->loop);
	virtio_pci_destroy(&p->vp);
	evloop_destroy(&p->loop);
	if (p->own_router)
		irq_router_destroy(&p->router);
	virtio_dev_destroy(&p->d.vdev);
	gm_destroy(&p->m);
}

uint64_t pfx_rd(struct pfx *p, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	p->vp.pci.bar[0].ops->read(p->vp.pci.bar[0].ctx, off, &v, len);
	return v;
}

void pfx_wr(struct pfx *p, uint64_t off, uint64_t val, uint32_t len)
{
	p->vp.pci.bar[0].ops->write(p->vp.pci.bar[0].ctx, off, &val, len);
}

uint8_t pfx_status(struct pfx *p)
{
	return (uint8_t)pfx_rd(p, CC(device_status), 1);
}

void pfx_set_status(struct pfx *p, uint8_t status)
{
	pfx_wr(p, CC(device_status), status, 1);
}

static void write_driver_features(struct pfx *p, uint64_t features)
{
	pfx_wr(p, CC(guest_feature_select), 0, 4);
	pfx_wr(p, CC(guest_feature), (uint32_t)features, 4);
	pfx_wr(p, CC(guest_feature_select), 1, 4);
	pfx_wr(p, CC(guest_feature), features >> 32, 4);
}

uint8_t pfx_negotiate(struct pfx *p, uint64_t features)
{
	pfx_set_status(p, VIRTIO_STATUS_ACKNOWLEDGE);
	pfx_set_status(p, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	write_driver_features(p, features);
	pfx_set_status(p, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	return pfx_status(p);
}

void pfx_queue_conf(struct pfx *p, uint16_t q, uint16_t size, uint64_t desc, uint64_t avail,
		    uint64_t used)
{
	pfx_wr(p, CC(queue_select), q, 2);
	pfx_wr(p, CC(queue_size), size, 2);
	pfx_wr(p, CC(queue_desc_lo), (uint32_t)desc, 4);
	pfx_wr(p, CC(queue_desc_hi), desc >> 32, 4);
	pfx_wr(p, CC(queue_avail_lo), (uint32_t)avail, 4);
	pfx_wr(p, CC(queue_avail_hi), avail >> 32, 4);
	pfx_wr(p, CC(queue_used_lo), (uint32_t)used, 4);
	pfx_wr(p, CC(queue_used_hi), used >> 32, 4);
}

void pfx_queue_ok(struct pfx *p, uint16_t q, uint16_t size)
{
	struct fake_vring v;

	fake_vring_init_at(&v, &p->m, size, 0x10000ULL * (q + 1));
	pfx_queue_conf(p, q, size, v.desc, v.avail, v.used);
}

void pfx_queue_enable(struct pfx *p)
{
	pfx_wr(p, CC(queue_enable), 1, 2);
}

uint64_t pfx_eventfd_count(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

#define ALL_FEATURES                                                                               \
	(PFX_FEATURES | VIRTIO_FEAT_VERSION_1 | VIRTIO_FEAT_EVENT_IDX | VIRTIO_FEAT_INDIRECT_DESC)
#define DRIVER_STATUS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER)
#define NEGOTIATED    (DRIVER_STATUS | VIRTIO_STATUS_FEATURES_OK)

/* ---- features ---- */

START_TEST(test_device_features_by_select)
{
	struct pfx p;

	pfx_open(&p);
	ck_assert_uint_eq(p.d.vdev.host_features, ALL_FEATURES);
	pfx_wr(&p, CC(device_feature_select), 0, 4);
	ck_assert_uint_eq(pfx_rd(&p, CC(device_feature_select), 4), 0);
	ck_assert_uint_eq(pfx_rd(&p, CC(device_feature), 4), (uint32_t)ALL_FEATURES);
	pfx_wr(&p, CC(device_feature_select), 1, 4);
	ck_assert_uint_eq(pfx_rd(&p, CC(device_feature), 4), ALL_FEATURES >> 32);
	ck_assert(pfx_rd(&p, CC(device_feature), 4) & 1); /* VERSION_1 is bit 32 */
	for (uint32_t sel = 2; sel < 6; sel++) {
		pfx_wr(&p, CC(device_feature_select), sel, 4);
		ck_assert_uint_eq(pfx_rd(&p, CC(device_feature), 4), 0);
	}
	pfx_wr(&p, CC(device_feature_select), UINT32_MAX, 4);
	ck_assert_uint_eq(pfx_rd(&p, CC(device_feature), 4), 0);
	/* device_feature is read-only. */
	pfx_wr(&p, CC(device_feature_select), 0, 4);
	pfx_wr(&p, CC(device_feature), 0, 4);
	ck_assert_uint_eq(pfx_rd(&p, CC(device_feature), 4), (uint32_t)ALL_FEATURES);
	ck_assert_uint_eq(p.d.vdev.host_features, ALL_FEATURES);
	ck_assert_uint_eq(pfx_rd(&p, CC(num_queues), 2), PFX_QUEUES);
	pfx_close(&p);
}
END_TEST

START_TEST(test_features_ok_accepted)
{
	uint64_t want = VIRTIO_FEAT_VERSION_1 | VIRTIO_BIT(3) | VIRTIO_BIT(35);
	struct pfx p;

	pfx_open(&p);
	ck_assert_uint_eq(pfx_negotiate(&p, want), NEGOTIATED);
	ck_assert_uint_eq(p.d.vdev.driver_features, want);
	pfx_wr(&p, CC(guest_feature_select), 0, 4);
	ck_assert_uint_eq(pfx_rd(&p, CC(guest_feature), 4), (uint32_t)want);
	pfx_wr(&p, CC(guest_feature_select), 1, 4);
	ck_assert_uint_eq(pfx_rd(&p, CC(guest_feature), 4), want >> 32);
	ck_assert_uint_eq(pfx_rd(&p, CC(guest_feature_select), 4), 1);
	/* Every feature the device offers, at once. */
	pfx_set_status(&p, 0);
	ck_assert_uint_eq(pfx_negotiate(&p, ALL_FEATURES), NEGOTIATED);
	ck_assert(virtio_has(&p.d.vdev, VIRTIO_FEAT_EVENT_IDX | VIRTIO_FEAT_INDIRECT_DESC));
	pfx_close(&p);
}
END_TEST

static const uint64_t refused_features[] = {
	VIRTIO_FEAT_VERSION_1 | VIRTIO_BIT(1),	/* a bit the device lacks (low half) */
	VIRTIO_FEAT_VERSION_1 | VIRTIO_BIT(40), /* ... high half */
	VIRTIO_FEAT_VERSION_1 | VIRTIO_BIT(63),
	VIRTIO_BIT(0), /* no VERSION_1: a legacy driver */
	0,
	ALL_FEATURES & ~VIRTIO_FEAT_VERSION_1,
};

START_TEST(test_features_ok_refused)
{
	struct pfx p;

	pfx_open(&p);
	ck_assert_uint_eq(pfx_negotiate(&p, refused_features[_i]), DRIVER_STATUS);
	/* The driver may not proceed: DRIVER_OK is refused too, and no queue enables. */
	pfx_set_status(&p, DRIVER_STATUS | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(pfx_status(&p), DRIVER_STATUS);
	ck_assert_uint_eq(p.d.activated, 0);
	pfx_queue_ok(&p, 0, PFX_QSIZE);
	pfx_queue_enable(&p);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_enable), 2), 0);
	ck_assert(!p.d.vdev.vq[0].ready);
	/* Corrected features are accepted on a second attempt. */
	write_driver_features(&p, VIRTIO_FEAT_VERSION_1);
	pfx_set_status(&p, NEGOTIATED);
	ck_assert_uint_eq(pfx_status(&p), NEGOTIATED);
	pfx_close(&p);
}
END_TEST

START_TEST(test_driver_features_frozen_after_features_ok)
{
	struct pfx p;

	pfx_open(&p);
	ck_assert_uint_eq(pfx_negotiate(&p, VIRTIO_FEAT_VERSION_1 | VIRTIO_BIT(0)), NEGOTIATED);
	write_driver_features(&p, ALL_FEATURES);
	ck_assert_uint_eq(p.d.vdev.driver_features, VIRTIO_FEAT_VERSION_1 | VIRTIO_BIT(0));
	pfx_wr(&p, CC(guest_feature_select), 0, 4);
	ck_assert_uint_eq(pfx_rd(&p, CC(guest_feature), 4), 1);
	pfx_close(&p);
}
END_TEST

START_TEST(test_driver_feature_select_beyond_1)
{
	struct pfx p;

	pfx_open(&p);
	pfx_wr(&p, CC(guest_feature_select), 2, 4);
	pfx_wr(&p, CC(guest_feature), 0xffffffff, 4);
	ck_assert_uint_eq(pfx_rd(&p, CC(guest_feature), 4), 0);
	ck_assert_uint_eq(p.d.vdev.driver_features, 0);
	pfx_close(&p);
}
END_TEST

/* ---- status ---- */

START_TEST(test_status_bits_accumulate)
{
	struct pfx p;

	pfx_open(&p);
	ck_assert_uint_eq(pfx_status(&p), 0);
	pfx_set_status(&p, VIRTIO_STATUS_ACKNOWLEDGE);
	pfx_set_status(&p, VIRTIO_STATUS_DRIVER);
	ck_assert_uint_eq(pfx_status(&p), DRIVER_STATUS);
	pfx_set_status(&p, VIRTIO_STATUS_ACKNOWLEDGE); /* clearing a bit is not possible */
	ck_assert_uint_eq(pfx_status(&p), DRIVER_STATUS);
	/* NEEDS_RESET belongs to the device. */
	pfx_set_status(&p, DRIVER_STATUS | VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(pfx_status(&p), DRIVER_STATUS);
	/* FAILED is the driver's to set. */
	pfx_set_status(&p, DRIVER_STATUS | VIRTIO_STATUS_FAILED);
	ck_assert_uint_eq(pfx_status(&p), DRIVER_STATUS | VIRTIO_STATUS_FAILED);
	ck_assert_uint_eq(p.d.resets, 0);
	pfx_close(&p);
}
END_TEST

START_TEST(test_driver_ok_needs_features_ok)
{
	struct pfx p;

	pfx_open(&p);
	pfx_set_status(&p, DRIVER_STATUS);
	write_driver_features(&p, VIRTIO_FEAT_VERSION_1);
	pfx_set_status(&p, DRIVER_STATUS | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(pfx_status(&p), DRIVER_STATUS);
	ck_assert_uint_eq(p.d.activated, 0);
	/* FEATURES_OK and DRIVER_OK in one write: both accepted (features are valid). */
	pfx_set_status(&p, NEGOTIATED | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(pfx_status(&p), NEGOTIATED | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(p.d.activated, 1);
	/* Writing DRIVER_OK again does not activate twice. */
	pfx_set_status(&p, NEGOTIATED | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(p.d.activated, 1);
	pfx_close(&p);
}
END_TEST

START_TEST(test_status_zero_resets)
{
	struct virtio_dev *v;
	struct pfx p;

	pfx_open(&p);
	v = &p.d.vdev;
	ck_assert_uint_eq(pfx_negotiate(&p, ALL_FEATURES), NEGOTIATED);
	pfx_queue_ok(&p, 1, 32);
	pfx_wr(&p, CC(queue_msix_vector), 2, 2);
	pfx_queue_enable(&p);
	pfx_wr(&p, CC(msix_config), 0, 2);
	pfx_set_status(&p, NEGOTIATED | VIRTIO_STATUS_DRIVER_OK);
	ck_assert(v->vq[1].ready);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_msix_vector), 2), 2);

	pfx_set_status(&p, 0);
	ck_assert_uint_eq(p.d.resets, 1);
	ck_assert_uint_eq(pfx_status(&p), 0);
	ck_assert_uint_eq(v->driver_features, 0);
	ck_assert_uint_eq(pfx_rd(&p, CC(msix_config), 2), VIRTIO_MSI_NO_VECTOR);
	for (uint16_t q = 0; q < PFX_QUEUES; q++) {
		pfx_wr(&p, CC(queue_select), q, 2);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_enable), 2), 0);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_size), 2), PFX_QSIZE);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_msix_vector), 2), VIRTIO_MSI_NO_VECTOR);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_desc_lo), 4), 0);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_used_lo), 4), 0);
		ck_assert(!v->vq[q].ready);
	}
	/* NEEDS_RESET is cleared by the reset too. */
	pthread_mutex_lock(&v->lock);
	virtio_needs_reset(v);
	pthread_mutex_unlock(&v->lock);
	ck_assert(pfx_status(&p) & VIRTIO_STATUS_NEEDS_RESET);
	pfx_set_status(&p, 0);
	ck_assert_uint_eq(pfx_status(&p), 0);
	ck_assert_uint_eq(p.d.resets, 2);
	/* The device can be brought up again. */
	ck_assert_uint_eq(pfx_negotiate(&p, VIRTIO_FEAT_VERSION_1), NEGOTIATED);
	pfx_close(&p);
}
END_TEST

/* ---- queues ---- */

START_TEST(test_queue_setup_and_enable)
{
	struct virtio_dev *v;
	struct fake_vring fv;
	struct pfx p;

	pfx_open(&p);
	v = &p.d.vdev;
	ck_assert_uint_eq(pfx_negotiate(&p, VIRTIO_FEAT_VERSION_1 | VIRTIO_FEAT_EVENT_IDX),
			  NEGOTIATED);
	for (uint16_t q = 0; q < PFX_QUEUES; q++) {
		pfx_wr(&p, CC(queue_select), q, 2);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_select), 2), q);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_size), 2), PFX_QSIZE); /* the maximum */
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_notify_off), 2), q);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_enable), 2), 0);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_msix_vector), 2), VIRTIO_MSI_NO_VECTOR);
	}
	fake_vring_init_at(&fv, &p.m, 16, 0x50000);
	pfx_queue_conf(&p, 1, 16, fv.desc, fv.avail, fv.used);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_size), 2), 16);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_desc_lo), 4), fv.desc);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_avail_lo), 4), fv.avail);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_used_lo), 4), fv.used);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_used_hi), 4), 0);
	pfx_queue_enable(&p);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_enable), 2), 1);
	ck_assert(v->vq[1].ready);
	ck_assert(!v->vq[0].ready);
	ck_assert_uint_eq(v->vq[1].size, 16);
	ck_assert_uint_eq(v->vq[1].desc_gpa, fv.desc);
	ck_assert_uint_eq(v->vq[1].avail_gpa, fv.avail);
	ck_assert_uint_eq(v->vq[1].used_gpa, fv.used);
	ck_assert(v->vq[1].event_idx); /* negotiated */
	ck_assert(!v->vq[1].indirect); /* not negotiated */
	ck_assert(!(pfx_status(&p) & VIRTIO_STATUS_NEEDS_RESET));
	/* Writing 0 does not disable (only a reset does). */
	pfx_wr(&p, CC(queue_enable), 0, 2);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_enable), 2), 1);
	pfx_close(&p);
}
END_TEST

START_TEST(test_queue_registers_frozen_after_enable)
{
	struct virtio_dev *v;
	uint64_t desc;
	struct pfx p;

	pfx_open(&p);
	v = &p.d.vdev;
	ck_assert_uint_eq(pfx_negotiate(&p, VIRTIO_FEAT_VERSION_1), NEGOTIATED);
	pfx_queue_ok(&p, 0, 32);
	pfx_queue_enable(&p);
	desc = pfx_rd(&p, CC(queue_desc_lo), 4);
	pfx_queue_conf(&p, 0, 8, 0x90000, 0x91000, 0x92000);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_size), 2), 32);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_desc_lo), 4), desc);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_avail_lo), 4), v->vq[0].avail_gpa);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_used_lo), 4), v->vq[0].used_gpa);
	ck_assert_uint_eq(v->vq[0].desc_gpa, desc);
	ck_assert_uint_eq(v->vq[0].size, 32);
	/* The vector stays writable. */
	pfx_wr(&p, CC(queue_msix_vector), 1, 2);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_msix_vector), 2), 1);
	/* The other queue is still open. */
	pfx_queue_conf(&p, 1, 8, 0x90000, 0x91000, 0x92000);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_size), 2), 8);
	pfx_close(&p);
}
END_TEST

START_TEST(test_queue_enable_only_between_features_ok_and_driver_ok)
{
	struct pfx p;

	pfx_open(&p);
	pfx_set_status(&p, DRIVER_STATUS);
	pfx_queue_ok(&p, 0, 16);
	pfx_queue_enable(&p); /* before FEATURES_OK: ignored */
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_enable), 2), 0);
	ck_assert(!p.d.vdev.vq[0].ready);
	write_driver_features(&p, VIRTIO_FEAT_VERSION_1);
	pfx_set_status(&p, NEGOTIATED | VIRTIO_STATUS_DRIVER_OK);
	pfx_queue_enable(&p); /* after DRIVER_OK: ignored */
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_enable), 2), 0);
	ck_assert(!p.d.vdev.vq[0].ready);
	ck_assert(!(pfx_status(&p) & VIRTIO_STATUS_NEEDS_RESET));
	pfx_close(&p);
}
END_TEST

static const struct {
	uint16_t size;
	uint64_t desc, avail, used;
} bad_rings[] = {
	{ 16, PFX_RAM, 0x20000, 0x30000 },		 /* descriptors outside RAM */
	{ 16, 0x10000, PFX_RAM - 8, 0x30000 },		 /* avail ring crosses the end */
	{ 16, 0x10000, 0x20000, PFX_RAM - 64 },		 /* used ring crosses the end */
	{ 16, 0x10000, 0x20000, 0x1000000000ULL },	 /* far above RAM */
	{ 16, 0xfffffffffffff000ULL, 0x20000, 0x30000 }, /* wraps */
	{ 16, 0x10008, 0x20000, 0x30000 },		 /* descriptors misaligned */
	{ 48, 0x10000, 0x20000, 0x30000 },		 /* not a power of two */
	{ 0, 0x10000, 0x20000, 0x30000 },		 /* empty */
	{ 128, 0x10000, 0x20000, 0x30000 },		 /* above the maximum (64) */
	{ 32768, 0x10000, 0x20000, 0x30000 },
};

START_TEST(test_queue_enable_bad_ring_needs_reset)
{
	uint8_t gen;
	struct pfx p;

	pfx_open(&p);
	ck_assert_uint_eq(pfx_negotiate(&p, VIRTIO_FEAT_VERSION_1), NEGOTIATED);
	gen = (uint8_t)pfx_rd(&p, CC(config_generation), 1);
	pfx_queue_conf(&p, 0, bad_rings[_i].size, bad_rings[_i].desc, bad_rings[_i].avail,
		       bad_rings[_i].used);
	pfx_queue_enable(&p);
	ck_assert_uint_eq(pfx_status(&p), NEGOTIATED | VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_enable), 2), 0);
	ck_assert(!p.d.vdev.vq[0].ready);
	/* The driver hears of it: a configuration interrupt (INTx here: MSI-X is off). */
	ck_assert_uint_ne((uint8_t)pfx_rd(&p, CC(config_generation), 1), gen);
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 2);
	/* DRIVER_OK is still taken but the device stays broken until reset. */
	pfx_set_status(&p, NEGOTIATED | VIRTIO_STATUS_DRIVER_OK);
	ck_assert(pfx_status(&p) & VIRTIO_STATUS_NEEDS_RESET);
	pfx_set_status(&p, 0);
	ck_assert_uint_eq(pfx_status(&p), 0);
	pfx_close(&p);
}
END_TEST

START_TEST(test_queue_select_beyond_num_queues)
{
	static const uint16_t sel[] = { PFX_QUEUES, VIRTIO_MAX_QUEUES, 0x100, 0xffff };
	struct pfx p;

	pfx_open(&p);
	ck_assert_uint_eq(pfx_negotiate(&p, VIRTIO_FEAT_VERSION_1), NEGOTIATED);
	for (size_t i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		pfx_queue_conf(&p, sel[i], 16, 0x10000, 0x20000, 0x30000);
		pfx_wr(&p, CC(queue_msix_vector), 0, 2);
		pfx_queue_enable(&p);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_select), 2), sel[i]);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_size), 2), 0);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_enable), 2), 0);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_msix_vector), 2), 0);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_desc_lo), 4), 0);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_notify_off), 2), 0);
	}
	ck_assert_uint_eq(pfx_status(&p), NEGOTIATED);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		ck_assert(!p.d.vdev.vq[q].ready);
	pfx_close(&p);
}
END_TEST

/* ---- vectors and access widths ---- */

START_TEST(test_msix_vector_registers)
{
	static const struct {
		uint16_t write, read;
	} v[] = {
		{ 0, 0 },
		{ 2, 2 },
		{ PFX_QUEUES + 1, VIRTIO_MSI_NO_VECTOR },
		{ 1, 1 },
		{ 64, VIRTIO_MSI_NO_VECTOR },
		{ 0x7fff, VIRTIO_MSI_NO_VECTOR },
		{ VIRTIO_MSI_NO_VECTOR, VIRTIO_MSI_NO_VECTOR },
	};
	struct pfx p;

	pfx_open(&p);
	ck_assert_uint_eq(p.vp.msix.nr, PFX_QUEUES + 1);
	ck_assert_uint_eq(pfx_rd(&p, CC(msix_config), 2), VIRTIO_MSI_NO_VECTOR);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		pfx_wr(&p, CC(msix_config), v[i].write, 2);
		ck_assert_uint_eq(pfx_rd(&p, CC(msix_config), 2), v[i].read);
		ck_assert_uint_eq(p.d.vdev.config_msix_vector, v[i].read);
		pfx_wr(&p, CC(queue_select), 1, 2);
		pfx_wr(&p, CC(queue_msix_vector), v[i].write, 2);
		ck_assert_uint_eq(pfx_rd(&p, CC(queue_msix_vector), 2), v[i].read);
		ck_assert_uint_eq(p.d.vdev.qcfg[1].msix_vector, v[i].read);
	}
	pfx_close(&p);
}
END_TEST

START_TEST(test_access_widths)
{
	struct pfx p;

	pfx_open(&p);
	/* Byte and word reads of device_feature see the dword's bytes. */
	pfx_wr(&p, CC(device_feature_select), 0, 4);
	for (uint32_t b = 0; b < 4; b++)
		ck_assert_uint_eq(pfx_rd(&p, CC(device_feature) + b, 1),
				  (uint8_t)(ALL_FEATURES >> (8 * b)));
	ck_assert_uint_eq(pfx_rd(&p, CC(device_feature) + 2, 2), (uint16_t)(ALL_FEATURES >> 16));
	/* A byte write to the select's low byte. */
	pfx_wr(&p, CC(device_feature_select), 1, 1);
	ck_assert_uint_eq(pfx_rd(&p, CC(device_feature), 4), ALL_FEATURES >> 32);
	/* 64-bit fields: written as two 32-bit halves, read whole or in halves. */
	ck_assert_uint_eq(pfx_negotiate(&p, VIRTIO_FEAT_VERSION_1), NEGOTIATED);
	pfx_wr(&p, CC(queue_select), 0, 2);
	pfx_wr(&p, CC(queue_desc_lo), 0x89abc000, 4);
	pfx_wr(&p, CC(queue_desc_hi), 0x01234567, 4);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_desc_lo), 8), 0x0123456789abc000ULL);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_desc_hi), 4), 0x01234567);
	ck_assert_uint_eq(p.d.vdev.qcfg[0].desc, 0x0123456789abc000ULL);
	pfx_wr(&p, CC(queue_desc_hi), 0, 4); /* the high half alone */
	ck_assert_uint_eq(p.d.vdev.qcfg[0].desc, 0x89abc000ULL);
	/* ... or in one 64-bit access. */
	pfx_wr(&p, CC(queue_avail_lo), 0x0000000100002000ULL, 8);
	ck_assert_uint_eq(p.d.vdev.qcfg[0].avail, 0x0000000100002000ULL);
	ck_assert_uint_eq(pfx_rd(&p, CC(queue_avail_hi), 4), 1);
	/* A 16-bit status write reaches the status byte (config_generation is read-only). */
	pfx_wr(&p, CC(device_status), 0xff00 | NEGOTIATED | VIRTIO_STATUS_FAILED, 2);
	ck_assert_uint_eq(pfx_status(&p), NEGOTIATED | VIRTIO_STATUS_FAILED);
	ck_assert_uint_eq(pfx_rd(&p, CC(config_generation), 1), 0);
	/* num_queues is read-only. */
	pfx_wr(&p, CC(num_queues), 7, 2);
	ck_assert_uint_eq(pfx_rd(&p, CC(num_queues), 2), PFX_QUEUES);
	ck_assert_uint_eq(p.d.vdev.num_queues, PFX_QUEUES);
	pfx_close(&p);
}
END_TEST

START_TEST(test_common_beyond_structure)
{
	struct pfx p;

	pfx_open(&p);
	/* Past the structure (60 bytes here) and an access crossing its end: zeros, ignored. */
	ck_assert_uint_eq(pfx_rd(&p, 60, 4), 0);
	ck_assert_uint_eq(pfx_rd(&p, 0x800, 4), 0);
	ck_assert_uint_eq(pfx_rd(&p, 0xffc, 4), 0);
	ck_assert_uint_eq(pfx_rd(&p, 58, 4), 0);
	pfx_wr(&p, 58, 0xffffffff, 4);
	pfx_wr(&p, 0xff8, 0xffffffffffffffffULL, 8);
	ck_assert_uint_eq(pfx_status(&p), 0);
	ck_assert_uint_eq(p.d.resets, 0);
	/* Unused space in BAR 0 reads as zeros and ignores writes. */
	ck_assert_uint_eq(pfx_rd(&p, 0x6000, 4), 0);
	ck_assert_uint_eq(pfx_rd(&p, 0x7ffc, 4), 0);
	pfx_wr(&p, 0x6000, 0xffffffff, 4);
	pfx_close(&p);
}
END_TEST

Suite *virtio_pci_suite(void)
{
	Suite *s = suite_create("virtio_pci");
	TCase *feat_tc = tcase_create("features and status");
	TCase *queue_tc = tcase_create("queues");

	tcase_add_test(feat_tc, test_device_features_by_select);
	tcase_add_test(feat_tc, test_features_ok_accepted);
	tcase_add_loop_test(feat_tc, test_features_ok_refused, 0,
			    sizeof(refused_features) / sizeof(refused_features[0]));
	tcase_add_test(feat_tc, test_driver_features_frozen_after_features_ok);
	tcase_add_test(feat_tc, test_driver_feature_select_beyond_1);
	tcase_add_test(feat_tc, test_status_bits_accumulate);
	tcase_add_test(feat_tc, test_driver_ok_needs_features_ok);
	tcase_add_test(feat_tc, test_status_zero_resets);
	suite_add_tcase(s, feat_tc);

	tcase_add_test(queue_tc, test_queue_setup_and_enable);
	tcase_add_test(queue_tc, test_queue_registers_frozen_after_enable);
	tcase_add_test(queue_tc, test_queue_enable_only_between_features_ok_and_driver_ok);
	tcase_add_loop_test(queue_tc, test_queue_enable_bad_ring_needs_reset, 0,
			    sizeof(bad_rings) / sizeof(bad_rings[0]));
	tcase_add_test(queue_tc, test_queue_select_beyond_num_queues);
	tcase_add_test(queue_tc, test_msix_vector_registers);
	tcase_add_test(queue_tc, test_access_widths);
	tcase_add_test(queue_tc, test_common_beyond_structure);
	suite_add_tcase(s, queue_tc);

	virtio_pci_caps_tcases(s);
	virtio_pci_intx_tcases(s);
	virtio_pci_ext_tcases(s);
	return s;
}
