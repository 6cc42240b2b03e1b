/*
 * audit.c - the audit trail's output (see audit.h): JSON lines to one file. The file descriptor is opened once by the main thread;
 * writers append whole records on an O_APPEND descriptor. audit_reopen()
 * swaps the file underneath with dup2(), which is atomic: a concurrent
 * writer sees either the old or the new file, never a closed descriptor.
 *
 * The bytes of a record come from audit_record.c, made in place into the
 * thread's batch or a stack buffer; the sink (the Redis index) gets them
 * with the record's facts (audit_key.h), plain C filled as the text is made.
 *
 * A worker thread batches (audit_thread_begin): its records go into a
 * buffer of its own, built in place, and audit_flush() writes the buffer
 * with one write(2) once per loop iteration (and at BATCH_FLUSH bytes, and
 * when the worker ends). Any other thread writes each record at once.
 * SIGHUP does not reach into the batches: the worker writes them, within
 * its loop iteration, to whichever file the descriptor then names.
 *
 * With the writer thread (audit_writer_start, done before the workers
 * start), audit_flush does not write: it hands the batch buffer over to a
 * FIFO that the writer thread empties with the same out() (so the failing
 * queue, the retries and SIGHUP behave as before), and the worker goes on
 * with a fresh buffer: a slow or stuck disk stalls the writer, never a
 * worker loop. The FIFO keeps each worker's records in order. It is bounded
 * (WQ_MAX_BYTES): while it is over, the writer is "behind" (audit_failing,
 * audit_tempfail: new port-25 sessions are refused under tempfail) and a
 * batch that does not fit is lost and counted, like the failing queue's.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

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

/* The writer thread's FIFO of batches (see the top of the file). */
#define WQ_MAX_BYTES QUEUE_MAX_BYTES
struct wchunk {
	struct wchunk *next;
	char *p;		/* malloc'd, whole newline-ended records */
	size_t len, nrec;
};
static pthread_mutex_t wq_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wq_cv = PTHREAD_COND_INITIALIZER;
static struct wchunk *wq_head, *wq_tail;
static size_t wq_bytes;
static int wq_stop, wq_running;
static int64_t wq_last_log;
static pthread_t wq_thread;
static atomic_int behind;
static int out(const char *p, size_t n, size_t nrec);

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

int
audit_chown(uid_t uid, gid_t gid)
{
	struct stat sb;

	if (audit_path == NULL || strcmp(audit_path, "-") == 0)
		return 0;
	if (fstat(audit_fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode) || sb.st_uid != 0)
		return 0;
	return fchown(audit_fd, uid, gid) < 0 ? -errno : 0;
}

void
audit_close(void)
{
	audit_writer_stop();
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
	return atomic_load(&failing) || atomic_load(&behind);
}

int
audit_tempfail(const struct config *c)
{
	return c->audit.on_write_error == AUDIT_WERR_TEMPFAIL && audit_failing();
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
	pthread_mutex_lock(&wq_mu);
	st->writer_bytes = wq_bytes;
	pthread_mutex_unlock(&wq_mu);
	st->behind = atomic_load(&behind);
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
	audit_sink_fn *sink;	/* as it was when the record began */
	struct audit_rec_facts rf;	/* the record's facts, for the sink */
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
	rb->sink = sink;
	return rb->w;
}

/* rb_facts - where the formatter puts the record's facts: nowhere when
 * there is no sink to give them to. */
static struct audit_rec_facts *
rb_facts(struct recbuf *rb)
{
	return rb->sink != NULL ? &rb->rf : NULL;
}

/* rec_end - one record: into the batch (written at the next audit_flush,
 * or now when the batch is full) or to the file (or its queue) at once;
 * then to the sink, with its facts. */
