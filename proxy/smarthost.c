/*
 * smarthost.c - the sans-I/O SMTP client handshake with the operator's
 * smarthost (see smarthost.h for the dialogue and the rules).
 *
 * One reply is read line by line into a bounded line buffer; each complete
 * line is checked by the relay core's rule (smtp_reply_line) and, for EHLO,
 * scanned for the STARTTLS and AUTH keywords (RFC 5321 4.1.1.1, RFC 3207
 * 4, RFC 4954 3). The last line of a reply completes a step; the next
 * command goes to the output buffer, which the glue empties.
 */
#include "smarthost.h"

#include <stdarg.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "secbuf.h"
#include "smtp.h"
#include "util.h"

#define AUTH_LINE_MAX	12288	/* RFC 4954 4: AUTH command line */
#define ERR_MAX		256
#define LAST_MAX	160	/* the smarthost's reply line kept for errors */

#define XCLIENT_MAX	512	/* RFC 5321 4.5.3.1.4: a command line */

enum step {
	ST_GREETING, ST_EHLO, ST_STARTTLS, ST_TLS, ST_EHLO_TLS,
	ST_AUTH_PLAIN, ST_AUTH_LOGIN, ST_AUTH_USER, ST_AUTH_PASS,
	ST_XCLIENT, ST_DONE, ST_FAIL
};

static const char *const step_names[] = {
	"greeting", "ehlo", "starttls", "tls", "ehlo_tls",
	"auth", "auth_login", "auth_user", "auth_pass", "xclient", "done",
	"failed"
};

/* The XCLIENT attributes subgate sends, in this order, each only when the
 * smarthost's EHLO names it (XCLIENT_README: unknown names are refused). */
enum { XA_NAME, XA_ADDR, XA_PORT, XA_DESTADDR, XA_DESTPORT, XA_N };
static const char *const xa_names[XA_N] = {
	"NAME", "ADDR", "PORT", "DESTADDR", "DESTPORT"
};

struct sh {
	struct sh_params p;
	char *helo, *user, *pass;
	enum step step, failed_step;
	unsigned tls : 1, cap_starttls : 1, cap_plain : 1, cap_login : 1,
	    authed_plain : 1, authed_login : 1;
	unsigned cap_xclient;	/* bit per XA_*: attributes offered */
	char *xa[XA_N];		/* attribute values, xtext (NULL: none) */
	enum sh_xclient xclient;
	char *line;		/* max_line */
	size_t linelen;
	size_t reply_bytes;
	/* [0] the greeting, [1] the reply to XCLIENT (max_reply each); the
	 * subscriber gets [greet_ix] */
	char *greet[2];
	size_t greetlen[2];
	unsigned greet_ix;
	struct buf out;		/* secret: holds the credentials */
	char last[LAST_MAX];	/* last reply line, raw */
	const char *reason;
	const char *reply;
	char err[ERR_MAX];
};

