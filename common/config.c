/*
 * config.c - loading, checking and dumping subgated's YAML configuration.
 *
 * The embedded default (config_default_yaml) is parsed first, then the
 * operator's file over it: a key the file does not set keeps its default,
 * except lists and maps (listeners, policy.classes, policy.prefixes,
 * redis.sentinels, identity.static, identity.radius.clients), which the file
 * replaces as a whole. Sections whose presence is a setting (redis,
 * identity.radius) are absent from the default; init_defaults() holds their
 * values. Every mapping has one table of keys (type, field, bounds, help);
 * parsing, error messages, config_free and config_dump all walk those
 * tables, so a key exists in exactly one place. While a document is applied
 * every value's location is recorded (struct mark_rec) and the libyaml
 * document is kept until the cross-field checks have run, so every error
 * points at a line and column of the file that caused it.
 *
 * Secrets are read from their files at load time and never printed:
 * config_dump writes the *_file path, or a comment for an inline secret.
 */
#include "config.h"
#include "cidr.h"
#include "err.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define CONFIG_MAX_FILE		(1024 * 1024)
#define CONFIG_MAX_LISTENERS	64
#define NODE_MAX		253

const char config_default_yaml[] =
"# subgate built-in defaults: a working gateway with no file and no Redis.\n"
"# Every key is described in docs/configuration.md.\n"
"\n"
"# node: gw1                # name in audit records; default: the host name\n"
"workers: 0                 # event-loop threads; 0 = one per core\n"
"\n"
"listeners:\n"
"  - listen: \"[::]:10025\"   # nft redirect of subscribers' port 25\n"
"    mode: smtp             # smtp | passthrough\n"
"    intercept: redirect    # redirect | tproxy | none\n"
"    backlog: 1024\n"
"# Ports 587 and 465 are not in subgated's data path: the kernel forwards\n"
"# them (RFC 5068 4.1). A listener with mode: passthrough opts in to the\n"
"# splice tunnel instead (docs/operator-guide.md).\n"
"\n"
"intercept:\n"
"  nftables: false          # true: subgated loads table inet <table> and keeps it alive\n"
"  table: subgate\n"
"  interfaces: []           # subscriber-facing interfaces, e.g. [eth1, \"ppp*\"]\n"
"  subscribers: []          # subscriber source prefixes, e.g. [100.64.0.0/10]\n"
"  smtp_ports: [25]\n"
"  submission_ports: [587, 465]\n"
"  on_down: open            # open | closed: port 25 while subgated is not serving\n"
"  hold: 2s                 # interception lapses this long after subgated stops\n"
"  conntrack: true          # record 587/465 flows from conntrack events\n"
"  conntrack_mark: 0x00100000\n"
"  tproxy_mark: 1\n"
"\n"
"upstream:\n"
"  connect_timeout: 30s\n"
"  source: gateway          # gateway | subscriber (tproxy listeners only)\n"
"\n"
"limits:\n"
"  buffer: 256k             # bytes queued toward one peer before reading stops\n"
"  max_sessions: 0          # per worker, 0 = unlimited; never applies to passthrough\n"
"  session_max_time: 1h     # 0 = no cap\n"
"\n"
"smtp:\n"
"  max_line: 2048           # RFC 5321 4.5.3.1.4 asks for at least 512\n"
"  max_auth_line: 12288     # RFC 4954 section 4\n"
"  max_reply: 64k\n"
"  max_pipeline: 100\n"
"  max_held: 64k\n"
"  max_errors: 20\n"
"  max_recipients_kept: 100\n"
"  bare_newline: normalize  # normalize | reject\n"
"  timeouts:                # RFC 5321 4.5.3.2\n"
"    greeting: 5m\n"
"    command: 5m\n"
"    data_init: 2m\n"
"    data_block: 3m\n"
"    data_end: 10m\n"
"    client_idle: 5m\n"
"\n"
"# redis:                  # absent: no Redis; every node limits on its own\n"
"#   address: \"127.0.0.1:6379\"\n"
"\n"
"policy:\n"
"  default_class: default   # class of a subscriber nothing else names\n"
"  classes:\n"
"    default: {}            # no limits\n"
"  prefixes: []             # source prefix -> class\n"
"  replies:                 # %l = limit hit, %r = seconds until retry\n"
"    tempfail: \"451 4.7.1 Too many %l from your address, try again in %r seconds\"\n"
"    refuse_submission: \"550 5.7.1 Port 25 is for server-to-server mail. "
"Submit your mail on port 587 with authentication (RFC 5068)\"\n"
"    block: \"554 5.7.1 Sending mail on port 25 is blocked for your connection\"\n"
"    locked: \"421 4.7.1 Too many violations, port 25 is locked for your "
"connection for %r seconds\"\n"
"    redis_down: \"451 4.3.0 Temporary local problem, try again later\"\n"
"    audit_down: \"451 4.3.0 Temporary local problem, try again later\"\n"
"\n"
"smarthost:\n"
"  address: \"\"              # target of action redirect; empty = none\n"
"  starttls: require        # require | opportunistic | off\n"
"\n"
"identity:\n"
"  static: []               # prefix -> subscriber (and class)\n"
"  # radius:                # absent: no RADIUS accounting listener\n"
"  history: 8d              # address assignments kept (RFC 5068 3.1)\n"
"\n"
"audit:\n"
"  path: \"-\"                # JSON lines; \"-\" = standard output\n"
"  recipients: full         # full | hmac | count\n"
"  index: auto              # auto | redis | none\n"
"  retention: 8d\n"
"  on_write_error: continue # continue | tempfail (port 25 only)\n"
"\n"
"geoip:\n"
"  asn_db: \"\"\n"
"  country_db: \"\"\n"
"\n"
"admin:\n"
"  listen: \"\"               # e.g. 127.0.0.1:9925; empty = off\n"
"\n"
"log:\n"
"  level: info              # error | warn | info | debug\n"
"\n"
"shutdown:\n"
"  drain_timeout: 30s\n";

enum ktype {
	K_SECTION,	/* nested mapping; offsets stay relative to the same base */
	K_LISTENERS,	/* sequence of listener mappings */
	K_NAME,		/* node name: letters, digits, '.', '-', '_' */
	K_PATH,		/* any non-empty string */
	K_UINT,		/* plain non-negative integer */
	K_SIZE,		/* octets: 512, 64k, 1m, 1g (k = 1024) */
	K_DURATION,	/* milliseconds: 500ms, 30s, 5m, 2h, 8d; bare = seconds */
	K_ENUM,		/* one of names[], stored as its index */
	K_ADDR,		/* numeric "host:port" / "[v6]:port" */
	K_STRUCT,	/* nested mapping of the struct at off (sub relative to it);
			 * KF_PRESENCE: int at aux set to 1 when the key appears */
	K_LIST,		/* sequence: pointer at off, size_t count at aux, list */
	K_MAP,		/* mapping name -> element: like K_LIST */
	K_RATE,		/* struct rate: "30/1m", "unlimited" */
	K_BYTERATE,	/* struct rate of octets: "50m/1h" */
	K_OPTENUM,	/* K_ENUM, and int at aux set to 1 when given */
	K_BOOL,		/* int: true | false */
	K_SECRET_FILE,	/* struct secret from the first line of a file */
	K_SECRET,	/* struct secret given inline (same field as _FILE) */
	K_PREFIX,	/* struct cidr_prefix, no host bits */
	K_TEXT,		/* SMTP reply text with %l, %r placeholders */
	K_IDENT		/* 1..253 printable octets, no space */
};

#define KF_OPT		0x1	/* "" allowed: unset (NULL, AF_UNSPEC) */
#define KF_PRESENCE	0x2	/* K_STRUCT: the section's presence is a setting */
#define KF_TERSE	0x4	/* dump leaves it out when 0 / unlimited / false
				 * (K_STRUCT: when all it holds is left out);
				 * only where absent means exactly that */

struct ctx;
struct list_def;

struct key {
	const char		*name;
	enum ktype		 type;
	size_t			 off;
	size_t			 size;
	uint64_t		 min, max;
	const char *const	*names;		/* K_ENUM, NULL-terminated */
	const struct key	*sub;		/* K_SECTION, K_LISTENERS, K_STRUCT */
	const char		*help;
	const struct list_def	*list;		/* K_LIST, K_MAP */
	size_t			 aux;		/* see enum ktype */
	unsigned		 flags;		/* KF_* */
};

