/*
 * radius_store.c - the assignment store of the RADIUS listener
 * (radius_store.h): the file batch, the Redis writes and their replay.
 */
#include "util.h"	/* before uv.h: sys/param.h defines MIN/MAX too */
#include "radius_store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asg_schema.h"
#include "audit.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "identity.h"
#include "log.h"
#include "radius_server.h"
#include "redis_conf.h"
#include "redis_uv.h"

#define REPLAY_MAX 200000		/* Redis writes queued for replay */
#define REPLAY_INFLIGHT 256		/* replayed writes in flight */
#define JOB_MAX_ERRORS 3		/* error replies before a write is dropped */
#define BATCH_FLUSH (1u << 20)		/* write the file batch at this size */

/* A Redis write of one record. */
struct rs_job {
	struct rs_job *next;
	struct radius_store_req *e;	/* request waiting for it, or NULL */
	int64_t score;
	uint8_t open, start_unknown;
	uint8_t family;
	uint8_t errors;		/* error replies so far */
	uint8_t plen;
	char key[ASG_KEY_MAX];
	const char *nas, *sid;	/* needles: into data, after the record */
	size_t len;
	char data[];		/* record NUL "nas":"..." NUL "acct_session_id":"..." NUL */
};

/* The store: on the listener's loop thread only. */
static struct {
	uv_loop_t *loop;
	const struct config *conf;
	struct radius_stats *st;
	radius_store_done_fn *done;
	int closing;
	struct radius__ratelog log;	/* Redis error replies */

	struct radius_store_req *bhead, *btail;	/* batch */
	struct buf batch;		/* records, one per line */

	struct rl_conn *redis;
	int redis_up;
	char sha[41];
	char ttl[24];
	uint8_t plens_sent[2][129];	/* SADD done on this connection */
	struct rs_job *rhead, *rtail;	/* replay queue */
	size_t nreplay, replay_inflight;
	struct rl_redis_conf rconf;	/* the redis section, as connections
					 * take it */
} store;

/* Redis ---------------------------------------------------------------------- */

static int job_send(struct rs_job *j);

static void
replay_push(struct rs_job *j)
{
	if (store.nreplay >= REPLAY_MAX) {
		store.st->redis_dropped++;
		free(j);
		return;
	}
	j->next = NULL;
	if (store.rtail != NULL)
		store.rtail->next = j;
	else
		store.rhead = j;
	store.rtail = j;
	store.nreplay++;
}

/* replay - send queued writes, oldest first, a window at a time. */
static void
replay(void)
{
	while (store.redis_up && !store.closing && store.rhead != NULL &&
	    store.replay_inflight < REPLAY_INFLIGHT) {
		struct rs_job *j = store.rhead;

		store.rhead = j->next;
		if (store.rhead == NULL)
			store.rtail = NULL;
		store.nreplay--;
		j->e = NULL;
		if (job_send(j) < 0) {
			/* back to the head, in order; retried on the next
			 * answer or reconnect */
			j->next = store.rhead;
			store.rhead = j;
			if (store.rtail == NULL)
				store.rtail = j;
			store.nreplay++;
			break;
		}
		store.replay_inflight++;
	}
}

/* job_failed - a write that did not make it: queue it for replay (or drop
 * it after JOB_MAX_ERRORS error replies); its request no longer waits. */
static void
job_failed(struct rs_job *j, int error_reply)
{
	struct radius_store_req *e = j->e;

	store.st->redis_failed++;
	j->e = NULL;
	if (store.closing)
		free(j);
	else if (error_reply && ++j->errors >= JOB_MAX_ERRORS) {
		store.st->redis_dropped++;
		free(j);
	} else
		replay_push(j);
	if (e != NULL && --e->waiting == 0)
		store.done(e);
}

static void
job_cb(void *arg, int err, const redisReply *r)
{
	struct rs_job *j = arg;
	struct radius_store_req *e = j->e;

	if (e == NULL)
		store.replay_inflight--;
	if (err == 0 && r != NULL && r->type != REDIS_REPLY_ERROR) {
		store.st->redis_written++;
		free(j);
		if (e != NULL && --e->waiting == 0)
			store.done(e);
	} else {
		char esc[128];

		if (r != NULL && radius__ratelog_ok(&store.log, uv_now(store.loop)))
			log_warn("event=radius_redis_error reply=%s",
			    log_esc(esc, sizeof(esc), r->str, r->len));
		if (r != NULL && r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0
		    && store.redis != NULL)
			rl_conn_reset(store.redis, SG_EPROTO);	/* reloads it */
		job_failed(j, r != NULL);
	}
	replay();
}

