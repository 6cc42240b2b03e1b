/*
 * test_config.c - configuration loading: the embedded default, defaults
 * under a partial file, value notations, the config_dump round trip, and one
 * exact "file:line:col: key.path: message" per class of error.
 */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "config.h"
#include "nft_rules.h"
#include "log.h"
#include "suites.h"

static struct config *
load(const char *yaml, char *err, size_t errlen)
{
	return config_load_string(yaml, strlen(yaml), "t.yaml", err, errlen);
}

/* dump - config_dump into a string, without its first (comment) line. */
static char *
dump(const struct config *c)
{
	char *buf = NULL, *body;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	config_dump(c, f);
	fclose(f);
	body = strchr(buf, '\n');
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	memmove(buf, body + 1, strlen(body + 1) + 1);
	return buf;
}

static void
test_default(void)
{
	char err[256], a[ADDRPORT_STRLEN], host[256];
	struct config *c = config_load(NULL, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->path, "(default)");
	memset(host, 0, sizeof(host));
	CU_ASSERT_EQUAL(gethostname(host, sizeof(host) - 1), 0);
	CU_ASSERT_STRING_EQUAL(c->node, host);
	CU_ASSERT_EQUAL(c->workers, 0);
	/* 587/465 are not in the data path by default: no tunnel listener */
	CU_ASSERT_EQUAL_FATAL(c->nlisteners, 1);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&c->listeners[0].addr, a, sizeof(a)),
	    "[::]:10025");
	CU_ASSERT_EQUAL(c->listeners[0].mode, LISTEN_SMTP);
	CU_ASSERT_EQUAL(c->listeners[0].intercept, INTERCEPT_REDIRECT);
	CU_ASSERT_EQUAL(c->listeners[0].upstream.sa.sa_family, AF_UNSPEC);
	CU_ASSERT_EQUAL(c->listeners[0].backlog, 1024);
	CU_ASSERT_EQUAL(c->intercept.nftables, 0);
	CU_ASSERT_STRING_EQUAL(c->intercept.table, "subgate");
	CU_ASSERT_EQUAL(c->intercept.ninterfaces, 0);
	CU_ASSERT_EQUAL(c->intercept.nsubscribers, 0);
	CU_ASSERT_EQUAL_FATAL(c->intercept.nsmtp_ports, 1);
	CU_ASSERT_EQUAL(c->intercept.smtp_ports[0], 25);
	CU_ASSERT_EQUAL_FATAL(c->intercept.nsubmission_ports, 2);
	CU_ASSERT_EQUAL(c->intercept.submission_ports[0], 587);
	CU_ASSERT_EQUAL(c->intercept.submission_ports[1], 465);
	CU_ASSERT_EQUAL(c->intercept.on_down, ON_DOWN_OPEN);
	CU_ASSERT_EQUAL(c->intercept.hold_ms, 2000);
	CU_ASSERT_EQUAL(c->intercept.conntrack, 1);
	CU_ASSERT_EQUAL(c->intercept.conntrack_mark, 0x100000);
	CU_ASSERT_EQUAL(c->intercept.tproxy_mark, 1);
	CU_ASSERT_EQUAL(c->connect_timeout, 30000);
	CU_ASSERT_EQUAL(c->upstream_source, SOURCE_GATEWAY);
	CU_ASSERT_EQUAL(c->buffer_limit, 256 * 1024);
	CU_ASSERT_EQUAL(c->max_sessions, 0);
	CU_ASSERT_EQUAL(c->session_max_time, 3600000);
	CU_ASSERT_EQUAL(c->smtp.max_line, 2048);
	CU_ASSERT_EQUAL(c->smtp.max_auth_line, 12288);
	CU_ASSERT_EQUAL(c->smtp.max_reply, 65536);
	CU_ASSERT_EQUAL(c->smtp.max_pipeline, 100);
	CU_ASSERT_EQUAL(c->smtp.max_held, 65536);
	CU_ASSERT_EQUAL(c->smtp.max_errors, 20);
	CU_ASSERT_EQUAL(c->smtp.max_recipients_kept, 100);
	CU_ASSERT_EQUAL(c->smtp.bare_newline, BARE_NORMALIZE);
	CU_ASSERT_EQUAL(c->smtp.timeouts.greeting, 5 * 60000);
	CU_ASSERT_EQUAL(c->smtp.timeouts.command, 5 * 60000);
	CU_ASSERT_EQUAL(c->smtp.timeouts.data_init, 2 * 60000);
	CU_ASSERT_EQUAL(c->smtp.timeouts.data_block, 3 * 60000);
	CU_ASSERT_EQUAL(c->smtp.timeouts.data_end, 10 * 60000);
	CU_ASSERT_EQUAL(c->smtp.timeouts.client_idle, 5 * 60000);
	CU_ASSERT_STRING_EQUAL(c->audit_path, "-");
	CU_ASSERT_EQUAL(c->log_level, LOG_INFO);
	CU_ASSERT_EQUAL(c->log_target, LOG_TO_STDERR);
	CU_ASSERT_STRING_EQUAL(log_facility_names[c->log_facility], "daemon");
	CU_ASSERT_EQUAL(c->drain_timeout, 30000);
	CU_ASSERT_STRING_EQUAL(c->privileges.user, "subgate");
	CU_ASSERT_PTR_NULL(c->privileges.group);
	CU_ASSERT_EQUAL(c->privileges.dumpable, 0);
	config_free(c);
}

/* Files that set nothing give exactly the default. */
static void
test_empty(void)
{
	static const char *const docs[] = {
		"", "\n", "# nothing but a comment\n", "~\n", "---\n",
		"smtp:\n", "smtp: {}\nlimits:\n  # none\n",
	};
	char err[256], *want, *got;
	struct config *d, *c;
	size_t i;

	d = config_load(NULL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	want = dump(d);
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		c = load(docs[i], err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL(c);
		if (c == NULL) {
			fprintf(stderr, "\n%s\n", err);
			continue;
		}
		CU_ASSERT_STRING_EQUAL(c->path, "t.yaml");
		got = dump(c);
		CU_ASSERT_STRING_EQUAL(got, want);
		free(got);
		config_free(c);
	}
	free(want);
	config_free(d);
}

/* Keys a file sets replace defaults; the rest stay; listeners are replaced
 * as a whole list. */
static void
test_override(void)
{
	static const char yaml[] =
	    "node: gw-7.example\n"
	    "listeners:\n"
	    "  - listen: 127.0.0.1:2525\n"
	    "    intercept: none\n"
	    "    upstream: \"[2001:db8::25]:25\"\n"
	    "smtp:\n"
	    "  max_line: 1000\n"
	    "  timeouts: { data_end: 15m }\n"
	    "log: { level: debug }\n";
	char err[256], a[ADDRPORT_STRLEN];
	struct config *c = load(yaml, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->node, "gw-7.example");
	CU_ASSERT_EQUAL_FATAL(c->nlisteners, 1);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&c->listeners[0].addr, a, sizeof(a)),
	    "127.0.0.1:2525");
	CU_ASSERT_EQUAL(c->listeners[0].mode, LISTEN_SMTP);
	CU_ASSERT_EQUAL(c->listeners[0].intercept, INTERCEPT_NONE);
	CU_ASSERT_EQUAL(c->listeners[0].backlog, 1024);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&c->listeners[0].upstream, a,
	    sizeof(a)), "[2001:db8::25]:25");
	CU_ASSERT_EQUAL(c->smtp.max_line, 1000);
	CU_ASSERT_EQUAL(c->smtp.max_auth_line, 12288);
	CU_ASSERT_EQUAL(c->smtp.timeouts.data_end, 15 * 60000);
	CU_ASSERT_EQUAL(c->smtp.timeouts.data_init, 2 * 60000);
	CU_ASSERT_EQUAL(c->log_level, LOG_DEBUG);
	CU_ASSERT_EQUAL(c->connect_timeout, 30000);
	config_free(c);
}

