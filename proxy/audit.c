/*
 * audit.c - JSON lines of the audit trail (see audit.h for the record and
 * the id format). The file descriptor is opened once by the main thread;
 * writers append whole records on an O_APPEND descriptor. audit_reopen()
 * swaps the file underneath with dup2(), which is atomic: a concurrent
 * writer sees either the old or the new file, never a closed descriptor.
 *
 * Records are written with jsonw.h, not built as jansson objects: on the
 * per-session path jansson's object model (a hash table and a malloc per
 * field, then vfprintf-based dumping) cost more than everything else in
 * this file together; the writer makes the same bytes into one reused
 * buffer. jansson builds only the Redis index's view of a record (the few
 * fields it reads), and only when the index is on.
 *
 * A worker thread batches (audit_thread_begin): its records go into a
 * buffer of its own, built in place, and audit_flush() writes the buffer
 * with one write(2) once per loop iteration (and at BATCH_FLUSH bytes, and
 * when the worker ends). Any other thread writes each record at once.
 * SIGHUP does not reach into the batches: the worker writes them, within
 * its loop iteration, to whichever file the descriptor then names.
 *
 * Hazard: the write is synchronous on the worker's loop. On a local disk it
 * is a page-cache copy; an audit file on a slow network filesystem would
 * stall the worker.
 */
#include "audit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "audit_key.h"
#include "geoip.h"
#include "jsonw.h"
#include "log.h"
#include "util.h"

static int audit_fd = -1;
/* Not a regular file (a pipe, a socket: "-" under systemd): a write may be
 * split, so writers take w_mu to keep each write whole. O_APPEND writes to
 * a regular file are atomic already. */
static atomic_int fd_serial;
static pthread_mutex_t w_mu = PTHREAD_MUTEX_INITIALIZER;
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
    st_requeued, st_tempfailed;
static audit_sink_fn *sink;

/* A worker's batch (audit_thread_begin): whole records, newline-ended. */
#define BATCH_FLUSH (64u * 1024)
struct batch {
	struct jw w;
	size_t nrec;
};
static _Thread_local struct batch *tb;

static void
note_fd_kind(void)
{
	struct stat sb;

	atomic_store(&fd_serial, audit_fd >= 0 && fstat(audit_fd, &sb) == 0 &&
	    !S_ISREG(sb.st_mode));
}

int
audit_open(const char *path)
{
	free(audit_path);
	audit_path = xstrdup(path);
	if (strcmp(path, "-") == 0)
		audit_fd = dup(STDOUT_FILENO);
	else
		audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
	if (audit_fd < 0)
		return -errno;
	note_fd_kind();
	return 0;
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
	note_fd_kind();
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

/* put_hex - n lowercase hex digits of v. */
static char *
put_hex(char *o, uint64_t v, int n)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = n - 1; i >= 0; i--, v >>= 4)
		o[i] = hex[v & 15];
	return o + n;
}

void
audit_session_init(struct audit_session *rec, int worker, uint32_t seq,
    int listener, int mode, const union sockaddr_any *src,
    const union sockaddr_any *dst)
{
	audit_session_init_at(rec, worker, seq, listener, mode, src, dst,
	    now_ms());
}

void
audit_session_init_at(struct audit_session *rec, int worker, uint32_t seq,
    int listener, int mode, const union sockaddr_any *src,
    const union sockaddr_any *dst, int64_t start_ms)
{
	char *o;

	memset(rec, 0, sizeof(*rec));
	rec->start_ms = start_ms;
	rec->worker = (uint8_t)worker;
	rec->listener = (uint16_t)listener;
	rec->mode = (uint8_t)mode;
	o = put_hex(rec->id, (uint64_t)(rec->start_ms / 1000) & 0xffffffffffULL,
	    10);
	o = put_hex(o, (unsigned)worker & 0xff, 2);
	o = put_hex(o, seq & 0xffffff, 6);
	o = put_hex(o, node_tag, 6);
	*o = '\0';
	audit_addr_set(&rec->src, src);
	audit_addr_set(&rec->dst, dst);
	rec->cls = mode == LISTEN_SMTP ? "mx" : "passthrough";
}

/* pack - the non-empty strings of in[0..n) copied into one allocation;
 * out[i] points into it, or is NULL for a NULL or empty string. Returns
 * the allocation (NULL if there was nothing to copy). */
