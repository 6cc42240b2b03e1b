/*
 * config_schema.c - what subgated's configuration may hold: one table of
 * keys (type, field, bounds, help, doc) per mapping. Parsing, error
 * messages, config_free, config_dump and the reference (config_doc:
 * docs/configuration.md, subgate.yaml(5)) all walk these tables, so a key
 * exists in exactly one place. A key's doc is its meaning in Markdown; its
 * default comes from the embedded default (config.c), never from here.
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
	    "address and port to accept on (required)",
	    .dflt = "required",
	    .doc = "Where subgated accepts. `[::]` is the IPv6 wildcard. No "
	    "two listeners on the same address and port." },
	{ .name = "mode", .type = K_ENUM, LF(mode), 0, 0, mode_names, NULL,
	    "smtp: SMTP-aware relay; passthrough: opaque tunnel",
	    .doc = "`smtp`: the SMTP-aware relay for port 25 (limits, policy, "
	    "audit of transactions). `passthrough`: the opt-in opaque "
	    "byte-for-byte tunnel (splice) for 587 and 465 (by default they "
	    "do not pass through subgated at all: "
	    "[rfc5068.md](rfc5068.md#ports-587-and-465)); no limit, no "
	    "policy, no Redis, no overload shedding ever touches it. RFC 5068 "
	    "§4.1: \"Access Providers MUST NOT block users from accessing the "
	    "external Internet using the SUBMISSION port 587\". 465 is "
	    "implicit-TLS submission (RFC 8314 §3.3), treated like 587 by "
	    "choice." },
	{ .name = "intercept", .type = K_ENUM, LF(intercept), 0, 0, config__intercept_names, NULL,
	    "how the original destination is learned",
	    .doc = "How the destination the subscriber dialled is learned. "
	    "`redirect`: nftables REDIRECT, read with `SO_ORIGINAL_DST` (IPv4 "
	    "and IPv6). `tproxy`: nftables TPROXY, the socket is "
	    "`IP_TRANSPARENT` and the destination is its local address "
	    "(`getsockname`); needs `CAP_NET_ADMIN`. `none`: a plain listener "
	    "that relays every connection to the fixed `upstream` (lab "
	    "setups, a smarthost in front of a test MX)." },
	{ .name = "upstream", .type = K_ADDR, LF(upstream), 0, 0, NULL, NULL,
	    "fixed destination, only with intercept: none",
	    .doc = "Fixed destination of an `intercept: none` listener: "
	    "required with `intercept: none`, refused otherwise." },
	{ .name = "backlog", .type = K_UINT, LF(backlog), 1, 65535, NULL, NULL,
	    "listen(2) queue length",
	    .doc = "`listen(2)` queue length (the kernel caps it at "
	    "`net.core.somaxconn`)." },
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
	    NULL, NULL, "TCP connect to the original destination",
	    .doc = "Time allowed for the TCP connect to the original "
	    "destination (or to `upstream`)." },
	{ .name = "source", .type = K_ENUM, CF(upstream_source), 0, 0, config__source_names, NULL,
	    "upstream source address: gateway's own or subscriber's (tproxy)",
	    .doc = "Source address of the upstream connection. `gateway`: the "
	    "gateway's own address. `subscriber`: the subscriber's address "
	    "(`IP_TRANSPARENT` bind), so the destination sees what it saw "
	    "without the gateway; needs every `smtp` listener to be "
	    "`intercept: tproxy` and the policy routing described in "
	    "docs/operator-guide.md (\"Intercept\")." },
	{ .name = "deny", .type = K_LIST, CF(upstream.deny), .list = &deny_list,
	    .aux = offsetof(struct config, upstream.ndeny),
	    .help = "port 25: destinations refused with 554 5.7.1",
	    .doc = "Original destinations a port-25 session must not reach "
	    "through the gateway: loopback, RFC 1918, RFC 6598 shared space, "
	    "link-local, ULA, multicast. Such a session is answered `554 "
	    "5.7.1` by subgate itself, no upstream connection is made, and "
	    "its record says so (docs/operator-guide.md \"Denied "
	    "destinations\"). A list in the file replaces the default as a "
	    "whole; `[]` denies nothing. Listeners with `intercept: none` are "
	    "not checked (their `upstream` is the operator's). The gateway's "
	    "own addresses are always refused, as a routing loop." },
	{ .name = "allow", .type = K_LIST, CF(upstream.allow), .list = &allow_list,
	    .aux = offsetof(struct config, upstream.nallow),
	    .help = "exceptions to deny (the longer prefix wins)",
	    .doc = "Exceptions to `deny`, e.g. the ISP's own inbound MX in "
	    "RFC 1918 space. The longest prefix of both lists that holds the "
	    "destination decides; the same prefix in both is allowed." },
	END
};

static const struct key limits_keys[] = {
	{ .name = "buffer", .type = K_SIZE, CF(buffer_limit), 4 * KIB, 64 * MIB, NULL, NULL,
	    "octets queued toward one peer before reading the other stops",
	    .doc = "Octets queued toward one peer before subgate stops "
	    "reading from the other (backpressure), per direction and "
	    "session." },
	{ .name = "max_sessions", .type = K_UINT, CF(max_sessions), 0, 10000000, NULL, NULL,
	    "SMTP sessions per worker, 0 = unlimited; never passthrough",
	    .doc = "Concurrent port-25 sessions per worker (SMTP relays and "
	    "the tunnels they become after STARTTLS); `0` = unlimited. Never "
	    "applies to `passthrough` listeners." },
	{ .name = "session_max_time", .type = K_DURATION, CF(session_max_time), 0, 7 * 24 * HOUR,
	    NULL, NULL, "hard cap on one SMTP session, 0 = none",
	    .doc = "Hard cap on the length of one SMTP session; `0` = none." },
	{ .name = "per_source", .type = K_UINT, CF(bounds.per_source), 0, 1000000, NULL, NULL,
	    "port-25 sessions per source address or IPv6 /64, 0 = no cap",
	    .doc = "Concurrent port-25 sessions (relays and their STARTTLS "
	    "tunnels) from one source: an IPv4 address, or an IPv6 /64. "
	    "Counted across all workers; beyond it `421 4.7.0`. `0` = no cap. "
	    "Never applies to `passthrough` listeners." },
	{ .name = "fd_reserve", .type = K_UINT, CF(bounds.fd_reserve), 16, 1000000, NULL, NULL,
	    "descriptors port-25 accepts leave free for passthrough",
	    .doc = "Descriptors that port-25 accepts leave free below "
	    "`RLIMIT_NOFILE` for `passthrough` listeners and sessions already "
	    "in; a port-25 connection beyond it gets `421 4.3.2`. At most "
	    "half of the limit is reserved. See docs/operator-guide.md "
	    "\"Bounds\"." },
	{ .name = "tunnel_idle", .type = K_DURATION, CF(bounds.tunnel_idle), 0, 24 * HOUR,
	    NULL, NULL, "STARTTLS tunnel with no byte moved, 0 = no limit",
	    .doc = "A port-25 session after STARTTLS (an opaque tunnel) in "
	    "which no byte moved either way this long is closed (`end_reason` "
	    "`idle_timeout`); `0` = never. 10 min is RFC 5321 §4.5.3.2's "
	    "longest timeout (§4.5.3.2.6)." },
	{ .name = "passthrough_idle", .type = K_DURATION, CF(bounds.passthrough_idle), 0,
	    7 * 24 * HOUR, NULL, NULL, "587/465 tunnel with no byte moved, 0 = no limit",
	    .doc = "The same for `passthrough` (587/465) tunnels; longer, "
	    "because a submission client may rest between messages and "
	    "587/465 must not be cut short; `0` = never." },
	END
};

static const struct key timeout_keys[] = {
	{ .name = "greeting", .type = K_DURATION, CF(smtp.timeouts.greeting), SEC, 24 * HOUR,
	    NULL, NULL, "upstream 220 greeting (RFC 5321 4.5.3.2.1)",
	    .doc = "Waits for the upstream's 220 greeting (RFC 5321 "
	    "§4.5.3.2.1)." },
	{ .name = "command", .type = K_DURATION, CF(smtp.timeouts.command), SEC, 24 * HOUR,
	    NULL, NULL, "upstream reply to a command (RFC 5321 4.5.3.2.2-3)",
	    .doc = "Waits for the upstream's reply to a command: EHLO, MAIL, "
	    "RCPT, … (RFC 5321 §4.5.3.2.2, §4.5.3.2.3)." },
	{ .name = "data_init", .type = K_DURATION, CF(smtp.timeouts.data_init), SEC, 24 * HOUR,
	    NULL, NULL, "upstream 354 after DATA (RFC 5321 4.5.3.2.4)",
	    .doc = "Waits for the upstream's 354 after DATA (RFC 5321 "
	    "§4.5.3.2.4)." },
	{ .name = "data_block", .type = K_DURATION, CF(smtp.timeouts.data_block), SEC, 24 * HOUR,
	    NULL, NULL, "client silent inside DATA/BDAT (RFC 5321 4.5.3.2.5)",
	    .doc = "Waits for the client's next data block inside DATA or "
	    "BDAT (RFC 5321 §4.5.3.2.5)." },
	{ .name = "data_end", .type = K_DURATION, CF(smtp.timeouts.data_end), SEC, 24 * HOUR,
	    NULL, NULL, "upstream reply to end of data (RFC 5321 4.5.3.2.6)",
	    .doc = "Waits for the upstream's reply to the final `.` or `BDAT "
	    "… LAST` (RFC 5321 §4.5.3.2.6)." },
	{ .name = "client_idle", .type = K_DURATION, CF(smtp.timeouts.client_idle), SEC, 24 * HOUR,
	    NULL, NULL, "client's next command (RFC 5321 4.5.3.2.7)",
	    .doc = "Waits for the client's next command (RFC 5321 "
	    "§4.5.3.2.7)." },
	END
};

static const struct key smtp_keys[] = {
	{ .name = "max_line", .type = K_SIZE, CF(smtp.max_line), 512, MIB, NULL, NULL,
	    "command/reply line incl. CRLF (RFC 5321 4.5.3.1.4: >= 512)",
	    .doc = "Longest command or reply line, octets including CRLF. RFC "
	    "5321 §4.5.3.1.4 (commands) and §4.5.3.1.5 (replies) ask for at "
	    "least 512; extensions (ESMTP parameters, long EHLO keywords) "
	    "make longer lines common, hence 2048." },
	{ .name = "max_auth_line", .type = K_SIZE, CF(smtp.max_auth_line), 512, MIB, NULL, NULL,
	    "AUTH exchange line (RFC 4954 section 4: 12288)",
	    .doc = "Longest line of an AUTH exchange (the command with its "
	    "initial response, and each client response). RFC 4954 §4 raises "
	    "the line limit for AUTH to 12288 octets." },
	{ .name = "max_reply", .type = K_SIZE, CF(smtp.max_reply), 512, 16 * MIB, NULL, NULL,
	    "one multi-line reply",
	    .doc = "Longest multi-line reply, all lines together (an EHLO "
	    "reply, a long 5xx explanation)." },
	{ .name = "max_pipeline", .type = K_UINT, CF(smtp.max_pipeline), 1, 10000, NULL, NULL,
	    "commands awaiting a reply",
	    .doc = "Commands awaiting a reply at one time (PIPELINING, RFC "
	    "2920)." },
	{ .name = "max_held", .type = K_SIZE, CF(smtp.max_held), 4 * KIB, 64 * MIB, NULL, NULL,
	    "client octets held while waiting for a reply or decision",
	    .doc = "Client octets held back while subgate waits (for a reply "
	    "to DATA, AUTH or STARTTLS, or for a policy decision)." },
	{ .name = "max_errors", .type = K_UINT, CF(smtp.max_errors), 1, 10000, NULL, NULL,
	    "error replies before the session is closed",
	    .doc = "Error replies in one session after which the session is "
	    "closed." },
	{ .name = "max_recipients_kept", .type = K_UINT, CF(smtp.max_recipients_kept), 0, 100000,
	    NULL, NULL, "recipients per transaction kept for the audit record",
	    .doc = "Recipients of one transaction kept for its audit record. "
	    "100 is the number of recipients RFC 5321 §4.5.3.1.8 asks a "
	    "server to buffer." },
	{ .name = "bare_newline", .type = K_ENUM, CF(smtp.bare_newline), 0, 0, bare_names, NULL,
	    "bare CR or LF inside DATA",
	    .doc = "A bare CR or LF inside DATA (RFC 5321 §2.3.8 forbids "
	    "them): `normalize` turns it into CRLF; `reject` answers 5xx and "
	    "closes." },
	{ .name = "timeouts", .type = K_SECTION, 0, 0, 0, 0, NULL, timeout_keys,
	    "RFC 5321 4.5.3.2",
	    .doc = "How long the relay waits at each step; see "
	    "[`smtp.timeouts`](#smtptimeouts)." },
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
static const char *const xclient_names[] = { "auto", "off", NULL };
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
	    .flags = KF_TERSE,
	    .doc = "New sessions per period." },
	{ .name = "concurrent", .type = K_UINT, LSF(concurrent), 0, 1000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE,
	    .doc = "Sessions at once; `0` = unlimited." },
	{ .name = "messages", .type = K_RATE, LSF(messages),
	    .help = "messages accepted per period",
	    .flags = KF_TERSE,
	    .doc = "Messages accepted per period." },
	{ .name = "recipients", .type = K_RATE, LSF(recipients),
	    .help = "recipients accepted per period",
	    .flags = KF_TERSE,
	    .doc = "Recipients accepted per period." },
	{ .name = "bytes", .type = K_BYTERATE, LSF(bytes),
	    .help = "message octets per period",
	    .flags = KF_TERSE,
	    .doc = "Message octets per period." },
	{ .name = "destinations", .type = K_RATE, LSF(destinations),
	    .help = "distinct destination hosts per period",
	    .flags = KF_TERSE,
	    .doc = "Distinct destination hosts per period." },
	{ .name = "deny", .type = K_BOOL, LSF(deny),
	    .help = "true: every new session is a hit",
	    .flags = KF_TERSE,
	    .doc = "`true`: every new session is a hit (limit name `deny`), "
	    "e.g. a hotspot class. A retry never passes a deny of mail, so in "
	    "`mx` and `submission` an action `tempfail` (the default) answers "
	    "as `block`, whose default text points to port 587; in `tls` it "
	    "stays `454` (STARTTLS refused, the session goes on in the "
	    "clear)." },
	{ .name = "action", .type = K_OPTENUM, LSF(action), .names = config__action_names,
	    .aux = offsetof(struct limit_set, has_action),
	    .help = "overrides the class's action",
	    .doc = "Overrides the class's action for this traffic class; "
	    "unset: the class's. `redirect` is allowed in `mx` only." },
	END
};

/* tls sessions are opaque: what can be seen of them. */
static const struct key tls_keys[] = {
	{ .name = "connections", .type = K_RATE, LSF(connections),
	    .help = "new sessions per period",
	    .flags = KF_TERSE,
	    .doc = "New sessions per period." },
	{ .name = "concurrent", .type = K_UINT, LSF(concurrent), 0, 1000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE,
	    .doc = "Sessions at once; `0` = unlimited." },
	{ .name = "bytes", .type = K_BYTERATE, LSF(bytes),
	    .help = "octets both ways per period",
	    .flags = KF_TERSE,
	    .doc = "Octets both ways per period." },
	{ .name = "duration", .type = K_DURATION, LSF(duration_ms), 0, 7 * DAY,
	    .help = "one session's life, 0 = unlimited",
	    .flags = KF_TERSE,
	    .doc = "One session's life; `0` = unlimited." },
	{ .name = "deny", .type = K_BOOL, LSF(deny),
	    .help = "true: every new session is a hit",
	    .flags = KF_TERSE,
	    .doc = "`true`: every new session is a hit (limit name `deny`)." },
	{ .name = "action", .type = K_OPTENUM, LSF(action), .names = config__action_names,
	    .aux = offsetof(struct limit_set, has_action),
	    .help = "overrides the class's action",
	    .doc = "Overrides the class's action for `tls` sessions; unset: "
	    "the class's (`tempfail` for a `redirect` class). `redirect` is "
	    "an error here." },
	END
};

