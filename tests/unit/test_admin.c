/*
 * test_admin.c - the admin endpoint's routing decision (proxy/admin_route.c)
 * and the admin section of the configuration: Host checks (DNS rebinding),
 * the bearer token for DELETE and, when configured, for reads, /healthz
 * open, a non-loopback listen without a token refused at load.
 */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "admin_route.h"
#include "buf.h"
#include "config.h"
#include "suites.h"

static int lifted;

static int
lock_list(void *arg, char **body, size_t *len)
{
	(void)arg;
	*body = strdup("{\"locks\":[]}");
	*len = strlen(*body);
	return 0;
}

static int
lock_lift(void *arg, const char *sub)
{
	(void)arg;
	lifted++;
	return strcmp(sub, "100.64.0.7") == 0 ? 0 : 1;
}

static void
metrics(void *arg, struct buf *b)
{
	(void)arg;
	buf_printf(b, "subgate_workers 2\n");
}

static int
healthy(void *arg)
{
	(void)arg;
	return 1;
}

static const struct admin_locks_ops ops = { lock_list, lock_lift, NULL };
static const struct admin_view view = { metrics, healthy, &ops, NULL };
static union sockaddr_any listen4;
static char *names[] = { "gw1.example.net" };

/* ask - the status of method url with Host host and Authorization auth
 * under acc. */
static unsigned
ask(const struct admin_access *acc, const char *method, const char *url,
    const char *host, const char *auth)
{
	struct admin_req q = { method, url, host, auth, 0 };
	struct admin_reply out;

	admin_route(acc, &view, &q, &out);
	CU_ASSERT_PTR_NOT_NULL(out.body);
	CU_ASSERT(out.challenge == (out.status == 401));
	free(out.body);
	return out.status;
}

static void
test_host(void)
{
	struct admin_access acc = { &listen4, NULL, 0, 0, names, 1 };
	union sockaddr_any any6;

	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "127.0.0.1:9925", NULL), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "127.0.0.1", NULL), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "localhost:9925", NULL), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "LocalHost", NULL), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "GW1.example.net:9925", NULL), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", NULL, NULL), 200);
	/* DNS rebinding: the attacker's name, now pointing here */
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "evil.example:9925", NULL), 403);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/healthz", "evil.example", NULL), 403);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "127.0.0.2:9925", NULL), 403);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "127.0.0.1:99x", NULL), 403);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "127.0.0.1:", NULL), 403);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "[localhost]", NULL), 403);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "localhost.evil.example", NULL), 403);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "", NULL), 403);
	/* on [::] any literal is the gateway's; names still have to match */
	CU_ASSERT_EQUAL(addr_parse(&any6, "[::]:9925", -1), 0);
	acc.listen = &any6;
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "[fd00::1]:9925", NULL), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "198.51.100.1", NULL), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "[fd00::1", NULL), 403);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "fd00::1", NULL), 403);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "evil.example", NULL), 403);
}

static void
test_token(void)
{
	struct admin_access acc = { &listen4, "s3cret-token", 12, 0, NULL, 0 };
	struct admin_access none = { &listen4, NULL, 0, 0, NULL, 0 };

	lifted = 0;
	/* no token configured: nothing changes state */
	CU_ASSERT_EQUAL(ask(&none, "DELETE", "/locks/100.64.0.7", "localhost", NULL), 403);
	CU_ASSERT_EQUAL(ask(&none, "DELETE", "/locks/100.64.0.7", "localhost",
	    "Bearer "), 403);
	CU_ASSERT_EQUAL(lifted, 0);
	CU_ASSERT_EQUAL(ask(&none, "GET", "/locks", "localhost", NULL), 200);
	/* configured: DELETE needs exactly it */
	CU_ASSERT_EQUAL(ask(&acc, "DELETE", "/locks/100.64.0.7", "localhost", NULL), 401);
	CU_ASSERT_EQUAL(ask(&acc, "DELETE", "/locks/100.64.0.7", "localhost",
	    "Bearer s3cret-toke"), 401);
	CU_ASSERT_EQUAL(ask(&acc, "DELETE", "/locks/100.64.0.7", "localhost",
	    "Bearer s3cret-token2"), 401);
	CU_ASSERT_EQUAL(ask(&acc, "DELETE", "/locks/100.64.0.7", "localhost",
	    "Basic s3cret-token"), 401);
	CU_ASSERT_EQUAL(lifted, 0);
	CU_ASSERT_EQUAL(ask(&acc, "DELETE", "/locks/100.64.0.7", "localhost",
	    "Bearer s3cret-token"), 200);
	CU_ASSERT_EQUAL(ask(&acc, "DELETE", "/locks/100.64.0.8", "localhost",
	    "bearer  s3cret-token"), 404);
	CU_ASSERT_EQUAL(lifted, 2);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/locks/100.64.0.7", "localhost",
	    "Bearer s3cret-token"), 405);
	/* reads open unless configured */
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "localhost", NULL), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/locks", "localhost", NULL), 200);
	acc.token_for_reads = 1;
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "localhost", NULL), 401);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/locks", "localhost", "Bearer x"), 401);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/metrics", "localhost",
	    "Bearer s3cret-token"), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/healthz", "localhost", NULL), 200);
	CU_ASSERT_EQUAL(ask(&acc, "GET", "/nothing", "localhost", NULL), 404);
	/* the Host check comes first: a rebound page learns nothing */
	CU_ASSERT_EQUAL(ask(&acc, "DELETE", "/locks/100.64.0.7", "evil.example",
	    "Bearer s3cret-token"), 403);
}

