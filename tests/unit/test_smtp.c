/*
 * test_smtp.c - the SMTP relay core driven through scripted dialogues.
 *
 * A script is a list of steps (bytes from the client or the upstream, an
 * EOF, the answer to a pending policy question, a shutdown). A recording io
 * concatenates what the core sent to each side and writes every event as a
 * line of text. Each script is run whole, then again with each step split at
 * every byte boundary and with every step fed byte by byte: every run must
 * give the same transcript. Bytes are fed from exact-size heap copies freed
 * right after the call, so ASan catches reads past len or kept pointers.
 */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "smtp.h"
#include "suites.h"
#include "util.h"
#include "../smtp_harness.h"

struct tbuf {
	char *p;
	size_t n, cap;
};

static void
tbuf_add(struct tbuf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void tbuf_printf(struct tbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tbuf_printf(struct tbuf *b, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	tbuf_add(b, line, MIN((size_t)n, sizeof(line) - 1));
}

/* Test policy: what the decision stub answers. */
struct stub {
	int async;			/* answer only at a 'D' step */
	const char *refuse_rcpt;	/* RCPT whose path contains this */
	int refuse_rcpt_close;
	int refuse_mail;
	int refuse_data;
	int ask_starttls;		/* smtp_ask_starttls(s, 1) */
	int refuse_starttls;
};

/* smtp_refuse_cleartext_auth(s, this) for every session run() makes (kept
 * out of struct stub, whose initialisers are positional). */
static int refuse_cleartext_auth;

struct rec {
	struct smtp_session *s;
	const struct stub *stub;
	struct tbuf out[2];
	struct tbuf ev;
	int pending;
	enum smtp_point pending_point;
	char pending_arg[300];
	int closed;		/* CLOSE or TUNNEL seen */
	int64_t clock;
};

static const char *
side_tag(enum smtp_side to)
{
	return to == SMTP_CLIENT ? "client" : "upstream";
}

static void
rec_send(void *ctx, enum smtp_side to, const void *p, size_t n)
{
	struct rec *r = ctx;

	if (r->closed)
		tbuf_printf(&r->ev, "!send-after-close %s\n", side_tag(to));
	if (n == 0)
		tbuf_printf(&r->ev, "!empty-send\n");
	tbuf_add(&r->out[to], p, n);
}

static void
stub_answer(struct rec *r)
{
	struct smtp_verdict v = { SMTP_PASS, NULL, "pass" };
	const struct stub *st = r->stub;

	r->pending = 0;
	if (r->pending_point == SMTP_AT_RCPT && st->refuse_rcpt != NULL &&
	    strstr(r->pending_arg, st->refuse_rcpt) != NULL) {
		v.kind = st->refuse_rcpt_close ? SMTP_REFUSE_CLOSE : SMTP_REFUSE;
		v.reply = "550 5.7.1 Recipient refused by policy";
	} else if (r->pending_point == SMTP_AT_MAIL && st->refuse_mail) {
		v.kind = SMTP_REFUSE;
		v.reply = "451 4.7.1 Slow down\r\nINJECTED";
	} else if (r->pending_point == SMTP_AT_DATA_END && st->refuse_data) {
		v.kind = SMTP_REFUSE;
		v.reply = "554 5.7.0 Message refused by policy";
	} else if (r->pending_point == SMTP_AT_STARTTLS && st->refuse_starttls) {
		v.kind = SMTP_REFUSE;
		v.reply = "454 4.7.0 TLS not available due to local policy";
	}
	smtp_decide(r->s, &v);
}

static void
rec_event(void *ctx, const struct smtp_event *ev)
{
	struct rec *r = ctx;
	const struct smtp_txn *t = ev->txn;
	const char *fault;
	size_t i;

	if ((fault = smtp_event_fault(ev, &r->closed, &r->pending)) != NULL)
		tbuf_printf(&r->ev, "!%s\n", fault);
	switch (ev->kind) {
	case SMTP_EV_DECIDE:
		if (ev->point == SMTP_AT_DATA_END)
			tbuf_printf(&r->ev, "decide data_end seq=%u size=%llu mid=%s\n",
			    t->seq, (unsigned long long)t->size, t->message_id);
		else
			tbuf_printf(&r->ev, "decide %s %s%s\n",
			    smtp_point_name(ev->point), ev->arg,
			    t == NULL ? " notxn" : "");
		r->pending_point = ev->point;
		snprintf(r->pending_arg, sizeof(r->pending_arg), "%s", ev->arg);
		if (!r->stub->async)
			stub_answer(r);
		break;
	case SMTP_EV_TXN:
		tbuf_printf(&r->ev, "txn seq=%u %s from=%s rcpts=%zu/%zu kept=",
		    t->seq, t->outcome, t->mail_from, t->nrcpts_accepted,
		    t->nrcpts_refused);
		for (i = 0; i < t->nrcpts_kept; i++)
			tbuf_printf(&r->ev, "%s%s", i ? "," : "", t->rcpts[i]);
		tbuf_printf(&r->ev, " size=%llu mid=%s code=%d reply=%s qid=%s"
		    " t=%lld-%lld\n", (unsigned long long)t->size, t->message_id,
		    t->data_reply_code, t->data_reply, t->queue_id,
		    (long long)t->start_ms, (long long)t->end_ms);
		break;
	case SMTP_EV_AUTH:
		tbuf_printf(&r->ev, "auth\n");
		break;
	case SMTP_EV_TUNNEL:
		tbuf_printf(&r->ev, "tunnel\n");
		break;
	case SMTP_EV_CLOSE:
		tbuf_printf(&r->ev, "close %s\n", ev->reason);
		break;
	}
}

static int64_t
rec_clock(void *ctx)
{
	struct rec *r = ctx;

	return r->clock;
}

static const struct smtp_io rec_io = { rec_send, rec_event, rec_clock };

struct step {
	char kind;	/* C U: bytes; c u: EOF; D: answer decision; S: shutdown */
	const char *p;
	size_t n;
};

#define C(x) { 'C', x, sizeof(x) - 1 }
#define U(x) { 'U', x, sizeof(x) - 1 }
#define EOF_C { 'c', NULL, 0 }
#define EOF_U { 'u', NULL, 0 }
#define DECIDE { 'D', NULL, 0 }
#define SHUTDOWN(x) { 'S', x, 0 }
#define TICK { 'T', NULL, 0 }

struct result {
	struct tbuf out[2];
	struct tbuf ev;
};

static struct smtp_conf
test_conf(void)
{
	struct smtp_conf c;

	memset(&c, 0, sizeof(c));
	c.max_line = 512;
	c.max_auth_line = 12288;
	c.max_reply = 4096;
	c.max_pipeline = 16;
	c.max_held = 65536;
	c.max_errors = 10;
	c.max_recipients_kept = 2;
	c.bare_newline = BARE_NORMALIZE;
	c.timeouts.greeting = 1;
	c.timeouts.command = 2;
	c.timeouts.data_init = 3;
	c.timeouts.data_block = 4;
	c.timeouts.data_end = 5;
	c.timeouts.client_idle = 6;
	return c;
}

/* feed - one piece; *eclosed is set when a step's first piece is refused
 * (later pieces may follow the switch to a tunnel or the end). */
static void
feed(struct rec *r, char kind, const char *p, size_t n, int *eclosed)
{
	int rc = smtp_feed_copy(r->s, kind == 'C' ? SMTP_CLIENT : SMTP_UPSTREAM,
	    p, n);

	if (*eclosed == 0)
		*eclosed = rc == SG_ECLOSED ? 1 : 2;
	if (rc != 0 && rc != SG_ECLOSED)
		tbuf_printf(&r->ev, "!rc %d\n", rc);
}

/* run - one pass over a script: step split_step is fed as two pieces cut at
 * split_at (0: whole); bytewise feeds every step byte by byte. */
static void
run(const struct smtp_conf *conf, const struct stub *stub,
    const struct step *st, size_t nst, size_t split_step, size_t split_at,
    int bytewise, struct result *res)
{
	struct rec r;
	struct smtp_info info;
	enum smtp_wait who;
	uint32_t tmo;
	size_t i, k;
	int eclosed;

	memset(&r, 0, sizeof(r));
	r.stub = stub;
	r.clock = 1000;
	r.s = smtp_new(conf, &rec_io, &r);
	smtp_ask_starttls(r.s, stub->ask_starttls);
	smtp_refuse_cleartext_auth(r.s, refuse_cleartext_auth);
	for (i = 0; i < nst; i++) {
		eclosed = 0;
		switch (st[i].kind) {
		case 'C':
		case 'U':
			if (bytewise)
				for (k = 0; k < st[i].n; k++)
					feed(&r, st[i].kind, st[i].p + k, 1, &eclosed);
			else if (i == split_step && split_at > 0) {
				feed(&r, st[i].kind, st[i].p, split_at, &eclosed);
				feed(&r, st[i].kind, st[i].p + split_at,
				    st[i].n - split_at, &eclosed);
			} else
				feed(&r, st[i].kind, st[i].p, st[i].n, &eclosed);
			if (eclosed == 1)
				tbuf_printf(&r.ev, "eclosed %c\n", st[i].kind);
			break;
		case 'c':
			smtp_eof(r.s, SMTP_CLIENT);
			break;
		case 'u':
			smtp_eof(r.s, SMTP_UPSTREAM);
			break;
		case 'D':
			if (!r.pending)
				tbuf_printf(&r.ev, "!no-pending-decision\n");
			else
				stub_answer(&r);
			break;
		case 'S':
			smtp_shutdown(r.s, st[i].p);
			break;
		case 'T':
			tmo = smtp_timeout(r.s, &who);
			tbuf_printf(&r.ev, "timeout %u %s want=%d\n", tmo,
			    who == SMTP_WAIT_CLIENT ? "client" : "upstream",
			    smtp_want_client(r.s));
			break;
		}
		r.clock += 10;
	}
	smtp_get_info(r.s, &info);
	tbuf_printf(&r.ev, "info cls=%s greeting=%s ehlo=%s mech=%s user=%s "
	    "ntxn=%u ncmd=%u nerr=%u dropped=%llu normalized=%llu\n",
	    smtp_class_name(info.cls), info.greeting_host, info.ehlo,
	    info.auth_mech, info.auth_user, info.ntxn, info.ncommands,
	    info.nerrors, (unsigned long long)info.dropped_after_starttls,
	    (unsigned long long)info.normalized_newlines);
	smtp_free(r.s);
	res->out[0] = r.out[0];
	res->out[1] = r.out[1];
	res->ev = r.ev;
}

static void
result_free(struct result *res)
{
	free(res->out[0].p);
	free(res->out[1].p);
	free(res->ev.p);
}

static const char *
nz(const struct tbuf *b)
{
	return b->p != NULL ? b->p : "";
}

static int
same(const struct result *a, const struct result *b)
{
	return a->out[0].n == b->out[0].n && a->out[1].n == b->out[1].n &&
	    memcmp(nz(&a->out[0]), nz(&b->out[0]), a->out[0].n) == 0 &&
	    memcmp(nz(&a->out[1]), nz(&b->out[1]), a->out[1].n) == 0 &&
	    strcmp(nz(&a->ev), nz(&b->ev)) == 0;
}

static void
show_diff(const char *what, const struct result *a, const struct result *b)
{
	fprintf(stderr, "\n--- %s\n[client]\n%s\n[upstream]\n%s\n[events]\n%s"
	    "+++ whole\n[client]\n%s\n[upstream]\n%s\n[events]\n%s", what,
	    nz(&a->out[0]), nz(&a->out[1]), nz(&a->ev),
	    nz(&b->out[0]), nz(&b->out[1]), nz(&b->ev));
}

/* check - run a script whole and split every way; compare with the
 * expected transcript (NULL: the concatenation of what the other side
 * sent). */
static void
check_conf(const struct smtp_conf *conf, const struct stub *stub,
    const struct step *st, size_t nst, const char *want_client,
    const char *want_upstream, const char *want_events)
{
	struct result whole, other;
	struct tbuf cat[2] = { { NULL, 0, 0 }, { NULL, 0, 0 } };
	size_t i, k;
	int ok = 1;

	for (i = 0; i < nst; i++) {
		if (st[i].kind == 'C')
			tbuf_add(&cat[SMTP_UPSTREAM], st[i].p, st[i].n);
		if (st[i].kind == 'U')
			tbuf_add(&cat[SMTP_CLIENT], st[i].p, st[i].n);
	}
	tbuf_add(&cat[0], "", 0);
	tbuf_add(&cat[1], "", 0);
	if (want_client == NULL)
		want_client = cat[SMTP_CLIENT].p;
	if (want_upstream == NULL)
		want_upstream = cat[SMTP_UPSTREAM].p;

	run(conf, stub, st, nst, 0, 0, 0, &whole);
	CU_ASSERT_STRING_EQUAL(nz(&whole.out[SMTP_CLIENT]), want_client);
	CU_ASSERT_STRING_EQUAL(nz(&whole.out[SMTP_UPSTREAM]), want_upstream);
	CU_ASSERT_STRING_EQUAL(nz(&whole.ev), want_events);
	if (strcmp(nz(&whole.out[SMTP_CLIENT]), want_client) != 0 ||
	    strcmp(nz(&whole.out[SMTP_UPSTREAM]), want_upstream) != 0 ||
	    strcmp(nz(&whole.ev), want_events) != 0)
		fprintf(stderr, "\n[client]\n%s\n[upstream]\n%s\n[events]\n%s",
		    nz(&whole.out[0]), nz(&whole.out[1]), nz(&whole.ev));

	for (i = 0; i < nst && ok; i++) {
		for (k = 1; k < st[i].n && ok; k++) {
			run(conf, stub, st, nst, i, k, 0, &other);
			if (!same(&other, &whole)) {
				char what[64];

				snprintf(what, sizeof(what), "step %zu split at %zu", i, k);
				show_diff(what, &other, &whole);
				ok = 0;
			}
			result_free(&other);
		}
	}
	CU_ASSERT_TRUE(ok);
	run(conf, stub, st, nst, 0, 0, 1, &other);
	if (!same(&other, &whole))
		show_diff("byte by byte", &other, &whole);
	CU_ASSERT_TRUE(same(&other, &whole));
	result_free(&other);
	result_free(&whole);
	free(cat[0].p);
	free(cat[1].p);
}

static const struct stub pass_stub = { 0, NULL, 0, 0, 0, 0, 0 };

#define CHECK(st, wc, wu, we)                                            \
	do {                                                             \
		struct smtp_conf c_ = test_conf();                       \
		check_conf(&c_, &pass_stub, st, ARRAY_SIZE(st), wc, wu, we); \
	} while (0)

#define GREET "220 mx.example.org ESMTP Postfix\r\n"
#define EHLO_REPLY "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
	"250-CHUNKING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
#define INFO_MX "info cls=mx greeting=mx.example.org ehlo=client.example.net"

static void
test_plain_mx(void)
{
#define MSG1 "Subject: hi\r\nMessage-ID: <1@example.net>\r\n\r\nHello\r\n"
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U(EHLO_REPLY),
		C("MAIL FROM:<alice@example.net> SIZE=100\r\n"),
		U("250 2.1.0 Ok\r\n"),
		C("RCPT TO:<bob@example.org>\r\n"),
		U("250 2.1.5 Ok\r\n"),
		C("DATA\r\n"),
		U("354 End data with <CR><LF>.<CR><LF>\r\n"),
		C(MSG1 ".\r\n"),
		TICK,
		U("250 2.0.0 Ok: queued as 4Xyz123\r\n"),
		C("QUIT\r\n"),
		U("221 2.0.0 Bye\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "decide mail alice@example.net\n"
	    "decide rcpt bob@example.org\n"
	    "decide data_end seq=1 size=51 mid=<1@example.net>\n"
	    "timeout 5 upstream want=1\n"
	    "txn seq=1 accepted from=alice@example.net rcpts=1/0 kept=bob@example.org"
	    " size=51 mid=<1@example.net> code=250"
	    " reply=250 2.0.0 Ok: queued as 4Xyz123 qid=4Xyz123 t=1030-1110\n"
	    "close quit\n"
	    INFO_MX " mech= user= ntxn=1 ncmd=5 nerr=0 dropped=0 normalized=0\n");
}

#define PIPE_BATCH "MAIL FROM:<a@example.net>\r\nRCPT TO:<ok1@example.org>\r\n" \
	"RCPT TO:<bad@example.org>\r\nRCPT TO:<ok2@example.org>\r\n" \
	"RCPT TO:<ok3@example.org>\r\nDATA\r\n"
#define PIPE_REPLIES1 "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
#define PIPE_REPLIES2 "250 2.1.5 Ok\r\n550 5.1.1 <ok3@example.org>: unknown\r\n" \
	"354 go ahead\r\n"
#define PIPE_CLIENT GREET EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" \
	"550 5.7.1 Recipient refused by policy\r\n" \
	"250 2.1.5 Ok\r\n550 5.1.1 <ok3@example.org>: unknown\r\n" \
	"354 go ahead\r\n250 2.0.0 Ok: queued as ABC\r\n"
#define PIPE_UPSTREAM "EHLO client.example.net\r\n" \
	"MAIL FROM:<a@example.net>\r\nRCPT TO:<ok1@example.org>\r\n" \
	"RCPT TO:<ok2@example.org>\r\nRCPT TO:<ok3@example.org>\r\n" \
	"DATA\r\nx\r\n.\r\n"
#define PIPE_TXN(t) "txn seq=1 accepted from=a@example.net rcpts=2/2" \
	" kept=ok1@example.org,ok2@example.org size=3 mid= code=250" \
	" reply=250 2.0.0 Ok: queued as ABC qid=ABC t=" t "\n" \
	INFO_MX " mech= user= ntxn=1 ncmd=7 nerr=2 dropped=0 normalized=0\n"

static void
test_pipelining_refused_rcpt(void)
{
	/* RFC 2920: a policy refusal in the middle of a group is answered
	 * in its place; the upstream never sees that RCPT. */
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U(EHLO_REPLY),
		C(PIPE_BATCH),
		TICK,
		U(PIPE_REPLIES1),
		U(PIPE_REPLIES2),
		C("x\r\n.\r\n"),
		U("250 2.0.0 Ok: queued as ABC\r\n"),
	};
	struct stub stub = { 0, "bad@", 0, 0, 0, 0, 0 };
	struct smtp_conf conf = test_conf();

	check_conf(&conf, &stub, st, ARRAY_SIZE(st), PIPE_CLIENT, PIPE_UPSTREAM,
	    "decide mail a@example.net\n"
	    "decide rcpt ok1@example.org\n"
	    "decide rcpt bad@example.org\n"
	    "decide rcpt ok2@example.org\n"
	    "decide rcpt ok3@example.org\n"
	    "timeout 2 upstream want=1\n"
	    "decide data_end seq=1 size=3 mid=\n"
	    PIPE_TXN("1030-1080"));
}

static void
test_async_decision(void)
{
	/* The same dialogue with verdicts given later: input is held while
	 * each verdict is awaited, the transcript is the same. */
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U(EHLO_REPLY),
		C(PIPE_BATCH),
		TICK,
		DECIDE, DECIDE, DECIDE, DECIDE, DECIDE,
		U(PIPE_REPLIES1),
		U(PIPE_REPLIES2),
		C("x\r\n.\r\n"),
		DECIDE,
		U("250 2.0.0 Ok: queued as ABC\r\n"),
	};
	struct stub stub = { 1, "bad@", 0, 0, 0, 0, 0 };
	struct smtp_conf conf = test_conf();

	check_conf(&conf, &stub, st, ARRAY_SIZE(st), PIPE_CLIENT, PIPE_UPSTREAM,
	    "decide mail a@example.net\n"
	    "timeout 6 client want=1\n"
	    "decide rcpt ok1@example.org\n"
	    "decide rcpt bad@example.org\n"
	    "decide rcpt ok2@example.org\n"
	    "decide rcpt ok3@example.org\n"
	    "decide data_end seq=1 size=3 mid=\n"
	    PIPE_TXN("1050-1140"));
}

