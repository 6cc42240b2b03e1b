/*
 * intercept.h - the socket side of interception (docs/design.md "Accept"):
 * listening sockets with SO_REUSEPORT and IP_TRANSPARENT, the original
 * destination of an accepted connection (SO_ORIGINAL_DST under REDIRECT,
 * getsockname under TPROXY, the configured upstream otherwise), the loop
 * check, and the upstream socket (optionally bound to the subscriber's
 * address). Plain system calls; no loop, no session state.
 */
#ifndef SUBGATE_INTERCEPT_H
#define SUBGATE_INTERCEPT_H

#include "addr.h"
#include "config.h"

/* intercept_listen - a bound, listening, non-blocking socket for lc; one per
 * worker (SO_REUSEPORT spreads connections over them). Returns the fd or a
 * negative errno; *what names the call that failed. */
int intercept_listen(const struct listener_conf *lc, const char **what);

/* intercept_orig_dst - where the subscriber meant to go. local and peer are
 * the accepted socket's addresses, already unmapped. 0 or SG_ENOORIGDST. */
int intercept_orig_dst(int fd, const struct listener_conf *lc,
    const union sockaddr_any *local, const union sockaddr_any *peer,
    union sockaddr_any *dst);

/* intercept_is_loop - 1 if dst is this gateway (one of its addresses as
 * netwatch.h keeps them, the listener, the accepted socket's local
 * address), else 0. */
int intercept_is_loop(const struct config *c, const struct listener_conf *lc,
    const union sockaddr_any *local, const union sockaddr_any *dst);

/* intercept_upstream_socket - a non-blocking TCP socket for a connection to
 * dst; under TPROXY with upstream.source subscriber it is bound to the
 * subscriber's address (IP_TRANSPARENT, port chosen at connect). Returns the
 * fd or a negative errno. */
int intercept_upstream_socket(const struct config *c,
    const struct listener_conf *lc, const union sockaddr_any *src,
    const union sockaddr_any *dst);

#endif
