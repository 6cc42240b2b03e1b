/*
 * asg_schema.h - the assignment history as it is stored: its Redis keys,
 * its record (one JSON object per event of an assignment, docs/identity.md
 * "The assignment record") and the Lua script that keeps a prefix's history
 * by matching the record's bytes. The writer (radius_store.c) and the
 * readers (`subgate trace`, cli/assignments.c) take all three from here, so
 * that the script and the byte layout it depends on change together.
 *
 * Keys: ASG_PLENS_KEY, a SET of the prefix lengths in use ("4/32", "6/56");
 * per prefix "sg:{asg:<prefix>}:h", a ZSET of its records scored by start
 * (ms); the records are also PUBLISHed on ASG_CHANNEL.
 */
#ifndef SUBGATE_ASG_SCHEMA_H
#define SUBGATE_ASG_SCHEMA_H

#include <stddef.h>

#include "cidr.h"
#include "identity.h"

#define ASG_CHANNEL "sg:asg"
#define ASG_PLENS_KEY "sg:asg:plens"
#define ASG_HISTORY_MATCH "sg:{asg:*}:h"	/* every history key (SCAN) */
#define ASG_KEY_MAX (CIDR_STRLEN + 16)
#define ASG_PLEN_TAG_MAX 8
/* ASG_JSON_MAX - longer than any record asg_to_json writes (seven strings of
 * at most 3 * 253 octets and the rest); a longer one is refused unread. */
#define ASG_JSON_MAX 16384

/* asg_history_key - the history key of p into out (ASG_KEY_MAX); its
 * length. The prefix is printed by cidr_fmt: no untrusted byte in a key. */
size_t asg_history_key(char *out, const struct cidr_prefix *p);

/* asg_plen_tag - "4/<plen>" or "6/<plen>" into out (ASG_PLEN_TAG_MAX);
 * its length. */
size_t asg_plen_tag(char *out, int family, unsigned plen);
/* asg_plen_parse - the inverse: 0 and *family, *plen, or -1. */
int asg_plen_parse(const char *tag, int *family, unsigned *plen);

/* asg_to_json - the record as one compact JSON object (no newline), in a
 * fixed field order (the script below matches it); heap string, *len its
 * length. */
char *asg_to_json(const struct asg *a, size_t *len);
/* asg_from_json - parse a record; 0, or SG_EINVAL when it is not an
 * assignment record of version 1 or is longer than ASG_JSON_MAX (out is
 * then untouched). Strings come out as identity.h stores them: a string
 * with an octet outside 0x21..0x7e (a hostile file or Redis) is escaped
 * anew (identity_escape), at most IDENTITY_STR_MAX. */
int asg_from_json(const char *json, size_t len, struct asg *out);

/* asg_json_field - the text "key":"value" of a string field of a record
 * written by asg_to_json (the script's needles): 0 and where it starts and
 * its length, or -1. */
int asg_json_field(const char *json, size_t len, const char *key,
    size_t *off, size_t *n);
/* asg_json_from_node - 1 if a record written by asg_to_json names node as
 * its writer, tested on the bytes, before any parsing. */
int asg_json_from_node(const char *json, size_t len, const char *node);

/*
 * The history script: KEYS[1] the prefix's history key; ARGV the record,
 * score (start ms), ttl ms, the record's "nas" and "acct_session_id" fields
 * as asg_json_field gives them (needles), open (1/0), start_unknown (1/0),
 * channel, cutoff ms. Returns 1 if the history changed (and the record was
 * published), 0 if not.
 */
#define ASG_SCRIPT_NARGS 9
extern const char asg_history_script[];

#endif
