/*
 * Each device's snapshot state as hostile input: serial_load, msix_load,
 * pci_dev_load and virtio_dev_load refuse what is out of range, take only
 * what a guest could have written, and a save loaded into a fresh device
 * saves again the same. No KVM (vm_fd -1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/msix.h"
#include "devices/pci.h"
#include "devices/serial.h"
#include "tests/unit/suites.h"
#include "tests/unit/test_virtio_pci.h"
#include "virtio/virtio.h"
#include "vmm/gm.h"

/* ---- serial ---- */

static void uart_open(struct serial *s)
{
	struct irq_line nowhere = { .vm_fd = -1, .gsi = 4 };

	ck_assert_int_eq(serial_init(s, nowhere, -1, -1), 0);
}

static void uart_wr(struct serial *s, uint64_t off, uint8_t v)
{
	serial_ops.write(s, off, &v, 1);
}

static uint8_t uart_rd(struct serial *s, uint64_t off)
{
	uint8_t v = 0;

	serial_ops.read(s, off, &v, 1);
	return v;
}

START_TEST(test_serial_load_rejects_out_of_range)
{
	static const struct {
		uint8_t head, count, thr;
	} bad[] = {
		{ SERIAL_FIFO, 0, 0 }, { 255, 1, 0 },	{ 0, SERIAL_FIFO + 1, 0 },
		{ 0, 255, 0 },	       { 0, 0, 2 },	{ 0, 0, 255 },
	};
	struct serial s;
	struct serial_state before, st, after;

	uart_open(&s);
	uart_wr(&s, 7, 0x42); /* scratch */
	serial_save(&s, &before);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = before;
		st.scr = 0x99;
		st.rx_head = bad[i].head;
		st.rx_count = bad[i].count;
		st.thr_ipending = bad[i].thr;
		ck_assert_int_eq(serial_load(&s, &st), -EINVAL);
		serial_save(&s, &after);
		ck_assert_mem_eq(&after, &before, sizeof(before)); /* nothing taken */
	}
	serial_destroy(&s);
}
END_TEST

START_TEST(test_serial_round_trip)
{
	struct serial a, b;
	struct serial_state sa, sb;

	uart_open(&a);
	uart_wr(&a, 3, 0x80); /* DLAB: divisor */
	uart_wr(&a, 0, 0x0c);
	uart_wr(&a, 1, 0x00);
	uart_wr(&a, 3, 0x03); /* 8N1 */
	uart_wr(&a, 2, 0x07); /* FIFO on */
	uart_wr(&a, 4, 0x0b);
	uart_wr(&a, 7, 0x5a);
	uart_wr(&a, 1, 0x01); /* receive interrupts */
	ck_assert_uint_eq(serial_rx(&a, (const uint8_t *)"abc", 3), 3);
	ck_assert_uint_eq(uart_rd(&a, 0), 'a');
	serial_save(&a, &sa);
	uart_open(&b);
	ck_assert_int_eq(serial_load(&b, &sa), 0);
	serial_save(&b, &sb);
	ck_assert_mem_eq(&sa, &sb, sizeof(sa));
	ck_assert_uint_eq(uart_rd(&b, 7), 0x5a);
	ck_assert_uint_eq(uart_rd(&b, 0), 'b');
	ck_assert_uint_eq(uart_rd(&b, 0), 'c');
	serial_destroy(&a);
	serial_destroy(&b);
}
END_TEST

/* A full FIFO whose head is its last slot: the bytes come out in ring order, none from beyond. */
START_TEST(test_serial_load_wrapped_fifo)
{
	struct serial s;
	struct serial_state st;

	uart_open(&s);
	serial_save(&s, &st);
	for (unsigned int i = 0; i < SERIAL_FIFO; i++)
		st.rx[i] = (uint8_t)(0x30 + i);
	st.rx_head = SERIAL_FIFO - 1;
	st.rx_count = SERIAL_FIFO;
	ck_assert_int_eq(serial_load(&s, &st), 0);
	ck_assert_uint_eq(uart_rd(&s, 0), 0x30 + SERIAL_FIFO - 1);
	for (unsigned int i = 0; i < SERIAL_FIFO - 1; i++)
		ck_assert_uint_eq(uart_rd(&s, 0), 0x30 + i);
	ck_assert_uint_eq(uart_rd(&s, 5) & 0x01, 0); /* now empty */
	serial_destroy(&s);
}
END_TEST

