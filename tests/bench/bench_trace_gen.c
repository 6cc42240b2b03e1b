/*
 * bench_trace_gen.c - synthetic audit records for bench_trace.sh: N
 * sessions, each with one transaction, written as the Redis protocol
 * stream subgated's index writer would send (SET sg:rec:<id> <json> EX,
 * ZADD <index key> <start ms> <id>), for `redis-cli --pipe`. The keys come
 * from audit_record_keys(), the code subgated itself uses, so `subgate
 * trace` finds them exactly as it finds real ones. (The per-key EXPIRE and
 * the trims are left out: they do not change what a query reads.)
 *
 * usage: bench_trace_gen N PROBES_FILE [SEED] > stream
 * PROBES_FILE gets 1000 lines "addr port at message-id queue-id" of
 * sessions that exist, for the queries.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_key.h"
#include "util.h"

#define DAYS 8
#define NADDR 65536		/* subscriber addresses (100.64.0.0/16) */
#define NDST 4096		/* MX addresses (198.18.0.0/15, RFC 2544) */

static uint64_t rng;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
resp(FILE *out, int argc, const char **argv, const size_t *len)
{
	fprintf(out, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		fprintf(out, "$%zu\r\n", len[i]);
		fwrite(argv[i], 1, len[i], out);
		fputs("\r\n", out);
	}
}

/* emit - SET and ZADDs of one record. */
static void
emit(FILE *out, json_t *rec, int64_t start)
{
	char id[AUDIT_RECID_MAX], keys[AUDIT_IX_MAX][AUDIT_KEY_MAX];
	char rk[AUDIT_KEY_MAX], score[24];
	char *line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int nk = audit_record_keys(rec, id, keys, AUDIT_IX_MAX);
	const char *argv[5];
	size_t len[5];

	if (nk < 0 || audit_rec_key(rk, id) < 0) {
		fprintf(stderr, "bad record\n");
		exit(2);
	}
	snprintf(score, sizeof(score), "%lld", (long long)start);
	argv[0] = "SET"; argv[1] = rk; argv[2] = line; argv[3] = "EX";
	argv[4] = "691200";
	for (int i = 0; i < 5; i++)
		len[i] = strlen(argv[i]);
	resp(out, 5, argv, len);
	for (int k = 0; k < nk; k++) {
		argv[0] = "ZADD"; argv[1] = keys[k]; argv[2] = score; argv[3] = id;
		for (int i = 0; i < 4; i++)
			len[i] = strlen(argv[i]);
		resp(out, 4, argv, len);
	}
	free(line);
}

int
main(int argc, char **argv)
{
	long n;
	FILE *probes, *out = stdout;
	int64_t t0 = now_ms() - (int64_t)DAYS * 86400000;
	long every;
	char fmtb[40], fmte[40];

	if (argc < 3 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: bench_trace_gen N PROBES_FILE [SEED]\n");
		return 2;
	}
	rng = argc > 3 ? strtoull(argv[3], NULL, 10) : 88172645463325252ULL;
	if ((probes = fopen(argv[2], "w")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	every = n / 1000 > 0 ? n / 1000 : 1;
	for (long i = 0; i < n; i++) {
		/* sessions spread evenly over DAYS, ids sortable like real ones */
		int64_t start = t0 + (int64_t)((double)i * DAYS * 86400000.0 / n);
		unsigned a = (unsigned)(rnd() % NADDR), d = (unsigned)(rnd() % NDST);
		unsigned port = 1024 + (unsigned)(rnd() % 64000);
		char sid[32], src[24], dst[24], sub[40], mid[80], qid[24], rc[64];
		json_t *s, *t;

		snprintf(sid, sizeof(sid), "%010llx%02x%06lx%06x",
		    (unsigned long long)(start / 1000), 0, i & 0xffffff, 0xbe7c4);
		snprintf(src, sizeof(src), "100.64.%u.%u", a >> 8, a & 255);
		snprintf(dst, sizeof(dst), "198.18.%u.%u", d >> 8, d & 255);
		snprintf(sub, sizeof(sub), "sub%05u@isp.example", a);
		snprintf(mid, sizeof(mid), "<%ld.%llx@host%u.isp.example>", i,
		    (unsigned long long)rnd(), a);
		snprintf(qid, sizeof(qid), "Q%08lX", i);
		snprintf(rc, sizeof(rc), "user%u@dest%u.example", (unsigned)(rnd() %
		    100000), d);
		fmt_time(fmtb, sizeof(fmtb), start);
		fmt_time(fmte, sizeof(fmte), start + 900);
		t = json_pack("{s:i,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:i,s:s,"
		    "s:i,s:s,s:s,s:[s],s:i,s:i,s:s,s:i,s:s,s:i,s:s}",
		    "v", 1, "type", "txn", "session", sid, "node", "bench-gw",
		    "seq", 1, "start", fmtb, "end", fmte, "subscriber", sub,
		    "subscriber_source", "radius", "src", src, "src_port", port,
		    "dst", dst, "dst_port", 25, "mail_from", "bot@isp.example",
		    "message_id", mid, "rcpts", rc, "rcpt_count", 1,
		    "rcpt_refused", 0, "outcome", "accepted", "size", 2048,
		    "reply", "250 2.0.0 Ok", "reply_code", 250, "queue_id", qid);
		emit(out, t, start);
		json_decref(t);
		fmt_time(fmte, sizeof(fmte), start + 1000);
		s = json_pack("{s:i,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:s,s:s,s:s,s:s,"
		    "s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:i,s:i,s:i,s:s}",
		    "v", 1, "type", "session", "id", sid, "node", "bench-gw",
		    "worker", 0, "start", fmtb, "end", fmte, "duration_ms", 1000,
		    "listener", "[::]:10025", "mode", "smtp", "class", "mx",
		    "subscriber", sub, "subscriber_source", "radius", "src", src,
		    "src_port", port, "dst", dst, "dst_port", 25, "greeting_host",
		    "mx.dest.example", "ehlo", "pc.isp.example", "transactions", 1,
		    "commands", 6, "errors", 0, "end_reason", "quit");
		emit(out, s, start);
		json_decref(s);
		if (i % every == every / 2) {
			fmt_time(fmtb, sizeof(fmtb), start + 500);
			fprintf(probes, "%s %u %s %s %s\n", src, port, fmtb, mid, qid);
		}
	}
	fclose(probes);
	return 0;
}
