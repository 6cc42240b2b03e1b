/*
 * test_radius.c - RADIUS accounting decoding, authenticators and responses.
 * Golden packets were captured from FreeRADIUS radclient 3.2 (Debian 12
 * freeradius-utils); the response vector is one radclient accepted. Every
 * packet under test sits in a heap buffer of exactly its size so that ASan
 * catches any read past len.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "radius.h"
#include "suites.h"
#include "util.h"

#define SECRET "testing123"

/* Start: Framed-IP-Address 100.64.3.7, User-Name "alice", Acct-Session-Id
 * "s1", Calling-Station-Id "02-00-00-00-00-01", NAS-IP-Address 127.0.0.1. */
static const char golden_start[] =
    "043d004467a6a72b54a16e7fc79b02d81d0bc06e2806000000010806644003070107"
    "616c6963652c0473311f1330322d30302d30302d30302d30302d303104067f000001";

/* Interim-Update: as Start plus Framed-IPv6-Prefix 2001:db8:1:2::/64,
 * Delegated-IPv6-Prefix 2001:db8:ff00:100::/56 (both sent with 16 prefix
 * octets), Event-Timestamp 1795600992, Acct-Delay-Time 0. */
static const char golden_interim[] =
    "0400007822faab30ddfa79e6ba649541c77944a12806000000030806644003076114"
    "004020010db80001000200000000000000007b14003820010db8ff00010000000000"
    "000000000107616c6963652c0473311f1330322d30302d30302d30302d30302d3031"
    "04067f00000137066b06b260290600000000";

/* Stop: as Interim, Event-Timestamp 1795604592, Acct-Delay-Time 5,
 * Acct-Terminate-Cause User-Request, Acct-Session-Time 3600. */
static const char golden_stop[] =
    "047a008493e6634097bf9ff5270f14184d97e71e2806000000020806644003076114"
    "004020010db80001000200000000000000007b14003820010db8ff00010000000000"
    "000000000107616c6963652c0473311f1330322d30302d30302d30302d30302d3031"
    "04067f00000137066b06c0702906000000053106000000012e0600000e10";

/* Start, secret "s3cr3t-2": Framed-IPv6-Address 2001:db8:1:2::7,
 * Delegated-IPv6-Prefix 2001:db8:ff00:200::/56, User-Name "bob@isp.example",
 * Acct-Session-Id "0000A1B2-77", NAS-IPv6-Address 2001:db8::1,
 * NAS-Identifier "bng-1.pop3", Event-Timestamp 1795600000. */
static const char golden_v6[] =
    "04a400820f4440002a57c7f272b0e1da04f724bc280600000001a81220010db80001"
    "000200000000000000077b14003820010db8ff00020000000000000000000111626f"
    "62406973702e6578616d706c652c0d30303030413142322d37375f1220010db80000"
    "00000000000000000001200c626e672d312e706f703337066b06ae80";

/* Accounting-On: NAS-IP-Address 192.0.2.1, NAS-Identifier "bng-2",
 * Acct-Session-Id "00000000". */
static const char golden_on[] =
    "043e00318ec7e5d892c907105022a4b7e93955172806000000070406c00002012007"
    "626e672d322c0a3030303030303030";

/* Start with two Proxy-State attributes and a Cisco-AVPair VSA. */
static const char golden_proxy[] =
    "04c80051de5a7b86180bd75e37d16ac4abfd120628060000000108066440090901076361"
    "726f6c2c0473390406c00002012106010203042104aabb1a16000000090110737562"
    "736372696265723a783d31";

/* An Interim-Update with Proxy-State "proxy-1", and the Accounting-Response
 * radius_acct_response() built for it, which radclient accepted. */
static const char interop_req[] =
    "0481006249893711b08022cd482b9c33124a33c02806000000030806644003076114"
    "004020010db80001000200000000000000007b14003820010db8ff00010000000000"
    "000000000107616c6963652c04733104067f000001210970726f78792d31";
static const char interop_resp[] =
    "0581001d781a18315345f928e589241235042983210970726f78792d31";

static const char *const goldens[] = {
	golden_start, golden_interim, golden_stop, golden_v6, golden_on,
	golden_proxy, interop_req,
};

/* unhex - decode into a fresh buffer of exactly the decoded size. */
static uint8_t *
unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2, i;
	uint8_t *b = xmalloc(n);
	unsigned v;

	for (i = 0; i < n; i++) {
		sscanf(hex + 2 * i, "%2x", &v);
		b[i] = (uint8_t)v;
	}
	*len = n;
	return b;
}

static int
str_is(const struct radius_str *s, const char *want)
{
	return s->ptr != NULL && s->len == strlen(want) &&
	    memcmp(s->ptr, want, s->len) == 0;
}

static int
prefix_is(const struct radius_ip6prefix *p, const char *addr, unsigned plen)
{
	uint8_t a[16];

	return inet_pton(AF_INET6, addr, a) == 1 && p->plen == plen &&
	    memcmp(p->addr, a, 16) == 0;
}

static int
ip4_is(const uint8_t *got, const char *addr)
{
	uint8_t a[4];

	return inet_pton(AF_INET, addr, a) == 1 && memcmp(got, a, 4) == 0;
}

static int
ip6_is(const uint8_t *got, const char *addr)
{
	uint8_t a[16];

	return inet_pton(AF_INET6, addr, a) == 1 && memcmp(got, a, 16) == 0;
}

static int
verify(const uint8_t *p, size_t n, const char *secret)
{
	return radius_acct_verify(p, n, (const uint8_t *)secret,
	    strlen(secret));
}

