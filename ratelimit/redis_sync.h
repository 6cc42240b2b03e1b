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
struct redisReply;

/* RL_SYNC_STR_MAX - the longest string a synchronous caller takes from a
 * reply where it expects a key, a cursor or a member name. */
#define RL_SYNC_STR_MAX 1024

/* rl_sync_str - 1 if r is a bulk (or status) string of at most max octets:
 * what every caller checks before it reads r->str. */
int rl_sync_str(const struct redisReply *r, size_t max);
/* rl_sync_array - 1 if r is an array of at most max elements. */
int rl_sync_array(const struct redisReply *r, size_t max);
/* rl_sync_why - what to tell a person about a failed command: the context's
 * error, the server's error reply or "unexpected reply", escaped (log_esc)
 * into out (at least 8). Returns out. */
const char *rl_sync_why(char *out, size_t len, const struct redisContext *c,
    const struct redisReply *r);

/* rl_sync_cmd / rl_sync_argv - redisCommand / redisCommandArgv on a
 * context of rl_sync_connect, with the reply bounds of redis_uv.h: NULL
 * with the context's error set (then drop the context) when the reply is
 * too large, as for any failure. Every synchronous caller uses these. */
struct redisReply *rl_sync_cmd(struct redisContext *c, const char *fmt, ...);
struct redisReply *rl_sync_argv(struct redisContext *c, int argc,
    const char **argv, const size_t *len);

/* rl_sync_connect - connect as c says; every connect waits at most
 * c->connect_timeout_ms (<= 0: 1000), every command timeout_ms (<= 0: the
 * same). The context is the caller's (redisFree); NULL with err set, which
 * names the step and the server's reply, never the password. */
struct redisContext *rl_sync_connect(const struct rl_conn_conf *c,
    int timeout_ms, char *err, size_t errlen);

#endif