static void
test_async_hold(void)
{
	/* While a verdict is awaited the client's bytes are held; at
	 * max_held the glue is told to stop reading. */
	static const struct step st[] = {
		U(GREET),
		C("MAIL FROM:<a@x>\r\n"),
		TICK,
		C("NOOP 0123456789\r\n"),
		TICK,
		DECIDE,
		TICK,
		U("250 ok\r\n250 ok\r\n"),
		TICK,
	};
	struct stub async = { 1, NULL, 0, 0, 0, 0, 0 };
	struct smtp_conf conf = test_conf();

	conf.max_held = 34;
	check_conf(&conf, &async, st, ARRAY_SIZE(st), NULL, NULL,
	    "decide mail a@x\n"
	    "timeout 6 client want=1\n"
	    "timeout 6 client want=0\n"
	    "timeout 2 upstream want=1\n"
	    "timeout 6 client want=1\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=0 ncmd=2"
	    " nerr=0 dropped=0 normalized=0\n");
}

static void
test_held_overflow(void)
{
	/* A glue that feeds while smtp_want_client() is 0 ends the session. */
	struct stub async = { 1, NULL, 0, 0, 0, 0, 0 };
	struct smtp_conf conf = test_conf();
	struct rec r;

	conf.max_held = 8;
	memset(&r, 0, sizeof(r));
	r.stub = &async;
	r.s = smtp_new(&conf, &rec_io, &r);
	CU_ASSERT_EQUAL(smtp_feed_upstream(r.s, GREET, sizeof(GREET) - 1), 0);
	CU_ASSERT_EQUAL(smtp_feed_client(r.s, "MAIL FROM:<a@x>\r\n", 17), 0);
	CU_ASSERT_EQUAL(smtp_want_client(r.s), 0);
	CU_ASSERT_EQUAL(smtp_feed_client(r.s, "NOOP\r\n", 6), 0);
	CU_ASSERT_EQUAL(smtp_feed_client(r.s, "NOOP\r\n", 6), SG_ECLOSED);
	CU_ASSERT_STRING_EQUAL(r.out[SMTP_CLIENT].p, GREET
	    "421 4.7.0 Too much input while waiting for a reply\r\n");
	CU_ASSERT_STRING_EQUAL(r.ev.p, "decide mail a@x\nclose protocol_error\n");
	CU_ASSERT_PTR_NULL(r.out[SMTP_UPSTREAM].p);
	smtp_decide(r.s, NULL);
	smtp_free(r.s);
	free(r.out[0].p);
	free(r.ev.p);
}

