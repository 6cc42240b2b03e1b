/*
 * relay.c - one SMTP relay session: the thin libuv glue around the sans-I/O
 * core (smtp.h). The core decides what to forward and what to answer; this
 * file moves the bytes, keeps the timer, asks the policy and writes the
 * record.
 *
 * Ownership: struct relay owns the client's uv_tcp_t, the upstream's
 * uv_tcp_t (once connecting), one uv_timer_t, the core and the audit record.
 * relay_close() is the one teardown point (idempotent, with a reason); the
 * memory goes in the close callback of the last handle (relay_free). Write
 * and connect callbacks always run before the close callback of their
 * handle, so they may use the handle's owner; anything that answers later
 * from outside (the policy) finds the session by sess_key instead.
 *
 * Memory while idle (the 6000-idle-sessions budget): no read buffer (the
 * worker's 64 KiB buffer is lent to whichever read is in progress), no write
 * request unless a peer is slow, no connect request once connected.
 *
 * Smarthost redirect (policy verdict SMTP_REDIRECT at connect): the upstream
 * is the operator's smarthost instead of the original destination. Before
 * the core exists, phase PH_SMARTHOST runs the gateway's own client
 * handshake with it (smarthost.h: EHLO, STARTTLS, AUTH, XCLIENT with the
 * subscriber's address); its greeting then goes to the core as the
 * upstream's greeting, so the subscriber gets the smarthost's 220 and talks
 * to it from EHLO on. Once STARTTLS was accepted, every upstream byte
 * passes through r->tls (tls.h): up_send encrypts, up_read decrypts;
 * queued[UP] and the timer see ciphertext, the record counts plaintext.
 *
 * Re-entrancy: the core calls relay_send/relay_event from inside
 * smtp_feed_*, smtp_eof, smtp_decide and smtp_shutdown. Those callbacks only
 * write or set flags; everything that changes the session's shape (closing,
 * switching to the tunnel, read state, the timer) happens in relay_progress()
 * after the outermost core call returns.
 */
#include "util.h"	/* before uv.h: sys/param.h defines MIN/MAX too */
#include "relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "dest_deny.h"
#include "err.h"
#include "identity.h"
#include "intercept.h"
#include "log.h"
#include "policy.h"
#include "policy_core.h"
#include "secbuf.h"
#include "smarthost.h"
#include "smtp.h"
#include "tls.h"
#include "tunnel.h"
#include "worker.h"

enum { CL = 0, UP = 1 };

#define FLUSH_TIMEOUT_MS 30000	/* EV_CLOSE / EV_TUNNEL: time to write what is queued */
#define SHUTDOWN_GRACE_MS 10000	/* after smtp_shutdown: time for the core to end */
#define PROGRESS_BYTES 1024	/* client data that counts as progress for the timer */

#define TLS_CHUNK (16 * 1024)	/* one TLS record of plaintext */
#define REPLY_TEXT_MAX PC_REPLY_MAX	/* the gateway's own replies, NUL incl. */

enum relay_phase { PH_POLICY, PH_CONNECTING, PH_SMARTHOST, PH_SMTP };

/* The smarthost's TLS context: made by relay_init on the main thread before
 * the workers start, shared read-only by them afterwards. */
static struct tls_ctx *sh_tls_ctx;

struct relay {
	struct sess_hdr hdr;		/* first: the worker's registry points here */
	uv_tcp_t h[2];			/* client, upstream */
	uv_timer_t timer;
	struct smtp_session *smtp;
	struct sh *sh;			/* PH_SMARTHOST: the handshake with the smarthost */
	struct tls *tls;		/* upstream under TLS (smarthost only) */
	uv_connect_t *creq;
	struct audit_session rec;
	size_t queued[2];		/* bytes in write requests toward each side */
	uint64_t drained[2];		/* queued bytes the socket has since taken */
	uint64_t t_deadline;		/* uv_now() based; SMTP wait deadline */
	uint64_t t_max;			/* session_max_time deadline, 0 = none */
	uint64_t t_prog;		/* progress counter when the timer was armed */
	uint32_t t_ms;
	uint32_t t_ncmd;
	uint8_t t_who;			/* enum smtp_wait when armed */
	uint8_t t_armed;
	uint8_t phase;
	uint8_t init;			/* bit per side: handle initialised */
	uint8_t reading;		/* bit per side */
	uint8_t eof;			/* bit per side */
	uint8_t nhandles;		/* open handles; free at 0 */
	uint8_t in_core;		/* depth of core calls on the stack */
	struct buf ob[2];		/* output of one core call, per side */
	unsigned closing : 1;		/* relay_close ran */
	unsigned close_pending : 1;	/* EV_CLOSE: flush, then close */
	unsigned tunnel_pending : 1;	/* EV_TUNNEL: flush, then hand over */
	unsigned handed_off : 1;	/* the record now belongs to a tunnel */
	struct policy_sess *pol;	/* policy state; a tunnel's after handoff */
	unsigned deciding : 1;		/* a policy answer is awaited */
	unsigned shutdown_sent : 1;	/* smtp_shutdown called */
	unsigned flush_armed : 1;
	unsigned redirected : 1;	/* upstream is the smarthost */
	/* the class's credential options, taken once at accept */
	unsigned auth_tls_only : 1;	/* refuse_cleartext_auth */
	unsigned tls_refusal_closes : 1; /* starttls_refusal: close */
	uint8_t decide_point;		/* enum smtp_point of the question */
	const char *pending_reason;	/* for close_pending */
	const char *timeout_reason;	/* overrides the core's reason */
};

struct wreq {
	uv_write_t req;
	struct relay *r;
	size_t len;
	uint8_t side;
	char data[];
};

static void relay_close(struct relay *r, const char *reason);
static void write_failed(struct relay *r, int side, int err);
static void relay_progress(struct relay *r);
static void relay_connect(struct relay *r);

static const char *
side_name(int side)
{
	return side == CL ? "client" : "upstream";
}

static const struct config *
conf_of(const struct relay *r)
{
	return r->hdr.w->conf;
}

