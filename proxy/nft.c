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

/* run - one nft transaction; on failure err gets what (the command, for
 * the log) and nft's own message, on one line. */
static int
run(const char *what, char *text, char *err, size_t errlen)
{
	const char *msg;
	char *p;
	int rc;

	if (ctx == NULL) {
		if ((ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
			snprintf(err, errlen, "%s: cannot create an nftables "
			    "context", what);
			free(text);
			return -1;
		}
		nft_ctx_buffer_output(ctx);
		nft_ctx_buffer_error(ctx);
	}
	rc = nft_run_cmd_from_buffer(ctx, text);
	free(text);
	if (rc == 0)
		return 0;
	msg = nft_ctx_get_error_buffer(ctx);
	snprintf(err, errlen, "%s: %s", what, msg != NULL && *msg ? msg
	    : "failed");
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
	char what[96];

	snprintf(what, sizeof(what), "nft -f (table inet %s)",
	    c->intercept.table);
	return run(what, nft_rules(c, c->path), err, errlen);
}

int
nft_serve(const struct config *c, char *err, size_t errlen)
{
	char what[96];

	snprintf(what, sizeof(what), "nft add element inet %s serving",
	    c->intercept.table);
	return run(what, nft_rules_serve(c), err, errlen);
}

int
nft_release(const struct config *c, char *err, size_t errlen)
{
	char what[96];

	snprintf(what, sizeof(what), "nft flush set inet %s serving",
	    c->intercept.table);
	return run(what, nft_rules_release(c), err, errlen);
}

void
nft_close(void)
{
	if (ctx != NULL)
		nft_ctx_free(ctx);
	ctx = NULL;
}