/* list_def - the elements of a K_LIST or K_MAP. */
struct list_def {
	size_t			 esize;
	const struct key	*keys;		/* element's keys; scalar: keys[0] */
	int			 scalar;	/* K_LIST of scalars */
	size_t			 name_off;	/* K_MAP: char * of the map key */
	size_t			 max;
	const char *const	*required;	/* keys, "a|b" = either */
	ssize_t			 prefix_off;	/* >= 0: no duplicate prefixes */
	void	(*init)(void *e);
	/* check - element i of arr (all parsed), item its node */
	void	(*check)(struct ctx *x, const yaml_node_t *item, void *arr,
		    size_t i);
};

#define FIELD(type, m)	offsetof(type, m), sizeof(((type *)0)->m)
#define CF(m)		FIELD(struct config, m)
#define LF(m)		FIELD(struct listener_conf, m)
#define SEC		(1000ULL)
#define MIN_		(60 * SEC)
#define HOUR		(60 * MIN_)
#define KIB		(1024ULL)
#define MIB		(1024 * KIB)
#define DAY		(24 * HOUR)
#define END		{ .name = NULL }

static const char *const mode_names[] = { "smtp", "passthrough", NULL };
static const char *const intercept_names[] = { "redirect", "tproxy", "none", NULL };
static const char *const source_names[] = { "gateway", "subscriber", NULL };
static const char *const bare_names[] = { "normalize", "reject", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };

static const struct key listener_keys[] = {
	{ .name = "listen", .type = K_ADDR, LF(addr), 0, 0, NULL, NULL,
	    "address and port to accept on (required)" },
	{ .name = "mode", .type = K_ENUM, LF(mode), 0, 0, mode_names, NULL,
	    "smtp: SMTP-aware relay; passthrough: opaque tunnel" },
	{ .name = "intercept", .type = K_ENUM, LF(intercept), 0, 0, intercept_names, NULL,
	    "how the original destination is learned" },
	{ .name = "upstream", .type = K_ADDR, LF(upstream), 0, 0, NULL, NULL,
	    "fixed destination, only with intercept: none" },
	{ .name = "backlog", .type = K_UINT, LF(backlog), 1, 65535, NULL, NULL,
	    "listen(2) queue length" },
	END
};

static const struct key upstream_keys[] = {
	{ .name = "connect_timeout", .type = K_DURATION, CF(connect_timeout), 100, 10 * MIN_,
	    NULL, NULL, "TCP connect to the original destination" },
	{ .name = "source", .type = K_ENUM, CF(upstream_source), 0, 0, source_names, NULL,
	    "upstream source address: gateway's own or subscriber's (tproxy)" },
	END
};

