/*
 * policy.c - the decision point (policy.h): the glue between the relay,
 * the pure policy core (policy_core.c) and the limiter (ratelimit/).
 *
 * Ownership: one struct pworker per worker (indexed by worker id) owns that
 * worker's struct rl and the lease-renewal timer; the node's fallback
 * (struct rl_local) is shared. A struct policy_sess is reference-counted:
 * the session holds one reference until policy_session_end(), every
 * decision in flight one more; the last one frees it. A decision that
 * answers after its session ended gives its fresh lease straight back.
 *
 * Lock-out (the rule is the core's: pc_after_answer, pc_after_violation):
 * when a subscriber limit denies (answered by Redis), one more decision
 * counts a violation against the class's "viol" limit; when that one
 * denies, the subscriber is locked (RL_LOCK, lockout.duration). Every
 * later decision carries the lock, so the next question (normally the next
 * connect) gets the "locked" reply. Locks live only in Redis: without
 * Redis there is no lock-out.
 *
 * Leases: the connect decision takes the concurrency leases (subscriber,
 * destination, global), STARTTLS the tls ones; a timer renews leases every
 * third of their TTL, the session's end gives them back. A node that dies
 * leaks nothing: its leases expire by their TTL.
 */
#include "util.h"	/* before uv.h: sys/param.h defines MIN/MAX too */
#include "policy.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "err.h"
#include "identity.h"
#include "limiter.h"
#include "local.h"
#include "lockout.h"
#include "log.h"
#include "policy_core.h"
#include "redis_conf.h"
#include "redis_sync.h"

#define RENEW_TICK_MS 10000
#define RENEW_AFTER_MS (PC_LEASE_TTL_MS / 3)
#define POLICY_REFUSALS_KEPT 8
#define LOCKS_WAIT_MS 2000

enum { LEASE_CONNECT, LEASE_TLS, LEASE_COUNT };

struct pstats {
	atomic_uint_fast64_t decisions, refused, redis, local, errors,
	    lockouts, tls_ended;
};

struct pworker {
	struct worker *w;
	struct rl *rl;			/* NULL: no Redis, the fallback decides */
	uv_timer_t renew;
	int started;
	struct policy_sess *leased;	/* sessions holding leases */
	struct pstats st;
};

struct refusal {
	uint8_t point;			/* enum pc_point */
	uint8_t source;			/* enum rl_source */
	const char *why;		/* static */
	char limit[24];			/* "sub.mx.rcpt" */
	char reply[64];			/* truncated reply */
};

struct policy_sess {
	struct policy_sess *prev, *next;	/* pworker.leased */
	struct pworker *pw;
	int refs;
	unsigned dead : 1;
	unsigned listed : 1;
	unsigned renewing : 1;
	void *lease[LEASE_COUNT];	/* struct rl_lease, or struct rl_plan (local) */
	int64_t renewed_ms;
	const struct policy_class *cls;
	uint64_t tls_chunk;
	uint64_t tls_budget;
	uint32_t nrefusals;
	struct refusal refusals[POLICY_REFUSALS_KEPT];
	char sid[AUDIT_ID_LEN + 1];
	char dst[ADDR_STRLEN];
	/* sub and dst escaped for keys once per session, not per decision */
	char esub[RL_ID_MAX + 1];
	char edst[RL_ID_MAX + 1];
	size_t esublen, edstlen, sidlen;
	size_t sublen;
	char sub[];
};

/* One decision in flight. */
struct pdec {
	struct policy_sess *ps;
	struct sess_key key;
	policy_cb cb;
	void *arg;
	enum pc_point point;
	enum traffic_class traffic;
	struct pc_plan plan;
};

static struct {
	const struct config *c;
	struct rl_local *local;
	struct rl_redis_conf redis;	/* c->redis as the limiter takes it */
} pol_state;			/* the node's: shared by every worker */

static struct pworker pws[WORKER_MAX];

/* Session state ------------------------------------------------------ */

static void
ps_unref(struct policy_sess *ps)
{
	if (--ps->refs == 0)
		free(ps);
}

