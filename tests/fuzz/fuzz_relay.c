/*
 * fuzz_relay.c - libFuzzer harness for the relay glue (proxy/relay.c)
 * without sockets: one session goes through the real relay.c, the real SMTP
 * core (smtp.c), the real smarthost handshake (smarthost.c) and the real
 * audit record (audit_record.c), while the input plays the client, the
 * upstream, the policy and the clock.
 *
 * The seam is libuv's API itself: this file defines the uv_* functions
 * relay.c calls (and links no libuv), as a simulated loop. A stream's
 * inbound bytes wait in a "kernel" queue until relay.c reads that side
 * (backpressure is real); writes are taken whole, in part or not at all
 * (uv_try_write) and complete when the input says (uv_write); a reset is
 * seen by the next read or write; uv_close cancels what is pending the way
 * libuv does (connect, then writes with UV_ECANCELED, then the close
 * callback, in the order the handles were closed); the timer fires when
 * the input moves the clock. The policy (policy_ask), the worker's session
 * registry, the tunnel hand-over and the audit output are stubs that
 * record what relay.c asked of them; descriptors are real (/dev/null).
 *
 * Input: two header bytes (h0: the source address and so the class, a
 * routing loop, policy answers at once or later, the client's descriptor
 * refused by uv_tcp_open; h1: the destination, no upstream socket), then
 * ops:
 *   b & 15 =  0/1  client / upstream sends a segment (next byte: length)
 *             2/3  client sends a canned line / upstream a canned reply
 *             4/5  the oldest / every pending write on side b>>4&1 completes
 *             6    side b>>4&1 takes writes: all, half, none, error (b>>5&3)
 *             7    the policy answers (next byte: the verdict)
 *             8    the upstream connect completes: ok or refused (b>>4&1)
 *             9    the clock jumps to the timer and it fires
 *            10    the clock moves (next byte) seconds
 *            11/12 EOF / reset on side b>>4&1
 *            13/14 relay_shutdown / relay_abort
 *            15    the oldest pending write on side b>>4&1 fails
 * When the input ends, the peers go silent but take every byte, the policy
 * answers "pass" and the clock runs: the session must end.
 *
 * Checked: nothing is read, written, started or timed on a closed handle;
 * one policy question at a time; the session is released once and written
 * once (or handed to the tunnel once); the record's byte counts equal the
 * bytes the simulated peers gave and took; no side is read while more than
 * limits.buffer is queued toward a peer; a session whose peers go silent
 * ends; every descriptor is closed; the worker's read buffer holds none of
 * the client's bytes once a read is done (issue 9 item 7: an AUTH line
 * must not linger for the next session); nothing leaks (LeakSanitizer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_record.h"
#include "config.h"
#include "dest_deny.h"
#include "identity.h"
#include "intercept.h"
#include "log.h"
#include "policy.h"
#include "relay.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"
#include "fuzz.h"

enum { CL = 0, UP = 1 };
enum { TW_ALL, TW_HALF, TW_NONE, TW_ERROR };

#define MAXFDS 8
#define DRAIN_ROUNDS 64

static const char conf_yaml[] =
    "node: fz\n"
    "listeners:\n"
    "  - { listen: \"127.0.0.1:2525\", mode: smtp, intercept: redirect }\n"
    "smarthost: { address: \"192.0.2.99:25\", starttls: off }\n"
    "upstream: { connect_timeout: 5s }\n"
    "limits: { buffer: 4096, session_max_time: 90s }\n"
    "smtp:\n"
    "  max_line: 512\n"
    "  max_reply: 2048\n"
    "  max_pipeline: 8\n"
    "  max_held: 4096\n"
    "  max_errors: 5\n"
    "  timeouts: { greeting: 30s, command: 30s, data_init: 30s,\n"
    "    data_block: 30s, data_end: 60s, client_idle: 60s }\n"
    "policy:\n"
    "  default_class: res\n"
    "  classes:\n"
    "    res: {}\n"
    "    hot: { refuse_cleartext_auth: true, starttls_refusal: close }\n"
    "identity:\n"
    "  static:\n"
    "    - { prefix: \"198.51.100.2/32\", subscriber: hot1, class: hot }\n";

/* The simulated loop ------------------------------------------------- */