static const struct key limits_keys[] = {
	{ .name = "buffer", .type = K_SIZE, CF(buffer_limit), 4 * KIB, 64 * MIB, NULL, NULL,
	    "octets queued toward one peer before reading the other stops" },
	{ .name = "max_sessions", .type = K_UINT, CF(max_sessions), 0, 10000000, NULL, NULL,
	    "SMTP sessions per worker, 0 = unlimited; never passthrough" },
	{ .name = "session_max_time", .type = K_DURATION, CF(session_max_time), 0, 7 * 24 * HOUR,
	    NULL, NULL, "hard cap on one SMTP session, 0 = none" },
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

static const char *const action_names[] = { "tempfail", "refuse_submission",
    "redirect", "block", NULL };
static const char *const traffic_names[] = { "mx", "submission", "tls", NULL };
static const char *const failure_names[] = { "open", "closed", NULL };
static const char *const starttls_names[] = { "require", "opportunistic",
    "off", NULL };
static const char *const recipients_names[] = { "full", "hmac", "count", NULL };
static const char *const index_names[] = { "auto", "redis", "none", NULL };
static const char *const werr_names[] = { "continue", "tempfail", NULL };

static void class_init(void *e);
static void radius_client_check(struct ctx *, const yaml_node_t *, void *,
    size_t);
static void sentinel_check(struct ctx *, const yaml_node_t *, void *, size_t);

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
	{ .name = "action", .type = K_OPTENUM, LSF(action), .names = action_names,
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
	{ .name = "action", .type = K_OPTENUM, LSF(action), .names = action_names,
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
	    .names = action_names, .help = "what a hit limit does" },
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
	.max = 64, .prefix_off = -1, .check = sentinel_check
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

static const struct key client_keys[] = {
	{ .name = "address", .type = K_PREFIX,
	    FIELD(struct radius_client, prefix) },
	{ .name = "secret_file", .type = K_SECRET_FILE,
	    FIELD(struct radius_client, secret), .flags = KF_OPT },
	{ .name = "secret", .type = K_SECRET,
	    FIELD(struct radius_client, secret) },
	{ .name = "name", .type = K_NAME, FIELD(struct radius_client, name),
	    .flags = KF_OPT },
	END
};

static const struct list_def client_list = {
	.esize = sizeof(struct radius_client), .keys = client_keys,
	.max = 10000, .required = client_required,
	.prefix_off = offsetof(struct radius_client, prefix),
	.check = radius_client_check
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

static const struct key admin_keys[] = {
	{ .name = "listen", .type = K_ADDR, CF(admin.listen), .flags = KF_OPT,
	    .help = "HTTP metrics and lock-outs; \"\" = off" },
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
	{ .name = "level", .type = K_ENUM, CF(log_level), 0, 0, level_names, NULL,
	    "least severe level written" },
	END
};

static const struct key shutdown_keys[] = {
	{ .name = "drain_timeout", .type = K_DURATION, CF(drain_timeout), 0, HOUR, NULL, NULL,
	    "after SIGTERM, time given to sessions to finish" },
	END
};

static const char *const on_down_names[] = { "open", "closed", NULL };

static void iface_check(struct ctx *, const yaml_node_t *, void *, size_t);

static const struct key iface_key[] = {
	{ .name = "interfaces", .type = K_PATH, 0, sizeof(char *) },
	END
};

static const struct list_def iface_list = {
	.esize = sizeof(char *), .keys = iface_key, .scalar = 1,
	.max = 64, .prefix_off = -1, .check = iface_check
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

static const struct key top_keys[] = {
	{ .name = "node", .type = K_NAME, CF(node), 0, 0, NULL, NULL,
	    "this gateway's name in audit records" },
	{ .name = "workers", .type = K_UINT, CF(workers), 0, 1024, NULL, NULL,
	    "event-loop threads, 0 = one per core" },
	{ .name = "listeners", .type = K_LISTENERS, 0, 0, 0, 0, NULL, listener_keys, NULL },
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

/* mark_rec - the value stored at field came from mark, key path path. The
 * cross-field checks find their error locations here. */
struct mark_rec {
	const void	*field;
	yaml_mark_t	 mark;
	char		*path;
};

/* One document being applied to a config; the first error wins. */
struct ctx {
	yaml_document_t	*doc;
	const char	*name;
	char		*err;
	size_t		 errlen;
	int		 failed;
	char		 path[256];
	size_t		 plen;
	int		 source_set;
	yaml_mark_t	 source_mark;
	struct mark_rec	*marks;		/* where each value of this document was */
	size_t		 nmarks, amarks;
};

static void cfg_err(struct ctx *, const yaml_mark_t *, const char *, ...)
	__attribute__((format(printf, 3, 4)));

static void
cfg_err(struct ctx *x, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->err == NULL || x->errlen == 0)
		return;
	snprintf(x->err, x->errlen, "%s:%zu:%zu: %s%s%s", x->name,
	    m->line + 1, m->column + 1, x->path, x->plen ? ": " : "", msg);
}

static size_t
path_push(struct ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* path_push - append a path component; returns the length to restore. */
static size_t
path_push(struct ctx *x, const char *fmt, ...)
{
	size_t old = x->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(x->path + x->plen, sizeof(x->path) - x->plen, fmt, ap);
	va_end(ap);
	if (n > 0)
		x->plen = MIN(x->plen + (size_t)n, sizeof(x->path) - 1);
	return old;
}

static void
path_pop(struct ctx *x, size_t old)
{
	x->plen = old;
	x->path[old] = '\0';
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static int
is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static void
store(void *base, const struct key *k, uint64_t v)
{
	uint8_t *p = (uint8_t *)base + k->off;

	if (k->size == sizeof(uint64_t)) {
		uint64_t w = v;
		memcpy(p, &w, sizeof(w));
	} else if (k->size == sizeof(uint32_t)) {
		uint32_t w = (uint32_t)v;
		memcpy(p, &w, sizeof(w));
	} else if (k->size == sizeof(uint16_t)) {
		uint16_t w = (uint16_t)v;
		memcpy(p, &w, sizeof(w));
	} else {
		abort();
	}
}

static uint64_t
fetch(const void *base, const struct key *k)
{
	const uint8_t *p = (const uint8_t *)base + k->off;
	uint64_t w8;
	uint32_t w4;
	uint16_t w2;

	if (k->size == sizeof(w8)) {
		memcpy(&w8, p, sizeof(w8));
		return w8;
	}
	if (k->size == sizeof(w4)) {
		memcpy(&w4, p, sizeof(w4));
		return w4;
	}
	if (k->size == sizeof(w2)) {
		memcpy(&w2, p, sizeof(w2));
		return w2;
	}
	abort();
}

/* parse_number - decimal digits then an optional unit from units[] (NULL
 * name: no unit); 0, -1 syntax, -2 negative, -3 overflow. */
struct unit {
	const char	*name;
	uint64_t	 mult;
};

static const struct unit size_units[] = {
	{ "", 1 }, { "k", KIB }, { "K", KIB }, { "m", MIB }, { "M", MIB },
	{ "g", 1024 * MIB }, { "G", 1024 * MIB }, { NULL, 0 }
};
static const struct unit duration_units[] = {
	{ "", SEC }, { "ms", 1 }, { "s", SEC }, { "m", MIN_ }, { "h", HOUR },
	{ "d", 24 * HOUR }, { NULL, 0 }
};
static const struct unit plain_units[] = { { "", 1 }, { NULL, 0 } };

static int
parse_number(const char *s, const struct unit *u, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p == '-' && p[1] >= '0' && p[1] <= '9')
		return -2;
	if (*p < '0' || *p > '9')
		return -1;
	/* 0x...: plain numbers only (packet and connection marks) */
	if (p[0] == '0' && p[1] == 'x' && u == plain_units) {
		for (p += 2; isxdigit((unsigned char)*p); p++) {
			if (v > UINT64_MAX >> 4)
				return -3;
			v = v << 4 | (uint64_t)(isdigit((unsigned char)*p) ?
			    *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
		}
		if (*p != '\0' || p == s + 2)
			return -1;
		*out = v;
		return 0;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -3;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	for (; u->name != NULL; u++) {
		if (strcmp(p, u->name) != 0)
			continue;
		if (v != 0 && u->mult > UINT64_MAX / v)
			return -3;
		*out = v * u->mult;
		return 0;
	}
	return -1;
}

/* fmt_value - v in the key's own notation (largest exact unit). */
static char *
fmt_value(char *buf, size_t len, enum ktype t, uint64_t v)
{
	static const struct unit dur[] = {
		{ "d", 24 * HOUR }, { "h", HOUR }, { "m", MIN_ }, { "s", SEC },
		{ "ms", 1 }
	};
	static const struct unit sz[] = {
		{ "g", 1024 * MIB }, { "m", MIB }, { "k", KIB }
	};
	size_t i;

	if (v != 0 && t == K_DURATION) {
		for (i = 0; i < ARRAY_SIZE(dur); i++)
			if (v % dur[i].mult == 0) {
				snprintf(buf, len, "%" PRIu64 "%s",
				    v / dur[i].mult, dur[i].name);
				return buf;
			}
	}
	if (v >= 64 * KIB && t == K_SIZE) {
		for (i = 0; i < ARRAY_SIZE(sz); i++)
			if (v % sz[i].mult == 0) {
				snprintf(buf, len, "%" PRIu64 "%s",
				    v / sz[i].mult, sz[i].name);
				return buf;
			}
	}
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NODE_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
		    *s == '_'))
			return 0;
	return 1;
}

/* show - s as given when it is one printable token, else quoted and
 * escaped; either way at most len - 1 characters. */
static const char *
show(char *buf, size_t len, const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= len || strlen(s) != n)
		return log_esc(buf, len, s, n);
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
			return log_esc(buf, len, s, n);
	return s;
}

static void
parse_scalar_number(struct ctx *x, const struct key *k, const yaml_node_t *n,
    const char *s, void *base)
{
	const struct unit *u;
	const char *what;
	char got[64], lo[32], hi[32];
	uint64_t v;
	int rc;

	switch (k->type) {
	case K_SIZE:
		u = size_units;
		what = "a size such as 512, 64k or 1m (k = 1024 octets)";
		break;
	case K_DURATION:
		u = duration_units;
		what = "a duration such as 500ms, 30s, 5m, 2h "
		    "or a number of seconds";
		break;
	default:
		u = plain_units;
		what = "a whole number";
		break;
	}
	rc = parse_number(s, u, &v);
	if (rc == -2) {
		cfg_err(x, &n->start_mark, "must not be negative, got %s",
		    show(got, sizeof(got), s, strlen(s)));
		return;
	}
	if (rc == 0 && (v < k->min || v > k->max))
		rc = -3;
	if (rc == -3) {
		cfg_err(x, &n->start_mark, "%s is out of range %s..%s",
		    show(got, sizeof(got), s, strlen(s)),
		    fmt_value(lo, sizeof(lo), k->type, k->min),
		    fmt_value(hi, sizeof(hi), k->type, k->max));
		return;
	}
	if (rc < 0) {
		cfg_err(x, &n->start_mark, "expected %s, got %s", what,
		    show(got, sizeof(got), s, strlen(s)));
		return;
	}
	store(base, k, v);
}

static void parse_map(struct ctx *, const yaml_node_t *, const struct key *,
    void *);
static void parse_listeners(struct ctx *, const yaml_node_t *,
    struct config *);
static const yaml_node_t *map_get(yaml_document_t *, const yaml_node_t *,
    const char *);
static void free_map(const struct key *, void *);
static void parse_value(struct ctx *, const struct key *, const yaml_node_t *,
    void *);

#define TEXT_MAX	400
#define IDENT_MAX	253
#define RATE_MAX_N	(1ULL << 50)	/* exact in a Lua double */

/* mark_add - remember where the value at field came from (current path). */
static void
mark_add(struct ctx *x, const void *field, const yaml_mark_t *m)
{
	struct mark_rec *r;

	if (x->nmarks == x->amarks) {
		x->amarks = x->amarks ? 2 * x->amarks : 64;
		x->marks = xrealloc(x->marks, x->amarks * sizeof(*x->marks));
	}
	r = &x->marks[x->nmarks++];
	r->field = field;
	r->mark = *m;
	r->path = xstrdup(x->path);
}

static const struct mark_rec *
mark_find(const struct ctx *x, const void *field)
{
	size_t i;

	for (i = x->nmarks; i-- > 0;)
		if (x->marks[i].field == field)
			return &x->marks[i];
	return NULL;
}

static void xerr(struct ctx *, const void *, const void *, const char *,
    const char *, ...) __attribute__((format(printf, 5, 6)));

/* xerr - a cross-field error about the value at field, located where this
 * document set it; if it did not (the value is a default), where it set alt
 * (the value that made field wrong), under the key path path. */
static void
xerr(struct ctx *x, const void *field, const void *alt, const char *path,
    const char *fmt, ...)
{
	const struct mark_rec *r = mark_find(x, field);
	yaml_mark_t zero = { 0, 0, 0 };
	const yaml_mark_t *m = &zero;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r != NULL) {
		path = r->path;
		m = &r->mark;
	} else if (alt != NULL && (r = mark_find(x, alt)) != NULL) {
		m = &r->mark;
	}
	snprintf(x->path, sizeof(x->path), "%s", path);
	x->plen = strlen(x->path);
	cfg_err(x, m, "%s", msg);
	path_pop(x, 0);
}

static int
valid_ident(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > IDENT_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* reply_problem - why s is not a usable reply text, or NULL. */
static const char *
reply_problem(const char *s, size_t len)
{
	size_t i;

	if (len > TEXT_MAX)
		return "longer than 400 characters";
	if (len < 3 || (s[0] != '4' && s[0] != '5') || s[1] < '0' ||
	    s[1] > '9' || s[2] < '0' || s[2] > '9' ||
	    (len > 3 && s[3] != ' '))
		return "must start with a 4xx or 5xx reply code and a space";
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
			return "only printable ASCII is allowed in a reply";
		if (s[i] == '%') {
			if (s[i + 1] != 'l' && s[i + 1] != 'r' &&
			    s[i + 1] != '%')
				return "unknown placeholder; use %l (limit), "
				    "%r (seconds until retry) or %% ('%')";
			i++;
		}
	}
	/* an RFC 3463 enhanced code must be of the reply's class */
	if (len > 5 && s[4] >= '0' && s[4] <= '9' && s[5] == '.' &&
	    s[4] != s[0])
		return "enhanced status code class differs from the reply code";
	return NULL;
}

/* parse_rate - "N/PERIOD" or "unlimited"; NULL or a message. */
static const char *
parse_rate(const char *s, int bytes, struct rate *r)
{
	char num[32];
	const char *slash = strchr(s, '/');
	uint64_t n, p;
	size_t nl;

	if (strcmp(s, "unlimited") == 0) {
		r->n = 0;
		r->period_ms = 0;
		return NULL;
	}
	if (slash == NULL || (nl = (size_t)(slash - s)) >= sizeof(num))
		return bytes ? "expected a size per period such as 50m/1h, "
		    "or unlimited" : "expected a count per period such as "
		    "30/1m, or unlimited";
	memcpy(num, s, nl);
	num[nl] = '\0';
	switch (parse_number(num, bytes ? size_units : plain_units, &n)) {
	case 0:
		break;
	case -2:
		return "must not be negative";
	case -3:
		return "count out of range";
	default:
		return bytes ? "expected a size per period such as 50m/1h, "
		    "or unlimited" : "expected a count per period such as "
		    "30/1m, or unlimited";
	}
	if (n == 0)
		return "the count must be at least 1 (write unlimited or leave "
		    "the key out for no limit, deny: true to refuse every "
		    "session)";
	if (n > RATE_MAX_N)
		return "count out of range 1..2^50";
	if (parse_number(slash + 1, duration_units, &p) < 0)
		return "expected a period such as 1m, 1h or 1d after '/'";
	if (p < SEC || p > 30 * DAY)
		return "the period must be 1s..30d";
	r->n = n;
	r->period_ms = (uint32_t)p;
	return NULL;
}

static void
secret_clear(struct secret *s)
{
	if (s->value != NULL) {
		explicit_bzero(s->value, s->len);
		free(s->value);
	}
	free(s->file);
	memset(s, 0, sizeof(*s));
}

/* read_secret - the first line of file into s; 0, or -1 after cfg_err. */
static int
read_secret(struct ctx *x, const yaml_node_t *n, const char *file,
    struct secret *s)
{
	char esc[256], why[128];

	if (secret_read(file, &s->value, &s->len, why, sizeof(why)) < 0) {
		cfg_err(x, &n->start_mark, "%s: %s",
		    show(esc, sizeof(esc), file, strlen(file)), why);
		return -1;
	}
	s->file = xstrdup(file);
	return 0;
}

static void
free_elems(const struct list_def *d, int map, void *arr, size_t n)
{
	size_t i;
	char *e;

	for (i = 0; i < n; i++) {
		e = (char *)arr + i * d->esize;
		free_map(d->keys, e);
		if (map)
			free(*(char **)(e + d->name_off));
	}
	free(arr);
}

/* list_required - every key of d->required ("a|b": either) is in item. */
static void
list_required(struct ctx *x, const struct list_def *d, const yaml_node_t *item)
{
	const char *const *r;
	char alt[64], *p, *save;
	int found;

	if (d->required == NULL || item->type != YAML_MAPPING_NODE)
		return;
	for (r = d->required; *r != NULL && !x->failed; r++) {
		snprintf(alt, sizeof(alt), "%s", *r);
		found = 0;
		for (p = strtok_r(alt, "|", &save); p != NULL && !found;
		    p = strtok_r(NULL, "|", &save))
			found = map_get(x->doc, item, p) != NULL;
		if (!found)
			cfg_err(x, &item->start_mark, "missing required key %s",
			    *r);
	}
}

/* list_no_duplicates - no prefix twice in one list. */
static void
list_no_duplicates(struct ctx *x, const struct list_def *d, char *arr,
    size_t n)
{
	struct cidr *t = cidr_new();
	const struct cidr_prefix *p;
	char a[CIDR_STRLEN], where[300];
	const struct mark_rec *r;
	void *prev;
	size_t i;

	for (i = 0; i < n && !x->failed; i++) {
		p = (const void *)(arr + i * d->esize + d->prefix_off);
		if ((prev = cidr_get(t, p)) != NULL) {
			r = mark_find(x, (const char *)prev - 1 + d->prefix_off);
			/* prev - 1: element addresses are stored plus one */
			snprintf(where, sizeof(where), "%s", r ? r->path : "?");
			xerr(x, p, NULL, "?", "%s is listed twice (also at %s)",
			    cidr_fmt(p, a, sizeof(a)), where);
			break;
		}
		cidr_insert(t, p, arr + i * d->esize + 1, NULL);
	}
	cidr_free(t, NULL);
}

static void
parse_list(struct ctx *x, const struct key *k, const yaml_node_t *n,
    void *base)
{
	const struct list_def *d = k->list;
	void **pp = (void **)((char *)base + k->off);
	size_t *np = (size_t *)((char *)base + k->aux);
	const yaml_node_t *item;
	yaml_node_item_t *it;
	size_t cnt = 0, i, old;
	char *arr = NULL, *e;

	if (!is_null(n) && n->type != YAML_SEQUENCE_NODE) {
		cfg_err(x, &n->start_mark, "expected a sequence, found %s",
		    node_kind(n));
		return;
	}
	if (!is_null(n))
		cnt = (size_t)(n->data.sequence.items.top -
		    n->data.sequence.items.start);
	if (cnt > d->max) {
		cfg_err(x, &n->start_mark, "at most %zu entries", d->max);
		return;
	}
	if (cnt > 0)
		arr = xcalloc(cnt, d->esize);
	for (i = 0; i < cnt && !x->failed; i++) {
		it = n->data.sequence.items.start + i;
		item = yaml_document_get_node(x->doc, *it);
		e = arr + i * d->esize;
		if (d->init != NULL)
			d->init(e);
		old = path_push(x, "[%zu]", i);
		if (d->scalar) {
			mark_add(x, e, &item->start_mark);
			parse_value(x, d->keys, item, e);
		} else {
			parse_map(x, item, d->keys, e);
			list_required(x, d, item);
		}
		if (!x->failed && d->check != NULL)
			d->check(x, item, arr, i);
		path_pop(x, old);
	}
	if (!x->failed && d->prefix_off >= 0)
		list_no_duplicates(x, d, arr, cnt);
	if (x->failed) {
		free_elems(d, 0, arr, cnt);
		return;
	}
	free_elems(d, 0, *pp, *np);
	*pp = arr;
	*np = cnt;
}

/* parse_named - K_MAP: a mapping of element name -> element mapping. */
static void
parse_named(struct ctx *x, const struct key *k, const yaml_node_t *n,
    void *base)
{
	const struct list_def *d = k->list;
	void **pp = (void **)((char *)base + k->off);
	size_t *np = (size_t *)((char *)base + k->aux);
	yaml_node_pair_t *pair;
	const yaml_node_t *kn, *vn;
	size_t cnt = 0, i, j, old;
	char *arr = NULL, *e, got[64];
	const char *name;

	if (!is_null(n) && n->type != YAML_MAPPING_NODE) {
		cfg_err(x, &n->start_mark, "expected a mapping of names, "
		    "found %s", node_kind(n));
		return;
	}
	if (!is_null(n))
		cnt = (size_t)(n->data.mapping.pairs.top -
		    n->data.mapping.pairs.start);
	if (cnt > d->max) {
		cfg_err(x, &n->start_mark, "at most %zu entries", d->max);
		return;
	}
	if (cnt > 0)
		arr = xcalloc(cnt, d->esize);
	for (i = 0; i < cnt && !x->failed; i++) {
		pair = n->data.mapping.pairs.start + i;
		kn = yaml_document_get_node(x->doc, pair->key);
		vn = yaml_document_get_node(x->doc, pair->value);
		e = arr + i * d->esize;
		if (d->init != NULL)
			d->init(e);
		if (kn->type != YAML_SCALAR_NODE) {
			cfg_err(x, &kn->start_mark, "expected a name, found %s",
			    node_kind(kn));
			break;
		}
		name = (const char *)kn->data.scalar.value;
		old = path_push(x, ".%s", show(got, sizeof(got), name,
		    kn->data.scalar.length));
		if (strlen(name) != kn->data.scalar.length ||
		    !valid_name(name)) {
			cfg_err(x, &kn->start_mark, "a name is 1 to %d letters, "
			    "digits, '.', '-' or '_'", NODE_MAX);
		} else {
			for (j = 0; j < i; j++)
				if (strcmp(*(char **)(arr + j * d->esize +
				    d->name_off), name) == 0)
					break;
			if (j < i)
				cfg_err(x, &kn->start_mark, "defined twice");
		}
		if (!x->failed) {
			*(char **)(e + d->name_off) = xstrdup(name);
			mark_add(x, e + d->name_off, &kn->start_mark);
			if (!is_null(vn))
				parse_map(x, vn, d->keys, e);
		}
		path_pop(x, old);
	}
	if (x->failed) {
		free_elems(d, 1, arr, cnt);
		return;
	}
	free_elems(d, 1, *pp, *np);
	*pp = arr;
	*np = cnt;
}

static void
class_init(void *e)
{
	struct policy_class *c = e;

	c->lockout.within_ms = 10 * MIN_;
	c->lockout.duration_ms = HOUR;
}

static void
radius_client_check(struct ctx *x, const yaml_node_t *item, void *arr,
    size_t i)
{
	struct radius_client *rc = (struct radius_client *)arr + i;

	if (rc->secret.value == NULL)
		cfg_err(x, &item->start_mark, "missing required key secret_file "
		    "(or secret): the NAS's shared secret");
}

static void
sentinel_check(struct ctx *x, const yaml_node_t *item, void *arr, size_t i)
{
	union sockaddr_any *s = arr;
	char a[ADDRPORT_STRLEN];
	size_t j;

	for (j = 0; j < i; j++)
		if (addr_eq(&s[j], &s[i])) {
			cfg_err(x, &item->start_mark, "%s is listed twice",
			    addr_fmt(&s[i], a, sizeof(a)));
			return;
		}
}

/* iface_check - an interface name as nftables' iifname takes it: 1..15
 * octets of letters, digits, '.', '-', '_', ':' or '@', a '*' only last. */
static void
iface_check(struct ctx *x, const yaml_node_t *item, void *arr, size_t i)
{
	const char *n = ((char **)arr)[i];
	char got[64];
	size_t len = strlen(n), j;

	for (j = 0; j < len; j++)
		if (!isalnum((unsigned char)n[j]) && strchr(".-_:@", n[j]) == NULL &&
		    !(n[j] == '*' && j == len - 1 && j > 0))
			break;
	if (len > 15 || j < len)
		cfg_err(x, &item->start_mark, "expected an interface name (at "
		    "most 15 of A-Z a-z 0-9 . - _ : @, a trailing * matches "
		    "any suffix), got %s", show(got, sizeof(got), n, len));
	for (j = 0; j < i && !x->failed; j++)
		if (strcmp(((char **)arr)[j], n) == 0)
			cfg_err(x, &item->start_mark, "%s is listed twice", n);
}

static void
enum_err(struct ctx *x, const struct key *k, const yaml_node_t *n)
{
	char list[160];
	size_t i, off;

	for (i = 0, off = 0; k->names[i] != NULL; i++)
		off += (size_t)snprintf(list + off,
		    off < sizeof(list) ? sizeof(list) - off : 0,
		    "%s%s", i ? ", " : "", k->names[i]);
	cfg_err(x, &n->start_mark, "expected one of %s", list);
}

static void
parse_value(struct ctx *x, const struct key *k, const yaml_node_t *n,
    void *base)
{
	char got[64], perr[128];
	const char *s, *why;
	size_t len, i;
	union sockaddr_any *sa;
	struct secret *sec;
	void *f = (char *)base + k->off;
	char **sp = f;

	switch (k->type) {
	case K_SECTION:
		if (!is_null(n))
			parse_map(x, n, k->sub, base);
		return;
	case K_STRUCT:
		if (k->flags & KF_PRESENCE)
			*(int *)(void *)((char *)base + k->aux) = 1;
		if (!is_null(n))
			parse_map(x, n, k->sub, f);
		return;
	case K_LISTENERS:
		parse_listeners(x, n, base);
		return;
	case K_LIST:
		parse_list(x, k, n, base);
		return;
	case K_MAP:
		parse_named(x, k, n, base);
		return;
	default:
		break;
	}
	if (n->type != YAML_SCALAR_NODE) {
		cfg_err(x, &n->start_mark, "expected a single value, found %s",
		    node_kind(n));
		return;
	}
	s = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	if (strlen(s) != len) {
		cfg_err(x, &n->start_mark, "contains a NUL character");
		return;
	}
	switch (k->type) {
	case K_NAME:
	case K_PATH:
	case K_IDENT:
	case K_TEXT:
		if (len == 0 && (k->flags & KF_OPT)) {
			free(*sp);
			*sp = NULL;
			return;
		}
		if (k->type == K_NAME && !valid_name(s)) {
			cfg_err(x, &n->start_mark, "expected 1 to %d letters, "
			    "digits, '.', '-' or '_', got %s", NODE_MAX,
			    show(got, sizeof(got), s, len));
			return;
		}
		if (k->type == K_IDENT && !valid_ident(s, len)) {
			cfg_err(x, &n->start_mark, "expected 1 to %d printable "
			    "characters without spaces, got %s", IDENT_MAX,
			    show(got, sizeof(got), s, len));
			return;
		}
		if (len == 0) {
			cfg_err(x, &n->start_mark, "must not be empty");
			return;
		}
		if (k->type == K_TEXT && (why = reply_problem(s, len)) != NULL) {
			cfg_err(x, &n->start_mark, "%s", why);
			return;
		}
		free(*sp);
		*sp = xstrdup(s);
		return;
	case K_UINT:
	case K_SIZE:
	case K_DURATION:
		parse_scalar_number(x, k, n, s, base);
		return;
	case K_ENUM:
	case K_OPTENUM:
		for (i = 0; k->names[i] != NULL; i++)
			if (strcmp(s, k->names[i]) == 0) {
				store(base, k, i);
				if (k->type == K_OPTENUM)
					*(int *)(void *)((char *)base +
					    k->aux) = 1;
				return;
			}
		enum_err(x, k, n);
		return;
	case K_BOOL:
		if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
			*(int *)f = s[0] == 't';
			return;
		}
		cfg_err(x, &n->start_mark, "expected true or false, got %s",
		    show(got, sizeof(got), s, len));
		return;
	case K_ADDR:
		sa = f;
		if (len == 0 && (k->flags & KF_OPT)) {
			memset(sa, 0, sizeof(*sa));
			return;
		}
		if (addr_parse(sa, s, -1) < 0 || addr_port(sa) == 0) {
			memset(sa, 0, sizeof(*sa));
			cfg_err(x, &n->start_mark, "expected a numeric address "
			    "and port such as 192.0.2.25:25 or [2001:db8::25]:25, "
			    "got %s", show(got, sizeof(got), s, len));
		}
		return;
	case K_RATE:
	case K_BYTERATE:
		if ((why = parse_rate(s, k->type == K_BYTERATE, f)) != NULL)
			cfg_err(x, &n->start_mark, "%s, got %s", why,
			    show(got, sizeof(got), s, len));
		return;
	case K_PREFIX:
		if (cidr_parse(f, s, perr, sizeof(perr)) < 0) {
			memset(f, 0, sizeof(struct cidr_prefix));
			cfg_err(x, &n->start_mark, "expected a prefix such as "
			    "100.64.0.0/10 or 2001:db8::/32, got %s: %s",
			    show(got, sizeof(got), s, len), perr);
		}
		return;
	case K_SECRET_FILE:
	case K_SECRET:
		sec = f;
		if (len == 0 && k->type == K_SECRET_FILE)
			return;		/* "": not from a file */
		if (sec->value != NULL) {
			cfg_err(x, &n->start_mark, "the secret is already given; "
			    "use either the _file key or the inline one");
			return;
		}
		if (k->type == K_SECRET_FILE) {
			read_secret(x, n, s, sec);
			return;
		}
		if (len == 0 || len > SECRET_MAX) {
			cfg_err(x, &n->start_mark, "an inline secret is 1 to %d "
			    "octets", SECRET_MAX);
			return;
		}
		sec->value = xstrdup(s);
		sec->len = len;
		return;
	default:
		abort();
	}
}

static void
unknown_key(struct ctx *x, const yaml_node_t *kn, const struct key *keys)
{
	char list[512];
	size_t off = 0;
	const struct key *k;

	list[0] = '\0';
	for (k = keys; k->name != NULL && off < sizeof(list); k++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    k == keys ? "" : ", ", k->name);
	cfg_err(x, &kn->start_mark, "unknown key; expected one of %s", list);
}

/* parse_map - apply a mapping node to base through its key table. */
static void
parse_map(struct ctx *x, const yaml_node_t *n, const struct key *keys,
    void *base)
{
	yaml_node_pair_t *pair;
	yaml_node_t *kn, *vn;
	const struct key *k;
	uint64_t seen = 0;
	size_t old, i;
	char esc[64];
	const char *name;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_err(x, &n->start_mark, "expected a mapping, found %s",
		    node_kind(n));
		return;
	}
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top && !x->failed; pair++) {
		kn = yaml_document_get_node(x->doc, pair->key);
		vn = yaml_document_get_node(x->doc, pair->value);
		if (kn->type != YAML_SCALAR_NODE) {
			cfg_err(x, &kn->start_mark, "expected a key name, "
			    "found %s", node_kind(kn));
			return;
		}
		name = (const char *)kn->data.scalar.value;
		for (k = keys, i = 0; k->name != NULL; k++, i++)
			if (strcmp(k->name, name) == 0)
				break;
		old = path_push(x, "%s%s", x->plen ? "." : "",
		    show(esc, sizeof(esc), name, kn->data.scalar.length));
		if (k->name == NULL)
			unknown_key(x, kn, keys);
		else if (seen & (1ULL << i))
			cfg_err(x, &kn->start_mark, "duplicate key");
		else {
			seen |= 1ULL << i;
			if (k->names == source_names) {
				x->source_set = 1;
				x->source_mark = vn->start_mark;
			}
			if (k->type != K_SECTION)
				mark_add(x, (char *)base + k->off,
				    &vn->start_mark);
			parse_value(x, k, vn, base);
		}
		path_pop(x, old);
	}
}

