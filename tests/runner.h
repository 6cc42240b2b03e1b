/*
 * runner.h - the one CUnit runner of sg_unit (tests/unit) and
 * sg_ratelimit_test (tests/ratelimit). Each runner's suites.h lists its
 * suites once, SUITES(X), and declares suite_NAME_register() for each; its
 * main.c turns the list into a table and calls runner_main():
 *
 *   sg_unit                    every suite
 *   sg_unit smtp               one suite
 *   sg_unit smtp:pipelining    one test of one suite
 *   sg_unit -l                 the names of every suite:test
 *
 * Header-only (one static function) so that both test executables share it
 * without a library of its own; include it from main.c only.
 */
#ifndef SUBGATE_TEST_RUNNER_H
#define SUBGATE_TEST_RUNNER_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

struct runner_suite {
	const char *name;	/* the CUnit suite name, as in CU_add_suite */
	int (*reg)(void);	/* suite_NAME_register: 0 or -1 */
};

/* The table of a SUITES(X) list: RUNNER_TABLE(SUITES) in main.c. */
#define RUNNER_ENTRY(name) { #name, suite_##name##_register },
#define RUNNER_TABLE(list) { list(RUNNER_ENTRY) }

/* runner_main - register the suites the command line selects and run them;
 * the exit status: 0 only if at least one test ran and none failed, 1 if
 * any failed, 2 on a usage or registration error. */
static inline int
runner_main(int argc, char **argv, const struct runner_suite *suites,
    size_t n)
{
	const char *arg = argc > 1 ? argv[1] : NULL, *test = NULL;
	char suite[64];
	CU_pSuite ps = NULL;
	CU_pTest pt = NULL;
	unsigned failed, run;
	int list = 0, matched = 0;
	size_t i;

	if (argc > 2 || (arg != NULL && arg[0] == '-' && strcmp(arg, "-l"))) {
		fprintf(stderr, "usage: %s [-l | SUITE[:TEST]]\n", argv[0]);
		return 2;
	}
	if (arg != NULL && strcmp(arg, "-l") == 0) {
		list = 1;
		arg = NULL;
	}
	if (arg != NULL) {
		size_t len = strcspn(arg, ":");

		if (len >= sizeof(suite)) {
			fprintf(stderr, "%s: suite name too long\n", argv[0]);
			return 2;
		}
		memcpy(suite, arg, len);
		suite[len] = '\0';
		if (arg[len] == ':')
			test = arg + len + 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (i = 0; i < n; i++) {
		if (arg != NULL && strcmp(suite, suites[i].name) != 0)
			continue;
		matched++;
		if (suites[i].reg() != 0) {
			fprintf(stderr, "cannot register suite %s\n",
			    suites[i].name);
			CU_cleanup_registry();
			return 2;
		}
	}
	if (list) {
		for (ps = CU_get_registry()->pSuite; ps; ps = ps->pNext)
			for (pt = ps->pTest; pt; pt = pt->pNext)
				printf("%s:%s\n", ps->pName, pt->pName);
		CU_cleanup_registry();
		return 0;
	}
	if (arg != NULL && matched == 0) {
		fprintf(stderr, "%s: no suite %s (-l lists them)\n", argv[0],
		    suite);
		CU_cleanup_registry();
		return 2;
	}
	if (test != NULL && ((ps = CU_get_suite(suite)) == NULL ||
	    (pt = CU_get_test(ps, test)) == NULL)) {
		fprintf(stderr, "%s: no test %s in suite %s (-l lists them)\n",
		    argv[0], test, suite);
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (pt != NULL)
		CU_basic_run_test(ps, pt);
	else
		CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
	    CU_get_number_of_suites_failed();
	run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	return (failed == 0 && run > 0) ? 0 : 1;
}

#endif
