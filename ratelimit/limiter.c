/*
 * limiter.c - decisions: Redis first (one EVALSHA), the fallback when Redis
 * cannot answer in time. A decision record (struct dec) is owned by the
 * limiter; while a Redis request for it is open (held) the connection holds
 * its address as the request's arg, so it is freed only by the last of: the
 * answer to the caller, and the connection's final callback for it.
 */
/* util.h first: sys/param.h (via uv.h) then leaves its MIN/MAX alone. */
#include "util.h"
#include "limiter.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "lockout.h"
#include "redis_uv.h"

#define ADMIN_DEADLINE_MS 2000

struct dec {
	struct dec *prev, *next;
	struct rl *rl;
	rl_cb cb;
	void *arg;
	uint64_t start;
	unsigned held : 1;		/* the connection still holds it */
	unsigned answered : 1;
	unsigned listed : 1;		/* on rl->open */
	unsigned retried : 1;
	unsigned renew : 1;
	unsigned carrier : 1;		/* only gives leases back: no caller */
	struct rl_lease *give;		/* leases this call gives back */
	struct rl_result res;
	struct rl_plan plan;
};

struct rl_lease {
	struct rl_lease *next;		/* rl->give, dec->give */
	enum rl_source src;
	struct rl_plan plan;		/* allocated up to plan.item[plan.n] */
};

struct rl {
	uv_loop_t *loop;
	struct rl_conf conf;
	char *node;
	struct rl_conn *conn;
	struct rl_local *local;
	int own_local;
	char sha[48];
	int degraded;
	int probing;
	int closing;
	uv_idle_t idle;
	uv_timer_t probe;
	uv_timer_t give_t;		/* sends what no decision carried */
	struct rl_lease *give, *give_tail; /* released, not yet sent */
	size_t ngive;
	int nhandles;
	struct dec *open;		/* waiting for Redis */
	struct dec *ready, *ready_tail;	/* answered, to deliver from idle */
	struct rl_stats st;
	void (*closed)(void *);
	void *closed_arg;
};

static const struct rl_conn_ops conn_ops;

const char *
rl_verdict_name(enum rl_verdict v)
{
	switch (v) {
	case RL_ALLOW:
		return "allow";
	case RL_DENY:
		return "deny";
	default:
		return "error";
	}
}

static void
open_link(struct rl *rl, struct dec *d)
{
	d->prev = NULL;
	d->next = rl->open;
	if (rl->open != NULL)
		rl->open->prev = d;
	rl->open = d;
	d->listed = 1;
}

static void
open_unlink(struct rl *rl, struct dec *d)
{
	if (!d->listed)
		return;
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		rl->open = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	d->listed = 0;
}

static struct rl_lease *
lease_new(const struct rl_plan *p, enum rl_source src)
{
	size_t n = 0, sz = offsetof(struct rl_lease, plan.item) +
	    (size_t)p->nconc * sizeof(struct rl_item);
	struct rl_lease *l = xmalloc(sz);

	l->next = NULL;
	l->src = src;
	l->plan.nconc = p->nconc;
	memcpy(l->plan.lease, p->lease, sizeof(p->lease));
	l->plan.lease_len = p->lease_len;
	for (size_t i = 0; i < p->n; i++)
		if (p->item[i].kind == RL_CONC)
			l->plan.item[n++] = p->item[i];
	l->plan.n = n;
	return l;
}

static void
leases_free(struct rl_lease *l)
{
	struct rl_lease *n;

	for (; l != NULL; l = n) {
		n = l->next;
		free(l);
	}
}

/* dec_free - a decision record and the leases it gave back (sent or not:
 * once sent they are Redis's; unsent, they expire by their TTL). */
static void
dec_free(struct dec *d)
{
	leases_free(d->give);
	free(d);
}

/* answer - the caller's one callback; d may be freed by the caller after. */
static void
answer(struct dec *d)
{
	struct rl *rl = d->rl;

	open_unlink(rl, d);
	d->answered = 1;
	switch (d->res.verdict) {
	case RL_ERROR:
		rl->st.errors++;
		break;
	default:
		if (d->res.source == RL_SRC_REDIS)
			rl->st.redis++;
		else
			rl->st.local++;
	}
	d->cb(d->arg, &d->res);
}

