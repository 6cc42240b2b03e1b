/*
 * audit_index.c - the Redis index writer (see audit_index.h).
 *
 * Workers call ix_sink (the audit sink) with every record: it computes the
 * record's id and index keys from its facts (audit_facts_keys), copies them
 * with the JSON text into one allocation and appends that to a
 * mutex-protected queue, then wakes the writer thread. The writer owns everything else: its loop, the
 * rl_conn, the timer. It sends queued records while the connection is up
 * and there is room in flight; the replies only count errors. Nothing a
 * worker holds is ever touched by the writer, and the other way round,
 * except the queue under its mutex and the atomic counters.
 */
#include "util.h"	/* before uv.h: sys/param.h defines MIN/MAX too */
#include "audit_index.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "audit.h"
#include "audit_key.h"
#include "err.h"
#include "log.h"
#include "redis_conf.h"
#include "redis_uv.h"

#define MAX_INFLIGHT 32768	/* commands in flight on the connection */
#define DEADLINE_MS 5000	/* per command: the index is not urgent */
#define TRIM_EVERY 64		/* records between ZREMRANGEBYSCORE passes */
#define STOP_POLL_MS 20

struct ixent {
	struct ixent *next;
	int64_t score;		/* start, ms */
	size_t nkeys;
	size_t linelen;
	const char *id, *line;
	const char **keys;
	char data[];
};

/* writer - the one index writer: its queue (shared with the workers under
 * mu), its thread, loop and connection, and its counters. */
static struct {
	const struct config *conf;
	pthread_mutex_t mu;
	struct ixent *head, *tail;
	size_t n;
	int started;

	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t async;
	uv_timer_t timer;
	struct rl_conn *conn;
	atomic_int stopping;
	int stop_begun;
	int blocked;		/* drain stopped for room in flight */
	uint64_t stop_deadline;
	unsigned ntrim;
	char ret_s[24];
	int64_t ret_ms;
	struct rl_redis_conf redis;	/* c->redis, as every client takes it */
	int64_t last_err_log;

	atomic_uint_fast64_t queued, indexed, dropped, errors;
	atomic_int up;
} writer = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Workers -------------------------------------------------------------- */

static void
ix_sink(const struct audit_facts *f, const char *line, size_t len)
{
	char id[AUDIT_RECID_MAX], keys[AUDIT_IX_MAX][AUDIT_KEY_MAX];
	struct ixent *e;
	size_t total, idlen, klen[AUDIT_IX_MAX];
	int64_t score = f->start_known ? f->start_ms : now_ms();
	int nk;
	char *p;

	if ((nk = audit_facts_keys(f, id, keys, AUDIT_IX_MAX)) < 0)
		return;
	idlen = strlen(id) + 1;
	total = idlen + len + 1;
	for (int i = 0; i < nk; i++)
		total += (klen[i] = strlen(keys[i]) + 1);
	e = xmalloc(sizeof(*e) + (size_t)nk * sizeof(char *) + total);
	e->next = NULL;
	e->score = score;
	e->nkeys = (size_t)nk;
	e->linelen = len;
	e->keys = (const char **)(void *)e->data;
	p = e->data + (size_t)nk * sizeof(char *);
	memcpy(p, id, idlen);
	e->id = p;
	p += idlen;
	memcpy(p, line, len);
	p[len] = '\0';
	e->line = p;
	p += len + 1;
	for (int i = 0; i < nk; i++) {
		memcpy(p, keys[i], klen[i]);
		e->keys[i] = p;
		p += klen[i];
	}

	pthread_mutex_lock(&writer.mu);
	if (writer.n >= AUDIT_INDEX_QUEUE_MAX || atomic_load(&writer.stopping)) {
		pthread_mutex_unlock(&writer.mu);
		atomic_fetch_add(&writer.dropped, 1);
		free(e);
		return;
	}
	if (writer.tail != NULL)
		writer.tail->next = e;
	else
		writer.head = e;
	writer.tail = e;
	writer.n++;
	pthread_mutex_unlock(&writer.mu);
	atomic_fetch_add(&writer.queued, 1);
	uv_async_send(&writer.async);
}

/* Writer thread -------------------------------------------------------- */

