/*
 * priv_core.c - the capabilities a configuration needs after start (see
 * priv_core.h).
 */
#include "priv_core.h"

#include <linux/capability.h>

uint64_t
priv_caps_needed(const struct config *c)
{
	uint64_t caps = 0;

	/* the keeper refreshes the table's set every hold/4, SIGTERM empties
	 * it (nft.c), the conntrack reader subscribes to events (conntrack.c,
	 * only with nftables) */
	if (c->intercept.nftables)
		caps |= PRIV_CAP(CAP_NET_ADMIN);
	/* IP_TRANSPARENT on every upstream socket of a tproxy listener
	 * (intercept.c:intercept_upstream_socket) */
	for (size_t i = 0; i < c->nlisteners; i++)
		if (c->upstream_source == SOURCE_SUBSCRIBER &&
		    c->listeners[i].intercept == INTERCEPT_TPROXY)
			caps |= PRIV_CAP(CAP_NET_ADMIN);
	return caps;
}
