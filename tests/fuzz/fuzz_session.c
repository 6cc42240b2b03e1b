/*
 * fuzz_session.c - libFuzzer harness for a whole relayed session without
 * sockets: a client whose bytes come from the input, the SMTP core
 * (proxy/smtp.c), and a model upstream MTA that reads what the core
 * forwards as a strict RFC 5321/3030/4954 server would and answers.
 *
 * Input: ops from the front, choices from the back (read backwards; when
 * they meet every choice is 0 = "accept"). An op byte h: h & 7 =
 *   0-2  the client sends the next (1 + h >> 3) * 4 input bytes (at most)
 *   3    the client sends a canned line (h >> 3 picks it)
 *   4    the upstream delivers its next reply, whole
 *   5    the upstream delivers its next reply split at (h >> 3) octets
 *   6    answer a pending policy question (h >> 3: pass, refuse, close)
 *   7    EOF from the client (h & 8) or the upstream
 * Choices decide the model's answers (accept or refuse each command) and
 * whether policy questions are answered at once.
 *
 * Every reply the model writes carries a tag "r<n>" (n increasing) after
 * its code. Checked: tagged replies reach the client in the order the
 * upstream gave them, each once; every message the upstream accepted
 * (250 to the end of DATA or to BDAT LAST) and whose reply the core read
 * produces exactly one SMTP_EV_TXN "accepted" carrying that reply, and no
 * other transaction is reported accepted; nothing happens after the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "smtp.h"
#include "fuzz.h"
#include "../smtp_harness.h"

#define MAXREPLIES 256
#define LINE_MAX_ 1100

/* One reply the model wrote; accepted: a 250 to the end of a message. */
struct reply {
	char text[400];
	size_t len;
	unsigned tag;
	int accepted;
};

enum mmode { MM_CMD, MM_DATA, MM_BDAT, MM_AUTH, MM_GONE };

struct model {
	enum mmode mode;
	char line[LINE_MAX_];
	size_t llen;
	int overlong;
	int mail, rcpts, bdat_last, bdat_bad;
	uint64_t bdat_left;
	struct reply q[MAXREPLIES];
	size_t head, tail;	/* q[head..tail) not yet delivered */
	unsigned next_tag;
	int close_after;	/* tag after which the model hangs up */
};

struct fz {
	struct smtp_session *s;
	struct model m;
	const uint8_t *choice, *floor;	/* read backwards down to floor */
	int ended, pending;
	unsigned accepted_read;		/* accepted replies the core read */
	unsigned accepted_txn;		/* SMTP_EV_TXN "accepted" */
	unsigned last_tag_seen;		/* on the client's side */
	char cline[LINE_MAX_];		/* client-bound line being assembled */
	size_t clen;
	unsigned awaiting_tag[MAXREPLIES];	/* accepted tags read, FIFO */
	size_t aw_head, aw_tail;
};

static unsigned
choose(struct fz *f, unsigned n)
{
	if (f->choice <= f->floor)
		return 0;
	return *--f->choice % n;
}

/* reply - queue one reply line (or lines: text may hold "\r\n250-..."). */
static void
reply(struct fz *f, int code, const char *text, int accepted)
{
	struct model *m = &f->m;
	struct reply *r;

	if (m->tail - m->head >= MAXREPLIES || m->mode == MM_GONE)
		return;
	r = &m->q[m->tail++ % MAXREPLIES];
	r->tag = ++m->next_tag;
	r->accepted = accepted;
	r->len = (size_t)snprintf(r->text, sizeof(r->text), "%d%cr%u %s\r\n",
	    code, strchr(text, '\n') ? '-' : ' ', r->tag, text);
}

static void
txn_reset(struct model *m)
{
	m->mail = m->rcpts = 0;
}

static int
is_verb(const char *l, size_t n, const char *v)
{
	size_t k = strlen(v);

	return n >= k && strncasecmp(l, v, k) == 0 && (n == k || l[k] == ' ');
}

