/*
 * identity.h - who is this address (docs/design.md "Identify"): subscriber id
 * and policy class of a source address, from the static map (config
 * identity.static) and the live table the RADIUS accounting listener keeps;
 * and the assignment history behind that table: the state machine driven
 * by accounting events, and the assignment record (JSON, "v":1) that the
 * audit file, Redis and `subgate trace` share (docs/identity.md).
 *
 * Two layers:
 *   struct idstore  the live RADIUS table and its transitions (Start,
 *                   Interim-Update, Stop, an address moving to another
 *                   subscriber, Accounting-On/Off). Pure: no locks, no I/O;
 *                   unit tests drive it directly.
 *   identity_*()    the daemon's one service: static map + one idstore
 *                   behind a writer-preferring rwlock. Workers look up
 *                   concurrently (a trie walk and a copy, never I/O); the
 *                   RADIUS thread and the Redis subscriber update.
 *
 * Strings that came from the network (User-Name, Acct-Session-Id, ...) are
 * percent-escaped (identity_escape) before they are stored: every stored
 * string is printable ASCII without spaces, at most 3 * 253 octets.
 */
#ifndef SUBGATE_IDENTITY_H
#define SUBGATE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cidr.h"
#include "radius.h"

struct config;
struct policy_class;

/* IDENTITY_STR_MAX - an escaped 253-octet attribute and its NUL. */
#define IDENTITY_STR_MAX (3 * 253 + 1)

enum identity_source {
	IDENTITY_ADDRESS,	/* unknown: the subscriber is the address */
	IDENTITY_STATIC,	/* identity.static */
	IDENTITY_RADIUS		/* the live RADIUS table */
};

/* struct identity - the one answer to "who is this address" that a session
 * takes at accept and carries to the policy, its audit record and its
 * tunnel: nothing on a session's path looks the address up again. */
struct identity {
	char subscriber[IDENTITY_STR_MAX];
	const struct policy_class *cls;	/* the configuration's; never NULL
					 * once identity_init has run */
	enum identity_source source;
	struct cidr_prefix prefix;	/* the entry matched; for
					 * IDENTITY_ADDRESS what the limits
					 * count: the IPv4 host, the IPv6
					 * delegation (policy.ipv6_aggregate) */
};

/* identity_source_name - "address", "static", "radius". */
const char *identity_source_name(enum identity_source s);

/* identity_escape - n octets of untrusted input as printable ASCII into out
 * (outlen >= 4): 0x21..0x7e except '%' kept, every other octet "%HH";
 * truncated at a whole escape. Returns out. */
char *identity_escape(char *out, size_t outlen, const void *in, size_t n);

/* Assignments ------------------------------------------------------------ */

enum asg_event {
	ASG_START,		/* Accounting Start */
	ASG_INTERIM,		/* Interim-Update (or a Start for an open session) */
	ASG_STOP,		/* Accounting Stop */
	ASG_MOVED,		/* the prefix went to another session: ended */
	ASG_NAS_REBOOT		/* Accounting-On/Off of its NAS: ended */
};

/* asg_event_name - "start", "interim", "stop", "moved", "nas_reboot". */
const char *asg_event_name(enum asg_event e);
/* asg_event_parse - the inverse; -1 if unknown. */
int asg_event_parse(const char *s);

/* struct asg - one assignment of a prefix to a subscriber, and the record
 * of one event in its life. Strings are heap copies (escaped), "" when
 * absent, never NULL in a valid asg. */
struct asg {
	struct cidr_prefix prefix;
	enum asg_event event;
	int64_t time_ms;		/* when the event happened */
	int64_t start_ms;
	int64_t end_ms;			/* 0: still open */
	int start_unknown;		/* a Stop for a session this node never
					 * saw: start_ms is end_ms */
	char *node;			/* gateway that wrote the record */
	char *subscriber;
	char *cls;			/* policy class at the time */
	int cls_radius;			/* cls was named by the RADIUS class
					 * attribute ("class_source":"radius") */
	char *nas;			/* the NAS's source address */
	char *nas_name;
	char *session_id;		/* Acct-Session-Id */
	char *calling_station_id;
};

