/*
 * report.c - the facts of a complaint: ARF, DSN, X-ARF or a plain message
 * (report.h). Pure: no I/O; memory for decoded parts and unfolded headers
 * only, freed before it returns.
 *
 * An entity is a header block and a body. A multipart body is split at its
 * boundary; message/rfc822 and text/rfc822-headers parts are read as
 * messages one level deeper; the report parts (message/feedback-report,
 * message/delivery-status, X-ARF's report) are read as fields. The
 * outermost message of a report is the complainer's own, so its Message-ID
 * and Received lines are not facts; of a plain message they are.
 */
#include "report.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "audit_key.h"
#include "util.h"

struct field {
	const char *name;
	size_t nlen;
	char *val;			/* unfolded, trimmed, NUL-terminated */
};

struct entity {
	struct field *f;
	size_t n;
	char *mem;			/* the values */
	const char *body;
	size_t bodylen;
};

struct walk {
	struct report *r;
	int64_t arrival, date;		/* fallback times for address facts */
	char *err;
	size_t errlen;
};

static int fail(struct walk *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, w->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Header fields -------------------------------------------------------- */

static void
entity_free(struct entity *e)
{
	free(e->f);
	free(e->mem);
	memset(e, 0, sizeof(*e));
}

/* line_end - the end of the line at p (its \n, or end), and the start of
 * the next one in *next. */
static const char *
line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL) {
		*next = end;
		return end;
	}
	*next = nl + 1;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* entity_parse - the header block of p (n octets) and where the body
 * starts. A line that is neither a field nor a continuation ends the
 * block only where a body may start (none: not a header block). */
static int
entity_parse(struct walk *w, struct entity *e, const char *p, size_t n)
{
	const char *end = p + n, *next, *le;
	size_t cap = 0, used = 0;

	memset(e, 0, sizeof(*e));
	e->mem = xmalloc(n + 1);
	while (p < end) {
		const char *colon;
		struct field *f;

		le = line_end(p, end, &next);
		if (le == p) {			/* the empty line */
			p = next;
			break;
		}
		if (memchr(p, '\0', (size_t)(le - p)) != NULL)
			return fail(w, "NUL octet in a header field: not a mail "
			    "message");
		if (*p == ' ' || *p == '\t') {	/* continuation */
			size_t k = (size_t)(le - p);

			if (e->n == 0)
				return fail(w, "header block starts with a continuation");
			f = &e->f[e->n - 1];
			if (strlen(f->val) + k > REPORT_FIELD_MAX)
				return fail(w, "header field %.*s longer than %d "
				    "octets", (int)MIN(f->nlen, 64), f->name,
				    REPORT_FIELD_MAX);
			memcpy(e->mem + used - 1, p, k);	/* over the NUL */
			used += k;
			e->mem[used - 1] = '\0';
			p = next;
			continue;
		}
		colon = memchr(p, ':', (size_t)(le - p));
		for (const char *q = p; colon != NULL && q < colon; q++)
			if (*q <= ' ' || *q >= 0x7f)
				colon = NULL;
		if (colon == NULL || colon == p) {
			if (e->n == 0 && le - p >= 5 && memcmp(p, "From ", 5) == 0) {
				p = next;	/* an mbox separator */
				continue;
			}
			return fail(w, "not a header field: \"%.*s\"",
			    (int)MIN(le - p, 40), p);
		}
		if ((size_t)(le - colon) > REPORT_FIELD_MAX)
			return fail(w, "header field %.*s longer than %d octets",
			    (int)MIN(colon - p, 64), p, REPORT_FIELD_MAX);
		if (e->n >= REPORT_FIELDS_MAX)
			return fail(w, "more than %d header fields",
			    REPORT_FIELDS_MAX);
		e->f = xgrow(e->f, &cap, e->n + 1, sizeof(*e->f), 32);
		f = &e->f[e->n++];
		f->name = p;
		f->nlen = (size_t)(colon - p);
		f->val = e->mem + used;
		memcpy(f->val, colon + 1, (size_t)(le - colon - 1));
		used += (size_t)(le - colon - 1) + 1;
		f->val[le - colon - 1] = '\0';
		p = next;
	}
	/* trim */
	for (size_t i = 0; i < e->n; i++) {
		char *v = e->f[i].val;
		size_t k;

		while (*v == ' ' || *v == '\t')
			v++;
		k = strlen(v);
		while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t' ||
		    v[k - 1] == '\r'))
			v[--k] = '\0';
		e->f[i].val = v;
	}
	e->body = p;
	e->bodylen = (size_t)(end - p);
	return 0;
}

