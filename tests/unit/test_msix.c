/*
 * devices/msix: the capability, the vector table and PBA, masking and
 * delivery, and the MSI routes pushed to the irq router. No KVM (vm_fd -1):
 * vectors still get eventfds, which a test reads to see whether one fired,
 * and the router records routes without the ioctl.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "devices/msix.h"
#include "tests/unit/fake_kvm.h"
#include "tests/unit/suites.h"

#define TABLE_OFF 0x4000
#define PBA_OFF	  0x5000
#define BIR	  2
#define CTRL_ON	  0x8000
#define CTRL_MASK 0x4000

struct mfx {
	struct irq_router r;
	struct pci_dev d;
	struct msix m;
};

static void mfx_open_on(struct mfx *f, unsigned int nr, int vm_fd)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(irq_router_init(&f->r, vm_fd), 0);
	pci_dev_header(&f->d, 0x1af4, 0x1041, 0xff0000);
	ck_assert_int_eq(msix_init(&f->m, nr, &f->r, vm_fd, &f->d, BIR, TABLE_OFF, PBA_OFF), 0);
}

static void mfx_open(struct mfx *f, unsigned int nr)
{
	mfx_open_on(f, nr, -1);
}

static void mfx_close(struct mfx *f)
{
	msix_destroy(&f->m);
	irq_router_destroy(&f->r);
}

/* The guest writes the control word, then the PCI layer calls the hook. */
static void ctrl(struct mfx *f, uint16_t v)
{
	memcpy(f->d.cfg + f->m.cap + 2, &v, 2);
	msix_config_written(&f->m, &f->d, (uint32_t)f->m.cap + 2, 2);
}

static uint64_t tbl_rd(struct mfx *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	msix_table_read(&f->m, off, &v, len);
	return v;
}

static void tbl_wr(struct mfx *f, uint64_t off, uint64_t v, uint32_t len)
{
	msix_table_write(&f->m, off, &v, len);
}

/* Program entry `v` (address, data) and set its mask bit. */
static void entry(struct mfx *f, unsigned int v, uint64_t addr, uint32_t data, bool masked)
{
	tbl_wr(f, 16ULL * v, addr, 8);
	tbl_wr(f, 16ULL * v + 8, data, 4);
	tbl_wr(f, 16ULL * v + 12, masked, 4);
}

static uint64_t pba(struct mfx *f)
{
	uint64_t v = 0;

	msix_pba_read(&f->m, 0, &v, 8);
	return v;
}