static void
test_routes(void)
{
	struct admin_access acc = { &listen4, NULL, 0, 0, NULL, 0 };
	struct admin_req q = { "POST", "/metrics", "localhost", NULL, 10 };
	struct admin_view nolocks = view;
	struct admin_reply out;

	admin_route(&acc, &view, &q, &out);
	CU_ASSERT_EQUAL(out.status, 413);
	free(out.body);
	q.upload = 0;
	admin_route(&acc, &view, &q, &out);
	CU_ASSERT_EQUAL(out.status, 405);
	free(out.body);
	q.method = "GET";
	admin_route(&acc, &view, &q, &out);
	CU_ASSERT_EQUAL(out.status, 200);
	CU_ASSERT(out.len == strlen("subgate_workers 2\n") &&
	    memcmp(out.body, "subgate_workers 2\n", out.len) == 0);
	free(out.body);
	nolocks.locks = NULL;
	q.url = "/locks";
	admin_route(&acc, &nolocks, &q, &out);
	CU_ASSERT_EQUAL(out.status, 404);
	free(out.body);
}

static struct config *
load(const char *yaml, char *err, size_t errlen)
{
	return config_load_string(yaml, strlen(yaml), "t.yaml", err, errlen);
}

static void
test_config(void)
{
	char err[512], path[] = "/tmp/sg_test_adminXXXXXX", yaml[1024];
	struct config *c;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "tok-123\n", 8) == 8);
	close(fd);
	c = load("admin: { listen: \"127.0.0.1:9925\" }\n", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(c);
	config_free(c);
	c = load("admin: { listen: \"[::1]:9925\" }\n", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(c);
	config_free(c);
	c = load("admin:\n  listen: \"198.51.100.1:9925\"\n", err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT(strstr(err, "t.yaml:2:") != NULL &&
	    strstr(err, "admin.token_file is required") != NULL);
	c = load("admin: { listen: \"[::]:9925\" }\n", err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	c = load("admin: { listen: \"127.0.0.1:9925\", "
	    "token_required_for_reads: true }\n", err, sizeof(err));
	CU_ASSERT_PTR_NULL(c);
	snprintf(yaml, sizeof(yaml), "admin:\n  listen: \"198.51.100.1:9925\"\n"
	    "  token_file: %s\n  token_required_for_reads: true\n"
	    "  hosts: [gw1.example.net]\n", path);
	c = load(yaml, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->admin.token.value, "tok-123");
	CU_ASSERT_EQUAL(c->admin.token_for_reads, 1);
	CU_ASSERT(c->admin.nhosts == 1 &&
	    strcmp(c->admin.hosts[0], "gw1.example.net") == 0);
	config_free(c);
	unlink(path);
}

int
suite_admin_register(void)
{
	CU_pSuite s = CU_add_suite("admin", NULL, NULL);

	if (addr_parse(&listen4, "127.0.0.1:9925", -1) < 0)
		return -1;
	if (s == NULL ||
	    CU_add_test(s, "host", test_host) == NULL ||
	    CU_add_test(s, "token", test_token) == NULL ||
	    CU_add_test(s, "routes", test_routes) == NULL ||
	    CU_add_test(s, "config", test_config) == NULL)
		return -1;
	return 0;
}