static void
note_err(const char *what, const char *detail)
{
	int64_t now = now_ms();

	atomic_fetch_add(&writer.errors, 1);
	if (now - writer.last_err_log < 10000)
		return;
	writer.last_err_log = now;
	log_warn("event=audit_index_error what=%s error=\"%s\" errors=%llu "
	    "dropped=%llu", what, detail,
	    (unsigned long long)atomic_load(&writer.errors),
	    (unsigned long long)atomic_load(&writer.dropped));
}

static void
cmd_cb(void *arg, int err, const struct redisReply *r)
{
	char buf[96];

	if (err < 0)
		note_err("command", sg_strerror(err));
	else if (r->type == REDIS_REPLY_ERROR) {
		log_esc(buf, sizeof(buf), r->str, r->len);
		note_err("reply", buf);
	} else if (arg != NULL)
		atomic_fetch_add(&writer.indexed, 1);
	if (writer.blocked && rl_conn_inflight(writer.conn) < MAX_INFLIGHT / 2) {
		writer.blocked = 0;
		uv_async_send(&writer.async);
	}
}

/* cmd - one command; the marker arg counts the record as indexed. */
static int
cmd(int argc, const char **argv, const size_t *len, void *mark)
{
	int rc = rl_conn_command(writer.conn, argc, argv, len, DEADLINE_MS, cmd_cb,
	    NULL, mark);

	if (rc < 0)
		note_err("send", sg_strerror(rc));
	return rc;
}

/* send_one - the pipelined batch of one record. */
static void
send_one(const struct ixent *e, int trim)
{
	char key[AUDIT_KEY_MAX], score[24], cutoff[24];
	const char *argv[5];
	size_t len[5];

	snprintf(score, sizeof(score), "%lld", (long long)e->score);
	snprintf(cutoff, sizeof(cutoff), "(%lld", (long long)(now_ms() -
	    writer.ret_ms));
	if (audit_rec_key(key, e->id) < 0)
		return;
	argv[0] = "SET"; argv[1] = key; argv[2] = e->line; argv[3] = "EX";
	argv[4] = writer.ret_s;
	for (int i = 0; i < 5; i++)
		len[i] = strlen(argv[i]);
	len[2] = e->linelen;
	if (cmd(5, argv, len, (void *)&writer) < 0)
		return;
	for (size_t k = 0; k < e->nkeys; k++) {
		argv[0] = "ZADD"; argv[1] = e->keys[k]; argv[2] = score;
		argv[3] = e->id;
		for (int i = 0; i < 4; i++)
			len[i] = strlen(argv[i]);
		(void)cmd(4, argv, len, NULL);
		argv[0] = "EXPIRE"; argv[2] = writer.ret_s;
		for (int i = 0; i < 3; i++)
			len[i] = strlen(argv[i]);
		(void)cmd(3, argv, len, NULL);
		if (trim) {
			argv[0] = "ZREMRANGEBYSCORE"; argv[2] = "-inf";
			argv[3] = cutoff;
			for (int i = 0; i < 4; i++)
				len[i] = strlen(argv[i]);
			(void)cmd(4, argv, len, NULL);
		}
	}
}

/* drain - send queued records while the connection is up and has room. */
static void
drain(void)
{
	for (;;) {
		struct ixent *e;
		int trim;

		if (!rl_conn_is_up(writer.conn))
			return;
		pthread_mutex_lock(&writer.mu);
		e = writer.head;
		if (e != NULL && rl_conn_inflight(writer.conn) + 1 + 3 * e->nkeys >
		    MAX_INFLIGHT) {
			writer.blocked = 1;
			e = NULL;
		}
		if (e != NULL) {
			writer.head = e->next;
			if (writer.head == NULL)
				writer.tail = NULL;
			writer.n--;
		}
		pthread_mutex_unlock(&writer.mu);
		if (e == NULL)
			return;
		trim = ++writer.ntrim % TRIM_EVERY == 0;
		send_one(e, trim);
		free(e);
	}
}

static void
closed_cb(void *arg)
{
	writer.conn = NULL;
	uv_close((uv_handle_t *)&writer.async, NULL);
	uv_close((uv_handle_t *)&writer.timer, NULL);
}

