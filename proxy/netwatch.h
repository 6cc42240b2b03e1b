/*
 * netwatch.h - the gateway's own addresses, kept current from the kernel:
 * a NETLINK_ROUTE socket subscribed to address changes (RTM_NEWADDR,
 * RTM_DELADDR) on a thread of its own; each change (a burst is coalesced)
 * re-reads the whole address list and replaces dest_deny.h's own-address
 * set, which the loop check (intercept.c) and the deny check read.
 */
#ifndef SUBGATE_NETWATCH_H
#define SUBGATE_NETWATCH_H

/* netwatch_start - read the addresses once (before it returns: the set is
 * complete before the first session), then watch. 0 or a negative errno
 * (logged); without the watcher the set stays as first read. */
int netwatch_start(void);
/* netwatch_stop - end and join the thread; idempotent. */
void netwatch_stop(void);

#endif
