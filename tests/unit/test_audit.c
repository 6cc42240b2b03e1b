/*
 * test_audit.c - the audit trail's pure parts and its writer: recipient
 * normalisation and HMAC vectors (RFC 4231 and ours, as documented in
 * docs/audit.md), key parts and index keys, the record id rule, index keys
 * from a record's facts, time parsing, the HMAC key file,
 * records built from hostile input (huge and odd Message-IDs, EHLO names,
 * queue ids) in each recipients mode, the write-failure queue (RLIMIT_FSIZE
 * makes the file refuse writes, partially and then wholly), a worker's batch
 * (nothing written before the flush, 64 KiB flushes by itself, a batch cut
 * short by the disk keeps its records whole and in order), session ids, and
 * GeoIP lookups against MaxMind's test databases in tests/data/mmdb.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "audit.h"
#include "audit_key.h"
#include "config.h"
#include "err.h"
#include "geoip.h"
#include "suites.h"
#include "util.h"

#ifndef SUBGATE_TESTDATA_DIR
#define SUBGATE_TESTDATA_DIR "tests/data"
#endif
#define MMDB_DIR SUBGATE_TESTDATA_DIR "/mmdb"

static void
test_rcpt_normalize(void)
{
	static const struct {
		const char *in, *out;	/* out NULL: SG_EINVAL */
	} cases[] = {
		{ "victim@example.org", "victim@example.org" },
		{ "<Victim@Example.ORG>", "Victim@example.org" },
		{ "  <a@B.c>  ", "a@b.c" },
		{ "< a@B.c >", "a@b.c" },
		{ "@relay1.example,@relay2.example:User@Dest.EXAMPLE",
		    "User@dest.example" },
		{ "<@r.example:u@D.E>", "u@d.e" },
		{ "\"Odd@Local\"@Ex.COM", "\"Odd@Local\"@ex.com" },
		{ "postmaster", "postmaster" },
		{ "Postmaster@EXAMPLE.org", "Postmaster@example.org" },
		{ "<>", "" },
		{ "", "" },
	};
	char out[AUDIT_RCPT_MAX], big[AUDIT_RCPT_MAX + 10];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = audit_rcpt_normalize(out, sizeof(out), cases[i].in);

		CU_ASSERT_EQUAL(n, (int)strlen(cases[i].out));
		CU_ASSERT_STRING_EQUAL(out, cases[i].out);
		if (strcmp(out, cases[i].out) != 0)
			fprintf(stderr, "\n%s: got %s want %s\n", cases[i].in,
			    out, cases[i].out);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(audit_rcpt_normalize(out, sizeof(out), big), SG_EINVAL);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(audit_rcpt_normalize(out, 4, "a@b.c"), SG_EINVAL);
}

