/* The smallest guest: one line on COM1, then a clean exit. */
#include "guest.h"

void guest_main(void)
{
	puts_serial("Hello from an Ember micro-guest\n");
	guest_exit(0);
}

void ap_main(uint32_t id) { (void)id; }
