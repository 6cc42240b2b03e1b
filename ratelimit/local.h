/*
 * local.h - the in-process fallback limiter: the same plans, the same
 * semantics as the Redis script (GCRA, expiring leases, distinct sets,
 * all-or-nothing), kept in a hash table in memory. The limiter uses it while
 * Redis is slow or down and the failure mode is "open". Locks are held only
 * in Redis: a RL_LOCK limit always allows here.
 *
 * Thread-safe (one mutex), so the workers of a node may share one instance
 * and the fallback limit is per node, not per worker. Time is the caller's:
 * any monotonic microsecond clock. Entries expire like the Redis keys do and
 * are swept a few buckets per call.
 */
#ifndef SUBGATE_RL_LOCAL_H
#define SUBGATE_RL_LOCAL_H

#include <stdint.h>

#include "core.h"

struct rl_local;

struct rl_local *rl_local_new(void);
void rl_local_free(struct rl_local *l);

/* rl_local_decide - decide plan p at now_us: all limits or none count. */
void rl_local_decide(struct rl_local *l, const struct rl_plan *p,
    int64_t now_us, struct rl_outcome *o);

/* rl_local_release - drop p's lease from every RL_CONC key of p. */
void rl_local_release(struct rl_local *l, const struct rl_plan *p,
    int64_t now_us);

/* rl_local_entries - live keys (expired ones may linger until swept). */
size_t rl_local_entries(struct rl_local *l);

/* rl_local_now_us - the monotonic clock the limiter passes to this file. */
int64_t rl_local_now_us(void);

#endif
