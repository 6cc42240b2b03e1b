/*
 * conntrack.h - 587/465 flows that the kernel routes itself (no tunnel),
 * recorded from connection-tracking events (libnetfilter-conntrack).
 *
 * The table that nft_rules.c generates tags every new submission flow of a
 * subscriber with intercept.conntrack_mark; a kernel-side filter on that
 * mark (and TCP) means this module sees those flows only, however busy the
 * router. One thread of its own reads NEW events (start time, subscriber
 * at that moment) and DESTROY events (end, IP-layer byte counters where
 * net.netfilter.nf_conntrack_acct=1) and writes one "passthrough" session
 * record per flow with "observed":"conntrack" (docs/audit.md), indexed
 * like any other. Nothing here is in a packet's path: when events are
 * unavailable (no CAP_NET_ADMIN, no nf_conntrack_netlink) it says so once
 * and 587/465 stay untouched all the same. An event burst larger than the
 * socket buffer is counted (lost_overruns) and never blocks anything.
 */
#ifndef SUBGATE_CONNTRACK_H
#define SUBGATE_CONNTRACK_H

#include <stdint.h>

#include "config.h"

struct conntrack_stats {
	uint64_t events;		/* NEW and DESTROY events read */
	uint64_t recorded;		/* session records written */
	uint64_t overruns;		/* socket buffer overruns (ENOBUFS):
					 * events lost, their number unknown */
	uint64_t untracked;		/* NEW not kept: table full */
	uint64_t start_unknown;		/* DESTROY without its NEW (start =
					 * conntrack's timestamp, else end) */
	int running;			/* 1 while events are read */
	int acct;			/* nf_conntrack_acct at start */
	int timestamp;			/* nf_conntrack_timestamp at start */
};

/* conntrack_start - start the reader thread; on failure it logs
 * event=conntrack_unavailable once and returns -1 (never fatal). */
int conntrack_start(const struct config *c);
void conntrack_stop(void);
void conntrack_get_stats(struct conntrack_stats *st);

#endif