static void
test_hmac_vectors(void)
{
	char h[AUDIT_HMAC_HEX + 1];

	/* RFC 4231 test case 2 */
	audit_hmac_hex(h, "Jefe", 4, "what do ya want for nothing?", 28);
	CU_ASSERT_STRING_EQUAL(h, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
	/* docs/audit.md: printf '%s' 'Victim@example.org' |
	 *   openssl dgst -sha256 -hmac 'k3y-for-tests' */
	CU_ASSERT_EQUAL(audit_rcpt_hmac(h, "k3y-for-tests", 13,
	    " <Victim@EXAMPLE.org>"), 0);
	CU_ASSERT_STRING_EQUAL(h, "dd08aa0cf075f07b4f9744045a10a096"
	    "86296feddca834e8c7521ee7a50a2d2a");
	CU_ASSERT_EQUAL(audit_rcpt_hmac(h, "k3y-for-tests", 13,
	    "b@example.org"), 0);
	CU_ASSERT_STRING_EQUAL(h, "281caa4281818ea56064bcad3a6e445e"
	    "8c560b6017c0344ef49bea8db18c5034");
}

static void
test_key_part(void)
{
	char out[AUDIT_KEY_PART_MAX + 1], big[200];

	audit_key_part(out, "100.64.3.7", 10);
	CU_ASSERT_STRING_EQUAL(out, "100.64.3.7");
	audit_key_part(out, "alice@home.example", 18);
	CU_ASSERT_STRING_EQUAL(out, "alice@home.example");
	/* unsafe: "~" and SHA-1 */
	audit_key_part(out, "a b", 3);
	{
		char want[AUDIT_SHA1_HEX + 2];

		want[0] = '~';
		audit_sha1_hex(want + 1, "a b", 3);
		CU_ASSERT_STRING_EQUAL(out, want);
	}
	audit_sha1_hex(out, "abc", 3);	/* FIPS 180 */
	CU_ASSERT_STRING_EQUAL(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
	audit_key_part(out, "x\ny", 3);
	CU_ASSERT_EQUAL(out[0], '~');
	CU_ASSERT_EQUAL(strlen(out), 41);
	audit_key_part(out, "a\0b", 3);	/* NUL inside: hashed, not cut */
	CU_ASSERT_EQUAL(out[0], '~');
	audit_key_part(out, "", 0);
	CU_ASSERT_EQUAL(out[0], '~');
	memset(big, 'a', sizeof(big));
	audit_key_part(out, big, AUDIT_KEY_PART_MAX);
	CU_ASSERT_EQUAL(strlen(out), AUDIT_KEY_PART_MAX);
	audit_key_part(out, big, AUDIT_KEY_PART_MAX + 1);
	CU_ASSERT_EQUAL(out[0], '~');
	CU_ASSERT_EQUAL(strlen(out), 41);
}

static void
test_ix_key(void)
{
	char k[AUDIT_KEY_MAX], k2[AUDIT_KEY_MAX], sha[AUDIT_SHA1_HEX + 1],
	    mid[1100];

	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_SRC, "100.64.3.7"), 0);
	CU_ASSERT_STRING_EQUAL(k, "sg:ix:src:100.64.3.7");
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_SRC, "::ffff:100.64.3.7"), 0);
	CU_ASSERT_STRING_EQUAL(k, "sg:ix:src:100.64.3.7");
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_DST, "2001:DB8:0::25"), 0);
	CU_ASSERT_STRING_EQUAL(k, "sg:ix:dst:2001:db8::25");
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_SRC, "not an address"), 0);
	CU_ASSERT_EQUAL(strncmp(k, "sg:ix:src:~", 11), 0);
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_SUB, "alice@home.example"), 0);
	CU_ASSERT_STRING_EQUAL(k, "sg:ix:sub:alice@home.example");
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_QID, "4Xyz12"), 0);
	CU_ASSERT_STRING_EQUAL(k, "sg:ix:qid:4Xyz12");
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_QID, "A B\x01"), 0);
	CU_ASSERT_EQUAL(strncmp(k, "sg:ix:qid:~", 11), 0);
	/* Message-ID: brackets and white space do not matter */
	audit_sha1_hex(sha, "abc@example.net", 15);
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_MID, "<abc@example.net>"), 0);
	CU_ASSERT_EQUAL(audit_ix_key(k2, AUDIT_IX_MID, " abc@example.net "), 0);
	CU_ASSERT_STRING_EQUAL(k, k2);
	CU_ASSERT_EQUAL(strcmp(k + 10, sha), 0);
	/* a huge one is still a 40-digit key */
	mid[0] = '<';
	memset(mid + 1, 'x', 1000);
	strcpy(mid + 1001, "@e>");
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_MID, mid), 0);
	CU_ASSERT_EQUAL(strlen(k), 10 + AUDIT_SHA1_HEX);
	/* recipients: normalised; an HMAC stays as it is */
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_RCPT, "<V@Example.ORG>"), 0);
	CU_ASSERT_STRING_EQUAL(k, "sg:ix:rcpt:V@example.org");
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_RCPT,
	    "281caa4281818ea56064bcad3a6e445e8c560b6017c0344ef49bea8db18c5034"), 0);
	CU_ASSERT_STRING_EQUAL(k, "sg:ix:rcpt:"
	    "281caa4281818ea56064bcad3a6e445e8c560b6017c0344ef49bea8db18c5034");
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_RCPT, "<>"), SG_EINVAL);
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_SUB, ""), SG_EINVAL);
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_MID, "<>"), SG_EINVAL);
	CU_ASSERT_EQUAL(audit_rec_key(k, "006b0b563001b2b3da8d3d1d-1"), 0);
	CU_ASSERT_STRING_EQUAL(k, "sg:rec:006b0b563001b2b3da8d3d1d-1");
	CU_ASSERT_EQUAL(audit_rec_key(k, "bad id"), SG_EINVAL);
}

/* test_record_id - one id rule for writer, index and `subgate trace`:
 * what the writer makes is taken; what `subgate trace` once took with a
 * rule of its own (no or a non-integer seq read as 0, an empty id, any
 * character, a long id cut to fit) is refused. */
static void
test_record_id(void)
{
	static const struct {
		const char *json, *id;	/* id NULL: refused */
	} cases[] = {
		{ "{\"type\":\"session\",\"id\":\"006b0b563001b2b3da8d3d1d\"}",
		    "006b0b563001b2b3da8d3d1d" },
		{ "{\"type\":\"txn\",\"session\":\"006b0b563001b2b3da8d3d1d\","
		    "\"seq\":12}", "006b0b563001b2b3da8d3d1d-12" },
		/* accepted by trace.c's copy, refused by the writer's rule */
		{ "{\"type\":\"txn\",\"session\":\"006b0b563001b2b3da8d3d1d\"}",
		    NULL },
		{ "{\"type\":\"txn\",\"session\":\"006b0b563001b2b3da8d3d1d\","
		    "\"seq\":\"1\"}", NULL },
		{ "{\"type\":\"session\",\"id\":\"\"}", NULL },
		{ "{\"type\":\"session\",\"id\":\"a b\"}", NULL },
		{ "{\"type\":\"session\",\"id\":\"x\\\"}\"}", NULL },
		{ "{\"type\":\"txn\",\"session\":\"\",\"seq\":1}", NULL },
		/* cut to fit by both copies: two such ids would be one */
		{ "{\"type\":\"session\",\"id\":\""
		    "0123456789012345678901234567890123456789012345678\"}", NULL },
		{ "{\"type\":\"txn\",\"session\":\""
		    "012345678901234567890123456789012345678901234\",\"seq\":10}",
		    NULL },
		{ "{\"type\":\"txn\",\"session\":\"006b0b563001b2b3da8d3d1d\","
		    "\"seq\":-1}", NULL },
		{ "{\"type\":\"other\",\"id\":\"006b0b563001b2b3da8d3d1d\"}",
		    NULL },
		{ "{\"id\":\"006b0b563001b2b3da8d3d1d\"}", NULL },
	};
	char id[AUDIT_RECID_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);
		int rc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(j);
		rc = audit_record_id(j, id);
		if (cases[i].id != NULL) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_STRING_EQUAL(id, cases[i].id);
		} else {
			CU_ASSERT_EQUAL(rc, SG_EINVAL);
			CU_ASSERT_STRING_EQUAL(id, "");
		}
		json_decref(j);
	}
}