static char *
pack(const char *const *in, char **out, size_t n)
{
	size_t len[4], total = 0;
	char *blk, *p;

	for (size_t i = 0; i < n; i++) {
		len[i] = in[i] != NULL ? strlen(in[i]) : 0;
		total += len[i] > 0 ? len[i] + 1 : 0;
	}
	if (total == 0) {
		for (size_t i = 0; i < n; i++)
			out[i] = NULL;
		return NULL;
	}
	p = blk = xmalloc(total);
	for (size_t i = 0; i < n; i++) {
		if (len[i] == 0) {
			out[i] = NULL;
			continue;
		}
		memcpy(p, in[i], len[i] + 1);
		out[i] = p;
		p += len[i] + 1;
	}
	return blk;
}

void
audit_session_fill(struct audit_session *rec, const struct smtp_info *in)
{
	const char *s[4] = { in->greeting_host, in->ehlo, in->auth_mech,
		in->auth_user };
	char *d[4];

	free(rec->smtp_strs);
	rec->smtp_strs = pack(s, d, 4);
	rec->greeting_host = d[0];
	rec->ehlo = d[1];
	rec->auth_mech = d[2];
	rec->auth_user = d[3];
	rec->cls = smtp_class_name(in->cls);
	rec->transactions = in->ntxn;
	rec->commands = in->ncommands;
	rec->errors = in->nerrors;
	rec->dropped_after_starttls = in->dropped_after_starttls;
	rec->normalized_newlines = in->normalized_newlines;
}

/* copy_trunc - s into dst (size n), cut to fit, always terminated. */
static void
copy_trunc(char *dst, size_t n, const char *s)
{
	size_t l = strnlen(s, n - 1);

	memcpy(dst, s, l);
	dst[l] = '\0';
}

void
audit_session_set_reason(struct audit_session *rec, const char *reason)
{
	copy_trunc(rec->end_reason, sizeof(rec->end_reason),
	    reason != NULL ? reason : "unknown");
}

void
audit_session_set_identity(struct audit_session *rec, const char *subscriber,
    const char *source, const char *policy_class)
{
	const char *s[2] = { subscriber, policy_class };
	char *d[2];

	free(rec->id_strs);
	rec->id_strs = pack(s, d, 2);
	rec->subscriber = d[0];
	rec->policy_class = d[1];
	rec->subscriber_source = source;
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
	copy_trunc(d->point, sizeof(d->point), point);
	copy_trunc(d->limit, sizeof(d->limit), limit);
	copy_trunc(d->verdict, sizeof(d->verdict), verdict);
	d->source = source;
}

void
audit_session_free(struct audit_session *rec)
{
	free(rec->decisions);
	rec->decisions = NULL;
	rec->ndecisions = 0;
	free(rec->id_strs);
	free(rec->smtp_strs);
	rec->id_strs = rec->smtp_strs = NULL;
	rec->subscriber = rec->policy_class = NULL;
	rec->greeting_host = rec->ehlo = rec->auth_mech = rec->auth_user = NULL;
}

/* Formatting ------------------------------------------------------------
 *
 * The same bytes jansson made of these records (jsonw.h), written in place
 * into the batch or a stack buffer.
 */

/* host_text - an address as addr_ntop() writes it, into buf
 * (ADDR_STRLEN); returns the length. IPv4 by hand: inet_ntop's is sprintf. */
static size_t
host_text(char *buf, int family, const uint8_t *a)
{
	if (family == AF_INET) {
		char *o = buf;

		for (int i = 0; i < 4; i++) {
			unsigned v = a[i];

			if (i > 0)
				*o++ = '.';
			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
		}
		*o = '\0';
		return (size_t)(o - buf);
	}
	if (family != AF_INET6 ||
	    inet_ntop(AF_INET6, a, buf, ADDR_STRLEN) == NULL)
		memcpy(buf, "unknown", 8);
	return strlen(buf);
}

/* hostport_text - as addr_fmt(): "a.b.c.d:port", "[v6]:port" (buf holds
 * ADDRPORT_STRLEN). */
