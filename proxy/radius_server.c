/*
 * radius_server.c - the RADIUS accounting listener: uv_udp glue around the
 * pure decoder (radius.h) and the assignment state machine (identity.h),
 * and the writer of the assignment history to the audit file and Redis.
 * Contract in radius_server.h; semantics and schema in docs/identity.md.
 *
 * Threads: "radius" runs its own uv loop with the UDP socket, a check
 * handle (flush after each poll), a 1 s timer, a stop async and one Redis
 * connection (redis_uv.h); "radius-sub" is a plain thread with a blocking
 * hiredis connection that SUBSCRIBEs to the other nodes' records and loads
 * the open assignments from Redis at every (re)connect. Both write the live
 * table through identity.c's lock; nothing else is shared but the stats
 * snapshot (mutex) and the stop flag (atomic).
 *
 * One request's life: verified -> rtx entry (pending) -> state machine ->
 * records appended to the file batch -> batch written (check handle) ->
 * Redis writes (or the replay queue) -> all acknowledged -> response sent
 * and remembered in the entry for 30 s, to answer retransmissions (RFC 5080
 * §2.2.2) without storing twice. An entry is never freed while pending.
 */
#include "util.h"	/* before uv.h: sys/param.h defines MIN/MAX too */
#include "radius_server.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "asg_schema.h"
#include "audit.h"
#include "cidr.h"
#include "config.h"
#include "err.h"
#include "identity.h"
#include "log.h"
#include "redis_conf.h"
#include "redis_sync.h"
#include "redis_uv.h"

#define RTX_KEEP_MS 30000		/* answer retransmissions this long */
#define RTX_MAX (1u << 20)		/* remembered requests */
#define RTX_BUCKETS (1u << 18)
#define PENDING_MAX 65536		/* requests not yet answered */
#define REPLAY_MAX 200000		/* Redis writes queued for replay */
#define REPLAY_INFLIGHT 256		/* replayed writes in flight */
#define JOB_MAX_ERRORS 3		/* error replies before a write is dropped */
#define BATCH_FLUSH (1u << 20)		/* write the file batch at this size */
#define RCVBUF (8 << 20)
#define STATS_LOG_MS 60000
#define SUB_TIMEOUT_MS 5000		/* a command of the subscriber thread */

/* A Redis write of one record. */
struct job {
	struct job *next;
	struct rtx *e;		/* request waiting for it, or NULL */
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

/* A remembered request. */
struct rtx {
	struct rtx *hnext;	/* hash chain */
	struct rtx *qnext;	/* arrival order (expiry) */
	struct rtx *bnext;	/* batch: waiting for the file write */
	struct job *jobs;	/* records to send to Redis after the file */
	uint64_t t;		/* uv_now() at arrival */
	union sockaddr_any peer;
	int waiting;		/* Redis writes outstanding */
	unsigned answered : 1;
	uint16_t resplen;
	uint8_t key[RADIUS_RTXKEY_LEN];
	uint8_t resp[];
};

/* Rate-limited log lines: at most LOG_BURST per LOG_WINDOW_MS per kind. */
#define LOG_BURST 5
#define LOG_WINDOW_MS 10000
struct ratelog {
	uint64_t window;
	unsigned n;
	uint64_t suppressed;
};

static struct {
	const struct config *conf;
	struct cidr *clients;		/* prefix -> struct radius_client */
	uv_loop_t loop;
	uv_thread_t thread, sub_thread;
	int sub_running;
	uv_udp_t sock;
	uv_check_t check;
	uv_timer_t tick;
	uv_async_t stop_async;
	atomic_int stopping;
	int closing;
	uint8_t rbuf[RADIUS_MAXLEN + 64];

	struct rtx **buckets;
	struct rtx *qhead, *qtail;
	size_t nrtx, npending;
	struct rtx *bhead, *btail;	/* batch */
	char *batch;
	size_t blen, bcap;

