/*
 * test_smarthost.c - the smarthost client handshake (proxy/smarthost.h)
 * driven through scripted dialogues, without sockets or TLS.
 *
 * A script is a list of steps: one reply of the smarthost, the TLS
 * handshake succeeding, or the glue giving up. The transcript records what
 * the handshake sent, the state after every step and, at the end, the
 * outcome. Each script is run whole, then with each step split at every byte
 * boundary and with every step fed byte by byte: every run must give the
 * same transcript. Bytes are fed from exact-size heap copies freed right
 * after the call, so ASan catches reads past len or kept pointers.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smarthost.h"
#include "suites.h"

#define HELO "gw1.isp.example"
#define USER "relay@isp.example"
#define PASS "s3cr3t-Pw"
/* base64("\0relay@isp.example\0s3cr3t-Pw"), RFC 4616 */
#define PLAIN_B64 "AHJlbGF5QGlzcC5leGFtcGxlAHMzY3IzdC1Qdw=="
#define USER_B64 "cmVsYXlAaXNwLmV4YW1wbGU="
#define PASS_B64 "czNjcjN0LVB3"

struct step {
	char kind;	/* S: smarthost bytes; T: TLS up; F: glue fails */
	const char *p;
	size_t n;
};

#define S(x) { 'S', x, sizeof(x) - 1 }
#define TLS_UP { 'T', NULL, 0 }
#define GLUE_FAIL(reason) { 'F', reason, 0 }

struct tbuf {
	char p[8192];
	size_t n;
};

static void
tb_add(struct tbuf *b, const char *p, size_t n)
{
	size_t room = sizeof(b->p) - 1 - b->n;	/* b->n < sizeof(b->p) */

	if (n > room)
		n = room;
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
tb_str(struct tbuf *b, const char *s)
{
	tb_add(b, s, strlen(s));
}

static const char *const state_names[] = { "wait", "tls", "done", "fail" };

static void
take_output(struct sh *h, struct tbuf *t)
{
	size_t n;
	const char *p = sh_output(h, &n);

	if (n > 0) {
		tb_str(t, "> ");
		tb_add(t, p, n);
		sh_output_done(h);
	}
}

static void
feed(struct sh *h, const char *p, size_t n, struct tbuf *t)
{
	char *copy = malloc(n ? n : 1);

	memcpy(copy, p, n);
	sh_feed(h, copy, n);
	memset(copy, 0xa5, n);
	free(copy);
	take_output(h, t);
}

/* run - one pass: step split_step is fed in two pieces cut at split_at (0:
 * whole); bytewise feeds every step byte by byte. */
static void
run(const struct sh_params *prm, const struct step *st, size_t nst,
    size_t split_step, size_t split_at, int bytewise, struct tbuf *t)
{
	struct sh *h = sh_new(prm);
	const char *g;
	size_t i, k, n;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < nst; i++) {
		switch (st[i].kind) {
		case 'S':
			if (bytewise)
				for (k = 0; k < st[i].n; k++)
					feed(h, st[i].p + k, 1, t);
			else if (i == split_step && split_at > 0) {
				feed(h, st[i].p, split_at, t);
				feed(h, st[i].p + split_at, st[i].n - split_at, t);
			} else
				feed(h, st[i].p, st[i].n, t);
			break;
		case 'T':
			sh_tls_ready(h);
			take_output(h, t);
			break;
		case 'F':
			sh_fail(h, st[i].p, "glue gave up");
			take_output(h, t);
			break;
		}
		tb_str(t, "= ");
		tb_str(t, state_names[sh_state(h)]);
		tb_str(t, "\n");
	}
	if (sh_state(h) == SH_DONE) {
		g = sh_greeting(h, &n);
		tb_str(t, "greeting: ");
		tb_add(t, g, n);
		tb_str(t, sh_tls_used(h) ? "tls=1 mech=" : "tls=0 mech=");
		tb_str(t, sh_auth_mech(h));
		tb_str(t, "\n");
		if (sh_xclient(h) != SH_XCLIENT_NONE) {
			tb_str(t, sh_xclient(h) == SH_XCLIENT_SENT ?
			    "xclient=sent\n" : "xclient=refused error=");
			if (sh_xclient(h) == SH_XCLIENT_REFUSED) {
				tb_str(t, sh_error(h));
				tb_str(t, "\n");
			}
		}
	} else if (sh_state(h) == SH_FAIL) {
		tb_str(t, "reason=");
		tb_str(t, sh_reason(h));
		tb_str(t, " step=");
		tb_str(t, sh_step(h));
		tb_str(t, "\nreply=");
		tb_str(t, sh_reply(h));
		tb_str(t, "\nerror=");
		tb_str(t, sh_error(h));
		tb_str(t, "\n");
	}
	sh_free(h);
}