static const yaml_node_t *
map_get(yaml_document_t *doc, const yaml_node_t *n, const char *name)
{
	yaml_node_pair_t *pair;
	yaml_node_t *kn;

	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		kn = yaml_document_get_node(doc, pair->key);
		if (kn->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)kn->data.scalar.value, name) == 0)
			return yaml_document_get_node(doc, pair->value);
	}
	return NULL;
}

/* check_listener - listener i of ls, parsed from mapping n. */
static void
check_listener(struct ctx *x, const yaml_node_t *n, struct listener_conf *ls,
    size_t i)
{
	struct listener_conf *l = &ls[i];
	const yaml_node_t *v;
	char a[ADDRPORT_STRLEN];
	size_t j, old;

	if (l->addr.sa.sa_family == AF_UNSPEC) {
		cfg_err(x, &n->start_mark, "missing required key listen");
		return;
	}
	if (l->intercept == INTERCEPT_NONE &&
	    l->upstream.sa.sa_family == AF_UNSPEC) {
		v = map_get(x->doc, n, "intercept");
		old = path_push(x, ".upstream");
		cfg_err(x, &v->start_mark, "required with intercept: none");
		path_pop(x, old);
		return;
	}
	if (l->intercept != INTERCEPT_NONE &&
	    l->upstream.sa.sa_family != AF_UNSPEC) {
		v = map_get(x->doc, n, "upstream");
		old = path_push(x, ".upstream");
		cfg_err(x, &v->start_mark, "only allowed with intercept: none "
		    "(intercept is %s)", intercept_names[l->intercept]);
		path_pop(x, old);
		return;
	}
	for (j = 0; j < i; j++)
		if (addr_eq(&ls[j].addr, &l->addr)) {
			v = map_get(x->doc, n, "listen");
			old = path_push(x, ".listen");
			cfg_err(x, &v->start_mark, "%s is already used by "
			    "listeners[%zu]", addr_fmt(&l->addr, a, sizeof(a)), j);
			path_pop(x, old);
			return;
		}
}