static void
test_golden_start(void)
{
	struct radius_acct a;
	size_t n;
	uint8_t *p = unhex(golden_start, &n);

	CU_ASSERT_EQUAL_FATAL(radius_acct_parse(p, n, &a), 0);
	CU_ASSERT_EQUAL(a.id, 0x3d);
	CU_ASSERT_EQUAL(a.length, 68);
	CU_ASSERT_PTR_EQUAL(a.authenticator, p + 4);
	CU_ASSERT_EQUAL(a.status, RADIUS_STATUS_START);
	CU_ASSERT_EQUAL(a.has, RADIUS_HAS_FRAMED_IP | RADIUS_HAS_NAS_IP);
	CU_ASSERT_TRUE(ip4_is(a.framed_ip, "100.64.3.7"));
	CU_ASSERT_TRUE(ip4_is(a.nas_ip, "127.0.0.1"));
	CU_ASSERT_TRUE(str_is(&a.user_name, "alice"));
	CU_ASSERT_TRUE(str_is(&a.session_id, "s1"));
	CU_ASSERT_TRUE(str_is(&a.calling_station_id, "02-00-00-00-00-01"));
	CU_ASSERT_PTR_NULL(a.nas_identifier.ptr);
	CU_ASSERT_EQUAL(a.nframed_prefix + a.ndelegated_prefix +
	    a.nframed_ip6, 0);
	CU_ASSERT_EQUAL(verify(p, n, SECRET), 0);
	CU_ASSERT_EQUAL(verify(p, n, "testing124"), RADIUS_EAUTH);
	CU_ASSERT_EQUAL(verify(p, n, ""), RADIUS_EAUTH);
	p[30] ^= 0x01;
	CU_ASSERT_EQUAL(verify(p, n, SECRET), RADIUS_EAUTH);
	p[30] ^= 0x01;
	p[5] ^= 0x80;
	CU_ASSERT_EQUAL(verify(p, n, SECRET), RADIUS_EAUTH);
	free(p);
}

static void
test_golden_interim_stop(void)
{
	struct radius_acct a;
	size_t n;
	uint8_t *p = unhex(golden_interim, &n);

	CU_ASSERT_EQUAL_FATAL(radius_acct_parse(p, n, &a), 0);
	CU_ASSERT_EQUAL(a.status, RADIUS_STATUS_INTERIM);
	CU_ASSERT_EQUAL(a.nframed_prefix, 1);
	CU_ASSERT_TRUE(prefix_is(&a.framed_prefix[0], "2001:db8:1:2::", 64));
	CU_ASSERT_EQUAL(a.ndelegated_prefix, 1);
	CU_ASSERT_TRUE(prefix_is(&a.delegated_prefix[0], "2001:db8:ff00:100::",
	    56));
	CU_ASSERT_TRUE(a.has & RADIUS_HAS_EVENT_TIME);
	CU_ASSERT_EQUAL(a.event_time, 1795600992u);
	CU_ASSERT_TRUE(a.has & RADIUS_HAS_DELAY_TIME);
	CU_ASSERT_EQUAL(a.delay_time, 0);
	CU_ASSERT_EQUAL(verify(p, n, SECRET), 0);
	free(p);

	p = unhex(golden_stop, &n);
	CU_ASSERT_EQUAL_FATAL(radius_acct_parse(p, n, &a), 0);
	CU_ASSERT_EQUAL(a.status, RADIUS_STATUS_STOP);
	CU_ASSERT_EQUAL(a.event_time, 1795604592u);
	CU_ASSERT_EQUAL(a.delay_time, 5);
	CU_ASSERT_TRUE(str_is(&a.user_name, "alice"));
	CU_ASSERT_TRUE(prefix_is(&a.framed_prefix[0], "2001:db8:1:2::", 64));
	CU_ASSERT_EQUAL(verify(p, n, SECRET), 0);
	CU_ASSERT_EQUAL(verify(p, n, "s3cr3t-2"), RADIUS_EAUTH);
	free(p);
}

static void
test_golden_v6(void)
{
	struct radius_acct a;
	size_t n;
	uint8_t *p = unhex(golden_v6, &n);

	CU_ASSERT_EQUAL_FATAL(radius_acct_parse(p, n, &a), 0);
	CU_ASSERT_EQUAL(a.status, RADIUS_STATUS_START);
	CU_ASSERT_EQUAL(a.has, RADIUS_HAS_NAS_IP6 | RADIUS_HAS_EVENT_TIME);
	CU_ASSERT_EQUAL(a.nframed_ip6, 1);
	CU_ASSERT_TRUE(ip6_is(a.framed_ip6[0], "2001:db8:1:2::7"));
	CU_ASSERT_TRUE(ip6_is(a.nas_ip6, "2001:db8::1"));
	CU_ASSERT_EQUAL(a.ndelegated_prefix, 1);
	CU_ASSERT_TRUE(prefix_is(&a.delegated_prefix[0], "2001:db8:ff00:200::",
	    56));
	CU_ASSERT_TRUE(str_is(&a.user_name, "bob@isp.example"));
	CU_ASSERT_TRUE(str_is(&a.session_id, "0000A1B2-77"));
	CU_ASSERT_TRUE(str_is(&a.nas_identifier, "bng-1.pop3"));
	CU_ASSERT_EQUAL(a.event_time, 1795600000u);
	CU_ASSERT_EQUAL(verify(p, n, "s3cr3t-2"), 0);
	CU_ASSERT_EQUAL(verify(p, n, SECRET), RADIUS_EAUTH);
	free(p);
}

