/*
 * test_srclimit.c - per-source session counts (limits.per_source): what is
 * one source (IPv4 address, IPv6 /64, v4-mapped as IPv4), the cap, force,
 * release, growth of the table and a concurrent cross-check.
 */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "srclimit.h"
#include "suites.h"

static void
key_of(struct cidr_prefix *k, const char *addr)
{
	union sockaddr_any a;

	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, addr, 25), 0);
	CU_ASSERT_EQUAL_FATAL(srclimit_key(k, &a), 0);
}

static void
test_keys(void)
{
	struct cidr_prefix a, b;
	char buf[CIDR_STRLEN];

	key_of(&a, "198.51.100.7:1000");
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&a, buf, sizeof(buf)), "198.51.100.7/32");
	key_of(&b, "[::ffff:198.51.100.7]:2000");
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&b, buf, sizeof(buf)), "198.51.100.7/32");
	key_of(&a, "[fd00:1:2:3:aaaa::1]:25");
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&a, buf, sizeof(buf)), "fd00:1:2:3::/64");
	key_of(&b, "[fd00:1:2:3:ffff::9]:26");
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&b, buf, sizeof(buf)), "fd00:1:2:3::/64");
}

static void
test_cap(void)
{
	struct srclimit *s = srclimit_new();
	struct cidr_prefix a, a2, b, v6a, v6b;
	uint32_t n = 0;

	key_of(&a, "198.51.100.7:1000");
	key_of(&a2, "[::ffff:198.51.100.7]:1001");
	key_of(&b, "198.51.100.8:1000");
	key_of(&v6a, "[fd00:1:2:3::1]:1");
	key_of(&v6b, "[fd00:1:2:3::2]:1");
	CU_ASSERT_EQUAL(srclimit_take(s, &a, 2, 0, &n), 1);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(srclimit_take(s, &a2, 2, 0, &n), 1);	/* same source */
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(srclimit_take(s, &a, 2, 0, &n), 0);	/* at the cap */
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(srclimit_count(s, &a), 2);
	CU_ASSERT_EQUAL(srclimit_take(s, &b, 2, 0, NULL), 1);	/* another one */
	CU_ASSERT_EQUAL(srclimit_take(s, &a, 2, 1, &n), 1);	/* forced */
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(srclimit_take(s, &v6a, 1, 0, NULL), 1);
	CU_ASSERT_EQUAL(srclimit_take(s, &v6b, 1, 0, NULL), 0);	/* same /64 */
	CU_ASSERT_EQUAL(srclimit_entries(s), 3);
	srclimit_put(s, &a);
	srclimit_put(s, &a);
	CU_ASSERT_EQUAL(srclimit_take(s, &a, 2, 0, NULL), 1);	/* room again */
	srclimit_put(s, &a);
	srclimit_put(s, &a);
	srclimit_put(s, &b);
	srclimit_put(s, &v6a);
	CU_ASSERT_EQUAL(srclimit_count(s, &a), 0);
	CU_ASSERT_EQUAL(srclimit_entries(s), 0);	/* nothing left behind */
	srclimit_put(s, &a);				/* never counted: no-op */
	CU_ASSERT_EQUAL(srclimit_entries(s), 0);
	CU_ASSERT_EQUAL(srclimit_take(s, &a, 0, 0, &n), 1);	/* cap 0: none */
	CU_ASSERT_EQUAL(srclimit_take(s, &a, 0, 0, &n), 1);
	CU_ASSERT_EQUAL(n, 2);
	srclimit_free(s);
}

/* Many sources: the table grows, every count stays its own. */
static void
test_many(void)
{
	struct srclimit *s = srclimit_new();
	char buf[64];
	struct cidr_prefix k;
	int bad = 0;

	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "[fd00:%x:%x::1]:25", i >> 8, i & 0xff);
		key_of(&k, buf);
		for (int j = 0; j <= i % 3; j++)
			bad += srclimit_take(s, &k, 3, 0, NULL) != 1;
		bad += srclimit_take(s, &k, 3, 0, NULL) != (i % 3 < 2);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(srclimit_entries(s), 5000);
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "[fd00:%x:%x::2]:25", i >> 8, i & 0xff);
		key_of(&k, buf);
		bad += srclimit_count(s, &k) != (uint32_t)(i % 3 == 2 ? 3 : i % 3 + 2);
		while (srclimit_count(s, &k) > 0)
			srclimit_put(s, &k);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(srclimit_entries(s), 0);
	srclimit_free(s);
}

/* Workers take and put from their own threads: the counts add up. */
struct racer {
	struct srclimit *s;
	int id, refused;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct cidr_prefix k;
	char buf[64];

	for (int round = 0; round < 2000; round++) {
		snprintf(buf, sizeof(buf), "203.0.113.%d:25", round % 8);
		key_of(&k, buf);
		if (srclimit_take(r->s, &k, 1000000, 0, NULL))
			srclimit_put(r->s, &k);
		else
			r->refused++;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct srclimit *s = srclimit_new();
	struct racer r[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){ s, i, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(r[i].refused, 0);
	}
	CU_ASSERT_EQUAL(srclimit_entries(s), 0);
	srclimit_free(s);
}

int
suite_srclimit_register(void)
{
	CU_pSuite s = CU_add_suite("srclimit", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "keys", test_keys) == NULL ||
	    CU_add_test(s, "cap", test_cap) == NULL ||
	    CU_add_test(s, "many", test_many) == NULL ||
	    CU_add_test(s, "threads", test_threads) == NULL)
		return -1;
	return 0;
}
