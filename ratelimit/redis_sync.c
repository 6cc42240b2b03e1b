/*
 * redis_sync.c - the blocking connection of redis_sync.h.
 */
#include "redis_sync.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static struct timeval
tv_of(int ms)
{
	return (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
}

/* connect_one - host:port with the connect and command timeouts. */
static redisContext *
connect_one(const char *host, int port, int conn_ms, int cmd_ms, char *err,
    size_t errlen)
{
	redisContext *c = redisConnectWithTimeout(host, port, tv_of(conn_ms));

	if (c == NULL || c->err) {
		snprintf(err, errlen, "redis %s:%d: %s", host, port,
		    c != NULL ? c->errstr : "cannot allocate");
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv_of(cmd_ms));
	rl_reader_bound(c->reader);
	return c;
}

/* bounded_reply - redisGetReply with the reply bounds of redis_uv.h: the
 * command written, then read until the reader holds a whole reply or more
 * than RL_REPLY_MAX_BYTES wait in it. */
static redisReply *
bounded_reply(redisContext *c)
{
	void *r = NULL;
	int done = 0;

	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return NULL;
	for (;;) {
		if (redisGetReplyFromReader(c, &r) != REDIS_OK)
			break;
		if (r != NULL)
			return r;
		if (rl_reader_over(c->reader, RL_REPLY_MAX_BYTES)) {
			c->err = REDIS_ERR_PROTOCOL;
			snprintf(c->errstr, sizeof(c->errstr), "reply larger "
			    "than %u octets", RL_REPLY_MAX_BYTES);
			return NULL;
		}
		if (redisBufferRead(c) != REDIS_OK)
			break;
	}
	if (c->err == REDIS_ERR_OOM)	/* rl_reader_bound refused an array */
		snprintf(c->errstr, sizeof(c->errstr), "reply with more than "
		    "%d elements (or out of memory)", RL_REPLY_MAX_ELEMENTS);
	return NULL;
}

redisReply *
rl_sync_cmd(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = redisvAppendCommand(c, fmt, ap);
	va_end(ap);
	return rc == REDIS_OK ? bounded_reply(c) : NULL;
}

redisReply *
rl_sync_argv(redisContext *c, int argc, const char **argv, const size_t *len)
{
	if (redisAppendCommandArgv(c, argc, argv, len) != REDIS_OK)
		return NULL;
	return bounded_reply(c);
}

int
rl_sync_str(const redisReply *r, size_t max)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING ||
	    r->type == REDIS_REPLY_STATUS) && r->str != NULL && r->len <= max;
}

int
rl_sync_array(const redisReply *r, size_t max)
{
	return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements <= max
	    && (r->elements == 0 || r->element != NULL);
}

const char *
rl_sync_why(char *out, size_t len, const redisContext *c, const redisReply *r)
{
	const char *s = "unexpected reply";
	size_t n;

	if (r == NULL)
		s = c != NULL && c->errstr[0] != '\0' ? c->errstr : "no reply";
	else if (r->type == REDIS_REPLY_ERROR && r->str != NULL)
		s = r->str;
	n = r != NULL && s == r->str ? r->len : strlen(s);
	return log_esc(out, len, s, n);
}


/* ask_sentinels - the primary's address from the first sentinel that
 * names it; *host to free(). */
static int
ask_sentinels(const struct rl_conn_conf *cf, int conn_ms, int cmd_ms,
    char **host, int *port, char *err, size_t errlen)
{
	const char *name = cf->master_name != NULL ? cf->master_name
	    : "mymaster";

	char why[160];

	snprintf(err, errlen, "no usable sentinel");
	for (size_t i = 0; i < cf->nsentinels; i++) {
		char *sh;
		int sp, ok;
		redisContext *c;
		redisReply *r;

		if (rl__split_hostport(cf->sentinels[i], &sh, &sp) < 0) {
			snprintf(err, errlen, "bad sentinel address %s",
			    cf->sentinels[i]);
			continue;
		}
		c = connect_one(sh, sp, conn_ms, cmd_ms, err, errlen);
		free(sh);
		if (c == NULL)
			continue;
		r = rl_sync_cmd(c, "SENTINEL get-master-addr-by-name %s", name);
		ok = r != NULL && r->type != REDIS_REPLY_ERROR &&
		    rl__primary_addr(r, host, port) == 0;
		if (!ok)
			snprintf(err, errlen, "sentinel %s does not know %s: %s",
			    cf->sentinels[i], name,
			    rl_sync_why(why, sizeof(why), c, r));
		freeReplyObject(r);
		redisFree(c);
		if (ok)
			return 0;
	}
	return -1;
}

/* command - one handshake command; 0, or -1 with err set. */
static int
command(redisContext *c, const char *what, int argc, const char **argv,
    char *err, size_t errlen)
{
	redisReply *r = rl_sync_argv(c, argc, argv, NULL);
	int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
	char why[160];

	if (ok && strcmp(argv[0], "ROLE") == 0 && !rl__is_primary(r)) {
		snprintf(err, errlen, "redis %s: not the primary", what);
		ok = 0;
	} else if (!ok)
		/* the reply text, never the password */
		snprintf(err, errlen, "redis %s: %s", what,
		    rl_sync_why(why, sizeof(why), c, r));
	freeReplyObject(r);
	return ok ? 0 : -1;
}

redisContext *
rl_sync_connect(const struct rl_conn_conf *cf, int timeout_ms, char *err,
    size_t errlen)
{
	int conn_ms = cf->connect_timeout_ms > 0 ? cf->connect_timeout_ms
	    : 1000;
	int cmd_ms = timeout_ms > 0 ? timeout_ms : conn_ms;
	char *host = NULL, db[16], what[32];
	int port;
	redisContext *c;

	if (cf->nsentinels > 0) {
		if (ask_sentinels(cf, conn_ms, cmd_ms, &host, &port, err,
		    errlen) < 0)
			return NULL;
	} else {
		host = xstrdup(cf->host != NULL ? cf->host : "127.0.0.1");
		port = cf->port > 0 ? cf->port : 6379;
	}
	c = connect_one(host, port, conn_ms, cmd_ms, err, errlen);
	free(host);
	if (c == NULL)
		return NULL;
	if (cf->password != NULL) {
		const char *argv[] = { "AUTH", cf->password };

		if (command(c, "AUTH", 2, argv, err, errlen) < 0)
			goto fail;
	}
	if (cf->nsentinels > 0) {
		const char *argv[] = { "ROLE" };

		if (command(c, "ROLE", 1, argv, err, errlen) < 0)
			goto fail;
	}
	if (cf->database != 0) {
		const char *argv[] = { "SELECT", db };

		snprintf(db, sizeof(db), "%u", cf->database);
		snprintf(what, sizeof(what), "SELECT %u", cf->database);
		if (command(c, what, 2, argv, err, errlen) < 0)
			goto fail;
	}
	return c;
fail:
	redisFree(c);
	return NULL;
}
