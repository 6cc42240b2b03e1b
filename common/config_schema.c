/*
 * config_schema.c - what subgated's configuration may hold: one table of
 * keys (type, field, bounds, help) per mapping. Parsing, error messages,
 * config_free and config_dump all walk these tables, so a key exists in
 * exactly one place.
 */
#include "config_int.h"
#include "log.h"
#include "util.h"

#include <stddef.h>

#define FIELD(type, m)	offsetof(type, m), sizeof(((type *)0)->m)
#define CF(m)		FIELD(struct config, m)
#define LF(m)		FIELD(struct listener_conf, m)
#define END		{ .name = NULL }

static const char *const mode_names[] = { "smtp", "passthrough", NULL };
const char *const config__intercept_names[] = { "redirect", "tproxy", "none", NULL };
const char *const config__source_names[] = { "gateway", "subscriber", NULL };
static const char *const bare_names[] = { "normalize", "reject", NULL };

const struct key config__listener_keys[] = {
	{ .name = "listen", .type = K_ADDR, LF(addr), 0, 0, NULL, NULL,
	    "address and port to accept on (required)" },
	{ .name = "mode", .type = K_ENUM, LF(mode), 0, 0, mode_names, NULL,
	    "smtp: SMTP-aware relay; passthrough: opaque tunnel" },
	{ .name = "intercept", .type = K_ENUM, LF(intercept), 0, 0, config__intercept_names, NULL,
	    "how the original destination is learned" },
	{ .name = "upstream", .type = K_ADDR, LF(upstream), 0, 0, NULL, NULL,
	    "fixed destination, only with intercept: none" },
	{ .name = "backlog", .type = K_UINT, LF(backlog), 1, 65535, NULL, NULL,
	    "listen(2) queue length" },
	END
};

static const struct key deny_key[] = {
	{ .name = "deny", .type = K_PREFIX, 0, sizeof(struct cidr_prefix) },
	END
};

static const struct list_def deny_list = {
	.esize = sizeof(struct cidr_prefix), .keys = deny_key, .scalar = 1,
	.max = 4096, .prefix_off = 0
};

static const struct key allow_key[] = {
	{ .name = "allow", .type = K_PREFIX, 0, sizeof(struct cidr_prefix) },
	END
};

static const struct list_def allow_list = {
	.esize = sizeof(struct cidr_prefix), .keys = allow_key, .scalar = 1,
	.max = 4096, .prefix_off = 0
};

static const struct key upstream_keys[] = {
	{ .name = "connect_timeout", .type = K_DURATION, CF(connect_timeout), 100, 10 * MIN_,
	    NULL, NULL, "TCP connect to the original destination" },
	{ .name = "source", .type = K_ENUM, CF(upstream_source), 0, 0, config__source_names, NULL,
	    "upstream source address: gateway's own or subscriber's (tproxy)" },
	{ .name = "deny", .type = K_LIST, CF(upstream.deny), .list = &deny_list,
	    .aux = offsetof(struct config, upstream.ndeny),
	    .help = "port 25: destinations refused with 554 5.7.1" },
	{ .name = "allow", .type = K_LIST, CF(upstream.allow), .list = &allow_list,
	    .aux = offsetof(struct config, upstream.nallow),
	    .help = "exceptions to deny (the longer prefix wins)" },
	END
};

static const struct key limits_keys[] = {
	{ .name = "buffer", .type = K_SIZE, CF(buffer_limit), 4 * KIB, 64 * MIB, NULL, NULL,
	    "octets queued toward one peer before reading the other stops" },
	{ .name = "max_sessions", .type = K_UINT, CF(max_sessions), 0, 10000000, NULL, NULL,
	    "SMTP sessions per worker, 0 = unlimited; never passthrough" },
	{ .name = "session_max_time", .type = K_DURATION, CF(session_max_time), 0, 7 * 24 * HOUR,
	    NULL, NULL, "hard cap on one SMTP session, 0 = none" },
	{ .name = "per_source", .type = K_UINT, CF(bounds.per_source), 0, 1000000, NULL, NULL,
	    "port-25 sessions per source address or IPv6 /64, 0 = no cap" },
	{ .name = "fd_reserve", .type = K_UINT, CF(bounds.fd_reserve), 16, 1000000, NULL, NULL,
	    "descriptors port-25 accepts leave free for passthrough" },
	{ .name = "tunnel_idle", .type = K_DURATION, CF(bounds.tunnel_idle), 0, 24 * HOUR,
	    NULL, NULL, "STARTTLS tunnel with no byte moved, 0 = no limit" },
	{ .name = "passthrough_idle", .type = K_DURATION, CF(bounds.passthrough_idle), 0,
	    7 * 24 * HOUR, NULL, NULL, "587/465 tunnel with no byte moved, 0 = no limit" },
	END
};