static void
test_golden_on_proxy(void)
{
	struct radius_acct a;
	size_t n;
	uint8_t *p = unhex(golden_on, &n);

	CU_ASSERT_EQUAL_FATAL(radius_acct_parse(p, n, &a), 0);
	CU_ASSERT_EQUAL(a.status, RADIUS_STATUS_ACCT_ON);
	CU_ASSERT_STRING_EQUAL(radius_status_name(a.status), "Accounting-On");
	CU_ASSERT_TRUE(ip4_is(a.nas_ip, "192.0.2.1"));
	CU_ASSERT_TRUE(str_is(&a.nas_identifier, "bng-2"));
	CU_ASSERT_PTR_NULL(a.user_name.ptr);
	CU_ASSERT_EQUAL(verify(p, n, SECRET), 0);
	free(p);

	p = unhex(golden_proxy, &n);
	CU_ASSERT_EQUAL_FATAL(radius_acct_parse(p, n, &a), 0);
	CU_ASSERT_TRUE(a.has & RADIUS_HAS_PROXY_STATE);
	CU_ASSERT_TRUE(str_is(&a.user_name, "carol"));
	CU_ASSERT_TRUE(ip4_is(a.framed_ip, "100.64.9.9"));
	CU_ASSERT_EQUAL(verify(p, n, SECRET), 0);
	free(p);
}

static void
test_response(void)
{
	uint8_t out[RADIUS_RESPONSE_MAX], *req, *want, small[28];
	size_t n, wn, rn;

	req = unhex(interop_req, &n);
	want = unhex(interop_resp, &wn);
	rn = radius_acct_response(out, sizeof(out), req, n,
	    (const uint8_t *)SECRET, strlen(SECRET));
	CU_ASSERT_EQUAL(rn, wn);
	CU_ASSERT_TRUE(rn == wn && memcmp(out, want, wn) == 0);
	CU_ASSERT_EQUAL(radius_acct_response(small, sizeof(small), req, n,
	    (const uint8_t *)SECRET, strlen(SECRET)), 0);
	free(req);
	free(want);

	/* no Proxy-State: 20 octets, Length 20, code 5, same Identifier */
	req = unhex(golden_start, &n);
	rn = radius_acct_response(small, 20, req, n,
	    (const uint8_t *)SECRET, strlen(SECRET));
	CU_ASSERT_EQUAL(rn, 20);
	CU_ASSERT_EQUAL(small[0], RADIUS_CODE_ACCT_RESPONSE);
	CU_ASSERT_EQUAL(small[1], req[1]);
	CU_ASSERT_EQUAL(small[2], 0);
	CU_ASSERT_EQUAL(small[3], 20);
	CU_ASSERT_EQUAL(radius_acct_response(small, 19, req, n,
	    (const uint8_t *)SECRET, strlen(SECRET)), 0);
	CU_ASSERT_EQUAL(radius_acct_response(small, 20, req, 19,
	    (const uint8_t *)SECRET, strlen(SECRET)), 0);
	req[0] = 1;
	CU_ASSERT_EQUAL(radius_acct_response(small, 20, req, n,
	    (const uint8_t *)SECRET, strlen(SECRET)), 0);
	free(req);
}

/* Every cut of every golden packet is rejected, by every entry point. */
static void
test_truncation(void)
{
	struct radius_acct a;
	uint8_t *full, *p, out[RADIUS_RESPONSE_MAX];
	size_t g, n, cut;
	int r;

	for (g = 0; g < ARRAY_SIZE(goldens); g++) {
		full = unhex(goldens[g], &n);
		for (cut = 0; cut < n; cut++) {
			p = xmalloc(cut);
			memcpy(p, full, cut);
			r = radius_acct_parse(p, cut, &a);
			CU_ASSERT_EQUAL(r, cut < RADIUS_HDRLEN ? RADIUS_ESHORT
			    : RADIUS_ETRUNC);
			CU_ASSERT_EQUAL(verify(p, cut, SECRET), r);
			CU_ASSERT_EQUAL(radius_acct_response(out, sizeof(out),
			    p, cut, (const uint8_t *)SECRET, 6), 0);
			free(p);
		}
		free(full);
	}
}

/* A Length field cut short of the datagram: the rest is padding (RFC 2865
 * §3), so the cut either ends on an attribute boundary or overruns. */
static void
test_length_field(void)
{
	struct radius_acct a;
	uint8_t *p;
	size_t g, n, l, pos;
	int r, boundary;

	for (g = 0; g < ARRAY_SIZE(goldens); g++) {
		p = unhex(goldens[g], &n);
		for (l = RADIUS_HDRLEN; l < n; l++) {
			p[2] = (uint8_t)(l >> 8);
			p[3] = (uint8_t)l;
			for (pos = RADIUS_HDRLEN, boundary = 0; pos <= l;
			    pos += p[pos + 1])
				if (pos == l) {
					boundary = 1;
					break;
				}
			r = radius_acct_parse(p, n, &a);
			if (!boundary) {
				CU_ASSERT_EQUAL(r, RADIUS_EATTROVER);
			} else if (l == RADIUS_HDRLEN) {
				CU_ASSERT_EQUAL(r, RADIUS_ENOSTATUS);
			} else {
				CU_ASSERT_TRUE(r == 0 && a.length == l);
			}
			CU_ASSERT_EQUAL(verify(p, n, SECRET), RADIUS_EAUTH);
		}
		free(p);
	}
}

