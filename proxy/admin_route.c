/*
 * admin_route.c - the admin endpoint's routing decision (admin_route.h):
 * body refused, Host checked, the token where the route needs it, then the
 * route itself. No HTTP library and no worker state here: the caller hands
 * in the request and what the routes read (struct admin_view).
 */
#include "admin_route.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define SUBSCRIBER_MAX 255
#define CT_TEXT "text/plain; charset=utf-8"

/* What a route needs before it answers. */
enum need { OPEN, READ, WRITE };

static void
text(struct admin_reply *out, unsigned status, const char *t)
{
	out->status = status;
	out->ctype = CT_TEXT;
	out->body = xstrdup(t);
	out->len = strlen(t);
}

/* store_err - 503 with the text of an SG_E* code from the policy. */
static void
store_err(struct admin_reply *out, int err)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "lock-out store unavailable: %s%s\n",
	    sg_strerror(err), err == SG_ECONFIG ? " (is redis configured?)" : "");
	text(out, 503, msg);
}

/* subscriber_ok - the id after /locks/: printable, bounded. */
static int
subscriber_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SUBSCRIBER_MAX)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

/* is_wildcard - 0.0.0.0 or [::]. */
static int
is_wildcard(const union sockaddr_any *a)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_addr.s_addr == htonl(INADDR_ANY);
	return a->sa.sa_family == AF_INET6 &&
	    memcmp(&a->sin6.sin6_addr, &any6, sizeof(any6)) == 0;
}

/* literal_ok - name (a bracket-less IP literal) against the listen
 * address: 1 equal or listening on a wildcard, 0 another address, -1 not
 * a literal. */
static int
literal_ok(const struct admin_access *acc, const char *name)
{
	union sockaddr_any a, l;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, name, &a.sin.sin_addr) == 1)
		a.sa.sa_family = AF_INET;
	else if (inet_pton(AF_INET6, name, &a.sin6.sin6_addr) == 1)
		a.sa.sa_family = AF_INET6;
	else
		return -1;
	if (acc->listen == NULL)
		return 0;
	l = *acc->listen;
	addr_unmap(&l);
	addr_unmap(&a);
	return is_wildcard(&l) || addr_eq_host(&a, &l);
}

int
admin_host_ok(const struct admin_access *acc, const char *h)
{
	char name[ADMIN_HOST_MAX + 1];
	const char *port, *end;
	size_t n;
	int lit;

	if (h == NULL)
		return 1;
	n = strlen(h);
	if (n == 0 || n > ADMIN_HOST_MAX)
		return 0;
	if (h[0] == '[') {
		if ((end = strchr(h, ']')) == NULL)
			return 0;
		n = (size_t)(end - h - 1);
		memcpy(name, h + 1, n);
		name[n] = '\0';
		port = end + 1;
		/* only an IPv6 literal goes in brackets (RFC 3986 3.2.2) */
		if (strchr(name, ':') == NULL)
			return 0;
	} else {
		end = strchr(h, ':');
		n = end != NULL ? (size_t)(end - h) : n;
		memcpy(name, h, n);
		name[n] = '\0';
		port = h + n;
	}
	if (*port == ':') {
		port++;
		if (*port == '\0' || strlen(port) > 5 ||
		    strspn(port, "0123456789") != strlen(port))
			return 0;
	} else if (*port != '\0') {
		return 0;
	}
	if ((lit = literal_ok(acc, name)) >= 0)
		return lit;
	if (h[0] == '[')
		return 0;
	if (strcasecmp(name, "localhost") == 0)
		return 1;
	for (size_t i = 0; i < acc->nhosts; i++)
		if (strcasecmp(name, acc->hosts[i]) == 0)
			return 1;
	return 0;
}

/* token_ok - "Bearer <token>" (scheme case-insensitive, RFC 6750 2.1)
 * against the configured token, in time independent of both. */