struct fwrite {
	uv_write_t *req;
	uv_write_cb cb;
	size_t len;
};

struct fstream {
	uv_tcp_t *h;
	int inited, fd, reading, closing;
	uv_alloc_cb acb;
	uv_read_cb rcb;
	uv_close_cb ccb;
	uv_connect_t *creq;
	uv_connect_cb conn_cb;
	struct fwrite *w;		/* pending writes, oldest first */
	size_t nw, wcap;
	size_t queued;			/* octets in w */
	int tw;				/* enum TW_*: what uv_try_write takes */
	int reset;			/* the peer reset: reads and writes fail */
	/* the peer's bytes not yet read: segments, then maybe EOF */
	uint8_t *in;
	size_t inlen, incap;
	size_t seg[64], nseg;
	int eof_queued, eof_given;
	/* accounting */
	uint64_t fed;			/* octets given to read_cb */
	uint64_t taken;			/* octets the peer took */
	uint64_t lost;			/* octets offered that failed or were cancelled */
};

static struct sim {
	uint64_t now;
	struct fstream s[2];
	int nstreams;			/* uv_tcp_init calls: CL, then UP */
	uv_timer_t *t;
	uv_timer_cb tcb;
	uint64_t due;
	int t_active, t_closing;
	uv_close_cb t_ccb;
	uv_handle_t *closeq[3];		/* in uv_close order */
	size_t ncloseq;
	/* the session */
	struct sess_hdr *hdr;
	uint32_t gen;
	int alive, released, written, handed;
	/* the policy */
	int asked;
	struct sess_key pkey;
	policy_cb pcb;
	void *parg;
	int sync;			/* answer inside policy_ask */
	int fail_socket;		/* intercept_upstream_socket fails */
	int fail_open;			/* uv_tcp_open of the client fails */
	int npol;			/* policy_session_new - _end */
	/* descriptors handed out */
	int fds[MAXFDS];
	size_t nfds;
	/* the input */
	const uint8_t *p, *end;
} S;

static const struct config *conf;
static struct worker W;
static int trace;	/* FUZZ_RELAY_TRACE=1: how each session ended */

static int
next(void)
{
	return S.p < S.end ? *S.p++ : 0;
}

static int
devnull(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	CHECK(fd >= 0 && S.nfds < MAXFDS);
	S.fds[S.nfds++] = fd;
	return fd;
}

static struct fstream *
stream_of(const void *h)
{
	for (int i = 0; i < S.nstreams; i++)
		if ((const void *)S.s[i].h == h)
			return &S.s[i];
	CHECK(!"unknown stream handle");
	return NULL;
}

int
uv_tcp_init(uv_loop_t *loop, uv_tcp_t *h)
{
	struct fstream *f;

	(void)loop;
	CHECK(S.nstreams < 2);
	f = &S.s[S.nstreams++];
	f->h = h;
	f->inited = 1;
	f->fd = -1;
	return 0;
}

int
uv_tcp_open(uv_tcp_t *h, uv_os_sock_t fd)
{
	struct fstream *f = stream_of(h);

	if (f == &S.s[CL] && S.fail_open)
		return UV_EBADF;	/* relay.c closes fd itself */
	f->fd = fd;
	return 0;
}

int
uv_tcp_nodelay(uv_tcp_t *h, int on)
{
	(void)h;
	(void)on;
	return 0;
}

int
uv_tcp_getsockname(const uv_tcp_t *h, struct sockaddr *sa, int *len)
{
	union sockaddr_any a;

	(void)stream_of(h);
	CHECK(addr_parse(&a, "203.0.113.1:40001", 0) == 0);
	CHECK(*len >= (int)sizeof(a.sin));
	memcpy(sa, &a.sin, sizeof(a.sin));
	*len = (int)sizeof(a.sin);
	return 0;
}

