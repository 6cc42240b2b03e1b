/*
 * policy.h - the decision point (DESIGN.md "Decide"). The relay asks at
 * connect, MAIL, RCPT and end of data; the answer is a struct smtp_verdict.
 * The interface is asynchronous from the start: the callback may run inside
 * policy_ask() (today: everything passes) or later from the worker's loop
 * (the Redis limiter of a later issue). A later answer names its session by
 * struct sess_key and the receiver looks it up (worker_lookup); a session
 * that is gone is simply not found.
 *
 * The policy never applies to passthrough sessions (RFC 5068 section 4.1):
 * tunnel.c does not call it.
 */
#ifndef SUBGATE_POLICY_H
#define SUBGATE_POLICY_H

#include "addr.h"
#include "smtp.h"
#include "worker.h"

struct policy_req {
	struct sess_key key;
	const char *session_id;		/* audit id, for logs */
	enum smtp_point point;
	const union sockaddr_any *src;	/* the subscriber's address */
	const union sockaddr_any *dst;	/* the original destination */
	const char *arg;		/* MAIL: reverse-path, RCPT: forward-path, else "" */
	const struct smtp_txn *txn;	/* NULL at connect */
};

/* policy_cb - the verdict for the session named by key. v and its strings
 * are valid only during the call. arg is the caller's, unchanged (it must
 * outlive any session: the worker, not the session). */
typedef void (*policy_cb)(const struct sess_key *key,
    const struct smtp_verdict *v, void *arg);

/* policy_ask - ask; cb runs exactly once, now or later. */
void policy_ask(const struct policy_req *req, policy_cb cb, void *arg);

#endif
