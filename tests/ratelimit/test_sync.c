/*
 * test_sync.c - the blocking client (redis_sync.h) and the lock-out
 * keyspace (lockout.h) against real servers: a primary and a sentinel
 * started here. The database of the configuration is honoured by the
 * blocking client (directly and through Sentinel) and by the limiter's
 * own connection, so that a lock the limiter sets is the lock `subgate
 * locks` and the admin endpoint list and lift.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "suites.h"
#include "lockout.h"
#include "redis_sync.h"

static struct srv prim, sent;

static struct rl_conn_conf
direct(unsigned db)
{
	struct rl_conn_conf c = { .host = "127.0.0.1", .port = prim.port,
		.database = db, .connect_timeout_ms = 500 };

	return c;
}

/* get - GET key over a fresh blocking connection to database db; "" if
 * there is none, "?" on error. */
static const char *
get(unsigned db, const char *key, char *buf, size_t len)
{
	struct rl_conn_conf cc = direct(db);
	char err[256];
	redisContext *c = rl_sync_connect(&cc, 1000, err, sizeof(err));
	redisReply *r;

	snprintf(buf, len, "?");
	if (c == NULL)
		return buf;
	r = redisCommand(c, "GET %s", key);
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		snprintf(buf, len, "%s", r->str);
	else if (r != NULL && r->type == REDIS_REPLY_NIL)
		buf[0] = '\0';
	freeReplyObject(r);
	redisFree(c);
	return buf;
}

