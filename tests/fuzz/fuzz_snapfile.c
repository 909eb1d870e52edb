/*
 * Fuzz target: the snapshot state file (vmm/snapfile.c) and the device
 * state a snapshot carries (serial_load, pci_dev_load, msix_load,
 * virtio_dev_load), without KVM.
 *
 * The file is parsed from a heap buffer of exactly its length. A file that
 * parses must be the one the writer makes of its sections (the format has
 * one encoding: the sections written again give the same bytes); every
 * section must lie in the buffer, be found by snapfile_find() and copied
 * by snapfile_get() (whose size must match exactly). Then the first
 * sections are loaded into fresh devices by type: KVMSTATE_PLATFORM as a
 * serial port's state, KVMSTATE_PCI as a function's configuration space,
 * KVMSTATE_VIRTIO as a virtio-pci function's (its configuration space,
 * MSI-X table and device), each image zero-filled or cut to its struct.
 * Checked after a load: a serial FIFO index and count in range; identity
 * registers of the function unchanged; MSI-X control words with no
 * reserved bit and no pending bit past the vector count; a virtio device
 * that refused left reset, one that accepted offering only its features
 * with rings in RAM, and saved again to what it took.
 *
 * Input: u8 mode, then
 *   mode even: the state file itself
 *   mode odd:  sections for the writer (u8 type, u8 index, u16 length,
 *              bytes) until the input ends, so that every checksum holds;
 *              with mode & 2 the built file then gets one byte flipped
 *              (u16 position and u8 mask from the input's last 3 bytes)
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "devices/msix.h"
#include "devices/pci.h"
#include "devices/serial.h"
#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "tests/fuzz/ram.h"
#include "virtio/pci.h"
#include "virtio/virtio.h"
#include "vmm/kvmstate.h"
#include "vmm/snapfile.h"

#define LOW_RAM (64 << 10)
#define HIGH_RAM (16 << 10)
#define LOADS_MAX 6 /* sections loaded into devices per input */
#define DEV_QUEUES 3
#define DEV_QSIZE 256
#define DEV_FEATURES (VIRTIO_BIT(0) | VIRTIO_BIT(5))

/* The one piece of file-scope state: guest RAM, made once (as fuzz_blk's). */
static struct ram *fz_ram;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_ram = calloc(1, sizeof(*fz_ram));
	if (!fz_ram || ram_init(fz_ram, LOW_RAM, HIGH_RAM))
		abort();
	return 0;
}

/* ---- the container ---- */

static void check_parsed(const struct snapfile *f, const uint8_t *buf, size_t len)
{
	struct snapfile_writer w;

	expect(f->n <= SNAPFILE_MAX_SECTIONS);
	snapfile_writer_init(&w);
	for (unsigned int i = 0; i < f->n; i++) {
		const struct snapfile_section *s = &f->sec[i];
		uint8_t *copy;

		expect(s->type >= 1 && s->type <= KVMSTATE_MAX);
		expect(s->data >= buf && s->len <= len && s->data + s->len <= buf + len);
		expect(snapfile_find(f, s->type, s->index) == s);
		copy = malloc(s->len + 1);
		if (!copy)
			abort();
		expect(snapfile_get(f, s->type, s->index, copy, s->len) == 0);
		expect(!memcmp(copy, s->data, s->len));
		expect(snapfile_get(f, s->type, s->index, copy, s->len + 1) == -EBADMSG);
		if (s->len)
			expect(snapfile_get(f, s->type, s->index, copy, s->len - 1) == -EBADMSG);
		free(copy);
		snapfile_add(&w, s->type, s->index, s->data, s->len);
	}
	expect(snapfile_finish(&w) == 0);
	expect(w.len == len && !memcmp(w.buf, buf, len)); /* one encoding */
	snapfile_writer_free(&w);
}

/* ---- device state ---- */

/* `dst` (`size` bytes): the section's bytes, cut or zero-filled to fit. */
static void image(void *dst, size_t size, const struct snapfile_section *s)
{
	size_t n = s->len < size ? (size_t)s->len : size;

	memset(dst, 0, size);
	memcpy(dst, s->data, n);
}

