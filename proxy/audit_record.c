/*
 * audit_record.c - the records of the audit trail as JSON text (audit.h has
 * the record and the id format, docs/audit.md the fields): the facts of a
 * session as the glue collects them, and the bytes of a session or
 * transaction record made of them, with the facts the index needs
 * (audit_key.h) beside them. No file, no queue, no thread of its own:
 * audit.c takes the bytes out.
 *
 * Records are written with jsonw.h, not built as jansson objects: on the
 * per-session path jansson's object model (a hash table and a malloc per
 * field, then vfprintf-based dumping) cost more than everything else
 * together; the writer makes the same bytes into the caller's buffer.
 */
#include "audit_record.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_key.h"
#include "geoip.h"
#include "jsonw.h"
#include "log.h"
#include "util.h"

static uint32_t node_tag;
static const char *node_name = "";

void
audit_set_node(const char *node)
{
	uint32_t h = 2166136261u;

	node_name = node != NULL ? node : "";
	for (const unsigned char *p = (const unsigned char *)node_name; *p; p++)
		h = (h ^ *p) * 16777619u;
	node_tag = (h ^ (h >> 24)) & 0xffffff;
}

void
audit_addr_set(struct audit_addr *o, const union sockaddr_any *a)
{
	memset(o, 0, sizeof(*o));
	o->family = a->sa.sa_family;
	o->port = addr_port(a);
	if (a->sa.sa_family == AF_INET)
		memcpy(o->a, &a->sin.sin_addr, 4);
	else if (a->sa.sa_family == AF_INET6)
		memcpy(o->a, &a->sin6.sin6_addr, 16);
}

void
audit_addr_get(const struct audit_addr *o, union sockaddr_any *a)
{
	memset(a, 0, sizeof(*a));
	a->sa.sa_family = o->family;
	if (o->family == AF_INET)
		memcpy(&a->sin.sin_addr, o->a, 4);
	else if (o->family == AF_INET6)
		memcpy(&a->sin6.sin6_addr, o->a, 16);
	addr_set_port(a, o->port);
}

/* put_hex - n lowercase hex digits of v. */
static char *
put_hex(char *o, uint64_t v, int n)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = n - 1; i >= 0; i--, v >>= 4)
		o[i] = hex[v & 15];
	return o + n;
}

void
audit_session_init(struct audit_session *rec, int worker, uint32_t seq,
    int listener, int mode, const union sockaddr_any *src,
    const union sockaddr_any *dst)
{
	audit_session_init_at(rec, worker, seq, listener, mode, src, dst,
	    now_ms());
}

void
audit_session_init_at(struct audit_session *rec, int worker, uint32_t seq,
    int listener, int mode, const union sockaddr_any *src,
    const union sockaddr_any *dst, int64_t start_ms)
{
	char *o;

	memset(rec, 0, sizeof(*rec));
	rec->start_ms = start_ms;
	rec->worker = (uint8_t)worker;
	rec->listener = (uint16_t)listener;
	rec->mode = (uint8_t)mode;
	o = put_hex(rec->id, (uint64_t)(rec->start_ms / 1000) & 0xffffffffffULL,
	    10);
	o = put_hex(o, (unsigned)worker & 0xff, 2);
	o = put_hex(o, seq & 0xffffff, 6);
	o = put_hex(o, node_tag, 6);
	*o = '\0';
	audit_addr_set(&rec->src, src);
	audit_addr_set(&rec->dst, dst);
	rec->cls = mode == LISTEN_SMTP ? "mx" : "passthrough";
}

/* pack - the non-empty strings of in[0..n) copied into one allocation;
 * out[i] points into it, or is NULL for a NULL or empty string. Returns
 * the allocation (NULL if there was nothing to copy). */
static char *
pack(const char *const *in, char **out, size_t n)
{
	size_t len[4], total = 0;
	char *blk, *p;

	for (size_t i = 0; i < n; i++) {
		len[i] = in[i] != NULL ? strlen(in[i]) : 0;
		total += len[i] > 0 ? len[i] + 1 : 0;
	}
	if (total == 0) {
		for (size_t i = 0; i < n; i++)
			out[i] = NULL;
		return NULL;
	}
	p = blk = xmalloc(total);
	for (size_t i = 0; i < n; i++) {
		if (len[i] == 0) {
			out[i] = NULL;
			continue;
		}
		memcpy(p, in[i], len[i] + 1);
		out[i] = p;
		p += len[i] + 1;
	}
	return blk;
}