static void
set_in(redisContext *c, const char *key, const char *val)
{
	redisReply *r = redisCommand(c, "SET %s %s PX 60000", key, val);

	CU_ASSERT_TRUE(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
}

static void
test_direct_database(void)
{
	struct rl_conn_conf cc = direct(3);
	char err[256], buf[64];
	redisContext *c = rl_sync_connect(&cc, 1000, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	set_in(c, "sync:direct", "three");
	redisFree(c);
	CU_ASSERT_STRING_EQUAL(get(3, "sync:direct", buf, sizeof(buf)), "three");
	CU_ASSERT_STRING_EQUAL(get(0, "sync:direct", buf, sizeof(buf)), "");

	/* nobody there: NULL and why */
	cc.port = srv_free_port();
	CU_ASSERT_PTR_NULL(rl_sync_connect(&cc, 1000, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "redis 127.0.0.1:"));
	/* a database the server does not have */
	cc = direct(100000);
	CU_ASSERT_PTR_NULL(rl_sync_connect(&cc, 1000, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "SELECT 100000"));
}

static void
test_sentinel_database(void)
{
	char addr[32], err[256], buf[64];
	const char *sentinels[2] = { "127.0.0.1:1", addr };	/* first down */
	struct rl_conn_conf cc = { .sentinels = sentinels, .nsentinels = 2,
		.master_name = "mymaster", .database = 4,
		.connect_timeout_ms = 500 };
	redisContext *c;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", sent.port);
	c = rl_sync_connect(&cc, 1000, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	set_in(c, "sync:sentinel", "four");
	redisFree(c);
	CU_ASSERT_STRING_EQUAL(get(4, "sync:sentinel", buf, sizeof(buf)),
	    "four");
	CU_ASSERT_STRING_EQUAL(get(0, "sync:sentinel", buf, sizeof(buf)), "");

	/* a name the sentinels do not know */
	cc.master_name = "other";
	CU_ASSERT_PTR_NULL(rl_sync_connect(&cc, 1000, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not know other"));
	/* no sentinel answers */
	cc.master_name = "mymaster";
	cc.nsentinels = 1;
	CU_ASSERT_PTR_NULL(rl_sync_connect(&cc, 1000, err, sizeof(err)));
}

static void
test_auth(void)
{
	struct rl_conn_conf cc = direct(0);
	char err[256];
	redisContext *c;
	redisReply *r = srv_cmd(&prim, "CONFIG SET requirepass s3cret-pw");

	CU_ASSERT_TRUE_FATAL(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	cc.password = "wrong-pw";
	CU_ASSERT_PTR_NULL(rl_sync_connect(&cc, 1000, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "redis AUTH"));
	CU_ASSERT_PTR_NULL(strstr(err, "wrong-pw"));
	cc.password = "s3cret-pw";
	c = rl_sync_connect(&cc, 1000, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	r = redisCommand(c, "CONFIG SET requirepass %s", "");
	CU_ASSERT_TRUE(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	redisFree(c);
}

static void
lock_cb(void *arg, int err)
{
	*(int *)arg = err == 0 ? 1 : -1;
}

/* The limiter in database 5: its keys and its locks are there, and the
 * lock-out keyspace finds them there (and only there). */
static void
test_limiter_database(void)
{
	struct rl_conf conf = test_conf(&prim);
	struct rl_limit l = { .kind = RL_RATE, .scope = "sub", .id = "kim",
		.idlen = 3, .name = "msg", .limit = 100, .period_ms = 60000,
		.cost = 1 };
	struct rl_request req = { &l, 1, "s", 1 };
	struct rl_conn_conf cc = direct(5);
	struct rl_lock_info *v;
	struct tally t = { 0 };
	char err[256], buf[64];
	redisContext *c;
	uv_loop_t loop;
	struct rl *rl;
	size_t n;
	int locked = 0;

	conf.database = 5;
	uv_loop_init(&loop);
	rl = rl_new(&loop, &conf);
	CU_ASSERT_FATAL(wait_up(&loop, rl, 5000));
	CU_ASSERT_EQUAL(rl_decide(rl, &req, tally_cb, &t), 0);
	CU_ASSERT(wait_tally(&loop, &t, 1, 3000));
	CU_ASSERT_EQUAL(t.redis, 1);
	CU_ASSERT_EQUAL(rl_lock(rl, "sub", "kim", 3, 60000, lock_cb, &locked),
	    0);
	CU_ASSERT(run_until(&loop, &locked, 3000));
	CU_ASSERT_EQUAL(locked, 1);
	CU_ASSERT_EQUAL(close_rl(&loop, rl), 0);
	CU_ASSERT_STRING_EQUAL(get(0, "sg:{sub:kim}:lock:l", buf, sizeof(buf)),
	    "");
	CU_ASSERT_STRING_EQUAL(get(5, "sg:{sub:kim}:lock:l", buf, sizeof(buf)),
	    "1");

	c = rl_sync_connect(&cc, 1000, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(rl_locks_list(c, &v, &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(v[0].subscriber, "kim");
	CU_ASSERT(v[0].ttl_ms > 0 && v[0].ttl_ms <= 60000);
	free(v);
	CU_ASSERT_EQUAL(rl_locks_lift(c, "kim", err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(rl_locks_lift(c, "kim", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rl_locks_list(c, &v, &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(v);
	redisFree(c);
}

/* Keys of the lockout module: the limiter's key, escaped ids back. */
static void
test_lockout_keys(void)
{
	struct rl_conn_conf cc = direct(6);
	char key[RL_KEY_MAX], err[256];
	const char weird[] = "a b:{c}%";
	struct rl_lock_info *v;
	redisContext *c;
	size_t n, klen;

	klen = rl_lock_key(key, "sub", "kim", 3);
	CU_ASSERT_EQUAL(klen, strlen("sg:{sub:kim}:lock:l"));
	CU_ASSERT_STRING_EQUAL(key, "sg:{sub:kim}:lock:l");
	CU_ASSERT_STRING_EQUAL(RL_LOCK_SUB_MATCH, "sg:{sub:*}:lock:l");
	c = rl_sync_connect(&cc, 1000, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	rl_lock_key(key, "sub", weird, strlen(weird));
	set_in(c, key, "1");
	rl_lock_key(key, "dst", "kim", 3);	/* not a subscriber's */
	set_in(c, key, "1");
	CU_ASSERT_EQUAL(rl_locks_list(c, &v, &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(v[0].subscriber, weird);
	free(v);
	CU_ASSERT_EQUAL(rl_locks_lift(c, weird, err, sizeof(err)), 1);
	redisFree(c);
}

static int
suite_init(void)
{
	prim.port = srv_free_port();
	if (srv_start(&prim) != 0)
		return -1;
	sent.sentinel = 1;
	sent.port = srv_free_port();
	snprintf(sent.extra, sizeof(sent.extra),
	    "sentinel monitor mymaster 127.0.0.1 %d 1\n", prim.port);
	return srv_start(&sent);
}

static int
suite_clean(void)
{
	srv_destroy(&sent);
	srv_destroy(&prim);
	return 0;
}

int
suite_sync_register(void)
{
	CU_pSuite s = CU_add_suite("sync", suite_init, suite_clean);

	if (s == NULL ||
	    CU_add_test(s, "direct_database", test_direct_database) == NULL ||
	    CU_add_test(s, "sentinel_database", test_sentinel_database) == NULL ||
	    CU_add_test(s, "auth", test_auth) == NULL ||
	    CU_add_test(s, "limiter_database", test_limiter_database) == NULL ||
	    CU_add_test(s, "lockout_keys", test_lockout_keys) == NULL)
		return -1;
	return 0;
}