static void
peer_addrs(const struct relay *r, union sockaddr_any *src, union sockaddr_any *dst)
{
	audit_addr_get(&r->rec.src, src);
	audit_addr_get(&r->rec.dst, dst);
}

/* Teardown ----------------------------------------------------------- */

static void
relay_free(struct relay *r)
{
	struct smtp_info info;

	if (r->smtp != NULL) {
		if (!r->handed_off) {
			smtp_get_info(r->smtp, &info);
			audit_session_fill(&r->rec, &info);
		}
		smtp_free(r->smtp);
		r->smtp = NULL;
	}
	sh_free(r->sh);
	tls_free(r->tls);
	buf_free(&r->ob[CL]);
	buf_free(&r->ob[UP]);
	if (!r->handed_off) {
		policy_session_end(r->pol, &r->rec);
		r->pol = NULL;
		audit_write_session(conf_of(r), &r->rec);
		audit_log_end(&r->rec);
		worker_count_bytes(r->hdr.w, r->rec.mode, r->rec.bytes_from_client,
		    r->rec.bytes_to_client, r->rec.bytes_to_upstream,
		    r->rec.bytes_from_upstream);
		audit_session_free(&r->rec);
	}
	worker_release(&r->hdr);
	free(r);
}

static void
close_cb(uv_handle_t *h)
{
	struct relay *r = h->data;

	if (--r->nhandles == 0)
		relay_free(r);
}

/* relay_close - the one teardown point: close every handle now. Pending
 * writes are cancelled (use close_pending to flush first). */
static void
relay_close(struct relay *r, const char *reason)
{
	if (r->closing)
		return;
	r->closing = 1;
	if (!r->handed_off && r->rec.end_reason[0] == '\0')
		audit_session_set_reason(&r->rec, r->timeout_reason != NULL
		    ? r->timeout_reason : reason);
	r->rec.end_ms = now_ms();
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, close_cb);
	for (int s = CL; s <= UP; s++)
		if (r->init & (1u << s))
			uv_close((uv_handle_t *)&r->h[s], close_cb);
}

void
relay_abort(struct relay *r, const char *reason)
{
	relay_close(r, reason);
}

/* Writing ------------------------------------------------------------ */

/* wreq_free - a write request's copy toward the upstream may hold the
 * client's AUTH line (plaintext unless TLS is on): wiped, like ob[UP]. */
static void
wreq_free(struct wreq *wr)
{
	if (wr->side == UP)
		sb_wipe(wr->data, wr->len);
	free(wr);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct wreq *wr = (struct wreq *)req;
	struct relay *r = wr->r;
	int side = wr->side;

	r->queued[side] -= wr->len;
	if (status == 0)
		r->drained[side] += wr->len;
	wreq_free(wr);
	if (r->closing)
		return;
	if (status < 0) {
		write_failed(r, side, status);
		return;
	}
	relay_progress(r);
}

/* sock_write - bytes onto side's socket: try a zero-copy write first; copy
 * only what the socket did not take. */
static void
sock_write(struct relay *r, int side, const void *p, size_t n)
{
	uv_stream_t *st = (uv_stream_t *)&r->h[side];
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
	struct wreq *wr;
	size_t done = 0;
	int rc;

	if (r->closing || n == 0 || !(r->init & (1u << side)))
		return;
	if (r->queued[side] == 0) {
		rc = uv_try_write(st, &b, 1);
		if (rc >= 0)
			done = (size_t)rc;
		else if (rc != UV_EAGAIN)
			goto fail;
		if (done == n)
			return;
	}
	wr = xmalloc(sizeof(*wr) + n - done);
	memcpy(wr->data, (const char *)p + done, n - done);
	wr->r = r;
	wr->len = n - done;
	wr->side = (uint8_t)side;
	b = uv_buf_init(wr->data, (unsigned)wr->len);
	if ((rc = uv_write(&wr->req, st, &b, 1, write_cb)) < 0) {
		wreq_free(wr);
		goto fail;
	}
	r->queued[side] += wr->len;
	return;
fail:
	write_failed(r, side, rc);
}

/* tls_flush - the ciphertext the TLS engine has made, onto the upstream. */
static void
tls_flush(struct relay *r)
{
	char buf[TLS_CHUNK];
	size_t n;

	while (r->tls != NULL && !r->closing &&
	    (n = tls_out(r->tls, buf, sizeof(buf))) > 0)
		sock_write(r, UP, buf, n);
}

static void up_tls_error(struct relay *r);

/* up_send - plaintext for the upstream, through TLS once it is up. */
static void
up_send(struct relay *r, const void *p, size_t n)
{
	if (r->tls == NULL) {
		sock_write(r, UP, p, n);
		return;
	}
	if (tls_write(r->tls, p, n) < 0) {
		if (r->phase == PH_SMARTHOST) {
			up_tls_error(r);
			return;
		}
		/* inside a core callback: no smtp_eof from here */
		char e[300];
		const char *t = tls_error(r->tls);

		log_warn("event=upstream_tls_error id=%s error=%s", r->rec.id,
		    log_esc(e, sizeof(e), t, strlen(t)));
		relay_close(r, "upstream_tls_error");
		return;
	}
	tls_flush(r);
}

/* relay_emit - bytes for one side, counted for the record as plaintext. */
static void
relay_emit(struct relay *r, int side, const void *p, size_t n)
{
	if (r->closing || n == 0 || !(r->init & (1u << side)))
		return;
	if (side == CL) {
		r->rec.bytes_to_client += n;
		sock_write(r, CL, p, n);
	} else {
		r->rec.bytes_to_upstream += n;
		up_send(r, p, n);
	}
}

/* relay_write - what the core sends is gathered while it runs and written
 * when the outermost core call returns (core_leave): a multi-line reply or
 * a batch of pipelined commands leaves in one write(2), not one per line.
 * The core's pointers are valid only during its send callback, hence the
 * copy; the buffer is freed once written, so an idle session holds none. */
static void
relay_write(struct relay *r, int side, const void *p, size_t n)
{
	if (r->closing || n == 0 || !(r->init & (1u << side)))
		return;
	if (r->in_core == 0) {
		relay_emit(r, side, p, n);
		return;
	}
	buf_add(&r->ob[side], p, n);
}