int
uv_tcp_connect(uv_connect_t *req, uv_tcp_t *h, const struct sockaddr *sa,
    uv_connect_cb cb)
{
	struct fstream *f = stream_of(h);

	(void)sa;
	CHECK(!f->closing && f->creq == NULL);
	f->creq = req;
	f->conn_cb = cb;
	return 0;
}

int
uv_fileno(const uv_handle_t *h, uv_os_fd_t *fd)
{
	struct fstream *f = stream_of(h);

	CHECK(!f->closing);
	*fd = f->fd;
	return f->fd >= 0 ? 0 : UV_EBADF;
}

int
uv_read_start(uv_stream_t *st, uv_alloc_cb acb, uv_read_cb rcb)
{
	struct fstream *f = stream_of(st);

	CHECK(!f->closing && f->creq == NULL);
	f->reading = 1;
	f->acb = acb;
	f->rcb = rcb;
	return 0;
}

int
uv_read_stop(uv_stream_t *st)
{
	stream_of(st)->reading = 0;
	return 0;
}

int
uv_try_write(uv_stream_t *st, const uv_buf_t bufs[], unsigned int n)
{
	struct fstream *f = stream_of(st);
	size_t len = 0, k;

	CHECK(!f->closing);
	for (unsigned i = 0; i < n; i++)
		len += bufs[i].len;
	if (f->creq != NULL || f->nw > 0)
		return UV_EAGAIN;
	if (f->reset || f->tw == TW_ERROR) {
		f->lost += len;
		return UV_EPIPE;
	}
	k = f->tw == TW_ALL ? len : f->tw == TW_HALF ? len / 2 : 0;
	if (k == 0)
		return UV_EAGAIN;
	f->taken += k;
	return (int)k;
}

int
uv_write(uv_write_t *req, uv_stream_t *st, const uv_buf_t bufs[],
    unsigned int n, uv_write_cb cb)
{
	struct fstream *f = stream_of(st);
	size_t len = 0;

	CHECK(!f->closing);
	for (unsigned i = 0; i < n; i++)
		len += bufs[i].len;
	if (f->nw == f->wcap) {
		f->wcap = f->wcap ? f->wcap * 2 : 8;
		f->w = realloc(f->w, f->wcap * sizeof(*f->w));
		CHECK(f->w != NULL);
	}
	f->w[f->nw++] = (struct fwrite){ req, cb, len };
	f->queued += len;
	return 0;
}

int
uv_timer_init(uv_loop_t *loop, uv_timer_t *t)
{
	(void)loop;
	CHECK(S.t == NULL);
	S.t = t;
	return 0;
}

int
uv_timer_start(uv_timer_t *t, uv_timer_cb cb, uint64_t timeout,
    uint64_t repeat)
{
	CHECK(t == S.t && !S.t_closing && repeat == 0);
	S.tcb = cb;
	S.due = S.now + timeout;
	S.t_active = 1;
	return 0;
}

int
uv_timer_stop(uv_timer_t *t)
{
	CHECK(t == S.t);
	S.t_active = 0;
	return 0;
}

uint64_t
uv_now(const uv_loop_t *loop)
{
	(void)loop;
	return S.now;
}

void
uv_close(uv_handle_t *h, uv_close_cb cb)
{
	if (h == (uv_handle_t *)S.t) {
		CHECK(!S.t_closing);
		S.t_closing = 1;
		S.t_active = 0;
		S.t_ccb = cb;
	} else {
		struct fstream *f = stream_of(h);

		CHECK(!f->closing);
		f->closing = 1;
		f->reading = 0;
		f->ccb = cb;
	}
	CHECK(S.ncloseq < 3);
	S.closeq[S.ncloseq++] = h;
}

const char *
uv_strerror(int err)
{
	switch (err) {
	case UV_EOF: return "end of file";
	case UV_EPIPE: return "broken pipe";
	case UV_ECONNRESET: return "connection reset by peer";
	case UV_ECONNREFUSED: return "connection refused";
	default: return "error";
	}
}