static const struct key timeout_keys[] = {
	{ .name = "greeting", .type = K_DURATION, CF(smtp.timeouts.greeting), SEC, 24 * HOUR,
	    NULL, NULL, "upstream 220 greeting (RFC 5321 4.5.3.2.1)" },
	{ .name = "command", .type = K_DURATION, CF(smtp.timeouts.command), SEC, 24 * HOUR,
	    NULL, NULL, "upstream reply to a command (RFC 5321 4.5.3.2.2-3)" },
	{ .name = "data_init", .type = K_DURATION, CF(smtp.timeouts.data_init), SEC, 24 * HOUR,
	    NULL, NULL, "upstream 354 after DATA (RFC 5321 4.5.3.2.4)" },
	{ .name = "data_block", .type = K_DURATION, CF(smtp.timeouts.data_block), SEC, 24 * HOUR,
	    NULL, NULL, "client silent inside DATA/BDAT (RFC 5321 4.5.3.2.5)" },
	{ .name = "data_end", .type = K_DURATION, CF(smtp.timeouts.data_end), SEC, 24 * HOUR,
	    NULL, NULL, "upstream reply to end of data (RFC 5321 4.5.3.2.6)" },
	{ .name = "client_idle", .type = K_DURATION, CF(smtp.timeouts.client_idle), SEC, 24 * HOUR,
	    NULL, NULL, "client's next command (RFC 5321 4.5.3.2.7)" },
	END
};

static const struct key smtp_keys[] = {
	{ .name = "max_line", .type = K_SIZE, CF(smtp.max_line), 512, MIB, NULL, NULL,
	    "command/reply line incl. CRLF (RFC 5321 4.5.3.1.4: >= 512)" },
	{ .name = "max_auth_line", .type = K_SIZE, CF(smtp.max_auth_line), 512, MIB, NULL, NULL,
	    "AUTH exchange line (RFC 4954 section 4: 12288)" },
	{ .name = "max_reply", .type = K_SIZE, CF(smtp.max_reply), 512, 16 * MIB, NULL, NULL,
	    "one multi-line reply" },
	{ .name = "max_pipeline", .type = K_UINT, CF(smtp.max_pipeline), 1, 10000, NULL, NULL,
	    "commands awaiting a reply" },
	{ .name = "max_held", .type = K_SIZE, CF(smtp.max_held), 4 * KIB, 64 * MIB, NULL, NULL,
	    "client octets held while waiting for a reply or decision" },
	{ .name = "max_errors", .type = K_UINT, CF(smtp.max_errors), 1, 10000, NULL, NULL,
	    "error replies before the session is closed" },
	{ .name = "max_recipients_kept", .type = K_UINT, CF(smtp.max_recipients_kept), 0, 100000,
	    NULL, NULL, "recipients per transaction kept for the audit record" },
	{ .name = "bare_newline", .type = K_ENUM, CF(smtp.bare_newline), 0, 0, bare_names, NULL,
	    "bare CR or LF inside DATA" },
	{ .name = "timeouts", .type = K_SECTION, 0, 0, 0, 0, NULL, timeout_keys,
	    "RFC 5321 4.5.3.2" },
	END
};

#define LSF(m)		FIELD(struct limit_set, m)
#define SLF(m)		FIELD(struct scope_limits, m)
#define RF(m)		FIELD(struct redis_conf, m)
#define SHF(m)		FIELD(struct smarthost_conf, m)
#define RCF(m)		FIELD(struct radius_conf, m)

const char *const config__action_names[] = { "tempfail", "refuse_submission",
    "redirect", "block", NULL };
const char *const config__traffic_names[] = { "mx", "submission", "tls", NULL };
static const char *const failure_names[] = { "open", "closed", NULL };
static const char *const starttls_names[] = { "require", "opportunistic",
    "off", NULL };
