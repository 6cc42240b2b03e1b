/*
 * locks.c - `subgate locks`: the port-25 lock-outs the policy set in Redis
 * (docs/policy.md "Lock-out"), listed and lifted without restarting any
 * gateway. Keys are the limiter's own (ratelimit/core.h rl_key), so the
 * tool and subgated agree byte for byte; listing walks SCAN (an operator
 * command: it visits the keyspace once).
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
#include "core.h"
#include "log.h"
#include "jsonw.h"
#include "locks.h"
#include "util.h"

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

/* shown - the subscriber for a terminal: as it is, or escaped (log_esc)
 * when it holds control bytes. */
static const char *
shown(const char *sub, char *esc, size_t esclen)
{
	for (const char *p = sub; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return log_esc(esc, esclen, sub, strlen(sub));
	return sub;
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
	char cursor[32] = "0", sub[256];
	redisReply *r, *t;
	char esc[sizeof(sub) * 4 + 8];
	int n = 0;

	do {
		r = redisCommand(rc, "SCAN %s MATCH sg:{sub:*}:lock:l COUNT 1000",
		    cursor);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			fprintf(stderr, "subgate locks: SCAN failed: %s\n",
			    r != NULL && r->type == REDIS_REPLY_ERROR ? r->str
			    : rc->errstr);
			freeReplyObject(r);
			return 2;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *k = r->element[1]->element[i];

			if (k->type != REDIS_REPLY_STRING ||
			    rl_lock_subscriber(k->str, k->len, sub, sizeof(sub)) < 0)
				continue;
			t = redisCommand(rc, "PTTL %b", k->str, k->len);
			if (t != NULL && t->type == REDIS_REPLY_INTEGER &&
			    t->integer >= 0) {
				if (json)
					print_json(sub, t->integer);
				else
					printf("%-40s %8lld s\n", shown(sub, esc,
					    sizeof(esc)), (t->integer + 999) / 1000);
				n++;
			}
			freeReplyObject(t);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return n > 0 ? 0 : 1;
}

static int
lift(redisContext *rc, const char *subscriber)
{
	char key[RL_KEY_MAX];
	struct rl_limit l = { .kind = RL_LOCK, .scope = "sub",
		.id = subscriber, .idlen = strlen(subscriber), .name = "lock" };
	size_t klen = rl_key(key, &l);
	redisReply *r = redisCommand(rc, "DEL %b", key, klen);
	int ret;

	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		fprintf(stderr, "subgate locks: DEL failed: %s\n",
		    r != NULL && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
		freeReplyObject(r);
		return 2;
	}
	ret = r->integer > 0 ? 0 : 1;
	printf("%s %s\n", subscriber, ret == 0 ? "lifted" : "not locked");
	freeReplyObject(r);
	return ret;
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
	const char *cpath = NULL, *raddr = "127.0.0.1:6379", *pw = NULL;
	struct config *c = NULL;
	union sockaddr_any a;
	struct timeval tv = { 2, 0 };
	redisContext *rc = NULL;
	char err[512], host[ADDR_STRLEN];
	int ch, json = 0, ret = 2;

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
	    (strcmp(argv[optind], "lift") == 0 && optind + 2 != argc)) {
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
		a = c->redis.address;
		pw = c->redis.password.value;
	} else if (addr_parse(&a, raddr, 6379) < 0) {
		fprintf(stderr, "subgate locks: bad --redis %s\n", raddr);
		return 2;
	}
	rc = redisConnectWithTimeout(addr_ntop(&a, host, sizeof(host)),
	    addr_port(&a), tv);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "subgate locks: cannot connect to Redis: %s\n",
		    rc != NULL ? rc->errstr : "out of memory");
		goto out;
	}
	redisSetTimeout(rc, tv);
	if (pw != NULL) {
		redisReply *r = redisCommand(rc, "AUTH %s", pw);

		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "subgate locks: AUTH refused\n");
			freeReplyObject(r);
			goto out;
		}
		freeReplyObject(r);
	}
	if (strcmp(argv[optind], "list") == 0)
		ret = list(rc, json);
	else
		ret = lift(rc, argv[optind + 1]);
out:
	if (rc != NULL)
		redisFree(rc);
	if (c != NULL)
		config_free(c);
	return ret;
}