static int
is_name(const struct field *f, const char *name)
{
	return strlen(name) == f->nlen && strncasecmp(f->name, name, f->nlen) == 0;
}

static const char *
get(const struct entity *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (is_name(&e->f[i], name))
			return e->f[i].val;
	return NULL;
}

/* ct_type - "type/subtype" of a Content-Type value, lowercased. */
static void
ct_type(char *out, size_t len, const char *v)
{
	size_t i = 0;

	for (; *v != '\0' && *v != ';' && *v != ' ' && *v != '\t' &&
	    i + 1 < len; v++)
		out[i++] = (char)tolower((unsigned char)*v);
	out[i] = '\0';
}

/* ct_param - the value of parameter name, quoted or not; 0 or -1. */
static int
ct_param(const char *v, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);

	while ((v = strchr(v, ';')) != NULL) {
		size_t i = 0;

		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strncasecmp(v, name, nl) != 0 || v[nl] != '=')
			continue;
		v += nl + 1;
		if (*v == '"') {
			for (v++; *v != '\0' && *v != '"'; v++) {
				if (*v == '\\' && v[1] != '\0')
					v++;
				if (i + 1 >= len)
					return -1;
				out[i++] = *v;
			}
		} else
			for (; *v != '\0' && *v != ';' && *v != ' ' &&
			    *v != '\t'; v++) {
				if (i + 1 >= len)
					return -1;
				out[i++] = *v;
			}
		out[i] = '\0';
		return i > 0 ? 0 : -1;
	}
	return -1;
}

/* Bodies --------------------------------------------------------------- */

/* decode - the body of e as its Content-Transfer-Encoding says, in a new
 * buffer (*out, *outlen); NULL *out when it needs no decoding. */
static int
decode(struct walk *w, const struct entity *e, char **out, size_t *outlen)
{
	const char *cte = get(e, "Content-Transfer-Encoding");
	const unsigned char *p = (const unsigned char *)e->body;
	size_t n = e->bodylen, o = 0;
	char *d;

	*out = NULL;
	if (cte == NULL)
		return 0;
	if (strcasecmp(cte, "base64") == 0) {
		long dn;

		d = xmalloc(n / 4 * 3 + 4);
		if ((dn = b64_decode((const char *)p, n, (unsigned char *)d,
		    1)) < 0) {
			free(d);
			return fail(w, "bad base64 in a MIME part");
		}
		o = (size_t)dn;
	} else if (strcasecmp(cte, "quoted-printable") == 0) {
		d = xmalloc(n + 1);
		for (size_t i = 0; i < n; i++) {
			if (p[i] != '=') {
				d[o++] = (char)p[i];
				continue;
			}
			if (i + 2 < n && hex_value(p[i + 1]) >= 0 &&
			    hex_value(p[i + 2]) >= 0) {
				d[o++] = (char)(hex_value(p[i + 1]) * 16 +
				    hex_value(p[i + 2]));
				i += 2;
			} else if (i + 1 < n && (p[i + 1] == '\n' ||
			    p[i + 1] == '\r')) {	/* soft line break */
				i += p[i + 1] == '\r' && i + 2 < n &&
				    p[i + 2] == '\n' ? 2 : 1;
			} else
				d[o++] = '=';
		}
	} else
		return 0;			/* 7bit, 8bit, binary */
	*out = d;
	*outlen = o;
	return 0;
}

