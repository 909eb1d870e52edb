/*
 * What one queue notification costs the guest, through each of the two
 * notification structures Ember lists: ports in I/O BAR 2 (an OUT) and
 * the region in BAR 0 (a memory write). The vCPU stops at every kick until
 * KVM has matched it to the queue's ioeventfd, so the TSC cycles between
 * two kicks are the round trip of one such exit.
 *
 * The disk is probed but never brought up: KVM signals the ioeventfd all
 * the same, and Ember's I/O thread drains it and ignores it until
 * DRIVER_OK. Prints "kick port CYCLES" and "kick memory CYCLES" (the
 * median of ROUNDS rounds of KICKS kicks each, per kick) and "tsc-khz N"
 * (from CPUID leaf 0x15 when it is there, else 0), then exits with 0.
 * tests/bench/bench.sh runs it on this machine's /dev/kvm and
 * tests/linux/bench-io.sh in the nested test host.
 */
#include "guest.h"
#include "virtio.h"

#define VIRTIO_ID_BLOCK 2
#define KICKS 200
#define ROUNDS 9

static void sort(uint32_t *v, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j && v[j - 1] > v[j]; j--) {
			uint32_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/* Median over ROUNDS of the cycles per kick; `port` 0: through memory. */
static uint32_t per_kick(const struct virtio_pci *d, uint16_t port)
{
	uint32_t r[ROUNDS];

	for (unsigned int k = 0; k < ROUNDS; k++) {
		uint64_t t0 = rdtsc();

		for (unsigned int i = 0; i < KICKS; i++) {
			if (port)
				outw(port, 0);
			else
				mmio_write16(d->notify, 0);
		}
		r[k] = (uint32_t)(rdtsc() - t0) / KICKS; /* 32 bits: no 64-bit division here */
	}
	sort(r, ROUNDS);
	return r[ROUNDS / 2];
}

void guest_main(void)
{
	struct virtio_pci d;
	uint32_t id[4];
	int slot = pci_find(0, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_BLOCK));

	if (slot < 0)
		fail(1, 0);
	if (virtio_pci_probe(&d, (unsigned int)slot))
		fail(2, (uint32_t)slot);
	if (!d.notify_port || !d.notify)
		fail(3, d.notify_port);
	(void)per_kick(&d, d.notify_port); /* warm up both paths */
	(void)per_kick(&d, 0);
	puts_serial("kick port ");
	put_dec(per_kick(&d, d.notify_port));
	puts_serial("\nkick memory ");
	put_dec(per_kick(&d, 0));
	cpuid(0, 0, id);
	puts_serial("\ntsc-khz ");
	if (id[0] >= 0x15) {
		cpuid(0x15, 0, id); /* TSC = crystal (ecx Hz) * ebx / eax */
		put_dec(id[0] && id[2] ? id[2] / 1000 * id[1] / id[0] : 0);
	} else {
		put_dec(0);
	}
	putc_serial('\n');
	guest_exit(0);
}

void ap_main(uint32_t id)
{
	(void)id;
}
