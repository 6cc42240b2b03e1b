/*
 * config.h - subgated's configuration: a YAML file (libyaml) loaded into one
 * immutable struct config that every worker reads and nobody writes after
 * start. Every key is documented in docs/configuration.md and
 * subgate.yaml(5), both written from the key tables (config_doc); an
 * embedded default (config_default_yaml) runs the gateway with no file and
 * no Redis.
 *
 * Errors carry their location: "subgate.yaml:12:5: listeners[0].mode: expected
 * one of smtp, passthrough".
 */
#ifndef SUBGATE_CONFIG_H
#define SUBGATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "cidr.h"

enum listener_mode {
	LISTEN_SMTP,		/* port 25: SMTP-aware relay */
	LISTEN_PASSTHROUGH	/* 587/465 and others: opaque splice tunnel */
};

enum intercept_mode {
	INTERCEPT_REDIRECT,	/* nft redirect: SO_ORIGINAL_DST */
	INTERCEPT_TPROXY,	/* nft tproxy: IP_TRANSPARENT, getsockname */
	INTERCEPT_NONE		/* plain listener relaying to a fixed upstream */
};

enum upstream_source {
	SOURCE_GATEWAY,		/* connect from the gateway's own address */
	SOURCE_SUBSCRIBER	/* tproxy only: bind the subscriber's address */
};

enum bare_newline {
	BARE_NORMALIZE,		/* bare CR or LF in DATA becomes CRLF */
	BARE_REJECT		/* bare CR or LF in DATA: 5xx and close */
};

struct listener_conf {
	union sockaddr_any addr;
	enum listener_mode mode;
	enum intercept_mode intercept;
	union sockaddr_any upstream;	/* INTERCEPT_NONE only */
	int backlog;
};

/* Times are milliseconds. */
struct smtp_timeouts {
	uint32_t greeting;	/* upstream 220, RFC 5321 4.5.3.2.1: 5 min */
	uint32_t command;	/* upstream reply to other commands: 5 min */
	uint32_t data_init;	/* upstream 354: 2 min (4.5.3.2.4) */
	uint32_t data_block;	/* client silent inside DATA/BDAT: 3 min (4.5.3.2.5) */
	uint32_t data_end;	/* upstream reply to "." or BDAT LAST: 10 min (4.5.3.2.6) */
	uint32_t client_idle;	/* client's next command: 5 min (4.5.3.2.7) */
};

struct smtp_conf {
	size_t max_line;		/* command / reply line, octets incl. CRLF */
	size_t max_auth_line;		/* AUTH exchange lines (RFC 4954: 12288) */
	size_t max_reply;		/* one multi-line reply, octets */
	size_t max_pipeline;		/* commands awaiting a reply */
	size_t max_held;		/* client bytes held while waiting (DATA/AUTH/STARTTLS/decision) */
	size_t max_errors;		/* error replies before the session is closed */
	size_t max_recipients_kept;	/* recipients kept per transaction for the record */
	enum bare_newline bare_newline;
	struct smtp_timeouts timeouts;
};

/*
 * Port-25 policy, Redis, identity, audit options (issues 3 and 4).
 * Every section below is optional; without them the gateway runs with no
 * Redis (in-process limiter only), one class "default" with no limits, no
 * RADIUS listener and full recipients in the audit trail.
 */

/* A secret: read at load time from file (first line, newline stripped) or
 * given inline. value is NUL-terminated for convenience, len is its length
 * (never 0 when set). file is NULL for an inline secret. value == NULL: not
 * configured. config_dump never prints value. */
struct secret {
	char *file;
	char *value;
	size_t len;
};

/* A rate "N/PERIOD": at most n (sessions, messages, recipients, octets,
 * destinations) per period_ms. n == 0: unlimited (period_ms is 0 too). */
struct rate {
	uint64_t n;
	uint32_t period_ms;
};

/* What a hit limit does. */
enum policy_action {
	ACTION_TEMPFAIL,		/* 421/451/452 reply, replies.tempfail */
	ACTION_REFUSE_SUBMISSION,	/* 5xx "use port 587", replies.refuse_submission */
	ACTION_REDIRECT,		/* MX-bound traffic to smarthost */
	ACTION_BLOCK			/* 554, replies.block */
};

/* Index of struct policy_class.traffic[]: the same order and values as
 * enum smtp_class (SMTP_CLASS_MX = 0, SUBMISSION = 1, TLS = 2). */
enum traffic_class {
	TRAFFIC_MX,
	TRAFFIC_SUBMISSION,
	TRAFFIC_TLS,
	TRAFFIC_COUNT
};

