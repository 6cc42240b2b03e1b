/*
 * redis_uv.c - hiredis 0.14.1 async context <-> libuv, with deadlines,
 * handshake, backoff and Sentinel discovery (see redis_uv.h).
 *
 * One hiredis context at a time per rl_conn. Its uv_poll_t lives in a
 * struct io that hiredis's cleanup hook closes and io_close_cb frees. A poll
 * error (libuv stops the poll and reports status < 0, e.g. the EPOLLERR of a
 * refused connect) is handed to redisAsyncHandleWrite/Read, which reads
 * SO_ERROR or the socket and tears the context down through its own error
 * path, so callbacks fire; if the context survives that, we reset it.
 *
 * Requests: a table keyed by id (hiredis's privdata is the id) plus a list
 * in send order. A record leaves the table only when hiredis calls back for
 * it (with the reply, or NULL while the context is freed); a deadline only
 * marks it timed out and tells the caller.
 */
/* util.h first: sys/param.h (via uv.h) then leaves its MIN/MAX alone. */
#include "util.h"
#include "redis_uv.h"

#include <errno.h>
#include <pthread.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "err.h"
#include "log.h"

enum cstate { C_BACKOFF, C_CONNECTING, C_UP, C_CLOSING };

struct req {
	struct req *hnext;
	struct req *prev, *next;
	uint64_t id;
	uint64_t deadline;
	uint64_t sent;
	rl_conn_cb *cb, *late;
	void *arg;
	unsigned timed_out : 1;
	unsigned notify : 1;
	unsigned setup : 1;
};

struct io {
	uv_poll_t poll;
	struct rl_conn *c;
	redisAsyncContext *ac;
	int events;
	int want_write;		/* output waiting for the check phase */
};

#define TAB_SIZE 1024

struct rl_conn {
	uv_loop_t *loop;
	struct rl_conn_conf conf;
	const struct rl_conn_ops *ops;
	void *arg;
	enum cstate st;

	char **s_host;
	int *s_port;
	size_t si, s_tried;
	char *m_host;
	int m_port;
	int have_master;
	int is_sentinel;
	int resolved;

	redisAsyncContext *ac;
	struct io *io;
	int err;
	int kill_pending;
	int setup_left;
	int failures;
	uint64_t rnd;

	uv_timer_t t_state, t_deadline;
	uv_idle_t t_flush;		/* writes what was queued, before the
					 * loop polls again */
	int flushing;
	int nhandles;

	uint64_t next_id;
	struct req *tab[TAB_SIZE];
	struct req *head, *tail;
	size_t inflight;
	char addr[64];
};

static void attempt(struct rl_conn *c);
static void lost(struct rl_conn *c);
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);
static void state_cb(uv_timer_t *t);

/* Reply bounds (redis_uv.h) ------------------------------------------ */

static redisReplyObjectFunctions bounded_fn;
static void *(*hiredis_array)(const redisReadTask *, int);
static pthread_once_t bounded_once = PTHREAD_ONCE_INIT;

static void *
bounded_array(const redisReadTask *t, int elements)
{
	if (elements < 0 || elements > RL_REPLY_MAX_ELEMENTS)
		return NULL;
	return hiredis_array(t, elements);
}

/* bounded_init - hiredis's own reply functions (static inside hiredis:
 * taken from a reader of its own) with createArray wrapped. */
static void
bounded_init(void)
{
	redisReader *t = redisReaderCreate();

	if (t == NULL)
		abort();
	bounded_fn = *t->fn;
	redisReaderFree(t);
	hiredis_array = bounded_fn.createArray;
	bounded_fn.createArray = bounded_array;
}

void
rl_reader_bound(redisReader *r)
{
	pthread_once(&bounded_once, bounded_init);
	if (r != NULL)
		r->fn = &bounded_fn;
}

int
rl_reader_over(const redisReader *r, size_t max)
{
	return r != NULL && r->len - r->pos > max;
}

