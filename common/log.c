/*
 * log.c - key=value event lines on standard error or syslog(3).
 */
#include <syslog.h>
/* enum log_level's names; the severities are log_priority()'s */
#undef LOG_ERR
#undef LOG_INFO
#undef LOG_DEBUG
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum log_level log_max = LOG_INFO;
static enum log_style log_style = LOG_STYLE_PLAIN;

const char *const log_level_names[] = {
	"error", "warn", "info", "debug", NULL
};
const char *const log_target_names[] = { "stderr", "syslog", NULL };
const char *const log_facility_names[] = {
	"daemon", "mail", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7", NULL
};
static const int facility_codes[] = {
	LOG_DAEMON, LOG_MAIL, LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
	LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7
};

void
log_set_level(enum log_level lvl)
{
	log_max = lvl;
}

int
log_enabled(enum log_level lvl)
{
	return lvl <= log_max;
}

int
log_priority(enum log_level lvl)
{
	static const int sev[] = { 3, 4, 6, 7 };

	return sev[lvl];
}

int
log_journal_stream(const char *env, dev_t dev, ino_t ino)
{
	unsigned long long d, i;
	char *end;

	if (env == NULL || *env < '0' || *env > '9')
		return 0;
	errno = 0;
	d = strtoull(env, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return 0;
	i = strtoull(end + 1, &end, 10);
	return errno == 0 && *end == '\0' && d == (unsigned long long)dev &&
	    i == (unsigned long long)ino;
}

void
log_open(const char *ident, enum log_target target, int facility)
{
	struct stat st;

	if (fstat(STDERR_FILENO, &st) == 0 &&
	    log_journal_stream(getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino))
		log_style = LOG_STYLE_JOURNAL;
	else
		log_style = LOG_STYLE_PLAIN;
	if (target != LOG_TO_SYSLOG)
		return;
	/* syslog(3) says nothing when no one listens: say it on stderr; it
	 * connects again at each line, so the lines flow once one does */
	if (stat(_PATH_LOG, &st) < 0)
		log_warn("event=syslog_unavailable path=%s error=\"%s\"",
		    _PATH_LOG, strerror(errno));
	openlog(ident, LOG_PID | LOG_NDELAY, facility_codes[facility]);
	log_style = LOG_STYLE_SYSLOG;
}

/* put_hex - c as the 4 octets \xHH at o. */
static void
put_hex(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	o[0] = '\\';
	o[1] = 'x';
	o[2] = hex[c >> 4];
	o[3] = hex[c & 15];
}

size_t
log_format(char *out, size_t outlen, enum log_style style, enum log_level lvl,
    int64_t ms, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], ts[40];
	size_t n, len, room = outlen - 1 - (style != LOG_STYLE_SYSLOG);
	int m;

	if (style == LOG_STYLE_PLAIN)
		n = fmt_trunc(out, outlen, "%s level=%s ",
		    fmt_time(ts, sizeof(ts), ms), log_level_names[lvl]);
	else if (style == LOG_STYLE_JOURNAL)
		n = fmt_trunc(out, outlen, "<%d>level=%s ", log_priority(lvl),
		    log_level_names[lvl]);
	else
		n = fmt_trunc(out, outlen, "level=%s ", log_level_names[lvl]);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	len = m < 0 ? 0 : MIN((size_t)m, sizeof(msg) - 1);
	n = MIN(n, room);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];
		size_t need = (c >= 0x20 && c != 0x7f) ? 1 : 4;

		if (n + need > room)
			break;
		if (need == 1)
			out[n] = (char)c;
		else
			put_hex(out + n, c);
		n += need;
	}
	if (style != LOG_STYLE_SYSLOG)
		out[n++] = '\n';
	out[n] = '\0';
	return n;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	size_t n;

	if (!log_enabled(lvl))
		return;
	va_start(ap, fmt);
	n = log_format(line, sizeof(line), log_style, lvl, now_ms(), fmt, ap);
	va_end(ap);
	if (log_style == LOG_STYLE_SYSLOG) {
		syslog(log_priority(lvl), "%s", line);
		return;
	}
	/* One write per line: lines of concurrent workers never interleave. */
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}

char *
log_esc(char *out, size_t outlen, const void *in, size_t n)
{
	const unsigned char *p = in;
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? 1 : 4;

		if (o + need + 5 > outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1)
			out[o] = (char)c;
		else
			put_hex(out + o, c);
		o += need;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
