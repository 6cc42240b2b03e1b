/*
 * core.h - the pure part of the limiter: limit descriptions, Redis key
 * names, GCRA arithmetic and the compiled form of a decision (a "plan")
 * that both the Redis script and the in-process fallback execute. Nothing
 * here touches the loop, a socket or Redis, so unit tests drive it directly.
 *
 * Keys: "sg:{<scope>:<id>}:<name>:<k>", k = r (GCRA TAT), c (lease set),
 * d (distinct set), l (lock). The braces are the Redis Cluster hash tag, one
 * per scope and id (a subscriber, a source address, a destination...). Scope,
 * id and name are escaped by rl_escape(): bytes outside [A-Za-z0-9._@-]
 * become %HH, and an escaped form longer than RL_ID_MAX is replaced by
 * "#" + 128 bits of SHA-256 in hex. Neither "%" nor "#" survives escaping,
 * so the three forms never collide, and no id can reach a brace or colon.
 *
 * Time is in microseconds; every quantity stays below 2^53 so that the Lua
 * script (doubles) computes exactly what this file computes.
 */
#ifndef SUBGATE_RL_CORE_H
#define SUBGATE_RL_CORE_H

#include <stddef.h>
#include <stdint.h>

#define RL_MAX_LIMITS 16
#define RL_ID_MAX 64
#define RL_KEY_MAX (4 + 3 * RL_ID_MAX + 8)
#define RL_MEMBER_MAX (2 * RL_ID_MAX + 2)
/* RL_MAX_US - bound on any time quantity handed to the script (~35 years) */
#define RL_MAX_US ((int64_t)1 << 50)

enum rl_kind {
	RL_RATE,	/* GCRA: limit units per period_ms, burst units at once */
	RL_CONC,	/* leases: at most limit holders, each expiring after period_ms */
	RL_DISTINCT,	/* at most limit distinct members per period_ms window */
	RL_LOCK		/* deny while the lock key exists (see rl_lock) */
};

/* One limit of a decision. scope, id, name and member may hold any bytes. */
struct rl_limit {
	enum rl_kind kind;
	const char *scope;	/* "sub", "src", "dst", "all": NUL-terminated */
	const void *id;		/* the subscriber, address, destination... */
	size_t idlen;
	const char *name;	/* "conn", "msg", "rcpt", "bytes", "lock"... */
	int64_t limit;		/* RATE/CONC/DISTINCT: > 0 */
	int64_t period_ms;	/* RATE: period; CONC: lease TTL; DISTINCT: window */
	int64_t burst;		/* RATE: units allowed at once; 0 means limit */
	int64_t cost;		/* RATE: units this decision takes (0 = check only) */
	const void *member;	/* DISTINCT: e.g. the destination host */
	size_t member_len;
	/* eid: id already escaped by rl_escape() (what the caller caches
	 * per session, so that a decision escapes nothing); NULL: escape id */
	const char *eid;
	size_t eidlen;
};

/* GCRA parameters: emission interval and tolerance, microseconds. */
struct rl_gcra {
	int64_t t_us;
	int64_t tau_us;
};

/* One compiled limit: key and integer arguments of the script. */
struct rl_item {
	enum rl_kind kind;
	char key[RL_KEY_MAX];
	size_t keylen;
	int64_t a, b, c;	/* RATE: t_us, tau_us, cost; CONC: limit, ttl_ms;
				 * DISTINCT: limit, period_ms */
	char member[RL_MEMBER_MAX];
	size_t member_len;
};

struct rl_plan {
	size_t n;
	int nconc;
	char lease[RL_MEMBER_MAX];	/* "<node>:<session>", escaped */
	size_t lease_len;
	struct rl_item item[RL_MAX_LIMITS];
};

/* The outcome of a plan: allow, or the first denying limit (0-based) and
 * when to retry (milliseconds; -1: never at this cost). */
struct rl_outcome {
	int allow;
	int deny_index;
	int64_t retry_ms;
};

