/*
 * test_asg_schema.c - the assignment history as stored (proxy/asg_schema.c):
 * the record's exact bytes, reading it back, the Redis keys, and the
 * coupling between the record's byte layout and the history script that
 * matches it as text (checked here without Redis: the script's patterns
 * must find what asg_to_json writes).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "asg_schema.h"
#include "cidr.h"
#include "err.h"
#include "identity.h"
#include "radius.h"
#include "suites.h"
#include "unit.h"

/* rec - a record with every string set; the caller changes what it tests. */
static struct asg
rec(void)
{
	struct asg a;

	memset(&a, 0, sizeof(a));
	a.prefix = P("2001:db8:1:200::/56");
	a.event = ASG_STOP;
	a.time_ms = 1795905200000LL;
	a.start_ms = 1795905194306LL;
	a.end_ms = 1795905200000LL;
	a.node = "gw1";
	a.subscriber = "al%22ice";
	a.cls = "default";
	a.nas = "192.0.2.10";
	a.nas_name = "bras1";
	a.session_id = "s\"1";
	a.calling_station_id = "02-00-00-00-00-01";
	return a;
}

/* The bytes other nodes, the audit trail and the history script read:
 * they must not change (the expected texts were made by the hand-written
 * builder this module replaced). */
static void
test_golden(void)
{
	static const char closed[] = "{\"v\":1,\"type\":\"assignment\","
	    "\"node\":\"gw1\",\"event\":\"stop\","
	    "\"time\":\"2026-11-28T22:33:20.000Z\",\"subscriber\":\"al%22ice\","
	    "\"class\":\"default\",\"class_source\":\"radius\","
	    "\"prefix\":\"2001:db8:1:200::/56\","
	    "\"start\":\"2026-11-28T22:33:14.306Z\",\"start_ms\":1795905194306,"
	    "\"start_unknown\":true,\"end\":\"2026-11-28T22:33:20.000Z\","
	    "\"end_ms\":1795905200000,\"nas\":\"192.0.2.10\","
	    "\"nas_name\":\"bras1\",\"acct_session_id\":\"s\\\"1\","
	    "\"calling_station_id\":\"02-00-00-00-00-01\",\"source\":\"radius\"}";
	static const char open[] = "{\"v\":1,\"type\":\"assignment\","
	    "\"node\":\"gw1\",\"event\":\"start\","
	    "\"time\":\"2026-11-28T22:33:14.306Z\",\"subscriber\":\"x\\\"y\\\\z\","
	    "\"class\":\"default\",\"prefix\":\"100.64.3.7/32\","
	    "\"start\":\"2026-11-28T22:33:14.306Z\",\"start_ms\":1795905194306,"
	    "\"nas\":\"192.0.2.10\",\"nas_name\":\"\",\"acct_session_id\":\"s\\\"1\","
	    "\"calling_station_id\":\"02-00-00-00-00-01\",\"source\":\"radius\"}";
	struct asg a = rec();
	size_t len;
	char *j;

	a.cls_radius = 1;
	a.start_unknown = 1;
	j = asg_to_json(&a, &len);
	CU_ASSERT_EQUAL(len, strlen(closed));
	CU_ASSERT_STRING_EQUAL(j, closed);
	free(j);

	a = rec();
	a.prefix = P("100.64.3.7/32");
	a.event = ASG_START;
	a.time_ms = a.start_ms;
	a.end_ms = 0;
	a.subscriber = "x\"y\\z";
	a.nas_name = "";
	j = asg_to_json(&a, &len);
	CU_ASSERT_EQUAL(len, strlen(open));
	CU_ASSERT_STRING_EQUAL(j, open);
	free(j);
}

