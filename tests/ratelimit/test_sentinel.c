/*
 * test_sentinel.c - finding the primary through Sentinel and following a
 * failover: a primary, a replica and one sentinel (quorum 1), all started
 * here; SENTINEL FAILOVER promotes the replica, the old primary is killed,
 * and decisions resume on the new one.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "suites.h"

static struct srv prim, repl, sent;

static int
role_is(const struct srv *s, const char *role)
{
	redisReply *r = srv_cmd(s, "ROLE");
	int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    strcmp(r->element[0]->str, role) == 0;

	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

static int
replica_known(void)
{
	redisReply *r = srv_cmd(&sent, "SENTINEL replicas mymaster");
	int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1;

	if (ok) {
		redisReply *e = r->element[0];

		for (size_t i = 0; i + 1 < e->elements; i += 2)
			if (strcmp(e->element[i]->str, "flags") == 0)
				ok = strcmp(e->element[i + 1]->str, "slave") == 0;
			else if (strcmp(e->element[i]->str,
			    "master-link-status") == 0)
				ok = ok && strcmp(e->element[i + 1]->str,
				    "ok") == 0;
	}
	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

static long long
exists(const struct srv *s, const char *key)
{
	redisReply *r = srv_cmd(s, "EXISTS %s", key);
	long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r != NULL)
		freeReplyObject(r);
	return n;
}

static void
test_failover(void)
{
	char addr[32], key[64];
	const char *sentinels[2] = { "127.0.0.1:1", addr };
	struct rl_conf c = test_conf(&prim);
	struct rl_limit l = { .kind = RL_RATE, .scope = "sub", .id = "kim",
		.idlen = 3, .name = "msg", .limit = 100, .period_ms = 60000,
		.cost = 1 };
	struct rl_request req = { &l, 1, "s", 1 };
	struct tally t = { 0 };
	redisReply *r;
	uv_loop_t loop;
	struct rl *rl;
	int i;

	for (i = 0; i < 100 && !replica_known(); i++)
		usleep(100000);
	CU_ASSERT_FATAL(replica_known());
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", sent.port);
	c.host = NULL;
	c.port = 0;
	c.sentinels = sentinels;	/* the first one is down */
	c.nsentinels = 2;
	c.master_name = "mymaster";
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 5000));
	CU_ASSERT_EQUAL(rl_decide(rl, &req, tally_cb, &t), 0);
	CU_ASSERT(wait_tally(&loop, &t, 1, 3000));
	CU_ASSERT_EQUAL(t.redis, 1);
	CU_ASSERT_EQUAL(exists(&prim, "sg:{sub:kim}:msg:r"), 1);

	r = srv_cmd(&sent, "SENTINEL FAILOVER mymaster");
	CU_ASSERT_TRUE(r && r->type == REDIS_REPLY_STATUS);
	if (r != NULL)
		freeReplyObject(r);
	for (i = 0; i < 100 && !role_is(&repl, "master"); i++)
		run_for(&loop, 100);
	CU_ASSERT_FATAL(role_is(&repl, "master"));
	/* The old primary dies; the limiter must ask the sentinel again. */
	srv_kill(&prim);
	for (i = 0; i < 150; i++) {
		struct tally u = { 0 };
		char id[16];

		snprintf(id, sizeof(id), "kim%d", i);
		l.id = id;
		l.idlen = strlen(id);
		CU_ASSERT_EQUAL(rl_decide(rl, &req, tally_cb, &u), 0);
		wait_tally(&loop, &u, 1, 1000);
		snprintf(key, sizeof(key), "sg:{sub:%s}:msg:r", id);
		if (u.redis == 1 && exists(&repl, key) == 1)
			break;
		run_for(&loop, 100);
	}
	CU_ASSERT_TRUE(i < 150);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

static int
suite_init(void)
{
	prim.port = srv_free_port();
	if (srv_start(&prim) != 0)
		return -1;
	snprintf(repl.extra, sizeof(repl.extra), "replicaof 127.0.0.1 %d",
	    prim.port);
	if (srv_start(&repl) != 0)
		return -1;
	sent.sentinel = 1;
	sent.port = srv_free_port();
	snprintf(sent.extra, sizeof(sent.extra),
	    "sentinel monitor mymaster 127.0.0.1 %d 1\n"
	    "sentinel down-after-milliseconds mymaster 1000\n"
	    "sentinel failover-timeout mymaster 5000\n", prim.port);
	return srv_start(&sent);
}

static int
suite_clean(void)
{
	srv_destroy(&sent);
	srv_destroy(&repl);
	srv_destroy(&prim);
	return 0;
}

int
suite_sentinel_register(void)
{
	CU_pSuite s = CU_add_suite("sentinel", suite_init, suite_clean);

	if (s == NULL || CU_add_test(s, "failover", test_failover) == NULL)
		return -1;
	return 0;
}