/* test_facts_keys - keys from facts: in the order src, sub, dst, mid, qid,
 * rcpts, each once, at most max; a value that is not UTF-8 keyed as the
 * record's text has it ('?' for every byte >= 0x80). */
static void
test_facts_keys(void)
{
	struct audit_facts f, g;
	char id[AUDIT_RECID_MAX], keys[AUDIT_IX_MAX][AUDIT_KEY_MAX];
	char k[AUDIT_KEY_MAX];
	int n;

	memset(&f, 0, sizeof(f));
	f.type = AUDIT_REC_TXN;
	f.session = "006b0b563001b2b3da8d3d1d";
	f.seq = 2;
	f.src = "100.64.3.7";
	f.subscriber = "100.64.3.7";	/* another kind: its own key */
	f.dst = "89.160.20.112";
	f.message_id = "<m\xff@x>";
	f.queue_id = "";		/* absent */
	f.rcpts[0] = "a@example.org";
	f.rcpts[1] = "<a@EXAMPLE.org>";	/* the same after normalising */
	f.rcpts[2] = NULL;
	f.nrcpts = 3;
	n = audit_facts_keys(&f, id, keys, AUDIT_IX_MAX);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT_STRING_EQUAL(id, "006b0b563001b2b3da8d3d1d-2");
	CU_ASSERT_STRING_EQUAL(keys[0], "sg:ix:src:100.64.3.7");
	CU_ASSERT_STRING_EQUAL(keys[1], "sg:ix:sub:100.64.3.7");
	CU_ASSERT_STRING_EQUAL(keys[2], "sg:ix:dst:89.160.20.112");
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_MID, "<m?@x>"), 0);
	CU_ASSERT_STRING_EQUAL(keys[3], k);
	CU_ASSERT_STRING_EQUAL(keys[4], "sg:ix:rcpt:a@example.org");
	CU_ASSERT_EQUAL(audit_facts_keys(&f, id, keys, 2), 2);
	g = f;
	g.seq = -1;
	CU_ASSERT_EQUAL(audit_facts_keys(&g, id, keys, AUDIT_IX_MAX), SG_EINVAL);
	g = f;
	g.type = AUDIT_REC_NONE;
	CU_ASSERT_EQUAL(audit_facts_keys(&g, id, keys, AUDIT_IX_MAX), SG_EINVAL);
}

static void
test_parse_time(void)
{
	static const struct {
		const char *in;
		int64_t ms;	/* -1: rejected */
	} cases[] = {
		{ "2026-11-20T10:03:12Z", 1795168992000LL },
		{ "2026-11-20T10:03:12.345Z", 1795168992345LL },
		{ "2026-11-20T10:03:12.3Z", 1795168992300LL },
		{ "2026-11-20 10:03:12", 1795168992000LL },
		{ "2026-11-20T11:03:12+01:00", 1795168992000LL },
		{ "2026-11-20T05:03:12-0500", 1795168992000LL },
		{ "2026-11-20T10:03Z", 1795168980000LL },
		{ "2026-11-20", 1795132800000LL },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-13-20T10:03:12Z", -1 },
		{ "2026-11-20T25:03:12Z", -1 },
		{ "2026-11-20T10:03:12ZZ", -1 },
		{ "2026-11-20T10:03:12.Z", -1 },
		{ "20261120", -1 },
		{ "", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -42;
		int rc = audit_parse_time(cases[i].in, &ms);

		if (cases[i].ms < 0) {
			CU_ASSERT_EQUAL(rc, SG_EINVAL);
			continue;
		}
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(ms, cases[i].ms);
		if (ms != cases[i].ms)
			fprintf(stderr, "\n%s: got %lld\n", cases[i].in,
			    (long long)ms);
	}
}

static void
write_file(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, s, n), (ssize_t)n);
	close(fd);
}

