/*
 * test_log.c - the operator log's lines (log_format): the plain form as it
 * always was, the journal's "<N>" priority per level, the syslog(3) body,
 * control bytes escaped so one event stays one line, truncation that never
 * splits an escape; and JOURNAL_STREAM's "DEV:INODE" matched against
 * standard error's file (log_journal_stream).
 */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "suites.h"

/* fmt - log_format with arguments. */
static size_t
fmt(char *out, size_t outlen, enum log_style style, enum log_level lvl,
    int64_t ms, const char *f, ...) __attribute__((format(printf, 6, 7)));

static size_t
fmt(char *out, size_t outlen, enum log_style style, enum log_level lvl,
    int64_t ms, const char *f, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, f);
	n = log_format(out, outlen, style, lvl, ms, f, ap);
	va_end(ap);
	CU_ASSERT_EQUAL(n, strlen(out));
	CU_ASSERT_TRUE(n < outlen);
	return n;
}

/* The severities of sd-daemon(3) and syslog(3): journalctl -p and a syslog
 * daemon's filters see these. */
static void
test_priority(void)
{
	CU_ASSERT_EQUAL(log_priority(LOG_ERR), 3);
	CU_ASSERT_EQUAL(log_priority(LOG_WARN), 4);
	CU_ASSERT_EQUAL(log_priority(LOG_INFO), 6);
	CU_ASSERT_EQUAL(log_priority(LOG_DEBUG), 7);
	CU_ASSERT_STRING_EQUAL(log_level_names[LOG_WARN], "warn");
	CU_ASSERT_PTR_NULL(log_level_names[LOG_DEBUG + 1]);
	CU_ASSERT_STRING_EQUAL(log_target_names[LOG_TO_SYSLOG], "syslog");
}

/* Not the journal: the line operators and scripts have always read. */
static void
test_plain(void)
{
	char out[LOG_LINE_MAX];

	fmt(out, sizeof(out), LOG_STYLE_PLAIN, LOG_INFO, 1795904547313LL,
	    "event=start workers=%d", 2);
	CU_ASSERT_STRING_EQUAL(out,
	    "2026-11-28T22:22:27.313Z level=info event=start workers=2\n");
}

static void
test_journal(void)
{
	static const char *const want[] = {
		"<3>level=error event=x n=1\n",
		"<4>level=warn event=x n=1\n",
		"<6>level=info event=x n=1\n",
		"<7>level=debug event=x n=1\n",
	};
	char out[LOG_LINE_MAX];

	for (int l = LOG_ERR; l <= LOG_DEBUG; l++) {
		fmt(out, sizeof(out), LOG_STYLE_JOURNAL, (enum log_level)l,
		    1795904547313LL, "event=x n=%d", 1);
		CU_ASSERT_STRING_EQUAL(out, want[l]);
	}
}

/* syslog(3) adds <PRI>, time and tag, and a newline would be part of the
 * message. */
static void
test_syslog(void)
{
	char out[LOG_LINE_MAX];

	fmt(out, sizeof(out), LOG_STYLE_SYSLOG, LOG_WARN, 0, "event=%s", "y");
	CU_ASSERT_STRING_EQUAL(out, "level=warn event=y");
}

/* A newline in a value (an error text, a path) cannot start a line that
 * would carry no priority, or a forged one. */
static void
test_control_bytes(void)
{
	char out[LOG_LINE_MAX];

	fmt(out, sizeof(out), LOG_STYLE_JOURNAL, LOG_INFO, 0,
	    "error=\"%s\"", "a\n<3>b\r\tc\x7f\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(out, "<6>level=info error=\"a\\x0a<3>b\\x0d"
	    "\\x09c\\x7f\xc3\xa9\"\n");
}

/* Every size: the prefix stays, an escape is whole or absent, the newline
 * is always there. */
static void
test_truncate(void)
{
	char out[LOG_LINE_MAX], big[2 * LOG_LINE_MAX];
	size_t n, outlen, body;

	for (outlen = 64; outlen < 96; outlen++) {
		n = fmt(out, outlen, LOG_STYLE_JOURNAL, LOG_ERR, 0, "k=%s",
		    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
		    "\x01\x01\x01\x01\x01\x01");
		CU_ASSERT_EQUAL(strncmp(out, "<3>level=error k=", 17), 0);
		CU_ASSERT_EQUAL(out[n - 1], '\n');
		body = n - 1 - 17;
		CU_ASSERT_EQUAL(body % 4, 0);
		CU_ASSERT_TRUE(n + 4 >= outlen - 1);
		if (body >= 4)
			CU_ASSERT_EQUAL(strncmp(out + n - 5, "\\x01", 4), 0);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = fmt(out, sizeof(out), LOG_STYLE_PLAIN, LOG_INFO, 0, "%s", big);
	CU_ASSERT_EQUAL(n, sizeof(out) - 1);
	CU_ASSERT_EQUAL(out[n - 1], '\n');
	CU_ASSERT_EQUAL(strchr(out, '\n'), out + n - 1);
	n = fmt(out, sizeof(out), LOG_STYLE_SYSLOG, LOG_INFO, 0, "%s", big);
	CU_ASSERT_EQUAL(n, sizeof(out) - 1);
	CU_ASSERT_EQUAL(out[n - 1], 'a');
}

/* systemd.exec(5): the journal exactly when DEV:INODE is standard error's. */
static void
test_journal_stream(void)
{
	CU_ASSERT_TRUE(log_journal_stream("8:123456", 8, 123456));
	CU_ASSERT_TRUE(log_journal_stream("0:1", 0, 1));
	CU_ASSERT_TRUE(log_journal_stream("18446744073709551615:7",
	    (dev_t)18446744073709551615ULL, 7));
	CU_ASSERT_FALSE(log_journal_stream("8:123456", 8, 123457));
	CU_ASSERT_FALSE(log_journal_stream("9:123456", 8, 123456));
	CU_ASSERT_FALSE(log_journal_stream(NULL, 8, 123456));
	CU_ASSERT_FALSE(log_journal_stream("", 0, 0));
	CU_ASSERT_FALSE(log_journal_stream("8:", 8, 0));
	CU_ASSERT_FALSE(log_journal_stream(":123456", 0, 123456));
	CU_ASSERT_FALSE(log_journal_stream("8:123456x", 8, 123456));
	CU_ASSERT_FALSE(log_journal_stream("8:123456:1", 8, 123456));
	CU_ASSERT_FALSE(log_journal_stream(" 8:123456", 8, 123456));
	CU_ASSERT_FALSE(log_journal_stream("8: 123456", 8, 123456));
	CU_ASSERT_FALSE(log_journal_stream("-8:123456", (dev_t)-8, 123456));
	CU_ASSERT_FALSE(log_journal_stream("8:-1", 8, (ino_t)-1));
	CU_ASSERT_FALSE(log_journal_stream("18446744073709551616:7",
	    (dev_t)18446744073709551615ULL, 7));
}

int
suite_log_register(void)
{
	CU_pSuite s = CU_add_suite("log", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "priority", test_priority) == NULL ||
	    CU_add_test(s, "plain", test_plain) == NULL ||
	    CU_add_test(s, "journal", test_journal) == NULL ||
	    CU_add_test(s, "syslog", test_syslog) == NULL ||
	    CU_add_test(s, "control_bytes", test_control_bytes) == NULL ||
	    CU_add_test(s, "truncate", test_truncate) == NULL ||
	    CU_add_test(s, "journal_stream", test_journal_stream) == NULL)
		return -1;
	return 0;
}