static const char *const starttls_refusal_names[] = { "continue", "close",
    NULL };
static const char *const recipients_names[] = { "full", "hmac", "count", NULL };
static const char *const index_names[] = { "auto", "redis", "none", NULL };
static const char *const werr_names[] = { "continue", "tempfail", NULL };

static void class_init(void *e);

/* Limits of a subscriber's class, traffic mx and submission. */
static const struct key mx_keys[] = {
	{ .name = "connections", .type = K_RATE, LSF(connections),
	    .help = "new sessions per period",
	    .flags = KF_TERSE },
	{ .name = "concurrent", .type = K_UINT, LSF(concurrent), 0, 1000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE },
	{ .name = "messages", .type = K_RATE, LSF(messages),
	    .help = "messages accepted per period",
	    .flags = KF_TERSE },
	{ .name = "recipients", .type = K_RATE, LSF(recipients),
	    .help = "recipients accepted per period",
	    .flags = KF_TERSE },
	{ .name = "bytes", .type = K_BYTERATE, LSF(bytes),
	    .help = "message octets per period",
	    .flags = KF_TERSE },
	{ .name = "destinations", .type = K_RATE, LSF(destinations),
	    .help = "distinct destination hosts per period",
	    .flags = KF_TERSE },
	{ .name = "deny", .type = K_BOOL, LSF(deny),
	    .help = "true: every new session is a hit",
	    .flags = KF_TERSE },
	{ .name = "action", .type = K_OPTENUM, LSF(action), .names = config__action_names,
	    .aux = offsetof(struct limit_set, has_action),
	    .help = "overrides the class's action" },
	END
};

/* tls sessions are opaque: what can be seen of them. */
static const struct key tls_keys[] = {
	{ .name = "connections", .type = K_RATE, LSF(connections),
	    .help = "new sessions per period",
	    .flags = KF_TERSE },
	{ .name = "concurrent", .type = K_UINT, LSF(concurrent), 0, 1000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE },
	{ .name = "bytes", .type = K_BYTERATE, LSF(bytes),
	    .help = "octets both ways per period",
	    .flags = KF_TERSE },
	{ .name = "duration", .type = K_DURATION, LSF(duration_ms), 0, 7 * DAY,
	    .help = "one session's life, 0 = unlimited",
	    .flags = KF_TERSE },
	{ .name = "deny", .type = K_BOOL, LSF(deny),
	    .help = "true: every new session is a hit",
	    .flags = KF_TERSE },
	{ .name = "action", .type = K_OPTENUM, LSF(action), .names = config__action_names,
	    .aux = offsetof(struct limit_set, has_action),
	    .help = "overrides the class's action" },
	END
};

static const struct key lockout_keys[] = {
	{ .name = "violations", .type = K_UINT,
	    FIELD(struct lockout_conf, violations), 0, 1000000,
	    .help = "hits that lock the subscriber out, 0 = never" },
	{ .name = "within", .type = K_DURATION,
	    FIELD(struct lockout_conf, within_ms), SEC, 7 * DAY,
	    .help = "window the violations are counted in" },
	{ .name = "duration", .type = K_DURATION,
	    FIELD(struct lockout_conf, duration_ms), SEC, 30 * DAY,
	    .help = "how long port 25 stays locked" },
	END
};

static const struct key class_keys[] = {
	{ .name = "action", .type = K_ENUM, FIELD(struct policy_class, action),
	    .names = config__action_names, .help = "what a hit limit does" },
	{ .name = "lockout", .type = K_STRUCT,
	    FIELD(struct policy_class, lockout), .sub = lockout_keys },
	{ .name = "mx", .type = K_STRUCT,
	    FIELD(struct policy_class, traffic[TRAFFIC_MX]), .sub = mx_keys,
	    .flags = KF_TERSE },
	{ .name = "submission", .type = K_STRUCT,
	    FIELD(struct policy_class, traffic[TRAFFIC_SUBMISSION]),
	    .sub = mx_keys, .flags = KF_TERSE },
	{ .name = "tls", .type = K_STRUCT,
	    FIELD(struct policy_class, traffic[TRAFFIC_TLS]), .sub = tls_keys,
	    .flags = KF_TERSE },
	{ .name = "refuse_cleartext_auth", .type = K_BOOL,
	    FIELD(struct policy_class, refuse_cleartext_auth),
	    .help = "port 25 AUTH before TLS: 538 5.7.11, not forwarded" },
	{ .name = "starttls_refusal", .type = K_ENUM,
	    FIELD(struct policy_class, starttls_refusal),
	    .names = starttls_refusal_names,
	    .help = "a refused STARTTLS: continue in clear, or close" },
	END
};

