/*
 * smarthost.h - the gateway's own SMTP client handshake with the operator's
 * smarthost, run before a redirected subscriber's session is relayed there
 * (policy verdict SMTP_REDIRECT at connect; docs/design.md "Decide").
 *
 * Sans-I/O, like smtp.h: the glue feeds the smarthost's plaintext bytes
 * (sh_feed), sends what sh_output() holds, runs the TLS handshake when the
 * state says so and reports it (sh_tls_ready). Lock-step, one command at a
 * time:
 *
 *   220 greeting (kept: it becomes the subscriber's greeting)
 *   EHLO helo                    only if STARTTLS, AUTH or XCLIENT may be
 *                                done
 *   STARTTLS -> 220, TLS, EHLO   RFC 3207; starttls: require | opportunistic
 *   AUTH PLAIN (else LOGIN)      RFC 4954; only if a user is configured
 *   XCLIENT NAME ADDR PORT ...   only if the last EHLO reply offers XCLIENT
 *                                with ADDR (Postfix XCLIENT_README)
 *   -> SH_DONE
 *
 * XCLIENT tells the relay who the subscriber is: NAME=[UNAVAILABLE] (no
 * reverse lookup is made), ADDR, PORT, and DESTADDR, DESTPORT (what the
 * subscriber dialled), each only if offered, values xtext (RFC 3461 4).
 * Not HELO nor PROTO: the subscriber's own EHLO or HELO, which follows,
 * sets both. Not LOGIN: it would make the session SASL-authenticated at
 * the relay under a name nobody authenticated. A 220 answer is the
 * greeting of the subscriber's session there: sh_greeting() is that one.
 * Refused (4xx/5xx other than 421): SH_DONE without it, sh_xclient() says
 * so; mail flow does not depend on it.
 *
 * Replies are read with the SMTP core's rules: lines end in LF (CR
 * optional), "ddd" then SP, "-" or end of line (RFC 5321 4.2), each line at
 * most max_line octets with its line end, one reply at most max_reply.
 * A smarthost that talks out of turn (bytes after a reply before the next
 * command was sent, e.g. plaintext injected after the 220 to STARTTLS) fails
 * the handshake.
 *
 * The password is held only until AUTH is sent and is wiped from memory
 * afterwards (and in sh_free); it never appears in sh_error texts.
 */
#ifndef SUBGATE_SMARTHOST_H
#define SUBGATE_SMARTHOST_H

#include <stddef.h>

enum sh_starttls {
	SH_TLS_REQUIRE,		/* no STARTTLS or no TLS: fail */
	SH_TLS_OPPORTUNISTIC,	/* STARTTLS not offered or refused: go on in clear */
	SH_TLS_OFF		/* never STARTTLS */
};

struct sh_params {
	const char *helo;		/* EHLO argument (the gateway's name) */
	enum sh_starttls starttls;
	const char *user;		/* NULL or "": no AUTH */
	const char *password;		/* copied by sh_new */
	size_t max_line;		/* reply line, octets incl. CRLF */
	size_t max_reply;		/* one multi-line reply, octets */
	int xclient;			/* 1: XCLIENT when offered */
	const char *client_addr;	/* the subscriber's address, text */
	unsigned client_port;
	const char *dest_addr;		/* the address it dialled; NULL: none */
	unsigned dest_port;
};

enum sh_xclient {
	SH_XCLIENT_NONE,	/* not offered (or off) */
	SH_XCLIENT_SENT,	/* accepted */
	SH_XCLIENT_REFUSED	/* offered, then refused: sh_error() says how */
};

enum sh_state {
	SH_WAIT,	/* awaiting a reply: feed bytes */
	SH_TLS,		/* STARTTLS accepted: run the TLS handshake over the
			 * connection, then call sh_tls_ready() */
	SH_DONE,	/* relay from here; sh_greeting() for the subscriber */
	SH_FAIL		/* give up: sh_error(), sh_reason() */
};

struct sh;

struct sh *sh_new(const struct sh_params *p);
/* sh_free - wipes the credentials. NULL is fine. */
void sh_free(struct sh *h);

/* sh_feed - plaintext bytes from the smarthost; returns the state after
 * them. Bytes fed in SH_TLS, SH_DONE or SH_FAIL make the state SH_FAIL. */
enum sh_state sh_feed(struct sh *h, const void *p, size_t n);
/* sh_tls_ready - the TLS handshake succeeded: EHLO again (RFC 3207 4.2:
 * forget what was learnt in the clear). Returns the state. */
enum sh_state sh_tls_ready(struct sh *h);
/* sh_fail - the glue gives up (TLS handshake failed, timeout, EOF); reason
 * and text as for sh_error. Returns SH_FAIL. */
enum sh_state sh_fail(struct sh *h, const char *reason, const char *text);
enum sh_state sh_state(const struct sh *h);

/* sh_output - bytes to send to the smarthost now (through TLS once it is
 * up), *n of them; sh_output_done() after they are handed to the socket
 * (the buffer is wiped: it may hold a credential). */
const char *sh_output(const struct sh *h, size_t *n);
void sh_output_done(struct sh *h);

/* sh_greeting - SH_DONE: the smarthost's greeting reply, every line with
 * its line end, to be fed to the SMTP core as the upstream's greeting. */
const char *sh_greeting(const struct sh *h, size_t *n);
/* sh_xclient - SH_DONE: whether the relay took the subscriber's XCLIENT. */
enum sh_xclient sh_xclient(const struct sh *h);
/* sh_tls_used - 1 if the session with the smarthost is under TLS. */
int sh_tls_used(const struct sh *h);
/* sh_auth_mech - "PLAIN", "LOGIN" after a successful AUTH, else "". */
const char *sh_auth_mech(const struct sh *h);

/* sh_reason - SH_FAIL: a short token for the record ("smarthost_tls",
 * "smarthost_auth", ...; at most 31 characters). */
const char *sh_reason(const struct sh *h);
/* sh_reply - SH_FAIL: the subscriber's answer instead of a greeting, one
 * line without CRLF: "421 4.4.1 ..." (RFC 3463 4.4.1: no answer from host;
 * 4.7.0 where the relay refused the gateway's credentials). */
const char *sh_reply(const struct sh *h);
/* sh_error - SH_FAIL: what went wrong, for the log (also the refusal of
 * SH_XCLIENT_REFUSED); may quote the smarthost's reply (raw: escape before
 * logging). */
const char *sh_error(const struct sh *h);
/* sh_step - the step in progress, for logs: "greeting", "ehlo", "starttls",
 * "ehlo_tls", "auth", "auth_user", "auth_pass", "xclient", "done". */
const char *sh_step(const struct sh *h);

#endif