/* bdat - "BDAT" SP 1*DIGIT [SP "LAST"] (RFC 3030 2), nothing else. */
static int
bdat(const char *l, size_t n, uint64_t *size, int *last)
{
	size_t i = 5;

	if (n < 6 || strncasecmp(l, "BDAT ", 5) != 0)
		return -1;
	*size = 0;
	for (; i < n && l[i] >= '0' && l[i] <= '9'; i++) {
		if (*size > 100000000)
			return -1;
		*size = *size * 10 + (uint64_t)(l[i] - '0');
	}
	if (i == 5)
		return -1;
	*last = 0;
	if (i == n)
		return 0;
	if (n - i == 5 && strncasecmp(l + i, " LAST", 5) == 0) {
		*last = 1;
		return 0;
	}
	return -1;
}

/* command - one command line (without CRLF) read by the model. */
static void
command(struct fz *f, const char *l, size_t n)
{
	struct model *m = &f->m;
	uint64_t size;
	int last;

	if (is_verb(l, n, "EHLO") && n > 5) {
		if (choose(f, 4) == 3)
			reply(f, 550, "no", 0);
		else {
			txn_reset(m);
			reply(f, 250, "hi\r\n250-PIPELINING\r\n250-CHUNKING\r\n"
			    "250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n"
			    "250 STARTTLS", 0);
		}
	} else if (is_verb(l, n, "HELO") && n > 5) {
		txn_reset(m);
		reply(f, 250, "hi", 0);
	} else if (is_verb(l, n, "MAIL") && n > 10 &&
	    strncasecmp(l, "MAIL FROM:", 10) == 0) {
		if (m->mail)
			reply(f, 503, "nested MAIL", 0);
		else if (choose(f, 4) == 3)
			reply(f, 550, "sender refused", 0);
		else {
			m->mail = 1;
			reply(f, 250, "sender ok", 0);
		}
	} else if (is_verb(l, n, "RCPT") && n > 8 &&
	    strncasecmp(l, "RCPT TO:", 8) == 0) {
		if (!m->mail)
			reply(f, 503, "need MAIL", 0);
		else if (choose(f, 3) == 2)
			reply(f, 550, "no such user", 0);
		else {
			m->rcpts++;
			reply(f, 250, "rcpt ok", 0);
		}
	} else if (n == 4 && strncasecmp(l, "DATA", 4) == 0) {
		if (!m->mail || m->rcpts == 0)
			reply(f, 503, "need RCPT", 0);
		else if (choose(f, 4) == 3)
			reply(f, 451, "not now", 0);
		else {
			m->mode = MM_DATA;
			reply(f, 354, "go ahead", 0);
		}
	} else if (bdat(l, n, &size, &last) == 0) {
		m->bdat_left = size;
		m->bdat_last = last;
		m->bdat_bad = !m->mail || m->rcpts == 0;
		m->mode = MM_BDAT;
	} else if (n == 4 && strncasecmp(l, "RSET", 4) == 0) {
		txn_reset(m);
		reply(f, 250, "reset", 0);
	} else if (n == 4 && strncasecmp(l, "NOOP", 4) == 0) {
		reply(f, 250, "ok", 0);
	} else if (n == 4 && strncasecmp(l, "QUIT", 4) == 0) {
		reply(f, 221, "bye", 0);
		f->m.close_after = (int)f->m.next_tag;
		m->mode = MM_GONE;
	} else if (n == 8 && strncasecmp(l, "STARTTLS", 8) == 0) {
		reply(f, 454, "TLS not available", 0);
	} else if (is_verb(l, n, "AUTH") && n > 5) {
		if (strchr(l + 5, ' ') == NULL && choose(f, 2) == 0) {
			m->mode = MM_AUTH;
			reply(f, 334, "", 0);
		} else
			reply(f, choose(f, 2) ? 535 : 235, "auth", 0);
	} else {
		reply(f, 500, "unrecognized", 0);
	}
}

/* message_end - the end of a message (DATA or BDAT LAST). */
static void
message_end(struct fz *f)
{
	struct model *m = &f->m;

	if (choose(f, 4) == 3)
		reply(f, 554, "rejected", 0);
	else
		reply(f, 250, "queued as Q", 1);
	txn_reset(m);
}

/* bdat_done - a BDAT chunk read whole. Whatever the answer to the LAST
 * one, the transaction is over (RFC 5321 4.1.1.4 for the end of data; RFC
 * 3030 leaves it open, and the core ends its record there too). */
static void
bdat_done(struct fz *f)
{
	struct model *m = &f->m;

	m->mode = MM_CMD;
	if (m->bdat_bad)
		reply(f, 503, "need RCPT", 0);
	else if (m->bdat_last)
		message_end(f);
	else
		reply(f, 250, "chunk ok", 0);
	if (m->bdat_last)
		txn_reset(m);
}