/* Shared scopes (destination, global): one traffic class ... */
static const struct key scope_class_keys[] = {
	{ .name = "connections", .type = K_RATE, LSF(connections),
	    .help = "new sessions per period",
	    .flags = KF_TERSE },
	{ .name = "concurrent", .type = K_UINT, LSF(concurrent), 0, 100000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE },
	{ .name = "messages", .type = K_RATE, LSF(messages),
	    .help = "messages accepted per period",
	    .flags = KF_TERSE },
	{ .name = "recipients", .type = K_RATE, LSF(recipients),
	    .help = "recipients accepted per period",
	    .flags = KF_TERSE },
	{ .name = "bytes", .type = K_BYTERATE, LSF(bytes),
	    .help = "message octets per period",
	    .flags = KF_TERSE },
	END
};

static const struct key scope_tls_keys[] = {
	{ .name = "connections", .type = K_RATE, LSF(connections),
	    .help = "new sessions per period",
	    .flags = KF_TERSE },
	{ .name = "concurrent", .type = K_UINT, LSF(concurrent), 0, 100000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE },
	{ .name = "bytes", .type = K_BYTERATE, LSF(bytes),
	    .help = "octets both ways per period",
	    .flags = KF_TERSE },
	END
};

/* ... and every traffic class together (the flat keys). */
static const struct key scope_keys[] = {
	{ .name = "connections", .type = K_RATE, SLF(all.connections),
	    .help = "new sessions per period, all traffic",
	    .flags = KF_TERSE },
	{ .name = "concurrent", .type = K_UINT, SLF(all.concurrent), 0, 100000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE },
	{ .name = "messages", .type = K_RATE, SLF(all.messages),
	    .help = "messages accepted per period",
	    .flags = KF_TERSE },
	{ .name = "recipients", .type = K_RATE, SLF(all.recipients),
	    .help = "recipients accepted per period",
	    .flags = KF_TERSE },
	{ .name = "bytes", .type = K_BYTERATE, SLF(all.bytes),
	    .help = "octets per period",
	    .flags = KF_TERSE },
	{ .name = "mx", .type = K_STRUCT, SLF(traffic[TRAFFIC_MX]),
	    .sub = scope_class_keys,
	    .flags = KF_TERSE },
	{ .name = "submission", .type = K_STRUCT,
	    SLF(traffic[TRAFFIC_SUBMISSION]), .sub = scope_class_keys,
	    .flags = KF_TERSE },
	{ .name = "tls", .type = K_STRUCT, SLF(traffic[TRAFFIC_TLS]),
	    .sub = scope_tls_keys,
	    .flags = KF_TERSE },
	END
};

static const struct key prefix_keys[] = {
	{ .name = "prefix", .type = K_PREFIX,
	    FIELD(struct policy_prefix, prefix),
	    .help = "source prefix, no host bits" },
	{ .name = "class", .type = K_NAME,
	    FIELD(struct policy_prefix, class_name),
	    .help = "a class of policy.classes" },
	END
};

static const struct key replies_keys[] = {
	{ .name = "tempfail", .type = K_TEXT, CF(policy.replies.tempfail) },
	{ .name = "refuse_submission", .type = K_TEXT,
	    CF(policy.replies.refuse_submission) },
	{ .name = "block", .type = K_TEXT, CF(policy.replies.block) },
	{ .name = "locked", .type = K_TEXT, CF(policy.replies.locked) },
	{ .name = "redis_down", .type = K_TEXT, CF(policy.replies.redis_down) },
	{ .name = "audit_down", .type = K_TEXT, CF(policy.replies.audit_down),
	    .help = "port 25 at connect while the audit file fails "
	    "(audit.on_write_error: tempfail)" },
	END
};

static const char *const prefix_required[] = { "prefix", "class", NULL };
static const char *const static_required[] = { "prefix", "subscriber", NULL };
static const char *const client_required[] = { "address", NULL };

