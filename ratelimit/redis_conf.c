/*
 * redis_conf.c - struct redis_conf -> struct rl_conn_conf (redis_conf.h).
 */
#include "redis_conf.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

void
rl_redis_conf_init(struct rl_redis_conf *out, const struct redis_conf *rc)
{
	char a[ADDRPORT_STRLEN];

	memset(out, 0, sizeof(*out));
	addr_ntop(&rc->address, out->host, sizeof(out->host));
	out->conn.host = out->host;
	out->conn.port = addr_port(&rc->address);
	out->sentinels = xcalloc(rc->nsentinels + 1, sizeof(char *));
	for (size_t i = 0; i < rc->nsentinels; i++)
		out->sentinels[i] = xstrdup(addr_fmt(&rc->sentinels[i], a,
		    sizeof(a)));
	out->conn.sentinels = (const char *const *)out->sentinels;
	out->conn.nsentinels = rc->nsentinels;
	out->conn.master_name = rc->master_name;
	out->conn.password = rc->password.value;
	out->conn.database = rc->database;
	out->conn.connect_timeout_ms = (int)rc->connect_timeout_ms;
	out->conn.deadline_ms = (int)rc->timeout_ms;
}

void
rl_redis_conf_free(struct rl_redis_conf *out)
{
	if (out->sentinels != NULL)
		for (size_t i = 0; i < out->conn.nsentinels; i++)
			free(out->sentinels[i]);
	free(out->sentinels);
	memset(out, 0, sizeof(*out));
}