static void load_serial(const struct snapfile_section *s)
{
	struct irq_line nowhere = { .vm_fd = -1, .gsi = 4 };
	struct serial a, b;
	struct serial_state st, out, again;

	image(&st, sizeof(st), s);
	if (serial_init(&a, nowhere, -1, -1))
		abort();
	if (serial_load(&a, &st) == 0) {
		serial_save(&a, &out);
		expect(out.rx_head < SERIAL_FIFO && out.rx_count <= SERIAL_FIFO);
		expect(out.thr_ipending <= 1);
		/* What was taken is taken again the same. */
		if (serial_init(&b, nowhere, -1, -1))
			abort();
		expect(serial_load(&b, &out) == 0);
		serial_save(&b, &again);
		expect(!memcmp(&out, &again, sizeof(out)));
		serial_destroy(&b);
		/* The guest drains the FIFO and reads every register. */
		for (uint64_t off = 0; off < 8 + SERIAL_FIFO; off++) {
			uint8_t v;

			serial_ops.read(&a, off < 8 ? off : 0, &v, 1);
		}
	}
	serial_destroy(&a);
}

static void bar_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	(void)ctx, (void)off;
	memset(data, 0, len);
}

static void bar_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	(void)ctx, (void)off, (void)data, (void)len;
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

static void load_cfg(struct pci *p, struct pci_dev *d, const uint8_t cfg[PCI_CFG_SIZE])
{
	uint8_t before[PCI_CFG_SIZE];

	memcpy(before, d->cfg, sizeof(before));
	pci_dev_load(p, d, cfg);
	expect(!memcmp(d->cfg, before, 4));	   /* vendor, device */
	expect(!memcmp(d->cfg + 8, before + 8, 8)); /* revision, class, header type */
	for (unsigned int i = PCI_BAR0 + 4 * PCI_BARS; i < PCI_CFG_SIZE; i++)
		expect(!((d->cfg[i] ^ before[i]) & ~d->wmask[i]));
}

static void load_msix(struct msix *m, struct pci_dev *d, const struct msix_state *st)
{
	int err = msix_load(m, d, st);

	expect(err == 0 || (err == -EINVAL && st->nr != m->nr));
	for (unsigned int v = 0; v < m->nr; v++)
		expect(!(m->table[v].ctrl & ~1U));
	expect(m->nr == 64 || !(m->pending >> m->nr));
}

/* A device with DEV_QUEUES queues over the fuzz RAM; no transport. */
static void load_virtio(const struct virtio_dev_state *st, unsigned int nr_vectors)
{
	static const struct virtio_dev_ops ops = { 0 };
	struct virtio_dev *v = calloc(1, sizeof(*v));
	struct virtio_dev_state *out = malloc(sizeof(*out));
	int err;

	if (!v || !out ||
	    virtio_dev_init(v, "fuzz", 2, &ops, NULL, &fz_ram->m, DEV_FEATURES, 0, DEV_QUEUES,
			    DEV_QSIZE))
		abort();
	err = virtio_dev_load(v, st, nr_vectors);
	if (err) {
		expect(err == -EINVAL);
		expect(v->status == 0 && v->driver_features == 0);
		for (unsigned int q = 0; q < DEV_QUEUES; q++)
			expect(!v->qcfg[q].enabled && !v->vq[q].ready);
	} else {
		expect(!(v->driver_features & ~v->host_features));
		for (unsigned int q = 0; q < DEV_QUEUES; q++) {
			const struct vq *vq = &v->vq[q];

			expect(v->qcfg[q].size <= DEV_QSIZE);
			if (!vq->ready)
				continue;
			expect(gm_ptr(&fz_ram->m, vq->desc_gpa, 16ULL * vq->size) ==
			       (void *)vq->desc);
		}
		virtio_dev_save(v, out);
		expect(out->driver_features == st->driver_features && out->status == st->status);
		for (unsigned int q = 0; q < DEV_QUEUES; q++)
			expect(!st->q[q].enabled ||
			       (out->q[q].last_avail == st->q[q].last_avail &&
				out->q[q].used_idx == st->q[q].used_idx));
	}
	virtio_dev_destroy(v);
	free(v);
	free(out);
}

