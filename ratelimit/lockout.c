/*
 * lockout.c - the lock-out keyspace (lockout.h).
 */
#include "lockout.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redis_sync.h"
#include "util.h"

#define SCAN_ROUNDS_MAX 1000000		/* a server whose cursor never ends */
#define SCAN_KEYS_MAX 100000		/* keys in one SCAN answer */

size_t
rl_lock_key(char *out, const char *scope, const void *id, size_t idlen)
{
	struct rl_limit l = { .kind = RL_LOCK, .scope = scope, .id = id,
		.idlen = idlen, .name = "lock" };

	return rl_key(out, &l);
}

/* failed - err for a command that did not answer as it should. */
static int
failed(const redisContext *c, const redisReply *r, const char *cmd,
    char *err, size_t errlen)
{
	char why[160];

	snprintf(err, errlen, "%s failed: %s", cmd,
	    rl_sync_why(why, sizeof(why), c, r));
	return -1;
}

int
rl_locks_list(redisContext *c, struct rl_lock_info **out, size_t *n,
    char *err, size_t errlen)
{
	char cursor[32] = "0";
	struct rl_lock_info *v = NULL;
	size_t cap = 0;
	int rc = 0;
	long rounds = 0;

	*n = 0;
	do {
		redisReply *r = rl_sync_cmd(c, "SCAN %s MATCH %s COUNT 1000",
		    cursor, RL_LOCK_SUB_MATCH);

		if (!rl_sync_array(r, 2) || r->elements != 2 ||
		    !rl_sync_str(r->element[0], sizeof(cursor) - 1) ||
		    !rl_sync_array(r->element[1], SCAN_KEYS_MAX) ||
		    ++rounds > SCAN_ROUNDS_MAX) {
			rc = failed(c, r, "SCAN", err, errlen);
			freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements && rc == 0; i++) {
			redisReply *k = r->element[1]->element[i], *t;
			char sub[RL_LOCK_SUB_MAX];

			if (!rl_sync_str(k, RL_KEY_MAX) ||
			    rl_lock_subscriber(k->str, k->len, sub,
			    sizeof(sub)) < 0)
				continue;
			t = rl_sync_cmd(c, "PTTL %b", k->str, k->len);
			if (t == NULL || t->type != REDIS_REPLY_INTEGER)
				rc = failed(c, t, "PTTL", err, errlen);
			else if (t->integer != -2) {	/* -2: gone meanwhile */
				v = xgrow(v, &cap, *n + 1, sizeof(*v), 16);
				memcpy(v[*n].subscriber, sub, sizeof(sub));
				v[(*n)++].ttl_ms = t->integer;
			}
			freeReplyObject(t);
		}
		freeReplyObject(r);
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	if (rc != 0) {
		free(v);
		v = NULL;
		*n = 0;
	}
	*out = v;
	return rc;
}

int
rl_locks_lift(redisContext *c, const char *subscriber, char *err,
    size_t errlen)
{
	char key[RL_KEY_MAX];
	size_t klen = rl_lock_key(key, "sub", subscriber, strlen(subscriber));
	redisReply *r = rl_sync_cmd(c, "DEL %b", key, klen);
	int rc;

	if (r == NULL || r->type != REDIS_REPLY_INTEGER)
		rc = failed(c, r, "DEL", err, errlen);
	else
		rc = r->integer > 0;
	freeReplyObject(r);
	return rc;
}