/* Facts ---------------------------------------------------------------- */

static void
add_fact(struct walk *w, enum rfact_kind kind, const char *v, size_t n,
    int port, int64_t at, const char *origin)
{
	struct report *r = w->r;
	struct rfact *f;

	if (n == 0 || n >= REPORT_VALUE_MAX)
		return;
	for (size_t i = 0; i < r->nfacts; i++) {
		f = &r->fact[i];
		/* an untimed fact and a timed one of the same value are
		 * one: report_parse gives untimed ones a time at the end */
		if (f->kind == kind && strlen(f->value) == n &&
		    memcmp(f->value, v, n) == 0 && f->port == port &&
		    (f->at == at || at == 0 || f->at == 0)) {
			if (f->at == 0)
				f->at = at;
			return;
		}
	}
	if (r->nfacts >= REPORT_FACTS_MAX) {
		r->dropped++;
		return;
	}
	f = &r->fact[r->nfacts++];
	f->kind = kind;
	memcpy(f->value, v, n);
	f->value[n] = '\0';
	f->port = port;
	f->at = at;
	f->origin = origin;
}

static int
qid_char(int c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/* port - the decimal port at s (leading blanks skipped, what follows the
 * digits ignored), or 0 when there is none or it is out of range. */
static int
port(const char *s)
{
	long v = 0;
	int digits = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9' && v <= 65535; s++, digits++)
		v = v * 10 + (*s - '0');
	return digits > 0 && v > 0 && v <= 65535 ? (int)v : 0;
}

/* add_qid - the id at p (up to end), without a trailing '.'. */
static void
add_qid(struct walk *w, const char *p, const char *end, const char *origin)
{
	size_t k = 0;

	while (p + k < end && k < 64 && qid_char((unsigned char)p[k]))
		k++;
	while (k > 0 && p[k - 1] == '.')
		k--;
	add_fact(w, RF_QID, p, k, 0, 0, origin);
}

/* find_ci - s (len n) in p..end, case-insensitive. */
static const char *
find_ci(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	for (; p + n <= end; p++)
		if (strncasecmp(p, s, n) == 0)
			return p;
	return NULL;
}

/* queued_as - every "queued as X" in a text (a DSN's diagnostic, an MX's
 * reply quoted in a bounce). */
static void
queued_as(struct walk *w, const char *p, size_t n, const char *origin)
{
	const char *end = p + n, *q;

	while ((q = find_ci(p, end, "queued as ")) != NULL) {
		add_qid(w, q + 10, end, origin);
		p = q + 10;
	}
}

/* add_addr - the address in s (n octets) if it is one; port 0 = unknown. */
static int
add_addr(struct walk *w, const char *s, size_t n, int port, int64_t at,
    const char *origin)
{
	union sockaddr_any a;
	char buf[80], canon[ADDR_STRLEN];

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strncasecmp(buf, "IPv6:", 5) == 0)	/* RFC 5321 literal */
		memmove(buf, buf + 5, n - 4);
	/* a bare address: addr_parse would take "a:b" as host:port */
	if (strchr(buf, '.') == NULL && strchr(buf, ':') == NULL)
		return -1;
	if (addr_parse(&a, buf, 0) < 0 || addr_port(&a) != 0)
		return -1;
	addr_unmap(&a);
	addr_ntop(&a, canon, sizeof(canon));
	add_fact(w, RF_ADDR, canon, strlen(canon), port, at, origin);
	return 0;
}

/* addr_literal - "[a]", "[a]:port", or "(a)" at p: the address text in
 * *s, *n; the port after "]:" in *pport. */
static int
addr_literal(const char *p, const char *end, const char **s, size_t *n,
    int *pport)
{
	char close = *p == '[' ? ']' : ')';
	/* an address is short: looking further makes a field of '(' slow */
	const char *q = memchr(p + 1, close, MIN((size_t)(end - p - 1), 66));

	if (q == NULL || q - p - 1 > 64)
		return -1;
	*s = p + 1;
	*n = (size_t)(q - p - 1);
	if (close == ']' && q + 2 < end && q[1] == ':' &&
	    isdigit((unsigned char)q[2]) && port(q + 2) > 0)
		*pport = port(q + 2);
	return 0;
}

