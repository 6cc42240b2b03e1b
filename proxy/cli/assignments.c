/*
 * assignments.c - "who held address A at time T" over the assignment
 * history in Redis or in JSON-lines files (contract in assignments.h,
 * record schema and keys in docs/identity.md).
 *
 * Redis (keys in asg_schema.h): the prefix lengths in use; for each one of
 * A's family, A masked to that length names the history key, a ZSET of
 * records scored by start. The members
 * with start <= T, latest first, are the candidates; an open member is the
 * assignment's current state, a closed one its final state.
 *
 * Files: one assignment leaves several lines (start, interims, then stop,
 * moved or nas_reboot). They are merged by (prefix, NAS, Acct-Session-Id,
 * start) into the assignment's last state; a Stop whose start the writing
 * node did not know ("start_unknown") closes the open one of its session.
 */
#include "assignments.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cidr.h"
#include "redis_sync.h"
#include "jsonl.h"
#include "util.h"

static int
cmp_asg(const void *x, const void *y)
{
	const struct asg *a = x, *b = y;

	if (a->prefix.plen != b->prefix.plen)
		return a->prefix.plen > b->prefix.plen ? -1 : 1;
	if (a->start_ms != b->start_ms)
		return a->start_ms > b->start_ms ? -1 : 1;
	return 0;
}

void
asg_query_sort(struct asg_vec *v)
{
	if (v->n > 1)
		qsort(v->v, v->n, sizeof(*v->v), cmp_asg);
}

static int
same_prefix(const struct cidr_prefix *a, const struct cidr_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	    memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static int
same_assignment(const struct asg *a, const struct asg *b)
{
	return same_prefix(&a->prefix, &b->prefix) &&
	    strcmp(a->nas, b->nas) == 0 &&
	    strcmp(a->session_id, b->session_id) == 0;
}

/* merge - fold record r into state: the assignment's later state wins. */
static void
merge(struct asg_vec *state, struct asg *r)
{
	for (size_t i = 0; i < state->n; i++) {
		struct asg *s = &state->v[i];

		if (!same_assignment(s, r))
			continue;
		if (r->start_unknown && r->end_ms != 0 && s->end_ms == 0) {
			/* closes the open one: its start is the real one */
			r->start_ms = s->start_ms;
			r->start_unknown = 0;
		} else if (s->start_ms != r->start_ms)
			continue;
		if (s->end_ms != 0 && r->end_ms == 0) {
			asg_free(r);	/* already ended: a late interim */
			return;
		}
		asg_free(s);
		*s = *r;
		memset(r, 0, sizeof(*r));
		return;
	}
	asg_vec_push(state, r);
	asg_free(r);
}

int
asg_query_line(struct asg_vec *state, const char *line, size_t len,
    const union sockaddr_any *a)
{
	struct asg r;

	/* cheap pre-filter: most lines of an audit file are sessions */
	if (memmem(line, len, "\"assignment\"", 12) == NULL)
		return 0;
	if (asg_from_json(line, len, &r) < 0)
		return -1;
	if (asg_contains(&r, a))
		merge(state, &r);
	else
		asg_free(&r);
	return 1;
}

void
asg_query_finish(struct asg_vec *state, int64_t t, struct asg_vec *out)
{
	for (size_t i = 0; i < state->n; i++) {
		struct asg *s = &state->v[i];

		if (s->start_ms <= t && (s->end_ms == 0 || s->end_ms >= t))
			asg_vec_push(out, s);
	}
	asg_vec_clear(state);
	asg_query_sort(out);
}

/* scan_file - every line of one file into state. */
static int
scan_file(const char *path, struct asg_vec *state,
    const union sockaddr_any *a, size_t *bad, char *err, size_t errlen)
{
	struct jsonl r;
	char *line;
	size_t len;

	if (jsonl_open(&r, path, err, errlen) < 0)
		return -1;
	while ((line = jsonl_next(&r, &len)) != NULL)
		if (asg_query_line(state, line, len, a) < 0 && bad != NULL)
			(*bad)++;
	if (bad != NULL)
		*bad += r.too_long;
	jsonl_close(&r);
	return 0;
}

int
asg_query_files(char *const *files, size_t nfiles,
    const union sockaddr_any *a, int port, int64_t t, struct asg_vec *out,
    size_t *bad, char *err, size_t errlen)
{
	struct asg_vec state = { NULL, 0, 0 };
	int rc = 0;

	(void)port;
	for (size_t i = 0; i < nfiles && rc == 0; i++)
		rc = scan_file(files[i], &state, a, bad, err, errlen);
	if (rc == 0)
		asg_query_finish(&state, t, out);
	asg_vec_free(&state);
	return rc;
}

/* mask_key - the history key of a's prefix of length plen, or -1. */
static int
mask_key(const union sockaddr_any *a, int family, unsigned plen, char *key)
{
	struct cidr_prefix p;

	if (plen > (family == AF_INET ? 32u : 128u) ||
	    cidr_prefix_of(&p, a, plen) < 0 || p.family != family)
		return -1;
	asg_history_key(key, &p);
	return 0;
}

int
asg_query_redis(struct redisContext *c, const union sockaddr_any *a,
    int port, int64_t t, struct asg_vec *out, char *err, size_t errlen)
{
	union sockaddr_any u = *a;
	redisReply *pl;
	int fam, rc = 0;
	char ts[24], why[160];

	(void)port;
	addr_unmap(&u);
	fam = u.sa.sa_family;
	pl = rl_sync_cmd(c, "SMEMBERS %s", ASG_PLENS_KEY);
	if (!rl_sync_array(pl, 2 * 129)) {	/* "4/0".."6/128" */
		snprintf(err, errlen, "SMEMBERS %s: %s", ASG_PLENS_KEY,
		    rl_sync_why(why, sizeof(why), c, pl));
		freeReplyObject(pl);
		return -1;
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)t);
	for (size_t i = 0; i < pl->elements && rc == 0; i++) {
		const char *m = rl_sync_str(pl->element[i], ASG_PLEN_TAG_MAX) ?
		    pl->element[i]->str : NULL;
		char key[ASG_KEY_MAX];
		unsigned plen;
		int mfam;
		redisReply *z;

		if (m == NULL || asg_plen_parse(m, &mfam, &plen) < 0 ||
		    mfam != fam || mask_key(&u, fam, plen, key) < 0)
			continue;
		z = rl_sync_cmd(c, "ZREVRANGEBYSCORE %s %s -inf LIMIT 0 %d",
		    key, ts, ASG_QUERY_LIMIT);
		if (!rl_sync_array(z, ASG_QUERY_LIMIT)) {
			snprintf(err, errlen, "ZREVRANGEBYSCORE %s: %s", key,
			    rl_sync_why(why, sizeof(why), c, z));
			rc = -1;
		} else
			for (size_t k = 0; k < z->elements; k++) {
				struct asg r;

				if (!rl_sync_str(z->element[k], ASG_JSON_MAX) ||
				    asg_from_json(z->element[k]->str,
				    z->element[k]->len, &r) < 0)
					continue;
				if (asg_covers(&r, &u, t))
					asg_vec_push(out, &r);
				asg_free(&r);
			}
		freeReplyObject(z);
	}
	freeReplyObject(pl);
	asg_query_sort(out);
	return rc;
}
