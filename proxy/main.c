/*
 * main.c - subgated: options, configuration, descriptor limit, listener
 * sockets, privileges, worker threads and signals.
 *
 * Start-up opens and binds everything first, single-threaded, then drops
 * privileges (priv.h), then starts the threads (docs/design.md "Data
 * flows").
 *
 * The main thread owns the configuration (immutable once workers run), the
 * audit file, the interception table (nft.c) and a small uv loop with the
 * signal handlers and the keeper:
 *   SIGTERM/SIGINT  stop steering (nft_release), then drain (worker.c); a
 *                   second one ends the drain early
 *   SIGHUP          reopen the audit file (logrotate)
 *   keeper          while every worker's loop turns: refresh the
 *                   interception (nft_serve) and the systemd watchdog
 * Workers tell it they have ended through an uv_async_t; when all have, it
 * joins them, closes the audit file and exits 0.
 */
#include "util.h"	/* before uv.h: sys/param.h defines MIN/MAX too */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "admin.h"
#include "audit.h"
#include "audit_index.h"
#include "config.h"
#include "dest_deny.h"
#include "err.h"
#include "geoip.h"
#include "identity.h"
#include "intercept.h"
#include "log.h"
#include "netwatch.h"
#include "conntrack.h"
#include "nft.h"
#include "nft_rules.h"
#include "policy.h"
#include "priv.h"
#include "sdnotify.h"
#include "relay.h"
#include "radius_server.h"
#include "worker.h"

#ifndef SUBGATE_VERSION
#define SUBGATE_VERSION "0.1.0"
#endif

static struct worker *workers;
static int nworkers;
static atomic_int nexited;
static uv_async_t exit_async;
static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t audit_timer;		/* audit_tick: retry a failing audit file */
static uv_timer_t keeper_timer;		/* keeper_cb */
static int term_count;
static struct admin_locks_ops lock_ops;
static const struct config *conf;
static uint64_t watchdog_usec;		/* systemd's WatchdogSec, 0: none */
static int stalled = -1;		/* worker the keeper last found stuck */
static int serve_failing;		/* nft_serve failed last time */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: subgated [-c FILE] [--check-config] [--dump-config] [--print-nft]\n"
	    "                [--nft-release] [-V] [-h]\n"
	    "  -c, --config FILE   configuration (default: the embedded default)\n"
	    "      --check-config  load the configuration, report, exit\n"
	    "      --dump-config   print the effective configuration, exit\n"
	    "      --print-nft     print the nftables table subgated loads, exit\n"
	    "      --nft-release   stop steering to subgated now (empty the table's\n"
	    "                      set \"serving\"; for ExecStopPost), exit\n"
	    "  -V, --version       print the version, exit\n"
	    "  -h, --help          this text\n");
}

/* raise_nofile - soft RLIMIT_NOFILE up to the hard limit: every intercepted
 * session holds two descriptors, a busy tunnel two more for its pipe. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("event=rlimit error=\"%s\"", strerror(errno));
	}
	log_info("event=rlimit nofile=%llu", (unsigned long long)rl.rlim_cur);
}

/* stop_steering - new connections stop coming to this process: they take
 * the on_down path (587/465: routed untouched) from now on. */
static void
stop_steering(void)
{
	char err[512];

	uv_timer_stop(&keeper_timer);
	if (!conf->intercept.nftables)
		return;
	if (nft_release(conf, err, sizeof(err)) < 0)
		log_err("event=nft_failed error=\"%s\"", err);
	else
		log_info("event=nft_release table=%s", conf->intercept.table);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	if (signum == SIGHUP) {
		int rc;

		sd_notify_reloading();
		rc = audit_reopen();
		if (rc < 0)
			log_err("event=audit_reopen_failed error=\"%s\"", strerror(-rc));
		else
			log_info("event=audit_reopen");
		sd_notify_msg("READY=1");
		return;
	}
	if (++term_count == 1) {
		sd_notify_msg("STOPPING=1");
		stop_steering();
	}
	log_info("event=signal signal=%s action=%s", strsignal(signum),
	    term_count == 1 ? "drain" : "end_now");
	for (int i = 0; i < nworkers; i++)
		worker_command(&workers[i],
		    term_count == 1 ? WORKER_CMD_DRAIN : WORKER_CMD_FORCE);
}