	struct rl_conn *redis;
	int redis_up;
	char sha[41];
	char ttl[24];
	uint8_t plens_sent[2][129];	/* SADD done on this connection */
	struct job *rhead, *rtail;	/* replay queue */
	size_t nreplay, replay_inflight;
	struct rl_redis_conf rconf;	/* the redis section, as connections
					 * take it */

	struct radius_stats st;
	atomic_ullong remote_applied;	/* written by the subscriber thread */
	pthread_mutex_t st_mu;
	struct radius_stats snap;
	struct radius_stats logged;
	uint64_t last_stats_log;
	struct ratelog log_nas, log_parse, log_auth, log_class;
	uint64_t class_unknown;		/* class attribute naming no class */
	int started;
} S = { .st_mu = PTHREAD_MUTEX_INITIALIZER };

static void flush(void);

/* ratelog_ok - 1 if a line of this kind may be logged now. */
static int
ratelog_ok(struct ratelog *r)
{
	uint64_t now = uv_now(&S.loop);

	if (now - r->window >= LOG_WINDOW_MS) {
		if (r->suppressed > 0)
			log_warn("event=radius_log_suppressed lines=%llu",
			    (unsigned long long)r->suppressed);
		r->window = now;
		r->n = 0;
		r->suppressed = 0;
	}
	if (r->n < LOG_BURST) {
		r->n++;
		return 1;
	}
	r->suppressed++;
	return 0;
}

/* Retransmission table ----------------------------------------------------- */

static uint32_t
rtx_hash(const uint8_t *k)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < RADIUS_RTXKEY_LEN; i++)
		h = (h ^ k[i]) * 16777619u;
	return h & (RTX_BUCKETS - 1);
}

static struct rtx *
rtx_find(const uint8_t *k)
{
	for (struct rtx *e = S.buckets[rtx_hash(k)]; e != NULL; e = e->hnext)
		if (memcmp(e->key, k, RADIUS_RTXKEY_LEN) == 0)
			return e;
	return NULL;
}

