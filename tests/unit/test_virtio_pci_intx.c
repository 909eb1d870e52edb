/*
 * INTx shared by several PCI functions. With more than 8 functions the
 * interrupt lines (16 + slot % 8) are shared, as a level-triggered PCI line
 * may be: the I/O APIC pin must then be high while any function on it
 * asserts its interrupt. The levels KVM is given are watched through a fake
 * VM fd (fake_kvm.h); MSI-X is left off, as with the guest's pci=nomsi.
 */
#include <pthread.h>

#include "tests/unit/fake_kvm.h"
#include "tests/unit/test_virtio_pci.h"

#define SHARED_GSI 17 /* slots 1 and 9: the first disk and the ninth function */

/* The device raises its configuration interrupt (MSI-X off: ISR bit 2 and INTx). */
static void raise_intx(struct pfx *p)
{
	pthread_mutex_lock(&p->d.vdev.lock);
	p->d.vdev.transport->notify_config(&p->d.vdev);
	pthread_mutex_unlock(&p->d.vdev.lock);
}

struct shared {
	int vm_fd;
	struct irq_router router;
	struct pfx a, b;
};

static void shared_open(struct shared *s)
{
	s->vm_fd = fake_kvm_open();
	ck_assert_int_ge(s->vm_fd, 0);
	ck_assert_int_eq(irq_router_init(&s->router, s->vm_fd), 0);
	pfx_open_on(&s->a, s->vm_fd, &s->router, SHARED_GSI);
	pfx_open_on(&s->b, s->vm_fd, &s->router, SHARED_GSI);
}

static void shared_close(struct shared *s)
{
	pfx_close(&s->a);
	pfx_close(&s->b);
	irq_router_destroy(&s->router);
	fake_kvm_close(s->vm_fd);
}

/* One function acknowledging its interrupt must not hide the other's. */
START_TEST(test_intx_shared_line_is_or_of_functions)
{
	struct shared s;

	shared_open(&s);
	raise_intx(&s.a);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), 1);
	raise_intx(&s.b);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), 1);
	ck_assert_uint_eq(pfx_rd(&s.a, ISR, 1), 2); /* A's handler: A lowers its level */
	ck_assert_msg(fake_kvm_level(SHARED_GSI) == 1,
		      "the line went low while B still asserts it: B's interrupt is lost");
	ck_assert_uint_eq(pfx_rd(&s.b, ISR, 1), 2);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), 0);
	/* B alone, then A alone. */
	raise_intx(&s.b);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), 1);
	ck_assert_uint_eq(pfx_rd(&s.a, ISR, 1), 0); /* A has nothing: the line stays */
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), 1);
	ck_assert_uint_eq(pfx_rd(&s.b, ISR, 1), 2);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), 0);
	shared_close(&s);
}
END_TEST

/* A reset of one function drops its level only. */
START_TEST(test_intx_reset_of_one_function_keeps_the_other)
{
	struct shared s;

	shared_open(&s);
	raise_intx(&s.a);
	raise_intx(&s.b);
	pfx_set_status(&s.a, 0);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), 1);
	pfx_set_status(&s.b, 0);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), 0);
	shared_close(&s);
}
END_TEST

/* Functions on other lines do not touch this one; a line is driven only when the OR changes. */
START_TEST(test_intx_lines_are_separate)
{
	struct shared s;
	struct pfx c;

	shared_open(&s);
	pfx_open_on(&c, s.vm_fd, &s.router, SHARED_GSI + 1);
	raise_intx(&c);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI + 1), 1);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), -1);
	raise_intx(&s.a);
	raise_intx(&s.b);
	raise_intx(&s.a);
	ck_assert_uint_eq(fake_kvm_line_calls(SHARED_GSI), 1);
	ck_assert_uint_eq(pfx_rd(&c, ISR, 1), 2);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI + 1), 0);
	ck_assert_int_eq(fake_kvm_level(SHARED_GSI), 1);
	pfx_close(&c);
	shared_close(&s);
}
END_TEST

void virtio_pci_intx_tcases(Suite *s)
{
	TCase *tc = tcase_create("shared INTx");

	tcase_add_test(tc, test_intx_shared_line_is_or_of_functions);
	tcase_add_test(tc, test_intx_reset_of_one_function_keeps_the_other);
	tcase_add_test(tc, test_intx_lines_are_separate);
	suite_add_tcase(s, tc);
}