static void
parse_listeners(struct ctx *x, const yaml_node_t *n, struct config *c)
{
	struct listener_conf *ls;
	const yaml_node_t *item;
	yaml_node_item_t *it;
	size_t cnt, i, old;

	if (is_null(n) || (n->type == YAML_SEQUENCE_NODE &&
	    n->data.sequence.items.top == n->data.sequence.items.start)) {
		cfg_err(x, &n->start_mark, "at least one listener is required");
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_err(x, &n->start_mark, "expected a sequence of listeners, "
		    "found %s", node_kind(n));
		return;
	}
	cnt = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (cnt > CONFIG_MAX_LISTENERS) {
		cfg_err(x, &n->start_mark, "at most %d listeners",
		    CONFIG_MAX_LISTENERS);
		return;
	}
	ls = xcalloc(cnt, sizeof(*ls));
	for (i = 0, it = n->data.sequence.items.start; i < cnt && !x->failed;
	    i++, it++) {
		item = yaml_document_get_node(x->doc, *it);
		ls[i].mode = LISTEN_SMTP;
		ls[i].intercept = INTERCEPT_REDIRECT;
		ls[i].backlog = 1024;
		old = path_push(x, "[%zu]", i);
		parse_map(x, item, listener_keys, &ls[i]);
		if (!x->failed)
			check_listener(x, item, ls, i);
		path_pop(x, old);
	}
	if (x->failed) {
		free(ls);
		return;
	}
	free(c->listeners);
	c->listeners = ls;
	c->nlisteners = cnt;
}