/* Notations of sizes, durations and counts. */
static void
test_values(void)
{
	static const struct {
		const char	*yaml;
		size_t		 off;
		size_t		 size;
		uint64_t	 want;
	} t[] = {
#define F(m) offsetof(struct config, m), sizeof(((struct config *)0)->m)
		{ "shutdown: {drain_timeout: 500ms}", F(drain_timeout), 500 },
		{ "shutdown: {drain_timeout: 90}", F(drain_timeout), 90000 },
		{ "shutdown: {drain_timeout: 0}", F(drain_timeout), 0 },
		{ "shutdown: {drain_timeout: 45s}", F(drain_timeout), 45000 },
		{ "shutdown: {drain_timeout: 1h}", F(drain_timeout), 3600000 },
		{ "upstream: {connect_timeout: 2m}", F(connect_timeout), 120000 },
		{ "limits: {session_max_time: 0}", F(session_max_time), 0 },
		{ "limits: {session_max_time: 2h}", F(session_max_time), 7200000 },
		{ "limits: {buffer: 64k}", F(buffer_limit), 65536 },
		{ "limits: {buffer: 64K}", F(buffer_limit), 65536 },
		{ "limits: {buffer: 1m}", F(buffer_limit), 1048576 },
		{ "limits: {buffer: 5000}", F(buffer_limit), 5000 },
		{ "limits: {buffer: \"8k\"}", F(buffer_limit), 8192 },
		{ "limits: {max_sessions: 20000}", F(max_sessions), 20000 },
		{ "smtp: {max_line: 512}", F(smtp.max_line), 512 },
		{ "smtp: {max_reply: 1M}", F(smtp.max_reply), 1048576 },
		{ "smtp: {max_recipients_kept: 0}", F(smtp.max_recipients_kept), 0 },
		{ "smtp: {bare_newline: reject}", F(smtp.bare_newline), BARE_REJECT },
		{ "workers: 8", F(workers), 8 },
		{ "log: {level: error}", F(log_level), LOG_ERR },
		{ "log: {level: warn}", F(log_level), LOG_WARN },
		{ "log: {target: syslog}", F(log_target), LOG_TO_SYSLOG },
		{ "log: {facility: local7}", F(log_facility), 9 },
#undef F
	};
	char err[256];
	struct config *c;
	uint64_t v;
	uint32_t v4;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		c = load(t[i].yaml, err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL(c);
		if (c == NULL) {
			fprintf(stderr, "\n%s: %s\n", t[i].yaml, err);
			continue;
		}
		if (t[i].size == sizeof(v4)) {
			memcpy(&v4, (char *)c + t[i].off, sizeof(v4));
			v = v4;
		} else {
			memcpy(&v, (char *)c + t[i].off, sizeof(v));
		}
		if (v != t[i].want)
			fprintf(stderr, "\n%s: got %llu\n", t[i].yaml,
			    (unsigned long long)v);
		CU_ASSERT_EQUAL(v, t[i].want);
		config_free(c);
	}
}

