/*
 * term.c - strings made safe for a terminal (term.h).
 */
#include "term.h"

#include <string.h>

#include "log.h"

const char *
term_safe(char *out, size_t len, const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return log_esc(out, len, s, strlen(s));
	return s;
}
