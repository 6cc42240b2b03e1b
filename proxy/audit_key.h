/*
 * audit_key.h - the pure parts the daemon and `subgate trace` must do the
 * same way, byte for byte: recipient normalisation and its keyed HMAC,
 * Message-ID normalisation, and the names of the Redis index keys
 * (docs/audit.md "Redis index"). No sockets, no Redis, no clock.
 *
 * Key parts never carry raw client bytes: a value is used as it is only when
 * it is 1..AUDIT_KEY_PART_MAX characters of [A-Za-z0-9._@:+=-]; anything
 * else becomes "~" and the SHA-1 of the value in hex ("~" is outside that
 * set, so the two forms never collide).
 */
#ifndef SUBGATE_AUDIT_KEY_H
#define SUBGATE_AUDIT_KEY_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_HMAC_HEX 64		/* HMAC-SHA256 in hex, without NUL */
#define AUDIT_SHA1_HEX 40
#define AUDIT_KEY_PART_MAX 128
#define AUDIT_KEY_MAX 160		/* "sg:ix:rcpt:" + part + NUL fits */
#define AUDIT_RCPT_MAX 512		/* normalised recipient, with NUL */
#define AUDIT_IX_MAX 112		/* index keys of one record (rcpts capped) */

enum audit_ix {
	AUDIT_IX_SRC,		/* source address */
	AUDIT_IX_SUB,		/* subscriber id */
	AUDIT_IX_MID,		/* Message-ID */
	AUDIT_IX_QID,		/* upstream queue id */
	AUDIT_IX_RCPT,		/* recipient: HMAC hex or normalised address */
	AUDIT_IX_DST		/* destination address */
};

/* audit_rcpt_normalize - the canonical recipient: surrounding white space
 * and one pair of <> removed, a source route ("@a,@b:", RFC 5321 4.1.2)
 * dropped, the domain (after the last '@') lowercased in ASCII; the local
 * part is kept as written (RFC 5321 2.4: it may be case-sensitive). Returns
 * the length, or SG_EINVAL if it does not fit outlen (then out is ""). */
int audit_rcpt_normalize(char *out, size_t outlen, const char *in);

/* audit_hmac_hex - HMAC-SHA256(key, data) as 64 lowercase hex digits. */
void audit_hmac_hex(char out[AUDIT_HMAC_HEX + 1], const void *key,
    size_t keylen, const void *data, size_t n);

/* audit_rcpt_hmac - audit_hmac_hex of the normalised recipient. 0 or
 * SG_EINVAL (recipient longer than AUDIT_RCPT_MAX). */
int audit_rcpt_hmac(char out[AUDIT_HMAC_HEX + 1], const void *key,
    size_t keylen, const char *rcpt);

/* audit_key_load - read an HMAC key file as every secret file is read
 * (secret_read, common/secret.h): its first line without the line end;
 * a file other users may read or write, a non-regular file, an empty or
 * too long first line is an error. 0 (*key is xmalloc'd, *len its length)
 * or a negative errno / SG_EINVAL. */
int audit_key_load(const char *path, unsigned char **key, size_t *len);

void audit_sha1_hex(char out[AUDIT_SHA1_HEX + 1], const void *data, size_t n);

/* audit_msgid_normalize - white space around and one pair of <> removed:
 * the bytes that are hashed for the index. Returns a pointer into s and the
 * length in *n. */
const char *audit_msgid_normalize(const char *s, size_t *n);

/* audit_key_part - s (n bytes) as a key part: itself when safe, else
 * "~<sha1 hex>" (see above). out must hold AUDIT_KEY_PART_MAX + 1. */
void audit_key_part(char *out, const char *s, size_t n);

/* audit_ix_key - "sg:ix:<kind>:<part>" for a value as the record or the
 * abuse desk gives it: addresses are parsed and written in canonical form
 * (RFC 5952 for IPv6; unparsable text goes through audit_key_part), a
 * Message-ID is normalised and hashed (SHA-1), a recipient normalised (an
 * HMAC in hex is unchanged by that), everything else audit_key_part. out
 * holds AUDIT_KEY_MAX. 0, or SG_EINVAL for an empty value. */