/* Times vector `v` fired since the last call. */
static uint64_t fired(struct mfx *f, unsigned int v)
{
	uint64_t n = 0;

	if (read(f->m.efd[v], &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static const struct kvm_irq_routing_msi *route(struct mfx *f, unsigned int v, bool *valid)
{
	unsigned int i = (unsigned int)f->m.gsi_base + v - IRQ_IOAPIC_PINS;

	*valid = f->r.msi_valid[i];
	return &f->r.msi[i];
}

START_TEST(test_init_capability)
{
	uint32_t table, pba_reg;
	uint16_t c;
	struct mfx f, g;

	mfx_open(&f, 4);
	ck_assert_int_eq(f.m.cap, PCI_CAP_FIRST);
	ck_assert_uint_eq(f.d.cfg[PCI_CAP_PTR], f.m.cap);
	ck_assert(f.d.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	ck_assert_uint_eq(f.d.cfg[f.m.cap], 0x11);
	memcpy(&c, f.d.cfg + f.m.cap + 2, 2);
	memcpy(&table, f.d.cfg + f.m.cap + 4, 4);
	memcpy(&pba_reg, f.d.cfg + f.m.cap + 8, 4);
	ck_assert_uint_eq(c, 3); /* table size - 1, disabled, unmasked */
	ck_assert_uint_eq(table, TABLE_OFF | BIR);
	ck_assert_uint_eq(pba_reg, PBA_OFF | BIR);
	/* Only enable and function mask are writable. */
	ck_assert_uint_eq(f.d.wmask[f.m.cap + 2], 0);
	ck_assert_uint_eq(f.d.wmask[f.m.cap + 3], 0xc0);
	for (unsigned int i = 4; i < MSIX_CAP_LEN; i++)
		ck_assert_uint_eq(f.d.wmask[f.m.cap + i], 0);
	ck_assert_int_eq(f.m.gsi_base, IRQ_IOAPIC_PINS);
	for (unsigned int v = 0; v < 4; v++) {
		ck_assert_int_ge(f.m.efd[v], 0);
		ck_assert_uint_eq(tbl_rd(&f, 16 * v + 12, 4), 1); /* masked at reset */
	}
	ck_assert_int_eq(f.m.efd[4], -1);
	ck_assert(!msix_enabled(&f.m));
	/* A second function takes the next GSIs from the same router. */
	pci_dev_header(&g.d, 0x1af4, 0x1042, 0xff0000);
	ck_assert_int_eq(msix_init(&g.m, 2, &f.r, -1, &g.d, 0, 0, 0x800), 0);
	ck_assert_int_eq(g.m.gsi_base, IRQ_IOAPIC_PINS + 4);
	msix_destroy(&g.m);
	mfx_close(&f);
}
END_TEST

START_TEST(test_init_errors)
{
	struct mfx f;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(irq_router_init(&f.r, -1), 0);
	pci_dev_header(&f.d, 0x1af4, 0x1041, 0xff0000);
	ck_assert_int_eq(msix_init(&f.m, 0, &f.r, -1, &f.d, 0, 0, 0x800), -EINVAL);
	msix_destroy(&f.m);
	ck_assert_int_eq(msix_init(&f.m, MSIX_MAX_VECTORS + 1, &f.r, -1, &f.d, 0, 0, 0x800),
			 -EINVAL);
	msix_destroy(&f.m);
	ck_assert_uint_eq(f.d.cfg[PCI_CAP_PTR], 0); /* no capability left behind */
	/* The router has no GSIs left. */
	ck_assert_int_ge(irq_router_alloc(&f.r, IRQ_MSI_MAX - 1), 0);
	ck_assert_int_eq(msix_init(&f.m, 2, &f.r, -1, &f.d, 0, 0, 0x800), -ENOSPC);
	msix_destroy(&f.m);
	ck_assert_int_eq(msix_init(&f.m, 1, &f.r, -1, &f.d, 0, 0, 0x800), 0); /* the last one */
	msix_destroy(&f.m);
	irq_router_destroy(&f.r);
}
END_TEST

START_TEST(test_table_access_widths)
{
	struct mfx f;

	mfx_open(&f, 4);
	tbl_wr(&f, 16 + 0, 0xfee01000, 4);
	tbl_wr(&f, 16 + 4, 0x1, 4);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 0, 4), 0xfee01000);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 0, 8), 0x1fee01000ULL);
	tbl_wr(&f, 32, 0x00000002fee02000ULL, 8);
	tbl_wr(&f, 40, 0x0000000100000055ULL, 8); /* data and control in one qword */
	ck_assert_uint_eq(tbl_rd(&f, 32, 4), 0xfee02000);
	ck_assert_uint_eq(tbl_rd(&f, 36, 4), 2);
	ck_assert_uint_eq(tbl_rd(&f, 40, 8), 0x0000000100000055ULL);
	/* Byte and word accesses, misaligned ones, and reads past the table: ignored / ones. */
	tbl_wr(&f, 16 + 8, 0xff, 1);
	tbl_wr(&f, 16 + 8, 0xffff, 2);
	tbl_wr(&f, 16 + 2, 0xffffffff, 4);
	tbl_wr(&f, 16 + 4, 0xffffffffffffffffULL, 8);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 0, 8), 0x1fee01000ULL);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 8, 4), 0);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 8, 2), 0xffff);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 8, 1), 0xff);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 2, 4), 0xffffffff);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 4, 8), 0xffffffffffffffffULL);
	ck_assert_uint_eq(tbl_rd(&f, 4 * 16, 4), 0xffffffff);
	ck_assert_uint_eq(tbl_rd(&f, 4 * 16 - 4, 8), 0xffffffffffffffffULL);
	tbl_wr(&f, 4 * 16, 0, 4);
	tbl_wr(&f, 0x7ff0, 0, 4);
	/* Reserved control bits read as zero. */
	tbl_wr(&f, 16 + 12, 0xfffffffe, 4);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 12, 4), 0);
	tbl_wr(&f, 16 + 12, 0xffffffff, 4);
	ck_assert_uint_eq(tbl_rd(&f, 16 + 12, 4), 1);
	mfx_close(&f);
}
END_TEST