/* fallback - decide without Redis (err says why), per the failure mode. */
static void
fallback(struct dec *d, int err)
{
	struct rl *rl = d->rl;
	struct rl_outcome o;

	d->res.err = err;
	d->res.lease = NULL;
	if (rl->conf.fail == RL_FAIL_CLOSED) {
		d->res.verdict = RL_ERROR;
		d->res.source = RL_SRC_NONE;
		d->res.deny_index = -1;
		d->res.retry_after_ms = 0;
		return;
	}
	rl_local_decide(rl->local, &d->plan, rl_local_now_us(), &o);
	d->res.source = RL_SRC_LOCAL;
	d->res.verdict = o.allow ? RL_ALLOW : RL_DENY;
	d->res.deny_index = o.deny_index;
	d->res.retry_after_ms = o.retry_ms;
	if (o.allow && d->plan.nconc > 0 && !d->renew)
		d->res.lease = lease_new(&d->plan, RL_SRC_LOCAL);
}

static void
idle_cb(uv_idle_t *h)
{
	struct rl *rl = h->data;
	struct dec *d;

	while ((d = rl->ready) != NULL && !rl->closing) {
		rl->ready = d->next;
		if (rl->ready == NULL)
			rl->ready_tail = NULL;
		answer(d);
		dec_free(d);
	}
	if (rl->ready == NULL)
		uv_idle_stop(&rl->idle);
}

static void
queue_ready(struct rl *rl, struct dec *d)
{
	d->next = NULL;
	if (rl->ready_tail != NULL)
		rl->ready_tail->next = d;
	else
		rl->ready = d;
	rl->ready_tail = d;
	uv_idle_start(&rl->idle, idle_cb);
}

static void probe_cb(uv_timer_t *t);

static void
degrade(struct rl *rl, int err)
{
	if (rl->degraded || rl->closing)
		return;
	rl->degraded = 1;
	log_warn("event=ratelimit_fallback reason=\"%s\" mode=%s",
	    sg_strerror(err), rl->conf.fail == RL_FAIL_OPEN ? "open" :
	    "closed");
	uv_timer_start(&rl->probe, probe_cb, (uint64_t)rl->conf.probe_ms,
	    (uint64_t)rl->conf.probe_ms);
}

static void
recover(struct rl *rl)
{
	if (!rl->degraded)
		return;
	rl->degraded = 0;
	uv_timer_stop(&rl->probe);
	log_info("event=ratelimit_recovered");
}

/* RETRY_MAX_MS - the longest retry the script can compute (a window of
 * the longest configurable period); a longer one is not the script's. */
#define RETRY_MAX_MS (400LL * 24 * 3600 * 1000)

/* parse_reply - the script's {allow, deny index (1-based), retry ms} for a
 * plan of n limits; SG_EPROTO for anything else (a wrong type, an allow
 * that is not 0/1, an index outside the plan, a retry out of range). */
static int
parse_reply(const redisReply *r, size_t n, struct rl_outcome *o)
{
	long long a, i, t;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element == NULL)
		return SG_EPROTO;
	for (size_t k = 0; k < 3; k++)
		if (r->element[k] == NULL ||
		    r->element[k]->type != REDIS_REPLY_INTEGER)
			return SG_EPROTO;
	a = r->element[0]->integer;
	i = r->element[1]->integer;
	t = r->element[2]->integer;
	if ((a != 0 && a != 1) || t < -1 || t > RETRY_MAX_MS ||
	    (a == 0 && (i < 1 || (unsigned long long)i > n)))
		return SG_EPROTO;
	o->allow = a == 1;
	o->deny_index = o->allow ? -1 : (int)i - 1;
	o->retry_ms = t;
	return 0;
}

static int
is_noscript(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0;
}

static void
script_cb(void *arg, int err, const redisReply *r)
{
	struct rl *rl = arg;

	if (r != NULL && r->type == REDIS_REPLY_STRING &&
	    r->len < sizeof(rl->sha)) {
		memcpy(rl->sha, r->str, r->len);
		rl->sha[r->len] = '\0';
	}
}

static int
send_load(struct rl *rl, int deadline_ms)
{
	const char *argv[] = { "SCRIPT", "LOAD", rl_script };
	size_t len[] = { 6, 4, strlen(rl_script) };

	return rl_conn_command(rl->conn, 3, argv, len, deadline_ms, script_cb,
	    NULL, rl);
}

