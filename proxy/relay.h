/*
 * relay.h - the SMTP relay session: libuv glue around the sans-I/O core of
 * smtp.h. It owns the client's and the upstream's uv_tcp_t, one timer, the
 * session's audit record and the core. See relay.c.
 */
#ifndef SUBGATE_RELAY_H
#define SUBGATE_RELAY_H

#include "addr.h"

struct config;
struct worker;
struct relay;

/* relay_init - once, on the main thread before the workers start: the TLS
 * context for the smarthost (CA file loaded). 0, or SG_ETLS with the reason
 * in err. relay_cleanup - after the workers have ended. */
int relay_init(const struct config *c, char *err, size_t errlen);
void relay_cleanup(void);

/* relay_start - a new SMTP session for an accepted client fd (owned from
 * now on); src is the subscriber, dst the original destination. loop: the
 * destination is this gateway (intercept_is_loop): the session is only
 * answered 554 5.4.6 and recorded. */
void relay_start(struct worker *w, int listener, int fd,
    const union sockaddr_any *src, const union sockaddr_any *dst, int loop);

/* relay_shutdown - drain: "421 4.3.2 Service shutting down" and end. */
void relay_shutdown(struct relay *r);
/* relay_abort - close now, whatever is pending. */
void relay_abort(struct relay *r, const char *reason);

#endif
