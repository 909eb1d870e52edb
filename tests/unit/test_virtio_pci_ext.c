/*
 * virtio/pci with external queues (vhost-user): kicks are left to KVM and
 * the backend (the I/O thread never serves them), and each queue's call
 * eventfd is bound with an irqfd to its MSI-X vector's GSI while that
 * vector can fire, and relayed by the I/O thread otherwise: pending bit
 * while masked, INTx without MSI-X, nothing before DRIVER_OK. KVM is the
 * fake of fake_kvm.h, which records irqfd bindings.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/fake_kvm.h"
#include "tests/unit/fake_vring.h"
#include "tests/unit/test_virtio_pci.h"

#define INTX_GSI 16

static void ext_open(struct pfx *p, int *vm_fd)
{
	*vm_fd = fake_kvm_open();
	ck_assert_int_ge(*vm_fd, 0);
	pfx_open_external(p, *vm_fd);
}

static void ext_close(struct pfx *p, int vm_fd)
{
	pfx_close(p);
	fake_kvm_close(vm_fd);
}

static void msix_ctrl(struct pfx *p, uint16_t ctrl)
{
	memcpy(p->vp.pci.cfg + p->vp.msix.cap + 2, &ctrl, 2);
	p->vp.pci.ops->config_written(p->vp.pci.ctx, (uint32_t)p->vp.msix.cap + 2, 2);
}

/* Vector `v`: a message, and masked or not (table writes, as a driver does). */
static void vector(struct pfx *p, unsigned int v, uint32_t data, bool masked)
{
	pfx_wr(p, MSIX_TBL + 16 * v + 0, 0xfee00000, 4);
	pfx_wr(p, MSIX_TBL + 16 * v + 8, data, 4);
	pfx_wr(p, MSIX_TBL + 16 * v + 12, masked, 4);
}

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
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
}

/* Wait (up to 2 s) for the I/O thread to have done something `done` sees. */
static bool wait_until(bool (*done)(struct pfx *), struct pfx *p)
{
	for (int i = 0; i < 2000; i++) {
		if (done(p))
			return true;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return done(p);
}

static bool intx_high(struct pfx *p)
{
	(void)p;
	return fake_kvm_level(INTX_GSI) == 1;
}

static bool vector0_pending(struct pfx *p)
{
	return pfx_rd(p, MSIX_PBA, 4) & 1;
}

START_TEST(test_ext_kicks_left_to_the_backend)
{
	struct fake_vring fv;
	struct pfx p;
	int vm_fd, kick;

	ext_open(&p, &vm_fd);
	pfx_start_loop(&p);
	bring_up(&p, &fv, VIRTIO_MSI_NO_VECTOR);
	kick = p.d.vdev.transport->kick_fd(&p.d.vdev, 0);
	ck_assert_int_eq(kick, p.vp.kick[0].fd);
	ck_assert_int_eq(p.d.vdev.transport->kick_fd(&p.d.vdev, PFX_QUEUES), -1);
	pfx_wr(&p, NOTIFY, 0, 2); /* a kick that reached a vCPU exit: passed on all the same */
	nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	ck_assert_uint_eq(__atomic_load_n(&p.d.notified[0], __ATOMIC_RELAXED), 0);
	ck_assert_uint_eq(pfx_eventfd_count(kick), 1); /* still there for the backend */
	ext_close(&p, vm_fd);
}
END_TEST

START_TEST(test_ext_fds_only_for_external_devices)
{
	struct pfx p;

	pfx_open(&p);
	ck_assert_int_eq(p.d.vdev.transport->kick_fd(&p.d.vdev, 0), -1);
	ck_assert_int_eq(p.d.vdev.transport->call_fd(&p.d.vdev, 0), -1);
	pfx_close(&p);
}
END_TEST

/* Without MSI-X the I/O thread turns the backend's call into INTx, after DRIVER_OK only. */
START_TEST(test_ext_call_relayed_as_intx)
{
	struct fake_vring fv;
	struct pfx p;
	int vm_fd, call;

	ext_open(&p, &vm_fd);
	pfx_start_loop(&p);
	call = p.d.vdev.transport->call_fd(&p.d.vdev, 0);
	ck_assert_int_ge(call, 0);
	signal_fd(call); /* a stale call before the driver is ready: dropped */
	nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
	ck_assert_int_ne(fake_kvm_level(INTX_GSI), 1);
	bring_up(&p, &fv, VIRTIO_MSI_NO_VECTOR);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), -1);
	signal_fd(call);
	ck_assert(wait_until(intx_high, &p));
	ck_assert_uint_eq(pfx_rd(&p, ISR, 1), 1);
	ck_assert_int_eq(fake_kvm_level(INTX_GSI), 0);
	ext_close(&p, vm_fd);
}
END_TEST

/* The irqfd follows the vector: bound while it can fire, relayed (pending) while masked. */
START_TEST(test_ext_call_irqfd_follows_vector)
{
	struct fake_vring fv;
	struct pfx p;
	int vm_fd, call, base;
	unsigned int pushes;

	ext_open(&p, &vm_fd);
	pfx_start_loop(&p);
	call = p.d.vdev.transport->call_fd(&p.d.vdev, 0);
	base = p.vp.msix.gsi_base;
	msix_ctrl(&p, 0x8000); /* MSI-X on */
	vector(&p, 0, 0x41, false);
	vector(&p, 1, 0x42, false);
	bring_up(&p, &fv, 0);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), base);
	ck_assert_int_eq(p.vp.call[0].gsi, base);
	/* A new message for the bound vector: its route goes to KVM at once. */
	pushes = fake_kvm_routing_pushes();
	pfx_wr(&p, MSIX_TBL + 8, 0x51, 4);
	ck_assert_uint_gt(fake_kvm_routing_pushes(), pushes);
	/* Masked: unbound, and a call sets the pending bit; unmasked: delivered and bound again. */
	pfx_wr(&p, MSIX_TBL + 12, 1, 4);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), -1);
	signal_fd(call);
	ck_assert(wait_until(vector0_pending, &p));
	pfx_wr(&p, MSIX_TBL + 12, 0, 4);
	ck_assert(!vector0_pending(&p));
	ck_assert_uint_eq(pfx_eventfd_count(p.vp.msix.efd[0]), 1);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), base);
	/* The driver moves the queue to vector 1. */
	pfx_wr(&p, CC(queue_select), 0, 2);
	pfx_wr(&p, CC(queue_msix_vector), 1, 2);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), base + 1);
	/* Function mask, then MSI-X off: relayed. */
	msix_ctrl(&p, 0xc000);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), -1);
	msix_ctrl(&p, 0x8000);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), base + 1);
	msix_ctrl(&p, 0);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), -1);
	msix_ctrl(&p, 0x8000);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), base + 1);
	/* A reset takes every vector away. */
	pfx_set_status(&p, 0);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), -1);
	ck_assert_int_eq(p.vp.call[0].gsi, -1);
	bring_up(&p, &fv, 0);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), base);
	ext_close(&p, vm_fd);
	ck_assert_int_eq(fake_kvm_irqfd_gsi(call), -1); /* unbound at destroy */
}
END_TEST

void virtio_pci_ext_tcases(Suite *s)
{
	TCase *tc = tcase_create("external_queues");

	tcase_add_test(tc, test_ext_kicks_left_to_the_backend);
	tcase_add_test(tc, test_ext_fds_only_for_external_devices);
	tcase_add_test(tc, test_ext_call_relayed_as_intx);
	tcase_add_test(tc, test_ext_call_irqfd_follows_vector);
	suite_add_tcase(s, tc);
}
