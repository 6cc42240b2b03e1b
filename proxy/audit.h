/*
 * audit.h - the audit trail (docs/design.md "Record"): a JSON line per session
 * and one per mail transaction, schema version "v":1, written append-only to
 * one file (or stdout for "-"), whole records per write(2), so records of
 * concurrent workers never interleave. A worker thread collects the records
 * of one loop iteration and hands them to the audit writer thread, which
 * writes them with one write(2) (audit_flush, audit_writer_start); other
 * threads write each record at once. Sessions own their struct
 * audit_session; audit_record.h (the record, its id and its JSON text,
 * included here) formats, this module (audit.c) writes. SIGHUP reopens the
 * file (audit_reopen) for logrotate.
 */
#ifndef SUBGATE_AUDIT_H
#define SUBGATE_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit_record.h"
#include "config.h"
#include "smtp.h"

/* audit_open - "-" is stdout. 0 or a negative errno. */
int audit_open(const char *path);
/* audit_reopen - reopen the same path (SIGHUP); safe while workers write. */
int audit_reopen(void);
/* audit_chown - give the audit file to uid:gid if root owns it (a file, not
 * "-"), before subgated switches to that user, so that audit_reopen can
 * still open it. 0 or a negative errno. */
int audit_chown(uid_t uid, gid_t gid);
void audit_close(void);

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

/* audit_writer_start - from now on audit_flush hands a thread's batch to a
 * writer thread of its own instead of writing it (a worker loop never waits
 * for the disk); in order per thread, bounded (32 MiB waiting: later
 * batches are lost and counted, and audit_failing is 1 until the writer has
 * caught up to half of that). Before the threads that batch start; 0 or a
 * negative errno. audit_writer_stop - write what waits, end the thread (from
 * audit_close too). */
int audit_writer_start(void);
void audit_writer_stop(void);

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
	size_t writer_bytes;		/* batches waiting for the writer thread */
	int behind;			/* the writer is over its bound */
};
void audit_get_stats(struct audit_stats *st);

/* audit_failing - 1 while records cannot be written (the queue holds some),
 * or the writer thread is too far behind. */
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
 * newline, and its facts (audit_key.h: what audit_facts_keys and the index
 * writer use), valid for the call. Runs on the writing worker's thread;
 * must not block. */
typedef void audit_sink_fn(const struct audit_facts *f, const char *line,
    size_t len);
/* audit_set_sink - before the workers start (the Redis index). */
void audit_set_sink(audit_sink_fn *fn);

#endif
