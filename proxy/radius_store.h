/*
 * radius_store.h - where the RADIUS listener's assignment records go
 * (docs/identity.md): appended to the audit file in batches, then written
 * to Redis by the history script (asg_schema.h) on one connection of the
 * listener's loop (redis_uv.h), with a bounded replay queue while Redis is
 * down or behind (writes keep their order).
 *
 * A request is stored when its records are in the file and, while Redis
 * is up, acknowledged by Redis; with Redis down, slow or behind a replay,
 * the file is enough and the Redis writes wait in the replay queue. The
 * store then calls done() for it, exactly once. Everything runs on the
 * listener's loop thread.
 */
#ifndef SUBGATE_RADIUS_STORE_H
#define SUBGATE_RADIUS_STORE_H

#include <stddef.h>
#include <uv.h>

struct asg;
struct config;
struct radius_stats;
struct rl_conn_conf;
struct rs_job;

/* One request's share of the store, embedded in the listener's entry;
 * zeroed by the listener, the fields are the store's. */
struct radius_store_req {
	struct radius_store_req *bnext;	/* batch: waiting for the file */
	struct rs_job *jobs;		/* its Redis writes, after the file */
	int waiting;			/* Redis writes outstanding */
};

typedef void radius_store_done_fn(struct radius_store_req *r);

/* radius_store_start - on loop, counting into st (the listener's); with
 * c's redis section when it has one. c and st must outlive the store.
 * 0, or SG_EINVAL (Redis configuration unusable: file only). */
int radius_store_start(uv_loop_t *loop, const struct config *c,
    struct radius_stats *st, radius_store_done_fn *done);

/* radius_store_record - one record of r: to the file batch and, with
 * Redis, to r's writes. */
void radius_store_record(struct radius_store_req *r, const struct asg *a);
/* radius_store_submit - r has all its records: it joins the batch (the
 * batch is written at once when it is large). */
void radius_store_submit(struct radius_store_req *r);
/* radius_store_flush - write the batch; its requests go on to Redis or
 * are done. A failed write keeps them for the next call. */
void radius_store_flush(void);

/* radius_store_close - from the loop, when it stops: the Redis connection
 * is closed (writes in flight end in the replay queue or are dropped). */
void radius_store_close(void);
/* radius_store_free - after the loop ended: free the replay queue (its
 * records are in the file only, and said so) and the batch. */
void radius_store_free(void);
/* radius_store_req_free - the writes of a request never submitted or
 * flushed. */
void radius_store_req_free(struct radius_store_req *r);

/* radius_store_queued - records in the replay queue now. */
size_t radius_store_queued(void);
/* radius_store_redis - the Redis settings (for the subscriber thread), or
 * NULL when there is no Redis. */
const struct rl_conn_conf *radius_store_redis(void);

#endif
