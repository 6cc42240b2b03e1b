/*
 * tunnel.h - the opaque pass-through tunnel (RFC 5068 section 4.1): bytes
 * move between two sockets with splice(2) through a pipe, never parsed,
 * never refused, independent of policy, Redis and limits. Used for
 * passthrough listeners (587/465) and for port 25 after STARTTLS.
 */
#ifndef SUBGATE_TUNNEL_H
#define SUBGATE_TUNNEL_H

#include "addr.h"

struct worker;
struct tunnel;
struct audit_session;
struct policy_sess;

/* tunnel_start - connect to dst and relay cfd (owned from now on) to it. */
void tunnel_start(struct worker *w, int listener, int cfd,
    const union sockaddr_any *src, const union sockaddr_any *dst);

/* tunnel_adopt - continue an SMTP session as a tunnel after STARTTLS: cfd
 * and ufd are connected (owned from now on); rec is moved in (its strings
 * now belong to the tunnel), and so is pol (may be NULL): the tls byte
 * budget and life limit apply, the leases go back when the tunnel ends. It
 * stays a port-25 session: limits.max_sessions and per_source count it, and
 * limits.tunnel_idle ends it (tunnel_start's: limits.passthrough_idle). */
void tunnel_adopt(struct worker *w, int cfd, int ufd,
    const struct audit_session *rec, struct policy_sess *pol);

/* tunnel_abort - close now (drain deadline). */
void tunnel_abort(struct tunnel *t, const char *reason);

#endif