/* rl_escape - escape n bytes for a key; returns the length written (always
 * <= RL_ID_MAX, NUL-terminated; out must hold RL_ID_MAX + 1). */
size_t rl_escape(char *out, const void *in, size_t n);

/* rl_lock_subscriber - the subscriber named by a lock key
 * "sg:{sub:<escaped>}:lock:l", with rl_escape()'s %HH undone (a hashed id,
 * "#...", stays as it is). 0, or -1 if key is not a lock key; out is always
 * NUL-terminated and truncated at outlen. */
int rl_lock_subscriber(const char *key, size_t klen, char *out, size_t outlen);

/* rl_member - a set member for arbitrary bytes: "=" + bytes when n <=
 * RL_ID_MAX, else "#" + hex hash; returns its length (out: RL_MEMBER_MAX). */
size_t rl_member(char *out, const void *in, size_t n);

/* rl_key - the key of a limit into out (RL_KEY_MAX); its length. */
size_t rl_key(char *out, const struct rl_limit *l);

/* rl_gcra_params - emission interval period/limit (rounded down to whole
 * microseconds, at least 1) and tolerance t * burst. 0 or SG_EINVAL. */
int rl_gcra_params(int64_t limit, int64_t period_ms, int64_t burst,
    struct rl_gcra *g);

/* rl_gcra_step - one GCRA decision at time now for cost units against the
 * stored theoretical arrival time tat (0 if none). Allow: 1 and *new_tat
 * (store it, expiring at *new_tat). Deny: 0 and *retry_ms (>= 1, or -1 if
 * cost exceeds the burst). The Lua script implements the same lines. */
int rl_gcra_step(const struct rl_gcra *g, int64_t tat, int64_t now,
    int64_t cost, int64_t *new_tat, int64_t *retry_ms);

/* rl_plan_build - validate and compile limits; node and session name the
 * lease holder (any bytes). 0 or SG_EINVAL. */
int rl_plan_build(struct rl_plan *p, const struct rl_limit *limits,
    size_t n, const char *node, const void *session, size_t session_len);

/* RL_GIVE_MAX - lease keys one script call gives back (released leases
 * carried by a decision, or sent alone). */
#define RL_GIVE_MAX 16

/* RL_ARGV_MAX - argv slots of a script call: EVALSHA sha numkeys, the keys
 * given back and the plan's keys, mode, lease and the number given back,
 * one holder per key given back, then at most four per limit. */
#define RL_ARGV_MAX (3 + RL_GIVE_MAX + RL_MAX_LIMITS + 3 + RL_GIVE_MAX + \
	4 * RL_MAX_LIMITS)

/* Scratch for the decimal numbers an argv points into. */
struct rl_argv {
	int argc;
	const char *argv[RL_ARGV_MAX];
	size_t len[RL_ARGV_MAX];
	char num[RL_ARGV_MAX][24];
};

/* rl_plan_argv - the EVALSHA call of plan p (NULL: none) in mode "d"
 * (decide), after giving back the leases of the ngive plans give[] (their
 * RL_CONC items, at most RL_GIVE_MAX in all; further ones are left out),
 * or "p" (probe: no keys). A call with neither plan nor leases given back
 * is a probe too. Returns how many of give[] it carries. */
size_t rl_plan_argv(const struct rl_plan *p, const struct rl_plan *const *give,
    size_t ngive, const char *sha, const char *mode, struct rl_argv *out);

/* rl_give_keys - RL_CONC items of p (what giving its lease back takes). */
size_t rl_give_keys(const struct rl_plan *p);

/* rl_resp - the RESP encoding ("*N\r\n$len\r\n...") of argv into buf
 * (cap bytes); its length, or the length needed when larger than cap. */
size_t rl_resp(int argc, const char *const *argv, const size_t *len,
    char *buf, size_t cap);

/* rl_script - the Lua source of the decision script. */
extern const char rl_script[];

#endif