/* Limits of one scope. Zero everywhere = no limit. For TRAFFIC_TLS only
 * connections, concurrent, bytes and duration_ms are ever set (the config
 * refuses the others there); duration_ms is only set for TRAFFIC_TLS.
 * destinations only in a subscriber's class (not destination/global). */
struct limit_set {
	struct rate connections;	/* new sessions per period */
	struct rate messages;		/* transactions accepted (end of data) */
	struct rate recipients;		/* RCPT accepted */
	struct rate bytes;		/* message octets (tls: octets both ways) */
	struct rate destinations;	/* distinct destination hosts per period */
	uint32_t concurrent;		/* sessions at once, 0 = unlimited */
	uint32_t duration_ms;		/* tls: one session's life, 0 = unlimited */
	int deny;			/* 1: every new session is a hit ("deny: true") */
	enum policy_action action;	/* valid when has_action */
	int has_action;			/* 0: the class's action applies */
};

/* Lock-out after violations hits within within_ms, for duration_ms.
 * violations == 0: no lock-out (within_ms/duration_ms keep their defaults,
 * 10m and 1h). */
struct lockout_conf {
	uint32_t violations;
	uint32_t within_ms;
	uint32_t duration_ms;
};

/* What a refused STARTTLS (policy verdict at SMTP_AT_STARTTLS) does. */
enum starttls_refusal {
	STARTTLS_REFUSAL_CONTINUE,	/* 454/554, the session goes on in clear */
	STARTTLS_REFUSAL_CLOSE		/* 421 (a 454 turned) or 554, then close */
};

struct policy_class {
	char *name;
	enum policy_action action;	/* default for every limit of the class */
	struct lockout_conf lockout;
	struct limit_set traffic[TRAFFIC_COUNT];	/* by enum traffic_class */
	/* credentials (port 25 sessions of the class) */
	int refuse_cleartext_auth;	/* AUTH before TLS: 538 5.7.11 (RFC 4954 4) */
	enum starttls_refusal starttls_refusal;
};

/* Limits shared by a scope (one destination host; everyone): "all" counts
 * every traffic class together, traffic[] each one alone; both apply.
 * A hit here always answers with ACTION_TEMPFAIL (has_action is 0). */
struct scope_limits {
	struct limit_set all;
	struct limit_set traffic[TRAFFIC_COUNT];
};

struct policy_prefix {
	struct cidr_prefix prefix;
	char *class_name;
	const struct policy_class *cls;		/* resolved, never NULL */
	unsigned ipv6_aggregate;		/* 0: policy.ipv6_aggregate */
};

/* Reply texts: "NNN X.Y.Z text"; %l = name of the limit hit (connections,
 * concurrent, messages, recipients, bytes, destinations, duration, deny),
 * %r = seconds until retry, %% = '%'. Checked at load: a 4xx or 5xx code,
 * the enhanced code's class (if any) equal to the reply's, printable ASCII,
 * no other % sequence, at most 400 characters before expansion. */
struct policy_replies {
	char *tempfail;
	char *refuse_submission;
	char *block;
	char *locked;
	char *redis_down;
	char *audit_down;	/* audit.on_write_error: tempfail */
};

struct policy_conf {
	char *default_class_name;
	const struct policy_class *default_class;	/* resolved, never NULL */
	struct policy_class *classes;	/* in file order; at least one */
	size_t nclasses;
	struct policy_prefix *prefixes;	/* no duplicates */
	size_t nprefixes;
	unsigned ipv6_aggregate;	/* prefix length an unknown IPv6 source
					 * is counted by (its delegation) */
	struct scope_limits destination;	/* per destination host */
	struct scope_limits global;		/* all subscribers, all nodes */
	struct policy_replies replies;
};

enum redis_on_failure {
	REDIS_FAIL_OPEN,	/* in-process limiter takes over */
	REDIS_FAIL_CLOSED	/* port 25 answers replies.redis_down */
};

struct redis_conf {
	int enabled;			/* 0: no "redis" section, no Redis at all */
	union sockaddr_any address;	/* standalone primary */
	union sockaddr_any *sentinels;	/* if nsentinels > 0, address is ignored */
	size_t nsentinels;
	char *master_name;
	struct secret password;		/* value NULL: no AUTH */
	uint32_t database;
	uint32_t timeout_ms;		/* per request */
	uint32_t connect_timeout_ms;
	enum redis_on_failure on_failure;
};

