/*
 * main.c - the unit test runner: every suite of suites.h, run by
 * tests/runner.h (sg_unit [-l | SUITE[:TEST]]). Exit status 0 only if
 * every test passed.
 */
#include "suites.h"
#include "../runner.h"

int
main(int argc, char **argv)
{
	static const struct runner_suite suites[] = RUNNER_TABLE(SUITES);

	return runner_main(argc, argv, suites,
	    sizeof(suites) / sizeof(suites[0]));
}
