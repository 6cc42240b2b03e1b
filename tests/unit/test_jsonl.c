/*
 * test_jsonl.c - the JSON-lines reader behind `subgate trace --file` and
 * the assignment query: lines come back whole, without newline or CR, a
 * last line without a newline counts, an over-long line is skipped whole
 * (never returned in pieces) and counted, gzip is read as it is.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "jsonl.h"
#include "suites.h"
#include "util.h"

static char path[64];

static void
write_file(const char *data, size_t n, int gz)
{
	snprintf(path, sizeof(path), "/tmp/sg_jsonl.%d%s", (int)getpid(),
	    gz ? ".gz" : "");
	if (gz) {
		gzFile f = gzopen(path, "wb");

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL(gzwrite(f, data, (unsigned)n), (int)n);
		gzclose(f);
	} else {
		FILE *f = fopen(path, "wb");

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL(fwrite(data, 1, n, f), n);
		fclose(f);
	}
}

/* lines - read path; the lines joined with '|' into out. */
static size_t
lines(char *out, size_t outlen, size_t *too_long)
{
	struct jsonl r;
	char err[128], *l;
	size_t n, count = 0, o = 0;

	CU_ASSERT_EQUAL_FATAL(jsonl_open(&r, path, err, sizeof(err)), 0);
	out[0] = '\0';
	while ((l = jsonl_next(&r, &n)) != NULL) {
		CU_ASSERT_EQUAL(strlen(l), n);
		o += (size_t)snprintf(out + o, outlen - o, "%s%.*s",
		    count ? "|" : "", (int)MIN(n, 40), l);
		count++;
	}
	*too_long = r.too_long;
	jsonl_close(&r);
	unlink(path);
	return count;
}

static void
test_lines(void)
{
	static const char data[] = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
	char out[256];
	size_t tl;

	for (int gz = 0; gz <= 1; gz++) {
		write_file(data, sizeof(data) - 1, gz);
		CU_ASSERT_EQUAL(lines(out, sizeof(out), &tl), 4);
		CU_ASSERT_STRING_EQUAL(out, "{\"a\":1}||{\"b\":2}|{\"c\":3}");
		CU_ASSERT_EQUAL(tl, 0);
	}
	write_file("", 0, 0);
	CU_ASSERT_EQUAL(lines(out, sizeof(out), &tl), 0);
}

static void
test_too_long(void)
{
	size_t big = JSONL_LINE_MAX + 300000, n = 0, tl;
	char *data = malloc(big + 64), out[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	n += (size_t)sprintf(data, "{\"x\":1}\n");
	memset(data + n, 'y', big);	/* a monster with a '{' in it */
	data[n + 5] = '{';
	n += big;
	n += (size_t)sprintf(data + n, "\n{\"z\":2}\n");
	write_file(data, n, 1);
	free(data);
	CU_ASSERT_EQUAL(lines(out, sizeof(out), &tl), 2);
	CU_ASSERT_STRING_EQUAL(out, "{\"x\":1}|{\"z\":2}");
	CU_ASSERT_EQUAL(tl, 1);
}

static void
test_missing(void)
{
	struct jsonl r;
	char err[128];

	CU_ASSERT_EQUAL(jsonl_open(&r, "/nonexistent/sg.jsonl", err,
	    sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/sg.jsonl"));
}

int
suite_jsonl_register(void)
{
	CU_pSuite s = CU_add_suite("jsonl", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "lines", test_lines) == NULL ||
	    CU_add_test(s, "too_long", test_too_long) == NULL ||
	    CU_add_test(s, "missing", test_missing) == NULL)
		return -1;
	return 0;
}