static void
test_pipeline_bound(void)
{
	/* max_pipeline 2: the greeting and one command; the rest waits */
	static const struct step st[] = {
		C("NOOP 1\r\nNOOP 2\r\nNOOP 3\r\n"),
		TICK,
		U(GREET "250 1\r\n"),
		U("250 2\r\n250 3\r\n"),
	};
	struct smtp_conf conf = test_conf();

	conf.max_pipeline = 2;
	conf.max_held = 16;
	check_conf(&conf, &pass_stub, st, ARRAY_SIZE(st), NULL, NULL,
	    "timeout 1 upstream want=0\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=0 ncmd=3"
	    " nerr=0 dropped=0 normalized=0\n");
}

static void
test_data_dotstuff_msgid(void)
{
#define MSG2 "Message-Id:\r\n <abc@folded.example>  \r\nSubject: x\r\n" \
	"Message-ID: <second@example>\r\n\r\n..leading dot\r\n..\r\n"
	static const struct step st[] = {
		U(GREET),
		C("HELO client.example.net\r\n"),
		U("250 mx.example.org\r\n"),
		C("MAIL FROM:<>\r\n"),
		U("250 2.1.0 Ok\r\n"),
		C("RCPT TO:<postmaster@example.org>\r\n"),
		U("250 2.1.5 Ok\r\n"),
		C("DATA\r\n"),
		U("354 go\r\n"),
		C(MSG2 ".\r\n"),
		U("250 2.0.0 Ok\r\n"),
		C("RSET\r\n"),
		U("250 2.0.0 Ok\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "decide mail \n"
	    "decide rcpt postmaster@example.org\n"
	    "decide data_end seq=1 size=101 mid=<abc@folded.example>\n"
	    "txn seq=1 accepted from= rcpts=1/0 kept=postmaster@example.org"
	    " size=101 mid=<abc@folded.example> code=250 reply=250 2.0.0 Ok"
	    " qid= t=1030-1100\n"
	    INFO_MX " mech= user= ntxn=1 ncmd=5 nerr=0 dropped=0 normalized=0\n");
}

/* The four smuggling endings: under BARE_NORMALIZE gateway and upstream
 * both see the end of data, and what follows is read as commands. */
static void
test_smuggling_normalize(void)
{
	static const char *const ends[] = { "\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n" };
	static const unsigned nnorm[] = { 2, 2, 1, 1 };
	struct smtp_conf conf = test_conf();
	char msg[256], ev[2048];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ends); i++) {
		struct step st[] = {
			U(GREET),
			C("EHLO client.example.net\r\n"),
			U(EHLO_REPLY),
			C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
			U("250 ok\r\n250 ok\r\n354 go\r\n"),
			{ 'C', msg, 0 },
			U("250 2.0.0 Ok: queued as Q1\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		};

		snprintf(msg, sizeof(msg), "Subject: s\r\n\r\nbody%s"
		    "MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\n", ends[i]);
		st[5].n = strlen(msg);
		snprintf(ev, sizeof(ev),
		    "decide mail a@x\n"
		    "decide rcpt b@y\n"
		    "decide data_end seq=1 size=20 mid=\n"
		    "decide mail evil@x\n"
		    "decide rcpt victim@y\n"
		    "txn seq=1 accepted from=a@x rcpts=1/0 kept=b@y size=20 mid="
		    " code=250 reply=250 2.0.0 Ok: queued as Q1 qid=Q1 t=1030-1060\n"
		    INFO_MX " mech= user= ntxn=1 ncmd=7 nerr=0 dropped=0"
		    " normalized=%u\n", nnorm[i]);
		check_conf(&conf, &pass_stub, st, ARRAY_SIZE(st), NULL,
		    "EHLO client.example.net\r\n"
		    "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"
		    "Subject: s\r\n\r\nbody\r\n.\r\n"
		    "MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\n", ev);
	}
}

static void
test_smuggling_reject(void)
{
	static const char *const ends[] = { "\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n" };
	static const char *const sent[] = { "body", "body", "body\r\n", "body" };
	struct smtp_conf conf = test_conf();
	char msg[256], up[512], ev[2048];
	size_t i;

	conf.bare_newline = BARE_REJECT;
	for (i = 0; i < ARRAY_SIZE(ends); i++) {
		struct step st[] = {
			U(GREET),
			C("EHLO client.example.net\r\n"),
			U(EHLO_REPLY),
			C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
			U("250 ok\r\n250 ok\r\n354 go\r\n"),
			{ 'C', msg, 0 },
		};

		snprintf(msg, sizeof(msg), "Subject: s\r\n\r\nbody%s"
		    "MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\n", ends[i]);
		st[5].n = strlen(msg);
		snprintf(up, sizeof(up), "EHLO client.example.net\r\n"
		    "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"
		    "Subject: s\r\n\r\n%s", sent[i]);
		snprintf(ev, sizeof(ev),
		    "decide mail a@x\n"
		    "decide rcpt b@y\n"
		    "txn seq=1 refused_by_policy from=a@x rcpts=1/0 kept=b@y"
		    " size=%zu mid= code=554 reply=554 5.6.11 Message refused: bare"
		    " CR or LF (SMTP smuggling pattern) qid= t=1030-1050\n"
		    "close bare_newline\n"
		    INFO_MX " mech= user= ntxn=1 ncmd=4 nerr=1 dropped=0"
		    " normalized=0\n", 14 + strlen(sent[i]));
		check_conf(&conf, &pass_stub, st, ARRAY_SIZE(st),
		    GREET EHLO_REPLY "250 ok\r\n250 ok\r\n354 go\r\n"
		    "554 5.6.11 Message refused: bare CR or LF (SMTP smuggling"
		    " pattern)\r\n", up, ev);
	}
}

static void
test_data_end_refused(void)
{
	static const struct step st[] = {
		U(GREET),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		U("250 ok\r\n250 ok\r\n354 go\r\n"),
		C("spam\r\n.\r\nQUIT\r\n"),
	};
	struct stub st_refuse = { 0, NULL, 0, 0, 1, 0, 0 };
	struct smtp_conf conf = test_conf();

	check_conf(&conf, &st_refuse, st, ARRAY_SIZE(st),
	    GREET "250 ok\r\n250 ok\r\n354 go\r\n"
	    "554 5.7.0 Message refused by policy\r\n",
	    "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nspam\r\n",
	    "decide mail a@x\n"
	    "decide rcpt b@y\n"
	    "decide data_end seq=1 size=6 mid=\n"
	    "txn seq=1 refused_by_policy from=a@x rcpts=1/0 kept=b@y size=6 mid="
	    " code=554 reply=554 5.7.0 Message refused by policy qid= t=1010-1030\n"
	    "close policy\n"
	    "info cls=blocked greeting=mx.example.org ehlo= mech= user= ntxn=1"
	    " ncmd=3 nerr=1 dropped=0 normalized=0\n");
}

static void
test_policy_mail_and_close(void)
{
	/* A refused MAIL is a transaction refused by policy; the verdict's
	 * reply is cut at its first line. REFUSE_CLOSE on RCPT waits for
	 * the replies due before it, then ends the session. */
	static const struct step st[] = {
		U(GREET),
		C("MAIL FROM:<a@x>\r\n"),
		C("NOOP\r\n"),
		U("250 ok\r\n"),
	};
	static const struct step st2[] = {
		U(GREET),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<bad@y>\r\nNOOP\r\n"),
		U("250 ok\r\n"),
	};
	struct stub refuse_mail = { 0, NULL, 0, 1, 0, 0, 0 };
	struct stub refuse_close = { 0, "bad", 1, 0, 0, 0, 0 };
	struct smtp_conf conf = test_conf();

	check_conf(&conf, &refuse_mail, st, ARRAY_SIZE(st),
	    GREET "451 4.7.1 Slow down\r\n250 ok\r\n", "NOOP\r\n",
	    "decide mail a@x\n"
	    "txn seq=1 refused_by_policy from=a@x rcpts=0/0 kept= size=0 mid="
	    " code=0 reply= qid= t=1010-1010\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=1"
	    " ncmd=2 nerr=1 dropped=0 normalized=0\n");
	check_conf(&conf, &refuse_close, st2, ARRAY_SIZE(st2),
	    GREET "250 ok\r\n550 5.7.1 Recipient refused by policy\r\n",
	    "MAIL FROM:<a@x>\r\n",
	    "decide mail a@x\n"
	    "decide rcpt bad@y\n"
	    "txn seq=1 aborted from=a@x rcpts=0/1 kept= size=0 mid= code=0"
	    " reply= qid= t=1010-1020\n"
	    "close policy\n"
	    "info cls=blocked greeting=mx.example.org ehlo= mech= user= ntxn=1"
	    " ncmd=2 nerr=1 dropped=0 normalized=0\n");
}

static void
test_client_halfclose(void)
{
	/* The client pipelines everything, QUIT included, and half-closes at
	 * once (printf ... | nc -N): all of it is still relayed and every reply
	 * delivered before the session ends. */
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\nMAIL FROM:<h@example.net>\r\n"
		  "RCPT TO:<r@example.org>\r\nDATA\r\nSubject: half\r\n\r\n"
		  "body\r\n.\r\nQUIT\r\n"),
		EOF_C,
		U(EHLO_REPLY),
		U("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
		U("354 go ahead\r\n"),
		U("250 2.0.0 Ok: queued as H1\r\n"),
		U("221 2.0.0 Bye\r\n"),
	};

	CHECK(st,
	    GREET EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n"
	    "250 2.0.0 Ok: queued as H1\r\n221 2.0.0 Bye\r\n",
	    "EHLO client.example.net\r\nMAIL FROM:<h@example.net>\r\n"
	    "RCPT TO:<r@example.org>\r\nDATA\r\nSubject: half\r\n\r\n"
	    "body\r\n.\r\nQUIT\r\n",
	    "decide mail h@example.net\n"
	    "decide rcpt r@example.org\n"
	    "decide data_end seq=1 size=23 mid=\n"
	    "txn seq=1 accepted from=h@example.net rcpts=1/0 kept=r@example.org"
	    " size=23 mid= code=250 reply=250 2.0.0 Ok: queued as H1 qid=H1"
	    " t=1010-1060\n"
	    "close quit\n"
	    INFO_MX " mech= user= ntxn=1 ncmd=5 nerr=0 dropped=0 normalized=0\n");
}