/* client_reply - the gateway's own one-line reply to the client: text
 * (a policy reply is at most PC_REPLY_MAX - 1 octets, after %l/%r) cut to
 * what the line holds, then CRLF. */
static void
client_reply(struct relay *r, const char *text)
{
	char line[REPLY_TEXT_MAX + 2];

	relay_write(r, CL, line, fmt_trunc(line, sizeof(line), "%.*s\r\n",
	    (int)strnlen(text, REPLY_TEXT_MAX - 1), text));
}

static void
core_enter(struct relay *r)
{
	r->in_core++;
}

/* core_leave - after the outermost core call, write what it sent. */
static void
core_leave(struct relay *r)
{
	struct buf o;
	int side;

	if (--r->in_core > 0)
		return;
	for (side = UP; side >= CL; side--) {
		o = r->ob[side];
		if (o.len == 0)
			continue;
		r->ob[side] = (struct buf){ .secret = o.secret };
		relay_emit(r, side, o.p, o.len);
		buf_free(&o);
	}
}

/* Core callbacks ----------------------------------------------------- */

static void
core_send(void *ctx, enum smtp_side to, const void *p, size_t n)
{
	relay_write(ctx, to == SMTP_CLIENT ? CL : UP, p, n);
}

static void decide_cb(const struct sess_key *key, const struct smtp_verdict *v,
    void *arg);

static void
core_event(void *ctx, const struct smtp_event *ev)
{
	struct relay *r = ctx;
	struct policy_req req;
	union sockaddr_any src, dst;

	switch (ev->kind) {
	case SMTP_EV_DECIDE:
		r->decide_point = (uint8_t)ev->point;
		peer_addrs(r, &src, &dst);
		memset(&req, 0, sizeof(req));
		sess_key_of(&r->hdr, &req.key);
		req.session_id = r->rec.id;
		req.point = ev->point;
		req.src = &src;
		req.dst = &dst;
		req.arg = ev->arg;
		req.txn = ev->txn;
		req.ps = r->pol;
		{
			struct smtp_info info;

			smtp_get_info(r->smtp, &info);
			req.cls = info.cls;
		}
		r->deciding = 1;
		policy_ask(&req, decide_cb, r->hdr.w);
		break;
	case SMTP_EV_TXN:
		WSTAT_ADD(r->hdr.w, txns, 1);
		audit_write_txn(conf_of(r), &r->rec, ev->txn);
		log_debug("event=txn id=%s seq=%u outcome=%s rcpts=%zu size=%llu",
		    r->rec.id, ev->txn->seq, ev->txn->outcome,
		    ev->txn->nrcpts_accepted, (unsigned long long)ev->txn->size);
		break;
	case SMTP_EV_AUTH:
		log_debug("event=auth id=%s", r->rec.id);
		break;
	case SMTP_EV_TUNNEL:
		r->tunnel_pending = 1;
		break;
	case SMTP_EV_CLOSE:
		if (!r->close_pending) {
			r->close_pending = 1;
			/* The core's reasons are string literals. */
			r->pending_reason = ev->reason != NULL ? ev->reason : "closed";
		}
		break;
	}
}

static int64_t
core_now(void *ctx)
{
	return now_ms();
}

static const struct smtp_io relay_io = {
	.send = core_send, .event = core_event, .now_ms = core_now
};

/* starttls_refusal_close - the class ends the session where the policy
 * refused STARTTLS (starttls_refusal: close) rather than let it go on in
 * the clear: a 454 becomes 421 with the same text (RFC 5321 3.8, 4.2.5),
 * a 554 stays; the session closes once it is sent. */
static const struct smtp_verdict *
starttls_refusal_close(struct relay *r, const struct smtp_verdict *v,
    struct smtp_verdict *out, char reply[REPLY_TEXT_MAX])
{
	const char *t = v->reply != NULL ? v->reply : "";

	*out = *v;
	out->kind = SMTP_REFUSE_CLOSE;
	if (t[0] == '4' && strlen(t) >= 3) {
		fmt_trunc(reply, REPLY_TEXT_MAX, "421%s", t + 3);
		out->reply = reply;
	}
	log_info("event=starttls_refused_close id=%s why=%s", r->rec.id,
	    v->why != NULL ? v->why : "");
	return out;
}

/* decide_cb - the policy's answer to an SMTP_EV_DECIDE, now or later. */
static void
decide_cb(const struct sess_key *key, const struct smtp_verdict *v, void *arg)
{
	struct sess_hdr *h = worker_lookup(arg, key);
	struct relay *r = (struct relay *)h;
	struct smtp_verdict closing;
	char reply[REPLY_TEXT_MAX];

	if (h == NULL || h->kind != SESS_RELAY || r->closing || !r->deciding ||
	    r->smtp == NULL)
		return;
	r->deciding = 0;
	if (r->decide_point == SMTP_AT_STARTTLS && v->kind == SMTP_REFUSE &&
	    r->tls_refusal_closes)
		v = starttls_refusal_close(r, v, &closing, reply);
	core_enter(r);
	smtp_decide(r->smtp, v);
	core_leave(r);
	if (r->in_core == 0)
		relay_progress(r);
}

/* Reading ------------------------------------------------------------ */

/* alloc_cb - lend the worker's read buffer. Safe because libuv calls
 * alloc_cb, read(2) and read_cb back to back for one read, and read_cb
 * consumes the bytes before returning (the core copies what it holds;
 * relay_write copies what the socket did not take). */
static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct relay *r = h->data;

	buf->base = r->hdr.w->rbuf;
	buf->len = WORKER_RBUF_SIZE;
}

static void smarthost_next(struct relay *r);
static void smarthost_failed(struct relay *r);

