/*
 * bench_audit.c - audit records written per second: T threads (like the
 * workers) each build and write N transaction + N session records through
 * audit.c (JSON, HMAC recipients, GeoIP lookup) to a file: one write(2) per
 * record (a thread that does not batch), batched like a worker (a flush
 * every BATCH sessions, as one loop iteration would), and batched with the
 * records also handed to a sink that computes their index keys (the part of
 * the Redis index a worker pays for).
 *
 * usage: bench_audit FILE [THREADS] [N] [MMDB_DIR]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_key.h"
#include "config.h"
#include "geoip.h"
#include "util.h"

#define BATCH 8		/* sessions per flush: about one loop iteration */

static const struct config *conf;
static long n_per;
static int batched;

static void
sink(const struct audit_facts *f, const char *line, size_t len)
{
	char id[AUDIT_RECID_MAX], keys[AUDIT_IX_MAX][AUDIT_KEY_MAX];

	(void)audit_facts_keys(f, id, keys, AUDIT_IX_MAX);
}

static void *
run(void *arg)
{
	int w = (int)(intptr_t)arg;
	union sockaddr_any src, dst;
	const char *rcpts[] = { "victim@example.org", "second@example.org" };
	char mid[64];

	addr_parse(&src, "100.64.3.7:41234", -1);
	addr_parse(&dst, "89.160.20.112:25", -1);
	if (batched)
		audit_thread_begin();
	for (long i = 0; i < n_per; i++) {
		struct audit_session rec;
		struct smtp_txn t;

		audit_session_init(&rec, w, (uint32_t)i, 0, LISTEN_SMTP, &src, &dst);
		memset(&t, 0, sizeof(t));
		snprintf(mid, sizeof(mid), "<%d.%ld@bench.example>", w, i);
		t.seq = 1;
		t.start_ms = rec.start_ms;
		t.end_ms = rec.start_ms;
		t.mail_from = "bot@example.net";
		t.rcpts = rcpts;
		t.nrcpts_kept = t.nrcpts_accepted = 2;
		t.message_id = mid;
		t.data_reply = "250 2.0.0 Ok: queued as 4Xyz12";
		t.data_reply_code = 250;
		t.queue_id = "4Xyz12";
		t.outcome = "accepted";
		audit_write_txn(conf, &rec, &t);
		audit_session_set_reason(&rec, "quit");
		audit_write_session(conf, &rec);
		audit_session_free(&rec);
		if (i % BATCH == BATCH - 1)
			audit_flush();
	}
	audit_thread_end();
	return NULL;
}

static double
round_(const char *path, int threads, int batch, int with_sink)
{
	pthread_t th[64];
	int64_t t0;

	unlink(path);
	audit_open(path);
	audit_set_sink(with_sink ? sink : NULL);
	batched = batch;
	t0 = now_ms();
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, run, (void *)(intptr_t)i);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	audit_close();
	return 2.0 * (double)n_per * threads * 1000.0 / (double)MAX(now_ms() - t0, 1);
}

int
main(int argc, char **argv)
{
	static const char yaml[] = "node: bench\naudit:\n  path: \"-\"\n"
	    "  recipients: hmac\n  hmac_key: bench-key\n";
	char err[256];
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	const char *mmdb = argc > 4 ? argv[4] : NULL;

	n_per = argc > 3 ? atol(argv[3]) : 200000;
	if (argc < 2 || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: bench_audit FILE [THREADS] [N] [MMDB_DIR]\n");
		return 2;
	}
	if ((conf = config_load_string(yaml, strlen(yaml), "bench", err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (mmdb != NULL) {
		char a[512], c[512];

		snprintf(a, sizeof(a), "%s/GeoLite2-ASN-Test.mmdb", mmdb);
		snprintf(c, sizeof(c), "%s/GeoIP2-Country-Test.mmdb", mmdb);
		if (geoip_open(a, c, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	}
	printf("threads %d, records %ld, recipients hmac, geoip %s\n", threads,
	    2 * n_per * threads, mmdb ? "on" : "off");
	printf("file, write per record:    %.0f records/s\n",
	    round_(argv[1], threads, 0, 0));
	printf("file, batched (%d sess.):   %.0f records/s\n", BATCH,
	    round_(argv[1], threads, 1, 0));
	printf("batched + index keys:      %.0f records/s\n",
	    round_(argv[1], threads, 1, 1));
	unlink(argv[1]);
	return 0;
}
