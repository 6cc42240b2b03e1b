/*
 * audit_key.c - recipient normalisation, HMAC, Message-ID hashing and the
 * Redis index key names (see audit_key.h). The daemon uses these to write
 * the index, `subgate trace` to read it: both sides must agree exactly, so
 * there is one implementation, unit-tested with fixed vectors.
 */
#include "audit_key.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "jsonw.h"
#include "secret.h"
#include "util.h"

static const char hexd[] = "0123456789abcdef";

static void
hex(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexd[p[i] >> 4];
		out[2 * i + 1] = hexd[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* trim - white space around [*s, *s + *n). */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_ws(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_ws((*s)[*n - 1]))
		(*n)--;
}

int
audit_rcpt_normalize(char *out, size_t outlen, const char *in)
{
	const char *s = in, *colon, *at;
	size_t n = strlen(in);

	if (outlen == 0)
		return SG_EINVAL;
	out[0] = '\0';
	trim(&s, &n);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
		trim(&s, &n);
	}
	/* RFC 5321 4.1.2 A-d-l: "@relay1,@relay2:user@domain". */
	if (n > 0 && s[0] == '@' && (colon = memchr(s, ':', n)) != NULL) {
		n -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	if (n + 1 > outlen)
		return SG_EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	if ((at = strrchr(out, '@')) != NULL)
		for (char *p = (char *)at + 1; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return (int)n;
}

void
audit_hmac_hex(char out[AUDIT_HMAC_HEX + 1], const void *key, size_t keylen,
    const void *data, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	/* HMAC() wants a non-NULL key pointer even for an empty key. */
	if (HMAC(EVP_sha256(), keylen ? key : "", (int)keylen, data, n, md,
	    &mdlen) == NULL || mdlen != 32)
		abort();
	hex(out, md, 32);
}

int
audit_rcpt_hmac(char out[AUDIT_HMAC_HEX + 1], const void *key, size_t keylen,
    const char *rcpt)
{
	char norm[AUDIT_RCPT_MAX];
	int n;

	if ((n = audit_rcpt_normalize(norm, sizeof(norm), rcpt)) < 0) {
		out[0] = '\0';
		return n;
	}
	audit_hmac_hex(out, key, keylen, norm, (size_t)n);
	return 0;
}

int
audit_key_load(const char *path, unsigned char **key, size_t *len)
{
	char *v;
	int rc;

	/* the rules and the wiping of every secret file (common/secret.c) */
	rc = secret_read(path, &v, len, NULL, 0);
	*key = (unsigned char *)v;
	return rc;
}

void
audit_sha1_hex(char out[AUDIT_SHA1_HEX + 1], const void *data, size_t n)
{
	unsigned char md[SHA_DIGEST_LENGTH];

	SHA1(data, n, md);
	hex(out, md, SHA_DIGEST_LENGTH);
}

const char *
audit_msgid_normalize(const char *s, size_t *n)
{
	*n = strlen(s);
	trim(&s, n);
	if (*n >= 2 && s[0] == '<' && s[*n - 1] == '>') {
		s++;
		*n -= 2;
	}
	return s;
}

static int
safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
	    c == ':' || c == '+' || c == '=' || c == '-';
}

void
audit_key_part(char *out, const char *s, size_t n)
{
	int safe = n > 0 && n <= AUDIT_KEY_PART_MAX;

	for (size_t i = 0; safe && i < n; i++)
		safe = safe_char((unsigned char)s[i]);
	if (safe) {
		memcpy(out, s, n);
		out[n] = '\0';
		return;
	}
	out[0] = '~';
	audit_sha1_hex(out + 1, s, n);
}

/* canon_addr - numeric address text in canonical form, or -1. */
static int
canon_addr(char *out, size_t len, const char *s)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)len) ? 0 : -1;
	if (inet_pton(AF_INET6, s, a) == 1) {
		if (addr_is_v4mapped(a))
			return inet_ntop(AF_INET, a + 12, out, (socklen_t)len) ? 0 : -1;
		return inet_ntop(AF_INET6, a, out, (socklen_t)len) ? 0 : -1;
	}
	return -1;
}