static const struct key lockout_keys[] = {
	{ .name = "violations", .type = K_UINT,
	    FIELD(struct lockout_conf, violations), 0, 1000000,
	    .help = "hits that lock the subscriber out, 0 = never",
	    .doc = "Hits that lock the subscriber out of port 25; `0` = "
	    "never." },
	{ .name = "within", .type = K_DURATION,
	    FIELD(struct lockout_conf, within_ms), SEC, 7 * DAY,
	    .help = "window the violations are counted in",
	    .doc = "Window the violations are counted in." },
	{ .name = "duration", .type = K_DURATION,
	    FIELD(struct lockout_conf, duration_ms), SEC, 30 * DAY,
	    .help = "how long port 25 stays locked",
	    .doc = "How long port 25 stays locked (answer: "
	    "`replies.locked`)." },
	END
};

static const struct key class_keys[] = {
	{ .name = "action", .type = K_ENUM, FIELD(struct policy_class, action),
	    .names = config__action_names, .help = "what a hit limit does",
	    .doc = "What a hit limit of this class does: `tempfail` (4xx with "
	    "`replies.tempfail`, the client retries later), "
	    "`refuse_submission` (`replies.refuse_submission`: use port 587 "
	    "with authentication, RFC 5068 §3.2), `redirect` (MX-bound mail "
	    "goes to `smarthost` instead; needs `smarthost.address`), `block` "
	    "(`replies.block`). A `redirect` class answers `tempfail` for its "
	    "`submission` and `tls` limits unless they set their own action." },
	{ .name = "lockout", .type = K_STRUCT,
	    FIELD(struct policy_class, lockout), .sub = lockout_keys,
	    .doc = "Locking the subscriber out of port 25 after repeated hits "
	    "(Redis only); off while `violations` is `0`." },
	{ .name = "mx", .type = K_STRUCT,
	    FIELD(struct policy_class, traffic[TRAFFIC_MX]), .sub = mx_keys,
	    .flags = KF_TERSE,
	    .doc = "Limits of sessions without a successful AUTH (mail to "
	    "other domains' MX hosts)." },
	{ .name = "submission", .type = K_STRUCT,
	    FIELD(struct policy_class, traffic[TRAFFIC_SUBMISSION]),
	    .sub = mx_keys, .flags = KF_TERSE,
	    .doc = "Limits of sessions that authenticated in the clear on "
	    "port 25." },
	{ .name = "tls", .type = K_STRUCT,
	    FIELD(struct policy_class, traffic[TRAFFIC_TLS]), .sub = tls_keys,
	    .flags = KF_TERSE,
	    .doc = "Limits of sessions that went STARTTLS: opaque from there, "
	    "so only what can be seen of them (no messages, recipients or "
	    "destinations; other keys are errors)." },
	{ .name = "refuse_cleartext_auth", .type = K_BOOL,
	    FIELD(struct policy_class, refuse_cleartext_auth),
	    .help = "port 25 AUTH before TLS: 538 5.7.11, not forwarded",
	    .doc = "`true`: AUTH on port 25 before STARTTLS is answered `538 "
	    "5.7.11 Encryption required for requested authentication "
	    "mechanism` by the gateway itself (RFC 4954 §4, §6) and never "
	    "forwarded; the session goes on. For hotspots, where a "
	    "subscriber's password in the clear is readable by the "
	    "neighbours." },
	{ .name = "starttls_refusal", .type = K_ENUM,
	    FIELD(struct policy_class, starttls_refusal),
	    .names = starttls_refusal_names,
	    .help = "a refused STARTTLS: continue in clear, or close",
	    .doc = "What a STARTTLS the policy refuses does: `continue` "
	    "(454/554, the session goes on in the clear, RFC 3207 §4) or "
	    "`close` (a 454 becomes `421` with the same text, a 554 stays; "
	    "then the session ends), so that a client that would rather not "
	    "fall back to plaintext is not made to." },
	END
};

