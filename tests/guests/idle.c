/*
 * Halts for ever with interrupts off: a VM that exists and costs nothing.
 * The nested test host keeps one running while its scenarios run (see
 * tests/linux/host/init).
 */
#include "guest.h"

void guest_main(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void ap_main(uint32_t id) { (void)id; }