/* Register bits the device never keeps are dropped (a stored DR would claim data forever). */
START_TEST(test_serial_load_masks_registers)
{
	struct serial s;
	struct serial_state st, out;

	uart_open(&s);
	serial_save(&s, &st);
	st.ier = st.mcr = st.fcr = st.lsr = 0xff;
	ck_assert_int_eq(serial_load(&s, &st), 0);
	serial_save(&s, &out);
	ck_assert_uint_eq(out.ier, 0x0f);
	ck_assert_uint_eq(out.mcr, 0x1f);
	ck_assert_uint_eq(out.fcr & ~0xc1, 0);
	ck_assert_uint_eq(out.lsr, 0x1e); /* the error bits */
	ck_assert_uint_eq(uart_rd(&s, 5) & 0x01, 0); /* no data: the FIFO is empty */
	serial_destroy(&s);
}
END_TEST

/* ---- MSI-X ---- */

struct mfx {
	struct irq_router r;
	struct pci_dev d;
	struct msix m;
};

static void mfx_open(struct mfx *f, unsigned int nr)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(irq_router_init(&f->r, -1), 0);
	pci_dev_header(&f->d, 0x1af4, 0x1041, 0xff0000);
	ck_assert_int_eq(msix_init(&f->m, nr, &f->r, -1, &f->d, 2, 0x4000, 0x5000), 0);
}

static void mfx_close(struct mfx *f)
{
	msix_destroy(&f->m);
	irq_router_destroy(&f->r);
}

static uint32_t tbl32(struct mfx *f, uint64_t off)
{
	uint32_t v = 0;

	msix_table_read(&f->m, off, &v, 4);
	return v;
}

START_TEST(test_msix_load_rejects_other_vector_count)
{
	static const uint32_t nrs[] = { 0, 3, 5, MSIX_MAX_VECTORS, UINT32_MAX };
	struct mfx f;
	struct msix_state *st = calloc(1, sizeof(*st));

	ck_assert_ptr_nonnull(st);
	mfx_open(&f, 4);
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		memset(st, 0xab, sizeof(*st));
		st->nr = nrs[i];
		ck_assert_int_eq(msix_load(&f.m, &f.d, st), -EINVAL);
		ck_assert_uint_eq(tbl32(&f, 12), 1); /* still masked, as at init */
		ck_assert_uint_eq(f.m.pending, 0);
	}
	mfx_close(&f);
	free(st);
}
END_TEST

START_TEST(test_msix_load_clears_reserved_bits_and_masks_pending)
{
	struct mfx f;
	struct msix_state *st = calloc(1, sizeof(*st));
	uint64_t pba = 0;

	ck_assert_ptr_nonnull(st);
	mfx_open(&f, 4);
	st->nr = 4;
	st->pending = ~0ULL;
	for (unsigned int v = 0; v < MSIX_MAX_VECTORS; v++)
		st->table[v] = (struct msix_entry){ .addr_lo = 0xfee00000 + v, .addr_hi = v,
						    .data = 0x40 + v,
						    .ctrl = v % 2 ? 0xffffffffU : 0xfffffffeU };
	ck_assert_int_eq(msix_load(&f.m, &f.d, st), 0);
	for (unsigned int v = 0; v < 4; v++) {
		ck_assert_uint_eq(tbl32(&f, 16ULL * v), 0xfee00000 + v);
		ck_assert_uint_eq(tbl32(&f, 16ULL * v + 8), 0x40 + v);
		ck_assert_uint_eq(tbl32(&f, 16ULL * v + 12), v % 2); /* the mask bit only */
	}
	ck_assert_uint_eq(f.m.pending, 0xf);
	msix_pba_read(&f.m, 0, &pba, 8);
	ck_assert_uint_eq(pba, 0xf);
	mfx_close(&f);
	/* All 64 vectors: every pending bit is a vector's. */
	mfx_open(&f, MSIX_MAX_VECTORS);
	st->nr = MSIX_MAX_VECTORS;
	ck_assert_int_eq(msix_load(&f.m, &f.d, st), 0);
	ck_assert_uint_eq(f.m.pending, ~0ULL);
	mfx_close(&f);
	free(st);
}
END_TEST