/* class_list_str - "a, b, c" for messages. */
static void
class_list_str(const struct config *c, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < c->policy.nclasses && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? ", " : "", c->policy.classes[i].name);
	if (c->policy.nclasses == 0)
		snprintf(buf, len, "none");
}

/* resolve - the class named name, or a located error. */
static const struct policy_class *
resolve(struct ctx *x, struct config *c, char *const *name, const char *path)
{
	const struct policy_class *cls = config_class(c, *name);
	char list[256];

	if (cls == NULL && !x->failed) {
		class_list_str(c, list, sizeof(list));
		xerr(x, name, &c->policy.classes, path, "no class %s in "
		    "policy.classes (defined: %s)", *name, list);
	}
	return cls;
}

static void
check_policy(struct ctx *x, struct config *c)
{
	struct policy_conf *p = &c->policy;
	struct policy_class *cls;
	struct limit_set *l;
	char path[300];
	size_t i;
	int t;

	p->default_class = resolve(x, c, &p->default_class_name,
	    "policy.default_class");
	for (i = 0; i < p->nprefixes && !x->failed; i++) {
		snprintf(path, sizeof(path), "policy.prefixes[%zu].class", i);
		p->prefixes[i].cls = resolve(x, c, &p->prefixes[i].class_name,
		    path);
	}
	for (i = 0; i < c->identity.nstatics && !x->failed; i++) {
		c->identity.statics[i].cls = NULL;
		if (c->identity.statics[i].class_name == NULL)
			continue;
		snprintf(path, sizeof(path), "identity.static[%zu].class", i);
		c->identity.statics[i].cls = resolve(x, c,
		    &c->identity.statics[i].class_name, path);
	}
	for (i = 0; i < p->nclasses && !x->failed; i++) {
		cls = &p->classes[i];
		if (cls->action == ACTION_REDIRECT &&
		    c->smarthost.address.sa.sa_family == AF_UNSPEC) {
			snprintf(path, sizeof(path), "policy.classes.%s.action",
			    cls->name);
			xerr(x, &cls->action, &c->smarthost.address, path,
			    "redirect requires smarthost.address");
		}
		for (t = 0; t < TRAFFIC_COUNT && !x->failed; t++) {
			l = &cls->traffic[t];
			if (!l->has_action || l->action != ACTION_REDIRECT)
				continue;
			snprintf(path, sizeof(path), "policy.classes.%s.%s."
			    "action", cls->name, traffic_names[t]);
			if (t != TRAFFIC_MX)
				xerr(x, &l->action, NULL, path, "redirect "
				    "applies to mx traffic only");
			else if (c->smarthost.address.sa.sa_family == AF_UNSPEC)
				xerr(x, &l->action, &c->smarthost.address, path,
				    "redirect requires smarthost.address");
		}
	}
}