static void
test_trailing(void)
{
	struct radius_acct a;
	uint8_t *p, *q, out[RADIUS_HDRLEN];
	size_t n;

	p = unhex(golden_start, &n);
	q = xmalloc(n + 37);
	memcpy(q, p, n);
	memset(q + n, 0xa5, 37);
	CU_ASSERT_EQUAL(radius_acct_parse(q, n + 37, &a), 0);
	CU_ASSERT_EQUAL(a.length, n);
	CU_ASSERT_EQUAL(verify(q, n + 37, SECRET), 0);
	CU_ASSERT_EQUAL(radius_acct_response(out, sizeof(out), q, n + 37,
	    (const uint8_t *)SECRET, strlen(SECRET)), RADIUS_HDRLEN);
	free(q);
	free(p);
}

/* A small packet builder: header, attributes, Length, signature. */
struct pb {
	uint8_t b[RADIUS_MAXLEN + 64];
	size_t n;
};

static void
pb_init(struct pb *pb, uint8_t code, uint8_t id)
{
	memset(pb, 0, sizeof(*pb));
	pb->b[0] = code;
	pb->b[1] = id;
	pb->n = RADIUS_HDRLEN;
}

/* pb_raw - an attribute whose Length octet is alen, whatever the value. */
static void
pb_raw(struct pb *pb, uint8_t type, uint8_t alen, const void *v, size_t vlen)
{
	pb->b[pb->n++] = type;
	pb->b[pb->n++] = alen;
	memcpy(pb->b + pb->n, v, vlen);
	pb->n += vlen;
}

static void
pb_attr(struct pb *pb, uint8_t type, const void *v, size_t vlen)
{
	pb_raw(pb, type, (uint8_t)(vlen + 2), v, vlen);
}

static void
pb_u32(struct pb *pb, uint8_t type, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	pb_attr(pb, type, b, 4);
}

static void
pb_prefix(struct pb *pb, uint8_t type, const char *addr, unsigned plen,
    size_t octets)
{
	uint8_t v[2 + 16] = { 0, (uint8_t)plen };

	inet_pton(AF_INET6, addr, v + 2);
	pb_attr(pb, type, v, 2 + octets);
}

/* pb_parse - finish (Length, signature) and parse from an exact buffer. */
static int
pb_parse(struct pb *pb, struct radius_acct *a)
{
	uint8_t *p;
	int r;

	pb->b[2] = (uint8_t)(pb->n >> 8);
	pb->b[3] = (uint8_t)pb->n;
	CU_ASSERT_EQUAL(radius_acct_sign(pb->b, pb->n,
	    (const uint8_t *)SECRET, strlen(SECRET)),
	    pb->b[0] == RADIUS_CODE_ACCT_REQUEST && pb->n <= RADIUS_MAXLEN
	    ? 0 : pb->n > RADIUS_MAXLEN ? RADIUS_ELENGTH : RADIUS_ECODE);
	p = xmalloc(pb->n);
	memcpy(p, pb->b, pb->n);
	r = radius_acct_parse(p, pb->n, a);
	if (r == 0 || r > RADIUS_ECODE)
		CU_ASSERT_EQUAL(verify(p, pb->n, SECRET), 0);
	free(p);
	return r;
}

static void
pb_start(struct pb *pb)
{
	pb_init(pb, RADIUS_CODE_ACCT_REQUEST, 7);
	pb_u32(pb, RADIUS_ATTR_ACCT_STATUS_TYPE, RADIUS_STATUS_START);
	pb_attr(pb, RADIUS_ATTR_ACCT_SESSION_ID, "x1", 2);
}