/* keeper_cb - the process is alive and ready only while every worker's
 * loop turns: then (and only then) the interception is refreshed for
 * another intercept.hold and systemd's watchdog is fed. A worker stuck in
 * one callback lets both lapse: its sessions are lost either way, new
 * connections go the on_down path, and systemd restarts the process. */
static void
keeper_cb(uv_timer_t *t)
{
	uint64_t within = conf->intercept.nftables ? conf->intercept.hold_ms / 2
	    : watchdog_usec / 2000;
	char err[512];
	int i;

	if (within < 4 * WORKER_TICK_MS)
		within = 4 * WORKER_TICK_MS;
	for (i = 0; i < nworkers; i++)
		if (!worker_alive(&workers[i], within))
			break;
	if (i < nworkers) {
		if (stalled != i)
			log_err("event=worker_stalled worker=%d action=\"interception "
			    "and watchdog lapse\"", i);
		stalled = i;
		return;
	}
	if (stalled >= 0)
		log_info("event=worker_alive worker=%d", stalled);
	stalled = -1;
	if (conf->intercept.nftables) {
		if (nft_serve(conf, err, sizeof(err)) < 0) {
			if (!serve_failing)
				log_err("event=nft_failed error=\"%s\"", err);
			serve_failing = 1;
			return;		/* not serving: no watchdog either */
		}
		if (serve_failing)
			log_info("event=nft_serve table=%s", conf->intercept.table);
		serve_failing = 0;
	}
	if (watchdog_usec > 0)
		sd_notify_msg("WATCHDOG=1");
}

/* keeper_start - steer to this process now, and keep doing so. */
static int
keeper_start(void)
{
	uint64_t period = 0;
	char err[512], status[256];

	watchdog_usec = sd_watchdog_usec();
	if (conf->intercept.nftables) {
		if (nft_serve(conf, err, sizeof(err)) < 0) {
			log_err("event=nft_failed error=\"%s\"", err);
			return -1;
		}
		period = conf->intercept.hold_ms / 4;
	}
	if (watchdog_usec > 0 && (period == 0 || watchdog_usec / 2000 < period))
		period = watchdog_usec / 2000;
	if (period > 0) {
		if (period < WORKER_TICK_MS)
			period = WORKER_TICK_MS;
		uv_timer_start(&keeper_timer, keeper_cb, period, period);
	}
	if (conf->intercept.nftables)
		snprintf(status, sizeof(status), "STATUS=serving: table inet %s, "
		    "hold %ums, port 25 on_down %s; submission %s",
		    conf->intercept.table, conf->intercept.hold_ms,
		    conf->intercept.on_down == ON_DOWN_OPEN ? "open" : "closed",
		    nft_tunnel_listener(conf) >= 0 ? "tunnelled"
		    : "routed by the kernel");
	else
		snprintf(status, sizeof(status), "STATUS=serving (interception "
		    "rules not managed: intercept.nftables is false)");
	/* one datagram: systemd sees the status with the readiness */
	strncat(status, "\nREADY=1", sizeof(status) - strlen(status) - 1);
	sd_notify_msg(status);
	log_info("event=ready nftables=%s watchdog_ms=%llu keeper_ms=%llu",
	    conf->intercept.nftables ? conf->intercept.table : "off",
	    (unsigned long long)(watchdog_usec / 1000),
	    (unsigned long long)period);
	return 0;
}

static void
audit_timer_cb(uv_timer_t *t)
{
	audit_tick();
}

static void
worker_exited(struct worker *w)
{
	atomic_fetch_add(&nexited, 1);
	uv_async_send(&exit_async);
}

static void
exit_cb(uv_async_t *a)
{
	if (atomic_load(&nexited) < nworkers)
		return;
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_hup, NULL);
	uv_close((uv_handle_t *)&exit_async, NULL);
	uv_close((uv_handle_t *)&audit_timer, NULL);
	uv_close((uv_handle_t *)&keeper_timer, NULL);
}