static void dec_reply(void *arg, int err, const redisReply *r);
static void dec_late(void *arg, int err, const redisReply *r);
static void give_reply(void *arg, int err, const redisReply *r);
static void give_cb(uv_timer_t *t);
static struct dec *dec_new(struct rl *rl, rl_cb cb, void *arg);

/* take_gives - move leases waiting to be given back onto d, as many as
 * one call carries (RL_GIVE_MAX keys). */
static void
take_gives(struct rl *rl, struct dec *d)
{
	struct rl_lease *l;
	size_t keys = 0;

	while ((l = rl->give) != NULL && keys + l->plan.n <= RL_GIVE_MAX) {
		keys += l->plan.n;
		rl->give = l->next;
		if (rl->give == NULL)
			rl->give_tail = NULL;
		rl->ngive--;
		l->next = d->give;
		d->give = l;
	}
	if (rl->give == NULL)
		uv_timer_stop(&rl->give_t);
}

/* put_back - d was not sent: its leases wait for the next call again. */
static void
put_back(struct rl *rl, struct dec *d)
{
	struct rl_lease *l;

	while ((l = d->give) != NULL) {
		d->give = l->next;
		l->next = rl->give;
		rl->give = l;
		if (rl->give_tail == NULL)
			rl->give_tail = l;
		rl->ngive++;
	}
	if (rl->give != NULL && !uv_is_active((uv_handle_t *)&rl->give_t))
		uv_timer_start(&rl->give_t, give_cb,
		    (uint64_t)rl->conf.release_delay_ms, 0);
}

static int
send_dec(struct dec *d, int deadline_ms)
{
	struct rl *rl = d->rl;
	const struct rl_plan *gv[RL_GIVE_MAX];
	struct rl_argv a;
	size_t ng = 0;
	int err;

	if ((rl->degraded && !d->carrier) || !rl_conn_is_up(rl->conn) ||
	    rl->sha[0] == '\0')
		return -ENOTCONN;
	if (d->give == NULL && rl->give != NULL)
		take_gives(rl, d);
	for (struct rl_lease *l = d->give; l != NULL && ng < RL_GIVE_MAX;
	    l = l->next)
		gv[ng++] = &l->plan;
	rl_plan_argv(d->carrier ? NULL : &d->plan, gv, ng, rl->sha, "d", &a);
	err = rl_conn_command(rl->conn, a.argc, a.argv, a.len, deadline_ms,
	    d->carrier ? give_reply : dec_reply, dec_late, d);
	if (err == 0)
		d->held = 1;
	else if (!d->carrier)
		put_back(rl, d);
	return err;
}

static void
dec_reply(void *arg, int err, const redisReply *r)
{
	struct dec *d = arg;
	struct rl *rl = d->rl;
	struct rl_outcome o;
	int64_t left;
	char esc[96];

	if (err == -ETIMEDOUT) {
		rl->st.timeouts++;
		degrade(rl, err);
		if (!d->answered) {
			fallback(d, err);
			answer(d);
		}
		return;
	}
	d->held = 0;
	if (d->answered) {
		dec_free(d);
		return;
	}
	if (err == 0 && is_noscript(r) && !d->retried && !rl->closing) {
		rl->st.noscript++;
		d->retried = 1;
		left = (int64_t)rl->conf.deadline_ms -
		    (int64_t)(uv_now(rl->loop) - d->start);
		left = MAX(left, 1);
		if (send_load(rl, (int)left) == 0 &&
		    send_dec(d, (int)left) == 0)
			return;
	}
	if (err == 0 && parse_reply(r, d->plan.n, &o) == 0) {
		d->res.source = RL_SRC_REDIS;
		d->res.err = 0;
		d->res.verdict = o.allow ? RL_ALLOW : RL_DENY;
		d->res.deny_index = o.deny_index;
		d->res.retry_after_ms = o.retry_ms;
		d->res.lease = o.allow && d->plan.nconc > 0 && !d->renew ?
		    lease_new(&d->plan, RL_SRC_REDIS) : NULL;
	} else {
		if (err == 0) {
			err = SG_EPROTO;
			if (r != NULL && r->type == REDIS_REPLY_ERROR)
				log_warn("event=ratelimit_redis_error "
				    "reply=%s", log_esc(esc, sizeof(esc),
				    r->str, r->len));
		}
		fallback(d, err);
	}
	answer(d);
	dec_free(d);
}