/* hiredis_err - a context's error as a negative code. */
static int
hiredis_err(const redisContext *rc)
{
	static const int io_errs[] = { ECONNREFUSED, ECONNRESET, ETIMEDOUT,
		EHOSTUNREACH, ENETUNREACH, EPIPE, EADDRNOTAVAIL };

	switch (rc->err) {
	case 0:
		return -ECONNRESET;
	case REDIS_ERR_IO:
		for (size_t i = 0; i < ARRAY_SIZE(io_errs); i++)
			if (strstr(rc->errstr, strerror(io_errs[i])) != NULL)
				return -io_errs[i];
		return -EIO;
	case REDIS_ERR_EOF:
		return -ECONNRESET;
	case REDIS_ERR_PROTOCOL:
		return SG_EPROTO;
	case REDIS_ERR_OOM:
		return SG_ENOMEM;
	default:
		return -EIO;
	}
}

static uint64_t
rnd(struct rl_conn *c)
{
	c->rnd ^= c->rnd << 13;
	c->rnd ^= c->rnd >> 7;
	c->rnd ^= c->rnd << 17;
	return c->rnd;
}

int
rl__split_hostport(const char *s, char **host, int *port)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	char *end;
	long p;

	if (colon == NULL)
		return SG_EINVAL;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 2 || s[hl - 1] != ']')
			return SG_EINVAL;
		h = s + 1;
		hl -= 2;
	}
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p <= 0 || p > 65535 || hl == 0)
		return SG_EINVAL;
	*host = xstrndup(h, hl);
	*port = (int)p;
	return 0;
}

/* Request table. */

static struct req **
slot(struct rl_conn *c, uint64_t id)
{
	return &c->tab[id & (TAB_SIZE - 1)];
}

static struct req *
req_find(struct rl_conn *c, uint64_t id)
{
	struct req *r;

	for (r = *slot(c, id); r != NULL && r->id != id; r = r->hnext)
		;
	return r;
}

static struct req *
req_new(struct rl_conn *c, rl_conn_cb *cb, rl_conn_cb *late, void *arg)
{
	struct req *r = xcalloc(1, sizeof(*r));
	struct req **s;

	r->id = ++c->next_id;
	r->cb = cb;
	r->late = late;
	r->arg = arg;
	r->sent = uv_now(c->loop);
	s = slot(c, r->id);
	r->hnext = *s;
	*s = r;
	r->prev = c->tail;
	if (c->tail != NULL)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->inflight++;
	return r;
}

static void
req_del(struct rl_conn *c, struct req *r)
{
	struct req **pp;

	for (pp = slot(c, r->id); *pp != r; pp = &(*pp)->hnext)
		;
	*pp = r->hnext;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		c->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		c->tail = r->prev;
	c->inflight--;
	free(r);
}

/* Event hooks called by hiredis; privdata is the struct io. */

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct io *io = h->data;
	redisAsyncContext *ac = io->ac;

	if (ac == NULL)
		return;
	if (status < 0) {
		log_debug("event=redis_poll_error addr=%s err=\"%s\"",
		    io->c->addr, uv_strerror(status));
		if (!(ac->c.flags & REDIS_CONNECTED))
			redisAsyncHandleWrite(ac);
		else
			redisAsyncHandleRead(ac);
		if (io->ac != NULL)
			rl_conn_reset(io->c, status == UV_EBADF ? -ECONNRESET :
			    status);
		return;
	}
	if (events & (UV_READABLE | UV_DISCONNECT)) {
		redisAsyncHandleRead(ac);
		if (io->ac == NULL)
			return;
		if (rl_reader_over(ac->c.reader, io->c->conf.max_reply)) {
			log_warn("event=redis_reply_too_large addr=%s max=%zu",
			    io->c->addr, io->c->conf.max_reply);
			rl_conn_reset(io->c, SG_EPROTO);
			return;
		}
	}
	if (events & UV_WRITABLE)
		redisAsyncHandleWrite(ac);
}

/* io_update - change the poll only when the events change: libuv's
 * uv_poll_start() takes the fd out of epoll and puts it back (two
 * epoll_ctl calls), and hiredis asks for reads after every write. */
static void
io_update(struct io *io, int add, int del)
{
	int ev = (io->events | add) & ~del;

	if (ev == io->events)
		return;
	io->events = ev;
	if (io->events)
		uv_poll_start(&io->poll, io->events, poll_cb);
	else
		uv_poll_stop(&io->poll);
}