static void
rtx_unhash(struct rtx *e)
{
	struct rtx **pp = &S.buckets[rtx_hash(e->key)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
}

/* rtx_expire - forget answered requests older than RTX_KEEP_MS (or the
 * oldest answered ones beyond RTX_MAX); a pending one stops the sweep. */
static void
rtx_expire(void)
{
	uint64_t now = uv_now(&S.loop);

	while (S.qhead != NULL && S.qhead->answered &&
	    (now - S.qhead->t >= RTX_KEEP_MS || S.nrtx > RTX_MAX)) {
		struct rtx *e = S.qhead;

		S.qhead = e->qnext;
		if (S.qhead == NULL)
			S.qtail = NULL;
		rtx_unhash(e);
		S.nrtx--;
		free(e);
	}
}

static struct rtx *
rtx_new(const uint8_t *k, const union sockaddr_any *peer, const uint8_t *resp,
    size_t resplen)
{
	struct rtx *e = xcalloc(1, sizeof(*e) + resplen);
	uint32_t h = rtx_hash(k);

	memcpy(e->key, k, RADIUS_RTXKEY_LEN);
	e->peer = *peer;
	e->t = uv_now(&S.loop);
	e->resplen = (uint16_t)resplen;
	memcpy(e->resp, resp, resplen);
	e->hnext = S.buckets[h];
	S.buckets[h] = e;
	if (S.qtail != NULL)
		S.qtail->qnext = e;
	else
		S.qhead = e;
	S.qtail = e;
	S.nrtx++;
	S.npending++;
	return e;
}

static void
send_response(struct rtx *e)
{
	uv_buf_t b = uv_buf_init((char *)e->resp, e->resplen);
	int rc;

	if (S.closing)
		return;
	rc = uv_udp_try_send(&S.sock, &b, 1, &e->peer.sa);
	if (rc < 0)
		S.st.send_failed++;
	else
		S.st.answered++;
}

/* answer - the request's records are stored: respond, remember. */
static void
answer(struct rtx *e)
{
	if (e->answered)
		return;
	e->answered = 1;
	S.npending--;
	send_response(e);
}

/* Redis ---------------------------------------------------------------------- */

static int job_send(struct job *j);

static void
replay_push(struct job *j)
{
	if (S.nreplay >= REPLAY_MAX) {
		S.st.redis_dropped++;
		free(j);
		return;
	}
	j->next = NULL;
	if (S.rtail != NULL)
		S.rtail->next = j;
	else
		S.rhead = j;
	S.rtail = j;
	S.nreplay++;
}

/* replay - send queued writes, oldest first, a window at a time. */
static void
replay(void)
{
	while (S.redis_up && !S.closing && S.rhead != NULL &&
	    S.replay_inflight < REPLAY_INFLIGHT) {
		struct job *j = S.rhead;

		S.rhead = j->next;
		if (S.rhead == NULL)
			S.rtail = NULL;
		S.nreplay--;
		j->e = NULL;
		if (job_send(j) < 0) {
			/* back to the head, in order; retried on the next
			 * answer or reconnect */
			j->next = S.rhead;
			S.rhead = j;
			if (S.rtail == NULL)
				S.rtail = j;
			S.nreplay++;
			break;
		}
		S.replay_inflight++;
	}
}

/* job_failed - a write that did not make it: queue it for replay (or drop
 * it after JOB_MAX_ERRORS error replies); its request no longer waits. */
static void
job_failed(struct job *j, int error_reply)
{
	struct rtx *e = j->e;

	S.st.redis_failed++;
	j->e = NULL;
	if (S.closing)
		free(j);
	else if (error_reply && ++j->errors >= JOB_MAX_ERRORS) {
		S.st.redis_dropped++;
		free(j);
	} else
		replay_push(j);
	if (e != NULL && --e->waiting == 0)
		answer(e);
}

static void
job_cb(void *arg, int err, const redisReply *r)
{
	struct job *j = arg;
	struct rtx *e = j->e;

	if (e == NULL)
		S.replay_inflight--;
	if (err == 0 && r != NULL && r->type != REDIS_REPLY_ERROR) {
		S.st.redis_written++;
		free(j);
		if (e != NULL && --e->waiting == 0)
			answer(e);
	} else {
		char esc[128];

		if (r != NULL && ratelog_ok(&S.log_parse))
			log_warn("event=radius_redis_error reply=%s",
			    log_esc(esc, sizeof(esc), r->str, r->len));
		if (r != NULL && r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0
		    && S.redis != NULL)
			rl_conn_reset(S.redis, SG_EPROTO);	/* reloads it */
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
job_send(struct job *j)
{
	char score[24], cutoff[24];
	const char *argv[13];
	size_t len[13];
	int rc, fi = j->family == AF_INET ? 0 : 1;

	if (!S.redis_up)
		return -ENOTCONN;
	if (!S.plens_sent[fi][j->plen]) {
		char tag[ASG_PLEN_TAG_MAX];
		const char *sv[] = { "SADD", ASG_PLENS_KEY, tag };
		size_t sl[3];

		sl[0] = 4;
		sl[1] = strlen(ASG_PLENS_KEY);
		sl[2] = asg_plen_tag(tag, j->family, j->plen);
		if (rl_conn_command(S.redis, 3, sv, sl, 0, sadd_cb, NULL,
		    NULL) == 0)
			S.plens_sent[fi][j->plen] = 1;
	}
	snprintf(score, sizeof(score), "%lld", (long long)j->score);
	snprintf(cutoff, sizeof(cutoff), "%lld", (long long)(now_ms() -
	    (int64_t)S.conf->identity.history_ms));
	argv[0] = "EVALSHA";
	argv[1] = S.sha;
	argv[2] = "1";
	argv[3] = j->key;
	argv[4] = j->data;
	argv[5] = score;
	argv[6] = S.ttl;
	argv[7] = j->nas;
	argv[8] = j->sid;
	argv[9] = j->open ? "1" : "0";
	argv[10] = j->start_unknown ? "1" : "0";
	argv[11] = ASG_CHANNEL;
	argv[12] = cutoff;
	for (int i = 0; i < 13; i++)
		len[i] = i == 4 ? j->len : strlen(argv[i]);
	rc = rl_conn_command(S.redis, 13, argv, len, 0, job_cb, NULL, j);
	return rc < 0 ? rc : 0;
}

static void
script_cb(void *arg, int err, const redisReply *r)
{
	if (r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40 &&
	    memcmp(r->str, S.sha, 40) != 0)
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
		S.redis_up = 1;
		memset(S.plens_sent, 0, sizeof(S.plens_sent));
		if (S.nreplay > 0)
			log_info("event=radius_redis_replay queued=%zu", S.nreplay);
		replay();
	} else
		S.redis_up = 0;
}

static void
redis_closed(void *arg)
{
}

static const struct rl_conn_ops redis_ops = {
	redis_setup, redis_event, redis_closed
};

static struct job *
job_new(const struct asg *a, const char *json, size_t len)
{
	size_t no = 0, nl = 0, so = 0, sl = 0;
	struct job *j;

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
	if (S.blen + len + 1 > S.bcap) {
		S.bcap = MAX(S.bcap * 2, S.blen + len + 1 + 65536);
		S.batch = xrealloc(S.batch, S.bcap);
	}
	if (S.blen > 0)
		S.batch[S.blen++] = '\n';
	memcpy(S.batch + S.blen, json, len);
	S.blen += len;
}

/* flush - write the batch; then every request in it goes on to Redis, or
 * is answered. A failed write keeps the batch (and its requests pending)
 * for the next try: nothing is answered before it is on disk. */
static void
flush(void)
{
	struct rtx *e, *next;

	if (S.bhead == NULL)
		return;
	if (S.blen > 0) {
		if (audit_write_line(S.batch, S.blen) < 0) {
			S.st.file_errors++;
			return;
		}
		S.blen = 0;
	}
	e = S.bhead;
	S.bhead = S.btail = NULL;
	for (; e != NULL; e = next) {
		struct job *j, *jn;

		next = e->bnext;
		e->bnext = NULL;
		j = e->jobs;
		e->jobs = NULL;
		if (S.redis == NULL) {
			for (; j != NULL; j = jn) {
				jn = j->next;
				free(j);
			}
			answer(e);
			continue;
		}
		/* Keep the order of writes while older ones wait for replay. */
		if (!S.redis_up || S.rhead != NULL) {
			for (; j != NULL; j = jn) {
				jn = j->next;
				j->e = NULL;
				replay_push(j);
			}
			answer(e);
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
			answer(e);
	}
}

/* Requests --------------------------------------------------------------------- */

static void
sockaddr_of_prefix(const struct cidr_prefix *p, union sockaddr_any *a)
{
	memset(a, 0, sizeof(*a));
	if (p->family == AF_INET) {
		a->sin.sin_family = AF_INET;
		memcpy(&a->sin.sin_addr, p->addr, 4);
	} else {
		a->sin6.sin6_family = AF_INET6;
		memcpy(&a->sin6.sin6_addr, p->addr, 16);
	}
}

/* handle - one datagram from peer (checks in the order of docs/identity.md). */
static void
handle(const uint8_t *pkt, size_t n, const union sockaddr_any *from)
{
	union sockaddr_any peer = *from;
	const struct radius_client *cl;
	struct radius_acct ra;
	uint8_t key[RADIUS_RTXKEY_LEN], resp[RADIUS_RESPONSE_MAX];
	char nas[ADDR_STRLEN], ibuf[ASG_INPUT_BUFLEN];
	struct asg_input in;
	struct asg_vec recs = { NULL, 0, 0 };
	struct rtx *e;
	struct job **jtail;
	size_t rlen;
	int rc;

	S.st.received++;
	addr_unmap(&peer);
	addr_ntop(&peer, nas, sizeof(nas));
	if ((cl = cidr_lookup(S.clients, &peer, NULL)) == NULL) {
		S.st.unknown_nas++;
		if (ratelog_ok(&S.log_nas))
			log_warn("event=radius_unknown_nas nas=%s len=%zu", nas, n);
		return;
	}
	if ((rc = radius_acct_parse(pkt, n, &ra)) < 0) {
		int i = radius_err_index(rc);

		if (i >= 0)
			S.st.parse[i]++;
		if (ratelog_ok(&S.log_parse))
			log_warn("event=radius_dropped nas=%s reason=%s len=%zu",
			    nas, radius_errname(rc), n);
		return;
	}
	if (radius_acct_verify(pkt, n, (const uint8_t *)cl->secret.value,
	    cl->secret.len) < 0) {
		S.st.bad_auth++;
		if (ratelog_ok(&S.log_auth))
			log_warn("event=radius_dropped nas=%s reason=bad_auth "
			    "id=%u", nas, ra.id);
		return;
	}
	radius_rtx_key(key, from, pkt);
	if ((e = rtx_find(key)) != NULL) {
		if (e->answered) {
			S.st.retransmits++;
			send_response(e);
		} else
			S.st.rtx_pending++;
		return;
	}
	if (S.npending >= PENDING_MAX) {
		S.st.queue_full++;
		if (ratelog_ok(&S.log_parse))
			log_warn("event=radius_dropped nas=%s reason=queue_full",
			    nas);
		return;
	}
	rlen = radius_acct_response(resp, sizeof(resp), pkt, n,
	    (const uint8_t *)cl->secret.value, cl->secret.len);
	if (rlen == 0)
		return;
	S.st.accepted++;
	e = rtx_new(key, from, resp, rlen);
	jtail = &e->jobs;
	asg_input_from_radius(&in, &ra, nas, cl->name != NULL ? cl->name : "",
	    now_ms(), ibuf);
	if (in.nprefix > 0) {
		union sockaddr_any pa;
		struct radius_str raw = { NULL, 0 };
		const char *named = NULL;

		sockaddr_of_prefix(&in.prefix[0], &pa);
		in.cls = identity_class_of(&pa);
		rc = identity_radius_class(S.conf, &ra, &named, &raw);
		if (rc > 0) {
			in.cls = named;		/* the configuration's string */
			in.cls_radius = 1;
		} else if (rc < 0) {
			/* never trusted: counted, logged escaped, and the
			 * prefix/default class applies */
			char esc[128];

			S.class_unknown++;
			if (ratelog_ok(&S.log_class))
				log_warn("event=radius_class_unknown nas=%s "
				    "attribute=%s value=%s class=%s", nas,
				    S.conf->identity.radius.class_attribute,
				    log_esc(esc, sizeof(esc), raw.ptr, raw.len),
				    in.cls);
		}
	}
	if (log_enabled(LOG_DEBUG)) {
		const char *sn = radius_status_name(ra.status);
		char esc[128];

		log_debug("event=radius_request nas=%s id=%u status=%s "
		    "subscriber=%s prefixes=%zu", nas, ra.id, sn ? sn : "other",
		    log_esc(esc, sizeof(esc), in.subscriber,
		    strlen(in.subscriber)), in.nprefix);
	}
	identity_apply(&in, &recs);
	for (size_t i = 0; i < recs.n; i++) {
		size_t len;
		char *json = asg_to_json(&recs.v[i], &len);

		batch_append(json, len);
		if (S.redis != NULL) {
			struct job *j = job_new(&recs.v[i], json, len);

			*jtail = j;
			jtail = &j->next;
		}
		free(json);
	}
	S.st.records += recs.n;
	asg_vec_free(&recs);
	if (S.btail != NULL)
		S.btail->bnext = e;
	else
		S.bhead = e;
	S.btail = e;
	if (S.blen >= BATCH_FLUSH)
		flush();
}

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	buf->base = (char *)S.rbuf;
	buf->len = sizeof(S.rbuf);
}

static void
recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
    const struct sockaddr *addr, unsigned flags)
{
	union sockaddr_any from;

	if (nread < 0 || addr == NULL || S.closing)
		return;
	memset(&from, 0, sizeof(from));
	memcpy(&from, addr, addr->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	handle((const uint8_t *)buf->base, (size_t)nread, &from);
}

/* Stats -------------------------------------------------------------------------- */

static void
publish_stats(void)
{
	S.st.redis_queued = S.nreplay;
	S.st.remote_applied = atomic_load(&S.remote_applied);
	pthread_mutex_lock(&S.st_mu);
	S.snap = S.st;
	pthread_mutex_unlock(&S.st_mu);
}

void
radius_server_stats(struct radius_stats *st)
{
	pthread_mutex_lock(&S.st_mu);
	*st = S.snap;
	pthread_mutex_unlock(&S.st_mu);
	st->live = identity_live_count();
}

static void
log_stats(const char *event)
{
	struct radius_stats *s = &S.st;
	char parse[512], cls[48] = "";
	size_t o = 0;

	if (S.conf->identity.radius.class_attribute != NULL)
		snprintf(cls, sizeof(cls), " class_unknown=%llu",
		    (unsigned long long)S.class_unknown);
	parse[0] = '\0';
	for (int i = 0; i < RADIUS_NERR; i++)
		if (s->parse[i] > 0 && o < sizeof(parse))
			o += (size_t)snprintf(parse + o, sizeof(parse) - o,
			    " parse_%s=%llu", radius_errname(RADIUS__EFIRST + 1 + i),
			    (unsigned long long)s->parse[i]);
	log_info("event=%s received=%llu accepted=%llu answered=%llu "
	    "retransmits=%llu rtx_pending=%llu unknown_nas=%llu bad_auth=%llu "
	    "queue_full=%llu send_failed=%llu records=%llu file_errors=%llu "
	    "redis_written=%llu redis_failed=%llu redis_queued=%zu "
	    "redis_dropped=%llu remote_applied=%llu live=%zu%s%s", event,
	    (unsigned long long)s->received, (unsigned long long)s->accepted,
	    (unsigned long long)s->answered, (unsigned long long)s->retransmits,
	    (unsigned long long)s->rtx_pending,
	    (unsigned long long)s->unknown_nas, (unsigned long long)s->bad_auth,
	    (unsigned long long)s->queue_full,
	    (unsigned long long)s->send_failed, (unsigned long long)s->records,
	    (unsigned long long)s->file_errors,
	    (unsigned long long)s->redis_written,
	    (unsigned long long)s->redis_failed, S.nreplay,
	    (unsigned long long)s->redis_dropped,
	    (unsigned long long)atomic_load(&S.remote_applied),
	    identity_live_count(), cls, parse);
	S.logged = *s;
}

static void
check_cb(uv_check_t *h)
{
	flush();
	publish_stats();
}

static void
tick_cb(uv_timer_t *t)
{
	uint64_t now = uv_now(&S.loop);

	flush();		/* retries a failed file write */
	rtx_expire();
	if (now - S.last_stats_log >= STATS_LOG_MS &&
	    memcmp(&S.logged, &S.st, sizeof(S.st)) != 0) {
		S.last_stats_log = now;
		log_stats("radius_stats");
	}
}

/* Subscriber thread --------------------------------------------------------------- */

static redisContext *
sub_connect(void)
{
	char err[256];
	redisContext *c = rl_sync_connect(&S.rconf.conn, SUB_TIMEOUT_MS, err,
	    sizeof(err));

	if (c == NULL)
		log_debug("event=radius_subscriber_connect error=\"%s\"", err);
	return c;
}

/* sub_apply - a record from Redis; load: from the startup load, where
 * this node's own records count too (it may have restarted). */
static void
sub_apply(const char *json, size_t len, int load)
{
	struct asg a;

	/* our own PUBLISH comes back: skip it before parsing */
	if (!load && asg_json_from_node(json, len, S.conf->node))
		return;
	if (asg_from_json(json, len, &a) < 0)
		return;
	if ((load || strcmp(a.node, S.conf->node) != 0) &&
	    identity_apply_record(&a))
		atomic_fetch_add(&S.remote_applied, 1);
	asg_free(&a);
}

/* sub_load - every open assignment in Redis into the live table (SCAN of
 * the history keys; each key's members in start order). */
static void
sub_load(void)
{
	redisContext *c = sub_connect();
	char cursor[32] = "0";
	size_t keys = 0;

	if (c == NULL)
		return;
	do {
		redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000",
		    cursor, ASG_HISTORY_MATCH);

		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *z = redisCommand(c, "ZRANGE %b 0 -1",
			    r->element[1]->element[i]->str,
			    r->element[1]->element[i]->len);

			keys++;
			if (z != NULL && z->type == REDIS_REPLY_ARRAY)
				for (size_t k = 0; k < z->elements; k++)
					sub_apply(z->element[k]->str,
					    z->element[k]->len, 1);
			freeReplyObject(z);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && !atomic_load(&S.stopping));
	redisFree(c);
	log_info("event=radius_history_loaded keys=%zu live=%zu", keys,
	    identity_live_count());
}

static void
sub_main(void *arg)
{
	int backoff = 0;

	while (!atomic_load(&S.stopping)) {
		redisContext *c;
		redisReply *r;
		void *rp;

		if (backoff > 0) {
			for (int i = 0; i < backoff / 100 &&
			    !atomic_load(&S.stopping); i++)
				usleep(100000);
			if (atomic_load(&S.stopping))
				break;
		}
		backoff = backoff == 0 ? 500 : MIN(backoff * 2, 5000);
		if ((c = sub_connect()) == NULL)
			continue;
		r = redisCommand(c, "SUBSCRIBE %s", ASG_CHANNEL);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			redisFree(c);
			continue;
		}
		freeReplyObject(r);
		/* subscribed first, then loaded: no update falls in between */
		sub_load();
		backoff = 0;
		while (!atomic_load(&S.stopping)) {
			struct pollfd pfd = { c->fd, POLLIN, 0 };

			if (redisGetReplyFromReader(c, &rp) != REDIS_OK)
				break;
			if (rp != NULL) {
				r = rp;
				if (r->type == REDIS_REPLY_ARRAY &&
				    r->elements == 3 &&
				    r->element[2]->type == REDIS_REPLY_STRING)
					sub_apply(r->element[2]->str,
					    r->element[2]->len, 0);
				freeReplyObject(r);
				continue;
			}
			if (poll(&pfd, 1, 200) < 0 && errno != EINTR)
				break;
			if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
			    redisBufferRead(c) != REDIS_OK)
				break;
		}
		if (!atomic_load(&S.stopping))
			log_warn("event=radius_subscriber_lost");
		redisFree(c);
	}
}