static int
token_ok(const struct admin_access *acc, const char *auth)
{
	unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned wl = 0, gl = 0;
	const char *t;
	int same;

	if (acc->token == NULL || auth == NULL || strncasecmp(auth, "Bearer ", 7))
		return 0;
	for (t = auth + 7; *t == ' '; t++)
		;
	if (EVP_Digest(acc->token, acc->token_len, want, &wl, EVP_sha256(),
	    NULL) != 1 || EVP_Digest(t, strlen(t), got, &gl, EVP_sha256(),
	    NULL) != 1 || wl != gl)
		return 0;
	same = CRYPTO_memcmp(want, got, wl) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	OPENSSL_cleanse(got, sizeof(got));
	return same;
}

static void
locks_list(const struct admin_locks_ops *ops, const char *method,
    struct admin_reply *out)
{
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (strcmp(method, "GET") != 0) {
		text(out, 405, "GET /locks\n");
		return;
	}
	if ((rc = ops->list(ops->arg, &body, &len)) < 0) {
		free(body);
		store_err(out, rc);
		return;
	}
	out->status = 200;
	out->ctype = "application/json";
	out->body = body;
	out->len = len;
}

static void
locks_lift(const struct admin_locks_ops *ops, const char *method,
    const char *sub, struct admin_reply *out)
{
	char esc[300];
	int rc;

	if (strcmp(method, "DELETE") != 0) {
		text(out, 405, "DELETE /locks/<subscriber>\n");
		return;
	}
	if (!subscriber_ok(sub)) {
		text(out, 400, "bad subscriber\n");
		return;
	}
	rc = ops->lift(ops->arg, sub);
	log_info("event=admin_unlock subscriber=%s result=%s",
	    log_esc(esc, sizeof(esc), sub, strlen(sub)),
	    rc == 0 ? "lifted" : rc == 1 ? "not_locked" : sg_strerror(rc));
	if (rc == 0)
		text(out, 200, "lifted\n");
	else if (rc == 1)
		text(out, 404, "not locked\n");
	else
		store_err(out, rc);
}

void
admin_route(const struct admin_access *acc, const struct admin_view *v,
    const struct admin_req *q, struct admin_reply *out)
{
	const char *url = q->url;
	int locks = strcmp(url, "/locks") == 0, lift = strncmp(url, "/locks/", 7) == 0;
	enum need need = lift ? WRITE : locks || strcmp(url, "/metrics") == 0
	    ? READ : OPEN;
	struct buf b = { 0 };

	memset(out, 0, sizeof(*out));
	if (q->upload != 0) {
		text(out, 413, "no body\n");
		return;
	}
	if (!admin_host_ok(acc, q->host)) {
		text(out, 403, "host not allowed\n");
		return;
	}
	if (need == WRITE && acc->token == NULL) {
		text(out, 403, "changes need admin.token_file\n");
		return;
	}
	if ((need == WRITE || (need == READ && acc->token_for_reads)) &&
	    !token_ok(acc, q->authorization)) {
		text(out, 401, "bearer token required\n");
		out->challenge = 1;
		return;
	}
	if (locks || lift) {
		if (v->locks == NULL)
			text(out, 404, "lock-out management is not available\n");
		else if (locks)
			locks_list(v->locks, q->method, out);
		else
			locks_lift(v->locks, q->method, url + 7, out);
		return;
	}
	if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0) {
		text(out, 405, "GET only\n");
		return;
	}
	if (strcmp(url, "/metrics") == 0) {
		buf_reserve(&b, 8192);
		v->metrics(v->arg, &b);
		out->status = 200;
		out->ctype = "text/plain; version=0.0.4; charset=utf-8";
		out->body = b.p;
		out->len = b.len;
		return;
	}
	if (strcmp(url, "/healthz") == 0) {
		if (v->healthy(v->arg))
			text(out, 200, "ok\n");
		else
			text(out, 503, "workers stopped\n");
		return;
	}
	text(out, 404, "not found: /metrics /healthz /locks\n");
}
