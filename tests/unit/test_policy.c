/*
 * test_policy.c - the pure policy core (proxy/policy_core.c): which limits
 * each decision point checks for each traffic class and scope, the replies
 * for every action at every point (codes, RFC 3463 enhanced codes, %l/%r),
 * the lock-out limit and rule, and the subscriber id of an unknown address. The
 * configuration is built by hand so that this suite does not depend on the
 * YAML loader.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "identity.h"
#include "policy_core.h"
#include "suites.h"
#include "util.h"

static struct config C;
static struct policy_class classes[2];

static void
conf_reset(void)
{
	struct policy_class *res = &classes[0], *biz = &classes[1];

	memset(&C, 0, sizeof(C));
	memset(classes, 0, sizeof(classes));
	res->name = "residential";
	res->action = ACTION_REFUSE_SUBMISSION;
	res->lockout.violations = 5;
	res->lockout.within_ms = 600000;
	res->lockout.duration_ms = 3600000;
	res->traffic[TRAFFIC_MX].connections = (struct rate){ 30, 60000 };
	res->traffic[TRAFFIC_MX].concurrent = 5;
	res->traffic[TRAFFIC_MX].messages = (struct rate){ 20, 3600000 };
	res->traffic[TRAFFIC_MX].recipients = (struct rate){ 100, 3600000 };
	res->traffic[TRAFFIC_MX].bytes = (struct rate){ 50 << 20, 3600000 };
	res->traffic[TRAFFIC_MX].destinations = (struct rate){ 20, 3600000 };
	res->traffic[TRAFFIC_MX].has_action = 1;
	res->traffic[TRAFFIC_MX].action = ACTION_TEMPFAIL;
	res->traffic[TRAFFIC_SUBMISSION].messages = (struct rate){ 200, 3600000 };
	res->traffic[TRAFFIC_TLS].connections = (struct rate){ 10, 60000 };
	res->traffic[TRAFFIC_TLS].concurrent = 2;
	res->traffic[TRAFFIC_TLS].bytes = (struct rate){ 16 << 20, 3600000 };
	res->traffic[TRAFFIC_TLS].duration_ms = 600000;
	biz->name = "blocked";
	biz->action = ACTION_BLOCK;
	biz->traffic[TRAFFIC_MX].deny = 1;
	C.policy.classes = classes;
	C.policy.nclasses = 2;
	C.policy.default_class = res;
	C.policy.destination.all.connections = (struct rate){ 1000, 60000 };
	C.policy.destination.all.messages = (struct rate){ 5000, 3600000 };
	C.policy.global.all.connections = (struct rate){ 10000, 60000 };
	C.policy.global.all.messages = (struct rate){ 100000, 3600000 };
	C.policy.replies.tempfail = "451 4.7.1 Too many %l from your address, "
	    "try again in %r seconds";
	C.policy.replies.refuse_submission = "550 5.7.1 Port 25 is for "
	    "server-to-server mail. Submit your mail on port 587 with "
	    "authentication (RFC 5068)";
	C.policy.replies.block = "554 5.7.1 Blocked";
	C.policy.replies.locked = "421 4.7.1 Locked for %r seconds";
	C.policy.replies.redis_down = "451 4.3.0 Temporary local problem, "
	    "try again later";
}

static struct pc_facts
facts(enum traffic_class t)
{
	struct pc_facts f = { "alice", 5, &classes[0], t, "192.0.2.25", 0,
		NULL, 0, NULL, 0 };

	return f;
}

/* find - index of the limit with scope and name in p, or -1. */
static int
find(const struct pc_plan *p, const char *scope, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->lim[i].scope, scope) == 0 &&
		    strcmp(p->lim[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
test_plan_connect(void)
{
	struct pc_facts f;
	struct pc_plan p;
	int i;

	conf_reset();
	f = facts(TRAFFIC_MX);
	pc_plan_build(&C, &f, PC_CONNECT, &p);
	CU_ASSERT_EQUAL(p.deny, 0);
	CU_ASSERT_EQUAL(p.n, 5);
	CU_ASSERT_EQUAL(p.nconc, 1);
	CU_ASSERT_EQUAL(p.lim[0].kind, RL_LOCK);
	CU_ASSERT_STRING_EQUAL(p.lim[0].scope, "sub");
	CU_ASSERT_STRING_EQUAL(p.lim[0].name, "lock");
	i = find(&p, "sub", "mx.conn");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(p.lim[i].kind, RL_RATE);
	CU_ASSERT_EQUAL(p.lim[i].limit, 30);
	CU_ASSERT_EQUAL(p.lim[i].period_ms, 60000);
	CU_ASSERT_EQUAL(p.lim[i].cost, 1);
	CU_ASSERT_EQUAL(p.lim[i].idlen, 5);
	CU_ASSERT_EQUAL(memcmp(p.lim[i].id, "alice", 5), 0);
	CU_ASSERT_EQUAL(p.meta[i].what, PC_W_CONN);
	CU_ASSERT_EQUAL(p.meta[i].action, ACTION_TEMPFAIL);
	i = find(&p, "sub", "mx.conc");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(p.lim[i].kind, RL_CONC);
	CU_ASSERT_EQUAL(p.lim[i].limit, 5);
	CU_ASSERT_EQUAL(p.lim[i].period_ms, PC_LEASE_TTL_MS);
	i = find(&p, "dst", "any.conn");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(p.lim[i].limit, 1000);
	CU_ASSERT_EQUAL(memcmp(p.lim[i].id, "192.0.2.25", 10), 0);
	CU_ASSERT_EQUAL(p.meta[i].action, ACTION_TEMPFAIL);
	i = find(&p, "all", "any.conn");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(p.lim[i].idlen, 0);
	CU_ASSERT_EQUAL(p.lim[i].limit, 10000);
	/* no messages at connect */
	CU_ASSERT_EQUAL(find(&p, "sub", "mx.msg"), -1);
}

static void
test_plan_points(void)
{
	struct pc_facts f;
	struct pc_plan p;
	int i;

	conf_reset();
	f = facts(TRAFFIC_MX);
	pc_plan_build(&C, &f, PC_MAIL, &p);
	CU_ASSERT(find(&p, "sub", "mx.msg") >= 0);
	CU_ASSERT(find(&p, "dst", "any.msg") >= 0);
	CU_ASSERT(find(&p, "all", "any.msg") >= 0);
	CU_ASSERT_EQUAL(find(&p, "sub", "mx.conn"), -1);
	CU_ASSERT_EQUAL(p.nconc, 0);

	pc_plan_build(&C, &f, PC_RCPT, &p);
	CU_ASSERT(find(&p, "sub", "mx.rcpt") >= 0);
	i = find(&p, "sub", "mx.dest");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(p.lim[i].kind, RL_DISTINCT);
	CU_ASSERT_EQUAL(p.lim[i].limit, 20);
	CU_ASSERT_EQUAL(p.lim[i].member_len, 10);
	CU_ASSERT_EQUAL(memcmp(p.lim[i].member, "192.0.2.25", 10), 0);

	f.bytes = 12345;
	pc_plan_build(&C, &f, PC_DATA_END, &p);
	i = find(&p, "sub", "mx.bytes");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(p.lim[i].cost, 12345);
	CU_ASSERT_EQUAL(p.lim[i].limit, 50 << 20);

	/* after AUTH the submission set applies */
	f = facts(TRAFFIC_SUBMISSION);
	pc_plan_build(&C, &f, PC_MAIL, &p);
	i = find(&p, "sub", "submission.msg");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(p.lim[i].limit, 200);
	CU_ASSERT_EQUAL(p.meta[i].action, ACTION_REFUSE_SUBMISSION);
	CU_ASSERT_EQUAL(find(&p, "sub", "mx.msg"), -1);
	pc_plan_build(&C, &f, PC_RCPT, &p);
	CU_ASSERT_EQUAL(find(&p, "sub", "submission.rcpt"), -1);
	CU_ASSERT_EQUAL(p.n, 0);	/* the lock alone: not past connect */

	/* STARTTLS: tls connections, concurrency, the first byte chunk */
	f = facts(TRAFFIC_TLS);
	f.bytes = pc_tls_chunk(&C, f.cls);
	CU_ASSERT_EQUAL(f.bytes, (16 << 20) / 16);
	pc_plan_build(&C, &f, PC_STARTTLS, &p);
	CU_ASSERT(find(&p, "sub", "tls.conn") >= 0);
	CU_ASSERT(find(&p, "sub", "tls.conc") >= 0);
	i = find(&p, "sub", "tls.bytes");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(p.lim[i].cost, 1 << 20);
	CU_ASSERT_EQUAL(p.nconc, 1);
	/* the session was counted in "any" at connect */
	CU_ASSERT_EQUAL(find(&p, "dst", "any.conn"), -1);
	pc_plan_build(&C, &f, PC_TLS_BYTES, &p);
	CU_ASSERT_EQUAL(p.n, 1);
	CU_ASSERT_STRING_EQUAL(p.lim[0].name, "tls.bytes");
	CU_ASSERT_EQUAL(find(&p, "sub", "lock"), -1);
}

static void
test_plan_bounds(void)
{
	struct pc_facts f;
	struct pc_plan p;
	struct limit_set full = { 0 };
	int t;

	conf_reset();
	full.connections = (struct rate){ 1, 1000 };
	full.messages = (struct rate){ 1, 1000 };
	full.recipients = (struct rate){ 1, 1000 };
	full.bytes = (struct rate){ 1, 1000 };
	full.destinations = (struct rate){ 1, 1000 };
	full.concurrent = 1;
	for (t = 0; t < TRAFFIC_COUNT; t++) {
		classes[0].traffic[t] = full;
		C.policy.destination.traffic[t] = full;
		C.policy.global.traffic[t] = full;
	}
	C.policy.destination.all = full;
	C.policy.global.all = full;
	for (t = 0; t < TRAFFIC_COUNT; t++) {
		f = facts((enum traffic_class)t);
		f.bytes = 1;
		for (int pt = 0; pt < PC_POINT_COUNT; pt++) {
			pc_plan_build(&C, &f, (enum pc_point)pt, &p);
			CU_ASSERT(p.n <= RL_MAX_LIMITS);
			CU_ASSERT(p.n >= 1);
		}
	}
	/* a huge rate is clamped below what the script can hold */
	classes[0].traffic[TRAFFIC_MX].connections =
	    (struct rate){ UINT64_MAX, 60000 };
	f = facts(TRAFFIC_MX);
	pc_plan_build(&C, &f, PC_CONNECT, &p);
	CU_ASSERT(p.lim[find(&p, "sub", "mx.conn")].limit <= RL_MAX_US);
}

/* The lock: only when a class has a lock-out; alone only at connect;
 * cached escaped ids reach the limits. */
static void
test_plan_lock(void)
{
	struct pc_facts f;
	struct pc_plan p;
	int i;

	conf_reset();
	/* a class with nothing at all, no shared limits */
	memset(&classes[1].traffic, 0, sizeof(classes[1].traffic));
	memset(&C.policy.destination, 0, sizeof(C.policy.destination));
	memset(&C.policy.global, 0, sizeof(C.policy.global));
	CU_ASSERT_EQUAL(pc_locks_possible(&C), 1);
	f = facts(TRAFFIC_MX);
	f.cls = &classes[1];
	pc_plan_build(&C, &f, PC_CONNECT, &p);
	CU_ASSERT_EQUAL(p.n, 1);	/* a lock may be set by class 0 */
	CU_ASSERT_EQUAL(p.lim[0].kind, RL_LOCK);
	for (int pt = PC_MAIL; pt < PC_POINT_COUNT; pt++) {
		pc_plan_build(&C, &f, (enum pc_point)pt, &p);
		CU_ASSERT_EQUAL(p.n, 0);
		CU_ASSERT_EQUAL(p.deny, 0);
	}
	/* with a limit at the point the lock rides along, first */
	f.cls = &classes[0];
	pc_plan_build(&C, &f, PC_MAIL, &p);
	CU_ASSERT_EQUAL(p.n, 2);
	CU_ASSERT_EQUAL(p.lim[0].kind, RL_LOCK);
	/* no lock-out anywhere: no lock in any plan */
	classes[0].lockout.violations = 0;
	CU_ASSERT_EQUAL(pc_locks_possible(&C), 0);
	pc_plan_build(&C, &f, PC_MAIL, &p);
	CU_ASSERT_EQUAL(p.n, 1);
	CU_ASSERT_EQUAL(find(&p, "sub", "lock"), -1);
	f.cls = &classes[1];
	for (int pt = 0; pt < PC_POINT_COUNT; pt++) {
		pc_plan_build(&C, &f, (enum pc_point)pt, &p);
		CU_ASSERT_EQUAL(p.n, 0);
	}
	/* escaped ids cached by the caller go into every limit of theirs */
	conf_reset();
	f = facts(TRAFFIC_MX);
	f.esub = "alice";
	f.esublen = 5;
	f.edst = "192.0.2.25";
	f.edstlen = 10;
	pc_plan_build(&C, &f, PC_CONNECT, &p);
	i = find(&p, "sub", "mx.conn");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_PTR_EQUAL(p.lim[i].eid, f.esub);
	CU_ASSERT_EQUAL(p.lim[i].eidlen, 5);
	i = find(&p, "dst", "any.conn");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_PTR_EQUAL(p.lim[i].eid, f.edst);
	i = find(&p, "all", "any.conn");
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_PTR_NULL(p.lim[i].eid);
}

static void
test_plan_deny(void)
{
	struct pc_facts f;
	struct pc_plan p;
	struct smtp_verdict v;
	char buf[PC_REPLY_MAX];

	conf_reset();
	f = facts(TRAFFIC_MX);
	f.cls = &classes[1];
	pc_plan_build(&C, &f, PC_CONNECT, &p);
	CU_ASSERT_EQUAL(p.deny, 1);
	CU_ASSERT_EQUAL(p.n, 0);
	pc_verdict(&C, &p, PC_CONNECT, PC_DENY, -1, -1, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE_CLOSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "554 5.7.1 Blocked");
	CU_ASSERT_STRING_EQUAL(v.why, "limit:deny");
	/* no limits at all: nothing to ask */
	pc_plan_build(&C, &f, PC_MAIL, &p);
	CU_ASSERT_EQUAL(p.deny, 0);
	CU_ASSERT_EQUAL(p.n, 3);	/* lock, dst and global messages */
	/* a deny in a tempfail class (a hotspot's) blocks: a retry would
	 * never pass, and the block reply points to submission */
	classes[1].action = ACTION_TEMPFAIL;
	pc_plan_build(&C, &f, PC_CONNECT, &p);
	pc_verdict(&C, &p, PC_CONNECT, PC_DENY, -1, -1, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE_CLOSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "554 5.7.1 Blocked");
	/* ... but a refused STARTTLS stays a 454: the client goes on in
	 * the clear */
	classes[1].traffic[TRAFFIC_TLS].deny = 1;
	f = facts(TRAFFIC_TLS);
	f.cls = &classes[1];
	pc_plan_build(&C, &f, PC_STARTTLS, &p);
	CU_ASSERT_EQUAL(p.deny, 1);
	pc_verdict(&C, &p, PC_STARTTLS, PC_DENY, -1, -1, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE);
	CU_ASSERT_EQUAL(strncmp(v.reply, "454 ", 4), 0);
	classes[1].traffic[TRAFFIC_TLS].deny = 0;
	classes[1].action = ACTION_BLOCK;
}

/* verdict_of - the reply to a hit of the limit scope/name at point. */
static void
verdict_of(enum traffic_class t, enum pc_point pt, const char *scope,
    const char *name, int64_t retry_ms, struct smtp_verdict *v, char *buf)
{
	struct pc_facts f = facts(t);
	struct pc_plan p;
	int i;

	f.bytes = 100;
	pc_plan_build(&C, &f, pt, &p);
	i = find(&p, scope, name);
	CU_ASSERT_FATAL(i >= 0);
	pc_verdict(&C, &p, pt, PC_DENY, i, retry_ms, v, buf);
}

static void
test_verdicts(void)
{
	struct smtp_verdict v;
	struct pc_plan p;
	struct pc_facts f;
	char buf[PC_REPLY_MAX];

	conf_reset();
	/* tempfail (the mx set's own action) */
	verdict_of(TRAFFIC_MX, PC_CONNECT, "sub", "mx.conn", 1500, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE_CLOSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "421 4.7.1 Too many connections from "
	    "your address, try again in 2 seconds");
	CU_ASSERT_STRING_EQUAL(v.why, "limit:connections");
	verdict_of(TRAFFIC_MX, PC_MAIL, "sub", "mx.msg", 180000, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "451 4.7.1 Too many messages from "
	    "your address, try again in 180 seconds");
	verdict_of(TRAFFIC_MX, PC_RCPT, "sub", "mx.rcpt", 36000, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "452 4.5.3 Too many recipients from "
	    "your address, try again in 36 seconds");
	verdict_of(TRAFFIC_MX, PC_RCPT, "sub", "mx.dest", 1000, &v, buf);
	CU_ASSERT_STRING_EQUAL(v.reply, "451 4.7.1 Too many destinations from "
	    "your address, try again in 1 seconds");
	/* a message bigger than the whole budget: retry after a period */
	verdict_of(TRAFFIC_MX, PC_DATA_END, "sub", "mx.bytes", -1, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "451 4.7.1 Too many bytes from "
	    "your address, try again in 3600 seconds");
	/* destination and global hits are always temporary */
	verdict_of(TRAFFIC_MX, PC_CONNECT, "dst", "any.conn", 10, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE_CLOSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "421 4.7.1 Too many connections from "
	    "your address, try again in 1 seconds");

	/* refuse_submission (the class's action) */
	classes[0].traffic[TRAFFIC_MX].has_action = 0;
	verdict_of(TRAFFIC_MX, PC_CONNECT, "sub", "mx.conn", 10, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE_CLOSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "554 5.7.1 Port 25 is for "
	    "server-to-server mail. Submit your mail on port 587 with "
	    "authentication (RFC 5068)");
	verdict_of(TRAFFIC_MX, PC_MAIL, "sub", "mx.msg", 10, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE);
	CU_ASSERT_EQUAL(strncmp(v.reply, "550 5.7.1 Port 25", 17), 0);
	verdict_of(TRAFFIC_MX, PC_RCPT, "sub", "mx.rcpt", 10, &v, buf);
	CU_ASSERT_EQUAL(strncmp(v.reply, "550 5.7.1 Port 25", 17), 0);

	/* block */
	classes[0].action = ACTION_BLOCK;
	verdict_of(TRAFFIC_MX, PC_CONNECT, "sub", "mx.conc", 10, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE_CLOSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "554 5.7.1 Blocked");
	CU_ASSERT_STRING_EQUAL(v.why, "limit:concurrent");
	verdict_of(TRAFFIC_MX, PC_RCPT, "sub", "mx.rcpt", 10, &v, buf);
	CU_ASSERT_STRING_EQUAL(v.reply, "550 5.7.1 Blocked");
	verdict_of(TRAFFIC_MX, PC_DATA_END, "sub", "mx.bytes", 10, &v, buf);
	CU_ASSERT_STRING_EQUAL(v.reply, "554 5.7.1 Blocked");

	/* redirect: at connect only */
	classes[0].action = ACTION_REDIRECT;
	verdict_of(TRAFFIC_MX, PC_CONNECT, "sub", "mx.conn", 10, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REDIRECT);
	verdict_of(TRAFFIC_MX, PC_MAIL, "sub", "mx.msg", 10, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE);
	CU_ASSERT_EQUAL(strncmp(v.reply, "451 4.7.1 ", 10), 0);

	/* STARTTLS refused: 454 (RFC 3207 4), the session goes on */
	conf_reset();
	verdict_of(TRAFFIC_TLS, PC_STARTTLS, "sub", "tls.conc", 10, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE);
	CU_ASSERT_EQUAL(strncmp(v.reply, "554 5.7.1 Port 25", 17), 0);
	classes[0].action = ACTION_TEMPFAIL;
	verdict_of(TRAFFIC_TLS, PC_STARTTLS, "sub", "tls.conc", 10, &v, buf);
	CU_ASSERT_EQUAL(strncmp(v.reply, "454 4.7.0 Too many concurrent", 29), 0);

	/* locked: the locked reply, 421, the session ends */
	conf_reset();
	verdict_of(TRAFFIC_MX, PC_CONNECT, "sub", "lock", 3599001, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE_CLOSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "421 4.7.1 Locked for 3600 seconds");
	CU_ASSERT_STRING_EQUAL(v.why, "locked");
	verdict_of(TRAFFIC_MX, PC_RCPT, "sub", "lock", 1000, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE_CLOSE);

	/* Redis down, fail closed */
	f = facts(TRAFFIC_MX);
	pc_plan_build(&C, &f, PC_CONNECT, &p);
	pc_verdict(&C, &p, PC_CONNECT, PC_ERROR, -1, 0, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE_CLOSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "421 4.3.0 Temporary local problem, "
	    "try again later");
	CU_ASSERT_STRING_EQUAL(v.why, "redis_down");
	pc_plan_build(&C, &f, PC_RCPT, &p);
	pc_verdict(&C, &p, PC_RCPT, PC_ERROR, -1, 0, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_REFUSE);
	CU_ASSERT_STRING_EQUAL(v.reply, "451 4.3.0 Temporary local problem, "
	    "try again later");

	/* pass */
	pc_verdict(&C, &p, PC_RCPT, PC_ALLOW, -1, 0, &v, buf);
	CU_ASSERT_EQUAL(v.kind, SMTP_PASS);
	CU_ASSERT_PTR_NULL(v.reply);
}

static void
test_reply_text(void)
{
	char out[PC_REPLY_MAX], small[24];

	pc_reply("451 4.7.1 a %l b %r c %% d %x e%", 421, NULL, "messages", 7,
	    out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "421 4.7.1 a messages b 7 c % d %x e%");
	/* the template's enhanced code has the wrong class: replaced */
	pc_reply("550 5.7.1 go away", 451, NULL, "x", 0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "451 4.7.1 go away");
	/* forced enhanced code */
	pc_reply("451 4.7.28 slow down", 452, "4.5.3", "x", 0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "452 4.5.3 slow down");
	pc_reply("451 4.7.28 slow down", 451, NULL, "x", 0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "451 4.7.28 slow down");
	/* no code, no enhanced code, nothing at all */
	pc_reply("just text", 550, NULL, "x", 0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "550 5.7.1 just text");
	pc_reply("", 421, NULL, "x", 0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "421 4.7.1");
	pc_reply(NULL, 421, NULL, "x", 0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "421 4.7.1");
	/* "4.7" is not an enhanced code */
	pc_reply("451 4.7 x", 451, NULL, "x", 0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "451 4.7.1 4.7 x");
	/* truncation stays NUL-terminated */
	pc_reply("451 4.7.1 %l %l %l", 451, NULL, "recipients", 0, small,
	    sizeof(small));
	CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
	CU_ASSERT_STRING_EQUAL(small, "451 4.7.1 recipients re");
}

static void
test_violation(void)
{
	struct pc_facts f;
	struct rl_limit l;
	int now;

	conf_reset();
	f = facts(TRAFFIC_MX);
	CU_ASSERT_EQUAL(pc_violation(&f, &l, &now), 1);
	CU_ASSERT_EQUAL(now, 0);
	CU_ASSERT_EQUAL(l.kind, RL_RATE);
	CU_ASSERT_EQUAL(l.limit, 4);
	CU_ASSERT_EQUAL(l.period_ms, 600000);
	CU_ASSERT_EQUAL(l.cost, 1);
	CU_ASSERT_STRING_EQUAL(l.name, "viol");
	classes[0].lockout.violations = 1;
	CU_ASSERT_EQUAL(pc_violation(&f, &l, &now), 0);
	CU_ASSERT_EQUAL(now, 1);
	classes[0].lockout.violations = 0;
	CU_ASSERT_EQUAL(pc_violation(&f, &l, &now), 0);
	CU_ASSERT_EQUAL(now, 0);
}

/* The lock-out rule: a subscriber limit that Redis denied counts one
 * violation; the lockout.violations-th locks. Decided without Redis. */
static void
test_lockout_rule(void)
{
	struct pc_facts f;
	struct pc_plan p;
	struct pc_after a;
	int sub, dst, all;

	conf_reset();
	f = facts(TRAFFIC_MX);
	pc_plan_build(&C, &f, PC_CONNECT, &p);
	sub = find(&p, "sub", "mx.conn");
	dst = find(&p, "dst", "any.conn");
	all = find(&p, "all", "any.conn");
	CU_ASSERT_FATAL(sub > 0 && dst > 0 && all > 0);
	CU_ASSERT_EQUAL_FATAL(p.lim[0].kind, RL_LOCK);
	/* denied by Redis: count a violation against the class's "viol" */
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, sub, 1, &a),
	    PC_STEP_VIOLATION);
	CU_ASSERT_EQUAL(a.step, PC_STEP_VIOLATION);
	CU_ASSERT_EQUAL(a.viol.kind, RL_RATE);
	CU_ASSERT_STRING_EQUAL(a.viol.scope, "sub");
	CU_ASSERT_STRING_EQUAL(a.viol.name, "viol");
	CU_ASSERT_EQUAL(a.viol.idlen, 5);
	CU_ASSERT_EQUAL(memcmp(a.viol.id, "alice", 5), 0);
	CU_ASSERT_EQUAL(a.viol.limit, 4);	/* the 5th is denied */
	CU_ASSERT_EQUAL(a.viol.period_ms, 600000);
	CU_ASSERT_EQUAL(a.viol.cost, 1);
	/* no violation: the fallback's answer, a pass, an error, the lock
	 * itself, a shared scope, no limit named */
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, sub, 0, &a),
	    PC_STEP_NONE);
	CU_ASSERT_EQUAL(a.step, PC_STEP_NONE);
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_ALLOW, -1, 1, &a),
	    PC_STEP_NONE);
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_ERROR, sub, 1, &a),
	    PC_STEP_NONE);
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, 0, 1, &a),
	    PC_STEP_NONE);
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, dst, 1, &a),
	    PC_STEP_NONE);
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, all, 1, &a),
	    PC_STEP_NONE);
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, -1, 1, &a),
	    PC_STEP_NONE);
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, (int)p.n, 1, &a),
	    PC_STEP_NONE);
	/* "deny: true" refuses without asking: no violation */
	f.cls = &classes[1];
	pc_plan_build(&C, &f, PC_CONNECT, &p);
	CU_ASSERT_EQUAL_FATAL(p.deny, 1);
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, -1, 1, &a),
	    PC_STEP_NONE);
	/* locking at the first violation: lock at once, for the duration */
	f.cls = &classes[0];
	pc_plan_build(&C, &f, PC_RCPT, &p);
	sub = find(&p, "sub", "mx.rcpt");
	CU_ASSERT_FATAL(sub > 0);
	classes[0].lockout.violations = 1;
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, sub, 1, &a),
	    PC_STEP_LOCK);
	CU_ASSERT_EQUAL(a.lock_ms, 3600000);
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, sub, 0, &a),
	    PC_STEP_NONE);
	/* a class without a lock-out */
	classes[0].lockout.violations = 0;
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, sub, 1, &a),
	    PC_STEP_NONE);
	classes[0].lockout.violations = 5;
	classes[0].lockout.duration_ms = 0;
	CU_ASSERT_EQUAL(pc_after_answer(&f, &p, PC_DENY, sub, 1, &a),
	    PC_STEP_NONE);
	/* the answer to the violation: Redis denying it locks */
	conf_reset();
	CU_ASSERT_EQUAL(pc_after_violation(&classes[0], PC_DENY, 1, &a),
	    PC_STEP_LOCK);
	CU_ASSERT_EQUAL(a.lock_ms, 3600000);
	CU_ASSERT_EQUAL(pc_after_violation(&classes[0], PC_DENY, 0, &a),
	    PC_STEP_NONE);
	CU_ASSERT_EQUAL(pc_after_violation(&classes[0], PC_ALLOW, 1, &a),
	    PC_STEP_NONE);
	CU_ASSERT_EQUAL(pc_after_violation(&classes[0], PC_ERROR, 1, &a),
	    PC_STEP_NONE);
}