static void
test_client_eof_mid_data(void)
{
	/* The client vanishes inside DATA: the final dot is never invented, so
	 * the upstream does not deliver; the transaction ends aborted. */
	static const struct step st[] = {
		U(GREET),
		C("MAIL FROM:<h@example.net>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n"),
		U("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n"),
		C("Subject: cut\r\n\r\npart"),
		EOF_C,
	};

	CHECK(st,
	    GREET "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n",
	    "MAIL FROM:<h@example.net>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n"
	    "Subject: cut\r\n\r\npart",
	    "decide mail h@example.net\n"
	    "decide rcpt r@example.org\n"
	    "txn seq=1 aborted from=h@example.net rcpts=1/0 kept=r@example.org"
	    " size=20 mid= code=0 reply= qid= t=1010-1040\n"
	    "close client_eof\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=1"
	    " ncmd=3 nerr=0 dropped=0 normalized=0\n");
}

static void
test_mail_refused_upstream(void)
{
	/* MAIL refused by the upstream: no transaction (RFC 5321 3.3). */
	static const struct step st[] = {
		U(GREET),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"),
		U("553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n"),
		C("MAIL FROM:<c@x>\r\n"),
		U("250 ok\r\n"),
		C("RSET\r\n"),
		U("250 ok\r\n"),
		EOF_C,
	};

	CHECK(st, NULL, NULL,
	    "decide mail a@x\n"
	    "decide rcpt b@y\n"
	    "decide mail c@x\n"
	    "txn seq=1 aborted from=c@x rcpts=0/0 kept= size=0 mid= code=0"
	    " reply= qid= t=1030-1060\n"
	    "close client_eof\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=1"
	    " ncmd=4 nerr=2 dropped=0 normalized=0\n");
}

