/*
 * secbuf.h - wiping memory that held a secret (a client's AUTH line, the
 * smarthost credentials) so that no optimiser drops the stores. Growable
 * buffers that hold secrets are struct buf with secret set (buf.h).
 */
#ifndef SUBGATE_SECBUF_H
#define SUBGATE_SECBUF_H

#include <stddef.h>

/* sb_wipe - zero n bytes at p (p may be NULL) in a way no optimiser drops. */
void sb_wipe(void *p, size_t n);

#endif
