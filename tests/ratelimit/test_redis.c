/*
 * test_redis.c - the limiter against real redis-server processes: exact
 * counts under concurrency (one process, and two nodes on two threads),
 * all-or-nothing, leases (and giving them back without a round trip of
 * their own), distinct sets and TTLs, odd ids, NOSCRIPT,
 * CLIENT PAUSE past the deadline (open and closed), a killed and restarted
 * server, a refused connect, a server that never answers, locks, and
 * rl_free with decisions open. Every test runs its own loop and checks that
 * it closes clean.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "suites.h"
#include "lockout.h"
#include "redis_sync.h"
#include "redis_uv.h"

struct srv rl_test_srv;

static void
fresh(void)
{
	redisReply *r = srv_cmd(&rl_test_srv, "FLUSHALL");

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	freeReplyObject(r);
}

static struct rl_limit
rate(const char *id, const char *name, int64_t limit, int64_t period_ms)
{
	struct rl_limit l = { .kind = RL_RATE, .scope = "sub", .id = id,
		.idlen = strlen(id), .name = name, .limit = limit,
		.period_ms = period_ms, .cost = 1 };

	return l;
}

static void
decide(struct rl *rl, const struct rl_limit *l, size_t n, const char *sess,
    struct tally *t)
{
	struct rl_request req = { l, n, sess, strlen(sess) };

	CU_ASSERT_EQUAL(rl_decide(rl, &req, tally_cb, t), 0);
}

static long long
zcard(const char *key)
{
	redisReply *r = srv_cmd(&rl_test_srv, "ZCARD %s", key);
	long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r != NULL)
		freeReplyObject(r);
	return n;
}

static void
test_exact_concurrency(void)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l = rate("alice", "msg", 10, 60000);
	struct tally t = { 0 };
	struct rl_stats st;
	struct rl *rl;
	long long before;

	fresh();
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	before = srv_stat(&rl_test_srv, "evalsha");
	for (int i = 0; i < 50; i++)
		decide(rl, &l, 1, "s", &t);
	CU_ASSERT_EQUAL(t.n, 0);	/* never answered inside rl_decide */
	CU_ASSERT(wait_tally(&loop, &t, 50, 3000));
	CU_ASSERT_EQUAL(t.allow, 10);
	CU_ASSERT_EQUAL(t.deny, 40);
	CU_ASSERT_EQUAL(t.redis, 50);
	CU_ASSERT_EQUAL(srv_stat(&rl_test_srv, "evalsha") - before, 50);
	rl_get_stats(rl, &st);
	CU_ASSERT_EQUAL(st.decisions, 50);
	CU_ASSERT_EQUAL(st.redis, 50);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

struct node {
	pthread_t th;
	pthread_barrier_t *go;
	const char *name;
	struct tally t;
	int up;
};

static void *
node_main(void *arg)
{
	struct node *nd = arg;
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l = rate("shared", "conn", 30, 60000);
	struct rl_request req = { &l, 1, "s", 1 };
	struct rl *rl;

	c.node = nd->name;
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	nd->up = wait_up(&loop, rl, 3000);
	pthread_barrier_wait(nd->go);
	for (int i = 0; i < 100; i++)
		rl_decide(rl, &req, tally_cb, &nd->t);
	wait_tally(&loop, &nd->t, 100, 5000);
	close_rl(&loop, rl);
	return NULL;
}

