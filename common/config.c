/*
 * config.c - loading, checking and dumping subgated's YAML configuration.
 *
 * The embedded default (config_default_yaml) is parsed first, then the
 * operator's file over it: a key the file does not set keeps its default,
 * except "listeners", which the file replaces as a whole. Every mapping has
 * one table of keys (type, field, bounds, help); parsing, error messages and
 * config_dump all walk those tables, so a key exists in exactly one place.
 * The libyaml document is kept until the cross-field checks have run, so
 * every error points at a line and column of the file that caused it.
 */
#include "config.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
"  - listen: \"[::]:10587\"   # port 587: never blocked, never altered (RFC 5068 4.1)\n"
"    mode: passthrough\n"
"    intercept: redirect\n"
"    backlog: 1024\n"
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
"audit:\n"
"  path: \"-\"                # JSON lines; \"-\" = standard output\n"
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
	K_DURATION,	/* milliseconds: 500ms, 30s, 5m, 2h; bare = seconds */
	K_ENUM,		/* one of names[], stored as its index */
	K_ADDR		/* numeric "host:port" / "[v6]:port" */
};

struct key {
	const char		*name;
	enum ktype		 type;
	size_t			 off;
	size_t			 size;
	uint64_t		 min, max;
	const char *const	*names;		/* K_ENUM, NULL-terminated */
	const struct key	*sub;		/* K_SECTION, K_LISTENERS */
	const char		*help;
};

#define FIELD(type, m)	offsetof(type, m), sizeof(((type *)0)->m)
#define CF(m)		FIELD(struct config, m)
#define LF(m)		FIELD(struct listener_conf, m)
#define SEC		(1000ULL)
#define MIN_		(60 * SEC)
#define HOUR		(60 * MIN_)
#define KIB		(1024ULL)
#define MIB		(1024 * KIB)

static const char *const mode_names[] = { "smtp", "passthrough", NULL };
static const char *const intercept_names[] = { "redirect", "tproxy", "none", NULL };
static const char *const source_names[] = { "gateway", "subscriber", NULL };
static const char *const bare_names[] = { "normalize", "reject", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };

