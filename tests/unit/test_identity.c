/*
 * test_identity.c - the pure parts of subscriber identity: escaping, the
 * assignment state machine (Start, Interim-Update, Stop, an address moving
 * to another subscriber, Accounting-On/Off), records from other nodes,
 * input from decoded radclient packets, and "who held A at T" over
 * JSON-lines files (proxy/cli/assignments.c). The record itself:
 * test_asg_schema.c.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "asg_schema.h"
#include "assignments.h"
#include "audit.h"
#include "cidr.h"
#include "config.h"
#include "err.h"
#include "identity.h"
#include "policy_core.h"
#include "radius.h"
#include "suites.h"
#include "term.h"
#include "unit.h"
#include "util.h"

/* radclient 3.2 packets (see test_radius.c). Start: Framed-IP-Address
 * 100.64.3.7, User-Name "alice", Acct-Session-Id "s1", Calling-Station-Id
 * "02-00-00-00-00-01", NAS-IP-Address 127.0.0.1. */
static const char golden_start[] =
    "043d004467a6a72b54a16e7fc79b02d81d0bc06e2806000000010806644003070107"
    "616c6963652c0473311f1330322d30302d30302d30302d30302d303104067f000001";
/* Stop: Framed-IPv6-Prefix 2001:db8:1:2::/64, Delegated-IPv6-Prefix
 * 2001:db8:ff00:100::/56, Event-Timestamp 1795604592, Acct-Delay-Time 5. */
static const char golden_stop[] =
    "047a008493e6634097bf9ff5270f14184d97e71e2806000000020806644003076114"
    "004020010db80001000200000000000000007b14003820010db8ff00010000000000"
    "000000000107616c6963652c0473311f1330322d30302d30302d30302d30302d3031"
    "04067f00000137066b06c0702906000000053106000000012e0600000e10";

static uint8_t *
unhex(const char *h, size_t *len)
{
	size_t n = strlen(h) / 2;
	uint8_t *p = xmalloc(n);

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(h + 2 * i, "%2x", &v);
		p[i] = (uint8_t)v;
	}
	*len = n;
	return p;
}

static union sockaddr_any
A(const char *s)
{
	union sockaddr_any a;

	CU_ASSERT_FATAL(addr_parse(&a, s, 0) == 0);
	return a;
}

/* in - an event for the state machine. */
static struct asg_input
in(uint32_t status, int64_t t, const char *sub, const char *nas,
    const char *sid, const char *prefix)
{
	struct asg_input e;

	memset(&e, 0, sizeof(e));
	e.status = status;
	e.time_ms = t;
	e.subscriber = sub;
	e.cls = "default";
	e.nas = nas;
	e.nas_name = "bras1";
	e.session_id = sid;
	e.calling_station_id = "";
	if (prefix != NULL)
		e.prefix[e.nprefix++] = P(prefix);
	return e;
}

static const char *
who(struct idstore *s, const char *addr)
{
	union sockaddr_any a = A(addr);
	const struct asg *g = idstore_lookup(s, &a, NULL);

	return g != NULL ? g->subscriber : NULL;
}

static void
test_escape(void)
{
	char out[IDENTITY_STR_MAX], small[8];

	CU_ASSERT_STRING_EQUAL(identity_escape(out, sizeof(out), "alice", 5),
	    "alice");
	CU_ASSERT_STRING_EQUAL(identity_escape(out, sizeof(out),
	    "a b%\"\n\xff", 7), "a%20b%25\"%0A%FF");
	CU_ASSERT_STRING_EQUAL(identity_escape(out, sizeof(out), "a\0b", 3),
	    "a%00b");
	/* truncated at a whole escape, always terminated */
	CU_ASSERT_STRING_EQUAL(identity_escape(small, sizeof(small),
	    "ab\xff\xff", 4), "ab%FF");
	/* 253 octets of the worst kind fit */
	{
		uint8_t worst[253];

		memset(worst, 0xff, sizeof(worst));
		identity_escape(out, sizeof(out), worst, sizeof(worst));
		CU_ASSERT_EQUAL(strlen(out), 3 * 253);
	}
}

