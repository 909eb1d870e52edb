/* PSCI SYSTEM_RESET: Ember ends with status 0, "guest rebooted" (with -v). */
#include "guest.h"

void guest_main(void)
{
	int32_t r;

	puts_serial("resetting\n");
	r = psci_call32(PSCI_SYSTEM_RESET, 0, 0, 0);
	fail(1, (uint64_t)(int64_t)r); /* it returned */
}