static void
ev_add_read(void *p)
{
	io_update(p, UV_READABLE | UV_DISCONNECT, 0);
}

static void
ev_del_read(void *p)
{
	io_update(p, 0, UV_READABLE | UV_DISCONNECT);
}

/*
 * Writes. Connected and not already short of socket buffer, hiredis's
 * output is written from a uv_idle handle: it runs before the loop polls
 * again, and while it is active the poll does not block, so whatever phase
 * queued a command (an I/O callback, a timer, an idle callback), it goes
 * out before the loop can sleep: every command queued since the last flush
 * in one write(2), without a round through epoll for POLLOUT. Only a write
 * that could not finish (or a connect in progress) waits for POLLOUT.
 */
static void
flush_cb(uv_idle_t *h)
{
	struct rl_conn *c = h->data;
	struct io *io = c->io;

	uv_idle_stop(h);
	if (io == NULL || io->ac == NULL || !io->want_write)
		return;
	io->want_write = 0;
	c->flushing = 1;
	redisAsyncHandleWrite(io->ac);	/* may free the context */
	c->flushing = 0;
}

static void
ev_add_write(void *p)
{
	struct io *io = p;

	if (io->ac != NULL && (io->ac->c.flags & REDIS_CONNECTED) &&
	    !io->c->flushing && !(io->events & UV_WRITABLE)) {
		io->want_write = 1;
		uv_idle_start(&io->c->t_flush, flush_cb);
		return;
	}
	io_update(io, UV_WRITABLE, 0);
}

static void
ev_del_write(void *p)
{
	struct io *io = p;

	io->want_write = 0;
	io_update(io, 0, UV_WRITABLE);
}

/* send_cmd - argv as RESP (our own formatting: no printf per argument, no
 * allocation below 8 KiB) appended to hiredis's output. */
static int
send_cmd(struct rl_conn *c, struct req *r, int argc, const char **argv,
    const size_t *len)
{
	char stack[8192], *buf = stack;
	size_t n = rl_resp(argc, argv, len, stack, sizeof(stack));
	int rc;

	if (n > sizeof(stack)) {
		buf = xmalloc(n);
		rl_resp(argc, argv, len, buf, n);
	}
	rc = redisAsyncFormattedCommand(c->ac, on_reply,
	    (void *)(uintptr_t)r->id, buf, n);
	if (buf != stack)
		free(buf);
	return rc;
}

static void
finish(struct rl_conn *c)
{
	if (c->st != C_CLOSING || c->nhandles > 0 || c->ac != NULL)
		return;
	for (size_t i = 0; i < c->conf.nsentinels; i++)
		free(c->s_host[i]);
	free(c->s_host);
	free(c->s_port);
	free(c->m_host);
	free((char *)c->conf.master_name);
	free((char *)c->conf.password);
	if (c->ops->closed != NULL)
		c->ops->closed(c->arg);
	free(c);
}

static void
io_close_cb(uv_handle_t *h)
{
	struct io *io = h->data;
	struct rl_conn *c = io->c;

	free(io);
	c->nhandles--;
	finish(c);
}

/* ev_cleanup - hiredis is freeing the context: pending callbacks have run. */
static void
ev_cleanup(void *p)
{
	struct io *io = p;
	struct rl_conn *c = io->c;

	io->ac = NULL;
	uv_close((uv_handle_t *)&io->poll, io_close_cb);
	c->ac = NULL;
	c->io = NULL;
	lost(c);
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct rl_conn *c = ac->data;

	if (status != REDIS_OK && c->err == 0)
		c->err = hiredis_err(&ac->c);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rl_conn *c = ac->data;

	if (status != REDIS_OK && c->err == 0)
		c->err = hiredis_err(&ac->c);
}

/* State machine. */