/* check - the whole run gives want; every split and the bytewise run give
 * the same transcript. */
static void
check_script(const struct sh_params *prm, const struct step *st, size_t nst,
    const char *want)
{
	static struct tbuf whole, other;
	size_t i, k;

	run(prm, st, nst, 0, 0, 0, &whole);
	if (strcmp(whole.p, want) != 0) {
		fprintf(stderr, "\n--- want\n%s--- got\n%s---\n", want, whole.p);
		CU_FAIL("transcript differs");
		return;
	}
	/* the password never shows outside the AUTH command itself */
	CU_ASSERT_PTR_NULL(strstr(whole.p, PASS));
	for (i = 0; i < nst; i++)
		for (k = 1; k < st[i].n; k++) {
			run(prm, st, nst, i, k, 0, &other);
			if (strcmp(other.p, whole.p) != 0) {
				fprintf(stderr, "\nsplit step %zu at %zu:\n%s", i, k,
				    other.p);
				CU_FAIL("split run differs");
				return;
			}
		}
	run(prm, st, nst, 0, 0, 1, &other);
	CU_ASSERT_STRING_EQUAL(other.p, whole.p);
}

#define check(prm, st, want) check_script(prm, st, sizeof(st) / sizeof((st)[0]), want)

static struct sh_params
params(enum sh_starttls tls, int auth)
{
	struct sh_params p;

	memset(&p, 0, sizeof(p));
	p.helo = HELO;
	p.starttls = tls;
	p.user = auth ? USER : NULL;
	p.password = auth ? PASS : NULL;
	p.max_line = 512;
	p.max_reply = 4096;
	return p;
}

#define GREET "220-smart.isp.example ESMTP\r\n220 relay for subscribers\r\n"
#define EHLO_TLS "250-smart.isp.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
#define EHLO_AUTH "250-smart.isp.example\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n"

/* the transcript of STARTTLS and AUTH PLAIN */
#define TX_TLS_PLAIN "> EHLO " HELO "\r\n= wait\n> STARTTLS\r\n= wait\n" \
	"= tls\n> EHLO " HELO "\r\n= wait\n> AUTH PLAIN " PLAIN_B64 "\r\n= wait\n"

static void
test_require_plain(void)
{
	struct sh_params p = params(SH_TLS_REQUIRE, 1);
	static const struct step st[] = {
		S(GREET), S(EHLO_TLS), S("220 2.0.0 Ready to start TLS\r\n"),
		TLS_UP, S(EHLO_AUTH), S("235 2.7.0 Authentication successful\r\n")
	};

	check(&p, st,
	    TX_TLS_PLAIN
	    "= done\n"
	    "greeting: " GREET "tls=1 mech=PLAIN\n");
}

static void
test_require_login(void)
{
	struct sh_params p = params(SH_TLS_REQUIRE, 1);
	static const struct step st[] = {
		S("220 smart ESMTP\n"), S("250-smart\n250 STARTTLS\n"),
		S("220 go ahead\n"), TLS_UP,
		S("250-smart\r\n250 AUTH=LOGIN\r\n"),
		S("334 VXNlcm5hbWU6\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
		S("235 ok\r\n")
	};

	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> STARTTLS\r\n= wait\n"
	    "= tls\n"
	    "> EHLO " HELO "\r\n= wait\n"
	    "> AUTH LOGIN\r\n= wait\n"
	    "> " USER_B64 "\r\n= wait\n"
	    "> " PASS_B64 "\r\n= wait\n"
	    "= done\n"
	    "greeting: 220 smart ESMTP\ntls=1 mech=LOGIN\n");
}