static void
sadd_cb(void *arg, int err, const redisReply *r)
{
}

/* job_send - to Redis; 0, or a negative code and nothing was sent (the
 * caller keeps j). */
static int
job_send(struct rs_job *j)
{
	char score[24], cutoff[24];
	const char *argv[13];
	size_t len[13];
	int rc, fi = j->family == AF_INET ? 0 : 1;

	if (!store.redis_up)
		return -ENOTCONN;
	if (!store.plens_sent[fi][j->plen]) {
		char tag[ASG_PLEN_TAG_MAX];
		const char *sv[] = { "SADD", ASG_PLENS_KEY, tag };
		size_t sl[3];

		sl[0] = 4;
		sl[1] = strlen(ASG_PLENS_KEY);
		sl[2] = asg_plen_tag(tag, j->family, j->plen);
		if (rl_conn_command(store.redis, 3, sv, sl, 0, sadd_cb, NULL,
		    NULL) == 0)
			store.plens_sent[fi][j->plen] = 1;
	}
	snprintf(score, sizeof(score), "%lld", (long long)j->score);
	snprintf(cutoff, sizeof(cutoff), "%lld", (long long)(now_ms() -
	    (int64_t)store.conf->identity.history_ms));
	argv[0] = "EVALSHA";
	argv[1] = store.sha;
	argv[2] = "1";
	argv[3] = j->key;
	argv[4] = j->data;
	argv[5] = score;
	argv[6] = store.ttl;
	argv[7] = j->nas;
	argv[8] = j->sid;
	argv[9] = j->open ? "1" : "0";
	argv[10] = j->start_unknown ? "1" : "0";
	argv[11] = ASG_CHANNEL;
	argv[12] = cutoff;
	for (int i = 0; i < 13; i++)
		len[i] = i == 4 ? j->len : strlen(argv[i]);
	rc = rl_conn_command(store.redis, 13, argv, len, 0, job_cb, NULL, j);
	return rc < 0 ? rc : 0;
}

static void
script_cb(void *arg, int err, const redisReply *r)
{
	if (r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40 &&
	    memcmp(r->str, store.sha, 40) != 0)
		log_warn("event=radius_script_sha_mismatch");
}

static void
redis_setup(void *arg, struct rl_conn *c)
{
	const char *argv[3] = { "SCRIPT", "LOAD", asg_history_script };
	size_t len[3] = { 6, 4, strlen(asg_history_script) };

	rl_conn_setup(c, 3, argv, len, script_cb, NULL);
}

static void
redis_event(void *arg, enum rl_conn_event ev, int err)
{
	if (ev == RL_CONN_UP) {
		store.redis_up = 1;
		memset(store.plens_sent, 0, sizeof(store.plens_sent));
		if (store.nreplay > 0)
			log_info("event=radius_redis_replay queued=%zu", store.nreplay);
		replay();
	} else
		store.redis_up = 0;
}

static void
redis_closed(void *arg)
{
}

static const struct rl_conn_ops redis_ops = {
	redis_setup, redis_event, redis_closed
};

static struct rs_job *
job_new(const struct asg *a, const char *json, size_t len)
{
	size_t no = 0, nl = 0, so = 0, sl = 0;
	struct rs_job *j;

	if (asg_json_field(json, len, "nas", &no, &nl) < 0 ||
	    asg_json_field(json, len, "acct_session_id", &so, &sl) < 0)
		abort();	/* asg_to_json always writes both */
	j = xcalloc(1, sizeof(*j) + len + nl + sl + 3);
	memcpy(j->data, json, len);
	j->len = len;
	memcpy(j->data + len + 1, json + no, nl);
	memcpy(j->data + len + 2 + nl, json + so, sl);
	j->nas = j->data + len + 1;
	j->sid = j->data + len + 2 + nl;
	j->score = a->start_ms;
	j->open = a->end_ms == 0;
	j->start_unknown = (uint8_t)a->start_unknown;
	j->family = (uint8_t)a->prefix.family;
	j->plen = (uint8_t)a->prefix.plen;
	asg_history_key(j->key, &a->prefix);
	return j;
}

/* The file batch ------------------------------------------------------------- */

