/*
 * redis_uv.h - one Redis connection on a libuv loop, built on hiredis's async
 * API with our own event glue (Debian's hiredis 0.14.1 has no timeouts, and
 * its bundled libuv adapter drops poll errors, so a refused connect would
 * never call back).
 *
 * What it adds to hiredis: a connect watchdog; a deadline per request (its
 * callback runs exactly once, with -ETIMEDOUT when the deadline passes, and
 * the late reply is handed to an optional "late" callback or dropped); a
 * handshake (AUTH, ROLE behind Sentinel, then the owner's setup commands)
 * before the connection counts as up; reconnect with exponential backoff and
 * jitter from a timer; discovery of the primary through Sentinel.
 *
 * Ownership: hiredis's privdata is a request id, never a pointer, and the
 * request record lives in our table until hiredis has called back for it, so
 * nothing hiredis holds can dangle. hiredis contexts are freed only from our
 * timers or poll callback, never from inside a hiredis callback; handle
 * memory is freed in close callbacks.
 */
#ifndef SUBGATE_RL_REDIS_UV_H
#define SUBGATE_RL_REDIS_UV_H

#include <stddef.h>
#include <uv.h>

struct redisReader;
struct redisReply;
struct rl_conn;

/* Bounds on one reply, for every client of this module and of
 * redis_sync.h. hiredis 0.14.1 buffers a bulk string of whatever length a
 * server announces and allocates an array of whatever count it announces;
 * nothing subgate asks for comes near these. */
#define RL_REPLY_MAX_BYTES (64u << 20)	/* unparsed octets waiting */
#define RL_REPLY_MAX_ELEMENTS 1000000	/* elements of one array */

/* rl_reader_bound - r refuses an array of more than RL_REPLY_MAX_ELEMENTS
 * (hiredis then reports "Out of memory" and the context fails). */
void rl_reader_bound(struct redisReader *r);
/* rl_reader_over - 1 if more than max octets wait unparsed in r: the
 * caller drops the connection. */
int rl_reader_over(const struct redisReader *r, size_t max);

struct rl_conn_conf {
	const char *host;		/* numeric address (no DNS) */
	int port;
	const char *const *sentinels;	/* "host:port" each; overrides host */
	size_t nsentinels;
	const char *master_name;	/* with sentinels */
	const char *password;		/* AUTH to the primary; never logged */
	unsigned database;		/* SELECT after AUTH when not 0 */
	int connect_timeout_ms;		/* connect + handshake; default 1000 */
	int deadline_ms;		/* default request deadline; default 50 */
	int backoff_min_ms;		/* default 100 */
	int backoff_max_ms;		/* default 5000 */
	int stall_ms;			/* drop a connection whose oldest request
					 * is this old; default 5000 */
	size_t max_inflight;		/* default 4096 */
	size_t max_reply;		/* octets waiting unparsed; default
					 * RL_REPLY_MAX_BYTES */
};

enum rl_conn_event {
	RL_CONN_UP,		/* handshake done: commands may be sent */
	RL_CONN_DOWN,		/* a connection that was up is gone */
	RL_CONN_FAILED		/* an attempt failed (err says why) */
};

/* rl_conn_cb - the outcome of a request: err 0 and the reply (valid during
 * the call; it may be an error reply), or a negative code and NULL. */
typedef void rl_conn_cb(void *arg, int err, const struct redisReply *r);

struct rl_conn_ops {
	/* setup - a new connection is being made: queue its setup commands
	 * with rl_conn_setup(); it is up when they all succeeded. */
	void (*setup)(void *arg, struct rl_conn *c);
	void (*event)(void *arg, enum rl_conn_event ev, int err);
	/* closed - after rl_conn_free(): every handle is closed. */
	void (*closed)(void *arg);
};

/* rl_conn_new - a connection that starts connecting at once. */
struct rl_conn *rl_conn_new(uv_loop_t *loop, const struct rl_conn_conf *conf,
    const struct rl_conn_ops *ops, void *arg);

/* rl_conn_command - send a command when the connection is up; 0, or
 * -ENOTCONN / -ENOBUFS (too many in flight) and cb is not called. cb runs
 * exactly once, never from inside this call. deadline_ms <= 0 takes the
 * default. If cb got -ETIMEDOUT and late is set, late runs exactly once
 * more, with the reply or an error, and arg must live until then. */
int rl_conn_command(struct rl_conn *c, int argc, const char **argv,
    const size_t *len, int deadline_ms, rl_conn_cb *cb, rl_conn_cb *late,
    void *arg);

/* rl_conn_setup - from ops->setup only: a handshake command. An error
 * reply (or cb calling rl_conn_reset) fails the attempt. */
int rl_conn_setup(struct rl_conn *c, int argc, const char **argv,
    const size_t *len, rl_conn_cb *cb, void *arg);

/* rl_conn_reset - drop the connection (from a timer, not now) and connect
 * again after the backoff; behind Sentinel, ask for the primary again. */
void rl_conn_reset(struct rl_conn *c, int err);

int rl_conn_is_up(const struct rl_conn *c);
size_t rl_conn_inflight(const struct rl_conn *c);
/* rl_conn_addr - "host:port" of the current or last target. */
const char *rl_conn_addr(const struct rl_conn *c);

/* Shared with redis_sync.c, the same handshake without a loop:
 * rl__split_hostport - "host:port" or "[v6]:port"; 0 or SG_EINVAL;
 * rl__primary_addr - the primary named by a SENTINEL
 * get-master-addr-by-name reply (*host to free()); 0, -EHOSTUNREACH
 * (the sentinel does not know it) or SG_EPROTO;
 * rl__is_primary - 1 if a ROLE reply says "master". */
int rl__split_hostport(const char *s, char **host, int *port);
int rl__primary_addr(const struct redisReply *r, char **host, int *port);
int rl__is_primary(const struct redisReply *r);

/* rl_conn_free - close; pending requests complete with -ECANCELED; then
 * ops->closed runs from the loop and the memory is gone. */
void rl_conn_free(struct rl_conn *c);

#endif