static void
test_require_no_auth(void)
{
	struct sh_params p = params(SH_TLS_REQUIRE, 0);
	static const struct step st[] = {
		S(GREET), S(EHLO_TLS), S("220 Ready\r\n"), TLS_UP,
		S("250-smart\r\n250 AUTH PLAIN\r\n")
	};

	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> STARTTLS\r\n= wait\n"
	    "= tls\n"
	    "> EHLO " HELO "\r\n= wait\n"
	    "= done\n"
	    "greeting: " GREET "tls=1 mech=\n");
}

static void
test_require_not_offered(void)
{
	struct sh_params p = params(SH_TLS_REQUIRE, 1);
	static const struct step st[] = {
		S(GREET), S(EHLO_AUTH)
	};

	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "= fail\n"
	    "reason=smarthost_no_starttls step=ehlo\n"
	    "reply=421 4.4.1 No secure connection to the mail relay, try again later (subgate)\n"
	    "error=smarthost does not offer STARTTLS (starttls: require)\n");
}

static void
test_require_refused(void)
{
	struct sh_params p = params(SH_TLS_REQUIRE, 0);
	static const struct step st[] = {
		S(GREET), S(EHLO_TLS), S("454 4.7.0 TLS not available\r\n")
	};

	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> STARTTLS\r\n= wait\n"
	    "= fail\n"
	    "reason=smarthost_starttls step=starttls\n"
	    "reply=421 4.4.1 No secure connection to the mail relay, try again later (subgate)\n"
	    "error=smarthost refused STARTTLS: 454 4.7.0 TLS not available\n");
}

static void
test_tls_handshake_failed(void)
{
	struct sh_params p = params(SH_TLS_OPPORTUNISTIC, 1);
	static const struct step st[] = {
		S(GREET), S(EHLO_TLS), S("220 Ready\r\n"),
		GLUE_FAIL("smarthost_tls")
	};

	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> STARTTLS\r\n= wait\n"
	    "= tls\n"
	    "= fail\n"
	    "reason=smarthost_tls step=tls\n"
	    "reply=421 4.4.1 No secure connection to the mail relay, try again later (subgate)\n"
	    "error=glue gave up\n");
}

static void
test_opportunistic_clear(void)
{
	/* STARTTLS not offered, refused: go on in clear (RFC 3207 4) */
	struct sh_params p = params(SH_TLS_OPPORTUNISTIC, 0);
	static const struct step st1[] = {
		S(GREET), S("250-smart\r\n250 SIZE 1000\r\n")
	};
	static const struct step st2[] = {
		S(GREET), S(EHLO_TLS), S("454 4.7.0 TLS not available\r\n")
	};
	static const struct step st3[] = {
		S(GREET), S("502 5.5.1 EHLO not implemented\r\n")
	};

	check(&p, st1,
	    "> EHLO " HELO "\r\n= wait\n"
	    "= done\n"
	    "greeting: " GREET "tls=0 mech=\n");
	check(&p, st2,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> STARTTLS\r\n= wait\n"
	    "= done\n"
	    "greeting: " GREET "tls=0 mech=\n");
	check(&p, st3,
	    "> EHLO " HELO "\r\n= wait\n"
	    "= done\n"
	    "greeting: " GREET "tls=0 mech=\n");
}

static void
test_opportunistic_no_cleartext_auth(void)
{
	/* no TLS: the credentials are not sent */
	struct sh_params p = params(SH_TLS_OPPORTUNISTIC, 1);
	static const struct step st[] = {
		S(GREET), S(EHLO_AUTH)
	};

	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "= fail\n"
	    "reason=smarthost_auth_cleartext step=ehlo\n"
	    "reply=421 4.4.1 No secure connection to the mail relay, try again later (subgate)\n"
	    "error=no TLS with the smarthost: credentials not sent in clear "
	    "(set starttls: off to allow that)\n");
}

