/*
 * Prints numbered lines on COM1 for ever: a guest whose output outruns any
 * reader. tests/guests/extra-checks.sh runs it with stdout closed early (|
 * head) or never read (a FIFO), and checks that Ember keeps running and
 * still stops on SIGTERM.
 */
#include "guest.h"

void guest_main(void)
{
	for (uint32_t i = 0;; i++) {
		puts_serial("chatter ");
		put_dec(i);
		putc_serial('\n');
	}
}

void ap_main(uint32_t id) { (void)id; }