static void
test_round_trip(void)
{
	struct asg a = rec(), back;
	size_t len;
	char *j;

	a.cls_radius = 1;
	j = asg_to_json(&a, &len);
	CU_ASSERT_EQUAL_FATAL(asg_from_json(j, len, &back), 0);
	CU_ASSERT_EQUAL(back.event, ASG_STOP);
	CU_ASSERT_EQUAL(back.start_ms, 1795905194306LL);
	CU_ASSERT_EQUAL(back.end_ms, 1795905200000LL);
	CU_ASSERT_EQUAL(back.time_ms, 1795905200000LL);
	CU_ASSERT_EQUAL(back.start_unknown, 0);
	CU_ASSERT_EQUAL(back.cls_radius, 1);
	CU_ASSERT_STRING_EQUAL(back.node, "gw1");
	CU_ASSERT_STRING_EQUAL(back.subscriber, "al%22ice");
	CU_ASSERT_STRING_EQUAL(back.cls, "default");
	CU_ASSERT_STRING_EQUAL(back.nas, "192.0.2.10");
	CU_ASSERT_STRING_EQUAL(back.session_id, "s\"1");
	CU_ASSERT_STRING_EQUAL(back.nas_name, "bras1");
	CU_ASSERT_STRING_EQUAL(back.calling_station_id, "02-00-00-00-00-01");
	CU_ASSERT_EQUAL(back.prefix.plen, 56);
	asg_free(&back);
	free(j);
	/* not an assignment, wrong version, broken, no prefix */
	CU_ASSERT_EQUAL(asg_from_json("{\"v\":1,\"type\":\"session\"}", 24,
	    &back), SG_EINVAL);
	CU_ASSERT_EQUAL(asg_from_json("{\"v\":2,\"type\":\"assignment\"}", 27,
	    &back), SG_EINVAL);
	CU_ASSERT_EQUAL(asg_from_json("{\"v\":1,", 7, &back), SG_EINVAL);
	CU_ASSERT_EQUAL(asg_from_json("{\"v\":1,\"type\":\"assignment\","
	    "\"event\":\"start\",\"start_ms\":1}", 55, &back), SG_EINVAL);
}

static void
test_keys(void)
{
	struct cidr_prefix p = P("2001:db8:1:200::/56");
	char key[ASG_KEY_MAX], tag[ASG_PLEN_TAG_MAX];
	unsigned plen;
	int fam;

	CU_ASSERT_EQUAL(asg_history_key(key, &p), 30);
	CU_ASSERT_STRING_EQUAL(key, "sg:{asg:2001:db8:1:200::/56}:h");
	p = P("100.64.3.7/32");
	asg_history_key(key, &p);
	CU_ASSERT_STRING_EQUAL(key, "sg:{asg:100.64.3.7/32}:h");
	CU_ASSERT_STRING_EQUAL(ASG_HISTORY_MATCH, "sg:{asg:*}:h");
	CU_ASSERT_STRING_EQUAL(ASG_PLENS_KEY, "sg:asg:plens");
	CU_ASSERT_STRING_EQUAL(ASG_CHANNEL, "sg:asg");

	CU_ASSERT_EQUAL(asg_plen_tag(tag, AF_INET, 32), 4);
	CU_ASSERT_STRING_EQUAL(tag, "4/32");
	asg_plen_tag(tag, AF_INET6, 128);
	CU_ASSERT_STRING_EQUAL(tag, "6/128");
	CU_ASSERT_EQUAL(asg_plen_parse("6/56", &fam, &plen), 0);
	CU_ASSERT_EQUAL(fam, AF_INET6);
	CU_ASSERT_EQUAL(plen, 56);
	CU_ASSERT_EQUAL(asg_plen_parse("4/0", &fam, &plen), 0);
	CU_ASSERT_EQUAL(fam, AF_INET);
	CU_ASSERT_EQUAL(plen, 0);
	CU_ASSERT_EQUAL(asg_plen_parse("4/33", &fam, &plen), -1);
	CU_ASSERT_EQUAL(asg_plen_parse("6/129", &fam, &plen), -1);
	CU_ASSERT_EQUAL(asg_plen_parse("5/24", &fam, &plen), -1);
	CU_ASSERT_EQUAL(asg_plen_parse("4/", &fam, &plen), -1);
	CU_ASSERT_EQUAL(asg_plen_parse("4/-1", &fam, &plen), -1);
	CU_ASSERT_EQUAL(asg_plen_parse("4/24x", &fam, &plen), -1);
}

/* The needles the script searches with, and the node test. */
static void
test_fields(void)
{
	struct asg a = rec();
	size_t len, off, n;
	char *j = asg_to_json(&a, &len);

	CU_ASSERT_EQUAL_FATAL(asg_json_field(j, len, "nas", &off, &n), 0);
	CU_ASSERT_EQUAL(n, strlen("\"nas\":\"192.0.2.10\""));
	CU_ASSERT_EQUAL(memcmp(j + off, "\"nas\":\"192.0.2.10\"", n), 0);
	/* an escaped quote does not end the value */
	CU_ASSERT_EQUAL_FATAL(asg_json_field(j, len, "acct_session_id", &off,
	    &n), 0);
	CU_ASSERT_EQUAL(n, strlen("\"acct_session_id\":\"s\\\"1\""));
	CU_ASSERT_EQUAL(memcmp(j + off, "\"acct_session_id\":\"s\\\"1\"", n), 0);
	/* "nas" is not found inside "nas_name", nor a missing key */
	CU_ASSERT_EQUAL(asg_json_field(j, len, "nas_name", &off, &n), 0);
	CU_ASSERT_EQUAL(memcmp(j + off, "\"nas_name\":\"bras1\"", n), 0);
	CU_ASSERT_EQUAL(asg_json_field(j, len, "missing", &off, &n), -1);
	/* cut inside a value: not found */
	CU_ASSERT_EQUAL(asg_json_field(j, (size_t)(strstr(j, "s\\\"1") - j) + 2,
	    "acct_session_id", &off, &n), -1);

	CU_ASSERT_EQUAL(asg_json_from_node(j, len, "gw1"), 1);
	CU_ASSERT_EQUAL(asg_json_from_node(j, len, "gw"), 0);
	CU_ASSERT_EQUAL(asg_json_from_node(j, len, "gw2"), 0);
	free(j);
}

