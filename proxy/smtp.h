/*
 * smtp.h - the SMTP relay core: a sans-I/O state machine that sits between a
 * subscriber (the client) and the server the subscriber dialled (upstream).
 *
 * The glue feeds it the bytes each side sent (smtp_feed_client,
 * smtp_feed_upstream); the core answers through two callbacks: send() with
 * bytes for one side (forwarded bytes point into the caller's input and are
 * valid only during the call: relay.c gathers them per side and writes
 * them once the core returns) and event() for everything else
 * (policy questions, finished transactions, the switch to an opaque tunnel,
 * the end of the session). It never touches a socket, a timer or the loop:
 * unit tests and fuzzers drive it directly.
 *
 * What it keeps track of:
 *   - commands and replies line by line, both bounded (smtp_conf);
 *   - PIPELINING (RFC 2920): a queue of commands awaiting a reply; an answer
 *     the gateway gives itself waits its turn, so replies reach the client in
 *     command order;
 *   - DATA (dot-stuffing; bare CR/LF normalised to CRLF or refused, so the
 *     gateway and upstream always agree where a message ends), BDAT (RFC
 *     3030), AUTH with 334 continuations (RFC 4954), STARTTLS (RFC 3207:
 *     after 220 the session is an opaque tunnel; plaintext pipelined after
 *     STARTTLS is dropped);
 *   - mode-changing commands (DATA, AUTH, STARTTLS, BDAT syntax aside) are
 *     sync points: client bytes after them are held, unparsed, until the
 *     upstream's reply says how to read them;
 *   - per transaction: MAIL FROM, recipients, Message-ID, size, final reply;
 *     a transaction ends only on the upstream's reply (RSET/EHLO/HELO 2xx,
 *     the final reply to the data), never on a command alone;
 *   - a line no two servers would read alike (a control byte other than
 *     HT, white space before the verb) is refused by the core (500).
 *
 * Bytes forwarded equal bytes received, except: a line the gateway answers
 * itself is not forwarded; a bare CR or LF in DATA is forwarded as CRLF
 * (BARE_NORMALIZE); a command line ending in a bare LF is forwarded with CRLF.
 */
#ifndef SUBGATE_SMTP_H
#define SUBGATE_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum smtp_side { SMTP_CLIENT, SMTP_UPSTREAM };

/* Session classes (docs/design.md "Classify"). */
enum smtp_class {
	SMTP_CLASS_MX,		/* no successful AUTH seen */
	SMTP_CLASS_SUBMISSION,	/* AUTH answered 235 in the clear */
	SMTP_CLASS_TLS,		/* STARTTLS answered 220: opaque from here */
	SMTP_CLASS_BLOCKED	/* refused by policy */
};
const char *smtp_class_name(enum smtp_class c);

/* Where the policy is asked (docs/design.md "Decide"). SMTP_AT_CONNECT is asked
 * by the glue before it connects upstream; the core asks the others.
 * SMTP_AT_STARTTLS only after smtp_ask_starttls(s, 1). */
enum smtp_point { SMTP_AT_CONNECT, SMTP_AT_MAIL, SMTP_AT_RCPT, SMTP_AT_DATA_END,
	SMTP_AT_STARTTLS };
const char *smtp_point_name(enum smtp_point p);

/* smtp_reply_line - one reply line without its CRLF, by RFC 5321 4.2:
 * "ddd" (200..599) then SP, "-" or the end of the line. Returns the code
 * and sets *last (the line ends the reply), or 0 when the line is not a
 * reply line. The relay core and the smarthost client both read with it. */
int smtp_reply_line(const char *p, size_t clen, int *last);

enum smtp_verdict_kind {
	SMTP_PASS,		/* forward the command */
	SMTP_REFUSE,		/* answer with reply, forward nothing, go on */
	SMTP_REFUSE_CLOSE,	/* answer with reply, then end the session */
	SMTP_REDIRECT		/* SMTP_AT_CONNECT only: relay to the operator's
				 * smarthost (smarthost.h); elsewhere the core
				 * treats it as SMTP_REFUSE with reply */
};

struct smtp_verdict {
	enum smtp_verdict_kind kind;
	/* For SMTP_REFUSE*: one complete reply without CRLF, e.g.
	 * "452 4.5.3 Too many recipients, try again in 60 s". Multi-line
	 * replies are not needed by any policy; the core adds CRLF. */
	const char *reply;
	const char *why;	/* short reason for the record, e.g. "limit:rcpt" */
};

/* A finished (or abandoned) mail transaction. Strings are NUL-terminated,
 * bounded and raw (not escaped): escape them where they are written. They
 * are valid only during the event callback. */
struct smtp_txn {
	unsigned seq;			/* 1, 2, ... within the session */
	int64_t start_ms;		/* MAIL sent */
	int64_t end_ms;
	const char *mail_from;		/* reverse-path without <>, "" for null */
	const char **rcpts;		/* accepted recipients, at most max_recipients_kept */
	size_t nrcpts_kept;
	size_t nrcpts_accepted;		/* RCPTs the upstream answered 2xx */
	size_t nrcpts_refused;		/* RCPTs refused by upstream or policy */
	const char *message_id;		/* "" when none seen */
	uint64_t size;			/* message octets as forwarded, without the final "." line */
	int data_reply_code;		/* final reply to the data, 0 if none */
	const char *data_reply;		/* its last line, e.g. "250 2.0.0 Ok: queued as 4Xyz" */
	const char *queue_id;		/* parsed from data_reply when it says "queued as X", else "" */
	const char *outcome;		/* "accepted", "rejected", "aborted", "refused_by_policy" */
};