static struct pworker *
pw_of(struct worker *w)
{
	return &pws[w->id];
}

struct policy_sess *
policy_session_new(struct worker *w, const char *session_id,
    const struct identity *id, const union sockaddr_any *src,
    const union sockaddr_any *dst)
{
	struct policy_sess *ps;
	union sockaddr_any d = *dst;
	char buf[PC_SUB_ADDR_MAX];
	const char *s = pc_subscriber(id, src, buf, sizeof(buf));
	size_t n = strlen(s);

	ps = xcalloc(1, sizeof(*ps) + n + 1);
	memcpy(ps->sub, s, n + 1);
	ps->sublen = n;
	ps->cls = id->cls;
	ps->refs = 1;
	ps->pw = pw_of(w);
	snprintf(ps->sid, sizeof(ps->sid), "%s", session_id);
	ps->sidlen = strlen(ps->sid);
	addr_unmap(&d);
	if (addr_ntop(&d, ps->dst, sizeof(ps->dst)) == NULL)
		ps->dst[0] = '\0';
	ps->esublen = rl_escape(ps->esub, ps->sub, ps->sublen);
	ps->edstlen = rl_escape(ps->edst, ps->dst, strlen(ps->dst));
	return ps;
}

const char *
policy_subscriber(const struct policy_sess *ps)
{
	return ps->sub;
}

const char *
policy_class_name(const struct policy_sess *ps)
{
	return ps->cls->name;
}

static void
list_add(struct policy_sess *ps)
{
	struct pworker *pw = ps->pw;

	if (ps->listed)
		return;
	ps->listed = 1;
	ps->renewed_ms = now_ms();
	ps->prev = NULL;
	ps->next = pw->leased;
	if (pw->leased != NULL)
		pw->leased->prev = ps;
	pw->leased = ps;
}

static void
list_del(struct policy_sess *ps)
{
	if (!ps->listed)
		return;
	ps->listed = 0;
	if (ps->prev != NULL)
		ps->prev->next = ps->next;
	else
		ps->pw->leased = ps->next;
	if (ps->next != NULL)
		ps->next->prev = ps->prev;
}

static void
lease_release(struct pworker *pw, void *lease)
{
	if (lease == NULL)
		return;
	if (pw->rl != NULL)
		rl_release(pw->rl, lease);
	else {
		rl_local_release(pol_state.local, lease, rl_local_now_us());
		free(lease);
	}
}

void
policy_session_end(struct policy_sess *ps, struct audit_session *rec)
{
	if (ps == NULL)
		return;
	for (int i = 0; i < LEASE_COUNT; i++) {
		lease_release(ps->pw, ps->lease[i]);
		ps->lease[i] = NULL;
	}
	list_del(ps);
	if (rec != NULL) {
		uint32_t n = MIN(ps->nrefusals, POLICY_REFUSALS_KEPT);

		for (uint32_t i = 0; i < n; i++) {
			const struct refusal *r = &ps->refusals[i];

			audit_session_add_decision(rec, pc_point_name(r->point),
			    r->limit, r->reply, r->source == RL_SRC_REDIS
			    ? "redis" : r->source == RL_SRC_LOCAL ? "local"
			    : "none");
		}
	}
	ps->dead = 1;
	ps_unref(ps);
}

/* Lease renewal ------------------------------------------------------ */

static void
renew_cb(void *arg, const struct rl_result *res)
{
	struct policy_sess *ps = arg;

	ps->renewing = 0;
	if (!ps->dead && res->verdict == RL_DENY)
		log_warn("event=policy_lease_lost id=%s", ps->sid);
	ps_unref(ps);
}