int
audit_ix_key(char *out, enum audit_ix kind, const char *value)
{
	static const char *const names[] = { "src", "sub", "mid", "qid", "rcpt",
		"dst" };
	char part[AUDIT_KEY_PART_MAX + 1], tmp[AUDIT_RCPT_MAX];
	const char *s;
	size_t n;
	int rc;

	out[0] = '\0';
	if (value == NULL || *value == '\0' || (unsigned)kind >= 6)
		return SG_EINVAL;
	switch (kind) {
	case AUDIT_IX_SRC:
	case AUDIT_IX_DST:
		if (canon_addr(tmp, sizeof(tmp), value) == 0)
			audit_key_part(part, tmp, strlen(tmp));
		else
			audit_key_part(part, value, strlen(value));
		break;
	case AUDIT_IX_MID:
		s = audit_msgid_normalize(value, &n);
		if (n == 0)
			return SG_EINVAL;
		audit_sha1_hex(part, s, n);
		break;
	case AUDIT_IX_RCPT:
		if ((rc = audit_rcpt_normalize(tmp, sizeof(tmp), value)) <= 0) {
			if (rc == 0)
				return SG_EINVAL;
			audit_key_part(part, value, strlen(value));
		} else
			audit_key_part(part, tmp, (size_t)rc);
		break;
	default:
		audit_key_part(part, value, strlen(value));
		break;
	}
	snprintf(out, AUDIT_KEY_MAX, "sg:ix:%s:%s", names[kind], part);
	return 0;
}

int
audit_rec_key(char *out, const char *id)
{
	size_t n = strlen(id);

	out[0] = '\0';
	if (n == 0 || n >= AUDIT_RECID_MAX)
		return SG_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!safe_char((unsigned char)id[i]))
			return SG_EINVAL;
	snprintf(out, AUDIT_KEY_MAX, "sg:rec:%s", id);
	return 0;
}

/* digits - n decimal digits at *p into *v; advances *p. */
static int
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

int
audit_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, zh = 0, zm = 0;
	int64_t t;
	const char *p = s;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || digits(&p, 2, &d) < 0)
		return SG_EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' ||
		    digits(&p, 2, &mi) < 0)
			return SG_EINVAL;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) < 0)
				return SG_EINVAL;
		}
		if (*p == '.') {
			int scale = 100, nd = 0;

			for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
				frac += (*p - '0') * scale;
				scale /= 10;
			}
			if (nd == 0)
				return SG_EINVAL;
		}
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;

			if (digits(&p, 2, &zh) < 0)
				return SG_EINVAL;
			if (*p == ':')
				p++;
			if (digits(&p, 2, &zm) < 0)
				return SG_EINVAL;
			zh *= sign;
			zm *= sign;
		}
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || zh < -23 || zh > 23 || zm < -59 || zm > 59)
		return SG_EINVAL;
	t = utc_seconds(y, mo, d, h, mi, sec);
	if (t == -1 && y != 1969)
		return SG_EINVAL;
	*ms = (t - (int64_t)zh * 3600 - (int64_t)zm * 60) * 1000 + frac;
	return 0;
}

/* as_text - v as the record's text has it (see struct audit_facts): v
 * itself, or a copy in *tmp with every byte >= 0x80 as '?' (jsonw.h). */