/* Shared scopes (destination, global): one traffic class ... */
static const struct key scope_class_keys[] = {
	{ .name = "connections", .type = K_RATE, LSF(connections),
	    .help = "new sessions per period",
	    .flags = KF_TERSE,
	    .doc = "New sessions per period." },
	{ .name = "concurrent", .type = K_UINT, LSF(concurrent), 0, 100000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE,
	    .doc = "Sessions at once; `0` = unlimited." },
	{ .name = "messages", .type = K_RATE, LSF(messages),
	    .help = "messages accepted per period",
	    .flags = KF_TERSE,
	    .doc = "Messages accepted per period." },
	{ .name = "recipients", .type = K_RATE, LSF(recipients),
	    .help = "recipients accepted per period",
	    .flags = KF_TERSE,
	    .doc = "Recipients accepted per period." },
	{ .name = "bytes", .type = K_BYTERATE, LSF(bytes),
	    .help = "message octets per period",
	    .flags = KF_TERSE,
	    .doc = "Message octets per period." },
	END
};

static const struct key scope_tls_keys[] = {
	{ .name = "connections", .type = K_RATE, LSF(connections),
	    .help = "new sessions per period",
	    .flags = KF_TERSE,
	    .doc = "New sessions per period." },
	{ .name = "concurrent", .type = K_UINT, LSF(concurrent), 0, 100000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE,
	    .doc = "Sessions at once; `0` = unlimited." },
	{ .name = "bytes", .type = K_BYTERATE, LSF(bytes),
	    .help = "octets both ways per period",
	    .flags = KF_TERSE,
	    .doc = "Octets both ways per period." },
	END
};

