/*
 * tunnel.c - the pass-through tunnel: splice(2) socket -> pipe -> socket in
 * each direction, driven by uv_poll on the raw descriptors (see tunnel.h).
 *
 * Ownership: struct tunnel owns both sockets, two uv_poll_t (one per socket:
 * uv_poll and uv_tcp must never share an fd), a connect timer, an idle
 * timer (limits.tunnel_idle / passthrough_idle) and, while a
 * direction has bytes in flight, a pipe borrowed from the worker's pool. An
 * idle tunnel holds no pipe. tunnel_close() is the one teardown point; the
 * memory and the descriptors go in the last handle's close callback.
 *
 * A direction reads from its source only when its pipe is empty, so an
 * EAGAIN from splice always means "the socket has nothing" (a full pipe
 * would otherwise look the same and spin the level-triggered poll).
 *
 * Half-close: EOF from one side, once its pipe has drained, becomes
 * shutdown(SHUT_WR) toward the other; the tunnel ends when both directions
 * are shut, or at the first error. A reset on one side is passed on as a
 * reset (SO_LINGER 0) to the other. Nothing here ever writes a byte of its
 * own: a failed connect on 587/465 just closes the client (RFC 5068 4.1).
 */
#include "tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "identity.h"
#include "intercept.h"
#include "log.h"
#include "policy.h"
#include "util.h"
#include "worker.h"

enum { CL = 0, UP = 1 };

#define SPLICE_LEN (1 << 20)
#define PUMP_ROUNDS 16		/* splices per direction per wakeup */

struct tdir {
	struct tpipe pipe;	/* r = -1: none held */
	size_t inpipe;
	uint8_t eof;		/* source said EOF */
	uint8_t shut;		/* shutdown(SHUT_WR) sent to the destination */
	uint8_t want_r;		/* waiting for the source to be readable */
	uint8_t want_w;		/* waiting for the destination to be writable */
};

struct tunnel {
	struct sess_hdr hdr;
	uv_poll_t poll[2];	/* client, upstream */
	uv_timer_t timer;	/* connect timeout */
	uv_timer_t idle;	/* no byte moved for idle_ms: the tunnel ends */
	uint64_t idle_ms;	/* 0: no idle limit */
	uint64_t last;		/* uv_now() when a byte last moved */
	int fd[2];
	int events[2];		/* what each poll is started with */
	struct tdir dir[2];	/* [CL]: client -> upstream, [UP]: upstream -> client */
	uint8_t init;		/* bit per poll handle initialised */
	uint8_t nhandles;
	uint8_t connecting;
	uint8_t closing;
	uint8_t in_run;		/* run() is on the stack */
	uint8_t asking;		/* policy_tls_more in flight */
	uint8_t over;		/* the tls byte budget was refused */
	struct audit_session rec;
	/* port 25 after STARTTLS only (never 587/465): the policy's tls
	 * limits, a byte budget granted in chunks and a life limit */
	struct policy_sess *pol;
	uint64_t moved;		/* bytes read from both sides since adopt */
};

static void poll_cb(uv_poll_t *p, int status, int events);

/* Teardown ----------------------------------------------------------- */

static void
tunnel_free(struct tunnel *t)
{
	for (int d = CL; d <= UP; d++)
		worker_pipe_put(t->hdr.w, &t->dir[d].pipe, t->dir[d].inpipe == 0);
	for (int s = CL; s <= UP; s++)
		if (t->fd[s] >= 0)
			close(t->fd[s]);
	policy_session_end(t->pol, &t->rec);
	t->pol = NULL;
	audit_write_session(t->hdr.w->conf, &t->rec);
	audit_log_end(&t->rec);
	worker_count_bytes(t->hdr.w, t->rec.mode, t->rec.bytes_from_client,
	    t->rec.bytes_to_client, t->rec.bytes_to_upstream,
	    t->rec.bytes_from_upstream);
	audit_session_free(&t->rec);
	worker_release(&t->hdr);
	free(t);
}

static void
close_cb(uv_handle_t *h)
{
	struct tunnel *t = h->data;

	if (--t->nhandles == 0)
		tunnel_free(t);
}

static void
set_rst(int fd)
{
	struct linger l = { 1, 0 };

	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/* tunnel_close - the one teardown point. rst: reset both sockets. */
static void
tunnel_close(struct tunnel *t, const char *reason, int rst)
{
	if (t->closing)
		return;
	t->closing = 1;
	audit_session_set_reason(&t->rec, reason);
	t->rec.end_ms = now_ms();
	if (rst) {
		set_rst(t->fd[CL]);
		set_rst(t->fd[UP]);
	}
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, close_cb);
	uv_close((uv_handle_t *)&t->idle, close_cb);
	for (int s = CL; s <= UP; s++)
		if (t->init & (1u << s))
			uv_close((uv_handle_t *)&t->poll[s], close_cb);
}