static const char *
as_text(const char *v, char **tmp)
{
	*tmp = NULL;
	if (jw_utf8_valid(v, strlen(v)))
		return v;
	*tmp = xstrdup(v);
	for (unsigned char *p = (unsigned char *)*tmp; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	return *tmp;
}

static void
add(char (*keys)[AUDIT_KEY_MAX], size_t max, size_t *n, enum audit_ix kind,
    const char *v)
{
	char *tmp;

	if (v == NULL || *v == '\0' || *n >= max)
		return;
	if (audit_ix_key(keys[*n], kind, as_text(v, &tmp)) == 0) {
		size_t i;

		for (i = 0; i < *n; i++)
			if (strcmp(keys[i], keys[*n]) == 0)
				break;
		if (i == *n)
			(*n)++;
	}
	free(tmp);
}

int
audit_rec_id(char id[AUDIT_RECID_MAX], const struct audit_facts *f)
{
	char tmp[AUDIT_KEY_MAX];
	int n;

	id[0] = '\0';
	if (f->session == NULL || *f->session == '\0')
		return SG_EINVAL;
	if (f->type == AUDIT_REC_SESSION)
		n = snprintf(id, AUDIT_RECID_MAX, "%s", f->session);
	else if (f->type == AUDIT_REC_TXN && f->seq >= 0)
		n = snprintf(id, AUDIT_RECID_MAX, "%s-%lld", f->session, f->seq);
	else
		return SG_EINVAL;
	if (n < 0 || n >= AUDIT_RECID_MAX || audit_rec_key(tmp, id) < 0) {
		id[0] = '\0';
		return SG_EINVAL;
	}
	return 0;
}

int
audit_facts_keys(const struct audit_facts *f, char id[AUDIT_RECID_MAX],
    char (*keys)[AUDIT_KEY_MAX], size_t max)
{
	size_t n = 0;

	if (audit_rec_id(id, f) < 0)
		return SG_EINVAL;
	add(keys, max, &n, AUDIT_IX_SRC, f->src);
	/* a complaint quotes what the MX saw: the gateway's side */
	add(keys, max, &n, AUDIT_IX_SRC, f->upstream_src);
	add(keys, max, &n, AUDIT_IX_SUB, f->subscriber);
	add(keys, max, &n, AUDIT_IX_DST, f->dst);
	add(keys, max, &n, AUDIT_IX_MID, f->message_id);
	add(keys, max, &n, AUDIT_IX_QID, f->queue_id);
	for (size_t i = 0; i < f->nrcpts; i++)
		add(keys, max, &n, AUDIT_IX_RCPT, f->rcpts[i]);
	return (int)n;
}

/* Records read back (`subgate trace`) ------------------------------------ */

static const char *
jget(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL && *s ? s : NULL;
}

int
audit_facts_from_json(struct audit_facts *f, const json_t *crec)
{
	json_t *rec = (json_t *)crec, *a, *v;
	const char *type = jget(rec, "type"), *start;
	size_t i;

	memset(f, 0, offsetof(struct audit_facts, rcpts));
	f->nrcpts = 0;
	if (type != NULL && strcmp(type, "session") == 0) {
		f->type = AUDIT_REC_SESSION;
		f->session = jget(rec, "id");
	} else if (type != NULL && strcmp(type, "txn") == 0) {
		f->type = AUDIT_REC_TXN;
		f->session = jget(rec, "session");
		if (!json_is_integer(json_object_get(rec, "seq")))
			f->session = NULL;
		f->seq = (long long)json_integer_value(json_object_get(rec,
		    "seq"));
	}
	if (f->session == NULL) {
		f->type = AUDIT_REC_NONE;
		return SG_EINVAL;
	}
	start = jget(rec, "start");
	f->start_known = start != NULL && audit_parse_time(start,
	    &f->start_ms) == 0;
	f->src = jget(rec, "src");
	f->upstream_src = jget(rec, "upstream_src");
	f->subscriber = jget(rec, "subscriber");
	f->dst = jget(rec, "dst");
	f->message_id = jget(rec, "message_id");
	f->queue_id = jget(rec, "queue_id");
	if ((a = json_object_get(rec, "rcpts_hmac")) == NULL)
		a = json_object_get(rec, "rcpts");
	json_array_foreach(a, i, v)
		if (f->nrcpts < AUDIT_FACTS_RCPTS &&
		    (f->rcpts[f->nrcpts] = json_string_value(v)) != NULL)
			f->nrcpts++;
	return 0;
}

int
audit_record_id(const json_t *rec, char id[AUDIT_RECID_MAX])
{
	struct audit_facts f;

	id[0] = '\0';
	if (audit_facts_from_json(&f, rec) < 0)
		return SG_EINVAL;
	return audit_rec_id(id, &f);
}

int
audit_record_keys(const json_t *rec, char id[AUDIT_RECID_MAX],
    char (*keys)[AUDIT_KEY_MAX], size_t max)
{
	struct audit_facts f;

	id[0] = '\0';
	if (audit_facts_from_json(&f, rec) < 0)
		return SG_EINVAL;
	return audit_facts_keys(&f, id, keys, max);
}