/* model_read - bytes the core sent upstream. */
static void
model_read(struct fz *f, const uint8_t *p, size_t n)
{
	struct model *m = &f->m;
	size_t l;

	for (size_t i = 0; i < n && m->mode != MM_GONE; i++) {
		if (m->mode == MM_BDAT) {
			if (--m->bdat_left == 0)
				bdat_done(f);
			continue;
		}
		if (p[i] != '\n') {
			if (m->llen < sizeof(m->line))
				m->line[m->llen++] = (char)p[i];
			else
				m->overlong = 1;
			continue;
		}
		/* a line: LF ends it, a CR before it is not part of it */
		l = m->llen;
		if (l > 0 && m->line[l - 1] == '\r')
			l--;
		m->llen = 0;
		if (m->overlong) {
			m->overlong = 0;
			if (m->mode != MM_DATA)
				reply(f, 500, "line too long", 0);
			continue;
		}
		if (m->mode == MM_DATA) {
			if (l == 1 && m->line[0] == '.') {
				m->mode = MM_CMD;
				message_end(f);
			}
		} else if (m->mode == MM_AUTH) {
			m->mode = MM_CMD;
			reply(f, l == 1 && m->line[0] == '*' ? 501 :
			    choose(f, 2) ? 535 : 235, "auth", 0);
		} else {
			command(f, m->line, l);
			if (m->mode == MM_BDAT && m->bdat_left == 0)
				bdat_done(f);
		}
	}
}

/* client_line - a complete line sent to the client: tags in order. */
static void
client_line(struct fz *f, const char *l, size_t n)
{
	unsigned tag;
	char c;

	if (n >= 6 && l[4] == 'r' &&
	    sscanf(l + 4, "r%u%c", &tag, &c) == 2 && c == ' ') {
		CHECK(tag > f->last_tag_seen);
		f->last_tag_seen = tag;
	}
}