/* roundtrip_one - dump(load(yaml)) loads back to the same dump. */
static void
roundtrip_one(const char *yaml)
{
	char err[256], *first, *second;
	struct config *c, *d;

	c = yaml != NULL ? load(yaml, err, sizeof(err)) :
	    config_load(NULL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	first = dump(c);
	d = load(first, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	second = dump(d);
	CU_ASSERT_STRING_EQUAL(first, second);
	CU_ASSERT_EQUAL(memcmp(&c->smtp, &d->smtp, sizeof(c->smtp)), 0);
	CU_ASSERT_EQUAL_FATAL(c->nlisteners, d->nlisteners);
	CU_ASSERT_EQUAL(memcmp(c->listeners, d->listeners,
	    c->nlisteners * sizeof(*c->listeners)), 0);
	CU_ASSERT_STRING_EQUAL(c->node, d->node);
	CU_ASSERT_STRING_EQUAL(c->audit_path, d->audit_path);
	CU_ASSERT_EQUAL(c->workers, d->workers);
	CU_ASSERT_EQUAL(c->connect_timeout, d->connect_timeout);
	CU_ASSERT_EQUAL(c->upstream_source, d->upstream_source);
	CU_ASSERT_EQUAL(c->buffer_limit, d->buffer_limit);
	CU_ASSERT_EQUAL(c->max_sessions, d->max_sessions);
	CU_ASSERT_EQUAL(c->session_max_time, d->session_max_time);
	CU_ASSERT_EQUAL(c->log_level, d->log_level);
	CU_ASSERT_EQUAL(c->log_target, d->log_target);
	CU_ASSERT_EQUAL(c->log_facility, d->log_facility);
	CU_ASSERT_EQUAL(c->drain_timeout, d->drain_timeout);
	free(first);
	free(second);
	config_free(c);
	config_free(d);
}

static void
test_roundtrip(void)
{
	roundtrip_one(NULL);
	roundtrip_one(
	    "node: edge_01\n"
	    "workers: 3\n"
	    "listeners:\n"
	    "  - listen: \"[::]:10025\"\n"
	    "    intercept: tproxy\n"
	    "    backlog: 77\n"
	    "  - listen: 192.0.2.1:10465\n"
	    "    mode: passthrough\n"
	    "    intercept: none\n"
	    "    upstream: 198.51.100.9:465\n"
	    "upstream: {connect_timeout: 1500ms, source: subscriber}\n"
	    "limits: {buffer: 5000, max_sessions: 12, session_max_time: 90s}\n"
	    "smtp:\n"
	    "  max_line: 1001\n"
	    "  max_held: 3m\n"
	    "  bare_newline: reject\n"
	    "  timeouts: {greeting: 61s, client_idle: 2h}\n"
	    "audit: {path: \"/var/log/sub gate/\\\"a\\\\b\\\".jsonl\"}\n"
	    "log: {level: debug, target: syslog, facility: local3}\n"
	    "shutdown: {drain_timeout: 0}\n");
	roundtrip_one("privileges: {user: \"\", dumpable: true}\n");
	roundtrip_one("privileges: {user: mail, group: adm}\n");
}

/* Every class of error, with its exact location and text. */
static void
test_errors(void)
{
	static const struct {
		const char *yaml;
		const char *want;
	} t[] = {
		{ "nodes: gw1\n",
		  "t.yaml:1:1: nodes: unknown key; expected one of node, "
		  "workers, listeners, intercept, upstream, limits, smtp, redis, policy, "
		  "smarthost, identity, audit, geoip, admin, privileges, log, "
		  "shutdown" },
		{ "privileges: {user: \"\", group: mail}\n",
		  "t.yaml:1:31: privileges.group: requires privileges.user "
		  "(without a user subgated stays root)" },
		{ "privileges: {user: \"sub gate\"}\n",
		  "t.yaml:1:20: privileges.user: expected 1 to 253 letters, "
		  "digits, '.', '-' or '_', got \"sub gate\"" },
		{ "intercept: {interfaces: [\"eth 1\"]}\n",
		  "t.yaml:1:26: intercept.interfaces[0]: expected an interface "
		  "name (at most 15 of A-Z a-z 0-9 . - _ : @, a trailing * "
		  "matches any suffix), got \"eth 1\"" },
		{ "intercept: {interfaces: [\"*\"]}\n",
		  "t.yaml:1:26: intercept.interfaces[0]: expected an interface "
		  "name (at most 15 of A-Z a-z 0-9 . - _ : @, a trailing * "
		  "matches any suffix), got *" },
		{ "intercept: {interfaces: [eth1, eth1]}\n",
		  "t.yaml:1:32: intercept.interfaces[1]: eth1 is listed twice" },
		{ "intercept: {nftables: true}\n",
		  "t.yaml:1:23: intercept.interfaces: at least one "
		  "subscriber-facing interface is required with nftables: true" },
		{ "intercept: {nftables: true, interfaces: [eth1]}\n",
		  "t.yaml:1:23: intercept.subscribers: at least one subscriber "
		  "prefix is required with nftables: true" },
		{ "intercept: {submission_ports: [587, 25]}\n",
		  "t.yaml:1:37: intercept.submission_ports[1]: port 25 is also in "
		  "intercept.smtp_ports" },
		{ "intercept: {conntrack_mark: 0xg}\n",
		  "t.yaml:1:29: intercept.conntrack_mark: expected a whole "
		  "number, got 0xg" },
		{ "intercept: {hold: 500ms}\n",
		  "t.yaml:1:19: intercept.hold: 500ms is out of range 1s..1m" },
		{ "smtp:\n  timeouts:\n    idle: 5m\n",
		  "t.yaml:3:5: smtp.timeouts.idle: unknown key; expected one "
		  "of greeting, command, data_init, data_block, data_end, "
		  "client_idle" },
		{ "listeners:\n  - listen: \"[::]:25\"\n    mode: smpt\n",
		  "t.yaml:3:11: listeners[0].mode: expected one of smtp, "
		  "passthrough" },
		{ "listeners:\n  - listen: \"[::]:25\"\n    mdoe: smtp\n",
		  "t.yaml:3:5: listeners[0].mdoe: unknown key; expected one of "
		  "listen, mode, intercept, upstream, backlog" },
		{ "log: {level: verbose}\n",
		  "t.yaml:1:14: log.level: expected one of error, warn, info, "
		  "debug" },
		{ "log: {target: syslog, facility: kern}\n",
		  "t.yaml:1:33: log.facility: expected one of daemon, mail, "
		  "local0, local1, local2, local3, local4, local5, local6, "
		  "local7" },
		{ "smtp:\n  timeouts: {greeting: 5x}\n",
		  "t.yaml:2:24: smtp.timeouts.greeting: expected a duration "
		  "such as 500ms, 30s, 5m, 2h or a number of seconds, got 5x" },
		{ "limits:\n  buffer: 64kb\n",
		  "t.yaml:2:11: limits.buffer: expected a size such as 512, 64k "
		  "or 1m (k = 1024 octets), got 64kb" },
		{ "workers: -1\n",
		  "t.yaml:1:10: workers: must not be negative, got -1" },
		{ "limits: {buffer: -4k}\n",
		  "t.yaml:1:18: limits.buffer: must not be negative, got -4k" },
		{ "workers: 2.5\n",
		  "t.yaml:1:10: workers: expected a whole number, got 2.5" },
		{ "workers: 5000\n",
		  "t.yaml:1:10: workers: 5000 is out of range 0..1024" },
		{ "smtp: {max_line: 100}\n",
		  "t.yaml:1:18: smtp.max_line: 100 is out of range 512..1m" },
		{ "upstream: {connect_timeout: 10ms}\n",
		  "t.yaml:1:29: upstream.connect_timeout: 10ms is out of range "
		  "100ms..10m" },
		{ "smtp: {max_line: 99999999999999999999999}\n",
		  "t.yaml:1:18: smtp.max_line: 99999999999999999999999 is out "
		  "of range 512..1m" },
		{ "workers:\n",
		  "t.yaml:1:9: workers: expected a whole number, got \"\"" },
		{ "listeners:\n  - listen: mx.example.org:25\n",
		  "t.yaml:2:13: listeners[0].listen: expected a numeric address "
		  "and port such as 192.0.2.25:25 or [2001:db8::25]:25, got "
		  "mx.example.org:25" },
		{ "listeners:\n  - listen: 192.0.2.1\n",
		  "t.yaml:2:13: listeners[0].listen: expected a numeric address "
		  "and port such as 192.0.2.25:25 or [2001:db8::25]:25, got "
		  "192.0.2.1" },
		{ "listeners:\n  - listen: \"[::]:0\"\n",
		  "t.yaml:2:13: listeners[0].listen: expected a numeric address "
		  "and port such as 192.0.2.25:25 or [2001:db8::25]:25, got "
		  "[::]:0" },
		{ "listeners:\n  - listen: 0.0.0.0:2525\n    intercept: none\n",
		  "t.yaml:3:16: listeners[0].upstream: required with intercept: "
		  "none" },
		{ "listeners:\n  - listen: 0.0.0.0:2525\n"
		  "    upstream: 192.0.2.25:25\n",
		  "t.yaml:3:15: listeners[0].upstream: only allowed with "
		  "intercept: none (intercept is redirect)" },
		{ "listeners:\n  - mode: smtp\n",
		  "t.yaml:2:5: listeners[0]: missing required key listen" },
		{ "listeners:\n  - listen: \"[::]:10025\"\n"
		  "  - listen: \"[::]:10025\"\n    mode: passthrough\n",
		  "t.yaml:3:13: listeners[1].listen: [::]:10025 is already used "
		  "by listeners[0]" },
		{ "listeners: []\n",
		  "t.yaml:1:12: listeners: at least one listener is required" },
		{ "listeners:\n",
		  "t.yaml:1:11: listeners: at least one listener is required" },
		{ "listeners: {listen: \"[::]:25\"}\n",
		  "t.yaml:1:12: listeners: expected a sequence of listeners, "
		  "found a mapping" },
		{ "listeners: [\"[::]:25\"]\n",
		  "t.yaml:1:13: listeners[0]: expected a mapping, found a "
		  "scalar" },
		{ "upstream:\n  source: subscriber\n",
		  "t.yaml:2:11: upstream.source: subscriber requires intercept: "
		  "tproxy on every smtp listener, but listeners[0] ([::]:10025) "
		  "uses redirect" },
		{ "upstream: {source: subscriber}\nlisteners:\n"
		  "  - {listen: \"[::]:10025\", intercept: tproxy}\n"
		  "  - {listen: \"[::]:2525\", intercept: none, "
		  "upstream: \"192.0.2.25:25\"}\n",
		  "t.yaml:1:20: upstream.source: subscriber requires intercept: "
		  "tproxy on every smtp listener, but listeners[1] ([::]:2525) "
		  "uses none" },
		{ "smtp: 5\n",
		  "t.yaml:1:7: smtp: expected a mapping, found a scalar" },
		{ "smtp: {max_line: [1]}\n",
		  "t.yaml:1:18: smtp.max_line: expected a single value, found a "
		  "sequence" },
		{ "node: gw1\nnode: gw2\n",
		  "t.yaml:2:1: node: duplicate key" },
		{ "node: \"gw 1\"\n",
		  "t.yaml:1:7: node: expected 1 to 253 letters, digits, '.', "
		  "'-' or '_', got \"gw 1\"" },
		{ "audit: {path: \"\"}\n",
		  "t.yaml:1:15: audit.path: must not be empty" },
		{ "smtp:\n  max_line: 2048\n bad: [\n",
		  "t.yaml:3:2: YAML syntax error: did not find expected key, "
		  "while parsing a block mapping at line 1 column 1" },
		{ "smtp: {max_line: 2048\n",
		  "t.yaml:2:1: YAML syntax error: did not find expected ',' or "
		  "'}', while parsing a flow mapping at line 1 column 7" },
		{ "log:\n\tlevel: info\n",
		  "t.yaml:2:1: YAML syntax error: found character that cannot "
		  "start any token, while scanning for the next token at line 2 "
		  "column 1" },
		{ "workers: *w\n",
		  "t.yaml:1:10: YAML syntax error: found undefined alias" },
		{ "- workers: 1\n",
		  "t.yaml:1:1: expected a mapping of configuration sections at "
		  "the top level, found a sequence" },
		{ "subgate\n",
		  "t.yaml:1:1: expected a mapping of configuration sections at "
		  "the top level, found a scalar" },
		{ "workers: 1\n---\nworkers: 2\n",
		  "t.yaml:3:1: a configuration file holds a single YAML "
		  "document" },
		{ "[a]: 1\n",
		  "t.yaml:1:1: expected a key name, found a sequence" },
		{ "log: {level: info}\naudit: {path: \"x\x01\"}\n",
		  "t.yaml:2:17: unreadable input: control characters are not "
		  "allowed" },
	};
	char err[512];
	struct config *c;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(err, 'X', sizeof(err));
		c = load(t[i].yaml, err, sizeof(err));
		CU_ASSERT_PTR_NULL(c);
		config_free(c);
		if (c != NULL || strcmp(err, t[i].want) != 0)
			fprintf(stderr, "\ncase %zu:\n got: %s\nwant: %s\n", i,
			    c != NULL ? "(loaded)" : err, t[i].want);
		CU_ASSERT_STRING_EQUAL(err, t[i].want);
	}
}

/* A short error buffer truncates, never overflows; none is accepted. */
static void
test_errbuf(void)
{
	char err[16];

	memset(err, 'X', sizeof(err));
	CU_ASSERT_PTR_NULL(load("nodes: 1\n", err, 10));
	CU_ASSERT_STRING_EQUAL(err, "t.yaml:1:");
	CU_ASSERT_EQUAL(err[10], 'X');
	CU_ASSERT_PTR_NULL(load("nodes: 1\n", NULL, 0));
}

static void
test_file(void)
{
	char path[] = "/tmp/sg_test_config_XXXXXX", err[512], want[600];
	struct config *c;
	int fd;
	FILE *f;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("node: gw1\nworkers: 2\n", f);
	fclose(f);
	c = config_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->path, path);
	CU_ASSERT_STRING_EQUAL(c->node, "gw1");
	CU_ASSERT_EQUAL(c->workers, 2);
	CU_ASSERT_EQUAL(c->nlisteners, 1);
	config_free(c);

	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("node: gw1\nlisteners:\n  - listen: \"[::]:25\"\n"
	    "    mode: relay\n", f);
	fclose(f);
	CU_ASSERT_PTR_NULL(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4:11: listeners[0].mode: expected "
	    "one of smtp, passthrough", path);
	CU_ASSERT_STRING_EQUAL(err, want);

	CU_ASSERT_EQUAL(unlink(path), 0);
	CU_ASSERT_PTR_NULL(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	CU_ASSERT_STRING_EQUAL(err, want);
}

/* The shipped example deploy/subgate.yaml loads, found from this file's
 * path in the source tree; its secret files (/etc/subgate/...) are made in a
 * temporary directory. */
static char *subst(const char *yaml);
static const char *secret_file(const char *name, const char *content,
    mode_t mode);
static void secrets_cleanup(void);

/* repo_file - the repository's file rel (found from this source file's
 * path), NUL-terminated, at most 1 MiB; NULL if it cannot be read. */
static char *
repo_file(const char *rel, size_t *len)
{
	static const char self[] = "tests/unit/test_config.c";
	const char *src = __FILE__;
	size_t n = strlen(src);
	char path[4096], *buf;
	FILE *f;

	if (n < strlen(self) || strcmp(src + n - strlen(self), self) != 0)
		return NULL;
	snprintf(path, sizeof(path), "%.*s%s", (int)(n - strlen(self)), src,
	    rel);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = calloc(1, 1 << 20)) != NULL)
		*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static void