uv_buf_t
uv_buf_init(char *base, unsigned int len)
{
	uv_buf_t b = { .base = base, .len = len };

	return b;
}

/* complete - the oldest pending write on f ends with status. */
static void
complete(struct fstream *f, int status)
{
	struct fwrite w = f->w[0];

	memmove(f->w, f->w + 1, (f->nw - 1) * sizeof(*f->w));
	f->nw--;
	f->queued -= w.len;
	if (status == 0)
		f->taken += w.len;
	else
		f->lost += w.len;
	w.cb(w.req, status);
}

/* run_closes - what libuv does for closed handles at the end of a loop
 * iteration. The close callback of the last one frees the session. */
static void
run_closes(void)
{
	while (S.ncloseq > 0) {
		uv_handle_t *h = S.closeq[0];

		memmove(S.closeq, S.closeq + 1, --S.ncloseq * sizeof(*S.closeq));
		if (h == (uv_handle_t *)S.t) {
			S.t_ccb(h);
			continue;
		}
		struct fstream *f = stream_of(h);

		if (f->creq != NULL) {
			uv_connect_t *req = f->creq;

			f->creq = NULL;
			f->conn_cb(req, UV_ECANCELED);
		}
		while (f->nw > 0)
			complete(f, UV_ECANCELED);
		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		f->ccb(h);
	}
}

/* deliver - one inbound segment (or the EOF, or the reset) to a side that
 * is reading; 0 if there was nothing to give. */
static int
deliver(struct fstream *f)
{
	uv_buf_t b;
	size_t n;

	if (!f->reading || f->closing)
		return 0;
	if (f->reset) {
		f->eof_given = 1;
		f->rcb((uv_stream_t *)f->h, UV_ECONNRESET, NULL);
		return 1;
	}
	if (f->nseg == 0) {
		if (!f->eof_queued || f->eof_given)
			return 0;
		f->eof_given = 1;
		f->rcb((uv_stream_t *)f->h, UV_EOF, NULL);
		return 1;
	}
	n = f->seg[0];
	memmove(f->seg, f->seg + 1, --f->nseg * sizeof(*f->seg));
	f->acb((uv_handle_t *)f->h, 65536, &b);
	CHECK(b.base != NULL && b.len >= n);
	memcpy(b.base, f->in, n);
	memmove(f->in, f->in + n, f->inlen - n);
	f->inlen -= n;
	f->fed += n;
	f->rcb((uv_stream_t *)f->h, (ssize_t)n, &b);
	/* the worker's buffer is the next session's: the client's bytes (an
	 * AUTH line among them) are wiped before it is lent again */
	if (f == &S.s[CL])
		for (size_t i = 0; i < n; i++)
			CHECK(b.base[i] == 0);
	return 1;
}

/* settle - the loop runs until nothing more happens without the peers. */
static void
settle(void)
{
	int moved;

	do {
		moved = 0;
		run_closes();
		if (!S.alive)
			return;
		for (int i = 0; i < S.nstreams && S.alive && !moved; i++)
			moved = deliver(&S.s[i]);
	} while (moved);
}

/* invariants - between two events, while the session lives. */
static void
invariants(void)
{
	size_t lim = conf->buffer_limit;
	struct fstream *c = &S.s[CL], *u = &S.s[UP];

	if (!S.alive)
		return;
	if (c->reading)
		CHECK(c->queued <= lim && (S.nstreams < 2 || u->queued <= lim));
	if (S.nstreams == 2 && u->reading)
		CHECK(c->queued <= lim);
}

static void
peer_send(int side, const void *p, size_t n)
{
	struct fstream *f = &S.s[side];

	if (side >= S.nstreams || f->closing || f->eof_queued || n == 0 ||
	    f->nseg == sizeof(f->seg) / sizeof(f->seg[0]))
		return;
	if (f->inlen + n > f->incap) {
		f->incap = (f->inlen + n) * 2;
		f->in = realloc(f->in, f->incap);
		CHECK(f->in != NULL);
	}
	memcpy(f->in + f->inlen, p, n);
	f->inlen += n;
	f->seg[f->nseg++] = n;
}

