/*
 * radius_sub.h - the RADIUS listener's subscriber thread: the other nodes'
 * assignment records, applied to the live table (identity.c) as Redis
 * publishes them, after loading every open assignment from the history at
 * each (re)connect. A plain thread with one blocking connection
 * (redis_sync.h); it shares nothing with the listener's loop but the live
 * table (identity.c's lock) and its counter.
 */
#ifndef SUBGATE_RADIUS_SUB_H
#define SUBGATE_RADIUS_SUB_H

#include <stdint.h>

struct config;
struct rl_conn_conf;

/* radius_sub_start - start the thread; c and redis must outlive it.
 * 0 or a negative code (the thread could not be made). */
int radius_sub_start(const struct config *c, const struct rl_conn_conf *redis);
/* radius_sub_stop - stop and join the thread (if it runs). */
void radius_sub_stop(void);
/* radius_sub_applied - other nodes' records applied so far (any thread). */
uint64_t radius_sub_applied(void);

#endif
