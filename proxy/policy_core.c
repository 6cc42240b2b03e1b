/*
 * policy_core.c - plans and verdicts of the port-25 policy (policy_core.h).
 * Pure: it reads the configuration and the facts it is given and fills the
 * caller's structs; policy.c does the asking.
 *
 * Reply codes (RFC 5321 4.2, RFC 3463, RFC 3207 4): a temporary refusal is
 * 421 at connect (and the session ends), 451 4.7.1 at MAIL and end of data,
 * 452 4.5.3 for the recipients limit at RCPT (4.5.3: too many recipients)
 * else 451, 454 4.7.0 at STARTTLS. The refusals that tell the subscriber to
 * submit on port 587 (RFC 5068 3.2, 4) are the greeting 554 at connect and
 * 550 elsewhere.
 */
#include "policy_core.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "identity.h"

/* Key names: [0] counts every traffic class ("any"), [1 + traffic] one. */
static const char *const key_names[1 + TRAFFIC_COUNT][PC_W_COUNT] = {
	{ "any.conn", "any.conc", "any.msg", "any.rcpt", "any.bytes",
	  "any.dest", "any.dur", "any.deny", "lock", "viol" },
	{ "mx.conn", "mx.conc", "mx.msg", "mx.rcpt", "mx.bytes",
	  "mx.dest", "mx.dur", "mx.deny", "lock", "viol" },
	{ "submission.conn", "submission.conc", "submission.msg",
	  "submission.rcpt", "submission.bytes", "submission.dest",
	  "submission.dur", "submission.deny", "lock", "viol" },
	{ "tls.conn", "tls.conc", "tls.msg", "tls.rcpt", "tls.bytes",
	  "tls.dest", "tls.dur", "tls.deny", "lock", "viol" },
};

static const char *const why_names[PC_W_COUNT] = {
	"limit:connections", "limit:concurrent", "limit:messages",
	"limit:recipients", "limit:bytes", "limit:destinations",
	"limit:duration", "limit:deny", "locked", "limit:violations"
};

const char *
pc_point_name(enum pc_point p)
{
	static const char *const n[PC_POINT_COUNT] = { "connect", "mail",
	    "rcpt", "data_end", "starttls", "tls_bytes" };

	return (unsigned)p < PC_POINT_COUNT ? n[p] : "unknown";
}

const char *
pc_what_name(enum pc_what w)
{
	static const char *const n[PC_W_COUNT] = { "connections",
	    "concurrent", "messages", "recipients", "bytes", "destinations",
	    "duration", "deny", "lock", "violations" };

	return (unsigned)w < PC_W_COUNT ? n[w] : "unknown";
}

const char *
pc_scope_name(enum pc_scope s)
{
	return s == PC_S_SUB ? "sub" : s == PC_S_DST ? "dst" : "all";
}

/* Plans -------------------------------------------------------------- */

struct builder {
	struct pc_plan *p;
	const struct pc_facts *f;
};

static int64_t
clamp64(uint64_t v)
{
	return v > (uint64_t)RL_MAX_US ? RL_MAX_US : (int64_t)v;
}

/* add - one limit; silently dropped past RL_MAX_LIMITS (cannot happen with
 * the points below: at most 13). */
static struct rl_limit *
add(struct builder *b, enum rl_kind kind, enum pc_scope scope, int tidx,
    enum pc_what what, enum policy_action action, uint32_t period_ms)
{
	struct pc_plan *p = b->p;
	struct rl_limit *l;
	struct pc_meta *m;

	if (p->n >= RL_MAX_LIMITS)
		return NULL;
	l = &p->lim[p->n];
	m = &p->meta[p->n];
	p->n++;
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->scope = pc_scope_name(scope);
	if (scope == PC_S_SUB) {
		l->id = b->f->sub;
		l->idlen = b->f->sublen;
		l->eid = b->f->esub;
		l->eidlen = b->f->esublen;
	} else if (scope == PC_S_DST) {
		l->id = b->f->dst;
		l->idlen = strlen(b->f->dst);
		l->eid = b->f->edst;
		l->eidlen = b->f->edstlen;
	} else {
		l->id = "";
		l->idlen = 0;
	}
	l->name = key_names[tidx][what];
	m->what = (uint8_t)what;
	m->scope = (uint8_t)scope;
	m->action = (uint8_t)action;
	m->period_ms = period_ms;
	if (kind == RL_CONC)
		p->nconc++;
	return l;
}