static void
test_off(void)
{
	struct sh_params p0 = params(SH_TLS_OFF, 0);
	struct sh_params p1 = params(SH_TLS_OFF, 1);
	static const struct step st0[] = { S(GREET) };
	static const struct step st1[] = {
		S(GREET), S(EHLO_TLS "")
	};
	static const struct step st2[] = {
		S(GREET), S(EHLO_AUTH), S("235 2.7.0 ok\r\n")
	};

	/* nothing to negotiate: the subscriber's EHLO is the first command */
	check(&p0, st0, "= done\ngreeting: " GREET "tls=0 mech=\n");
	check(&p1, st1,
	    "> EHLO " HELO "\r\n= wait\n"
	    "= fail\n"
	    "reason=smarthost_auth_mech step=ehlo\n"
	    "reply=421 4.7.0 The mail relay refused the gateway's credentials, try again later (subgate)\n"
	    "error=smarthost offers neither AUTH PLAIN nor AUTH LOGIN\n");
	check(&p1, st2,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> AUTH PLAIN " PLAIN_B64 "\r\n= wait\n"
	    "= done\n"
	    "greeting: " GREET "tls=0 mech=PLAIN\n");
}

static void
test_auth_refused(void)
{
	struct sh_params p = params(SH_TLS_REQUIRE, 1);
	static const struct step st[] = {
		S(GREET), S(EHLO_TLS), S("220 Ready\r\n"), TLS_UP, S(EHLO_AUTH),
		S("535 5.7.8 Authentication credentials invalid\r\n")
	};

	check(&p, st,
	    TX_TLS_PLAIN
	    "= fail\n"
	    "reason=smarthost_auth step=auth\n"
	    "reply=421 4.7.0 The mail relay refused the gateway's credentials, try again later (subgate)\n"
	    "error=smarthost refused AUTH: 535 5.7.8 Authentication credentials invalid\n");
}

static void
test_greeting_refused(void)
{
	struct sh_params p = params(SH_TLS_REQUIRE, 0);
	static const struct step st[] = {
		S("554-smart.isp.example\r\n554 No service for you\r\n")
	};
	static const struct step st421[] = {
		S(GREET), S("421 4.3.2 Shutting down\r\n")
	};

	check(&p, st,
	    "= fail\n"
	    "reason=smarthost_greeting step=greeting\n"
	    "reply=421 4.4.1 Mail relay unavailable, try again later (subgate)\n"
	    "error=smarthost greeting: 554 No service for you\n");
	check(&p, st421,
	    "> EHLO " HELO "\r\n= wait\n"
	    "= fail\n"
	    "reason=smarthost_421 step=ehlo\n"
	    "reply=421 4.4.1 Mail relay unavailable, try again later (subgate)\n"
	    "error=smarthost said: 421 4.3.2 Shutting down\n");
}

static void
test_injection_after_starttls(void)
{
	/* RFC 3207 5 / CVE-2011-0411 class: plaintext after the 220 to
	 * STARTTLS is not kept for after the handshake */
	struct sh_params p = params(SH_TLS_REQUIRE, 1);
	static const struct step st[] = {
		S(GREET), S(EHLO_TLS),
		S("220 Ready\r\n250-smart\r\n250 AUTH PLAIN\r\n")
	};

	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> STARTTLS\r\n= wait\n"
	    "= fail\n"
	    "reason=smarthost_protocol step=tls\n"
	    "reply=421 4.4.1 Mail relay unavailable, try again later (subgate)\n"
	    "error=smarthost sent data out of turn (step tls)\n");
}

static void
test_out_of_turn(void)
{
	/* two replies where one was due; run whole only (split at the
	 * boundary the second reply is an answer to STARTTLS) */
	struct sh_params p = params(SH_TLS_REQUIRE, 0);
	static struct tbuf t;
	static const struct step st[] = {
		S(GREET "250 early\r\n")
	};

	run(&p, st, 1, 0, 0, 0, &t);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.p, "reason=smarthost_protocol step=ehlo\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.p, "(step ehlo)"));
}