/* received - one Received field: the sending address (with port) of its
 * "from" clause, its time (after the last ';'), and the receiving queue
 * id ("with ESMTP id X"). */
static void
received(struct walk *w, const char *v)
{
	const char *end = v + strlen(v), *from, *by, *semi, *q;
	int64_t at = 0;
	int pt = 0, found = 0;

	if ((semi = strrchr(v, ';')) != NULL) {
		(void)report_date(semi + 1, &at);
		end = semi;
	}
	if ((q = find_ci(v, end, " id ")) != NULL) {
		const char *with = find_ci(v, q, "with ");

		if (with != NULL)
			add_qid(w, q + 4, end, "Received (with ... id)");
	}
	from = strncasecmp(v, "from ", 5) == 0 ? v : find_ci(v, end, " from ");
	if (from == NULL)
		return;
	by = find_ci(from, end, " by ");
	if (by == NULL)
		by = end;
	if ((q = find_ci(from, by, "port ")) != NULL)
		pt = port(q + 5);
	for (q = from; q < by && !found; q++) {
		const char *s;
		size_t n;
		int lport = pt;

		if ((*q != '[' && *q != '(') || addr_literal(q, by, &s, &n,
		    &lport) < 0)
			continue;
		found = add_addr(w, s, n, lport, at, "Received") == 0;
	}
}

/* message_fields - the facts of a message's own header fields. */
static void
message_fields(struct walk *w, const struct entity *e)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct field *f = &e->f[i];

		if (is_name(f, "Message-ID")) {
			const char *lt = strchr(f->val, '<'), *gt;

			if (lt != NULL && (gt = strchr(lt, '>')) != NULL)
				add_fact(w, RF_MID, lt, (size_t)(gt - lt + 1), 0,
				    0, "Message-ID");
		} else if (is_name(f, "Received"))
			received(w, f->val);
		else if (is_name(f, "Date") && w->date == 0)
			(void)report_date(f->val, &w->date);
	}
}

static void
copy_val(char *out, size_t len, const char *v)
{
	if (out[0] == '\0')
		snprintf(out, len, "%s", v);
}

/* report_fields - the field blocks of a feedback report (RFC 5965 §3.5)
 * or a delivery-status (RFC 3464 §2.2): one or more blocks. */
static int
report_fields(struct walk *w, const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end) {
		struct entity e;
		const char *ip = NULL, *sport = "";
		int64_t at = 0;

		while (p < end && (*p == '\r' || *p == '\n'))
			p++;
		if (p >= end)
			break;
		if (entity_parse(w, &e, p, (size_t)(end - p)) < 0) {
			entity_free(&e);
			return -1;
		}
		for (size_t i = 0; i < e.n; i++) {
			const struct field *f = &e.f[i];

			if (is_name(f, "Source-IP"))
				ip = f->val;
			else if (is_name(f, "Source-Port"))
				sport = f->val;
			else if (is_name(f, "Arrival-Date") ||
			    is_name(f, "Received-Date")) {
				(void)report_date(f->val, &at);
				if (w->arrival == 0)
					w->arrival = at;
			} else if (is_name(f, "Original-Mail-From"))
				copy_val(w->r->mail_from, sizeof(w->r->mail_from),
				    f->val);
			else if (is_name(f, "Reported-Domain"))
				copy_val(w->r->reported_domain,
				    sizeof(w->r->reported_domain), f->val);
			else if (is_name(f, "X-Postfix-Queue-ID"))
				add_qid(w, f->val, f->val + strlen(f->val),
				    "X-Postfix-Queue-ID");
			else if (is_name(f, "Diagnostic-Code"))
				queued_as(w, f->val, strlen(f->val),
				    "Diagnostic-Code (queued as)");
		}
		if (ip != NULL)
			(void)add_addr(w, ip, strlen(ip), port(sport), at,
			    "Source-IP");
		p = e.body;
		entity_free(&e);
	}
	return 0;
}