/* side_eof - a side closed its write half or failed (err: a libuv code). */
static void
side_eof(struct relay *r, int side, int err)
{
	uv_read_stop((uv_stream_t *)&r->h[side]);
	r->eof |= (uint8_t)(1u << side);
	r->reading &= (uint8_t)~(1u << side);
	if (err != UV_EOF)
		log_debug("event=read_error id=%s side=%s error=\"%s\"",
		    r->rec.id, side_name(side), uv_strerror(err));
	if (side == UP && r->phase == PH_SMARTHOST) {
		sh_fail(r->sh, "smarthost_eof", err == UV_EOF
		    ? "smarthost closed the connection" : uv_strerror(err));
		smarthost_failed(r);
		return;
	}
	if (r->smtp == NULL)
		return;
	core_enter(r);
	smtp_eof(r->smtp, side == CL ? SMTP_CLIENT : SMTP_UPSTREAM);
	core_leave(r);
	relay_progress(r);
}

/* write_failed - a write to one side failed. An upstream that resets while
 * the client is sending (often mid-DATA) shows up here before its read side
 * reports it: handle it as the upstream's end, so the client gets its
 * 421 4.4.2 and the transaction is recorded as aborted, not lost. */
static void
write_failed(struct relay *r, int side, int err)
{
	log_debug("event=write_error id=%s side=%s error=\"%s\"", r->rec.id,
	    side_name(side), uv_strerror(err));
	if (side == UP && r->phase == PH_SMTP && r->smtp != NULL) {
		if (!(r->eof & (1u << UP)))
			side_eof(r, UP, err);
		else
			relay_progress(r);	/* the close already pending */
		return;
	}
	relay_close(r, side == CL ? "client_write_error" : "upstream_write_error");
}

/* up_tls_error - TLS with the smarthost failed (reading, or writing outside
 * the core): before the relay starts the subscriber gets the smarthost
 * failure reply, later it is the upstream's end. */
static void
up_tls_error(struct relay *r)
{
	char e[300];
	const char *t = tls_error(r->tls);

	if (r->closing)
		return;
	if (r->phase == PH_SMARTHOST) {
		sh_fail(r->sh, "smarthost_tls", t);
		smarthost_failed(r);
		return;
	}
	log_warn("event=upstream_tls_error id=%s error=%s", r->rec.id,
	    log_esc(e, sizeof(e), t, strlen(t)));
	side_eof(r, UP, UV_EOF);
}

/* up_plain - upstream plaintext: to the smarthost handshake, else the core. */
static void
up_plain(struct relay *r, const char *p, size_t n)
{
	if (r->phase == PH_SMARTHOST) {
		sh_feed(r->sh, p, n);
		smarthost_next(r);
		return;
	}
	if (r->smtp == NULL)
		return;
	r->rec.bytes_from_upstream += n;
	core_enter(r);
	smtp_feed_upstream(r->smtp, p, n);
	core_leave(r);
}

/* up_read - upstream bytes while the smarthost handshake runs or TLS is
 * on: drive the TLS handshake, decrypt, pass the plaintext on. */
static void
up_read(struct relay *r, const char *p, size_t n)
{
	char plain[TLS_CHUNK];
	ssize_t got = 0;
	int rc;

	if (r->tls == NULL) {
		up_plain(r, p, n);
		relay_progress(r);
		return;
	}
	if (tls_feed(r->tls, p, n) < 0) {
		up_tls_error(r);
		return;
	}
	if (r->phase == PH_SMARTHOST && sh_state(r->sh) == SH_TLS) {
		rc = tls_handshake(r->tls);
		tls_flush(r);
		if (rc < 0) {
			up_tls_error(r);
			return;
		}
		if (rc > 0 || r->closing)
			return;
		log_info("event=smarthost_tls id=%s version=%s cipher=%s",
		    r->rec.id, tls_version(r->tls), tls_cipher(r->tls));
		sh_tls_ready(r->sh);
		smarthost_next(r);
	}
	while (!r->closing && !r->close_pending &&
	    (got = tls_read(r->tls, plain, sizeof(plain))) > 0)
		up_plain(r, plain, (size_t)got);
	tls_flush(r);	/* anything the records read asked for */
	if (r->closing)
		return;
	if (got == SG_ECLOSED) {
		side_eof(r, UP, UV_EOF);	/* close_notify */
		return;
	}
	if (got < 0) {
		up_tls_error(r);
		return;
	}
	relay_progress(r);
}

static void
read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct relay *r = st->data;
	int side = st == (uv_stream_t *)&r->h[CL] ? CL : UP;

	if (nread == 0 || r->closing)
		return;
	if (nread < 0) {
		side_eof(r, side, (int)nread);
		return;
	}
	if (side == UP && (r->tls != NULL || r->phase == PH_SMARTHOST)) {
		up_read(r, buf->base, (size_t)nread);
		return;
	}
	core_enter(r);
	if (side == CL) {
		r->rec.bytes_from_client += (uint64_t)nread;
		smtp_feed_client(r->smtp, buf->base, (size_t)nread);
	} else {
		r->rec.bytes_from_upstream += (uint64_t)nread;
		smtp_feed_upstream(r->smtp, buf->base, (size_t)nread);
	}
	core_leave(r);
	if (side == CL)	/* the worker's buffer: the next session's read */
		sb_wipe(buf->base, (size_t)nread);
	relay_progress(r);
}

static void
set_reading(struct relay *r, int side, int want)
{
	uint8_t bit = (uint8_t)(1u << side);

	if (want && !(r->reading & bit)) {
		if (uv_read_start((uv_stream_t *)&r->h[side], alloc_cb, read_cb) == 0)
			r->reading |= bit;
	} else if (!want && (r->reading & bit)) {
		uv_read_stop((uv_stream_t *)&r->h[side]);
		r->reading &= (uint8_t)~bit;
	}
}

/* update_reading - backpressure: read a side only while the core wants its
 * bytes and what is queued toward the peers stays within limits.buffer. */
static void
update_reading(struct relay *r)
{
	size_t lim = conf_of(r)->buffer_limit;
	int ok = r->phase == PH_SMTP && !r->close_pending && !r->tunnel_pending &&
	    !r->closing;
	int upq = lim > 0 && r->queued[UP] > lim;
	int clq = lim > 0 && r->queued[CL] > lim;

	set_reading(r, CL, ok && !(r->eof & 1) && !upq && !clq &&
	    smtp_want_client(r->smtp));
	set_reading(r, UP, ok && !(r->eof & 2) && !clq);
}

