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
test_v4mapped(void)
{
	static const uint8_t mapped[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7
	};
	uint8_t buf[17];
	size_t i;

	CU_ASSERT_TRUE(addr_is_v4mapped(mapped));
	/* any alignment: the octets may sit inside a packet or a key */
	memcpy(buf + 1, mapped, 16);
	CU_ASSERT_TRUE(addr_is_v4mapped(buf + 1));
	/* one bit off in any of the first 12 octets: not mapped */
	for (i = 0; i < 12; i++) {
		memcpy(buf, mapped, 16);
		buf[i] ^= 0x01;
		CU_ASSERT_FALSE(addr_is_v4mapped(buf));
	}
	/* ::a.b.c.d (deprecated v4-compatible) and ::1 are IPv6 */
	memcpy(buf, mapped, 16);
	buf[10] = buf[11] = 0;
	CU_ASSERT_FALSE(addr_is_v4mapped(buf));
}

/* raw - addr_raw of the address written s, over out filled with 0xee. */
static int
raw(const char *s, int *family, uint8_t out[16])
{
	union sockaddr_any a;

	memset(out, 0xee, 16);
	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, s, 0), 0);
	return addr_raw(&a, family, out);
}

static void
test_raw(void)
{
	static const uint8_t v4[4] = { 198, 51, 100, 7 };
	static const uint8_t v6[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25
	};
	union sockaddr_any a;
	uint8_t out[16];
	int fam = -1;

	CU_ASSERT_EQUAL(raw("198.51.100.7:25", &fam, out), 0);
	CU_ASSERT_EQUAL(fam, AF_INET);
	CU_ASSERT_EQUAL(memcmp(out, v4, 4), 0);
	fam = -1;
	CU_ASSERT_EQUAL(raw("[::ffff:198.51.100.7]:25", &fam, out), 0);
	CU_ASSERT_EQUAL(fam, AF_INET);
	CU_ASSERT_EQUAL(memcmp(out, v4, 4), 0);
	fam = -1;
	CU_ASSERT_EQUAL(raw("[2001:db8::25]:25", &fam, out), 0);
	CU_ASSERT_EQUAL(fam, AF_INET6);
	CU_ASSERT_EQUAL(memcmp(out, v6, 16), 0);
	/* ::198.51.100.7 is not mapped: it stays IPv6 */
	fam = -1;
	CU_ASSERT_EQUAL(raw("::198.51.100.7", &fam, out), 0);
	CU_ASSERT_EQUAL(fam, AF_INET6);
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(addr_raw(&a, &fam, out), SG_EINVAL);
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
	    CU_add_test(s, "v4mapped", test_v4mapped) == NULL ||
	    CU_add_test(s, "raw", test_raw) == NULL ||
	    CU_add_test(s, "log_esc", test_log_esc) == NULL)
		return -1;
	return 0;
}
