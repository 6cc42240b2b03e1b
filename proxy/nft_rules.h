/*
 * nft_rules.h - the nftables table subgated loads and keeps alive
 * (docs/operator-guide.md "Fail-safe interception"), as text for nft -f /
 * libnftables. Pure: configuration in, text out; proxy/nft.c runs it.
 *
 * The table (family inet, name intercept.table) intercepts only while a
 * live subgated says so. Its set "serving" holds the destination ports
 * subgated serves now, each element with a timeout of intercept.hold; a
 * live subgated refreshes them every hold/4 (nft_rules_serve). When it
 * stops doing so - a crash, a hang, a drain, a stop, a start that failed -
 * the elements time out and the interception rules match no more:
 *
 *   port 25 (smtp_ports)   intercept.on_down open: routed as if no gateway
 *                          were there; closed: a new connection is
 *                          answered with a TCP reset (forward chain)
 *   587/465                always routed untouched when not tunnelled.
 *   (submission_ports)     Without a passthrough listener they are never
 *                          intercepted at all: a ct mark tags new flows
 *                          so that proxy/conntrack.c can record them
 *
 * Only new connections are steered: REDIRECT decides in the nat chain,
 * which sees a connection's first packet only, and the TPROXY rule is
 * limited to "ct state new"; connections already running keep the path
 * they started on.
 */
#ifndef SUBGATE_NFT_RULES_H
#define SUBGATE_NFT_RULES_H

#include <stddef.h>

#include "config.h"

/* nft_rules - the whole table (it replaces only table inet <table>); a
 * heap string. source names the configuration in the header comment. */
char *nft_rules(const struct config *c, const char *source);

/* nft_rules_serve - one transaction: the set "serving" holds exactly the
 * ports this configuration intercepts, each for intercept.hold. */
char *nft_rules_serve(const struct config *c);

/* nft_rules_release - one transaction: "serving" emptied (interception
 * stops at once; the table and its on_down rules stay). */
char *nft_rules_release(const struct config *c);

/* nft_tunnel_listener / nft_smtp_listener - index of the first listener of
 * that mode with intercept redirect or tproxy, or -1. */
int nft_smtp_listener(const struct config *c);
int nft_tunnel_listener(const struct config *c);

#endif