/* ... and every traffic class together (the flat keys). */
static const struct key scope_keys[] = {
	{ .name = "connections", .type = K_RATE, SLF(all.connections),
	    .help = "new sessions per period, all traffic",
	    .flags = KF_TERSE,
	    .doc = "New sessions per period, every traffic class together." },
	{ .name = "concurrent", .type = K_UINT, SLF(all.concurrent), 0, 100000000,
	    .help = "sessions at once, 0 = unlimited",
	    .flags = KF_TERSE,
	    .doc = "Sessions at once, every traffic class together; `0` = "
	    "unlimited." },
	{ .name = "messages", .type = K_RATE, SLF(all.messages),
	    .help = "messages accepted per period",
	    .flags = KF_TERSE,
	    .doc = "Messages accepted per period, every traffic class "
	    "together." },
	{ .name = "recipients", .type = K_RATE, SLF(all.recipients),
	    .help = "recipients accepted per period",
	    .flags = KF_TERSE,
	    .doc = "Recipients accepted per period, every traffic class "
	    "together." },
	{ .name = "bytes", .type = K_BYTERATE, SLF(all.bytes),
	    .help = "octets per period",
	    .flags = KF_TERSE,
	    .doc = "Octets per period, every traffic class together." },
	{ .name = "mx", .type = K_STRUCT, SLF(traffic[TRAFFIC_MX]),
	    .sub = scope_class_keys,
	    .flags = KF_TERSE,
	    .doc = "Limits that count `mx` sessions alone; they apply besides "
	    "the keys above." },
	{ .name = "submission", .type = K_STRUCT,
	    SLF(traffic[TRAFFIC_SUBMISSION]), .sub = scope_class_keys,
	    .flags = KF_TERSE,
	    .doc = "The same for `submission` sessions." },
	{ .name = "tls", .type = K_STRUCT, SLF(traffic[TRAFFIC_TLS]),
	    .sub = scope_tls_keys,
	    .flags = KF_TERSE,
	    .doc = "The same for `tls` sessions." },
	END
};

static const struct key prefix_keys[] = {
	{ .name = "prefix", .type = K_PREFIX,
	    FIELD(struct policy_prefix, prefix),
	    .help = "source prefix, no host bits",
	    .doc = "Source prefix. No two entries with the same prefix; the "
	    "longest prefix containing an address wins." },
	{ .name = "class", .type = K_NAME,
	    FIELD(struct policy_prefix, class_name),
	    .help = "a class of policy.classes",
	    .doc = "A class of `policy.classes`." },
	{ .name = "ipv6_aggregate", .type = K_UINT,
	    FIELD(struct policy_prefix, ipv6_aggregate), 0, 128,
	    .help = "IPv6 only: the delegation length here; 0 = the policy's",
	    .doc = "`policy.ipv6_aggregate` for the sources of this prefix "
	    "(an IPv6 prefix; at least its own length): where the access "
	    "network delegates /56s, `56`. `0`: the policy's." },
	END
};

