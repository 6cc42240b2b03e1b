/*
 * radius_server.c - the RADIUS accounting listener: uv_udp glue around the
 * pure decoder (radius.h) and the assignment state machine (identity.h),
 * and the table of recent requests that answers retransmissions. Contract
 * in radius_server.h; semantics and schema in docs/identity.md. The
 * records go to radius_store.c (file, Redis, replay); other nodes' records
 * come from radius_sub.c (the subscriber thread).
 *
 * Threads: "radius" runs its own uv loop with the UDP socket, a check
 * handle (flush after each poll), a 1 s timer, a stop async and the
 * store's Redis connection (redis_uv.h); "radius-sub" is radius_sub.c's
 * plain thread. Both write the live table through identity.c's lock;
 * nothing else is shared but the stats snapshot (mutex) and the
 * subscriber's counter and stop flag (atomic).
 *
 * One request's life: verified -> rtx entry (pending) -> state machine ->
 * records appended to the file batch -> batch written (check handle) ->
 * Redis writes (or the replay queue) -> all acknowledged -> response sent
 * and remembered in the entry for 30 s, to answer retransmissions (RFC 5080
 * §2.2.2) without storing twice. An entry is never freed while pending.
 */
#include "util.h"	/* before uv.h: sys/param.h defines MIN/MAX too */
#include "radius_server.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cidr.h"
#include "config.h"
#include "identity.h"
#include "log.h"
#include "radius_store.h"
#include "radius_sub.h"

#define RTX_BUCKETS (1u << 18)
#define PENDING_MAX 65536		/* requests not yet answered */
#define RCVBUF (8 << 20)
#define STATS_LOG_MS 60000

/* A remembered request. */
struct rtx {
	struct rtx *hnext;	/* hash chain */
	struct rtx *qnext;	/* arrival order (expiry) */
	struct radius_store_req sr;	/* its records, being stored */
	uint64_t t;		/* uv_now() at arrival */
	union sockaddr_any peer;
	unsigned answered : 1;
	uint16_t resplen;
	uint8_t key[RADIUS_RTXKEY_LEN];
	uint8_t resp[];
};

/* Rate-limited log lines (radius__ratelog_ok): at most LOG_BURST per
 * LOG_WINDOW_MS per kind. */
#define LOG_BURST 5
#define LOG_WINDOW_MS 10000

/* The listener: its loop, socket and retransmission table; the loop
 * thread owns everything but the stats snapshot (st_mu). */
static struct {
	const struct config *conf;
	struct cidr *clients;		/* prefix -> struct radius_client */
	uv_loop_t loop;
	uv_thread_t thread;
	uv_udp_t sock;
	uv_check_t check;
	uv_timer_t tick;
	uv_async_t stop_async;
	int closing;
	uint8_t rbuf[RADIUS_MAXLEN + 64];

	struct rtx **buckets;
	struct rtx *qhead, *qtail;
	size_t nrtx, npending;
	size_t rtx_bytes;		/* entries and their responses */

	struct radius_stats st;
	pthread_mutex_t st_mu;
	struct radius_stats snap;
	struct radius_stats logged;
	uint64_t last_stats_log;
	struct radius__ratelog log_nas, log_parse, log_auth, log_class;
	struct radius__ratelog log_refused;
	uint64_t class_unknown;		/* class attribute naming no class */
	uint64_t class_refused;		/* naming one the NAS may not */
	uint64_t prefix_refused;	/* assignments the NAS may not make */
	int started;
} server = { .st_mu = PTHREAD_MUTEX_INITIALIZER };

int
radius__ratelog_ok(struct radius__ratelog *r, uint64_t now)
{
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
	for (struct rtx *e = server.buckets[rtx_hash(k)]; e != NULL; e = e->hnext)
		if (memcmp(e->key, k, RADIUS_RTXKEY_LEN) == 0)
			return e;
	return NULL;
}