static void
test_key_load(void)
{
	char path[] = "/tmp/sg_test_keyXXXXXX";
	unsigned char *k;
	size_t n;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	write_file(path, "k3y-for-tests\nsecond line\n", 26);
	CU_ASSERT_EQUAL(audit_key_load(path, &k, &n), 0);
	CU_ASSERT_EQUAL(n, 13);
	CU_ASSERT_EQUAL(memcmp(k, "k3y-for-tests", 13), 0);
	free(k);
	write_file(path, "x\r\n", 3);
	CU_ASSERT_EQUAL(audit_key_load(path, &k, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(k);
	write_file(path, "\nkey", 4);
	CU_ASSERT_EQUAL(audit_key_load(path, &k, &n), SG_EINVAL);
	write_file(path, "", 0);
	CU_ASSERT_EQUAL(audit_key_load(path, &k, &n), SG_EINVAL);
	unlink(path);
	CU_ASSERT_EQUAL(audit_key_load(path, &k, &n), -ENOENT);
}

/* Records ---------------------------------------------------------------- */

static struct config *
conf_with(const char *audit_yaml)
{
	char yaml[1024], err[256];
	struct config *c;

	snprintf(yaml, sizeof(yaml), "node: test-gw\naudit:\n  path: \"-\"\n%s",
	    audit_yaml);
	c = config_load_string(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "\n%s\n", err);
	return c;
}

/* read_records - the JSON lines of path; *bad counts the others. */
static size_t
read_records(const char *path, json_t **out, size_t max, size_t *bad)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	*bad = 0;
	if (f == NULL)
		return 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		json_t *j = json_loadb(line, (size_t)len, 0, NULL);

		if (j == NULL) {
			(*bad)++;
			continue;
		}
		if (n < max)
			out[n++] = j;
		else
			json_decref(j);
	}
	free(line);
	fclose(f);
	return n;
}

static char sink_keys[AUDIT_IX_MAX][AUDIT_KEY_MAX];
static int sink_nkeys, sink_calls;

/* test_sink - the text is the record, and the facts the sink gets are
 * what the index reads from it: the same id, keys and start as `subgate
 * trace` finds in the parsed text. */
static void
test_sink(const struct audit_facts *f, const char *line, size_t len)
{
	char id[AUDIT_RECID_MAX], id2[AUDIT_RECID_MAX];
	static char keys2[AUDIT_IX_MAX][AUDIT_KEY_MAX];
	json_t *j = json_loadb(line, len, 0, NULL);
	struct audit_facts fj;
	int n2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	sink_calls++;
	sink_nkeys = audit_facts_keys(f, id, sink_keys, AUDIT_IX_MAX);
	n2 = audit_record_keys(j, id2, keys2, AUDIT_IX_MAX);
	CU_ASSERT(sink_nkeys > 0);
	CU_ASSERT_EQUAL(sink_nkeys, n2);
	CU_ASSERT_STRING_EQUAL(id, id2);
	for (int i = 0; i < sink_nkeys && i < n2; i++)
		CU_ASSERT_STRING_EQUAL(sink_keys[i], keys2[i]);
	CU_ASSERT_EQUAL_FATAL(audit_facts_from_json(&fj, j), 0);
	CU_ASSERT(f->start_known && fj.start_known);
	CU_ASSERT_EQUAL(f->start_ms, fj.start_ms);
	json_decref(j);
}

static int
has_key(const char *k)
{
	for (int i = 0; i < sink_nkeys; i++)
		if (strcmp(sink_keys[i], k) == 0)
			return 1;
	return 0;
}

/* one_session - write a session with hostile strings and one txn. */
static void
one_session(const struct config *c, const char *mid, const char *ehlo,
    const char *qid)
{
	struct audit_session rec;
	struct smtp_info info;
	struct smtp_txn t;
	union sockaddr_any src, dst, up;
	const char *rcpts[] = { "<Victim@Example.ORG>", "b@example.org" };

	CU_ASSERT_EQUAL(addr_parse(&src, "100.64.3.7:41234", -1), 0);
	CU_ASSERT_EQUAL(addr_parse(&dst, "89.160.20.112:25", -1), 0);
	CU_ASSERT_EQUAL(addr_parse(&up, "192.0.2.1:53017", -1), 0);
	audit_session_init(&rec, 3, 77, 0, LISTEN_SMTP, &src, &dst);
	/* the gateway's own connection to dst, as the MX logged it */
	audit_addr_set(&rec.up_src, &up);
	memset(&info, 0, sizeof(info));
	info.cls = SMTP_CLASS_MX;
	info.greeting_host = "mx.example";
	info.ehlo = ehlo;
	info.auth_mech = "";
	info.auth_user = "";
	audit_session_fill(&rec, &info);
	memset(&t, 0, sizeof(t));
	t.seq = 1;
	t.start_ms = rec.start_ms;
	t.end_ms = rec.start_ms + 5;
	t.mail_from = "bot@example.net";
	t.rcpts = rcpts;
	t.nrcpts_kept = 2;
	t.nrcpts_accepted = 2;
	t.message_id = mid;
	t.size = 300;
	t.data_reply_code = 250;
	t.data_reply = "250 2.0.0 Ok: queued as 4Xyz12";
	t.queue_id = qid;
	t.outcome = "accepted";
	audit_write_txn(c, &rec, &t);
	audit_session_set_reason(&rec, "quit");
	audit_write_session(c, &rec);
	audit_session_free(&rec);
}

