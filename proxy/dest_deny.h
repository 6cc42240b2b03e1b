/*
 * dest_deny.h - destinations a subscriber must not reach through the
 * gateway (issue 9 item 6; docs/operator-guide.md "Denied destinations"):
 * the prefixes of upstream.deny less those of upstream.allow, and the
 * gateway's own addresses, which change at run time.
 *
 * Pure: no socket, no loop. The own-address set is replaced whole by the
 * netlink watcher (netwatch.c) and read by every worker, under a
 * reader/writer lock; the prefix table is built once before the workers
 * start and only read afterwards.
 */
#ifndef SUBGATE_DEST_DENY_H
#define SUBGATE_DEST_DENY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cidr.h"

struct config;
struct dest_deny;

/* dest_deny_new - the table of c->upstream (deny and allow prefixes). */
struct dest_deny *dest_deny_new(const struct config *c);
void dest_deny_free(struct dest_deny *d);

/* dest_deny_match - 1 if a is denied: its longest matching prefix is a
 * deny prefix (an allow prefix of the same length wins), with that prefix
 * in *hit (if not NULL); else 0. */
int dest_deny_match(const struct dest_deny *d, const union sockaddr_any *a,
    struct cidr_prefix *hit);

/* The process's table, set once on the main thread before the workers
 * start (dest_deny_init; NULL c frees it) and read by them. */
void dest_deny_init(const struct config *c);
/* dest_deny_refuses - dest_deny_match on the process's table (0 before
 * dest_deny_init). */
int dest_deny_refuses(const union sockaddr_any *a, struct cidr_prefix *hit);

/* The gateway's own addresses ---------------------------------------- */

/* dest_own_set - replace the own-address set by the n addresses at a (AF_INET
 * or AF_INET6; copied). */
void dest_own_set(const union sockaddr_any *a, size_t n);
/* dest_own_is - 1 if a (port ignored, v4-mapped as IPv4) is one of the
 * gateway's own addresses, else 0. */
int dest_own_is(const union sockaddr_any *a);
/* dest_own_count - addresses in the set. */
size_t dest_own_count(void);

/* dest_own_parse - the addresses of the RTM_NEWADDR messages in a netlink
 * dump or notification buf (len octets): each one (IFA_LOCAL, else
 * IFA_ADDRESS) is passed to fn. Stops at NLMSG_DONE or NLMSG_ERROR (returns
 * 1 then), a truncated or malformed message (returns SG_EINVAL) or the end
 * of buf (returns 0). */
int dest_own_parse(const void *buf, size_t len,
    void (*fn)(const union sockaddr_any *a, void *arg), void *arg);

#endif