/* dec_late - the reply of a decision answered by the fallback: a lease that
 * Redis granted meanwhile is given back (with the next call). */
static void
dec_late(void *arg, int err, const redisReply *r)
{
	struct dec *d = arg;
	struct rl *rl = d->rl;
	struct rl_outcome o;

	if (!d->carrier && err == 0 && parse_reply(r, d->plan.n, &o) == 0 &&
	    o.allow &&
	    d->plan.nconc > 0 && !d->renew && !rl->closing)
		rl_release(rl, lease_new(&d->plan, RL_SRC_REDIS));
	dec_free(d);
}

/* give_reply - the answer to a call that only gave leases back. */
static void
give_reply(void *arg, int err, const redisReply *r)
{
	struct dec *d = arg;
	struct rl *rl = d->rl;

	if (err == -ETIMEDOUT)
		return;		/* dec_late frees it */
	d->held = 0;
	if (err == 0 && is_noscript(r) && !d->retried && !rl->closing) {
		rl->st.noscript++;
		d->retried = 1;
		if (send_load(rl, ADMIN_DEADLINE_MS) == 0 &&
		    send_dec(d, ADMIN_DEADLINE_MS) == 0)
			return;
	}
	dec_free(d);
}

/* give_cb - leases no decision carried within release_delay_ms: one call
 * (or more, RL_GIVE_MAX keys each) gives them back; unsent, they expire. */
static void
give_cb(uv_timer_t *t)
{
	struct rl *rl = t->data;
	struct dec *d;

	while (rl->give != NULL && !rl->closing) {
		d = dec_new(rl, NULL, NULL);
		d->carrier = 1;
		d->plan.n = 0;
		take_gives(rl, d);
		if (send_dec(d, ADMIN_DEADLINE_MS) != 0) {
			dec_free(d);
			leases_free(rl->give);
			rl->give = rl->give_tail = NULL;
			rl->ngive = 0;
		}
	}
	uv_timer_stop(&rl->give_t);
}

static void
probe_reply(void *arg, int err, const redisReply *r)
{
	struct rl *rl = arg;
	struct rl_outcome o;

	rl->probing = 0;
	if (rl->closing)
		return;
	if (err == 0 && is_noscript(r))
		send_load(rl, ADMIN_DEADLINE_MS);
	else if (err == 0 && parse_reply(r, 0, &o) == 0 && o.allow)
		recover(rl);
}

static void
probe_cb(uv_timer_t *t)
{
	struct rl *rl = t->data;
	const char *argv[] = { "EVALSHA", rl->sha, "0", "p" };
	size_t len[] = { 7, strlen(rl->sha), 1, 1 };

	if (rl->probing || !rl_conn_is_up(rl->conn))
		return;
	if (rl_conn_command(rl->conn, 4, argv, len, rl->conf.deadline_ms,
	    probe_reply, NULL, rl) == 0)
		rl->probing = 1;
}

static void
conn_setup(void *arg, struct rl_conn *c)
{
	struct rl *rl = arg;
	const char *argv[] = { "SCRIPT", "LOAD", rl_script };
	size_t len[] = { 6, 4, strlen(rl_script) };

	rl_conn_setup(c, 3, argv, len, script_cb, rl);
}

static void
conn_event(void *arg, enum rl_conn_event ev, int err)
{
	struct rl *rl = arg;

	if (ev == RL_CONN_UP) {
		rl->probing = 0;
		recover(rl);
	}
}

static void
maybe_closed(struct rl *rl)
{
	if (--rl->nhandles > 0)
		return;
	if (rl->own_local)
		rl_local_free(rl->local);
	free(rl->node);
	if (rl->closed != NULL)
		rl->closed(rl->closed_arg);
	free(rl);
}

static void
conn_closed(void *arg)
{
	maybe_closed(arg);
}

static void
handle_closed(uv_handle_t *h)
{
	maybe_closed(h->data);
}

static const struct rl_conn_ops conn_ops = {
	.setup = conn_setup,
	.event = conn_event,
	.closed = conn_closed,
};