/* Stubs for what relay.c asks of the rest of subgated ----------------- */

void
worker_register(struct worker *w, struct sess_hdr *h, enum sess_kind kind)
{
	CHECK(S.hdr == NULL && kind == SESS_RELAY);
	h->w = w;
	h->slot = 0;
	h->gen = ++S.gen;
	h->kind = (uint8_t)kind;
	S.hdr = h;
	S.alive = 1;
}

void
worker_release(struct sess_hdr *h)
{
	CHECK(h == S.hdr && S.alive && !S.released);
	S.released = 1;
	S.alive = 0;
}

void
sess_key_of(const struct sess_hdr *h, struct sess_key *k)
{
	k->worker = 0;
	k->slot = h->slot;
	k->gen = h->gen;
}

struct sess_hdr *
worker_lookup(struct worker *w, const struct sess_key *k)
{
	(void)w;
	return S.alive && k->gen == S.hdr->gen ? S.hdr : NULL;
}

void
worker_count_bytes(struct worker *w, int mode, uint64_t from_client,
    uint64_t to_client, uint64_t to_upstream, uint64_t from_upstream)
{
	(void)w;
	(void)mode;
	(void)from_client;
	(void)to_client;
	(void)to_upstream;
	(void)from_upstream;
}

int
intercept_upstream_socket(const struct config *c, const struct listener_conf *lc,
    const union sockaddr_any *src, const union sockaddr_any *dst)
{
	(void)c;
	(void)lc;
	(void)src;
	(void)dst;
	return S.fail_socket ? -EMFILE : devnull();
}

struct policy_sess {
	int dummy;
};

struct policy_sess *
policy_session_new(struct worker *w, const char *session_id,
    const struct identity *id, const union sockaddr_any *src,
    const union sockaddr_any *dst)
{
	(void)w;
	(void)session_id;
	(void)src;
	(void)dst;
	CHECK(id->cls != NULL);
	S.npol++;
	return calloc(1, sizeof(struct policy_sess));
}

void
policy_session_end(struct policy_sess *ps, struct audit_session *rec)
{
	(void)rec;
	if (ps != NULL)
		S.npol--;
	free(ps);
}

static const struct smtp_verdict *
verdict(int b)
{
	static const struct smtp_verdict v[] = {
		{ SMTP_PASS, NULL, NULL },
		{ SMTP_REFUSE, "550 5.7.1 Refused (fuzz)", "fuzz" },
		{ SMTP_REFUSE, "451 4.7.1 Later (fuzz)", "fuzz" },
		{ SMTP_REFUSE_CLOSE, "421 4.7.0 Closing (fuzz)", "fuzz" },
		{ SMTP_REDIRECT, "451 4.7.1 Redirected (fuzz)", "fuzz" },
		{ SMTP_REFUSE, "454 4.7.0 TLS not available (fuzz)", "fuzz" },
	};

	return &v[b % (int)(sizeof(v) / sizeof(v[0]))];
}

static void
answer(int b)
{
	struct sess_key k = S.pkey;

	if (!S.asked)
		return;
	S.asked = 0;
	S.pcb(&k, verdict(b), S.parg);
}

void
policy_ask(const struct policy_req *req, policy_cb cb, void *arg)
{
	/* relay.c keeps one question open at a time (r->deciding) */
	CHECK(!S.asked);
	S.asked = 1;
	S.pkey = req->key;
	S.pcb = cb;
	S.parg = arg;
	if (S.sync)
		answer(next());
}

void
tunnel_adopt(struct worker *w, int cfd, int ufd,
    const struct audit_session *rec, struct policy_sess *pol)
{
	struct audit_session t = *rec;

	(void)w;
	CHECK(!S.handed && !S.written && cfd >= 0 && ufd >= 0);
	S.handed = 1;
	if (trace)
		fprintf(stderr, "fuzz_relay: handed to the tunnel\n");
	S.fds[S.nfds++] = cfd;
	S.fds[S.nfds++] = ufd;
	close(cfd);
	close(ufd);
	policy_session_end(pol, &t);
	audit_session_free(&t);
}