/* xarf_json - an X-ARF / XARF v3 JSON report, or its "Report" member:
 * "Source" (a string, or an object with "IP" and "Port") or "SourceIp",
 * "Source-Port" / "SourcePort", "Date". */
static void
xarf_json(struct walk *w, const char *p, size_t n)
{
	json_t *j = json_loadb(p, n, 0, NULL), *src, *v;
	const char *ip = NULL, *date;
	json_int_t pt = 0;
	int64_t at = 0;

	if (j == NULL)
		return;
	if ((v = json_object_get(j, "Report")) != NULL && json_is_object(v))
		j = (json_incref(v), json_decref(j), v);
	if ((src = json_object_get(j, "Source")) == NULL)
		src = json_object_get(j, "SourceIp");
	if (json_is_string(src))
		ip = json_string_value(src);
	else if (json_is_object(src)) {
		ip = json_string_value(json_object_get(src, "IP"));
		pt = json_integer_value(json_object_get(src, "Port"));
	}
	if ((v = json_object_get(j, "Source-Port")) != NULL ||
	    (v = json_object_get(j, "SourcePort")) != NULL)
		pt = json_is_integer(v) ? json_integer_value(v)
		    : json_is_string(v) ? port(json_string_value(v)) : 0;
	if ((date = json_string_value(json_object_get(j, "Date"))) != NULL)
		(void)report_date(date, &at);
	if (ip != NULL)
		(void)add_addr(w, ip, strlen(ip), pt > 0 && pt <= 65535 ?
		    (int)pt : 0, at, "X-ARF Source");
	json_decref(j);
}

/* xarf_yaml - an X-ARF v0.1/v0.2 report part: "Key: value" lines, the
 * value possibly quoted. */
static void
xarf_yaml(struct walk *w, const char *p, size_t n)
{
	const char *end = p + n, *next, *le;
	char ip[80] = "", sport[8] = "", date[80] = "";
	int64_t at = 0;

	for (; p < end; p = next) {
		const char *colon, *v;
		char *out = NULL;
		size_t len = 0, k;

		le = line_end(p, end, &next);
		if ((colon = memchr(p, ':', (size_t)(le - p))) == NULL)
			continue;
		k = (size_t)(colon - p);
		if (k == 6 && strncasecmp(p, "Source", 6) == 0)
			out = ip, len = sizeof(ip);
		else if (k == 11 && strncasecmp(p, "Source-Port", 11) == 0)
			out = sport, len = sizeof(sport);
		else if (k == 4 && strncasecmp(p, "Date", 4) == 0)
			out = date, len = sizeof(date);
		if (out == NULL)
			continue;
		for (v = colon + 1; v < le && (*v == ' ' || *v == '\t'); v++)
			;
		k = (size_t)(le - v);
		if (k >= 2 && (*v == '\'' || *v == '"') && v[k - 1] == *v) {
			v++;
			k -= 2;
		}
		if (k < len)
			snprintf(out, len, "%.*s", (int)k, v);
	}
	if (date[0] != '\0')
		(void)report_date(date, &at);
	if (ip[0] != '\0')
		(void)add_addr(w, ip, strlen(ip), port(sport), at,
		    "X-ARF Source");
}

/* Entities ------------------------------------------------------------- */

static int walk_entity(struct walk *, const char *, size_t, int, int, int);

