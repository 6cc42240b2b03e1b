/*
 * srclimit.h - concurrent port-25 sessions per source (limits.per_source):
 * a count per IPv4 address or IPv6 /64 (a subscriber's IPv6 delegation is
 * at least a /64, RFC 6177), shared by every worker of the process because
 * SO_REUSEPORT spreads one source's connections over all of them. Pure: no
 * loop, no sockets; a mutex makes it safe from any thread. An entry lives
 * while its count is above zero, so the table holds at most one entry per
 * open session.
 */
#ifndef SUBGATE_SRCLIMIT_H
#define SUBGATE_SRCLIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define SRCLIMIT_V6_PLEN 64

struct srclimit;

struct srclimit *srclimit_new(void);
void srclimit_free(struct srclimit *s);

/* srclimit_key - the unit that is counted for a: the IPv4 address (a
 * v4-mapped one counts as IPv4) or the IPv6 /64. SG_EINVAL for other
 * families. */
int srclimit_key(struct cidr_prefix *k, const union sockaddr_any *a);

/* srclimit_take - one more session of k, unless k has cap already (cap 0:
 * no cap; force: count it even at the cap, for a session that goes on as
 * another kind). 1: counted (*n, if not NULL, is the new count); 0: refused,
 * nothing counted (*n is the count). */
int srclimit_take(struct srclimit *s, const struct cidr_prefix *k, uint32_t cap,
    int force, uint32_t *n);
/* srclimit_put - one session of k ended (each successful take, once). */
void srclimit_put(struct srclimit *s, const struct cidr_prefix *k);

/* srclimit_count - sessions of k now; srclimit_entries - sources counted. */
uint32_t srclimit_count(struct srclimit *s, const struct cidr_prefix *k);
size_t srclimit_entries(struct srclimit *s);

#endif