static const struct key replies_keys[] = {
	{ .name = "tempfail", .type = K_TEXT, CF(policy.replies.tempfail),
	    .doc = "Answer of action `tempfail`: the client retries later." },
	{ .name = "refuse_submission", .type = K_TEXT,
	    CF(policy.replies.refuse_submission),
	    .doc = "Answer of action `refuse_submission`: submit on port 587 "
	    "with authentication (RFC 5068 §3.2)." },
	{ .name = "block", .type = K_TEXT, CF(policy.replies.block),
	    .doc = "Answer of action `block`." },
	{ .name = "locked", .type = K_TEXT, CF(policy.replies.locked),
	    .doc = "Answer to every port-25 connection of a subscriber who is "
	    "locked out (`lockout`)." },
	{ .name = "redis_down", .type = K_TEXT, CF(policy.replies.redis_down),
	    .doc = "Answer on port 25 while Redis is slow or down and "
	    "`redis.on_failure` is `closed`." },
	{ .name = "audit_down", .type = K_TEXT, CF(policy.replies.audit_down),
	    .help = "port 25 at connect while the audit file fails "
	    "(audit.on_write_error: tempfail)",
	    .doc = "Answer to a new port-25 session while the audit file "
	    "cannot be written and `audit.on_write_error` is `tempfail`; sent "
	    "at connect, so as `421 4.3.0`." },
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
	    .help = "class of a subscriber nothing else names",
	    .doc = "Class of a subscriber nothing else names. Must be defined "
	    "in `classes`." },
	{ .name = "classes", .type = K_MAP, CF(policy.classes),
	    .list = &class_list, .aux = offsetof(struct config, policy.nclasses),
	    .doc = "The classes, by name: 1–253 of `A-Z a-z 0-9 . - _`, each "
	    "once. Replaced as a whole by a file: define the class "
	    "`default_class` names." },
	{ .name = "prefixes", .type = K_LIST, CF(policy.prefixes),
	    .list = &prefix_list, .aux = offsetof(struct config, policy.nprefixes),
	    .help = "source prefix -> class",
	    .doc = "Source prefix → class, for addresses no subscriber entry "
	    "names; longest prefix wins." },
	{ .name = "ipv6_aggregate", .type = K_UINT, CF(policy.ipv6_aggregate),
	    32, 128,
	    .help = "prefix length an unknown IPv6 source is counted by",
	    .doc = "An IPv6 source that no subscriber entry names (no static "
	    "entry, no RADIUS assignment) is counted, limited and locked out "
	    "as its prefix of this length, not as its address: a host picks "
	    "any address of the delegation its line got (RFC 6177), so per "
	    "address it could escape every limit. `64` is the smallest "
	    "delegation; where the access network delegates /56 or /48 set "
	    "that, or per prefix in `prefixes` (Postfix's "
	    "`smtpd_client_ipv6_prefix_length` is the same idea). `128`: per "
	    "address." },
	{ .name = "destination", .type = K_STRUCT, CF(policy.destination),
	    .sub = scope_keys,
	    .flags = KF_TERSE,
	    .doc = "Limits per destination host, all subscribers together. A "
	    "hit here is not the subscriber's fault: the answer is always "
	    "`tempfail`." },
	{ .name = "global", .type = K_STRUCT, CF(policy.global),
	    .sub = scope_keys,
	    .flags = KF_TERSE,
	    .doc = "Limits over everybody on every node; a hit answers "
	    "`tempfail`." },
	{ .name = "replies", .type = K_SECTION, .sub = replies_keys,
	    .help = "%l = limit hit, %r = seconds until retry",
	    .doc = "Texts of the gateway's own answers; see "
	    "[`policy.replies`](#policyreplies)." },
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
	    .help = "standalone primary",
	    .doc = "A standalone primary. Ignored when `sentinels` is not "
	    "empty." },
	{ .name = "sentinels", .type = K_LIST, RF(sentinels),
	    .list = &sentinel_list, .aux = offsetof(struct redis_conf, nsentinels),
	    .help = "if any, address is ignored",
	    .doc = "Redis Sentinels that name the primary of `master_name` "
	    "and follow a failover. No duplicates." },
	{ .name = "master_name", .type = K_NAME, RF(master_name),
	    .help = "Sentinel's name of the primary",
	    .doc = "The primary's name at the Sentinels." },
	{ .name = "password_file", .type = K_SECRET_FILE, RF(password),
	    .flags = KF_OPT, .help = "AUTH password: first line of the file",
	    .doc = "Password sent with AUTH; empty: no AUTH." },
	{ .name = "password", .type = K_SECRET, RF(password),
	    .doc = "The password given inline instead of `password_file`." },
	{ .name = "database", .type = K_UINT, RF(database), 0, 65535,
	    .help = "SELECT",
	    .doc = "SELECT this database (every connection: limiter, index, "
	    "RADIUS history, lock-outs)." },
	{ .name = "timeout", .type = K_DURATION, RF(timeout_ms), 1, MIN_,
	    .help = "per-request deadline",
	    .doc = "Deadline of one request (one decision). A slower answer "
	    "counts as a failure." },
	{ .name = "connect_timeout", .type = K_DURATION, RF(connect_timeout_ms),
	    10, MIN_, .help = "connect and handshake",
	    .doc = "Connect and handshake." },
	{ .name = "on_failure", .type = K_ENUM, RF(on_failure),
	    .names = failure_names, .help = "port 25 while Redis is unusable",
	    .doc = "While Redis is slow or down: `open` = the in-process "
	    "limiter takes over on each node; `closed` = port 25 answers "
	    "`policy.replies.redis_down`. Recovery is automatic. Ports "
	    "587/465 never depend on Redis." },
	END
};

static const struct key smarthost_keys[] = {
	{ .name = "address", .type = K_ADDR, SHF(address), .flags = KF_OPT,
	    .help = "target of action redirect; \"\" = none",
	    .doc = "The relay. Empty: action `redirect` anywhere is a load "
	    "error." },
	{ .name = "starttls", .type = K_ENUM, SHF(starttls),
	    .names = starttls_names,
	    .doc = "`require` (no TLS, no delivery: 451), `opportunistic` "
	    "(TLS when offered), `off`." },
	{ .name = "ca_file", .type = K_PATH, SHF(ca_file), .flags = KF_OPT,
	    .help = "CA to verify with; \"\" = system CAs",
	    .doc = "Verify the relay's certificate against this CA bundle; "
	    "empty = the system CAs." },
	{ .name = "verify_name", .type = K_NAME, SHF(verify_name),
	    .flags = KF_OPT, .help = "name in its certificate; \"\" = unchecked",
	    .doc = "Name expected in the relay's certificate; empty = the "
	    "name is not checked (an error with `auth_user`)." },
	{ .name = "auth_user", .type = K_IDENT, SHF(auth_user), .flags = KF_OPT,
	    .help = "AUTH PLAIN user; \"\" = no AUTH",
	    .doc = "AUTH PLAIN user; empty = no AUTH. Needs "
	    "`auth_password_file`, and that needs `auth_user`. Needs "
	    "`verify_name`: the credentials go only to a relay whose "
	    "certificate carries that name (subgate has no key pinning)." },
	{ .name = "auth_password_file", .type = K_SECRET_FILE,
	    SHF(auth_password), .flags = KF_OPT,
	    .doc = "AUTH password." },
	{ .name = "auth_password", .type = K_SECRET, SHF(auth_password),
	    .doc = "The AUTH password given inline instead of "
	    "`auth_password_file`." },
	{ .name = "helo_name", .type = K_NAME, SHF(helo_name), .flags = KF_OPT,
	    .help = "\"\" = node",
	    .doc = "EHLO name toward the relay; empty = `node`." },
	{ .name = "xclient", .type = K_ENUM, SHF(xclient),
	    .names = xclient_names,
	    .doc = "`auto`: when the relay's EHLO offers XCLIENT with ADDR "
	    "(Postfix offers it only to `smtpd_authorized_xclient_hosts`), "
	    "subgate tells it the subscriber's address and port and the "
	    "address dialled, after its own STARTTLS and AUTH; the relay then "
	    "logs and applies its restrictions to the subscriber's address. "
	    "Refused: mail goes on without it (logged). `off`: never." },
	END
};

