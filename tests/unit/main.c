/*
 * main.c - the unit test runner: registers every suite of suites.h and runs
 * them with CUnit's basic interface. Exit status 0 only if every test passed.
 * An argument selects one suite by name.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"

int
main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
#define X(name)                                                          \
	if (argc < 2 || strcmp(argv[1], #name) == 0) {                   \
		if (suite_##name##_register() != 0) {                    \
			fprintf(stderr, "cannot register suite %s\n", #name); \
			return 2;                                        \
		}                                                        \
	}
	SUITES(X)
#undef X
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() +
	    CU_get_number_of_tests_failed();
	unsigned run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	return (failed == 0 && run > 0) ? 0 : 1;
}