static void
test_bad_replies(void)
{
	struct sh_params p = params(SH_TLS_REQUIRE, 0);
	static char longline[600], bigreply[5000];
	static const struct step st1[] = { S("hello there\r\n") };
	static const struct step st2[] = { S("220x smart\r\n") };
	static const struct step st3[] = { S("2\r\n") };
	struct step st4[] = { { 'S', longline, sizeof(longline) } };
	struct step st5[] = { { 'S', bigreply, 0 } };
	static struct tbuf t;
	size_t i, n = 0;

	check(&p, st1,
	    "= fail\n"
	    "reason=smarthost_protocol step=greeting\n"
	    "reply=421 4.4.1 Mail relay unavailable, try again later (subgate)\n"
	    "error=smarthost sent a malformed reply in step greeting\n");
	check(&p, st2,
	    "= fail\n"
	    "reason=smarthost_protocol step=greeting\n"
	    "reply=421 4.4.1 Mail relay unavailable, try again later (subgate)\n"
	    "error=smarthost sent a malformed reply in step greeting\n");
	check(&p, st3,
	    "= fail\n"
	    "reason=smarthost_protocol step=greeting\n"
	    "reply=421 4.4.1 Mail relay unavailable, try again later (subgate)\n"
	    "error=smarthost sent a malformed reply in step greeting\n");

	/* a line without end past max_line */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "220 ", 4);
	run(&p, st4, 1, 0, 0, 0, &t);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.p, "error=smarthost reply line longer than 512 octets\n"));
	run(&p, st4, 1, 0, 0, 1, &t);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.p, "error=smarthost reply line longer than 512 octets\n"));

	/* a multi-line reply past max_reply */
	for (i = 0; n + 20 < sizeof(bigreply); i++)
		n += (size_t)snprintf(bigreply + n, sizeof(bigreply) - n,
		    "220-line %05zu ...\r\n", i);
	st5[0].n = n;
	run(&p, st5, 1, 0, 0, 0, &t);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.p, "error=smarthost reply longer than 4096 octets\n"));
}

/* XCLIENT ------------------------------------------------------------ */

#define SUB4 "192.0.2.7"
#define SUB6 "2001:db8::7"
/* what Postfix 3.9 offers to smtpd_authorized_xclient_hosts */
#define XCLIENT_ALL "250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT\r\n"

static struct sh_params
xparams(enum sh_starttls tls, int auth, const char *addr)
{
	struct sh_params p = params(tls, auth);

	p.xclient = 1;
	p.client_addr = addr;
	p.client_port = 40001;
	p.dest_addr = "198.51.100.25";
	p.dest_port = 25;
	return p;
}

static void
test_xclient_after_auth(void)
{
	/* after STARTTLS and AUTH; the 220 is the subscriber's greeting */
	struct sh_params p = xparams(SH_TLS_REQUIRE, 1, SUB4);
	static const struct step st[] = {
		S(GREET), S(EHLO_TLS), S("220 2.0.0 Ready to start TLS\r\n"),
		TLS_UP,
		S("250-smart.isp.example\r\n250-AUTH PLAIN\r\n" XCLIENT_ALL
		    "250 8BITMIME\r\n"),
		S("235 2.7.0 Authentication successful\r\n"),
		S("220-smart.isp.example ESMTP\r\n220 hello subscriber\r\n")
	};

	check(&p, st,
	    TX_TLS_PLAIN
	    "> XCLIENT NAME=[UNAVAILABLE] ADDR=" SUB4 " PORT=40001 "
	    "DESTADDR=198.51.100.25 DESTPORT=25\r\n= wait\n"
	    "= done\n"
	    "greeting: 220-smart.isp.example ESMTP\r\n220 hello subscriber\r\n"
	    "tls=1 mech=PLAIN\nxclient=sent\n");
}

