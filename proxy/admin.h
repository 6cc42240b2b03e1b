/*
 * admin.h - the operator's HTTP endpoint (admin.listen), served by
 * libmicrohttpd on a thread of its own, never on a worker's loop:
 *
 *   GET    /metrics               Prometheus text format 0.0.4: the workers'
 *                                 counters summed on read, audit counters
 *   GET    /healthz               200 "ok" while every worker runs, else 503
 *   GET    /locks                 the lock-out list (JSON), from the policy
 *   DELETE /locks/<subscriber>    lift one lock-out
 *
 * The /locks routes answer 404 until a module registers struct
 * admin_locks_ops (the policy engine: it owns the locks, in Redis or in its
 * local fallback). Access (Host check, the bearer token of admin.token_file
 * for DELETE and, if configured, for reads) is admin_route.h's
 * (docs/operator-guide.md "Metrics").
 */
#ifndef SUBGATE_ADMIN_H
#define SUBGATE_ADMIN_H

#include <stddef.h>

struct config;
struct worker;

/* admin_locks_ops - lock-out management, called on the admin thread, one
 * request at a time. They may block briefly (e.g. a Redis round trip on a
 * connection of their own, with a deadline) but must not touch any worker's
 * loop or sessions. */
struct admin_locks_ops {
	/* list - GET /locks: *body (malloc'd, the caller frees it) and *len,
	 * JSON; 0, or a negative SG_E* code (answered 503). */
	int (*list)(void *arg, char **body, size_t *len);
	/* lift - DELETE /locks/<subscriber> (URL-decoded, 1 to 255 printable
	 * octets): 0 lifted (200), 1 no such lock (404), negative SG_E* (503). */
	int (*lift)(void *arg, const char *subscriber);
	void *arg;
};

/* admin_set_locks - register (ops NULL: unregister) at any time; ops must
 * stay valid until unregistered or admin_stop. */
void admin_set_locks(const struct admin_locks_ops *ops);

/* admin_open - bind and listen on c->admin.listen (no-op when unset),
 * before privileges are dropped (priv.h). 0 or a negative errno, logged. */
int admin_open(const struct config *c);
/* admin_start - serve admin_open's socket (no-op without one) over the
 * workers (which outlive admin_stop) on a thread of its own. 0 or SG_ESYS,
 * logged. */
int admin_start(const struct config *c, struct worker *workers, int nworkers);
/* admin_stop - stop serving and join the thread; idempotent. */
void admin_stop(void);

#endif