static void
renew_tick(uv_timer_t *t)
{
	struct pworker *pw = t->data;
	int64_t now = now_ms();

	for (struct policy_sess *ps = pw->leased; ps != NULL; ps = ps->next) {
		if (ps->renewing || now - ps->renewed_ms < RENEW_AFTER_MS)
			continue;
		ps->renewed_ms = now;
		for (int i = 0; i < LEASE_COUNT; i++) {
			struct rl_outcome o;

			if (ps->lease[i] == NULL)
				continue;
			if (pw->rl == NULL) {
				rl_local_decide(pol_state.local, ps->lease[i],
				    rl_local_now_us(), &o);
				continue;
			}
			ps->refs++;
			ps->renewing = 1;
			if (rl_renew(pw->rl, ps->lease[i], renew_cb, ps) != 0) {
				ps->renewing = 0;
				ps_unref(ps);
			}
		}
	}
}

/* Deciding ----------------------------------------------------------- */

static enum traffic_class
traffic_of(enum smtp_class c)
{
	switch (c) {
	case SMTP_CLASS_SUBMISSION:
		return TRAFFIC_SUBMISSION;
	case SMTP_CLASS_TLS:
		return TRAFFIC_TLS;
	default:
		return TRAFFIC_MX;
	}
}

static void
facts_of(const struct pdec *d, uint64_t bytes, struct pc_facts *f)
{
	f->sub = d->ps->sub;
	f->sublen = d->ps->sublen;
	f->cls = d->ps->cls;
	f->traffic = d->traffic;
	f->dst = d->ps->dst[0] != '\0' ? d->ps->dst : NULL;
	f->bytes = bytes;
	f->esub = d->ps->esub;
	f->esublen = d->ps->esublen;
	f->edst = d->ps->edst;
	f->edstlen = d->ps->edstlen;
}

static void
lock_cb(void *arg, int err)
{
	char *sub = arg, e[300];

	if (err != 0)
		log_warn("event=policy_lock_failed sub=%s error=\"%s\"",
		    log_esc(e, sizeof(e), sub, strlen(sub)), sg_strerror(err));
	free(sub);
}

static void
lock_out(struct pworker *pw, const struct policy_sess *ps, uint32_t lock_ms)
{
	const struct lockout_conf *lo = &ps->cls->lockout;
	char e[300];
	char *copy = xstrdup(ps->sub);

	atomic_fetch_add_explicit(&pw->st.lockouts, 1, memory_order_relaxed);
	log_info("event=policy_lockout id=%s sub=%s class=%s violations=%u "
	    "within_s=%u duration_s=%u", ps->sid,
	    log_esc(e, sizeof(e), ps->sub, ps->sublen), ps->cls->name,
	    lo->violations, lo->within_ms / 1000, lo->duration_ms / 1000);
	if (pw->rl == NULL || rl_lock(pw->rl, "sub", ps->sub, ps->sublen,
	    lock_ms, lock_cb, copy) != 0)
		lock_cb(copy, SG_EINVAL);
}

static void after(struct pworker *pw, struct policy_sess *ps,
    const struct pc_after *next);

static enum pc_answer
answer_of(const struct rl_result *res)
{
	return res->verdict == RL_ALLOW ? PC_ALLOW : res->verdict == RL_DENY
	    ? PC_DENY : PC_ERROR;
}

static void
violation_cb(void *arg, const struct rl_result *res)
{
	struct policy_sess *ps = arg;
	struct pc_after next;

	pc_after_violation(ps->cls, answer_of(res),
	    res->source == RL_SRC_REDIS, &next);
	after(ps->pw, ps, &next);
	ps_unref(ps);
}