void asg_free(struct asg *a);
/* asg_copy - deep copy of src into dst. */
void asg_copy(struct asg *dst, const struct asg *src);
/* asg_contains - 1 if a's prefix contains addr (port ignored). */
int asg_contains(const struct asg *a, const union sockaddr_any *addr);
/* asg_covers - 1 if a's prefix contains addr (port ignored) and a was held
 * at t: start <= t and (open or end >= t). */
int asg_covers(const struct asg *a, const union sockaddr_any *addr, int64_t t);

struct asg_vec {
	struct asg *v;
	size_t n, cap;
};

/* asg_vec_push - append a deep copy of a; returns the copy. */
struct asg *asg_vec_push(struct asg_vec *vec, const struct asg *a);
void asg_vec_clear(struct asg_vec *vec);	/* free elements, keep room */
void asg_vec_free(struct asg_vec *vec);

/* The record's JSON and its Redis keys: asg_schema.h. */

/* An accounting event, ready for the state machine. Strings are escaped,
 * "" when absent. */
#define ASG_MAXPREFIX (1 + 3 * RADIUS_MAXV6)
struct asg_input {
	uint32_t status;		/* RADIUS_STATUS_* */
	int64_t time_ms;		/* when it happened */
	const char *subscriber;		/* User-Name, else Calling-Station-Id */
	const char *cls;		/* class of a new assignment */
	int cls_radius;			/* cls is what the class attribute named */
	const char *nas, *nas_name;
	const char *session_id, *calling_station_id;
	struct cidr_prefix prefix[ASG_MAXPREFIX];
	size_t nprefix;
};

/* asg_input_from_radius - fill in from a decoded Accounting-Request. The
 * event time is Event-Timestamp if present, else recv_ms - Acct-Delay-Time
 * (RFC 2866 §5.2). Escaped strings are written into buf (at least
 * ASG_INPUT_BUFLEN), which in must not outlive. nas is the NAS's source
 * address text, nas_name the configured name ("" if none); both are
 * copied. A prefix of length 0 (a "::/0" delegation) is not taken. */
#define ASG_INPUT_BUFLEN (4 * IDENTITY_STR_MAX + 2 * 256)
void asg_input_from_radius(struct asg_input *in, const struct radius_acct *ra,
    const char *nas, const char *nas_name, int64_t recv_ms, char *buf);

/* IDENTITY_CLASS_TRIM - octets trimmed from both ends of a class
 * attribute's value before it is matched (a NAS or RADIUS server may pad
 * text with spaces, a line end or a C string's NUL). */
#define IDENTITY_CLASS_TRIM " \t\r\n"

/* identity_class_named - the policy class that n octets of untrusted input
 * name: trimmed of IDENTITY_CLASS_TRIM and NUL octets at both ends, then
 * 1..253 octets of class-name characters (A-Z a-z 0-9 . - _) matching a
 * name in c's policy.classes exactly. Returns the configuration's own name
 * string (never a pointer into v), or NULL when it names no class. */
const char *identity_class_named(const struct config *c, const void *v,
    size_t n);

/* identity_radius_class - the class ra names through the attribute
 * c->identity.radius.class_attribute ("Class": RFC 2865 §5.25, "Filter-Id":
 * §5.11; the first non-empty one, radius.h). Returns 1 and *cls = the
 * configured class's name when it names one; 0 when class_attribute is off
 * or ra carries no such attribute; -1 when it names no configured class,
 * with *raw = the attribute's view (to be counted and logged escaped, never
 * stored). */
int identity_radius_class(const struct config *c, const struct radius_acct *ra,
    const char **cls, struct radius_str *raw);

/* What one NAS may say (identity.radius.clients, docs/identity.md) ------ */

struct radius_conf;
struct radius_client;

/* A prefix a NAS may not assign, and why: "too_short" (shorter than
 * min_prefix_v4/v6), "outside_pools" (in none of the client's prefixes). */
struct identity_refused {
	struct cidr_prefix prefix;
	const char *why;		/* static string */
};

