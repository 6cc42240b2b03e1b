/*
 * bench_ratelimit.c - decisions per second of the limiter alone, and Redis
 * round trips per decision read from INFO commandstats.
 *
 *   bench_ratelimit [-p port] [-n decisions] [-w window] [-t threads]
 *
 * Without -p it starts its own redis-server (loopback, free port, no
 * persistence, killed at exit). Each decision carries three limits: a rate
 * per subscriber (10000 subscribers), a global rate and a distinct-host set
 * per subscriber, all generous enough to allow. Runs: pipelined (window
 * decisions in flight per thread), one at a time (latency), the fallback
 * through the API with Redis unreachable, and rl_local_decide alone.
 */
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "limiter.h"
#include "log.h"

static int port;
static pid_t srv_pid;
static char srv_dir[64];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static redisReply *
cmd(const char *fmt, ...)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r;
	va_list ap;

	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

/* calls - INFO commandstats calls of one command, or of all with NULL. */
static long long
calls(const char *name)
{
	redisReply *r = cmd("INFO commandstats");
	long long total = 0;
	char pat[64];
	const char *p;

	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return -1;
	if (name != NULL) {
		snprintf(pat, sizeof(pat), "cmdstat_%s:calls=", name);
		if ((p = strstr(r->str, pat)) != NULL)
			total = strtoll(p + strlen(pat), NULL, 10);
	} else
		for (p = r->str; (p = strstr(p, ":calls=")) != NULL; p++)
			total += strtoll(p + 7, NULL, 10);
	freeReplyObject(r);
	return total;
}

static void
stop_server(void)
{
	char rm[128];

	if (srv_pid > 0) {
		kill(srv_pid, SIGKILL);
		waitpid(srv_pid, NULL, 0);
	}
	if (srv_dir[0] != '\0') {
		snprintf(rm, sizeof(rm), "rm -rf '%s'", srv_dir);
		if (system(rm) != 0)
			fprintf(stderr, "cannot remove %s\n", srv_dir);
	}
}

static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		p = ntohs(sin.sin_port);
	close(fd);
	return p;
}