void
tunnel_abort(struct tunnel *t, const char *reason)
{
	tunnel_close(t, reason, 0);
}

/* Pumping ------------------------------------------------------------ */

static void
count(struct tunnel *t, int d, int in, size_t n)
{
	t->last = uv_now(&t->hdr.w->loop);
	if (d == CL) {
		if (in)
			t->rec.bytes_from_client += n;
		else
			t->rec.bytes_to_upstream += n;
	} else {
		if (in)
			t->rec.bytes_from_upstream += n;
		else
			t->rec.bytes_to_client += n;
	}
}

/* TLS limits ---------------------------------------------------------- */

/* room - bytes the tls budget still lets in (SPLICE_LEN: no budget). */
static size_t
room(const struct tunnel *t)
{
	uint64_t b;

	if (t->pol == NULL || (b = policy_tls_budget(t->pol)) == 0)
		return SPLICE_LEN;
	return b > t->moved ? (size_t)MIN(b - t->moved, SPLICE_LEN) : 0;
}

static void run(struct tunnel *t);

static void
over(struct tunnel *t)
{
	policy_tls_end(t->pol, "bytes");
	tunnel_close(t, "tls_bytes_limit", 0);
}

/* more_cb - the policy's answer for the next chunk (maybe from inside
 * more(), then run() finds the flags when the pump returns). */
static void
more_cb(const struct sess_key *key, const struct smtp_verdict *v, void *arg)
{
	struct sess_hdr *h = worker_lookup(arg, key);
	struct tunnel *t = (struct tunnel *)h;

	if (h == NULL || h->kind != SESS_TUNNEL || t->closing)
		return;
	t->asking = 0;
	if (v->kind != SMTP_PASS)
		t->over = 1;
	if (t->in_run)
		return;
	if (t->over)
		over(t);
	else
		run(t);
}

static void
more(struct tunnel *t)
{
	struct sess_key k;

	if (t->asking || t->over)
		return;
	t->asking = 1;
	sess_key_of(&t->hdr, &k);
	policy_tls_more(t->pol, &k, more_cb, t->hdr.w);
}

static void
deadline_cb(uv_timer_t *timer)
{
	struct tunnel *t = timer->data;

	if (t->closing)
		return;
	policy_tls_end(t->pol, "duration");
	tunnel_close(t, "tls_duration_limit", 0);
}

/* pump - move what can be moved in direction d without blocking.
 * 0, or a negative errno on a socket error. */
static int
pump(struct tunnel *t, int d)
{
	struct tdir *D = &t->dir[d];
	int src = t->fd[d], dst = t->fd[!d], rc = 0;
	size_t len;
	ssize_t n;

	D->want_r = D->want_w = 0;
	if (D->shut)
		return 0;
	for (int round = 0; round < PUMP_ROUNDS; round++) {
		if (D->inpipe > 0) {
			n = splice(D->pipe.r, NULL, dst, NULL, D->inpipe,
			    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				D->inpipe -= (size_t)n;
				count(t, d, 0, (size_t)n);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				D->want_w = 1;
				return 0;
			}
			return n < 0 ? -errno : -EPIPE;
		}
		if (D->eof) {
			worker_pipe_put(t->hdr.w, &D->pipe, 1);
			shutdown(dst, SHUT_WR);
			D->shut = 1;
			return 0;
		}
		if ((len = room(t)) == 0) {
			/* budget spent: wait for the next chunk */
			more(t);
			if ((len = room(t)) == 0)
				return 0;
		}
		if (D->pipe.r < 0 && (rc = worker_pipe_get(t->hdr.w, &D->pipe)) < 0) {
			D->pipe.r = D->pipe.w = -1;
			return rc;
		}
		n = splice(src, NULL, D->pipe.w, NULL, len,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			D->inpipe = (size_t)n;
			t->moved += (uint64_t)n;
			count(t, d, 1, (size_t)n);
			continue;
		}
		if (n == 0) {
			D->eof = 1;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* idle: give the pipe back */
			worker_pipe_put(t->hdr.w, &D->pipe, 1);
			D->want_r = 1;
			return 0;
		}
		return -errno;
	}
	/* Out of rounds with work left: the poll is level-triggered, so
	 * waiting for readiness brings us back on the next iteration. */
	if (D->inpipe > 0)
		D->want_w = 1;
	else
		D->want_r = 1;
	return 0;
}

