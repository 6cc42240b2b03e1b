/*
 * util.h - allocation that never returns NULL, and small helpers shared by
 * every module. Allocation failure is fatal: a gateway that cannot allocate
 * a few hundred bytes cannot serve anybody.
 */
#ifndef SUBGATE_UTIL_H
#define SUBGATE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* sys/param.h (pulled in by uv.h) defines the same two. */
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* now_ms - wall clock, milliseconds since the epoch. */
int64_t now_ms(void);

/* fmt_time - RFC 3339 UTC time with milliseconds and zone ("...Z") into buf
 * (at least 32 bytes); returns buf. */
char *fmt_time(char *buf, size_t len, int64_t ms);

/* fmt_trunc - snprintf that returns the length it left in buf: never more
 * than len - 1 (0 when len is 0 or on an encoding error), where snprintf
 * returns the length it would have written. Use it wherever the result is
 * a length to send or copy. */
size_t fmt_trunc(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* utc_seconds - y-mo-d h:mi:s UTC (proleptic Gregorian, fields not
 * checked) as seconds since the epoch: timegm(3). */
int64_t utc_seconds(int y, int mo, int d, int h, int mi, int s);

/* hex_value - the value of one hex digit (either case), or -1. */
int hex_value(int c);

/* b64_decode - RFC 4648 4 base64 (n octets at src) into dst, which has
 * room for n * 3 / 4 octets; decoding stops at the first '='. Strict
 * (SASL, RFC 4954 4): any other octet, and anything but '=' after it, is an
 * error. With skip_space (MIME bodies, RFC 2045 6.8): white space is
 * skipped and what follows the padding is ignored. Returns the decoded
 * length, or -1 if src is not base64. */
long b64_decode(const char *src, size_t n, unsigned char *dst, int skip_space);

#endif
