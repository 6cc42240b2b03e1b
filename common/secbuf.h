/*
 * secbuf.h - growable byte buffers that may hold a secret (a client's AUTH
 * line, the smarthost credentials): no byte of one is left in memory given
 * back to malloc. The caller owns the buffer and its length and capacity;
 * these functions only keep them consistent.
 */
#ifndef SUBGATE_SECBUF_H
#define SUBGATE_SECBUF_H

#include <stddef.h>

/* sb_wipe - zero n bytes at p (p may be NULL) in a way no optimiser drops. */
void sb_wipe(void *p, size_t n);

/* sb_append - append n bytes to *buf, which holds *len of *cap bytes. It
 * grows by doubling (from 128) into a new allocation and wipes the old one
 * before freeing it: realloc could leave a copy of a secret behind. */
void sb_append(char **buf, size_t *len, size_t *cap, const void *p, size_t n);

/* sb_free - wipe all *cap bytes, free *buf, and leave it empty (NULL, 0, 0). */
void sb_free(char **buf, size_t *len, size_t *cap);

#endif