static void
test_xclient_v6_offered_only(void)
{
	/* no TLS, no AUTH: EHLO only for XCLIENT; IPv6 as "IPV6:", only the
	 * offered attributes; 250 (older Postfix): the greeting stays */
	struct sh_params p = xparams(SH_TLS_OFF, 0, SUB6);
	static const struct step st[] = {
		S(GREET), S("250-smart\r\n250-XCLIENT addr PORT\r\n250 DSN\r\n"),
		S("250 2.0.0 Ok\r\n")
	};

	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> XCLIENT ADDR=IPV6:" SUB6 " PORT=40001\r\n= wait\n"
	    "= done\n"
	    "greeting: " GREET "tls=0 mech=\nxclient=sent\n");
}

static void
test_xclient_refused(void)
{
	/* advertised, then refused: mail goes on without it */
	struct sh_params p = xparams(SH_TLS_OPPORTUNISTIC, 0, SUB4);
	static const struct step st[] = {
		S(GREET), S("250-smart\r\n" XCLIENT_ALL "250 DSN\r\n"),
		S("550 5.7.0 Error: insufficient authorization\r\n")
	};
	static const struct step st501[] = {
		S("220 x\r\n"), S("250-smart\r\n250 XCLIENT ADDR\r\n"),
		S("501 5.5.4 Bad XCLIENT attribute name\r\n")
	};
	static const struct step st421[] = {
		S("220 x\r\n"), S("250-smart\r\n250 XCLIENT ADDR\r\n"),
		S("421 4.3.0 going down\r\n")
	};

	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> XCLIENT NAME=[UNAVAILABLE] ADDR=" SUB4 " PORT=40001 "
	    "DESTADDR=198.51.100.25 DESTPORT=25\r\n= wait\n"
	    "= done\n"
	    "greeting: " GREET "tls=0 mech=\n"
	    "xclient=refused error=smarthost refused XCLIENT: 550 5.7.0 Error: "
	    "insufficient authorization\n");
	check(&p, st501,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> XCLIENT ADDR=" SUB4 "\r\n= wait\n"
	    "= done\n"
	    "greeting: 220 x\r\ntls=0 mech=\n"
	    "xclient=refused error=smarthost refused XCLIENT: 501 5.5.4 Bad "
	    "XCLIENT attribute name\n");
	/* 421 closes the channel (RFC 5321 3.8): no session to go on with */
	check(&p, st421,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> XCLIENT ADDR=" SUB4 "\r\n= wait\n"
	    "= fail\n"
	    "reason=smarthost_421 step=xclient\n"
	    "reply=421 4.4.1 Mail relay unavailable, try again later (subgate)\n"
	    "error=smarthost said: 421 4.3.0 going down\n");
}

static void
test_xclient_not_sent(void)
{
	/* no ADDR offered (smtp-sink: "XCLIENT NAME HELO"), or no XCLIENT,
	 * or EHLO refused: nothing; off: not even the EHLO */
	struct sh_params p = xparams(SH_TLS_OFF, 0, SUB4);
	struct sh_params off = p;
	static const struct step sink[] = {
		S("220 smtp-sink ESMTP\r\n"),
		S("250-smtp-sink\r\n250-XCLIENT NAME HELO\r\n"
		    "250-XFORWARD NAME ADDR PROTO HELO\r\n250 \r\n")
	};
	static const struct step none[] = {
		S("220 x\r\n"), S("250-smart\r\n250 XCLIENTADDR\r\n")
	};
	static const struct step refused[] = {
		S("220 x\r\n"), S("502 5.5.2 EHLO not implemented\r\n")
	};
	static const struct step plain[] = { S("220 x\r\n") };

	check(&p, sink,
	    "> EHLO " HELO "\r\n= wait\n"
	    "= done\n"
	    "greeting: 220 smtp-sink ESMTP\r\ntls=0 mech=\n");
	check(&p, none,
	    "> EHLO " HELO "\r\n= wait\n"
	    "= done\n"
	    "greeting: 220 x\r\ntls=0 mech=\n");
	check(&p, refused,
	    "> EHLO " HELO "\r\n= wait\n"
	    "= done\n"
	    "greeting: 220 x\r\ntls=0 mech=\n");
	off.xclient = 0;
	check(&off, plain, "= done\ngreeting: 220 x\r\ntls=0 mech=\n");
}

