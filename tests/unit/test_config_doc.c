/*
 * test_config_doc.c - config_doc, the reference written from the key
 * tables: what a region holds (type, default from the embedded
 * configuration, range, meaning), that the rest of the text is kept byte
 * for byte, that roff comes out as ASCII requests and text, and that a
 * marker it does not know, a region without its end or a Markdown file
 * missing a mapping's table is an error. The CTest case confdoc checks the
 * committed files themselves.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "suites.h"

#define RBEGIN(what)	".\\\" BEGIN GENERATED " what "\n"
#define REND		".\\\" END GENERATED\n"

static char *
doc(const char *in, char *err, size_t errlen)
{
	return config_doc(in, strlen(in), err, errlen);
}

static void
test_roff_keys(void)
{
	char err[256];
	char *out = doc("before\n" RBEGIN("KEYS") "stale\n" REND "after", err,
	    sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NULL(strstr(out, "stale"));
	CU_ASSERT_EQUAL(strncmp(out, "before\n" RBEGIN("KEYS"),
	    strlen("before\n" RBEGIN("KEYS"))), 0);
	CU_ASSERT_EQUAL(strcmp(out + strlen(out) - strlen(REND "after"),
	    REND "after"), 0);
	/* default from the embedded configuration, range from the table */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ".SS \"smtp\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ".B max_pipeline\n"
	    "number, default \\fB100\\fR, range 1\\(en10000.\n"));
	/* a list element's default: what the parser starts it with */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ".B backlog\n"
	    "number, default \\fB1024\\fR, range 1\\(en65535.\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ".B within\n"
	    "duration, default \\fB10m\\fR"));
	/* the section whose presence is a setting */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ".B redis\n"
	    "section, default absent.\n"));
	/* a shared table once, pointed at from its second place */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ".SS \"policy.destination\"\n"));
	CU_ASSERT_PTR_NULL(strstr(out, ".SS \"policy.global\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "section, keys as "
	    "\\fBpolicy.destination\\fR."));
	free(out);
}

/* roff_ascii - every byte ASCII, no line longer than 80 octets outside a
 * display, and every line that starts with '.' a request of man(7). */
static void
test_roff_ascii(void)
{
	static const char *const req[] = { ".SS ", ".TP\n", ".B ", ".br\n",
		".PP\n", ".RS ", ".EX\n", ".EE\n", ".RE\n", ".\\\" " };
	char err[256], *out, *p, *nl;
	int display = 0, known;
	size_t i;

	out = doc(RBEGIN("NOTATION") REND RBEGIN("KEYS") REND, err,
	    sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	for (p = out; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
		for (i = 0; p + i < nl; i++)
			CU_ASSERT((unsigned char)p[i] < 0x80);
		if (*p == '.' || *p == '\'') {
			known = 0;
			for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
				if (strncmp(p, req[i], strlen(req[i])) == 0)
					known = 1;
			CU_ASSERT(known);
		}
		if (strncmp(p, ".EX\n", 4) == 0)
			display = 1;
		if (strncmp(p, ".EE\n", 4) == 0)
			display = 0;
		if (!display)
			CU_ASSERT(nl - p <= 80);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\\(sc"));	/* § of RFC sections */
	free(out);
}

static void
test_errors(void)
{
	char err[256];

	CU_ASSERT_PTR_NULL(doc("<!-- BEGIN GENERATED KEYS: nosuch -->\n"
	    "<!-- END GENERATED -->\n", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no mapping nosuch"));
	CU_ASSERT_PTR_NULL(doc("x\n" RBEGIN("KEYS") "y\n", err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "line 2: no END GENERATED after this "
	    "BEGIN");
	CU_ASSERT_PTR_NULL(doc(RBEGIN("KEY") REND, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 1: unknown marker"));
	/* Markdown: every mapping needs its table */
	CU_ASSERT_PTR_NULL(doc("<!-- BEGIN GENERATED KEYS: log -->\n"
	    "<!-- END GENERATED -->\n", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no table for top"));
}

static void
test_no_markers(void)
{
	const char *in = "# title\n\n| a | b |\nno newline at the end";
	char err[256], *out = doc(in, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(out, in);
	free(out);
}

int
suite_config_doc_register(void)
{
	CU_pSuite s = CU_add_suite("config_doc", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "roff_keys", test_roff_keys) == NULL ||
	    CU_add_test(s, "roff_ascii", test_roff_ascii) == NULL ||
	    CU_add_test(s, "errors", test_errors) == NULL ||
	    CU_add_test(s, "no_markers", test_no_markers) == NULL)
		return -1;
	return 0;
}