static void
backoff(struct rl_conn *c, uint64_t *delay)
{
	uint64_t base = (uint64_t)c->conf.backoff_min_ms;

	for (int i = 0; i < c->failures && base < (uint64_t)c->conf.backoff_max_ms;
	    i++)
		base *= 2;
	base = MIN(base, (uint64_t)c->conf.backoff_max_ms);
	*delay = base / 2 + rnd(c) % (base / 2 + 1);
	if (c->failures < 30)
		c->failures++;
}

/* lost - the context is gone (failed attempt or dropped connection). */
static void
lost(struct rl_conn *c)
{
	int was_up = c->st == C_UP, err = c->err ? c->err : -ECONNRESET;
	uint64_t delay = 0;

	c->kill_pending = 0;
	c->err = 0;
	if (c->st == C_CLOSING) {
		finish(c);
		return;
	}
	uv_timer_stop(&c->t_state);
	if (c->is_sentinel && c->resolved) {
		c->s_tried = 0;
	} else if (c->is_sentinel) {
		c->si = (c->si + 1) % c->conf.nsentinels;
		if (++c->s_tried >= c->conf.nsentinels) {
			c->s_tried = 0;
			backoff(c, &delay);
		}
	} else {
		if (c->conf.nsentinels > 0)
			c->have_master = 0;
		backoff(c, &delay);
	}
	if (!c->resolved || was_up)
		log_msg(was_up ? LOG_WARN : LOG_INFO,
		    "event=redis_%s addr=%s%s err=\"%s\" retry_ms=%llu",
		    was_up ? "down" : "connect_failed", c->addr,
		    c->is_sentinel ? " role=sentinel" : "", sg_strerror(err),
		    (unsigned long long)delay);
	c->resolved = 0;
	c->st = C_BACKOFF;
	uv_timer_start(&c->t_state, state_cb, delay, 0);
	if (c->ops->event != NULL)
		c->ops->event(c->arg, was_up ? RL_CONN_DOWN : RL_CONN_FAILED,
		    err);
}

static void
up(struct rl_conn *c)
{
	c->st = C_UP;
	c->failures = 0;
	uv_timer_stop(&c->t_state);
	log_info("event=redis_up addr=%s", c->addr);
	if (c->ops->event != NULL)
		c->ops->event(c->arg, RL_CONN_UP, 0);
}

static void
state_cb(uv_timer_t *t)
{
	struct rl_conn *c = t->data;

	if (c->st == C_CLOSING)
		return;
	if (c->ac != NULL) {
		if (!c->kill_pending && c->err == 0)
			c->err = -ETIMEDOUT;
		c->kill_pending = 0;
		redisAsyncFree(c->ac);
		return;
	}
	if (c->st == C_BACKOFF)
		attempt(c);
}

static void arm_deadline(struct rl_conn *c);

static void
deadline_cb(uv_timer_t *t)
{
	struct rl_conn *c = t->data;
	uint64_t now = uv_now(c->loop), *ids;
	size_t n = 0;
	struct req *r;

	if (c->st == C_CLOSING)
		return;
	if (c->head != NULL && c->st == C_UP && !c->kill_pending &&
	    now - c->head->sent >= (uint64_t)c->conf.stall_ms) {
		log_warn("event=redis_stalled addr=%s inflight=%zu",
		    c->addr, c->inflight);
		rl_conn_reset(c, -ETIMEDOUT);
	}
	for (r = c->head; r != NULL; r = r->next)
		if (!r->timed_out && !r->setup && r->deadline <= now)
			n++;
	if (n > 0) {
		ids = xmalloc(n * sizeof(*ids));
		n = 0;
		for (r = c->head; r != NULL; r = r->next)
			if (!r->timed_out && !r->setup && r->deadline <= now) {
				r->timed_out = r->notify = 1;
				ids[n++] = r->id;
			}
		/* A callback may send, reset or free: look each one up again. */
		for (size_t i = 0; i < n; i++) {
			if ((r = req_find(c, ids[i])) == NULL || !r->notify)
				continue;
			r->notify = 0;
			r->cb(r->arg, -ETIMEDOUT, NULL);
			if (c->st == C_CLOSING)
				break;
		}
		free(ids);
	}
	if (c->st != C_CLOSING)
		arm_deadline(c);
}

