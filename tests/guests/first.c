/* Benchmark guest: its first instruction writes a byte to COM1, then it exits. */
#include "guest.h"

void guest_main(void)
{
	outb(COM1, '!');
	guest_exit(0);
}

void ap_main(uint32_t id) { (void)id; }