static void
add_rate(struct builder *b, enum pc_scope scope, int tidx, enum pc_what what,
    const struct rate *r, int64_t cost, enum policy_action action)
{
	struct rl_limit *l;

	if (r->n == 0 || r->period_ms == 0)
		return;
	if ((l = add(b, RL_RATE, scope, tidx, what, action, r->period_ms)) == NULL)
		return;
	l->limit = clamp64(r->n);
	l->period_ms = r->period_ms;
	l->cost = cost;
}

static void
add_conc(struct builder *b, enum pc_scope scope, int tidx, uint32_t n,
    enum policy_action action)
{
	struct rl_limit *l;

	if (n == 0)
		return;
	if ((l = add(b, RL_CONC, scope, tidx, PC_W_CONC, action,
	    PC_LEASE_TTL_MS)) == NULL)
		return;
	l->limit = n;
	l->period_ms = PC_LEASE_TTL_MS;
}

static enum policy_action
action_of(const struct policy_class *cls, const struct limit_set *s)
{
	return s->has_action ? s->action : cls->action;
}

/* add_set - the limits of set s that apply at point, for scope. */
static void
add_set(struct builder *b, enum pc_scope scope, int tidx,
    const struct limit_set *s, enum policy_action act, enum pc_point point)
{
	const struct pc_facts *f = b->f;
	struct rl_limit *l;

	switch (point) {
	case PC_CONNECT:
	case PC_STARTTLS:
		add_rate(b, scope, tidx, PC_W_CONN, &s->connections, 1, act);
		add_conc(b, scope, tidx, s->concurrent, act);
		if (point == PC_STARTTLS && f->bytes > 0)
			add_rate(b, scope, tidx, PC_W_BYTES, &s->bytes,
			    clamp64(f->bytes), act);
		break;
	case PC_MAIL:
		add_rate(b, scope, tidx, PC_W_MSG, &s->messages, 1, act);
		break;
	case PC_RCPT:
		add_rate(b, scope, tidx, PC_W_RCPT, &s->recipients, 1, act);
		if (s->destinations.n > 0 && s->destinations.period_ms > 0 &&
		    f->dst != NULL && (l = add(b, RL_DISTINCT, scope, tidx,
		    PC_W_DEST, act, s->destinations.period_ms)) != NULL) {
			l->limit = clamp64(s->destinations.n);
			l->period_ms = s->destinations.period_ms;
			l->member = f->dst;
			l->member_len = strlen(f->dst);
		}
		break;
	case PC_DATA_END:
	case PC_TLS_BYTES:
		add_rate(b, scope, tidx, PC_W_BYTES, &s->bytes,
		    clamp64(f->bytes), act);
		break;
	case PC_POINT_COUNT:
		break;
	}
}

/* add_scope - a shared scope (destination, global): the limits of its own
 * traffic class and, except for connections/concurrency counted again at
 * STARTTLS, those over every class. Hits are temporary (config.h). */
static void
add_scope(struct builder *b, enum pc_scope scope, const struct scope_limits *s,
    enum pc_point point)
{
	int t = b->f->traffic;

	if (point == PC_STARTTLS) {
		struct limit_set any = { 0 };

		/* the session was counted in "any" at connect */
		any.bytes = s->all.bytes;
		add_set(b, scope, 0, &any, ACTION_TEMPFAIL, point);
	} else
		add_set(b, scope, 0, &s->all, ACTION_TEMPFAIL, point);
	add_set(b, scope, 1 + t, &s->traffic[t], ACTION_TEMPFAIL, point);
}

int
pc_locks_possible(const struct config *c)
{
	for (size_t i = 0; i < c->policy.nclasses; i++)
		if (c->policy.classes[i].lockout.violations > 0 &&
		    c->policy.classes[i].lockout.duration_ms > 0)
			return 1;
	return 0;
}

void
pc_plan_build(const struct config *c, const struct pc_facts *f,
    enum pc_point point, struct pc_plan *p)
{
	const struct policy_class *cls = f->cls;
	const struct limit_set *set = &cls->traffic[f->traffic];
	struct builder b = { p, f };
	int first, lock = 0;