static void
fz_send(void *ctx, enum smtp_side to, const void *p, size_t n)
{
	struct fz *f = ctx;
	const char *c = p;

	CHECK(!f->ended);
	if (to == SMTP_UPSTREAM) {
		model_read(f, p, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (c[i] == '\n') {
			client_line(f, f->cline, f->clen);
			f->clen = 0;
		} else if (f->clen < sizeof(f->cline))
			f->cline[f->clen++] = c[i];
	}
}

static void
answer(struct fz *f, unsigned how)
{
	struct smtp_verdict v = { SMTP_PASS, NULL, "pass" };

	f->pending = 0;
	if (how == 1) {
		v.kind = SMTP_REFUSE;
		v.reply = "550 5.7.1 refused by policy";
	} else if (how == 2) {
		v.kind = SMTP_REFUSE_CLOSE;
		v.reply = "421 4.7.0 go away";
	}
	smtp_decide(f->s, &v);
}

static void
fz_event(void *ctx, const struct smtp_event *ev)
{
	struct fz *f = ctx;

	CHECK(smtp_event_fault(ev, &f->ended, &f->pending) == NULL);
	switch (ev->kind) {
	case SMTP_EV_DECIDE:
		if (choose(f, 2) == 0)
			answer(f, choose(f, 8) == 7 ? 1 : 0);
		break;
	case SMTP_EV_TXN:
		if (strcmp(ev->txn->outcome, "accepted") == 0) {
			unsigned tag = 0;

			/* the oldest accepted reply read and not yet reported */
			CHECK(f->aw_head < f->aw_tail);
			CHECK(ev->txn->data_reply_code == 250);
			CHECK(sscanf(ev->txn->data_reply, "250 r%u", &tag) == 1);
			CHECK(tag == f->awaiting_tag[f->aw_head++ % MAXREPLIES]);
			f->accepted_txn++;
		}
		break;
	default:
		break;
	}
}

static const struct smtp_io fz_io = { fz_send, fz_event, NULL };

/* deliver - the model's next reply to the core, in one or two pieces. */
static void
deliver(struct fz *f, size_t split)
{
	struct model *m = &f->m;
	struct reply *r;
	int was_ended;

	if (m->head == m->tail) {
		if (m->mode == MM_GONE && m->close_after != 0 && !f->ended) {
			smtp_eof(f->s, SMTP_UPSTREAM);
			f->ended = 1;
		}
		return;
	}
	r = &m->q[m->head++ % MAXREPLIES];
	if (split > 0 && split < r->len) {
		was_ended = f->ended;
		CHECK((smtp_feed_upstream(f->s, r->text, split) == SG_ECLOSED) ==
		    was_ended);
	} else
		split = 0;
	was_ended = f->ended;
	/* counted before the feed: the TXN event comes during it */
	if (r->accepted && !was_ended) {
		f->awaiting_tag[f->aw_tail++ % MAXREPLIES] = r->tag;
		f->accepted_read++;
	}
	CHECK((smtp_feed_upstream(f->s, r->text + split, r->len - split) ==
	    SG_ECLOSED) == was_ended);
	/* the core read it: the transaction is reported during the feed */
	if (f->accepted_txn != f->accepted_read) {
		fprintf(stderr, "upstream accepted r%u, no transaction\n",
		    r->tag);
		CHECK(0);
	}
}

static const char *const canned[] = {
	"EHLO c\r\n", "MAIL FROM:<a@b>\r\n", "RCPT TO:<c@d>\r\n", "DATA\r\n",
	"Subject: x\r\n\r\nbody\r\n.\r\n", "BDAT 5 LAST\r\nhello", "BDAT 3\r\nabc",
	"RSET\r\n", "QUIT\r\n", "AUTH PLAIN\r\n", "AUTH PLAIN AGFiAGM=\r\n",
	"NOOP\r\n", "HELO c\r\n", "STARTTLS\r\n", "..\r\n", "\r\n.\r\n",
	"BDAT 0 LAST\r\n", "rset x\r\n", "Message-ID: <m@x>\r\n", "*\r\n",
	"mail from:<>\r\n", "rcpt to:<e@f>\r\n", "data\r\n", "EHLO\r\n",
	"\n.\n", "\r.\r\n", "BDAT 2\r\n\r\n", "VRFY x\r\n", "\r\n", ".\r\n",
	"X\r\n", "BDAT 1 LAST\r\n.",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_conf conf;
	struct fz *f = calloc(1, sizeof(*f));
	size_t i = 0, n;
	uint8_t h;

	CHECK(f != NULL);
	memset(&conf, 0, sizeof(conf));
	conf.max_line = 1000;
	conf.max_auth_line = 1000;
	conf.max_reply = 4096;
	conf.max_pipeline = 16;
	conf.max_held = 4096;
	conf.max_errors = 20;
	conf.max_recipients_kept = 4;
	conf.bare_newline = BARE_NORMALIZE;
	f->choice = data + size;
	f->floor = data;
	f->s = smtp_new(&conf, &fz_io, f);
	reply(f, 220, "ready", 0);

	while (i < size && data + i < f->choice && !f->ended) {
		h = data[i++];
		switch (h & 7) {
		case 0: case 1: case 2:
			n = (size_t)(1 + (h >> 3)) * 4;
			if (n > (size_t)(f->choice - (data + i)))
				n = (size_t)(f->choice - (data + i));
			if (smtp_want_client(f->s))
				CHECK(smtp_feed_copy(f->s, SMTP_CLIENT, data + i,
				    n) == 0 || f->ended);
			i += n;
			break;
		case 3:
			if (smtp_want_client(f->s)) {
				const char *c = canned[(h >> 3) % (sizeof(canned) /
				    sizeof(canned[0]))];

				CHECK(smtp_feed_client(f->s, c, strlen(c)) == 0 ||
				    f->ended);
			}
			break;
		case 4:
			deliver(f, 0);
			break;
		case 5:
			deliver(f, h >> 3);
			break;
		case 6:
			if (f->pending)
				answer(f, (h >> 3) % 3);
			break;
		case 7:
			smtp_eof(f->s, h & 8 ? SMTP_CLIENT : SMTP_UPSTREAM);
			break;
		}
	}
	/* the rest of the upstream's replies, then the end */
	while (!f->ended && f->m.head != f->m.tail) {
		if (f->pending)
			answer(f, 0);
		deliver(f, 0);
	}
	if (!f->ended)
		smtp_eof(f->s, SMTP_CLIENT);
	CHECK(f->accepted_txn == f->accepted_read);
	smtp_free(f->s);
	free(f);
	return 0;
}