static void
test_builder(void)
{
	struct pb pb;
	struct radius_acct a;
	uint8_t ip[4] = { 100, 64, 0, 1 }, ip6[16] = { 0x20, 1, 0xd, 0xb8 };
	uint8_t fill[253];
	size_t i;

	pb_start(&pb);
	pb_attr(&pb, RADIUS_ATTR_FRAMED_IP_ADDRESS, ip, 4);
	pb_prefix(&pb, RADIUS_ATTR_FRAMED_IPV6_PREFIX, "2001:db8:1::", 48, 6);
	pb_prefix(&pb, RADIUS_ATTR_FRAMED_IPV6_PREFIX, "2001:db8:2::", 48, 16);
	pb_prefix(&pb, RADIUS_ATTR_DELEGATED_IPV6_PREFIX, "2001:db8:1:ff80::",
	    57, 8);
	pb_prefix(&pb, RADIUS_ATTR_DELEGATED_IPV6_PREFIX, "::", 0, 0);
	pb_prefix(&pb, RADIUS_ATTR_DELEGATED_IPV6_PREFIX, "2001:db8::1", 128,
	    16);
	pb_attr(&pb, RADIUS_ATTR_FRAMED_IPV6_ADDRESS, ip6, 16);
	pb_attr(&pb, 26, "\0\0\0\x09\x01\x03x", 7);
	pb_attr(&pb, 200, "", 0);
	pb_attr(&pb, RADIUS_ATTR_PROXY_STATE, "", 0);
	CU_ASSERT_EQUAL_FATAL(pb_parse(&pb, &a), 0);
	CU_ASSERT_EQUAL(a.id, 7);
	CU_ASSERT_TRUE(ip4_is(a.framed_ip, "100.64.0.1"));
	CU_ASSERT_EQUAL(a.nframed_prefix, 2);
	CU_ASSERT_TRUE(prefix_is(&a.framed_prefix[0], "2001:db8:1::", 48));
	CU_ASSERT_TRUE(prefix_is(&a.framed_prefix[1], "2001:db8:2::", 48));
	CU_ASSERT_EQUAL(a.ndelegated_prefix, 3);
	CU_ASSERT_TRUE(prefix_is(&a.delegated_prefix[0], "2001:db8:1:ff80::",
	    57));
	CU_ASSERT_TRUE(prefix_is(&a.delegated_prefix[1], "::", 0));
	CU_ASSERT_TRUE(prefix_is(&a.delegated_prefix[2], "2001:db8::1", 128));
	CU_ASSERT_EQUAL(a.nframed_ip6, 1);
	CU_ASSERT_TRUE(ip6_is(a.framed_ip6[0], "2001:db8::"));
	CU_ASSERT_TRUE(a.has & RADIUS_HAS_PROXY_STATE);

	/* as many IPv6 prefixes as kept, and a 253-octet User-Name */
	pb_start(&pb);
	for (i = 0; i < RADIUS_MAXV6; i++) {
		pb_prefix(&pb, RADIUS_ATTR_FRAMED_IPV6_PREFIX, "fd00::", 64, 8);
		pb_prefix(&pb, RADIUS_ATTR_DELEGATED_IPV6_PREFIX, "fd01::", 56,
		    7);
		pb_attr(&pb, RADIUS_ATTR_FRAMED_IPV6_ADDRESS, ip6, 16);
	}
	memset(fill, 'u', sizeof(fill));
	pb_attr(&pb, RADIUS_ATTR_USER_NAME, fill, 253);
	CU_ASSERT_EQUAL(pb_parse(&pb, &a), 0);
	CU_ASSERT_EQUAL(a.nframed_prefix, RADIUS_MAXV6);
	CU_ASSERT_EQUAL(a.ndelegated_prefix, RADIUS_MAXV6);
	CU_ASSERT_EQUAL(a.nframed_ip6, RADIUS_MAXV6);
	CU_ASSERT_EQUAL(a.user_name.len, 253);

	/* unknown status values pass, for the caller to judge */
	pb_init(&pb, RADIUS_CODE_ACCT_REQUEST, 8);
	pb_u32(&pb, RADIUS_ATTR_ACCT_STATUS_TYPE, 15);
	CU_ASSERT_EQUAL(pb_parse(&pb, &a), 0);
	CU_ASSERT_EQUAL(a.status, 15);
	CU_ASSERT_PTR_NULL(radius_status_name(15));

	/* Length 4096 exactly, made of many unknown attributes */
	pb_start(&pb);
	memset(fill, 0, sizeof(fill));
	while (pb.n + 255 <= RADIUS_MAXLEN)
		pb_attr(&pb, 220, fill, 253);
	pb_attr(&pb, 221, fill, RADIUS_MAXLEN - pb.n - 2);
	CU_ASSERT_EQUAL(pb.n, RADIUS_MAXLEN);
	CU_ASSERT_EQUAL(pb_parse(&pb, &a), 0);
	pb_attr(&pb, 222, "", 0);
	CU_ASSERT_EQUAL(pb_parse(&pb, &a), RADIUS_ELENGTH);
}

/* pb_views - pb_parse (exact heap buffer, for ASan), then again from the
 * builder's own buffer, which outlives the call: the views in a stay
 * readable. */
static int
pb_views(struct pb *pb, struct radius_acct *a)
{
	int r = pb_parse(pb, a);

	if (r == 0)
		r = radius_acct_parse(pb->b, pb->n, a);
	return r;
}

/* Class (25) and Filter-Id (11): views of the first non-empty one. */
static void
test_class_attributes(void)
{
	struct pb pb;
	struct radius_acct a;
	uint8_t fill[253];
	static const uint8_t odd[] = { 0, 'b', 0xff, ' ', '\n', '%', 0x80 };

	/* absent */
	pb_start(&pb);
	CU_ASSERT_EQUAL_FATAL(pb_views(&pb, &a), 0);
	CU_ASSERT_PTR_NULL(a.class_attr.ptr);
	CU_ASSERT_EQUAL(a.class_attr.len, 0);
	CU_ASSERT_PTR_NULL(a.filter_id.ptr);

	/* present, each its own; repeated: the first wins, no dup_attr */
	pb_start(&pb);
	pb_attr(&pb, RADIUS_ATTR_CLASS, "business", 8);
	pb_attr(&pb, RADIUS_ATTR_FILTER_ID, "gold", 4);
	pb_attr(&pb, RADIUS_ATTR_CLASS, "residential", 11);
	pb_attr(&pb, RADIUS_ATTR_FILTER_ID, "silver", 6);
	CU_ASSERT_EQUAL_FATAL(pb_views(&pb, &a), 0);
	CU_ASSERT_TRUE(str_is(&a.class_attr, "business"));
	CU_ASSERT_TRUE(str_is(&a.filter_id, "gold"));

	/* empty: stepped over, not an error; a later non-empty one is kept */
	pb_start(&pb);
	pb_attr(&pb, RADIUS_ATTR_CLASS, "", 0);
	pb_attr(&pb, RADIUS_ATTR_FILTER_ID, "", 0);
	CU_ASSERT_EQUAL_FATAL(pb_views(&pb, &a), 0);
	CU_ASSERT_PTR_NULL(a.class_attr.ptr);
	CU_ASSERT_PTR_NULL(a.filter_id.ptr);
	pb_attr(&pb, RADIUS_ATTR_CLASS, "x", 1);
	CU_ASSERT_EQUAL_FATAL(pb_views(&pb, &a), 0);
	CU_ASSERT_TRUE(str_is(&a.class_attr, "x"));

	/* the longest an attribute holds: 253 octets, viewed whole */
	memset(fill, 'c', sizeof(fill));
	pb_start(&pb);
	pb_attr(&pb, RADIUS_ATTR_CLASS, fill, 253);
	pb_attr(&pb, RADIUS_ATTR_FILTER_ID, fill, 253);
	CU_ASSERT_EQUAL_FATAL(pb_views(&pb, &a), 0);
	CU_ASSERT_EQUAL(a.class_attr.len, 253);
	CU_ASSERT_EQUAL(a.filter_id.len, 253);

	/* odd octets are passed on as they are (NUL, 0xff, space, '%') */
	pb_start(&pb);
	pb_attr(&pb, RADIUS_ATTR_CLASS, odd, sizeof(odd));
	CU_ASSERT_EQUAL_FATAL(pb_views(&pb, &a), 0);
	CU_ASSERT_EQUAL_FATAL(a.class_attr.len, sizeof(odd));
	CU_ASSERT_EQUAL(memcmp(a.class_attr.ptr, odd, sizeof(odd)), 0);

	/* one running past the packet is still attr_overrun */
	pb_start(&pb);
	pb_raw(&pb, RADIUS_ATTR_CLASS, 10, "abc", 3);
	CU_ASSERT_EQUAL(pb_parse(&pb, &a), RADIUS_EATTROVER);
	pb_start(&pb);
	pb_raw(&pb, RADIUS_ATTR_FILTER_ID, 1, "", 0);
	CU_ASSERT_EQUAL(pb_parse(&pb, &a), RADIUS_EATTRLEN);
}

