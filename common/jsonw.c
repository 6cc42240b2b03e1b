/*
 * jsonw.c - the streaming JSON writer (see jsonw.h). The escaper copies
 * valid UTF-8 as it is in one pass; on the first invalid sequence it
 * rewinds to the start of the string and writes it again in the '?' form.
 */
#include "jsonw.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void
jw_init(struct jw *w, char *buf, size_t cap)
{
	w->p = buf;
	w->cap = buf != NULL ? cap : 0;
	w->len = 0;
	w->owned = 0;
}

void
jw_free(struct jw *w)
{
	if (w->owned)
		free(w->p);
	w->p = NULL;
	w->len = w->cap = 0;
	w->owned = 0;
}

char *
jw_reserve(struct jw *w, size_t n)
{
	if (w->cap - w->len < n) {
		size_t cap = w->cap > 0 ? w->cap : 256;

		while (cap - w->len < n)
			cap *= 2;
		if (w->owned)
			w->p = xrealloc(w->p, cap);
		else {
			char *p = xmalloc(cap);

			if (w->len > 0)
				memcpy(p, w->p, w->len);
			w->p = p;
			w->owned = 1;
		}
		w->cap = cap;
	}
	return w->p + w->len;
}

/* sep - the comma before a key or a value, unless it opens its container,
 * follows its key or starts a line. */
static inline void
sep(struct jw *w)
{
	char c;

	if (w->len == 0)
		return;
	c = w->p[w->len - 1];
	if (c != '{' && c != '[' && c != ':' && c != '\n') {
		jw_reserve(w, 1);
		w->p[w->len++] = ',';
	}
}

static inline void
put1(struct jw *w, char c)
{
	jw_reserve(w, 1);
	w->p[w->len++] = c;
}

void
jw_obj_open(struct jw *w)
{
	sep(w);
	put1(w, '{');
}

void
jw_obj_close(struct jw *w)
{
	put1(w, '}');
}

void
jw_arr_open(struct jw *w)
{
	sep(w);
	put1(w, '[');
}

void
jw_arr_close(struct jw *w)
{
	put1(w, ']');
}

void
jw_nl(struct jw *w)
{
	put1(w, '\n');
}

/* utf8_len - length of the valid UTF-8 sequence at s (at most n bytes,
 * s[0] >= 0x80), or 0. The checks of jansson's utf8.c. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t k;
	unsigned long v;

	if (c >= 0xc2 && c <= 0xdf) {
		k = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4;
		v = c & 0x07;
	} else
		return 0;	/* continuation byte, C0/C1 (overlong), F5-FF */
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
	    (k == 3 && v < 0x800) || (k == 4 && v < 0x10000))
		return 0;
	return k;
}

int
jw_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t k;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_len(u + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* esc[c] for c < 0x80: 0 copy, else the letter of a short escape, or 'u'. */
static const char esc[128] = {
	['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
	[0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u',
	[0x05] = 'u', [0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u',
	[0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u', [0x13] = 'u',
	[0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u', [0x18] = 'u',
	[0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u',
	[0x1e] = 'u', [0x1f] = 'u', ['"'] = '"', ['\\'] = '\\',
};

void
jw_escape(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t start = w->len;
	int replace = 0;
	char *o;

again:
	/* worst case: every byte a \u00XX */
	o = jw_reserve(w, 6 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned c = u[i];

		if (c < 0x80) {
			char e = esc[c];

			if (e == 0)
				*o++ = (char)c;
			else if (e != 'u') {
				*o++ = '\\';
				*o++ = e;
			} else {
				memcpy(o, "\\u00", 4);
				o[4] = hex[c >> 4];
				o[5] = hex[c & 15];
				o += 6;
			}
		} else if (replace)
			*o++ = '?';
		else {
			size_t k = utf8_len(u + i, n - i);

			if (k == 0) {
				replace = 1;
				w->len = start;
				goto again;
			}
			memcpy(o, u + i, k);
			o += k;
			i += k - 1;
		}
	}
	w->len = (size_t)(o - w->p);
}

void
jw_strn(struct jw *w, const char *s, size_t n)
{
	sep(w);
	put1(w, '"');
	jw_escape(w, s, n);
	put1(w, '"');
}

void
jw_str(struct jw *w, const char *s)
{
	if (s == NULL)
		s = "";
	jw_strn(w, s, strlen(s));
}

void
jw_key(struct jw *w, const char *k)
{
	jw_strn(w, k, strlen(k));
	put1(w, ':');
}

void
jw_int(struct jw *w, long long v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *b = e;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
	    : (unsigned long long)v;

	do {
		*--b = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--b = '-';
	jw_raw(w, b, (size_t)(e - b));
}

void
jw_bool(struct jw *w, int v)
{
	if (v)
		jw_raw(w, "true", 4);
	else
		jw_raw(w, "false", 5);
}

void
jw_raw(struct jw *w, const char *s, size_t n)
{
	sep(w);
	memcpy(jw_reserve(w, n), s, n);
	w->len += n;
}

void
jw_kstr(struct jw *w, const char *k, const char *s)
{
	jw_key(w, k);
	jw_str(w, s);
}

void
jw_kint(struct jw *w, const char *k, long long v)
{
	jw_key(w, k);
	jw_int(w, v);
}
