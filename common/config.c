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
 * config_int.h says which file of the module does what.
 */
#include "config_int.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX_FILE		(1024 * 1024)

static void free_map(const struct key *, void *);

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
"  deny:                    # port 25: destinations refused (554 5.7.1)\n"
"    [127.0.0.0/8, \"::1/128\", 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16,\n"
"     100.64.0.0/10, 169.254.0.0/16, \"fe80::/10\", \"fc00::/7\",\n"
"     224.0.0.0/4, \"ff00::/8\"]\n"
"  allow: []                # exceptions to deny; the longer prefix wins\n"
"\n"
"limits:\n"
"  buffer: 256k             # bytes queued toward one peer before reading stops\n"
"  max_sessions: 0          # per worker, 0 = unlimited; never applies to passthrough\n"
"  session_max_time: 1h     # 0 = no cap\n"
"  per_source: 256          # port-25 sessions per address or IPv6 /64; 0 = no cap\n"
"  fd_reserve: 1024         # descriptors port 25 leaves to passthrough listeners\n"
"  tunnel_idle: 10m         # STARTTLS tunnel idle both ways; 0 = no limit\n"
"  passthrough_idle: 1h     # 587/465 tunnel idle both ways; 0 = no limit\n"
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
"  ipv6_aggregate: 64       # an unknown IPv6 source counts as its /64\n"
"  replies:                 # %l = limit hit, %r = seconds until retry\n"
"    tempfail: \"451 4.7.1 Too many %l from your address, try again in %r seconds\"\n"
"    refuse_submission: \"550 5.7.1 Port 25 is for server-to-server mail. "
"Submit your mail on port 587 with authentication (RFC 5068)\"\n"
"    block: \"554 5.7.1 Port 25 is blocked for your connection: submit your "
"mail on port 587 with authentication (RFC 5068)\"\n"
"    locked: \"421 4.7.1 Too many violations: port 25 is locked for your "
"connection for %r seconds; submit your mail on port 587 with "
"authentication (RFC 5068)\"\n"
"    redis_down: \"451 4.3.0 Temporary local problem, try again later\"\n"
"    audit_down: \"451 4.3.0 Temporary local problem, try again later\"\n"
"\n"
"smarthost:\n"
"  address: \"\"              # target of action redirect; empty = none\n"
"  starttls: require        # require | opportunistic | off\n"
"  xclient: auto            # auto | off: the subscriber's address by XCLIENT\n"
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
"  token_file: \"\"           # bearer token; required unless listen is loopback\n"
"  token_required_for_reads: false\n"
"  hosts: []                # Host names accepted besides listen and localhost\n"
"\n"
"privileges:\n"
"  user: subgate            # started as root: run as this user; \"\" = stay root\n"
"  group: \"\"                # \"\" = the user's login group\n"
"  dumpable: false          # true: core dumps and ptrace (debugging)\n"
"\n"
"log:\n"
"  level: info              # error | warn | info | debug\n"
"  target: stderr           # stderr | syslog\n"
"  facility: daemon         # daemon | mail | local0..local7 (target: syslog)\n"
"\n"
"shutdown:\n"
"  drain_timeout: 30s\n";

const char *
config_action_name(enum policy_action a)
{
	return (unsigned)a < ARRAY_SIZE(config__action_names) - 1 ?
	    config__action_names[a] : "?";
}

const char *
config_traffic_name(enum traffic_class t)
{
	return (unsigned)t < ARRAY_SIZE(config__traffic_names) - 1 ?
	    config__traffic_names[t] : "?";
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

void
config__free_elems(const struct list_def *d, int map, void *arr, size_t n)
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
	c->identity.radius.min_plen_v4 = 24;
	c->identity.radius.min_plen_v6 = 48;
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
			config__free_elems(k->list, k->type == K_MAP, *(void **)f,
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
	if (config__apply_yaml(c, config_default_yaml, sizeof(config_default_yaml) - 1,
	    "(default)", err, errlen) < 0 ||
	    (yaml != config_default_yaml &&
	    config__apply_yaml(c, yaml, len, name, err, errlen) < 0)) {
		config_free(c);
		return NULL;
	}
	if (c->node == NULL) {
		memset(host, 0, sizeof(host));
		if (gethostname(host, sizeof(host) - 1) < 0 || !config__valid_name(host))
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
	free_map(config__top_keys, c);
	free(c);
}
