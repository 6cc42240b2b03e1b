/*
 * test_core.c - the pure limiter parts without Redis: GCRA arithmetic, key
 * escaping of huge and odd ids, plan compilation and argv layout, and the
 * local fallback's semantics (exact counts, all-or-nothing, leases, distinct
 * sets, expiry) on a clock the test drives.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "err.h"
#include "harness.h"
#include "suites.h"
#include "local.h"

#define SEC 1000000LL
#define T0 (1000 * SEC)

static void
test_gcra_math(void)
{
	struct rl_gcra g;
	int64_t tat = 0, nt, retry;
	int allowed = 0;

	CU_ASSERT_EQUAL(rl_gcra_params(10, 1000, 0, &g), 0);
	CU_ASSERT_EQUAL(g.t_us, 100000);
	CU_ASSERT_EQUAL(g.tau_us, 1000000);
	for (int i = 0; i < 15; i++)
		if (rl_gcra_step(&g, tat, T0, 1, &nt, &retry)) {
			tat = nt;
			allowed++;
		}
	CU_ASSERT_EQUAL(allowed, 10);
	CU_ASSERT_FALSE(rl_gcra_step(&g, tat, T0, 1, &nt, &retry));
	CU_ASSERT_EQUAL(retry, 100);
	CU_ASSERT_FALSE(rl_gcra_step(&g, tat, T0 + 99999, 1, &nt, &retry));
	CU_ASSERT_EQUAL(retry, 1);
	CU_ASSERT_TRUE(rl_gcra_step(&g, tat, T0 + 100000, 1, &nt, &retry));
	/* A full period later the whole burst is back. */
	allowed = 0;
	for (int i = 0; i < 15; i++)
		if (rl_gcra_step(&g, tat, T0 + SEC, 1, &nt, &retry)) {
			tat = nt;
			allowed++;
		}
	CU_ASSERT_EQUAL(allowed, 10);
	/* Burst below the limit; costs; a cost beyond the burst never fits. */
	CU_ASSERT_EQUAL(rl_gcra_params(100, 60000, 5, &g), 0);
	CU_ASSERT_EQUAL(g.tau_us, 5 * g.t_us);
	tat = 0;
	CU_ASSERT_TRUE(rl_gcra_step(&g, tat, T0, 3, &tat, &retry));
	CU_ASSERT_TRUE(rl_gcra_step(&g, tat, T0, 2, &tat, &retry));
	CU_ASSERT_FALSE(rl_gcra_step(&g, tat, T0, 1, &nt, &retry));
	CU_ASSERT_EQUAL(retry, 600);
	CU_ASSERT_FALSE(rl_gcra_step(&g, 0, T0, 6, &nt, &retry));
	CU_ASSERT_EQUAL(retry, -1);
	CU_ASSERT_TRUE(rl_gcra_step(&g, tat, T0, 0, &nt, &retry));
	/* Periods that do not divide: 3 per second is exactly 3 at once. */
	CU_ASSERT_EQUAL(rl_gcra_params(3, 1000, 0, &g), 0);
	CU_ASSERT_EQUAL(g.t_us, 333333);
	tat = 0;
	allowed = 0;
	for (int i = 0; i < 5; i++)
		if (rl_gcra_step(&g, tat, T0, 1, &nt, &retry)) {
			tat = nt;
			allowed++;
		}
	CU_ASSERT_EQUAL(allowed, 3);
	/* Bytes: 10 MB per hour, costs of 1 MB. */
	CU_ASSERT_EQUAL(rl_gcra_params(10000000, 3600000, 0, &g), 0);
	tat = 0;
	allowed = 0;
	for (int i = 0; i < 12; i++)
		if (rl_gcra_step(&g, tat, T0, 1000000, &nt, &retry)) {
			tat = nt;
			allowed++;
		}
	CU_ASSERT_EQUAL(allowed, 10);
	CU_ASSERT_EQUAL(retry, 360000);
	/* Bad parameters. */
	CU_ASSERT_EQUAL(rl_gcra_params(0, 1000, 0, &g), SG_EINVAL);
	CU_ASSERT_EQUAL(rl_gcra_params(10, 0, 0, &g), SG_EINVAL);
	CU_ASSERT_EQUAL(rl_gcra_params(10, 1000, -1, &g), SG_EINVAL);
	CU_ASSERT_EQUAL(rl_gcra_params(10, RL_MAX_US, 0, &g), SG_EINVAL);
}