static void
free_secret(char **s)
{
	if (*s != NULL) {
		sb_wipe(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* xtext - s as RFC 3461 4 xtext: "!".."~" but "+" and "=" as they are,
 * every other octet "+XX" (XCLIENT_README: values are xtext). */
static char *
xtext(const char *s)
{
	char *o, *r;

	r = o = xmalloc(3 * strlen(s) + 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > ' ' && c <= '~' && c != '+' && c != '=')
			*o++ = (char)c;
		else
			o += sprintf(o, "+%02X", c);
	}
	*o = '\0';
	return r;
}

/* xclient_addr - ADDR/DESTADDR: IPv6 with the "IPV6:" prefix Postfix
 * expects (XCLIENT_README; RFC 5321 4.1.3 address literals). */
static char *
xclient_addr(const char *a)
{
	size_t n = strlen(a) + 6;
	char *t = xmalloc(n), *r;

	snprintf(t, n, "%s%s", strchr(a, ':') != NULL ? "IPV6:" : "", a);
	r = xtext(t);
	free(t);
	return r;
}

static char *
xclient_port(unsigned port)
{
	char b[12];

	snprintf(b, sizeof(b), "%u", port);
	return xstrdup(b);
}

struct sh *
sh_new(const struct sh_params *p)
{
	struct sh *h = xcalloc(1, sizeof(*h));

	h->out.secret = 1;
	h->p = *p;
	h->p.max_line = MAX(p->max_line, (size_t)512);	/* RFC 5321 4.5.3.1.5 */
	h->p.max_reply = MAX(p->max_reply, h->p.max_line);
	h->helo = xstrdup(p->helo != NULL && *p->helo ? p->helo : "localhost");
	if (p->user != NULL && *p->user != '\0') {
		h->user = xstrdup(p->user);
		h->pass = xstrdup(p->password != NULL ? p->password : "");
	}
	if (p->xclient && p->client_addr != NULL && *p->client_addr != '\0') {
		h->xa[XA_NAME] = xtext("[UNAVAILABLE]");
		h->xa[XA_ADDR] = xclient_addr(p->client_addr);
		h->xa[XA_PORT] = xclient_port(p->client_port);
		if (p->dest_addr != NULL && *p->dest_addr != '\0') {
			h->xa[XA_DESTADDR] = xclient_addr(p->dest_addr);
			h->xa[XA_DESTPORT] = xclient_port(p->dest_port);
		}
	}
	h->p.helo = h->p.user = h->p.password = NULL;
	h->p.client_addr = h->p.dest_addr = NULL;
	h->line = xmalloc(h->p.max_line);
	h->greet[0] = xmalloc(h->p.max_reply);
	return h;
}

void
sh_free(struct sh *h)
{
	if (h == NULL)
		return;
	free_secret(&h->user);
	free_secret(&h->pass);
	buf_free(&h->out);
	sb_wipe(h->line, h->p.max_line);
	free(h->line);
	free(h->greet[0]);
	free(h->greet[1]);
	for (int i = 0; i < XA_N; i++)
		free(h->xa[i]);
	free(h->helo);
	free(h);
}

/* Output -------------------------------------------------------------- */

/* out_add - append to the output (it may hold the credentials). */
static void
out_add(struct sh *h, const char *p, size_t n)
{
	buf_add(&h->out, p, n);
}

static void
out_str(struct sh *h, const char *s)
{
	out_add(h, s, strlen(s));
}

/* out_b64 - base64 of n bytes (RFC 4648 4), as SASL wants (RFC 4954 4). */
static void
out_b64(struct sh *h, const void *p, size_t n)
{
	size_t cap = 4 * ((n + 2) / 3) + 1;
	unsigned char *b = xmalloc(cap);
	int len = EVP_EncodeBlock(b, p, (int)n);

	out_add(h, (const char *)b, (size_t)len);
	sb_wipe(b, cap);
	free(b);
}

const char *
sh_output(const struct sh *h, size_t *n)
{
	*n = h->out.len;
	return h->out.p;
}

void
sh_output_done(struct sh *h)
{
	sb_wipe(h->out.p, h->out.len);
	h->out.len = 0;
}

/* Steps --------------------------------------------------------------- */

static enum sh_state
state_of(enum step st)
{
	switch (st) {
	case ST_TLS:
		return SH_TLS;
	case ST_DONE:
		return SH_DONE;
	case ST_FAIL:
		return SH_FAIL;
	default:
		return SH_WAIT;
	}
}

/* fail - give up in the current step; reason is a token, fmt the log text. */
static void fail(struct sh *h, const char *reason, const char *reply,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct sh *h, const char *reason, const char *reply, const char *fmt, ...)
{
	va_list ap;

	if (h->step == ST_FAIL)
		return;
	h->failed_step = h->step;
	h->step = ST_FAIL;
	h->reason = reason;
	h->reply = reply;
	va_start(ap, fmt);
	vsnprintf(h->err, sizeof(h->err), fmt, ap);
	va_end(ap);
	sh_output_done(h);
	free_secret(&h->user);
	free_secret(&h->pass);
}

#define R_UNAVAIL "421 4.4.1 Mail relay unavailable, try again later (subgate)"
#define R_TLS     "421 4.4.1 No secure connection to the mail relay, try again later (subgate)"
#define R_AUTH    "421 4.7.0 The mail relay refused the gateway's credentials, try again later (subgate)"

static void
send_ehlo(struct sh *h, enum step next)
{
	h->cap_starttls = h->cap_plain = h->cap_login = 0;
	h->cap_xclient = 0;
	out_str(h, "EHLO ");
	out_str(h, h->helo);
	out_str(h, "\r\n");
	h->step = next;
}

/* own_done - the gateway's own EHLO, STARTTLS and AUTH are over: tell the
 * smarthost who the subscriber is (XCLIENT) if it offers ADDR, else done.
 * Attributes that would make the line longer than XCLIENT_MAX are left
 * out (none of the values subgate sends comes near it). */
static void
own_done(struct sh *h)
{
	size_t len = 7, add;
	int i;

	if (!(h->cap_xclient & 1u << XA_ADDR) || h->xa[XA_ADDR] == NULL) {
		h->step = ST_DONE;
		return;
	}
	out_str(h, "XCLIENT");
	for (i = 0; i < XA_N; i++) {
		if (!(h->cap_xclient & 1u << i) || h->xa[i] == NULL)
			continue;
		add = 2 + strlen(xa_names[i]) + strlen(h->xa[i]);
		if (len + add + 2 > XCLIENT_MAX)
			continue;
		out_str(h, " ");
		out_str(h, xa_names[i]);
		out_str(h, "=");
		out_str(h, h->xa[i]);
		len += add;
	}
	out_str(h, "\r\n");
	if (h->greet[1] == NULL)
		h->greet[1] = xmalloc(h->p.max_reply);
	h->step = ST_XCLIENT;
}

/* after_tls - STARTTLS settled (done, refused or not wanted): AUTH or done. */
static void
after_tls(struct sh *h)
{
	char *buf;
	size_t ul, pl;

	if (h->user == NULL) {
		own_done(h);
		return;
	}
	if (!h->tls && h->p.starttls != SH_TLS_OFF) {
		/* opportunistic and no TLS: keep the secret off the wire */
		fail(h, "smarthost_auth_cleartext", R_TLS,
		    "no TLS with the smarthost: credentials not sent in clear "
		    "(set starttls: off to allow that)");
		return;
	}
	ul = strlen(h->user);
	pl = strlen(h->pass);
	if (h->cap_plain && 4 * ((ul + pl + 4) / 3) + 16 < AUTH_LINE_MAX) {
		/* RFC 4616: [authzid] NUL authcid NUL passwd; initial
		 * response on the AUTH line, RFC 4954 4. */
		buf = xmalloc(ul + pl + 2);
		buf[0] = '\0';
		memcpy(buf + 1, h->user, ul);
		buf[ul + 1] = '\0';
		memcpy(buf + ul + 2, h->pass, pl);
		out_str(h, "AUTH PLAIN ");
		out_b64(h, buf, ul + pl + 2);
		out_str(h, "\r\n");
		sb_wipe(buf, ul + pl + 2);
		free(buf);
		h->step = ST_AUTH_PLAIN;
	} else if (h->cap_login && 4 * ((MAX(ul, pl) + 2) / 3) + 2 < AUTH_LINE_MAX) {
		out_str(h, "AUTH LOGIN\r\n");
		h->step = ST_AUTH_LOGIN;
	} else
		fail(h, "smarthost_auth_mech", R_AUTH,
		    "smarthost offers neither AUTH PLAIN nor AUTH LOGIN");
}

/* ehlo_done - the EHLO reply is complete (capabilities noted). */
static void
ehlo_done(struct sh *h, int code)
{
	if (code != 250) {
		if (h->step == ST_EHLO && h->user == NULL &&
		    h->p.starttls != SH_TLS_REQUIRE) {
			/* nothing we must negotiate: the subscriber's own
			 * EHLO (or HELO) comes next */
			h->step = ST_DONE;
			return;
		}
		fail(h, "smarthost_ehlo", R_UNAVAIL,
		    "smarthost refused EHLO: %s", h->last);
		return;
	}
	if (h->step == ST_EHLO && h->p.starttls != SH_TLS_OFF) {
		if (h->cap_starttls) {
			out_str(h, "STARTTLS\r\n");
			h->step = ST_STARTTLS;
			return;
		}
		if (h->p.starttls == SH_TLS_REQUIRE) {
			fail(h, "smarthost_no_starttls", R_TLS,
			    "smarthost does not offer STARTTLS (starttls: require)");
			return;
		}
	}
	after_tls(h);
}

/* reply_done - the last line of a reply to the current step. */
static void
reply_done(struct sh *h, int code)
{
	if (code == 421) {
		/* RFC 5321 3.8: the server is closing the channel */
		fail(h, "smarthost_421", R_UNAVAIL, "smarthost said: %s", h->last);
		return;
	}
	switch (h->step) {
	case ST_GREETING:
		if (code != 220) {
			fail(h, "smarthost_greeting", R_UNAVAIL,
			    "smarthost greeting: %s", h->last);
			break;
		}
		if (h->user == NULL && h->p.starttls == SH_TLS_OFF &&
		    h->xa[XA_ADDR] == NULL)
			h->step = ST_DONE;
		else
			send_ehlo(h, ST_EHLO);
		break;
	case ST_EHLO:
	case ST_EHLO_TLS:
		ehlo_done(h, code);
		break;
	case ST_STARTTLS:
		if (code == 220)
			h->step = ST_TLS;
		else if (h->p.starttls == SH_TLS_REQUIRE)
			fail(h, "smarthost_starttls", R_TLS,
			    "smarthost refused STARTTLS: %s", h->last);
		else
			after_tls(h);	/* RFC 3207 4: may go on in clear */
		break;
	case ST_AUTH_PLAIN:
	case ST_AUTH_PASS:
		if (code == 235) {
			if (h->step == ST_AUTH_PLAIN)
				h->authed_plain = 1;
			else
				h->authed_login = 1;
			free_secret(&h->user);
			free_secret(&h->pass);
			own_done(h);
		} else
			fail(h, "smarthost_auth", R_AUTH,
			    "smarthost refused AUTH: %s", h->last);
		break;
	case ST_AUTH_LOGIN:
	case ST_AUTH_USER:
		if (code != 334) {
			fail(h, "smarthost_auth", R_AUTH,
			    "smarthost refused AUTH LOGIN: %s", h->last);
			break;
		}
		/* RFC 4954 4: the challenge text is not checked; LOGIN asks
		 * for the user first, then the password. */
		if (h->step == ST_AUTH_LOGIN) {
			out_b64(h, h->user, strlen(h->user));
			h->step = ST_AUTH_USER;
		} else {
			out_b64(h, h->pass, strlen(h->pass));
			h->step = ST_AUTH_PASS;
		}
		out_str(h, "\r\n");
		break;
	case ST_XCLIENT:
		/* XCLIENT_README: 220 is the greeting of the session as the
		 * subscriber's (the subscriber's own EHLO follows); a 250
		 * keeps the first greeting. Refused: the relay
		 * advertised what it does not grant (a configuration error
		 * on its side); mail goes on without, the log says so. */
		if (code == 220)
			h->greet_ix = 1;
		if (code >= 200 && code < 300)
			h->xclient = SH_XCLIENT_SENT;
		else {
			h->xclient = SH_XCLIENT_REFUSED;
			snprintf(h->err, sizeof(h->err),
			    "smarthost refused XCLIENT: %s", h->last);
		}
		h->step = ST_DONE;
		break;
	default:
		break;
	}
}

/* word - the next word of an EHLO line's parameters from *i on ("AUTH
 * PLAIN LOGIN", the pre-RFC 4954 "AUTH=PLAIN LOGIN"); its length in *len,
 * 0 at the end. */
static const char *
word(const char *p, size_t n, size_t *i, size_t *len)
{
	size_t k;

	while (*i < n && (p[*i] == ' ' || p[*i] == '=' || p[*i] == '\t'))
		(*i)++;
	for (k = *i; k < n && p[k] != ' ' && p[k] != '\t'; k++)
		;
	*len = k - *i;
	p += *i;
	*i = k;
	return p;
}

/* ehlo_keyword - note STARTTLS, AUTH mechanisms and the XCLIENT attributes
 * from one EHLO line. */
static void
ehlo_keyword(struct sh *h, const char *p, size_t n)
{
	const char *w;
	size_t i, k, wl;
	int auth, a;

	if (n < 4)
		return;
	p += 4;
	n -= 4;
	for (k = 0; k < n && p[k] != ' ' && p[k] != '='; k++)
		;
	if (k == 8 && strncasecmp(p, "STARTTLS", 8) == 0)
		h->cap_starttls = 1;
	auth = k == 4 && strncasecmp(p, "AUTH", 4) == 0;
	if (!auth && (k != 7 || strncasecmp(p, "XCLIENT", 7) != 0))
		return;
	for (i = k; (w = word(p, n, &i, &wl)), wl > 0;) {
		if (auth && wl == 5 && strncasecmp(w, "PLAIN", 5) == 0)
			h->cap_plain = 1;
		else if (auth && wl == 5 && strncasecmp(w, "LOGIN", 5) == 0)
			h->cap_login = 1;
		for (a = 0; !auth && a < XA_N; a++)
			if (strlen(xa_names[a]) == wl &&
			    strncasecmp(w, xa_names[a], wl) == 0)
				h->cap_xclient |= 1u << a;
	}
}

/* line - one reply line, n octets with its LF. 1 when it ended a reply. */
static int
line(struct sh *h, const char *p, size_t n)
{
	size_t clen = n - 1;
	int code, last = 0;

	if (clen > 0 && p[clen - 1] == '\r')
		clen--;
	code = smtp_reply_line(p, clen, &last);
	h->reply_bytes += n;
	snprintf(h->last, sizeof(h->last), "%.*s",
	    (int)MIN(clen, sizeof(h->last) - 1), p);
	if (code == 0) {
		fail(h, "smarthost_protocol", R_UNAVAIL,
		    "smarthost sent a malformed reply in step %s",
		    step_names[h->step]);
		return 0;
	}
	if (h->reply_bytes > h->p.max_reply) {
		fail(h, "smarthost_protocol", R_UNAVAIL,
		    "smarthost reply longer than %zu octets", h->p.max_reply);
		return 0;
	}
	if (h->step == ST_GREETING || h->step == ST_XCLIENT) {
		int g = h->step == ST_XCLIENT;

		memcpy(h->greet[g] + h->greetlen[g], p, n); /* within max_reply */
		h->greetlen[g] += n;
	}
	if ((h->step == ST_EHLO || h->step == ST_EHLO_TLS) && code == 250)
		ehlo_keyword(h, p, clen);
	if (last) {
		h->reply_bytes = 0;
		reply_done(h, code);
	}
	return last;
}

/* API ----------------------------------------------------------------- */

enum sh_state
sh_feed(struct sh *h, const void *buf, size_t len)
{
	const char *p = buf, *lf;
	size_t take;

	while (len > 0 && h->step != ST_FAIL) {
		if (h->step == ST_TLS || h->step == ST_DONE) {
			/* RFC 3207 5: nothing may precede the TLS handshake;
			 * nothing is owed to a client that has not spoken. */
			fail(h, "smarthost_protocol", R_UNAVAIL,
			    "smarthost sent data out of turn (step %s)",
			    step_names[h->step]);
			break;
		}
		lf = memchr(p, '\n', len);
		take = lf != NULL ? (size_t)(lf - p) + 1 : len;
		if (h->linelen + take > h->p.max_line ||
		    (lf == NULL && h->linelen + take >= h->p.max_line)) {
			fail(h, "smarthost_protocol", R_UNAVAIL,
			    "smarthost reply line longer than %zu octets",
			    h->p.max_line);
			break;
		}
		memcpy(h->line + h->linelen, p, take);
		h->linelen += take;
		p += take;
		len -= take;
		if (lf == NULL)
			break;
		take = h->linelen;
		h->linelen = 0;
		if (line(h, h->line, take) && len > 0 && h->step != ST_FAIL) {
			/* a complete reply, and more bytes before our next
			 * command could have reached the smarthost */
			fail(h, "smarthost_protocol", R_UNAVAIL,
			    "smarthost sent data out of turn (step %s)",
			    step_names[h->step]);
		}
	}
	return state_of(h->step);
}

enum sh_state
sh_tls_ready(struct sh *h)
{
	if (h->step == ST_TLS) {
		h->tls = 1;
		send_ehlo(h, ST_EHLO_TLS);	/* RFC 3207 4.2 */
	}
	return state_of(h->step);
}

enum sh_state
sh_fail(struct sh *h, const char *reason, const char *text)
{
	fail(h, reason, strncmp(reason, "smarthost_tls", 13) == 0 ? R_TLS
	    : R_UNAVAIL, "%s", text);
	return SH_FAIL;
}

enum sh_state
sh_state(const struct sh *h)
{
	return state_of(h->step);
}

const char *
sh_greeting(const struct sh *h, size_t *n)
{
	*n = h->step == ST_DONE ? h->greetlen[h->greet_ix] : 0;
	return h->greet[h->greet_ix];
}

enum sh_xclient
sh_xclient(const struct sh *h)
{
	return h->xclient;
}

int
sh_tls_used(const struct sh *h)
{
	return h->tls;
}

const char *
sh_auth_mech(const struct sh *h)
{
	return h->authed_plain ? "PLAIN" : h->authed_login ? "LOGIN" : "";
}

const char *
sh_reason(const struct sh *h)
{
	return h->reason != NULL ? h->reason : "";
}

const char *
sh_reply(const struct sh *h)
{
	return h->reply != NULL ? h->reply : R_UNAVAIL;
}

const char *
sh_error(const struct sh *h)
{
	return h->err;
}

const char *
sh_step(const struct sh *h)
{
	return step_names[h->step == ST_FAIL ? h->failed_step : h->step];
}