void
audit_write_txn(const struct config *c, const struct audit_session *rec,
    const struct smtp_txn *txn)
{
	(void)c;
	CHECK(S.alive && rec->id[0] != '\0' && txn->outcome != NULL);
}

void
audit_write_session(const struct config *c, struct audit_session *rec)
{
	(void)c;
	CHECK(!S.written && !S.handed);
	S.written = 1;
	if (trace)
		fprintf(stderr, "fuzz_relay: end=%s class=%s txns=%u commands=%u "
		    "client=%llu/%llu upstream=%llu/%llu redirected=%d\n",
		    rec->end_reason, rec->cls, rec->transactions, rec->commands,
		    (unsigned long long)rec->bytes_from_client,
		    (unsigned long long)rec->bytes_to_client,
		    (unsigned long long)rec->bytes_to_upstream,
		    (unsigned long long)rec->bytes_from_upstream,
		    rec->redirected_to.family != 0);
	CHECK(rec->end_reason[0] != '\0');
	CHECK(rec->bytes_from_client == S.s[CL].fed);
	CHECK(rec->bytes_to_client == S.s[CL].taken + S.s[CL].lost);
	if (rec->redirected_to.family == 0 && S.nstreams == 2) {
		/* the smarthost's handshake is the gateway's, not counted */
		CHECK(rec->bytes_from_upstream == S.s[UP].fed);
		CHECK(rec->bytes_to_upstream == S.s[UP].taken + S.s[UP].lost);
	}
}

/* The input ---------------------------------------------------------- */

static const char *const client_lines[] = {
	"EHLO c.test\r\n", "HELO c.test\r\n", "MAIL FROM:<a@x.test>\r\n",
	"RCPT TO:<r@y.test>\r\n", "DATA\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n",
	"BDAT 5 LAST\r\nhello", "BDAT 3\r\nabc", "RSET\r\n", "NOOP\r\n",
	"STARTTLS\r\n", "AUTH PLAIN AGFAYg==\r\n", "AUTH LOGIN\r\n",
	"dXNlcg==\r\n", "QUIT\r\n",
	"MAIL FROM:<a@x.test>\r\nRCPT TO:<r@y.test>\r\nDATA\r\n",
};