static void
test_nested_mail(void)
{
	/* RFC 5321 4.1.1.2: the upstream refuses a MAIL inside a
	 * transaction, which goes on: the record keeps the first sender.
	 * A MAIL inside a transaction waits for its reply; the transaction
	 * ends when the upstream answers RSET or the MAIL that replaces it. */
	static const struct step st[] = {
		U(GREET),
		C("MAIL FROM:<a@x>\r\nMAIL FROM:<b@x>\r\nRCPT TO:<c@y>\r\n"),
		U("250 ok\r\n503 5.5.1 Error: nested MAIL command\r\n250 ok\r\n"),
		C("RSET\r\nMAIL FROM:<d@x>\r\nMAIL FROM:<e@x>\r\n"),
		U("250 ok\r\n250 ok\r\n250 ok\r\n"),
		EOF_C,
	};

	CHECK(st, NULL, NULL,
	    "decide mail a@x\n"
	    "decide mail b@x\n"
	    "decide rcpt c@y\n"
	    "decide mail d@x\n"
	    "txn seq=1 aborted from=a@x rcpts=1/0 kept=c@y size=0 mid= code=0"
	    " reply= qid= t=1010-1040\n"
	    "decide mail e@x\n"
	    "txn seq=2 aborted from=d@x rcpts=0/0 kept= size=0 mid= code=0"
	    " reply= qid= t=1040-1040\n"
	    "txn seq=3 aborted from=e@x rcpts=0/0 kept= size=0 mid= code=0"
	    " reply= qid= t=1040-1050\n"
	    "close client_eof\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=3"
	    " ncmd=6 nerr=1 dropped=0 normalized=0\n");
}

static void
test_bdat(void)
{
#define CHUNK1 "Message-ID: <m@x>\r\nRCPT TO:<x@y>\r\n"
#define CHUNK2 "\r\nhello\r\n"
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U(EHLO_REPLY),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"),
		U("250 ok\r\n250 ok\r\n"),
		C("BDAT 34\r\n" CHUNK1 "BDAT 9 LAST\r\n" CHUNK2 "BDAT 1x\r\n"),
		U("250 2.0.0 34 octets\r\n250 2.0.0 Ok: queued as B1\r\n"),
		C("BDAT 9223372036854775809\r\nbdat 0 last\r\n"),
		U("503 5.5.1 no MAIL\r\n"),
	};

	CHECK(st, GREET EHLO_REPLY "250 ok\r\n250 ok\r\n"
	    "250 2.0.0 34 octets\r\n250 2.0.0 Ok: queued as B1\r\n"
	    "501 5.5.4 Syntax error in BDAT\r\n"
	    "501 5.5.4 Syntax error in BDAT\r\n503 5.5.1 no MAIL\r\n",
	    "EHLO client.example.net\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"
	    "BDAT 34\r\n" CHUNK1 "BDAT 9 LAST\r\n" CHUNK2 "bdat 0 last\r\n",
	    "decide mail a@x\n"
	    "decide rcpt b@y\n"
	    "decide data_end seq=1 size=43 mid=<m@x>\n"
	    "txn seq=1 accepted from=a@x rcpts=1/0 kept=b@y size=43 mid=<m@x>"
	    " code=250 reply=250 2.0.0 Ok: queued as B1 qid=B1 t=1030-1060\n"
	    "decide data_end seq=0 size=0 mid=\n"
	    INFO_MX " mech= user= ntxn=1 ncmd=8 nerr=3 dropped=0 normalized=0\n");
}

static void
test_bdat_not_offered(void)
{
	/* Without CHUNKING in the EHLO reply the chunk would be read as
	 * commands by the upstream: BDAT is answered locally. */
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U("250 mx.example.org\r\n"),
		C("BDAT 6 LAST\r\nQUIT\r\n"),
		U("221 bye\r\n"),
	};

	CHECK(st, GREET "250 mx.example.org\r\n"
	    "502 5.5.1 BDAT not offered by this server\r\n221 bye\r\n",
	    "EHLO client.example.net\r\nQUIT\r\n",
	    "close quit\n"
	    INFO_MX " mech= user= ntxn=0 ncmd=3 nerr=1 dropped=0 normalized=0\n");
}

static void
test_auth_plain(void)
{
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U("250-mx.example.org\r\n250 AUTH PLAIN LOGIN\r\n"),
		C("AUTH PLAIN AHVzZXJAZXhhbXBsZS5uZXQAczNjcmV0UFc=\r\nMAIL FROM:<u@example.net>\r\n"),
		U("235 2.7.0 Authentication successful\r\n"),
		U("250 ok\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "auth\n"
	    "decide mail u@example.net\n"
	    "info cls=submission greeting=mx.example.org ehlo=client.example.net"
	    " mech=PLAIN user=user@example.net ntxn=0 ncmd=3 nerr=0 dropped=0"
	    " normalized=0\n");
}

