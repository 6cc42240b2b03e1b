/*
 * admin.c - the admin endpoint of admin.h on libmicrohttpd's internal
 * polling thread (MHD_USE_INTERNAL_POLLING_THREAD: one thread, requests one
 * at a time).
 *
 * Reading the workers' counters: each worker writes its own struct
 * worker_stats with relaxed atomic stores (worker.h WSTAT_ADD); this thread
 * reads them with relaxed loads and sums. Nothing here stops, locks or
 * wakes a worker. A scrape is therefore not one instant: counters read a
 * microsecond apart may disagree by a session (e.g. starttls tunnels read
 * after tunnels), which Prometheus' rate() does not mind.
 *
 * Bounds: at most ADMIN_CONN_LIMIT connections, ADMIN_TIMEOUT_S idle
 * timeout, no request body accepted. What a request gets (Host, token,
 * route) is admin_route.h's decision; this file reads the counters and
 * speaks HTTP.
 */
#include "util.h"	/* before uv.h: sys/param.h defines MIN/MAX too */
#include "admin.h"
#include "admin_route.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "policy.h"
#include "worker.h"

#ifndef SUBGATE_VERSION
#define SUBGATE_VERSION "0.1.0"
#endif

#define ADMIN_CONN_LIMIT 16
#define ADMIN_TIMEOUT_S 10

static struct MHD_Daemon *daemon_h;
static int listen_fd = -1;		/* admin_open's, MHD's from admin_start */
static struct worker *workers;
static int nworkers;
static _Atomic(const struct admin_locks_ops *) locks_ops;

void
admin_set_locks(const struct admin_locks_ops *ops)
{
	atomic_store(&locks_ops, ops);
}

/* Metrics -------------------------------------------------------------- */

/* sum - one counter (at offset off in struct worker_stats) over every
 * worker, with relaxed loads (see above). */
static uint64_t
sum(size_t off)
{
	uint64_t s = 0;

	for (int i = 0; i < nworkers; i++)
		s += atomic_load_explicit((wstat_t *)((char *)&workers[i].st + off),
		    memory_order_relaxed);
	return s;
}

#define SUM(field) sum(offsetof(struct worker_stats, field))

/* What one scrape reads besides the workers' counters. */
struct scrape {
	struct policy_stats ps;
	struct audit_stats as;
};

static void
series_build_info(struct buf *b, const struct scrape *s)
{
	(void)s;
	buf_printf(b, "subgate_build_info{version=\"%s\"} 1\n", SUBGATE_VERSION);
}

static void
series_workers(struct buf *b, const struct scrape *s)
{
	int alive = 0;

	(void)s;
	for (int i = 0; i < nworkers; i++)
		alive += !atomic_load(&workers[i].exited);
	buf_printf(b, "subgate_workers %d\n", alive);
}

static void
series_sessions(struct buf *b, const struct scrape *s)
{
	uint64_t tunnels = SUM(tunnels), starttls = SUM(starttls_tunnels);

	(void)s;
	buf_printf(b, "subgate_sessions_total{mode=\"smtp\"} %llu\n",
	    (unsigned long long)SUM(smtp_sessions));
	buf_printf(b, "subgate_sessions_total{mode=\"passthrough\"} %llu\n",
	    (unsigned long long)(tunnels > starttls ? tunnels - starttls : 0));
}

static void
series_current(struct buf *b, const struct scrape *s)
{
	(void)s;
	buf_printf(b, "subgate_sessions_current{kind=\"relay\"} %llu\n",
	    (unsigned long long)SUM(cur_relay));
	buf_printf(b, "subgate_sessions_current{kind=\"tunnel\"} %llu\n",
	    (unsigned long long)SUM(cur_tunnel));
	buf_printf(b, "subgate_sessions_current{kind=\"starttls_tunnel\"} "
	    "%llu\n", (unsigned long long)SUM(cur_tls_tunnel));
}

