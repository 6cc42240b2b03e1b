/*
 * test_buf.c - the growable buffer: contents survive growth, printf keeps
 * text NUL-terminated, drop moves the rest down, a secret buffer is wiped
 * wherever it gives memory back, and GROW doubles arrays. fmt_trunc
 * (util.h), the bounded snprintf, is here too.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "secbuf.h"
#include "suites.h"
#include "util.h"

static void
test_grow(void)
{
	struct buf b = { 0 };
	char want[1000];
	size_t i;

	for (i = 0; i < sizeof(want); i++) {
		want[i] = (char)('a' + i % 26);
		buf_add(&b, &want[i], 1);
		CU_ASSERT_TRUE_FATAL(b.len < b.cap);	/* room for a NUL */
	}
	CU_ASSERT_EQUAL(b.len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(b.p, want, b.len), 0);
	CU_ASSERT_TRUE(b.cap > 1000 && b.cap <= 1024);	/* doubling from 128 */
	buf_add(&b, "x", 0);
	CU_ASSERT_EQUAL(b.len, sizeof(want));
	buf_free(&b);
	CU_ASSERT_PTR_NULL(b.p);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(b.cap, 0);
	buf_free(&b);		/* idempotent */
}

static void
test_printf_drop(void)
{
	struct buf b = { 0 };
	char big[600];

	CU_ASSERT_EQUAL(buf_printf(&b, "%s=%d", "n", 42), 4);
	CU_ASSERT_STRING_EQUAL(b.p, "n=42");
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* growth in the middle of a printf keeps what was there */
	CU_ASSERT_EQUAL(buf_printf(&b, " %s.", big), (int)sizeof(big) + 1);
	CU_ASSERT_EQUAL(b.len, 4 + sizeof(big) + 1);
	CU_ASSERT_EQUAL(strncmp(b.p, "n=42 yyy", 8), 0);
	CU_ASSERT_EQUAL(b.p[b.len - 1], '.');
	CU_ASSERT_EQUAL(b.p[b.len], '\0');
	buf_drop(&b, 5);
	CU_ASSERT_EQUAL(b.len, sizeof(big));
	CU_ASSERT_EQUAL(b.p[0], 'y');
	buf_drop(&b, 0);
	CU_ASSERT_EQUAL(b.len, sizeof(big));
	buf_drop(&b, b.len + 10);	/* more than there is: empties */
	CU_ASSERT_EQUAL(b.len, 0);
	buf_free(&b);
}

static void
test_secret(void)
{
	struct buf b = { .secret = 1 };
	const char *pw = "AUTH PLAIN AGh1bnRlcjIA";
	size_t cap;

	buf_add(&b, pw, strlen(pw));
	cap = b.cap;
	/* dropping the head wipes the vacated tail */
	buf_drop(&b, 5);
	CU_ASSERT_EQUAL(b.len, strlen(pw) - 5);
	CU_ASSERT_EQUAL(memcmp(b.p, pw + 5, b.len), 0);
	for (size_t i = b.len; i < b.len + 5; i++)
		CU_ASSERT_EQUAL(b.p[i], 0);
	/* growth moves to a new allocation (never realloc in place) */
	for (int i = 0; i < 20; i++)
		buf_add(&b, pw, strlen(pw));
	CU_ASSERT_TRUE(b.cap > cap);
	buf_free(&b);
	CU_ASSERT_PTR_NULL(b.p);
	CU_ASSERT_EQUAL(b.secret, 1);	/* the mark stays */
}

static void
test_array(void)
{
	int *v = NULL;
	size_t cap = 0, n;

	GROW(v, cap, 1);
	CU_ASSERT_EQUAL(cap, 8);
	for (n = 0; n < 100; n++) {
		GROW(v, cap, n + 1);
		v[n] = (int)n;
	}
	CU_ASSERT_EQUAL(cap, 128);
	for (n = 0; n < 100; n++)
		CU_ASSERT_EQUAL(v[n], (int)n);
	GROW(v, cap, 10);	/* enough already: unchanged */
	CU_ASSERT_EQUAL(cap, 128);
	free(v);
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

/* fmt_trunc returns what is in the buffer, never what would have been:
 * a caller that writes that many bytes stays inside it. */
static void
test_fmt_trunc(void)
{
	char b[8], big[600];

	CU_ASSERT_EQUAL(fmt_trunc(b, sizeof(b), "%s", "abc"), 3);
	CU_ASSERT_STRING_EQUAL(b, "abc");
	CU_ASSERT_EQUAL(fmt_trunc(b, sizeof(b), "%s\r\n", "0123456789"), 7);
	CU_ASSERT_STRING_EQUAL(b, "0123456");
	CU_ASSERT_EQUAL(fmt_trunc(b, sizeof(b), "%s", "1234567"), 7);
	CU_ASSERT_EQUAL(fmt_trunc(b, 1, "%s", "x"), 0);
	CU_ASSERT_EQUAL(b[0], '\0');
	CU_ASSERT_EQUAL(fmt_trunc(b, 0, "%s", "x"), 0);
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(fmt_trunc(b, sizeof(b), "%s", big), sizeof(b) - 1);
}

int
suite_buf_register(void)
{
	CU_pSuite s = CU_add_suite("buf", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "grow", test_grow) == NULL ||
	    CU_add_test(s, "printf_drop", test_printf_drop) == NULL ||
	    CU_add_test(s, "secret", test_secret) == NULL ||
	    CU_add_test(s, "array", test_array) == NULL ||
	    CU_add_test(s, "wipe", test_wipe) == NULL ||
	    CU_add_test(s, "fmt_trunc", test_fmt_trunc) == NULL)
		return -1;
	return 0;
}
