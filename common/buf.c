/*
 * buf.c - growable buffers and arrays (see buf.h).
 */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secbuf.h"
#include "util.h"

#define BUF_MIN	128

/* grown - the capacity, doubling from min, that holds need; fatal if it
 * cannot be represented. */
static size_t
grown(size_t cap, size_t need, size_t min)
{
	size_t n = cap > 0 ? cap : min;

	while (n < need) {
		if (n > SIZE_MAX / 2) {
			fprintf(stderr, "subgate: buffer size overflow\n");
			abort();
		}
		n *= 2;
	}
	return n;
}

char *
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	char *np;

	if (n > SIZE_MAX - b->len - 1) {
		fprintf(stderr, "subgate: buffer size overflow\n");
		abort();
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		ncap = grown(b->cap, need, BUF_MIN);
		if (b->secret) {
			np = xmalloc(ncap);
			if (b->len > 0)
				memcpy(np, b->p, b->len);
			sb_wipe(b->p, b->cap);
			free(b->p);
			b->p = np;
		} else
			b->p = xrealloc(b->p, ncap);
		b->cap = ncap;
	}
	return b->p + b->len;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(buf_reserve(b, n), p, n);
	b->len += n;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	/* print into the room there is; if it did not fit, make room for
	 * what it said it needs and print again */
	for (int pass = 0; pass < 2; pass++) {
		room = b->cap > b->len ? b->cap - b->len : 0;
		va_start(ap, fmt);
		n = vsnprintf(room > 0 ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return n;
		}
		buf_reserve(b, (size_t)n);
	}
	return -1;	/* not reached: the second pass has the room */
}

void
buf_drop(struct buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	if (n == 0)
		return;
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	if (b->secret)
		sb_wipe(b->p + b->len, n);
}

void
buf_free(struct buf *b)
{
	if (b->secret)
		sb_wipe(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void *
xgrow(void *v, size_t *cap, size_t need, size_t size, size_t min_cap)
{
	size_t n;

	if (need <= *cap)
		return v;
	n = grown(*cap, need, min_cap > 0 ? min_cap : 1);
	if (size > 0 && n > SIZE_MAX / size) {
		fprintf(stderr, "subgate: array size overflow\n");
		abort();
	}
	v = xrealloc(v, n * size);
	*cap = n;
	return v;
}
