/*
 * admin_route.h - what the admin endpoint answers (admin.h lists the
 * routes), as a pure function: a request's method, URL and the headers
 * that matter in, status and body out. admin.c (libmicrohttpd) calls it
 * for every request; tests and tests/fuzz/fuzz_admin.c drive it directly.
 *
 * Access (issue 9 item 5; docs/operator-guide.md "Metrics"):
 *   - Host: an IP literal equal to the listen address (any literal when
 *     listening on a wildcard address), "localhost", or a name of
 *     admin.hosts; anything else is 403, so a page whose name was rebound
 *     to the gateway's address (DNS rebinding) gets nothing. A request
 *     without Host (HTTP/1.0) passes: a browser always sends one.
 *   - DELETE /locks/<subscriber> changes state: it needs
 *     "Authorization: Bearer <admin.token_file>" (401 without or with a
 *     wrong one, 403 when no token is configured). /metrics and /locks
 *     need it too with admin.token_required_for_reads; /healthz never.
 *     The token is compared in constant time (SHA-256 of both, then
 *     CRYPTO_memcmp).
 */
#ifndef SUBGATE_ADMIN_ROUTE_H
#define SUBGATE_ADMIN_ROUTE_H

#include <stddef.h>

#include "addr.h"

struct admin_locks_ops;
struct buf;

/* admin_access - the rules, from the configuration's admin section. */
struct admin_access {
	const union sockaddr_any *listen;
	const char *token;		/* NULL: none configured */
	size_t token_len;
	int token_for_reads;
	char *const *hosts;		/* extra Host names accepted */
	size_t nhosts;
};

/* admin_view - what the routes read, supplied by the caller. */
struct admin_view {
	void (*metrics)(void *arg, struct buf *b);	/* Prometheus text */
	int (*healthy)(void *arg);			/* 1: every worker runs */
	const struct admin_locks_ops *locks;		/* NULL: /locks is 404 */
	void *arg;
};

/* admin_req - one request: NUL-terminated strings; host and authorization
 * NULL when the header is absent; upload = octets of body offered. */
struct admin_req {
	const char *method, *url;
	const char *host, *authorization;
	size_t upload;
};

/* admin_reply - the answer; body is malloc'd and the caller's. */
struct admin_reply {
	unsigned status;
	const char *ctype;
	char *body;
	size_t len;
	int challenge;			/* 401: send WWW-Authenticate: Bearer */
};

/* ADMIN_HOST_MAX - octets of a Host header at the most. */
#define ADMIN_HOST_MAX 255

/* admin_route - the answer to q under acc, reading v. */
void admin_route(const struct admin_access *acc, const struct admin_view *v,
    const struct admin_req *q, struct admin_reply *out);

/* admin_host_ok - 1 if the Host header h (NULL: absent) is accepted. */
int admin_host_ok(const struct admin_access *acc, const char *h);

#endif