static int
start_server(void)
{
	char ps[16];

	snprintf(srv_dir, sizeof(srv_dir), "/tmp/sg-rlbench-XXXXXX");
	if (mkdtemp(srv_dir) == NULL || (port = free_port()) < 0)
		return -1;
	atexit(stop_server);
	snprintf(ps, sizeof(ps), "%d", port);
	if ((srv_pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/usr/bin/redis-server", "redis-server", "--port", ps,
		    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		    "--dir", srv_dir, "--logfile", "redis.log", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		redisReply *r = cmd("PING");

		if (r != NULL) {
			freeReplyObject(r);
			return 0;
		}
		usleep(10000);
	}
	return -1;
}

struct run {
	pthread_t th;
	int port;
	long n;
	int window;
	long sent, done, allowed, redis;
	double secs;
	char name[16];
};

struct ctx {
	struct run *r;
	struct rl *rl;
	uv_loop_t *loop;
};

static void send_one(struct ctx *c);

static void
done_cb(void *arg, const struct rl_result *res)
{
	struct ctx *c = arg;

	c->r->done++;
	c->r->allowed += res->verdict == RL_ALLOW;
	c->r->redis += res->source == RL_SRC_REDIS;
	if (res->lease != NULL)
		rl_release(c->rl, res->lease);
	if (c->r->sent < c->r->n)
		send_one(c);
	else if (c->r->done == c->r->n)
		uv_stop(c->loop);
}

static void
send_one(struct ctx *c)
{
	char sub[32], host[32];
	long i = c->r->sent++;
	struct rl_limit l[3] = {
		{ .kind = RL_RATE, .scope = "sub", .id = sub, .name = "msg",
		  .limit = 1000000, .period_ms = 60000, .cost = 1 },
		{ .kind = RL_RATE, .scope = "all", .id = "", .name = "msg",
		  .limit = 100000000, .period_ms = 60000, .cost = 1 },
		{ .kind = RL_DISTINCT, .scope = "sub", .id = sub,
		  .name = "dst", .limit = 1000, .period_ms = 60000,
		  .member = host } };
	struct rl_request req = { l, 3, "session", 7 };

	l[0].idlen = l[2].idlen = (size_t)snprintf(sub, sizeof(sub),
	    "%s-sub%ld", c->r->name, i % 10000);
	l[2].member_len = (size_t)snprintf(host, sizeof(host), "mx%ld.example",
	    i % 50);
	if (rl_decide(c->rl, &req, done_cb, c) != 0) {
		fprintf(stderr, "rl_decide failed\n");
		exit(1);
	}
}

static void
closed_cb(void *arg)
{
}

static void *
run_main(void *arg)
{
	struct run *r = arg;
	uv_loop_t loop;
	struct rl_conf conf = { .host = "127.0.0.1", .port = r->port,
		.node = r->name, .deadline_ms = 1000, .fail = RL_FAIL_OPEN,
		.connect_timeout_ms = 200, .backoff_min_ms = 1000,
		.backoff_max_ms = 1000, .max_inflight = 100000 };
	struct ctx c = { r, NULL, &loop };
	double t0;

	uv_loop_init(&loop);
	c.rl = rl_new(&loop, &conf);
	t0 = now_s();
	while (r->port != 1 && !rl_is_up(c.rl) && now_s() - t0 < 3)
		uv_run(&loop, UV_RUN_ONCE);
	t0 = now_s();
	for (int i = 0; i < r->window && r->sent < r->n; i++)
		send_one(&c);
	uv_run(&loop, UV_RUN_DEFAULT);
	r->secs = now_s() - t0;
	rl_free(c.rl, closed_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return NULL;
}

static void
bench(const char *title, int p, long n, int window, int threads)
{
	struct run r[16];
	long long ev0, all0, ev1, all1, ld0, ld1;
	long done = 0, allowed = 0, redis = 0;
	double secs = 0;

	memset(r, 0, sizeof(r));
	all0 = p != 1 ? calls(NULL) : 0;
	ev0 = p != 1 ? calls("evalsha") : 0;
	ld0 = p != 1 ? calls("script|load") : 0;
	for (int i = 0; i < threads; i++) {
		r[i].port = p;
		r[i].n = n / threads;
		r[i].window = window;
		snprintf(r[i].name, sizeof(r[i].name), "t%d", i);
		pthread_create(&r[i].th, NULL, run_main, &r[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(r[i].th, NULL);
		done += r[i].done;
		allowed += r[i].allowed;
		redis += r[i].redis;
		secs = r[i].secs > secs ? r[i].secs : secs;
	}
	printf("%-34s %8ld decisions %9.0f decisions/s %7.1f us/decision "
	    "(allowed %ld, from redis %ld)\n", title, done, (double)done / secs,
	    secs * 1e6 / (double)done * threads, allowed, redis);
	if (p != 1) {
		ev1 = calls("evalsha");
		ld1 = calls("script|load");
		/* -4: the INFO commands of this measurement itself. */
		all1 = calls(NULL) - 4;
		printf("%-34s round trips/decision %.4f (evalsha %lld + "
		    "script load %lld), redis.call()s in the script/decision "
		    "%.2f\n", "", (double)(ev1 - ev0 + ld1 - ld0) /
		    (double)done, ev1 - ev0, ld1 - ld0,
		    (double)(all1 - all0 - (ev1 - ev0) - (ld1 - ld0)) /
		    (double)done);
	}
}

static void
bench_local(long n)
{
	struct rl_local *lo = rl_local_new();
	struct rl_plan *p = malloc(sizeof(*p) * 64);
	struct rl_outcome o;
	char sub[64][32], host[32];
	long allowed = 0;
	double t0;

	for (int i = 0; i < 64; i++) {
		struct rl_limit l[3] = {
			{ .kind = RL_RATE, .scope = "sub", .id = sub[i],
			  .name = "msg", .limit = 1000000, .period_ms = 60000,
			  .cost = 1 },
			{ .kind = RL_RATE, .scope = "all", .id = "",
			  .name = "msg", .limit = 100000000,
			  .period_ms = 60000, .cost = 1 },
			{ .kind = RL_DISTINCT, .scope = "sub", .id = sub[i],
			  .name = "dst", .limit = 1000, .period_ms = 60000,
			  .member = host } };

		l[0].idlen = l[2].idlen = (size_t)snprintf(sub[i],
		    sizeof(sub[i]), "sub%d", i);
		l[2].member_len = (size_t)snprintf(host, sizeof(host),
		    "mx%d.example", i % 50);
		rl_plan_build(&p[i], l, 3, "node", "s", 1);
	}
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		rl_local_decide(lo, &p[i & 63], rl_local_now_us(), &o);
		allowed += o.allow;
	}
	t0 = now_s() - t0;
	printf("%-34s %8ld decisions %9.0f decisions/s %7.2f us/decision "
	    "(allowed %ld; plans prebuilt)\n", "rl_local_decide alone", n,
	    (double)n / t0, t0 * 1e6 / (double)n, allowed);
	rl_local_free(lo);
	free(p);
}

int
main(int argc, char **argv)
{
	long n = 200000;
	int window = 256, threads = 1, opt;

	while ((opt = getopt(argc, argv, "p:n:w:t:")) != -1)
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_ratelimit [-p port] "
			    "[-n decisions] [-w window] [-t threads]\n");
			return 2;
		}
	if (threads < 1 || threads > 16)
		threads = 1;
	log_set_level(LOG_ERR);
	signal(SIGPIPE, SIG_IGN);
	if (port == 0 && start_server() != 0) {
		fprintf(stderr, "cannot start redis-server\n");
		return 1;
	}
	printf("redis 127.0.0.1:%d, 3 limits per decision, window %d\n", port,
	    window);
	bench("redis, pipelined, 1 thread", port, n, window, 1);
	if (threads > 1)
		bench("redis, pipelined, threads", port, n, window, threads);
	bench("redis, one at a time", port, n / 10, 1, 1);
	bench("fallback via rl_decide (no redis)", 1, n, window, 1);
	bench_local(n * 5);
	return 0;
}