static int
key_is_sane(const char *k, size_t len)
{
	size_t open = 0, close = 0;

	if (len >= RL_KEY_MAX || strlen(k) != len || strncmp(k, "sg:{", 4))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c < 0x21 || c > 0x7e)
			return 0;
		open += c == '{';
		close += c == '}';
	}
	return open == 1 && close == 1;
}

static void
test_key_escaping(void)
{
	char out[RL_ID_MAX + 1], key[RL_KEY_MAX], key2[RL_KEY_MAX];
	char m[RL_MEMBER_MAX];
	static const char odd[] = "a{b}c:d%e#f\0g\n\r \"'\\\xff";
	struct rl_limit l = { .kind = RL_RATE, .scope = "sub", .name = "msg" };
	size_t n, big = 1 << 20;
	char *huge = malloc(big);

	CU_ASSERT_EQUAL(rl_escape(out, "alice@example.org", 17), 17);
	CU_ASSERT_STRING_EQUAL(out, "alice@example.org");
	rl_escape(out, "2001:db8::1", 11);
	CU_ASSERT_STRING_EQUAL(out, "2001%3adb8%3a%3a1");
	n = rl_escape(out, odd, sizeof(odd) - 1);
	CU_ASSERT_EQUAL(n, strlen(out));
	CU_ASSERT_PTR_NULL(strpbrk(out, "{}: \n\r"));
	CU_ASSERT_EQUAL(rl_escape(out, "", 0), 0);

	memset(huge, '{', big);
	n = rl_escape(out, huge, big);
	CU_ASSERT_EQUAL(n, 33);
	CU_ASSERT_EQUAL(out[0], '#');
	l.id = huge;
	l.idlen = big;
	n = rl_key(key, &l);
	CU_ASSERT_TRUE(key_is_sane(key, n));
	huge[big - 1] = '}';
	rl_key(key2, &l);
	CU_ASSERT_STRING_NOT_EQUAL(key, key2);
	/* The longest id kept literally and the shortest hashed one. */
	memset(huge, 'x', 65);
	CU_ASSERT_EQUAL(rl_escape(out, huge, 64), 64);
	CU_ASSERT_EQUAL(rl_escape(out, huge, 65), 33);
	memset(huge, ':', 22);
	CU_ASSERT_EQUAL(rl_escape(out, huge, 21), 63);
	CU_ASSERT_EQUAL(rl_escape(out, huge, 22), 33);

	l.id = odd;
	l.idlen = sizeof(odd) - 1;
	l.scope = "s{}:";
	l.name = "n\n}{";
	n = rl_key(key, &l);
	CU_ASSERT_TRUE(key_is_sane(key, n));
	l.scope = "sub";
	l.name = "msg";
	l.id = "bob";
	l.idlen = 3;
	rl_key(key, &l);
	CU_ASSERT_STRING_EQUAL(key, "sg:{sub:bob}:msg:r");
	l.kind = RL_CONC;
	rl_key(key, &l);
	CU_ASSERT_STRING_EQUAL(key, "sg:{sub:bob}:msg:c");
	/* Different ids never share a key: "a:b" + "c" vs "a" + "b:c". */
	l.scope = "a:b";
	l.id = "c";
	l.idlen = 1;
	rl_key(key, &l);
	l.scope = "a";
	l.id = "b:c";
	l.idlen = 3;
	rl_key(key2, &l);
	CU_ASSERT_STRING_NOT_EQUAL(key, key2);

	CU_ASSERT_EQUAL(rl_member(m, "mx.example.org", 14), 15);
	CU_ASSERT_STRING_EQUAL(m, "=mx.example.org");
	CU_ASSERT_EQUAL(rl_member(m, huge, 1000), 33);
	CU_ASSERT_EQUAL(m[0], '#');
	free(huge);
}

