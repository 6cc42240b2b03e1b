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

#include "util.h"

#define LINE_MAX_BYTES (16u * 1024 * 1024)
#define CHUNK (256 * 1024)

struct reader {
	gzFile f;
	char *buf;
	size_t len, off, cap;
	int eof;
};

/* next_line - the next line (without newline, NUL-terminated) or NULL. */
static char *
next_line(struct reader *r, size_t *n)
{
	for (;;) {
		char *nl = r->len > r->off ? memchr(r->buf + r->off, '\n',
		    r->len - r->off) : NULL;
		int got;

		if (nl != NULL) {
			char *line = r->buf + r->off;

			*nl = '\0';
			*n = (size_t)(nl - line);
			r->off = (size_t)(nl - r->buf) + 1;
			return line;
		}
		if (r->eof) {
			if (r->off < r->len) {
				char *line = r->buf + r->off;

				*n = r->len - r->off;
				r->buf[r->len] = '\0';
				r->off = r->len;
				return line;
			}
			return NULL;
		}
		if (r->off > 0) {
			memmove(r->buf, r->buf + r->off, r->len - r->off);
			r->len -= r->off;
			r->off = 0;
		}
		if (r->cap - r->len < CHUNK + 1) {
			if (r->cap >= LINE_MAX_BYTES) {
				r->len = 0;	/* a monster line: drop it */
			} else {
				r->cap = r->cap ? r->cap * 2 : 2 * CHUNK;
				r->buf = xrealloc(r->buf, r->cap);
			}
		}
		got = gzread(r->f, r->buf + r->len, CHUNK);
		if (got <= 0)
			r->eof = 1;
		else
			r->len += (size_t)got;
	}
}

/* scan - one file; want_sessions: only session records with an id in want
 * (second pass). */
static int
scan(const char *path, const struct tquery *q, const struct tset *want,
    struct tset *out, char *err, size_t errlen)
{
	struct reader r;
	char id[AUDIT_RECID_MAX], keys[AUDIT_IX_MAX][AUDIT_KEY_MAX], *line;
	size_t n;

	memset(&r, 0, sizeof(r));
	r.f = strcmp(path, "-") == 0 ? gzdopen(dup(STDIN_FILENO), "rb")
	    : gzopen(path, "rb");
	if (r.f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno
		    : ENOMEM));
		return -1;
	}
	gzbuffer(r.f, CHUNK);
	while ((line = next_line(&r, &n)) != NULL) {
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
	gzclose(r.f);
	free(r.buf);
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
