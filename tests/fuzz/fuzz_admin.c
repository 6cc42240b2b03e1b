/*
 * fuzz_admin.c - libFuzzer harness for the admin endpoint's routing
 * decision (proxy/admin_route.c). The input is split at NUL octets into
 * method, URL, Host, Authorization and a flags octet (token configured,
 * token for reads, wildcard listen, body offered); absent fields are NULL.
 * Invariants: a reply always has a body and a status of the admin's set;
 * nothing changes state (lift) without the exact token; a request refused
 * by Host or token never reached a route. Each field is a copy of exactly
 * its size, so a read past it is a sanitizer report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin.h"
#include "admin_route.h"
#include "buf.h"
#include "fuzz.h"
#include "log.h"

static const char token[] = "fuzz-token-0123";
static int routed, lifted;

static int
lock_list(void *arg, char **body, size_t *len)
{
	(void)arg;
	routed++;
	*body = strdup("{\"locks\":[]}");
	*len = strlen(*body);
	return 0;
}

static int
lock_lift(void *arg, const char *sub)
{
	(void)arg;
	routed++;
	lifted++;
	CHECK(strlen(sub) >= 1 && strlen(sub) <= 255);
	return sub[0] == 'x' ? -1 : sub[0] == 'y';
}

static void
metrics(void *arg, struct buf *b)
{
	(void)arg;
	routed++;
	buf_printf(b, "subgate_workers 1\n");
}

static int
healthy(void *arg)
{
	(void)arg;
	routed++;
	return 1;
}

static const struct admin_locks_ops ops = { lock_list, lock_lift, NULL };

/* field - the next NUL-terminated field of data (a heap copy of exactly
 * its length plus the NUL), or NULL when none is left. */
static char *
field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *z;
	char *s;
	size_t n;

	if (*p >= end)
		return NULL;
	z = memchr(*p, 0, (size_t)(end - *p));
	n = z != NULL ? (size_t)(z - *p) : (size_t)(end - *p);
	s = malloc(n + 1);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + (z != NULL);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union sockaddr_any l4, any6;
	static char *hosts[] = { "gw1.example.net" };
	const uint8_t *p = data, *end = data + size;
	char *f[5];
	struct admin_access acc = { &l4, NULL, 0, 0, hosts, 1 };
	struct admin_view v = { metrics, healthy, &ops, NULL };
	struct admin_req q;
	struct admin_reply out;
	unsigned flags;
	int auth_ok, host_ok;

	if (l4.sa.sa_family == 0) {
		log_set_level(LOG_ERR);
		addr_parse(&l4, "127.0.0.1:9925", -1);
		addr_parse(&any6, "[::]:9925", -1);
	}
	for (int i = 0; i < 5; i++)
		f[i] = field(&p, end);
	flags = f[4] != NULL && f[4][0] != '\0' ? (unsigned char)f[4][0] : 0;
	if (flags & 1) {
		acc.token = token;
		acc.token_len = sizeof(token) - 1;
	}
	acc.token_for_reads = (flags & 2) && acc.token != NULL;
	if (flags & 4)
		acc.listen = &any6;
	if (flags & 8)
		v.locks = NULL;
	q.method = f[0] != NULL ? f[0] : "GET";
	q.url = f[1] != NULL ? f[1] : "/";
	q.host = f[2];
	q.authorization = f[3];
	q.upload = (flags & 16) ? 1 : 0;
	routed = lifted = 0;
	admin_route(&acc, &v, &q, &out);

	CHECK(out.body != NULL && out.ctype != NULL);
	CHECK(out.status >= 200 && out.status <= 503);
	CHECK(out.challenge == (out.status == 401));
	auth_ok = acc.token != NULL && q.authorization != NULL &&
	    strncasecmp(q.authorization, "bearer ", 7) == 0 &&
	    strcmp(q.authorization + 7 + strspn(q.authorization + 7, " "),
	    token) == 0;
	host_ok = admin_host_ok(&acc, q.host);
	if (lifted)
		CHECK(auth_ok && host_ok && q.upload == 0 &&
		    strcmp(q.method, "DELETE") == 0);
	if (!host_ok || q.upload != 0 || out.status == 401)
		CHECK(routed == 0);
	if (acc.token_for_reads && !auth_ok && strcmp(q.url, "/healthz") != 0)
		CHECK(routed == 0);
	free(out.body);
	for (int i = 0; i < 5; i++)
		free(f[i]);
	return 0;
}