START_TEST(test_notify_disabled_or_bad_vector)
{
	struct mfx f;

	mfx_open(&f, 4);
	entry(&f, 0, 0xfee00000, 0x30, false);
	ck_assert_int_eq(msix_notify(&f.m, 0), -ENODEV);
	ck_assert_int_eq(msix_notify(&f.m, 0xffff), -ENODEV); /* off: the caller uses INTx */
	ck_assert_uint_eq(fired(&f, 0), 0);
	ck_assert_uint_eq(pba(&f), 0);
	ctrl(&f, CTRL_ON);
	ck_assert(msix_enabled(&f.m));
	ck_assert_int_eq(msix_notify(&f.m, 4), -EINVAL);
	ck_assert_int_eq(msix_notify(&f.m, 0xffff), -EINVAL);
	ck_assert_int_eq(msix_notify(&f.m, UINT32_MAX), -EINVAL);
	ck_assert_uint_eq(pba(&f), 0);
	ck_assert_int_eq(msix_notify(&f.m, 0), 0);
	ck_assert_uint_eq(fired(&f, 0), 1);
	mfx_close(&f);
}
END_TEST

START_TEST(test_masked_vector_pends_then_fires)
{
	uint32_t half = 0;
	struct mfx f;

	mfx_open(&f, 4);
	entry(&f, 1, 0xfee00000, 0x31, true);
	ctrl(&f, CTRL_ON);
	ck_assert_int_eq(msix_notify(&f.m, 1), 0);
	ck_assert_int_eq(msix_notify(&f.m, 1), 0); /* still one pending bit */
	ck_assert_uint_eq(pba(&f), 1U << 1);
	msix_pba_read(&f.m, 0, &half, 4);
	ck_assert_uint_eq(half, 1U << 1);
	ck_assert_uint_eq(fired(&f, 1), 0);
	/* Unmasking delivers it once and clears the bit. */
	tbl_wr(&f, 16 + 12, 0, 4);
	ck_assert_uint_eq(fired(&f, 1), 1);
	ck_assert_uint_eq(pba(&f), 0);
	ck_assert_int_eq(msix_notify(&f.m, 1), 0);
	ck_assert_uint_eq(fired(&f, 1), 1);
	ck_assert_uint_eq(fired(&f, 0), 0);
	mfx_close(&f);
}
END_TEST

START_TEST(test_pba_high_vectors)
{
	uint32_t hi = 0;
	uint16_t w = 0xffff;
	struct mfx f;

	mfx_open(&f, MSIX_MAX_VECTORS);
	ctrl(&f, CTRL_ON);
	ck_assert_int_eq(msix_notify(&f.m, 63), 0);
	ck_assert_int_eq(msix_notify(&f.m, 32), 0);
	ck_assert_uint_eq(pba(&f), 1ULL << 63 | 1ULL << 32);
	msix_pba_read(&f.m, 4, &hi, 4);
	ck_assert_uint_eq(hi, 0x80000001);
	msix_pba_read(&f.m, 0, &w, 2); /* other widths read zero */
	ck_assert_uint_eq(w, 0);
	hi = 0xffffffff;
	msix_pba_read(&f.m, 8, &hi, 4); /* past the PBA */
	ck_assert_uint_eq(hi, 0);
	mfx_close(&f);
}
END_TEST

START_TEST(test_function_mask)
{
	struct mfx f;

	mfx_open(&f, 4);
	entry(&f, 2, 0xfee00000, 0x32, false);
	ctrl(&f, CTRL_ON | CTRL_MASK);
	ck_assert_int_eq(msix_notify(&f.m, 2), 0);
	ck_assert_uint_eq(fired(&f, 2), 0);
	ck_assert_uint_eq(pba(&f), 1U << 2);
	ctrl(&f, CTRL_ON);
	ck_assert_uint_eq(fired(&f, 2), 1);
	ck_assert_uint_eq(pba(&f), 0);
	mfx_close(&f);
}
END_TEST

