/*
 * policy_core.h - the pure half of port-25 policy (docs/design.md "Decide"):
 * from the configuration, the facts of a session and a decision point to the
 * list of limits one limiter decision checks (struct pc_plan), and from the
 * limiter's answer to the reply the subscriber gets (struct smtp_verdict,
 * %l and %r expanded). No loop, no socket, no Redis: policy.c carries the
 * plans out, tests/unit/test_policy.c drives this file directly.
 *
 * Keys (ratelimit/core.h): scope "sub" (the subscriber, or the source
 * address / IPv6 /64 when nobody is known), "dst" (the destination host),
 * "all" (everyone, empty id); names "<traffic>.<what>" ("mx.conn",
 * "submission.rcpt", "tls.bytes"), "any.<what>" for the limits a scope
 * counts over every traffic class, "lock" and "viol" for the lock-out.
 */
#ifndef SUBGATE_POLICY_CORE_H
#define SUBGATE_POLICY_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core.h"	/* ratelimit/: struct rl_limit */
#include "smtp.h"

struct identity;

/* Decision points. PC_TLS_BYTES: a tunnel asks for its next byte chunk. */
enum pc_point {
	PC_CONNECT,
	PC_MAIL,
	PC_RCPT,
	PC_DATA_END,
	PC_STARTTLS,
	PC_TLS_BYTES,
	PC_POINT_COUNT
};
const char *pc_point_name(enum pc_point p);

/* What a limit counts; pc_what_name gives the %l word. */
enum pc_what {
	PC_W_CONN,
	PC_W_CONC,
	PC_W_MSG,
	PC_W_RCPT,
	PC_W_BYTES,
	PC_W_DEST,
	PC_W_DURATION,
	PC_W_DENY,
	PC_W_LOCK,
	PC_W_VIOL,
	PC_W_COUNT
};
const char *pc_what_name(enum pc_what w);

enum pc_scope { PC_S_SUB, PC_S_DST, PC_S_ALL };
const char *pc_scope_name(enum pc_scope s);

/* The facts of one session a plan is built from. Strings are the caller's
 * and must outlive the plan (the plan points at them). */
struct pc_facts {
	const char *sub;		/* subscriber id (any bytes) */
	size_t sublen;
	const struct policy_class *cls;	/* never NULL */
	enum traffic_class traffic;	/* mx, submission, tls */
	const char *dst;		/* destination host (address text) */
	uint64_t bytes;			/* PC_DATA_END: message octets;
					 * PC_STARTTLS/PC_TLS_BYTES: chunk */
	/* sub and dst as rl_escape() gives them, cached by the caller per
	 * session (NULL: the limiter escapes them per decision) */
	const char *esub;
	size_t esublen;
	const char *edst;
	size_t edstlen;
};

/* One limit of a plan and where it came from. */
struct pc_meta {
	uint8_t what;			/* enum pc_what */
	uint8_t scope;			/* enum pc_scope */
	uint8_t action;			/* enum policy_action on a hit */
	uint32_t period_ms;		/* for %r when a cost never fits */
};

struct pc_plan {
	size_t n;
	struct rl_limit lim[RL_MAX_LIMITS];
	struct pc_meta meta[RL_MAX_LIMITS];
	int nconc;			/* RL_CONC limits: the answer holds a lease */
	int deny;			/* "deny: true": a hit without asking */
	uint8_t deny_action;		/* enum policy_action when deny */
};

/* PC_LEASE_TTL_MS - concurrency lease lifetime; sessions renew every third. */
#define PC_LEASE_TTL_MS (5 * 60 * 1000)

/* pc_plan_build - the limits point checks for facts f (lock, subscriber,
 * destination, global; only those configured). p->n == 0 when nothing
 * applies: the caller answers PASS without asking Redis. Never more than
 * RL_MAX_LIMITS.
 *
 * The lock (RL_LOCK, index 0) is in a plan only when some class of c has
 * a lock-out (nothing else sets locks), never at PC_TLS_BYTES, and on its
 * own only at PC_CONNECT: there it is worth a round trip by itself; at
 * MAIL, RCPT, end of data and STARTTLS it rides along with the limits of
 * the point (free: the same EVALSHA) and a point with no limit is answered
 * locally. So a lock set while a session runs stops it at its next point
 * that has a limit, or at the next connect. */
void pc_plan_build(const struct config *c, const struct pc_facts *f,
    enum pc_point point, struct pc_plan *p);

/* pc_locks_possible - some class of c has a lock-out. */
int pc_locks_possible(const struct config *c);

