/*
 * worker.c - a worker thread: its loop, listeners, session registry, pipe
 * pool and the drain sequence (see worker.h).
 *
 * Drain (SIGTERM): every listener closes at once; sessions go on until
 * shutdown.drain_timeout; then SMTP sessions get "421 4.3.2 Service shutting
 * down" (smtp_shutdown) and tunnels are closed; after a short grace whatever
 * is left is closed hard. Every session writes its audit record when it is
 * freed, so the loop ends only after every record is written.
 *
 * Audit records of one loop iteration go out together: a prepare handle
 * (it runs just before the loop polls, i.e. before it may sleep) calls
 * audit_flush, and the thread flushes once more when its loop has ended.
 * audit_flush hands the batch to the audit writer thread (started with the
 * first worker): the loop never waits for the disk.
 */
#include "util.h"	/* before uv.h: sys/param.h defines MIN/MAX too */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "listener.h"
#include "log.h"
#include "policy.h"
#include "relay.h"
#include "srclimit.h"
#include "tunnel.h"

#define NO_SLOT UINT32_MAX
#define PIPE_SIZE (256 * 1024)
#define PIPE_POOL_MAX 64	/* idle pipes kept per worker */
#define FORCE_GRACE_MS 3000	/* after the 421: time to flush before hard close */

static void worker_maybe_finish(struct worker *w);

/* Sessions per source, counted across every worker (srclimit.h): made by
 * the first worker_init, on the main thread, before any worker runs. */
static struct srclimit *sources;

void
worker_init(struct worker *w, int id, const struct config *conf, int *listen_fds)
{
	uint32_t r = 0;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->conf = conf;
	w->listen_fds = listen_fds;
	w->free_head = NO_SLOT;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)now_ms() * 2654435761u;
	w->seq = r & 0xffffff;
	atomic_init(&w->cmd, 0);
	atomic_init(&w->exited, 0);
	if (sources == NULL)
		sources = srclimit_new();
}

/* Session registry --------------------------------------------------- */

void
worker_register(struct worker *w, struct sess_hdr *h, enum sess_kind kind)
{
	uint32_t i;

	if (w->free_head == NO_SLOT) {
		size_t n = w->nslots;

		w->slots = xgrow(w->slots, &n, n + 1, sizeof(*w->slots), 256);
		for (i = n; i-- > w->nslots;) {
			w->slots[i].sess = NULL;
			w->slots[i].gen = 0;
			w->slots[i].next_free = w->free_head;
			w->free_head = i;
		}
		w->nslots = (uint32_t)n;
	}
	i = w->free_head;
	w->free_head = w->slots[i].next_free;
	w->slots[i].sess = h;
	w->slots[i].gen = ++w->gen;
	h->w = w;
	h->slot = i;
	h->gen = w->slots[i].gen;
	h->kind = (uint8_t)kind;
	h->port25 = kind == SESS_RELAY;
	h->held = 0;
	if (kind == SESS_RELAY && w->pending) {
		h->src = w->pending_src;
		h->held = 1;
		w->pending = 0;
	}
	if (kind == SESS_RELAY)
		WSTAT_ADD(w, cur_relay, 1);
	else
		WSTAT_ADD(w, cur_tunnel, 1);
}

void
worker_release(struct sess_hdr *h)
{
	struct worker *w = h->w;
	struct worker_slot *s = &w->slots[h->slot];

	s->sess = NULL;
	s->gen = 0;
	s->next_free = w->free_head;
	w->free_head = h->slot;
	if (h->kind == SESS_RELAY)
		WSTAT_ADD(w, cur_relay, (uint64_t)-1);
	else
		WSTAT_ADD(w, cur_tunnel, (uint64_t)-1);
	if (h->kind == SESS_TUNNEL && h->port25)
		WSTAT_ADD(w, cur_tls_tunnel, (uint64_t)-1);
	if (h->held)
		srclimit_put(sources, &h->src);
	h->held = 0;
	worker_maybe_finish(w);
}

int
worker_source_take(struct worker *w, const union sockaddr_any *src,
    uint32_t *n)
{
	*n = 0;
	worker_source_settle(w);
	if (w->conf->bounds.per_source == 0 ||
	    srclimit_key(&w->pending_src, src) < 0)
		return 1;	/* no cap, or not IP: nothing to count */
	if (!srclimit_take(sources, &w->pending_src, w->conf->bounds.per_source,
	    0, n))
		return 0;
	w->pending = 1;
	return 1;
}

void
worker_source_settle(struct worker *w)
{
	if (w->pending)
		srclimit_put(sources, &w->pending_src);
	w->pending = 0;
}

void
worker_port25_tunnel(struct sess_hdr *h, const union sockaddr_any *src)
{
	h->port25 = 1;
	WSTAT_ADD(h->w, cur_tls_tunnel, 1);
	if (srclimit_key(&h->src, src) == 0)
		h->held = srclimit_take(sources, &h->src, 0, 1, NULL);
}

struct sess_hdr *
worker_lookup(struct worker *w, const struct sess_key *k)
{
	if (k->worker != (uint32_t)w->id || k->slot >= w->nslots ||
	    w->slots[k->slot].sess == NULL || w->slots[k->slot].gen != k->gen)
		return NULL;
	return w->slots[k->slot].sess;
}