static void
test_xclient_hostile_values(void)
{
	/* RFC 3461 4 xtext: space, '+', '=', controls and 8-bit as +XX; an
	 * attribute past the 512-octet line is left out, the rest sent */
	static char big[600];
	struct sh_params p = xparams(SH_TLS_OFF, 0, "a b+c=d\x01\r\n\xff~");
	static const struct step st[] = {
		S("220 x\r\n"), S("250-smart\r\n" XCLIENT_ALL "250 DSN\r\n"),
		S("220 y\r\n")
	};

	memset(big, '7', sizeof(big) - 1);
	p.dest_addr = big;
	check(&p, st,
	    "> EHLO " HELO "\r\n= wait\n"
	    "> XCLIENT NAME=[UNAVAILABLE] ADDR=a+20b+2Bc+3Dd+01+0D+0A+FF~ "
	    "PORT=40001 DESTPORT=25\r\n= wait\n"
	    "= done\n"
	    "greeting: 220 y\r\ntls=0 mech=\nxclient=sent\n");
}

static void
test_nothing_owed(void)
{
	/* bytes after the handshake is done, or after a failure */
	struct sh_params p = params(SH_TLS_OFF, 0);
	struct sh *h = sh_new(&p);

	CU_ASSERT_EQUAL(sh_feed(h, "220 hi\r\n", 8), SH_DONE);
	CU_ASSERT_EQUAL(sh_feed(h, "250 x\r\n", 7), SH_FAIL);
	CU_ASSERT_STRING_EQUAL(sh_reason(h), "smarthost_protocol");
	CU_ASSERT_EQUAL(sh_feed(h, "250 x\r\n", 7), SH_FAIL);
	sh_free(h);
	sh_free(NULL);
}

int
suite_smarthost_register(void)
{
	CU_pSuite s = CU_add_suite("smarthost", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "require_plain", test_require_plain) == NULL ||
	    CU_add_test(s, "require_login", test_require_login) == NULL ||
	    CU_add_test(s, "require_no_auth", test_require_no_auth) == NULL ||
	    CU_add_test(s, "require_not_offered", test_require_not_offered) == NULL ||
	    CU_add_test(s, "require_refused", test_require_refused) == NULL ||
	    CU_add_test(s, "tls_handshake_failed", test_tls_handshake_failed) == NULL ||
	    CU_add_test(s, "opportunistic_clear", test_opportunistic_clear) == NULL ||
	    CU_add_test(s, "opportunistic_no_cleartext_auth", test_opportunistic_no_cleartext_auth) == NULL ||
	    CU_add_test(s, "off", test_off) == NULL ||
	    CU_add_test(s, "auth_refused", test_auth_refused) == NULL ||
	    CU_add_test(s, "greeting_refused", test_greeting_refused) == NULL ||
	    CU_add_test(s, "injection_after_starttls", test_injection_after_starttls) == NULL ||
	    CU_add_test(s, "out_of_turn", test_out_of_turn) == NULL ||
	    CU_add_test(s, "bad_replies", test_bad_replies) == NULL ||
	    CU_add_test(s, "xclient_after_auth", test_xclient_after_auth) == NULL ||
	    CU_add_test(s, "xclient_v6_offered_only", test_xclient_v6_offered_only) == NULL ||
	    CU_add_test(s, "xclient_refused", test_xclient_refused) == NULL ||
	    CU_add_test(s, "xclient_not_sent", test_xclient_not_sent) == NULL ||
	    CU_add_test(s, "xclient_hostile_values", test_xclient_hostile_values) == NULL ||
	    CU_add_test(s, "nothing_owed", test_nothing_owed) == NULL)
		return -1;
	return 0;
}