static void
rec_end(struct recbuf *rb)
{
	struct jw *w = rb->w;
	size_t n;

	n = w->len - rb->start;
	jw_nl(w);
	if (w != &rb->own) {
		tb->nrec++;
		if (rb->sink != NULL)
			rb->sink(&rb->rf.f, w->p + rb->start, n);
		if (w->len >= BATCH_FLUSH)
			audit_flush();
		return;
	}
	(void)out(w->p, n + 1, 1);
	if (rb->sink != NULL)
		rb->sink(&rb->rf.f, w->p, n);
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

/* Writer thread --------------------------------------------------------- */

static void *
writer_main(void *arg)
{
	struct wchunk *c;

	(void)arg;
	pthread_mutex_lock(&wq_mu);
	for (;;) {
		while (wq_head == NULL && !wq_stop)
			pthread_cond_wait(&wq_cv, &wq_mu);
		if ((c = wq_head) == NULL)
			break;	/* stopping, and everything is out */
		wq_head = c->next;
		if (wq_head == NULL)
			wq_tail = NULL;
		pthread_mutex_unlock(&wq_mu);
		(void)out(c->p, c->len, c->nrec);
		pthread_mutex_lock(&wq_mu);
		wq_bytes -= c->len;
		if (wq_bytes <= WQ_MAX_BYTES / 2 && atomic_exchange(&behind, 0))
			log_warn("event=audit_writer_caught_up queued_bytes=%zu",
			    wq_bytes);
		free(c->p);
		free(c);
	}
	pthread_mutex_unlock(&wq_mu);
	return NULL;
}

int
audit_writer_start(void)
{
	int rc;

	if (wq_running)
		return 0;
	wq_stop = 0;
	if ((rc = pthread_create(&wq_thread, NULL, writer_main, NULL)) != 0)
		return -rc;
	wq_running = 1;
	return 0;
}

void
audit_writer_stop(void)
{
	if (!wq_running)
		return;
	pthread_mutex_lock(&wq_mu);
	wq_stop = 1;
	pthread_cond_signal(&wq_cv);
	pthread_mutex_unlock(&wq_mu);
	pthread_join(wq_thread, NULL);
	wq_running = 0;
}

/* hand_over - the batch goes to the writer thread (1), or is lost because
 * the writer is WQ_MAX_BYTES behind (0); either way tb starts afresh. */
static int
hand_over(void)
{
	struct wchunk *c;
	int64_t now;

	pthread_mutex_lock(&wq_mu);
	if (wq_bytes + tb->w.len > WQ_MAX_BYTES) {
		atomic_store(&behind, 1);
		atomic_fetch_add(&st_lost, tb->nrec);
		now = now_ms();
		if (now - wq_last_log >= LOG_EVERY_MS) {
			wq_last_log = now;
			log_err("event=audit_writer_behind queued_bytes=%zu lost=%llu",
			    wq_bytes, (unsigned long long)atomic_load(&st_lost));
		}
		pthread_mutex_unlock(&wq_mu);
		tb->w.len = 0;
		return 0;
	}
	c = xmalloc(sizeof(*c));
	c->next = NULL;
	c->len = tb->w.len;
	c->nrec = tb->nrec;
	if (tb->w.owned) {
		c->p = tb->w.p;	/* the buffer moves; tb gets a new one */
		jw_init(&tb->w, NULL, 0);
		(void)jw_reserve(&tb->w, 16 * 1024);
	} else {
		c->p = xmalloc(c->len);
		memcpy(c->p, tb->w.p, c->len);
		tb->w.len = 0;
	}
	if (wq_tail != NULL)
		wq_tail->next = c;
	else
		wq_head = c;
	wq_tail = c;
	wq_bytes += c->len;
	pthread_cond_signal(&wq_cv);
	pthread_mutex_unlock(&wq_mu);
	return 1;
}

void
audit_flush(void)
{
	if (tb == NULL || tb->nrec == 0)
		return;
	if (wq_running)
		(void)hand_over();
	else
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

void
audit_write_session(const struct config *c, struct audit_session *rec)
{
	struct recbuf rb;
	struct jw *w = rec_begin(&rb);

	if (rec->end_ms == 0)
		rec->end_ms = now_ms();
	audit__session_json(w, c, rec, rb_facts(&rb));
	rec_end(&rb);
}

void
audit_write_txn(const struct config *c, const struct audit_session *rec,
    const struct smtp_txn *t)
{
	struct recbuf rb;
	struct jw *w = rec_begin(&rb);

	audit__txn_json(w, c, rec, t, rb_facts(&rb));
	rec_end(&rb);
}