static void
arm_deadline(struct rl_conn *c)
{
	uint64_t now = uv_now(c->loop), at = UINT64_MAX;

	for (struct req *r = c->head; r != NULL; r = r->next) {
		if (!r->timed_out && !r->setup)
			at = MIN(at, r->deadline);
		if (r == c->head)
			at = MIN(at, r->sent + (uint64_t)c->conf.stall_ms);
	}
	if (at == UINT64_MAX)
		uv_timer_stop(&c->t_deadline);
	else
		uv_timer_start(&c->t_deadline, deadline_cb,
		    at > now ? at - now : 0, 0);
}

static int
is_error(const redisReply *r, const char *prefix)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, prefix, strlen(prefix)) == 0;
}

static void
setup_done(struct rl_conn *c)
{
	if (--c->setup_left == 0 && c->st == C_CONNECTING && !c->kill_pending &&
	    c->ac != NULL) {
		if (c->is_sentinel)
			rl_conn_reset(c, 0);
		else
			up(c);
	}
}

static void
on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rl_conn *c = ac->data;
	const redisReply *rp = reply;
	struct req *r = req_find(c, (uint64_t)(uintptr_t)privdata);
	char esc[96];
	int err = 0;

	if (r == NULL)
		return;
	if (rp == NULL)
		err = c->st == C_CLOSING ? -ECANCELED :
		    c->err ? c->err : hiredis_err(&ac->c);
	if (r->notify)
		r->notify = r->timed_out = 0;
	if (r->timed_out) {
		if (r->late != NULL)
			r->late(r->arg, err, rp);
	} else if (r->setup) {
		if (r->cb != NULL)
			r->cb(r->arg, err, rp);
		if (rp != NULL && rp->type == REDIS_REPLY_ERROR) {
			if (!c->kill_pending)
				log_warn("event=redis_setup_failed addr=%s "
				    "reply=%s", c->addr, log_esc(esc, sizeof(esc),
				    rp->str, rp->len));
			rl_conn_reset(c, SG_EPROTO);
		} else if (rp == NULL)
			rl_conn_reset(c, err);
		setup_done(c);
	} else {
		if (is_error(rp, "READONLY") || is_error(rp, "MASTERDOWN") ||
		    is_error(rp, "LOADING"))
			rl_conn_reset(c, -EAGAIN);
		r->cb(r->arg, err, rp);
	}
	req_del(c, r);
}

int
rl__is_primary(const redisReply *r)
{
	return r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[0]->str, "master") == 0;
}

int
rl__primary_addr(const redisReply *r, char **host, int *port)
{
	char *end;
	long p;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING)
		return -EHOSTUNREACH;
	p = strtol(r->element[1]->str, &end, 10);
	if (*end != '\0' || p <= 0 || p > 65535)
		return SG_EPROTO;
	*host = xstrdup(r->element[0]->str);
	*port = (int)p;
	return 0;
}

/* Internal handshake callbacks: arg is the rl_conn. */

static void
role_cb(void *arg, int err, const redisReply *r)
{
	struct rl_conn *c = arg;

	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		return;
	if (!rl__is_primary(r)) {
		log_warn("event=redis_not_primary addr=%s", c->addr);
		rl_conn_reset(c, -EAGAIN);
	}
}

static void
sentinel_cb(void *arg, int err, const redisReply *r)
{
	struct rl_conn *c = arg;
	char *host;
	int port, rc;

	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		return;
	if ((rc = rl__primary_addr(r, &host, &port)) < 0) {
		rl_conn_reset(c, rc);
		return;
	}
	if (strcmp(c->m_host, host) != 0 || c->m_port != port)
		log_info("event=redis_primary addr=%s:%d sentinel=%s", host,
		    port, c->addr);
	free(c->m_host);
	c->m_host = host;
	c->m_port = port;
	c->have_master = 1;
	c->resolved = 1;
}

static int
send_setup(struct rl_conn *c, int argc, const char **argv, const size_t *len,
    rl_conn_cb *cb, void *arg)
{
	struct req *r = req_new(c, cb, NULL, arg);

	r->setup = 1;
	r->deadline = UINT64_MAX;
	if (send_cmd(c, r, argc, argv, len) != REDIS_OK) {
		req_del(c, r);
		return -ENOTCONN;
	}
	c->setup_left++;
	return 0;
}