static void
test_start_interim_stop(void)
{
	struct idstore *s = idstore_new();
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;

	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 1);
	CU_ASSERT_EQUAL(out.v[0].event, ASG_START);
	CU_ASSERT_EQUAL(out.v[0].start_ms, 1000);
	CU_ASSERT_EQUAL(out.v[0].end_ms, 0);
	CU_ASSERT_STRING_EQUAL(out.v[0].node, "gw1");
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.7"), "alice");
	CU_ASSERT_PTR_NULL(who(s, "100.64.3.8"));
	/* v4-mapped is the same address */
	CU_ASSERT_STRING_EQUAL(who(s, "::ffff:100.64.3.7"), "alice");

	/* the same Start again (a resend with a new Identifier): nothing */
	e.time_ms = 1500;
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 0);

	/* Interim: a record, start unchanged */
	e = in(RADIUS_STATUS_INTERIM, 2000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 1);
	CU_ASSERT_EQUAL(out.v[1].event, ASG_INTERIM);
	CU_ASSERT_EQUAL(out.v[1].start_ms, 1000);
	CU_ASSERT_EQUAL(out.v[1].time_ms, 2000);
	CU_ASSERT_EQUAL(out.v[1].end_ms, 0);

	/* Stop: ended, gone from the table */
	e = in(RADIUS_STATUS_STOP, 5000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 1);
	CU_ASSERT_EQUAL(out.v[2].event, ASG_STOP);
	CU_ASSERT_EQUAL(out.v[2].start_ms, 1000);
	CU_ASSERT_EQUAL(out.v[2].end_ms, 5000);
	CU_ASSERT_PTR_NULL(who(s, "100.64.3.7"));
	CU_ASSERT_EQUAL(idstore_count(s), 0);

	/* an Interim for a session never started opens it */
	e = in(RADIUS_STATUS_INTERIM, 6000, "carol", "192.0.2.10", "s9",
	    "100.64.3.9/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 1);
	CU_ASSERT_EQUAL(out.v[3].event, ASG_INTERIM);
	CU_ASSERT_EQUAL(out.v[3].start_ms, 6000);
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.9"), "carol");

	/* nobody named: nothing stored */
	e = in(RADIUS_STATUS_START, 7000, "", "192.0.2.10", "s10",
	    "100.64.3.10/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 0);
	/* other status values change nothing */
	e = in(15, 7000, "dave", "192.0.2.10", "s11", "100.64.3.11/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 0);
	asg_vec_free(&out);
	idstore_free(s);
}

static void
test_moved(void)
{
	struct idstore *s = idstore_new();
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;

	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	idstore_apply(s, &e, "gw1", &out);
	/* the address goes to bob: alice's assignment ends at that moment */
	e = in(RADIUS_STATUS_START, 3000, "bob", "192.0.2.10", "s2",
	    "100.64.3.7/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 2);
	CU_ASSERT_EQUAL(out.v[1].event, ASG_MOVED);
	CU_ASSERT_STRING_EQUAL(out.v[1].subscriber, "alice");
	CU_ASSERT_EQUAL(out.v[1].start_ms, 1000);
	CU_ASSERT_EQUAL(out.v[1].end_ms, 3000);
	CU_ASSERT_EQUAL(out.v[2].event, ASG_START);
	CU_ASSERT_STRING_EQUAL(out.v[2].subscriber, "bob");
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.7"), "bob");

	/* alice's late Stop must not end bob's assignment */
	e = in(RADIUS_STATUS_STOP, 3500, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 0);
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.7"), "bob");

	/* a Stop naming no address ends every prefix of its session */
	e = in(RADIUS_STATUS_START, 3600, "bob", "192.0.2.10", "s2",
	    "2001:db8:ff00:100::/56");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 1);
	CU_ASSERT_STRING_EQUAL(who(s, "2001:db8:ff00:1ff::1"), "bob");
	e = in(RADIUS_STATUS_STOP, 4000, "bob", "192.0.2.10", "s2", NULL);
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 2);
	CU_ASSERT_EQUAL(idstore_count(s), 0);

	/* same session id on another NAS is another session */
	e = in(RADIUS_STATUS_START, 5000, "erin", "192.0.2.10", "x",
	    "100.64.3.7/32");
	idstore_apply(s, &e, "gw1", &out);
	e = in(RADIUS_STATUS_STOP, 5100, "erin", "192.0.2.11", "x",
	    "100.64.3.7/32");
	asg_vec_clear(&out);
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 0);
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.7"), "erin");
	asg_vec_free(&out);
	idstore_free(s);
}

static void
test_unknown_stop(void)
{
	struct idstore *s = idstore_new();
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;

	/* never saw the Start: a record with start unknown */
	e = in(RADIUS_STATUS_STOP, 9000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 1);
	CU_ASSERT_EQUAL(out.v[0].start_unknown, 1);
	CU_ASSERT_EQUAL(out.v[0].start_ms, 9000);
	CU_ASSERT_EQUAL(out.v[0].end_ms, 9000);
	asg_vec_free(&out);
	idstore_free(s);
}

static void
test_nas_reboot(void)
{
	struct idstore *s = idstore_new();
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;

	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	idstore_apply(s, &e, "gw1", &out);
	e = in(RADIUS_STATUS_START, 1000, "bob", "192.0.2.10", "s2",
	    "100.64.3.8/32");
	idstore_apply(s, &e, "gw1", &out);
	e = in(RADIUS_STATUS_START, 1000, "carol", "192.0.2.20", "s1",
	    "100.64.4.1/32");
	idstore_apply(s, &e, "gw1", &out);
	asg_vec_clear(&out);
	e = in(RADIUS_STATUS_ACCT_ON, 2000, "", "192.0.2.10", "", NULL);
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 2);
	CU_ASSERT_EQUAL(out.v[0].event, ASG_NAS_REBOOT);
	CU_ASSERT_EQUAL(out.v[0].end_ms, 2000);
	CU_ASSERT_EQUAL(out.v[1].event, ASG_NAS_REBOOT);
	CU_ASSERT_PTR_NULL(who(s, "100.64.3.7"));
	CU_ASSERT_PTR_NULL(who(s, "100.64.3.8"));
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.4.1"), "carol");
	e = in(RADIUS_STATUS_ACCT_OFF, 3000, "", "192.0.2.20", "", NULL);
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 1);
	CU_ASSERT_EQUAL(idstore_count(s), 0);
	asg_vec_free(&out);
	idstore_free(s);
}

static void
test_longest_prefix(void)
{
	struct idstore *s = idstore_new();
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;
	union sockaddr_any a = A("2001:db8:ff00:100::7");
	unsigned plen = 0;

	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s1",
	    "2001:db8:ff00:100::/56");
	e.prefix[e.nprefix++] = P("2001:db8:ff00:100::7/128");
	e.prefix[e.nprefix++] = P("100.64.3.7/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 3);
	e = in(RADIUS_STATUS_START, 1000, "pool", "192.0.2.10", "p",
	    "2001:db8:ff00::/40");
	idstore_apply(s, &e, "gw1", &out);
	CU_ASSERT_PTR_NOT_NULL(idstore_lookup(s, &a, &plen));
	CU_ASSERT_EQUAL(plen, 128);
	a = A("2001:db8:ff00:1ab::1");
	CU_ASSERT_STRING_EQUAL(idstore_lookup(s, &a, &plen)->subscriber,
	    "alice");
	CU_ASSERT_EQUAL(plen, 56);
	CU_ASSERT_STRING_EQUAL(who(s, "2001:db8:ff01::1"), "pool");
	CU_ASSERT_PTR_NULL(who(s, "2001:db9::1"));
	asg_vec_free(&out);
	idstore_free(s);
}