START_TEST(test_msix_round_trip)
{
	struct mfx a, b;
	struct msix_state *sa = calloc(1, sizeof(*sa)), *sb = calloc(1, sizeof(*sb));
	uint32_t data = 0x4455, ctrl = 0;

	ck_assert_ptr_nonnull(sa);
	ck_assert_ptr_nonnull(sb);
	mfx_open(&a, 8);
	msix_table_write(&a.m, 16 * 3 + 8, &data, 4);
	msix_table_write(&a.m, 16 * 3 + 12, &ctrl, 4);
	a.m.pending = 0x81;
	msix_save(&a.m, sa);
	mfx_open(&b, 8);
	ck_assert_int_eq(msix_load(&b.m, &b.d, sa), 0);
	msix_save(&b.m, sb);
	ck_assert_mem_eq(sa, sb, sizeof(*sa));
	mfx_close(&a);
	mfx_close(&b);
	free(sa);
	free(sb);
}
END_TEST

/* ---- PCI configuration space ---- */

static void bar_nop_rw(void *ctx, uint64_t off, void *data, uint32_t len)
{
	(void)ctx, (void)off, (void)data, (void)len;
}

static void bar_nop_wr(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	(void)ctx, (void)off, (void)data, (void)len;
}

static const struct bus_ops nop_ops = { .read = bar_nop_rw, .write = bar_nop_wr };

/* A function with a 32-bit memory BAR 0, a 64-bit BAR 2 and an I/O BAR 4. */
static void func_open(struct pci_dev *d)
{
	uint8_t body[6] = { 1, 2, 3, 4, 5, 6 };

	pci_dev_header(d, 0x1af4, 0x1042, 0x010000);
	ck_assert_int_eq(pci_dev_add_bar(d, 0, 0x1000, false, &nop_ops, NULL), 0);
	ck_assert_int_eq(pci_dev_add_bar(d, 2, 1 << 20, true, &nop_ops, NULL), 0);
	ck_assert_int_eq(pci_dev_add_io_bar(d, 4, 32, &nop_ops, NULL), 0);
	ck_assert_int_ge(pci_dev_add_cap(d, 0x09, body, sizeof(body) + 2), 0);
	pci_dev_set_intx(d, 10);
}

static void cfg_write32(struct pci *p, unsigned int slot, uint32_t reg, uint32_t v)
{
	uint32_t addr = 0x80000000U | slot << 11 | reg;

	pci_config_ops.write(p, 0, &addr, 4);
	pci_config_ops.write(p, 4, &v, 4);
}

/*
 * A hostile image (all ones, then a pattern) loaded into one function, the
 * same bytes written by a guest dword by dword into its twin: the same
 * configuration space, the identity untouched.
 */
START_TEST(test_pci_load_is_a_guest_write)
{
	struct pci p;
	struct pci_dev *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	uint8_t img[PCI_CFG_SIZE], orig[PCI_CFG_SIZE];

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(pci_init(&p), 0);
		func_open(a);
		func_open(b);
		ck_assert_int_eq(pci_add(&p, 3, a), 0);
		ck_assert_int_eq(pci_add(&p, 4, b), 0);
		memcpy(orig, b->cfg, sizeof(orig));
		for (unsigned int i = 0; i < PCI_CFG_SIZE; i++)
			img[i] = round ? (uint8_t)(i * 37 + 11) : 0xff;
		for (uint32_t reg = 0; reg < PCI_CFG_SIZE; reg += 4) {
			uint32_t v;

			memcpy(&v, img + reg, 4);
			cfg_write32(&p, 3, reg, v);
		}
		pci_dev_load(&p, b, img);
		ck_assert_mem_eq(a->cfg, b->cfg, PCI_CFG_SIZE);
		ck_assert_mem_eq(b->cfg, orig, 4); /* vendor and device */
		ck_assert_mem_eq(b->cfg + 8, orig + 8, 4); /* revision and class */
		for (unsigned int i = 0; i < PCI_CFG_SIZE; i++) {
			if (i >= PCI_BAR0 && i < PCI_BAR0 + 4 * PCI_BARS)
				continue;
			ck_assert_msg(!((b->cfg[i] ^ orig[i]) & ~b->wmask[i]),
				      "byte %u changed outside its write mask", i);
		}
		if (round == 0) { /* all ones: the sizing pattern of each BAR */
			ck_assert_uint_eq(pci_dev_bar_addr(b, 0), 0xfffff000);
			ck_assert_uint_eq(pci_dev_bar_addr(b, 2), 0xfffffffffff00000ULL);
			ck_assert_uint_eq(b->cfg[PCI_BAR0 + 16] & 3, 1); /* still I/O */
		}
		pci_destroy(&p);
	}
	free(a);
	free(b);
}
END_TEST

