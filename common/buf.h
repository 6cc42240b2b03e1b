/*
 * buf.h - the one growable buffer of the project: bytes in a struct buf,
 * and arrays of anything through GROW. Growth doubles, sizes are checked
 * for overflow, and running out of memory is fatal (util.h).
 *
 * A buffer marked secret (b->secret = 1: a client's AUTH line, smarthost
 * credentials) never leaves a byte of itself in memory given back to
 * malloc: it grows into a new allocation and wipes the old one (realloc
 * could leave a copy behind), buf_drop wipes what it vacates, buf_free
 * wipes all of it.
 */
#ifndef SUBGATE_BUF_H
#define SUBGATE_BUF_H

#include <stddef.h>

struct buf {
	char *p;
	size_t len;		/* bytes in use */
	size_t cap;		/* bytes allocated */
	int secret;		/* wipe on growth, drop and free */
};

/* buf_reserve - room for n more bytes after the len in use (and one more,
 * so that text can stay NUL-terminated). Returns b->p + b->len. */
char *buf_reserve(struct buf *b, size_t n);

/* buf_add - append n bytes. */
void buf_add(struct buf *b, const void *p, size_t n);

/* buf_printf - append formatted text; b->p stays NUL-terminated after it
 * (the NUL is not counted in len). Returns the length appended, or -1 on
 * an encoding error (nothing appended). */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* buf_drop - discard the first n (<= len) bytes, moving the rest down. */
void buf_drop(struct buf *b, size_t n);

/* buf_free - give the memory back (wiped first if secret) and leave the
 * buffer empty; the secret mark stays. Safe to call twice. */
void buf_free(struct buf *b);

/* xgrow - make the array v (of *cap elements of size bytes) hold at least
 * need elements: doubles from min_cap, returns the (possibly moved) array.
 * Prefer the GROW macro. */
void *xgrow(void *v, size_t *cap, size_t need, size_t size, size_t min_cap);

/* GROW - room for need elements in the array v of capacity cap (size_t). */
#define GROW(v, cap, need) \
	((v) = xgrow((v), &(cap), (need), sizeof(*(v)), 8))

#endif