/* pc_subscriber: the decided identity, or (nobody known) the address's
 * IPv4 or /64 key; the identity itself is left as the record keeps it. */
static void
test_subscriber(void)
{
	struct identity id;
	union sockaddr_any a;
	char buf[PC_SUB_ADDR_MAX];

	memset(&id, 0, sizeof(id));
	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, "[2001:db8:1:2:aaaa::7]:25", -1),
	    0);
	snprintf(id.subscriber, sizeof(id.subscriber), "cust-7");
	id.source = IDENTITY_STATIC;
	CU_ASSERT_PTR_EQUAL(pc_subscriber(&id, &a, buf, sizeof(buf)),
	    id.subscriber);
	id.source = IDENTITY_RADIUS;
	CU_ASSERT_PTR_EQUAL(pc_subscriber(&id, &a, buf, sizeof(buf)),
	    id.subscriber);
	id.source = IDENTITY_ADDRESS;
	snprintf(id.subscriber, sizeof(id.subscriber), "2001:db8:1:2:aaaa::7");
	/* the prefix identity_lookup decided (policy.ipv6_aggregate) */
	CU_ASSERT_EQUAL(cidr_prefix_of(&id.prefix, &a, 64), 0);
	CU_ASSERT_PTR_EQUAL(pc_subscriber(&id, &a, buf, sizeof(buf)), buf);
	CU_ASSERT_STRING_EQUAL(buf, "2001:db8:1:2::/64");
	CU_ASSERT_STRING_EQUAL(id.subscriber, "2001:db8:1:2:aaaa::7");
	CU_ASSERT_EQUAL(cidr_prefix_of(&id.prefix, &a, 56), 0);
	CU_ASSERT_STRING_EQUAL(pc_subscriber(&id, &a, buf, sizeof(buf)),
	    "2001:db8:1::/56");
	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, "[::ffff:100.64.0.9]:25", -1), 0);
	CU_ASSERT_EQUAL(cidr_prefix_of(&id.prefix, &a, 56), 0);
	CU_ASSERT_STRING_EQUAL(pc_subscriber(&id, &a, buf, sizeof(buf)),
	    "100.64.0.9");
}

