/*
 * suites.h - every CUnit suite of the unit test runner, in one list.
 * Each test_*.c file defines its suite_*_register(); main.c calls them all.
 */
#ifndef SUBGATE_TEST_SUITES_H
#define SUBGATE_TEST_SUITES_H

#define SUITES(X) \
	X(addr)   \
	X(admin)  \
	X(asg_schema) \
	X(audit)  \
	X(audit_writer) \
	X(buf)    \
	X(cidr)   \
	X(config) \
	X(config_doc) \
	X(dest_deny) \
	X(htab)   \
	X(identity) \
	X(jsonl)  \
	X(jsonw)  \
	X(log)    \
	X(policy) \
	X(priv)   \
	X(radius) \
	X(radius_rtx) \
	X(report) \
	X(secret) \
	X(smarthost) \
	X(smtp)   \
	X(srclimit) \
	X(tls)

#define X(name) int suite_##name##_register(void);
SUITES(X)
#undef X

#endif