struct bad {
	const char *what;
	int want;
	void (*build)(struct pb *);
};

#define BAD(name) static void name(struct pb *pb)

BAD(framed_ip_5) { pb_raw(pb, 8, 5, "\x64\x40\x00", 3); }
BAD(framed_ip_7) { pb_attr(pb, 8, "\x64\x40\x00\x01\x02", 5); }
BAD(nas_ip_3) { pb_attr(pb, 4, "\x7f\0", 2); }
BAD(nas_ip6_17) { pb_attr(pb, 95, "0123456789abcde", 15); }
BAD(framed_ip6_8) { pb_attr(pb, 168, "01234567", 8); }
BAD(status_5) { pb_init(pb, 4, 1); pb_attr(pb, 40, "\0\0\1", 3); }
BAD(event_time_8) { pb_attr(pb, 55, "\0\0\0\0\0\0\0\1", 8); }
BAD(delay_time_2) { pb_attr(pb, 41, "\0\1", 2); }
BAD(user_name_empty) { pb_attr(pb, 1, "", 0); }
BAD(calling_empty) { pb_attr(pb, 31, "", 0); }
BAD(nas_id_empty) { pb_attr(pb, 32, "", 0); }
BAD(session_empty)
{
	pb_init(pb, 4, 1);
	pb_u32(pb, 40, 1);
	pb_attr(pb, 44, "", 0);
}
BAD(prefix_len_129) { pb_prefix(pb, 97, "2001:db8::", 129, 16); }
BAD(prefix_len_255) { pb_prefix(pb, 123, "2001:db8::", 255, 16); }
BAD(prefix_short) { pb_prefix(pb, 97, "2001:db8:1:2::", 64, 7); }
BAD(prefix_128_short) { pb_prefix(pb, 123, "2001:db8::1", 128, 15); }
BAD(prefix_host_bits) { pb_prefix(pb, 97, "2001:db8:1:2::1", 64, 16); }
BAD(prefix_host_bit57) { pb_prefix(pb, 123, "2001:db8:1:ff40::", 57, 8); }
BAD(prefix_extra_octet) { pb_prefix(pb, 97, "2001:db8:1:0:100::", 64, 9); }
BAD(prefix_17_octets)
{
	pb_attr(pb, 97, "\0\x40" "0123456789abcdefg", 19);
}
BAD(prefix_alen_3) { pb_attr(pb, 123, "\0", 1); }
BAD(prefix_alen_2) { pb_attr(pb, 97, "", 0); }
BAD(attr_len_0) { pb_raw(pb, 1, 0, "alice", 5); }
BAD(attr_len_1) { pb_raw(pb, 200, 1, "", 0); }
BAD(attr_overrun) { pb_raw(pb, 1, 9, "alice", 5); }
BAD(attr_one_octet) { pb->b[pb->n++] = 1; }
BAD(attr_overrun_255) { pb_raw(pb, 26, 255, "\0\0\0\x09", 4); }
BAD(dup_status) { pb_u32(pb, 40, 2); }
BAD(dup_session) { pb_attr(pb, 44, "x2", 2); }
BAD(dup_framed_ip)
{
	pb_attr(pb, 8, "\x64\x40\0\1", 4);
	pb_attr(pb, 8, "\x64\x40\0\2", 4);
}
BAD(dup_user) { pb_attr(pb, 1, "a", 1); pb_attr(pb, 1, "a", 1); }
BAD(dup_event) { pb_u32(pb, 55, 1); pb_u32(pb, 55, 1); }
BAD(dup_nas_ip6)
{
	pb_attr(pb, 95, "0123456789abcdef", 16);
	pb_attr(pb, 95, "0123456789abcdef", 16);
}
BAD(many_framed_prefix)
{
	for (int i = 0; i <= RADIUS_MAXV6; i++)
		pb_prefix(pb, 97, "fd00::", 64, 8);
}
BAD(many_delegated)
{
	for (int i = 0; i <= RADIUS_MAXV6; i++)
		pb_prefix(pb, 123, "fd00::", 56, 7);
}
BAD(many_framed_ip6)
{
	for (int i = 0; i <= RADIUS_MAXV6; i++)
		pb_attr(pb, 168, "0123456789abcdef", 16);
}
BAD(no_status)
{
	pb_init(pb, 4, 1);
	pb_attr(pb, 44, "x1", 2);
}
BAD(empty) { pb_init(pb, 4, 1); }
BAD(access_request) { pb->b[0] = 1; }
BAD(acct_response) { pb->b[0] = 5; }

