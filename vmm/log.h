#pragma once
/* Leveled logging to stderr. Messages start with "ember: ". */
#include <stdarg.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set once by main() before any thread starts; read-only afterwards. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * Rate limiting for messages a guest can trigger at will: at most `burst`
 * messages, then silence (announced once at `level`). The counter lives in
 * the caller's device state.
 */
struct log_limit {
	unsigned int count;
};
int log_limit_ok(struct log_limit *lim, unsigned int burst, enum log_level level);