static void
check_others(struct ctx *x, struct config *c)
{
	struct smarthost_conf *sh = &c->smarthost;
	const char *ca;

	if (c->audit.recipients == AUDIT_RCPT_HMAC &&
	    c->audit.hmac_key.value == NULL)
		xerr(x, &c->audit.recipients, NULL, "audit.recipients",
		    "hmac requires audit.hmac_key_file");
	if (c->audit.index == AUDIT_INDEX_REDIS && !c->redis.enabled)
		xerr(x, &c->audit.index, NULL, "audit.index",
		    "redis requires a redis section");
	c->audit.index_redis = c->audit.index == AUDIT_INDEX_REDIS ||
	    (c->audit.index == AUDIT_INDEX_AUTO && c->redis.enabled);
	if (sh->auth_user != NULL && sh->auth_password.value == NULL)
		xerr(x, &sh->auth_user, NULL, "smarthost.auth_user",
		    "requires smarthost.auth_password_file");
	if (sh->auth_user == NULL && sh->auth_password.value != NULL)
		xerr(x, &sh->auth_password, NULL, "smarthost.auth_password_file",
		    "requires smarthost.auth_user");
	if (c->identity.radius.enabled && c->identity.radius.nclients == 0)
		xerr(x, &c->identity.radius.clients, &c->identity.radius,
		    "identity.radius.clients", "at least one NAS is required");
	ca = c->identity.radius.class_attribute;
	if (ca != NULL && strcmp(ca, "Class") != 0 &&
	    strcmp(ca, "Filter-Id") != 0) {
		char got[64];

		xerr(x, &c->identity.radius.class_attribute, NULL,
		    "identity.radius.class_attribute", "expected one of \"\" "
		    "(off), Class (RFC 2865 attribute 25), Filter-Id (attribute "
		    "11), got %s", show(got, sizeof(got), ca, strlen(ca)));
	}
}

/* check_intercept - what the generated nftables rules need (proxy/nft.c). */
static void
check_intercept(struct ctx *x, struct config *c)
{
	const struct intercept_conf *ic = &c->intercept;
	int smtp = 0;
	size_t i, j;

	for (i = 0; i < ic->nsmtp_ports; i++)
		for (j = 0; j < ic->nsubmission_ports; j++)
			if (ic->smtp_ports[i] == ic->submission_ports[j])
				xerr(x, &ic->submission_ports[j], NULL,
				    "intercept.submission_ports", "port %u is "
				    "also in intercept.smtp_ports",
				    ic->submission_ports[j]);
	if (!ic->nftables)
		return;
	for (i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].mode == LISTEN_SMTP &&
		    c->listeners[i].intercept != INTERCEPT_NONE)
			smtp = 1;
	if (!smtp)
		xerr(x, &ic->nftables, NULL, "intercept.nftables", "needs a "
		    "listener with mode: smtp and intercept: redirect or tproxy");
	if (ic->ninterfaces == 0)
		xerr(x, &ic->interfaces, &ic->nftables, "intercept.interfaces",
		    "at least one subscriber-facing interface is required with "
		    "nftables: true");
	if (ic->nsubscribers == 0)
		xerr(x, &ic->subscribers, &ic->nftables, "intercept.subscribers",
		    "at least one subscriber prefix is required with "
		    "nftables: true");
	if (ic->nsmtp_ports == 0)
		xerr(x, &ic->smtp_ports, &ic->nftables, "intercept.smtp_ports",
		    "at least one port is required with nftables: true");
}

/* check_config - cross-section rules, after the whole document applied. */
static void
check_config(struct ctx *x, struct config *c)
{
	char a[ADDRPORT_STRLEN];
	size_t i;

	check_policy(x, c);
	check_others(x, c);
	check_intercept(x, c);
	if (x->failed || c->upstream_source != SOURCE_SUBSCRIBER)
		return;
	for (i = 0; i < c->nlisteners; i++) {
		if (c->listeners[i].mode != LISTEN_SMTP ||
		    c->listeners[i].intercept == INTERCEPT_TPROXY)
			continue;
		path_push(x, "upstream.source");
		cfg_err(x, x->source_set ? &x->source_mark : &(yaml_mark_t){ 0 },
		    "subscriber requires intercept: tproxy on every smtp "
		    "listener, but listeners[%zu] (%s) uses %s", i,
		    addr_fmt(&c->listeners[i].addr, a, sizeof(a)),
		    intercept_names[c->listeners[i].intercept]);
		path_pop(x, 0);
		return;
	}
}

/* offset_mark - line and column of byte off in buf (reader errors). */
static yaml_mark_t
offset_mark(const char *buf, size_t len, size_t off)
{
	yaml_mark_t m = { 0, 0, 0 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
	}
	m.index = off;
	return m;
}

static void
yaml_error(struct ctx *x, const yaml_parser_t *p, const char *buf, size_t len)
{
	yaml_mark_t m = p->problem_mark;

	if (p->error == YAML_READER_ERROR) {
		m = offset_mark(buf, len, p->problem_offset);
		cfg_err(x, &m, "unreadable input: %s", p->problem ?
		    p->problem : "unknown problem");
	} else if (p->error == YAML_MEMORY_ERROR) {
		cfg_err(x, &m, "out of memory");
	} else if (p->context != NULL) {
		cfg_err(x, &m, "YAML syntax error: %s, %s at line %zu column %zu",
		    p->problem ? p->problem : "unknown problem", p->context,
		    p->context_mark.line + 1, p->context_mark.column + 1);
	} else {
		cfg_err(x, &m, "YAML syntax error: %s",
		    p->problem ? p->problem : "unknown problem");
	}
}

/* apply_yaml - parse one YAML text over c; 0 or -1 with the message in err. */
static int
apply_yaml(struct config *c, const char *buf, size_t len, const char *name,
    char *err, size_t errlen)
{
	struct ctx x;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root, *more;

	memset(&x, 0, sizeof(x));
	x.doc = &doc;
	x.name = name;
	x.err = err;
	x.errlen = errlen;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: cannot initialize the YAML parser",
		    name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_error(&x, &parser, buf, len);
		yaml_parser_delete(&parser);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (root != NULL) {
		if (!yaml_parser_load(&parser, &extra)) {
			yaml_error(&x, &parser, buf, len);
		} else {
			more = yaml_document_get_root_node(&extra);
			if (more != NULL)
				cfg_err(&x, &more->start_mark, "a configuration "
				    "file holds a single YAML document");
			yaml_document_delete(&extra);
		}
		if (!x.failed && root->type != YAML_MAPPING_NODE &&
		    !is_null(root))
			cfg_err(&x, &root->start_mark, "expected a mapping of "
			    "configuration sections at the top level, found %s",
			    node_kind(root));
		if (!x.failed && !is_null(root))
			parse_map(&x, root, top_keys, c);
	}
	if (!x.failed)
		check_config(&x, c);
	for (size_t i = 0; i < x.nmarks; i++)
		free(x.marks[i].path);
	free(x.marks);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return x.failed ? -1 : 0;
}

const char *
config_action_name(enum policy_action a)
{
	return (unsigned)a < ARRAY_SIZE(action_names) - 1 ? action_names[a] : "?";
}

const char *
config_traffic_name(enum traffic_class t)
{
	return (unsigned)t < ARRAY_SIZE(traffic_names) - 1 ? traffic_names[t] : "?";
}

enum policy_action
config_action(const struct policy_class *cls, enum traffic_class t)
{
	if (cls->traffic[t].has_action)
		return cls->traffic[t].action;
	if (cls->action == ACTION_REDIRECT && t != TRAFFIC_MX)
		return ACTION_TEMPFAIL;
	return cls->action;
}

const struct policy_class *
config_class(const struct config *c, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < c->policy.nclasses; i++)
		if (strcmp(c->policy.classes[i].name, name) == 0)
			return &c->policy.classes[i];
	return NULL;
}

/* init_defaults - values of the sections that are absent from the embedded
 * default because their presence is a setting (redis, identity.radius). */
static void
init_defaults(struct config *c)
{
	addr_parse(&c->redis.address, "127.0.0.1:6379", -1);
	c->redis.master_name = xstrdup("mymaster");
	c->redis.timeout_ms = 50;
	c->redis.connect_timeout_ms = 1000;
	addr_parse(&c->identity.radius.listen, "[::]:1813", -1);
}