test_deploy_example(void)
{
	char err[512], *buf, *tmpl, *yaml, *p;
	size_t len = 0, off;
	struct config *c;

	buf = repo_file("deploy/subgate.yaml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	tmpl = calloc(1, 2 * len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tmpl);
	for (p = buf, off = 0; *p != '\0';) {
		if (strncmp(p, "/etc/subgate/", 13) == 0) {
			memcpy(tmpl + off, "@D@/", 4);
			off += 4;
			p += 13;
		} else {
			tmpl[off++] = *p++;
		}
	}
	secret_file("redis.secret", "redis-pw\n", 0640);
	secret_file("nas-bras1.secret", "bras1-secret\n", 0640);
	secret_file("audit-hmac.key", "k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y\n", 0600);
	yaml = subst(tmpl);
	c = config_load_string(yaml, strlen(yaml), "subgate.yaml", err,
	    sizeof(err));
	if (c == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->node, "gw1.edge.example.net");
	CU_ASSERT_STRING_EQUAL(c->audit_path, "/var/log/subgate/audit.jsonl");
	/* 587/465 are routed by the kernel: no tunnel listener */
	CU_ASSERT_EQUAL(c->nlisteners, 1);
	CU_ASSERT_EQUAL(c->intercept.nftables, 1);
	CU_ASSERT_EQUAL(c->intercept.on_down, ON_DOWN_OPEN);
	/* the shipped rule set is exactly what subgated loads for it */
	{
		size_t nl;
		char *got, *want = repo_file("deploy/nftables/subgate-redirect.nft",
		    &nl);

		CU_ASSERT_PTR_NOT_NULL_FATAL(want);
		got = nft_rules(c, "deploy/subgate.yaml");
		CU_ASSERT_STRING_EQUAL(got, want);
		free(got);
		free(want);
	}
	CU_ASSERT_EQUAL(c->redis.enabled, 1);
	CU_ASSERT_EQUAL(c->redis.nsentinels, 3);
	CU_ASSERT_STRING_EQUAL(c->redis.password.value, "redis-pw");
	CU_ASSERT_PTR_NOT_NULL(config_class(c, "residential"));
	CU_ASSERT_PTR_NOT_NULL(config_class(c, "business"));
	CU_ASSERT_PTR_NOT_NULL(config_class(c, "hotspot"));
	CU_ASSERT_PTR_NOT_NULL(config_class(c, "allowlisted"));
	CU_ASSERT_PTR_EQUAL(c->policy.default_class,
	    config_class(c, "residential"));
	CU_ASSERT_EQUAL(c->identity.radius.enabled, 1);
	CU_ASSERT_EQUAL_FATAL(c->identity.radius.nclients, 1);
	CU_ASSERT_STRING_EQUAL(c->identity.radius.clients[0].secret.value,
	    "bras1-secret");
	CU_ASSERT_EQUAL(c->audit.recipients, AUDIT_RCPT_HMAC);
	CU_ASSERT_EQUAL(c->audit.index_redis, 1);
	config_free(c);
	free(yaml);
	free(tmpl);
	free(buf);
	secrets_cleanup();
}

/* ---- policy, Redis, identity, audit options (issues 3 and 4) ---- */

static char secdir[64];

/* secret_path - "<secdir>/name", written with mode (content as given). */
static const char *
secret_file(const char *name, const char *content, mode_t mode)
{
	static char path[128];
	int fd;

	if (secdir[0] == '\0') {
		snprintf(secdir, sizeof(secdir), "/tmp/sg_cfg_XXXXXX");
		CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(secdir));
	}
	snprintf(path, sizeof(path), "%s/%s", secdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	CU_ASSERT_EQUAL(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void
secrets_cleanup(void)
{
	static const char *const names[] = { "redis", "nas1", "nas2", "hmac",
	    "relay", "open", "empty", "crlf", "redis.secret", "nas-bras1.secret",
	    "audit-hmac.key", NULL };
	char path[128];
	size_t i;

	if (secdir[0] == '\0')
		return;
	for (i = 0; names[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", secdir, names[i]);
		unlink(path);
	}
	rmdir(secdir);
	secdir[0] = '\0';
}

/* subst - yaml with every "@D@" replaced by the secrets directory. */
static char *
subst(const char *yaml)
{
	size_t n = strlen(yaml) + 1, dl = strlen(secdir);
	char *out = malloc(n * (dl + 1)), *o = out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	while (*yaml != '\0') {
		if (strncmp(yaml, "@D@", 3) == 0) {
			memcpy(o, secdir, dl);
			o += dl;
			yaml += 3;
		} else {
			*o++ = *yaml++;
		}
	}
	*o = '\0';
	return out;
}

static void
make_secrets(void)
{
	secret_file("redis", "r3dis-pw\n", 0600);
	secret_file("nas1", "nas-one-secret\nsecond line ignored\n", 0640);
	secret_file("nas2", "nas2", 0400);
	secret_file("hmac", "0123456789abcdef0123456789abcdef", 0600);
	secret_file("relay", "relay-pw\r\n", 0600);
}

/* Every new section, as an ISP would write it. */
static const char full_yaml[] =
    "node: gw1\n"
    "redis:\n"
    "  sentinels: [\"192.0.2.1:26379\", \"[2001:db8::2]:26379\"]\n"
    "  master_name: sg-main\n"
    "  password_file: @D@/redis\n"
    "  database: 3\n"
    "  timeout: 40ms\n"
    "  connect_timeout: 2s\n"
    "  on_failure: closed\n"
    "policy:\n"
    "  default_class: residential\n"
    "  classes:\n"
    "    residential:\n"
    "      action: refuse_submission\n"
    "      lockout: { violations: 5, within: 10m, duration: 1h }\n"
    "      mx:\n"
    "        connections: 30/1m\n"
    "        concurrent: 5\n"
    "        messages: 20/1h\n"
    "        recipients: 100/1h\n"
    "        bytes: 50m/1h\n"
    "        destinations: 20/1h\n"
    "        action: redirect\n"
    "      submission: { messages: 100/1d, recipients: 500/1d }\n"
    "      tls: { connections: 10/1m, concurrent: 3, bytes: 100m/1h, "
    "duration: 10m }\n"
    "    business:\n"
    "      mx: { messages: 5000/1h, concurrent: 50 }\n"
    "    hotspot:\n"
    "      action: block\n"
    "      mx: { deny: true }\n"
    "      tls: { deny: true, action: tempfail }\n"
    "    allowlisted: {}\n"
    "  prefixes:\n"
    "    - { prefix: \"100.64.0.0/10\", class: residential }\n"
    "    - { prefix: \"2001:db8:100::/40\", class: residential }\n"
    "    - { prefix: \"198.51.100.0/24\", class: hotspot }\n"
    "  destination:\n"
    "    connections: 1000/1m\n"
    "    messages: 5000/1h\n"
    "    mx: { recipients: 20000/1h }\n"
    "  global:\n"
    "    connections: 10000/1m\n"
    "    messages: 100000/1h\n"
    "    concurrent: 20000\n"
    "    tls: { bytes: 10g/1h }\n"
    "  replies:\n"
    "    tempfail: \"452 4.7.1 Slow down: %l, retry in %r s (100%% sure)\"\n"
    "    locked: \"550 5.7.1 Locked\"\n"
    "    audit_down: \"421 4.3.0 Audit trail full, try again later\"\n"
    "smarthost:\n"
    "  address: \"198.51.100.25:587\"\n"
    "  starttls: opportunistic\n"
    "  ca_file: /etc/ssl/relay-ca.pem\n"
    "  verify_name: relay.example.net\n"
    "  auth_user: gw1@example.net\n"
    "  auth_password_file: @D@/relay\n"
    "  helo_name: gw1.example.net\n"
    "identity:\n"
    "  static:\n"
    "    - { prefix: \"100.64.3.0/24\", subscriber: \"cust-0042\", "
    "class: business }\n"
    "    - { prefix: \"2001:db8:100:42::/64\", subscriber: \"cust-0042\" }\n"
    "  radius:\n"
    "    listen: \"[::]:1813\"\n"
    "    clients:\n"
    "      - { address: 192.0.2.10, secret_file: @D@/nas1, name: bras1 }\n"
    "      - { address: \"2001:db8:1::/64\", secret_file: @D@/nas2 }\n"
    "    class_attribute: Class\n"
    "  history: 14d\n"
    "audit:\n"
    "  path: /var/log/subgate/audit.jsonl\n"
    "  recipients: hmac\n"
    "  hmac_key_file: @D@/hmac\n"
    "  index: auto\n"
    "  retention: 30d\n"
    "  on_write_error: tempfail\n"
    "geoip:\n"
    "  asn_db: /var/lib/GeoIP/GeoLite2-ASN.mmdb\n"
    "  country_db: /var/lib/GeoIP/GeoLite2-Country.mmdb\n"
    "admin:\n"
    "  listen: 127.0.0.1:9925\n";

static void
test_policy_defaults(void)
{
	char err[256];
	struct config *c = config_load(NULL, err, sizeof(err));
	const struct policy_class *d;
	int t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->redis.enabled, 0);
	CU_ASSERT_EQUAL(c->identity.radius.enabled, 0);
	CU_ASSERT_EQUAL(c->audit.index, AUDIT_INDEX_AUTO);
	CU_ASSERT_EQUAL(c->audit.index_redis, 0);
	CU_ASSERT_EQUAL(c->audit.recipients, AUDIT_RCPT_FULL);
	CU_ASSERT_PTR_NULL(c->audit.hmac_key.value);
	CU_ASSERT_EQUAL(c->audit.retention_ms, 8ULL * 86400000);
	CU_ASSERT_EQUAL(c->audit.on_write_error, AUDIT_WERR_CONTINUE);
	CU_ASSERT_EQUAL(c->identity.history_ms, 8ULL * 86400000);
	CU_ASSERT_EQUAL(c->identity.nstatics, 0);
	CU_ASSERT_EQUAL(c->smarthost.address.sa.sa_family, AF_UNSPEC);
	CU_ASSERT_EQUAL(c->smarthost.starttls, SMARTHOST_TLS_REQUIRE);
	CU_ASSERT_PTR_NULL(c->smarthost.ca_file);
	CU_ASSERT_PTR_NULL(c->smarthost.helo_name);
	CU_ASSERT_PTR_NULL(c->geoip.asn_db);
	CU_ASSERT_PTR_NULL(c->geoip.country_db);
	CU_ASSERT_EQUAL(c->admin.listen.sa.sa_family, AF_UNSPEC);
	CU_ASSERT_EQUAL_FATAL(c->policy.nclasses, 1);
	CU_ASSERT_EQUAL(c->policy.nprefixes, 0);
	d = config_class(c, "default");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_EQUAL(c->policy.default_class, d);
	CU_ASSERT_STRING_EQUAL(c->policy.default_class_name, "default");
	CU_ASSERT_PTR_NULL(config_class(c, "residential"));
	CU_ASSERT_PTR_NULL(config_class(c, NULL));
	CU_ASSERT_EQUAL(d->action, ACTION_TEMPFAIL);
	CU_ASSERT_EQUAL(d->lockout.violations, 0);
	CU_ASSERT_EQUAL(d->lockout.within_ms, 600000);
	CU_ASSERT_EQUAL(d->lockout.duration_ms, 3600000);
	for (t = 0; t < TRAFFIC_COUNT; t++) {
		CU_ASSERT_EQUAL(d->traffic[t].connections.n, 0);
		CU_ASSERT_EQUAL(d->traffic[t].messages.n, 0);
		CU_ASSERT_EQUAL(d->traffic[t].concurrent, 0);
		CU_ASSERT_EQUAL(d->traffic[t].deny, 0);
		CU_ASSERT_EQUAL(d->traffic[t].has_action, 0);
		CU_ASSERT_EQUAL(c->policy.destination.traffic[t].messages.n, 0);
		CU_ASSERT_EQUAL(config_action(d, t), ACTION_TEMPFAIL);
	}
	CU_ASSERT_EQUAL(c->policy.global.all.connections.n, 0);
	CU_ASSERT_STRING_EQUAL(c->policy.replies.tempfail, "451 4.7.1 Too many "
	    "%l from your address, try again in %r seconds");
	CU_ASSERT_STRING_EQUAL(c->policy.replies.redis_down, "451 4.3.0 "
	    "Temporary local problem, try again later");
	CU_ASSERT_STRING_EQUAL(c->policy.replies.audit_down, "451 4.3.0 "
	    "Temporary local problem, try again later");
	CU_ASSERT_STRING_EQUAL(config_action_name(ACTION_REFUSE_SUBMISSION),
	    "refuse_submission");
	CU_ASSERT_STRING_EQUAL(config_traffic_name(TRAFFIC_TLS), "tls");
	config_free(c);

	/* "redis:" alone: Redis on, with its defaults; the index follows */
	c = load("redis:\n", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->redis.enabled, 1);
	CU_ASSERT_EQUAL(c->redis.nsentinels, 0);
	CU_ASSERT_STRING_EQUAL(c->redis.master_name, "mymaster");
	CU_ASSERT_PTR_NULL(c->redis.password.value);
	CU_ASSERT_EQUAL(c->redis.database, 0);
	CU_ASSERT_EQUAL(c->redis.timeout_ms, 50);
	CU_ASSERT_EQUAL(c->redis.connect_timeout_ms, 1000);
	CU_ASSERT_EQUAL(c->redis.on_failure, REDIS_FAIL_OPEN);
	CU_ASSERT_EQUAL(c->audit.index_redis, 1);
	config_free(c);
	c = load("redis: {}\naudit: {index: none}\n", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->audit.index_redis, 0);
	config_free(c);
}

static void
test_policy_full(void)
{
	char err[512], a[CIDR_STRLEN], *yaml;
	const struct policy_class *r, *b, *h, *al;
	struct config *c;

	make_secrets();
	yaml = subst(full_yaml);
	c = load(yaml, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	CU_ASSERT_EQUAL(c->redis.enabled, 1);
	CU_ASSERT_EQUAL_FATAL(c->redis.nsentinels, 2);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&c->redis.sentinels[1], a, sizeof(a)),
	    "[2001:db8::2]:26379");
	CU_ASSERT_STRING_EQUAL(addr_fmt(&c->redis.address, a, sizeof(a)),
	    "127.0.0.1:6379");
	CU_ASSERT_STRING_EQUAL(c->redis.master_name, "sg-main");
	CU_ASSERT_STRING_EQUAL(c->redis.password.value, "r3dis-pw");
	CU_ASSERT_EQUAL(c->redis.password.len, 8);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->redis.password.file, "/redis"));
	CU_ASSERT_EQUAL(c->redis.database, 3);
	CU_ASSERT_EQUAL(c->redis.timeout_ms, 40);
	CU_ASSERT_EQUAL(c->redis.connect_timeout_ms, 2000);
	CU_ASSERT_EQUAL(c->redis.on_failure, REDIS_FAIL_CLOSED);

	CU_ASSERT_EQUAL_FATAL(c->policy.nclasses, 4);
	r = config_class(c, "residential");
	b = config_class(c, "business");
	h = config_class(c, "hotspot");
	al = config_class(c, "allowlisted");
	CU_ASSERT_FATAL(r && b && h && al);
	CU_ASSERT_PTR_EQUAL(r, &c->policy.classes[0]);
	CU_ASSERT_PTR_EQUAL(c->policy.default_class, r);
	CU_ASSERT_PTR_NULL(config_class(c, "default"));
	CU_ASSERT_EQUAL(r->action, ACTION_REFUSE_SUBMISSION);
	CU_ASSERT_EQUAL(r->lockout.violations, 5);
	CU_ASSERT_EQUAL(r->lockout.within_ms, 600000);
	CU_ASSERT_EQUAL(r->lockout.duration_ms, 3600000);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].connections.n, 30);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].connections.period_ms, 60000);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].concurrent, 5);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].messages.n, 20);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].messages.period_ms, 3600000);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].recipients.n, 100);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].bytes.n, 50ULL << 20);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].bytes.period_ms, 3600000);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].destinations.n, 20);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].has_action, 1);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_MX].action, ACTION_REDIRECT);
	CU_ASSERT_EQUAL(config_action(r, TRAFFIC_MX), ACTION_REDIRECT);
	CU_ASSERT_EQUAL(config_action(r, TRAFFIC_SUBMISSION),
	    ACTION_REFUSE_SUBMISSION);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_SUBMISSION].messages.n, 100);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_SUBMISSION].messages.period_ms,
	    86400000);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_SUBMISSION].connections.n, 0);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_TLS].connections.n, 10);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_TLS].concurrent, 3);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_TLS].bytes.n, 100ULL << 20);
	CU_ASSERT_EQUAL(r->traffic[TRAFFIC_TLS].duration_ms, 600000);
	CU_ASSERT_EQUAL(b->action, ACTION_TEMPFAIL);
	CU_ASSERT_EQUAL(b->lockout.violations, 0);
	CU_ASSERT_EQUAL(b->traffic[TRAFFIC_MX].messages.n, 5000);
	CU_ASSERT_EQUAL(b->traffic[TRAFFIC_MX].concurrent, 50);
	CU_ASSERT_EQUAL(b->traffic[TRAFFIC_MX].connections.n, 0);
	CU_ASSERT_EQUAL(h->traffic[TRAFFIC_MX].deny, 1);
	CU_ASSERT_EQUAL(h->traffic[TRAFFIC_SUBMISSION].deny, 0);
	CU_ASSERT_EQUAL(config_action(h, TRAFFIC_MX), ACTION_BLOCK);
	CU_ASSERT_EQUAL(config_action(h, TRAFFIC_TLS), ACTION_TEMPFAIL);

	CU_ASSERT_EQUAL_FATAL(c->policy.nprefixes, 3);
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&c->policy.prefixes[1].prefix, a,
	    sizeof(a)), "2001:db8:100::/40");
	CU_ASSERT_STRING_EQUAL(c->policy.prefixes[2].class_name, "hotspot");
	CU_ASSERT_PTR_EQUAL(c->policy.prefixes[2].cls, h);
	CU_ASSERT_PTR_EQUAL(c->policy.prefixes[0].cls, r);
	CU_ASSERT_EQUAL(c->policy.destination.all.connections.n, 1000);
	CU_ASSERT_EQUAL(c->policy.destination.all.messages.n, 5000);
	CU_ASSERT_EQUAL(c->policy.destination.traffic[TRAFFIC_MX].recipients.n,
	    20000);
	CU_ASSERT_EQUAL(c->policy.destination.traffic[TRAFFIC_TLS].bytes.n, 0);
	CU_ASSERT_EQUAL(c->policy.global.all.connections.n, 10000);
	CU_ASSERT_EQUAL(c->policy.global.all.concurrent, 20000);
	CU_ASSERT_EQUAL(c->policy.global.traffic[TRAFFIC_TLS].bytes.n,
	    10ULL << 30);
	CU_ASSERT_STRING_EQUAL(c->policy.replies.tempfail, "452 4.7.1 Slow "
	    "down: %l, retry in %r s (100%% sure)");
	CU_ASSERT_STRING_EQUAL(c->policy.replies.locked, "550 5.7.1 Locked");
	CU_ASSERT_STRING_EQUAL(c->policy.replies.audit_down, "421 4.3.0 Audit "
	    "trail full, try again later");
	/* the default: it points to submission (RFC 5068 3.2) */
	CU_ASSERT_STRING_EQUAL(c->policy.replies.block, "554 5.7.1 Port 25 is "
	    "blocked for your connection: submit your mail on port 587 with "
	    "authentication (RFC 5068)");

	CU_ASSERT_STRING_EQUAL(addr_fmt(&c->smarthost.address, a, sizeof(a)),
	    "198.51.100.25:587");
	CU_ASSERT_EQUAL(c->smarthost.starttls, SMARTHOST_TLS_OPPORTUNISTIC);
	CU_ASSERT_STRING_EQUAL(c->smarthost.ca_file, "/etc/ssl/relay-ca.pem");
	CU_ASSERT_STRING_EQUAL(c->smarthost.verify_name, "relay.example.net");
	CU_ASSERT_STRING_EQUAL(c->smarthost.auth_user, "gw1@example.net");
	CU_ASSERT_STRING_EQUAL(c->smarthost.auth_password.value, "relay-pw");
	CU_ASSERT_EQUAL(c->smarthost.auth_password.len, 8);
	CU_ASSERT_STRING_EQUAL(c->smarthost.helo_name, "gw1.example.net");

	CU_ASSERT_EQUAL_FATAL(c->identity.nstatics, 2);
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&c->identity.statics[0].prefix, a,
	    sizeof(a)), "100.64.3.0/24");
	CU_ASSERT_STRING_EQUAL(c->identity.statics[0].subscriber, "cust-0042");
	CU_ASSERT_PTR_EQUAL(c->identity.statics[0].cls, b);
	CU_ASSERT_PTR_NULL(c->identity.statics[1].class_name);
	CU_ASSERT_PTR_NULL(c->identity.statics[1].cls);
	CU_ASSERT_EQUAL(c->identity.radius.enabled, 1);
	CU_ASSERT_EQUAL_FATAL(c->identity.radius.nclients, 2);
	CU_ASSERT_STRING_EQUAL(cidr_fmt(&c->identity.radius.clients[0].prefix,
	    a, sizeof(a)), "192.0.2.10/32");
	CU_ASSERT_STRING_EQUAL(c->identity.radius.clients[0].secret.value,
	    "nas-one-secret");
	CU_ASSERT_EQUAL(c->identity.radius.clients[0].secret.len, 14);
	CU_ASSERT_STRING_EQUAL(c->identity.radius.clients[0].name, "bras1");
	CU_ASSERT_STRING_EQUAL(c->identity.radius.clients[1].secret.value,
	    "nas2");
	CU_ASSERT_PTR_NULL(c->identity.radius.clients[1].name);
	CU_ASSERT_STRING_EQUAL(c->identity.radius.class_attribute, "Class");
	CU_ASSERT_EQUAL(c->identity.history_ms, 14ULL * 86400000);

	CU_ASSERT_EQUAL(c->audit.recipients, AUDIT_RCPT_HMAC);
	CU_ASSERT_EQUAL(c->audit.hmac_key.len, 32);
	CU_ASSERT_EQUAL(c->audit.index, AUDIT_INDEX_AUTO);
	CU_ASSERT_EQUAL(c->audit.index_redis, 1);
	CU_ASSERT_EQUAL(c->audit.retention_ms, 30ULL * 86400000);
	CU_ASSERT_EQUAL(c->audit.on_write_error, AUDIT_WERR_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(c->geoip.asn_db,
	    "/var/lib/GeoIP/GeoLite2-ASN.mmdb");
	CU_ASSERT_STRING_EQUAL(addr_fmt(&c->admin.listen, a, sizeof(a)),
	    "127.0.0.1:9925");
	config_free(c);
	free(yaml);
}