static void
test_auth_plain_continuation(void)
{
	static const struct step st[] = {
		U(GREET),
		C("auth plain\r\n"),
		U("334 \r\n"),
		C("YWRtaW4AYm9iAGh1bnRlcjI=\r\n"),
		U("235 2.7.0 ok\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "auth\n"
	    "info cls=submission greeting=mx.example.org ehlo= mech=PLAIN user=bob"
	    " ntxn=0 ncmd=1 nerr=0 dropped=0 normalized=0\n");
}

static void
test_auth_login(void)
{
	static const struct step st[] = {
		U(GREET),
		C("AUTH LOGIN\r\n"),
		U("334 VXNlcm5hbWU6\r\n"),
		C("dXNlcg==\r\n"),
		U("334 UGFzc3dvcmQ6\r\n"),
		C("cGFzc1dPUkQ5\r\n"),
		U("235 2.7.0 ok\r\n"),
		C("QUIT\r\n"),
		U("221 bye\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "auth\n"
	    "close quit\n"
	    "info cls=submission greeting=mx.example.org ehlo= mech=LOGIN user=user"
	    " ntxn=0 ncmd=2 nerr=0 dropped=0 normalized=0\n");
}

static void
test_auth_failed(void)
{
	/* 535 keeps the session mx; a "*" cancels; an over-long continuation
	 * is replaced by "*" so that the upstream leaves the exchange too. */
	static char longcont[700];
	struct step st[] = {
		U(GREET),
		C("AUTH PLAIN AHVzZXJAZXhhbXBsZS5uZXQAczNjcmV0UFc=\r\n"),
		U("535 5.7.8 Authentication failed\r\n"),
		C("AUTH LOGIN\r\n"),
		U("334 VXNlcm5hbWU6\r\n"),
		C("*\r\n"),
		U("501 5.7.0 cancelled\r\n"),
		C("AUTH LOGIN\r\n"),
		U("334 VXNlcm5hbWU6\r\n"),
		{ 'C', longcont, sizeof(longcont) },
		U("501 5.7.0 cancelled\r\n"),
		U("250 ok\r\n"),
	};
	struct smtp_conf conf = test_conf();

	memset(longcont, 'A', sizeof(longcont));
	memcpy(longcont + sizeof(longcont) - 8, "\r\nNOOP\r\n", 8);
	conf.max_auth_line = 600;
	check_conf(&conf, &pass_stub, st, ARRAY_SIZE(st), NULL,
	    "AUTH PLAIN AHVzZXJAZXhhbXBsZS5uZXQAczNjcmV0UFc=\r\n"
	    "AUTH LOGIN\r\n*\r\nAUTH LOGIN\r\n*\r\nNOOP\r\n",
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=0"
	    " ncmd=4 nerr=3 dropped=0 normalized=0\n");
}

/* A class that wants credentials only under TLS: the core answers 538
 * itself (RFC 4954 4) and the AUTH line, with its initial response, never
 * reaches the upstream; the session goes on. */
static void
test_auth_cleartext_refused(void)
{
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U("250-mx.example.org\r\n250 AUTH PLAIN LOGIN\r\n"),
		C("AUTH PLAIN AHVzZXJAZXhhbXBsZS5uZXQAczNjcmV0UFc=\r\n"),
		C("auth login\r\nNOOP\r\n"),
		U("250 2.0.0 Ok\r\n"),
	};
	struct smtp_conf conf = test_conf();

	refuse_cleartext_auth = 1;
	check_conf(&conf, &pass_stub, st, ARRAY_SIZE(st),
	    GREET "250-mx.example.org\r\n250 AUTH PLAIN LOGIN\r\n"
	    "538 5.7.11 Encryption required for requested authentication "
	    "mechanism\r\n"
	    "538 5.7.11 Encryption required for requested authentication "
	    "mechanism\r\n"
	    "250 2.0.0 Ok\r\n",
	    "EHLO client.example.net\r\nNOOP\r\n",
	    "info cls=mx greeting=mx.example.org ehlo=client.example.net mech="
	    " user= ntxn=0 ncmd=4 nerr=2 dropped=0 normalized=0\n");
	refuse_cleartext_auth = 0;
}

static void
test_starttls(void)
{
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U("250-mx.example.org\r\n250 STARTTLS\r\n"),
		C("STARTTLS\r\nMAIL FROM:<evil@x>\r\n"),
		U("220 2.0.0 Ready to start TLS\r\n\x16\x03\x01"),
		C("\x16\x03\x01\x02\x00"),
		U("more"),
	};

	CHECK(st, GREET "250-mx.example.org\r\n250 STARTTLS\r\n"
	    "220 2.0.0 Ready to start TLS\r\n",
	    "EHLO client.example.net\r\nSTARTTLS\r\n",
	    "tunnel\n"
	    "eclosed C\n"
	    "eclosed U\n"
	    "info cls=tls greeting=mx.example.org ehlo=client.example.net mech="
	    " user= ntxn=0 ncmd=2 nerr=0 dropped=20 normalized=0\n");
}

