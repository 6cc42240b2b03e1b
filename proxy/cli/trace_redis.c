/*
 * trace_redis.c - `subgate trace` over the Redis index (docs/audit.md
 * "Redis index"): ZRANGEBYSCORE on the query's index key gives record ids,
 * MGET of sg:rec:<id> the records, and a second MGET the session records
 * of transactions whose session is not among them. Synchronous hiredis:
 * a command-line tool has nothing else to do while it waits.
 */
#include "trace.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonl.h"
#include "redis_sync.h"
#include "util.h"

#define MGET_CHUNK 256

redisContext *
trace_redis_connect(const struct redis_target *t, char *err, size_t errlen)
{
	struct rl_conn_conf cc = t->rc.conn;

	cc.connect_timeout_ms = t->timeout_ms;
	return rl_sync_connect(&cc, t->timeout_ms, err, errlen);
}

void
trace_redis_close(redisContext *c)
{
	redisFree(c);
}

/* mget - fetch sg:rec:<id> for n ids into out (missing ones: expired). */
static int
mget(redisContext *c, char **ids, size_t n, int ctx, struct tset *out,
    char *err, size_t errlen)
{
	const char **argv = xcalloc(MGET_CHUNK + 1, sizeof(char *));
	char (*keys)[AUDIT_KEY_MAX] = xcalloc(MGET_CHUNK, AUDIT_KEY_MAX);
	int rc = 0;

	argv[0] = "MGET";
	for (size_t off = 0; off < n && rc == 0; off += MGET_CHUNK) {
		size_t m = MIN(MGET_CHUNK, n - off), k = 0;
		redisReply *r;

		for (size_t i = 0; i < m; i++)
			if (audit_rec_key(keys[k], ids[off + i]) == 0) {
				argv[1 + k] = keys[k];
				k++;
			}
		if (k == 0)
			continue;
		r = rl_sync_argv(c, (int)k + 1, argv, NULL);
		if (!rl_sync_array(r, k)) {
			char why[160];

			snprintf(err, errlen, "redis MGET: %s",
			    rl_sync_why(why, sizeof(why), c, r));
			rc = -1;
		} else {
			for (size_t i = 0; i < r->elements; i++) {
				json_t *j;

				/* nil: expired; too long: no record of ours */
				if (!rl_sync_str(r->element[i], JSONL_LINE_MAX)) {
					if (r->element[i]->type !=
					    REDIS_REPLY_NIL)
						out->bad_lines++;
					continue;
				}
				j = json_loadb(r->element[i]->str,
				    r->element[i]->len, 0, NULL);
				if (j != NULL)
					tset_add(out, j, ctx);
				else
					out->bad_lines++;
			}
		}
		if (r != NULL)
			freeReplyObject(r);
	}
	free(keys);
	free(argv);
	return rc;
}

int
trace_redis(const struct redis_target *t, const struct tquery *q,
    struct tset *out, char *err, size_t errlen)
{
	redisContext *c;
	redisReply *r;
	char from[24], to[24], lim[24];
	char **ids = NULL;
	size_t n = 0, cap = 0, first;
	int rc = -1;

	if ((c = trace_redis_connect(t, err, errlen)) == NULL)
		return -1;
	snprintf(from, sizeof(from), "%lld", (long long)q->from);
	snprintf(to, sizeof(to), "%lld", (long long)q->to);
	snprintf(lim, sizeof(lim), "%zu", q->limit + 1);
	{
		const char *argv[] = { "ZRANGEBYSCORE", q->key, from, to, "LIMIT",
			"0", lim };

		r = rl_sync_argv(c, 7, argv, NULL);
	}
	if (!rl_sync_array(r, q->limit + 1)) {
		char why[160];

		snprintf(err, errlen, "redis ZRANGEBYSCORE: %s",
		    rl_sync_why(why, sizeof(why), c, r));
		freeReplyObject(r);
		goto out;
	}
	for (size_t i = 0; i < r->elements; i++) {
		if (!rl_sync_str(r->element[i], AUDIT_RECID_MAX - 1))
			continue;
		if (n == q->limit) {
			out->truncated = 1;
			break;
		}
		ids = xgrow(ids, &cap, n + 1, sizeof(*ids), 64);
		ids[n++] = xstrndup(r->element[i]->str, r->element[i]->len);
	}
	freeReplyObject(r);
	first = out->n;
	if (mget(c, ids, n, 0, out, err, errlen) < 0)
		goto out;
	/* The sessions of the transactions found. */
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	n = 0;
	for (size_t i = first; i < out->n; i++) {
		struct audit_facts f;

		if (audit_facts_from_json(&f, out->v[i].rec) < 0 ||
		    f.type != AUDIT_REC_TXN || tset_has(out, f.session))
			continue;
		ids = xgrow(ids, &cap, n + 1, sizeof(*ids), 64);
		ids[n++] = xstrdup(f.session);
	}
	if (mget(c, ids, n, 1, out, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	redisFree(c);
	return rc;
}