/* Timer -------------------------------------------------------------- */

static void timer_cb(uv_timer_t *t);

/* arm - the session's one timer, due at uv_now time due. A session closed
 * meanwhile (a write failed under the caller) keeps it stopped. */
static void
arm(struct relay *r, uint64_t due)
{
	uint64_t now = uv_now(&r->hdr.w->loop);

	if (r->closing)
		return;
	uv_timer_start(&r->timer, timer_cb, due > now ? due - now : 0, 0);
}

/* rearm - one timer per session. The SMTP deadline is restarted only on
 * progress: the kind of wait changed, a command completed, or (waiting for
 * the client inside DATA/BDAT) PROGRESS_BYTES more arrived; waiting for the
 * upstream, any reply bytes count. A client trickling a byte at a time
 * therefore cannot push the deadline; session_max_time caps the rest.
 * While the side we wait for is not being read because its peer does not
 * take what is queued (backpressure), that peer's draining is the progress:
 * a slow reader must not get the other side timed out. */
static void
rearm(struct relay *r)
{
	struct smtp_info info;
	enum smtp_wait who;
	uint32_t ms = smtp_timeout(r->smtp, &who);
	uint64_t now = uv_now(&r->hdr.w->loop), prog, due;
	int progress;

	smtp_get_info(r->smtp, &info);
	prog = who == SMTP_WAIT_CLIENT
	    ? r->rec.bytes_from_client + r->drained[UP]
	    : r->rec.bytes_from_upstream + r->drained[CL];
	progress = !r->t_armed || who != r->t_who || ms != r->t_ms;
	if (who == SMTP_WAIT_CLIENT)
		progress = progress || info.ncommands != r->t_ncmd ||
		    prog - r->t_prog >= PROGRESS_BYTES;
	else
		progress = progress || prog != r->t_prog;
	if (progress) {
		r->t_armed = 1;
		r->t_who = (uint8_t)who;
		r->t_ms = ms;
		r->t_ncmd = info.ncommands;
		r->t_prog = prog;
		r->t_deadline = now + ms;
	}
	due = r->t_deadline;
	if (r->t_max != 0 && r->t_max < due)
		due = r->t_max;
	arm(r, due);
}

/* do_shutdown - the gateway ends the session with reply. upstream_stuck:
 * the upstream is the one that timed out. */
static void
do_shutdown(struct relay *r, const char *reply, const char *reason,
    int upstream_stuck)
{
	if (r->timeout_reason == NULL)
		r->timeout_reason = reason;
	if (r->smtp == NULL || r->phase != PH_SMTP) {
		/* Not relaying yet: nothing to keep in order. A session
		 * already ending has had its last word (a drain after a
		 * refusal must not add a second 421). */
		if (!r->close_pending) {
			client_reply(r, reply);
			r->close_pending = 1;
			r->pending_reason = reason;
		}
	} else if (!r->shutdown_sent) {
		r->shutdown_sent = 1;
		core_enter(r);
		smtp_shutdown(r->smtp, reply);
		core_leave(r);
		if (!r->close_pending && upstream_stuck) {
			/* The core keeps the reply until the upstream answers
			 * the command at the head of the queue, which it will
			 * not: the 421 is the answer to that command. */
			client_reply(r, reply);
			r->close_pending = 1;
			r->pending_reason = reason;
		}
		arm(r, uv_now(&r->hdr.w->loop) + SHUTDOWN_GRACE_MS);
	}
	relay_progress(r);
}

static void
connect_failed(struct relay *r, const char *why)
{
	char d[ADDRPORT_STRLEN], text[REPLY_TEXT_MAX];
	union sockaddr_any src, dst;

	peer_addrs(r, &src, &dst);
	if (r->redirected)
		dst = conf_of(r)->smarthost.address;
	addr_fmt(&dst, d, sizeof(d));
	WSTAT_ADD(r->hdr.w, connect_failed, 1);
	log_warn("event=upstream_connect_failed id=%s dst=%s error=\"%s\"",
	    r->rec.id, d, why);
	if (r->redirected) {
		WSTAT_ADD(r->hdr.w, smarthost_failed, 1);
		client_reply(r, "421 4.4.1 Mail relay unavailable, try again "
		    "later (subgate)");
	} else {
		fmt_trunc(text, sizeof(text), "421 4.4.1 Cannot reach %s: %s "
		    "(subgate)", d, why);
		client_reply(r, text);
	}
	r->close_pending = 1;
	r->pending_reason = "upstream_connect_failed";
	relay_progress(r);
}

static void
timer_cb(uv_timer_t *t)
{
	struct relay *r = t->data;
	uint64_t now = uv_now(&r->hdr.w->loop);

	if (r->closing)
		return;
	if (r->close_pending || r->tunnel_pending) {
		/* a peer did not take what was queued in time */
		relay_close(r, r->close_pending ? r->pending_reason : "tunnel_flush_timeout");
		return;
	}
	if (r->shutdown_sent) {
		/* the core did not end after smtp_shutdown */
		relay_close(r, r->timeout_reason != NULL ? r->timeout_reason : "shutdown");
		return;
	}
	switch (r->phase) {
	case PH_POLICY:
		return;
	case PH_CONNECTING:
		connect_failed(r, "connection timed out");
		return;
	case PH_SMARTHOST:
		sh_fail(r->sh, "smarthost_timeout", "smarthost did not finish "
		    "the handshake in time (smtp.timeouts.greeting)");
		smarthost_failed(r);
		return;
	case PH_SMTP:
		break;
	}
	if (r->t_max != 0 && now >= r->t_max)
		do_shutdown(r, "421 4.4.2 Session time limit reached (subgate)",
		    "session_max_time", 0);
	else if (r->t_who == SMTP_WAIT_CLIENT ? r->queued[UP] == 0 : r->queued[CL] > 0)
		/* silent client, or one that does not read its replies */
		do_shutdown(r, "421 4.4.2 Timeout waiting for client (subgate)",
		    "client_timeout", 0);
	else
		do_shutdown(r, "421 4.4.1 Upstream did not answer in time (subgate)",
		    "upstream_timeout", 1);
}

