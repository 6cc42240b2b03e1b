/*
 * jsonl.h - reading JSON-lines files (the audit file, its rotated and
 * compressed generations, "-" for standard input) a line at a time, for
 * `subgate trace` and the assignment query alike. Lines longer than
 * JSONL_LINE_MAX are no record subgated writes: they are skipped whole and
 * counted, never split into pieces that could parse.
 */
#ifndef SUBGATE_JSONL_H
#define SUBGATE_JSONL_H

#include <stddef.h>
#include <zlib.h>

#include "buf.h"

#define JSONL_LINE_MAX (16u * 1024 * 1024)

struct jsonl {
	gzFile f;
	struct buf b;		/* read ahead; lines are returned in place */
	size_t off;		/* start of the next line in b */
	size_t too_long;	/* lines skipped for their length */
	int eof;
	int skipping;		/* inside a line that is too long */
};

/* jsonl_open - path ("-": standard input), gzip or plain. 0, or -1 with
 * err set. */
int jsonl_open(struct jsonl *r, const char *path, char *err, size_t errlen);

/* jsonl_next - the next line, without its newline (or CR LF), NUL-terminated
 * in place, its length in *n; valid until the next call. NULL at the end
 * (a read error ends the file too). */
char *jsonl_next(struct jsonl *r, size_t *n);

void jsonl_close(struct jsonl *r);

#endif