/* stop_check - at exit: end once everything is answered or time is up. */
static void
stop_check(uv_timer_t *t)
{
	struct ixent *e;
	size_t left = 0;

	drain();
	if (writer.head == NULL && rl_conn_inflight(writer.conn) == 0)
		goto done;
	if (uv_now(&writer.loop) < writer.stop_deadline) {
		uv_timer_start(&writer.timer, stop_check, STOP_POLL_MS, 0);
		return;
	}
done:
	pthread_mutex_lock(&writer.mu);
	while ((e = writer.head) != NULL) {
		writer.head = e->next;
		free(e);
		left++;
	}
	writer.tail = NULL;
	writer.n = 0;
	pthread_mutex_unlock(&writer.mu);
	atomic_fetch_add(&writer.dropped, left);
	log_info("event=audit_index_stop queued=%llu indexed=%llu dropped=%llu "
	    "errors=%llu", (unsigned long long)atomic_load(&writer.queued),
	    (unsigned long long)atomic_load(&writer.indexed),
	    (unsigned long long)atomic_load(&writer.dropped),
	    (unsigned long long)atomic_load(&writer.errors));
	rl_conn_free(writer.conn);
}

static void
async_cb(uv_async_t *a)
{
	drain();
	if (atomic_load(&writer.stopping) && !writer.stop_begun) {
		writer.stop_begun = 1;
		writer.stop_deadline = uv_now(&writer.loop) + AUDIT_INDEX_STOP_MS;
		uv_timer_start(&writer.timer, stop_check, 0, 0);
	}
}

static void
conn_event(void *arg, enum rl_conn_event ev, int err)
{
	switch (ev) {
	case RL_CONN_UP:
		atomic_store(&writer.up, 1);
		log_info("event=audit_index_up redis=%s", rl_conn_addr(writer.conn));
		drain();
		break;
	case RL_CONN_DOWN:
		atomic_store(&writer.up, 0);
		log_warn("event=audit_index_down redis=%s error=\"%s\"",
		    rl_conn_addr(writer.conn), sg_strerror(err));
		break;
	case RL_CONN_FAILED:
		break;
	}
}

static const struct rl_conn_ops conn_ops = {
	.event = conn_event,
	.closed = closed_cb,
};

static void
writer_main(void *arg)
{
	uv_run(&writer.loop, UV_RUN_DEFAULT);
}

/* Public --------------------------------------------------------------- */

int
audit_index_start(const struct config *c)
{
	const struct redis_conf *r = &c->redis;
	struct rl_conn_conf *cc = &writer.redis.conn;
	int rc;

	if (!c->audit.index_redis || !r->enabled)
		return 0;
	writer.conf = c;
	writer.ret_ms = (int64_t)c->audit.retention_ms;
	snprintf(writer.ret_s, sizeof(writer.ret_s), "%llu",
	    (unsigned long long)MAX(c->audit.retention_ms / 1000, 1));
	rl_redis_conf_init(&writer.redis, r);
	cc->deadline_ms = DEADLINE_MS;		/* writes, not decisions */
	cc->max_inflight = MAX_INFLIGHT;
	if ((rc = uv_loop_init(&writer.loop)) < 0)
		return rc;
	uv_async_init(&writer.loop, &writer.async, async_cb);
	uv_timer_init(&writer.loop, &writer.timer);
	writer.conn = rl_conn_new(&writer.loop, cc, &conn_ops, NULL);
	if ((rc = uv_thread_create(&writer.thread, writer_main, NULL)) < 0)
		return rc;
	writer.started = 1;
	audit_set_sink(ix_sink);
	log_info("event=audit_index_start redis=%s:%d sentinels=%zu "
	    "retention_s=%s", cc->host, cc->port, r->nsentinels, writer.ret_s);
	return 0;
}

void
audit_index_stop(void)
{
	if (!writer.started)
		return;
	audit_set_sink(NULL);
	atomic_store(&writer.stopping, 1);
	uv_async_send(&writer.async);
	uv_thread_join(&writer.thread);
	if (uv_loop_close(&writer.loop) < 0)
		log_warn("event=audit_index_loop_busy");
	rl_redis_conf_free(&writer.redis);
	writer.started = 0;
}

void
audit_index_get_stats(struct audit_index_stats *st)
{
	st->queued = atomic_load(&writer.queued);
	st->indexed = atomic_load(&writer.indexed);
	st->dropped = atomic_load(&writer.dropped);
	st->errors = atomic_load(&writer.errors);
	pthread_mutex_lock(&writer.mu);
	st->waiting = writer.n;
	pthread_mutex_unlock(&writer.mu);
	st->up = atomic_load(&writer.up);
}