int
rl_conn_setup(struct rl_conn *c, int argc, const char **argv,
    const size_t *len, rl_conn_cb *cb, void *arg)
{
	if (c->st != C_CONNECTING || c->ac == NULL)
		return -ENOTCONN;
	return send_setup(c, argc, argv, len, cb, arg);
}

static void
attempt(struct rl_conn *c)
{
	redisAsyncContext *ac;
	const char *host;
	struct io *io;
	int port, err;

	c->is_sentinel = c->conf.nsentinels > 0 && !c->have_master;
	c->resolved = 0;
	c->err = 0;
	if (c->is_sentinel) {
		host = c->s_host[c->si];
		port = c->s_port[c->si];
	} else {
		host = c->m_host;
		port = c->m_port;
	}
	snprintf(c->addr, sizeof(c->addr), "%s:%d", host, port);
	c->st = C_CONNECTING;
	ac = redisAsyncConnect(host, port);
	if (ac == NULL || ac->err) {
		c->err = ac ? hiredis_err(&ac->c) : SG_ENOMEM;
		if (ac != NULL)
			redisAsyncFree(ac);
		lost(c);
		return;
	}
	rl_reader_bound(ac->c.reader);
	io = xcalloc(1, sizeof(*io));
	if ((err = uv_poll_init(c->loop, &io->poll, ac->c.fd)) != 0) {
		free(io);
		redisAsyncFree(ac);
		c->err = err;
		lost(c);
		return;
	}
	c->nhandles++;
	io->poll.data = io;
	io->c = c;
	io->ac = ac;
	ac->data = c;
	ac->ev.data = io;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	c->ac = ac;
	c->io = io;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	uv_timer_start(&c->t_state, state_cb,
	    (uint64_t)c->conf.connect_timeout_ms, 0);
	c->setup_left = 0;
	if (c->is_sentinel) {
		const char *argv[] = { "SENTINEL", "get-master-addr-by-name",
			c->conf.master_name };
		size_t len[] = { 8, 23, strlen(c->conf.master_name) };

		send_setup(c, 3, argv, len, sentinel_cb, c);
		return;
	}
	if (c->conf.password != NULL) {
		const char *argv[] = { "AUTH", c->conf.password };
		size_t len[] = { 4, strlen(c->conf.password) };

		send_setup(c, 2, argv, len, NULL, NULL);
	}
	if (c->conf.nsentinels > 0) {
		const char *argv[] = { "ROLE" };
		size_t len[] = { 4 };

		send_setup(c, 1, argv, len, role_cb, c);
	}
	if (c->conf.database != 0) {
		char db[16];
		const char *argv[] = { "SELECT", db };
		size_t len[] = { 6, 0 };

		len[1] = (size_t)snprintf(db, sizeof(db), "%u", c->conf.database);
		send_setup(c, 2, argv, len, NULL, NULL);
	}
	if (c->ops->setup != NULL)
		c->ops->setup(c->arg, c);
	if (c->setup_left == 0 && c->ac != NULL) {
		const char *argv[] = { "PING" };
		size_t len[] = { 4 };

		send_setup(c, 1, argv, len, NULL, NULL);
	}
}