static void
batch_append(const char *json, size_t len)
{
	if (store.batch.len > 0)
		buf_add(&store.batch, "\n", 1);
	buf_add(&store.batch, json, len);
}

/* A failed write keeps the batch (and its requests pending) for the next
 * try: nothing is done before it is on disk. */
void
radius_store_flush(void)
{
	struct radius_store_req *e, *next;

	if (store.bhead == NULL)
		return;
	if (store.batch.len > 0) {
		if (audit_write_line(store.batch.p, store.batch.len) < 0) {
			store.st->file_errors++;
			return;
		}
		store.batch.len = 0;
	}
	e = store.bhead;
	store.bhead = store.btail = NULL;
	for (; e != NULL; e = next) {
		struct rs_job *j, *jn;

		next = e->bnext;
		e->bnext = NULL;
		j = e->jobs;
		e->jobs = NULL;
		if (store.redis == NULL) {
			for (; j != NULL; j = jn) {
				jn = j->next;
				free(j);
			}
			store.done(e);
			continue;
		}
		/* Keep the order of writes while older ones wait for replay. */
		if (!store.redis_up || store.rhead != NULL) {
			for (; j != NULL; j = jn) {
				jn = j->next;
				j->e = NULL;
				replay_push(j);
			}
			store.done(e);
			replay();
			continue;
		}
		e->waiting = 1;		/* held while sending */
		for (; j != NULL; j = jn) {
			jn = j->next;
			j->e = e;
			e->waiting++;
			if (job_send(j) < 0)
				job_failed(j, 0);
		}
		if (--e->waiting == 0)
			store.done(e);
	}
}

static void
sha1_hex(const char *s, char out[41])
{
	unsigned char md[SHA_DIGEST_LENGTH];

	SHA1((const unsigned char *)s, strlen(s), md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int
radius_store_start(uv_loop_t *loop, const struct config *c,
    struct radius_stats *st, radius_store_done_fn *done)
{
	store.loop = loop;
	store.conf = c;
	store.st = st;
	store.done = done;
	if (!c->redis.enabled)
		return 0;
	sha1_hex(asg_history_script, store.sha);
	snprintf(store.ttl, sizeof(store.ttl), "%llu",
	    (unsigned long long)c->identity.history_ms);
	rl_redis_conf_init(&store.rconf, &c->redis);
	store.rconf.conn.deadline_ms = MAX(store.rconf.conn.deadline_ms, 1);
	store.rconf.conn.max_inflight = 65536;
	store.redis = rl_conn_new(loop, &store.rconf.conn, &redis_ops, NULL);
	return store.redis != NULL ? 0 : SG_EINVAL;
}

void
radius_store_record(struct radius_store_req *r, const struct asg *a)
{
	size_t len;
	char *json = asg_to_json(a, &len);

	batch_append(json, len);
	if (store.redis != NULL) {
		struct rs_job *j = job_new(a, json, len), **pp = &r->jobs;

		while (*pp != NULL)
			pp = &(*pp)->next;
		*pp = j;
	}
	free(json);
}

void
radius_store_submit(struct radius_store_req *r)
{
	if (store.btail != NULL)
		store.btail->bnext = r;
	else
		store.bhead = r;
	store.btail = r;
	if (store.batch.len >= BATCH_FLUSH)
		radius_store_flush();
}

void
radius_store_close(void)
{
	store.closing = 1;
	if (store.redis != NULL) {
		rl_conn_free(store.redis);
		store.redis = NULL;
	}
}

void
radius_store_free(void)
{
	struct rs_job *j;

	if (store.nreplay > 0)
		log_warn("event=radius_redis_unreplayed records=%zu "
		    "note=\"in the audit file only\"", store.nreplay);
	while ((j = store.rhead) != NULL) {
		store.rhead = j->next;
		free(j);
	}
	store.rtail = NULL;
	store.nreplay = 0;
	buf_free(&store.batch);
	rl_redis_conf_free(&store.rconf);
	memset(&store, 0, sizeof(store));
}

void
radius_store_req_free(struct radius_store_req *r)
{
	struct rs_job *j;

	while ((j = r->jobs) != NULL) {
		r->jobs = j->next;
		free(j);
	}
}

size_t
radius_store_queued(void)
{
	return store.nreplay;
}

const struct rl_conn_conf *
radius_store_redis(void)
{
	return store.redis != NULL ? &store.rconf.conn : NULL;
}