static int
count_workers(const struct config *c)
{
	long n = c->workers;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	if (n > WORKER_MAX)
		n = WORKER_MAX;
	return (int)n;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "dump-config", no_argument, NULL, 'D' },
		{ "print-nft", no_argument, NULL, 'N' },
		{ "nft-release", no_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL;
	int check = 0, dump = 0, print_nft = 0, release = 0, ch, rc;
	char err[512];
	struct config *c;
	uv_loop_t *loop;

	/* Before any secret is read: no core dump, no ptrace by the same
	 * user, /proc/PID/mem and environ root's only (proc(5)). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		fprintf(stderr, "subgated: prctl(PR_SET_DUMPABLE): %s\n",
		    strerror(errno));
		return 1;
	}
	/* file capabilities "+p" (the container image): effective from here
	 * until priv_drop */
	priv_raise();
	while ((ch = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'D':
			dump = 1;
			break;
		case 'N':
			print_nft = 1;
			break;
		case 'R':
			release = 1;
			break;
		case 'V':
			printf("subgated %s (libuv %s)\n", SUBGATE_VERSION,
			    uv_version_string());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	err[0] = '\0';
	if ((c = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err[0] ? err : "subgated: cannot load configuration");
		return 1;
	}
	if (check) {
		printf("subgated: configuration OK (%s, %zu listeners)\n",
		    c->path != NULL ? c->path : "(default)", c->nlisteners);
		config_free(c);
		return 0;
	}
	if (dump) {
		config_dump(c, stdout);
		config_free(c);
		return 0;
	}
	if (print_nft) {
		char *text = nft_rules(c, c->path);

		fputs(text, stdout);
		free(text);
		config_free(c);
		return 0;
	}
	if (release) {
		rc = c->intercept.nftables ? nft_release(c, err, sizeof(err)) : 0;
		if (rc < 0)
			fprintf(stderr, "subgated: %s\n", err);
		nft_close();
		config_free(c);
		return rc < 0 ? 1 : 0;
	}
	conf = c;

	log_set_level((enum log_level)c->log_level);
	log_open("subgated", (enum log_target)c->log_target, c->log_facility);
	signal(SIGPIPE, SIG_IGN);	/* splice(2) cannot take MSG_NOSIGNAL */
	/* The table first: whatever fails after this, the kernel already
	 * routes around this process (nothing is steered until READY). */
	if (c->intercept.nftables) {
		if (nft_install(c, err, sizeof(err)) < 0) {
			log_err("event=nft_failed error=\"%s\"", err);
			return 1;
		}
		log_info("event=nft_install table=%s on_down=%s hold_ms=%u",
		    c->intercept.table, c->intercept.on_down == ON_DOWN_OPEN
		    ? "open" : "closed", c->intercept.hold_ms);
	}
	raise_nofile();
	audit_set_node(c->node);
	if ((rc = audit_open(c->audit_path)) < 0) {
		log_err("event=audit_open_failed path=%s error=\"%s\"", c->audit_path,
		    strerror(-rc));
		return 1;
	}
	if (geoip_open(c->geoip.asn_db, c->geoip.country_db, err,
	    sizeof(err)) < 0) {
		log_err("event=geoip_open_failed error=\"%s\"", err);
		return 1;
	}
	/* upstream.deny before the first session */
	dest_deny_init(c);
	/* identity: before the workers (they look up), the RADIUS listener
	 * (its own thread, started below) before the first session too */
	if ((rc = identity_init(c)) < 0) {
		log_err("event=identity_init_failed error=\"%s\"", sg_strerror(rc));
		return 1;
	}
	if ((rc = radius_server_open(c)) < 0)
		return 1;
	/* the smarthost's TLS context (CA file) before the first session */
	if (relay_init(c, err, sizeof(err)) < 0) {
		log_err("event=smarthost_tls_failed error=\"%s\"", err);
		return 1;
	}
	/* the policy's class table and the node's fallback limiter */
	if ((rc = policy_init(c)) < 0) {
		log_err("event=policy_init_failed error=\"%s\"", sg_strerror(rc));
		return 1;
	}

	nworkers = count_workers(c);
	workers = xcalloc((size_t)nworkers, sizeof(*workers));
	/* Every worker gets its own socket per listener (SO_REUSEPORT);
	 * they are all made here so that a bad address fails the start. */
	for (int i = 0; i < nworkers; i++) {
		int *fds = xcalloc(c->nlisteners + 1, sizeof(int));

		for (size_t j = 0; j < c->nlisteners; j++) {
			const char *what = "";
			char a[ADDRPORT_STRLEN];

			fds[j] = intercept_listen(&c->listeners[j], &what);
			if (fds[j] < 0) {
				log_err("event=listen_failed listener=%s error=\"%s: %s\"",
				    addr_fmt(&c->listeners[j].addr, a, sizeof(a)),
				    what, strerror(-fds[j]));
				return 1;
			}
		}
		worker_init(&workers[i], i, c, fds);
		workers[i].on_exit = worker_exited;
	}
	if (admin_open(c) < 0)
		return 1;

	/* Everything is bound and opened: keep only what is still needed,
	 * before the first thread (capabilities are per thread). */
	if (priv_drop(c) < 0)
		return 1;
	if ((rc = audit_index_start(c)) < 0) {
		log_err("event=audit_index_failed error=\"%s\"", uv_strerror(rc));
		return 1;
	}
	/* the gateway's own addresses (loop check), kept current from
	 * netlink: before the first session */
	(void)netwatch_start();
	if ((rc = radius_server_start()) < 0)
		return 1;

	loop = uv_default_loop();
	uv_async_init(loop, &exit_async, exit_cb);
	uv_signal_init(loop, &sig_term);
	uv_signal_init(loop, &sig_int);
	uv_signal_init(loop, &sig_hup);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_hup, on_signal, SIGHUP);
	uv_timer_init(loop, &audit_timer);
	uv_timer_start(&audit_timer, audit_timer_cb, 1000, 1000);
	uv_timer_init(loop, &keeper_timer);

	for (int i = 0; i < nworkers; i++) {
		if ((rc = worker_start(&workers[i])) < 0) {
			log_err("event=worker_start_failed worker=%d error=\"%s\"", i,
			    uv_strerror(rc));
			return 1;
		}
	}
	for (size_t j = 0; j < c->nlisteners; j++) {
		char a[ADDRPORT_STRLEN];
		const struct listener_conf *lc = &c->listeners[j];

		log_info("event=listening listener=%d addr=%s mode=%s intercept=%s",
		    (int)j, addr_fmt(&lc->addr, a, sizeof(a)),
		    lc->mode == LISTEN_SMTP ? "smtp" : "passthrough",
		    lc->intercept == INTERCEPT_REDIRECT ? "redirect"
		    : lc->intercept == INTERCEPT_TPROXY ? "tproxy" : "none");
	}
	/* metrics and health on their own thread; a bad address fails the
	 * start. The lock list and lift come from the policy. */
	lock_ops.list = policy_admin_list;
	lock_ops.lift = policy_admin_lift;
	lock_ops.arg = c;
	admin_set_locks(&lock_ops);
	if (admin_start(c, workers, nworkers) < 0)
		return 1;
	/* 587/465 flows the kernel routes (no tunnel): recorded from
	 * conntrack events; their absence is said once, never fatal */
	if (c->intercept.nftables && c->intercept.conntrack &&
	    nft_tunnel_listener(c) < 0)
		conntrack_start(c);
	log_info("event=start version=%s node=%s workers=%d config=%s", SUBGATE_VERSION,
	    c->node, nworkers, c->path != NULL ? c->path : "(default)");
	if (keeper_start() < 0)
		return 1;

	uv_run(loop, UV_RUN_DEFAULT);

	conntrack_stop();
	netwatch_stop();
	admin_stop();	/* it reads the workers' counters */
	for (int i = 0; i < nworkers; i++) {
		worker_join(&workers[i]);
		worker_destroy(&workers[i]);
	}
	free(workers);
	policy_shutdown();
	relay_cleanup();
	radius_server_stop();
	audit_index_stop();
	uv_loop_close(loop);
	nft_close();
	log_info("event=exit");
	audit_close();
	geoip_close();
	identity_shutdown();
	dest_deny_init(NULL);
	config_free(c);
	return 0;
}
