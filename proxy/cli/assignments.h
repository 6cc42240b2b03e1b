/*
 * assignments.h - "who held address A at time T": the assignment history
 * that subgated's RADIUS listener writes (docs/identity.md, "The assignment
 * record"), read back from Redis or from JSON-lines audit files. Used by
 * `subgate trace` (the address question) and by the tests.
 *
 * Both sources answer the same way: every assignment whose prefix contains
 * A and that was held at T (start <= T, and still open or end >= T), the
 * longest prefix first, then the latest start. Usually that is one
 * assignment; more than one means overlapping prefixes (a /32 inside a
 * delegated block) or a NAS that did not report a Stop.
 *
 * The port is accepted for the CGNAT question ("100.64.3.7 port 41234"),
 * but RADIUS accounting here carries no port ranges: an assignment covers
 * every port of its prefix.
 */
#ifndef SUBGATE_CLI_ASSIGNMENTS_H
#define SUBGATE_CLI_ASSIGNMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "asg_schema.h"
#include "identity.h"

struct redisContext;

#define ASG_QUERY_LIMIT 16	/* records read per prefix key */

/* asg_query_redis - ask Redis (a connected, authenticated synchronous
 * context, database selected): for each prefix length in sg:asg:plens of
 * a's family, ZREVRANGEBYSCORE of that prefix's history at t. Matches are
 * appended to out (sorted). 0, or -1 with err set (Redis error). */
int asg_query_redis(struct redisContext *c, const union sockaddr_any *a,
    int port, int64_t t, struct asg_vec *out, char *err, size_t errlen);

/* asg_query_files - scan JSON-lines files (audit files; plain or gzip, "-"
 * = standard input) for assignment records; the records of one assignment
 * (start, interims, its end) are merged into its last state before the
 * test. Matches are appended to out (sorted). 0, or -1 with err set (a file
 * cannot be read). *bad (if not NULL) counts assignment lines that did not
 * parse. */
int asg_query_files(char *const *files, size_t nfiles,
    const union sockaddr_any *a, int port, int64_t t, struct asg_vec *out,
    size_t *bad, char *err, size_t errlen);

/* asg_query_line - feed one JSON line to a file query in progress (the
 * pure part of asg_query_files, for callers with their own reader):
 * state is a vector of merged assignments containing a; call
 * asg_query_finish at the end. Returns 1 if the line was an assignment
 * record, 0 if it was another record, -1 if it did not parse. */
int asg_query_line(struct asg_vec *state, const char *line, size_t len,
    const union sockaddr_any *a);
/* asg_query_finish - move the assignments of state held at t into out,
 * sorted; state is emptied. */
void asg_query_finish(struct asg_vec *state, int64_t t, struct asg_vec *out);

/* asg_query_sort - longest prefix first, then latest start. */
void asg_query_sort(struct asg_vec *v);

#endif