static void
test_plan(void)
{
	struct rl_limit l[RL_MAX_LIMITS + 1];
	struct rl_plan *p = malloc(sizeof(*p));
	struct rl_argv *a = malloc(sizeof(*a));

	memset(l, 0, sizeof(l));
	for (int i = 0; i <= RL_MAX_LIMITS; i++)
		l[i] = (struct rl_limit){ .kind = RL_RATE, .scope = "sub",
			.id = "x", .idlen = 1, .name = "conn", .limit = 10,
			.period_ms = 1000, .cost = 1 };
	CU_ASSERT_EQUAL(rl_plan_build(p, l, 0, "n", "s", 1), SG_EINVAL);
	CU_ASSERT_EQUAL(rl_plan_build(p, l, RL_MAX_LIMITS + 1, "n", "s", 1),
	    SG_EINVAL);
	CU_ASSERT_EQUAL(rl_plan_build(p, l, RL_MAX_LIMITS, "n", "s", 1), 0);
	l[1].cost = -1;
	CU_ASSERT_EQUAL(rl_plan_build(p, l, 2, "n", "s", 1), SG_EINVAL);
	l[1].cost = 1;
	l[1].kind = RL_CONC;
	l[1].limit = 0;
	CU_ASSERT_EQUAL(rl_plan_build(p, l, 2, "n", "s", 1), SG_EINVAL);
	l[1].limit = 3;
	l[1].period_ms = 60000;
	l[2] = (struct rl_limit){ .kind = RL_DISTINCT, .scope = "sub",
		.id = "x", .idlen = 1, .name = "dst", .limit = 5,
		.period_ms = 3600000, .member = "mx.a", .member_len = 4 };
	l[3] = (struct rl_limit){ .kind = RL_LOCK, .scope = "sub", .id = "x",
		.idlen = 1, .name = "lock" };
	CU_ASSERT_EQUAL(rl_plan_build(p, l, 4, "node:1", "sess\0ion", 8), 0);
	CU_ASSERT_EQUAL(p->nconc, 1);
	CU_ASSERT_STRING_EQUAL(p->lease, "node%3a1:sess%00ion");
	CU_ASSERT_EQUAL(rl_plan_argv(p, NULL, 0, "abc", "d", a), 0);
	/* EVALSHA sha 4 k1..k4 d lease 0 r t tau cost c lim ttl d lim per m l */
	CU_ASSERT_EQUAL(a->argc, 3 + 4 + 3 + 4 + 3 + 4 + 1);
	CU_ASSERT_STRING_EQUAL(a->argv[2], "4");
	CU_ASSERT_STRING_EQUAL(a->argv[3], "sg:{sub:x}:conn:r");
	CU_ASSERT_STRING_EQUAL(a->argv[7], "d");
	CU_ASSERT_STRING_EQUAL(a->argv[8], "node%3a1:sess%00ion");
	CU_ASSERT_STRING_EQUAL(a->argv[9], "0");
	CU_ASSERT_STRING_EQUAL(a->argv[10], "r");
	CU_ASSERT_STRING_EQUAL(a->argv[11], "100000");
	CU_ASSERT_EQUAL(a->len[20], 5);
	CU_ASSERT_EQUAL(memcmp(a->argv[20], "=mx.a", 5), 0);
	CU_ASSERT_STRING_EQUAL(a->argv[21], "l");
	/* a lease given back alone: its RL_CONC key, mode d, no lease of its
	 * own, one key given back and its holder */
	{
		const struct rl_plan *g[RL_GIVE_MAX + 1];
		struct rl_plan *q = malloc(sizeof(*q));

		g[0] = p;
		CU_ASSERT_EQUAL(rl_plan_argv(NULL, g, 1, "abc", "d", a), 1);
		CU_ASSERT_EQUAL(a->argc, 3 + 1 + 3 + 1);
		CU_ASSERT_STRING_EQUAL(a->argv[2], "1");
		CU_ASSERT_STRING_EQUAL(a->argv[3], "sg:{sub:x}:conn:c");
		CU_ASSERT_STRING_EQUAL(a->argv[4], "d");
		CU_ASSERT_EQUAL(a->len[5], 0);
		CU_ASSERT_STRING_EQUAL(a->argv[6], "1");
		CU_ASSERT_STRING_EQUAL(a->argv[7], "node%3a1:sess%00ion");
		/* carried by a decision: given-back keys first */
		CU_ASSERT_EQUAL(rl_plan_build(q, &l[3], 1, "n", "t", 1), 0);
		CU_ASSERT_EQUAL(rl_plan_argv(q, g, 1, "abc", "d", a), 1);
		CU_ASSERT_EQUAL(a->argc, 3 + 2 + 3 + 1 + 1);
		CU_ASSERT_STRING_EQUAL(a->argv[2], "2");
		CU_ASSERT_STRING_EQUAL(a->argv[3], "sg:{sub:x}:conn:c");
		CU_ASSERT_STRING_EQUAL(a->argv[4], "sg:{sub:x}:lock:l");
		CU_ASSERT_STRING_EQUAL(a->argv[6], "n:t");
		CU_ASSERT_STRING_EQUAL(a->argv[7], "1");
		CU_ASSERT_STRING_EQUAL(a->argv[8], "node%3a1:sess%00ion");
		CU_ASSERT_STRING_EQUAL(a->argv[9], "l");
		/* at most RL_GIVE_MAX keys given back by one call */
		for (int i = 0; i <= RL_GIVE_MAX; i++)
			g[i] = p;
		CU_ASSERT_EQUAL(rl_plan_argv(q, g, RL_GIVE_MAX + 1, "abc",
		    "d", a), RL_GIVE_MAX);
		CU_ASSERT_STRING_EQUAL(a->argv[2], "17");
		/* neither: a probe */
		CU_ASSERT_EQUAL(rl_plan_argv(NULL, g, 0, "abc", "d", a), 0);
		CU_ASSERT_EQUAL(a->argc, 4);
		CU_ASSERT_STRING_EQUAL(a->argv[3], "p");
		free(q);
	}
	rl_plan_argv(p, NULL, 0, "abc", "p", a);
	CU_ASSERT_EQUAL(a->argc, 4);
	CU_ASSERT_STRING_EQUAL(a->argv[2], "0");
	CU_ASSERT_STRING_EQUAL(a->argv[3], "p");
	/* RESP as hiredis would format it */
	{
		const char *v[] = { "GET", "k\r\n\0" };
		size_t vl[] = { 3, 4 };
		char buf[64];

		CU_ASSERT_EQUAL(rl_resp(2, v, vl, buf, 8), 23);
		CU_ASSERT_EQUAL(rl_resp(2, v, vl, buf, sizeof(buf)), 23);
		CU_ASSERT_EQUAL(memcmp(buf, "*2\r\n$3\r\nGET\r\n$4\r\nk\r\n\0\r\n",
		    23), 0);
	}
	/* an id the caller escaped once: the same key */
	{
		struct rl_limit e = l[3];
		char k1[RL_KEY_MAX], k2[RL_KEY_MAX], eid[RL_ID_MAX + 1];

		e.id = "a:b{c}";
		e.idlen = 6;
		rl_key(k1, &e);
		e.eidlen = rl_escape(eid, e.id, e.idlen);
		e.eid = eid;
		e.id = "ignored";
		CU_ASSERT_EQUAL(rl_key(k2, &e), strlen(k1));
		CU_ASSERT_STRING_EQUAL(k1, k2);
		CU_ASSERT_STRING_EQUAL(k1, "sg:{sub:a%3ab%7bc%7d}:lock:l");
	}
	free(p);
	free(a);
}

