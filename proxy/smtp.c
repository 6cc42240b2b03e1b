/*
 * smtp.c - the SMTP relay core (see smtp.h): parses both directions of one
 * relayed session, forwards what may pass, answers what the gateway refuses
 * itself and reports transactions. No I/O: bytes come in via smtp_feed_*,
 * leave via io->send, everything else is an event.
 *
 * Client bytes are parsed in place; forwarded bytes point into the caller's
 * buffer. Only what cannot be parsed yet is copied into inbuf: a partial
 * command line, or everything received while the session holds input (a
 * reply to DATA/AUTH/STARTTLS is awaited, a verdict is awaited, the
 * pipeline is full). inbuf may hold AUTH secrets: bytes leaving it are
 * wiped, and it is freed when empty. upbuf holds a partial upstream line.
 * A transaction's storage lives from MAIL to its SMTP_EV_TXN.
 *
 * Ordering (RFC 2920 3.1): every forwarded command and every local answer
 * takes a slot in a FIFO; the head of a non-empty FIFO always awaits the
 * upstream, local answers behind it are sent when it completes.
 *
 * Callbacks may call smtp_decide() and smtp_shutdown(), never smtp_free()
 * nor smtp_feed_*().
 */
#include "smtp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "buf.h"
#include "secbuf.h"
#include "util.h"

#define ADDR_MAX	256	/* RFC 5321 4.5.3.1.3: path */
#define HOST_MAX	255	/* RFC 5321 4.5.3.1.2: domain */
#define MSGID_MAX	998	/* RFC 5322 2.1.1: line */
#define REPLY_KEEP	512	/* data reply line kept for the record */
#define VERDICT_MAX	512	/* a policy's reply text */
#define QID_MAX		64
#define MECH_MAX	32
#define USER_MAX	255

enum cmd {
	C_GREETING, C_EHLO, C_MAIL, C_RCPT, C_DATA, C_DOT, C_BDAT, C_BDAT_LAST,
	C_AUTH, C_STARTTLS, C_QUIT, C_RSET, C_OTHER, C_LOCAL
};

enum cmode {
	M_CMD,		/* command lines */
	M_AUTHCONT,	/* the next line answers a 334 */
	M_DATA,		/* after 354, until the final "." */
	M_DOTWAIT,	/* final "." seen, verdict awaited */
	M_BDAT		/* inside a BDAT chunk */
};

/* Data scanner state across feeds. */
enum dscan { DS_BOL, DS_MID, DS_CR, DS_DOT, DS_DOTCR };

enum dstate { D_NONE, D_ASKED, D_READY };

enum hscan { HS_BOL, HS_NAME, HS_VALUE, HS_DONE };

struct txn {
	struct smtp_txn pub;
	char *from;
	char **rcpts;
	size_t nkept, rcptcap;
	char *mid;
	size_t midlen;
	char *reply;
	char qid[QID_MAX + 1];
	unsigned id;		/* never reused in the session, unlike pub.seq */
	unsigned char hs, capturing, have_mid, namelen;
	char name[10];
};

struct pend {
	unsigned char kind;	/* enum cmd */
	unsigned seq;		/* C_MAIL, C_RCPT: the transaction;
				 * C_EHLO, C_RSET: the id of the one open */
	const char *close;	/* C_LOCAL: close with this reason once sent */
	char *str;		/* C_LOCAL: reply text; C_RCPT: the address */
	struct txn *txn;	/* C_DOT, C_BDAT_LAST: awaiting its final reply */
};

struct auth {
	char mech[MECH_MAX + 1];
	char user[USER_MAX + 1];
	unsigned n334;
	unsigned char have_user, login_ir;
};

struct smtp_session {
	const struct smtp_conf *conf;
	struct smtp_io io;
	void *ctx;
	size_t max_line, max_auth_line, max_reply, max_pipeline, max_held;

	unsigned closed : 1, ending : 1, tunnel : 1, sync : 1, discard : 1,
	    closing : 1, in_reply : 1, chunking : 1, ask_tls : 1, client_eof : 1,
	    ehlo_chunking : 1, wait_q : 1;
	unsigned char cmode, ds, dstate, cls;
	int busy;

	struct pend *q;
	size_t qhead, qlen, qcap;
	struct buf in;			/* client bytes not yet consumed
					 * (secret: may hold AUTH) */
	struct buf up;			/* a partial upstream line */
	size_t reply_bytes;

	struct txn *txn;	/* open transaction (MAIL forwarded) */
	struct txn *dtxn;	/* whose content is being forwarded */
	unsigned seq, txn_ids;
	uint64_t bdat_left;
	struct auth *auth;
	int auth_tls_only;	/* smtp_refuse_cleartext_auth */

	int vkind;
	char *vreply;

	char *greeting_host, *ehlo, *auth_mech, *auth_user;
	unsigned ntxn, ncommands, nerrors;
	uint64_t dropped, normalized;
};

static void sess_close(struct smtp_session *, const char *);
static void client_drain(struct smtp_session *);
static void eof_settle(struct smtp_session *);

static const char R_TOOLONG[] = "500 5.5.2 Line too long";
static const char R_BADLINE[] = "500 5.5.2 Syntax error: NUL or bare CR in command";
static const char R_CTRL[] = "500 5.5.2 Syntax error: control character in command";
static const char R_LEADWS[] = "500 5.5.2 Syntax error: white space before command";
static const char R_BDATSYNTAX[] = "501 5.5.4 Syntax error in BDAT";
static const char R_BDATNOTIMPL[] = "502 5.5.1 BDAT not offered by this server";
static const char R_ERRORS[] = "421 4.7.0 Too many errors";
static const char R_UPPROTO[] = "421 4.4.0 Upstream protocol error";
static const char R_UPEOF[] = "421 4.4.2 Upstream closed the connection";
static const char R_HELD[] = "421 4.7.0 Too much input while waiting for a reply";
static const char R_BARE[] =
    "554 5.6.11 Message refused: bare CR or LF (SMTP smuggling pattern)";
static const char R_POLICY[] = "550 5.7.1 Refused by local policy";
static const char R_SHUTDOWN[] = "421 4.3.2 Service shutting down";

const char *
smtp_class_name(enum smtp_class c)
{
	switch (c) {
	case SMTP_CLASS_MX:
		return "mx";
	case SMTP_CLASS_SUBMISSION:
		return "submission";
	case SMTP_CLASS_TLS:
		return "tls";
	case SMTP_CLASS_BLOCKED:
		return "blocked";
	}
	return "unknown";
}

const char *
smtp_point_name(enum smtp_point p)
{
	switch (p) {
	case SMTP_AT_CONNECT:
		return "connect";
	case SMTP_AT_MAIL:
		return "mail";
	case SMTP_AT_RCPT:
		return "rcpt";
	case SMTP_AT_DATA_END:
		return "data_end";
	case SMTP_AT_STARTTLS:
		return "starttls";
	}
	return "unknown";
}

/* Helpers ------------------------------------------------------------ */

static int
is_ws(int c)
{
	return c == ' ' || c == '\t';
}