static const struct list_def class_list = {
	.esize = sizeof(struct policy_class), .keys = class_keys,
	.name_off = offsetof(struct policy_class, name), .max = 1000,
	.prefix_off = -1, .init = class_init
};

static const struct list_def prefix_list = {
	.esize = sizeof(struct policy_prefix), .keys = prefix_keys,
	.max = SIZE_MAX, .required = prefix_required,
	.prefix_off = offsetof(struct policy_prefix, prefix)
};

static const struct key policy_keys[] = {
	{ .name = "default_class", .type = K_NAME, CF(policy.default_class_name),
	    .help = "class of a subscriber nothing else names" },
	{ .name = "classes", .type = K_MAP, CF(policy.classes),
	    .list = &class_list, .aux = offsetof(struct config, policy.nclasses) },
	{ .name = "prefixes", .type = K_LIST, CF(policy.prefixes),
	    .list = &prefix_list, .aux = offsetof(struct config, policy.nprefixes),
	    .help = "source prefix -> class" },
	{ .name = "destination", .type = K_STRUCT, CF(policy.destination),
	    .sub = scope_keys,
	    .flags = KF_TERSE },
	{ .name = "global", .type = K_STRUCT, CF(policy.global),
	    .sub = scope_keys,
	    .flags = KF_TERSE },
	{ .name = "replies", .type = K_SECTION, .sub = replies_keys,
	    .help = "%l = limit hit, %r = seconds until retry" },
	END
};

static const struct key sentinel_key[] = {
	{ .name = "sentinels", .type = K_ADDR, 0, sizeof(union sockaddr_any) },
	END
};

static const struct list_def sentinel_list = {
	.esize = sizeof(union sockaddr_any), .keys = sentinel_key, .scalar = 1,
	.max = 64, .prefix_off = -1, .check = config__sentinel_check
};

static const struct key redis_keys[] = {
	{ .name = "address", .type = K_ADDR, RF(address),
	    .help = "standalone primary" },
	{ .name = "sentinels", .type = K_LIST, RF(sentinels),
	    .list = &sentinel_list, .aux = offsetof(struct redis_conf, nsentinels),
	    .help = "if any, address is ignored" },
	{ .name = "master_name", .type = K_NAME, RF(master_name),
	    .help = "Sentinel's name of the primary" },
	{ .name = "password_file", .type = K_SECRET_FILE, RF(password),
	    .flags = KF_OPT, .help = "AUTH password: first line of the file" },
	{ .name = "password", .type = K_SECRET, RF(password) },
	{ .name = "database", .type = K_UINT, RF(database), 0, 65535,
	    .help = "SELECT" },
	{ .name = "timeout", .type = K_DURATION, RF(timeout_ms), 1, MIN_,
	    .help = "per-request deadline" },
	{ .name = "connect_timeout", .type = K_DURATION, RF(connect_timeout_ms),
	    10, MIN_, .help = "connect and handshake" },
	{ .name = "on_failure", .type = K_ENUM, RF(on_failure),
	    .names = failure_names, .help = "port 25 while Redis is unusable" },
	END
};

static const struct key smarthost_keys[] = {
	{ .name = "address", .type = K_ADDR, SHF(address), .flags = KF_OPT,
	    .help = "target of action redirect; \"\" = none" },
	{ .name = "starttls", .type = K_ENUM, SHF(starttls),
	    .names = starttls_names },
	{ .name = "ca_file", .type = K_PATH, SHF(ca_file), .flags = KF_OPT,
	    .help = "CA to verify with; \"\" = system CAs" },
	{ .name = "verify_name", .type = K_NAME, SHF(verify_name),
	    .flags = KF_OPT, .help = "name in its certificate; \"\" = unchecked" },
	{ .name = "auth_user", .type = K_IDENT, SHF(auth_user), .flags = KF_OPT,
	    .help = "AUTH PLAIN user; \"\" = no AUTH" },
	{ .name = "auth_password_file", .type = K_SECRET_FILE,
	    SHF(auth_password), .flags = KF_OPT },
	{ .name = "auth_password", .type = K_SECRET, SHF(auth_password) },
	{ .name = "helo_name", .type = K_NAME, SHF(helo_name), .flags = KF_OPT,
	    .help = "\"\" = node" },
	END
};

