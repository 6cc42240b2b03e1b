/*
 * worker.h - one event-loop thread of subgated (docs/design.md "Share-nothing
 * workers"). A worker owns its uv loop, its own listener sockets (one per
 * configured listener, SO_REUSEPORT), its sessions, a 64 KiB read buffer
 * shared by all of its SMTP sessions, a pool of pipes for the splice tunnel
 * and its counters. Nothing in a worker is touched by another thread except
 * the command word and the async handle (worker_command).
 *
 * Sessions (relay.c, tunnel.c) embed a struct sess_hdr and register in the
 * worker's slot table. Anything that answers a session later (the policy,
 * later Redis replies) carries a struct sess_key and finds the session with
 * worker_lookup(): a slot whose generation differs is a session that is gone.
 */
#ifndef SUBGATE_WORKER_H
#define SUBGATE_WORKER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cidr.h"
#include "config.h"

#define WORKER_RBUF_SIZE (64 * 1024)
#define WORKER_MAX 255	/* 255 is AUDIT_WORKER_CONNTRACK in record ids */

enum sess_kind { SESS_NONE, SESS_RELAY, SESS_TUNNEL };

/* sess_key - how an asynchronous answer names a session: never a pointer. */
struct sess_key {
	uint32_t worker;
	uint32_t slot;
	uint32_t gen;
};

struct sess_hdr {
	struct worker *w;
	uint32_t slot;
	uint32_t gen;
	uint8_t kind;
	uint8_t port25;		/* counts toward max_sessions: a relay, or
				 * its tunnel after STARTTLS */
	uint8_t held;		/* src is counted in limits.per_source */
	struct cidr_prefix src;
};

struct worker_slot {
	struct sess_hdr *sess;	/* NULL when free */
	uint32_t gen;
	uint32_t next_free;
};

struct tpipe {
	int r, w;
};

/* Counters: written by the worker's own thread only, read by the admin
 * endpoint's thread (admin.c) while they change, hence relaxed atomics. On
 * the worker add with WSTAT_ADD (one writer: a plain load and store, no
 * locked instruction); a plain "w->st.x++" is still correct, only dearer. */
typedef _Atomic uint64_t wstat_t;

enum { WSTAT_FROM_CLIENT, WSTAT_TO_CLIENT, WSTAT_TO_UPSTREAM, WSTAT_FROM_UPSTREAM };

struct worker_stats {
	wstat_t accepted;
	wstat_t refused_loop;
	wstat_t refused_limit;
	wstat_t smtp_sessions;
	wstat_t tunnels;		/* tunnel_start and tunnel_adopt */
	wstat_t connect_failed;
	wstat_t txns;
	wstat_t starttls_tunnels;	/* port-25 sessions handed to the tunnel */
	wstat_t redirected;		/* SMTP_REDIRECT: sent to the smarthost */
	wstat_t smarthost_failed;	/* handshake with it failed (or connect) */
	wstat_t bytes[2][4];		/* [enum listener_mode][WSTAT_*], added
					 * when a session ends */
	wstat_t cur_relay, cur_tunnel;	/* sessions open now, by kind */
	wstat_t cur_tls_tunnel;		/* of cur_tunnel: port 25 after STARTTLS */
	wstat_t refused_source;		/* limits.per_source */
	wstat_t refused_fd;		/* limits.fd_reserve */
	wstat_t idle_closed;		/* tunnels ended by their idle timeout */
};

#define WSTAT_ADD(w, f, n)                                                   \
	atomic_store_explicit(&(w)->st.f,                                     \
	    atomic_load_explicit(&(w)->st.f, memory_order_relaxed) + (n),     \
	    memory_order_relaxed)
/* WSTAT_GET - from any thread. */
#define WSTAT_GET(w, f) atomic_load_explicit(&(w)->st.f, memory_order_relaxed)

/* The sessions a worker has open are counted once, in its stats (exact in
 * the worker's own thread, a recent value in any other): port-25 sessions
 * (SMTP relays and the tunnels they became after STARTTLS: what
 * limits.max_sessions bounds), and every registered session. */
#define WORKER_SMTP_SESSIONS(w) \
	((size_t)(WSTAT_GET(w, cur_relay) + WSTAT_GET(w, cur_tls_tunnel)))