static const struct key static_keys[] = {
	{ .name = "prefix", .type = K_PREFIX,
	    FIELD(struct static_entry, prefix),
	    .doc = "The prefix. No two entries with the same prefix." },
	{ .name = "subscriber", .type = K_IDENT,
	    FIELD(struct static_entry, subscriber),
	    .doc = "The subscriber who holds it, in records and limits." },
	{ .name = "class", .type = K_NAME, FIELD(struct static_entry, class_name),
	    .flags = KF_OPT,
	    .doc = "A class of `policy.classes`; empty or absent: RADIUS, "
	    "`policy.prefixes` or `default_class` decide." },
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
	    FIELD(struct radius_client, prefix),
	    .doc = "The NAS: a prefix or an address. No two clients with the "
	    "same prefix." },
	{ .name = "secret_file", .type = K_SECRET_FILE,
	    FIELD(struct radius_client, secret), .flags = KF_OPT,
	    .doc = "The NAS's shared secret; required (or `secret`)." },
	{ .name = "secret", .type = K_SECRET,
	    FIELD(struct radius_client, secret),
	    .doc = "The shared secret given inline instead of `secret_file`." },
	{ .name = "name", .type = K_NAME, FIELD(struct radius_client, name),
	    .flags = KF_OPT,
	    .doc = "The NAS's name in logs." },
	{ .name = "prefixes", .type = K_LIST,
	    FIELD(struct radius_client, prefixes), .list = &client_prefix_list,
	    .aux = offsetof(struct radius_client, nprefixes),
	    .help = "pools it assigns from; [] = any",
	    .doc = "The pools it may assign from; `[]` = any. An assignment "
	    "outside them is refused, counted and logged, the request still "
	    "answered." },
	{ .name = "classes", .type = K_LIST,
	    FIELD(struct radius_client, classes), .list = &client_class_list,
	    .aux = offsetof(struct radius_client, nclasses),
	    .help = "classes its class attribute may name; [] = any",
	    .doc = "Classes of `policy.classes` its class attribute may name; "
	    "`[]` = any." },
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
	    .help = "UDP, RFC 2866 accounting",
	    .doc = "UDP socket for RFC 2866 accounting." },
	{ .name = "clients", .type = K_LIST, RCF(clients), .list = &client_list,
	    .aux = offsetof(struct radius_conf, nclients),
	    .help = "NASes allowed to send accounting",
	    .doc = "The NASes allowed to send accounting; at least one. A "
	    "packet from any other address is dropped and counted. See "
	    "[identity.md](identity.md#what-each-nas-may-say)." },
	/* any string here; check_others admits "", Class and Filter-Id, with
	 * a message that lists them */
	{ .name = "class_attribute", .type = K_PATH, RCF(class_attribute),
	    .flags = KF_OPT,
	    .help = "attribute naming the class: Class | Filter-Id; \"\" = none",
	    .doc = "RADIUS attribute whose value names the policy class of a "
	    "RADIUS-learned address: `Class` (attribute 25, RFC 2865 §5.25) "
	    "or `Filter-Id` (attribute 11, §5.11); `\"\"` = off. Anything "
	    "else is an error that lists these. The value (trimmed of spaces, "
	    "tabs, CR, LF, NUL) must equal a name in `policy.classes`; one "
	    "that names no class is counted and logged, and `policy.prefixes` "
	    "/ `default_class` applies "
	    "([identity.md](identity.md#the-class-radius-names))." },
	{ .name = "min_prefix_v4", .type = K_UINT, RCF(min_plen_v4), 1, 32,
	    .help = "shortest IPv4 assignment taken (one subscriber's)",
	    .doc = "The shortest IPv4 prefix any NAS may assign to one "
	    "subscriber; a shorter one (a pool) is refused." },
	{ .name = "min_prefix_v6", .type = K_UINT, RCF(min_plen_v6), 1, 128,
	    .help = "shortest IPv6 assignment or delegation taken",
	    .doc = "The same for IPv6 (Framed-IPv6-Prefix, "
	    "Delegated-IPv6-Prefix): no `2000::/3` delegation." },
	{ .name = "override_static", .type = K_BOOL, RCF(override_static),
	    .help = "a longer RADIUS prefix beats a static entry",
	    .doc = "`false`: an address a static entry holds is that entry's, "
	    "whatever RADIUS says. `true`: the longest prefix over static and "
	    "RADIUS wins, RADIUS at equal length." },
	END
};

static const struct key identity_keys[] = {
	{ .name = "static", .type = K_LIST, CF(identity.statics),
	    .list = &static_list, .aux = offsetof(struct config, identity.nstatics),
	    .help = "longest prefix wins",
	    .doc = "Fixed assignments, IPv4 and IPv6; the longest prefix "
	    "containing an address wins." },
	{ .name = "radius", .type = K_STRUCT, CF(identity.radius),
	    .sub = radius_keys, .flags = KF_PRESENCE,
	    .aux = offsetof(struct config, identity.radius.enabled),
	    .doc = "RADIUS accounting listener; absent: none." },
	{ .name = "history", .type = K_DURATION, CF(identity.history_ms), HOUR,
	    400 * DAY, .help = "address assignments kept",
	    .doc = "How long address assignments (who held which address "
	    "when) are kept. 8d is subgate's choice: RFC 5068 §3.1 sets no "
	    "period (see `audit.retention`)." },
	END
};

static const struct key geoip_keys[] = {
	{ .name = "asn_db", .type = K_PATH, CF(geoip.asn_db), .flags = KF_OPT,
	    .help = "MaxMind DB with ASNs; \"\" = none",
	    .doc = "MaxMind DB with ASN data (GeoLite2-ASN); the "
	    "destination's ASN in audit records. Empty = the field is left "
	    "out." },
	{ .name = "country_db", .type = K_PATH, CF(geoip.country_db),
	    .flags = KF_OPT, .help = "MaxMind DB with countries; \"\" = none",
	    .doc = "MaxMind DB with country data (GeoLite2-Country). Empty = "
	    "left out." },
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
	    .help = "HTTP metrics and lock-outs; \"\" = off",
	    .doc = "HTTP endpoint for metrics and lock-out management (list, "
	    "lift), e.g. `\"127.0.0.1:9925\"`; empty = off. An address that "
	    "is not loopback (`127.0.0.0/8`, `::1`; a wildcard is not) needs "
	    "`token_file`." },
	{ .name = "token_file", .type = K_SECRET_FILE, CF(admin.token),
	    .flags = KF_OPT, .help = "bearer token: first line of the file",
	    .doc = "Bearer token (first line of the file, read like every "
	    "secret, see [Secrets](#secrets)). Required for `DELETE "
	    "/locks/...`: without it nothing on the endpoint changes state. "
	    "Requests send `Authorization: Bearer <token>`." },
	{ .name = "token_required_for_reads", .type = K_BOOL,
	    CF(admin.token_for_reads),
	    .help = "true: /metrics and /locks need the token too",
	    .doc = "`true`: `/metrics` and `/locks` need the token too. "
	    "`/healthz` never does (load balancers; it says only `ok` or "
	    "`workers stopped`). Needs `token_file`." },
	{ .name = "hosts", .type = K_LIST, CF(admin.hosts),
	    .list = &admin_host_list, .aux = offsetof(struct config, admin.nhosts),
	    .help = "Host names accepted besides the listen address, localhost",
	    .doc = "Host header names accepted besides an IP literal of "
	    "`listen` (any IP literal with a wildcard `listen`) and "
	    "`localhost`, e.g. `[metrics.gw1.isp.example]`. Any other Host "
	    "gets `403` (DNS rebinding: a web page whose name was rebound to "
	    "the gateway must not reach it)." },
	END
};

