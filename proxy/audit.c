/*
 * audit.c - JSON lines of the audit trail (see audit.h for the record and
 * the id format). The file descriptor is opened once by the main thread;
 * every worker writes whole records with one write(2) on an O_APPEND
 * descriptor. audit_reopen() swaps the file underneath with dup2(), which is
 * atomic: a concurrent writer sees either the old or the new file, never a
 * closed descriptor.
 *
 * Hazard: the write is synchronous on the worker's loop. On a local disk it
 * is a page-cache copy; an audit file on a slow network filesystem would
 * stall the worker.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "audit_key.h"
#include "geoip.h"
#include "log.h"
#include "util.h"

static int audit_fd = -1;
static void audit__retry_now(void);
static int flush_queue(void);
static void drain_to_stderr(void);

static char *audit_path;
static uint32_t node_tag;
static const char *node_name = "";

/* The queue of records the file did not take (see "Output" below). */
#define QUEUE_MAX_BYTES (32u * 1024 * 1024)
#define QUEUE_MAX_RECORDS 65536
#define RETRY_MS 1000
#define LOG_EVERY_MS 10000

struct qrec {
	struct qrec *next;
	size_t len;		/* with the final newline */
	int partial;		/* an earlier attempt left a fragment */
	char data[];
};

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static struct qrec *q_head, *q_tail;
static size_t q_bytes, q_count;
static int64_t q_last_try, q_last_log;
static atomic_int failing;
static atomic_uint_fast64_t st_written, st_write_errors, st_queued, st_lost,
    st_requeued;
static audit_sink_fn *sink;

int
audit_open(const char *path)
{
	free(audit_path);
	audit_path = xstrdup(path);
	if (strcmp(path, "-") == 0) {
		audit_fd = dup(STDOUT_FILENO);
		return audit_fd < 0 ? -errno : 0;
	}
	audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return audit_fd < 0 ? -errno : 0;
}