/* dump -> load -> dump of every section; the structs agree too. */
static void
test_policy_roundtrip(void)
{
	char err[512], *yaml, *first, *second;
	struct config *c, *d;
	size_t i;

	make_secrets();
	yaml = subst(full_yaml);
	c = load(yaml, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	first = dump(c);
	/* no secret in the dump, only where it came from */
	CU_ASSERT_PTR_NULL(strstr(first, "r3dis-pw"));
	CU_ASSERT_PTR_NULL(strstr(first, "nas-one-secret"));
	CU_ASSERT_PTR_NULL(strstr(first, "relay-pw"));
	CU_ASSERT_PTR_NULL(strstr(first, "0123456789abcdef"));
	CU_ASSERT_PTR_NOT_NULL(strstr(first, "/nas1\""));
	d = load(first, err, sizeof(err));
	if (d == NULL)
		fprintf(stderr, "\n%s\n%s\n", err, first);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	second = dump(d);
	CU_ASSERT_STRING_EQUAL(first, second);
	CU_ASSERT_EQUAL_FATAL(c->policy.nclasses, d->policy.nclasses);
	for (i = 0; i < c->policy.nclasses; i++) {
		CU_ASSERT_STRING_EQUAL(c->policy.classes[i].name,
		    d->policy.classes[i].name);
		CU_ASSERT_EQUAL(c->policy.classes[i].action,
		    d->policy.classes[i].action);
		CU_ASSERT_EQUAL(memcmp(&c->policy.classes[i].lockout,
		    &d->policy.classes[i].lockout,
		    sizeof(struct lockout_conf)), 0);
		CU_ASSERT_EQUAL(memcmp(c->policy.classes[i].traffic,
		    d->policy.classes[i].traffic,
		    sizeof(c->policy.classes[i].traffic)), 0);
	}
	CU_ASSERT_EQUAL(memcmp(&c->policy.destination, &d->policy.destination,
	    sizeof(c->policy.destination)), 0);
	CU_ASSERT_EQUAL(memcmp(&c->policy.global, &d->policy.global,
	    sizeof(c->policy.global)), 0);
	CU_ASSERT_EQUAL_FATAL(c->policy.nprefixes, d->policy.nprefixes);
	for (i = 0; i < c->policy.nprefixes; i++)
		CU_ASSERT_EQUAL(memcmp(&c->policy.prefixes[i].prefix,
		    &d->policy.prefixes[i].prefix, sizeof(struct cidr_prefix)),
		    0);
	CU_ASSERT_EQUAL_FATAL(c->redis.nsentinels, d->redis.nsentinels);
	CU_ASSERT_EQUAL(memcmp(c->redis.sentinels, d->redis.sentinels,
	    c->redis.nsentinels * sizeof(*c->redis.sentinels)), 0);
	CU_ASSERT_STRING_EQUAL(d->redis.password.value, "r3dis-pw");
	CU_ASSERT_STRING_EQUAL(d->smarthost.auth_password.value, "relay-pw");
	CU_ASSERT_STRING_EQUAL(d->audit.hmac_key.value,
	    c->audit.hmac_key.value);
	CU_ASSERT_EQUAL_FATAL(d->identity.radius.nclients, 2);
	CU_ASSERT_STRING_EQUAL(d->identity.radius.clients[1].secret.value,
	    "nas2");
	CU_ASSERT_EQUAL(c->identity.nstatics, d->identity.nstatics);
	CU_ASSERT_PTR_NULL(d->identity.statics[1].class_name);
	CU_ASSERT_EQUAL(c->identity.history_ms, d->identity.history_ms);
	CU_ASSERT_EQUAL(c->audit.retention_ms, d->audit.retention_ms);
	CU_ASSERT_EQUAL(c->redis.timeout_ms, d->redis.timeout_ms);
	CU_ASSERT_EQUAL(memcmp(&c->smarthost.address, &d->smarthost.address,
	    sizeof(c->smarthost.address)), 0);
	free(first);
	free(second);
	config_free(d);
	config_free(c);
	free(yaml);

	/* absent sections stay absent */
	roundtrip_one("policy:\n  classes: {default: {mx: {messages: 1/1s}}}\n");
}

/* An inline secret works but is never dumped: a comment says so. */
static void
test_secrets(void)
{
	char err[512], *out, *yaml;
	struct config *c;

	c = load("redis: {password: \"s3cr3t-inline\"}\n", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->redis.password.value, "s3cr3t-inline");
	CU_ASSERT_EQUAL(c->redis.password.len, 13);
	CU_ASSERT_PTR_NULL(c->redis.password.file);
	out = dump(c);
	CU_ASSERT_PTR_NULL(strstr(out, "s3cr3t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n  # password: <redacted>  "
	    "(given inline, not dumped: use password_file)\n"));
	free(out);
	config_free(c);

	/* CRLF stripped; only the first line counts */
	secret_file("crlf", "pw\r\nnext\n", 0600);
	yaml = subst("smarthost:\n  address: 192.0.2.1:25\n  auth_user: u\n"
	    "  verify_name: relay.example.net\n"
	    "  auth_password_file: @D@/crlf\n");
	c = load(yaml, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->smarthost.auth_password.value, "pw");
	CU_ASSERT_EQUAL(c->smarthost.auth_password.len, 2);
	config_free(c);
	free(yaml);
}

/* Errors of the new sections: value types and cross-checks, located. */
static void
test_policy_errors(void)
{
	static const struct {
		const char *yaml;
		const char *want;	/* "@D@" = the secrets directory */
	} t[] = {
		{ "policy:\n  classes:\n    default:\n      mx: {messages: 20}\n",
		  "t.yaml:4:22: policy.classes.default.mx.messages: expected "
		  "a count per period such as 30/1m, or unlimited, got 20" },
		{ "policy:\n  classes:\n    default:\n      mx: {messages: 0/1h}\n",
		  "t.yaml:4:22: policy.classes.default.mx.messages: the "
		  "count must be at least 1 (write unlimited or leave the "
		  "key out for no limit, deny: true to refuse every "
		  "session), got 0/1h" },
		{ "policy:\n  classes:\n    default:\n      mx: {messages: 5/0}\n",
		  "t.yaml:4:22: policy.classes.default.mx.messages: the "
		  "period must be 1s..30d, got 5/0" },
		{ "policy:\n  classes:\n    default:\n      mx: {messages: 5/1y}\n",
		  "t.yaml:4:22: policy.classes.default.mx.messages: expected "
		  "a period such as 1m, 1h or 1d after '/', got 5/1y" },
		{ "policy:\n  classes:\n    default:\n      mx: {messages: -5/1h}\n",
		  "t.yaml:4:22: policy.classes.default.mx.messages: must not "
		  "be negative, got -5/1h" },
		{ "policy:\n  classes:\n    default:\n      mx: {bytes: 50mb/1h}\n",
		  "t.yaml:4:19: policy.classes.default.mx.bytes: expected a "
		  "size per period such as 50m/1h, or unlimited, got 50mb/1h" },
		{ "policy:\n  classes:\n    default:\n      mx: {connections: 99999999999999999/1m}\n",
		  "t.yaml:4:25: policy.classes.default.mx.connections: count "
		  "out of range 1..2^50, got 99999999999999999/1m" },
		{ "policy:\n  classes:\n    default:\n      tls: {messages: 5/1h}\n",
		  "t.yaml:4:13: policy.classes.default.tls.messages: unknown "
		  "key; expected one of connections, concurrent, bytes, "
		  "duration, deny, action" },
		{ "policy:\n  classes:\n    default:\n      action: drop\n",
		  "t.yaml:4:15: policy.classes.default.action: expected one "
		  "of tempfail, refuse_submission, redirect, block" },
		{ "policy:\n  classes:\n    default:\n      mx: {deny: yes}\n",
		  "t.yaml:4:18: policy.classes.default.mx.deny: expected "
		  "true or false, got yes" },
		{ "policy:\n  classes:\n    default:\n      lockout: {violations: 3, within: 0}\n",
		  "t.yaml:4:40: policy.classes.default.lockout.within: 0 is "
		  "out of range 1s..7d" },
		{ "policy:\n  classes:\n    default: {}\n    default: {}\n",
		  "t.yaml:4:5: policy.classes.default: defined twice" },
		{ "policy:\n  classes:\n    \"res idential\": {}\n",
		  "t.yaml:3:5: policy.classes.\"res idential\": a name is 1 "
		  "to 253 letters, digits, '.', '-' or '_'" },
		{ "policy:\n  classes: [default]\n",
		  "t.yaml:2:12: policy.classes: expected a mapping of names, "
		  "found a sequence" },
		{ "policy:\n  prefixes:\n    - {prefix: 100.64.0.1/10, class: default}\n",
		  "t.yaml:3:16: policy.prefixes[0].prefix: expected a prefix "
		  "such as 100.64.0.0/10 or 2001:db8::/32, got "
		  "100.64.0.1/10: \"100.64.0.1/10\": host bits set after /10 "
		  "(the network is 100.64.0.0/10)" },
		{ "policy:\n  prefixes:\n    - {prefix: cgnat, class: default}\n",
		  "t.yaml:3:16: policy.prefixes[0].prefix: expected a prefix "
		  "such as 100.64.0.0/10 or 2001:db8::/32, got cgnat: "
		  "\"cgnat\": not an IPv4 or IPv6 address" },
		{ "policy:\n  prefixes:\n    - {prefix: 100.64.0.0/10, class: default}\n    - {prefix: 10.0.0.0/8, class: default}\n    - {prefix: 100.64.0.0/10, class: default}\n",
		  "t.yaml:5:16: policy.prefixes[2].prefix: 100.64.0.0/10 is "
		  "listed twice (also at policy.prefixes[0].prefix)" },
		{ "policy:\n  prefixes:\n    - {prefix: 100.64.0.0/10}\n",
		  "t.yaml:3:7: policy.prefixes[0]: missing required key class" },
		{ "policy:\n  replies: {tempfail: \"250 OK\"}\n",
		  "t.yaml:2:23: policy.replies.tempfail: must start with a "
		  "4xx or 5xx reply code and a space" },
		{ "policy:\n  replies: {tempfail: \"451 4.7.1 wait %s\"}\n",
		  "t.yaml:2:23: policy.replies.tempfail: unknown "
		  "placeholder; use %l (limit), %r (seconds until retry) or "
		  "%% ('%')" },
		{ "policy:\n  replies: {block: \"554 4.7.1 blocked\"}\n",
		  "t.yaml:2:20: policy.replies.block: enhanced status code "
		  "class differs from the reply code" },
		{ "policy:\n  replies: {block: \"554 5.7.1 two\\r\\nlines\"}\n",
		  "t.yaml:2:20: policy.replies.block: only printable ASCII "
		  "is allowed in a reply" },
		{ "policy:\n  replies: {locked: \"\"}\n",
		  "t.yaml:2:21: policy.replies.locked: must not be empty" },
		{ "policy:\n  replies: {audit_down: \"250 2.0.0 fine\"}\n",
		  "t.yaml:2:25: policy.replies.audit_down: must start with a "
		  "4xx or 5xx reply code and a space" },
		{ "identity:\n  static:\n    - {prefix: \"2001:db8::/32\", subscriber: a}\n    - {prefix: \"2001:0db8:0::/32\", subscriber: b}\n",
		  "t.yaml:4:16: identity.static[1].prefix: 2001:db8::/32 is "
		  "listed twice (also at identity.static[0].prefix)" },
		{ "identity:\n  static:\n    - {prefix: 192.0.2.0/24, subscriber: \"cust 1\"}\n",
		  "t.yaml:3:42: identity.static[0].subscriber: expected 1 to "
		  "253 printable characters without spaces, got \"cust 1\"" },
		{ "identity:\n  static:\n    - {prefix: 192.0.2.0/24}\n",
		  "t.yaml:3:7: identity.static[0]: missing required key "
		  "subscriber" },
		{ "identity: {history: 10m}\n",
		  "t.yaml:1:21: identity.history: 10m is out of range "
		  "1h..400d" },
		{ "redis:\n  sentinels: [\"192.0.2.1:26379\", \"192.0.2.1:26379\"]\n",
		  "t.yaml:2:34: redis.sentinels[1]: 192.0.2.1:26379 is "
		  "listed twice" },
		{ "redis:\n  sentinels: [sentinel1:26379]\n",
		  "t.yaml:2:15: redis.sentinels[0]: expected a numeric "
		  "address and port such as 192.0.2.25:25 or "
		  "[2001:db8::25]:25, got sentinel1:26379" },
		{ "redis:\n  address: redis.example:6379\n",
		  "t.yaml:2:12: redis.address: expected a numeric address "
		  "and port such as 192.0.2.25:25 or [2001:db8::25]:25, got "
		  "redis.example:6379" },
		{ "redis:\n  on_failure: maybe\n",
		  "t.yaml:2:15: redis.on_failure: expected one of open, "
		  "closed" },
		{ "redis:\n  password_file: @D@/open\n",
		  "t.yaml:2:18: redis.password_file: @D@/open: secret is "
		  "accessible by every user (mode 0644); chmod o-rwx it" },
		{ "redis:\n  password_file: @D@/empty\n",
		  "t.yaml:2:18: redis.password_file: @D@/empty: first line "
		  "is empty" },
		{ "redis:\n  password_file: @D@/missing\n",
		  "t.yaml:2:18: redis.password_file: @D@/missing: No such "
		  "file or directory" },
		{ "redis:\n  password: x\n  password_file: @D@/redis\n",
		  "t.yaml:3:18: redis.password_file: the secret is already "
		  "given; use either the _file key or the inline one" },
		{ "identity:\n  radius:\n    listen: \"[::]:1813\"\n",
		  "t.yaml:3:5: identity.radius.clients: at least one NAS is "
		  "required" },
		{ "identity:\n  radius:\n    clients:\n      - {address: 192.0.2.10, name: bras1}\n",
		  "t.yaml:4:9: identity.radius.clients[0]: missing required "
		  "key secret_file (or secret): the NAS's shared secret" },
		{ "identity:\n  radius:\n    clients:\n      - {address: 192.0.2.10, secret_file: \"\"}\n",
		  "t.yaml:4:9: identity.radius.clients[0]: missing required "
		  "key secret_file (or secret): the NAS's shared secret" },
		{ "identity:\n  radius:\n    clients:\n      - {secret_file: @D@/nas1}\n",
		  "t.yaml:4:9: identity.radius.clients[0]: missing required "
		  "key address" },
		{ "identity:\n  radius:\n    clients:\n      - {address: 192.0.2.0/24, secret_file: @D@/nas1}\n      - {address: 192.0.2.0/24, secret_file: @D@/nas2}\n",
		  "t.yaml:5:19: identity.radius.clients[1].address: "
		  "192.0.2.0/24 is listed twice (also at "
		  "identity.radius.clients[0].address)" },
		{ "identity:\n  radius:\n    clients:\n      - {address: 192.0.2.10, secret_file: @D@/nas1}\n    class_attribute: class\n",
		  "t.yaml:5:22: identity.radius.class_attribute: expected one "
		  "of \"\" (off), Class (RFC 2865 attribute 25), Filter-Id "
		  "(attribute 11), got class" },
		{ "identity:\n  radius:\n    clients:\n      - {address: 192.0.2.10, secret_file: @D@/nas1}\n    class_attribute: \"Class \"\n",
		  "t.yaml:5:22: identity.radius.class_attribute: expected one "
		  "of \"\" (off), Class (RFC 2865 attribute 25), Filter-Id "
		  "(attribute 11), got \"Class \"" },
		{ "identity:\n  radius:\n    clients:\n      - {address: 192.0.2.10, secret_file: @D@/nas1}\n    class_attribute: 25\n",
		  "t.yaml:5:22: identity.radius.class_attribute: expected one "
		  "of \"\" (off), Class (RFC 2865 attribute 25), Filter-Id "
		  "(attribute 11), got 25" },
		{ "policy: {default_class: business}\n",
		  "t.yaml:1:25: policy.default_class: no class business in "
		  "policy.classes (defined: default)" },
		{ "policy:\n  classes:\n    residential: {}\n",
		  "t.yaml:3:5: policy.default_class: no class default in "
		  "policy.classes (defined: residential)" },
		{ "policy:\n  classes: {}\n",
		  "t.yaml:2:12: policy.default_class: no class default in "
		  "policy.classes (defined: none)" },
		{ "policy:\n  prefixes:\n    - {prefix: 100.64.0.0/10, class: residential}\n",
		  "t.yaml:3:38: policy.prefixes[0].class: no class "
		  "residential in policy.classes (defined: default)" },
		{ "policy:\n  prefixes:\n    - {prefix: 100.64.0.0/10, class: default, ipv6_aggregate: 56}\n",
		  "t.yaml:3:63: policy.prefixes[0].ipv6_aggregate: needs an "
		  "IPv6 prefix no longer than 56" },
		{ "policy:\n  prefixes:\n    - {prefix: \"2001:db8::/32\", class: default, ipv6_aggregate: 24}\n",
		  "t.yaml:3:65: policy.prefixes[0].ipv6_aggregate: needs an "
		  "IPv6 prefix no longer than 24" },
		{ "policy:\n  ipv6_aggregate: 16\n",
		  "t.yaml:2:19: policy.ipv6_aggregate: 16 is out of range "
		  "32..128" },
		{ "identity:\n  static:\n    - {prefix: 192.0.2.0/24, subscriber: c1, class: business}\n",
		  "t.yaml:3:53: identity.static[0].class: no class business "
		  "in policy.classes (defined: default)" },
		{ "policy:\n  classes:\n    default: {action: redirect}\n",
		  "t.yaml:3:23: policy.classes.default.action: redirect "
		  "requires smarthost.address" },
		{ "policy:\n  classes:\n    default:\n      mx: {messages: 5/1h, action: redirect}\n",
		  "t.yaml:4:36: policy.classes.default.mx.action: redirect "
		  "requires smarthost.address" },
		{ "smarthost: {address: 192.0.2.25:25}\npolicy:\n  classes:\n    default:\n      submission: {action: redirect}\n",
		  "t.yaml:5:28: policy.classes.default.submission.action: "
		  "redirect applies to mx traffic only" },
		{ "audit:\n  recipients: hmac\n",
		  "t.yaml:2:15: audit.recipients: hmac requires "
		  "audit.hmac_key_file" },
		{ "audit:\n  index: redis\n",
		  "t.yaml:2:10: audit.index: redis requires a redis section" },
		{ "smarthost:\n  address: 192.0.2.25:25\n  auth_user: gw1\n",
		  "t.yaml:3:14: smarthost.auth_user: requires "
		  "smarthost.auth_password_file" },
		{ "smarthost:\n  address: 192.0.2.25:25\n  auth_password_file: @D@/relay\n",
		  "t.yaml:3:23: smarthost.auth_password_file: requires "
		  "smarthost.auth_user" },
		{ "smarthost:\n  address: 192.0.2.25:25\n  auth_user: gw1\n"
		  "  auth_password_file: @D@/relay\n  verify_name: \"\"\n",
		  "t.yaml:3:14: smarthost.auth_user: requires "
		  "smarthost.verify_name (the name the smarthost's certificate "
		  "must carry)" },
		{ "policy:\n  classes:\n    default: {starttls_refusal: drop}\n",
		  "t.yaml:3:33: policy.classes.default.starttls_refusal: "
		  "expected one of continue, close" },
		{ "smarthost:\n  starttls: yes\n",
		  "t.yaml:2:13: smarthost.starttls: expected one of require, "
		  "opportunistic, off" },
		{ "admin: {listen: localhost:9925}\n",
		  "t.yaml:1:17: admin.listen: expected a numeric address and "
		  "port such as 192.0.2.25:25 or [2001:db8::25]:25, got "
		  "localhost:9925" },
	};
	char err[512], *yaml, *want;
	struct config *c;
	size_t i;

	make_secrets();
	secret_file("open", "pw\n", 0644);
	secret_file("empty", "\n", 0600);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		yaml = subst(t[i].yaml);
		want = subst(t[i].want);
		memset(err, 'X', sizeof(err));
		c = load(yaml, err, sizeof(err));
		CU_ASSERT_PTR_NULL(c);
		config_free(c);
		if (c != NULL || strcmp(err, want) != 0)
			fprintf(stderr, "\ncase %zu:\n got: %s\nwant: %s\n", i,
			    c != NULL ? "(loaded)" : err, want);
		CU_ASSERT_STRING_EQUAL(err, want);
		free(yaml);
		free(want);
	}
	secrets_cleanup();
}