static void
test_two_nodes(void)
{
	pthread_barrier_t go;
	struct node n[2] = { { .name = "node-a" }, { .name = "node-b" } };

	fresh();
	pthread_barrier_init(&go, NULL, 2);
	for (int i = 0; i < 2; i++) {
		n[i].go = &go;
		pthread_create(&n[i].th, NULL, node_main, &n[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(n[i].th, NULL);
	pthread_barrier_destroy(&go);
	CU_ASSERT_TRUE(n[0].up && n[1].up);
	CU_ASSERT_EQUAL(n[0].t.n + n[1].t.n, 200);
	CU_ASSERT_EQUAL(n[0].t.redis + n[1].t.redis, 200);
	CU_ASSERT_EQUAL(n[0].t.allow + n[1].t.allow, 30);
}

static void
test_all_or_nothing(void)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l[3] = { rate("carol", "rcpt", 5, 60000),
		rate("", "rcpt", 2, 60000),
		rate("carol", "msg", 100, 60000) };
	struct tally t = { 0 }, u = { 0 };
	struct rl *rl;
	redisReply *r;

	fresh();
	l[1].scope = "all";
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	for (int i = 0; i < 6; i++)
		decide(rl, l, 3, "s", &t);
	CU_ASSERT(wait_tally(&loop, &t, 6, 3000));
	CU_ASSERT_EQUAL(t.allow, 2);
	CU_ASSERT_EQUAL(t.last_deny_index, 1);
	CU_ASSERT_TRUE(t.last_retry > 0 && t.last_retry <= 30000);
	/* carol:rcpt counted only the two allowed: three more fit. */
	for (int i = 0; i < 6; i++)
		decide(rl, &l[0], 1, "s", &u);
	CU_ASSERT(wait_tally(&loop, &u, 6, 3000));
	CU_ASSERT_EQUAL(u.allow, 3);
	/* The third limit never saw a denied decision either. */
	r = srv_cmd(&rl_test_srv, "PTTL sg:{sub:carol}:msg:r");
	CU_ASSERT_TRUE(r && r->type == REDIS_REPLY_INTEGER &&
	    r->integer > 0 && r->integer <= 1200);
	if (r != NULL)
		freeReplyObject(r);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

static void
test_leases(void)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l = { .kind = RL_CONC, .scope = "sub", .id = "dave",
		.idlen = 4, .name = "sess", .limit = 2, .period_ms = 400 };
	const char *key = "sg:{sub:dave}:sess:c";
	struct tally t = { 0 }, u = { 0 }, v = { 0 }, w = { 0 };
	struct rl *rl, *crashed;

	fresh();
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	decide(rl, &l, 1, "s1", &t);
	decide(rl, &l, 1, "s2", &t);
	decide(rl, &l, 1, "s3", &t);
	CU_ASSERT(wait_tally(&loop, &t, 3, 3000));
	CU_ASSERT_EQUAL(t.allow, 2);
	CU_ASSERT_EQUAL(t.nlease, 2);
	CU_ASSERT_EQUAL(zcard(key), 2);
	rl_release(rl, t.lease[0]);
	run_for(&loop, 50);
	CU_ASSERT_EQUAL(zcard(key), 1);
	decide(rl, &l, 1, "s3", &u);
	CU_ASSERT(wait_tally(&loop, &u, 1, 3000));
	CU_ASSERT_EQUAL(u.allow, 1);
	/* Renewal keeps s2 alive past its first TTL. */
	run_for(&loop, 250);
	CU_ASSERT_EQUAL(rl_renew(rl, t.lease[1], tally_cb, &v), 0);
	CU_ASSERT(wait_tally(&loop, &v, 1, 3000));
	CU_ASSERT_EQUAL(v.allow, 1);
	CU_ASSERT_EQUAL(v.nlease, 0);
	run_for(&loop, 250);
	CU_ASSERT_EQUAL(zcard(key), 2);	/* s3 expired in Redis only lazily */
	decide(rl, &l, 1, "s4", &w);	/* s3 expired: one slot */
	CU_ASSERT(wait_tally(&loop, &w, 1, 3000));
	CU_ASSERT_EQUAL(w.allow, 1);
	CU_ASSERT_EQUAL(zcard(key), 2);
	rl_release(rl, t.lease[1]);
	rl_release(rl, u.lease[0]);
	rl_release(rl, w.lease[0]);
	run_for(&loop, 50);
	CU_ASSERT_EQUAL(zcard(key), 0);

	/* A node that dies holding leases leaks nothing past the TTL. */
	memset(&t, 0, sizeof(t));
	crashed = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, crashed, 3000));
	decide(crashed, &l, 1, "c1", &t);
	decide(crashed, &l, 1, "c2", &t);
	CU_ASSERT(wait_tally(&loop, &t, 2, 3000));
	CU_ASSERT_EQUAL(t.nlease, 2);
	rl_free(crashed, NULL, NULL);
	memset(&u, 0, sizeof(u));
	decide(rl, &l, 1, "s9", &u);
	CU_ASSERT(wait_tally(&loop, &u, 1, 3000));
	CU_ASSERT_EQUAL(u.deny, 1);
	CU_ASSERT_TRUE(u.last_retry >= 1 && u.last_retry <= 400);
	run_for(&loop, 450);
	memset(&u, 0, sizeof(u));
	decide(rl, &l, 1, "s9", &u);
	CU_ASSERT(wait_tally(&loop, &u, 1, 3000));
	CU_ASSERT_EQUAL(u.allow, 1);
	rl_release(NULL, t.lease[0]);
	rl_release(NULL, t.lease[1]);
	rl_release(rl, u.lease[0]);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

/* Released leases ride on the next decision of the same rl (given back
 * before its checks: no EVALSHA of their own), or go together after
 * release_delay_ms, RL_GIVE_MAX keys per call; after SCRIPT FLUSH the
 * retried call carries them again. */
static void
test_give_back(void)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l = { .kind = RL_CONC, .scope = "sub", .id = "gina",
		.idlen = 4, .name = "sess", .limit = 2, .period_ms = 60000 };
	struct rl_limit m = l;
	const char *key = "sg:{sub:gina}:sess:c", *key2 = "sg:{sub:gina}:many:c";
	struct tally t = { 0 }, u = { 0 }, v = { 0 }, w = { 0 };
	char sess[16];
	long long before;
	redisReply *r;
	struct rl *rl;

	fresh();
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	decide(rl, &l, 1, "s1", &t);
	decide(rl, &l, 1, "s2", &t);
	CU_ASSERT(wait_tally(&loop, &t, 2, 3000));
	CU_ASSERT_EQUAL(t.nlease, 2);
	before = srv_stat(&rl_test_srv, "evalsha");
	rl_release(rl, t.lease[0]);
	decide(rl, &l, 1, "s3", &u);	/* the slot s1 gave back */
	CU_ASSERT(wait_tally(&loop, &u, 1, 3000));
	CU_ASSERT_EQUAL(u.allow, 1);
	CU_ASSERT_EQUAL(u.redis, 1);
	CU_ASSERT_EQUAL(srv_stat(&rl_test_srv, "evalsha") - before, 1);
	CU_ASSERT_EQUAL(zcard(key), 2);
	r = srv_cmd(&rl_test_srv, "PTTL %s", key);
	CU_ASSERT_TRUE(r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer > 59000 && r->integer <= 60000);
	if (r != NULL)
		freeReplyObject(r);

	/* 20 leases released with no decision: 16 + 4 keys, two calls */
	m.name = "many";
	m.limit = 100;
	for (int i = 0; i < 20; i++) {
		snprintf(sess, sizeof(sess), "m%d", i);
		decide(rl, &m, 1, sess, &v);
	}
	CU_ASSERT(wait_tally(&loop, &v, 20, 3000));
	CU_ASSERT_EQUAL(v.nlease, 20);
	CU_ASSERT_EQUAL(zcard(key2), 20);
	before = srv_stat(&rl_test_srv, "evalsha");
	for (int i = 0; i < 20; i++)
		rl_release(rl, v.lease[i]);
	run_for(&loop, 50);
	CU_ASSERT_EQUAL(zcard(key2), 0);
	CU_ASSERT_EQUAL(srv_stat(&rl_test_srv, "evalsha") - before, 2);

	/* NOSCRIPT: the retried decision still gives s2 back */
	r = srv_cmd(&rl_test_srv, "SCRIPT FLUSH");
	if (r != NULL)
		freeReplyObject(r);
	rl_release(rl, t.lease[1]);
	decide(rl, &l, 1, "s4", &w);
	CU_ASSERT(wait_tally(&loop, &w, 1, 3000));
	CU_ASSERT_EQUAL(w.allow, 1);
	CU_ASSERT_EQUAL(w.redis, 1);
	CU_ASSERT_EQUAL(zcard(key), 2);		/* s3, s4 */
	rl_release(rl, u.lease[0]);
	rl_release(rl, w.lease[0]);
	run_for(&loop, 50);
	CU_ASSERT_EQUAL(zcard(key), 0);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

static void
every_key_has_ttl(void)
{
	redisReply *r = srv_cmd(&rl_test_srv, "KEYS *"), *p;

	CU_ASSERT_FATAL(r != NULL && r->type == REDIS_REPLY_ARRAY);
	CU_ASSERT_TRUE(r->elements > 0);
	for (size_t i = 0; i < r->elements; i++) {
		p = srv_cmd(&rl_test_srv, "PTTL %b", r->element[i]->str,
		    r->element[i]->len);
		CU_ASSERT_TRUE(p && p->type == REDIS_REPLY_INTEGER &&
		    p->integer > 0);
		if (p != NULL)
			freeReplyObject(p);
	}
	freeReplyObject(r);
}

static void
test_distinct_and_ttls(void)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l[3] = {
		{ .kind = RL_DISTINCT, .scope = "sub", .id = "erin",
		  .idlen = 4, .name = "dst", .limit = 3, .period_ms = 10000 },
		rate("erin", "conn", 100, 60000),
		{ .kind = RL_CONC, .scope = "sub", .id = "erin", .idlen = 4,
		  .name = "sess", .limit = 100, .period_ms = 60000 } };
	struct tally t = { 0 }, u = { 0 };
	char host[32];
	struct rl *rl;

	fresh();
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	for (int i = 0; i < 3; i++)
		for (int rep = 0; rep < 2; rep++) {
			snprintf(host, sizeof(host), "mx%d.example", i);
			l[0].member = host;
			l[0].member_len = strlen(host);
			decide(rl, l, 3, "s", &t);
			CU_ASSERT(wait_tally(&loop, &t, t.n + 1, 3000));
		}
	CU_ASSERT_EQUAL(t.allow, 6);
	l[0].member = "mx9.example";
	l[0].member_len = 11;
	decide(rl, l, 3, "s", &u);
	CU_ASSERT(wait_tally(&loop, &u, 1, 3000));
	CU_ASSERT_EQUAL(u.deny, 1);
	CU_ASSERT_EQUAL(u.last_deny_index, 0);
	CU_ASSERT_TRUE(u.last_retry > 9000 && u.last_retry <= 10000);
	every_key_has_ttl();
	for (int i = 0; i < t.nlease; i++)
		rl_release(rl, t.lease[i]);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

static void
test_odd_ids(void)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	size_t big = 100000;
	char *huge = malloc(big);
	static const char odd[] = "x}{\0\r\n'\")]--[[\xff\x01 end";
	struct rl_limit l[3] = { rate("", "msg", 2, 60000),
		rate("", "msg", 2, 60000), rate("", "m\0sg\n", 2, 60000) };
	struct tally t = { 0 };
	redisReply *r;
	struct rl *rl;

	for (size_t i = 0; i < big; i++)
		huge[i] = "{}:\0\n\xff"[i % 6];
	l[0].id = huge;
	l[0].idlen = big;
	l[1].id = odd;
	l[1].idlen = sizeof(odd) - 1;
	l[2].id = odd;
	l[2].idlen = 5;
	fresh();
	c.node = "n\0de";
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	for (int i = 0; i < 3; i++) {
		struct rl_request req = { l, 3, huge, big };

		CU_ASSERT_EQUAL(rl_decide(rl, &req, tally_cb, &t), 0);
	}
	CU_ASSERT(wait_tally(&loop, &t, 3, 3000));
	CU_ASSERT_EQUAL(t.redis, 3);
	CU_ASSERT_EQUAL(t.allow, 2);
	r = srv_cmd(&rl_test_srv, "KEYS *");
	CU_ASSERT_FATAL(r != NULL && r->type == REDIS_REPLY_ARRAY);
	CU_ASSERT_EQUAL(r->elements, 3);
	for (size_t i = 0; i < r->elements; i++) {
		const char *k = r->element[i]->str;

		CU_ASSERT_TRUE(r->element[i]->len < RL_KEY_MAX);
		CU_ASSERT_EQUAL(strncmp(k, "sg:{sub:", 8), 0);
		CU_ASSERT_PTR_NULL(strchr(strchr(k, '{') + 1, '{'));
	}
	freeReplyObject(r);
	every_key_has_ttl();
	free(huge);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

static void
test_noscript(void)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l = rate("frank", "msg", 10, 60000);
	struct tally t = { 0 };
	struct rl_stats st;
	struct rl *rl;
	redisReply *r;

	fresh();
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	decide(rl, &l, 1, "s", &t);
	CU_ASSERT(wait_tally(&loop, &t, 1, 3000));
	r = srv_cmd(&rl_test_srv, "SCRIPT FLUSH");
	CU_ASSERT_PTR_NOT_NULL(r);
	if (r != NULL)
		freeReplyObject(r);
	for (int i = 0; i < 3; i++)
		decide(rl, &l, 1, "s", &t);
	CU_ASSERT(wait_tally(&loop, &t, 4, 3000));
	CU_ASSERT_EQUAL(t.redis, 4);
	CU_ASSERT_EQUAL(t.allow, 4);
	rl_get_stats(rl, &st);
	CU_ASSERT_TRUE(st.noscript >= 1 && st.noscript <= 3);
	CU_ASSERT_TRUE(rl_is_up(rl));
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

static void
pause_case(enum rl_failmode mode)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l[2] = { rate("gina", "msg", 100, 60000),
		{ .kind = RL_CONC, .scope = "sub", .id = "gina", .idlen = 4,
		  .name = "sess", .limit = 100, .period_ms = 60000 } };
	struct tally t = { 0 }, u = { 0 };
	struct rl_stats st;
	redisReply *r;
	struct rl *rl;
	char sess[16];

	fresh();
	c.deadline_ms = 100;
	c.fail = mode;
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	r = srv_cmd(&rl_test_srv, "CLIENT PAUSE 1000 ALL");
	CU_ASSERT_PTR_NOT_NULL(r);
	if (r != NULL)
		freeReplyObject(r);
	for (int i = 0; i < 5; i++) {
		snprintf(sess, sizeof(sess), "p%d", i);
		decide(rl, l, 2, sess, &t);
	}
	CU_ASSERT(wait_tally(&loop, &t, 5, 600));
	if (mode == RL_FAIL_OPEN) {
		CU_ASSERT_EQUAL(t.local, 5);
		CU_ASSERT_EQUAL(t.allow, 5);
		CU_ASSERT_EQUAL(t.nlease, 5);
	} else {
		CU_ASSERT_EQUAL(t.error, 5);
		CU_ASSERT_EQUAL(t.nlease, 0);
	}
	CU_ASSERT_EQUAL(t.last_err, -ETIMEDOUT);
	CU_ASSERT_FALSE(rl_is_up(rl));
	/* While on the fallback, decisions do not wait for the deadline. */
	decide(rl, l, 2, "q", &t);
	run_for(&loop, 10);
	CU_ASSERT_EQUAL(t.n, 6);
	/* Recovery: the pause ends, a probe gets through. */
	CU_ASSERT(wait_up(&loop, rl, 3000));
	CU_ASSERT_EQUAL(t.n, 6);	/* late replies answered nobody twice */
	/* Leases that Redis granted late were given back. */
	run_for(&loop, 50);
	CU_ASSERT_EQUAL(zcard("sg:{sub:gina}:sess:c"), 0);
	decide(rl, l, 2, "after", &u);
	CU_ASSERT(wait_tally(&loop, &u, 1, 3000));
	CU_ASSERT_EQUAL(u.redis, 1);
	CU_ASSERT_EQUAL(u.allow, 1);
	rl_get_stats(rl, &st);
	CU_ASSERT_TRUE(st.timeouts >= 5);
	for (int i = 0; i < t.nlease; i++)
		rl_release(rl, t.lease[i]);
	rl_release(rl, u.lease[0]);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

static void
test_pause_open(void)
{
	pause_case(RL_FAIL_OPEN);
}

static void
test_pause_closed(void)
{
	pause_case(RL_FAIL_CLOSED);
}

static void
test_kill_restart(void)
{
	struct srv s = { 0 };
	uv_loop_t loop;
	struct rl_conf c;
	struct rl_limit l = rate("hank", "msg", 3, 60000);
	struct tally t = { 0 }, u = { 0 }, v = { 0 };
	struct rl *rl;

	CU_ASSERT_FATAL(srv_start(&s) == 0);
	c = test_conf(&s);
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	decide(rl, &l, 1, "s", &t);
	CU_ASSERT(wait_tally(&loop, &t, 1, 3000));
	CU_ASSERT_EQUAL(t.redis, 1);
	srv_kill(&s);
	run_for(&loop, 100);
	for (int i = 0; i < 5; i++)
		decide(rl, &l, 1, "s", &u);
	CU_ASSERT(wait_tally(&loop, &u, 5, 1000));
	CU_ASSERT_EQUAL(u.local, 5);
	CU_ASSERT_EQUAL(u.allow, 3);	/* the fallback enforces the limit */
	run_for(&loop, 500);		/* some refused reconnects */
	CU_ASSERT_FATAL(srv_start(&s) == 0);
	CU_ASSERT(wait_up(&loop, rl, 5000));
	decide(rl, &l, 1, "s", &v);
	CU_ASSERT(wait_tally(&loop, &v, 1, 3000));
	CU_ASSERT_EQUAL(v.redis, 1);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
	srv_destroy(&s);
}

struct events {
	int up, down, failed;
	int last_err;
};

static void
ev_cb(void *arg, enum rl_conn_event ev, int err)
{
	struct events *e = arg;

	if (ev == RL_CONN_UP)
		e->up++;
	else if (ev == RL_CONN_DOWN)
		e->down++;
	else
		e->failed++;
	e->last_err = err;
}

static void
ev_closed(void *arg)
{
	((struct events *)arg)->down = 1000;
}

static const struct rl_conn_ops ev_ops = { .event = ev_cb,
	.closed = ev_closed };

static void
test_refused_connect(void)
{
	struct srv s = { 0 };
	uv_loop_t loop;
	struct rl_conn_conf cc = { .host = "127.0.0.1", .backoff_min_ms = 20,
		.backoff_max_ms = 100 };
	struct events e = { 0 };
	struct rl_conf c;
	struct rl_limit l = rate("ivan", "msg", 2, 60000);
	struct tally t = { 0 }, u = { 0 };
	struct rl_conn *conn;
	struct rl *rl;

	s.port = srv_free_port();
	cc.port = s.port;
	uv_loop_init(&loop);
	conn = rl_conn_new(&loop, &cc, &ev_ops, &e);
	run_for(&loop, 300);
	CU_ASSERT_TRUE(e.failed >= 2);
	CU_ASSERT_EQUAL(e.last_err, -ECONNREFUSED);
	CU_ASSERT_EQUAL(e.up, 0);
	rl_conn_free(conn);
	CU_ASSERT(run_until(&loop, &e.down, 1000));

	c = test_conf(&s);
	rl = rl_new(&loop, &c);
	for (int i = 0; i < 4; i++)
		decide(rl, &l, 1, "s", &t);
	CU_ASSERT(wait_tally(&loop, &t, 4, 1000));
	CU_ASSERT_EQUAL(t.local, 4);
	CU_ASSERT_EQUAL(t.allow, 2);
	CU_ASSERT_FATAL(srv_start(&s) == 0);
	CU_ASSERT(wait_up(&loop, rl, 3000));
	decide(rl, &l, 1, "s", &u);
	CU_ASSERT(wait_tally(&loop, &u, 1, 3000));
	CU_ASSERT_EQUAL(u.redis, 1);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
	srv_destroy(&s);
}

static void
test_silent_server(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct rl_conn_conf cc = { .host = "127.0.0.1",
		.connect_timeout_ms = 150, .backoff_min_ms = 20,
		.backoff_max_ms = 50 };
	struct events e = { 0 };
	struct rl_conn *conn;
	uv_loop_t loop;
	int fd;

	/* Accepts TCP (the kernel's backlog) and never says a word. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CU_ASSERT_FATAL(listen(fd, 16) == 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	cc.port = ntohs(sin.sin_port);
	uv_loop_init(&loop);
	conn = rl_conn_new(&loop, &cc, &ev_ops, &e);
	run_for(&loop, 500);
	CU_ASSERT_TRUE(e.failed >= 2);
	CU_ASSERT_EQUAL(e.last_err, -ETIMEDOUT);
	CU_ASSERT_EQUAL(e.up, 0);
	rl_conn_free(conn);
	CU_ASSERT(run_until(&loop, &e.down, 1000));
	uv_run(&loop, UV_RUN_DEFAULT);
	CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
	close(fd);
}

struct lockres {
	int done, err;
};

static void
lock_cb(void *arg, int err)
{
	struct lockres *lr = arg;

	lr->err = err;
	lr->done = 1;
}

static void
test_locks(void)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l[2] = { { .kind = RL_LOCK, .scope = "sub",
		.id = "mallory", .idlen = 7, .name = "lock" },
		rate("mallory", "msg", 100, 60000) };
	struct tally t = { 0 }, u = { 0 };
	struct lockres lr = { 0 };
	struct rl *rl;

	fresh();
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	CU_ASSERT_EQUAL(rl_lock(rl, "sub", "mallory", 7, 2000, lock_cb, &lr),
	    0);
	CU_ASSERT(run_until(&loop, &lr.done, 2000));
	CU_ASSERT_EQUAL(lr.err, 0);
	decide(rl, l, 2, "s", &t);
	CU_ASSERT(wait_tally(&loop, &t, 1, 3000));
	CU_ASSERT_EQUAL(t.deny, 1);
	CU_ASSERT_EQUAL(t.last_deny_index, 0);
	CU_ASSERT_TRUE(t.last_retry > 1000 && t.last_retry <= 2000);
	/* the operators' view of the same lock (lockout.c) */
	{
		struct rl_conn_conf cc = { .host = c.host, .port = c.port };
		struct rl_lock_info *v = NULL;
		redisContext *sc;
		size_t n = 0;
		char err[256];

		sc = rl_sync_connect(&cc, 1000, err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
		CU_ASSERT_EQUAL(rl_locks_list(sc, &v, &n, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL_FATAL(n, 1);
		CU_ASSERT_STRING_EQUAL(v[0].subscriber, "mallory");
		CU_ASSERT_TRUE(v[0].ttl_ms > 1000 && v[0].ttl_ms <= 2000);
		free(v);
		redisFree(sc);
	}
	memset(&lr, 0, sizeof(lr));
	memset(&lr, 0, sizeof(lr));
	CU_ASSERT_EQUAL(rl_unlock(rl, "sub", "mallory", 7, lock_cb, &lr), 0);
	CU_ASSERT(run_until(&loop, &lr.done, 2000));
	decide(rl, l, 2, "s", &u);
	CU_ASSERT(wait_tally(&loop, &u, 1, 3000));
	CU_ASSERT_EQUAL(u.allow, 1);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
}

static void
test_free_pending(void)
{
	uv_loop_t loop;
	struct rl_conf c = test_conf(&rl_test_srv);
	struct rl_limit l = rate("judy", "msg", 100, 60000);
	struct tally t = { 0 };
	struct rl *rl;

	fresh();
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 3000));
	for (int i = 0; i < 20; i++)
		decide(rl, &l, 1, "s", &t);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
	CU_ASSERT_EQUAL(t.n, 20);
	CU_ASSERT_EQUAL(t.error, 20);
	CU_ASSERT_EQUAL(t.last_err, -ECANCELED);
}

static void
test_password(void)
{
	struct srv s = { .extra = "requirepass s3cr{e}t" };
	uv_loop_t loop;
	struct rl_conf c;
	struct rl_limit l = rate("leo", "msg", 5, 60000);
	struct tally t = { 0 };
	struct rl *good, *bad;

	CU_ASSERT_FATAL(srv_start(&s) == 0);
	c = test_conf(&s);
	uv_loop_init(&loop);
	c.password = "s3cr{e}t";
	good = rl_new(&loop, &c);
	c.password = "wrong";
	bad = rl_new(&loop, &c);
	CU_ASSERT(wait_up(&loop, good, 3000));
	run_for(&loop, 200);
	CU_ASSERT_FALSE(rl_is_up(bad));
	decide(good, &l, 1, "s", &t);
	decide(bad, &l, 1, "s", &t);
	CU_ASSERT(wait_tally(&loop, &t, 2, 3000));
	CU_ASSERT_EQUAL(t.redis, 1);
	CU_ASSERT_EQUAL(t.local, 1);
	rl_free(bad, NULL, NULL);
	CU_ASSERT_EQUAL(close_rl(&loop, good), 0);
	srv_destroy(&s);
}

static int
suite_init(void)
{
	return srv_start(&rl_test_srv);
}

/* fake_start - tests/ratelimit/fake_redis.py in mode on a free port
 * (*port), reporting into report (NULL: none); its pid once it accepts,
 * or -1. */
static pid_t
fake_start(const char *mode, int *port, const char *report)
{
	char dir[512], script[600], ps[16];
	const char *slash;
	pid_t pid;

	/* beside this file: __FILE__ is the path CMake compiled */
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return -1;
	dir[slash - dir] = '\0';
	snprintf(script, sizeof(script), "%s/fake_redis.py", dir);
	*port = srv_free_port();
	snprintf(ps, sizeof(ps), "%d", *port);
	if ((pid = fork()) == 0) {
		execlp("python3", "python3", script, ps, mode, "4194304",
		    report, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && pid > 0; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
			.sin_port = htons((uint16_t)*port),
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

		ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return pid;
		usleep(50000);
	}
	return -1;
}

static void
fake_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* A server whose script answers what no limiter script says (a deny index
 * past the plan, allow 2, a negative retry, strings, a short array): every
 * such decision falls back to the local limiter; none is taken as Redis's
 * word, none indexes past the plan. */
static void
test_hostile_script(void)
{
	struct srv fake = { 0 };
	uv_loop_t loop;
	struct rl_conf c;
	struct rl_limit l[2] = { rate("eve", "msg", 100, 60000),
		rate("eve", "rcpt", 100, 60000) };
	struct tally t = { 0 };
	struct rl *rl;
	pid_t pid = fake_start("script", &fake.port, NULL);

	CU_ASSERT_FATAL(pid > 0);
	c = test_conf(&fake);
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT(wait_up(&loop, rl, 3000));
	for (int i = 0; i < 10; i++) {
		decide(rl, l, 2, "s", &t);
		CU_ASSERT(wait_tally(&loop, &t, i + 1, 3000));
		if (t.redis > 0)
			fprintf(stderr, "\nreply %d taken from Redis: deny %d "
			    "retry %lld\n", i, t.last_deny_index,
			    (long long)t.last_retry);
	}
	CU_ASSERT_EQUAL(t.n, 10);
	CU_ASSERT_EQUAL(t.redis, 0);
	CU_ASSERT_EQUAL(t.local, 10);
	CU_ASSERT_EQUAL(t.allow, 10);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
	fake_stop(pid);
}

/* lockout.c over a server that answers SCAN with wrong types, then with
 * a cursor that never ends: an error, no crash, no endless loop. */
static void
test_hostile_locks(void)
{
	int port;
	pid_t pid = fake_start("types", &port, NULL);
	struct rl_conn_conf cc = { .host = "127.0.0.1" };
	struct rl_lock_info *v = NULL;
	redisContext *sc;
	size_t n = 7;
	char err[256];

	CU_ASSERT_FATAL(pid > 0);
	cc.port = port;
	sc = rl_sync_connect(&cc, 1000, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
	CU_ASSERT_EQUAL(rl_locks_list(sc, &v, &n, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "SCAN"));
	CU_ASSERT_EQUAL(rl_locks_lift(sc, "eve", err, sizeof(err)), 1);
	redisFree(sc);
	fake_stop(pid);
}

/* hostile_stream - the limiter over a server whose script replies never
 * end (fake_redis.py endless: a 1 GiB bulk string; wide: an array of 100
 * million elements, streamed): decisions fall back to the local limiter,
 * and the connection is dropped at the bounds of redis_uv.h. The server
 * reports what it sent before the hang-up: hiredis 0.14.1 alone would take
 * the whole stream (until the stall timer, gigabytes). */
static void
hostile_stream(const char *mode)
{
	struct srv fake = { 0 };
	uv_loop_t loop;
	struct rl_conf c;
	struct rl_limit l[1] = { rate("eve", "msg", 100, 60000) };
	struct tally t = { 0 };
	struct rl *rl;
	char report[] = "/tmp/sg_fake_report.XXXXXX";
	int fd = mkstemp(report), ended = 0;
	long long sent, most = 0;
	pid_t pid;
	FILE *f;

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	pid = fake_start(mode, &fake.port, report);
	CU_ASSERT_FATAL(pid > 0);
	c = test_conf(&fake);
	c.max_reply = 1 << 20;	/* the default, 64 MiB, takes seconds here */
	uv_loop_init(&loop);
	rl = rl_new(&loop, &c);
	CU_ASSERT(wait_up(&loop, rl, 3000));
	/* 4 s in all: within stall_ms (5 s), which would cut it too */
	for (int i = 0; i < 10; i++) {
		decide(rl, l, 1, "s", &t);
		CU_ASSERT(wait_tally(&loop, &t, i + 1, 3000));
		run_for(&loop, 400);	/* the stream keeps coming meanwhile */
	}
	CU_ASSERT_EQUAL(t.n, 10);
	CU_ASSERT_EQUAL(t.redis, 0);
	CU_ASSERT_EQUAL(t.local, 10);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
	usleep(300000);		/* the server notices the last hang-up */
	fake_stop(pid);
	if ((f = fopen(report, "r")) != NULL) {
		while (fscanf(f, "%lld", &sent) == 1) {
			ended++;
			most = sent > most ? sent : most;
		}
		fclose(f);
	}
	unlink(report);
	/* the bound waiting in the reader, plus what the sockets hold */
	CU_ASSERT(ended > 0);
	CU_ASSERT(most < (long long)c.max_reply + (16 << 20));
	if (most >= (long long)c.max_reply + (16 << 20))
		fprintf(stderr, "\n%s: %lld octets taken before the hang-up\n",
		    mode, most);
}

static void
test_hostile_endless(void)
{
	hostile_stream("endless");
}

static void
test_hostile_wide(void)
{
	hostile_stream("wide");
}

int
suite_redis_register(void)
{
	CU_pSuite s = CU_add_suite("redis", suite_init, NULL);

	if (s == NULL ||
	    CU_add_test(s, "exact_concurrency", test_exact_concurrency) ==
	    NULL ||
	    CU_add_test(s, "two_nodes", test_two_nodes) == NULL ||
	    CU_add_test(s, "all_or_nothing", test_all_or_nothing) == NULL ||
	    CU_add_test(s, "leases", test_leases) == NULL ||
	    CU_add_test(s, "give_back", test_give_back) == NULL ||
	    CU_add_test(s, "distinct_and_ttls", test_distinct_and_ttls) ==
	    NULL ||
	    CU_add_test(s, "odd_ids", test_odd_ids) == NULL ||
	    CU_add_test(s, "noscript", test_noscript) == NULL ||
	    CU_add_test(s, "pause_open", test_pause_open) == NULL ||
	    CU_add_test(s, "pause_closed", test_pause_closed) == NULL ||
	    CU_add_test(s, "kill_restart", test_kill_restart) == NULL ||
	    CU_add_test(s, "refused_connect", test_refused_connect) == NULL ||
	    CU_add_test(s, "silent_server", test_silent_server) == NULL ||
	    CU_add_test(s, "locks", test_locks) == NULL ||
	    CU_add_test(s, "password", test_password) == NULL ||
	    CU_add_test(s, "free_pending", test_free_pending) == NULL ||
	    CU_add_test(s, "hostile_script", test_hostile_script) == NULL ||
	    CU_add_test(s, "hostile_locks", test_hostile_locks) == NULL ||
	    CU_add_test(s, "hostile_endless", test_hostile_endless) == NULL ||
	    CU_add_test(s, "hostile_wide", test_hostile_wide) == NULL)
		return -1;
	return 0;
}