static void
test_records(void)
{
	char path[] = "/tmp/sg_test_auditXXXXXX", mid[1100], ehlo[300], k[AUDIT_KEY_MAX];
	struct config *c;
	json_t *r[4];
	size_t n, bad;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	c = conf_with("  recipients: full\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* a 998-octet Message-ID with quotes, backslashes, control and
	 * non-UTF-8 octets; an EHLO name of the same kind */
	memset(mid, 'm', 998);
	memcpy(mid, "<\"q\"\\\x01\xff", 7);
	mid[997] = '>';
	mid[998] = '\0';
	memset(ehlo, 'e', 255);
	memcpy(ehlo, "\x1b[31m\xc3(\n", 8);
	ehlo[255] = '\0';
	audit_set_sink(test_sink);
	sink_calls = 0;
	CU_ASSERT_EQUAL_FATAL(audit_open(path), 0);
	one_session(c, mid, ehlo, "A B\x01");
	audit_close();
	audit_set_sink(NULL);
	CU_ASSERT_EQUAL(sink_calls, 2);
	n = read_records(path, r, 4, &bad);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r[0], "type")),
	    "txn");
	/* invalid UTF-8 kept as '?', everything else exactly */
	CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(r[0],
	    "message_id"))), 998);
	CU_ASSERT_EQUAL(strncmp(json_string_value(json_object_get(r[0],
	    "message_id")), "<\"q\"\\\x01?", 7), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(r[0], "rcpts")), 2);
	CU_ASSERT_PTR_NULL(json_object_get(r[0], "rcpts_hmac"));
	CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(r[1], "ehlo"))),
	    255);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r[1], "src")),
	    "100.64.3.7");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r[1], "src_port")),
	    41234);
	CU_ASSERT_PTR_NULL(json_object_get(r[1], "dst_asn"));	/* no db */
	/* both sides, in both records: a complaint quotes the upstream one */
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r[i],
		    "upstream_src")), "192.0.2.1");
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(r[i],
		    "upstream_src_port")), 53017);
	}
	/* index keys of the session: nothing raw from the client */
	CU_ASSERT(has_key("sg:ix:src:100.64.3.7"));
	CU_ASSERT(has_key("sg:ix:src:192.0.2.1"));
	CU_ASSERT(has_key("sg:ix:dst:89.160.20.112"));
	for (int i = 0; i < sink_nkeys; i++)
		for (const char *p = sink_keys[i]; *p; p++)
			CU_ASSERT(*p > 0x20 && *p < 0x7f);
	for (size_t i = 0; i < n; i++)
		json_decref(r[i]);
	config_free(c);

	/* hmac: no address in the record, the HMAC in the index */
	c = conf_with("  recipients: hmac\n  hmac_key: k3y-for-tests\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	truncate(path, 0);
	audit_set_sink(test_sink);
	CU_ASSERT_EQUAL_FATAL(audit_open(path), 0);
	one_session(c, "<abc@example.net>", "vm", "4Xyz12");
	audit_close();
	n = read_records(path, r, 4, &bad);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_PTR_NULL(json_object_get(r[0], "rcpts"));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(r[0], "rcpts_hmac")), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(
	    r[0], "rcpts_hmac"), 0)),
	    "dd08aa0cf075f07b4f9744045a10a09686296feddca834e8c7521ee7a50a2d2a");
	/* the sink saw the session last; check the txn's keys instead */
	{
		char id[AUDIT_RECID_MAX];

		sink_nkeys = audit_record_keys(r[0], id, sink_keys, AUDIT_IX_MAX);
		CU_ASSERT_EQUAL(strncmp(id, json_string_value(json_object_get(r[1],
		    "id")), 24), 0);
		CU_ASSERT_STRING_EQUAL(id + 24, "-1");
	}
	CU_ASSERT(has_key("sg:ix:qid:4Xyz12"));
	CU_ASSERT_EQUAL(audit_ix_key(k, AUDIT_IX_MID, "abc@example.net"), 0);
	CU_ASSERT(has_key(k));
	CU_ASSERT(has_key("sg:ix:rcpt:"
	    "dd08aa0cf075f07b4f9744045a10a09686296feddca834e8c7521ee7a50a2d2a"));
	CU_ASSERT(has_key("sg:ix:sub:100.64.3.7"));
	audit_set_sink(NULL);
	for (size_t i = 0; i < n; i++)
		json_decref(r[i]);
	config_free(c);

	/* count: neither list */
	c = conf_with("  recipients: count\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	truncate(path, 0);
	CU_ASSERT_EQUAL_FATAL(audit_open(path), 0);
	one_session(c, "", "", "");
	audit_close();
	n = read_records(path, r, 4, &bad);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_PTR_NULL(json_object_get(r[0], "rcpts"));
	CU_ASSERT_PTR_NULL(json_object_get(r[0], "rcpts_hmac"));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r[0], "rcpt_count")),
	    2);
	for (size_t i = 0; i < n; i++)
		json_decref(r[i]);
	config_free(c);
	unlink(path);
}

/* test_write_failure - the file refuses writes (RLIMIT_FSIZE: the first
 * write is cut short, then EFBIG), records queue in order, port 25 may
 * tempfail, and once the file takes writes again everything is there:
 * whole records, plus one fragment line that readers skip. */
