/*
 * harness.c - redis-server processes for the tests and loop helpers. A
 * server is started with PR_SET_PDEATHSIG, so it dies with the test process
 * even when that one is killed or aborts under a sanitizer; main's atexit
 * handler also removes the directories.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int
srv_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

int
srv_start(struct srv *s)
{
	char conf[512], path[128];
	FILE *f;
	pid_t parent = getpid();

	if (s->dir[0] == '\0') {
		snprintf(s->dir, sizeof(s->dir), "/tmp/sg-rl-XXXXXX");
		if (mkdtemp(s->dir) == NULL)
			return -1;
	}
	if (s->port == 0)
		s->port = srv_free_port();
	snprintf(path, sizeof(path), "%s/redis-%d.conf", s->dir, s->port);
	snprintf(conf, sizeof(conf),
	    "port %d\nbind 127.0.0.1\n%s"
	    "dir %s\nlogfile %s/redis-%d.log\ndaemonize no\n%s\n",
	    s->port, s->sentinel ? "" : "save \"\"\nappendonly no\n",
	    s->dir, s->dir, s->port, s->extra);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(conf, f);
	fclose(f);
	if ((s->pid = fork()) < 0)
		return -1;
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (s->sentinel)
			execl("/usr/bin/redis-server", "redis-server", path,
			    "--sentinel", (char *)NULL);
		else
			execl("/usr/bin/redis-server", "redis-server", path,
			    (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		redisReply *r = srv_cmd(s, "PING");

		if (r != NULL) {
			freeReplyObject(r);
			return 0;
		}
		usleep(10000);
	}
	return -1;
}

void
srv_kill(struct srv *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

void
srv_destroy(struct srv *s)
{
	char cmd[128];

	srv_kill(s);
	if (s->dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", s->dir);
	s->dir[0] = '\0';
}

redisReply *
srv_cmd(const struct srv *s, const char *fmt, ...)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
	redisReply *r = NULL;
	va_list ap;

	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

long long
srv_stat(const struct srv *s, const char *cmd)
{
	redisReply *r = srv_cmd(s, "INFO commandstats");
	char pat[64];
	const char *p;
	long long v = 0;

	if (r == NULL)
		return -1;
	snprintf(pat, sizeof(pat), "cmdstat_%s:calls=", cmd);
	if (r->type == REDIS_REPLY_STRING && (p = strstr(r->str, pat)) != NULL)
		v = strtoll(p + strlen(pat), NULL, 10);
	freeReplyObject(r);
	return v;
}

void
tally_cb(void *arg, const struct rl_result *r)
{
	struct tally *t = arg;

	t->n++;
	t->last_err = r->err;
	t->last_deny_index = r->deny_index;
	t->last_retry = r->retry_after_ms;
	switch (r->verdict) {
	case RL_ALLOW:
		t->allow++;
		break;
	case RL_DENY:
		t->deny++;
		break;
	default:
		t->error++;
	}
	if (r->verdict != RL_ERROR) {
		if (r->source == RL_SRC_REDIS)
			t->redis++;
		else
			t->local++;
	}
	if (r->lease != NULL && t->nlease < 256)
		t->lease[t->nlease++] = r->lease;
}

static void
tick(uv_timer_t *t)
{
}

static int
run_pred(uv_loop_t *loop, int (*pred)(void *), void *arg, int ms)
{
	uv_timer_t t;
	uint64_t end;
	int ok;

	uv_update_time(loop);
	end = uv_now(loop) + (uint64_t)ms;
	uv_timer_init(loop, &t);
	uv_timer_start(&t, tick, 5, 5);
	while (!(ok = pred(arg)) && uv_now(loop) < end)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return ok;
}

static int
flag_set(void *arg)
{
	return *(const int *)arg != 0;
}

int
run_until(uv_loop_t *loop, const int *flag, int ms)
{
	return run_pred(loop, flag_set, (void *)flag, ms);
}

static int
never(void *arg)
{
	return 0;
}

void
run_for(uv_loop_t *loop, int ms)
{
	run_pred(loop, never, NULL, ms);
}

struct tally_wait {
	struct tally *t;
	int n;
};

static int
tally_done(void *arg)
{
	struct tally_wait *w = arg;

	return w->t->n >= w->n;
}

int
wait_tally(uv_loop_t *loop, struct tally *t, int n, int ms)
{
	struct tally_wait w = { t, n };

	return run_pred(loop, tally_done, &w, ms);
}

static int
is_up(void *arg)
{
	return rl_is_up(arg);
}

int
wait_up(uv_loop_t *loop, struct rl *rl, int ms)
{
	return run_pred(loop, is_up, rl, ms);
}

static void
closed_cb(void *arg)
{
	*(int *)arg = 1;
}

int
close_rl(uv_loop_t *loop, struct rl *rl)
{
	int closed = 0;

	rl_free(rl, closed_cb, &closed);
	if (!run_until(loop, &closed, 5000))
		return -1;
	uv_run(loop, UV_RUN_DEFAULT);
	return uv_loop_close(loop);
}

struct rl_conf
test_conf(const struct srv *s)
{
	struct rl_conf c = {
		.host = "127.0.0.1",
		.port = s->port,
		.node = "test-node",
		.deadline_ms = 200,
		.connect_timeout_ms = 500,
		.backoff_min_ms = 20,
		.backoff_max_ms = 200,
		.probe_ms = 50,
		.fail = RL_FAIL_OPEN,
	};

	return c;
}