struct rl *
rl_new(uv_loop_t *loop, const struct rl_conf *conf)
{
	struct rl_conn_conf cc;
	struct rl *rl;
	char host[256], node[300];

	if (conf->fail != RL_FAIL_OPEN && conf->fail != RL_FAIL_CLOSED)
		return NULL;
	rl = xcalloc(1, sizeof(*rl));
	rl->loop = loop;
	rl->conf = *conf;
	if (rl->conf.deadline_ms <= 0)
		rl->conf.deadline_ms = 50;
	if (rl->conf.probe_ms <= 0)
		rl->conf.probe_ms = 200;
	if (conf->node == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "node");
		host[sizeof(host) - 1] = '\0';
		snprintf(node, sizeof(node), "%s:%ld", host, (long)getpid());
		rl->node = xstrdup(node);
	} else
		rl->node = xstrdup(conf->node);
	rl->conf.node = rl->node;
	rl->conf.password = NULL;
	rl->conf.sentinels = NULL;
	rl->conf.master_name = NULL;
	rl->conf.host = NULL;
	if ((rl->local = conf->local) == NULL) {
		rl->local = rl_local_new();
		rl->own_local = 1;
	}
	if (rl->conf.release_delay_ms == 0)
		rl->conf.release_delay_ms = 1;
	else if (rl->conf.release_delay_ms < 0)
		rl->conf.release_delay_ms = 0;
	uv_idle_init(loop, &rl->idle);
	uv_timer_init(loop, &rl->probe);
	uv_timer_init(loop, &rl->give_t);
	rl->idle.data = rl->probe.data = rl->give_t.data = rl;
	memset(&cc, 0, sizeof(cc));
	cc.host = conf->host;
	cc.port = conf->port;
	cc.sentinels = conf->sentinels;
	cc.nsentinels = conf->nsentinels;
	cc.master_name = conf->master_name;
	cc.password = conf->password;
	cc.database = conf->database;
	cc.connect_timeout_ms = conf->connect_timeout_ms;
	cc.deadline_ms = rl->conf.deadline_ms;
	cc.backoff_min_ms = conf->backoff_min_ms;
	cc.backoff_max_ms = conf->backoff_max_ms;
	cc.stall_ms = conf->stall_ms;
	cc.max_inflight = conf->max_inflight;
	cc.max_reply = conf->max_reply;
	rl->conn = rl_conn_new(loop, &cc, &conn_ops, rl);
	rl->nhandles = 4;
	return rl;
}

static struct dec *
dec_new(struct rl *rl, rl_cb cb, void *arg)
{
	struct dec *d = xmalloc(sizeof(*d));

	memset(d, 0, offsetof(struct dec, plan) + offsetof(struct rl_plan,
	    item));
	d->rl = rl;
	d->cb = cb;
	d->arg = arg;
	d->start = uv_now(rl->loop);
	return d;
}

static void
dec_start(struct rl *rl, struct dec *d)
{
	int err;

	rl->st.decisions++;
	if ((err = send_dec(d, rl->conf.deadline_ms)) == 0) {
		open_link(rl, d);
		return;
	}
	fallback(d, err);
	queue_ready(rl, d);
}

int
rl_decide(struct rl *rl, const struct rl_request *req, rl_cb cb, void *arg)
{
	struct dec *d;

	if (rl->closing || cb == NULL)
		return SG_EINVAL;
	d = dec_new(rl, cb, arg);
	if (rl_plan_build(&d->plan, req->limits, req->nlimits, rl->node,
	    req->session, req->session_len) != 0) {
		dec_free(d);
		return SG_EINVAL;
	}
	dec_start(rl, d);
	return 0;
}

int
rl_renew(struct rl *rl, struct rl_lease *l, rl_cb cb, void *arg)
{
	struct dec *d;

	if (rl->closing || cb == NULL || l->plan.n == 0)
		return SG_EINVAL;
	d = dec_new(rl, cb, arg);
	memcpy(&d->plan, &l->plan, offsetof(struct rl_plan, item) +
	    l->plan.n * sizeof(struct rl_item));
	d->renew = 1;
	dec_start(rl, d);
	return 0;
}

/* GIVE_HIGH - leases waiting at most before they are sent at once. */
#define GIVE_HIGH 64