#define WORKER_SESSIONS(w) \
	((size_t)(WSTAT_GET(w, cur_relay) + WSTAT_GET(w, cur_tunnel)))

enum { WORKER_CMD_DRAIN = 1, WORKER_CMD_FORCE = 2 };

/* How often a worker's loop proves it turns (worker_alive). */
#define WORKER_TICK_MS 100

struct listener;

struct worker {
	int id;
	const struct config *conf;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t async;
	atomic_int cmd;			/* WORKER_CMD_* bits, set by the main thread */
	atomic_int exited;		/* the loop has ended: no more commands */
	uv_timer_t drain_timer;
	uv_prepare_t audit_prep;	/* audit_flush before the loop waits */
	uv_timer_t tick_timer;		/* alive_ms, every WORKER_TICK_MS */
	_Atomic uint64_t alive_ms;	/* uv_hrtime() / 1e6 at the last tick */

	struct listener *listeners;	/* conf->nlisteners */
	int *listen_fds;		/* created by the main thread */

	char *rbuf;			/* WORKER_RBUF_SIZE, see relay.c */

	struct worker_slot *slots;
	uint32_t nslots;
	uint32_t free_head;		/* UINT32_MAX: none */
	uint32_t seq;			/* session id sequence (audit.h) */
	uint32_t gen;

	struct tpipe *pipes;		/* idle pipes for the tunnel */
	size_t npipes, pipecap;

	int draining, forcing, finished;
	struct worker_stats st;

	/* limits.per_source: the hold worker_source_take made for the relay
	 * that registers next (listener.c, then relay_start) */
	struct cidr_prefix pending_src;
	int pending;
	/* limits.fd_reserve: a port-25 accept that gets a descriptor this
	 * high is refused (set by worker_start from RLIMIT_NOFILE) */
	int fd_high;

	/* set by main.c: called on the worker thread when its loop ended */
	void (*on_exit)(struct worker *w);
};

/* worker_init - prepare w (on the main thread); listen_fds are w's own. */
void worker_init(struct worker *w, int id, const struct config *conf,
    int *listen_fds);
int worker_start(struct worker *w);
/* worker_command - from any thread: WORKER_CMD_DRAIN or WORKER_CMD_FORCE. */
void worker_command(struct worker *w, int cmd);
void worker_join(struct worker *w);
/* worker_alive - from any thread: w's loop turned within the last
 * within_ms (a loop stuck in one callback, or a stopped process, does not
 * tick). The keeper in main.c refreshes the interception and the systemd
 * watchdog only while every worker is alive. */
int worker_alive(const struct worker *w, uint64_t within_ms);
void worker_destroy(struct worker *w);

/* Session registry (worker thread only). */
void worker_register(struct worker *w, struct sess_hdr *h, enum sess_kind kind);
void worker_release(struct sess_hdr *h);
struct sess_hdr *worker_lookup(struct worker *w, const struct sess_key *k);
void sess_key_of(const struct sess_hdr *h, struct sess_key *k);

/* worker_source_take - a new port-25 connection from src (listener.c,
 * just before relay_start): 1 if limits.per_source lets it in (the relay
 * registered next holds the count until it is released), 0 if its source
 * is at the cap; *n is the source's session count. */
int worker_source_take(struct worker *w, const union sockaddr_any *src,
    uint32_t *n);
/* worker_source_settle - after relay_start: a hold no session took goes back. */
void worker_source_settle(struct worker *w);
/* worker_port25_tunnel - h (a tunnel just registered by tunnel_adopt) goes
 * on with a port-25 session from src: it counts toward max_sessions and its
 * source's count (never refused: the session is already in). */
void worker_port25_tunnel(struct sess_hdr *h, const union sockaddr_any *src);

/* worker_count_bytes - a session of mode (enum listener_mode) ended having
 * moved these bytes (audit_session fields, in WSTAT_* order). */
void worker_count_bytes(struct worker *w, int mode, uint64_t from_client,
    uint64_t to_client, uint64_t to_upstream, uint64_t from_upstream);

/* Pipe pool for the tunnel: 0 or a negative errno. */
int worker_pipe_get(struct worker *w, struct tpipe *p);
/* worker_pipe_put - clean: the pipe is empty and may be reused. */
void worker_pipe_put(struct worker *w, struct tpipe *p, int clean);

#endif
