/*
 * unit.h - helpers that more than one suite of sg_unit uses.
 */
#ifndef SUBGATE_TEST_UNIT_H
#define SUBGATE_TEST_UNIT_H

#include <CUnit/CUnit.h>

#include "cidr.h"

/* P - the prefix written s ("2001:db8::/32"); the test stops if it does
 * not parse. */
static inline struct cidr_prefix
P(const char *s)
{
	struct cidr_prefix p;

	CU_ASSERT_FATAL(cidr_parse(&p, s, NULL, 0) == 0);
	return p;
}

#endif
