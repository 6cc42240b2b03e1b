/*
 * log.h - the operator's log: one line per event, "key=value" pairs after a
 * timestamp and level, written to stderr (journald picks it up) with a single
 * write(2) so lines of different worker threads never interleave.
 *
 * Every string that came from the network goes through log_esc() first: it
 * is escaped and truncated, so a peer can neither forge a log line nor flood
 * the log. AUTH secrets are never passed to the log at all.
 */
#ifndef SUBGATE_LOG_H
#define SUBGATE_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
/* log_level_parse - "error", "warn", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *s);
int log_enabled(enum log_level lvl);

/* log_msg - one event line; fmt yields the key=value pairs. */
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                 \
	do {                                           \
		if (log_enabled(LOG_DEBUG))            \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

/* log_esc - quote and escape n bytes of untrusted input into out (size
 * outlen, at least 8) as a double-quoted string: printable ASCII except '"'
 * and '\' is kept, everything else becomes \xHH; truncated with "..." at
 * outlen. Returns out. */
char *log_esc(char *out, size_t outlen, const void *in, size_t n);

#endif
