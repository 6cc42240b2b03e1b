/*
 * policy.c - the decision point. In this issue it passes everything,
 * synchronously, and leaves a debug line; the Redis-backed limits plug in
 * here (they will copy req->key and answer from a Redis reply callback).
 */
#include "policy.h"

#include <string.h>

#include "log.h"

void
policy_ask(const struct policy_req *req, policy_cb cb, void *arg)
{
	static const struct smtp_verdict pass = { SMTP_PASS, NULL, "pass" };
	char a[ADDRPORT_STRLEN], argbuf[160];
	const char *s = req->arg != NULL ? req->arg : "";

	if (log_enabled(LOG_DEBUG))
		log_debug("event=policy id=%s point=%s src=%s arg=%s verdict=pass",
		    req->session_id, smtp_point_name(req->point),
		    addr_fmt(req->src, a, sizeof(a)),
		    log_esc(argbuf, sizeof(argbuf), s, strlen(s)));
	cb(&req->key, &pass, arg);
}
