/*
 * audit.h - the audit trail (docs/design.md "Record"): a JSON line per session
 * and one per mail transaction, schema version "v":1, written append-only to
 * one file (or stdout for "-"), whole records per write(2), so records of
 * concurrent workers never interleave. A worker thread collects the records
 * of one loop iteration and writes them with one write(2) (audit_flush);
 * other threads write each record at once. Sessions own their struct
 * audit_session; this module only formats and writes. SIGHUP reopens the
 * file (audit_reopen) for logrotate.
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
#ifndef SUBGATE_AUDIT_H
#define SUBGATE_AUDIT_H

#include <stdint.h>

#include "addr.h"
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

/* audit_open - "-" is stdout. 0 or a negative errno. */
int audit_open(const char *path);
/* audit_reopen - reopen the same path (SIGHUP); safe while workers write. */
int audit_reopen(void);
void audit_close(void);

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

/* audit_write_session - write the session record (sets end_ms if 0). */
void audit_write_session(const struct config *c, struct audit_session *rec);
void audit_write_txn(const struct config *c, const struct audit_session *rec,
    const struct smtp_txn *txn);

/* audit_write_line - append preformatted records (one JSON object, or
 * several joined by newlines; the final newline is added) with one write(2)
 * now, never batched nor queued: 0 once they are in the file, or a negative
 * errno when they could not be written whole (the RADIUS module acknowledges
 * only what is on disk). */
int audit_write_line(const char *json, size_t len);

/* audit_thread_begin - from now on this thread's session and transaction
 * records collect in a buffer of its own (a worker, on its thread) and go
 * out whole with one write(2) from audit_flush, or at once when 64 KiB are
 * waiting. */
void audit_thread_begin(void);
/* audit_flush - write what this thread collected (once per loop iteration,
 * before the loop waits: a record waits no longer than that). */
void audit_flush(void);
/* audit_thread_end - flush and stop collecting (the worker's loop ended). */
void audit_thread_end(void);

/* Write failures (full disk, I/O error): a record the file does not take
 * (also each record of a batch the file did not take whole) is kept in a
 * bounded in-memory queue (32 MiB / 65536 records) and written,
 * in order, when the file takes writes again; what does not fit is lost and
 * counted. See docs/audit.md "When the disk is full". */
struct audit_stats {
	uint64_t written;		/* records in the file */
	uint64_t write_errors;		/* failed write attempts */
	uint64_t queued;		/* records that went through the queue */
	uint64_t written_from_queue;
	uint64_t lost;			/* queue full, or still queued at exit */
	size_t queued_now, queued_bytes;
	int failing;
	uint64_t tempfailed;		/* port-25 sessions refused at connect
					 * (on_write_error: tempfail) */
};
void audit_get_stats(struct audit_stats *st);

/* audit_failing - 1 while records cannot be written (the queue holds some). */
int audit_failing(void);
/* audit_tempfail - 1 when a new port-25 session should be refused now (421
 * at connect, policy.replies.audit_down): audit.on_write_error is tempfail
 * and the file is failing. Never for 587/465 (the policy does
 * not apply to passthrough listeners). */
int audit_tempfail(const struct config *c);
/* audit_count_tempfail - the policy refused a session for audit_tempfail
 * (counted in audit_stats.tempfailed); returns the new count. */
uint64_t audit_count_tempfail(void);
/* audit_tick - from the main loop about once a second: retry the queue. */
void audit_tick(void);

/* audit_sink_fn - gets every session and transaction record once it is
 * written, or collected in the worker's batch: its JSON text without the
 * newline, and a jansson object with the fields the index reads, valued as
 * in the text (type, id or session and seq, start, subscriber, src, dst,
 * message_id, queue_id, rcpts or rcpts_hmac: what audit_record_keys and
 * the index writer use). Runs on the writing worker's thread; must not
 * block. */
struct json_t;
typedef void audit_sink_fn(const struct json_t *rec, const char *line,
    size_t len);
/* audit_set_sink - before the workers start (the Redis index). */
void audit_set_sink(audit_sink_fn *fn);

/* audit_log_end - the operator's log line for a finished session. */
void audit_log_end(const struct audit_session *rec);

#endif
