/*
 * locks.c - `subgate locks`: the port-25 lock-outs the policy set in Redis
 * (docs/policy.md "Lock-out"), listed and lifted without restarting any
 * gateway, in the Redis and database of the configuration (Sentinel
 * included) or at --redis. The keyspace and both operations are the
 * limiter's own (ratelimit/lockout.h), shared with subgated's admin endpoint.
 *
 *   subgate locks [-c FILE | --redis HOST:PORT] list [--json]
 *   subgate locks [-c FILE | --redis HOST:PORT] lift SUBSCRIBER
 *
 * Exit status: 0 listed / lifted, 1 no such lock (lift) or none (list),
 * 2 error.
 */
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "jsonw.h"
#include "locks.h"
#include "lockout.h"
#include "redis_conf.h"
#include "redis_sync.h"
#include "term.h"
#include "util.h"

#define LOCKS_TIMEOUT_MS 2000	/* connect, and every command */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: subgate locks [-c FILE | --redis HOST:PORT] list [--json]\n"
	    "       subgate locks [-c FILE | --redis HOST:PORT] lift SUBSCRIBER\n"
	    "  -c, --config FILE    subgated's configuration (its redis section)\n"
	    "      --redis H:P      Redis to ask (default 127.0.0.1:6379)\n"
	    "      --json           one JSON object per lock\n");
}

/* print_json - one lock as a JSON line (escaped as the audit trail is,
 * jsonw.h). */
static void
print_json(const char *sub, long long ttl_ms)
{
	char buf[512];
	struct jw w;

	jw_init(&w, buf, sizeof(buf));
	jw_obj_open(&w);
	jw_kstr(&w, "subscriber", sub);
	jw_kint(&w, "ttl_ms", ttl_ms);
	jw_obj_close(&w);
	jw_nl(&w);
	fwrite(w.p, 1, w.len, stdout);
	jw_free(&w);
}

static int
list(redisContext *rc, int json)
{
	struct rl_lock_info *v;
	char err[256], esc[RL_LOCK_SUB_MAX * 4 + 8];
	size_t n;

	if (rl_locks_list(rc, &v, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "subgate locks: %s\n", err);
		return 2;
	}
	for (size_t i = 0; i < n; i++)
		if (json)
			print_json(v[i].subscriber, v[i].ttl_ms);
		else
			printf("%-40s %8lld s\n", term_safe(esc, sizeof(esc),
			    v[i].subscriber), ((long long)v[i].ttl_ms + 999) / 1000);
	free(v);
	return n > 0 ? 0 : 1;
}

static int
lift(redisContext *rc, const char *subscriber)
{
	char err[256];
	int r = rl_locks_lift(rc, subscriber, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "subgate locks: %s\n", err);
		return 2;
	}
	printf("%s %s\n", subscriber, r == 1 ? "lifted" : "not locked");
	return r == 1 ? 0 : 1;
}

int
locks_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "redis", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cpath = NULL, *raddr = "127.0.0.1:6379";
	struct config *c = NULL;
	struct rl_redis_conf rconf;
	union sockaddr_any a;
	redisContext *rc = NULL;
	char err[512];
	int ch, json = 0, ret = 2;

	memset(&rconf, 0, sizeof(rconf));
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cpath = optarg;
			break;
		case 'r':
			raddr = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || (strcmp(argv[optind], "list") != 0 &&
	    strcmp(argv[optind], "lift") != 0) ||
	    (strcmp(argv[optind], "lift") == 0 && optind + 2 != argc) ||
	    (strcmp(argv[optind], "list") == 0 && optind + 1 != argc)) {
		usage(stderr);
		return 2;
	}
	if (cpath != NULL) {
		if ((c = config_load(cpath, err, sizeof(err))) == NULL) {
			fprintf(stderr, "subgate locks: %s\n", err);
			return 2;
		}
		if (!c->redis.enabled) {
			fprintf(stderr, "subgate locks: %s has no redis section "
			    "(without Redis there are no lock-outs)\n", cpath);
			goto out;
		}
		rl_redis_conf_init(&rconf, &c->redis);
	} else if (addr_parse(&a, raddr, 6379) < 0) {
		fprintf(stderr, "subgate locks: bad --redis %s\n", raddr);
		return 2;
	} else {
		addr_ntop(&a, rconf.host, sizeof(rconf.host));
		rconf.conn.host = rconf.host;
		rconf.conn.port = addr_port(&a);
	}
	rconf.conn.connect_timeout_ms = LOCKS_TIMEOUT_MS;
	if ((rc = rl_sync_connect(&rconf.conn, LOCKS_TIMEOUT_MS, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "subgate locks: cannot connect to Redis: %s\n",
		    err);
		goto out;
	}
	if (strcmp(argv[optind], "list") == 0)
		ret = list(rc, json);
	else
		ret = lift(rc, argv[optind + 1]);
out:
	if (rc != NULL)
		redisFree(rc);
	rl_redis_conf_free(&rconf);
	if (c != NULL)
		config_free(c);
	return ret;
}
