/*
 * trace.h - `subgate trace`, the abuse desk's command (docs/abuse-desk.md).
 *
 * A query names one index (address, subscriber, Message-ID, queue id,
 * recipient, destination) and a time range on the records' start. Two
 * sources answer it the same way: the Redis index written by subgated
 * (trace_redis.c), or JSON-lines audit files read front to back
 * (trace_file.c), where a record matches when audit_facts_keys() gives it
 * the query's key - the very keys subgated indexes it under. Both fill a
 * struct tset with the matching records and the session records their
 * transactions belong to; trace.c then filters, sorts and prints.
 */
#ifndef SUBGATE_TRACE_H
#define SUBGATE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "audit_key.h"
#include "redis_conf.h"

#define TRACE_LIMIT_DEFAULT 10000

struct json_t;

struct tquery {
	enum audit_ix kind;
	char key[AUDIT_KEY_MAX];	/* sg:ix:... */
	int64_t from, to;		/* index range on start, ms (inclusive) */
	size_t limit;			/* records at most */
	/* trace_files: text every matching line must contain (a fast
	 * pre-filter; "" when the value may be written differently) */
	char needle[AUDIT_RCPT_MAX];
};

/* A record found: ctx marks a session record fetched only because a
 * transaction found belongs to it. */
struct trec {
	struct json_t *rec;
	int64_t start;			/* ms, 0 if unknown */
	int ctx;
	char id[AUDIT_RECID_MAX];
};

/* A set of records; each record once (by id). */
struct tset {
	struct trec *v;
	size_t n, cap;
	size_t *hash;			/* index + 1 into v, open addressing */
	size_t hcap;
	size_t bad_lines;		/* lines or values that are not a record */
	int truncated;			/* limit reached */
};

/* tset_add - take the reference to rec; a record already there (same id)
 * or one without a valid id (audit_rec_id) is dropped. */
void tset_add(struct tset *s, struct json_t *rec, int ctx);
/* tset_has - a record with this id is in s. */
int tset_has(const struct tset *s, const char *id);
/* tset_finish - sort by start, then id. */
void tset_finish(struct tset *s);
void tset_free(struct tset *s);

struct redis_target {
	struct rl_redis_conf rc;	/* where (Sentinel), password, database */
	int timeout_ms;			/* connect and every command */
};

struct redisContext;
/* trace_redis_connect - a synchronous connection to the primary (through
 * Sentinel if configured), authenticated, database selected
 * (redis_sync.h); NULL with err set. */
struct redisContext *trace_redis_connect(const struct redis_target *t,
    char *err, size_t errlen);
void trace_redis_close(struct redisContext *c);

/* trace_redis - run q against the Redis index. 0, or -1 with err set. */
int trace_redis(const struct redis_target *t, const struct tquery *q,
    struct tset *out, char *err, size_t errlen);

/* trace_files - run q over JSON-lines files (plain or gzip, "-" = stdin).
 * 0, or -1 with err set. */
int trace_files(char *const *files, size_t nfiles, const struct tquery *q,
    struct tset *out, char *err, size_t errlen);

/* trace_main - argv after "trace"; returns the exit status (0 found,
 * 1 nothing found, 2 error). */
int trace_main(int argc, char **argv);

#endif
