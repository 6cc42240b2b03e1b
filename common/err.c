/*
 * err.c - names and texts of the SG_E* codes.
 */
#include "err.h"

#include <string.h>

const char *
sg_strerror(int err)
{
	switch (err) {
	case SG_OK:
		return "success";
#define X(name, text) case SG_E##name: return text;
	SG_ERRNO_MAP(X)
#undef X
	default:
		return err < 0 ? strerror(-err) : "unknown error";
	}
}

const char *
sg_errname(int err)
{
	switch (err) {
	case SG_OK:
		return "SG_OK";
#define X(name, text) case SG_E##name: return "SG_E" #name;
	SG_ERRNO_MAP(X)
#undef X
	default:
		return "errno";
	}
}
