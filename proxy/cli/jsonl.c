/*
 * jsonl.c - JSON-lines files a line at a time (see jsonl.h).
 */
#include "jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

int
jsonl_open(struct jsonl *r, const char *path, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	errno = 0;
	r->f = strcmp(path, "-") == 0 ? gzdopen(dup(STDIN_FILENO), "rb")
	    : gzopen(path, "rb");
	if (r->f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno
		    : ENOMEM));
		return -1;
	}
	gzbuffer(r->f, CHUNK);
	return 0;
}

/* line - [r->off, end) as a line, NUL-terminated (at the newline, or
 * in the byte buf_reserve keeps after len), CRs trimmed; the next line
 * starts at next. */
static char *
line(struct jsonl *r, char *end, size_t next, size_t *n)
{
	char *s = r->b.p + r->off;

	*end = '\0';
	r->off = next;
	*n = (size_t)(end - s);
	while (*n > 0 && s[*n - 1] == '\r')
		s[--*n] = '\0';
	return s;
}

char *
jsonl_next(struct jsonl *r, size_t *n)
{
	for (;;) {
		char *nl = r->b.len > r->off ? memchr(r->b.p + r->off, '\n',
		    r->b.len - r->off) : NULL;
		int got;

		if (nl != NULL) {
			if (r->skipping) {	/* the end of a monster */
				r->skipping = 0;
				r->off = (size_t)(nl - r->b.p) + 1;
				continue;
			}
			return line(r, nl, (size_t)(nl - r->b.p) + 1, n);
		}
		if (r->eof) {
			if (r->off < r->b.len && !r->skipping)
				return line(r, r->b.p + r->b.len, r->b.len, n);
			r->off = r->b.len;
			return NULL;
		}
		buf_drop(&r->b, r->off);
		r->off = 0;
		if (r->b.len >= JSONL_LINE_MAX) {
			/* no newline in the limit: drop it, skip to the next */
			if (!r->skipping)
				r->too_long++;
			r->skipping = 1;
			r->b.len = 0;
		}
		got = gzread(r->f, buf_reserve(&r->b, CHUNK), CHUNK);
		if (got <= 0)
			r->eof = 1;
		else
			r->b.len += (size_t)got;
	}
}

void
jsonl_close(struct jsonl *r)
{
	if (r->f != NULL)
		gzclose(r->f);
	buf_free(&r->b);
	memset(r, 0, sizeof(*r));
}