static void
test_sub_from_addr(void)
{
	union sockaddr_any a;
	char out[64];

	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, "100.64.3.7:41234", -1), 0);
	pc_sub_from_addr(&a, 64, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "100.64.3.7");
	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, "[2001:db8:1:2:aaaa::7]:25", -1), 0);
	pc_sub_from_addr(&a, 64, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "2001:db8:1:2::/64");
	pc_sub_from_addr(&a, 48, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "2001:db8:1::/48");
	pc_sub_from_addr(&a, 128, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "2001:db8:1:2:aaaa::7");
	CU_ASSERT_EQUAL_FATAL(addr_parse(&a, "[::ffff:100.64.0.9]:25", -1), 0);
	pc_sub_from_addr(&a, 64, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "100.64.0.9");
}

static void
test_chunk(void)
{
	conf_reset();
	CU_ASSERT_EQUAL(pc_tls_chunk(&C, &classes[1]), 0);
	classes[0].traffic[TRAFFIC_TLS].bytes = (struct rate){ 1000, 1000 };
	CU_ASSERT_EQUAL(pc_tls_chunk(&C, &classes[0]), 1000);
	classes[0].traffic[TRAFFIC_TLS].bytes = (struct rate){ 1 << 20, 1000 };
	CU_ASSERT_EQUAL(pc_tls_chunk(&C, &classes[0]), 65536);
	C.policy.global.all.bytes = (struct rate){ 100000, 1000 };
	CU_ASSERT_EQUAL(pc_tls_chunk(&C, &classes[0]), 65536);
	CU_ASSERT_STRING_EQUAL(pc_point_name(PC_TLS_BYTES), "tls_bytes");
	CU_ASSERT_STRING_EQUAL(pc_what_name(PC_W_DEST), "destinations");
}

int
suite_policy_register(void)
{
	CU_pSuite s = CU_add_suite("policy", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "plan_connect", test_plan_connect) == NULL ||
	    CU_add_test(s, "plan_points", test_plan_points) == NULL ||
	    CU_add_test(s, "plan_bounds", test_plan_bounds) == NULL ||
	    CU_add_test(s, "plan_lock", test_plan_lock) == NULL ||
	    CU_add_test(s, "plan_deny", test_plan_deny) == NULL ||
	    CU_add_test(s, "verdicts", test_verdicts) == NULL ||
	    CU_add_test(s, "reply_text", test_reply_text) == NULL ||
	    CU_add_test(s, "violation", test_violation) == NULL ||
	    CU_add_test(s, "lockout_rule", test_lockout_rule) == NULL ||
	    CU_add_test(s, "sub_from_addr", test_sub_from_addr) == NULL ||
	    CU_add_test(s, "subscriber", test_subscriber) == NULL ||
	    CU_add_test(s, "tls_chunk", test_chunk) == NULL)
		return -1;
	return 0;
}
