/*
 * secbuf.c - growable byte buffers for secrets (see secbuf.h).
 */
#include "secbuf.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SB_MIN	128

void
sb_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void
sb_append(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	char *nb;
	size_t ncap;

	if (n == 0)
		return;
	if (*len + n > *cap) {
		ncap = *cap ? *cap : SB_MIN;
		while (ncap < *len + n)
			ncap *= 2;
		nb = xmalloc(ncap);
		if (*len > 0)
			memcpy(nb, *buf, *len);
		sb_wipe(*buf, *cap);
		free(*buf);
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}

void
sb_free(char **buf, size_t *len, size_t *cap)
{
	sb_wipe(*buf, *cap);
	free(*buf);
	*buf = NULL;
	*len = *cap = 0;
}