START_TEST(test_pci_round_trip)
{
	struct pci p;
	struct pci_dev *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	uint8_t img[PCI_CFG_SIZE], again[PCI_CFG_SIZE];

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(pci_init(&p), 0);
	func_open(a);
	func_open(b);
	ck_assert_int_eq(pci_add(&p, 3, a), 0);
	ck_assert_int_eq(pci_add(&p, 4, b), 0);
	cfg_write32(&p, 3, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO | 4);
	cfg_write32(&p, 3, PCI_BAR0, 0xe0001000);
	cfg_write32(&p, 3, PCI_BAR0 + 8, 0x00200000);
	cfg_write32(&p, 3, PCI_BAR0 + 12, 0x1);
	pci_dev_save(&p, a, img);
	pci_dev_load(&p, b, img);
	pci_dev_save(&p, b, again);
	ck_assert_mem_eq(img, again, PCI_CFG_SIZE);
	ck_assert_uint_eq(pci_dev_bar_addr(b, 2), 0x100200000ULL);
	pci_destroy(&p);
	free(a);
	free(b);
}
END_TEST

/* ---- virtio device ---- */

#define VRAM (1ULL << 20)
#define VQUEUES 2
#define VQSIZE 64
#define VFEAT VIRTIO_BIT(5)
#define VVECTORS 3

struct vfx {
	struct gm m;
	struct virtio_dev v;
	unsigned int activated, held[VQUEUES], held_calls;
};

static void vfx_activate(struct virtio_dev *v)
{
	((struct vfx *)v->priv)->activated++;
}

static unsigned int vfx_held(struct virtio_dev *v, unsigned int q)
{
	struct vfx *f = v->priv;

	f->held_calls++;
	return f->held[q];
}

static const struct virtio_dev_ops vfx_ops = { .activate = vfx_activate, .held = vfx_held };

static void vfx_open(struct vfx *f)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(gm_init(&f->m, VRAM, VRAM), 0);
	ck_assert_int_eq(virtio_dev_init(&f->v, "t", 5, &vfx_ops, f, &f->m, VFEAT, 0, VQUEUES, VQSIZE),
			 0);
}

static void vfx_close(struct vfx *f)
{
	virtio_dev_destroy(&f->v);
	gm_destroy(&f->m);
}

/* A driver's state: features, DRIVER_OK, queue 0 of 16 enabled at 0x1000, queue 1 off. */
static void valid_state(struct virtio_dev_state *st)
{
	memset(st, 0, sizeof(*st));
	st->driver_features = VIRTIO_FEAT_VERSION_1 | VIRTIO_FEAT_EVENT_IDX | VFEAT;
	st->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		     VIRTIO_STATUS_DRIVER_OK;
	st->config_generation = 3;
	st->config_msix_vector = 0;
	st->num_queues = VQUEUES;
	st->q[0] = (struct virtio_queue_state){ .size = 16, .msix_vector = 1, .enabled = 1,
						.last_avail = 5, .used_idx = 3, .desc = 0x1000,
						.avail = 0x2000, .used = 0x3000 };
	st->q[1] = (struct virtio_queue_state){ .size = VQSIZE, .msix_vector = VIRTIO_MSI_NO_VECTOR };
}

static void expect_reset(struct vfx *f)
{
	ck_assert_uint_eq(f->v.status, 0);
	ck_assert_uint_eq(f->v.driver_features, 0);
	ck_assert_uint_eq(f->v.config_msix_vector, VIRTIO_MSI_NO_VECTOR);
	for (unsigned int q = 0; q < VQUEUES; q++) {
		ck_assert(!f->v.qcfg[q].enabled);
		ck_assert(!f->v.vq[q].ready);
		ck_assert_uint_eq(f->v.qcfg[q].size, VQSIZE);
	}
	ck_assert_uint_eq(f->activated, 0);
}

