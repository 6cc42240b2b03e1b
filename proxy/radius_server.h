/*
 * radius_server.h - the RADIUS accounting listener (RFC 2866) and the
 * assignment history it writes (docs/identity.md).
 *
 * It runs on a thread of its own with its own uv loop, so that a flood of
 * accounting packets or a slow Redis never delays an SMTP worker, and the
 * workers never delay an Accounting-Response. It owns: the UDP socket on
 * identity.radius.listen, the table of recent requests (retransmissions),
 * the batch of records waiting for the audit file and one Redis connection
 * (redis_uv.h) for the history (radius_store.c), and a second thread that
 * subscribes to the other nodes' updates (radius_sub.c). The live table
 * itself is identity.c's.
 *
 * An Accounting-Response is sent only once the request's records are
 * stored: appended to the audit file and, while Redis is up, acknowledged
 * by Redis. With Redis down, slow or behind a replay, the local write is
 * enough and the Redis write is queued for replay (bounded).
 */
#ifndef SUBGATE_RADIUS_SERVER_H
#define SUBGATE_RADIUS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "radius.h"

struct config;

struct radius_stats {
	uint64_t received;		/* datagrams */
	uint64_t unknown_nas;		/* source not in identity.radius.clients */
	uint64_t bad_auth;		/* Request Authenticator mismatch */
	uint64_t parse[RADIUS_NERR];	/* by radius_err_index() */
	uint64_t retransmits;		/* answered again from the table */
	uint64_t rtx_pending;		/* resent while the first was unanswered */
	uint64_t queue_full;		/* dropped: too many unanswered */
	uint64_t accepted;		/* verified requests taken */
	uint64_t answered;		/* Accounting-Responses sent */
	uint64_t send_failed;		/* response not sent (socket full) */
	uint64_t records;		/* assignment records made */
	uint64_t file_errors;		/* audit writes that failed (retried) */
	uint64_t redis_written;		/* records Redis acknowledged */
	uint64_t redis_failed;		/* writes that failed or timed out */
	uint64_t redis_queued;		/* records in the replay queue now */
	uint64_t redis_dropped;		/* records the replay queue had no room for */
	uint64_t remote_applied;	/* other nodes' records applied */
	uint64_t live;			/* open RADIUS assignments */
};

/* radius_server_open - bind the socket and set up the listener's loop when
 * identity.radius is configured (else do nothing), before privileges are
 * dropped (priv.h). c must outlive it. 0 or a negative code (the socket
 * could not be bound: the daemon should not start). */
int radius_server_open(const struct config *c);

/* radius_server_start - start the threads of what radius_server_open set
 * up (nothing if it did not). 0 or a negative code. */
int radius_server_start(void);

/* radius_server_stop - close everything, join the threads, log the
 * counters. From the thread that started it. */
void radius_server_stop(void);

/* radius_server_stats - a snapshot, from any thread (refreshed by the
 * listener every loop iteration). */
void radius_server_stats(struct radius_stats *st);

/* The table of recent requests (RFC 5080 2.2.2): an answered request is
 * remembered RADIUS_RTX_KEEP_MS to answer its retransmissions, and
 * forgotten sooner, oldest first, while the table holds more than
 * RADIUS_RTX_MAX entries or RADIUS_RTX_MAX_BYTES of memory (a request's
 * entry and its response). Unanswered requests are bounded on their own
 * (at most 65536). radius__rtx_forget - may the oldest answered entry,
 * age_ms old, go while the table holds n entries of bytes in all? */
#define RADIUS_RTX_KEEP_MS 30000
#define RADIUS_RTX_MAX (1u << 20)
#define RADIUS_RTX_MAX_BYTES (64u << 20)
static inline int
radius__rtx_forget(uint64_t age_ms, size_t n, size_t bytes)
{
	return age_ms >= RADIUS_RTX_KEEP_MS || n > RADIUS_RTX_MAX ||
	    bytes > RADIUS_RTX_MAX_BYTES;
}

/* Shared by the listener's files (radius_server.c, radius_store.c):
 * radius__ratelog_ok - 1 if a line of this kind may be logged at now (ms):
 * a few per window, then one line saying how many were suppressed. */
struct radius__ratelog {
	uint64_t window;
	unsigned n;
	uint64_t suppressed;
};
int radius__ratelog_ok(struct radius__ratelog *r, uint64_t now);

#endif
