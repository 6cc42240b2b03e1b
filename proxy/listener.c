/*
 * listener.c - accept, learn the original destination, refuse loops, and
 * hand the connection to the relay or the tunnel (see listener.h). The
 * listener owns its socket until listener_stop(); sessions own the accepted
 * descriptors from the moment relay_start/tunnel_start is called.
 */
#include "listener.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "intercept.h"
#include "log.h"
#include "relay.h"
#include "tunnel.h"
#include "worker.h"

#define ACCEPT_BATCH 64		/* per wakeup: leave some for other workers */
#define EMFILE_PAUSE_MS 100

static const char busy_reply[] =
    "421 4.3.2 Too many sessions on this gateway, try again later (subgate)\r\n";
static const char source_reply[] =
    "421 4.7.0 Too many sessions from your address, try again later (subgate)\r\n";

static void listener_cb(uv_poll_t *p, int status, int events);

/* refuse - a one-line answer on a fresh socket, then close. The reply is far
 * below the socket buffer, so a non-blocking send cannot fall short. */
static void
refuse(int fd, const char *reply)
{
	if (reply != NULL && send(fd, reply, strlen(reply),
	    MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the client is gone already */
	}
	close(fd);
}

static void
dispatch(struct listener *l, int fd, union sockaddr_any *peer)
{
	struct worker *w = l->w;
	const struct listener_conf *lc = &w->conf->listeners[l->idx];
	union sockaddr_any local, dst;
	socklen_t len = sizeof(local);
	char sbuf[ADDRPORT_STRLEN], dbuf[ADDRPORT_STRLEN];
	uint32_t n;
	int rc, loop;

	WSTAT_ADD(w, accepted, 1);
	addr_unmap(peer);
	if (getsockname(fd, &local.sa, &len) < 0) {
		log_warn("event=accept_error worker=%d error=\"getsockname: %s\"",
		    w->id, strerror(errno));
		close(fd);
		return;
	}
	addr_unmap(&local);
	rc = intercept_orig_dst(fd, lc, &local, peer, &dst);
	/* Not NATed under REDIRECT: the subscriber dialled us directly. */
	if (rc < 0)
		dst = local;
	loop = rc < 0 || intercept_is_loop(w->conf, lc, &local, &dst);
	if (loop) {
		WSTAT_ADD(w, refused_loop, 1);
		log_warn("event=loop_refused worker=%d listener=%d src=%s dst=%s",
		    w->id, l->idx, addr_fmt(peer, sbuf, sizeof(sbuf)),
		    addr_fmt(&dst, dbuf, sizeof(dbuf)));
		if (lc->mode != LISTEN_SMTP) {
			refuse(fd, NULL);
			return;
		}
		/* port 25: answered 554 5.4.6 and recorded (relay_start),
		 * within the caps below like any session */
	}
	if (lc->mode == LISTEN_PASSTHROUGH) {
		/* RFC 5068 4.1: no limit, no policy, ever. */
		tunnel_start(w, l->idx, fd, peer, &dst);
		return;
	}
	/* Port 25 from here on. Descriptors first: lowest-numbered
	 * allocation means that fd at or above fd_high leaves fewer than
	 * limits.fd_reserve free for 587/465 (docs/operator-guide.md). */
	if (fd >= w->fd_high) {
		WSTAT_ADD(w, refused_fd, 1);
		log_warn("event=fd_reserve worker=%d listener=%d src=%s fd=%d "
		    "limit=%d", w->id, l->idx, addr_fmt(peer, sbuf, sizeof(sbuf)),
		    fd, w->fd_high);
		refuse(fd, busy_reply);
		return;
	}
	if (w->conf->max_sessions > 0 &&
	    WORKER_SMTP_SESSIONS(w) >= w->conf->max_sessions) {
		WSTAT_ADD(w, refused_limit, 1);
		log_warn("event=session_limit worker=%d listener=%d src=%s dst=%s "
		    "sessions=%zu", w->id, l->idx, addr_fmt(peer, sbuf, sizeof(sbuf)),
		    addr_fmt(&dst, dbuf, sizeof(dbuf)), WORKER_SMTP_SESSIONS(w));
		refuse(fd, busy_reply);
		return;
	}
	if (!worker_source_take(w, peer, &n)) {
		WSTAT_ADD(w, refused_source, 1);
		log_warn("event=source_limit worker=%d listener=%d src=%s dst=%s "
		    "sessions=%u", w->id, l->idx, addr_fmt(peer, sbuf, sizeof(sbuf)),
		    addr_fmt(&dst, dbuf, sizeof(dbuf)), n);
		refuse(fd, source_reply);
		return;
	}
	relay_start(w, l->idx, fd, peer, &dst, loop);
	worker_source_settle(w);
}

static void
backoff_cb(uv_timer_t *t)
{
	struct listener *l = t->data;

	if (l->open)
		uv_poll_start(&l->poll, UV_READABLE, listener_cb);
}

static void
listener_cb(uv_poll_t *p, int status, int events)
{
	struct listener *l = p->data;

	if (status < 0) {
		log_warn("event=listener_error worker=%d listener=%d error=\"%s\"",
		    l->w->id, l->idx, uv_strerror(status));
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH && l->open; i++) {
		union sockaddr_any peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(l->fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			dispatch(l, fd, &peer);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		/* Out of descriptors or memory: the poll is level-triggered,
		 * so pause it instead of spinning on the full backlog. */
		log_warn("event=accept_error worker=%d listener=%d error=\"%s\"",
		    l->w->id, l->idx, strerror(errno));
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			uv_poll_stop(&l->poll);
			uv_timer_start(&l->backoff, backoff_cb, EMFILE_PAUSE_MS, 0);
		}
		break;
	}
}

int
listener_start(struct listener *l, struct worker *w, int idx, int fd)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->w = w;
	l->idx = idx;
	l->fd = fd;
	if ((rc = uv_poll_init(&w->loop, &l->poll, fd)) < 0)
		return rc;
	l->poll.data = l;
	uv_timer_init(&w->loop, &l->backoff);
	l->backoff.data = l;
	l->open = 1;
	return uv_poll_start(&l->poll, UV_READABLE, listener_cb);
}

void
listener_stop(struct listener *l)
{
	if (!l->open)
		return;
	l->open = 0;
	/* uv_close removes the fd from epoll right away, so closing the
	 * descriptor here is safe. Hazard: connections still in this socket's
	 * accept queue are reset by the kernel (SO_REUSEPORT does not move
	 * them to a sibling); all workers close together on drain anyway. */
	uv_close((uv_handle_t *)&l->poll, NULL);
	uv_close((uv_handle_t *)&l->backoff, NULL);
	close(l->fd);
	l->fd = -1;
}