static const struct bad bads[] = {
	{ "Framed-IP-Address length 5", RADIUS_EATTRSIZE, framed_ip_5 },
	{ "Framed-IP-Address length 7", RADIUS_EATTRSIZE, framed_ip_7 },
	{ "NAS-IP-Address length 4", RADIUS_EATTRSIZE, nas_ip_3 },
	{ "NAS-IPv6-Address length 17", RADIUS_EATTRSIZE, nas_ip6_17 },
	{ "Framed-IPv6-Address length 10", RADIUS_EATTRSIZE, framed_ip6_8 },
	{ "Acct-Status-Type length 5", RADIUS_EATTRSIZE, status_5 },
	{ "Event-Timestamp length 10", RADIUS_EATTRSIZE, event_time_8 },
	{ "Acct-Delay-Time length 4", RADIUS_EATTRSIZE, delay_time_2 },
	{ "empty User-Name", RADIUS_EATTRSIZE, user_name_empty },
	{ "empty Calling-Station-Id", RADIUS_EATTRSIZE, calling_empty },
	{ "empty NAS-Identifier", RADIUS_EATTRSIZE, nas_id_empty },
	{ "empty Acct-Session-Id", RADIUS_EATTRSIZE, session_empty },
	{ "prefix length 129", RADIUS_EPREFIX, prefix_len_129 },
	{ "prefix length 255", RADIUS_EPREFIX, prefix_len_255 },
	{ "/64 in 7 octets", RADIUS_EPREFIX, prefix_short },
	{ "/128 in 15 octets", RADIUS_EPREFIX, prefix_128_short },
	{ "/64 with host bits", RADIUS_EPREFIX, prefix_host_bits },
	{ "/57 with bit 58 set", RADIUS_EPREFIX, prefix_host_bit57 },
	{ "/64 with a nonzero 9th octet", RADIUS_EPREFIX, prefix_extra_octet },
	{ "17 prefix octets", RADIUS_EATTRSIZE, prefix_17_octets },
	{ "prefix attribute length 3", RADIUS_EATTRSIZE, prefix_alen_3 },
	{ "prefix attribute length 2", RADIUS_EATTRSIZE, prefix_alen_2 },
	{ "attribute length 0", RADIUS_EATTRLEN, attr_len_0 },
	{ "attribute length 1", RADIUS_EATTRLEN, attr_len_1 },
	{ "attribute past the end", RADIUS_EATTROVER, attr_overrun },
	{ "lone type octet", RADIUS_EATTROVER, attr_one_octet },
	{ "VSA length 255 past the end", RADIUS_EATTROVER, attr_overrun_255 },
	{ "Acct-Status-Type twice", RADIUS_EDUP, dup_status },
	{ "Acct-Session-Id twice", RADIUS_EDUP, dup_session },
	{ "Framed-IP-Address twice", RADIUS_EDUP, dup_framed_ip },
	{ "User-Name twice", RADIUS_EDUP, dup_user },
	{ "Event-Timestamp twice", RADIUS_EDUP, dup_event },
	{ "NAS-IPv6-Address twice", RADIUS_EDUP, dup_nas_ip6 },
	{ "too many Framed-IPv6-Prefix", RADIUS_ETOOMANY, many_framed_prefix },
	{ "too many Delegated-IPv6-Prefix", RADIUS_ETOOMANY, many_delegated },
	{ "too many Framed-IPv6-Address", RADIUS_ETOOMANY, many_framed_ip6 },
	{ "no Acct-Status-Type", RADIUS_ENOSTATUS, no_status },
	{ "no attributes", RADIUS_ENOSTATUS, empty },
	{ "Access-Request", RADIUS_ECODE, access_request },
	{ "Accounting-Response", RADIUS_ECODE, acct_response },
};

static void
test_bad_attributes(void)
{
	struct pb pb;
	struct radius_acct a;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(bads); i++) {
		pb_start(&pb);
		bads[i].build(&pb);
		r = pb_parse(&pb, &a);
		CU_ASSERT_EQUAL(r, bads[i].want);
		if (r != bads[i].want)
			fprintf(stderr, "\n%s: got %s, want %s\n", bads[i].what,
			    radius_errname(r), radius_errname(bads[i].want));
	}
}

static void
test_header(void)
{
	struct radius_acct a;
	uint8_t *p, big[RADIUS_MAXLEN + 2] = { 4, 1 };
	size_t n;

	p = unhex(golden_start, &n);
	p[2] = 0;
	p[3] = 19;
	CU_ASSERT_EQUAL(radius_acct_parse(p, n, &a), RADIUS_ELENGTH);
	p[3] = 0;
	CU_ASSERT_EQUAL(radius_acct_parse(p, n, &a), RADIUS_ELENGTH);
	p[3] = (uint8_t)(n + 1);
	CU_ASSERT_EQUAL(radius_acct_parse(p, n, &a), RADIUS_ETRUNC);
	CU_ASSERT_EQUAL(verify(p, n, SECRET), RADIUS_ETRUNC);
	p[2] = 0xff;
	CU_ASSERT_EQUAL(radius_acct_parse(p, n, &a), RADIUS_ELENGTH);
	CU_ASSERT_EQUAL(radius_acct_parse(p, 0, &a), RADIUS_ESHORT);
	free(p);
	big[2] = (RADIUS_MAXLEN + 1) >> 8;
	big[3] = (uint8_t)(RADIUS_MAXLEN + 1);
	CU_ASSERT_EQUAL(radius_acct_parse(big, sizeof(big), &a),
	    RADIUS_ELENGTH);
}