int
audit_reopen(void)
{
	int fd;

	if (audit_path == NULL || strcmp(audit_path, "-") == 0)
		return 0;
	fd = open(audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (dup2(fd, audit_fd) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	audit__retry_now();
	return 0;
}

void
audit_close(void)
{
	pthread_mutex_lock(&q_mu);
	if (q_head != NULL) {
		(void)flush_queue();
		drain_to_stderr();
	}
	pthread_mutex_unlock(&q_mu);
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
	free(audit_path);
	audit_path = NULL;
}

void
audit_set_node(const char *node)
{
	uint32_t h = 2166136261u;

	node_name = node != NULL ? node : "";
	for (const unsigned char *p = (const unsigned char *)node_name; *p; p++)
		h = (h ^ *p) * 16777619u;
	node_tag = (h ^ (h >> 24)) & 0xffffff;
}

void
audit_addr_set(struct audit_addr *o, const union sockaddr_any *a)
{
	memset(o, 0, sizeof(*o));
	o->family = a->sa.sa_family;
	o->port = addr_port(a);
	if (a->sa.sa_family == AF_INET)
		memcpy(o->a, &a->sin.sin_addr, 4);
	else if (a->sa.sa_family == AF_INET6)
		memcpy(o->a, &a->sin6.sin6_addr, 16);
}

void
audit_addr_get(const struct audit_addr *o, union sockaddr_any *a)
{
	memset(a, 0, sizeof(*a));
	a->sa.sa_family = o->family;
	if (o->family == AF_INET)
		memcpy(&a->sin.sin_addr, o->a, 4);
	else if (o->family == AF_INET6)
		memcpy(&a->sin6.sin6_addr, o->a, 16);
	addr_set_port(a, o->port);
}

void
audit_session_init(struct audit_session *rec, int worker, uint32_t seq,
    int listener, int mode, const union sockaddr_any *src,
    const union sockaddr_any *dst)
{
	memset(rec, 0, sizeof(*rec));
	rec->start_ms = now_ms();
	rec->worker = (uint8_t)worker;
	rec->listener = (uint16_t)listener;
	rec->mode = (uint8_t)mode;
	snprintf(rec->id, sizeof(rec->id), "%010llx%02x%06x%06x",
	    (unsigned long long)(rec->start_ms / 1000) & 0xffffffffffULL,
	    (unsigned)worker & 0xff, (unsigned)seq & 0xffffff,
	    (unsigned)node_tag);
	audit_addr_set(&rec->src, src);
	audit_addr_set(&rec->dst, dst);
	rec->cls = mode == LISTEN_SMTP ? "mx" : "passthrough";
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && *s ? xstrdup(s) : NULL;
}

void
audit_session_fill(struct audit_session *rec, const struct smtp_info *in)
{
	free(rec->greeting_host);
	free(rec->ehlo);
	free(rec->auth_mech);
	free(rec->auth_user);
	rec->cls = smtp_class_name(in->cls);
	rec->greeting_host = dup_or_null(in->greeting_host);
	rec->ehlo = dup_or_null(in->ehlo);
	rec->auth_mech = dup_or_null(in->auth_mech);
	rec->auth_user = dup_or_null(in->auth_user);
	rec->transactions = in->ntxn;
	rec->commands = in->ncommands;
	rec->errors = in->nerrors;
	rec->dropped_after_starttls = in->dropped_after_starttls;
	rec->normalized_newlines = in->normalized_newlines;
}

void
audit_session_set_reason(struct audit_session *rec, const char *reason)
{
	snprintf(rec->end_reason, sizeof(rec->end_reason), "%s",
	    reason != NULL ? reason : "unknown");
}

void
audit_session_set_identity(struct audit_session *rec, const char *subscriber,
    const char *source, const char *policy_class)
{
	free(rec->subscriber);
	free(rec->policy_class);
	rec->subscriber = dup_or_null(subscriber);
	rec->subscriber_source = source;
	rec->policy_class = dup_or_null(policy_class);
}

void
audit_session_add_decision(struct audit_session *rec, const char *point,
    const char *limit, const char *verdict, const char *source)
{
	struct audit_decision *d;

	if (rec->ndecisions >= AUDIT_DECISIONS_MAX)
		return;
	if (rec->decisions == NULL)
		rec->decisions = xcalloc(AUDIT_DECISIONS_MAX,
		    sizeof(*rec->decisions));
	d = &rec->decisions[rec->ndecisions++];
	snprintf(d->point, sizeof(d->point), "%s", point);
	snprintf(d->limit, sizeof(d->limit), "%s", limit);
	snprintf(d->verdict, sizeof(d->verdict), "%s", verdict);
	d->source = source;
}

void
audit_session_free(struct audit_session *rec)
{
	free(rec->decisions);
	rec->decisions = NULL;
	rec->ndecisions = 0;
	free(rec->subscriber);
	free(rec->policy_class);
	rec->subscriber = rec->policy_class = NULL;
	free(rec->greeting_host);
	free(rec->ehlo);
	free(rec->auth_mech);
	free(rec->auth_user);
	rec->greeting_host = rec->ehlo = rec->auth_mech = rec->auth_user = NULL;
}

/* jstr - a JSON string of untrusted bytes. jansson refuses invalid UTF-8;
 * such a string is kept with every non-ASCII byte turned into '?', so that a
 * record is never lost to a malformed address. */
static json_t *
jstr(const char *s)
{
	json_t *j;
	char *c;

	if (s == NULL)
		s = "";
	if ((j = json_string(s)) != NULL)
		return j;
	c = xstrdup(s);
	for (unsigned char *p = (unsigned char *)c; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	j = json_string(c);
	free(c);
	return j != NULL ? j : json_string("");
}

static void
set_str(json_t *o, const char *k, const char *s)
{
	json_object_set_new(o, k, jstr(s));
}

static void
set_int(json_t *o, const char *k, long long v)
{
	json_object_set_new(o, k, json_integer(v));
}

static void
set_time(json_t *o, const char *k, int64_t ms)
{
	char buf[40];

	json_object_set_new(o, k, json_string(fmt_time(buf, sizeof(buf), ms)));
}

static void
set_addrs(json_t *o, const struct audit_session *rec,
    const struct audit_addr *src, const struct audit_addr *dst)
{
	union sockaddr_any a;
	char buf[ADDR_STRLEN];

	audit_addr_get(src, &a);
	addr_ntop(&a, buf, sizeof(buf));
	/* No identity looked up: the subscriber is its address. */
	set_str(o, "subscriber", rec->subscriber != NULL ? rec->subscriber : buf);
	set_str(o, "subscriber_source", rec->subscriber_source != NULL
	    ? rec->subscriber_source : "address");
	if (rec->policy_class != NULL)
		set_str(o, "policy_class", rec->policy_class);
	set_str(o, "src", buf);
	set_int(o, "src_port", src->port);
	audit_addr_get(dst, &a);
	set_str(o, "dst", addr_ntop(&a, buf, sizeof(buf)));
	set_int(o, "dst_port", dst->port);
}

/* Output ----------------------------------------------------------------
 *
 * Every record goes out with one write(2) (writev for audit_write_line).
 * When a write fails (full disk, quota, I/O error) the record, and every
 * record after it, goes to a bounded queue instead, in order, and the
 * writer is "failing" until the queue could be written out: at most once a
 * second a writer (or audit_tick from the main loop) tries again. A record
 * the queue has no room for is lost and counted; so are records still queued
 * when the daemon exits, after they have been written to standard error as a
 * last resort. A write cut short by the disk leaves a partial line in the
 * file; the record is written again whole, after a newline that ends the
 * fragment (readers skip lines that are not JSON).
 */


/* write_all - 0 once all n bytes are written; else a negative errno and
 * *done says how many went out. */
static int
write_all(const char *p, size_t n, size_t *done)
{
	*done = 0;
	while (*done < n) {
		ssize_t w;

		if (audit_fd < 0)
			return -EBADF;
		w = write(audit_fd, p + *done, n - *done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		*done += (size_t)w;
	}
	return 0;
}

/* note_error - count, and log at most every LOG_EVERY_MS (q_mu held). */
static void
note_error(int err)
{
	int64_t now = now_ms();

	atomic_fetch_add(&st_write_errors, 1);
	if (now - q_last_log < LOG_EVERY_MS)
		return;
	q_last_log = now;
	log_err("event=audit_write_failed error=\"%s\" queued=%zu queued_bytes=%zu "
	    "write_errors=%llu lost=%llu", strerror(-err), q_count, q_bytes,
	    (unsigned long long)atomic_load(&st_write_errors),
	    (unsigned long long)atomic_load(&st_lost));
}

/* enqueue - keep a record that could not be written (q_mu held). */
static void
enqueue(const char *p, size_t n, int partial)
{
	struct qrec *q;

	if (q_count >= QUEUE_MAX_RECORDS || q_bytes + n > QUEUE_MAX_BYTES) {
		atomic_fetch_add(&st_lost, 1);
		return;
	}
	q = xmalloc(sizeof(*q) + n);
	q->next = NULL;
	q->len = n;
	q->partial = partial;
	memcpy(q->data, p, n);
	if (q_tail != NULL)
		q_tail->next = q;
	else
		q_head = q;
	q_tail = q;
	q_bytes += n;
	q_count++;
	atomic_fetch_add(&st_queued, 1);
}

/* flush_queue - write out what is queued, oldest first (q_mu held).
 * 0 when the queue is empty afterwards. */
static int
flush_queue(void)
{
	size_t done, nrec = q_count;
	int rc;

	q_last_try = now_ms();
	while (q_head != NULL) {
		struct qrec *q = q_head;

		if (q->partial) {
			if ((rc = write_all("\n", 1, &done)) < 0) {
				note_error(rc);
				return rc;
			}
			q->partial = 0;
		}
		if ((rc = write_all(q->data, q->len, &done)) < 0) {
			q->partial = done > 0;
			note_error(rc);
			return rc;
		}
		q_head = q->next;
		if (q_head == NULL)
			q_tail = NULL;
		q_bytes -= q->len;
		q_count--;
		free(q);
		atomic_fetch_add(&st_written, 1);
		atomic_fetch_add(&st_requeued, 1);
	}
	if (atomic_exchange(&failing, 0))
		log_warn("event=audit_write_recovered written_from_queue=%zu "
		    "write_errors=%llu lost=%llu", nrec,
		    (unsigned long long)atomic_load(&st_write_errors),
		    (unsigned long long)atomic_load(&st_lost));
	return 0;
}

/* out - write one record (n bytes including its newline), or queue it. */
static int
out(const char *p, size_t n)
{
	size_t done = 0;
	int rc;

	if (!atomic_load(&failing)) {
		if ((rc = write_all(p, n, &done)) == 0) {
			atomic_fetch_add(&st_written, 1);
			return 0;
		}
		pthread_mutex_lock(&q_mu);
		atomic_store(&failing, 1);
		enqueue(p, n, done > 0);
		note_error(rc);
		q_last_try = now_ms();
		pthread_mutex_unlock(&q_mu);
		return rc;
	}
	pthread_mutex_lock(&q_mu);
	enqueue(p, n, 0);
	if (now_ms() - q_last_try >= RETRY_MS)
		(void)flush_queue();
	rc = atomic_load(&failing) ? -EAGAIN : 0;
	pthread_mutex_unlock(&q_mu);
	return rc;
}

/* audit__retry_now - a new file (SIGHUP) may take what the old one did
 * not: try at once. */
static void
audit__retry_now(void)
{
	pthread_mutex_lock(&q_mu);
	if (q_head != NULL)
		(void)flush_queue();
	pthread_mutex_unlock(&q_mu);
}

void
audit_tick(void)
{
	if (!atomic_load(&failing))
		return;
	pthread_mutex_lock(&q_mu);
	if (q_head != NULL && now_ms() - q_last_try >= RETRY_MS)
		(void)flush_queue();
	pthread_mutex_unlock(&q_mu);
}

int
audit_failing(void)
{
	return atomic_load(&failing);
}

int
audit_tempfail(const struct config *c)
{
	return c->audit.on_write_error == AUDIT_WERR_TEMPFAIL &&
	    atomic_load(&failing);
}

void
audit_get_stats(struct audit_stats *st)
{
	pthread_mutex_lock(&q_mu);
	st->queued_now = q_count;
	st->queued_bytes = q_bytes;
	pthread_mutex_unlock(&q_mu);
	st->written = atomic_load(&st_written);
	st->write_errors = atomic_load(&st_write_errors);
	st->queued = atomic_load(&st_queued);
	st->lost = atomic_load(&st_lost);
	st->written_from_queue = atomic_load(&st_requeued);
	st->failing = atomic_load(&failing);
}

void
audit_set_sink(audit_sink_fn *fn)
{
	sink = fn;
}

/* drain_to_stderr - at exit, what the file never took (q_mu held). */
static void
drain_to_stderr(void)
{
	static const char pfx[] = "subgated: audit record not written: ";
	size_t n = 0;

	while (q_head != NULL) {
		struct qrec *q = q_head;
		struct iovec iov[2] = { { (void *)pfx, sizeof(pfx) - 1 },
			{ q->data, q->len } };

		(void)!writev(STDERR_FILENO, iov, 2);
		q_head = q->next;
		free(q);
		n++;
	}
	q_tail = NULL;
	q_count = q_bytes = 0;
	atomic_store(&failing, 0);
	atomic_fetch_add(&st_lost, n);
	if (n > 0)
		log_err("event=audit_records_lost count=%zu where=stderr", n);
}

/* emit - one record: to the file (or its queue), then to the sink. */
static void
emit(json_t *o)
{
	char stackbuf[8192], *buf = stackbuf;
	size_t n;

	n = json_dumpb(o, buf, sizeof(stackbuf) - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (n >= sizeof(stackbuf) - 1) {
		buf = xmalloc(n + 1);
		n = json_dumpb(o, buf, n, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
	if (n > 0) {
		buf[n] = '\n';
		(void)out(buf, n + 1);
		if (sink != NULL)
			sink(o, buf, n);
	}
	json_decref(o);
	if (buf != stackbuf)
		free(buf);
}

int
audit_write_line(const char *json, size_t len)
{
	char stackbuf[4096], *buf = stackbuf;
	size_t done;
	int rc;

	/* The caller acknowledges only what is on disk (RADIUS answers after
	 * this), so these are never queued: a failure goes back to it. */
	if (atomic_load(&failing))
		return -EAGAIN;
	if (len + 1 > sizeof(stackbuf))
		buf = xmalloc(len + 1);
	memcpy(buf, json, len);
	buf[len] = '\n';
	if ((rc = write_all(buf, len + 1, &done)) == 0)
		atomic_fetch_add(&st_written, 1);
	else {
		pthread_mutex_lock(&q_mu);
		atomic_store(&failing, 1);
		note_error(rc);
		if (done > 0)	/* end the fragment with the next write */
			enqueue("\n", 0, 1);
		q_last_try = now_ms();
		pthread_mutex_unlock(&q_mu);
	}
	if (buf != stackbuf)
		free(buf);
	return rc;
}

/* set_geo - dst_asn, dst_as_org, dst_country where a database knows them. */
static void
set_geo(json_t *o, const struct audit_addr *dst)
{
	struct geoip_result g;
	union sockaddr_any a;

	if (!geoip_enabled())
		return;
	audit_addr_get(dst, &a);
	geoip_lookup(&a, &g);
	if (g.asn != 0)
		set_int(o, "dst_asn", g.asn);
	if (g.as_org[0] != '\0')
		set_str(o, "dst_as_org", g.as_org);
	if (g.country[0] != '\0')
		set_str(o, "dst_country", g.country);
}

/* set_rcpts - the recipients as audit.recipients says: "rcpts" in full,
 * "rcpts_hmac" (HMAC-SHA256 of each normalised address, audit_key.h), or
 * nothing but rcpt_count. */
static void
set_rcpts(const struct config *c, json_t *o, const struct smtp_txn *t)
{
	json_t *a;
	char h[AUDIT_HMAC_HEX + 1];

	switch (c->audit.recipients) {
	case AUDIT_RCPT_COUNT:
		return;
	case AUDIT_RCPT_HMAC:
		a = json_array();
		for (size_t i = 0; i < t->nrcpts_kept; i++) {
			if (audit_rcpt_hmac(h, c->audit.hmac_key.value,
			    c->audit.hmac_key.len, t->rcpts[i]) == 0)
				json_array_append_new(a, json_string(h));
		}
		json_object_set_new(o, "rcpts_hmac", a);
		return;
	default:
		a = json_array();
		for (size_t i = 0; i < t->nrcpts_kept; i++)
			json_array_append_new(a, jstr(t->rcpts[i]));
		json_object_set_new(o, "rcpts", a);
		return;
	}
}

static char *
listener_name(const struct config *c, int idx, char *buf, size_t len)
{
	if (idx >= 0 && (size_t)idx < c->nlisteners)
		return addr_fmt(&c->listeners[idx].addr, buf, len);
	snprintf(buf, len, "?");
	return buf;
}

void
audit_write_session(const struct config *c, struct audit_session *rec)
{
	json_t *o = json_object();
	char lbuf[ADDRPORT_STRLEN];

	if (rec->end_ms == 0)
		rec->end_ms = now_ms();
	set_int(o, "v", 1);
	set_str(o, "type", "session");
	set_str(o, "id", rec->id);
	set_str(o, "node", c->node);
	set_int(o, "worker", rec->worker);
	set_time(o, "start", rec->start_ms);
	set_time(o, "end", rec->end_ms);
	set_int(o, "duration_ms", rec->end_ms - rec->start_ms);
	set_str(o, "listener", listener_name(c, rec->listener, lbuf, sizeof(lbuf)));
	set_str(o, "mode", rec->mode == LISTEN_SMTP ? "smtp" : "passthrough");
	set_str(o, "class", rec->cls);
	set_addrs(o, rec, &rec->src, &rec->dst);
	set_geo(o, &rec->dst);
	if (rec->redirected_to.family != 0) {
		union sockaddr_any a;
		char abuf[ADDRPORT_STRLEN];

		audit_addr_get(&rec->redirected_to, &a);
		set_str(o, "redirected_to", addr_fmt(&a, abuf, sizeof(abuf)));
	}
	if (rec->mode == LISTEN_SMTP) {
		set_str(o, "greeting_host", rec->greeting_host);
		set_str(o, "ehlo", rec->ehlo);
		if (rec->auth_mech != NULL)
			set_str(o, "auth_mech", rec->auth_mech);
		if (rec->auth_user != NULL)
			set_str(o, "auth_user", rec->auth_user);
		set_int(o, "transactions", rec->transactions);
		set_int(o, "commands", rec->commands);
		set_int(o, "errors", rec->errors);
	}
	set_int(o, "bytes_from_client", (long long)rec->bytes_from_client);
	set_int(o, "bytes_to_client", (long long)rec->bytes_to_client);
	set_int(o, "bytes_to_upstream", (long long)rec->bytes_to_upstream);
	set_int(o, "bytes_from_upstream", (long long)rec->bytes_from_upstream);
	if (rec->mode == LISTEN_SMTP) {
		set_int(o, "dropped_after_starttls",
		    (long long)rec->dropped_after_starttls);
		set_int(o, "normalized_newlines",
		    (long long)rec->normalized_newlines);
	}
	if (rec->ndecisions > 0) {
		json_t *a = json_array();

		for (uint8_t i = 0; i < rec->ndecisions; i++) {
			const struct audit_decision *d = &rec->decisions[i];
			json_t *e = json_object();

			set_str(e, "point", d->point);
			set_str(e, "limit", d->limit);
			set_str(e, "verdict", d->verdict);
			set_str(e, "source", d->source);
			json_array_append_new(a, e);
		}
		json_object_set_new(o, "decisions", a);
	}
	set_str(o, "end_reason", rec->end_reason[0] ? rec->end_reason : "unknown");
	emit(o);
}

void
audit_write_txn(const struct config *c, const struct audit_session *rec,
    const struct smtp_txn *t)
{
	json_t *o = json_object();

	set_int(o, "v", 1);
	set_str(o, "type", "txn");
	set_str(o, "session", rec->id);
	set_str(o, "node", c->node);
	set_int(o, "seq", t->seq);
	set_time(o, "start", t->start_ms);
	set_time(o, "end", t->end_ms);
	set_addrs(o, rec, &rec->src, &rec->dst);
	set_geo(o, &rec->dst);
	set_str(o, "mail_from", t->mail_from);
	set_rcpts(c, o, t);
	set_int(o, "rcpt_count", (long long)t->nrcpts_accepted);
	set_int(o, "rcpt_refused", (long long)t->nrcpts_refused);
	set_str(o, "message_id", t->message_id);
	set_int(o, "size", (long long)t->size);
	set_str(o, "reply", t->data_reply);
	set_int(o, "reply_code", t->data_reply_code);
	set_str(o, "queue_id", t->queue_id);
	set_str(o, "outcome", t->outcome);
	emit(o);
}

void
audit_log_end(const struct audit_session *rec)
{
	char src[ADDRPORT_STRLEN], dst[ADDRPORT_STRLEN], ehlo[160], user[160];
	union sockaddr_any a;
	const char *e = rec->ehlo ? rec->ehlo : "";
	const char *u = rec->auth_user ? rec->auth_user : "";

	audit_addr_get(&rec->src, &a);
	addr_fmt(&a, src, sizeof(src));
	audit_addr_get(&rec->dst, &a);
	addr_fmt(&a, dst, sizeof(dst));
	log_esc(ehlo, sizeof(ehlo), e, strlen(e));
	log_esc(user, sizeof(user), u, strlen(u));
	log_info("event=session_end id=%s worker=%u mode=%s class=%s src=%s dst=%s "
	    "duration_ms=%lld txn=%u commands=%u errors=%u ehlo=%s auth_user=%s "
	    "bytes_from_client=%llu bytes_to_client=%llu bytes_to_upstream=%llu "
	    "bytes_from_upstream=%llu reason=%s",
	    rec->id, rec->worker, rec->mode == LISTEN_SMTP ? "smtp" : "passthrough",
	    rec->cls, src, dst, (long long)(rec->end_ms - rec->start_ms),
	    rec->transactions, rec->commands, rec->errors, ehlo, user,
	    (unsigned long long)rec->bytes_from_client,
	    (unsigned long long)rec->bytes_to_client,
	    (unsigned long long)rec->bytes_to_upstream,
	    (unsigned long long)rec->bytes_from_upstream,
	    rec->end_reason[0] ? rec->end_reason : "unknown");
}
