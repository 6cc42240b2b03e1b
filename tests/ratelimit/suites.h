/*
 * suites.h - every CUnit suite of the limiter's test runner, in one list,
 * in the order they run: the pure suite first, then those that need
 * redis-server. Each test_*.c file defines its suite_*_register(); main.c
 * hands them to tests/runner.h.
 */
#ifndef SUBGATE_RL_TEST_SUITES_H
#define SUBGATE_RL_TEST_SUITES_H

#define SUITES(X) \
	X(core)   \
	X(redis)  \
	X(sentinel) \
	X(sync)

#define X(name) int suite_##name##_register(void);
SUITES(X)
#undef X

#endif
