/*
 * secbuf.c - wiping secrets (see secbuf.h).
 */
#include "secbuf.h"

#include <string.h>

void
sb_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}
