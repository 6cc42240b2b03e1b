/*
 * test_dest_deny.c - upstream.deny / upstream.allow (proxy/dest_deny.c):
 * the default list, allow exceptions, the prefix reported; the gateway's
 * own-address set and the netlink messages it is read from.
 */
#include <CUnit/CUnit.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "config.h"
#include "dest_deny.h"
#include "err.h"
#include "suites.h"

static struct config *
load(const char *yaml)
{
	char err[512];
	struct config *c = config_load_string(yaml, strlen(yaml), "t.yaml", err,
	    sizeof(err));

	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	return c;
}

/* denied - dest_deny_match of the address text s (any port). */
static int
denied(const struct dest_deny *d, const char *s, char *hit, size_t hitlen)
{
	union sockaddr_any a;
	struct cidr_prefix p;
	int r;

	CU_ASSERT_FATAL(addr_parse(&a, s, 25) == 0);
	r = dest_deny_match(d, &a, &p);
	if (r && hit != NULL)
		cidr_fmt(&p, hit, hitlen);
	return r;
}

static void
test_default(void)
{
	static const char *const deny[] = { "127.0.0.1", "127.255.0.9", "::1",
	    "10.0.0.1", "172.16.5.5", "172.31.255.255", "192.168.1.1",
	    "100.64.0.2", "100.127.255.254", "169.254.1.1", "fe80::1",
	    "fd00:203::10", "fc00::1", "224.0.0.1", "239.1.2.3", "ff02::1",
	    "::ffff:10.0.0.1", NULL };
	static const char *const pass[] = { "203.0.113.10", "198.51.100.1",
	    "192.0.2.1", "172.32.0.1", "100.128.0.1", "8.8.8.8", "2001:db8::1",
	    "fe00::1", "::ffff:203.0.113.10", NULL };
	struct config *c = load("node: t\n");
	struct dest_deny *d;
	char hit[CIDR_STRLEN];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	d = dest_deny_new(c);
	for (size_t i = 0; deny[i] != NULL; i++)
		if (!denied(d, deny[i], NULL, 0))
			CU_FAIL(deny[i]);
	for (size_t i = 0; pass[i] != NULL; i++)
		if (denied(d, pass[i], NULL, 0))
			CU_FAIL(pass[i]);
	CU_ASSERT(denied(d, "10.1.2.3", hit, sizeof(hit)));
	CU_ASSERT_STRING_EQUAL(hit, "10.0.0.0/8");
	CU_ASSERT(denied(d, "[fd00:203::10]", hit, sizeof(hit)));
	CU_ASSERT_STRING_EQUAL(hit, "fc00::/7");
	dest_deny_free(d);
	config_free(c);
}

static void
test_allow(void)
{
	struct config *c = load("upstream:\n  deny: [192.0.2.0/24, 10.0.0.0/8, "
	    "\"fd00::/8\"]\n  allow: [192.0.2.128/25, 10.0.0.0/8, "
	    "\"fd00:203::/64\"]\n");
	struct dest_deny *d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	d = dest_deny_new(c);
	CU_ASSERT(denied(d, "192.0.2.1", NULL, 0));
	CU_ASSERT(!denied(d, "192.0.2.200", NULL, 0));
	CU_ASSERT(!denied(d, "10.0.0.1", NULL, 0));	/* a tie: allowed */
	CU_ASSERT(!denied(d, "[fd00:203::10]", NULL, 0));
	CU_ASSERT(denied(d, "[fd00:204::10]", NULL, 0));
	CU_ASSERT(!denied(d, "127.0.0.1", NULL, 0));	/* list replaced */
	dest_deny_free(d);
	config_free(c);
	c = load("upstream: { deny: [] }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	d = dest_deny_new(c);
	CU_ASSERT(!denied(d, "127.0.0.1", NULL, 0));
	dest_deny_free(d);
	config_free(c);
	CU_ASSERT_PTR_NULL(load("upstream: { deny: [10.0.0.1/8] }\n"));
	CU_ASSERT(dest_deny_match(NULL, NULL, NULL) == 0);
}

static void
test_own(void)
{
	union sockaddr_any a[2], q;

	CU_ASSERT_EQUAL(addr_parse(&a[0], "203.0.113.77", 0), 0);
	CU_ASSERT_EQUAL(addr_parse(&a[1], "[fd00:203::1]", 0), 0);
	dest_own_set(a, 1);
	CU_ASSERT_EQUAL(dest_own_count(), 1);
	CU_ASSERT(dest_own_is(&a[0]));
	CU_ASSERT(!dest_own_is(&a[1]));
	CU_ASSERT_EQUAL(addr_parse(&q, "[::ffff:203.0.113.77]:25", -1), 0);
	CU_ASSERT(dest_own_is(&q));
	CU_ASSERT_EQUAL(addr_parse(&q, "203.0.113.78", 0), 0);
	CU_ASSERT(!dest_own_is(&q));
	dest_own_set(a + 1, 1);
	CU_ASSERT(!dest_own_is(&a[0]));
	CU_ASSERT(dest_own_is(&a[1]));
	dest_own_set(NULL, 0);
	CU_ASSERT_EQUAL(dest_own_count(), 0);
}

/* msg - append one netlink message of type with an ifaddrmsg of family and
 * the attributes (type, n octets) given; returns the new length. */
static size_t
msg(uint8_t *buf, size_t off, int type, int family, int at1, const void *v1,
    size_t n1, int at2, const void *v2, size_t n2)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	struct rtattr *rta;
	size_t len = NLMSG_LENGTH(sizeof(*ifa));

	memset(h, 0, NLMSG_SPACE(sizeof(*ifa)));
	ifa->ifa_family = (uint8_t)family;
	if (v1 != NULL) {
		rta = (struct rtattr *)(buf + off + NLMSG_ALIGN(len));
		rta->rta_type = (unsigned short)at1;
		rta->rta_len = (unsigned short)RTA_LENGTH(n1);
		memcpy(RTA_DATA(rta), v1, n1);
		len = NLMSG_ALIGN(len) + RTA_SPACE(n1);
	}
	if (v2 != NULL) {
		rta = (struct rtattr *)(buf + off + NLMSG_ALIGN(len));
		rta->rta_type = (unsigned short)at2;
		rta->rta_len = (unsigned short)RTA_LENGTH(n2);
		memcpy(RTA_DATA(rta), v2, n2);
		len = NLMSG_ALIGN(len) + RTA_SPACE(n2);
	}
	h->nlmsg_len = (uint32_t)len;
	h->nlmsg_type = (uint16_t)type;
	return off + NLMSG_ALIGN(len);
}