static void
test_write_failure(void)
{
	char path[] = "/tmp/sg_test_auditXXXXXX";
	struct config *cont, *temp;
	struct audit_stats st, st0;
	struct rlimit old, lim;
	struct stat sb;
	json_t *r[16];
	size_t n, bad;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	cont = conf_with("  on_write_error: continue\n");
	temp = conf_with("  on_write_error: tempfail\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cont);
	CU_ASSERT_PTR_NOT_NULL_FATAL(temp);
	signal(SIGXFSZ, SIG_IGN);
	CU_ASSERT_EQUAL_FATAL(audit_open(path), 0);
	audit_get_stats(&st0);
	one_session(cont, "<first@x>", "vm", "");		/* 2 records */
	CU_ASSERT_EQUAL(audit_failing(), 0);
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	CU_ASSERT_EQUAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)sb.st_size + 100;
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	one_session(cont, "<second@x>", "vm", "");	/* cut short, queued */
	one_session(cont, "<third@x>", "vm", "");	/* queued */
	CU_ASSERT_EQUAL(audit_failing(), 1);
	CU_ASSERT_EQUAL(audit_tempfail(temp), 1);
	CU_ASSERT_EQUAL(audit_tempfail(cont), 0);
	audit_get_stats(&st);
	CU_ASSERT(st.write_errors > st0.write_errors);
	CU_ASSERT_EQUAL(st.queued_now, 4);
	CU_ASSERT_EQUAL(st.lost, st0.lost);
	audit_tick();			/* too early: still failing */
	CU_ASSERT_EQUAL(audit_failing(), 1);
	setrlimit(RLIMIT_FSIZE, &old);	/* the disk has room again */
	usleep(1100 * 1000);
	audit_tick();
	CU_ASSERT_EQUAL(audit_failing(), 0);
	CU_ASSERT_EQUAL(audit_tempfail(temp), 0);
	audit_get_stats(&st);
	CU_ASSERT_EQUAL(st.queued_now, 0);
	CU_ASSERT_EQUAL(st.written_from_queue - st0.written_from_queue, 4);
	audit_close();
	n = read_records(path, r, 16, &bad);
	CU_ASSERT_EQUAL(n, 6);
	CU_ASSERT_EQUAL(bad, 1);	/* the fragment of the cut record */
	if (n == 6) {
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r[2],
		    "message_id")), "<second@x>");
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r[4],
		    "message_id")), "<third@x>");
	}
	for (size_t i = 0; i < n; i++)
		json_decref(r[i]);

	/* Still failing at exit: the records go to stderr, counted lost. */
	CU_ASSERT_EQUAL_FATAL(audit_open(path), 0);
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	lim.rlim_cur = (rlim_t)sb.st_size;
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	one_session(cont, "<lost@x>", "vm", "");
	audit_close();
	setrlimit(RLIMIT_FSIZE, &old);
	audit_get_stats(&st);
	CU_ASSERT_EQUAL(st.lost - st0.lost, 2);
	CU_ASSERT_EQUAL(audit_failing(), 0);
	config_free(cont);
	config_free(temp);
	unlink(path);
}

/* Batches ---------------------------------------------------------------- */

static off_t
file_size(const char *path)
{
	struct stat sb;

	CU_ASSERT_FATAL(stat(path, &sb) == 0);
	return sb.st_size;
}

static char batch_line[8192];
static size_t batch_len;

static void
batch_sink(const struct audit_facts *f, const char *line, size_t len)
{
	sink_calls++;
	batch_len = MIN(len, sizeof(batch_line));
	memcpy(batch_line, line, batch_len);
}

/* test_batch - a worker's records wait for audit_flush (the sink sees them
 * at once), go out together, and 64 KiB go out without a flush. */
static void
test_batch(void)
{
	char path[] = "/tmp/sg_test_auditXXXXXX", *text;
	struct config *c = conf_with("  recipients: full\n");
	struct audit_stats st0, st;
	json_t *r[8];
	size_t n, bad;
	off_t sz;
	FILE *f;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(audit_open(path), 0);
	audit_get_stats(&st0);
	audit_set_sink(batch_sink);
	sink_calls = 0;
	audit_thread_begin();
	one_session(c, "<a@x>", "vm", "");
	one_session(c, "<b@x>", "vm", "");
	CU_ASSERT_EQUAL(file_size(path), 0);	/* waiting for the flush */
	CU_ASSERT_EQUAL(sink_calls, 4);
	audit_flush();
	audit_set_sink(NULL);
	audit_get_stats(&st);
	CU_ASSERT_EQUAL(st.written - st0.written, 4);
	n = read_records(path, r, 8, &bad);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r[0],
	    "message_id")), "<a@x>");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r[2],
	    "message_id")), "<b@x>");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r[3],
	    "type")), "session");
	for (size_t i = 0; i < n; i++)
		json_decref(r[i]);
	/* the sink got the file's text: the last line is the last record */
	text = xmalloc((size_t)file_size(path) + 1);
	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	sz = (off_t)fread(text, 1, (size_t)file_size(path), f);
	fclose(f);
	CU_ASSERT_EQUAL(text[sz - 1], '\n');
	CU_ASSERT(sz > (off_t)batch_len);
	CU_ASSERT_EQUAL(memcmp(text + sz - 1 - batch_len, batch_line, batch_len),
	    0);
	free(text);
	audit_flush();			/* nothing waiting: no write */
	CU_ASSERT_EQUAL(file_size(path), sz);

	/* 64 KiB go out by themselves, whole records */
	for (int i = 0; i < 200 && file_size(path) == sz; i++)
		one_session(c, "<fill@x>", "vm", "");
	CU_ASSERT(file_size(path) > sz + 64 * 1024);
	sz = file_size(path);
	one_session(c, "<last@x>", "vm", "");
	CU_ASSERT_EQUAL(file_size(path), sz);
	audit_thread_end();		/* flushes */
	CU_ASSERT(file_size(path) > sz);
	n = read_records(path, r, 0, &bad);
	CU_ASSERT_EQUAL(bad, 0);
	audit_get_stats(&st);
	audit_close();
	config_free(c);
	unlink(path);
}