/* Thread, start and stop ------------------------------------------------------------ */

static void
close_all(void)
{
	S.closing = 1;
	uv_close((uv_handle_t *)&S.sock, NULL);
	uv_close((uv_handle_t *)&S.check, NULL);
	uv_close((uv_handle_t *)&S.tick, NULL);
	uv_close((uv_handle_t *)&S.stop_async, NULL);
	if (S.redis != NULL) {
		rl_conn_free(S.redis);
		S.redis = NULL;
	}
}

static void
stop_cb(uv_async_t *a)
{
	flush();
	close_all();
}

static void
thread_main(void *arg)
{
	uv_run(&S.loop, UV_RUN_DEFAULT);
}

static void
sha1_hex(const char *s, char out[41])
{
	unsigned char md[SHA_DIGEST_LENGTH];

	SHA1((const unsigned char *)s, strlen(s), md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int
redis_start(void)
{
	sha1_hex(asg_history_script, S.sha);
	snprintf(S.ttl, sizeof(S.ttl), "%llu",
	    (unsigned long long)S.conf->identity.history_ms);
	rl_redis_conf_init(&S.rconf, &S.conf->redis);
	S.rconf.conn.deadline_ms = MAX(S.rconf.conn.deadline_ms, 1);
	S.rconf.conn.max_inflight = 65536;
	S.redis = rl_conn_new(&S.loop, &S.rconf.conn, &redis_ops, NULL);
	return S.redis != NULL ? 0 : SG_EINVAL;
}

int
radius_server_start(const struct config *c)
{
	const struct radius_conf *rc = &c->identity.radius;
	char a[ADDRPORT_STRLEN];
	int rcvbuf = RCVBUF, r;

	if (!rc->enabled)
		return 0;
	S.conf = c;
	S.clients = cidr_new();
	for (size_t i = 0; i < rc->nclients; i++)
		(void)cidr_insert(S.clients, &rc->clients[i].prefix,
		    &rc->clients[i], NULL);
	S.buckets = xcalloc(RTX_BUCKETS, sizeof(*S.buckets));
	if ((r = uv_loop_init(&S.loop)) < 0)
		return r;
	uv_udp_init(&S.loop, &S.sock);
	if ((r = uv_udp_bind(&S.sock, &rc->listen.sa, 0)) < 0) {
		log_err("event=radius_listen_failed addr=%s error=\"%s\"",
		    addr_fmt(&rc->listen, a, sizeof(a)), uv_strerror(r));
		uv_close((uv_handle_t *)&S.sock, NULL);
		uv_run(&S.loop, UV_RUN_DEFAULT);
		uv_loop_close(&S.loop);
		return r;
	}
	(void)uv_recv_buffer_size((uv_handle_t *)&S.sock, &rcvbuf);
	uv_udp_recv_start(&S.sock, alloc_cb, recv_cb);
	uv_check_init(&S.loop, &S.check);
	uv_check_start(&S.check, check_cb);
	uv_timer_init(&S.loop, &S.tick);
	uv_timer_start(&S.tick, tick_cb, 1000, 1000);
	uv_async_init(&S.loop, &S.stop_async, stop_cb);
	if (c->redis.enabled && redis_start() < 0)
		log_warn("event=radius_redis_config_error");
	S.started = 1;
	if ((r = uv_thread_create(&S.thread, thread_main, NULL)) < 0)
		return r;
	if (S.redis != NULL &&
	    uv_thread_create(&S.sub_thread, sub_main, NULL) == 0)
		S.sub_running = 1;
	log_info("event=radius_listening addr=%s clients=%zu redis=%s "
	    "class_attribute=%s", addr_fmt(&rc->listen, a, sizeof(a)),
	    rc->nclients, S.redis != NULL ? "yes" : "no",
	    rc->class_attribute != NULL ? rc->class_attribute : "off");
	return 0;
}

void
radius_server_stop(void)
{
	struct job *j;

	if (!S.started)
		return;
	atomic_store(&S.stopping, 1);
	uv_async_send(&S.stop_async);
	uv_thread_join(&S.thread);
	if (S.sub_running)
		uv_thread_join(&S.sub_thread);
	uv_run(&S.loop, UV_RUN_DEFAULT);	/* close callbacks left */
	uv_loop_close(&S.loop);
	if (S.nreplay > 0)
		log_warn("event=radius_redis_unreplayed records=%zu "
		    "note=\"in the audit file only\"", S.nreplay);
	log_stats("radius_stats_final");
	while ((j = S.rhead) != NULL) {
		S.rhead = j->next;
		free(j);
	}
	while (S.qhead != NULL) {
		struct rtx *e = S.qhead;

		S.qhead = e->qnext;
		while ((j = e->jobs) != NULL) {
			e->jobs = j->next;
			free(j);
		}
		free(e);
	}
	free(S.buckets);
	free(S.batch);
	rl_redis_conf_free(&S.rconf);
	cidr_free(S.clients, NULL);
	S.started = 0;
}
