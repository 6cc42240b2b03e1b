/*
 * nft.h - the interception table in the kernel (libnftables): loaded at
 * start, its "serving" set refreshed while subgated is alive and ready,
 * emptied when it drains or stops. The rules themselves are nft_rules.c's;
 * the lifecycle is docs/operator-guide.md "Fail-safe interception".
 * Main thread only.
 */
#ifndef SUBGATE_NFT_H
#define SUBGATE_NFT_H

#include <stddef.h>

#include "config.h"

/* nft_install - replace table inet <intercept.table> with the rules of c
 * (nothing steered until nft_serve). 0, or -1 with "the command: the
 * cause" in err. */
int nft_install(const struct config *c, char *err, size_t errlen);

/* nft_serve - refresh "serving" for another intercept.hold. 0 or -1 (err
 * as above). */
int nft_serve(const struct config *c, char *err, size_t errlen);

/* nft_release - empty "serving": new connections take the on_down path at
 * once; connections already steered keep going. 0 or -1. */
int nft_release(const struct config *c, char *err, size_t errlen);

void nft_close(void);

#endif
