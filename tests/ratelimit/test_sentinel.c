/*
 * test_sentinel.c - discovery of the primary through Sentinel.
 */
#include <CUnit/CUnit.h>

#include "harness.h"

int
suite_sentinel_register(void)
{
	return 0;
}