int audit_ix_key(char *out, enum audit_ix kind, const char *value);

/* audit_rec_key - "sg:rec:<id>": id is a session id, or "<session>-<seq>"
 * for a transaction. out holds AUDIT_KEY_MAX. 0 or SG_EINVAL (unsafe id). */
int audit_rec_key(char *out, const char *id);

/* audit_parse_time - RFC 3339 "2026-11-20T10:03:12Z", with optional
 * fraction (".123") and zone ("Z", "+01:00"; none = UTC), 'T' or ' '
 * between date and time, or a date alone (midnight UTC): milliseconds since
 * the epoch in *ms. 0 or SG_EINVAL. */
int audit_parse_time(const char *s, int64_t *ms);

#define AUDIT_RECID_MAX 48	/* "<24 hex>-<seq>" + NUL, with room */

enum audit_rec_type {
	AUDIT_REC_NONE,		/* not a record */
	AUDIT_REC_SESSION,
	AUDIT_REC_TXN
};

/* Room for recipients in the facts: a record has at most AUDIT_IX_MAX keys,
 * so more would never be indexed. */
#define AUDIT_FACTS_RCPTS AUDIT_IX_MAX

/* audit_facts - what the index needs of one record (docs/audit.md): the
 * writer fills it beside the JSON text it makes (audit_record.c), `subgate
 * trace` from a parsed record (audit_facts_from_json); the keys come from
 * here alone (audit_facts_keys). Strings are borrowed; NULL or "" is
 * absent. A value that is not valid UTF-8 counts as the record's text has
 * it (jsonw.h: every byte >= 0x80 as '?'), so both sides agree. */
struct audit_facts {
	enum audit_rec_type type;
	const char *session;		/* the session's id (both types) */
	long long seq;			/* AUDIT_REC_TXN: 1, 2, ... */
	int64_t start_ms;
	int start_known;		/* 0: no readable "start" */
	const char *subscriber, *src, *dst, *message_id, *queue_id;
	const char *upstream_src;	/* indexed as a source too (AUDIT_IX_SRC) */
	const char *rcpts[AUDIT_FACTS_RCPTS];	/* addresses or HMACs in hex */
	size_t nrcpts;
};

/* audit_rec_id - the record's id: the session id, or "<session>-<seq>" for
 * a transaction. The one rule for writer, index and `subgate trace`: an id
 * that is empty, would not fit AUDIT_RECID_MAX, has a character outside the
 * key-part set (audit_key_part) or a negative seq is refused, never cut.
 * 0, or SG_EINVAL (id is then ""). */
int audit_rec_id(char id[AUDIT_RECID_MAX], const struct audit_facts *f);

/* audit_facts_keys - the record's id (audit_rec_id) and the keys of every
 * index it belongs to, at most max, each once. Returns the number of keys,
 * or SG_EINVAL when the record has no usable id. */
int audit_facts_keys(const struct audit_facts *f, char id[AUDIT_RECID_MAX],
    char (*keys)[AUDIT_KEY_MAX], size_t max);

struct json_t;

/* audit_facts_from_json - the facts of a parsed record (strings point into
 * rec). 0, or SG_EINVAL when rec is not a record: no "type" of "session" or
 * "txn", no "id" (session) or no "session" and integer "seq" (txn). */
int audit_facts_from_json(struct audit_facts *f, const struct json_t *rec);

/* audit_record_id - audit_rec_id of a parsed record: 0 or SG_EINVAL. */
int audit_record_id(const struct json_t *rec, char id[AUDIT_RECID_MAX]);

/* audit_record_keys - audit_facts_keys of a parsed record. */
int audit_record_keys(const struct json_t *rec, char id[AUDIT_RECID_MAX],
    char (*keys)[AUDIT_KEY_MAX], size_t max);

#endif