static void
test_remote_records(void)
{
	struct idstore *s = idstore_new();
	struct asg r;

	memset(&r, 0, sizeof(r));
	r.prefix = P("100.64.3.7/32");
	r.event = ASG_START;
	r.start_ms = r.time_ms = 2000;
	r.node = "gw2";
	r.subscriber = "alice";
	r.cls = "default";
	r.nas = "192.0.2.10";
	r.nas_name = "";
	r.session_id = "s1";
	r.calling_station_id = "";
	CU_ASSERT_EQUAL(idstore_apply_record(s, &r), 1);
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.7"), "alice");
	/* an older open one does not displace it */
	r.start_ms = 1000;
	r.subscriber = "old";
	r.session_id = "s0";
	CU_ASSERT_EQUAL(idstore_apply_record(s, &r), 0);
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.7"), "alice");
	/* another session's end leaves it */
	r.end_ms = 3000;
	CU_ASSERT_EQUAL(idstore_apply_record(s, &r), 0);
	/* its own end removes it */
	r.subscriber = "alice";
	r.session_id = "s1";
	r.start_ms = 2000;
	r.event = ASG_STOP;
	CU_ASSERT_EQUAL(idstore_apply_record(s, &r), 1);
	CU_ASSERT_PTR_NULL(who(s, "100.64.3.7"));
	idstore_free(s);
}

static void
test_from_radius(void)
{
	struct radius_acct ra;
	struct asg_input e;
	char *buf = xmalloc(ASG_INPUT_BUFLEN);
	uint8_t *pkt;
	size_t n;
	char pb[CIDR_STRLEN];

	pkt = unhex(golden_start, &n);
	CU_ASSERT_FATAL(radius_acct_parse(pkt, n, &ra) == 0);
	asg_input_from_radius(&e, &ra, "127.0.0.1", "bras1", 5000, buf);
	CU_ASSERT_EQUAL(e.status, RADIUS_STATUS_START);
	CU_ASSERT_EQUAL(e.time_ms, 5000);	/* no timestamp, no delay */
	CU_ASSERT_STRING_EQUAL(e.subscriber, "alice");
	CU_ASSERT_STRING_EQUAL(e.session_id, "s1");
	CU_ASSERT_STRING_EQUAL(e.calling_station_id, "02-00-00-00-00-01");
	CU_ASSERT_STRING_EQUAL(e.nas, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(e.nas_name, "bras1");
	CU_ASSERT_EQUAL(e.nprefix, 1);
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&e.prefix[0], pb, sizeof(pb)),
	    "100.64.3.7/32");
	free(pkt);

	pkt = unhex(golden_stop, &n);
	CU_ASSERT_FATAL(radius_acct_parse(pkt, n, &ra) == 0);
	asg_input_from_radius(&e, &ra, "127.0.0.1", "", 0, buf);
	/* Event-Timestamp wins over Acct-Delay-Time */
	CU_ASSERT_EQUAL(e.time_ms, 1795604592LL * 1000);
	CU_ASSERT_EQUAL(e.nprefix, 3);
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&e.prefix[1], pb, sizeof(pb)),
	    "2001:db8:1:2::/64");
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&e.prefix[2], pb, sizeof(pb)),
	    "2001:db8:ff00:100::/56");
	/* without the timestamp: reception minus the delay (RFC 2866 §5.2) */
	ra.has &= ~RADIUS_HAS_EVENT_TIME;
	asg_input_from_radius(&e, &ra, "127.0.0.1", "", 100000, buf);
	CU_ASSERT_EQUAL(e.time_ms, 95000);
	/* odd bytes in User-Name are escaped; no User-Name: the station */
	ra.user_name.ptr = (const uint8_t *)"a b\n";
	ra.user_name.len = 4;
	asg_input_from_radius(&e, &ra, "127.0.0.1", "", 0, buf);
	CU_ASSERT_STRING_EQUAL(e.subscriber, "a%20b%0A");
	ra.user_name.ptr = NULL;
	asg_input_from_radius(&e, &ra, "127.0.0.1", "", 0, buf);
	CU_ASSERT_STRING_EQUAL(e.subscriber, "02-00-00-00-00-01");
	free(pkt);
	free(buf);
}

/* The class a RADIUS attribute names (identity.radius.class_attribute). */
static const char class_yaml[] =
    "node: gw1\n"
    "policy:\n"
    "  default_class: residential\n"
    "  classes:\n"
    "    residential: {}\n"
    "    business: {}\n"
    "  prefixes:\n"
    "    - {prefix: 100.64.9.0/24, class: business}\n"
    "    - {prefix: \"2001:db8:1000::/36\", class: business, "
    "ipv6_aggregate: 48}\n"
    "identity:\n"
    "  static:\n"
    "    - {prefix: 100.64.7.0/24, subscriber: cust-7, class: business}\n"
    "    - {prefix: 100.64.9.128/25, subscriber: cust-9}\n"
    "  radius:\n"
    "    clients:\n"
    "      - {address: 192.0.2.10, secret: x}\n"
    "    class_attribute: Class\n";

