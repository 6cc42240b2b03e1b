/*
 * listener.h - a worker's accepting side: one listening socket per configured
 * listener and worker, polled with uv_poll (libuv 1.44 has no
 * UV_TCP_REUSEPORT, and accept4 hands us a raw fd that the tunnel can use
 * without ever wrapping it in a uv_tcp_t). Each accepted connection gets its
 * original destination and the loop check (intercept.c), then goes to the
 * SMTP relay (relay.c) or the pass-through tunnel (tunnel.c).
 */
#ifndef SUBGATE_LISTENER_H
#define SUBGATE_LISTENER_H

#include <uv.h>

struct worker;

struct listener {
	uv_poll_t poll;
	uv_timer_t backoff;	/* out of descriptors: pause accepting */
	struct worker *w;
	int idx;		/* index into conf->listeners */
	int fd;
	int open;
};

/* listener_start - poll fd (owned from now on) for connections. */
int listener_start(struct listener *l, struct worker *w, int idx, int fd);
/* listener_stop - close the socket now (drain). Idempotent. */
void listener_stop(struct listener *l);

#endif
