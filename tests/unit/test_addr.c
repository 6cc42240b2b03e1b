/*
 * test_addr.c - address parsing and formatting, and log escaping.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "log.h"
#include "suites.h"

static void
roundtrip(const char *in, int defport, const char *want)
{
	union sockaddr_any a;
	char buf[ADDRPORT_STRLEN];

	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, in, defport), 0);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&a, buf, sizeof(buf)), want);
}

static void
test_parse(void)
{
	union sockaddr_any a;

	roundtrip("100.64.0.2:25", -1, "100.64.0.2:25");
	roundtrip("[fd00::2]:587", -1, "[fd00::2]:587");
	roundtrip("fd00::2", 25, "[fd00::2]:25");
	roundtrip("192.0.2.1", 465, "192.0.2.1:465");
	roundtrip("[::]:10025", -1, "[::]:10025");
	CU_ASSERT_EQUAL(addr_parse(&a, "192.0.2.1", -1), SG_EINVAL);
	CU_ASSERT_EQUAL(addr_parse(&a, "192.0.2.1:65536", -1), SG_EINVAL);
	CU_ASSERT_EQUAL(addr_parse(&a, "192.0.2.1:", -1), SG_EINVAL);
	CU_ASSERT_EQUAL(addr_parse(&a, "[fd00::2", -1), SG_EINVAL);
	CU_ASSERT_EQUAL(addr_parse(&a, "[fd00::2]x", -1), SG_EINVAL);
	CU_ASSERT_EQUAL(addr_parse(&a, "mx.example.org:25", -1), SG_EINVAL);
	CU_ASSERT_EQUAL(addr_parse(&a, "", 25), SG_EINVAL);
}

static void
test_unmap(void)
{
	union sockaddr_any a, b;
	char buf[ADDRPORT_STRLEN];

	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, "[::ffff:198.51.100.7]:25", -1), 0);
	addr_unmap(&a);
	CU_ASSERT_EQUAL(a.sa.sa_family, AF_INET);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&a, buf, sizeof(buf)), "198.51.100.7:25");
	CU_ASSERT_EQUAL_FATAL(addr_parse(&b, "198.51.100.7:26", -1), 0);
	CU_ASSERT_TRUE(addr_eq_host(&a, &b));
	CU_ASSERT_FALSE(addr_eq(&a, &b));
}

static void
test_log_esc(void)
{
	char out[16], wide[32];

	CU_ASSERT_STRING_EQUAL(log_esc(out, sizeof(out), "ab", 2), "\"ab\"");
	CU_ASSERT_STRING_EQUAL(log_esc(wide, sizeof(wide), "a\r\n\"", 4),
	    "\"a\\x0d\\x0a\\x22\"");
	/* truncated, never overflowing, always quoted */
	CU_ASSERT_STRING_EQUAL(log_esc(out, sizeof(out), "0123456789abcdef", 16),
	    "\"0123456789...\"");
	CU_ASSERT_TRUE(strlen(out) < sizeof(out));
}

int
suite_addr_register(void)
{
	CU_pSuite s = CU_add_suite("addr", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "parse", test_parse) == NULL ||
	    CU_add_test(s, "unmap", test_unmap) == NULL ||
	    CU_add_test(s, "log_esc", test_log_esc) == NULL)
		return -1;
	return 0;
}
