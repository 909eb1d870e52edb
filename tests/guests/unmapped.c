/*
 * Accesses nothing claims must not stop the VM: unmapped ports and MMIO
 * read as all ones and swallow writes. Also probes the PCI host bridge and
 * an empty slot through 0xcf8/0xcfc. Each failed check exits with its own code.
 */
#include "guest.h"

#define UNMAPPED_PORT 0x1234
#define UNMAPPED_MMIO 0xd0000000u /* inside the PCI hole, no BAR there */
#define PCI_ADDR(slot, reg) (0x80000000u | ((slot) << 11) | (reg))

void guest_main(void)
{
	uint32_t v;

	outb(UNMAPPED_PORT, 0x55);
	outl(UNMAPPED_PORT, 0x12345678);
	if ((v = inb(UNMAPPED_PORT)) != 0xff)
		fail(1, v);
	if ((v = inw(UNMAPPED_PORT)) != 0xffff)
		fail(2, v);
	if ((v = inl(UNMAPPED_PORT)) != 0xffffffff)
		fail(3, v);
	mmio_write32(UNMAPPED_MMIO, 0xdeadbeef);
	if ((v = mmio_read32(UNMAPPED_MMIO)) != 0xffffffff)
		fail(4, v);
	/* Configuration mechanism #1: the latch reads back, the host bridge answers. */
	outl(0xcf8, PCI_ADDR(0, 0));
	if ((v = inl(0xcf8)) != PCI_ADDR(0, 0))
		fail(5, v);
	if ((v = inl(0xcfc)) != 0x0d578086)
		fail(6, v);
	outl(0xcf8, PCI_ADDR(0, 8));
	if ((v = inl(0xcfc) >> 8) != 0x060000)
		fail(7, v);
	outl(0xcf8, PCI_ADDR(5, 0));
	if ((v = inl(0xcfc)) != 0xffffffff)
		fail(8, v);
	puts_serial("unmapped accesses ok\n");
	guest_exit(0);
}

void ap_main(uint32_t id) { (void)id; }
