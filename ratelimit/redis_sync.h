/*
 * redis_sync.h - one blocking hiredis connection to the configured primary,
 * for callers with nothing else to do while they wait: the RADIUS
 * subscriber thread, the lock administration (admin endpoint, `subgate
 * locks`) and `subgate trace`. The handshake is redis_uv.c's without a
 * loop: through the sentinels when there are any (the first that names the
 * primary), then AUTH, ROLE behind Sentinel, SELECT.
 */
#ifndef SUBGATE_RL_REDIS_SYNC_H
#define SUBGATE_RL_REDIS_SYNC_H

#include <stddef.h>

#include "redis_uv.h"

struct redisContext;

/* rl_sync_connect - connect as c says; every connect waits at most
 * c->connect_timeout_ms (<= 0: 1000), every command timeout_ms (<= 0: the
 * same). The context is the caller's (redisFree); NULL with err set, which
 * names the step and the server's reply, never the password. */
struct redisContext *rl_sync_connect(const struct rl_conn_conf *c,
    int timeout_ms, char *err, size_t errlen);

#endif
