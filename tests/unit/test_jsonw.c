/*
 * test_jsonw.c - the streaming JSON writer against jansson, its reference:
 * every string jansson would have made of the same bytes (as audit.c did:
 * json_string, and for invalid UTF-8 every byte >= 0x80 as '?') must come
 * out byte for byte the same: every single byte and every pair, UTF-8 edge
 * cases, random hostile strings; integers at their limits; nesting and
 * commas; JSON lines; growth from a small caller buffer.
 */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "suites.h"
#include "util.h"

/* ref - what audit.c made of s with jansson (its old jstr + json_dumpb). */
static char *
ref(const char *s, size_t *n)
{
	json_t *j = json_string(s);
	char *out;

	if (j == NULL) {
		char *c = xstrdup(s);

		for (unsigned char *p = (unsigned char *)c; *p; p++)
			if (*p >= 0x80)
				*p = '?';
		j = json_string(c);
		free(c);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	out = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(j);
	*n = strlen(out);
	return out;
}

static int mismatches;

/* same - jw_str(s) == ref(s), and the validity check agrees with jansson. */
static void
same(const char *s)
{
	char stack[16];
	struct jw w;
	size_t n;
	char *want = ref(s, &n);
	json_t *j = json_string(s);

	jw_init(&w, stack, sizeof(stack));
	jw_str(&w, s);
	if (w.len != n || memcmp(w.p, want, n) != 0) {
		if (mismatches++ < 5)
			fprintf(stderr, "\njsonw: %.*s\njansson: %s\n", (int)w.len,
			    w.p, want);
		CU_FAIL("differs from jansson");
	}
	CU_ASSERT_EQUAL(jw_utf8_valid(s, strlen(s)), j != NULL);
	json_decref(j);
	free(want);
	jw_free(&w);
}

static void
test_bytes(void)
{
	char s[3] = { 0 };

	mismatches = 0;
	for (int a = 1; a < 256; a++) {
		s[0] = (char)a;
		s[1] = '\0';
		same(s);
		for (int b = 1; b < 256; b++) {
			s[1] = (char)b;
			same(s);
		}
	}
}

static void
test_utf8_edges(void)
{
	static const char *const cases[] = {
		"", "plain", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
		"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf", "\xe2\x80\xa8\xe2\x80\xa9", "\xef\xbb\xbf",
		/* invalid: surrogates, above U+10FFFF, overlong, cut short,
		 * stray continuation, bytes never used */
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\xaf",
		"\xf0\x80\x80\xaf", "\xe2\x82", "ok\xe2", "\xf0\x9f\x98",
		"\x80", "a\xbfz", "\xfe\xff", "\xc3\xa9 then \xff",
		"\xc3\xa9\"\\\x01\n\r\t\b\f/\x1f",
		"<\"q\"\\\x01\xff",
	};

	mismatches = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		same(cases[i]);
}

static void
test_random(void)
{
	static const char *const frags[] = { "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80", "\x80", "\xc0\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xe2\x82", "\xff", "\"", "\\", "\x7f",
		"\x1b", "\n", "\x01", "/" };
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char s[600];

	mismatches = 0;
	for (int i = 0; i < 20000; i++) {
		size_t k = 0, len;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		len = x % 500;
		while (k < len) {
			const char *f;
			char c[2] = { 0, 0 };

			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			if (x % 3 == 0)
				f = frags[(x >> 8) % ARRAY_SIZE(frags)];
			else {
				c[0] = (char)(1 + (x >> 16) % 255);
				f = c;
			}
			if (k + strlen(f) >= sizeof(s) - 1)
				break;
			memcpy(s + k, f, strlen(f));
			k += strlen(f);
		}
		s[k] = '\0';
		same(s);
	}
}

static void
test_structure(void)
{
	char small[4];
	struct jw w;
	json_t *j;
	static const char want[] =
	    "{\"a\":1,\"b\":\"x\",\"c\":[],\"d\":[\"p\",\"q\",{\"e\":true,"
	    "\"f\":false}],\"g\":{},\"min\":-9223372036854775808,"
	    "\"max\":9223372036854775807,\"z\":0,\"n\":-1,\"null\":\"\"}\n"
	    "{\"second\":\"line\"}\n";

	jw_init(&w, small, sizeof(small));
	jw_obj_open(&w);
	jw_kint(&w, "a", 1);
	jw_kstr(&w, "b", "x");
	jw_key(&w, "c");
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_key(&w, "d");
	jw_arr_open(&w);
	jw_str(&w, "p");
	jw_strn(&w, "qr", 1);
	jw_obj_open(&w);
	jw_key(&w, "e");
	jw_bool(&w, 1);
	jw_key(&w, "f");
	jw_bool(&w, 0);
	jw_obj_close(&w);
	jw_arr_close(&w);
	jw_key(&w, "g");
	jw_obj_open(&w);
	jw_obj_close(&w);
	jw_kint(&w, "min", LLONG_MIN);
	jw_kint(&w, "max", LLONG_MAX);
	jw_kint(&w, "z", 0);
	jw_kint(&w, "n", -1);
	jw_kstr(&w, "null", NULL);
	jw_obj_close(&w);
	jw_nl(&w);
	jw_obj_open(&w);
	jw_kstr(&w, "second", "line");
	jw_obj_close(&w);
	jw_nl(&w);
	CU_ASSERT_EQUAL(w.owned, 1);	/* outgrew the 4 bytes */
	CU_ASSERT_EQUAL(w.len, sizeof(want) - 1);
	CU_ASSERT_EQUAL(memcmp(w.p, want, sizeof(want) - 1), 0);
	j = json_loadb(w.p, strchr(w.p, '\n') - w.p, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL(j);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "min")), LLONG_MIN);
	json_decref(j);
	jw_free(&w);

	/* a heap writer from nothing; a huge string escaped whole */
	jw_init(&w, NULL, 0);
	{
		char *big = xmalloc(100001);

		memset(big, '\x01', 100000);
		big[100000] = '\0';
		jw_str(&w, big);
		CU_ASSERT_EQUAL(w.len, 2 + 6 * 100000);
		CU_ASSERT_EQUAL(memcmp(w.p, "\"\\u0001", 7), 0);
		free(big);
	}
	jw_free(&w);
	CU_ASSERT_PTR_NULL(w.p);
}

int
suite_jsonw_register(void)
{
	CU_pSuite s = CU_add_suite("jsonw", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "every byte and pair as jansson", test_bytes) == NULL ||
	    CU_add_test(s, "UTF-8 edges as jansson", test_utf8_edges) == NULL ||
	    CU_add_test(s, "random hostile strings", test_random) == NULL ||
	    CU_add_test(s, "structure, integers, lines, growth",
	    test_structure) == NULL)
		return -1;
	return 0;
}
