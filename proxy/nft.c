/*
 * nft.c - run nft_rules.c's text through libnftables (see nft.h).
 */
#include "nft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nftables/libnftables.h>

#include "nft_rules.h"

static struct nft_ctx *ctx;

/* run - one nft transaction (text, freed here) on table inet <table> of
 * c. On failure err gets the command, for the log, as "VERB inet TABLE
 * OBJECT", and nft's own message, on one line. */
static int
run(const struct config *c, const char *verb, const char *object, char *text,
    char *err, size_t errlen)
{
	const char *msg = NULL;
	char *p;
	int rc = -1;

	if (ctx == NULL && (ctx = nft_ctx_new(NFT_CTX_DEFAULT)) != NULL) {
		nft_ctx_buffer_output(ctx);
		nft_ctx_buffer_error(ctx);
	}
	if (ctx != NULL) {
		rc = nft_run_cmd_from_buffer(ctx, text);
		msg = nft_ctx_get_error_buffer(ctx);
	} else {
		msg = "cannot create an nftables context";
	}
	free(text);
	if (rc == 0)
		return 0;
	snprintf(err, errlen, "%s inet %s%s: %s", verb, c->intercept.table,
	    object, msg != NULL && *msg ? msg : "failed");
	/* nft's message spans lines (the rule, a caret line): keep one */
	for (p = err; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	while (p > err && p[-1] == ' ')
		*--p = '\0';
	return -1;
}

int
nft_install(const struct config *c, char *err, size_t errlen)
{
	return run(c, "nft -f (table", ")", nft_rules(c, c->path), err, errlen);
}

int
nft_serve(const struct config *c, char *err, size_t errlen)
{
	return run(c, "nft add element", " serving", nft_rules_serve(c), err,
	    errlen);
}

int
nft_release(const struct config *c, char *err, size_t errlen)
{
	return run(c, "nft flush set", " serving", nft_rules_release(c), err,
	    errlen);
}

void
nft_close(void)
{
	if (ctx != NULL)
		nft_ctx_free(ctx);
	ctx = NULL;
}
