/*
 * audit_index.h - the audit trail's Redis index (docs/audit.md "Redis
 * index"), so that `subgate trace` on any node finds a record by address,
 * subscriber, Message-ID, queue id, recipient or destination.
 *
 * One writer thread with its own libuv loop and Redis connection
 * (ratelimit/redis_uv.h) takes records from the workers through a bounded
 * queue: a worker never waits for Redis. Per record one pipelined batch:
 * SET sg:rec:<id> <json> EX <retention>, and for each of its index keys
 * ZADD <key> <start ms> <id> and EXPIRE <key> <retention> (now and then
 * also ZREMRANGEBYSCORE <key> -inf <now - retention>). While Redis is down
 * records wait in the queue; when it is full they are dropped and counted:
 * the JSON-lines file stays the source of truth.
 */
#ifndef SUBGATE_AUDIT_INDEX_H
#define SUBGATE_AUDIT_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define AUDIT_INDEX_QUEUE_MAX 16384	/* records waiting for Redis */
#define AUDIT_INDEX_STOP_MS 2000	/* at exit: time to send what is queued */

struct audit_index_stats {
	uint64_t queued;	/* records handed to the writer */
	uint64_t indexed;	/* records whose SET succeeded */
	uint64_t dropped;	/* queue full, or left over at exit */
	uint64_t errors;	/* failed commands (error reply, timeout, lost) */
	size_t waiting;		/* in the queue now */
	int up;			/* connection is up */
};

/* audit_index_start - when c->audit.index_redis: start the writer and
 * register it as the audit sink. 0 (also when there is nothing to do) or a
 * negative code. */
int audit_index_start(const struct config *c);
/* audit_index_stop - after the workers have ended: send what is queued
 * (at most AUDIT_INDEX_STOP_MS), then stop the thread. */
void audit_index_stop(void);
void audit_index_get_stats(struct audit_index_stats *st);

#endif
