/*
 * main.c - the limiter's test runner: the pure suite, then the suites that
 * need redis-server (started here, on loopback, and killed at exit). An
 * argument selects one suite by name. Exit status 0 only if all passed.
 */
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "log.h"

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
	static const struct {
		const char *name;
		int (*reg)(void);
	} suites[] = {
		{ "core", suite_core_register },
		{ "redis", suite_redis_register },
		{ "sentinel", suite_sentinel_register },
	};
	unsigned failed, run;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(cleanup);
	log_set_level(getenv("RL_TEST_DEBUG") ? LOG_DEBUG : LOG_ERR);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if ((argc < 2 || strcmp(argv[1], suites[i].name) == 0) &&
		    suites[i].reg() != 0) {
			fprintf(stderr, "cannot register suite %s\n",
			    suites[i].name);
			return 2;
		}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
	    CU_get_number_of_suites_failed();
	run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	return (failed == 0 && run > 0) ? 0 : 1;
}