static void
update_polls(struct tunnel *t)
{
	for (int s = CL; s <= UP; s++) {
		/* socket s is the source of direction s, the destination of !s */
		int ev = (t->dir[s].want_r ? UV_READABLE : 0) |
		    (t->dir[!s].want_w ? UV_WRITABLE : 0);

		if (ev == t->events[s])
			continue;
		t->events[s] = ev;
		if (ev)
			uv_poll_start(&t->poll[s], ev, poll_cb);
		else
			uv_poll_stop(&t->poll[s]);
	}
}

static void
run(struct tunnel *t)
{
	int rc;

	t->in_run = 1;
	for (int d = CL; d <= UP; d++) {
		if ((rc = pump(t, d)) < 0) {
			t->in_run = 0;
			log_debug("event=tunnel_error id=%s dir=%s error=\"%s\"",
			    t->rec.id, d == CL ? "client_to_upstream" : "upstream_to_client",
			    strerror(-rc));
			tunnel_close(t, rc == -ECONNRESET ? "reset" : "error",
			    rc == -ECONNRESET);
			return;
		}
	}
	t->in_run = 0;
	if (t->over) {
		over(t);
		return;
	}
	if (t->dir[CL].shut && t->dir[UP].shut) {
		tunnel_close(t, "eof", 0);
		return;
	}
	update_polls(t);
}

/* idle_cb - both directions quiet for idle_ms: end the tunnel. Either end
 * alone would have given up by then (RFC 5321 4.5.3.2, docs/operator-guide.md
 * "Bounds"); closing frees the descriptors a vanished peer would hold. */
static void
idle_cb(uv_timer_t *timer)
{
	struct tunnel *t = timer->data;
	uint64_t quiet = uv_now(&t->hdr.w->loop) - t->last;

	if (t->closing)
		return;
	if (quiet < t->idle_ms) {
		uv_timer_start(&t->idle, idle_cb, t->idle_ms - quiet, 0);
		return;
	}
	WSTAT_ADD(t->hdr.w, idle_closed, 1);
	log_debug("event=tunnel_idle id=%s idle_ms=%llu", t->rec.id,
	    (unsigned long long)t->idle_ms);
	tunnel_close(t, "idle_timeout", 0);
}

/* Connecting --------------------------------------------------------- */

static void
connected(struct tunnel *t)
{
	union sockaddr_any local;
	socklen_t len = sizeof(local);
	int one = 1;

	t->connecting = 0;
	uv_timer_stop(&t->timer);
	/* the upstream side, what the server logs (audit_record.h) */
	if (getsockname(t->fd[UP], &local.sa, &len) == 0)
		audit_addr_set(&t->rec.up_src, &local);
	t->last = uv_now(&t->hdr.w->loop);
	if (t->idle_ms > 0)
		uv_timer_start(&t->idle, idle_cb, t->idle_ms, 0);
	for (int s = CL; s <= UP; s++)
		(void)setsockopt(t->fd[s], SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	t->dir[CL].want_r = t->dir[UP].want_r = 1;
	run(t);
}

static void
connect_failed(struct tunnel *t, const char *why)
{
	char d[ADDRPORT_STRLEN];
	union sockaddr_any a;

	audit_addr_get(&t->rec.dst, &a);
	WSTAT_ADD(t->hdr.w, connect_failed, 1);
	log_warn("event=upstream_connect_failed id=%s dst=%s error=\"%s\"",
	    t->rec.id, addr_fmt(&a, d, sizeof(d)), why);
	/* The subscriber sees what a failed direct connection would show:
	 * a reset, no invented bytes. */
	tunnel_close(t, "upstream_connect_failed", 1);
}

static void
timer_cb(uv_timer_t *timer)
{
	struct tunnel *t = timer->data;

	if (!t->closing && t->connecting)
		connect_failed(t, "connection timed out");
}

static int
sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	return err;
}

static void
poll_cb(uv_poll_t *p, int status, int events)
{
	struct tunnel *t = p->data;
	int s = p == &t->poll[CL] ? CL : UP, err = 0;

	if (t->closing)
		return;
	if (status < 0) {
		/* libuv reports EPOLLERR as UV_EBADF and stops the handle:
		 * the socket's own error says what happened. */
		t->events[s] = 0;
		err = sock_error(t->fd[s]);
		if (err == 0)
			err = EIO;
	}
	if (t->connecting) {
		if (s != UP)
			return;
		if (err == 0)
			err = sock_error(t->fd[UP]);
		if (err != 0) {
			connect_failed(t, strerror(err));
			return;
		}
		connected(t);
		return;
	}
	if (err != 0) {
		log_debug("event=tunnel_error id=%s side=%s error=\"%s\"", t->rec.id,
		    s == CL ? "client" : "upstream", strerror(err));
		tunnel_close(t, err == ECONNRESET ? "reset" : "error",
		    err == ECONNRESET);
		return;
	}
	run(t);
}