static void
series_bytes(struct buf *b, const struct scrape *s)
{
	static const char *const modes[2] = { "smtp", "passthrough" };
	static const char *const dirs[4] = {
		"from_client", "to_client", "to_upstream", "from_upstream"
	};

	(void)s;
	for (int m = 0; m < 2; m++)
		for (int d = 0; d < 4; d++)
			buf_printf(b, "subgate_bytes_total{mode=\"%s\",direction="
			    "\"%s\"} %llu\n", modes[m], dirs[d],
			    (unsigned long long)sum(offsetof(struct worker_stats,
			    bytes) + ((size_t)m * 4 + (size_t)d) * sizeof(wstat_t)));
}

static void
series_answers(struct buf *b, const struct scrape *s)
{
	buf_printf(b, "subgate_policy_answers_total{source=\"redis\"} %llu\n",
	    (unsigned long long)s->ps.redis);
	buf_printf(b, "subgate_policy_answers_total{source=\"local\"} %llu\n",
	    (unsigned long long)s->ps.local);
	buf_printf(b, "subgate_policy_answers_total{source=\"error\"} %llu\n",
	    (unsigned long long)s->ps.errors);
}

static void
series_audit_queued(struct buf *b, const struct scrape *s)
{
	buf_printf(b, "subgate_audit_queued_records %zu\n", s->as.queued_now);
}

static void
series_audit_backlog(struct buf *b, const struct scrape *s)
{
	buf_printf(b, "subgate_audit_writer_backlog_bytes %zu\n",
	    s->as.writer_bytes);
}

static void
series_audit_failing(struct buf *b, const struct scrape *s)
{
	buf_printf(b, "subgate_audit_failing %d\n", s->as.failing ? 1 : 0);
}

/*
 * The metrics in output order. A plain row is one uint64_t at off in its
 * source (worker_stats summed over the workers, policy_stats, audit_stats);
 * a M_SERIES row prints its own sample lines (labels, other types).
 */
enum msrc { M_WORKER, M_POLICY, M_AUDIT, M_SERIES };