void
rl_release(struct rl *rl, struct rl_lease *l)
{
	if (l == NULL)
		return;
	if (rl == NULL || rl->closing) {
		free(l);
		return;
	}
	if (l->src == RL_SRC_LOCAL) {
		rl_local_release(rl->local, &l->plan, rl_local_now_us());
		free(l);
		return;
	}
	if (!rl_conn_is_up(rl->conn) || rl->sha[0] == '\0' || l->plan.n == 0) {
		free(l);	/* expires by its TTL */
		return;
	}
	l->next = NULL;
	if (rl->give_tail != NULL)
		rl->give_tail->next = l;
	else
		rl->give = l;
	rl->give_tail = l;
	if (++rl->ngive >= GIVE_HIGH)
		uv_timer_start(&rl->give_t, give_cb, 0, 0);
	else if (!uv_is_active((uv_handle_t *)&rl->give_t))
		uv_timer_start(&rl->give_t, give_cb,
		    (uint64_t)rl->conf.release_delay_ms, 0);
}

/* Locks: plain commands on the RL_LOCK key of scope:id. */

struct admin {
	struct rl *rl;
	void (*cb)(void *arg, int err);
	void *arg;
};

static void
admin_reply(void *arg, int err, const redisReply *r)
{
	struct admin *ad = arg;

	if (err == 0 && (r == NULL || r->type == REDIS_REPLY_ERROR))
		err = SG_EPROTO;
	if (ad->cb != NULL)
		ad->cb(ad->arg, err);
	free(ad);
}

static int
admin_send(struct rl *rl, int argc, const char **argv, const size_t *len,
    void (*cb)(void *, int), void *arg)
{
	struct admin *ad;
	int err;

	if (rl->closing)
		return SG_EINVAL;
	ad = xmalloc(sizeof(*ad));
	ad->rl = rl;
	ad->cb = cb;
	ad->arg = arg;
	if ((err = rl_conn_command(rl->conn, argc, argv, len,
	    ADMIN_DEADLINE_MS, admin_reply, NULL, ad)) != 0)
		free(ad);
	return err;
}

int
rl_lock(struct rl *rl, const char *scope, const void *id, size_t idlen,
    int64_t ttl_ms, void (*cb)(void *arg, int err), void *arg)
{
	char key[RL_KEY_MAX], ttl[24];
	const char *argv[] = { "SET", key, "1", "PX", ttl };
	size_t len[5] = { 3, 0, 1, 2, 0 };

	if (ttl_ms <= 0 || ttl_ms > RL_MAX_US / 1000)
		return SG_EINVAL;
	len[1] = rl_lock_key(key, scope, id, idlen);
	len[4] = (size_t)snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
	return admin_send(rl, 5, argv, len, cb, arg);
}

int
rl_unlock(struct rl *rl, const char *scope, const void *id, size_t idlen,
    void (*cb)(void *arg, int err), void *arg)
{
	char key[RL_KEY_MAX];
	const char *argv[] = { "DEL", key };
	size_t len[2] = { 3, 0 };

	len[1] = rl_lock_key(key, scope, id, idlen);
	return admin_send(rl, 2, argv, len, cb, arg);
}

int
rl_is_up(const struct rl *rl)
{
	return !rl->degraded && rl_conn_is_up(rl->conn) && rl->sha[0] != '\0';
}

void
rl_get_stats(const struct rl *rl, struct rl_stats *st)
{
	*st = rl->st;
}

void
rl_free(struct rl *rl, void (*closed)(void *arg), void *arg)
{
	struct dec *d;

	if (rl == NULL || rl->closing)
		return;
	rl->closing = 1;
	rl->closed = closed;
	rl->closed_arg = arg;
	while ((d = rl->ready) != NULL) {
		rl->ready = d->next;
		if (d->res.lease != NULL) {
			rl_local_release(rl->local, &d->res.lease->plan,
			    rl_local_now_us());
			free(d->res.lease);
		}
		d->res = (struct rl_result){ .verdict = RL_ERROR,
			.source = RL_SRC_NONE, .deny_index = -1,
			.err = -ECANCELED };
		answer(d);
		dec_free(d);
	}
	rl->ready_tail = NULL;
	leases_free(rl->give);
	rl->give = rl->give_tail = NULL;
	rl->ngive = 0;
	while ((d = rl->open) != NULL) {
		d->res = (struct rl_result){ .verdict = RL_ERROR,
			.source = RL_SRC_NONE, .deny_index = -1,
			.err = -ECANCELED };
		answer(d);
	}
	uv_close((uv_handle_t *)&rl->idle, handle_closed);
	uv_close((uv_handle_t *)&rl->probe, handle_closed);
	uv_close((uv_handle_t *)&rl->give_t, handle_closed);
	rl_conn_free(rl->conn);
}