void
sess_key_of(const struct sess_hdr *h, struct sess_key *k)
{
	k->worker = (uint32_t)h->w->id;
	k->slot = h->slot;
	k->gen = h->gen;
}

void
worker_count_bytes(struct worker *w, int mode, uint64_t from_client,
    uint64_t to_client, uint64_t to_upstream, uint64_t from_upstream)
{
	int m = mode == LISTEN_SMTP ? LISTEN_SMTP : LISTEN_PASSTHROUGH;

	WSTAT_ADD(w, bytes[m][WSTAT_FROM_CLIENT], from_client);
	WSTAT_ADD(w, bytes[m][WSTAT_TO_CLIENT], to_client);
	WSTAT_ADD(w, bytes[m][WSTAT_TO_UPSTREAM], to_upstream);
	WSTAT_ADD(w, bytes[m][WSTAT_FROM_UPSTREAM], from_upstream);
}

/* Pipe pool ---------------------------------------------------------- */

int
worker_pipe_get(struct worker *w, struct tpipe *p)
{
	int fds[2];

	if (w->npipes > 0) {
		*p = w->pipes[--w->npipes];
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	/* Bigger pipes mean fewer wakeups; beyond fs.pipe-max-size (or the
	 * per-user pipe quota) the kernel refuses and 64 KiB stays. */
	(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE);
	p->r = fds[0];
	p->w = fds[1];
	return 0;
}

void
worker_pipe_put(struct worker *w, struct tpipe *p, int clean)
{
	if (p->r < 0)
		return;
	if (clean && !w->finished && w->npipes < PIPE_POOL_MAX) {
		w->pipes = xgrow(w->pipes, &w->pipecap, w->npipes + 1,
		    sizeof(*w->pipes), 16);
		w->pipes[w->npipes++] = *p;
	} else {
		close(p->r);
		close(p->w);
	}
	p->r = p->w = -1;
}

/* Drain -------------------------------------------------------------- */

static void
for_each_session(struct worker *w, void (*fn)(struct sess_hdr *h, void *arg),
    void *arg)
{
	/* fn may release slots (sessions that close synchronously do not:
	 * release happens in close callbacks), so walk by index. */
	for (uint32_t i = 0; i < w->nslots; i++)
		if (w->slots[i].sess != NULL)
			fn(w->slots[i].sess, arg);
}

static void
end_soft(struct sess_hdr *h, void *arg)
{
	if (h->kind == SESS_RELAY)
		relay_shutdown((struct relay *)h);
	else if (h->kind == SESS_TUNNEL)
		tunnel_abort((struct tunnel *)h, "shutdown");
}

static void
end_hard(struct sess_hdr *h, void *arg)
{
	if (h->kind == SESS_RELAY)
		relay_abort((struct relay *)h, "shutdown");
	else if (h->kind == SESS_TUNNEL)
		tunnel_abort((struct tunnel *)h, "shutdown");
}

static void
hard_cb(uv_timer_t *t)
{
	struct worker *w = t->data;

	log_info("event=drain_hard worker=%d sessions=%zu", w->id,
	    WORKER_SESSIONS(w));
	for_each_session(w, end_hard, NULL);
}

static void
worker_force(struct worker *w)
{
	if (w->forcing)
		return;
	w->forcing = 1;
	log_info("event=drain_deadline worker=%d sessions=%zu", w->id,
	    WORKER_SESSIONS(w));
	for_each_session(w, end_soft, NULL);
	if (!w->finished)
		uv_timer_start(&w->drain_timer, hard_cb, FORCE_GRACE_MS, 0);
}

static void
drain_cb(uv_timer_t *t)
{
	worker_force(t->data);
}

static void
worker_drain(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = 1;
	for (size_t i = 0; i < w->conf->nlisteners; i++)
		listener_stop(&w->listeners[i]);
	log_info("event=drain_start worker=%d sessions=%zu timeout_ms=%u",
	    w->id, WORKER_SESSIONS(w), w->conf->drain_timeout);
	if (WORKER_SESSIONS(w) == 0) {
		worker_maybe_finish(w);
		return;
	}
	uv_timer_start(&w->drain_timer, drain_cb, w->conf->drain_timeout, 0);
}

static void
worker_maybe_finish(struct worker *w)
{
	if (!w->draining || WORKER_SESSIONS(w) > 0 || w->finished)
		return;
	w->finished = 1;
	uv_timer_stop(&w->drain_timer);
	uv_close((uv_handle_t *)&w->drain_timer, NULL);
	uv_close((uv_handle_t *)&w->async, NULL);
	uv_close((uv_handle_t *)&w->audit_prep, NULL);
	uv_close((uv_handle_t *)&w->tick_timer, NULL);
	policy_worker_stop(w);
	/* The loop ends once these close callbacks have run. */
}

static void
async_cb(uv_async_t *a)
{
	struct worker *w = a->data;
	int cmd = atomic_exchange(&w->cmd, 0);

	if (w->finished)
		return;
	if (cmd & (WORKER_CMD_DRAIN | WORKER_CMD_FORCE))
		worker_drain(w);
	if ((cmd & WORKER_CMD_FORCE) && !w->finished)
		worker_force(w);
}

void
worker_command(struct worker *w, int cmd)
{
	/* A worker that has ended has closed its async handle. Its loop (and
	 * the loop's wakeup descriptor) stays allocated until worker_destroy,
	 * which runs after the signal handlers are gone, so the check-then-send
	 * race is harmless. */
	if (atomic_load(&w->exited))
		return;
	atomic_fetch_or(&w->cmd, cmd);
	uv_async_send(&w->async);
}

/* Thread ------------------------------------------------------------- */

static void
audit_prep_cb(uv_prepare_t *p)
{
	audit_flush();
}

static void
tick_cb(uv_timer_t *t)
{
	struct worker *w = t->data;

	atomic_store_explicit(&w->alive_ms, uv_hrtime() / 1000000,
	    memory_order_relaxed);
}

int
worker_alive(const struct worker *w, uint64_t within_ms)
{
	uint64_t now = uv_hrtime() / 1000000;
	uint64_t t = atomic_load_explicit(&w->alive_ms, memory_order_relaxed);

	return !atomic_load(&w->exited) && t + within_ms >= now;
}

static void
worker_main(void *arg)
{
	struct worker *w = arg;

	audit_thread_begin();
	uv_run(&w->loop, UV_RUN_DEFAULT);
	audit_thread_end();	/* the records of the last iteration */
	log_info("event=worker_end worker=%d accepted=%llu smtp=%llu tunnels=%llu "
	    "txn=%llu refused_loop=%llu refused_limit=%llu connect_failed=%llu",
	    w->id, (unsigned long long)w->st.accepted,
	    (unsigned long long)w->st.smtp_sessions,
	    (unsigned long long)w->st.tunnels, (unsigned long long)w->st.txns,
	    (unsigned long long)w->st.refused_loop,
	    (unsigned long long)w->st.refused_limit,
	    (unsigned long long)w->st.connect_failed);
	atomic_store(&w->exited, 1);
	if (w->on_exit != NULL)
		w->on_exit(w);
}

/* fd_threshold - limits.fd_reserve against the descriptor limit (main.c
 * raised it to the hard limit): port-25 accepts stop this far below it, so
 * that 587/465 and the sessions already in keep descriptors. A reserve of
 * more than half the limit is taken as half. */
static int
fd_threshold(const struct worker *w)
{
	struct rlimit rl;
	rlim_t reserve = w->conf->bounds.fd_reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > INT32_MAX)
		return INT32_MAX;
	if (reserve > rl.rlim_cur / 2) {
		if (w->id == 0)
			log_warn("event=fd_reserve_clamped nofile=%llu "
			    "fd_reserve=%llu used=%llu",
			    (unsigned long long)rl.rlim_cur,
			    (unsigned long long)reserve,
			    (unsigned long long)(rl.rlim_cur / 2));
		reserve = rl.rlim_cur / 2;
	}
	return (int)(rl.rlim_cur - reserve);
}

