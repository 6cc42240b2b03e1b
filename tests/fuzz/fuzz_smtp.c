/*
 * fuzz_smtp.c - libFuzzer harness for the SMTP relay core (proxy/smtp.c).
 *
 * Input: one option byte, then chunks. Options: bit 0 BARE_REJECT, bit 1
 * verdicts answered only by an explicit chunk (asynchronous policy), bit 2
 * tiny limits, bit 3 refuse at end of data. A chunk starts with a byte h:
 * side = h & 1 (0 client, 1 upstream), op = h >> 1 & 7:
 *   0-3  feed the next (1-byte length) bytes from that side; client
 *        bytes are skipped while smtp_want_client() is 0, except by op 3
 *   4    feed the next (2-byte little-endian length) bytes
 *   5    EOF from that side
 *   6    answer the pending verdict (pass from client side, refuse else)
 *   7    client side: smtp_shutdown; upstream side: the read-only calls
 * Every piece is fed from an exact-size heap copy freed right after.
 *
 * Checked: nothing is sent or emitted after SMTP_EV_CLOSE/TUNNEL, feeds
 * say SG_ECLOSED exactly then, one verdict is awaited at a time, what goes
 * to each side is bounded by what came from the other plus the gateway's
 * own short replies, and every string the core hands out is terminated.
 * Charging: a transaction the upstream answered at its end of data
 * ("accepted" or "rejected") was put to the end-of-data decision, and the
 * octets that decision was charged equal the octets forwarded (the
 * record's size, counted where content goes upstream): a message cannot
 * be delivered bigger than it was charged (BDAT n LAST, early replies).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "fuzz.h"
#include "smtp.h"
#include "../smtp_harness.h"

struct fz {
	struct smtp_session *s;
	int async, refuse_data, ended, pending;
	enum smtp_point point;
	char arg[300];
	uint64_t out[2], in[2], lf_client;
	unsigned ndecide;
	/* end-of-data decisions not yet matched by their SMTP_EV_TXN */
	unsigned charged_seq[16];
	uint64_t charged[16];
};

static void
fz_send(void *ctx, enum smtp_side to, const void *p, size_t n)
{
	struct fz *f = ctx;
	volatile unsigned char sink = 0;
	size_t i;

	CHECK(!f->ended);
	CHECK(n > 0);
	CHECK(to == SMTP_CLIENT || to == SMTP_UPSTREAM);
	for (i = 0; i < n; i++)
		sink ^= ((const unsigned char *)p)[i];
	(void)sink;
	f->out[to] += n;
}

static void
answer(struct fz *f, int refuse)
{
	struct smtp_verdict v = { SMTP_PASS, NULL, "pass" };

	f->pending = 0;
	if (refuse == 1 || (f->point == SMTP_AT_RCPT && strchr(f->arg, 'x'))) {
		v.kind = SMTP_REFUSE;
		v.reply = "452 4.5.3 Too many recipients";
	} else if (refuse == 2 || (f->point == SMTP_AT_RCPT && strchr(f->arg, 'z'))) {
		v.kind = SMTP_REFUSE_CLOSE;
		v.reply = "421 4.7.0 Go away";
	} else if (f->point == SMTP_AT_DATA_END && f->refuse_data) {
		v.kind = SMTP_REFUSE;
		v.reply = "bogus reply without a code";
	}
	smtp_decide(f->s, &v);
}

static void
check_txn(const struct smtp_txn *t)
{
	size_t i;

	CHECK(t != NULL);
	CHECK(strlen(t->mail_from) <= 256);
	CHECK(strlen(t->message_id) <= 998);
	CHECK(strlen(t->data_reply) <= 512);
	CHECK(strlen(t->queue_id) <= 64);
	CHECK(t->nrcpts_kept <= t->nrcpts_accepted);
	for (i = 0; i < t->nrcpts_kept; i++)
		CHECK(strlen(t->rcpts[i]) <= 256);
}

/* charge_check - the transaction t ended: if the upstream answered its
 * data, the decision charged exactly the octets forwarded. */
static void
charge_check(struct fz *f, const struct smtp_txn *t)
{
	unsigned k = t->seq % 16;
	int decided = t->seq != 0 && f->charged_seq[k] == t->seq;

	if (strcmp(t->outcome, "accepted") == 0 ||
	    strcmp(t->outcome, "rejected") == 0) {
		CHECK(decided);
		CHECK(f->charged[k] == t->size);
	}
	if (decided)
		f->charged_seq[k] = 0;
}