	/* only what the code below reads: a whole plan is 1.7 KB */
	p->n = 0;
	p->nconc = 0;
	p->deny = 0;
	p->deny_action = 0;
	/* "deny: true": every session of that traffic is a hit, at its
	 * first point (connect for mx, MAIL for submission, STARTTLS). */
	first = (f->traffic == TRAFFIC_MX && point == PC_CONNECT) ||
	    (f->traffic == TRAFFIC_SUBMISSION && point == PC_MAIL) ||
	    (f->traffic == TRAFFIC_TLS && point == PC_STARTTLS);
	if (set->deny && first) {
		enum policy_action a = action_of(cls, set);

		/* a retry never passes a deny of mail: tempfail (the default
		 * action) answers with the block reply, which points to 587.
		 * A refused STARTTLS stays 454 "TLS not available" (RFC 3207
		 * 4): the client goes on in the clear. */
		if (a == ACTION_TEMPFAIL && f->traffic != TRAFFIC_TLS)
			a = ACTION_BLOCK;
		p->deny = 1;
		p->deny_action = (uint8_t)a;
		return;
	}
	if (point != PC_TLS_BYTES && pc_locks_possible(c)) {
		add(&b, RL_LOCK, PC_S_SUB, 0, PC_W_LOCK, ACTION_TEMPFAIL, 0);
		lock = 1;
	}
	add_set(&b, PC_S_SUB, 1 + f->traffic, set, action_of(cls, set), point);
	if (f->dst != NULL)
		add_scope(&b, PC_S_DST, &c->policy.destination, point);
	add_scope(&b, PC_S_ALL, &c->policy.global, point);
	/* the lock alone is a round trip only at connect (policy_core.h) */
	if (lock && p->n == 1 && point != PC_CONNECT)
		p->n = 0;
}

uint64_t
pc_tls_chunk(const struct config *c, const struct policy_class *cls)
{
	const struct rate *r[5] = {
		&cls->traffic[TRAFFIC_TLS].bytes,
		&c->policy.destination.traffic[TRAFFIC_TLS].bytes,
		&c->policy.destination.all.bytes,
		&c->policy.global.traffic[TRAFFIC_TLS].bytes,
		&c->policy.global.all.bytes,
	};
	uint64_t min = 0, chunk;

	for (size_t i = 0; i < 5; i++)
		if (r[i]->n > 0 && r[i]->period_ms > 0 &&
		    (min == 0 || r[i]->n < min))
			min = r[i]->n;
	if (min == 0)
		return 0;
	chunk = min / 16;
	if (chunk < 65536)
		chunk = 65536;
	return chunk < min ? chunk : min;
}

int
pc_violation(const struct pc_facts *f, struct rl_limit *l, int *lock_now)
{
	const struct lockout_conf *lo = &f->cls->lockout;

	*lock_now = 0;
	if (lo->violations == 0 || lo->duration_ms == 0)
		return 0;
	if (lo->violations == 1) {
		*lock_now = 1;
		return 0;
	}
	memset(l, 0, sizeof(*l));
	l->kind = RL_RATE;
	l->scope = "sub";
	l->id = f->sub;
	l->idlen = f->sublen;
	l->name = "viol";
	l->limit = lo->violations - 1;
	l->period_ms = lo->within_ms > 0 ? lo->within_ms : 1;
	l->cost = 1;
	return 1;
}

enum pc_step
pc_after_answer(const struct pc_facts *f, const struct pc_plan *p,
    enum pc_answer a, int deny_index, int from_redis, struct pc_after *out)
{
	int now;

	memset(out, 0, sizeof(*out));
	out->step = PC_STEP_NONE;
	if (a != PC_DENY || p->deny || !from_redis || deny_index < 0 ||
	    (size_t)deny_index >= p->n ||
	    p->meta[deny_index].scope != PC_S_SUB ||
	    p->meta[deny_index].what == PC_W_LOCK)
		return out->step;
	if (pc_violation(f, &out->viol, &now))
		out->step = PC_STEP_VIOLATION;
	else if (now) {
		out->step = PC_STEP_LOCK;
		out->lock_ms = f->cls->lockout.duration_ms;
	}
	return out->step;
}

enum pc_step
pc_after_violation(const struct policy_class *cls, enum pc_answer a,
    int from_redis, struct pc_after *out)
{
	memset(out, 0, sizeof(*out));
	out->step = PC_STEP_NONE;
	if (a == PC_DENY && from_redis) {
		out->step = PC_STEP_LOCK;
		out->lock_ms = cls->lockout.duration_ms;
	}
	return out->step;
}