static const struct key static_keys[] = {
	{ .name = "prefix", .type = K_PREFIX,
	    FIELD(struct static_entry, prefix) },
	{ .name = "subscriber", .type = K_IDENT,
	    FIELD(struct static_entry, subscriber) },
	{ .name = "class", .type = K_NAME, FIELD(struct static_entry, class_name),
	    .flags = KF_OPT },
	END
};

static const struct list_def static_list = {
	.esize = sizeof(struct static_entry), .keys = static_keys,
	.max = SIZE_MAX, .required = static_required,
	.prefix_off = offsetof(struct static_entry, prefix)
};

static const struct key client_prefix_key[] = {
	{ .name = "prefixes", .type = K_PREFIX, 0, sizeof(struct cidr_prefix) },
	END
};

static const struct list_def client_prefix_list = {
	.esize = sizeof(struct cidr_prefix), .keys = client_prefix_key,
	.scalar = 1, .max = 4096, .prefix_off = 0
};

static const struct key client_class_key[] = {
	{ .name = "classes", .type = K_NAME, 0, sizeof(char *) },
	END
};

static const struct list_def client_class_list = {
	.esize = sizeof(char *), .keys = client_class_key, .scalar = 1,
	.max = 1000, .prefix_off = -1
};

static const struct key client_keys[] = {
	{ .name = "address", .type = K_PREFIX,
	    FIELD(struct radius_client, prefix) },
	{ .name = "secret_file", .type = K_SECRET_FILE,
	    FIELD(struct radius_client, secret), .flags = KF_OPT },
	{ .name = "secret", .type = K_SECRET,
	    FIELD(struct radius_client, secret) },
	{ .name = "name", .type = K_NAME, FIELD(struct radius_client, name),
	    .flags = KF_OPT },
	{ .name = "prefixes", .type = K_LIST,
	    FIELD(struct radius_client, prefixes), .list = &client_prefix_list,
	    .aux = offsetof(struct radius_client, nprefixes),
	    .help = "pools it assigns from; [] = any" },
	{ .name = "classes", .type = K_LIST,
	    FIELD(struct radius_client, classes), .list = &client_class_list,
	    .aux = offsetof(struct radius_client, nclasses),
	    .help = "classes its class attribute may name; [] = any" },
	END
};

static const struct list_def client_list = {
	.esize = sizeof(struct radius_client), .keys = client_keys,
	.max = 10000, .required = client_required,
	.prefix_off = offsetof(struct radius_client, prefix),
	.check = config__radius_client_check
};

static const struct key radius_keys[] = {
	{ .name = "listen", .type = K_ADDR, RCF(listen),
	    .help = "UDP, RFC 2866 accounting" },
	{ .name = "clients", .type = K_LIST, RCF(clients), .list = &client_list,
	    .aux = offsetof(struct radius_conf, nclients),
	    .help = "NASes allowed to send accounting" },
	/* any string here; check_others admits "", Class and Filter-Id, with
	 * a message that lists them */
	{ .name = "class_attribute", .type = K_PATH, RCF(class_attribute),
	    .flags = KF_OPT,
	    .help = "attribute naming the class: Class | Filter-Id; \"\" = none" },
	{ .name = "min_prefix_v4", .type = K_UINT, RCF(min_plen_v4), 1, 32,
	    .help = "shortest IPv4 assignment taken (one subscriber's)" },
	{ .name = "min_prefix_v6", .type = K_UINT, RCF(min_plen_v6), 1, 128,
	    .help = "shortest IPv6 assignment or delegation taken" },
	{ .name = "override_static", .type = K_BOOL, RCF(override_static),
	    .help = "a longer RADIUS prefix beats a static entry" },
	END
};

static const struct key identity_keys[] = {
	{ .name = "static", .type = K_LIST, CF(identity.statics),
	    .list = &static_list, .aux = offsetof(struct config, identity.nstatics),
	    .help = "longest prefix wins" },
	{ .name = "radius", .type = K_STRUCT, CF(identity.radius),
	    .sub = radius_keys, .flags = KF_PRESENCE,
	    .aux = offsetof(struct config, identity.radius.enabled) },
	{ .name = "history", .type = K_DURATION, CF(identity.history_ms), HOUR,
	    400 * DAY, .help = "address assignments kept" },
	END
};