static struct rl_plan *
plan1(const struct rl_limit *l, size_t n, const char *session)
{
	static struct rl_plan p;

	CU_ASSERT_FATAL(rl_plan_build(&p, l, n, "node", session,
	    strlen(session)) == 0);
	return &p;
}

static void
test_local_semantics(void)
{
	struct rl_local *lo = rl_local_new();
	struct rl_limit a = { .kind = RL_RATE, .scope = "sub", .id = "s",
		.idlen = 1, .name = "rcpt", .limit = 5, .period_ms = 60000,
		.cost = 1 };
	struct rl_limit b = { .kind = RL_RATE, .scope = "all", .id = "",
		.name = "rcpt", .limit = 2, .period_ms = 60000, .cost = 1 };
	struct rl_limit both[2] = { a, b };
	struct rl_limit c = { .kind = RL_CONC, .scope = "sub", .id = "s",
		.idlen = 1, .name = "sess", .limit = 2, .period_ms = 1000 };
	struct rl_limit d = { .kind = RL_DISTINCT, .scope = "sub", .id = "s",
		.idlen = 1, .name = "dst", .limit = 3, .period_ms = 10000 };
	struct rl_outcome o;
	int ok = 0;
	char host[16];

	/* All-or-nothing: b denies the third, which a then never counted. */
	for (int i = 0; i < 4; i++) {
		rl_local_decide(lo, plan1(both, 2, "x"), T0, &o);
		ok += o.allow;
	}
	CU_ASSERT_EQUAL(ok, 2);
	CU_ASSERT_EQUAL(o.deny_index, 1);
	ok = 0;
	for (int i = 0; i < 10; i++) {
		rl_local_decide(lo, plan1(&a, 1, "x"), T0, &o);
		ok += o.allow;
	}
	CU_ASSERT_EQUAL(ok, 3);

	/* Leases: two holders, a third waits for a release or an expiry. */
	rl_local_decide(lo, plan1(&c, 1, "s1"), T0, &o);
	CU_ASSERT_TRUE(o.allow);
	rl_local_decide(lo, plan1(&c, 1, "s2"), T0, &o);
	CU_ASSERT_TRUE(o.allow);
	rl_local_decide(lo, plan1(&c, 1, "s3"), T0, &o);
	CU_ASSERT_FALSE(o.allow);
	CU_ASSERT_EQUAL(o.retry_ms, 1000);
	rl_local_decide(lo, plan1(&c, 1, "s1"), T0 + 500000, &o);
	CU_ASSERT_TRUE(o.allow);	/* a holder renews */
	rl_local_release(lo, plan1(&c, 1, "s2"), T0 + 500000);
	rl_local_decide(lo, plan1(&c, 1, "s3"), T0 + 500000, &o);
	CU_ASSERT_TRUE(o.allow);
	rl_local_decide(lo, plan1(&c, 1, "s4"), T0 + 600000, &o);
	CU_ASSERT_FALSE(o.allow);
	/* s1 renewed at +0.5 s, s3 taken at +0.5 s: both gone at +1.5 s. */
	rl_local_decide(lo, plan1(&c, 1, "s4"), T0 + 1500000, &o);
	CU_ASSERT_TRUE(o.allow);
	rl_local_decide(lo, plan1(&c, 1, "s5"), T0 + 1500000, &o);
	CU_ASSERT_TRUE(o.allow);

	/* Distinct destinations: repeats are free, a fourth host is not. */
	for (int i = 0; i < 3; i++) {
		snprintf(host, sizeof(host), "mx%d.example", i);
		d.member = host;
		d.member_len = strlen(host);
		rl_local_decide(lo, plan1(&d, 1, "x"), T0, &o);
		CU_ASSERT_TRUE(o.allow);
		rl_local_decide(lo, plan1(&d, 1, "x"), T0 + 1, &o);
		CU_ASSERT_TRUE(o.allow);
	}
	d.member = "mx9.example";
	d.member_len = 11;
	rl_local_decide(lo, plan1(&d, 1, "x"), T0 + 1000, &o);
	CU_ASSERT_FALSE(o.allow);
	CU_ASSERT_EQUAL(o.retry_ms, 9999);
	rl_local_decide(lo, plan1(&d, 1, "x"), T0 + 10 * SEC, &o);
	CU_ASSERT_TRUE(o.allow);

	/* Everything expires: far in the future the table empties. */
	CU_ASSERT_TRUE(rl_local_entries(lo) > 0);
	for (int i = 0; i < 1000; i++)
		rl_local_decide(lo, plan1(&b, 1, "x"), T0 + 3600 * SEC, &o);
	CU_ASSERT_EQUAL(rl_local_entries(lo), 1);
	rl_local_free(lo);
}

static void
test_local_many_keys(void)
{
	struct rl_local *lo = rl_local_new();
	struct rl_limit a = { .kind = RL_RATE, .scope = "sub", .name = "m",
		.limit = 1, .period_ms = 1000, .cost = 1 };
	struct rl_outcome o;
	char id[32];
	int ok = 0;

	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++) {
			snprintf(id, sizeof(id), "sub-%d", i);
			a.id = id;
			a.idlen = strlen(id);
			rl_local_decide(lo, plan1(&a, 1, "x"), T0, &o);
			ok += o.allow;
		}
	CU_ASSERT_EQUAL(ok, 5000);
	CU_ASSERT_EQUAL(rl_local_entries(lo), 5000);
	rl_local_free(lo);
}

int
suite_core_register(void)
{
	CU_pSuite s = CU_add_suite("core", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "gcra_math", test_gcra_math) == NULL ||
	    CU_add_test(s, "key_escaping", test_key_escaping) == NULL ||
	    CU_add_test(s, "plan", test_plan) == NULL ||
	    CU_add_test(s, "local_semantics", test_local_semantics) == NULL ||
	    CU_add_test(s, "local_many_keys", test_local_many_keys) == NULL)
		return -1;
	return 0;
}