/* Tunnel hand-over --------------------------------------------------- */

/* handoff - STARTTLS was accepted and everything is written: dup both
 * sockets, close the uv handles (which closes the originals and removes
 * them from epoll) and give the duplicates to the tunnel. The dup keeps the
 * TCP connections open across the uv_close. */
static void
handoff(struct relay *r)
{
	struct smtp_info info;
	int cfd = -1, ufd = -1;
	uv_os_fd_t a, b;

	if (r->tls != NULL) {
		/* a subscriber's STARTTLS accepted inside the gateway's own
		 * TLS with the smarthost: there is no socket to hand over */
		log_warn("event=tunnel_handoff_failed id=%s error=\"STARTTLS "
		    "inside the smarthost's TLS\"", r->rec.id);
		relay_close(r, "tunnel_handoff_failed");
		return;
	}
	if (uv_fileno((uv_handle_t *)&r->h[CL], &a) < 0 ||
	    uv_fileno((uv_handle_t *)&r->h[UP], &b) < 0 ||
	    (cfd = dup(a)) < 0 || (ufd = dup(b)) < 0) {
		log_warn("event=tunnel_handoff_failed id=%s error=\"%s\"",
		    r->rec.id, strerror(errno));
		if (cfd >= 0)
			close(cfd);
		relay_close(r, "tunnel_handoff_failed");
		return;
	}
	smtp_get_info(r->smtp, &info);
	audit_session_fill(&r->rec, &info);
	r->rec.cls = "tls";
	r->handed_off = 1;
	WSTAT_ADD(r->hdr.w, starttls_tunnels, 1);
	tunnel_adopt(r->hdr.w, cfd, ufd, &r->rec, r->pol);
	r->pol = NULL;
	relay_close(r, "starttls");
}

/* relay_progress - after every outermost event: carry out what the core
 * asked for, then adjust reading and the timer. */
static void
relay_progress(struct relay *r)
{
	if (r->closing || r->in_core > 0)
		return;
	if (r->close_pending || r->tunnel_pending) {
		set_reading(r, CL, 0);
		set_reading(r, UP, 0);
		if (r->queued[CL] == 0 && r->queued[UP] == 0) {
			if (r->close_pending)
				relay_close(r, r->pending_reason);
			else
				handoff(r);
			return;
		}
		if (!r->flush_armed) {
			r->flush_armed = 1;
			arm(r, uv_now(&r->hdr.w->loop) + FLUSH_TIMEOUT_MS);
		}
		return;
	}
	if (r->phase != PH_SMTP)
		return;
	update_reading(r);
	if (!r->shutdown_sent)
		rearm(r);
}

/* Smarthost ---------------------------------------------------------- */

/* rec_host - a record's address as text (buf: ADDR_STRLEN); NULL if it
 * has none. */
static const char *
rec_host(const struct audit_addr *o, char *buf)
{
	union sockaddr_any a;

	if (o->family != AF_INET && o->family != AF_INET6)
		return NULL;
	audit_addr_get(o, &a);
	return addr_ntop(&a, buf, ADDR_STRLEN);
}

/* smarthost_start - connected to the smarthost: its handshake comes first,
 * bounded as a whole by the greeting timeout (the subscriber waits for a
 * greeting meanwhile). */
static void
smarthost_start(struct relay *r)
{
	const struct config *c = conf_of(r);
	const struct smarthost_conf *sc = &c->smarthost;
	struct sh_params p;
	char src[ADDR_STRLEN], dst[ADDR_STRLEN];

	memset(&p, 0, sizeof(p));
	if (sc->xclient == SMARTHOST_XCLIENT_AUTO) {
		p.xclient = 1;
		p.client_addr = rec_host(&r->rec.src, src);
		p.client_port = r->rec.src.port;
		p.dest_addr = rec_host(&r->rec.dst, dst);
		p.dest_port = r->rec.dst.port;
	}
	p.helo = sc->helo_name != NULL ? sc->helo_name : c->node;
	p.starttls = sc->starttls == SMARTHOST_TLS_REQUIRE ? SH_TLS_REQUIRE
	    : sc->starttls == SMARTHOST_TLS_OPPORTUNISTIC ? SH_TLS_OPPORTUNISTIC
	    : SH_TLS_OFF;
	p.user = sc->auth_user;
	p.password = sc->auth_password.value;
	p.max_line = c->smtp.max_line;
	p.max_reply = c->smtp.max_reply;
	r->sh = sh_new(&p);
	r->phase = PH_SMARTHOST;
	set_reading(r, UP, 1);
	arm(r, uv_now(&r->hdr.w->loop) + c->smtp.timeouts.greeting);
}

/* smarthost_ready - the handshake is done: start the core and give it the
 * smarthost's greeting as the upstream's (relayed to the subscriber). */
static void
smarthost_ready(struct relay *r)
{
	const struct config *c = conf_of(r);
	static const char *const xc[] = { "none", "sent", "refused" };
	char d[ADDRPORT_STRLEN], e[300];
	const char *g, *err = sh_error(r->sh);
	size_t n;

	log_info("event=smarthost_ready id=%s smarthost=%s tls=%s auth=%s "
	    "xclient=%s", r->rec.id,
	    addr_fmt(&c->smarthost.address, d, sizeof(d)),
	    r->tls != NULL ? tls_version(r->tls) : "none",
	    *sh_auth_mech(r->sh) ? sh_auth_mech(r->sh) : "none",
	    xc[sh_xclient(r->sh)]);
	if (sh_xclient(r->sh) == SH_XCLIENT_REFUSED)
		log_warn("event=smarthost_xclient_refused id=%s smarthost=%s "
		    "error=%s", r->rec.id, d,
		    log_esc(e, sizeof(e), err, strlen(err)));
	r->phase = PH_SMTP;
	r->smtp = smtp_new(&c->smtp, &relay_io, r);
	smtp_ask_starttls(r->smtp, 1);
	smtp_refuse_cleartext_auth(r->smtp, r->auth_tls_only);
	if (c->session_max_time > 0)
		r->t_max = uv_now(&r->hdr.w->loop) + c->session_max_time;
	g = sh_greeting(r->sh, &n);
	r->rec.bytes_from_upstream += n;
	core_enter(r);
	smtp_feed_upstream(r->smtp, g, n);
	core_leave(r);
	sh_free(r->sh);
	r->sh = NULL;
}