static struct config *
class_config(void)
{
	char err[256];
	struct config *c = config_load_string(class_yaml, strlen(class_yaml),
	    "t.yaml", err, sizeof(err));

	if (c == NULL)
		fprintf(stderr, "\nclass_config: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

static void
test_class_named(void)
{
	struct config *c = class_config();
	const char *biz = config_class(c, "business")->name;
	uint8_t big[300];

#define NAMED(lit) identity_class_named(c, lit, sizeof(lit) - 1)
	CU_ASSERT_PTR_EQUAL(NAMED("business"), biz);	/* c's own string */
	CU_ASSERT_PTR_EQUAL(NAMED("  business \t"), biz);
	CU_ASSERT_PTR_EQUAL(NAMED("business\r\n"), biz);
	CU_ASSERT_PTR_EQUAL(NAMED("business\0"), biz);	/* a C string's NUL */
	CU_ASSERT_PTR_EQUAL(NAMED("\0business"), biz);
	CU_ASSERT_STRING_EQUAL(NAMED("residential"), "residential");
	CU_ASSERT_PTR_NULL(NAMED("Business"));		/* exact */
	CU_ASSERT_PTR_NULL(NAMED("business2"));
	CU_ASSERT_PTR_NULL(NAMED("busi ness"));
	CU_ASSERT_PTR_NULL(NAMED("business\0x"));	/* no NUL inside */
	CU_ASSERT_PTR_NULL(NAMED("business\xff"));
	CU_ASSERT_PTR_NULL(NAMED("%62usiness"));
	CU_ASSERT_PTR_NULL(NAMED(""));
	CU_ASSERT_PTR_NULL(NAMED(" \t\r\n\0"));
	CU_ASSERT_PTR_NULL(NAMED("gold"));
#undef NAMED
	CU_ASSERT_PTR_NULL(identity_class_named(c, NULL, 0));
	CU_ASSERT_PTR_NULL(identity_class_named(NULL, "business", 8));
	/* bounded: 253 name characters are looked up, more are not */
	memset(big, 'b', sizeof(big));
	CU_ASSERT_PTR_NULL(identity_class_named(c, big, 253));
	CU_ASSERT_PTR_NULL(identity_class_named(c, big, sizeof(big)));
	memcpy(big + 245, "business", 8);
	CU_ASSERT_PTR_NULL(identity_class_named(c, big + 245, 8 + 47));
	CU_ASSERT_PTR_EQUAL(identity_class_named(c, big + 245, 8), biz);
	config_free(c);
}

static void
test_radius_class(void)
{
	struct config *c = class_config();
	struct radius_acct ra;
	struct radius_str raw = { NULL, 0 };
	const char *cls = NULL;

	memset(&ra, 0, sizeof(ra));
	/* absent: nothing to say */
	CU_ASSERT_EQUAL(identity_radius_class(c, &ra, &cls, &raw), 0);
	/* Class names a configured class */
	ra.class_attr.ptr = (const uint8_t *)"business";
	ra.class_attr.len = 8;
	ra.filter_id.ptr = (const uint8_t *)"residential";
	ra.filter_id.len = 11;
	CU_ASSERT_EQUAL(identity_radius_class(c, &ra, &cls, &raw), 1);
	CU_ASSERT_PTR_EQUAL(cls, config_class(c, "business")->name);
	/* names none: -1 and the raw view, for the escaped log line */
	ra.class_attr.ptr = (const uint8_t *)"gold\n";
	ra.class_attr.len = 5;
	CU_ASSERT_EQUAL(identity_radius_class(c, &ra, &cls, &raw), -1);
	CU_ASSERT_PTR_EQUAL(raw.ptr, ra.class_attr.ptr);
	CU_ASSERT_EQUAL(raw.len, 5);
	/* Filter-Id reads the other attribute */
	free(c->identity.radius.class_attribute);
	c->identity.radius.class_attribute = xstrdup("Filter-Id");
	CU_ASSERT_EQUAL(identity_radius_class(c, &ra, &cls, &raw), 1);
	CU_ASSERT_STRING_EQUAL(cls, "residential");
	ra.filter_id.ptr = NULL;
	CU_ASSERT_EQUAL(identity_radius_class(c, &ra, &cls, &raw), 0);
	/* off */
	free(c->identity.radius.class_attribute);
	c->identity.radius.class_attribute = NULL;
	ra.class_attr.ptr = (const uint8_t *)"business";
	ra.class_attr.len = 8;
	CU_ASSERT_EQUAL(identity_radius_class(c, &ra, &cls, &raw), 0);
	config_free(c);
}

static const char *
lookup_class(const char *addr, struct identity *id)
{
	union sockaddr_any a = A(addr);

	memset(id, 0, sizeof(*id));
	identity_lookup(&a, 0, id);
	return id->cls->name;
}

/* The service: a RADIUS assignment's class is the one its attribute named;
 * otherwise policy.prefixes / the default, as before. */
static void
test_lookup_class(void)
{
	struct config *c = class_config();
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;
	struct identity id;
	struct asg back, r;
	char *j;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(identity_init(c), 0);
	/* named by RADIUS */
	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	e.cls = config_class(c, "business")->name;
	e.cls_radius = 1;
	CU_ASSERT_EQUAL(identity_apply(&e, &out), 1);
	CU_ASSERT_STRING_EQUAL(lookup_class("100.64.3.7", &id), "business");
	CU_ASSERT_EQUAL(id.source, IDENTITY_RADIUS);
	CU_ASSERT_STRING_EQUAL(out.v[0].cls, "business");
	CU_ASSERT_EQUAL(out.v[0].cls_radius, 1);
	j = asg_to_json(&out.v[0], &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"class\":\"business\","
	    "\"class_source\":\"radius\","));
	CU_ASSERT_EQUAL(asg_from_json(j, len, &back), 0);
	CU_ASSERT_EQUAL(back.cls_radius, 1);
	asg_free(&back);
	free(j);
	/* not named: policy.prefixes, else the default; no class_source */
	e = in(RADIUS_STATUS_START, 1000, "bob", "192.0.2.10", "s2",
	    "100.64.9.9/32");
	e.cls = "residential";	/* what the listener computed for prefix[0] */
	CU_ASSERT_EQUAL(identity_apply(&e, &out), 1);
	CU_ASSERT_STRING_EQUAL(lookup_class("100.64.9.9", &id), "business");
	j = asg_to_json(&out.v[1], &len);
	CU_ASSERT_PTR_NULL(strstr(j, "class_source"));
	CU_ASSERT_EQUAL(asg_from_json(j, len, &back), 0);
	CU_ASSERT_EQUAL(back.cls_radius, 0);
	asg_free(&back);
	free(j);
	CU_ASSERT_STRING_EQUAL(lookup_class("100.64.4.4", &id), "residential");
	/* an Interim naming another class changes it; one naming none keeps it */
	e = in(RADIUS_STATUS_INTERIM, 2000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	e.cls = "residential";
	e.cls_radius = 1;
	CU_ASSERT_EQUAL(identity_apply(&e, &out), 1);
	CU_ASSERT_STRING_EQUAL(out.v[2].cls, "residential");
	CU_ASSERT_STRING_EQUAL(lookup_class("100.64.3.7", &id), "residential");
	e.cls = "business";	/* e.g. from policy.prefixes: not RADIUS's */
	e.cls_radius = 0;
	e.time_ms = 3000;
	CU_ASSERT_EQUAL(identity_apply(&e, &out), 1);
	CU_ASSERT_STRING_EQUAL(out.v[3].cls, "residential");
	CU_ASSERT_EQUAL(out.v[3].cls_radius, 1);
	/* another node's record naming a class unknown here: the fallback */
	memset(&r, 0, sizeof(r));
	r.prefix = P("100.64.5.5/32");
	r.event = ASG_START;
	r.start_ms = r.time_ms = 2000;
	r.node = "gw2";
	r.subscriber = "carol";
	r.cls = "gold";
	r.cls_radius = 1;
	r.nas = "192.0.2.10";
	r.nas_name = "";
	r.session_id = "s3";
	r.calling_station_id = "";
	CU_ASSERT_EQUAL(identity_apply_record(&r), 1);
	CU_ASSERT_STRING_EQUAL(lookup_class("100.64.5.5", &id), "residential");
	CU_ASSERT_STRING_EQUAL(id.subscriber, "carol");
	/* class_attribute off: RADIUS's class is not used */
	free(c->identity.radius.class_attribute);
	c->identity.radius.class_attribute = NULL;
	CU_ASSERT_STRING_EQUAL(lookup_class("100.64.3.7", &id), "residential");
	identity_shutdown();
	asg_vec_free(&out);
	config_free(c);
}

/* session - one identity decision for src, as relay_start takes it at
 * accept: into the audit record rec and the subscriber the policy counts
 * (*psub, in buf). */
static void
session(const char *addr, struct identity *id, struct audit_session *rec,
    const char **psub, char *buf)
{
	union sockaddr_any src = A(addr), dst = A("192.0.2.25");

	memset(id, 0, sizeof(*id));
	identity_lookup(&src, 0, id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id->cls);
	audit_session_init(rec, 0, 1, 0, LISTEN_SMTP, &src, &dst);
	audit_session_set_identity(rec, id->subscriber,
	    identity_source_name(id->source), id->cls->name);
	*psub = pc_subscriber(id, &src, buf, PC_SUB_ADDR_MAX);
}

/* One decision per session (class_yaml): the record and the limiter name
 * the same subscriber and class, even when the table changes after. */
static void
test_one_decision(void)
{
	char buf[PC_SUB_ADDR_MAX];
	struct config *c = class_config();
	const struct policy_class *biz, *res;
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;
	struct identity id, now;
	struct audit_session rec;
	union sockaddr_any a;
	const char *sub;
	static const struct {
		const char *addr;
		enum identity_source source;
		const char *record;	/* the audit record's subscriber */
		const char *counted;	/* the limiter's */
		const char *cls;
		int own_class;		/* the static entry names it */
	} cases[] = {
		{ "100.64.7.9", IDENTITY_STATIC, "cust-7", "cust-7",
		  "business", 1 },
		{ "100.64.9.200", IDENTITY_STATIC, "cust-9", "cust-9",
		  "business", 0 },
		{ "100.64.9.9", IDENTITY_ADDRESS, "100.64.9.9", "100.64.9.9",
		  "business", 0 },
		{ "2001:db8:1:2:aaaa::7", IDENTITY_ADDRESS,
		  "2001:db8:1:2:aaaa::7", "2001:db8:1:2::/64", "residential", 0 },
		{ "::ffff:100.64.4.4", IDENTITY_ADDRESS, "100.64.4.4",
		  "100.64.4.4", "residential", 0 },
		/* a prefix whose lines get /48s: counted per /48 */
		{ "2001:db8:1000:5:6::7", IDENTITY_ADDRESS,
		  "2001:db8:1000:5:6::7", "2001:db8:1000::/48", "business", 0 },
	};

	CU_ASSERT_EQUAL_FATAL(identity_init(c), 0);
	biz = config_class(c, "business");
	res = config_class(c, "residential");
	CU_ASSERT_PTR_NOT_NULL_FATAL(biz);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res);

	/* RADIUS names alice and the class; the class is the configuration's
	 * own struct, not a name to look up again */
	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	e.cls = biz->name;
	e.cls_radius = 1;
	CU_ASSERT_EQUAL(identity_apply(&e, &out), 1);
	session("100.64.3.7", &id, &rec, &sub, buf);
	CU_ASSERT_EQUAL(id.source, IDENTITY_RADIUS);
	CU_ASSERT_PTR_EQUAL(id.cls, biz);
	/* the address moves to bob before the session is done with it */
	e = in(RADIUS_STATUS_START, 2000, "bob", "192.0.2.10", "s2",
	    "100.64.3.7/32");
	CU_ASSERT_EQUAL(identity_apply(&e, &out), 2);	/* moved, start */
	a = A("100.64.3.7");
	identity_lookup(&a, 0, &now);
	CU_ASSERT_STRING_EQUAL(now.subscriber, "bob");
	CU_ASSERT_PTR_EQUAL(now.cls, res);
	/* the record and the limiter both name the decision taken */
	CU_ASSERT_STRING_EQUAL(rec.subscriber, "alice");
	CU_ASSERT_STRING_EQUAL(pc_subscriber(&id, &a, buf, sizeof(buf)),
	    "alice");
	CU_ASSERT_STRING_EQUAL(sub, rec.subscriber);
	CU_ASSERT_STRING_EQUAL(rec.policy_class, "business");
	CU_ASSERT_PTR_EQUAL(id.cls, biz);
	audit_session_free(&rec);

	/* static entries and nobody known: the record keeps the address,
	 * the limits count it (IPv4) or its /64 (IPv6); v4-mapped is IPv4.
	 * A class no static entry names comes from the one policy.prefixes
	 * table that identity_class_of (the RADIUS listener's) reads too. */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		session(cases[i].addr, &id, &rec, &sub, buf);
		CU_ASSERT_EQUAL(id.source, cases[i].source);
		CU_ASSERT_STRING_EQUAL(rec.subscriber, cases[i].record);
		CU_ASSERT_STRING_EQUAL(sub, cases[i].counted);
		CU_ASSERT_PTR_EQUAL(id.cls, config_class(c, cases[i].cls));
		CU_ASSERT_STRING_EQUAL(rec.policy_class, cases[i].cls);
		a = A(cases[i].addr);
		if (!cases[i].own_class)
			CU_ASSERT_PTR_EQUAL(identity_class_of(&a),
			    id.cls->name);
		audit_session_free(&rec);
	}

	identity_shutdown();
	asg_vec_free(&out);
	config_free(c);
}