static void
test_starttls_refused(void)
{
	static const struct step st[] = {
		U(GREET),
		C("STARTTLS\r\nNOOP\r\n"),
		U("454 4.7.0 TLS not available\r\n"),
		U("250 ok\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=0"
	    " ncmd=2 nerr=1 dropped=0 normalized=0\n");
}

/* STARTTLS put to the policy: passed, it goes on as before; refused, the
 * gateway answers 454 itself, in order, and the session stays in the clear
 * (the upstream never sees the STARTTLS). */
static void
test_starttls_policy(void)
{
	static const struct stub ask = { 0, NULL, 0, 0, 0, 1, 0 };
	static const struct stub refuse = { 0, NULL, 0, 0, 0, 1, 1 };
	static const struct stub refuse_async = { 1, NULL, 0, 0, 0, 1, 1 };
	static const struct step pass[] = {
		U(GREET),
		C("EHLO c\r\n"),
		U("250-mx.example.org\r\n250 STARTTLS\r\n"),
		C("STARTTLS\r\n"),
		U("220 2.0.0 Ready to start TLS\r\n"),
	};
	static const struct step no[] = {
		U(GREET),
		C("EHLO c\r\nSTARTTLS\r\nNOOP\r\n"),
		U("250-mx.example.org\r\n250 STARTTLS\r\n"),
		U("250 ok\r\n"),
	};
	static const struct step no_async[] = {
		U(GREET),
		C("EHLO c\r\nSTARTTLS\r\nNOOP\r\n"),
		U("250-mx.example.org\r\n250 STARTTLS\r\n"),
		DECIDE,
		U("250 ok\r\n"),
	};
	struct smtp_conf conf = test_conf();
	const char *client = GREET "250-mx.example.org\r\n250 STARTTLS\r\n"
	    "454 4.7.0 TLS not available due to local policy\r\n250 ok\r\n";
	const char *events = "decide starttls  notxn\n"
	    "info cls=mx greeting=mx.example.org ehlo=c mech= user= ntxn=0"
	    " ncmd=3 nerr=1 dropped=0 normalized=0\n";

	check_conf(&conf, &ask, pass, ARRAY_SIZE(pass), NULL, NULL,
	    "decide starttls  notxn\n"
	    "tunnel\n"
	    "info cls=tls greeting=mx.example.org ehlo=c mech= user= ntxn=0"
	    " ncmd=2 nerr=0 dropped=0 normalized=0\n");
	check_conf(&conf, &refuse, no, ARRAY_SIZE(no), client,
	    "EHLO c\r\nNOOP\r\n", events);
	check_conf(&conf, &refuse_async, no_async, ARRAY_SIZE(no_async),
	    client, "EHLO c\r\nNOOP\r\n", events);
}

static void
test_bad_lines(void)
{
	static char longline[600];
	struct step st[] = {
		U(GREET),
		{ 'C', longline, sizeof(longline) },
		C("NO\0OP\r\nNOOP\rX\r\nNOOP\n"),
		U("250 ok\r\n"),
	};
	struct smtp_conf conf = test_conf();

	memset(longline, 'x', sizeof(longline));
	memcpy(longline + sizeof(longline) - 2, "\r\n", 2);
	check_conf(&conf, &pass_stub, st, ARRAY_SIZE(st),
	    GREET "500 5.5.2 Line too long\r\n"
	    "500 5.5.2 Syntax error: NUL or bare CR in command\r\n"
	    "500 5.5.2 Syntax error: NUL or bare CR in command\r\n250 ok\r\n",
	    "NOOP\r\n",
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=0"
	    " ncmd=4 nerr=3 dropped=0 normalized=0\n");
}

static void
test_garbage_first(void)
{
	/* Talk before the greeting is relayed; replies keep their order. */
	static const struct step st[] = {
		C("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		U(GREET "502 5.5.2 Error: command not recognized\r\n"),
		U("502 5.5.2 Error: command not recognized\r\n"
		  "500 5.5.2 Error: bad syntax\r\n"),
		C("EHLO client.example.net\r\n"),
		U("250 mx.example.org\r\n"),
	};

	CHECK(st, NULL, NULL,
	    INFO_MX " mech= user= ntxn=0 ncmd=4 nerr=3 dropped=0 normalized=0\n");
}

static void
test_too_many_errors(void)
{
	static const struct step st[] = {
		U(GREET),
		C("FOO\r\nX\0\r\nBAR\r\n"),
		U("500 5.5.2 unknown\r\n"),
		U("500 5.5.2 unknown\r\n"),
		C("NOOP\r\n"),
	};
	struct smtp_conf conf = test_conf();

	conf.max_errors = 2;
	check_conf(&conf, &pass_stub, st, ARRAY_SIZE(st),
	    GREET "500 5.5.2 unknown\r\n"
	    "500 5.5.2 Syntax error: NUL or bare CR in command\r\n"
	    "500 5.5.2 unknown\r\n421 4.7.0 Too many errors\r\n",
	    "FOO\r\nBAR\r\n",
	    "close too_many_errors\n"
	    "eclosed C\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=0"
	    " ncmd=3 nerr=3 dropped=0 normalized=0\n");
}

static void
test_upstream_reset_mid_data(void)
{
	static const struct step st[] = {
		U(GREET),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
		U("250 ok\r\n250 ok\r\n354 go\r\n"),
		C("Subject: x\r\n\r\npartial"),
		TICK,
		EOF_U,
		C("more\r\n.\r\n"),
	};

	CHECK(st, GREET "250 ok\r\n250 ok\r\n354 go\r\n"
	    "421 4.4.2 Upstream closed the connection\r\n",
	    "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nSubject: x\r\n\r\npartial",
	    "decide mail a@x\n"
	    "decide rcpt b@y\n"
	    "timeout 4 client want=1\n"
	    "txn seq=1 aborted from=a@x rcpts=1/0 kept=b@y size=21 mid= code=0"
	    " reply= qid= t=1010-1050\n"
	    "close upstream_eof\n"
	    "eclosed C\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=1"
	    " ncmd=3 nerr=0 dropped=0 normalized=0\n");
}

static void
test_unsolicited_421(void)
{
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U("250 mx.example.org\r\n"),
		TICK,
		U("421 4.4.2 mx.example.org Error: timeout exceeded\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "timeout 6 client want=1\n"
	    "close upstream_421\n"
	    INFO_MX " mech= user= ntxn=0 ncmd=1 nerr=0 dropped=0 normalized=0\n");
}

static void
test_upstream_garbage(void)
{
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U("250-mx.example.org\r\nHTTP/1.1 400 Bad Request\r\n"),
		U("250 more\r\n"),
	};
	static const struct step st2[] = {
		U(GREET),
		C("NOOP\r\n"),
		U("354 surprise\r\n"),
	};

	CHECK(st, GREET "250-mx.example.org\r\n421 4.4.0 Upstream protocol error\r\n",
	    NULL,
	    "close upstream_protocol\n"
	    "eclosed U\n"
	    INFO_MX " mech= user= ntxn=0 ncmd=1 nerr=0 dropped=0 normalized=0\n");
	CHECK(st2, GREET "421 4.4.0 Upstream protocol error\r\n", NULL,
	    "close upstream_protocol\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=0"
	    " ncmd=1 nerr=0 dropped=0 normalized=0\n");
}

static void
test_shutdown(void)
{
	/* With a reply awaited, the shutdown reply waits for it. */
	static const struct step st[] = {
		U(GREET),
		C("NOOP\r\n"),
		SHUTDOWN("421 4.3.2 Gateway shutting down"),
		C("NOOP\r\n"),
		U("250 ok\r\n"),
	};
	static const struct step st2[] = {
		U(GREET),
		SHUTDOWN(NULL),
	};

	CHECK(st, GREET "250 ok\r\n421 4.3.2 Gateway shutting down\r\n",
	    "NOOP\r\n",
	    "close shutdown\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=0"
	    " ncmd=1 nerr=1 dropped=0 normalized=0\n");
	CHECK(st2, GREET "421 4.3.2 Service shutting down\r\n", "",
	    "close shutdown\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=0"
	    " ncmd=0 nerr=1 dropped=0 normalized=0\n");
}

static void
test_small_session(void)
{
	/* An idle session costs little: the struct, the FIFO and no buffer. */
	struct smtp_conf conf = test_conf();
	struct rec r;
	struct smtp_session *s;

	memset(&r, 0, sizeof(r));
	r.stub = &pass_stub;
	s = r.s = smtp_new(&conf, &rec_io, &r);
	smtp_feed_upstream(s, GREET, sizeof(GREET) - 1);
	smtp_feed_client(s, "EHLO x\r\nNO", 10);
	smtp_feed_upstream(s, "250 ok\r\n", 8);
	smtp_feed_client(s, "OP\r\n", 4);
	smtp_feed_upstream(s, "250 ok\r\n", 8);
	CU_ASSERT_TRUE(smtp__heap_bytes(s) < 1024);
	smtp_free(s);
	free(r.out[0].p);
	free(r.out[1].p);
	free(r.ev.p);
}

/* Parser parity (issue 9): what the gateway takes a line for must be what
 * the upstream does with it, or the gateway refuses the line itself. */

static void
test_parity_control_bytes(void)
{
	/* Postfix and Sendmail skip VT, FF (any isspace()) around the verb,
	 * aiosmtpd and Exim do not: such lines never reach the upstream.
	 * Nor does a line starting with white space. HT inside a line,
	 * lower case and trailing white space are read alike everywhere. */
	static const struct step st[] = {
		U(GREET),
		C("\vMAIL FROM:<a@x>\r\nMAIL\fFROM:<b@x>\r\n RCPT TO:<c@y>\r\n"
		  "\tDATA\r\nRSET\x0b\r\n\x1b" "DATA\r\nQUIT\x7f\x01\r\n"),
		C("mail from:<l@x>  \t\r\nrcpt\tTO:<m@y> \r\nNOOP\tx\r\n"),
		U("250 ok\r\n250 ok\r\n250 ok\r\n"),
		EOF_C,
	};

	CHECK(st, GREET
	    "500 5.5.2 Syntax error: control character in command\r\n"
	    "500 5.5.2 Syntax error: control character in command\r\n"
	    "500 5.5.2 Syntax error: white space before command\r\n"
	    "500 5.5.2 Syntax error: white space before command\r\n"
	    "500 5.5.2 Syntax error: control character in command\r\n"
	    "500 5.5.2 Syntax error: control character in command\r\n"
	    "500 5.5.2 Syntax error: control character in command\r\n"
	    "250 ok\r\n250 ok\r\n250 ok\r\n",
	    "mail from:<l@x>  \t\r\nrcpt\tTO:<m@y> \r\nNOOP\tx\r\n",
	    "decide mail l@x\n"
	    "decide rcpt m@y\n"
	    "txn seq=1 aborted from=l@x rcpts=1/0 kept=m@y size=0 mid= code=0"
	    " reply= qid= t=1020-1040\n"
	    "close client_eof\n"
	    "info cls=mx greeting=mx.example.org ehlo= mech= user= ntxn=1"
	    " ncmd=10 nerr=7 dropped=0 normalized=0\n");
}

static void
test_parity_reset_refused(void)
{
	/* "RSET x", "EHLO" without a name and an EHLO the server refuses
	 * are answered 5xx and the server keeps its transaction: so does
	 * the gateway, and the message it then accepts is recorded. */
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U(EHLO_REPLY),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRSET x\r\nEHLO\r\n"
		  "HELO \r\nEHLO again.example.net\r\nDATA\r\n"),
		U("250 ok\r\n250 ok\r\n501 5.5.4 Syntax: RSET\r\n"
		  "501 Syntax: EHLO hostname\r\n501 Syntax: HELO hostname\r\n"
		  "550 5.7.1 go away\r\n354 go\r\n"),
		C("Message-ID: <k@x>\r\n\r\nkept\r\n.\r\n"),
		U("250 2.0.0 Ok: queued as K1\r\n"),
		C("BDAT 4 LAST\r\nabcd"),
		U("250 2.0.0 Ok: queued as K2\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "decide mail a@x\n"
	    "decide rcpt b@y\n"
	    "decide data_end seq=1 size=27 mid=<k@x>\n"
	    "txn seq=1 accepted from=a@x rcpts=1/0 kept=b@y size=27 mid=<k@x>"
	    " code=250 reply=250 2.0.0 Ok: queued as K1 qid=K1 t=1030-1060\n"
	    "decide data_end seq=0 size=4 mid=\n"
	    "info cls=mx greeting=mx.example.org ehlo=again.example.net mech="
	    " user= ntxn=1 ncmd=9 nerr=4 dropped=0 normalized=0\n");
}