static const struct key listener_keys[] = {
	{ "listen", K_ADDR, LF(addr), 0, 0, NULL, NULL,
	    "address and port to accept on (required)" },
	{ "mode", K_ENUM, LF(mode), 0, 0, mode_names, NULL,
	    "smtp: SMTP-aware relay; passthrough: opaque tunnel" },
	{ "intercept", K_ENUM, LF(intercept), 0, 0, intercept_names, NULL,
	    "how the original destination is learned" },
	{ "upstream", K_ADDR, LF(upstream), 0, 0, NULL, NULL,
	    "fixed destination, only with intercept: none" },
	{ "backlog", K_UINT, LF(backlog), 1, 65535, NULL, NULL,
	    "listen(2) queue length" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct key upstream_keys[] = {
	{ "connect_timeout", K_DURATION, CF(connect_timeout), 100, 10 * MIN_,
	    NULL, NULL, "TCP connect to the original destination" },
	{ "source", K_ENUM, CF(upstream_source), 0, 0, source_names, NULL,
	    "upstream source address: gateway's own or subscriber's (tproxy)" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct key limits_keys[] = {
	{ "buffer", K_SIZE, CF(buffer_limit), 4 * KIB, 64 * MIB, NULL, NULL,
	    "octets queued toward one peer before reading the other stops" },
	{ "max_sessions", K_UINT, CF(max_sessions), 0, 10000000, NULL, NULL,
	    "SMTP sessions per worker, 0 = unlimited; never passthrough" },
	{ "session_max_time", K_DURATION, CF(session_max_time), 0, 7 * 24 * HOUR,
	    NULL, NULL, "hard cap on one SMTP session, 0 = none" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct key timeout_keys[] = {
	{ "greeting", K_DURATION, CF(smtp.timeouts.greeting), SEC, 24 * HOUR,
	    NULL, NULL, "upstream 220 greeting (RFC 5321 4.5.3.2.1)" },
	{ "command", K_DURATION, CF(smtp.timeouts.command), SEC, 24 * HOUR,
	    NULL, NULL, "upstream reply to a command (RFC 5321 4.5.3.2.2-3)" },
	{ "data_init", K_DURATION, CF(smtp.timeouts.data_init), SEC, 24 * HOUR,
	    NULL, NULL, "upstream 354 after DATA (RFC 5321 4.5.3.2.4)" },
	{ "data_block", K_DURATION, CF(smtp.timeouts.data_block), SEC, 24 * HOUR,
	    NULL, NULL, "client silent inside DATA/BDAT (RFC 5321 4.5.3.2.5)" },
	{ "data_end", K_DURATION, CF(smtp.timeouts.data_end), SEC, 24 * HOUR,
	    NULL, NULL, "upstream reply to end of data (RFC 5321 4.5.3.2.6)" },
	{ "client_idle", K_DURATION, CF(smtp.timeouts.client_idle), SEC, 24 * HOUR,
	    NULL, NULL, "client's next command (RFC 5321 4.5.3.2.7)" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct key smtp_keys[] = {
	{ "max_line", K_SIZE, CF(smtp.max_line), 512, MIB, NULL, NULL,
	    "command/reply line incl. CRLF (RFC 5321 4.5.3.1.4: >= 512)" },
	{ "max_auth_line", K_SIZE, CF(smtp.max_auth_line), 512, MIB, NULL, NULL,
	    "AUTH exchange line (RFC 4954 section 4: 12288)" },
	{ "max_reply", K_SIZE, CF(smtp.max_reply), 512, 16 * MIB, NULL, NULL,
	    "one multi-line reply" },
	{ "max_pipeline", K_UINT, CF(smtp.max_pipeline), 1, 10000, NULL, NULL,
	    "commands awaiting a reply" },
	{ "max_held", K_SIZE, CF(smtp.max_held), 4 * KIB, 64 * MIB, NULL, NULL,
	    "client octets held while waiting for a reply or decision" },
	{ "max_errors", K_UINT, CF(smtp.max_errors), 1, 10000, NULL, NULL,
	    "error replies before the session is closed" },
	{ "max_recipients_kept", K_UINT, CF(smtp.max_recipients_kept), 0, 100000,
	    NULL, NULL, "recipients per transaction kept for the audit record" },
	{ "bare_newline", K_ENUM, CF(smtp.bare_newline), 0, 0, bare_names, NULL,
	    "bare CR or LF inside DATA" },
	{ "timeouts", K_SECTION, 0, 0, 0, 0, NULL, timeout_keys,
	    "RFC 5321 4.5.3.2" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct key audit_keys[] = {
	{ "path", K_PATH, CF(audit_path), 0, 0, NULL, NULL,
	    "JSON lines file, \"-\" = standard output" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct key log_keys[] = {
	{ "level", K_ENUM, CF(log_level), 0, 0, level_names, NULL,
	    "least severe level written" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct key shutdown_keys[] = {
	{ "drain_timeout", K_DURATION, CF(drain_timeout), 0, HOUR, NULL, NULL,
	    "after SIGTERM, time given to sessions to finish" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const struct key top_keys[] = {
	{ "node", K_NAME, CF(node), 0, 0, NULL, NULL,
	    "this gateway's name in audit records" },
	{ "workers", K_UINT, CF(workers), 0, 1024, NULL, NULL,
	    "event-loop threads, 0 = one per core" },
	{ "listeners", K_LISTENERS, 0, 0, 0, 0, NULL, listener_keys, NULL },
	{ "upstream", K_SECTION, 0, 0, 0, 0, NULL, upstream_keys, NULL },
	{ "limits", K_SECTION, 0, 0, 0, 0, NULL, limits_keys, NULL },
	{ "smtp", K_SECTION, 0, 0, 0, 0, NULL, smtp_keys, NULL },
	{ "audit", K_SECTION, 0, 0, 0, 0, NULL, audit_keys, NULL },
	{ "log", K_SECTION, 0, 0, 0, 0, NULL, log_keys, NULL },
	{ "shutdown", K_SECTION, 0, 0, 0, 0, NULL, shutdown_keys, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL }
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
	{ NULL, 0 }
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
		{ "h", HOUR }, { "m", MIN_ }, { "s", SEC }, { "ms", 1 }
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

static void
parse_value(struct ctx *x, const struct key *k, const yaml_node_t *n,
    void *base)
{
	char got[64], list[128];
	const char *s;
	size_t len, i, off;
	union sockaddr_any *sa;
	char **sp;

	if (k->type == K_SECTION) {
		if (!is_null(n))
			parse_map(x, n, k->sub, base);
		return;
	}
	if (k->type == K_LISTENERS) {
		parse_listeners(x, n, base);
		return;
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
		if (k->type == K_NAME && !valid_name(s)) {
			cfg_err(x, &n->start_mark, "expected 1 to %d letters, "
			    "digits, '.', '-' or '_', got %s", NODE_MAX,
			    show(got, sizeof(got), s, len));
			return;
		}
		if (len == 0) {
			cfg_err(x, &n->start_mark, "must not be empty");
			return;
		}
		sp = (void *)((char *)base + k->off);
		free(*sp);
		*sp = xstrdup(s);
		return;
	case K_UINT:
	case K_SIZE:
	case K_DURATION:
		parse_scalar_number(x, k, n, s, base);
		return;
	case K_ENUM:
		for (i = 0; k->names[i] != NULL; i++)
			if (strcmp(s, k->names[i]) == 0) {
				store(base, k, i);
				return;
			}
		for (i = 0, off = 0; k->names[i] != NULL; i++)
			off += (size_t)snprintf(list + off,
			    off < sizeof(list) ? sizeof(list) - off : 0,
			    "%s%s", i ? ", " : "", k->names[i]);
		cfg_err(x, &n->start_mark, "expected one of %s", list);
		return;
	case K_ADDR:
		sa = (void *)((char *)base + k->off);
		if (addr_parse(sa, s, -1) < 0 || addr_port(sa) == 0) {
			memset(sa, 0, sizeof(*sa));
			cfg_err(x, &n->start_mark, "expected a numeric address "
			    "and port such as 192.0.2.25:25 or [2001:db8::25]:25, "
			    "got %s", show(got, sizeof(got), s, len));
		}
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

/* check_config - cross-section rules, after the whole document applied. */
static void
check_config(struct ctx *x, struct config *c)
{
	char a[ADDRPORT_STRLEN];
	size_t i;

	if (c->upstream_source != SOURCE_SUBSCRIBER)
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
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return x.failed ? -1 : 0;
}

static const char *const action_names[] = { "tempfail", "refuse_submission",
    "redirect", "block", NULL };
static const char *const traffic_names[] = { "mx", "submission", "tls", NULL };

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

/* init_defaults - values of sections the embedded default leaves out. */
static void
init_defaults(struct config *c)
{
	addr_parse(&c->redis.address, "127.0.0.1:6379", -1);
	c->redis.master_name = xstrdup("mymaster");
	c->redis.timeout_ms = 50;
	c->redis.connect_timeout_ms = 1000;
	addr_parse(&c->identity.radius.listen, "[::]:1813", -1);
	c->identity.history_ms = 8 * 24 * HOUR;
	c->audit.retention_ms = 8 * 24 * HOUR;
	c->policy.default_class_name = xstrdup("default");
	c->policy.classes = xcalloc(1, sizeof(*c->policy.classes));
	c->policy.nclasses = 1;
	c->policy.classes[0].name = xstrdup("default");
	c->policy.classes[0].lockout.within_ms = 10 * MIN_;
	c->policy.classes[0].lockout.duration_ms = HOUR;
	c->policy.default_class = &c->policy.classes[0];
	c->policy.replies.tempfail = xstrdup("451 4.7.1 Too many %l from your "
	    "address, try again in %r seconds");
	c->policy.replies.refuse_submission = xstrdup("550 5.7.1 Port 25 is for "
	    "server-to-server mail. Submit your mail on port 587 with "
	    "authentication (RFC 5068)");
	c->policy.replies.block = xstrdup("554 5.7.1 Sending mail on port 25 is "
	    "blocked for your connection");
	c->policy.replies.locked = xstrdup("421 4.7.1 Too many violations, port "
	    "25 is locked for your connection for %r seconds");
	c->policy.replies.redis_down = xstrdup("451 4.3.0 Temporary local "
	    "problem, try again later");
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
	free(c->node);
	free(c->listeners);
	free(c->audit_path);
	free(c->redis.master_name);
	free(c->policy.default_class_name);
	for (size_t i = 0; i < c->policy.nclasses; i++)
		free(c->policy.classes[i].name);
	free(c->policy.classes);
	free(c->policy.replies.tempfail);
	free(c->policy.replies.refuse_submission);
	free(c->policy.replies.block);
	free(c->policy.replies.locked);
	free(c->policy.replies.redis_down);
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

/* dump_map - one key per line at indent; the first line of a sequence item
 * starts with "- " inside the indent. */
static void
dump_map(FILE *out, const struct key *keys, const void *base,
    const struct config *c, int indent, int item)
{
	const struct key *k;
	const struct listener_conf *l = base;
	char v[ADDRPORT_STRLEN];
	size_t i;
	int w;

	for (k = keys; k->name != NULL; k++) {
		if (keys == listener_keys && field(base, k) == &l->upstream &&
		    l->intercept != INTERCEPT_NONE)
			continue;
		if (k == keys && item)
			w = fprintf(out, "%*s- %s:", indent - 2, "", k->name);
		else
			w = fprintf(out, "%*s%s:", indent, "", k->name);
		switch (k->type) {
		case K_SECTION:
			fputc('\n', out);
			dump_map(out, k->sub, base, c, indent + 2, 0);
			continue;
		case K_LISTENERS:
			fputc('\n', out);
			for (i = 0; i < c->nlisteners; i++)
				dump_map(out, k->sub, &c->listeners[i], c,
				    indent + 4, 1);
			continue;
		case K_NAME:
		case K_PATH:
			fputc(' ', out);
			w += 1 + dump_string(out,
			    *(char *const *)field(base, k));
			break;
		case K_ADDR:
			w += fprintf(out, " \"%s\"", addr_fmt(field(base, k), v,
			    sizeof(v)));
			break;
		case K_ENUM:
			w += fprintf(out, " %s", k->names[fetch(base, k)]);
			break;
		default:
			w += fprintf(out, " %s", fmt_value(v, sizeof(v), k->type,
			    fetch(base, k)));
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
