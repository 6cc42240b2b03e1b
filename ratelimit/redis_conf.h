/*
 * redis_conf.h - the configuration's redis section (common/config.h struct
 * redis_conf) as the connections of this directory take it (struct
 * rl_conn_conf): one translation for the limiter, the RADIUS listener, the
 * lock administration and the command-line tool, so that all of them talk
 * to the same primary (Sentinel), with the same password, in the same
 * database.
 */
#ifndef SUBGATE_RL_REDIS_CONF_H
#define SUBGATE_RL_REDIS_CONF_H

#include "addr.h"
#include "redis_uv.h"

struct redis_conf;

struct rl_redis_conf {
	struct rl_conn_conf conn;	/* points into the fields below and
					 * into the redis_conf it came from */
	char host[ADDR_STRLEN];
	char **sentinels;		/* "host:port" each */
};

/* rl_redis_conf_init - rc as an rl_conn_conf: address or sentinels,
 * master_name, password, database, connect timeout and request deadline.
 * rc must outlive out; rl_redis_conf_free releases what out holds. */
void rl_redis_conf_init(struct rl_redis_conf *out, const struct redis_conf *rc);
void rl_redis_conf_free(struct rl_redis_conf *out);

#endif