static void
test_parity_reset_pipelined(void)
{
	/* An accepted RSET or EHLO ends the transaction open when it was
	 * sent, not the one pipelined behind it. */
	static const struct step st[] = {
		U(GREET),
		C("MAIL FROM:<a@x>\r\nRSET\r\nMAIL FROM:<b@x>\r\nRCPT TO:<c@y>\r\n"
		  "EHLO e.example.net\r\nMAIL FROM:<d@x>\r\nRCPT TO:<f@y>\r\n"
		  "DATA\r\n"),
		U("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 e\r\n250 ok\r\n"
		  "250 ok\r\n354 go\r\n"),
		C("x\r\n.\r\n"),
		U("250 2.0.0 Ok: queued as P1\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "decide mail a@x\n"
	    "decide mail b@x\n"
	    "txn seq=1 aborted from=a@x rcpts=0/0 kept= size=0 mid= code=0"
	    " reply= qid= t=1010-1020\n"
	    "decide rcpt c@y\n"
	    "decide mail d@x\n"
	    "txn seq=2 aborted from=b@x rcpts=1/0 kept=c@y size=0 mid= code=0"
	    " reply= qid= t=1020-1020\n"
	    "decide rcpt f@y\n"
	    "decide data_end seq=3 size=3 mid=\n"
	    "txn seq=3 accepted from=d@x rcpts=1/0 kept=f@y size=3 mid= code=250"
	    " reply=250 2.0.0 Ok: queued as P1 qid=P1 t=1020-1040\n"
	    "info cls=mx greeting=mx.example.org ehlo=e.example.net mech= user="
	    " ntxn=3 ncmd=8 nerr=0 dropped=0 normalized=0\n");
}

static void
test_parity_bdat_last(void)
{
	/* RFC 3030: the end-of-data decision is charged the last chunk's
	 * octets; a BDAT LAST pipelined behind MAIL and RCPT waits for their
	 * replies, so the decision and the record see every recipient. The
	 * chunk is opaque (BODY=BINARYMIME): NUL, bare LF, a dot line and
	 * command text inside it are message octets. */
#define BIN_CHUNK "\0\n.\r\nQUIT\r\nRSET\r\n\r"
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U(EHLO_REPLY),
		C("MAIL FROM:<a@x> BODY=BINARYMIME\r\nRCPT TO:<b@y>\r\n"
		  "RCPT TO:<c@y>\r\nBDAT 17 LAST\r\n" BIN_CHUNK),
		U("250 ok\r\n250 ok\r\n"),
		U("250 ok\r\n"),
		U("250 2.0.0 Ok: queued as L1\r\n"),
	};

	CHECK(st, NULL, NULL,
	    "decide mail a@x\n"
	    "decide rcpt b@y\n"
	    "decide rcpt c@y\n"
	    "decide data_end seq=1 size=17 mid=\n"
	    "txn seq=1 accepted from=a@x rcpts=2/0 kept=b@y,c@y size=17 mid="
	    " code=250 reply=250 2.0.0 Ok: queued as L1 qid=L1 t=1030-1060\n"
	    INFO_MX " mech= user= ntxn=1 ncmd=5 nerr=0 dropped=0 normalized=0\n");
}

static void
test_parity_bdat_mail_refused(void)
{
	/* A chunk pipelined behind a MAIL the upstream refuses: its octets
	 * count for no transaction (and the refused one is freed once). */
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U(EHLO_REPLY),
		C("MAIL FROM:<a@x>\r\nBDAT 10\r\nhello"),
		U("550 5.7.1 no\r\n"),
		C("world"),
		U("503 5.5.1 need MAIL\r\n"),
		EOF_C,
	};

	CHECK(st, NULL, NULL,
	    "decide mail a@x\n"
	    "close client_eof\n"
	    INFO_MX " mech= user= ntxn=0 ncmd=3 nerr=2 dropped=0 normalized=0\n");
}

static void
test_parity_bdat_early_reply(void)
{
	/* An upstream answering a BDAT before its chunk is complete would end
	 * a message larger than the one recorded: a protocol error. */
	static const struct step st[] = {
		U(GREET),
		C("EHLO client.example.net\r\n"),
		U(EHLO_REPLY),
		C("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"),
		U("250 ok\r\n250 ok\r\n"),
		C("BDAT 10 LAST\r\nhello"),
		U("250 2.0.0 Ok: queued as E1\r\n"),
	};

	CHECK(st, GREET EHLO_REPLY "250 ok\r\n250 ok\r\n"
	    "421 4.4.0 Upstream protocol error\r\n",
	    "EHLO client.example.net\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"
	    "BDAT 10 LAST\r\nhello",
	    "decide mail a@x\n"
	    "decide rcpt b@y\n"
	    "decide data_end seq=1 size=10 mid=\n"
	    "txn seq=1 aborted from=a@x rcpts=1/0 kept=b@y size=5 mid= code=0"
	    " reply= qid= t=1030-1060\n"
	    "close upstream_protocol\n"
	    INFO_MX " mech= user= ntxn=1 ncmd=4 nerr=0 dropped=0 normalized=0\n");
}

int
suite_smtp_register(void)
{
	CU_pSuite s = CU_add_suite("smtp", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "plain_mx", test_plain_mx) == NULL ||
	    CU_add_test(s, "client_halfclose", test_client_halfclose) == NULL ||
	    CU_add_test(s, "client_eof_mid_data", test_client_eof_mid_data) == NULL ||
	    CU_add_test(s, "pipelining_refused_rcpt", test_pipelining_refused_rcpt) == NULL ||
	    CU_add_test(s, "async_decision", test_async_decision) == NULL ||
	    CU_add_test(s, "async_hold", test_async_hold) == NULL ||
	    CU_add_test(s, "held_overflow", test_held_overflow) == NULL ||
	    CU_add_test(s, "pipeline_bound", test_pipeline_bound) == NULL ||
	    CU_add_test(s, "data_dotstuff_msgid", test_data_dotstuff_msgid) == NULL ||
	    CU_add_test(s, "smuggling_normalize", test_smuggling_normalize) == NULL ||
	    CU_add_test(s, "smuggling_reject", test_smuggling_reject) == NULL ||
	    CU_add_test(s, "data_end_refused", test_data_end_refused) == NULL ||
	    CU_add_test(s, "policy_mail_and_close", test_policy_mail_and_close) == NULL ||
	    CU_add_test(s, "mail_refused_upstream", test_mail_refused_upstream) == NULL ||
	    CU_add_test(s, "nested_mail", test_nested_mail) == NULL ||
	    CU_add_test(s, "bdat", test_bdat) == NULL ||
	    CU_add_test(s, "bdat_not_offered", test_bdat_not_offered) == NULL ||
	    CU_add_test(s, "auth_plain", test_auth_plain) == NULL ||
	    CU_add_test(s, "auth_plain_continuation", test_auth_plain_continuation) == NULL ||
	    CU_add_test(s, "auth_login", test_auth_login) == NULL ||
	    CU_add_test(s, "auth_failed", test_auth_failed) == NULL ||
	    CU_add_test(s, "starttls", test_starttls) == NULL ||
	    CU_add_test(s, "starttls_refused", test_starttls_refused) == NULL ||
	    CU_add_test(s, "starttls_policy", test_starttls_policy) == NULL ||
	    CU_add_test(s, "bad_lines", test_bad_lines) == NULL ||
	    CU_add_test(s, "garbage_first", test_garbage_first) == NULL ||
	    CU_add_test(s, "too_many_errors", test_too_many_errors) == NULL ||
	    CU_add_test(s, "upstream_reset_mid_data", test_upstream_reset_mid_data) == NULL ||
	    CU_add_test(s, "unsolicited_421", test_unsolicited_421) == NULL ||
	    CU_add_test(s, "upstream_garbage", test_upstream_garbage) == NULL ||
	    CU_add_test(s, "shutdown", test_shutdown) == NULL ||
	    CU_add_test(s, "small_session", test_small_session) == NULL ||
	    CU_add_test(s, "parity_control_bytes", test_parity_control_bytes) == NULL ||
	    CU_add_test(s, "parity_reset_refused", test_parity_reset_refused) == NULL ||
	    CU_add_test(s, "parity_reset_pipelined", test_parity_reset_pipelined) == NULL ||
	    CU_add_test(s, "parity_bdat_last", test_parity_bdat_last) == NULL ||
	    CU_add_test(s, "parity_bdat_mail_refused", test_parity_bdat_mail_refused) == NULL ||
	    CU_add_test(s, "parity_bdat_early_reply", test_parity_bdat_early_reply) == NULL ||
	    CU_add_test(s, "auth_cleartext_refused",
	    test_auth_cleartext_refused) == NULL)
		return -1;
	return 0;
}
