/*
 * policy.h - the decision point (docs/design.md "Decide"). The relay asks at
 * connect, MAIL, RCPT, end of data and STARTTLS; a tunnel that came from
 * STARTTLS asks for more bytes. The answer is a struct smtp_verdict.
 *
 * Each question is one limiter decision (ratelimit/limiter.h: one EVALSHA
 * carrying every limit that applies: lock, subscriber, destination,
 * global), built and mapped by the pure policy_core.c; a question with
 * nothing to check (pc_plan_build: no limit, and the lock only at connect)
 * is answered PASS without Redis. A session's leases go back with the next
 * decision of its worker (rl_release), not in a round trip of their own. One struct rl per
 * worker loop; the in-process fallback (struct rl_local) is shared by the
 * workers of the node. Without a "redis" section the fallback alone decides,
 * synchronously.
 *
 * The callback may run inside policy_ask() (no Redis, or nothing to check)
 * or later from the worker's loop. A later answer names its session by
 * struct sess_key and the receiver looks it up (worker_lookup); a session
 * that is gone is simply not found.
 *
 * Per session state (struct policy_sess: who, which class, the concurrency
 * leases, the tls byte budget, the refusals for the audit record) belongs to
 * the session; decisions in flight hold a reference of their own, so a
 * session may end at any time.
 *
 * The policy never applies to passthrough sessions (RFC 5068 section 4.1):
 * tunnel_start() does not call it, and nothing here is on their path.
 */
#ifndef SUBGATE_POLICY_H
#define SUBGATE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "smtp.h"
#include "worker.h"

struct policy_sess;
struct audit_session;
struct identity;

struct policy_req {
	struct sess_key key;
	const char *session_id;		/* audit id, for logs */
	enum smtp_point point;
	const union sockaddr_any *src;	/* the subscriber's address */
	const union sockaddr_any *dst;	/* the original destination */
	const char *arg;		/* MAIL: reverse-path, RCPT: forward-path, else "" */
	const struct smtp_txn *txn;	/* NULL at connect */
	struct policy_sess *ps;		/* the session's (policy_session_new) */
	enum smtp_class cls;		/* mx, submission (after AUTH 235), tls */
};

/* policy_cb - the verdict for the session named by key. v and its strings
 * are valid only during the call. arg is the caller's, unchanged (it must
 * outlive any session: the worker, not the session). */
typedef void (*policy_cb)(const struct sess_key *key,
    const struct smtp_verdict *v, void *arg);

/* policy_init - on the main thread before any worker starts: the node's
 * shared fallback and the Redis addresses. 0 or SG_E*. */
int policy_init(const struct config *c);
/* policy_shutdown - after every worker has ended. */
void policy_shutdown(void);

/* policy_worker_start - the worker's limiter (connects to Redis at once),
 * made on w's loop before its thread runs. 0 or SG_E*. */
int policy_worker_start(struct worker *w);
/* policy_worker_stop - on w's thread once its sessions are gone: the
 * limiter closes (open decisions are answered), so the loop can end. */
void policy_worker_stop(struct worker *w);

/* policy_session_new - state for a new SMTP session on w from src to dst,
 * for the identity id that the session decided at accept (identity_lookup,
 * once: the same answer its audit record carries): the class is id->cls,
 * the subscriber pc_subscriber's. id is not kept. Never NULL. */
struct policy_sess *policy_session_new(struct worker *w, const char *session_id,
    const struct identity *id, const union sockaddr_any *src,
    const union sockaddr_any *dst);
/* policy_session_end - the session ended: its leases go back, its
 * refusals go into rec (may be NULL). ps is not used after. */
void policy_session_end(struct policy_sess *ps, struct audit_session *rec);

/* policy_subscriber / policy_class_name - for records and logs. */
const char *policy_subscriber(const struct policy_sess *ps);
const char *policy_class_name(const struct policy_sess *ps);

/* policy_ask - ask; cb runs exactly once, now or later. */
void policy_ask(const struct policy_req *req, policy_cb cb, void *arg);

/* After STARTTLS was allowed: the tunnel's byte budget so far (0: no tls
 * bytes limit) and its life limit in ms (0: none). */
uint64_t policy_tls_budget(const struct policy_sess *ps);
uint32_t policy_tls_duration(const struct policy_sess *ps);
/* policy_tls_more - the tunnel spent its budget: reserve the next chunk.
 * cb gets SMTP_PASS (budget grew by policy_tls_budget's chunk) or a
 * refusal (end the tunnel). */
void policy_tls_more(struct policy_sess *ps, const struct sess_key *key,
    policy_cb cb, void *arg);
/* policy_tls_end - a tunnel was ended by a tls limit ("bytes",
 * "duration"): counted and logged. */
void policy_tls_end(struct policy_sess *ps, const char *what);

struct policy_stats {
	uint64_t decisions;	/* questions asked (policy_ask, policy_tls_more) */
	uint64_t refused;	/* answered with a refusal */
	uint64_t redis;		/* answered by Redis */
	uint64_t local;		/* answered by the in-process fallback */
	uint64_t errors;	/* Redis unusable, fail closed */
	uint64_t lockouts;	/* locks set after violations */
	uint64_t tls_ended;	/* tunnels ended by a tls bytes/duration limit */
};
/* policy_get_stats - summed over the workers (any thread). */
void policy_get_stats(struct policy_stats *st);

/* Lock-out administration, from any thread that is not a worker's (the
 * admin endpoint, `subgate locks`): each call opens its own connection to
 * the configured Redis, waits for it (connect_timeout), and answers. */
struct policy_lock {
	char subscriber[256];	/* unescaped; "#<hash>" for a hashed long id */
	int64_t ttl_ms;
};
/* policy_locks_list - the locks now: *out (free()) and *n. 0 or SG_E*. */
int policy_locks_list(const struct config *c, struct policy_lock **out,
    size_t *n);
/* policy_locks_lift - remove the lock of subscriber. 0 or SG_E*. */
int policy_locks_lift(const struct config *c, const char *subscriber);

/* The admin endpoint's struct admin_locks_ops (admin.h), arg = the config:
 * policy_admin_list - JSON {"locks":[{"subscriber":..,"ttl_ms":..}]};
 * policy_admin_lift - 0 lifted, 1 no such lock, SG_E*. */
int policy_admin_list(void *arg, char **body, size_t *len);
int policy_admin_lift(void *arg, const char *subscriber);

#endif