enum smtp_event_kind {
	SMTP_EV_DECIDE,		/* policy question: answer with smtp_decide() */
	SMTP_EV_TXN,		/* a transaction ended: txn is set */
	SMTP_EV_AUTH,		/* AUTH answered 235: class is now submission */
	SMTP_EV_TUNNEL,		/* STARTTLS answered 220: everything already
				 * sent, switch both sides to an opaque tunnel */
	SMTP_EV_CLOSE		/* end the session once pending output is written */
};

struct smtp_event {
	enum smtp_event_kind kind;
	/* SMTP_EV_DECIDE */
	enum smtp_point point;
	const char *arg;		/* MAIL: reverse-path; RCPT: forward-path; else "" */
	const struct smtp_txn *txn;	/* DECIDE (current txn so far) and TXN */
	/* SMTP_EV_CLOSE */
	const char *reason;		/* "quit", "client_eof", "upstream_eof",
					 * "protocol_error", "too_many_errors",
					 * "bare_newline", "policy", "upstream_protocol",
					 * "upstream_421" (the upstream said 421),
					 * "shutdown" (smtp_shutdown) */
};

struct smtp_io {
	/* send - bytes for one side. p may point into the caller's input
	 * buffer: copy it if it cannot be written before returning. */
	void (*send)(void *ctx, enum smtp_side to, const void *p, size_t n);
	void (*event)(void *ctx, const struct smtp_event *ev);
	/* now_ms - the clock for txn start_ms/end_ms (the core reads no
	 * clock itself, so tests are deterministic); NULL: times are 0. */
	int64_t (*now_ms)(void *ctx);
};

struct smtp_session;

/* smtp_new - a session; the upstream's greeting is the first reply awaited. */
struct smtp_session *smtp_new(const struct smtp_conf *conf,
    const struct smtp_io *io, void *ctx);
void smtp_free(struct smtp_session *s);

/* smtp_feed_client, smtp_feed_upstream - bytes a side sent. Return 0, or
 * SG_ECLOSED once the session has ended (nothing more is accepted). */
int smtp_feed_client(struct smtp_session *s, const void *buf, size_t len);
int smtp_feed_upstream(struct smtp_session *s, const void *buf, size_t len);

/* smtp_eof - a side closed its write half (or the connection). Ends the
 * transaction in progress as "aborted" and emits SMTP_EV_CLOSE. */
void smtp_eof(struct smtp_session *s, enum smtp_side from);

/* smtp_decide - the answer to the pending SMTP_EV_DECIDE. May be called from
 * inside the event callback (synchronous policy) or later (asynchronous):
 * processing of held client input resumes either way. */
void smtp_decide(struct smtp_session *s, const struct smtp_verdict *v);

/* smtp_ask_starttls - on: put STARTTLS to the policy (SMTP_AT_STARTTLS,
 * txn NULL) before forwarding it. A refusal is the gateway's own reply (RFC
 * 3207 4: e.g. "454 4.7.0 TLS not available due to local policy") and the
 * session goes on in the clear. Off by default. */
void smtp_ask_starttls(struct smtp_session *s, int on);

/* smtp_refuse_cleartext_auth - on: AUTH is answered "538 5.7.11" by the
 * core and never forwarded (RFC 4954 4: the session is in the clear until
 * STARTTLS, after which the core is out of the way). Off by default. */
void smtp_refuse_cleartext_auth(struct smtp_session *s, int on);

/* smtp_shutdown - the gateway answers the client by itself and ends the
 * session (e.g. "421 4.3.2 Service shutting down"), respecting reply order. */
void smtp_shutdown(struct smtp_session *s, const char *reply);

/* smtp_want_client - 0 while client input would only be held (waiting for a
 * reply to DATA/AUTH/STARTTLS or for a decision) and the held buffer is at
 * its bound: the glue stops reading the client until it turns 1 again.
 * Check it after every smtp_* call. One feed may take the held bytes past
 * max_held; a feed while it is 0 ends the session ("protocol_error"). */
int smtp_want_client(const struct smtp_session *s);

/* Which timeout applies now, in ms (from smtp_conf.timeouts): the upstream's
 * reply to the oldest command awaiting one, else the client's next input. */
enum smtp_wait { SMTP_WAIT_UPSTREAM, SMTP_WAIT_CLIENT };
uint32_t smtp_timeout(const struct smtp_session *s, enum smtp_wait *who);

/* Session facts for the record. */
struct smtp_info {
	enum smtp_class cls;
	const char *greeting_host;	/* first word of the upstream's 220, "" if none */
	const char *ehlo;		/* last EHLO/HELO argument, "" if none */
	const char *auth_mech;		/* "" if no AUTH succeeded */
	const char *auth_user;		/* authcid from PLAIN/LOGIN, "" if unknown; never a secret */
	unsigned ntxn;
	unsigned ncommands;
	unsigned nerrors;		/* error replies (4xx/5xx) seen by the client */
	uint64_t dropped_after_starttls;	/* plaintext pipelined after STARTTLS, dropped */
	uint64_t normalized_newlines;	/* bare CR/LF turned into CRLF */
};
void smtp_get_info(const struct smtp_session *s, struct smtp_info *out);

/* smtp__heap_bytes - heap the session holds now (tests: an idle session
 * must stay well under 1 KiB). */
size_t smtp__heap_bytes(const struct smtp_session *s);

#endif
