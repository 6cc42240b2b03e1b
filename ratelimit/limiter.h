/*
 * limiter.h - rate, concurrency and distinct-destination limits shared by
 * all gateway nodes through Redis (docs/design.md "Decide"), with an in-process
 * fallback. One decision is one EVALSHA of one Lua script that checks every
 * limit of the request and counts nothing unless all of them allow; Redis
 * TIME is the clock, so nodes agree. See docs/ratelimit.md.
 *
 * One struct rl per event loop (worker); it owns one Redis connection. When
 * Redis is down, slow (a request passed its deadline) or answers with an
 * error, a decision is made by the local fallback (RL_FAIL_OPEN: verdict
 * allow/deny, source RL_SRC_LOCAL) or refused (RL_FAIL_CLOSED: RL_ERROR, the
 * caller answers 451). After a timeout the limiter stays on the fallback and
 * probes Redis every probe_ms; the first probe answered in time switches back.
 *
 * Callbacks never run inside rl_decide(); each runs exactly once, on the
 * loop of the struct rl. Answers carry the caller's arg: pass an id that the
 * caller looks up, not a pointer to something that may die first.
 */
#ifndef SUBGATE_RL_LIMITER_H
#define SUBGATE_RL_LIMITER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core.h"
#include "local.h"

enum rl_verdict {
	RL_ALLOW,
	RL_DENY,
	RL_ERROR	/* no decision: fail-closed, Redis unusable */
};

enum rl_source { RL_SRC_REDIS, RL_SRC_LOCAL, RL_SRC_NONE };

enum rl_failmode { RL_FAIL_OPEN, RL_FAIL_CLOSED };

struct rl_conf {
	const char *host;		/* numeric; default 127.0.0.1 */
	int port;			/* default 6379 */
	const char *const *sentinels;	/* "host:port"; if any, host is ignored */
	size_t nsentinels;
	const char *master_name;	/* default "mymaster" */
	const char *password;		/* optional; never logged */
	unsigned database;		/* SELECT when not 0 */
	const char *node;		/* lease holder prefix; default host:pid */
	int deadline_ms;		/* per decision; default 50 */
	int connect_timeout_ms;		/* default 1000 */
	int backoff_min_ms;		/* default 100 */
	int backoff_max_ms;		/* default 5000 */
	int stall_ms;			/* default 5000 */
	int probe_ms;			/* default 200 */
	size_t max_inflight;		/* default 4096 */
	size_t max_reply;		/* octets of one reply; default
					 * RL_REPLY_MAX_BYTES (redis_uv.h) */
	int release_delay_ms;		/* a released lease waits this long for
					 * a decision to carry it, then goes
					 * alone; default 1, < 0: 0 */
	enum rl_failmode fail;
	struct rl_local *local;		/* shared fallback, or NULL: private */
};

struct rl_request {
	const struct rl_limit *limits;	/* at most RL_MAX_LIMITS */
	size_t nlimits;
	const void *session;		/* lease holder on this node (any bytes) */
	size_t session_len;
};

struct rl_lease;

struct rl_result {
	enum rl_verdict verdict;
	enum rl_source source;
	int deny_index;			/* first denying limit, 0-based; else -1 */
	int64_t retry_after_ms;		/* deny: >= 1, or -1: never at this cost */
	int err;			/* why Redis was not used (0 if it was) */
	struct rl_lease *lease;		/* allow with RL_CONC limits: now the
					 * caller's, to rl_release() */
};

typedef void (*rl_cb)(void *arg, const struct rl_result *res);

struct rl_stats {
	uint64_t decisions;	/* rl_decide + rl_renew accepted */
	uint64_t redis;		/* answered by Redis */
	uint64_t local;		/* answered by the fallback */
	uint64_t errors;	/* answered RL_ERROR */
	uint64_t timeouts;	/* deadlines passed */
	uint64_t noscript;	/* NOSCRIPT replies recovered */
};

struct rl;

/* rl_new - a limiter on loop; it connects at once. NULL if conf is bad. */
struct rl *rl_new(uv_loop_t *loop, const struct rl_conf *conf);

/* rl_decide - decide req; 0 and cb later, or SG_EINVAL (bad limits). */
int rl_decide(struct rl *rl, const struct rl_request *req, rl_cb cb,
    void *arg);

/* rl_renew - extend every lease of l by its TTL (answer as rl_decide, no
 * new lease); deny if it expired meanwhile and the slots are taken. */
int rl_renew(struct rl *rl, struct rl_lease *l, rl_cb cb, void *arg);

/* rl_release - give the lease back (where it was taken) and free it. A
 * lease from Redis is not a round trip of its own: the next decision or
 * renewal of this rl carries it (the script gives it back before it checks
 * anything), or, when none comes within release_delay_ms, one script call
 * gives back every lease waiting. With Redis unreachable it is dropped and
 * expires by its TTL. rl may be NULL (after rl_free): then l is only
 * freed. */
void rl_release(struct rl *rl, struct rl_lease *l);

/* rl_lock - lock scope:id out for ttl_ms (RL_LOCK limits then deny);
 * rl_unlock - lift it. cb gets 0 or a negative code. */
int rl_lock(struct rl *rl, const char *scope, const void *id, size_t idlen,
    int64_t ttl_ms, void (*cb)(void *arg, int err), void *arg);
int rl_unlock(struct rl *rl, const char *scope, const void *id,
    size_t idlen, void (*cb)(void *arg, int err), void *arg);

/* rl_is_up - Redis connected, script loaded, not on the fallback. */
int rl_is_up(const struct rl *rl);

void rl_get_stats(const struct rl *rl, struct rl_stats *st);

/* rl_free - answer every open decision RL_ERROR/-ECANCELED now, then close;
 * closed(arg) runs from the loop when every handle is closed. */
void rl_free(struct rl *rl, void (*closed)(void *arg), void *arg);

/* rl_verdict_name - "allow", "deny", "error". */
const char *rl_verdict_name(enum rl_verdict v);

#endif