static const struct metric {
	const char *name, *type, *help;
	enum msrc src;
	size_t off;
	void (*series)(struct buf *, const struct scrape *);
} metric_tab[] = {
#define W(f) M_WORKER, offsetof(struct worker_stats, f), NULL
#define P(f) M_POLICY, offsetof(struct policy_stats, f), NULL
#define A(f) M_AUDIT, offsetof(struct audit_stats, f), NULL
#define S(fn) M_SERIES, 0, fn
	{ "subgate_build_info", "gauge", "Version of subgated.",
	    S(series_build_info) },
	{ "subgate_workers", "gauge", "Worker threads whose loop runs.",
	    S(series_workers) },
	{ "subgate_connections_accepted_total", "counter",
	    "Connections accepted on every listener, refused ones included.",
	    W(accepted) },
	{ "subgate_sessions_total", "counter",
	    "Sessions started, by listener mode (smtp: SMTP relay on port 25; "
	    "passthrough: 587/465 tunnels).", S(series_sessions) },
	{ "subgate_sessions_current", "gauge",
	    "Sessions open now: relay = port-25 SMTP relay, tunnel = pass-through "
	    "tunnels including port-25 sessions after STARTTLS, starttls_tunnel "
	    "= those port-25 tunnels alone (they count toward max_sessions).",
	    S(series_current) },
	{ "subgate_starttls_tunnels_total", "counter",
	    "Port-25 sessions handed to the opaque tunnel after STARTTLS.",
	    W(starttls_tunnels) },
	{ "subgate_transactions_total", "counter",
	    "Mail transactions ended (any outcome) on port 25.", W(txns) },
	{ "subgate_connect_failures_total", "counter",
	    "Upstream connections that failed or timed out.", W(connect_failed) },
	{ "subgate_loops_refused_total", "counter",
	    "Connections refused because their destination is the gateway.",
	    W(refused_loop) },
	{ "subgate_max_sessions_refused_total", "counter",
	    "Port-25 connections refused by limits.max_sessions.",
	    W(refused_limit) },
	{ "subgate_source_limit_refused_total", "counter",
	    "Port-25 connections refused by limits.per_source (one address, "
	    "or one IPv6 /64, over its concurrent sessions).",
	    W(refused_source) },
	{ "subgate_fd_reserve_refused_total", "counter",
	    "Port-25 connections refused to keep limits.fd_reserve descriptors "
	    "for 587/465.", W(refused_fd) },
	{ "subgate_tunnel_idle_closed_total", "counter",
	    "Tunnels ended by limits.tunnel_idle or limits.passthrough_idle.",
	    W(idle_closed) },
	{ "subgate_redirected_total", "counter",
	    "Sessions the policy sent to the smarthost.", W(redirected) },
	{ "subgate_smarthost_failures_total", "counter",
	    "Redirected sessions whose connection or handshake with the "
	    "smarthost failed (the subscriber got a 421).", W(smarthost_failed) },
	{ "subgate_bytes_total", "counter",
	    "Octets moved, by listener mode and direction, added when a session "
	    "ends.", S(series_bytes) },
	{ "subgate_policy_decisions_total", "counter",
	    "Policy questions asked (connect, MAIL, RCPT, end of data, STARTTLS, "
	    "tls byte chunks).", P(decisions) },
	{ "subgate_policy_refused_total", "counter",
	    "Policy answers that refused (temporary or permanent).", P(refused) },
	{ "subgate_policy_answers_total", "counter",
	    "Policy answers by source: redis, local (in-process fallback), "
	    "error (Redis unusable, failed closed).", S(series_answers) },
	{ "subgate_policy_lockouts_total", "counter",
	    "Subscribers locked out after repeated violations.", P(lockouts) },
	{ "subgate_policy_tls_ended_total", "counter",
	    "Port-25 TLS tunnels ended by a tls bytes or duration limit.",
	    P(tls_ended) },
	{ "subgate_audit_records_written_total", "counter",
	    "Audit records written to the audit file.", A(written) },
	{ "subgate_audit_write_errors_total", "counter",
	    "Failed writes to the audit file.", A(write_errors) },
	{ "subgate_audit_records_lost_total", "counter",
	    "Audit records lost (queue full while the file failed).", A(lost) },
	{ "subgate_audit_queued_records", "gauge",
	    "Audit records waiting for the file to take writes again.",
	    S(series_audit_queued) },
	{ "subgate_audit_failing", "gauge",
	    "1 while the audit file does not take writes.",
	    S(series_audit_failing) },
	{ "subgate_audit_writer_backlog_bytes", "gauge",
	    "Audit batches handed to the writer thread and not yet written.",
	    S(series_audit_backlog) },
	{ "subgate_audit_tempfail_sessions_total", "counter",
	    "Port-25 sessions refused at connect while the audit file failed "
	    "(audit.on_write_error: tempfail).", A(tempfailed) },
#undef W
#undef P
#undef A
#undef S
};

static void
metrics_body(struct buf *b)
{
	struct scrape s;
	const struct metric *m;
	uint64_t v;

	policy_get_stats(&s.ps);
	audit_get_stats(&s.as);
	for (size_t i = 0; i < ARRAY_SIZE(metric_tab); i++) {
		m = &metric_tab[i];
		buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help,
		    m->name, m->type);
		switch (m->src) {
		case M_SERIES:
			m->series(b, &s);
			continue;
		case M_WORKER:
			v = sum(m->off);
			break;
		case M_POLICY:
			memcpy(&v, (const char *)&s.ps + m->off, sizeof(v));
			break;
		case M_AUDIT:
		default:
			memcpy(&v, (const char *)&s.as + m->off, sizeof(v));
			break;
		}
		buf_printf(b, "%s %llu\n", m->name, (unsigned long long)v);
	}
}

/* HTTP ----------------------------------------------------------------- */

static struct admin_access access_rules;

static void
view_metrics(void *arg, struct buf *b)
{
	(void)arg;
	metrics_body(b);
}

