/* Exit-port contract: a byte of 5 at 0x0901_0000 makes Ember exit with status 64 + 5. */
#include "guest.h"

void guest_main(void)
{
	guest_exit(5);
}
