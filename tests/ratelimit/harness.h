/*
 * harness.h - what the limiter tests share: redis-server processes the tests
 * start themselves (loopback, a free port, no persistence, a private
 * directory under /tmp, killed when the test process ends however it ends),
 * a synchronous control client, and loop helpers.
 */
#ifndef SUBGATE_RL_TEST_HARNESS_H
#define SUBGATE_RL_TEST_HARNESS_H

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "limiter.h"

struct srv {
	int port;
	pid_t pid;
	char dir[64];
	char extra[256];	/* extra config lines, e.g. "replicaof ..." */
	int sentinel;
};

/* srv_free_port - a TCP port nothing listens on right now. */
int srv_free_port(void);
/* srv_start - start (or restart on the same port); 0 when it answers PING. */
int srv_start(struct srv *s);
/* srv_kill - SIGKILL and reap; the directory stays for a restart. */
void srv_kill(struct srv *s);
/* srv_destroy - kill and remove the directory. */
void srv_destroy(struct srv *s);
/* srv_cmd - one command on a fresh connection; reply to freeReplyObject. */
redisReply *srv_cmd(const struct srv *s, const char *fmt, ...);
/* srv_stat - calls of one command from INFO commandstats ("evalsha"). */
long long srv_stat(const struct srv *s, const char *cmd);

/* The test suites' shared server (started by main before the suites). */
extern struct srv rl_test_srv;

struct tally {
	int n, allow, deny, error, redis, local;
	int last_err;
	int last_deny_index;
	int64_t last_retry;
	struct rl_lease *lease[256];
	int nlease;
};

void tally_cb(void *arg, const struct rl_result *r);

/* run_until - run loop until *flag != 0 or ms pass; 1 if flag was set. */
int run_until(uv_loop_t *loop, const int *flag, int ms);
/* run_for - run loop for ms. */
void run_for(uv_loop_t *loop, int ms);
/* wait_tally - run until t->n reaches n (or ms pass). */
int wait_tally(uv_loop_t *loop, struct tally *t, int n, int ms);
/* wait_up - run until rl_is_up (or ms pass). */
int wait_up(uv_loop_t *loop, struct rl *rl, int ms);
/* close_rl - rl_free and run the loop until it closed; then the loop must
 * close clean: returns uv_loop_close's result. */
int close_rl(uv_loop_t *loop, struct rl *rl);

struct rl_conf test_conf(const struct srv *s);

#endif