static const struct key audit_keys[] = {
	{ .name = "path", .type = K_PATH, CF(audit_path), 0, 0, NULL, NULL,
	    "JSON lines file, \"-\" = standard output",
	    .doc = "File that receives one JSON record per session and per "
	    "transaction, appended. `-` = standard output. subgated deletes "
	    "no file: how long they are kept is the operator's logrotate "
	    "configuration. RFC 5068 §3.1 sets no period (\"The specific "
	    "length of time ... is not specified here\") but notes that "
	    "\"issues regarding transit often occur as much as one week after "
	    "submission\"; keep the files at least as long as `retention`." },
	{ .name = "recipients", .type = K_ENUM, CF(audit.recipients),
	    .names = recipients_names, .help = "full | hmac | count",
	    .doc = "How recipients are written: in full; as a keyed "
	    "HMAC-SHA256 (the abuse desk can still search by recipient, "
	    "`subgate trace` hashes with the same key); or only their "
	    "number." },
	{ .name = "hmac_key_file", .type = K_SECRET_FILE, CF(audit.hmac_key),
	    .flags = KF_OPT, .help = "key of recipients: hmac",
	    .doc = "Key of `recipients: hmac` (required with it). Keep the "
	    "key as long as the records: a new key makes old hashes "
	    "unsearchable." },
	{ .name = "hmac_key", .type = K_SECRET, CF(audit.hmac_key),
	    .doc = "The key given inline instead of `hmac_key_file`." },
	{ .name = "index", .type = K_ENUM, CF(audit.index), .names = index_names,
	    .help = "auto = redis when Redis is configured",
	    .doc = "The Redis index of audit records that lets any node "
	    "answer `subgate trace`. `auto` = `redis` when a `redis` section "
	    "exists, else `none`. `redis` without a `redis` section is an "
	    "error. Without the index `subgate trace` reads the JSON-lines "
	    "files." },
	{ .name = "retention", .type = K_DURATION, CF(audit.retention_ms), HOUR,
	    400 * DAY, .help = "Redis index retention",
	    .doc = "How long the Redis index keeps a record. 8d is subgate's "
	    "choice, not the RFC's: RFC 5068 §3.1 sets no period and notes "
	    "that \"issues regarding transit often occur as much as one week "
	    "after submission\". The files are kept by logrotate, not by "
	    "this." },
	{ .name = "on_write_error", .type = K_ENUM, CF(audit.on_write_error),
	    .names = werr_names, .help = "port 25 while the file fails",
	    .doc = "When the audit file cannot be written (full disk): "
	    "`continue` keeps port 25 flowing and counts and logs the errors; "
	    "`tempfail` answers every new port-25 session "
	    "`policy.replies.audit_down` as a 421 greeting and closes it "
	    "until writing works again (sessions already running finish; "
	    "recovery is automatic, within a second of the disk having room). "
	    "Ports 587/465 are never affected. See docs/audit.md \"When the "
	    "disk is full\"." },
	END
};

static const struct key log_keys[] = {
	{ .name = "level", .type = K_ENUM, CF(log_level), 0, 0, log_level_names,
	    NULL, "least severe level written",
	    .doc = "Least severe operator log line written." },
	{ .name = "target", .type = K_ENUM, CF(log_target),
	    .names = log_target_names,
	    .help = "stderr (<N> priorities when it is the journal) | syslog",
	    .doc = "Where the lines go. `stderr`: standard error; when that is the "
	    "journal (systemd's `JOURNAL_STREAM` names it, as under the shipped "
	    "unit) each line begins with its priority for journald (`<3>` "
	    "error, `<4>` warn, `<6>` info, `<7>` debug) and no time, so "
	    "`journalctl -p warning` selects by level; anywhere else with its "
	    "UTC time. `syslog`: syslog(3), tag `subgated[PID]`, the same "
	    "priorities, `/dev/log` connected at start. Real lines of each in "
	    "docs/operator-guide.md \"Logs\"." },
	{ .name = "facility", .type = K_ENUM, CF(log_facility),
	    .names = log_facility_names,
	    .help = "syslog(3) facility, with target: syslog",
	    .doc = "The syslog facility of `target: syslog`; not used with "
	    "`stderr`." },
	END
};

static const struct key shutdown_keys[] = {
	{ .name = "drain_timeout", .type = K_DURATION, CF(drain_timeout), 0, HOUR, NULL, NULL,
	    "after SIGTERM, time given to sessions to finish",
	    .doc = "After SIGTERM the listeners close at once and open "
	    "sessions get this long to finish. Keep it below systemd's "
	    "`TimeoutStopSec`." },
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
	    .help = "subgated loads its table and keeps interception alive",
	    .doc = "`true`: subgated loads `table inet <table>` at start and "
	    "steers to itself only while alive and ready. Needs an "
	    "intercepting `smtp` listener, `interfaces` and `subscribers`. "
	    "`false`: subgated touches no firewall (the embedded default)." },
	{ .name = "table", .type = K_NAME, ICF(table),
	    .help = "nftables table (family inet) subgated owns",
	    .doc = "The table (family `inet`) subgated owns and replaces at "
	    "every start." },
	{ .name = "interfaces", .type = K_LIST, ICF(interfaces),
	    .list = &iface_list, .aux = offsetof(struct intercept_conf, ninterfaces),
	    .help = "subscriber-facing interfaces (\"ppp*\" allowed)",
	    .doc = "Interfaces subscribers arrive on (`iifname`): 1–15 "
	    "characters, a trailing `*` matches any suffix." },
	{ .name = "subscribers", .type = K_LIST, ICF(subscribers),
	    .list = &subnet_list,
	    .aux = offsetof(struct intercept_conf, nsubscribers),
	    .help = "source prefixes intercepted",
	    .doc = "Source prefixes intercepted, IPv4 and IPv6." },
	{ .name = "smtp_ports", .type = K_LIST, ICF(smtp_ports),
	    .list = &port_list, .aux = offsetof(struct intercept_conf, nsmtp_ports),
	    .help = "to the smtp listener",
	    .doc = "Steered to the `smtp` listener." },
	{ .name = "submission_ports", .type = K_LIST, ICF(submission_ports),
	    .list = &port_list,
	    .aux = offsetof(struct intercept_conf, nsubmission_ports),
	    .help = "never blocked; tunnelled only with a passthrough listener",
	    .doc = "Never blocked: routed by the kernel and recorded from "
	    "conntrack events, or steered to the opt-in tunnel when a "
	    "`passthrough` listener intercepts. None may also be in "
	    "`smtp_ports`." },
	{ .name = "on_down", .type = K_ENUM, ICF(on_down), .names = on_down_names,
	    .help = "port 25 while subgated is not serving",
	    .doc = "Port 25 while subgated is not serving: `open` routes it "
	    "as if there were no gateway; `closed` resets a new connection." },
	{ .name = "hold", .type = K_DURATION, ICF(hold_ms), SEC, MIN_,
	    .help = "interception lapses this long after subgated stops",
	    .doc = "The steering lapses this long after the last refresh of a "
	    "live subgated (refreshed every `hold/4`)." },
	{ .name = "conntrack", .type = K_BOOL, ICF(conntrack),
	    .help = "record submission flows from conntrack events",
	    .doc = "Record untunnelled submission flows from conntrack "
	    "events." },
	{ .name = "conntrack_mark", .type = K_UINT, ICF(conntrack_mark), 1,
	    UINT32_MAX, .help = "ct mark bit(s) that tag them",
	    .doc = "ct mark bit(s) the table sets on those flows; the "
	    "kernel-side event filter." },
	{ .name = "tproxy_mark", .type = K_UINT, ICF(tproxy_mark), 1, UINT32_MAX,
	    .help = "tproxy: packet mark of the local route",
	    .doc = "TPROXY: packet mark of the local route (`ip rule add "
	    "fwmark 1 lookup 100`)." },
	END
};