/* test_batch_failure - the disk cuts a batch short: the records before the
 * cut count as written, the cut one and the rest queue in order and come
 * out whole (the fragment is one line readers skip); a batch while failing
 * queues behind them. */
static void
test_batch_failure(void)
{
	char path[] = "/tmp/sg_test_auditXXXXXX";
	struct config *c = conf_with("  recipients: full\n");
	struct audit_stats st0, st;
	struct rlimit old, lim;
	json_t *r[16];
	size_t n, bad;
	off_t pair;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	signal(SIGXFSZ, SIG_IGN);
	CU_ASSERT_EQUAL_FATAL(audit_open(path), 0);
	audit_get_stats(&st0);
	audit_thread_begin();
	one_session(c, "<b0@x>", "vm", "");
	audit_flush();
	pair = file_size(path);		/* one txn + one session record */
	CU_ASSERT_EQUAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)(2 * pair + 50);	/* cuts the 3rd record */
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	one_session(c, "<b1@x>", "vm", "");
	one_session(c, "<b2@x>", "vm", "");
	one_session(c, "<b3@x>", "vm", "");
	audit_flush();
	CU_ASSERT_EQUAL(audit_failing(), 1);
	audit_get_stats(&st);
	CU_ASSERT_EQUAL(st.written - st0.written, 4);
	CU_ASSERT_EQUAL(st.queued_now, 4);
	one_session(c, "<b4@x>", "vm", "");	/* while failing: queued */
	audit_flush();
	audit_get_stats(&st);
	CU_ASSERT_EQUAL(st.queued_now, 6);
	CU_ASSERT_EQUAL(st.lost, st0.lost);
	setrlimit(RLIMIT_FSIZE, &old);
	usleep(1100 * 1000);
	audit_tick();
	CU_ASSERT_EQUAL(audit_failing(), 0);
	audit_get_stats(&st);
	CU_ASSERT_EQUAL(st.queued_now, 0);
	CU_ASSERT_EQUAL(st.written - st0.written, 10);
	CU_ASSERT_EQUAL(st.written_from_queue - st0.written_from_queue, 6);
	audit_thread_end();
	audit_close();
	n = read_records(path, r, 16, &bad);
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT_EQUAL(bad, 1);
	if (n == 10) {
		static const char *const mids[] = { "<b0@x>", "<b1@x>",
			"<b2@x>", "<b3@x>", "<b4@x>" };

		for (int i = 0; i < 5; i++)
			CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
			    r[2 * i], "message_id")), mids[i]);
	}
	for (size_t i = 0; i < n; i++)
		json_decref(r[i]);
	config_free(c);
	unlink(path);
}

/* test_session_id - the id as audit.h lays it out; reasons cut to fit. */
static void
test_session_id(void)
{
	struct audit_session rec;
	union sockaddr_any src, dst;
	char want[AUDIT_ID_LEN + 1];
	uint32_t h = 2166136261u;

	for (const char *p = "test-gw"; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ (h >> 24)) & 0xffffff;
	audit_set_node("test-gw");
	CU_ASSERT_EQUAL(addr_parse(&src, "[2001:db8::7]:41234", -1), 0);
	CU_ASSERT_EQUAL(addr_parse(&dst, "89.160.20.112:25", -1), 0);
	audit_session_init(&rec, 0x1ab, 0x12345678, 0, LISTEN_SMTP, &src, &dst);
	snprintf(want, sizeof(want), "%010llx%02x%06x%06x",
	    (unsigned long long)(rec.start_ms / 1000) & 0xffffffffffULL,
	    0xab, 0x345678, (unsigned)h);
	CU_ASSERT_STRING_EQUAL(rec.id, want);
	audit_session_set_reason(&rec, "a_reason_much_longer_than_the_field");
	CU_ASSERT_STRING_EQUAL(rec.end_reason, "a_reason_much_longer_than_the_f");
	audit_session_set_reason(&rec, NULL);
	CU_ASSERT_STRING_EQUAL(rec.end_reason, "unknown");
	audit_session_set_identity(&rec, "cust-1", "radius", "");
	CU_ASSERT_STRING_EQUAL(rec.subscriber, "cust-1");
	CU_ASSERT_PTR_NULL(rec.policy_class);
	audit_session_free(&rec);
	audit_set_node("");
}