static int
view_healthy(void *arg)
{
	int alive = 0;

	(void)arg;
	for (int i = 0; i < nworkers; i++)
		alive += !atomic_load(&workers[i].exited);
	return alive == nworkers;
}

/* handler - libmicrohttpd's request callback: admin_route decides, this
 * sends. */
static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	static int first;
	struct admin_view v = { view_metrics, view_healthy,
	    atomic_load(&locks_ops), NULL };
	struct admin_req q;
	struct admin_reply out;
	struct MHD_Response *r;
	enum MHD_Result rc;

	/* First call: headers only. Any body is refused by admin_route. */
	if (*con_cls == NULL) {
		*con_cls = &first;
		return MHD_YES;
	}
	q.method = method;
	q.url = url;
	q.host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);
	q.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	q.upload = *upload_size;
	admin_route(&access_rules, &v, &q, &out);
	/* body is malloc'd and becomes MHD's (MHD_RESPMEM_MUST_FREE) */
	r = MHD_create_response_from_buffer(out.len, out.body,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(out.body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, out.ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (out.challenge)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"subgate\"");
	rc = MHD_queue_response(conn, out.status, r);
	MHD_destroy_response(r);
	return rc;
}

/* mhd_log - libmicrohttpd's error messages; fmt is its own. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256], esc[300];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n < 0)
		return;
	n = (int)strcspn(msg, "\n");
	log_warn("event=admin_error error=%s", log_esc(esc, sizeof(esc), msg,
	    (size_t)n));
}

int
admin_open(const struct config *c)
{
	const union sockaddr_any *a = &c->admin.listen;
	char abuf[ADDRPORT_STRLEN];
	int one = 1, e;

	if (a->sa.sa_family == AF_UNSPEC || listen_fd >= 0)
		return 0;
	/* as libmicrohttpd makes its own: SO_REUSEADDR, IPv6 only on [::] */
	if ((listen_fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) < 0 ||
	    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) < 0 ||
	    (a->sa.sa_family == AF_INET6 && setsockopt(listen_fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(listen_fd, &a->sa, addr_len(a)) < 0 ||
	    listen(listen_fd, SOMAXCONN) < 0) {
		e = errno;
		log_err("event=admin_listen_failed addr=%s error=\"%s\"",
		    addr_fmt(a, abuf, sizeof(abuf)), strerror(e));
		if (listen_fd >= 0)
			close(listen_fd);
		listen_fd = -1;
		return -e;
	}
	return 0;
}

int
admin_start(const struct config *c, struct worker *w, int nw)
{
	const union sockaddr_any *a = &c->admin.listen;
	char abuf[ADDRPORT_STRLEN];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
	    MHD_USE_AUTO;

	if (listen_fd < 0 || daemon_h != NULL)
		return 0;
	workers = w;
	nworkers = nw;
	access_rules.listen = a;
	access_rules.token = c->admin.token.value;
	access_rules.token_len = c->admin.token.len;
	access_rules.token_for_reads = c->admin.token_for_reads;
	access_rules.hosts = c->admin.hosts;
	access_rules.nhosts = c->admin.nhosts;
	if (a->sa.sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	daemon_h = MHD_start_daemon(flags, addr_port(a), NULL, NULL, handler,
	    NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,	/* first, says MHD */
	    MHD_OPTION_LISTEN_SOCKET, listen_fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)ADMIN_CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ADMIN_TIMEOUT_S,
	    MHD_OPTION_END);
	if (daemon_h == NULL) {
		log_err("event=admin_listen_failed addr=%s error=\"cannot start "
		    "the HTTP server\"", addr_fmt(a, abuf, sizeof(abuf)));
		return SG_ESYS;
	}
	log_info("event=admin_listening addr=%s", addr_fmt(a, abuf, sizeof(abuf)));
	return 0;
}

void
admin_stop(void)
{
	if (daemon_h == NULL)
		return;
	MHD_stop_daemon(daemon_h);	/* closes listen_fd */
	daemon_h = NULL;
	listen_fd = -1;
}