static void
test_errors(void)
{
	int e, i, seen = 0;

	CU_ASSERT_EQUAL(RADIUS_NERR, 13);
	for (e = RADIUS__EFIRST + 1; e < RADIUS__ELAST; e++) {
		i = radius_err_index(e);
		CU_ASSERT_TRUE(i >= 0 && i < RADIUS_NERR);
		seen |= 1 << i;
		CU_ASSERT_TRUE(strchr(radius_errname(e), ' ') == NULL);
		CU_ASSERT_TRUE(strlen(radius_strerror(e)) > 5);
	}
	CU_ASSERT_EQUAL(seen, (1 << RADIUS_NERR) - 1);
	CU_ASSERT_STRING_EQUAL(radius_errname(RADIUS_EATTROVER),
	    "attr_overrun");
	CU_ASSERT_STRING_EQUAL(radius_strerror(RADIUS_EAUTH),
	    "Request Authenticator mismatch");
	CU_ASSERT_EQUAL(radius_err_index(0), -1);
	CU_ASSERT_EQUAL(radius_err_index(SG_EPROTO), -1);
	CU_ASSERT_EQUAL(radius_err_index(RADIUS__EFIRST), -1);
	CU_ASSERT_EQUAL(radius_err_index(RADIUS__ELAST), -1);
	CU_ASSERT_STRING_EQUAL(radius_errname(SG_EPROTO), "SG_EPROTO");
	CU_ASSERT_STRING_EQUAL(radius_strerror(SG_EINVAL), "invalid argument");
	CU_ASSERT_STRING_EQUAL(radius_status_name(RADIUS_STATUS_START),
	    "Start");
	CU_ASSERT_STRING_EQUAL(radius_status_name(RADIUS_STATUS_STOP), "Stop");
	CU_ASSERT_STRING_EQUAL(radius_status_name(RADIUS_STATUS_INTERIM),
	    "Interim-Update");
	CU_ASSERT_STRING_EQUAL(radius_status_name(RADIUS_STATUS_ACCT_OFF),
	    "Accounting-Off");
}

static void
test_rtx_key(void)
{
	union sockaddr_any nas, other;
	uint8_t k1[RADIUS_RTXKEY_LEN], k2[RADIUS_RTXKEY_LEN], *p;
	size_t n;

	p = unhex(golden_start, &n);
	CU_ASSERT_EQUAL_FATAL(addr_parse(&nas, "192.0.2.1:41000", -1), 0);
	radius_rtx_key(k1, &nas, p);
	radius_rtx_key(k2, &nas, p);
	CU_ASSERT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);
	CU_ASSERT_EQUAL(k1[0], 4);
	CU_ASSERT_EQUAL(memcmp(k1 + 20, p + 4, RADIUS_AUTHLEN), 0);

	CU_ASSERT_EQUAL_FATAL(addr_parse(&other, "[::ffff:192.0.2.1]:41000",
	    -1), 0);
	radius_rtx_key(k2, &other, p);
	CU_ASSERT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);

	CU_ASSERT_EQUAL_FATAL(addr_parse(&other, "192.0.2.1:41001", -1), 0);
	radius_rtx_key(k2, &other, p);
	CU_ASSERT_NOT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);
	CU_ASSERT_EQUAL_FATAL(addr_parse(&other, "192.0.2.2:41000", -1), 0);
	radius_rtx_key(k2, &other, p);
	CU_ASSERT_NOT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);
	CU_ASSERT_EQUAL_FATAL(addr_parse(&other, "[2001:db8::1]:41000", -1),
	    0);
	radius_rtx_key(k2, &other, p);
	CU_ASSERT_EQUAL(k2[0], 6);

	p[1]++;
	radius_rtx_key(k2, &nas, p);
	CU_ASSERT_NOT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);
	p[1]--;
	p[19] ^= 1;
	radius_rtx_key(k2, &nas, p);
	CU_ASSERT_NOT_EQUAL(memcmp(k1, k2, sizeof(k1)), 0);
	free(p);
}

int
suite_radius_register(void)
{
	CU_pSuite s = CU_add_suite("radius", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "golden_start", test_golden_start) == NULL ||
	    CU_add_test(s, "golden_interim_stop",
		test_golden_interim_stop) == NULL ||
	    CU_add_test(s, "golden_v6", test_golden_v6) == NULL ||
	    CU_add_test(s, "golden_on_proxy", test_golden_on_proxy) == NULL ||
	    CU_add_test(s, "response", test_response) == NULL ||
	    CU_add_test(s, "truncation", test_truncation) == NULL ||
	    CU_add_test(s, "length_field", test_length_field) == NULL ||
	    CU_add_test(s, "trailing", test_trailing) == NULL ||
	    CU_add_test(s, "builder", test_builder) == NULL ||
	    CU_add_test(s, "class_attributes", test_class_attributes) == NULL ||
	    CU_add_test(s, "bad_attributes", test_bad_attributes) == NULL ||
	    CU_add_test(s, "header", test_header) == NULL ||
	    CU_add_test(s, "errors", test_errors) == NULL ||
	    CU_add_test(s, "rtx_key", test_rtx_key) == NULL)
		return -1;
	return 0;
}
