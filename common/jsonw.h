/*
 * jsonw.h - a streaming JSON writer for records built on a hot path (the
 * audit trail): keys and values are appended to one growable buffer the
 * caller owns, with no allocation per field and no object model. Parsing
 * stays with jansson.
 *
 * The output is what jansson's json_dumpb(JSON_COMPACT | JSON_PRESERVE_ORDER)
 * makes of the same values, byte for byte: strings escaped per RFC 8259 §7
 * ('"', '\', \b \f \n \r \t, other controls as \u00XX with upper-case hex,
 * everything else as it is), integers in decimal. A string that is not
 * valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) is written with every byte >= 0x80 replaced by '?', as audit.c
 * did with jansson, so that a record is never lost to a malformed address.
 *
 * Commas are placed by looking at the last byte written ('{', '[', ':' and
 * the newline of jw_nl take none): the writer keeps no
 * nesting state, so it cannot check that objects and arrays are balanced or
 * that keys and values alternate; the caller writes them in order.
 */
#ifndef SUBGATE_JSONW_H
#define SUBGATE_JSONW_H

#include <stddef.h>

struct jw {
	char *p;
	size_t len, cap;
	int owned;		/* p was allocated here (else the caller's) */
};

/* jw_init - start with buf (cap bytes, may be NULL/0), e.g. a stack buffer;
 * the writer moves to the heap only when it is outgrown. */
void jw_init(struct jw *w, char *buf, size_t cap);
/* jw_free - release what the writer allocated. */
void jw_free(struct jw *w);
/* jw_reserve - room for n more bytes; returns where they go. */
char *jw_reserve(struct jw *w, size_t n);

void jw_obj_open(struct jw *w);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w);
void jw_arr_close(struct jw *w);

/* jw_key - an object key (escaped like any string) and its ':'. */
void jw_key(struct jw *w, const char *k);
/* jw_str - a string value; NULL is written as "". */
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, long long v);
void jw_bool(struct jw *w, int v);
/* jw_nl - end a top-level value with a newline (JSON lines): the next
 * value starts without a comma. */
void jw_nl(struct jw *w);
/* jw_raw - n bytes the caller made valid JSON (e.g. an escaped string with
 * its quotes), as one value. */
void jw_raw(struct jw *w, const char *s, size_t n);

/* key-value shorthands */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_kint(struct jw *w, const char *k, long long v);

/* jw_escape - append s (n bytes) as the body of a JSON string, without the
 * quotes, with the rules above. */
void jw_escape(struct jw *w, const char *s, size_t n);

/* jw_utf8_valid - 1 if s (n bytes) is UTF-8 as jansson accepts it. */
int jw_utf8_valid(const char *s, size_t n);

#endif
