#include "vmm/log.h"

#include <stdio.h>

/*
 * The one piece of mutable file-scope state: the verbosity, written once by
 * main() before threads start. Passing it to every function that may log
 * would clutter every signature for no safety gain.
 */
static enum log_level max_level = LOG_WARN;

void log_set_level(enum log_level level)
{
	max_level = level;
}

enum log_level log_get_level(void)
{
	return max_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	char buf[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One fprintf call so that lines from different threads do not interleave. */
	fprintf(stderr, "ember: %s%s\n", prefix[level], buf);
}

int log_limit_ok(struct log_limit *lim, unsigned int burst, enum log_level level)
{
	unsigned int n;

	if (level > max_level)
		return 0; /* not printed anyway: do not even count */
	n = __atomic_fetch_add(&lim->count, 1, __ATOMIC_RELAXED);
	if (n < burst)
		return 1;
	if (n == burst)
		log_msg(level, "further messages of this kind suppressed");
	return 0;
}