/* A function with memory BARs 0 (32-bit) and 2 (64-bit), an I/O BAR 4, MSI-X of `nr` vectors. */
static void load_function(const struct snapfile_section *s, bool virtio)
{
	struct virtio_pci_state *st = malloc(sizeof(*st));
	struct pci_dev *d = calloc(1, sizeof(*d));
	struct irq_router r;
	struct msix *m = calloc(1, sizeof(*m));
	struct pci p;
	unsigned int nr;

	if (!st || !d || !m || pci_init(&p) || irq_router_init(&r, -1))
		abort();
	if (virtio)
		image(st, sizeof(*st), s);
	else
		image(st->cfg, sizeof(st->cfg), s);
	pci_dev_header(d, 0x1af4, 0x1042, 0x010000);
	if (pci_dev_add_bar(d, 0, 0x1000, false, &bar_ops, NULL) ||
	    pci_dev_add_bar(d, 2, 0x100000, true, &bar_ops, NULL) ||
	    pci_dev_add_io_bar(d, 4, 64, &bar_ops, NULL))
		abort();
	/* The vector count the image names when it is one a function may have (else 4). */
	nr = virtio && st->msix.nr >= 1 && st->msix.nr <= MSIX_MAX_VECTORS ? st->msix.nr : 4;
	if (msix_init(m, nr, &r, -1, d, 2, 0x4000, 0x5000) || pci_add(&p, 3, d))
		abort();
	load_cfg(&p, d, st->cfg);
	if (virtio) {
		load_msix(m, d, &st->msix);
		load_virtio(&st->dev, nr);
	}
	msix_destroy(m);
	irq_router_destroy(&r);
	pci_destroy(&p);
	free(m);
	free(d);
	free(st);
}

static void load_sections(const struct snapfile *f)
{
	for (unsigned int i = 0, loads = 0; i < f->n && loads < LOADS_MAX; i++) {
		const struct snapfile_section *s = &f->sec[i];

		switch (s->type) {
		case KVMSTATE_PLATFORM: /* struct platform_state starts with the serial port's */
			load_serial(s);
			break;
		case KVMSTATE_PCI:
			load_function(s, false);
			break;
		case KVMSTATE_VIRTIO:
			load_function(s, true);
			break;
		default:
			continue;
		}
		loads++;
	}
}

/* ---- the input ---- */

static void build(struct input *in, struct snapfile_writer *w)
{
	uint8_t *bytes = malloc(UINT16_MAX);

	if (!bytes)
		abort();
	snapfile_writer_init(w);
	while (!input_empty(in)) {
		uint8_t type = input_u8(in), index = input_u8(in);
		uint16_t len = input_u16(in);

		len = (uint16_t)input_bytes(in, bytes, len);
		snapfile_add(w, type, index, bytes, len);
	}
	free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = input_init(data, size);
	uint8_t mode = input_u8(&in);
	struct snapfile *f = malloc(sizeof(*f));
	struct snapfile_writer w = { 0 };
	char why[SNAPFILE_WHY_MAX];
	uint8_t *buf;
	size_t len;

	if (!f)
		abort();
	if (mode & 1) {
		build(&in, &w);
		if (snapfile_finish(&w)) {
			snapfile_writer_free(&w);
			free(f);
			return 0;
		}
		len = w.len;
		if ((mode & 2) && size >= 3) {
			size_t pos = (data[size - 3] | (size_t)data[size - 2] << 8) % len;

			w.buf[pos] ^= data[size - 1] ? data[size - 1] : 1;
		}
	} else {
		len = in.left;
	}
	buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	memcpy(buf, mode & 1 ? w.buf : in.p, len);
	snapfile_writer_free(&w);
	if (snapfile_parse(f, buf, len, KVMSTATE_MAX, why) == 0) {
		expect(!why[0]);
		check_parsed(f, buf, len);
		load_sections(f);
	} else {
		expect(why[0] && memchr(why, '\0', SNAPFILE_WHY_MAX));
		expect(f->n == 0);
	}
	free(buf);
	free(f);
	return 0;
}