struct rl_conn *
rl_conn_new(uv_loop_t *loop, const struct rl_conn_conf *conf,
    const struct rl_conn_ops *ops, void *arg)
{
	struct rl_conn *c = xcalloc(1, sizeof(*c));

	c->loop = loop;
	c->conf = *conf;
	c->ops = ops;
	c->arg = arg;
	if (c->conf.connect_timeout_ms <= 0)
		c->conf.connect_timeout_ms = 1000;
	if (c->conf.deadline_ms <= 0)
		c->conf.deadline_ms = 50;
	if (c->conf.backoff_min_ms <= 0)
		c->conf.backoff_min_ms = 100;
	if (c->conf.backoff_max_ms < c->conf.backoff_min_ms)
		c->conf.backoff_max_ms = MAX(5000, c->conf.backoff_min_ms);
	if (c->conf.stall_ms <= 0)
		c->conf.stall_ms = 5000;
	if (c->conf.max_inflight == 0)
		c->conf.max_inflight = 4096;
	if (c->conf.max_reply == 0)
		c->conf.max_reply = RL_REPLY_MAX_BYTES;
	c->conf.password = conf->password ? xstrdup(conf->password) : NULL;
	c->conf.master_name = xstrdup(conf->master_name ? conf->master_name :
	    "mymaster");
	c->conf.sentinels = NULL;
	c->s_host = xcalloc(conf->nsentinels + 1, sizeof(*c->s_host));
	c->s_port = xcalloc(conf->nsentinels + 1, sizeof(*c->s_port));
	c->conf.nsentinels = 0;
	for (size_t i = 0; i < conf->nsentinels; i++)
		if (rl__split_hostport(conf->sentinels[i],
		    &c->s_host[c->conf.nsentinels],
		    &c->s_port[c->conf.nsentinels]) == 0)
			c->conf.nsentinels++;
		else
			log_err("event=redis_bad_sentinel index=%zu", i);
	c->m_host = xstrdup(conf->host ? conf->host : "127.0.0.1");
	c->m_port = conf->port > 0 ? conf->port : 6379;
	c->rnd = (uv_hrtime() ^ (uintptr_t)c) | 1;
	uv_timer_init(loop, &c->t_state);
	uv_timer_init(loop, &c->t_deadline);
	uv_idle_init(loop, &c->t_flush);
	c->t_state.data = c->t_deadline.data = c->t_flush.data = c;
	c->nhandles = 3;
	c->st = C_BACKOFF;
	uv_timer_start(&c->t_state, state_cb, 0, 0);
	return c;
}

int
rl_conn_command(struct rl_conn *c, int argc, const char **argv,
    const size_t *len, int deadline_ms, rl_conn_cb *cb, rl_conn_cb *late,
    void *arg)
{
	struct req *r;

	if (c->st != C_UP || c->kill_pending || c->ac == NULL)
		return -ENOTCONN;
	if (c->inflight >= c->conf.max_inflight)
		return -ENOBUFS;
	r = req_new(c, cb, late, arg);
	r->deadline = r->sent + (uint64_t)(deadline_ms > 0 ? deadline_ms :
	    c->conf.deadline_ms);
	if (send_cmd(c, r, argc, argv, len) != REDIS_OK) {
		req_del(c, r);
		return -ENOTCONN;
	}
	if (!uv_is_active((uv_handle_t *)&c->t_deadline) ||
	    uv_timer_get_due_in(&c->t_deadline) >
	    (uint64_t)(deadline_ms > 0 ? deadline_ms : c->conf.deadline_ms))
		uv_timer_start(&c->t_deadline, deadline_cb, r->deadline -
		    uv_now(c->loop), 0);
	return 0;
}

void
rl_conn_reset(struct rl_conn *c, int err)
{
	if (c->st == C_CLOSING || c->kill_pending || c->ac == NULL)
		return;
	c->kill_pending = 1;
	if (c->err == 0)
		c->err = err;
	uv_timer_start(&c->t_state, state_cb, 0, 0);
}

int
rl_conn_is_up(const struct rl_conn *c)
{
	return c->st == C_UP && !c->kill_pending;
}

size_t
rl_conn_inflight(const struct rl_conn *c)
{
	return c->inflight;
}

const char *
rl_conn_addr(const struct rl_conn *c)
{
	return c->addr;
}

static void
timer_close_cb(uv_handle_t *h)
{
	struct rl_conn *c = h->data;

	c->nhandles--;
	finish(c);
}

void
rl_conn_free(struct rl_conn *c)
{
	if (c == NULL || c->st == C_CLOSING)
		return;
	c->st = C_CLOSING;
	uv_close((uv_handle_t *)&c->t_state, timer_close_cb);
	uv_close((uv_handle_t *)&c->t_deadline, timer_close_cb);
	uv_close((uv_handle_t *)&c->t_flush, timer_close_cb);
	if (c->ac != NULL)
		redisAsyncFree(c->ac);
}