/* match_digits - s has the text pre, then digits, then post. */
static int
match_digits(const char *s, const char *pre, const char *post)
{
	const char *p = strstr(s, pre);

	if (p == NULL)
		return 0;
	p += strlen(pre);
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return strncmp(p, post, strlen(post)) == 0;
}

/* What the history script matches, and the record has. */
static void
test_script_layout(void)
{
	const char *sc = asg_history_script;
	struct asg a = rec();
	size_t len;
	char *j;

	/* the script's patterns, as it states them */
	CU_ASSERT_PTR_NOT_NULL(strstr(sc, "'\"end_ms\":(%d+)'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sc,
	    "'\"start\":\"[^\"]*\",\"start_ms\":%d+'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sc,
	    "'\"start\":\"[^\"]*\",\"start_ms\":%d+,\"start_unknown\":true'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sc, "ARGV[9]"));
	CU_ASSERT_PTR_NULL(strstr(sc, "ARGV[10]"));
	CU_ASSERT_EQUAL(ASG_SCRIPT_NARGS, 9);

	/* a closed record: "end_ms":<digits> */
	j = asg_to_json(&a, &len);
	CU_ASSERT(match_digits(j, "\"end_ms\":", ","));
	CU_ASSERT(match_digits(j, "\"start\":\"2026-11-28T22:33:14.306Z\","
	    "\"start_ms\":", ","));
	free(j);
	/* an open one has no end_ms */
	a.end_ms = 0;
	a.event = ASG_START;
	j = asg_to_json(&a, &len);
	CU_ASSERT_PTR_NULL(strstr(j, "\"end_ms\""));
	free(j);
	/* a Stop with its start unknown: start, start_ms, start_unknown in a
	 * row (the script puts the known start in their place) */
	a = rec();
	a.start_unknown = 1;
	a.start_ms = a.end_ms;
	j = asg_to_json(&a, &len);
	CU_ASSERT(match_digits(j, "\"start\":\"2026-11-28T22:33:20.000Z\","
	    "\"start_ms\":", ",\"start_unknown\":true,"));
	free(j);
}

/* What fuzz_asg found: a gateway with a long node name knows its own
 * records; a time outside what gmtime and four digits of year can show is
 * written as no date, and one before 1970 with its fraction counted up. */
static void
test_fuzz_found(void)
{
	static const char node[] = "gw-a-rather-long-node-name-0123456789.example.net";
	struct asg a = rec(), b;
	size_t len;
	char *j;

	a.node = (char *)node;
	j = asg_to_json(&a, &len);
	CU_ASSERT_EQUAL(asg_json_from_node(j, len, node), 1);
	free(j);
	a = rec();
	a.start_ms = -1;
	a.end_ms = INT64_MIN;
	j = asg_to_json(&a, &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"start\":\"1969-12-31T23:59:59.999Z\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"end\":\"0000-00-00T00:00:00.192Z\""));
	CU_ASSERT_EQUAL_FATAL(asg_from_json(j, len, &b), 0);
	CU_ASSERT_EQUAL(b.end_ms, INT64_MIN);
	asg_free(&b);
	free(j);
}

int
suite_asg_schema_register(void)
{
	CU_pSuite s = CU_add_suite("asg_schema", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "golden", test_golden) == NULL ||
	    CU_add_test(s, "round_trip", test_round_trip) == NULL ||
	    CU_add_test(s, "keys", test_keys) == NULL ||
	    CU_add_test(s, "fields", test_fields) == NULL ||
	    CU_add_test(s, "script_layout", test_script_layout) == NULL ||
	    CU_add_test(s, "fuzz_found", test_fuzz_found) == NULL)
		return -1;
	return 0;
}