/* pc_tls_chunk - bytes a tls tunnel reserves per PC_STARTTLS/PC_TLS_BYTES
 * decision (1/16 of the smallest tls bytes limit, at least 64 KiB, at most
 * that limit), 0 when no tls bytes limit applies. */
uint64_t pc_tls_chunk(const struct config *c, const struct policy_class *cls);

/* pc_violation - the "viol" limit of f's class into *l: 1, or 0 when the
 * class has no lock-out (or locks at the first violation: *lock_now = 1).
 * The Nth violation within lockout.within is denied: limit N-1. */
int pc_violation(const struct pc_facts *f, struct rl_limit *l, int *lock_now);

/* The limiter's answer, as policy.c got it. */
enum pc_answer { PC_ALLOW, PC_DENY, PC_ERROR };

/*
 * Lock-out: what follows an answer. A subscriber limit that Redis denied
 * (not the lock itself, not "deny: true", not a destination or global
 * limit) is a violation; the class's lockout.violations-th violation within
 * lockout.within locks the subscriber out for lockout.duration. Locks live
 * only in Redis: an answer of the in-process fallback never counts. The
 * core decides; policy.c carries the step out (one more limiter decision,
 * or the lock) and feeds the violation's answer back (pc_after_violation).
 */
enum pc_step {
	PC_STEP_NONE,		/* nothing follows */
	PC_STEP_VIOLATION,	/* count one: ask the limiter for viol alone,
				 * its answer to pc_after_violation */
	PC_STEP_LOCK		/* lock the subscriber out for lock_ms */
};

struct pc_after {
	enum pc_step step;
	struct rl_limit viol;		/* PC_STEP_VIOLATION (id: f->sub) */
	uint32_t lock_ms;		/* PC_STEP_LOCK */
};

/* pc_after_answer - the step after answer a (deny_index as the limiter gave
 * it; from_redis: Redis answered) to plan p, built for facts f. Returns
 * out->step. */
enum pc_step pc_after_answer(const struct pc_facts *f, const struct pc_plan *p,
    enum pc_answer a, int deny_index, int from_redis, struct pc_after *out);

/* pc_after_violation - the step after answer a to a PC_STEP_VIOLATION
 * question for a subscriber of class cls: PC_STEP_LOCK when Redis denied
 * it, else PC_STEP_NONE. Returns out->step. */
enum pc_step pc_after_violation(const struct policy_class *cls,
    enum pc_answer a, int from_redis, struct pc_after *out);

#define PC_REPLY_MAX 512

/* pc_verdict - the verdict for answer a of plan p at point (deny_index,
 * retry_ms as the limiter gave them); reply text goes into buf (PC_REPLY_MAX)
 * and v->reply points at it; v->why is a static "limit:<scope>.<what>". */
void pc_verdict(const struct config *c, const struct pc_plan *p,
    enum pc_point point, enum pc_answer a, int deny_index, int64_t retry_ms,
    struct smtp_verdict *v, char *buf);

/* pc_audit_down - the connect verdict while the audit file fails under
 * audit.on_write_error: tempfail: replies.audit_down as 421 (RFC 5321
 * 3.8: the only refusal a greeting can carry), close; v->why is
 * "audit_write_failed". Reply text into buf (PC_REPLY_MAX). */
void pc_audit_down(const struct config *c, struct smtp_verdict *v, char *buf);

/* pc_reply - the reply template tmpl ("NNN X.Y.Z text") with its code
 * replaced by code and its enhanced code by enh (NULL: keep the template's
 * if its class matches code, else "<class>.7.1"), %l and %r expanded, into
 * out (outlen >= 16). Returns out. */
char *pc_reply(const char *tmpl, int code, const char *enh, const char *lname,
    int64_t retry_s, char *out, size_t outlen);

/* pc_sub_from_addr - the subscriber id when nobody is known: the IPv4
 * address, or the IPv6 prefix of length v6len ("2001:db8:1:2::/64"; 128:
 * the address); v4-mapped are unmapped. */
void pc_sub_from_addr(const union sockaddr_any *a, unsigned v6len, char *out,
    size_t outlen);

/* PC_SUB_ADDR_MAX - room pc_subscriber needs in buf: an address or a /64. */
#define PC_SUB_ADDR_MAX (ADDR_STRLEN + 8)

/* pc_subscriber - whom the limits count for the identity id that was
 * decided at accept for src: id's subscriber; nobody known
 * (IDENTITY_ADDRESS): pc_sub_from_addr(src) into buf (PC_SUB_ADDR_MAX),
 * while the audit record keeps id's plain address. Returns id->subscriber
 * or buf. Derived from id alone: the address is not looked up again. */
const char *pc_subscriber(const struct identity *id,
    const union sockaddr_any *src, char *buf, size_t buflen);

#endif