/* after - carry out the lock-out step the core decided (policy_core.h). */
static void
after(struct pworker *pw, struct policy_sess *ps, const struct pc_after *next)
{
	struct rl_request rq;

	if (next->step == PC_STEP_NONE || pw->rl == NULL)
		return;		/* locks live only in Redis */
	if (next->step == PC_STEP_LOCK) {
		lock_out(pw, ps, next->lock_ms);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.limits = &next->viol;
	rq.nlimits = 1;
	ps->refs++;
	if (rl_decide(pw->rl, &rq, violation_cb, ps) != 0)
		ps_unref(ps);
}

static void
record_refusal(struct policy_sess *ps, const struct pdec *d, int idx,
    const struct smtp_verdict *v, enum rl_source src)
{
	struct refusal *r;

	if (ps->nrefusals++ >= POLICY_REFUSALS_KEPT)
		return;
	r = &ps->refusals[ps->nrefusals - 1];
	r->point = (uint8_t)d->point;
	r->source = (uint8_t)src;
	r->why = v->why;
	if (idx >= 0 && (size_t)idx < d->plan.n)
		snprintf(r->limit, sizeof(r->limit), "%s.%s",
		    d->plan.lim[idx].scope, d->plan.lim[idx].name);
	else
		snprintf(r->limit, sizeof(r->limit), "%s", v->why);
	snprintf(r->reply, sizeof(r->reply), "%s", v->reply != NULL ? v->reply : "");
}

static const char *
source_name(enum rl_source s)
{
	return s == RL_SRC_REDIS ? "redis" : s == RL_SRC_LOCAL ? "local" : "none";
}

/* finish - map the limiter's answer, log and count it, answer the asker. */
static void
finish(struct pdec *d, const struct rl_result *res)
{
	struct policy_sess *ps = d->ps;
	struct pworker *pw = ps->pw;
	struct smtp_verdict v;
	struct pc_facts f;
	struct pc_after next;
	char buf[PC_REPLY_MAX], e[300], r[PC_REPLY_MAX + 16];
	enum pc_answer a;
	int idx = res->deny_index;

	a = answer_of(res);
	if (d->plan.deny)
		a = PC_DENY;
	pc_verdict(pol_state.c, &d->plan, d->point, a, idx,
	    res->retry_after_ms, &v, buf);
	if (res->source == RL_SRC_REDIS)
		atomic_fetch_add_explicit(&pw->st.redis, 1, memory_order_relaxed);
	else if (res->source == RL_SRC_LOCAL)
		atomic_fetch_add_explicit(&pw->st.local, 1, memory_order_relaxed);
	if (a == PC_ERROR)
		atomic_fetch_add_explicit(&pw->st.errors, 1, memory_order_relaxed);
	if (v.kind == SMTP_PASS) {
		if ((d->point == PC_STARTTLS || d->point == PC_TLS_BYTES) &&
		    !ps->dead)
			ps->tls_budget += ps->tls_chunk;
		log_debug("event=policy id=%s point=%s verdict=pass source=%s",
		    ps->sid, pc_point_name(d->point), source_name(res->source));
	} else {
		atomic_fetch_add_explicit(&pw->st.refused, 1, memory_order_relaxed);
		log_info("event=policy_refuse id=%s sub=%s class=%s traffic=%s "
		    "point=%s limit=%s.%s why=%s source=%s retry_ms=%lld reply=%s",
		    ps->sid, log_esc(e, sizeof(e), ps->sub, ps->sublen),
		    ps->cls->name, config_traffic_name(d->traffic),
		    pc_point_name(d->point),
		    idx >= 0 && (size_t)idx < d->plan.n ? d->plan.lim[idx].scope
		    : "sub", idx >= 0 && (size_t)idx < d->plan.n
		    ? d->plan.lim[idx].name : "-", v.why,
		    source_name(res->source), (long long)res->retry_after_ms,
		    log_esc(r, sizeof(r), buf, strlen(buf)));
		record_refusal(ps, d, idx, &v, res->source);
		facts_of(d, 0, &f);
		pc_after_answer(&f, &d->plan, a, idx,
		    res->source == RL_SRC_REDIS, &next);
		after(pw, ps, &next);
	}
	d->cb(&d->key, &v, d->arg);
}

static void
decided(void *arg, const struct rl_result *res)
{
	struct pdec *d = arg;
	struct policy_sess *ps = d->ps;
	int slot = d->point == PC_STARTTLS ? LEASE_TLS : LEASE_CONNECT;

	if (res->lease != NULL) {
		if (ps->dead || ps->lease[slot] != NULL)
			rl_release(ps->pw->rl, res->lease);
		else {
			ps->lease[slot] = res->lease;
			list_add(ps);
		}
	}
	/* a decision cancelled by rl_free has no session left to answer */
	if (!(res->verdict == RL_ERROR && res->err == -ECANCELED))
		finish(d, res);
	ps_unref(ps);
	free(d);
}

/* local_decide - the fallback alone (no Redis section): synchronous. */
static void
local_decide(struct pdec *d, struct rl_result *res)
{
	struct rl_plan *rp = xmalloc(sizeof(*rp)), *l;
	struct rl_outcome o;
	struct policy_sess *ps = d->ps;
	int slot = d->point == PC_STARTTLS ? LEASE_TLS : LEASE_CONNECT;
	size_t k = 0;

	memset(res, 0, sizeof(*res));
	res->source = RL_SRC_LOCAL;
	res->deny_index = -1;
	if (rl_plan_build(rp, d->plan.lim, d->plan.n, "local", ps->sid,
	    strlen(ps->sid)) != 0) {
		res->verdict = RL_ERROR;
		res->err = SG_EINVAL;
		free(rp);
		return;
	}
	rl_local_decide(pol_state.local, rp, rl_local_now_us(), &o);
	res->verdict = o.allow ? RL_ALLOW : RL_DENY;
	res->deny_index = o.allow ? -1 : o.deny_index;
	res->retry_after_ms = o.retry_ms;
	
	if (o.allow && rp->nconc > 0 && ps->lease[slot] == NULL) {
		/* keep only the concurrency items: that is the lease */
		l = xmalloc(offsetof(struct rl_plan, item) +
		    (size_t)rp->nconc * sizeof(struct rl_item));
		memcpy(l, rp, offsetof(struct rl_plan, item));
		for (size_t i = 0; i < rp->n; i++)
			if (rp->item[i].kind == RL_CONC)
				l->item[k++] = rp->item[i];
		l->n = k;
		ps->lease[slot] = l;
		list_add(ps);
	}
	free(rp);
}

/* dispatch - ask the limiter for d; the answer goes to d->cb. */
static void
dispatch(struct pdec *d)
{
	struct pworker *pw = d->ps->pw;
	struct rl_request rq;
	struct rl_result res;

	atomic_fetch_add_explicit(&pw->st.decisions, 1, memory_order_relaxed);
	memset(&res, 0, sizeof(res));
	res.deny_index = -1;
	res.source = RL_SRC_NONE;
	if (d->plan.deny || d->plan.n == 0) {
		res.verdict = d->plan.deny ? RL_DENY : RL_ALLOW;
		res.retry_after_ms = -1;
		finish(d, &res);
		free(d);
		return;
	}
	if (pw->rl == NULL) {
		local_decide(d, &res);
		finish(d, &res);
		free(d);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.limits = d->plan.lim;
	rq.nlimits = d->plan.n;
	rq.session = d->ps->sid;
	rq.session_len = d->ps->sidlen;
	d->ps->refs++;
	if (rl_decide(pw->rl, &rq, decided, d) != 0) {
		d->ps->refs--;
		res.verdict = RL_ERROR;
		res.err = SG_EINVAL;
		log_warn("event=policy_bad_plan id=%s point=%s", d->ps->sid,
		    pc_point_name(d->point));
		finish(d, &res);
		free(d);
	}
}

static struct pdec *
pdec_new(struct policy_sess *ps, const struct sess_key *key, policy_cb cb,
    void *arg, enum pc_point point, enum traffic_class traffic)
{
	struct pdec *d = xmalloc(sizeof(*d));

	d->ps = ps;
	d->key = *key;
	d->cb = cb;
	d->arg = arg;
	d->point = point;
	d->traffic = traffic;
	return d;
}

/* audit_refuse - audit.on_write_error: tempfail and the audit file fails:
 * a new port-25 session is answered replies.audit_down (421) at connect
 * and closed, without asking the limiter (no lease, no Redis). Sessions
 * already past their connect decision go on. Counted
 * (subgate_audit_tempfail_sessions_total); logged at most every 10 s with
 * the count since the last line. Passthrough listeners never get here. */
#define AUDIT_REFUSE_LOG_MS 10000
static atomic_int_fast64_t audit_refuse_logged_ms;
static atomic_uint_fast64_t audit_refuse_logged_n;

static void
audit_refuse(struct policy_sess *ps, const struct policy_req *req,
    policy_cb cb, void *arg)
{
	struct smtp_verdict v;
	struct pdec d;
	char buf[PC_REPLY_MAX], e[300], r[PC_REPLY_MAX + 16];
	int64_t now = now_ms(), last;
	uint64_t n;

	pc_audit_down(pol_state.c, &v, buf);
	n = audit_count_tempfail();
	atomic_fetch_add_explicit(&ps->pw->st.decisions, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ps->pw->st.refused, 1, memory_order_relaxed);
	last = atomic_load_explicit(&audit_refuse_logged_ms, memory_order_relaxed);
	if (now - last >= AUDIT_REFUSE_LOG_MS &&
	    atomic_compare_exchange_strong(&audit_refuse_logged_ms, &last, now)) {
		uint64_t before = atomic_exchange(&audit_refuse_logged_n, n);

		log_warn("event=audit_tempfail id=%s sub=%s refused=%llu "
		    "refused_since_last_log=%llu reply=%s", ps->sid,
		    log_esc(e, sizeof(e), ps->sub, ps->sublen),
		    (unsigned long long)n, (unsigned long long)(n - before),
		    log_esc(r, sizeof(r), buf, strlen(buf)));
	}
	memset(&d, 0, sizeof(d));
	d.point = PC_CONNECT;
	record_refusal(ps, &d, -1, &v, RL_SRC_NONE);
	cb(&req->key, &v, arg);
}

void
policy_ask(const struct policy_req *req, policy_cb cb, void *arg)
{
	static const struct smtp_verdict pass = { SMTP_PASS, NULL, "pass" };
	struct policy_sess *ps = req->ps;
	struct pc_facts f;
	struct pdec *d;
	enum pc_point pt;
	uint64_t bytes = 0;

	if (ps == NULL || ps->dead) {
		cb(&req->key, &pass, arg);
		return;
	}
	switch (req->point) {
	case SMTP_AT_CONNECT:
		if (audit_tempfail(pol_state.c)) {
			audit_refuse(ps, req, cb, arg);
			return;
		}
		pt = PC_CONNECT;
		break;
	case SMTP_AT_MAIL:
		pt = PC_MAIL;
		break;
	case SMTP_AT_RCPT:
		pt = PC_RCPT;
		break;
	case SMTP_AT_DATA_END:
		pt = PC_DATA_END;
		bytes = req->txn != NULL ? req->txn->size : 0;
		break;
	case SMTP_AT_STARTTLS:
		pt = PC_STARTTLS;
		ps->tls_chunk = pc_tls_chunk(pol_state.c, ps->cls);
		bytes = ps->tls_chunk;
		break;
	default:
		cb(&req->key, &pass, arg);
		return;
	}
	d = pdec_new(ps, &req->key, cb, arg, pt, pt == PC_STARTTLS
	    ? TRAFFIC_TLS : pt == PC_CONNECT ? TRAFFIC_MX : traffic_of(req->cls));
	ps->refs++;
	facts_of(d, bytes, &f);
	pc_plan_build(pol_state.c, &f, pt, &d->plan);
	dispatch(d);
	ps_unref(ps);
}

/* TLS tunnels -------------------------------------------------------- */

uint64_t
policy_tls_budget(const struct policy_sess *ps)
{
	return ps->tls_chunk > 0 ? ps->tls_budget : 0;
}

uint32_t
policy_tls_duration(const struct policy_sess *ps)
{
	return ps->cls->traffic[TRAFFIC_TLS].duration_ms;
}

void
policy_tls_more(struct policy_sess *ps, const struct sess_key *key,
    policy_cb cb, void *arg)
{
	struct pc_facts f;
	struct pdec *d = pdec_new(ps, key, cb, arg, PC_TLS_BYTES, TRAFFIC_TLS);

	ps->refs++;
	facts_of(d, ps->tls_chunk, &f);
	pc_plan_build(pol_state.c, &f, PC_TLS_BYTES, &d->plan);
	dispatch(d);
	ps_unref(ps);
}

void
policy_tls_end(struct policy_sess *ps, const char *what)
{
	char e[300];

	atomic_fetch_add_explicit(&ps->pw->st.tls_ended, 1,
	    memory_order_relaxed);
	log_info("event=policy_tls_end id=%s sub=%s class=%s limit=%s",
	    ps->sid, log_esc(e, sizeof(e), ps->sub, ps->sublen),
	    ps->cls->name, what);
	/* a refused byte chunk is recorded already, as a refusal */
	if (strcmp(what, "bytes") != 0 &&
	    ps->nrefusals++ < POLICY_REFUSALS_KEPT) {
		struct refusal *r = &ps->refusals[ps->nrefusals - 1];

		r->point = PC_TLS_BYTES;
		r->source = RL_SRC_NONE;
		r->why = "tls";
		snprintf(r->limit, sizeof(r->limit), "sub.tls.%s", what);
		snprintf(r->reply, sizeof(r->reply), "closed");
	}
}

/* Workers ------------------------------------------------------------ */

int
policy_init(const struct config *c)
{
	pol_state.c = c;
	pol_state.local = rl_local_new();
	if (c->redis.enabled)
		rl_redis_conf_init(&pol_state.redis, &c->redis);
	return 0;
}

void
policy_shutdown(void)
{
	rl_redis_conf_free(&pol_state.redis);
	if (pol_state.local != NULL)
		rl_local_free(pol_state.local);
	memset(&pol_state, 0, sizeof(pol_state));
}

static void
rl_conf_of(const struct config *c, struct rl_conf *rc)
{
	const struct rl_conn_conf *cc = &pol_state.redis.conn;

	memset(rc, 0, sizeof(*rc));
	rc->host = cc->host;
	rc->port = cc->port;
	rc->sentinels = cc->sentinels;
	rc->nsentinels = cc->nsentinels;
	rc->master_name = cc->master_name;
	rc->password = cc->password;
	rc->database = cc->database;
	rc->deadline_ms = cc->deadline_ms;
	rc->connect_timeout_ms = cc->connect_timeout_ms;
	rc->fail = c->redis.on_failure == REDIS_FAIL_CLOSED ? RL_FAIL_CLOSED
	    : RL_FAIL_OPEN;
}

int
policy_worker_start(struct worker *w)
{
	struct pworker *pw = pw_of(w);
	struct rl_conf rc;

	memset(pw, 0, sizeof(*pw));
	pw->w = w;
	if (pol_state.c != NULL && pol_state.c->redis.enabled) {
		rl_conf_of(pol_state.c, &rc);
		rc.local = pol_state.local;
		if ((pw->rl = rl_new(&w->loop, &rc)) == NULL)
			return SG_ECONFIG;
	}
	uv_timer_init(&w->loop, &pw->renew);
	pw->renew.data = pw;
	uv_timer_start(&pw->renew, renew_tick, RENEW_TICK_MS, RENEW_TICK_MS);
	pw->started = 1;
	return 0;
}

void
policy_worker_stop(struct worker *w)
{
	struct pworker *pw = pw_of(w);

	if (!pw->started)
		return;
	pw->started = 0;
	uv_timer_stop(&pw->renew);
	uv_close((uv_handle_t *)&pw->renew, NULL);
	if (pw->rl != NULL) {
		struct rl_stats st;

		rl_get_stats(pw->rl, &st);
		log_info("event=policy_end worker=%d decisions=%llu redis=%llu "
		    "local=%llu errors=%llu timeouts=%llu noscript=%llu", w->id,
		    (unsigned long long)st.decisions,
		    (unsigned long long)st.redis, (unsigned long long)st.local,
		    (unsigned long long)st.errors,
		    (unsigned long long)st.timeouts,
		    (unsigned long long)st.noscript);
		rl_free(pw->rl, NULL, NULL);
		/* leases released from here on are only freed */
		pw->rl = NULL;
	}
}

void
policy_get_stats(struct policy_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < WORKER_MAX; i++) {
		struct pstats *p = &pws[i].st;

		st->decisions += atomic_load_explicit(&p->decisions, memory_order_relaxed);
		st->refused += atomic_load_explicit(&p->refused, memory_order_relaxed);
		st->redis += atomic_load_explicit(&p->redis, memory_order_relaxed);
		st->local += atomic_load_explicit(&p->local, memory_order_relaxed);
		st->errors += atomic_load_explicit(&p->errors, memory_order_relaxed);
		st->lockouts += atomic_load_explicit(&p->lockouts, memory_order_relaxed);
		st->tls_ended += atomic_load_explicit(&p->tls_ended, memory_order_relaxed);
	}
}

/* Lock administration ------------------------------------------------ */

/* Each call opens its own blocking connection (redis_sync.h) to the
 * configured primary and database; the workers' loops are never touched
 * from another thread. */
static int
locks_connect(const struct config *c, redisContext **rcp)
{
	struct rl_redis_conf rc;
	char err[256];

	if (!c->redis.enabled)
		return SG_ECONFIG;
	rl_redis_conf_init(&rc, &c->redis);
	*rcp = rl_sync_connect(&rc.conn, LOCKS_WAIT_MS, err, sizeof(err));
	rl_redis_conf_free(&rc);
	if (*rcp == NULL) {
		log_warn("event=policy_locks_failed error=\"%s\"", err);
		return -ECONNREFUSED;
	}
	return 0;
}

int
policy_locks_list(const struct config *c, struct policy_lock **out, size_t *n)
{
	struct rl_lock_info *v;
	redisContext *rc;
	char err[256];
	int e;

	*out = NULL;
	*n = 0;
	if ((e = locks_connect(c, &rc)) != 0)
		return e;
	if (rl_locks_list(rc, &v, n, err, sizeof(err)) < 0) {
		log_warn("event=policy_locks_failed error=\"%s\"", err);
		redisFree(rc);
		return SG_EPROTO;
	}
	redisFree(rc);
	*out = xcalloc(*n + 1, sizeof(**out));
	for (size_t i = 0; i < *n; i++) {
		memcpy((*out)[i].subscriber, v[i].subscriber,
		    sizeof((*out)[i].subscriber));
		(*out)[i].ttl_ms = v[i].ttl_ms;
	}
	free(v);
	return 0;
}

/* locks_lift - 0 lifted, 1 there was none, or a negative code. */
static int
locks_lift(const struct config *c, const char *subscriber)
{
	redisContext *rc;
	char err[256];
	int e;

	if ((e = locks_connect(c, &rc)) != 0)
		return e;
	e = rl_locks_lift(rc, subscriber, err, sizeof(err));
	if (e < 0)
		log_warn("event=policy_locks_failed error=\"%s\"", err);
	redisFree(rc);
	return e < 0 ? SG_EPROTO : e == 1 ? 0 : 1;
}

int
policy_locks_lift(const struct config *c, const char *subscriber)
{
	int e = locks_lift(c, subscriber);

	return e == 1 ? 0 : e;
}

int
policy_admin_list(void *arg, char **body, size_t *len)
{
	struct policy_lock *l;
	json_t *o, *a;
	size_t n;
	int err;

	if ((err = policy_locks_list(arg, &l, &n)) != 0)
		return err;
	o = json_object();
	a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object();
		/* ids are printable (identity.c escapes); jansson refuses
		 * anything that is not UTF-8 all the same */
		json_t *sj = json_string(l[i].subscriber);

		json_object_set_new(e, "subscriber", sj != NULL ? sj
		    : json_string("?"));
		json_object_set_new(e, "ttl_ms", json_integer(l[i].ttl_ms));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "locks", a);
	*body = json_dumps(o, JSON_COMPACT);
	*len = *body != NULL ? strlen(*body) : 0;
	json_decref(o);
	free(l);
	return *body != NULL ? 0 : SG_ENOMEM;
}

int
policy_admin_lift(void *arg, const char *subscriber)
{
	return locks_lift(arg, subscriber);
}