/* identity.radius.class_attribute: "" (off), Class, Filter-Id. */
static void
test_class_attribute(void)
{
	static const char *const vals[] = { "\"\"", "Class", "Filter-Id" };
	static const char *const want[] = { NULL, "Class", "Filter-Id" };
	char err[512], src[512], *yaml;
	struct config *c;

	make_secrets();
	for (size_t i = 0; i < 3; i++) {
		snprintf(src, sizeof(src), "identity:\n  radius:\n    clients:\n"
		    "      - {address: 192.0.2.10, secret_file: @D@/nas1}\n"
		    "    class_attribute: %s\n", vals[i]);
		yaml = subst(src);
		c = load(yaml, err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL(c);
		if (c == NULL) {
			fprintf(stderr, "\nclass_attribute %s: %s\n", vals[i], err);
		} else if (want[i] == NULL) {
			CU_ASSERT_PTR_NULL(c->identity.radius.class_attribute);
		} else {
			CU_ASSERT_STRING_EQUAL(c->identity.radius.class_attribute,
			    want[i]);
		}
		config_free(c);
		free(yaml);
	}
	secrets_cleanup();
}

int
suite_config_register(void)
{
	CU_pSuite s = CU_add_suite("config", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "default", test_default) == NULL ||
	    CU_add_test(s, "empty", test_empty) == NULL ||
	    CU_add_test(s, "override", test_override) == NULL ||
	    CU_add_test(s, "values", test_values) == NULL ||
	    CU_add_test(s, "roundtrip", test_roundtrip) == NULL ||
	    CU_add_test(s, "errors", test_errors) == NULL ||
	    CU_add_test(s, "errbuf", test_errbuf) == NULL ||
	    CU_add_test(s, "file", test_file) == NULL ||
	    CU_add_test(s, "deploy_example", test_deploy_example) == NULL ||
	    CU_add_test(s, "policy_defaults", test_policy_defaults) == NULL ||
	    CU_add_test(s, "policy_full", test_policy_full) == NULL ||
	    CU_add_test(s, "policy_roundtrip", test_policy_roundtrip) == NULL ||
	    CU_add_test(s, "secrets", test_secrets) == NULL ||
	    CU_add_test(s, "policy_errors", test_policy_errors) == NULL ||
	    CU_add_test(s, "class_attribute", test_class_attribute) == NULL)
		return -1;
	return 0;
}
