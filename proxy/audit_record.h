/*
 * audit_record.h - the audit records' facts and their JSON text
 * (audit_record.c): what a session collects for its records, and the bytes
 * of a session or transaction record with the facts the index needs beside
 * them. Pure: no file, no queue; audit.h (which includes this) writes them.
 *
 * Session id: 24 lowercase hex characters, sortable by start time:
 *   TTTTTTTTTT  40 bits  start time, seconds since the epoch
 *   WW           8 bits  worker number
 *   SSSSSS      24 bits  per-worker sequence, starting at a random value
 *                        each run (so a restart within the same second does
 *                        not repeat ids)
 *   NNNNNN      24 bits  node tag: FNV-1a of the configured node name
 *                        (ids of different gateways differ)
 */
#ifndef SUBGATE_AUDIT_RECORD_H
#define SUBGATE_AUDIT_RECORD_H

#include <stdint.h>

#include "addr.h"
#include "audit_key.h"
#include "config.h"
#include "smtp.h"

#define AUDIT_ID_LEN 24
/* The worker number in the ids of records learned from conntrack events
 * (conntrack.c); real workers are 0..WORKER_MAX-1 (254 at most). */
#define AUDIT_WORKER_CONNTRACK 255

/* A compact address: the audit record lives as long as the session, so it
 * keeps 20 bytes instead of a 128-byte sockaddr_storage. */
struct audit_addr {
	uint16_t family;
	uint16_t port;
	uint8_t a[16];
};

/* audit_session - the facts of one session. Strings are NULL or point into
 * one of the two heap blocks the record owns (smtp_strs: audit_session_fill,
 * id_strs: audit_session_set_identity); a struct copy hands them over. */
struct audit_session {
	char id[AUDIT_ID_LEN + 1];
	uint8_t worker;
	uint8_t mode;			/* enum listener_mode */
	uint16_t listener;		/* index into conf->listeners */
	int64_t start_ms, end_ms;
	struct audit_addr src, dst;
	const char *cls;		/* "mx", "submission", "tls", "blocked", "passthrough" */
	char *greeting_host, *ehlo, *auth_mech, *auth_user;
	uint32_t transactions, commands, errors;
	uint64_t bytes_from_client, bytes_to_client;
	uint64_t bytes_to_upstream, bytes_from_upstream;
	uint64_t dropped_after_starttls, normalized_newlines;
	char end_reason[32];
	/* observed: learned from conntrack events, not relayed (no listener;
	 * bytes are conntrack's IP-layer counters, written only when
	 * bytes_known) */
	uint8_t observed, bytes_known;
	/* identity at accept (identity.h): heap copies or NULL; NULL
	 * subscriber = the source address */
	char *subscriber;
	const char *subscriber_source;	/* "static", "radius", "address" */
	char *policy_class;
	/* SMTP_REDIRECT: the smarthost the session went to instead of dst
	 * (family 0: not redirected); written as "redirected_to" */
	struct audit_addr redirected_to;
	/* the upstream side: the local address and port of the gateway's
	 * own connection to dst (or the smarthost), what the receiving MX
	 * logs and a complaint quotes (family 0: never connected); written
	 * as "upstream_src", "upstream_src_port" */
	struct audit_addr up_src;
	/* policy refusals (policy.c), written as "decisions" */
	struct audit_decision *decisions;
	uint8_t ndecisions;
	char *smtp_strs, *id_strs;	/* the blocks the strings live in */
};

/* One policy refusal: where, which limit ("sub.mx.rcpt"), the reply
 * ("452 4.5.3 ...", truncated) and who decided ("redis", "local", "none"). */
struct audit_decision {
	char point[12];
	char limit[40];
	char verdict[72];
	const char *source;		/* static */
};
#define AUDIT_DECISIONS_MAX 8

/* audit_node_tag - set once at start from the node name. */
void audit_set_node(const char *node);

void audit_addr_set(struct audit_addr *o, const union sockaddr_any *a);
void audit_addr_get(const struct audit_addr *o, union sockaddr_any *a);

/* audit_session_init - zero rec, set id, start time, addresses. */
void audit_session_init(struct audit_session *rec, int worker, uint32_t seq,
    int listener, int mode, const union sockaddr_any *src,
    const union sockaddr_any *dst);
/* audit_session_init_at - the same for a session that started at start_ms
 * (its id carries that time). */
void audit_session_init_at(struct audit_session *rec, int worker, uint32_t seq,
    int listener, int mode, const union sockaddr_any *src,
    const union sockaddr_any *dst, int64_t start_ms);
/* audit_session_fill - copy the SMTP core's facts into rec (strings copied). */
void audit_session_fill(struct audit_session *rec, const struct smtp_info *in);
void audit_session_set_reason(struct audit_session *rec, const char *reason);
/* audit_session_set_identity - who the source was at accept: subscriber id,
 * its source ("static", "radius", "address": a static string) and policy
 * class, as they were at that moment (strings copied). */
void audit_session_set_identity(struct audit_session *rec,
    const char *subscriber, const char *source, const char *policy_class);
/* audit_session_add_decision - append a policy refusal (at most
 * AUDIT_DECISIONS_MAX are kept). */
void audit_session_add_decision(struct audit_session *rec, const char *point,
    const char *limit, const char *verdict, const char *source);
/* audit_session_free - free the strings rec owns. */
void audit_session_free(struct audit_session *rec);

/* audit_log_end - the operator's log line for a finished session. */
void audit_log_end(const struct audit_session *rec);

/* audit_rec_facts - a record's facts (audit_key.h) and the strings the
 * writer makes for them: address text, recipient HMACs. */
struct audit_rec_facts {
	struct audit_facts f;
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], up_src[ADDR_STRLEN];
	char hmac[AUDIT_FACTS_RCPTS][AUDIT_HMAC_HEX + 1];
};

struct jw;
/* audit__session_json - rec's session record, one JSON object without the
 * newline, appended to w (end_ms as it is); its facts into rf unless NULL
 * (they borrow from rec and rf). */
void audit__session_json(struct jw *w, const struct config *c,
    const struct audit_session *rec, struct audit_rec_facts *rf);
/* audit__txn_json - the same for transaction t of rec (facts borrow from t
 * too). */
void audit__txn_json(struct jw *w, const struct config *c,
    const struct audit_session *rec, const struct smtp_txn *t,
    struct audit_rec_facts *rf);

#endif
