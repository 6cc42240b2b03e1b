/*
 * test_priv.c - the capabilities a configuration keeps after start
 * (priv_core.c): CAP_NET_ADMIN for nftables or a transparent upstream,
 * nothing else, CAP_NET_BIND_SERVICE never.
 */
#include <CUnit/CUnit.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "priv_core.h"
#include "suites.h"

/* needed - priv_caps_needed of the configuration yaml. */
static uint64_t
needed(const char *yaml)
{
	char err[256];
	struct config *c;
	uint64_t caps;

	c = config_load_string(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	caps = priv_caps_needed(c);
	config_free(c);
	return caps;
}

#define NFT_ON "nftables: true, interfaces: [eth1], " \
	"subscribers: [100.64.0.0/10]"
#define NFT "intercept: {" NFT_ON "}\n"
#define TPROXY "listeners:\n" \
	"  - {listen: \"[::]:10025\", mode: smtp, intercept: tproxy}\n" \
	"  - {listen: \"[::]:10587\", mode: passthrough, intercept: tproxy}\n"

static void
test_nothing(void)
{
	/* the embedded default: a redirect listener, no table */
	CU_ASSERT_EQUAL(needed(""), 0);
	/* ports below 1024 are bound before the switch, never after */
	CU_ASSERT_EQUAL(needed("listeners:\n"
	    "  - {listen: \"192.0.2.1:25\", intercept: none, "
	    "upstream: \"198.51.100.25:25\"}\n"
	    "identity:\n  radius:\n    listen: \"[::]:813\"\n"
	    "    clients: [{address: 192.0.2.10, secret: s3cr3t-nas}]\n"
	    "admin: {listen: \"127.0.0.1:99\"}\n"), 0);
	/* TPROXY listeners are transparent from the start; upstream from
	 * the gateway's own address needs nothing more */
	CU_ASSERT_EQUAL(needed(TPROXY "upstream: {source: gateway}\n"), 0);
}

static void
test_net_admin(void)
{
	const uint64_t na = PRIV_CAP(CAP_NET_ADMIN);

	CU_ASSERT_EQUAL(na, UINT64_C(1) << 12);
	/* the keeper and SIGTERM rewrite the table's set, conntrack */
	CU_ASSERT_EQUAL(needed(NFT), na);
	CU_ASSERT_EQUAL(needed("intercept: {" NFT_ON ", conntrack: false}\n"),
	    na);
	/* IP_TRANSPARENT on every upstream socket */
	CU_ASSERT_EQUAL(needed(TPROXY "upstream: {source: subscriber}\n"), na);
	CU_ASSERT_EQUAL(needed(NFT TPROXY "upstream: {source: subscriber}\n"),
	    na);
	CU_ASSERT_EQUAL(needed("privileges: {user: \"\"}\n" NFT), na);
}

int
suite_priv_register(void)
{
	CU_pSuite s = CU_add_suite("priv", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "nothing", test_nothing) == NULL ||
	    CU_add_test(s, "net_admin", test_net_admin) == NULL)
		return -1;
	return 0;
}