void
audit_session_fill(struct audit_session *rec, const struct smtp_info *in)
{
	const char *s[4] = { in->greeting_host, in->ehlo, in->auth_mech,
		in->auth_user };
	char *d[4];

	free(rec->smtp_strs);
	rec->smtp_strs = pack(s, d, 4);
	rec->greeting_host = d[0];
	rec->ehlo = d[1];
	rec->auth_mech = d[2];
	rec->auth_user = d[3];
	rec->cls = smtp_class_name(in->cls);
	rec->transactions = in->ntxn;
	rec->commands = in->ncommands;
	rec->errors = in->nerrors;
	rec->dropped_after_starttls = in->dropped_after_starttls;
	rec->normalized_newlines = in->normalized_newlines;
}

/* copy_trunc - s into dst (size n), cut to fit, always terminated. */
static void
copy_trunc(char *dst, size_t n, const char *s)
{
	size_t l = strnlen(s, n - 1);

	memcpy(dst, s, l);
	dst[l] = '\0';
}

void
audit_session_set_reason(struct audit_session *rec, const char *reason)
{
	copy_trunc(rec->end_reason, sizeof(rec->end_reason),
	    reason != NULL ? reason : "unknown");
}

void
audit_session_set_identity(struct audit_session *rec, const char *subscriber,
    const char *source, const char *policy_class)
{
	const char *s[2] = { subscriber, policy_class };
	char *d[2];

	free(rec->id_strs);
	rec->id_strs = pack(s, d, 2);
	rec->subscriber = d[0];
	rec->policy_class = d[1];
	rec->subscriber_source = source;
}

void
audit_session_add_decision(struct audit_session *rec, const char *point,
    const char *limit, const char *verdict, const char *source)
{
	struct audit_decision *d;

	if (rec->ndecisions >= AUDIT_DECISIONS_MAX)
		return;
	if (rec->decisions == NULL)
		rec->decisions = xcalloc(AUDIT_DECISIONS_MAX,
		    sizeof(*rec->decisions));
	d = &rec->decisions[rec->ndecisions++];
	copy_trunc(d->point, sizeof(d->point), point);
	copy_trunc(d->limit, sizeof(d->limit), limit);
	copy_trunc(d->verdict, sizeof(d->verdict), verdict);
	d->source = source;
}

void
audit_session_free(struct audit_session *rec)
{
	free(rec->decisions);
	rec->decisions = NULL;
	rec->ndecisions = 0;
	free(rec->id_strs);
	free(rec->smtp_strs);
	rec->id_strs = rec->smtp_strs = NULL;
	rec->subscriber = rec->policy_class = NULL;
	rec->greeting_host = rec->ehlo = rec->auth_mech = rec->auth_user = NULL;
}

/* Formatting ------------------------------------------------------------
 *
 * The same bytes jansson made of these records (jsonw.h), written in place
 * into the caller's buffer.
 */

/* host_text - an address as addr_ntop() writes it, into buf
 * (ADDR_STRLEN); returns the length. IPv4 by hand: inet_ntop's is sprintf. */
static size_t
host_text(char *buf, int family, const uint8_t *a)
{
	if (family == AF_INET) {
		char *o = buf;

		for (int i = 0; i < 4; i++) {
			unsigned v = a[i];

			if (i > 0)
				*o++ = '.';
			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
		}
		*o = '\0';
		return (size_t)(o - buf);
	}
	if (family != AF_INET6 ||
	    inet_ntop(AF_INET6, a, buf, ADDR_STRLEN) == NULL)
		memcpy(buf, "unknown", 8);
	return strlen(buf);
}

/* hostport_text - as addr_fmt(): "a.b.c.d:port", "[v6]:port" (buf holds
 * ADDRPORT_STRLEN). */
static size_t
hostport_text(char *buf, int family, const uint8_t *a, unsigned port)
{
	char tmp[8], *t = tmp + sizeof(tmp);
	size_t n = 0;

	if (family == AF_INET6)
		buf[n++] = '[';
	n += host_text(buf + n, family, a);
	if (family == AF_INET6)
		buf[n++] = ']';
	buf[n++] = ':';
	do {
		*--t = (char)('0' + port % 10);
		port /= 10;
	} while (port != 0);
	memcpy(buf + n, t, (size_t)(tmp + sizeof(tmp) - t));
	n += (size_t)(tmp + sizeof(tmp) - t);
	buf[n] = '\0';
	return n;
}

/* The calendar part of the last second formatted, per thread: records of
 * one session mostly share it. */
static _Thread_local struct {
	int64_t sec;
	size_t len;
	char base[24];
} tcache = { .sec = -1 };