enum smarthost_tls {
	SMARTHOST_TLS_REQUIRE,
	SMARTHOST_TLS_OPPORTUNISTIC,
	SMARTHOST_TLS_OFF
};

enum smarthost_xclient {
	SMARTHOST_XCLIENT_AUTO,		/* when the relay offers it */
	SMARTHOST_XCLIENT_OFF
};

struct smarthost_conf {
	union sockaddr_any address;	/* AF_UNSPEC: none (redirect refused by config) */
	enum smarthost_tls starttls;
	enum smarthost_xclient xclient;
	char *ca_file;			/* NULL: system CAs */
	char *verify_name;		/* NULL: no name check */
	char *auth_user;		/* NULL: no AUTH; set iff auth_password is */
	struct secret auth_password;
	char *helo_name;		/* NULL: use config->node */
};

struct static_entry {
	struct cidr_prefix prefix;
	char *subscriber;		/* 1..253 printable octets, no space */
	char *class_name;		/* NULL: prefixes / default_class decide */
	const struct policy_class *cls;	/* resolved; NULL iff class_name is */
};

struct radius_client {
	struct cidr_prefix prefix;	/* NAS address or prefix */
	struct secret secret;		/* always set */
	char *name;			/* NULL: none given (use the address) */
	struct cidr_prefix *prefixes;	/* assignments it may make; none: any */
	size_t nprefixes;
	char **classes;			/* classes it may name; none: any */
	size_t nclasses;
};

struct radius_conf {
	int enabled;			/* 0: no RADIUS listener */
	union sockaddr_any listen;
	struct radius_client *clients;	/* at least one when enabled */
	size_t nclients;
	char *class_attribute;		/* NULL: class not taken from RADIUS */
	unsigned min_plen_v4;		/* shortest assignment taken, IPv4 */
	unsigned min_plen_v6;		/* and IPv6 (docs/identity.md) */
	int override_static;		/* 1: a longer RADIUS prefix beats a
					 * static entry; 0: static wins */
};

struct identity_conf {
	struct static_entry *statics;	/* no duplicate prefixes */
	size_t nstatics;
	struct radius_conf radius;
	uint64_t history_ms;		/* default 8 days */
};

enum audit_recipients {
	AUDIT_RCPT_FULL,
	AUDIT_RCPT_HMAC,
	AUDIT_RCPT_COUNT
};

enum audit_index {
	AUDIT_INDEX_AUTO,
	AUDIT_INDEX_REDIS,
	AUDIT_INDEX_NONE
};

enum audit_write_error {
	AUDIT_WERR_CONTINUE,
	AUDIT_WERR_TEMPFAIL
};

/* The path stays in struct config.audit_path. */
struct audit_conf {
	enum audit_recipients recipients;
	struct secret hmac_key;		/* always set with AUDIT_RCPT_HMAC */
	enum audit_index index;		/* as configured */
	int index_redis;		/* resolved: 1 = write the Redis index */
	uint64_t retention_ms;		/* Redis index, default 8 days */
	enum audit_write_error on_write_error;
};

struct geoip_conf {
	char *asn_db;			/* NULL: no ASN in records */
	char *country_db;		/* NULL: no country in records */
};

/* intercept: the nftables rules that send subscribers' traffic to the
 * listeners, loaded and kept alive by subgated itself (proxy/nft.c,
 * docs/operator-guide.md "Fail-safe interception"). */
enum on_down {
	ON_DOWN_OPEN,		/* port 25 routed directly while subgated is not serving */
	ON_DOWN_CLOSED		/* port 25 answered with a TCP reset */
};

struct intercept_conf {
	int nftables;			/* 1: subgated owns table inet <table> */
	char *table;
	char **interfaces;		/* iifname patterns ("eth1", "ppp*") */
	size_t ninterfaces;
	struct cidr_prefix *subscribers;	/* source prefixes intercepted */
	size_t nsubscribers;
	uint16_t *smtp_ports;		/* to the smtp listener (25) */
	size_t nsmtp_ports;
	uint16_t *submission_ports;	/* never blocked (587, 465) */
	size_t nsubmission_ports;
	enum on_down on_down;
	uint32_t hold_ms;		/* interception lapses this long after the
					 * last refresh of a live subgated */
	int conntrack;			/* record untunnelled submission flows */
	uint32_t conntrack_mark;	/* ct mark bit(s) tagging those flows */
	uint32_t tproxy_mark;		/* packet mark for "deliver locally" */
};