START_TEST(test_virtio_round_trip)
{
	struct vfx a, b;
	struct virtio_dev_state st, sa, sb;

	vfx_open(&a);
	valid_state(&st);
	ck_assert_int_eq(virtio_dev_load(&a.v, &st, VVECTORS), 0);
	ck_assert_uint_eq(a.activated, 1);
	ck_assert(a.v.vq[0].ready);
	ck_assert(!a.v.vq[1].ready);
	ck_assert_uint_eq(a.v.vq[0].last_avail, 5);
	ck_assert_uint_eq(a.v.vq[0].used_idx, 3);
	ck_assert(a.v.vq[0].event_idx);
	ck_assert(!a.v.vq[0].indirect);
	virtio_dev_save(&a.v, &sa);
	ck_assert_mem_eq(&sa, &st, sizeof(st));
	vfx_open(&b);
	ck_assert_int_eq(virtio_dev_load(&b.v, &sa, VVECTORS), 0);
	virtio_dev_save(&b.v, &sb);
	ck_assert_mem_eq(&sa, &sb, sizeof(sa));
	vfx_close(&a);
	vfx_close(&b);
}
END_TEST

START_TEST(test_virtio_no_driver_ok_no_activate)
{
	struct vfx f;
	struct virtio_dev_state st;

	vfx_open(&f);
	valid_state(&st);
	st.status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	ck_assert_int_eq(virtio_dev_load(&f.v, &st, VVECTORS), 0);
	ck_assert_uint_eq(f.activated, 0);
	ck_assert_uint_eq(f.v.status, st.status);
	vfx_close(&f);
}
END_TEST

/* Chains the device holds are given back: last_avail moves back over them (mod 2^16). */
START_TEST(test_virtio_save_gives_back_held)
{
	struct vfx f;
	struct virtio_dev_state st, out;

	vfx_open(&f);
	valid_state(&st);
	ck_assert_int_eq(virtio_dev_load(&f.v, &st, VVECTORS), 0);
	f.held[0] = 2;
	f.held[1] = 7; /* queue 1 is not ready: not asked */
	virtio_dev_save(&f.v, &out);
	ck_assert_uint_eq(out.q[0].last_avail, 3);
	ck_assert_uint_eq(out.q[1].last_avail, 0);
	ck_assert_uint_eq(f.held_calls, 1);
	ck_assert_uint_eq(f.v.vq[0].last_avail, 5); /* the device itself is left alone */
	f.v.vq[0].last_avail = 1;
	virtio_dev_save(&f.v, &out);
	ck_assert_uint_eq(out.q[0].last_avail, 0xffff);
	vfx_close(&f);
}
END_TEST

/* Each hostile change to the valid state, by number. */
static void spoil(struct virtio_dev_state *st, int i)
{
	switch (i) {
	case 0: st->driver_features |= VIRTIO_BIT(40); break; /* not offered */
	case 1: st->driver_features |= VIRTIO_BIT(6); break;
	case 2: st->num_queues = VQUEUES + 1; break;
	case 3: st->num_queues = 0; break;
	case 4: st->num_queues = UINT32_MAX; break;
	case 5: st->q[1].size = VQSIZE * 2; break; /* disabled queue too */
	case 6: st->q[0].size = VQSIZE * 2; break;
	case 7: st->q[1] = st->q[0], st->q[1].desc = VRAM - 16; break; /* table past RAM */
	case 8: st->q[1] = st->q[0], st->q[1].used = VRAM; break;
	case 9: st->q[1] = st->q[0], st->q[1].avail = UINT64_MAX - 1; break;
	case 10: st->q[1] = st->q[0], st->q[1].desc = 0xfffffffffffff000ULL; break;
	case 11: st->q[1].msix_vector = VVECTORS; break;
	case 12: st->q[1].msix_vector = 0xfffe; break;
	case 13: st->config_msix_vector = VVECTORS; break;
	case 14: st->q[1] = st->q[0], st->q[1].enabled = 2; break;
	case 15: st->q[1] = st->q[0], st->q[1].size = 24; break; /* not a power of two */
	case 16: st->q[1] = st->q[0], st->q[1].size = 0; break;
	case 17: st->status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK; break; /* DRIVER_OK without it */
	case 18: st->driver_features &= ~VIRTIO_FEAT_VERSION_1; break; /* FEATURES_OK without it */
	default: st->q[1] = st->q[0], st->q[1].desc = 0x1008; break; /* misaligned */
	}
}

#define SPOILS 20

START_TEST(test_virtio_load_refuses_and_resets)
{
	struct vfx f;
	struct virtio_dev_state st;

	vfx_open(&f);
	valid_state(&st);
	spoil(&st, _i);
	ck_assert_int_eq(virtio_dev_load(&f.v, &st, VVECTORS), -EINVAL);
	expect_reset(&f);
	vfx_close(&f);
}
END_TEST

/* ---- a whole virtio-pci function (the transport's fixture: fake device, no KVM) ---- */

