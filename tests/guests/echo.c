/*
 * Serial receive path: echo every byte that arrives on COM1 until 'q'.
 * Polls the line status register, so it also checks that Ember feeds input
 * in order and without loss when the 16-byte FIFO fills up.
 */
#include "guest.h"

void guest_main(void)
{
	for (;;) {
		uint8_t c;

		while (!(inb(COM1 + 5) & 0x01)) /* wait for data ready */
			__asm__ volatile("pause");
		c = inb(COM1);
		if (c == 'q')
			break;
		putc_serial((char)c);
	}
	guest_exit(0);
}

void ap_main(uint32_t id) { (void)id; }