static const struct key geoip_keys[] = {
	{ .name = "asn_db", .type = K_PATH, CF(geoip.asn_db), .flags = KF_OPT,
	    .help = "MaxMind DB with ASNs; \"\" = none" },
	{ .name = "country_db", .type = K_PATH, CF(geoip.country_db),
	    .flags = KF_OPT, .help = "MaxMind DB with countries; \"\" = none" },
	END
};

static const struct key admin_host_key[] = {
	{ .name = "hosts", .type = K_NAME, 0, sizeof(char *) },
	END
};

static const struct list_def admin_host_list = {
	.esize = sizeof(char *), .keys = admin_host_key, .scalar = 1,
	.max = 64, .prefix_off = -1
};

static const struct key admin_keys[] = {
	{ .name = "listen", .type = K_ADDR, CF(admin.listen), .flags = KF_OPT,
	    .help = "HTTP metrics and lock-outs; \"\" = off" },
	{ .name = "token_file", .type = K_SECRET_FILE, CF(admin.token),
	    .flags = KF_OPT, .help = "bearer token: first line of the file" },
	{ .name = "token_required_for_reads", .type = K_BOOL,
	    CF(admin.token_for_reads),
	    .help = "true: /metrics and /locks need the token too" },
	{ .name = "hosts", .type = K_LIST, CF(admin.hosts),
	    .list = &admin_host_list, .aux = offsetof(struct config, admin.nhosts),
	    .help = "Host names accepted besides the listen address, localhost" },
	END
};

static const struct key audit_keys[] = {
	{ .name = "path", .type = K_PATH, CF(audit_path), 0, 0, NULL, NULL,
	    "JSON lines file, \"-\" = standard output" },
	{ .name = "recipients", .type = K_ENUM, CF(audit.recipients),
	    .names = recipients_names, .help = "full | hmac | count" },
	{ .name = "hmac_key_file", .type = K_SECRET_FILE, CF(audit.hmac_key),
	    .flags = KF_OPT, .help = "key of recipients: hmac" },
	{ .name = "hmac_key", .type = K_SECRET, CF(audit.hmac_key) },
	{ .name = "index", .type = K_ENUM, CF(audit.index), .names = index_names,
	    .help = "auto = redis when Redis is configured" },
	{ .name = "retention", .type = K_DURATION, CF(audit.retention_ms), HOUR,
	    400 * DAY, .help = "Redis index retention" },
	{ .name = "on_write_error", .type = K_ENUM, CF(audit.on_write_error),
	    .names = werr_names, .help = "port 25 while the file fails" },
	END
};

static const struct key log_keys[] = {
	{ .name = "level", .type = K_ENUM, CF(log_level), 0, 0, log_level_names,
	    NULL, "least severe level written" },
	{ .name = "target", .type = K_ENUM, CF(log_target),
	    .names = log_target_names,
	    .help = "stderr (<N> priorities when it is the journal) | syslog" },
	{ .name = "facility", .type = K_ENUM, CF(log_facility),
	    .names = log_facility_names,
	    .help = "syslog(3) facility, with target: syslog" },
	END
};

static const struct key shutdown_keys[] = {
	{ .name = "drain_timeout", .type = K_DURATION, CF(drain_timeout), 0, HOUR, NULL, NULL,
	    "after SIGTERM, time given to sessions to finish" },
	END
};

static const char *const on_down_names[] = { "open", "closed", NULL };

static const struct key iface_key[] = {
	{ .name = "interfaces", .type = K_PATH, 0, sizeof(char *) },
	END
};

static const struct list_def iface_list = {
	.esize = sizeof(char *), .keys = iface_key, .scalar = 1,
	.max = 64, .prefix_off = -1, .check = config__iface_check
};

static const struct key subnet_key[] = {
	{ .name = "subscribers", .type = K_PREFIX, 0, sizeof(struct cidr_prefix) },
	END
};

static const struct list_def subnet_list = {
	.esize = sizeof(struct cidr_prefix), .keys = subnet_key, .scalar = 1,
	.max = 4096, .prefix_off = 0
};

static const struct key port_key[] = {
	{ .name = "port", .type = K_UINT, 0, sizeof(uint16_t), 1, 65535 },
	END
};

static const struct list_def port_list = {
	.esize = sizeof(uint16_t), .keys = port_key, .scalar = 1,
	.max = 16, .prefix_off = -1
};