static struct tunnel *
tunnel_new(struct worker *w, int cfd)
{
	struct tunnel *t = xcalloc(1, sizeof(*t));

	worker_register(w, &t->hdr, SESS_TUNNEL);
	WSTAT_ADD(w, tunnels, 1);
	t->fd[CL] = cfd;
	t->fd[UP] = -1;
	for (int d = CL; d <= UP; d++)
		t->dir[d].pipe.r = t->dir[d].pipe.w = -1;
	uv_timer_init(&w->loop, &t->timer);
	t->timer.data = t;
	uv_timer_init(&w->loop, &t->idle);
	t->idle.data = t;
	t->nhandles = 2;
	return t;
}

static int
init_poll(struct tunnel *t, int s)
{
	int rc = uv_poll_init(&t->hdr.w->loop, &t->poll[s], t->fd[s]);

	if (rc < 0)
		return rc;
	t->poll[s].data = t;
	t->init |= (uint8_t)(1u << s);
	t->nhandles++;
	return 0;
}

void
tunnel_start(struct worker *w, int listener, int cfd,
    const union sockaddr_any *src, const union sockaddr_any *dst)
{
	const struct config *c = w->conf;
	struct tunnel *t = tunnel_new(w, cfd);
	char s[ADDRPORT_STRLEN], d[ADDRPORT_STRLEN];
	int fd, rc;

	t->idle_ms = c->bounds.passthrough_idle;
	audit_session_init(&t->rec, w->id, w->seq++, listener, LISTEN_PASSTHROUGH,
	    src, dst);
	{
		struct identity id;	/* who the source is now, for the record */

		identity_lookup(src, t->rec.start_ms, &id);
		audit_session_set_identity(&t->rec, id.subscriber,
		    identity_source_name(id.source), id.cls->name);
	}
	log_debug("event=session_start id=%s worker=%d listener=%d mode=passthrough "
	    "src=%s dst=%s", t->rec.id, w->id, listener, addr_fmt(src, s, sizeof(s)),
	    addr_fmt(dst, d, sizeof(d)));
	if ((rc = init_poll(t, CL)) < 0) {
		connect_failed(t, uv_strerror(rc));
		return;
	}
	fd = intercept_upstream_socket(c, &c->listeners[listener], src, dst);
	if (fd < 0) {
		connect_failed(t, strerror(-fd));
		return;
	}
	t->fd[UP] = fd;
	if ((rc = init_poll(t, UP)) < 0) {
		connect_failed(t, uv_strerror(rc));
		return;
	}
	t->connecting = 1;
	if (connect(fd, &dst->sa, addr_len(dst)) < 0 && errno != EINPROGRESS) {
		connect_failed(t, strerror(errno));
		return;
	}
	t->events[UP] = UV_WRITABLE;
	uv_poll_start(&t->poll[UP], UV_WRITABLE, poll_cb);
	uv_timer_start(&t->timer, timer_cb, c->connect_timeout, 0);
}

void
tunnel_adopt(struct worker *w, int cfd, int ufd, const struct audit_session *rec,
    struct policy_sess *pol)
{
	struct tunnel *t = tunnel_new(w, cfd);
	union sockaddr_any src;
	uint32_t life;
	int rc;

	t->rec = *rec;
	t->idle_ms = w->conf->bounds.tunnel_idle;
	audit_addr_get(&t->rec.src, &src);
	worker_port25_tunnel(&t->hdr, &src);
	t->pol = pol;
	t->fd[UP] = ufd;
	/* dup() does not carry O_NONBLOCK into a new file description, but
	 * it shares the old one, which libuv made non-blocking: set it anyway
	 * in case that ever changes. */
	(void)fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(ufd, F_SETFL, fcntl(ufd, F_GETFL) | O_NONBLOCK);
	log_debug("event=tunnel_start id=%s", t->rec.id);
	if ((rc = init_poll(t, CL)) < 0 || (rc = init_poll(t, UP)) < 0) {
		log_warn("event=tunnel_error id=%s error=\"%s\"", t->rec.id,
		    uv_strerror(rc));
		tunnel_close(t, "error", 0);
		return;
	}
	connected(t);
	if (!t->closing && pol != NULL && (life = policy_tls_duration(pol)) > 0)
		uv_timer_start(&t->timer, deadline_cb, life, 0);
}
