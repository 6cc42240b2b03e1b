/*
 * log.h - the operator's log: one line per event, "key=value" pairs after a
 * level, written with a single write(2) (or syslog(3) call) so lines of
 * different worker threads never interleave.
 *
 * Where a line goes is log.target: standard error, or syslog(3). On
 * standard error a line starts with its time, unless standard error is the
 * journal (systemd's JOURNAL_STREAM): then it starts with its sd-daemon(3)
 * priority "<N>" and journald stamps the time. docs/operator-guide.md
 * "Logs" shows the three forms.
 *
 * Every string that came from the network goes through log_esc() first: it
 * is escaped and truncated, so a peer can neither forge a log line nor flood
 * the log. AUTH secrets are never passed to the log at all.
 */
#ifndef SUBGATE_LOG_H
#define SUBGATE_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* <syslog.h> defines LOG_ERR, LOG_INFO and LOG_DEBUG as macros: a file
 * that includes both must include <syslog.h> first and #undef them. */
enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };

/* How a line looks where it goes (log_format). */
enum log_style {
	LOG_STYLE_PLAIN,	/* "TIME level=L k=v\n": a file, a terminal */
	LOG_STYLE_JOURNAL,	/* "<N>level=L k=v\n": stderr is the journal */
	LOG_STYLE_SYSLOG	/* "level=L k=v": syslog(3) adds the rest */
};

#define LOG_LINE_MAX	4096	/* a longer line is truncated */

/* The configuration's words (log.level, log.target, log.facility), indexed
 * by enum log_level, enum log_target and facility; NULL-terminated. */
extern const char *const log_level_names[];
extern const char *const log_target_names[];
extern const char *const log_facility_names[];

void log_set_level(enum log_level lvl);
int log_enabled(enum log_level lvl);

/* log_open - lines go to target from now on: syslog(3) as ident under
 * facility (an index of log_facility_names), its socket connected now,
 * before a chroot or privilege drop could prevent it; or standard error,
 * in the journal's form when JOURNAL_STREAM names it. Call before any
 * thread but the caller logs. Without it lines go to standard error in
 * the plain form. */
void log_open(const char *ident, enum log_target target, int facility);

/* log_priority - the syslog(3) and sd-daemon(3) severity of lvl (RFC 5424:
 * 3 error, 4 warning, 6 informational, 7 debug). */
int log_priority(enum log_level lvl);

/* log_journal_stream - does env, JOURNAL_STREAM's "DEV:INODE"
 * (systemd.exec(5)), name the file dev and ino (standard error's fstat)?
 * env may be NULL. */
int log_journal_stream(const char *env, dev_t dev, ino_t ino);

/* log_format - one line of style into out (size outlen, at least 64): the
 * prefix, "level=L ", then fmt; control bytes in what fmt yields become
 * \xHH, so a line is always one line. Truncated to fit; NUL-terminated;
 * returns its length. ms is the time of a plain line. */
size_t log_format(char *out, size_t outlen, enum log_style style,
    enum log_level lvl, int64_t ms, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

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