/* put_time - "k":"2026-11-20T10:03:12.345Z" as fmt_time() writes it. */
static void
put_time(struct jw *w, const char *k, int64_t ms)
{
	char buf[48];
	size_t n;

	jw_key(w, k);
	if (ms < 0) {
		jw_str(w, fmt_time(buf, sizeof(buf), ms));
		return;
	}
	if (ms / 1000 != tcache.sec) {
		time_t t = (time_t)(ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		tcache.len = strftime(tcache.base, sizeof(tcache.base),
		    "%Y-%m-%dT%H:%M:%S", &tm);
		tcache.sec = ms / 1000;
	}
	buf[0] = '"';
	memcpy(buf + 1, tcache.base, tcache.len);
	n = 1 + tcache.len;
	buf[n++] = '.';
	buf[n++] = (char)('0' + ms % 1000 / 100);
	buf[n++] = (char)('0' + ms % 100 / 10);
	buf[n++] = (char)('0' + ms % 10);
	buf[n++] = 'Z';
	buf[n++] = '"';
	jw_raw(w, buf, n);
}

/* put_addrs - subscriber, src, dst, the upstream side; their text into
 * rf's facts when there are any. */
static void
put_addrs(struct jw *w, const struct audit_session *rec,
    struct audit_rec_facts *rf)
{
	char sbuf[ADDR_STRLEN], dbuf[ADDR_STRLEN], ubuf[ADDR_STRLEN];
	char *src = rf != NULL ? rf->src : sbuf, *dst = rf != NULL ? rf->dst
	    : dbuf, *usrc = rf != NULL ? rf->up_src : ubuf;
	size_t n;

	n = host_text(src, rec->src.family, rec->src.a);
	/* No identity looked up: the subscriber is its address. */
	jw_key(w, "subscriber");
	if (rec->subscriber != NULL)
		jw_str(w, rec->subscriber);
	else
		jw_strn(w, src, n);
	jw_kstr(w, "subscriber_source", rec->subscriber_source != NULL
	    ? rec->subscriber_source : "address");
	if (rec->policy_class != NULL)
		jw_kstr(w, "policy_class", rec->policy_class);
	jw_key(w, "src");
	jw_strn(w, src, n);
	jw_kint(w, "src_port", rec->src.port);
	n = host_text(dst, rec->dst.family, rec->dst.a);
	jw_key(w, "dst");
	jw_strn(w, dst, n);
	jw_kint(w, "dst_port", rec->dst.port);
	usrc[0] = '\0';
	if (rec->up_src.family != 0) {
		n = host_text(usrc, rec->up_src.family, rec->up_src.a);
		jw_key(w, "upstream_src");
		jw_strn(w, usrc, n);
		jw_kint(w, "upstream_src_port", rec->up_src.port);
	}
	if (rf != NULL) {
		rf->f.subscriber = rec->subscriber != NULL ? rec->subscriber
		    : src;
		rf->f.src = src;
		rf->f.dst = dst;
		rf->f.upstream_src = usrc;
	}
}

/* put_geo - dst_asn, dst_as_org, dst_country where a database knows them. */
static void
put_geo(struct jw *w, const struct audit_addr *dst)
{
	struct geoip_result g;
	union sockaddr_any a;

	if (!geoip_enabled())
		return;
	audit_addr_get(dst, &a);
	geoip_lookup(&a, &g);
	if (g.asn != 0)
		jw_kint(w, "dst_asn", g.asn);
	if (g.as_org[0] != '\0')
		jw_kstr(w, "dst_as_org", g.as_org);
	if (g.country[0] != '\0')
		jw_kstr(w, "dst_country", g.country);
}

/* put_rcpts - the recipients as audit.recipients says: "rcpts" in full,
 * "rcpts_hmac" (HMAC-SHA256 of each normalised address, audit_key.h), or
 * nothing but rcpt_count; the first AUDIT_FACTS_RCPTS into rf's facts. */
static void
put_rcpts(const struct config *c, struct jw *w, const struct smtp_txn *t,
    struct audit_rec_facts *rf)
{
	char h[AUDIT_HMAC_HEX + 1];
	struct audit_facts *f = rf != NULL ? &rf->f : NULL;

	switch (c->audit.recipients) {
	case AUDIT_RCPT_COUNT:
		return;
	case AUDIT_RCPT_HMAC:
		jw_key(w, "rcpts_hmac");
		jw_arr_open(w);
		for (size_t i = 0; i < t->nrcpts_kept; i++) {
			char *o = f != NULL && f->nrcpts < AUDIT_FACTS_RCPTS
			    ? rf->hmac[f->nrcpts] : h;

			if (audit_rcpt_hmac(o, c->audit.hmac_key.value,
			    c->audit.hmac_key.len, t->rcpts[i]) == 0) {
				jw_strn(w, o, AUDIT_HMAC_HEX);
				if (o != h)
					f->rcpts[f->nrcpts++] = o;
			}
		}
		jw_arr_close(w);
		return;
	default:
		jw_key(w, "rcpts");
		jw_arr_open(w);
		for (size_t i = 0; i < t->nrcpts_kept; i++) {
			jw_str(w, t->rcpts[i]);
			if (f != NULL && f->nrcpts < AUDIT_FACTS_RCPTS)
				f->rcpts[f->nrcpts++] = t->rcpts[i];
		}
		jw_arr_close(w);
		return;
	}
}

static void
put_listener(struct jw *w, const struct config *c, int idx)
{
	char buf[ADDRPORT_STRLEN];
	const union sockaddr_any *a;
	size_t n;

	jw_key(w, "listener");
	if (idx < 0 || (size_t)idx >= c->nlisteners) {
		jw_str(w, "?");
		return;
	}
	a = &c->listeners[idx].addr;
	n = hostport_text(buf, a->sa.sa_family, a->sa.sa_family == AF_INET6
	    ? (const uint8_t *)&a->sin6.sin6_addr
	    : (const uint8_t *)&a->sin.sin_addr, addr_port(a));
	jw_strn(w, buf, n);
}

/* put_head - open a record of session rec: "v", "type", the session's id
 * ("id" of a session record, "session" of a transaction's), "node", n (the
 * session's "worker", the transaction's "seq"), "start", "end"; and begin
 * rf's facts (rf may be NULL). */
static void
put_head(struct jw *w, const struct config *c, const struct audit_session *rec,
    enum audit_rec_type type, long long n, int64_t start_ms, int64_t end_ms,
    struct audit_rec_facts *rf)
{
	int session = type == AUDIT_REC_SESSION;

	if (rf != NULL) {
		memset(&rf->f, 0, offsetof(struct audit_facts, rcpts));
		rf->f.nrcpts = 0;
		rf->f.type = type;
		rf->f.session = rec->id;
		rf->f.start_ms = start_ms;
		rf->f.start_known = 1;
	}
	jw_obj_open(w);
	jw_kint(w, "v", 1);
	jw_kstr(w, "type", session ? "session" : "txn");
	jw_kstr(w, session ? "id" : "session", rec->id);
	jw_kstr(w, "node", c->node);
	jw_kint(w, session ? "worker" : "seq", n);
	put_time(w, "start", start_ms);
	put_time(w, "end", end_ms);
}

void
audit__session_json(struct jw *w, const struct config *c,
    const struct audit_session *rec, struct audit_rec_facts *rf)
{
	put_head(w, c, rec, AUDIT_REC_SESSION, rec->worker, rec->start_ms,
	    rec->end_ms, rf);
	jw_kint(w, "duration_ms", rec->end_ms - rec->start_ms);
	if (rec->observed)
		jw_kstr(w, "listener", "conntrack");
	else
		put_listener(w, c, rec->listener);
	jw_kstr(w, "mode", rec->mode == LISTEN_SMTP ? "smtp" : "passthrough");
	jw_kstr(w, "class", rec->cls);
	put_addrs(w, rec, rf);
	put_geo(w, &rec->dst);
	if (rec->redirected_to.family != 0) {
		char abuf[ADDRPORT_STRLEN];
		size_t n = hostport_text(abuf, rec->redirected_to.family,
		    rec->redirected_to.a, rec->redirected_to.port);

		jw_key(w, "redirected_to");
		jw_strn(w, abuf, n);
	}
	if (rec->mode == LISTEN_SMTP) {
		/* unknown or empty: left out (docs/audit.md) */
		if (rec->greeting_host != NULL && *rec->greeting_host != '\0')
			jw_kstr(w, "greeting_host", rec->greeting_host);
		if (rec->ehlo != NULL && *rec->ehlo != '\0')
			jw_kstr(w, "ehlo", rec->ehlo);
		if (rec->auth_mech != NULL && *rec->auth_mech != '\0')
			jw_kstr(w, "auth_mech", rec->auth_mech);
		if (rec->auth_user != NULL && *rec->auth_user != '\0')
			jw_kstr(w, "auth_user", rec->auth_user);
		jw_kint(w, "transactions", rec->transactions);
		jw_kint(w, "commands", rec->commands);
		jw_kint(w, "errors", rec->errors);
	}
	if (rec->observed) {
		jw_kstr(w, "observed", "conntrack");
		if (rec->bytes_known) {
			jw_kint(w, "ip_bytes_from_client",
			    (long long)rec->bytes_from_client);
			jw_kint(w, "ip_bytes_from_upstream",
			    (long long)rec->bytes_from_upstream);
		}
	} else {
		jw_kint(w, "bytes_from_client",
		    (long long)rec->bytes_from_client);
		jw_kint(w, "bytes_to_client", (long long)rec->bytes_to_client);
		jw_kint(w, "bytes_to_upstream",
		    (long long)rec->bytes_to_upstream);
		jw_kint(w, "bytes_from_upstream",
		    (long long)rec->bytes_from_upstream);
	}
	if (rec->mode == LISTEN_SMTP) {
		jw_kint(w, "dropped_after_starttls",
		    (long long)rec->dropped_after_starttls);
		jw_kint(w, "normalized_newlines",
		    (long long)rec->normalized_newlines);
	}
	if (rec->ndecisions > 0) {
		jw_key(w, "decisions");
		jw_arr_open(w);
		for (uint8_t i = 0; i < rec->ndecisions; i++) {
			const struct audit_decision *d = &rec->decisions[i];

			jw_obj_open(w);
			jw_kstr(w, "point", d->point);
			jw_kstr(w, "limit", d->limit);
			jw_kstr(w, "verdict", d->verdict);
			jw_kstr(w, "source", d->source);
			jw_obj_close(w);
		}
		jw_arr_close(w);
	}
	jw_kstr(w, "end_reason", rec->end_reason[0] ? rec->end_reason
	    : "unknown");
	jw_obj_close(w);
}

void
audit__txn_json(struct jw *w, const struct config *c,
    const struct audit_session *rec, const struct smtp_txn *t,
    struct audit_rec_facts *rf)
{
	put_head(w, c, rec, AUDIT_REC_TXN, t->seq, t->start_ms, t->end_ms, rf);
	if (rf != NULL) {
		rf->f.seq = t->seq;
		rf->f.message_id = t->message_id;
		rf->f.queue_id = t->queue_id;
	}
	put_addrs(w, rec, rf);
	put_geo(w, &rec->dst);
	jw_kstr(w, "mail_from", t->mail_from);
	put_rcpts(c, w, t, rf);
	jw_kint(w, "rcpt_count", (long long)t->nrcpts_accepted);
	jw_kint(w, "rcpt_refused", (long long)t->nrcpts_refused);
	jw_kstr(w, "message_id", t->message_id);
	jw_kint(w, "size", (long long)t->size);
	jw_kstr(w, "reply", t->data_reply);
	jw_kint(w, "reply_code", t->data_reply_code);
	jw_kstr(w, "queue_id", t->queue_id);
	jw_kstr(w, "outcome", t->outcome);
	jw_obj_close(w);
}

void
audit_log_end(const struct audit_session *rec)
{
	char src[ADDRPORT_STRLEN], dst[ADDRPORT_STRLEN], ehlo[160], user[160];
	const char *e = rec->ehlo ? rec->ehlo : "";
	const char *u = rec->auth_user ? rec->auth_user : "";

	if (!log_enabled(LOG_INFO))
		return;
	hostport_text(src, rec->src.family, rec->src.a, rec->src.port);
	hostport_text(dst, rec->dst.family, rec->dst.a, rec->dst.port);
	log_esc(ehlo, sizeof(ehlo), e, strlen(e));
	log_esc(user, sizeof(user), u, strlen(u));
	log_info("event=session_end id=%s worker=%u mode=%s class=%s src=%s dst=%s "
	    "duration_ms=%lld txn=%u commands=%u errors=%u ehlo=%s auth_user=%s "
	    "bytes_from_client=%llu bytes_to_client=%llu bytes_to_upstream=%llu "
	    "bytes_from_upstream=%llu reason=%s",
	    rec->id, rec->worker, rec->mode == LISTEN_SMTP ? "smtp" : "passthrough",
	    rec->cls, src, dst, (long long)(rec->end_ms - rec->start_ms),
	    rec->transactions, rec->commands, rec->errors, ehlo, user,
	    (unsigned long long)rec->bytes_from_client,
	    (unsigned long long)rec->bytes_to_client,
	    (unsigned long long)rec->bytes_to_upstream,
	    (unsigned long long)rec->bytes_from_upstream,
	    rec->end_reason[0] ? rec->end_reason : "unknown");
}