START_TEST(test_pending_survives_disable)
{
	struct mfx f;

	mfx_open(&f, 4);
	entry(&f, 3, 0xfee00000, 0x33, true);
	ctrl(&f, CTRL_ON);
	ck_assert_int_eq(msix_notify(&f.m, 3), 0);
	ctrl(&f, 0);
	tbl_wr(&f, 3 * 16 + 12, 0, 4); /* unmasked while off: nothing is delivered yet */
	ck_assert_uint_eq(fired(&f, 3), 0);
	ck_assert_uint_eq(pba(&f), 1U << 3);
	ctrl(&f, CTRL_ON);
	ck_assert_uint_eq(fired(&f, 3), 1);
	ck_assert_uint_eq(pba(&f), 0);
	mfx_close(&f);
}
END_TEST

START_TEST(test_routes_follow_the_table)
{
	const struct kvm_irq_routing_msi *r;
	bool valid;
	struct mfx f;

	mfx_open(&f, 4);
	entry(&f, 0, 0x1fee00000ULL, 0x40, false);
	entry(&f, 1, 0xfee01000, 0x41, true);
	r = route(&f, 0, &valid);
	ck_assert(!valid); /* MSI-X is still off */
	ctrl(&f, CTRL_ON);
	route(&f, 0, &valid);
	ck_assert(!valid); /* routed when it fires */
	ck_assert_int_eq(msix_notify(&f.m, 0), 0);
	ck_assert_uint_eq(fired(&f, 0), 1);
	r = route(&f, 0, &valid);
	ck_assert(valid);
	ck_assert_uint_eq(r->address_lo, 0xfee00000);
	ck_assert_uint_eq(r->address_hi, 1);
	ck_assert_uint_eq(r->data, 0x40);
	route(&f, 1, &valid);
	ck_assert(!valid); /* masked */
	/* An unmasked entry that changes is re-routed when it next fires. */
	tbl_wr(&f, 8, 0x50, 4);
	r = route(&f, 0, &valid);
	ck_assert_uint_eq(r->data, 0x40);
	ck_assert_int_eq(msix_notify(&f.m, 0), 0);
	ck_assert_uint_eq(route(&f, 0, &valid)->data, 0x50);
	ck_assert_uint_eq(fired(&f, 0), 1);
	/* Unmasking does not route either; firing does. */
	tbl_wr(&f, 16 + 12, 0, 4);
	route(&f, 1, &valid);
	ck_assert(!valid);
	ck_assert_int_eq(msix_notify(&f.m, 1), 0);
	ck_assert_uint_eq(fired(&f, 1), 1);
	r = route(&f, 1, &valid);
	ck_assert(valid);
	ck_assert_uint_eq(r->address_lo, 0xfee01000);
	ck_assert_uint_eq(r->address_hi, 0);
	ck_assert_uint_eq(r->data, 0x41);
	/* Firing routes first too (the route matches the table when the eventfd is written). */
	tbl_wr(&f, 16 + 12, 1, 4);
	tbl_wr(&f, 16 + 8, 0x61, 4);
	ck_assert_uint_eq(route(&f, 1, &valid)->data, 0x41); /* masked: not pushed */
	tbl_wr(&f, 16 + 12, 0, 4);
	ck_assert_uint_eq(route(&f, 1, &valid)->data, 0x41); /* unmasked: pushed as it fires */
	ck_assert_int_eq(msix_notify(&f.m, 1), 0);
	ck_assert_uint_eq(route(&f, 1, &valid)->data, 0x61);
	ck_assert_uint_eq(fired(&f, 1), 1);
	mfx_close(&f);
}
END_TEST

/*
 * KVM_SET_GSI_ROUTING replaces the whole table (and waits for KVM's readers):
 * a guest rewriting an unmasked entry in a loop must not cost one per write.
 * The route follows the entry when the vector fires.
 */