/* identity_radius_admit - take out of a Start or Interim-Update in the
 * prefixes that cl may not assign under rc, into out (room for
 * ASG_MAXPREFIX); returns how many. Other events are left alone: a Stop
 * ends only what was taken. */
size_t identity_radius_admit(const struct radius_conf *rc,
    const struct radius_client *cl, struct asg_input *in,
    struct identity_refused *out);

/* identity_client_class_ok - 1 if cl may name the class name (its classes
 * list is empty or holds it). */
int identity_client_class_ok(const struct radius_client *cl,
    const char *name);

/* The live table -------------------------------------------------------- */

struct idstore;

struct idstore *idstore_new(void);
void idstore_free(struct idstore *s);

/* idstore_apply - one accounting event (RFC 2866 §5.1 Acct-Status-Type):
 *   Start / Interim-Update  each prefix becomes (or stays) the session's;
 *                           a prefix held by another session is ended
 *                           first ("moved"), unless that session started
 *                           after this event (a late Start or Interim of
 *                           an older session changes nothing: the rule of
 *                           idstore_apply_record). A Start for a session already
 *                           open at that prefix changes nothing
 *                           (idempotent: retransmissions under a new
 *                           Identifier, RFC 2866 §5.2).
 *   Stop                    the session's prefixes end (those named in the
 *                           packet, or all of them when it names none); a
 *                           prefix now held by another session is left
 *                           alone.
 *   Accounting-On/Off       every open prefix of that NAS ends.
 * Other status values change nothing. The records of what changed are
 * appended to out, with node as their "node"; returns how many. */
size_t idstore_apply(struct idstore *s, const struct asg_input *in,
    const char *node, struct asg_vec *out);

/* idstore_apply_record - a record another node wrote (Redis PUBLISH or
 * the startup load): an open one is installed unless an assignment that
 * started later holds the prefix; a closed one removes the same session's
 * open entry. Returns 1 if the table changed. */
int idstore_apply_record(struct idstore *s, const struct asg *rec);

/* idstore_lookup - the open assignment of the longest prefix containing a,
 * or NULL; *plen gets its length. Valid until the next change. */
const struct asg *idstore_lookup(const struct idstore *s,
    const union sockaddr_any *a, unsigned *plen);

/* idstore_get - the open assignment of exactly p, or NULL. */
const struct asg *idstore_get(const struct idstore *s,
    const struct cidr_prefix *p);

size_t idstore_count(const struct idstore *s);

/* The daemon's service ---------------------------------------------------- */

/* identity_init - build the static map from c (kept: c must outlive the
 * service) and an empty live table. 0 or SG_EINVAL. */
int identity_init(const struct config *c);
void identity_shutdown(void);

/* identity_lookup - who a is (port ignored), now: a static entry that
 * holds a wins over the live RADIUS table, unless
 * identity.radius.override_static: then the longest prefix over both, and
 * at equal length RADIUS (it is the fresher statement). Unknown: the subscriber is the address itself
 * (IPv6: the full address; see docs/identity.md). Class: the static
 * entry's class; for a RADIUS assignment, the class its class attribute
 * named (while identity.radius.class_attribute is set and the class is
 * configured); else the longest policy.prefixes match, else
 * policy.default_class; out->cls points into the configuration, so it
 * outlives the lock and the live entry. now is the caller's clock, kept for
 * callers that log it; the live table is always the present. Any thread;
 * never blocks on I/O. Called once per session, at accept. */
void identity_lookup(const union sockaddr_any *a, int64_t now,
    struct identity *out);

/* identity_class_of - the name of the policy class for an address that no
 * static entry with a class covers (policy.prefixes, else the default): the
 * configuration's string, the name identity_lookup's cls has for a. */
const char *identity_class_of(const union sockaddr_any *a);

/* identity_apply - idstore_apply on the live table, under the write lock. */
size_t identity_apply(const struct asg_input *in, struct asg_vec *out);
/* identity_apply_record - idstore_apply_record, under the write lock. */
int identity_apply_record(const struct asg *rec);
/* identity_live_count - open RADIUS assignments. */
size_t identity_live_count(void);

#endif