/* write_records - the records of a little history as audit lines, with a
 * session record and a broken line in between. */
static void
write_history(const char *path)
{
	struct idstore *s = idstore_new();
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	idstore_apply(s, &e, "gw1", &out);
	e = in(RADIUS_STATUS_INTERIM, 2000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	idstore_apply(s, &e, "gw1", &out);
	e = in(RADIUS_STATUS_START, 3000, "bob", "192.0.2.10", "s2",
	    "100.64.3.7/32");
	idstore_apply(s, &e, "gw1", &out);	/* alice moved, bob started */
	e = in(RADIUS_STATUS_START, 3000, "carol", "192.0.2.10", "s3",
	    "100.64.3.0/24");
	idstore_apply(s, &e, "gw1", &out);
	e = in(RADIUS_STATUS_INTERIM, 4000, "bob", "192.0.2.10", "s2",
	    "100.64.3.7/32");
	idstore_apply(s, &e, "gw1", &out);
	for (size_t i = 0; i < out.n; i++) {
		size_t len;
		char *j = asg_to_json(&out.v[i], &len);

		fprintf(f, "%s\n", j);
		if (i == 1)
			fprintf(f, "{\"v\":1,\"type\":\"session\",\"src\":"
			    "\"100.64.3.7\"}\n{\"v\":1,\"type\":\"assignment\",\n");
		free(j);
	}
	/* a Stop for bob written by a node that never saw his Start */
	fprintf(f, "{\"v\":1,\"type\":\"assignment\",\"node\":\"gw2\","
	    "\"event\":\"stop\",\"prefix\":\"100.64.3.7/32\",\"start_ms\":6000,"
	    "\"start_unknown\":true,\"end_ms\":6000,\"nas\":\"192.0.2.10\","
	    "\"acct_session_id\":\"s2\",\"subscriber\":\"bob\"}\n");
	fclose(f);
	asg_vec_free(&out);
	idstore_free(s);
}

static const char *
query(const char *path, const char *addr, int64_t t, size_t *n)
{
	static char first[64];
	struct asg_vec out = { NULL, 0, 0 };
	char *files[1] = { (char *)path };
	union sockaddr_any a = A(addr);
	char err[128];
	size_t bad = 0;

	CU_ASSERT_EQUAL(asg_query_files(files, 1, &a, 0, t, &out, &bad, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(bad, 1);
	*n = out.n;
	snprintf(first, sizeof(first), "%s", out.n ? out.v[0].subscriber : "");
	asg_vec_free(&out);
	return first;
}

static void
test_query_files(void)
{
	char path[] = "/tmp/sg_test_identity_XXXXXX";
	int fd = mkstemp(path);
	size_t n;
	char *files[1] = { path };
	struct asg_vec out = { NULL, 0, 0 };
	union sockaddr_any a = A("100.64.3.7");
	char err[128];

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	write_history(path);
	CU_ASSERT_STRING_EQUAL(query(path, "100.64.3.7", 999, &n), "");
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_STRING_EQUAL(query(path, "100.64.3.7", 1000, &n), "alice");
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(query(path, "100.64.3.7", 2500, &n), "alice");
	/* the moment of the move: both held it (end >= T, start <= T);
	 * the later start comes first */
	CU_ASSERT_STRING_EQUAL(query(path, "100.64.3.7", 3000, &n), "bob");
	CU_ASSERT_EQUAL(n, 3);	/* bob /32, alice /32, carol /24 */
	CU_ASSERT_STRING_EQUAL(query(path, "100.64.3.7", 5000, &n), "bob");
	CU_ASSERT_EQUAL(n, 2);	/* bob /32 before carol /24 */
	/* bob's Stop with an unknown start closed his assignment at 6000 */
	CU_ASSERT_STRING_EQUAL(query(path, "100.64.3.7", 6001, &n), "carol");
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(query(path, "100.64.3.9", 6001, &n), "carol");
	CU_ASSERT_STRING_EQUAL(query(path, "::ffff:100.64.3.9", 6001, &n),
	    "carol");
	CU_ASSERT_STRING_EQUAL(query(path, "100.64.4.1", 6001, &n), "");

	/* the merged state: bob's assignment starts at 3000 and ends at 6000 */
	CU_ASSERT_EQUAL(asg_query_files(files, 1, &a, 0, 5000, &out, NULL,
	    err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.v[0].start_ms, 3000);
	CU_ASSERT_EQUAL(out.v[0].end_ms, 6000);
	CU_ASSERT_EQUAL(out.v[0].event, ASG_STOP);
	asg_vec_free(&out);
	files[0] = "/nonexistent/audit.jsonl";
	CU_ASSERT_EQUAL(asg_query_files(files, 1, &a, 0, 5000, &out, NULL,
	    err, sizeof(err)), -1);
	unlink(path);
}

static void
test_covers(void)
{
	struct asg g;
	union sockaddr_any a = A("100.64.3.7"), b = A("100.64.3.8");

	memset(&g, 0, sizeof(g));
	g.prefix = P("100.64.3.7/32");
	g.start_ms = 1000;
	CU_ASSERT_FALSE(asg_covers(&g, &a, 999));
	CU_ASSERT_TRUE(asg_covers(&g, &a, 1000));
	CU_ASSERT_TRUE(asg_covers(&g, &a, 1LL << 50));	/* open */
	CU_ASSERT_FALSE(asg_covers(&g, &b, 1000));
	g.end_ms = 2000;
	CU_ASSERT_TRUE(asg_covers(&g, &a, 2000));
	CU_ASSERT_FALSE(asg_covers(&g, &a, 2001));
}

/* A late Start or Interim of an older session (a NAS's retransmission
 * queue, a reordering proxy) does not take the address from the session
 * that holds it now; the same rule as for other nodes' records. */
static void
test_late_event(void)
{
	struct idstore *s = idstore_new(), *t = idstore_new();
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;

	e = in(RADIUS_STATUS_START, 3000, "bob", "192.0.2.10", "s2",
	    "100.64.3.7/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 1);
	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 0);
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.7"), "bob");
	e.status = RADIUS_STATUS_INTERIM;
	e.time_ms = 2999;
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 0);
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.7"), "bob");
	CU_ASSERT_EQUAL(out.n, 1);
	/* the other node, fed bob's record then alice's (had this node
	 * written one), agrees */
	CU_ASSERT_EQUAL(idstore_apply_record(t, &out.v[0]), 1);
	{
		struct asg r;

		asg_copy(&r, &out.v[0]);
		free(r.subscriber);
		r.subscriber = xstrdup("alice");
		free(r.session_id);
		r.session_id = xstrdup("s1");
		r.start_ms = r.time_ms = 1000;
		CU_ASSERT_EQUAL(idstore_apply_record(t, &r), 0);
		asg_free(&r);
	}
	CU_ASSERT_STRING_EQUAL(who(t, "100.64.3.7"), "bob");
	/* an event at or after bob's start is news: the address moves */
	e.time_ms = 3000;
	CU_ASSERT_EQUAL(idstore_apply(s, &e, "gw1", &out), 2);
	CU_ASSERT_EQUAL(out.v[1].event, ASG_MOVED);
	CU_ASSERT_STRING_EQUAL(who(s, "100.64.3.7"), "alice");
	asg_vec_free(&out);
	idstore_free(s);
	idstore_free(t);
}

/* What a NAS may assign (identity.radius.clients[].prefixes,
 * min_prefix_v4/v6) and which classes it may name. */
static const char admit_yaml[] =
    "node: gw1\n"
    "policy:\n"
    "  default_class: residential\n"
    "  classes:\n"
    "    residential: {}\n"
    "    business: {}\n"
    "identity:\n"
    "  static:\n"
    "    - {prefix: 100.64.7.0/24, subscriber: cust-7}\n"
    "  radius:\n"
    "    clients:\n"
    "      - {address: 192.0.2.10, secret: x, prefixes: [100.64.0.0/10,\n"
    "         \"2001:db8::/32\"], classes: [residential]}\n"
    "      - {address: 192.0.2.20, secret: x}\n"
    "    class_attribute: Class\n";

static struct config *
yaml_config(const char *yaml, char *err, size_t errlen)
{
	return config_load_string(yaml, strlen(yaml), "t.yaml", err, errlen);
}

static void
test_admit(void)
{
	char err[256];
	struct config *c = yaml_config(admit_yaml, err, sizeof(err));
	struct identity_refused r[ASG_MAXPREFIX];
	const struct radius_client *bras, *any;
	struct asg_input e;
	size_t n;

	if (c == NULL)
		fprintf(stderr, "\nadmit_yaml: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	bras = &c->identity.radius.clients[0];
	any = &c->identity.radius.clients[1];
	CU_ASSERT_EQUAL(bras->nprefixes, 2);
	/* the defaults: one subscriber's share at most */
	CU_ASSERT_EQUAL(c->identity.radius.min_plen_v4, 24);
	CU_ASSERT_EQUAL(c->identity.radius.min_plen_v6, 48);
	CU_ASSERT_EQUAL(c->identity.radius.override_static, 0);

	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s1",
	    "100.64.3.7/32");
	e.prefix[e.nprefix++] = P("198.51.100.7/32");	/* outside */
	e.prefix[e.nprefix++] = P("2001:db8:ff00:100::/56");
	e.prefix[e.nprefix++] = P("2000::/3");		/* too short */
	e.prefix[e.nprefix++] = P("100.64.0.0/16");	/* too short */
	e.prefix[e.nprefix++] = P("2001:db9::1/128");	/* outside */
	n = identity_radius_admit(&c->identity.radius, bras, &e, r);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL_FATAL(e.nprefix, 2);
	CU_ASSERT_EQUAL(e.prefix[0].plen, 32);
	CU_ASSERT_EQUAL(e.prefix[1].plen, 56);
	CU_ASSERT_STRING_EQUAL(r[0].why, "outside_pools");
	CU_ASSERT_EQUAL(r[1].prefix.plen, 3);
	CU_ASSERT_STRING_EQUAL(r[1].why, "too_short");
	CU_ASSERT_STRING_EQUAL(r[2].why, "too_short");
	CU_ASSERT_STRING_EQUAL(r[3].why, "outside_pools");
	/* a NAS without pools: anything long enough */
	e = in(RADIUS_STATUS_INTERIM, 1000, "bob", "192.0.2.20", "s2",
	    "198.51.100.7/32");
	e.prefix[e.nprefix++] = P("2000::/3");
	CU_ASSERT_EQUAL(identity_radius_admit(&c->identity.radius, any, &e,
	    r), 1);
	CU_ASSERT_EQUAL(e.nprefix, 1);
	/* a Stop is left alone: it ends only what was taken */
	e = in(RADIUS_STATUS_STOP, 1000, "bob", "192.0.2.10", "s2",
	    "198.51.100.7/32");
	CU_ASSERT_EQUAL(identity_radius_admit(&c->identity.radius, bras, &e,
	    r), 0);
	CU_ASSERT_EQUAL(e.nprefix, 1);
	/* classes */
	CU_ASSERT_TRUE(identity_client_class_ok(bras, "residential"));
	CU_ASSERT_FALSE(identity_client_class_ok(bras, "business"));
	CU_ASSERT_TRUE(identity_client_class_ok(any, "business"));
	config_free(c);
}

static void
test_admit_config(void)
{
	char err[256], *y;
	struct config *c;
	const char *p;

	/* a class no policy defines: located */
	y = xstrdup(admit_yaml);
	p = strstr(y, "classes: [residential]");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(y + (p - y), "classes: [gold]       ", 22);
	c = yaml_config(y, err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "classes[0]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "gold"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.yaml:13"));
	config_free(c);
	free(y);
	/* bounds of the minimum lengths */
	y = xmalloc(strlen(admit_yaml) + 256);
	sprintf(y, "%s    min_prefix_v6: 129\n", admit_yaml);
	c = yaml_config(y, err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	config_free(c);
	sprintf(y, "%s    min_prefix_v4: 16\n    min_prefix_v6: 32\n"
	    "    override_static: true\n", admit_yaml);
	c = yaml_config(y, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->identity.radius.min_plen_v4, 16);
	CU_ASSERT_EQUAL(c->identity.radius.min_plen_v6, 32);
	CU_ASSERT_EQUAL(c->identity.radius.override_static, 1);
	config_free(c);
	free(y);
}

/* A static entry is not overridden by RADIUS unless the operator says so. */
static void
test_static_wins(void)
{
	char err[256];
	struct config *c = yaml_config(admit_yaml, err, sizeof(err));
	struct asg_vec out = { NULL, 0, 0 };
	struct asg_input e;
	struct identity id;
	union sockaddr_any a = A("100.64.7.9");

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(identity_init(c), 0);
	e = in(RADIUS_STATUS_START, 1000, "mallory", "192.0.2.10", "s1",
	    "100.64.7.9/32");
	CU_ASSERT_EQUAL(identity_apply(&e, &out), 1);
	identity_lookup(&a, 0, &id);
	CU_ASSERT_EQUAL(id.source, IDENTITY_STATIC);
	CU_ASSERT_STRING_EQUAL(id.subscriber, "cust-7");
	/* outside every static entry RADIUS answers */
	e = in(RADIUS_STATUS_START, 1000, "alice", "192.0.2.10", "s2",
	    "100.64.8.9/32");
	CU_ASSERT_EQUAL(identity_apply(&e, &out), 1);
	a = A("100.64.8.9");
	identity_lookup(&a, 0, &id);
	CU_ASSERT_EQUAL(id.source, IDENTITY_RADIUS);
	/* override_static: the longest prefix, RADIUS at equal length */
	c->identity.radius.override_static = 1;
	a = A("100.64.7.9");
	identity_lookup(&a, 0, &id);
	CU_ASSERT_EQUAL(id.source, IDENTITY_RADIUS);
	CU_ASSERT_STRING_EQUAL(id.subscriber, "mallory");
	identity_shutdown();
	asg_vec_free(&out);
	config_free(c);
}

/* A record from a hostile Redis or file: strings come out escaped the way
 * identity.h stores them; an oversized one is refused; the terminal sees
 * escapes, never the bytes (proxy/cli/term.c). */
static void
test_hostile_record(void)
{
	static const char rec[] = "{\"v\":1,\"type\":\"assignment\","
	    "\"event\":\"start\",\"prefix\":\"100.64.3.7/32\",\"start_ms\":1,"
	    "\"subscriber\":\"ok%20x\",\"nas_name\":\"b\\u001b[31m\\u009b\"}";
	char out[TERM_SAFE_MAX(16)], *big;
	struct asg a;

	CU_ASSERT_EQUAL_FATAL(asg_from_json(rec, strlen(rec), &a), 0);
	CU_ASSERT_STRING_EQUAL(a.subscriber, "ok%20x");	/* already stored form */
	CU_ASSERT_STRING_EQUAL(a.nas_name, "b%1B[31m%C2%9B");
	asg_free(&a);
	big = xcalloc(1, ASG_JSON_MAX + 2);
	memcpy(big, rec, strlen(rec));
	memset(big + strlen(rec), ' ', ASG_JSON_MAX + 1 - strlen(rec));
	CU_ASSERT_EQUAL(asg_from_json(big, ASG_JSON_MAX + 1, &a), SG_EINVAL);
	CU_ASSERT_EQUAL(asg_from_json(big, ASG_JSON_MAX, &a), 0);
	asg_free(&a);
	free(big);
	CU_ASSERT_EQUAL(asg_from_json(NULL, 0, &a), SG_EINVAL);

	CU_ASSERT_STRING_EQUAL(term_safe(out, sizeof(out), "plain text"),
	    "plain text");
	CU_ASSERT_STRING_EQUAL(term_safe(out, sizeof(out), "a\x1b[1m"),
	    "\"a\\x1b[1m\"");
	CU_ASSERT_STRING_EQUAL(term_safe(out, sizeof(out), "\xc2\x9b"),
	    "\"\\xc2\\x9b\"");
	CU_ASSERT_STRING_EQUAL(term_safe(out, sizeof(out), "\x7f"),
	    "\"\\x7f\"");
}

int
suite_identity_register(void)
{
	CU_pSuite s = CU_add_suite("identity", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "escape", test_escape) == NULL ||
	    CU_add_test(s, "start_interim_stop", test_start_interim_stop) == NULL ||
	    CU_add_test(s, "moved", test_moved) == NULL ||
	    CU_add_test(s, "unknown_stop", test_unknown_stop) == NULL ||
	    CU_add_test(s, "nas_reboot", test_nas_reboot) == NULL ||
	    CU_add_test(s, "longest_prefix", test_longest_prefix) == NULL ||
	    CU_add_test(s, "remote_records", test_remote_records) == NULL ||
	    CU_add_test(s, "from_radius", test_from_radius) == NULL ||
	    CU_add_test(s, "class_named", test_class_named) == NULL ||
	    CU_add_test(s, "radius_class", test_radius_class) == NULL ||
	    CU_add_test(s, "lookup_class", test_lookup_class) == NULL ||
	    CU_add_test(s, "one_decision", test_one_decision) == NULL ||
	    CU_add_test(s, "covers", test_covers) == NULL ||
	    CU_add_test(s, "query_files", test_query_files) == NULL ||
	    CU_add_test(s, "late_event", test_late_event) == NULL ||
	    CU_add_test(s, "admit", test_admit) == NULL ||
	    CU_add_test(s, "admit_config", test_admit_config) == NULL ||
	    CU_add_test(s, "static_wins", test_static_wins) == NULL ||
	    CU_add_test(s, "hostile_record", test_hostile_record) == NULL)
		return -1;
	return 0;
}
