/*
 * test_config.c - configuration loading: the embedded default, defaults
 * under a partial file, value notations, the config_dump round trip, and one
 * exact "file:line:col: key.path: message" per class of error.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
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
	CU_ASSERT_EQUAL_FATAL(c->nlisteners, 2);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&c->listeners[0].addr, a, sizeof(a)),
	    "[::]:10025");
	CU_ASSERT_EQUAL(c->listeners[0].mode, LISTEN_SMTP);
	CU_ASSERT_EQUAL(c->listeners[0].intercept, INTERCEPT_REDIRECT);
	CU_ASSERT_EQUAL(c->listeners[0].upstream.sa.sa_family, AF_UNSPEC);
	CU_ASSERT_EQUAL(c->listeners[0].backlog, 1024);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&c->listeners[1].addr, a, sizeof(a)),
	    "[::]:10587");
	CU_ASSERT_EQUAL(c->listeners[1].mode, LISTEN_PASSTHROUGH);
	CU_ASSERT_EQUAL(c->listeners[1].intercept, INTERCEPT_REDIRECT);
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
	CU_ASSERT_EQUAL(c->drain_timeout, 30000);
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
	    "log: {level: debug}\n"
	    "shutdown: {drain_timeout: 0}\n");
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
		  "workers, listeners, upstream, limits, smtp, audit, log, "
		  "shutdown" },
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
	CU_ASSERT_EQUAL(c->nlisteners, 2);
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
 * path in the source tree. */
static void
test_deploy_example(void)
{
	static const char self[] = "tests/unit/test_config.c";
	char path[4096], err[512];
	const char *src = __FILE__;
	size_t n = strlen(src);
	struct config *c;

	CU_ASSERT_FATAL(n >= strlen(self) &&
	    strcmp(src + n - strlen(self), self) == 0);
	snprintf(path, sizeof(path), "%.*sdeploy/subgate.yaml",
	    (int)(n - strlen(self)), src);
	c = config_load(path, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->node, "gw1.edge.example.net");
	CU_ASSERT_STRING_EQUAL(c->audit_path, "/var/log/subgate/audit.jsonl");
	CU_ASSERT_EQUAL(c->nlisteners, 2);
	config_free(c);
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
	    CU_add_test(s, "deploy_example", test_deploy_example) == NULL)
		return -1;
	return 0;
}