#define ICF(m)		FIELD(struct intercept_conf, m)

static const struct key intercept_keys[] = {
	{ .name = "nftables", .type = K_BOOL, ICF(nftables),
	    .help = "subgated loads its table and keeps interception alive" },
	{ .name = "table", .type = K_NAME, ICF(table),
	    .help = "nftables table (family inet) subgated owns" },
	{ .name = "interfaces", .type = K_LIST, ICF(interfaces),
	    .list = &iface_list, .aux = offsetof(struct intercept_conf, ninterfaces),
	    .help = "subscriber-facing interfaces (\"ppp*\" allowed)" },
	{ .name = "subscribers", .type = K_LIST, ICF(subscribers),
	    .list = &subnet_list,
	    .aux = offsetof(struct intercept_conf, nsubscribers),
	    .help = "source prefixes intercepted" },
	{ .name = "smtp_ports", .type = K_LIST, ICF(smtp_ports),
	    .list = &port_list, .aux = offsetof(struct intercept_conf, nsmtp_ports),
	    .help = "to the smtp listener" },
	{ .name = "submission_ports", .type = K_LIST, ICF(submission_ports),
	    .list = &port_list,
	    .aux = offsetof(struct intercept_conf, nsubmission_ports),
	    .help = "never blocked; tunnelled only with a passthrough listener" },
	{ .name = "on_down", .type = K_ENUM, ICF(on_down), .names = on_down_names,
	    .help = "port 25 while subgated is not serving" },
	{ .name = "hold", .type = K_DURATION, ICF(hold_ms), SEC, MIN_,
	    .help = "interception lapses this long after subgated stops" },
	{ .name = "conntrack", .type = K_BOOL, ICF(conntrack),
	    .help = "record submission flows from conntrack events" },
	{ .name = "conntrack_mark", .type = K_UINT, ICF(conntrack_mark), 1,
	    UINT32_MAX, .help = "ct mark bit(s) that tag them" },
	{ .name = "tproxy_mark", .type = K_UINT, ICF(tproxy_mark), 1, UINT32_MAX,
	    .help = "tproxy: packet mark of the local route" },
	END
};

const struct key config__top_keys[] = {
	{ .name = "node", .type = K_NAME, CF(node), 0, 0, NULL, NULL,
	    "this gateway's name in audit records" },
	{ .name = "workers", .type = K_UINT, CF(workers), 0, 1024, NULL, NULL,
	    "event-loop threads, 0 = one per core" },
	{ .name = "listeners", .type = K_LISTENERS, 0, 0, 0, 0, NULL, config__listener_keys, NULL },
	{ .name = "intercept", .type = K_STRUCT, CF(intercept), .sub = intercept_keys },
	{ .name = "upstream", .type = K_SECTION, 0, 0, 0, 0, NULL, upstream_keys, NULL },
	{ .name = "limits", .type = K_SECTION, 0, 0, 0, 0, NULL, limits_keys, NULL },
	{ .name = "smtp", .type = K_SECTION, 0, 0, 0, 0, NULL, smtp_keys, NULL },
	{ .name = "redis", .type = K_STRUCT, CF(redis), .sub = redis_keys,
	    .flags = KF_PRESENCE, .aux = offsetof(struct config, redis.enabled) },
	{ .name = "policy", .type = K_SECTION, .sub = policy_keys },
	{ .name = "smarthost", .type = K_STRUCT, CF(smarthost),
	    .sub = smarthost_keys },
	{ .name = "identity", .type = K_SECTION, .sub = identity_keys },
	{ .name = "audit", .type = K_SECTION, 0, 0, 0, 0, NULL, audit_keys, NULL },
	{ .name = "geoip", .type = K_SECTION, .sub = geoip_keys },
	{ .name = "admin", .type = K_SECTION, .sub = admin_keys },
	{ .name = "log", .type = K_SECTION, 0, 0, 0, 0, NULL, log_keys, NULL },
	{ .name = "shutdown", .type = K_SECTION, 0, 0, 0, 0, NULL, shutdown_keys, NULL },
	END
};

static void
class_init(void *e)
{
	struct policy_class *c = e;

	c->lockout.within_ms = 10 * MIN_;
	c->lockout.duration_ms = HOUR;
}
