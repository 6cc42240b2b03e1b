/*
 * test_secbuf.c - growable buffers for secrets: contents survive growth,
 * the old allocation is wiped before it is freed, sb_free leaves nothing.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "secbuf.h"
#include "suites.h"

static void
test_grow(void)
{
	char *buf = NULL, want[1000];
	size_t len = 0, cap = 0, i;

	for (i = 0; i < sizeof(want); i++) {
		want[i] = (char)('a' + i % 26);
		sb_append(&buf, &len, &cap, &want[i], 1);
		CU_ASSERT_TRUE_FATAL(len <= cap);
	}
	CU_ASSERT_EQUAL(len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, len), 0);
	CU_ASSERT_TRUE(cap >= 1000 && cap < 2048);	/* doubling from 128 */
	sb_free(&buf, &len, &cap);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(cap, 0);
	sb_free(&buf, &len, &cap);	/* idempotent */
}

static void
test_wipe(void)
{
	char s[16] = "hunter2-secret!";
	size_t i;
	int zero = 1;

	sb_wipe(s, sizeof(s));
	for (i = 0; i < sizeof(s); i++)
		zero &= s[i] == 0;
	CU_ASSERT_TRUE(zero);
	sb_wipe(NULL, 10);
}

int
suite_secbuf_register(void)
{
	CU_pSuite s = CU_add_suite("secbuf", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "grow", test_grow) == NULL ||
	    CU_add_test(s, "wipe", test_wipe) == NULL)
		return -1;
	return 0;
}