/* multipart - the parts of body (n octets) between boundary lines. */
static int
multipart(struct walk *w, const char *body, size_t n, const char *boundary,
    int depth)
{
	const char *p = body, *end = body + n, *next, *le, *part = NULL;
	size_t bl = strlen(boundary);
	int closed = 0;

	for (; p < end && !closed; p = next) {
		const char *t;

		le = line_end(p, end, &next);
		if ((size_t)(le - p) < bl + 2 || p[0] != '-' || p[1] != '-' ||
		    memcmp(p + 2, boundary, bl) != 0)
			continue;
		t = p + 2 + bl;
		closed = le - t >= 2 && t[0] == '-' && t[1] == '-';
		for (t += closed ? 2 : 0; t < le && (*t == ' ' || *t == '\t');
		    t++)
			;
		if (t < le)		/* "--b" is not "--bb" (RFC 2046 5.1.1) */
			continue;
		if (part != NULL) {
			/* the line end before the delimiter is the delimiter's */
			const char *pe = p;

			if (pe > part && pe[-1] == '\n')
				pe--;
			if (pe > part && pe[-1] == '\r')
				pe--;
			if (walk_entity(w, part, (size_t)(pe - part), depth + 1,
			    0, 0) < 0)
				return -1;
		}
		part = next;
	}
	if (part == NULL)
		return fail(w, "multipart body without its boundary \"%s\"",
		    boundary);
	if (!closed && walk_entity(w, part, (size_t)(end - part), depth + 1,
	    0, 0) < 0)
		return -1;
	return 0;
}

/* walk_entity - one entity: is_msg when it is a message (top level, or
 * the content of a message/rfc822 part), top for the outermost. */
static int
walk_entity(struct walk *w, const char *p, size_t n, int depth, int is_msg,
    int top)
{
	struct entity e;
	const char *ctv, *body;
	char ct[64], param[256], *dec = NULL;
	size_t bodylen;
	int rc = -1;

	if (depth > REPORT_DEPTH_MAX)
		return fail(w, "MIME nested deeper than %d levels",
		    REPORT_DEPTH_MAX);
	if (++w->r->entities > REPORT_PARTS_MAX)
		return fail(w, "more than %d MIME parts", REPORT_PARTS_MAX);
	if (entity_parse(w, &e, p, n) < 0)
		goto out;
	if (top && e.n == 0) {
		fail(w, "no header fields: not a mail message");
		goto out;
	}
	ctv = get(&e, "Content-Type");
	if (ctv != NULL)
		ct_type(ct, sizeof(ct), ctv);
	else
		snprintf(ct, sizeof(ct), "text/plain");
	if (top) {
		const char *x = get(&e, "X-ARF");

		if (x != NULL && strncasecmp(x, "yes", 3) == 0)
			w->r->format = RPT_XARF;
		else if (strcmp(ct, "multipart/report") == 0 &&
		    ct_param(ctv, "report-type", param, sizeof(param)) == 0)
			w->r->format = strcasecmp(param, "feedback-report") == 0 ?
			    RPT_ARF : strcasecmp(param, "delivery-status") == 0 ?
			    RPT_DSN : RPT_MESSAGE;
	}
	/* a report's own message is the complainer's, not a fact */
	if (is_msg && !(top && w->r->format != RPT_MESSAGE))
		message_fields(w, &e);
	if (decode(w, &e, &dec, &bodylen) < 0)
		goto out;
	body = dec != NULL ? dec : e.body;
	if (dec == NULL)
		bodylen = e.bodylen;
	if (strncmp(ct, "multipart/", 10) == 0) {
		if (ctv == NULL || ct_param(ctv, "boundary", param,
		    sizeof(param)) < 0) {
			fail(w, "%s without a boundary parameter", ct);
			goto out;
		}
		rc = multipart(w, body, bodylen, param, depth);
		goto out;
	}
	if (strcmp(ct, "message/rfc822") == 0 ||
	    strcmp(ct, "message/global") == 0 ||
	    strcmp(ct, "text/rfc822-headers") == 0) {
		rc = bodylen == 0 ? 0 : walk_entity(w, body, bodylen, depth + 1,
		    1, 0);
		goto out;
	}
	if (strcmp(ct, "message/feedback-report") == 0 ||
	    strcmp(ct, "message/delivery-status") == 0 ||
	    strcmp(ct, "message/global-delivery-status") == 0) {
		rc = report_fields(w, body, bodylen);
		goto out;
	}
	/* X-ARF's report part; XARF v3 sends its JSON in an ARF envelope */
	if (!top && (strcmp(ct, "application/json") == 0 ||
	    (w->r->format == RPT_XARF && strncmp(ct, "text/", 5) == 0))) {
		size_t i = 0;

		while (i < bodylen && isspace((unsigned char)body[i]))
			i++;
		if (i < bodylen && body[i] == '{')
			xarf_json(w, body, bodylen);
		else
			xarf_yaml(w, body, bodylen);
	}
	if (w->r->format == RPT_DSN && strncmp(ct, "text/", 5) == 0)
		queued_as(w, body, bodylen, "bounce text (queued as)");
	rc = 0;
out:
	free(dec);
	entity_free(&e);
	return rc;
}