/* Replies ------------------------------------------------------------ */

/* enh_len - length of an RFC 3463 code "c.sss.ddd" at s followed by a
 * space or the end, else 0. */
static size_t
enh_len(const char *s)
{
	size_t i = 0, d;

	if (s[i] < '2' || s[i] > '5' || s[i + 1] != '.')
		return 0;
	i += 2;
	for (int part = 0; part < 2; part++) {
		for (d = 0; s[i] >= '0' && s[i] <= '9' && d < 3; d++)
			i++;
		if (d == 0)
			return 0;
		if (part == 0) {
			if (s[i] != '.')
				return 0;
			i++;
		}
	}
	return s[i] == ' ' || s[i] == '\0' ? i : 0;
}

/* put - append n bytes at *o, leaving room for the NUL. */
static void
put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	if (*o + 1 >= outlen)
		return;
	if (n > outlen - 1 - *o)
		n = outlen - 1 - *o;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
}

char *
pc_reply(const char *tmpl, int code, const char *enh, const char *lname,
    int64_t retry_s, char *out, size_t outlen)
{
	const char *s = tmpl != NULL ? tmpl : "";
	char head[32], num[24];
	size_t o = 0, e;

	out[0] = '\0';
	if (s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] >= '0' && s[2] <= '9' && (s[3] == ' ' || s[3] == '\0')) {
		s += 3;
		while (*s == ' ')
			s++;
	}
	if ((e = enh_len(s)) > 0) {
		if (enh == NULL && s[0] == '0' + code / 100) {
			snprintf(head, sizeof(head), "%d %.*s", code, (int)e, s);
			enh = "";
		}
		s += e;
		while (*s == ' ')
			s++;
	}
	if (enh == NULL)
		snprintf(head, sizeof(head), "%d %d.7.1", code, code / 100);
	else if (enh[0] != '\0')
		snprintf(head, sizeof(head), "%d %s", code, enh);
	put(out, outlen, &o, head, strlen(head));
	if (*s != '\0')
		put(out, outlen, &o, " ", 1);
	for (; *s != '\0'; s++) {
		if (*s != '%') {
			put(out, outlen, &o, s, 1);
			continue;
		}
		switch (s[1]) {
		case 'l':
			put(out, outlen, &o, lname, strlen(lname));
			s++;
			break;
		case 'r':
			snprintf(num, sizeof(num), "%lld", (long long)retry_s);
			put(out, outlen, &o, num, strlen(num));
			s++;
			break;
		case '%':
			put(out, outlen, &o, "%", 1);
			s++;
			break;
		default:
			put(out, outlen, &o, s, 1);
			break;
		}
	}
	return out;
}

/* retry_seconds - what %r says: the limiter's wait rounded up; a cost that
 * never fits (-1) waits a whole period. */
static int64_t
retry_seconds(int64_t retry_ms, uint32_t period_ms)
{
	if (retry_ms > 0)
		return (retry_ms + 999) / 1000;
	if (retry_ms < 0 && period_ms > 0)
		return ((int64_t)period_ms + 999) / 1000;
	return 0;
}

void
pc_verdict(const struct config *c, const struct pc_plan *p,
    enum pc_point point, enum pc_answer a, int deny_index, int64_t retry_ms,
    struct smtp_verdict *v, char *buf)
{
	const struct policy_replies *r = &c->policy.replies;
	struct pc_meta m;
	const char *tmpl, *enh = NULL;
	const char *lname;
	int code, close = 0;
	enum smtp_verdict_kind kind = SMTP_REFUSE;