struct admin_conf {
	union sockaddr_any listen;	/* AF_UNSPEC: no admin endpoint */
	struct secret token;		/* bearer token; value NULL: none */
	int token_for_reads;		/* 1: /metrics and /locks need it too */
	char **hosts;			/* Host names accepted besides the
					 * listen literal and localhost */
	size_t nhosts;
};

/* upstream.deny / upstream.allow: original destinations a port-25 session
 * must not reach (proxy/dest_deny.h); the longest matching prefix of
 * either list decides, allow winning a tie. */
struct upstream_conf {
	struct cidr_prefix *deny;
	size_t ndeny;
	struct cidr_prefix *allow;
	size_t nallow;
};

/* What one kind of session may hold (limits section; docs/operator-guide.md
 * "Bounds"). Port-25 sessions are relays and their STARTTLS tunnels. */
struct session_bounds {
	uint32_t per_source;		/* concurrent port-25 sessions per source
					 * address (IPv6: per /64); 0 = no cap */
	uint32_t fd_reserve;		/* descriptors port 25 leaves to passthrough */
	uint32_t tunnel_idle;		/* ms, 0 = none: a STARTTLS tunnel with no
					 * byte moved either way this long ends */
	uint32_t passthrough_idle;	/* ms, 0 = none: the same for 587/465 */
};

/* privileges: who subgated runs as once everything is bound and opened
 * (proxy/priv.c, docs/operator-guide.md "Privileges"). Only a start as
 * root switches user; the capabilities are dropped either way. */
struct priv_conf {
	char *user;			/* NULL: stay root (warned) */
	char *group;			/* NULL: the user's login group */
	int dumpable;			/* 1: core dumps, ptrace by the same user */
};

struct config {
	char *path;			/* file it was loaded from, or "(default)" */
	char *node;			/* this gateway's name in records */
	int workers;			/* 0: one per core */
	struct listener_conf *listeners;
	size_t nlisteners;

	uint32_t connect_timeout;	/* upstream TCP connect, ms */
	enum upstream_source upstream_source;
	size_t buffer_limit;		/* bytes queued toward one peer before reading the other stops */
	size_t max_sessions;		/* per worker; 0 = unlimited. Never applies to passthrough. */
	uint32_t session_max_time;	/* ms, 0 = none: hard cap on one SMTP session */
	struct session_bounds bounds;	/* limits: per source, descriptors, idle tunnels */

	struct smtp_conf smtp;

	char *audit_path;		/* JSON lines; "-" = stdout */
	int log_level;			/* enum log_level */
	int log_target;			/* enum log_target */
	int log_facility;		/* index of log_facility_names */
	uint32_t drain_timeout;		/* SIGTERM: ms to let sessions finish */

	struct redis_conf redis;
	struct policy_conf policy;
	struct smarthost_conf smarthost;
	struct identity_conf identity;
	struct audit_conf audit;
	struct geoip_conf geoip;
	struct admin_conf admin;
	struct intercept_conf intercept;
	struct upstream_conf upstream;
	struct priv_conf privileges;
};

extern const char config_default_yaml[];

/* config_load - parse the YAML file at path (NULL: the embedded default).
 * On error returns NULL and writes "file:line:col: message" to err. */
struct config *config_load(const char *path, char *err, size_t errlen);
/* config_load_string - the same from memory; name is used in messages. */
struct config *config_load_string(const char *yaml, size_t len, const char *name,
    char *err, size_t errlen);
void config_free(struct config *c);

/* config_dump - the effective configuration as YAML that config_load reads
 * back to the same struct config. */
void config_dump(const struct config *c, FILE *out);

/* config_doc - text (Markdown or roff) with each region between a
 * "BEGIN GENERATED" and an "END GENERATED" marker line written anew from
 * the key tables (config_doc.c): the reference of docs/configuration.md and
 * subgate.yaml(5). Returns the new text (free it), or NULL with the reason
 * in err: an unknown marker, a key without its meaning, a section without
 * its table. */
char *config_doc(const char *text, size_t len, char *err, size_t errlen);

/* config_class - the class called name, or NULL. */
const struct policy_class *config_class(const struct config *c,
    const char *name);

/* config_action - what a hit limit of class cls in traffic class t does:
 * the limit set's own action if given, else the class's; a class action of
 * redirect applies to mx only, submission and tls then tempfail. */
enum policy_action config_action(const struct policy_class *cls,
    enum traffic_class t);

/* config_action_name / config_traffic_name - "tempfail", "mx", ... */
const char *config_action_name(enum policy_action a);
const char *config_traffic_name(enum traffic_class t);

#endif