static void
fz_event(void *ctx, const struct smtp_event *ev)
{
	struct fz *f = ctx;

	CHECK(smtp_event_fault(ev, &f->ended, &f->pending) == NULL);
	switch (ev->kind) {
	case SMTP_EV_DECIDE:
		CHECK(ev->arg != NULL && strlen(ev->arg) <= 256);
		CHECK(ev->point != SMTP_AT_CONNECT);
		if (ev->txn != NULL)
			check_txn(ev->txn);
		if (ev->point == SMTP_AT_DATA_END && ev->txn != NULL &&
		    ev->txn->seq != 0) {
			f->charged_seq[ev->txn->seq % 16] = ev->txn->seq;
			f->charged[ev->txn->seq % 16] = ev->txn->size;
		}
		f->point = ev->point;
		snprintf(f->arg, sizeof(f->arg), "%s", ev->arg);
		f->ndecide++;
		if (!f->async)
			answer(f, 0);
		break;
	case SMTP_EV_TXN:
		check_txn(ev->txn);
		CHECK(ev->txn->outcome != NULL);
		charge_check(f, ev->txn);
		break;
	default:
		break;
	}
}

static const struct smtp_io fz_io = { fz_send, fz_event, NULL };

static void
feed(struct fz *f, int side, const uint8_t *p, size_t n)
{
	int was_ended = f->ended, rc;
	size_t i;

	rc = smtp_feed_copy(f->s, side ? SMTP_UPSTREAM : SMTP_CLIENT, p, n);
	if (side == 0)
		for (i = 0; i < n; i++)
			f->lf_client += p[i] == '\n';
	CHECK(rc == 0 || rc == SG_ECLOSED);
	CHECK((rc == SG_ECLOSED) == was_ended);
	if (!was_ended)
		f->in[side] += n;
}

static void
queries(struct fz *f)
{
	struct smtp_info info;
	enum smtp_wait who;

	(void)smtp_timeout(f->s, &who);
	CHECK(who == SMTP_WAIT_CLIENT || who == SMTP_WAIT_UPSTREAM);
	(void)smtp_want_client(f->s);
	smtp_get_info(f->s, &info);
	CHECK(strlen(info.greeting_host) <= 255);
	CHECK(strlen(info.ehlo) <= 255);
	CHECK(strlen(info.auth_mech) <= 32);
	CHECK(strlen(info.auth_user) <= 255);
	if (!f->pending)
		smtp_decide(f->s, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_conf conf;
	struct fz f;
	size_t i = 1, n;
	uint8_t opt, h;
	int side, op;

	if (size < 1)
		return 0;
	opt = data[0];
	memset(&conf, 0, sizeof(conf));
	conf.max_line = 512;
	conf.max_auth_line = 1024;
	conf.max_reply = 2048;
	conf.max_pipeline = 8;
	conf.max_held = 4096;
	conf.max_errors = 20;
	conf.max_recipients_kept = 3;
	conf.bare_newline = opt & 1 ? BARE_REJECT : BARE_NORMALIZE;
	if (opt & 4) {
		conf.max_line = 24;
		conf.max_auth_line = 40;
		conf.max_reply = 60;
		conf.max_pipeline = 2;
		conf.max_held = 48;
		conf.max_errors = 3;
		conf.max_recipients_kept = 1;
	}
	memset(&f, 0, sizeof(f));
	f.async = (opt & 2) != 0;
	f.refuse_data = (opt & 8) != 0;
	f.s = smtp_new(&conf, &fz_io, &f);

	while (i < size) {
		h = data[i++];
		side = h & 1;
		op = (h >> 1) & 7;
		switch (op) {
		case 0:
		case 1:
		case 2:
		case 3:
		case 4:
			if (op < 4) {
				if (i >= size)
					goto out;
				n = data[i++];
			} else {
				if (i + 1 >= size)
					goto out;
				n = (size_t)data[i] | (size_t)data[i + 1] << 8;
				i += 2;
			}
			if (n > size - i)
				n = size - i;
			/* a glue that honours smtp_want_client(), except op 3 */
			if (side == 0 && op != 3 && !f.ended &&
			    !smtp_want_client(f.s)) {
				i += n;
				break;
			}
			feed(&f, side, data + i, n);
			i += n;
			break;
		case 5:
			smtp_eof(f.s, side ? SMTP_UPSTREAM : SMTP_CLIENT);
			break;
		case 6:
			if (f.pending && !f.ended)
				answer(&f, side ? 1 + (h >> 4 & 1) : 0);
			break;
		case 7:
			if (side == 0)
				smtp_shutdown(f.s, h & 0x10 ? NULL :
				    "421 4.3.2 Shutting down");
			else
				queries(&f);
			break;
		}
	}
out:
	queries(&f);
	/* Forwarded bytes: a bare LF or a "." line's LF may gain a CR, an
	 * unforwardable AUTH line becomes "*" CRLF. */
	CHECK(f.out[SMTP_UPSTREAM] <= 2 * f.in[SMTP_CLIENT] + 3);
	/* At most one local reply per client line (or over-long piece),
	 * plus the final 421 and a shutdown reply. */
	CHECK(f.out[SMTP_CLIENT] <= f.in[SMTP_UPSTREAM] +
	    100 * (f.lf_client + f.in[SMTP_CLIENT] / 16 + 4));
	smtp_free(f.s);
	return 0;
}