static const char *const upstream_replies[] = {
	"220 up.test ESMTP\r\n",
	("250-up.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-STARTTLS\r\n"
	    "250 AUTH PLAIN LOGIN\r\n"),
	"250 2.0.0 ok\r\n", "354 go ahead\r\n", "221 2.0.0 bye\r\n",
	"550 5.1.1 no\r\n", "451 4.3.0 later\r\n", "334 \r\n",
	"235 2.7.0 ok\r\n", "220 2.0.0 ready for TLS\r\n",
	"421 4.3.2 closing\r\n", "250-up.test\r\n250 SIZE 1000\r\n",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
op(int b)
{
	struct fstream *f = &S.s[(b >> 4) & 1];
	int side = (b >> 4) & 1;
	size_t n;

	switch (b & 15) {
	case 0:
	case 1:
		n = (size_t)next();
		if (n > (size_t)(S.end - S.p))
			n = (size_t)(S.end - S.p);
		peer_send(b & 1, S.p, n);
		S.p += n;
		break;
	case 2:
		n = (size_t)next() % NELEM(client_lines);
		peer_send(CL, client_lines[n], strlen(client_lines[n]));
		break;
	case 3:
		n = (size_t)next() % NELEM(upstream_replies);
		peer_send(UP, upstream_replies[n], strlen(upstream_replies[n]));
		break;
	case 4:
	case 5:
	case 15:
		while (side < S.nstreams && !f->closing && f->nw > 0 && S.alive) {
			complete(f, (b & 15) == 15 ? UV_ECONNRESET : 0);
			if ((b & 15) != 5)
				break;
		}
		break;
	case 6:
		f->tw = (b >> 5) & 3;
		break;
	case 7:
		answer(next());
		break;
	case 8:
		if (S.nstreams == 2 && S.s[UP].creq != NULL) {
			uv_connect_t *req = S.s[UP].creq;

			S.s[UP].creq = NULL;
			S.s[UP].conn_cb(req, side ? UV_ECONNREFUSED : 0);
		}
		break;
	case 9:
	case 10:
		if ((b & 15) == 9 && S.t_active && S.due > S.now)
			S.now = S.due;
		else if ((b & 15) == 10)
			S.now += (uint64_t)next() * 1000;
		if (S.t_active && S.due <= S.now) {
			S.t_active = 0;
			S.tcb(S.t);
		}
		break;
	case 11:
		f->eof_queued = 1;
		break;
	case 12:
		if (side < S.nstreams)
			f->reset = 1;
		break;
	case 13:
		relay_shutdown((struct relay *)S.hdr);
		break;
	case 14:
		relay_abort((struct relay *)S.hdr, "fuzz_abort");
		break;
	}
}

/* drain - the input has ended: the peers take everything and say nothing,
 * the policy passes, time goes on. The session must end. */
static void
drain(void)
{
	for (int round = 0; round < DRAIN_ROUNDS && S.alive; round++) {
		for (int i = 0; i < S.nstreams && S.alive; i++) {
			S.s[i].tw = TW_ALL;
			while (S.alive && !S.s[i].closing && S.s[i].nw > 0)
				complete(&S.s[i], 0);
		}
		if (S.alive)
			answer(0);
		settle();
		if (S.alive && S.t_active) {
			if (S.due > S.now)
				S.now = S.due;
			S.t_active = 0;
			S.tcb(S.t);
			settle();
		}
	}
	CHECK(!S.alive);
}

static void
init_once(void)
{
	static int done;
	char err[512];

	if (done)
		return;
	done = 1;
	trace = getenv("FUZZ_RELAY_TRACE") != NULL;
	log_set_level(trace ? LOG_DEBUG : LOG_ERR);
	conf = config_load_string(conf_yaml, sizeof(conf_yaml) - 1, "fuzz_relay",
	    err, sizeof(err));
	if (conf == NULL) {
		fprintf(stderr, "fuzz_relay: %s\n", err);
		abort();
	}
	CHECK(identity_init(conf) == 0);
	dest_deny_init(conf);
	W.conf = conf;
	W.rbuf = malloc(WORKER_RBUF_SIZE);
	CHECK(W.rbuf != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const srcs[] = { "198.51.100.1", "198.51.100.2" };
	static const char *const dsts[] = { "192.0.2.25", "10.1.2.3",
	    "2001:db8::25" };
	union sockaddr_any src, dst;
	int h0, h1;

	init_once();
	for (int i = 0; i < 2; i++)
		free(S.s[i].w), free(S.s[i].in);
	memset(&S, 0, sizeof(S));
	memset(&W.st, 0, sizeof(W.st));
	S.now = 1000000;
	S.p = data;
	S.end = data + size;
	h0 = next();
	h1 = next();
	S.sync = (h0 >> 2) & 1;
	S.fail_open = (h0 >> 3) & 1;
	S.fail_socket = (h1 >> 2) & 1;
	CHECK(addr_parse(&src, srcs[h0 & 1], 40000) == 0);
	CHECK(addr_parse(&dst, dsts[h1 % 3], 25) == 0);

	relay_start(&W, 0, devnull(), &src, &dst, (h0 >> 1) & 1);
	settle();
	invariants();
	while (S.p < S.end && S.alive) {
		op(next());
		settle();
		invariants();
	}
	drain();

	CHECK(S.released && (S.written || S.handed) && S.npol == 0);
	CHECK(S.ncloseq == 0 && S.s[CL].closing);
	for (size_t i = 0; i < S.nfds; i++)
		CHECK(fcntl(S.fds[i], F_GETFD) < 0 && errno == EBADF);
	return 0;
}