#define PVF(m)		FIELD(struct priv_conf, m)

static const struct key privileges_keys[] = {
	{ .name = "user", .type = K_NAME, PVF(user), .flags = KF_OPT,
	    .help = "started as root: run as this user; \"\" = stay root",
	    .doc = "Started as root: the user subgated switches to (its uid, "
	    "supplementary groups dropped, the capability bounding set "
	    "emptied). A user that does not exist stops the start: "
	    "`event=privileges_failed error=\"user subgate does not exist\"` "
	    "(`deploy/install-user.sh` creates it). `\"\"` or `root` keeps "
	    "root, with a warning (`event=privileges ... note=\"running as "
	    "root: ...\"`); the capabilities are dropped all the same. "
	    "Started as any other user (systemd's `User=`, a container's "
	    "`USER`) subgated does not switch and this key is not used." },
	{ .name = "group", .type = K_NAME, PVF(group), .flags = KF_OPT,
	    .help = "and this group; \"\" = the user's login group",
	    .doc = "The group it switches to; `\"\"` = the user's login "
	    "group. Needs `user`." },
	{ .name = "dumpable", .type = K_BOOL, PVF(dumpable),
	    .help = "true: core dumps and ptrace by the same user",
	    .doc = "`false`: no core dump, no ptrace by the same user, "
	    "`/proc/PID/` files root's (`PR_SET_DUMPABLE` 0, set again after "
	    "the switch, which resets it). `true`, for debugging: core dumps "
	    "and `gdb -p` as the user." },
	END
};

const struct key config__top_keys[] = {
	{ .name = "node", .type = K_NAME, CF(node), 0, 0, NULL, NULL,
	    "this gateway's name in audit records",
	    .dflt = "host name (`gethostname()`)",
	    .doc = "This gateway's name in audit records and logs, so that an "
	    "abuse desk can tell the nodes apart. If the key is absent and "
	    "the host name is not a valid name, `subgate` is used." },
	{ .name = "workers", .type = K_UINT, CF(workers), 0, 1024, NULL, NULL,
	    "event-loop threads, 0 = one per core",
	    .doc = "Event-loop threads, each with its own listener sockets "
	    "(`SO_REUSEPORT`), sessions and counters. `0` = one per CPU "
	    "core." },
	{ .name = "listeners", .type = K_LISTENERS, 0, 0, 0, 0, NULL, config__listener_keys, NULL,
	    .doc = "Sockets to accept on; see [`listeners[]`](#listeners). A "
	    "list in the file replaces the default list." },
	{ .name = "intercept", .type = K_STRUCT, CF(intercept), .sub = intercept_keys,
	    .doc = "The nftables table subgated loads and keeps alive; see "
	    "[`intercept`](#intercept)." },
	{ .name = "upstream", .type = K_SECTION, 0, 0, 0, 0, NULL, upstream_keys, NULL,
	    .doc = "The connection to the destination the subscriber dialled; "
	    "see [`upstream`](#upstream)." },
	{ .name = "limits", .type = K_SECTION, 0, 0, 0, 0, NULL, limits_keys, NULL,
	    .doc = "Bounds of sessions, buffers and descriptors; see "
	    "[`limits`](#limits)." },
	{ .name = "smtp", .type = K_SECTION, 0, 0, 0, 0, NULL, smtp_keys, NULL,
	    .doc = "Bounds and timeouts of the port-25 relay; see "
	    "[`smtp`](#smtp)." },
	{ .name = "redis", .type = K_STRUCT, CF(redis), .sub = redis_keys,
	    .flags = KF_PRESENCE, .aux = offsetof(struct config, redis.enabled),
	    .doc = "Redis shared by all nodes; absent: every node limits on "
	    "its own. See [`redis`](#redis)." },
	{ .name = "policy", .type = K_SECTION, .sub = policy_keys,
	    .doc = "Port-25 limits and actions (by default class `default`, "
	    "no limits); see [`policy`](#policy)." },
	{ .name = "smarthost", .type = K_STRUCT, CF(smarthost),
	    .sub = smarthost_keys,
	    .doc = "Target of action `redirect`; see "
	    "[`smarthost`](#smarthost)." },
	{ .name = "identity", .type = K_SECTION, .sub = identity_keys,
	    .doc = "Who holds an address (by default no static map, no "
	    "RADIUS); see [`identity`](#identity)." },
	{ .name = "audit", .type = K_SECTION, 0, 0, 0, 0, NULL, audit_keys, NULL,
	    .doc = "The audit records: where they go, what they hold, what "
	    "happens when they cannot be written; see [`audit`](#audit)." },
	{ .name = "geoip", .type = K_SECTION, .sub = geoip_keys,
	    .doc = "The destination's ASN and country in audit records (by "
	    "default off); see [`geoip`](#geoip)." },
	{ .name = "admin", .type = K_SECTION, .sub = admin_keys,
	    .doc = "HTTP endpoint for metrics and lock-outs (by default off); "
	    "see [`admin`](#admin)." },
	{ .name = "privileges", .type = K_STRUCT, CF(privileges),
	    .sub = privileges_keys,
	    .doc = "Who subgated runs as after start (by default the user "
	    "`subgate`, not dumpable); see [`privileges`](#privileges)." },
	{ .name = "log", .type = K_SECTION, 0, 0, 0, 0, NULL, log_keys, NULL,
	    .doc = "The operator log; see [`log`](#log)." },
	{ .name = "shutdown", .type = K_SECTION, 0, 0, 0, 0, NULL, shutdown_keys, NULL,
	    .doc = "What SIGTERM does; see [`shutdown`](#shutdown)." },
	END
};

static void
class_init(void *e)
{
	struct policy_class *c = e;

	c->lockout.within_ms = 10 * MIN_;
	c->lockout.duration_ms = HOUR;
}