static int
reply_code(const char *p, size_t n)
{
	if (n < 3 || !isdigit((unsigned char)p[0]) ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
		return 0;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

int
smtp_reply_line(const char *p, size_t clen, int *last)
{
	int code = reply_code(p, clen);

	if (code < 200 || code > 599 ||
	    (clen > 3 && p[3] != ' ' && p[3] != '-'))
		return 0;
	*last = clen == 3 || p[3] == ' ';
	return code;
}

static int64_t
clock_ms(struct smtp_session *s)
{
	return s->io.now_ms != NULL ? s->io.now_ms(s->ctx) : 0;
}

static void
to_client(struct smtp_session *s, const void *p, size_t n)
{
	if (!s->closed && !s->tunnel && n > 0)
		s->io.send(s->ctx, SMTP_CLIENT, p, n);
}

static void
to_upstream(struct smtp_session *s, const void *p, size_t n)
{
	if (!s->closed && !s->tunnel && n > 0)
		s->io.send(s->ctx, SMTP_UPSTREAM, p, n);
}

static void
emit(struct smtp_session *s, const struct smtp_event *ev)
{
	if (!s->closed)
		s->io.event(s->ctx, ev);
}

/* in_append - copy client bytes into inbuf (it may hold AUTH secrets). */
static void
in_append(struct smtp_session *s, const char *p, size_t n)
{
	buf_add(&s->in, p, n);
}

/* in_consume - drop the first n bytes of inbuf. */
static void
in_consume(struct smtp_session *s, size_t n)
{
	if (n >= s->in.len)
		buf_free(&s->in);
	else
		buf_drop(&s->in, n);
}

static void
up_clear(struct smtp_session *s)
{
	buf_free(&s->up);
}

/* copy_str - a NUL-terminated copy of at most max bytes. */
static char *
copy_str(char *old, const char *p, size_t n, size_t max)
{
	free(old);
	return xstrndup(p, MIN(n, max));
}

/* Pipeline FIFO ------------------------------------------------------ */

static struct pend *
q_at(const struct smtp_session *s, size_t i)
{
	return &s->q[(s->qhead + i) % s->qcap];
}

static struct pend *
q_push(struct smtp_session *s, enum cmd kind)
{
	struct pend *e, *nq;
	size_t ncap, i;

	if (s->qlen == s->qcap) {
		ncap = s->qcap ? s->qcap * 2 : 4;
		nq = xcalloc(ncap, sizeof(*nq));
		for (i = 0; i < s->qlen; i++)
			nq[i] = *q_at(s, i);
		free(s->q);
		s->q = nq;
		s->qcap = ncap;
		s->qhead = 0;
	}
	e = &s->q[(s->qhead + s->qlen) % s->qcap];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	s->qlen++;
	return e;
}

/* q_pop - remove the head; its str and txn must have been taken. */
static void
q_pop(struct smtp_session *s)
{
	struct pend *e = q_at(s, 0);

	free(e->str);
	e->str = NULL;
	s->qhead = (s->qhead + 1) % s->qcap;
	if (--s->qlen == 0) {
		s->qhead = 0;
		if (s->qcap > 8) {
			free(s->q);
			s->q = NULL;
			s->qcap = 0;
		}
	}
}

/* Transactions ------------------------------------------------------- */

static struct txn *
txn_new(struct smtp_session *s, const char *from)
{
	struct txn *t = xcalloc(1, sizeof(*t));

	t->pub.seq = ++s->seq;
	t->id = ++s->txn_ids;
	t->pub.start_ms = clock_ms(s);
	t->from = xstrdup(from);
	t->hs = HS_BOL;
	return t;
}

static void
txn_free(struct txn *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nkept; i++)
		free(t->rcpts[i]);
	free(t->rcpts);
	free(t->from);
	free(t->mid);
	free(t->reply);
	free(t);
}

static void
mid_end(struct txn *t)
{
	if (!t->capturing)
		return;
	t->capturing = 0;
	t->have_mid = 1;
	while (t->midlen > 0 && is_ws(t->mid[t->midlen - 1]))
		t->midlen--;
}

static void
mid_add(struct txn *t, char c)
{
	if (t->midlen == 0 && is_ws(c))
		return;
	if (t->midlen >= MSGID_MAX)
		return;
	if (t->mid == NULL)
		t->mid = xmalloc(MSGID_MAX + 1);
	t->mid[t->midlen++] = c;
}

/* hdr_scan - follow the header section of the forwarded message to find
 * the first Message-ID (RFC 5322 3.6.4), unfolding continuation lines
 * (2.2.3). CR is ignored, LF ends a line, an empty line ends the headers. */
static void
hdr_scan(struct txn *t, const char *p, size_t n)
{
	size_t i;
	char c;

	for (i = 0; i < n && t->hs != HS_DONE; i++) {
		c = p[i];
		if (c == '\r')
			continue;
		if (c == '\n') {
			if (t->hs == HS_BOL) {
				mid_end(t);
				t->hs = HS_DONE;
			} else
				t->hs = HS_BOL;
			continue;
		}
		if (t->hs == HS_BOL) {
			if (is_ws(c)) {
				t->hs = HS_VALUE;
				if (t->capturing)
					mid_add(t, c);
				continue;
			}
			mid_end(t);
			t->hs = HS_NAME;
			t->namelen = 0;
		}
		if (t->hs == HS_NAME) {
			if (c == ':') {
				t->hs = HS_VALUE;
				if (!t->have_mid && t->namelen == 10 &&
				    memcmp(t->name, "message-id", 10) == 0)
					t->capturing = 1;
			} else if (t->namelen < 10)
				t->name[t->namelen++] =
				    (char)tolower((unsigned char)c);
			else
				t->namelen = 11;
			continue;
		}
		if (t->capturing)
			mid_add(t, c);
	}
}

/* txn_sync - point the public view at the current storage. */
static void
txn_sync(struct txn *t)
{
	size_t n = t->midlen;

	if (!t->capturing)
		while (n > 0 && is_ws(t->mid[n - 1]))
			n--;
	if (t->mid != NULL)
		t->mid[n] = '\0';
	t->pub.mail_from = t->from;
	t->pub.rcpts = (const char **)t->rcpts;
	t->pub.nrcpts_kept = t->nkept;
	t->pub.message_id = t->mid != NULL ? t->mid : "";
	t->pub.data_reply = t->reply != NULL ? t->reply : "";
	t->pub.queue_id = t->qid;
}

/* txn_end - report a transaction and free it. */
static void
txn_end(struct smtp_session *s, struct txn *t, const char *outcome)
{
	struct smtp_event ev;

	if (t == NULL)
		return;
	if (s->dtxn == t)
		s->dtxn = NULL;
	mid_end(t);
	txn_sync(t);
	t->pub.outcome = outcome;
	t->pub.end_ms = clock_ms(s);
	memset(&ev, 0, sizeof(ev));
	ev.kind = SMTP_EV_TXN;
	ev.arg = "";
	ev.txn = &t->pub;
	s->ntxn++;
	emit(s, &ev);
	txn_free(t);
}

/* txn_abort - end the open transaction, if any (RSET, MAIL, EHLO, QUIT). */
static void
txn_abort(struct smtp_session *s)
{
	struct txn *t = s->txn;

	s->txn = NULL;
	txn_end(s, t, "aborted");
}

/* txn_reset - an accepted RSET/EHLO/HELO ends the transaction that was
 * open when it was sent (its id, 0 for none), not one pipelined after. */
static void
txn_reset(struct smtp_session *s, unsigned id)
{
	if (id != 0 && s->txn != NULL && s->txn->id == id)
		txn_abort(s);
}

static void
txn_keep_rcpt(struct smtp_session *s, struct txn *t, char **addr)
{
	if (t->nkept >= s->conf->max_recipients_kept || *addr == NULL)
		return;
	GROW(t->rcpts, t->rcptcap, t->nkept + 1);
	t->rcpts[t->nkept++] = *addr;
	*addr = NULL;
}

/* txn_data_reply - note one line of the final reply to a message. */
static void
txn_data_reply(struct txn *t, const char *p, size_t n)
{
	static const char kw[] = "queued as ";
	size_t i, k;

	t->reply = copy_str(t->reply, p, n, REPLY_KEEP);
	if (t->qid[0] != '\0')
		return;
	for (i = 0; i + sizeof(kw) - 1 <= n; i++) {
		if (strncasecmp(p + i, kw, sizeof(kw) - 1) != 0)
			continue;
		i += sizeof(kw) - 1;
		for (k = 0; k < QID_MAX && i + k < n &&
		    (isalnum((unsigned char)p[i + k]) || p[i + k] == '.' ||
		    p[i + k] == '_' || p[i + k] == '-'); k++)
			t->qid[k] = p[i + k];
		t->qid[k] = '\0';
		return;
	}
}

/* Replies to the client ---------------------------------------------- */

/* note_reply - count an error reply the client got; past max_errors end
 * the session (RFC 5321 4.3.2: 421 may answer any command). */
static void
note_reply(struct smtp_session *s, int code)
{
	if (code < 400)
		return;
	s->nerrors++;
	if (s->conf->max_errors > 0 && s->nerrors > s->conf->max_errors &&
	    !s->closed) {
		to_client(s, R_ERRORS, sizeof(R_ERRORS) - 1);
		to_client(s, "\r\n", 2);
		sess_close(s, "too_many_errors");
	}
}

static void
send_local(struct smtp_session *s, const char *text, const char *close)
{
	char buf[VERDICT_MAX + 3];
	size_t n = MIN(strlen(text), VERDICT_MAX);
	int code = reply_code(text, n);

	memcpy(buf, text, n);
	memcpy(buf + n, "\r\n", 2);
	to_client(s, buf, n + 2);
	if (close == NULL) {
		note_reply(s, code);
		return;
	}
	if (code >= 400)
		s->nerrors++;
	sess_close(s, close);
}

/* local_reply - the gateway's own answer, in command order. */
static void
local_reply(struct smtp_session *s, const char *text, const char *close)
{
	struct pend *e;

	if (s->closed)
		return;
	if (close != NULL)
		s->closing = 1;
	if (s->qlen == 0) {
		send_local(s, text, close);
		return;
	}
	e = q_push(s, C_LOCAL);
	e->str = xstrdup(text);
	e->close = close;
}

static void
flush_locals(struct smtp_session *s)
{
	struct pend *e;
	const char *close;
	char *text;

	while (!s->closed && s->qlen > 0 && (e = q_at(s, 0))->kind == C_LOCAL) {
		text = e->str;
		close = e->close;
		e->str = NULL;
		q_pop(s);
		send_local(s, text, close);
		free(text);
	}
}

/* verdict_text - a policy reply made safe to send: one line, "ddd" code. */
static char *
verdict_text(const char *r)
{
	size_t n;

	if (r == NULL || reply_code(r, strlen(r)) == 0 ||
	    (r[3] != '\0' && r[3] != ' '))
		r = R_POLICY;
	n = strcspn(r, "\r\n");
	return xstrndup(r, MIN(n, VERDICT_MAX));
}

/* Session end -------------------------------------------------------- */

static void
auth_free(struct smtp_session *s)
{
	if (s->auth != NULL) {
		sb_wipe(s->auth, sizeof(*s->auth));
		free(s->auth);
		s->auth = NULL;
	}
}

/* sess_close - the one end of a session: unfinished transactions are
 * reported as aborted, then SMTP_EV_CLOSE; nothing is emitted after. */
static void
sess_close(struct smtp_session *s, const char *reason)
{
	struct smtp_event ev;
	struct pend *e;
	size_t i;

	if (s->closed || s->ending || s->tunnel)
		return;
	s->ending = 1;
	for (i = 0; i < s->qlen && !s->closed; i++) {
		e = q_at(s, i);
		if (e->txn != NULL) {
			struct txn *t = e->txn;

			e->txn = NULL;
			txn_end(s, t, "aborted");
		}
	}
	txn_abort(s);
	s->dtxn = NULL;
	auth_free(s);
	memset(&ev, 0, sizeof(ev));
	ev.kind = SMTP_EV_CLOSE;
	ev.arg = "";
	ev.reason = reason;
	s->io.event(s->ctx, &ev);
	s->closed = 1;
}

/* Policy questions --------------------------------------------------- */

/* ask - 1 when the verdict is known (now or from an earlier ask about the
 * same held line), 0 while it is awaited. */
static int
ask(struct smtp_session *s, enum smtp_point pt, const char *arg,
    const struct smtp_txn *t)
{
	struct smtp_event ev;

	if (s->dstate == D_READY)
		return 1;
	s->dstate = D_ASKED;
	memset(&ev, 0, sizeof(ev));
	ev.kind = SMTP_EV_DECIDE;
	ev.point = pt;
	ev.arg = arg;
	ev.txn = t;
	emit(s, &ev);
	return s->dstate == D_READY && !s->closed;
}

/* verdict_take - the verdict, cleared; *reply is the caller's to free. */
static int
verdict_take(struct smtp_session *s, char **reply)
{
	*reply = s->vreply;
	s->vreply = NULL;
	s->dstate = D_NONE;
	return s->vkind;
}

static void
refuse(struct smtp_session *s, int kind, const char *reply)
{
	if (kind == SMTP_REFUSE_CLOSE) {
		s->cls = SMTP_CLASS_BLOCKED;
		local_reply(s, reply, "policy");
	} else
		local_reply(s, reply, NULL);
}

/* Client: commands --------------------------------------------------- */

static int
blocked(const struct smtp_session *s)
{
	if (s->sync || s->closing || s->dstate == D_ASKED ||
	    (s->wait_q && s->qlen > 0))
		return 1;
	return (s->cmode == M_CMD || s->cmode == M_AUTHCONT) &&
	    s->qlen >= s->max_pipeline;
}

/* fwd_line - forward a command line, with CRLF even if it ended in LF. */
static void
fwd_line(struct smtp_session *s, const char *p, size_t len, size_t clen)
{
	if (clen + 2 == len)
		to_upstream(s, p, len);
	else {
		to_upstream(s, p, clen);
		to_upstream(s, "\r\n", 2);
	}
}

static int
verb_is(const char *v, size_t vlen, const char *name)
{
	size_t n = strlen(name);

	return vlen == n && strncasecmp(v, name, n) == 0;
}

/* verb_starts - a prefix match: a mode-changing verb is recognised however
 * a server might read it, so that the gateway waits for its reply. */
static int
verb_starts(const char *v, size_t vlen, const char *name)
{
	size_t n = strlen(name);

	return vlen >= n && strncasecmp(v, name, n) == 0;
}

/* path_arg - the path of "FROM:<path>" / "TO:<path>", brackets removed,
 * truncated to ADDR_MAX; lenient about spaces like common servers. */
static void
path_arg(const char *a, size_t n, const char *kw, char *out)
{
	size_t kwlen = strlen(kw), len;
	const char *e;

	out[0] = '\0';
	if (n < kwlen || strncasecmp(a, kw, kwlen) != 0)
		return;
	a += kwlen;
	n -= kwlen;
	while (n > 0 && is_ws(*a))
		a++, n--;
	if (n > 0 && *a == '<') {
		a++, n--;
		e = memchr(a, '>', n);
		len = e != NULL ? (size_t)(e - a) : n;
	} else
		for (len = 0; len < n && !is_ws(a[len]); len++)
			;
	len = MIN(len, ADDR_MAX);
	memcpy(out, a, len);
	out[len] = '\0';
}

/* bdat_parse - RFC 3030 2: "BDAT" SP chunk-size [SP "LAST"], nothing more,
 * size at most 2^63. Stricter than any server, so that no server reads
 * as commands the bytes the gateway forwards as a chunk. */
static int
bdat_parse(const char *p, size_t clen, uint64_t *size, int *last)
{
	size_t i = 5, nd = 0;
	uint64_t v = 0, d;
	const uint64_t max = (uint64_t)1 << 63;

	if (clen < 6 || strncasecmp(p, "BDAT ", 5) != 0)
		return -1;
	for (; i < clen && isdigit((unsigned char)p[i]); i++, nd++) {
		d = (uint64_t)(p[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (nd == 0)
		return -1;
	*last = 0;
	if (i < clen) {
		if (clen - i != 5 || strncasecmp(p + i, " LAST", 5) != 0)
			return -1;
		*last = 1;
	}
	*size = v;
	return 0;
}

/* probe - the view of a transaction the gateway does not track (seq 0),
 * so that every MAIL, RCPT and end of data the upstream may act on is
 * put to the policy. */
static const struct smtp_txn *
probe(struct smtp_session *s, struct smtp_txn *t, unsigned seq,
    const char *from)
{
	memset(t, 0, sizeof(*t));
	t->seq = seq;
	t->start_ms = clock_ms(s);
	t->mail_from = from;
	t->message_id = t->data_reply = t->queue_id = t->outcome = "";
	return t;
}

static size_t
cmd_mail(struct smtp_session *s, const char *p, size_t len, size_t clen,
    const char *args, size_t alen)
{
	char addr[ADDR_MAX + 1];
	struct smtp_txn pt;
	struct txn *t;
	struct pend *e;
	char *reply;
	int kind;

	path_arg(args, alen, "FROM:", addr);
	if (!ask(s, SMTP_AT_MAIL, addr, probe(s, &pt, s->seq + 1, addr)))
		return 0;
	kind = verdict_take(s, &reply);
	if (kind == SMTP_PASS) {
		fwd_line(s, p, len, clen);
		e = q_push(s, C_MAIL);
		if (s->txn != NULL) {
			/* RFC 5321 4.1.1.2: a MAIL inside a transaction is
			 * refused (503); one a server accepts starts anew.
			 * Which it is only the reply tells, so what follows
			 * waits for it (a sync point). */
			e->str = xstrdup(addr);
			s->sync = 1;
		} else {
			t = txn_new(s, addr);
			s->txn = t;
			e->seq = t->pub.seq;
		}
	} else {
		t = txn_new(s, addr);
		txn_end(s, t, "refused_by_policy");
		refuse(s, kind, reply);
	}
	free(reply);
	return len;
}

static size_t
cmd_rcpt(struct smtp_session *s, const char *p, size_t len, size_t clen,
    const char *args, size_t alen)
{
	char addr[ADDR_MAX + 1];
	struct smtp_txn pt;
	const struct smtp_txn *view;
	struct pend *e;
	char *reply;
	int kind;

	path_arg(args, alen, "TO:", addr);
	if (s->txn != NULL) {
		txn_sync(s->txn);
		view = &s->txn->pub;
	} else
		view = probe(s, &pt, 0, "");
	if (!ask(s, SMTP_AT_RCPT, addr, view))
		return 0;
	kind = verdict_take(s, &reply);
	if (kind == SMTP_PASS) {
		fwd_line(s, p, len, clen);
		e = q_push(s, C_RCPT);
		e->seq = s->txn != NULL ? s->txn->pub.seq : 0;
		e->str = xstrdup(addr);
	} else {
		if (s->txn != NULL)
			s->txn->pub.nrcpts_refused++;
		refuse(s, kind, reply);
	}
	free(reply);
	return len;
}

/* cmd_starttls - RFC 3207 4: the policy may refuse to let the session
 * turn opaque; the client then goes on in the clear (or leaves). */
static size_t
cmd_starttls(struct smtp_session *s, const char *p, size_t len, size_t clen)
{
	char *reply = NULL;
	int kind = SMTP_PASS;

	if (s->ask_tls) {
		if (!ask(s, SMTP_AT_STARTTLS, "", NULL))
			return 0;
		kind = verdict_take(s, &reply);
	}
	if (kind == SMTP_PASS) {
		fwd_line(s, p, len, clen);
		q_push(s, C_STARTTLS);
		s->sync = 1;
	} else
		refuse(s, kind, reply);
	free(reply);
	return len;
}

/* bdat_start - forward a BDAT line and enter its chunk. */
static void
bdat_start(struct smtp_session *s, const char *p, size_t len, size_t clen,
    uint64_t size, int last)
{
	struct pend *e;

	fwd_line(s, p, len, clen);
	e = q_push(s, last ? C_BDAT_LAST : C_BDAT);
	if (last) {
		e->txn = s->txn;
		s->txn = NULL;
	}
	s->dtxn = last ? e->txn : s->txn;
	s->bdat_left = size;
	if (size > 0)
		s->cmode = M_BDAT;
}

static void
policy_refuse_data(struct smtp_session *s, struct txn *t, const char *reply)
{
	if (t != NULL) {
		if (s->txn == t)
			s->txn = NULL;
		t->pub.data_reply_code = reply_code(reply, strlen(reply));
		t->reply = copy_str(t->reply, reply, strlen(reply), REPLY_KEEP);
		txn_end(s, t, "refused_by_policy");
	}
	s->cls = SMTP_CLASS_BLOCKED;
	local_reply(s, reply, "policy");
}

static size_t
cmd_bdat(struct smtp_session *s, const char *p, size_t len, size_t clen)
{
	struct smtp_txn view;
	uint64_t size;
	char *reply;
	int last, kind;

	if (bdat_parse(p, clen, &size, &last) != 0) {
		local_reply(s, R_BDATSYNTAX, NULL);
		return len;
	}
	if (!s->chunking) {
		local_reply(s, R_BDATNOTIMPL, NULL);
		return len;
	}
	if (last) {
		/* The decision must see every recipient the upstream took:
		 * a pipelined BDAT LAST waits for the replies before it. */
		s->wait_q = s->qlen > 0;
		if (s->wait_q)
			return 0;
		if (s->txn != NULL) {
			txn_sync(s->txn);
			view = s->txn->pub;
		} else
			probe(s, &view, 0, "");
		/* RFC 3030 2: the last chunk is part of the message it
		 * ends; the decision is charged its octets up front. */
		view.size = size > UINT64_MAX - view.size ? UINT64_MAX :
		    view.size + size;
		if (!ask(s, SMTP_AT_DATA_END, "", &view))
			return 0;
		kind = verdict_take(s, &reply);
		if (kind != SMTP_PASS) {
			policy_refuse_data(s, s->txn, reply);
			free(reply);
			return len;
		}
		free(reply);
	}
	bdat_start(s, p, len, clen, size, last);
	return len;
}

/* auth_user_from - the authentication identity in an initial response or
 * continuation (RFC 4616 2 for PLAIN: authzid NUL authcid NUL passwd; the
 * username for LOGIN). The decoded secret is wiped at once. */
static void
auth_user_from(struct auth *a, const char *p, size_t n, int plain)
{
	unsigned char *buf;
	const unsigned char *u, *z;
	long dn;
	size_t len;

	if (a->have_user || n == 0 || (n == 1 && p[0] == '*'))
		return;
	buf = xmalloc(n);
	dn = b64_decode(p, n, buf, 0);
	if (dn > 0) {
		u = buf;
		len = (size_t)dn;
		if (plain) {
			z = memchr(buf, '\0', len);
			if (z == NULL)
				goto out;
			u = z + 1;
			len -= (size_t)(u - buf);
			z = memchr(u, '\0', len);
			if (z == NULL)
				goto out;
			len = (size_t)(z - u);
		} else if ((z = memchr(u, '\0', len)) != NULL)
			len = (size_t)(z - u);
		len = MIN(len, USER_MAX);
		memcpy(a->user, u, len);
		a->user[len] = '\0';
		a->have_user = 1;
	}
out:
	sb_wipe(buf, n);
	free(buf);
}

/* RFC 4954 4 and 6: the gateway's answer to AUTH in the clear where the
 * class wants credentials only under TLS; the line is not forwarded. */
static const char R_AUTH_TLS[] =
    "538 5.7.11 Encryption required for requested authentication mechanism";

static size_t
cmd_auth(struct smtp_session *s, const char *p, size_t len, size_t clen,
    const char *args, size_t alen, int exact)
{
	struct auth *a;
	size_t i, k, ir;

	if (s->auth_tls_only) {
		local_reply(s, R_AUTH_TLS, NULL);
		return len;
	}
	auth_free(s);
	a = s->auth = xcalloc(1, sizeof(*a));
	if (exact) {
		for (i = 0, k = 0; i < alen && !is_ws(args[i]); i++) {
			char c = (char)toupper((unsigned char)args[i]);

			if (k < MECH_MAX && (isalnum((unsigned char)c) ||
			    c == '-' || c == '_'))
				a->mech[k++] = c;
		}
		a->mech[k] = '\0';
		while (i < alen && is_ws(args[i]))
			i++;
		ir = i;
		while (i < alen && !is_ws(args[i]))
			i++;
		if (i > ir && !(i - ir == 1 && args[ir] == '=')) {
			if (strcmp(a->mech, "PLAIN") == 0)
				auth_user_from(a, args + ir, i - ir, 1);
			else if (strcmp(a->mech, "LOGIN") == 0) {
				auth_user_from(a, args + ir, i - ir, 0);
				a->login_ir = 1;
			}
		}
	}
	fwd_line(s, p, len, clen);
	q_push(s, C_AUTH);
	s->sync = 1;
	return len;
}

/* auth_cont - a line answering 334 (RFC 4954 4): forwarded, never kept.
 * A line the gateway cannot forward is replaced by "*", the client's own
 * way to cancel, so that the upstream leaves the exchange too. */
static void
auth_cont(struct smtp_session *s, const char *p, size_t len, size_t clen,
    int ok)
{
	struct auth *a = s->auth;

	s->cmode = M_CMD;
	if (!ok) {
		to_upstream(s, "*\r\n", 3);
	} else {
		if (a != NULL && a->n334 == 1) {
			if (strcmp(a->mech, "PLAIN") == 0)
				auth_user_from(a, p, clen, 1);
			else if (strcmp(a->mech, "LOGIN") == 0 && !a->login_ir)
				auth_user_from(a, p, clen, 0);
		}
		fwd_line(s, p, len, clen);
	}
	q_push(s, C_AUTH);
	s->sync = 1;
}

/* command - one complete command line; len with, clen without terminator.
 * Returns len, or 0 if the line stays held for a verdict. */
static size_t
command(struct smtp_session *s, const char *p, size_t len, size_t clen)
{
	const char *v, *args;
	size_t i = 0, vs, vlen, alen;

	while (i < clen && is_ws(p[i]))
		i++;
	vs = i;
	while (i < clen && !is_ws(p[i]))
		i++;
	v = p + vs;
	vlen = i - vs;
	while (i < clen && is_ws(p[i]))
		i++;
	args = p + i;
	alen = clen - i;
	while (alen > 0 && is_ws(args[alen - 1]))
		alen--;

	if (verb_is(v, vlen, "EHLO") || verb_is(v, vlen, "HELO")) {
		/* RFC 5321 4.1.4: EHLO/HELO resets the transaction, once
		 * the upstream accepts it (reply_done). */
		s->ehlo = copy_str(s->ehlo, args, alen, HOST_MAX);
		fwd_line(s, p, len, clen);
		q_push(s, C_EHLO)->seq = s->txn != NULL ? s->txn->id : 0;
		return len;
	}
	if (verb_starts(v, vlen, "MAIL"))
		return cmd_mail(s, p, len, clen, args, alen);
	if (verb_starts(v, vlen, "RCPT"))
		return cmd_rcpt(s, p, len, clen, args, alen);
	if (verb_is(v, vlen, "BDAT"))
		return cmd_bdat(s, p, len, clen);
	if (verb_starts(v, vlen, "DATA")) {
		fwd_line(s, p, len, clen);
		q_push(s, C_DATA);
		s->sync = 1;
		return len;
	}
	if (verb_starts(v, vlen, "AUTH"))
		return cmd_auth(s, p, len, clen, args, alen,
		    verb_is(v, vlen, "AUTH"));
	if (verb_starts(v, vlen, "STARTTLS"))
		return cmd_starttls(s, p, len, clen);
	if (verb_is(v, vlen, "RSET") || verb_is(v, vlen, "QUIT")) {
		/* The transaction ends on the upstream's 2xx (reply_done):
		 * "RSET x" is refused with 501 and the server keeps it. */
		fwd_line(s, p, len, clen);
		q_push(s, verb_is(v, vlen, "QUIT") ? C_QUIT : C_RSET)->seq =
		    s->txn != NULL ? s->txn->id : 0;
		return len;
	}
	fwd_line(s, p, len, clen);
	q_push(s, C_OTHER);
	return len;
}

/* line_limit - the bound of the line starting at p: AUTH lines may be
 * longer (RFC 4954 4: 12288 octets). */
static size_t
line_limit(const struct smtp_session *s, const char *p, size_t n)
{
	size_t i = 0;

	if (s->cmode == M_AUTHCONT)
		return s->max_auth_line;
	while (i < n && is_ws(p[i]))
		i++;
	if (n - i < 4 || strncasecmp(p + i, "AUTH", 4) == 0)
		return MAX(s->max_line, s->max_auth_line);
	return s->max_line;
}

static void
line_refused(struct smtp_session *s, const char *why)
{
	if (s->cmode == M_AUTHCONT)
		auth_cont(s, NULL, 0, 0, 0);
	else {
		s->ncommands++;
		local_reply(s, why, NULL);
	}
}

/* line_fault - why a command line (without its terminator) is refused
 * before any server sees it, or NULL. Servers differ on control bytes:
 * Postfix and Sendmail split words at any isspace() byte (VT, FF, ...),
 * aiosmtpd only at SP, so such a line is one command to one server and
 * another (or none) to the next (RFC 5321 4.1.1: commands are printable
 * text). HT is too common in the wild to refuse; every server that splits
 * at it agrees with the gateway, the others answer 500. */
static const char *
line_fault(const char *p, size_t clen)
{
	const char *why = NULL;
	size_t i;

	for (i = 0; i < clen; i++) {
		if (p[i] == '\0' || p[i] == '\r')
			return R_BADLINE;
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
			why = R_CTRL;
	}
	return why;
}

/* line_step - parse one line at p: bytes consumed, or 0 if more are needed
 * or the line is held for a verdict. RFC 5321 2.3.8: lines end in CRLF; a
 * bare LF is accepted and forwarded as CRLF, a CR inside is refused. A
 * command starting with white space is refused too: Postfix skips it,
 * aiosmtpd reads an unknown command (RFC 5321 4.1.1: the verb comes
 * first). */
static size_t
line_step(struct smtp_session *s, const char *p, size_t n)
{
	const char *lf, *why;
	size_t len, clen, lim, r;

	lf = memchr(p, '\n', n);
	if (s->discard) {
		if (lf == NULL)
			return n;
		s->discard = 0;
		return (size_t)(lf - p) + 1;
	}
	lim = line_limit(s, p, n);
	if (lf == NULL) {
		if (n >= lim) {
			line_refused(s, R_TOOLONG);
			s->discard = 1;
			return n;
		}
		return 0;
	}
	len = (size_t)(lf - p) + 1;
	if (len > lim) {
		line_refused(s, R_TOOLONG);
		return len;
	}
	clen = len - 1;
	if (clen > 0 && p[clen - 1] == '\r')
		clen--;
	why = line_fault(p, clen);
	if (why == NULL && s->cmode == M_CMD && clen > 0 && is_ws(p[0]))
		why = R_LEADWS;
	if (why != NULL) {
		line_refused(s, why);
		return len;
	}
	if (s->cmode == M_AUTHCONT) {
		auth_cont(s, p, len, clen, 1);
		return len;
	}
	r = command(s, p, len, clen);
	if (r > 0)
		s->ncommands++;
	return r;
}

/* Client: message content -------------------------------------------- */

struct run {
	const char *p;
	size_t n;
};

static void
data_out(struct smtp_session *s, const char *p, size_t n)
{
	to_upstream(s, p, n);
	if (s->dtxn != NULL) {
		s->dtxn->pub.size += n;
		hdr_scan(s->dtxn, p, n);
	}
}

static void
run_flush(struct smtp_session *s, struct run *r)
{
	if (r->n > 0)
		data_out(s, r->p, r->n);
	r->n = 0;
}

/* run_span - forward n input bytes at c, coalesced with their neighbours. */
static void
run_span(struct smtp_session *s, struct run *r, const char *c, size_t n)
{
	if (r->n > 0 && r->p + r->n == c)
		r->n += n;
	else {
		run_flush(s, r);
		r->p = c;
		r->n = n;
	}
}

static void
run_add(struct smtp_session *s, struct run *r, const char *c)
{
	run_span(s, r, c, 1);
}

static void
run_str(struct smtp_session *s, struct run *r, const char *str, size_t n)
{
	run_flush(s, r);
	data_out(s, str, n);
}

static void
dataend_pass(struct smtp_session *s)
{
	struct pend *e;
	struct txn *t = s->dtxn;

	to_upstream(s, ".\r\n", 3);
	e = q_push(s, C_DOT);
	e->txn = t;
	if (s->txn == t)
		s->txn = NULL;
	s->dtxn = NULL;
	s->cmode = M_CMD;
}

/* data_end - the final "." line was seen; it is forwarded only once the
 * policy passes the message. */
static void
data_end(struct smtp_session *s)
{
	struct smtp_txn pt;

	s->cmode = M_DOTWAIT;
	if (s->dtxn == NULL) {
		ask(s, SMTP_AT_DATA_END, "", probe(s, &pt, 0, ""));
		return;
	}
	mid_end(s->dtxn);
	txn_sync(s->dtxn);
	ask(s, SMTP_AT_DATA_END, "", &s->dtxn->pub);
}

static void
dataend_apply(struct smtp_session *s)
{
	char *reply;
	int kind = verdict_take(s, &reply);

	if (kind == SMTP_PASS)
		dataend_pass(s);
	else {
		s->cmode = M_CMD;
		policy_refuse_data(s, s->dtxn, reply);
	}
	free(reply);
}

/* bare_refuse - a bare CR or LF under BARE_REJECT. Part of the message is
 * already upstream, so the only safe refusal is to never send its end. */
static void
bare_refuse(struct smtp_session *s)
{
	struct txn *t = s->dtxn;

	if (t != NULL) {
		if (s->txn == t)
			s->txn = NULL;
		t->pub.data_reply_code = 554;
		t->reply = copy_str(t->reply, R_BARE, sizeof(R_BARE) - 1,
		    REPLY_KEEP);
		txn_end(s, t, "refused_by_policy");
	}
	s->cmode = M_CMD;
	local_reply(s, R_BARE, "bare_newline");
}

/* data_scan - DATA content (RFC 5321 4.5.2 transparency kept as is) up to
 * the final "." line. Every line ending the gateway accepts is sent as
 * CRLF (BARE_NORMALIZE) or refused (BARE_REJECT), so that gateway and
 * upstream find the same end of data (SMTP smuggling). */
static size_t
data_scan(struct smtp_session *s, const char *p, size_t n)
{
	struct run r = { NULL, 0 };
	int reject = s->conf->bare_newline == BARE_REJECT;
	const char *lf, *cr;
	size_t i = 0, end;
	char c;

	while (i < n) {
		c = p[i];
		switch (s->ds) {
		case DS_DOT:
			if (c == '\r') {
				s->ds = DS_DOTCR;
				i++;
				continue;
			}
			if (c == '\n') {
				if (reject)
					goto bare;
				s->normalized++;
				run_flush(s, &r);
				data_end(s);
				return i + 1;
			}
			if (i > 0)
				run_add(s, &r, p + i - 1);
			else
				run_str(s, &r, ".", 1);
			s->ds = DS_MID;
			continue;
		case DS_DOTCR:
			if (c == '\n') {
				run_flush(s, &r);
				data_end(s);
				return i + 1;
			}
			if (reject)
				goto bare;
			s->normalized++;
			run_flush(s, &r);
			data_end(s);
			return i;
		case DS_CR:
			if (c == '\n') {
				if (i > 0)
					run_add(s, &r, p + i - 1);
				else
					run_str(s, &r, "\r", 1);
				run_add(s, &r, p + i);
				s->ds = DS_BOL;
				i++;
				continue;
			}
			if (reject)
				goto bare;
			s->normalized++;
			run_str(s, &r, "\r\n", 2);
			s->ds = DS_BOL;
			continue;
		case DS_BOL:
			if (c == '.') {
				s->ds = DS_DOT;
				i++;
				continue;
			}
			/* FALLTHROUGH */
		default:
			if (c == '\r') {
				s->ds = DS_CR;
				i++;
				continue;
			}
			if (c == '\n') {
				if (reject)
					goto bare;
				s->normalized++;
				run_str(s, &r, "\r\n", 2);
				s->ds = DS_BOL;
				i++;
				continue;
			}
			/* the rest of the line up to its CR or LF in one step */
			lf = memchr(p + i, '\n', n - i);
			end = lf != NULL ? (size_t)(lf - p) : n;
			if ((cr = memchr(p + i, '\r', end - i)) != NULL)
				end = (size_t)(cr - p);
			run_span(s, &r, p + i, end - i);
			s->ds = DS_MID;
			i = end;
			continue;
		}
	}
	run_flush(s, &r);
	return n;
bare:
	run_flush(s, &r);
	bare_refuse(s);
	return n;
}

static size_t
bdat_take(struct smtp_session *s, const char *p, size_t n)
{
	size_t k = n;

	if ((uint64_t)k > s->bdat_left)
		k = (size_t)s->bdat_left;
	data_out(s, p, k);
	s->bdat_left -= k;
	if (s->bdat_left == 0) {
		s->cmode = M_CMD;
		s->dtxn = NULL;
	}
	return k;
}

/* consume - parse client bytes until they run out or input must be held;
 * returns the bytes consumed. */
static size_t
consume(struct smtp_session *s, const char *p, size_t n)
{
	size_t i = 0, r;
	unsigned char mode;

	while (!s->closed && !s->tunnel) {
		if (s->cmode == M_DOTWAIT && s->dstate == D_READY)
			dataend_apply(s);
		if (s->closed || i == n || blocked(s))
			break;
		mode = s->cmode;
		switch (s->cmode) {
		case M_DATA:
			r = data_scan(s, p + i, n - i);
			break;
		case M_BDAT:
			r = bdat_take(s, p + i, n - i);
			break;
		default:
			r = line_step(s, p + i, n - i);
			break;
		}
		if (r == 0 && mode == s->cmode)
			break;
		i += r;
	}
	return i;
}

/* client_drain - parse held client input as far as it goes now. */
static void
client_drain(struct smtp_session *s)
{
	size_t c;

	for (;;) {
		if (s->closed || s->tunnel)
			return;
		if (s->in.len == 0) {
			consume(s, "", 0);
			return;
		}
		c = consume(s, s->in.p, s->in.len);
		if (c == 0)
			return;
		in_consume(s, c);
	}
}

/* Upstream: replies -------------------------------------------------- */

static void
up_protocol_error(struct smtp_session *s)
{
	to_client(s, R_UPPROTO, sizeof(R_UPPROTO) - 1);
	to_client(s, "\r\n", 2);
	sess_close(s, "upstream_protocol");
}

/* go_tunnel - RFC 3207 4.2: after 220 nothing sent in the clear counts;
 * plaintext the client pipelined after STARTTLS is dropped (CVE-2011-0411). */
static void
go_tunnel(struct smtp_session *s)
{
	struct smtp_event ev;

	s->dropped += s->in.len;
	in_consume(s, s->in.len);
	txn_abort(s);
	auth_free(s);
	up_clear(s);
	if (s->closed)
		return;
	s->cls = SMTP_CLASS_TLS;
	memset(&ev, 0, sizeof(ev));
	ev.kind = SMTP_EV_TUNNEL;
	ev.arg = "";
	emit(s, &ev);
	s->tunnel = 1;
}

static void
auth_done(struct smtp_session *s, int code)
{
	struct smtp_event ev;
	struct auth *a = s->auth;

	if (code == 334) {
		if (a != NULL)
			a->n334++;
		s->cmode = M_AUTHCONT;
		return;
	}
	if (code == 235 && a != NULL) {
		s->auth_mech = copy_str(s->auth_mech, a->mech, strlen(a->mech),
		    MECH_MAX);
		s->auth_user = copy_str(s->auth_user, a->user, strlen(a->user),
		    USER_MAX);
		if (s->cls == SMTP_CLASS_MX)
			s->cls = SMTP_CLASS_SUBMISSION;
		auth_free(s);
		memset(&ev, 0, sizeof(ev));
		ev.kind = SMTP_EV_AUTH;
		ev.arg = "";
		emit(s, &ev);
		return;
	}
	auth_free(s);
}

/* reply_done - the last line of a reply to the head command (e), or of an
 * unsolicited reply (e NULL), has been forwarded. */
static void
reply_done(struct smtp_session *s, int code)
{
	struct pend *e;
	struct txn *t;
	unsigned seq;
	char *str;
	int kind, ok = code >= 200 && code < 300;

	if (s->qlen == 0) {
		if (code == 421)
			sess_close(s, "upstream_421");
		return;
	}
	e = q_at(s, 0);
	kind = e->kind;
	seq = e->seq;
	str = e->str;
	t = e->txn;
	e->str = NULL;
	e->txn = NULL;
	q_pop(s);

	switch (kind) {
	case C_MAIL:
		if (seq == 0)
			s->sync = 0;
		if (seq == 0 && ok && str != NULL) {
			txn_abort(s);
			if (s->closed)
				break;
			s->txn = txn_new(s, str);
		} else if (s->txn != NULL && s->txn->pub.seq == seq && !ok) {
			/* RFC 5321 3.3: no transaction was started. */
			if (s->seq == seq)
				s->seq--;
			if (s->dtxn == s->txn)
				s->dtxn = NULL;	/* a pipelined BDAT chunk */
			txn_free(s->txn);
			s->txn = NULL;
		}
		break;
	case C_EHLO:
		/* RFC 5321 4.1.4: an accepted EHLO/HELO resets the
		 * transaction and the extensions; a refused one neither. */
		if (ok) {
			txn_reset(s, seq);
			s->chunking = s->ehlo_chunking;
		}
		s->ehlo_chunking = 0;
		break;
	case C_RSET:
		if (ok)
			txn_reset(s, seq);
		break;
	case C_RCPT:
		if (s->txn != NULL && seq != 0 && s->txn->pub.seq == seq) {
			if (ok) {
				s->txn->pub.nrcpts_accepted++;
				txn_keep_rcpt(s, s->txn, &str);
			} else
				s->txn->pub.nrcpts_refused++;
		}
		break;
	case C_DATA:
		s->sync = 0;
		if (code == 354) {
			s->cmode = M_DATA;
			s->ds = DS_BOL;
			s->dtxn = s->txn;
		}
		break;
	case C_DOT:
	case C_BDAT_LAST:
		if (t != NULL) {
			t->pub.data_reply_code = code;
			txn_end(s, t, ok ? "accepted" : "rejected");
		}
		break;
	case C_AUTH:
		s->sync = 0;
		auth_done(s, code);
		break;
	case C_STARTTLS:
		s->sync = 0;
		if (code == 220) {
			free(str);
			go_tunnel(s);
			return;
		}
		break;
	case C_QUIT:
		if (ok) {
			free(str);
			sess_close(s, "quit");
			return;
		}
		break;
	}
	free(str);
	if (code == 421) {
		/* RFC 5321 3.8: the server is closing the channel. */
		sess_close(s, "upstream_421");
		return;
	}
	if (kind != C_GREETING)
		note_reply(s, code);
	flush_locals(s);
	client_drain(s);
}

/* chunk_open - the head of the FIFO is the BDAT whose chunk is still being
 * forwarded: inside a chunk only local answers (smtp_shutdown) can queue
 * behind it. */
static int
chunk_open(const struct smtp_session *s)
{
	size_t i;

	if (s->cmode != M_BDAT)
		return 0;
	for (i = 1; i < s->qlen; i++)
		if (q_at(s, i)->kind != C_LOCAL)
			return 0;
	return 1;
}

/* up_line - one upstream reply line (n with its LF): -1 once the session
 * has ended or become a tunnel. RFC 5321 4.2: "ddd" then SP, "-" or end. */
static int
up_line(struct smtp_session *s, const char *p, size_t n)
{
	struct pend *e = s->qlen > 0 ? q_at(s, 0) : NULL;
	size_t clen = n - 1, i, k;
	int code, last;

	if (clen > 0 && p[clen - 1] == '\r')
		clen--;
	if ((code = smtp_reply_line(p, clen, &last)) == 0)
		goto bad;
	s->reply_bytes += n;
	if (s->reply_bytes > s->max_reply)
		goto bad;
	if (code == 354 && (e == NULL || e->kind != C_DATA))
		goto bad;
	if (code == 334 && (e == NULL || e->kind != C_AUTH))
		goto bad;

	if (e != NULL && e->kind == C_GREETING && !s->in_reply &&
	    code == 220 && s->greeting_host == NULL && clen > 4) {
		for (i = 4; i < clen && is_ws(p[i]); i++)
			;
		for (k = i; k < clen && !is_ws(p[k]); k++)
			;
		s->greeting_host = copy_str(NULL, p + i, k - i, HOST_MAX);
	}
	if (e != NULL && e->kind == C_EHLO && code == 250 && clen >= 12 &&
	    strncasecmp(p + 4, "CHUNKING", 8) == 0 &&
	    (clen == 12 || is_ws(p[12])))
		s->ehlo_chunking = 1;
	/* RFC 3030 2: a BDAT is answered after its chunk; a reply to the
	 * one whose chunk is still being forwarded would end a message
	 * whose octets the record has not seen. */
	if (e != NULL && (e->kind == C_BDAT || e->kind == C_BDAT_LAST) &&
	    chunk_open(s))
		goto bad;
	if (e != NULL && (e->kind == C_DOT || e->kind == C_BDAT_LAST) &&
	    e->txn != NULL)
		txn_data_reply(e->txn, p, clen);

	to_client(s, p, n);
	s->in_reply = !last;
	if (last) {
		s->reply_bytes = 0;
		reply_done(s, code);
	}
	return s->closed || s->tunnel ? -1 : 0;
bad:
	up_protocol_error(s);
	return -1;
}

/* API ---------------------------------------------------------------- */

struct smtp_session *
smtp_new(const struct smtp_conf *conf, const struct smtp_io *io, void *ctx)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->conf = conf;
	s->io = *io;
	s->ctx = ctx;
	s->in.secret = 1;
	s->max_line = MAX(conf->max_line, 16);
	s->max_auth_line = MAX(conf->max_auth_line, s->max_line);
	s->max_reply = MAX(conf->max_reply, s->max_line);
	s->max_pipeline = MAX(conf->max_pipeline, 1);
	s->max_held = MAX(conf->max_held, 1);
	s->cls = SMTP_CLASS_MX;
	s->cmode = M_CMD;
	q_push(s, C_GREETING);
	return s;
}

void
smtp_free(struct smtp_session *s)
{
	size_t i;
	struct pend *e;

	if (s == NULL)
		return;
	for (i = 0; i < s->qlen; i++) {
		e = q_at(s, i);
		free(e->str);
		txn_free(e->txn);
	}
	free(s->q);
	txn_free(s->txn);
	in_consume(s, s->in.len);
	up_clear(s);
	auth_free(s);
	free(s->vreply);
	free(s->greeting_host);
	free(s->ehlo);
	free(s->auth_mech);
	free(s->auth_user);
	free(s);
}

int
smtp_feed_client(struct smtp_session *s, const void *buf, size_t len)
{
	const char *p = buf, *lf;
	size_t take, lim, c;
	char head[8];

	if (s->closed || s->tunnel)
		return SG_ECLOSED;
	if (s->busy)
		return SG_EINVAL;
	if (len == 0)
		return 0;
	s->busy++;
	if (blocked(s) && s->in.len >= s->max_held) {
		/* the glue ignored smtp_want_client() */
		to_client(s, R_HELD, sizeof(R_HELD) - 1);
		to_client(s, "\r\n", 2);
		sess_close(s, "protocol_error");
		goto out;
	}
	if (s->in.len > 0 && !blocked(s) &&
	    (s->cmode == M_CMD || s->cmode == M_AUTHCONT)) {
		/* complete the partial line held in inbuf */
		lf = memchr(p, '\n', len);
		take = lf != NULL ? (size_t)(lf - p) + 1 : len;
		c = MIN(s->in.len, sizeof(head));
		memcpy(head, s->in.p, c);
		memcpy(head + c, p, MIN(sizeof(head) - c, take));
		lim = line_limit(s, head, c + MIN(sizeof(head) - c, take));
		if (s->in.len + take > lim ||
		    (lf == NULL && s->in.len + take >= lim)) {
			in_consume(s, s->in.len);
			line_refused(s, R_TOOLONG);
			s->discard = lf == NULL;
		} else {
			in_append(s, p, take);
			if (lf != NULL && (c = consume(s, s->in.p, s->in.len)) > 0)
				in_consume(s, c);
		}
		p += take;
		len -= take;
	}
	if (s->in.len > 0 || blocked(s)) {
		in_append(s, p, len);
		client_drain(s);
		goto out;
	}
	c = consume(s, p, len);
	if (c < len && !s->closed && !s->tunnel)
		in_append(s, p + c, len - c);
out:
	s->busy--;
	return 0;
}

int
smtp_feed_upstream(struct smtp_session *s, const void *buf, size_t len)
{
	const char *p = buf, *lf;
	size_t take, n;

	if (s->closed || s->tunnel)
		return SG_ECLOSED;
	if (s->busy)
		return SG_EINVAL;
	s->busy++;
	if (s->up.len > 0 && len > 0) {
		lf = memchr(p, '\n', len);
		take = lf != NULL ? (size_t)(lf - p) + 1 : len;
		if (s->up.len + take > s->max_line ||
		    (lf == NULL && s->up.len + take >= s->max_line)) {
			up_protocol_error(s);
			goto out;
		}
		buf_add(&s->up, p, take);
		p += take;
		len -= take;
		if (lf == NULL)
			goto out;
		n = s->up.len;
		s->up.len = 0;
		if (up_line(s, s->up.p, n) < 0)
			goto out;
		up_clear(s);
	}
	while (len > 0) {
		lf = memchr(p, '\n', len);
		if (lf == NULL) {
			if (len >= s->max_line)
				up_protocol_error(s);
			else
				buf_add(&s->up, p, len);
			break;
		}
		n = (size_t)(lf - p) + 1;
		if (n > s->max_line) {
			up_protocol_error(s);
			break;
		}
		if (up_line(s, p, n) < 0)
			break;
		p += n;
		len -= n;
	}
out:
	eof_settle(s);
	s->busy--;
	return 0;
}

/* eof_settle - the client has closed its sending half, perhaps right after
 * pipelining its last commands (printf ... | nc -N does that): what it sent
 * is still processed and the replies due are still delivered; the session
 * ends once nothing more can come of it. A message cut off mid-DATA ends
 * here too, without its final dot, so the upstream does not deliver it. */
static void
eof_settle(struct smtp_session *s)
{
	if (!s->client_eof || s->closed || s->tunnel)
		return;
	client_drain(s);
	if (!s->closed && !s->tunnel && s->qlen == 0 && s->dstate != D_ASKED)
		sess_close(s, "client_eof");
}

void
smtp_eof(struct smtp_session *s, enum smtp_side from)
{
	if (s->closed || s->tunnel || s->busy)
		return;
	s->busy++;
	if (from == SMTP_CLIENT) {
		s->client_eof = 1;
		eof_settle(s);
	} else {
		/* Not inside a multi-line reply the client is reading. */
		if (!s->in_reply) {
			to_client(s, R_UPEOF, sizeof(R_UPEOF) - 1);
			to_client(s, "\r\n", 2);
		}
		sess_close(s, "upstream_eof");
	}
	s->busy--;
}

void
smtp_decide(struct smtp_session *s, const struct smtp_verdict *v)
{
	if (s->closed || s->tunnel || s->dstate != D_ASKED)
		return;
	s->vkind = v != NULL ? (int)v->kind : SMTP_PASS;
	free(s->vreply);
	s->vreply = s->vkind != SMTP_PASS ? verdict_text(v->reply) : NULL;
	s->dstate = D_READY;
	if (s->busy == 0) {
		s->busy++;
		client_drain(s);
		eof_settle(s);
		s->busy--;
	}
}

void
smtp_ask_starttls(struct smtp_session *s, int on)
{
	s->ask_tls = on ? 1 : 0;
}

void
smtp_refuse_cleartext_auth(struct smtp_session *s, int on)
{
	s->auth_tls_only = on ? 1 : 0;
}

/* smtp_shutdown - the reply goes out at once if no reply is awaited (also
 * inside DATA: RFC 5321 3.8 lets a server send 421 at any time), else as
 * the answer to the next command, after the replies already due. */
void
smtp_shutdown(struct smtp_session *s, const char *reply)
{
	char *text;

	if (s->closed || s->tunnel || s->ending)
		return;
	text = verdict_text(reply != NULL ? reply : R_SHUTDOWN);
	if (s->qlen == 0) {
		s->closing = 1;
		s->busy++;
		send_local(s, text, "shutdown");
		s->busy--;
	} else if (!s->closing)
		local_reply(s, text, "shutdown");
	free(text);
}

int
smtp_want_client(const struct smtp_session *s)
{
	if (s->closed || s->tunnel)
		return 0;
	return !(blocked(s) && s->in.len >= s->max_held);
}

uint32_t
smtp_timeout(const struct smtp_session *s, enum smtp_wait *who)
{
	const struct smtp_timeouts *t = &s->conf->timeouts;

	if (s->cmode == M_BDAT || s->cmode == M_DATA) {
		*who = SMTP_WAIT_CLIENT;
		return t->data_block;
	}
	if (s->qlen > 0) {
		*who = SMTP_WAIT_UPSTREAM;
		switch (q_at(s, 0)->kind) {
		case C_GREETING:
			return t->greeting;
		case C_DATA:
			return t->data_init;
		case C_DOT:
		case C_BDAT_LAST:
			return t->data_end;
		default:
			return t->command;
		}
	}
	if (s->cmode == M_DOTWAIT) {
		*who = SMTP_WAIT_UPSTREAM;
		return t->data_end;
	}
	*who = SMTP_WAIT_CLIENT;
	return t->client_idle;
}

static size_t
str_bytes(const char *p)
{
	return p != NULL ? strlen(p) + 1 : 0;
}

size_t
smtp__heap_bytes(const struct smtp_session *s)
{
	return sizeof(*s) + s->qcap * sizeof(struct pend) + s->in.cap +
	    s->up.cap + (s->txn != NULL ? sizeof(struct txn) : 0) +
	    (s->auth != NULL ? sizeof(struct auth) : 0) +
	    str_bytes(s->greeting_host) + str_bytes(s->ehlo) +
	    str_bytes(s->auth_mech) + str_bytes(s->auth_user) +
	    str_bytes(s->vreply);
}

void
smtp_get_info(const struct smtp_session *s, struct smtp_info *out)
{
	memset(out, 0, sizeof(*out));
	out->cls = (enum smtp_class)s->cls;
	out->greeting_host = s->greeting_host != NULL ? s->greeting_host : "";
	out->ehlo = s->ehlo != NULL ? s->ehlo : "";
	out->auth_mech = s->auth_mech != NULL ? s->auth_mech : "";
	out->auth_user = s->auth_user != NULL ? s->auth_user : "";
	out->ntxn = s->ntxn;
	out->ncommands = s->ncommands;
	out->nerrors = s->nerrors;
	out->dropped_after_starttls = s->dropped;
	out->normalized_newlines = s->normalized;
}
