/*
 * trace_file.c - `subgate trace` over JSON-lines audit files, for nodes
 * without Redis or records older than the index's retention. Files are read
 * with zlib, so logrotate's compressed generations (audit.jsonl.2.gz) work
 * as they are; "-" is standard input. A line matches when its record's
 * index keys (audit_facts_keys of its facts) contain the query's key and its start lies
 * in the range: the same answer the Redis index gives. Lines that are not
 * records (a fragment left by a full disk, say) are skipped and counted.
 */
#include "trace.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "jsonl.h"
#include "util.h"

/* scan - one file; want_sessions: only session records with an id in want
 * (second pass). */
static int
scan(const char *path, const struct tquery *q, const struct tset *want,
    struct tset *out, char *err, size_t errlen)
{
	struct jsonl r;
	char id[AUDIT_RECID_MAX], keys[AUDIT_IX_MAX][AUDIT_KEY_MAX], *line;
	size_t n;

	if (jsonl_open(&r, path, err, errlen) < 0)
		return -1;
	while ((line = jsonl_next(&r, &n)) != NULL) {
		struct audit_facts f;
		json_t *rec;
		int nk, hit = 0;

		if (n == 0)
			continue;
		if (want != NULL) {
			if (strstr(line, "\"type\":\"session\"") == NULL)
				continue;
		} else if (q->needle[0] != '\0' && strstr(line, q->needle) == NULL)
			continue;
		if ((rec = json_loadb(line, n, 0, NULL)) == NULL) {
			out->bad_lines++;
			continue;
		}
		if (want != NULL) {
			if (audit_record_id(rec, id) == 0 && tset_has(want, id) &&
			    !tset_has(out, id))
				tset_add(out, rec, 1);
			else
				json_decref(rec);
			continue;
		}
		nk = audit_facts_from_json(&f, rec) < 0 ? -1
		    : audit_facts_keys(&f, id, keys, AUDIT_IX_MAX);
		for (int i = 0; i < nk && !hit; i++)
			hit = strcmp(keys[i], q->key) == 0;
		if (hit && (!f.start_known || f.start_ms < q->from ||
		    f.start_ms > q->to))
			hit = 0;
		if (!hit) {
			json_decref(rec);
			continue;
		}
		if (out->n >= q->limit) {
			out->truncated = 1;
			json_decref(rec);
			break;
		}
		tset_add(out, rec, 0);
	}
	out->bad_lines += r.too_long;
	jsonl_close(&r);
	return 0;
}

int
trace_files(char *const *files, size_t nfiles, const struct tquery *q,
    struct tset *out, char *err, size_t errlen)
{
	struct tset want;
	int stdin_used = 0;

	for (size_t i = 0; i < nfiles; i++) {
		if (strcmp(files[i], "-") == 0)
			stdin_used = 1;
		if (scan(files[i], q, NULL, out, err, errlen) < 0)
			return -1;
	}
	/* Sessions of the transactions found, unless already there. A
	 * session record is written after its transactions, so it may be in
	 * the same file further on or in a newer one. */
	memset(&want, 0, sizeof(want));
	for (size_t i = 0; i < out->n; i++) {
		struct audit_facts f;
		const char *sid;

		if (audit_facts_from_json(&f, out->v[i].rec) < 0 ||
		    f.type != AUDIT_REC_TXN)
			continue;
		sid = f.session;
		if (!tset_has(out, sid) && !tset_has(&want, sid)) {
			json_t *stub = json_pack("{s:s,s:s}", "type", "session",
			    "id", sid);

			tset_add(&want, stub, 1);
		}
	}
	if (want.n > 0 && !stdin_used)
		for (size_t i = 0; i < nfiles; i++)
			if (scan(files[i], q, &want, out, err, errlen) < 0) {
				tset_free(&want);
				return -1;
			}
	tset_free(&want);
	return 0;
}
