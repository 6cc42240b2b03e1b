/*
 * test_radius_rtx.c - the bounds of the RADIUS retransmission table
 * (radius_server.h): age, entries and bytes each make the oldest answered
 * entry go; a flood of small entries within the entry bound still stops at
 * the byte bound.
 */
#include <CUnit/CUnit.h>

#include "radius_server.h"
#include "suites.h"

static void
test_forget(void)
{
	CU_ASSERT_FALSE(radius__rtx_forget(0, 1, 100));
	CU_ASSERT_FALSE(radius__rtx_forget(RADIUS_RTX_KEEP_MS - 1, RADIUS_RTX_MAX,
	    RADIUS_RTX_MAX_BYTES));
	CU_ASSERT_TRUE(radius__rtx_forget(RADIUS_RTX_KEEP_MS, 1, 100));
	CU_ASSERT_TRUE(radius__rtx_forget(0, RADIUS_RTX_MAX + 1, 100));
	/* fewer entries than the entry bound, more bytes than the byte bound */
	CU_ASSERT_TRUE(radius__rtx_forget(0, 1000, RADIUS_RTX_MAX_BYTES + 1));
}

/* The table the bounds allow stays small: entries of at least their own
 * header plus the smallest response (20 octets, RFC 2866) cannot reach the
 * entry bound before the byte bound stops them at a few dozen MiB. */
static void
test_flood(void)
{
	size_t cost = 64 + 20, n = 0, bytes = 0;

	while (!radius__rtx_forget(0, n, bytes)) {
		n++;
		bytes += cost;
	}
	CU_ASSERT(bytes <= RADIUS_RTX_MAX_BYTES + cost);
	CU_ASSERT(RADIUS_RTX_MAX_BYTES <= 128u << 20);
}

int
suite_radius_rtx_register(void)
{
	CU_pSuite s = CU_add_suite("radius_rtx", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "forget", test_forget) == NULL ||
	    CU_add_test(s, "flood", test_flood) == NULL)
		return -1;
	return 0;
}