int
worker_start(struct worker *w)
{
	int rc;

	w->fd_high = fd_threshold(w);
	if ((rc = audit_writer_start()) < 0)
		return rc;

	if ((rc = uv_loop_init(&w->loop)) < 0)
		return rc;
	w->loop.data = w;
	w->rbuf = xmalloc(WORKER_RBUF_SIZE);
	uv_async_init(&w->loop, &w->async, async_cb);
	w->async.data = w;
	uv_timer_init(&w->loop, &w->drain_timer);
	w->drain_timer.data = w;
	uv_prepare_init(&w->loop, &w->audit_prep);
	uv_prepare_start(&w->audit_prep, audit_prep_cb);
	uv_timer_init(&w->loop, &w->tick_timer);
	w->tick_timer.data = w;
	atomic_store(&w->alive_ms, uv_hrtime() / 1000000);
	uv_timer_start(&w->tick_timer, tick_cb, WORKER_TICK_MS, WORKER_TICK_MS);
	if ((rc = policy_worker_start(w)) < 0)
		return rc;
	w->listeners = xcalloc(w->conf->nlisteners, sizeof(*w->listeners));
	for (size_t i = 0; i < w->conf->nlisteners; i++) {
		rc = listener_start(&w->listeners[i], w, (int)i, w->listen_fds[i]);
		if (rc < 0)
			return rc;
	}
	/* The loop is used by the new thread only from here on. */
	return uv_thread_create(&w->thread, worker_main, w);
}

void
worker_join(struct worker *w)
{
	uv_thread_join(&w->thread);
}

void
worker_destroy(struct worker *w)
{
	if (uv_loop_close(&w->loop) < 0)
		log_warn("event=loop_close_busy worker=%d", w->id);
	for (size_t i = 0; i < w->npipes; i++) {
		close(w->pipes[i].r);
		close(w->pipes[i].w);
	}
	free(w->pipes);
	free(w->slots);
	free(w->listeners);
	free(w->rbuf);
	free(w->listen_fds);
}
