/*
 * Crashes on purpose. The IDT is still the one from reset (base 0), whose
 * entries in zeroed RAM are not present: int3 raises #NP, then #DF, then
 * the CPU shuts down (triple fault).
 */
#include "guest.h"

void guest_main(void)
{
	puts_serial("about to triple fault\n");
	__asm__ volatile("int3");
	guest_exit(1); /* not reached */
}

void ap_main(uint32_t id) { (void)id; }