int
report_parse(struct report *r, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct walk w;

	memset(r, 0, sizeof(*r));
	memset(&w, 0, sizeof(w));
	w.r = r;
	w.err = err;
	w.errlen = errlen;
	if (len > REPORT_MAX)
		return fail(&w, "report larger than %d octets", REPORT_MAX);
	if (len == 0)
		return fail(&w, "empty report");
	if (walk_entity(&w, buf, len, 0, 1, 1) < 0)
		return -1;
	for (size_t i = 0; i < r->nfacts; i++)
		if (r->fact[i].kind == RF_ADDR && r->fact[i].at == 0)
			r->fact[i].at = w.arrival != 0 ? w.arrival : w.date;
	return 0;
}

const char *
report_format_name(enum report_format f)
{
	switch (f) {
	case RPT_ARF:
		return "ARF feedback report";
	case RPT_DSN:
		return "delivery status notification";
	case RPT_XARF:
		return "X-ARF report";
	default:
		return "message";
	}
}

/* Dates ---------------------------------------------------------------- */

int
report_date(const char *s, int64_t *ms)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const struct {
		const char *name;
		int min;
	} zones[] = { { "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 },
		{ "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
		{ "PST", -480 }, { "PDT", -420 } };
	int d, y, hh, mm, ss = 0, mon = -1, off = 0, k = 0;
	char mname[4], zone[8] = "";
	const char *c;

	while (*s == ' ' || *s == '\t')
		s++;
	if (isdigit((unsigned char)s[0]) && strlen(s) >= 10 && s[4] == '-') {
		char t[64];

		snprintf(t, sizeof(t), "%s", s);
		return audit_parse_time(t, ms) == 0 ? 0 : -1;
	}
	if ((c = strchr(s, ',')) != NULL && c - s < 12)
		s = c + 1;
	if (sscanf(s, "%2d %3s %4d %2d:%2d%n", &d, mname, &y, &hh, &mm,
	    &k) != 5)
		return -1;
	s += k;
	if (*s == ':') {
		k = 0;
		if (sscanf(s, ":%2d%n", &ss, &k) != 1)
			return -1;
		s += k;
	}
	for (int i = 0; i < 12; i++)
		if (strncasecmp(mname, months + i * 3, 3) == 0)
			mon = i + 1;
	if (y < 100)
		y += y < 50 ? 2000 : 1900;
	if (mon < 0 || d < 1 || d > 31 || y < 1970 || y > 9999 || hh > 23 ||
	    mm > 59 || ss > 60)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if ((s[0] == '+' || s[0] == '-') && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) &&
	    isdigit((unsigned char)s[4])) {
		off = ((s[1] - '0') * 10 + (s[2] - '0')) * 60 +
		    (s[3] - '0') * 10 + (s[4] - '0');
		if (s[0] == '-')
			off = -off;
	} else if (sscanf(s, "%7[A-Za-z]", zone) == 1) {
		for (size_t i = 0; i < ARRAY_SIZE(zones); i++)
			if (strcasecmp(zone, zones[i].name) == 0)
				off = zones[i].min;
	}
	*ms = (utc_seconds(y, mon, d, hh, mm, ss) - (int64_t)off * 60) * 1000;
	return 0;
}