static char got[8][ADDR_STRLEN];
static int ngot;

static void
collect(const union sockaddr_any *a, void *arg)
{
	(void)arg;
	if (ngot < 8)
		addr_ntop(a, got[ngot++], ADDR_STRLEN);
}

static void
test_parse(void)
{
	static const uint8_t peer[4] = { 198, 51, 100, 9 };
	static const uint8_t local[4] = { 203, 0, 113, 77 };
	static const uint8_t v6[16] = { 0xfd, 0, 0x02, 0x03, [15] = 1 };
	_Alignas(struct nlmsghdr) uint8_t buf[1024];
	size_t n = 0;

	memset(buf, 0, sizeof(buf));
	/* point-to-point: IFA_ADDRESS is the peer, IFA_LOCAL ours */
	n = msg(buf, n, RTM_NEWADDR, AF_INET, IFA_ADDRESS, peer, 4, IFA_LOCAL,
	    local, 4);
	n = msg(buf, n, RTM_NEWADDR, AF_INET6, IFA_ADDRESS, v6, 16, 0, NULL, 0);
	n = msg(buf, n, RTM_DELADDR, AF_INET, IFA_LOCAL, peer, 4, 0, NULL, 0);
	n = msg(buf, n, RTM_NEWADDR, AF_INET, IFA_LABEL, "lo", 3, 0, NULL, 0);
	ngot = 0;
	CU_ASSERT_EQUAL(dest_own_parse(buf, n, collect, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ngot, 2);
	CU_ASSERT_STRING_EQUAL(got[0], "203.0.113.77");
	CU_ASSERT_STRING_EQUAL(got[1], "fd00:203::1");
	/* NLMSG_DONE ends a dump */
	{
		struct nlmsghdr *h = (struct nlmsghdr *)(buf + n);

		memset(h, 0, sizeof(*h));
		h->nlmsg_len = NLMSG_LENGTH(4);
		h->nlmsg_type = NLMSG_DONE;
	}
	ngot = 0;
	CU_ASSERT_EQUAL(dest_own_parse(buf, n + NLMSG_LENGTH(4), collect, NULL), 1);
	CU_ASSERT_EQUAL(ngot, 2);
	/* a message longer than the buffer, an attribute past its message */
	CU_ASSERT_EQUAL(dest_own_parse(buf, n - 4, collect, NULL), SG_EINVAL);
	n = msg(buf, 0, RTM_NEWADDR, AF_INET, IFA_LOCAL, local, 4, 0, NULL, 0);
	((struct rtattr *)(buf + NLMSG_LENGTH(sizeof(struct ifaddrmsg))))->rta_len = 200;
	CU_ASSERT_EQUAL(dest_own_parse(buf, n, collect, NULL), SG_EINVAL);
	CU_ASSERT_EQUAL(dest_own_parse(buf, 3, collect, NULL), 0);
}

int
suite_dest_deny_register(void)
{
	CU_pSuite s = CU_add_suite("dest_deny", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "default", test_default) == NULL ||
	    CU_add_test(s, "allow", test_allow) == NULL ||
	    CU_add_test(s, "own", test_own) == NULL ||
	    CU_add_test(s, "parse", test_parse) == NULL)
		return -1;
	return 0;
}