static size_t
hostport_text(char *buf, int family, const uint8_t *a, unsigned port)
{
	char tmp[8], *t = tmp + sizeof(tmp);
	size_t n = 0;

	if (family == AF_INET6)
		buf[n++] = '[';
	n += host_text(buf + n, family, a);
	if (family == AF_INET6)
		buf[n++] = ']';
	buf[n++] = ':';
	do {
		*--t = (char)('0' + port % 10);
		port /= 10;
	} while (port != 0);
	memcpy(buf + n, t, (size_t)(tmp + sizeof(tmp) - t));
	n += (size_t)(tmp + sizeof(tmp) - t);
	buf[n] = '\0';
	return n;
}

/* The calendar part of the last second formatted, per thread: records of
 * one session mostly share it. */
static _Thread_local struct {
	int64_t sec;
	size_t len;
	char base[24];
} tcache = { .sec = -1 };

/* put_time - "k":"2026-11-20T10:03:12.345Z" as fmt_time() writes it
 * (and the same into ko, the sink's view, when there is one). */
static void
put_time(struct jw *w, const char *k, int64_t ms, json_t *ko)
{
	char buf[48];
	size_t n;

	jw_key(w, k);
	if (ms < 0) {
		jw_str(w, fmt_time(buf, sizeof(buf), ms));
		if (ko != NULL)
			json_object_set_new(ko, k, json_string(buf));
		return;
	}
	if (ms / 1000 != tcache.sec) {
		time_t t = (time_t)(ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		tcache.len = strftime(tcache.base, sizeof(tcache.base),
		    "%Y-%m-%dT%H:%M:%S", &tm);
		tcache.sec = ms / 1000;
	}
	buf[0] = '"';
	memcpy(buf + 1, tcache.base, tcache.len);
	n = 1 + tcache.len;
	buf[n++] = '.';
	buf[n++] = (char)('0' + ms % 1000 / 100);
	buf[n++] = (char)('0' + ms % 100 / 10);
	buf[n++] = (char)('0' + ms % 10);
	buf[n++] = 'Z';
	buf[n++] = '"';
	jw_raw(w, buf, n);
	if (ko != NULL)
		json_object_set_new(ko, k, json_stringn(buf + 1, n - 2));
}

/* jstr - s for the sink's view as the record's text has it: invalid UTF-8
 * with every byte >= 0x80 as '?' (jsonw.h). */
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
kstr(json_t *ko, const char *k, const char *s)
{
	if (ko != NULL)
		json_object_set_new(ko, k, jstr(s));
}

static void
put_addrs(struct jw *w, const struct audit_session *rec, json_t *ko)
{
	char buf[ADDR_STRLEN];
	size_t n;

	n = host_text(buf, rec->src.family, rec->src.a);
	/* No identity looked up: the subscriber is its address. */
	jw_key(w, "subscriber");
	if (rec->subscriber != NULL)
		jw_str(w, rec->subscriber);
	else
		jw_strn(w, buf, n);
	jw_kstr(w, "subscriber_source", rec->subscriber_source != NULL
	    ? rec->subscriber_source : "address");
	if (rec->policy_class != NULL)
		jw_kstr(w, "policy_class", rec->policy_class);
	jw_key(w, "src");
	jw_strn(w, buf, n);
	jw_kint(w, "src_port", rec->src.port);
	if (ko != NULL) {
		kstr(ko, "subscriber", rec->subscriber != NULL ? rec->subscriber
		    : buf);
		kstr(ko, "src", buf);
	}
	n = host_text(buf, rec->dst.family, rec->dst.a);
	jw_key(w, "dst");
	jw_strn(w, buf, n);
	jw_kint(w, "dst_port", rec->dst.port);
	kstr(ko, "dst", buf);
}

/* Output ----------------------------------------------------------------
 *
 * A worker's batch goes out with one write(2), any other record with one of
 * its own. When a write fails (full disk, quota, I/O error) the records it
 * did not write whole, and every record after them, go to a bounded queue
 * instead, one entry per record, in order, and the
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
	int serial = atomic_load_explicit(&fd_serial, memory_order_relaxed);
	int rc = 0;

	if (serial)
		pthread_mutex_lock(&w_mu);
	*done = 0;
	while (*done < n) {
		ssize_t w;

		if (audit_fd < 0) {
			rc = -EBADF;
			break;
		}
		w = write(audit_fd, p + *done, n - *done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		*done += (size_t)w;
	}
	if (serial)
		pthread_mutex_unlock(&w_mu);
	return rc;
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

/* enqueue_rest - the records of p[0..n) (newline-ended, nrec of them)
 * that did not go out whole when done bytes did: those before are counted
 * written, the one cut is queued as partial, the rest queued (q_mu held). */
static void
enqueue_rest(const char *p, size_t n, size_t done)
{
	const char *end = p + n, *r = p;

	while (r < end) {
		const char *nl = memchr(r, '\n', (size_t)(end - r));
		size_t len = nl != NULL ? (size_t)(nl + 1 - r) : (size_t)(end - r);
		size_t off = (size_t)(r - p);

		if (off + len <= done)
			atomic_fetch_add(&st_written, 1);
		else
			enqueue(r, len, done > off);
		r += len;
	}
}

/* out - write nrec whole records (n bytes, each ending in its newline) with
 * one write(2), or queue them. */
static int
out(const char *p, size_t n, size_t nrec)
{
	size_t done = 0;
	int rc;

	if (!atomic_load(&failing)) {
		if ((rc = write_all(p, n, &done)) == 0) {
			atomic_fetch_add(&st_written, nrec);
			return 0;
		}
		pthread_mutex_lock(&q_mu);
		atomic_store(&failing, 1);
		enqueue_rest(p, n, done);
		note_error(rc);
		q_last_try = now_ms();
		pthread_mutex_unlock(&q_mu);
		return rc;
	}
	pthread_mutex_lock(&q_mu);
	enqueue_rest(p, n, 0);
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

uint64_t
audit_count_tempfail(void)
{
	return atomic_fetch_add(&st_tempfailed, 1) + 1;
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
	st->tempfailed = atomic_load(&st_tempfailed);
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

/* Records are built in place: in the thread's batch when it has one, else
 * in a stack buffer written at once. */
struct recbuf {
	struct jw *w;
	size_t start;		/* where the record begins in w */
	json_t *ko;		/* the sink's view, when there is a sink */
	struct jw own;
	char stack[4096];
};

static struct jw *
rec_begin(struct recbuf *rb)
{
	if (tb != NULL) {
		rb->w = &tb->w;
		rb->start = tb->w.len;
	} else {
		jw_init(&rb->own, rb->stack, sizeof(rb->stack));
		rb->w = &rb->own;
		rb->start = 0;
	}
	rb->ko = sink != NULL ? json_object() : NULL;
	jw_obj_open(rb->w);
	return rb->w;
}

/* to_sink - the record to the sink: its text and, as a jansson object,
 * the fields the index reads (audit_sink_fn). */
static void
to_sink(json_t *ko, const char *line, size_t n)
{
	if (ko == NULL)
		return;
	if (sink != NULL)
		sink(ko, line, n);
	json_decref(ko);
}

/* rec_end - one record: into the batch (written at the next audit_flush,
 * or now when the batch is full) or to the file (or its queue) at once;
 * then to the sink. */
static void
rec_end(struct recbuf *rb)
{
	struct jw *w = rb->w;
	size_t n;

	jw_obj_close(w);
	n = w->len - rb->start;
	jw_nl(w);
	if (w != &rb->own) {
		tb->nrec++;
		to_sink(rb->ko, w->p + rb->start, n);
		if (w->len >= BATCH_FLUSH)
			audit_flush();
		return;
	}
	(void)out(w->p, n + 1, 1);
	to_sink(rb->ko, w->p, n);
	jw_free(w);
}

void
audit_thread_begin(void)
{
	if (tb != NULL)
		return;
	tb = xcalloc(1, sizeof(*tb));
	jw_init(&tb->w, NULL, 0);
	(void)jw_reserve(&tb->w, 16 * 1024);
}

void
audit_flush(void)
{
	if (tb == NULL || tb->nrec == 0)
		return;
	(void)out(tb->w.p, tb->w.len, tb->nrec);
	tb->w.len = 0;
	tb->nrec = 0;
}

void
audit_thread_end(void)
{
	if (tb == NULL)
		return;
	audit_flush();
	jw_free(&tb->w);
	free(tb);
	tb = NULL;
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

/* put_geo - dst_asn, dst_as_org, dst_country where a database knows them. */
static void
put_geo(struct jw *w, const struct audit_addr *dst)
{
	struct geoip_result g;
	union sockaddr_any a;

	if (!geoip_enabled())
		return;
	audit_addr_get(dst, &a);
	geoip_lookup(&a, &g);
	if (g.asn != 0)
		jw_kint(w, "dst_asn", g.asn);
	if (g.as_org[0] != '\0')
		jw_kstr(w, "dst_as_org", g.as_org);
	if (g.country[0] != '\0')
		jw_kstr(w, "dst_country", g.country);
}

/* put_rcpts - the recipients as audit.recipients says: "rcpts" in full,
 * "rcpts_hmac" (HMAC-SHA256 of each normalised address, audit_key.h), or
 * nothing but rcpt_count. */
static void
put_rcpts(const struct config *c, struct jw *w, const struct smtp_txn *t,
    json_t *ko)
{
	char h[AUDIT_HMAC_HEX + 1];
	json_t *ka = ko != NULL ? json_array() : NULL;

	switch (c->audit.recipients) {
	case AUDIT_RCPT_COUNT:
		json_decref(ka);
		return;
	case AUDIT_RCPT_HMAC:
		jw_key(w, "rcpts_hmac");
		jw_arr_open(w);
		for (size_t i = 0; i < t->nrcpts_kept; i++) {
			if (audit_rcpt_hmac(h, c->audit.hmac_key.value,
			    c->audit.hmac_key.len, t->rcpts[i]) == 0) {
				jw_strn(w, h, AUDIT_HMAC_HEX);
				if (ka != NULL)
					json_array_append_new(ka, json_string(h));
			}
		}
		jw_arr_close(w);
		if (ko != NULL)
			json_object_set_new(ko, "rcpts_hmac", ka);
		return;
	default:
		jw_key(w, "rcpts");
		jw_arr_open(w);
		for (size_t i = 0; i < t->nrcpts_kept; i++) {
			jw_str(w, t->rcpts[i]);
			if (ka != NULL)
				json_array_append_new(ka, jstr(t->rcpts[i]));
		}
		jw_arr_close(w);
		if (ko != NULL)
			json_object_set_new(ko, "rcpts", ka);
		return;
	}
}

static void
put_listener(struct jw *w, const struct config *c, int idx)
{
	char buf[ADDRPORT_STRLEN];
	const union sockaddr_any *a;
	size_t n;

	jw_key(w, "listener");
	if (idx < 0 || (size_t)idx >= c->nlisteners) {
		jw_str(w, "?");
		return;
	}
	a = &c->listeners[idx].addr;
	n = hostport_text(buf, a->sa.sa_family, a->sa.sa_family == AF_INET6
	    ? (const uint8_t *)&a->sin6.sin6_addr
	    : (const uint8_t *)&a->sin.sin_addr, addr_port(a));
	jw_strn(w, buf, n);
}

void
audit_write_session(const struct config *c, struct audit_session *rec)
{
	struct recbuf rb;
	struct jw *w = rec_begin(&rb);

	if (rec->end_ms == 0)
		rec->end_ms = now_ms();
	jw_kint(w, "v", 1);
	jw_kstr(w, "type", "session");
	jw_kstr(w, "id", rec->id);
	if (rb.ko != NULL) {
		kstr(rb.ko, "type", "session");
		kstr(rb.ko, "id", rec->id);
	}
	jw_kstr(w, "node", c->node);
	jw_kint(w, "worker", rec->worker);
	put_time(w, "start", rec->start_ms, rb.ko);
	put_time(w, "end", rec->end_ms, NULL);
	jw_kint(w, "duration_ms", rec->end_ms - rec->start_ms);
	if (rec->observed)
		jw_kstr(w, "listener", "conntrack");
	else
		put_listener(w, c, rec->listener);
	jw_kstr(w, "mode", rec->mode == LISTEN_SMTP ? "smtp" : "passthrough");
	jw_kstr(w, "class", rec->cls);
	put_addrs(w, rec, rb.ko);
	put_geo(w, &rec->dst);
	if (rec->redirected_to.family != 0) {
		char abuf[ADDRPORT_STRLEN];
		size_t n = hostport_text(abuf, rec->redirected_to.family,
		    rec->redirected_to.a, rec->redirected_to.port);

		jw_key(w, "redirected_to");
		jw_strn(w, abuf, n);
	}
	if (rec->mode == LISTEN_SMTP) {
		/* unknown or empty: left out (docs/audit.md) */
		if (rec->greeting_host != NULL && *rec->greeting_host != '\0')
			jw_kstr(w, "greeting_host", rec->greeting_host);
		if (rec->ehlo != NULL && *rec->ehlo != '\0')
			jw_kstr(w, "ehlo", rec->ehlo);
		if (rec->auth_mech != NULL && *rec->auth_mech != '\0')
			jw_kstr(w, "auth_mech", rec->auth_mech);
		if (rec->auth_user != NULL && *rec->auth_user != '\0')
			jw_kstr(w, "auth_user", rec->auth_user);
		jw_kint(w, "transactions", rec->transactions);
		jw_kint(w, "commands", rec->commands);
		jw_kint(w, "errors", rec->errors);
	}
	if (rec->observed) {
		jw_kstr(w, "observed", "conntrack");
		if (rec->bytes_known) {
			jw_kint(w, "ip_bytes_from_client",
			    (long long)rec->bytes_from_client);
			jw_kint(w, "ip_bytes_from_upstream",
			    (long long)rec->bytes_from_upstream);
		}
	} else {
		jw_kint(w, "bytes_from_client",
		    (long long)rec->bytes_from_client);
		jw_kint(w, "bytes_to_client", (long long)rec->bytes_to_client);
		jw_kint(w, "bytes_to_upstream",
		    (long long)rec->bytes_to_upstream);
		jw_kint(w, "bytes_from_upstream",
		    (long long)rec->bytes_from_upstream);
	}
	if (rec->mode == LISTEN_SMTP) {
		jw_kint(w, "dropped_after_starttls",
		    (long long)rec->dropped_after_starttls);
		jw_kint(w, "normalized_newlines",
		    (long long)rec->normalized_newlines);
	}
	if (rec->ndecisions > 0) {
		jw_key(w, "decisions");
		jw_arr_open(w);
		for (uint8_t i = 0; i < rec->ndecisions; i++) {
			const struct audit_decision *d = &rec->decisions[i];

			jw_obj_open(w);
			jw_kstr(w, "point", d->point);
			jw_kstr(w, "limit", d->limit);
			jw_kstr(w, "verdict", d->verdict);
			jw_kstr(w, "source", d->source);
			jw_obj_close(w);
		}
		jw_arr_close(w);
	}
	jw_kstr(w, "end_reason", rec->end_reason[0] ? rec->end_reason
	    : "unknown");
	rec_end(&rb);
}

void
audit_write_txn(const struct config *c, const struct audit_session *rec,
    const struct smtp_txn *t)
{
	struct recbuf rb;
	struct jw *w = rec_begin(&rb);

	jw_kint(w, "v", 1);
	jw_kstr(w, "type", "txn");
	jw_kstr(w, "session", rec->id);
	jw_kstr(w, "node", c->node);
	jw_kint(w, "seq", t->seq);
	if (rb.ko != NULL) {
		kstr(rb.ko, "type", "txn");
		kstr(rb.ko, "session", rec->id);
		json_object_set_new(rb.ko, "seq", json_integer(t->seq));
		kstr(rb.ko, "message_id", t->message_id);
		kstr(rb.ko, "queue_id", t->queue_id);
	}
	put_time(w, "start", t->start_ms, rb.ko);
	put_time(w, "end", t->end_ms, NULL);
	put_addrs(w, rec, rb.ko);
	put_geo(w, &rec->dst);
	jw_kstr(w, "mail_from", t->mail_from);
	put_rcpts(c, w, t, rb.ko);
	jw_kint(w, "rcpt_count", (long long)t->nrcpts_accepted);
	jw_kint(w, "rcpt_refused", (long long)t->nrcpts_refused);
	jw_kstr(w, "message_id", t->message_id);
	jw_kint(w, "size", (long long)t->size);
	jw_kstr(w, "reply", t->data_reply);
	jw_kint(w, "reply_code", t->data_reply_code);
	jw_kstr(w, "queue_id", t->queue_id);
	jw_kstr(w, "outcome", t->outcome);
	rec_end(&rb);
}

void
audit_log_end(const struct audit_session *rec)
{
	char src[ADDRPORT_STRLEN], dst[ADDRPORT_STRLEN], ehlo[160], user[160];
	const char *e = rec->ehlo ? rec->ehlo : "";
	const char *u = rec->auth_user ? rec->auth_user : "";

	if (!log_enabled(LOG_INFO))
		return;
	hostport_text(src, rec->src.family, rec->src.a, rec->src.port);
	hostport_text(dst, rec->dst.family, rec->dst.a, rec->dst.port);
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