static void
rtx_unhash(struct rtx *e)
{
	struct rtx **pp = &server.buckets[rtx_hash(e->key)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
}

/* rtx_cost - what an entry holds in memory (RADIUS_RTX_MAX_BYTES). */
static size_t
rtx_cost(size_t resplen)
{
	return sizeof(struct rtx) + resplen;
}

/* rtx_expire - forget the oldest answered requests while
 * radius__rtx_forget says so; a pending one stops the sweep. */
static void
rtx_expire(void)
{
	uint64_t now = uv_now(&server.loop);

	while (server.qhead != NULL && server.qhead->answered &&
	    radius__rtx_forget(now - server.qhead->t, server.nrtx,
	    server.rtx_bytes)) {
		struct rtx *e = server.qhead;

		server.qhead = e->qnext;
		if (server.qhead == NULL)
			server.qtail = NULL;
		rtx_unhash(e);
		server.nrtx--;
		server.rtx_bytes -= rtx_cost(e->resplen);
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
	e->t = uv_now(&server.loop);
	e->resplen = (uint16_t)resplen;
	memcpy(e->resp, resp, resplen);
	e->hnext = server.buckets[h];
	server.buckets[h] = e;
	if (server.qtail != NULL)
		server.qtail->qnext = e;
	else
		server.qhead = e;
	server.qtail = e;
	server.nrtx++;
	server.rtx_bytes += rtx_cost(resplen);
	server.npending++;
	rtx_expire();	/* the bounds hold between ticks too */
	return e;
}

static void
send_response(struct rtx *e)
{
	uv_buf_t b = uv_buf_init((char *)e->resp, e->resplen);
	int rc;

	if (server.closing)
		return;
	rc = uv_udp_try_send(&server.sock, &b, 1, &e->peer.sa);
	if (rc < 0)
		server.st.send_failed++;
	else
		server.st.answered++;
}

/* answer - the request's records are stored: respond, remember. */
static void
answer(struct rtx *e)
{
	if (e->answered)
		return;
	e->answered = 1;
	server.npending--;
	send_response(e);
}

/* stored - the store has the request's records: answer it. */
static void
stored(struct radius_store_req *r)
{
	answer((struct rtx *)((char *)r - offsetof(struct rtx, sr)));
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

/* refuse_prefixes - take out of in what cl may not assign (identity.h),
 * each counted and logged. The request is still answered: RFC 2866 §4.1
 * has the server answer what it recorded, and it recorded the refusal; an
 * unanswered request would only be retransmitted, then sent to another
 * accounting server, while the NAS cannot change what it said. */
static void
refuse_prefixes(const struct radius_client *cl, struct asg_input *in,
    const char *nas)
{
	struct identity_refused r[ASG_MAXPREFIX];
	size_t n = identity_radius_admit(&server.conf->identity.radius, cl,
	    in, r);
	char pbuf[CIDR_STRLEN], esc[128];

	server.prefix_refused += n;
	for (size_t i = 0; i < n; i++)
		if (radius__ratelog_ok(&server.log_refused,
		    uv_now(&server.loop)))
			log_warn("event=radius_prefix_refused nas=%s "
			    "subscriber=%s prefix=%s why=%s", nas,
			    log_esc(esc, sizeof(esc), in->subscriber,
			    strlen(in->subscriber)),
			    cidr_fmt(&r[i].prefix, pbuf, sizeof(pbuf)),
			    r[i].why);
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
	size_t rlen;
	int rc;

	server.st.received++;
	addr_unmap(&peer);
	addr_ntop(&peer, nas, sizeof(nas));
	if ((cl = cidr_lookup(server.clients, &peer, NULL)) == NULL) {
		server.st.unknown_nas++;
		if (radius__ratelog_ok(&server.log_nas, uv_now(&server.loop)))
			log_warn("event=radius_unknown_nas nas=%s len=%zu", nas, n);
		return;
	}
	if ((rc = radius_acct_parse(pkt, n, &ra)) < 0) {
		int i = radius_err_index(rc);

		if (i >= 0)
			server.st.parse[i]++;
		if (radius__ratelog_ok(&server.log_parse, uv_now(&server.loop)))
			log_warn("event=radius_dropped nas=%s reason=%s len=%zu",
			    nas, radius_errname(rc), n);
		return;
	}
	if (radius_acct_verify(pkt, n, (const uint8_t *)cl->secret.value,
	    cl->secret.len) < 0) {
		server.st.bad_auth++;
		if (radius__ratelog_ok(&server.log_auth, uv_now(&server.loop)))
			log_warn("event=radius_dropped nas=%s reason=bad_auth "
			    "id=%u", nas, ra.id);
		return;
	}
	radius_rtx_key(key, from, pkt);
	if ((e = rtx_find(key)) != NULL) {
		if (e->answered) {
			server.st.retransmits++;
			send_response(e);
		} else
			server.st.rtx_pending++;
		return;
	}
	if (server.npending >= PENDING_MAX) {
		server.st.queue_full++;
		if (radius__ratelog_ok(&server.log_parse, uv_now(&server.loop)))
			log_warn("event=radius_dropped nas=%s reason=queue_full",
			    nas);
		return;
	}
	rlen = radius_acct_response(resp, sizeof(resp), pkt, n,
	    (const uint8_t *)cl->secret.value, cl->secret.len);
	if (rlen == 0)
		return;
	server.st.accepted++;
	e = rtx_new(key, from, resp, rlen);
	asg_input_from_radius(&in, &ra, nas, cl->name != NULL ? cl->name : "",
	    now_ms(), ibuf);
	refuse_prefixes(cl, &in, nas);
	if (in.nprefix > 0) {
		union sockaddr_any pa;
		struct radius_str raw = { NULL, 0 };
		const char *named = NULL;

		sockaddr_of_prefix(&in.prefix[0], &pa);
		in.cls = identity_class_of(&pa);
		rc = identity_radius_class(server.conf, &ra, &named, &raw);
		if (rc > 0 && !identity_client_class_ok(cl, named)) {
			/* a class this NAS may not hand out: as unknown, and
			 * counted apart */
			server.class_refused++;
			if (radius__ratelog_ok(&server.log_class,
			    uv_now(&server.loop)))
				log_warn("event=radius_class_refused nas=%s "
				    "class_named=%s class=%s", nas, named,
				    in.cls);
		} else if (rc > 0) {
			in.cls = named;		/* the configuration's string */
			in.cls_radius = 1;
		} else if (rc < 0) {
			/* never trusted: counted, logged escaped, and the
			 * prefix/default class applies */
			char esc[128];

			server.class_unknown++;
			if (radius__ratelog_ok(&server.log_class, uv_now(&server.loop)))
				log_warn("event=radius_class_unknown nas=%s "
				    "attribute=%s value=%s class=%s", nas,
				    server.conf->identity.radius.class_attribute,
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
	for (size_t i = 0; i < recs.n; i++)
		radius_store_record(&e->sr, &recs.v[i]);
	server.st.records += recs.n;
	asg_vec_free(&recs);
	radius_store_submit(&e->sr);
}

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	buf->base = (char *)server.rbuf;
	buf->len = sizeof(server.rbuf);
}

static void
recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
    const struct sockaddr *addr, unsigned flags)
{
	union sockaddr_any from;

	if (nread < 0 || addr == NULL || server.closing)
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
	server.st.redis_queued = radius_store_queued();
	server.st.remote_applied = radius_sub_applied();
	pthread_mutex_lock(&server.st_mu);
	server.snap = server.st;
	pthread_mutex_unlock(&server.st_mu);
}

void
radius_server_stats(struct radius_stats *st)
{
	pthread_mutex_lock(&server.st_mu);
	*st = server.snap;
	pthread_mutex_unlock(&server.st_mu);
	st->live = identity_live_count();
}

static void
log_stats(const char *event)
{
	struct radius_stats *s = &server.st;
	char parse[512], cls[80] = "";
	size_t o = 0;

	if (server.conf->identity.radius.class_attribute != NULL)
		snprintf(cls, sizeof(cls), " class_unknown=%llu "
		    "class_refused=%llu",
		    (unsigned long long)server.class_unknown,
		    (unsigned long long)server.class_refused);
	parse[0] = '\0';
	for (int i = 0; i < RADIUS_NERR; i++)
		if (s->parse[i] > 0 && o < sizeof(parse))
			o += fmt_trunc(parse + o, sizeof(parse) - o,
			    " parse_%s=%llu", radius_errname(RADIUS__EFIRST + 1 + i),
			    (unsigned long long)s->parse[i]);
	log_info("event=%s received=%llu accepted=%llu answered=%llu "
	    "retransmits=%llu rtx_pending=%llu unknown_nas=%llu bad_auth=%llu "
	    "queue_full=%llu send_failed=%llu records=%llu file_errors=%llu "
	    "redis_written=%llu redis_failed=%llu redis_queued=%zu "
	    "redis_dropped=%llu remote_applied=%llu live=%zu "
	    "prefix_refused=%llu%s%s", event,
	    (unsigned long long)s->received, (unsigned long long)s->accepted,
	    (unsigned long long)s->answered, (unsigned long long)s->retransmits,
	    (unsigned long long)s->rtx_pending,
	    (unsigned long long)s->unknown_nas, (unsigned long long)s->bad_auth,
	    (unsigned long long)s->queue_full,
	    (unsigned long long)s->send_failed, (unsigned long long)s->records,
	    (unsigned long long)s->file_errors,
	    (unsigned long long)s->redis_written,
	    (unsigned long long)s->redis_failed, radius_store_queued(),
	    (unsigned long long)s->redis_dropped,
	    (unsigned long long)radius_sub_applied(),
	    identity_live_count(), (unsigned long long)server.prefix_refused,
	    cls, parse);
	server.logged = *s;
}

static void
check_cb(uv_check_t *h)
{
	radius_store_flush();
	publish_stats();
}

static void
tick_cb(uv_timer_t *t)
{
	uint64_t now = uv_now(&server.loop);

	radius_store_flush();	/* retries a failed file write */
	rtx_expire();
	if (now - server.last_stats_log >= STATS_LOG_MS &&
	    memcmp(&server.logged, &server.st, sizeof(server.st)) != 0) {
		server.last_stats_log = now;
		log_stats("radius_stats");
	}
}

/* Thread, start and stop ------------------------------------------------------------ */

static void
close_all(void)
{
	server.closing = 1;
	uv_close((uv_handle_t *)&server.sock, NULL);
	uv_close((uv_handle_t *)&server.check, NULL);
	uv_close((uv_handle_t *)&server.tick, NULL);
	uv_close((uv_handle_t *)&server.stop_async, NULL);
	radius_store_close();
}

static void
stop_cb(uv_async_t *a)
{
	radius_store_flush();
	close_all();
}

static void
thread_main(void *arg)
{
	uv_run(&server.loop, UV_RUN_DEFAULT);
}

int
radius_server_open(const struct config *c)
{
	const struct radius_conf *rc = &c->identity.radius;
	char a[ADDRPORT_STRLEN];
	int rcvbuf = RCVBUF, r;

	if (!rc->enabled)
		return 0;
	server.conf = c;
	server.clients = cidr_new();
	for (size_t i = 0; i < rc->nclients; i++)
		(void)cidr_insert(server.clients, &rc->clients[i].prefix,
		    &rc->clients[i], NULL);
	server.buckets = xcalloc(RTX_BUCKETS, sizeof(*server.buckets));
	if ((r = uv_loop_init(&server.loop)) < 0)
		return r;
	uv_udp_init(&server.loop, &server.sock);
	if ((r = uv_udp_bind(&server.sock, &rc->listen.sa, 0)) < 0) {
		log_err("event=radius_listen_failed addr=%s error=\"%s\"",
		    addr_fmt(&rc->listen, a, sizeof(a)), uv_strerror(r));
		uv_close((uv_handle_t *)&server.sock, NULL);
		uv_run(&server.loop, UV_RUN_DEFAULT);
		uv_loop_close(&server.loop);
		return r;
	}
	(void)uv_recv_buffer_size((uv_handle_t *)&server.sock, &rcvbuf);
	uv_udp_recv_start(&server.sock, alloc_cb, recv_cb);
	uv_check_init(&server.loop, &server.check);
	uv_check_start(&server.check, check_cb);
	uv_timer_init(&server.loop, &server.tick);
	uv_timer_start(&server.tick, tick_cb, 1000, 1000);
	uv_async_init(&server.loop, &server.stop_async, stop_cb);
	if (radius_store_start(&server.loop, c, &server.st, stored) < 0)
		log_warn("event=radius_redis_config_error");
	return 0;
}

int
radius_server_start(void)
{
	const struct config *c = server.conf;
	const struct radius_conf *rc;
	char a[ADDRPORT_STRLEN];
	int r;

	if (c == NULL || server.started)
		return 0;
	rc = &c->identity.radius;
	server.started = 1;
	if ((r = uv_thread_create(&server.thread, thread_main, NULL)) < 0)
		return r;
	if (radius_store_redis() != NULL)
		(void)radius_sub_start(c, radius_store_redis());
	log_info("event=radius_listening addr=%s clients=%zu redis=%s "
	    "class_attribute=%s", addr_fmt(&rc->listen, a, sizeof(a)),
	    rc->nclients, radius_store_redis() != NULL ? "yes" : "no",
	    rc->class_attribute != NULL ? rc->class_attribute : "off");
	return 0;
}

void
radius_server_stop(void)
{
	if (!server.started)
		return;
	radius_sub_stop();
	uv_async_send(&server.stop_async);
	uv_thread_join(&server.thread);
	uv_run(&server.loop, UV_RUN_DEFAULT);	/* close callbacks left */
	uv_loop_close(&server.loop);
	log_stats("radius_stats_final");
	radius_store_free();
	while (server.qhead != NULL) {
		struct rtx *e = server.qhead;

		server.qhead = e->qnext;
		radius_store_req_free(&e->sr);
		free(e);
	}
	free(server.buckets);
	cidr_free(server.clients, NULL);
	server.started = 0;
}
