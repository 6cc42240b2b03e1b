/*
 * main.c - the limiter's test runner: the suites of suites.h, run by
 * tests/runner.h (sg_ratelimit_test [-l | SUITE[:TEST]]); redis-server is
 * started by the suites that need it and killed here at exit. Exit status
 * 0 only if all passed.
 */
#include <signal.h>
#include <stdlib.h>

#include "harness.h"
#include "log.h"
#include "suites.h"
#include "../runner.h"

static void
cleanup(void)
{
	srv_destroy(&rl_test_srv);
}

static void
on_signal(int sig)
{
	exit(128 + sig);
}

int
main(int argc, char **argv)
{
	static const struct runner_suite suites[] = RUNNER_TABLE(SUITES);

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(cleanup);
	log_set_level(getenv("RL_TEST_DEBUG") ? LOG_DEBUG : LOG_ERR);
	return runner_main(argc, argv, suites,
	    sizeof(suites) / sizeof(suites[0]));
}