/* A driver that negotiated, set up queue 0 and said DRIVER_OK. */
static void pfx_running(struct pfx *p)
{
	ck_assert(pfx_negotiate(p, VIRTIO_FEAT_VERSION_1 | VIRTIO_BIT(0)) &
		  VIRTIO_STATUS_FEATURES_OK);
	pfx_queue_ok(p, 0, 16);
	pfx_queue_enable(p);
	pfx_set_status(p, pfx_status(p) | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(p->d.activated, 1);
}

START_TEST(test_virtio_pci_round_trip)
{
	struct pfx *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct virtio_pci_state *sa = malloc(sizeof(*sa)), *sb = malloc(sizeof(*sb));
	struct pci p;

	ck_assert(a && b && sa && sb);
	ck_assert_int_eq(pci_init(&p), 0);
	pfx_open(a);
	pfx_running(a);
	virtio_pci_save(&a->vp, &p, sa);
	pfx_open(b);
	ck_assert_int_eq(virtio_pci_load(&b->vp, &p, sa), 0);
	ck_assert_uint_eq(b->d.activated, 1);
	ck_assert_uint_eq(pfx_status(b), pfx_status(a));
	virtio_pci_save(&b->vp, &p, sb);
	ck_assert_mem_eq(sa, sb, sizeof(*sa));
	pfx_close(a);
	pfx_close(b);
	pci_destroy(&p);
	free(a);
	free(b);
	free(sa);
	free(sb);
}
END_TEST

START_TEST(test_virtio_pci_load_refuses)
{
	struct pfx *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct virtio_pci_state *good = malloc(sizeof(*good)), *st = malloc(sizeof(*st));
	struct pci p;

	ck_assert(a && b && good && st);
	ck_assert_int_eq(pci_init(&p), 0);
	pfx_open(a);
	pfx_running(a);
	virtio_pci_save(&a->vp, &p, good);
	for (int i = 0; i < 5; i++) {
		memcpy(st, good, sizeof(*st));
		switch (i) {
		case 0: st->intx_level = 2; break;
		case 1: st->isr = 4; break;
		case 2: st->msix.nr++; break;
		case 3: st->dev.num_queues++; break;
		default: st->dev.q[0].desc = PFX_RAM - 16; break;
		}
		pfx_open(b);
		ck_assert_int_eq(virtio_pci_load(&b->vp, &p, st), -EINVAL);
		ck_assert_uint_eq(b->d.activated, 0);
		ck_assert_uint_eq(pfx_status(b), 0);
		pfx_close(b);
	}
	pfx_close(a);
	pci_destroy(&p);
	free(a);
	free(b);
	free(good);
	free(st);
}
END_TEST

Suite *snapstate_suite(void)
{
	Suite *s = suite_create("snapstate");
	TCase *serial_tc = tcase_create("serial");
	TCase *msix_tc = tcase_create("msix");
	TCase *pci_tc = tcase_create("pci");
	TCase *virtio_tc = tcase_create("virtio");

	tcase_add_test(serial_tc, test_serial_load_rejects_out_of_range);
	tcase_add_test(serial_tc, test_serial_round_trip);
	tcase_add_test(serial_tc, test_serial_load_wrapped_fifo);
	tcase_add_test(serial_tc, test_serial_load_masks_registers);
	suite_add_tcase(s, serial_tc);
	tcase_add_test(msix_tc, test_msix_load_rejects_other_vector_count);
	tcase_add_test(msix_tc, test_msix_load_clears_reserved_bits_and_masks_pending);
	tcase_add_test(msix_tc, test_msix_round_trip);
	suite_add_tcase(s, msix_tc);
	tcase_add_test(pci_tc, test_pci_load_is_a_guest_write);
	tcase_add_test(pci_tc, test_pci_round_trip);
	suite_add_tcase(s, pci_tc);
	tcase_add_test(virtio_tc, test_virtio_round_trip);
	tcase_add_test(virtio_tc, test_virtio_no_driver_ok_no_activate);
	tcase_add_test(virtio_tc, test_virtio_save_gives_back_held);
	tcase_add_loop_test(virtio_tc, test_virtio_load_refuses_and_resets, 0, SPOILS);
	tcase_add_test(virtio_tc, test_virtio_pci_round_trip);
	tcase_add_test(virtio_tc, test_virtio_pci_load_refuses);
	suite_add_tcase(s, virtio_tc);
	return s;
}