/* free_map - everything the keys of a mapping own in base. */
static void
free_map(const struct key *keys, void *base)
{
	const struct key *k;
	void *f;

	for (k = keys; k->name != NULL; k++) {
		f = (char *)base + k->off;
		switch (k->type) {
		case K_SECTION:
			free_map(k->sub, base);
			break;
		case K_STRUCT:
			free_map(k->sub, f);
			break;
		case K_LIST:
		case K_MAP:
			free_elems(k->list, k->type == K_MAP, *(void **)f,
			    *(size_t *)(void *)((char *)base + k->aux));
			*(void **)f = NULL;
			*(size_t *)(void *)((char *)base + k->aux) = 0;
			break;
		case K_NAME:
		case K_PATH:
		case K_IDENT:
		case K_TEXT:
			free(*(char **)f);
			*(char **)f = NULL;
			break;
		case K_SECRET_FILE:
			secret_clear(f);
			break;
		default:
			break;
		}
	}
}

struct config *
config_load_string(const char *yaml, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct config *c = xcalloc(1, sizeof(*c));
	char host[NODE_MAX + 2];

	if (errlen > 0)
		err[0] = '\0';
	c->path = xstrdup(name);
	init_defaults(c);
	if (apply_yaml(c, config_default_yaml, sizeof(config_default_yaml) - 1,
	    "(default)", err, errlen) < 0 ||
	    (yaml != config_default_yaml &&
	    apply_yaml(c, yaml, len, name, err, errlen) < 0)) {
		config_free(c);
		return NULL;
	}
	if (c->node == NULL) {
		memset(host, 0, sizeof(host));
		if (gethostname(host, sizeof(host) - 1) < 0 || !valid_name(host))
			snprintf(host, sizeof(host), "subgate");
		c->node = xstrdup(host);
	}
	return c;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *c;
	FILE *f;
	char *buf;
	size_t n;

	if (path == NULL)
		return config_load_string(config_default_yaml,
		    sizeof(config_default_yaml) - 1, "(default)", err, errlen);
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(CONFIG_MAX_FILE + 1);
	n = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		c = NULL;
	} else if (n > CONFIG_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d octets", path,
		    CONFIG_MAX_FILE);
		c = NULL;
	} else {
		c = config_load_string(buf, n, path, err, errlen);
	}
	fclose(f);
	free(buf);
	return c;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->listeners);
	free_map(top_keys, c);
	free(c);
}

static int
dump_string(FILE *out, const char *s)
{
	int w = 2;

	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			w += fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			w += fprintf(out, "\\x%02x", (unsigned char)*s);
		else
			w += fputc(*s, out) != EOF;
	}
	fputc('"', out);
	return w;
}

static const void *
field(const void *base, const struct key *k)
{
	return (const char *)base + k->off;
}

/* fmt_rate - "30/1m", "50m/1h" or "unlimited". */
static char *
fmt_rate(char *buf, size_t len, enum ktype t, const struct rate *r)
{
	char n[32], p[32];

	if (r->n == 0) {
		snprintf(buf, len, "unlimited");
		return buf;
	}
	fmt_value(n, sizeof(n), t == K_BYTERATE ? K_SIZE : K_UINT, r->n);
	fmt_value(p, sizeof(p), K_DURATION, r->period_ms);
	snprintf(buf, len, "%s/%s", n, p);
	return buf;
}

/* dump_scalar - the value of a scalar key; returns the columns written. */
static int
dump_scalar(FILE *out, const struct key *k, const void *base)
{
	const void *f = field(base, k);
	const union sockaddr_any *sa = f;
	const struct secret *sec = f;
	char v[ADDRPORT_STRLEN + CIDR_STRLEN];
	const char *s;

	switch (k->type) {
	case K_NAME:
	case K_PATH:
	case K_IDENT:
	case K_TEXT:
		s = *(char *const *)f;
		return dump_string(out, s != NULL ? s : "");
	case K_SECRET_FILE:
		return dump_string(out, sec->file != NULL ? sec->file : "");
	case K_ADDR:
		if (sa->sa.sa_family == AF_UNSPEC)
			return fprintf(out, "\"\"");
		return fprintf(out, "\"%s\"", addr_fmt(sa, v, sizeof(v)));
	case K_PREFIX:
		return fprintf(out, "\"%s\"", cidr_fmt(f, v, sizeof(v)));
	case K_ENUM:
	case K_OPTENUM:
		return fprintf(out, "%s", k->names[fetch(base, k)]);
	case K_BOOL:
		return fprintf(out, "%s", *(const int *)f ? "true" : "false");
	case K_RATE:
	case K_BYTERATE:
		return fprintf(out, "%s", fmt_rate(v, sizeof(v), k->type, f));
	default:
		return fprintf(out, "%s", fmt_value(v, sizeof(v), k->type,
		    fetch(base, k)));
	}
}

/* terse_empty - config_dump leaves out key k of base. */
static int
terse_empty(const struct key *k, const void *base)
{
	const struct key *s;
	const void *f = field(base, k);

	if (k->type == K_OPTENUM)
		return !*(const int *)(const void *)((const char *)base + k->aux);
	if (!(k->flags & KF_TERSE))
		return 0;
	switch (k->type) {
	case K_STRUCT:
		for (s = k->sub; s->name != NULL; s++)
			if (!terse_empty(s, f))
				return 0;
		return 1;
	case K_RATE:
	case K_BYTERATE:
		return ((const struct rate *)f)->n == 0;
	case K_BOOL:
		return *(const int *)f == 0;
	default:
		return fetch(base, k) == 0;
	}
}

/* dump_map - one key per line at indent; the first line of a sequence item
 * starts with "- " inside the indent. A section whose presence is a setting
 * is left out when absent, an optional action when not given, and a secret
 * given inline becomes a comment: config_dump never prints a secret. */
static void
dump_map(FILE *out, const struct key *keys, const void *base,
    const struct config *c, int indent, int item)
{
	const struct key *k;
	const struct listener_conf *l = base;
	const struct list_def *d;
	const struct secret *sec;
	const char *e;
	size_t i, n;
	int w;

	for (k = keys; k->name != NULL; k++) {
		if (keys == listener_keys && field(base, k) == &l->upstream &&
		    l->intercept != INTERCEPT_NONE)
			continue;
		if (k->type == K_STRUCT && (k->flags & KF_PRESENCE) &&
		    !*(const int *)(const void *)((const char *)base + k->aux))
			continue;
		if (terse_empty(k, base))
			continue;
		if (k->type == K_SECRET) {
			sec = field(base, k);
			if (sec->value != NULL && sec->file == NULL)
				fprintf(out, "%*s# %s: <redacted>  (given inline, "
				    "not dumped: use %s_file)\n", indent, "",
				    k->name, k->name);
			continue;
		}
		if (k == keys && item)
			w = fprintf(out, "%*s- %s:", indent - 2, "", k->name);
		else
			w = fprintf(out, "%*s%s:", indent, "", k->name);
		switch (k->type) {
		case K_SECTION:
			fputc('\n', out);
			dump_map(out, k->sub, base, c, indent + 2, 0);
			continue;
		case K_STRUCT:
			fputc('\n', out);
			dump_map(out, k->sub, field(base, k), c, indent + 2, 0);
			continue;
		case K_LISTENERS:
			fputc('\n', out);
			for (i = 0; i < c->nlisteners; i++)
				dump_map(out, k->sub, &c->listeners[i], c,
				    indent + 4, 1);
			continue;
		case K_LIST:
		case K_MAP:
			d = k->list;
			n = *(const size_t *)(const void *)((const char *)base +
			    k->aux);
			if (n == 0) {
				w += fprintf(out, k->type == K_MAP ? " {}" : " []");
				break;
			}
			fputc('\n', out);
			for (i = 0; i < n; i++) {
				e = *(char *const *)field(base, k) + i * d->esize;
				if (k->type == K_MAP) {
					fprintf(out, "%*s%s:\n", indent + 2, "",
					    *(char *const *)(const void *)
					    (e + d->name_off));
					dump_map(out, d->keys, e, c, indent + 4, 0);
				} else if (d->scalar) {
					fprintf(out, "%*s- ", indent + 2, "");
					dump_scalar(out, d->keys, e);
					fputc('\n', out);
				} else {
					dump_map(out, d->keys, e, c, indent + 4, 1);
				}
			}
			continue;
		default:
			fputc(' ', out);
			w += 1 + dump_scalar(out, k, base);
			break;
		}
		if (k->help != NULL)
			fprintf(out, "%*s# %s", MAX(1, 34 - w), "", k->help);
		fputc('\n', out);
	}
}

void
config_dump(const struct config *c, FILE *out)
{
	fprintf(out, "# subgate effective configuration (from %s)\n", c->path);
	dump_map(out, top_keys, c, c, 0, 0);
	fflush(out);
}