	buf[0] = '\0';
	v->reply = buf;
	if (a == PC_ALLOW) {
		v->kind = SMTP_PASS;
		v->reply = NULL;
		v->why = "pass";
		return;
	}
	if (a == PC_ERROR) {
		/* fail closed (RFC 5321 3.8: 421 is the only way to refuse
		 * at the greeting; RFC 3207 4: 454 at STARTTLS) */
		code = point == PC_CONNECT || point == PC_TLS_BYTES ? 421
		    : point == PC_STARTTLS ? 454 : 451;
		pc_reply(r->redis_down, code, NULL, "", 0, buf, PC_REPLY_MAX);
		v->kind = code == 421 ? SMTP_REFUSE_CLOSE : SMTP_REFUSE;
		v->why = "redis_down";
		return;
	}
	if (p->deny) {
		m.what = PC_W_DENY;
		m.scope = PC_S_SUB;
		m.action = p->deny_action;
		m.period_ms = 0;
	} else if (deny_index >= 0 && (size_t)deny_index < p->n)
		m = p->meta[deny_index];
	else {
		m.what = PC_W_DENY;
		m.scope = PC_S_SUB;
		m.action = ACTION_TEMPFAIL;
		m.period_ms = 0;
	}
	if (m.what >= PC_W_COUNT)
		m.what = PC_W_DENY;
	lname = pc_what_name(m.what);
	v->why = why_names[m.what];
	if (m.what == PC_W_LOCK) {
		/* locked out: the session ends wherever it is */
		code = point == PC_STARTTLS ? 454 : 421;
		pc_reply(r->locked, code, NULL, lname,
		    retry_seconds(retry_ms, 0), buf, PC_REPLY_MAX);
		v->kind = code == 421 ? SMTP_REFUSE_CLOSE : SMTP_REFUSE;
		return;
	}
	switch (m.action) {
	case ACTION_REDIRECT:
		if (point == PC_CONNECT) {
			/* the reply is what the subscriber sees if the
			 * redirect cannot be carried out */
			pc_reply(r->tempfail, 421, NULL, lname,
			    retry_seconds(retry_ms, m.period_ms), buf,
			    PC_REPLY_MAX);
			v->kind = SMTP_REDIRECT;
			return;
		}
		/* past the greeting only a refusal is possible */
		/* FALLTHROUGH */
	case ACTION_TEMPFAIL:
	default:
		tmpl = r->tempfail;
		switch (point) {
		case PC_CONNECT:
		case PC_TLS_BYTES:
			code = 421;
			close = 1;
			break;
		case PC_RCPT:
			/* RFC 5321 4.5.3.1.10, RFC 3463 4.5.3 */
			if (m.what == PC_W_RCPT) {
				code = 452;
				enh = "4.5.3";
			} else
				code = 451;
			break;
		case PC_STARTTLS:
			code = 454;
			enh = "4.7.0";
			break;
		default:
			code = 451;
			break;
		}
		break;
	case ACTION_REFUSE_SUBMISSION:
	case ACTION_BLOCK:
		tmpl = m.action == ACTION_BLOCK ? r->block : r->refuse_submission;
		if (point == PC_CONNECT || point == PC_TLS_BYTES) {
			code = 554;
			close = 1;
		} else if (point == PC_STARTTLS ||
		    (point == PC_DATA_END && m.action == ACTION_BLOCK))
			code = 554;
		else
			code = 550;
		break;
	}
	pc_reply(tmpl, code, enh, lname, retry_seconds(retry_ms, m.period_ms),
	    buf, PC_REPLY_MAX);
	v->kind = close ? SMTP_REFUSE_CLOSE : kind;
}

void
pc_audit_down(const struct config *c, struct smtp_verdict *v, char *buf)
{
	pc_reply(c->policy.replies.audit_down, 421, NULL, "", 0, buf,
	    PC_REPLY_MAX);
	v->kind = SMTP_REFUSE_CLOSE;
	v->reply = buf;
	v->why = "audit_write_failed";
}

void
pc_sub_from_addr(const union sockaddr_any *a, unsigned v6len, char *out,
    size_t outlen)
{
	union sockaddr_any u = *a;
	struct cidr_prefix p;

	if (v6len < 128 && cidr_prefix_of(&p, a, v6len) == 0 &&
	    p.family == AF_INET6) {
		cidr_fmt(&p, out, outlen);
		return;
	}
	addr_unmap(&u);
	if (addr_ntop(&u, out, outlen) == NULL && outlen > 0)
		out[0] = '\0';
}

const char *
pc_subscriber(const struct identity *id, const union sockaddr_any *src,
    char *buf, size_t buflen)
{
	if (id->source != IDENTITY_ADDRESS)
		return id->subscriber;
	/* nobody known: the address, or its IPv6 delegation (the prefix
	 * identity_lookup decided: policy.ipv6_aggregate), is whom the
	 * limits count (an IPv6 host picks any address of it) */
	pc_sub_from_addr(src, id->prefix.family == AF_INET6 ?
	    id->prefix.plen : 128, buf, buflen);
	return buf;
}
