/*
 * Accesses nothing claims must not stop the VM: reads of an address no
 * device decodes (between the exit port and the redistributors, beyond
 * RAM, in the PCI memory window where no BAR is, in the I/O window below
 * its first port) read all ones, as on x86, and writes there vanish. Also:
 * the exit port reads 0, the PL011 answers with its PrimeCell id, ECAM
 * finds the host bridge in slot 0 and all ones in an empty slot.
 * Each failed check exits with its own code; "unmapped accesses ok", then
 * SYSTEM_OFF. Run it with --memory 64M (RAM ends at 0x4400_0000).
 */
#include "guest.h"

#define PCI_ECAM 0x3f000000ul

static const uint64_t holes[] = {
	0x09050000ul, /* between the exit port and the redistributors */
	0x50000000ul, /* past the end of a 64 MiB RAM */
	0x30000000ul, /* PCI memory window, no BAR there */
	0x3eff0800ul, /* PCI I/O window, port 0x800: below the ports Ember serves */
};

void guest_main(void)
{
	uint32_t v;

	for (unsigned int i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		mmio_write32(holes[i], 0x12345678);
		mmio_write8(holes[i] + 1, 0x55);
		if ((v = mmio_read32(holes[i])) != 0xffffffffu) {
			puts_serial("read of ");
			put_hex(holes[i]);
			puts_serial(" gave ");
			put_hex(v);
			putc_serial('\n');
			fail((uint8_t)(1 + i), v);
		}
		if ((v = mmio_read8(holes[i] + 3)) != 0xff)
			fail((uint8_t)(11 + i), v);
	}
	if ((v = mmio_read8(EXIT_PORT)) != 0)
		fail(20, v);
	/* PrimeCell id 0xb105f00d in the low bytes of 0xff0-0xffc */
	v = 0;
	for (unsigned int i = 0; i < 4; i++)
		v |= (mmio_read32(UART_BASE + 0xff0 + 4 * i) & 0xff) << (8 * i);
	if (v != 0xb105f00du)
		fail(21, v);
	if ((v = mmio_read32(PCI_ECAM)) != 0x0d578086u)
		fail(22, v);
	if ((v = mmio_read32(PCI_ECAM + 8) >> 8) != 0x060000u) /* host bridge class */
		fail(23, v);
	if ((v = mmio_read32(PCI_ECAM + (31ul << 15))) != 0xffffffffu)
		fail(24, v);
	puts_serial("unmapped accesses ok\n");
	system_off();
}
