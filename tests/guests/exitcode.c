/* Exit-port contract: writing 7 makes Ember exit with status 64 + 7. */
#include "guest.h"

void guest_main(void)
{
	guest_exit(7);
}

void ap_main(uint32_t id) { (void)id; }