START_TEST(test_table_writes_do_not_push_routes_each)
{
	unsigned int before;
	struct mfx f;
	int vm_fd = fake_kvm_open();

	mfx_open_on(&f, 4, vm_fd);
	entry(&f, 0, 0xfee00000, 0x40, false);
	ctrl(&f, CTRL_ON);
	before = fake_kvm_routing_pushes();
	ck_assert_uint_le(before, 1);
	for (uint32_t i = 0; i < 1000; i++)
		tbl_wr(&f, 8, 0x41 + (i & 1), 4); /* unmasked, a new message every time */
	ck_assert_msg(fake_kvm_routing_pushes() - before <= 1,
		      "%u routing table pushes for 1000 table writes",
		      fake_kvm_routing_pushes() - before);
	ck_assert_int_eq(msix_notify(&f.m, 0), 0);
	ck_assert_uint_eq(route(&f, 0, &(bool){ false })->data, 0x42);
	ck_assert_uint_le(fake_kvm_routing_pushes() - before, 2);
	ck_assert_uint_eq(fired(&f, 0), 1);
	mfx_close(&f);
	fake_kvm_close(vm_fd);
}
END_TEST

START_TEST(test_config_written_only_for_control)
{
	uint16_t on = CTRL_ON;
	struct mfx f;

	mfx_open(&f, 4);
	memcpy(f.d.cfg + f.m.cap + 2, &on, 2);
	msix_config_written(&f.m, &f.d, (uint32_t)f.m.cap + 4, 4); /* table offset */
	msix_config_written(&f.m, &f.d, (uint32_t)f.m.cap, 2);	   /* ID and next */
	msix_config_written(&f.m, &f.d, (uint32_t)f.m.cap - 4, 4);
	msix_config_written(&f.m, &f.d, PCI_COMMAND, 2);
	ck_assert(!msix_enabled(&f.m));
	msix_config_written(&f.m, &f.d, (uint32_t)f.m.cap + 3, 1); /* the high byte */
	ck_assert(msix_enabled(&f.m));
	on = 0;
	memcpy(f.d.cfg + f.m.cap + 2, &on, 2);
	msix_config_written(&f.m, &f.d, (uint32_t)f.m.cap, 4); /* a dword covering it */
	ck_assert(!msix_enabled(&f.m));
	mfx_close(&f);
}
END_TEST

/* Through the PCI bus: the write mask keeps the table size, the hook follows the bits. */
static void hook_written(void *ctx, uint32_t reg, uint32_t len)
{
	struct mfx *f = ctx;

	msix_config_written(&f->m, &f->d, reg, len);
}

static const struct pci_dev_ops hook_ops = { .config_written = hook_written };

START_TEST(test_control_through_config_space)
{
	uint32_t a, v = 0xffffffff;
	struct pci p;
	struct mfx f;

	mfx_open(&f, 4);
	f.d.ops = &hook_ops;
	f.d.ctx = &f;
	ck_assert_int_eq(pci_init(&p), 0);
	ck_assert_int_eq(pci_add(&p, 5, &f.d), 0);
	a = 0x80000000U | 5 << 11 | (uint32_t)f.m.cap;
	pci_config_ops.write(&p, 0, &a, 4);
	pci_config_ops.write(&p, 4, &v, 4); /* every bit of ID, next and control */
	v = 0;
	pci_config_ops.read(&p, 4, &v, 4);
	ck_assert_uint_eq(v, (uint32_t)(CTRL_ON | CTRL_MASK | 3) << 16 | 0x11);
	ck_assert(msix_enabled(&f.m));
	ck_assert(f.m.func_masked);
	v = (uint32_t)CTRL_ON << 16;
	pci_config_ops.write(&p, 4, &v, 4);
	ck_assert(!f.m.func_masked);
	pci_destroy(&p);
	mfx_close(&f);
}
END_TEST

Suite *msix_suite(void)
{
	Suite *s = suite_create("msix");
	TCase *tc = tcase_create("msix");

	tcase_add_test(tc, test_init_capability);
	tcase_add_test(tc, test_init_errors);
	tcase_add_test(tc, test_table_access_widths);
	tcase_add_test(tc, test_notify_disabled_or_bad_vector);
	tcase_add_test(tc, test_masked_vector_pends_then_fires);
	tcase_add_test(tc, test_pba_high_vectors);
	tcase_add_test(tc, test_function_mask);
	tcase_add_test(tc, test_pending_survives_disable);
	tcase_add_test(tc, test_routes_follow_the_table);
	tcase_add_test(tc, test_table_writes_do_not_push_routes_each);
	tcase_add_test(tc, test_config_written_only_for_control);
	tcase_add_test(tc, test_control_through_config_space);
	suite_add_tcase(s, tc);
	return s;
}
