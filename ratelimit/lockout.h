/*
 * lockout.h - the lock-out keyspace: "sg:{<scope>:<id>}:lock:l", the key
 * rl_key (core.h) makes of an RL_LOCK limit named "lock", id escaped by
 * rl_escape. The limiter sets and lifts a lock on its loop (rl_lock,
 * rl_unlock); the policy's admin endpoint and `subgate locks` list and lift
 * the subscribers' locks here, over a blocking connection (redis_sync.h).
 */
#ifndef SUBGATE_RL_LOCKOUT_H
#define SUBGATE_RL_LOCKOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

struct redisContext;

/* The subscribers' locks (scope "sub"), for SCAN MATCH. */
#define RL_LOCK_SUB_MATCH "sg:{sub:*}:lock:l"
#define RL_LOCK_SUB_MAX 256	/* a subscriber as rl_lock_subscriber gives it */

struct rl_lock_info {
	char subscriber[RL_LOCK_SUB_MAX];	/* unescaped; "#<hash>" for a
						 * hashed long id */
	int64_t ttl_ms;
};

/* rl_lock_key - the lock key of scope:id into out (RL_KEY_MAX); its
 * length. */
size_t rl_lock_key(char *out, const char *scope, const void *id,
    size_t idlen);

/* rl_locks_list - the subscribers locked out now: SCAN in pages (an
 * operator command: it visits the keyspace once), PTTL of each. *out
 * (free()) and *n; 0, or -1 with err set. */
int rl_locks_list(struct redisContext *c, struct rl_lock_info **out,
    size_t *n, char *err, size_t errlen);

/* rl_locks_lift - remove subscriber's lock: 1 lifted, 0 there was none,
 * -1 with err set. */
int rl_locks_lift(struct redisContext *c, const char *subscriber, char *err,
    size_t errlen);

#endif