/* GeoIP ------------------------------------------------------------------ */

static void
geo(const char *ip, struct geoip_result *g)
{
	union sockaddr_any a;

	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, ip, 0), 0);
	geoip_lookup(&a, g);
}

static void
test_geoip(void)
{
	struct geoip_result g;
	char err[256];

	/* the databases are part of the repository: missing is a failure */
	CU_ASSERT_EQUAL_FATAL(access(MMDB_DIR "/GeoLite2-ASN-Test.mmdb", R_OK), 0);
	CU_ASSERT_EQUAL_FATAL(access(MMDB_DIR "/GeoIP2-Country-Test.mmdb", R_OK), 0);
	CU_ASSERT_EQUAL(geoip_open(MMDB_DIR "/nonexistent.mmdb", NULL, err,
	    sizeof(err)), SG_ECONFIG);
	CU_ASSERT(strstr(err, "geoip.asn_db") != NULL);
	CU_ASSERT_EQUAL(geoip_enabled(), 0);
	CU_ASSERT_EQUAL_FATAL(geoip_open(MMDB_DIR "/GeoLite2-ASN-Test.mmdb",
	    MMDB_DIR "/GeoIP2-Country-Test.mmdb", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(geoip_enabled(), 1);
	geo("89.160.20.112", &g);
	CU_ASSERT_EQUAL(g.asn, 29518);
	CU_ASSERT_STRING_EQUAL(g.as_org, "Bredband2 AB");
	CU_ASSERT_STRING_EQUAL(g.country, "SE");
	geo("1.128.0.0", &g);
	CU_ASSERT_EQUAL(g.asn, 1221);
	CU_ASSERT_STRING_EQUAL(g.as_org, "Telstra Pty Ltd");
	geo("67.43.156.1", &g);		/* ASN without organisation */
	CU_ASSERT_EQUAL(g.asn, 35908);
	CU_ASSERT_STRING_EQUAL(g.as_org, "");
	CU_ASSERT_STRING_EQUAL(g.country, "BT");
	geo("2001:1700::1", &g);
	CU_ASSERT_EQUAL(g.asn, 6730);
	geo("2001:218::1", &g);
	CU_ASSERT_STRING_EQUAL(g.country, "JP");
	geo("::ffff:81.2.69.160", &g);
	CU_ASSERT_STRING_EQUAL(g.country, "GB");
	geo("214.1.1.1", &g);		/* found, no country */
	CU_ASSERT_STRING_EQUAL(g.country, "");
	geo("1.1.1.1", &g);
	CU_ASSERT_EQUAL(g.asn, 0);
	CU_ASSERT_STRING_EQUAL(g.country, "");
	geo("127.0.0.1", &g);
	CU_ASSERT_EQUAL(g.asn, 0);

	/* in the record */
	{
		char path[] = "/tmp/sg_test_auditXXXXXX";
		struct config *c = conf_with("");
		json_t *r[4];
		size_t n, bad;
		int fd = mkstemp(path);

		CU_ASSERT_FATAL(fd >= 0);
		close(fd);
		CU_ASSERT_EQUAL_FATAL(audit_open(path), 0);
		one_session(c, "<g@x>", "vm", "");	/* dst 89.160.20.112 */
		audit_close();
		n = read_records(path, r, 4, &bad);
		CU_ASSERT_EQUAL_FATAL(n, 2);
		for (size_t i = 0; i < n; i++) {
			CU_ASSERT_EQUAL(json_integer_value(json_object_get(r[i],
			    "dst_asn")), 29518);
			CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
			    r[i], "dst_as_org")), "Bredband2 AB");
			CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
			    r[i], "dst_country")), "SE");
			json_decref(r[i]);
		}
		config_free(c);
		unlink(path);
	}
	geoip_close();
	CU_ASSERT_EQUAL(geoip_enabled(), 0);
}

int
suite_audit_register(void)
{
	CU_pSuite s = CU_add_suite("audit", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "recipient normalisation", test_rcpt_normalize) == NULL ||
	    CU_add_test(s, "HMAC vectors", test_hmac_vectors) == NULL ||
	    CU_add_test(s, "key parts", test_key_part) == NULL ||
	    CU_add_test(s, "index keys", test_ix_key) == NULL ||
	    CU_add_test(s, "record id", test_record_id) == NULL ||
	    CU_add_test(s, "index keys from facts", test_facts_keys) == NULL ||
	    CU_add_test(s, "time parsing", test_parse_time) == NULL ||
	    CU_add_test(s, "HMAC key file", test_key_load) == NULL ||
	    CU_add_test(s, "records from hostile input", test_records) == NULL ||
	    CU_add_test(s, "write failure queue", test_write_failure) == NULL ||
	    CU_add_test(s, "worker batch", test_batch) == NULL ||
	    CU_add_test(s, "batch cut short by the disk",
	    test_batch_failure) == NULL ||
	    CU_add_test(s, "session id", test_session_id) == NULL ||
	    CU_add_test(s, "GeoIP lookups", test_geoip) == NULL)
		return -1;
	return 0;
}