/* smarthost_failed - the subscriber gets the handshake's 421 instead of a
 * greeting; the session ends once it is written. */
static void
smarthost_failed(struct relay *r)
{
	char d[ADDRPORT_STRLEN], e[300];
	const char *err = sh_error(r->sh);

	if (r->closing || r->close_pending)
		return;
	WSTAT_ADD(r->hdr.w, smarthost_failed, 1);
	log_warn("event=smarthost_failed id=%s smarthost=%s step=%s reason=%s "
	    "error=%s", r->rec.id,
	    addr_fmt(&conf_of(r)->smarthost.address, d, sizeof(d)),
	    sh_step(r->sh), sh_reason(r->sh), log_esc(e, sizeof(e), err,
	    strlen(err)));
	client_reply(r, sh_reply(r->sh));
	r->close_pending = 1;
	r->pending_reason = sh_reason(r->sh);	/* a string literal */
	relay_progress(r);
}

/* smarthost_next - send what the handshake wrote, then act on its state. */
static void
smarthost_next(struct relay *r)
{
	const struct smarthost_conf *sc = &conf_of(r)->smarthost;
	const char *p;
	size_t n;
	int rc;

	p = sh_output(r->sh, &n);
	if (n > 0) {
		up_send(r, p, n);
		sh_output_done(r->sh);
	}
	if (r->closing || r->close_pending || r->phase != PH_SMARTHOST)
		return;
	switch (sh_state(r->sh)) {
	case SH_WAIT:
		break;
	case SH_TLS:
		if (r->tls != NULL)
			break;
		/* RFC 3207 4: 220 to STARTTLS, the TLS handshake starts now */
		if (sh_tls_ctx == NULL ||
		    (r->tls = tls_new(sh_tls_ctx, sc->verify_name)) == NULL) {
			sh_fail(r->sh, "smarthost_tls", "no TLS context");
			smarthost_failed(r);
			break;
		}
		rc = tls_handshake(r->tls);	/* ClientHello */
		tls_flush(r);
		if (rc < 0)
			up_tls_error(r);
		break;
	case SH_DONE:
		smarthost_ready(r);
		break;
	case SH_FAIL:
		smarthost_failed(r);
		break;
	}
}

int
relay_init(const struct config *c, char *err, size_t errlen)
{
	const struct smarthost_conf *sc = &c->smarthost;

	if (sc->address.sa.sa_family == AF_UNSPEC ||
	    sc->starttls == SMARTHOST_TLS_OFF)
		return 0;
	if ((sh_tls_ctx = tls_ctx_new(sc->ca_file, err, errlen)) == NULL)
		return SG_ETLS;
	return 0;
}

void
relay_cleanup(void)
{
	tls_ctx_free(sh_tls_ctx);
	sh_tls_ctx = NULL;
}

/* Connecting --------------------------------------------------------- */

static void
connect_cb(uv_connect_t *req, int status)
{
	struct relay *r = req->data;

	free(req);
	r->creq = NULL;
	if (status == UV_ECANCELED || r->closing)
		return;
	if (r->close_pending) {
		/* the session ended while connecting (a drain): the upstream
		 * is not used, the flush of the client's 421 goes on under
		 * its own timer */
		relay_progress(r);
		return;
	}
	uv_timer_stop(&r->timer);
	if (status < 0) {
		connect_failed(r, uv_strerror(status));
		return;
	}
	uv_tcp_nodelay(&r->h[UP], 1);
	{
		/* the upstream side, what the MX logs (audit_record.h) */
		union sockaddr_any local;
		int len = sizeof(local);

		if (uv_tcp_getsockname(&r->h[UP], &local.sa, &len) == 0)
			audit_addr_set(&r->rec.up_src, &local);
	}
	if (r->redirected) {
		smarthost_start(r);
		return;
	}
	r->phase = PH_SMTP;
	r->smtp = smtp_new(&conf_of(r)->smtp, &relay_io, r);
	/* STARTTLS is a decision point: tls connections and concurrency */
	smtp_ask_starttls(r->smtp, 1);
	smtp_refuse_cleartext_auth(r->smtp, r->auth_tls_only);
	if (conf_of(r)->session_max_time > 0)
		r->t_max = uv_now(&r->hdr.w->loop) + conf_of(r)->session_max_time;
	/* The upstream's greeting comes first and is relayed by the core. */
	relay_progress(r);
}

static void
relay_connect(struct relay *r)
{
	const struct config *c = conf_of(r);
	union sockaddr_any src, dst;
	int fd, rc;

	peer_addrs(r, &src, &dst);
	if (r->redirected) {
		/* The smarthost relays for the gateway, not for subscribers'
		 * addresses: connect from the gateway's own address (an
		 * AF_UNSPEC source means no transparent bind). */
		dst = c->smarthost.address;
		memset(&src, 0, sizeof(src));
	}
	r->phase = PH_CONNECTING;
	fd = intercept_upstream_socket(c, &c->listeners[r->rec.listener], &src, &dst);
	if (fd < 0) {
		connect_failed(r, strerror(-fd));
		return;
	}
	uv_tcp_init(&r->hdr.w->loop, &r->h[UP]);
	r->h[UP].data = r;
	r->init |= 1u << UP;
	r->nhandles++;
	if ((rc = uv_tcp_open(&r->h[UP], fd)) < 0) {
		close(fd);
		connect_failed(r, uv_strerror(rc));
		return;
	}
	r->creq = xmalloc(sizeof(*r->creq));
	r->creq->data = r;
	if ((rc = uv_tcp_connect(r->creq, &r->h[UP], &dst.sa, connect_cb)) < 0) {
		free(r->creq);
		r->creq = NULL;
		connect_failed(r, uv_strerror(rc));
		return;
	}
	arm(r, uv_now(&r->hdr.w->loop) + c->connect_timeout);
}

