/*
 * A fixed CPL0 loop of about 200,000 instructions, then exit 0. Timing it
 * tells whether /dev/kvm runs guest kernel code natively (a few ms) or
 * emulates it (a fraction of a second or more).
 */
#include "guest.h"

void guest_main(void)
{
	uint32_t n = 100000;

	__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
	guest_exit(0);
}

void ap_main(uint32_t id) { (void)id; }