/* connect_verdict - the policy's answer at connect (SMTP_AT_CONNECT). */
static void
connect_verdict(const struct sess_key *key, const struct smtp_verdict *v,
    void *arg)
{
	struct sess_hdr *h = worker_lookup(arg, key);
	struct relay *r = (struct relay *)h;

	if (h == NULL || h->kind != SESS_RELAY || r->closing || !r->deciding)
		return;
	r->deciding = 0;
	if (v->kind == SMTP_PASS) {
		relay_connect(r);
		return;
	}
	if (v->kind == SMTP_REDIRECT) {
		const union sockaddr_any *sa = &conf_of(r)->smarthost.address;
		char d[ADDRPORT_STRLEN];

		if (sa->sa.sa_family == AF_UNSPEC) {
			/* config.c refuses action redirect without one */
			log_err("event=redirect_failed id=%s error=\"no smarthost "
			    "configured\"", r->rec.id);
			do_shutdown(r, v->reply != NULL ? v->reply
			    : "421 4.3.0 Mail relay not configured (subgate)",
			    "redirect_unconfigured", 0);
			return;
		}
		r->redirected = 1;
		WSTAT_ADD(r->hdr.w, redirected, 1);
		audit_addr_set(&r->rec.redirected_to, sa);
		log_info("event=redirect id=%s smarthost=%s why=%s", r->rec.id,
		    addr_fmt(sa, d, sizeof(d)), v->why != NULL ? v->why : "");
		relay_connect(r);
		return;
	}
	r->rec.cls = "blocked";
	do_shutdown(r, v->reply != NULL ? v->reply : "554 5.7.1 Refused by policy (subgate)",
	    "policy", 0);
}

/* deny_dest - upstream.deny (dest_deny.h): refuse with 554 5.7.1 before the
 * policy counts the session or any upstream is dialled; 1 if refused. The
 * fixed upstream of an intercept: none listener is the operator's choice,
 * not the subscriber's, and is never checked. */
static int
deny_dest(struct relay *r, const union sockaddr_any *dst, int loop)
{
	static const char deny_reply[] = "554 5.7.1 This destination cannot be "
	    "reached through this gateway (subgate)";
	static const char loop_reply[] = "554 5.4.6 Routing loop: the "
	    "destination is this gateway";
	const struct config *c = conf_of(r);
	struct cidr_prefix hit;
	char d[ADDRPORT_STRLEN], p[CIDR_STRLEN];

	if (loop) {
		/* counted and logged by the listener (event=loop_refused) */
		r->rec.cls = "blocked";
		audit_session_add_decision(&r->rec, "connect", "loop",
		    loop_reply, "none");
		do_shutdown(r, loop_reply, "loop", 0);
		return 1;
	}
	if (c->listeners[r->rec.listener].intercept == INTERCEPT_NONE ||
	    !dest_deny_refuses(dst, &hit))
		return 0;
	log_warn("event=destination_denied id=%s dst=%s prefix=%s", r->rec.id,
	    addr_fmt(dst, d, sizeof(d)), cidr_fmt(&hit, p, sizeof(p)));
	r->rec.cls = "blocked";
	audit_session_add_decision(&r->rec, "connect", "upstream.deny",
	    deny_reply, "none");
	do_shutdown(r, deny_reply, "upstream_denied", 0);
	return 1;
}

/* Public ------------------------------------------------------------- */

void
relay_start(struct worker *w, int listener, int fd,
    const union sockaddr_any *src, const union sockaddr_any *dst, int loop)
{
	struct relay *r = xcalloc(1, sizeof(*r));
	struct policy_req req;
	struct identity id;
	char s[ADDRPORT_STRLEN], d[ADDRPORT_STRLEN];
	int rc;

	worker_register(w, &r->hdr, SESS_RELAY);
	WSTAT_ADD(w, smtp_sessions, 1);
	audit_session_init(&r->rec, w->id, w->seq++, listener, LISTEN_SMTP, src, dst);
	/* who the source is now, decided once: the record keeps it as it
	 * was, the policy counts it (policy_session_new below) */
	identity_lookup(src, r->rec.start_ms, &id);
	audit_session_set_identity(&r->rec, id.subscriber,
	    identity_source_name(id.source), id.cls->name);
	r->auth_tls_only = id.cls->refuse_cleartext_auth != 0;
	r->tls_refusal_closes = id.cls->starttls_refusal ==
	    STARTTLS_REFUSAL_CLOSE;
	/* the client's AUTH lines pass through the upstream output */
	r->ob[UP].secret = 1;
	uv_timer_init(&w->loop, &r->timer);
	r->timer.data = r;
	r->nhandles = 1;
	uv_tcp_init(&w->loop, &r->h[CL]);
	r->h[CL].data = r;
	r->init |= 1u << CL;
	r->nhandles++;
	log_debug("event=session_start id=%s worker=%d listener=%d mode=smtp src=%s dst=%s",
	    r->rec.id, w->id, listener, addr_fmt(src, s, sizeof(s)),
	    addr_fmt(dst, d, sizeof(d)));
	if ((rc = uv_tcp_open(&r->h[CL], fd)) < 0) {
		close(fd);
		log_warn("event=session_error id=%s error=\"%s\"", r->rec.id,
		    uv_strerror(rc));
		relay_close(r, "client_error");
		return;
	}
	uv_tcp_nodelay(&r->h[CL], 1);
	if (deny_dest(r, dst, loop))
		return;

	r->pol = policy_session_new(w, r->rec.id, &id, src, dst);
	memset(&req, 0, sizeof(req));
	sess_key_of(&r->hdr, &req.key);
	req.session_id = r->rec.id;
	req.point = SMTP_AT_CONNECT;
	req.src = src;
	req.dst = dst;
	req.arg = "";
	req.ps = r->pol;
	req.cls = SMTP_CLASS_MX;
	r->phase = PH_POLICY;
	r->deciding = 1;
	policy_ask(&req, connect_verdict, w);
}

void
relay_shutdown(struct relay *r)
{
	if (r->closing)
		return;
	do_shutdown(r, "421 4.3.2 Service shutting down", "shutdown", 0);
}
