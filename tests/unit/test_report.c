/*
 * test_report.c - the complaint parser of `subgate trace --report`
 * (proxy/cli/report.c): the facts of each fixture in tests/data/reports,
 * every fact kind and form, and the bounds.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#ifndef SUBGATE_TESTDATA_DIR
#define SUBGATE_TESTDATA_DIR "tests/data"
#endif

/* T - ms of an RFC 3339 time, the way the fixtures' dates are checked. */
static int64_t
T(const char *s)
{
	int64_t ms = 0;

	CU_ASSERT_FATAL(report_date(s, &ms) == 0);
	return ms;
}

static char *
slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;

	snprintf(path, sizeof(path), "%s/reports/%s", SUBGATE_TESTDATA_DIR, name);
	f = fopen(path, "rb");
	CU_ASSERT_FATAL(f != NULL);
	buf = malloc(65536);
	CU_ASSERT_FATAL(buf != NULL);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static struct report r;
static char err[256];

static int
parse_file(const char *name)
{
	size_t len;
	char *buf = slurp(name, &len);
	int rc = report_parse(&r, buf, len, err, sizeof(err));

	free(buf);
	return rc;
}

static int
parse_str(const char *s)
{
	return report_parse(&r, s, strlen(s), err, sizeof(err));
}

/* has - a fact of kind with value (port, at: 0 = not checked, -1 = must
 * be unknown), from origin (NULL: any). */
static int
has(enum rfact_kind kind, const char *value, int port, int64_t at,
    const char *origin)
{
	for (size_t i = 0; i < r.nfacts; i++) {
		const struct rfact *f = &r.fact[i];

		if (f->kind != kind || strcmp(f->value, value) != 0)
			continue;
		if (port > 0 && f->port != port)
			continue;
		if (port < 0 && f->port != 0)
			continue;
		if (at > 0 && f->at != at)
			continue;
		if (origin != NULL && strcmp(f->origin, origin) != 0)
			continue;
		return 1;
	}
	return 0;
}

static void
test_arf(void)
{
	CU_ASSERT_FATAL(parse_file("arf.eml") == 0);
	CU_ASSERT_EQUAL(r.format, RPT_ARF);
	CU_ASSERT_EQUAL(r.nfacts, 3);
	CU_ASSERT(has(RF_ADDR, "203.0.113.1", 41134,
	    T("2026-11-28T22:47:45Z"), "Source-IP"));
	CU_ASSERT(has(RF_QID, "QT0001", 0, 0, NULL));
	CU_ASSERT(has(RF_MID, "<20261128.4711.spam@shop.example>", 0, 0, NULL));
	CU_ASSERT_STRING_EQUAL(r.mail_from, "<newsletter@shop.example>");
	CU_ASSERT_STRING_EQUAL(r.reported_domain, "shop.example");
	/* the complainer's own message is no fact */
	CU_ASSERT(!has(RF_MID, "<fbl.20261128230512.77@mail.example>", 0, 0,
	    NULL));
	CU_ASSERT(!has(RF_ADDR, "192.0.2.80", 0, 0, NULL));
}

static void
test_dsn(void)
{
	CU_ASSERT_FATAL(parse_file("dsn-postfix.eml") == 0);
	CU_ASSERT_EQUAL(r.format, RPT_DSN);
	CU_ASSERT(has(RF_QID, "QT0002", 0, 0, "X-Postfix-Queue-ID"));
	CU_ASSERT(has(RF_ADDR, "203.0.113.1", 41135,
	    T("2026-11-28T22:47:46Z"), "Received"));
	CU_ASSERT(has(RF_MID, "<hello.0815@home.example>", 0, 0, NULL));
	CU_ASSERT(!has(RF_QID, "3F1A22C0A8", 0, 0, NULL));
	CU_ASSERT_EQUAL(r.nfacts, 3);
}

static void
test_xarf(void)
{
	CU_ASSERT_FATAL(parse_file("xarf.eml") == 0);
	CU_ASSERT_EQUAL(r.format, RPT_XARF);
	CU_ASSERT(has(RF_ADDR, "100.64.3.9", 41300, T("2026-11-28T23:10:00Z"),
	    "X-ARF Source"));
	CU_ASSERT(has(RF_ADDR, "100.64.3.9", -1, T("2026-11-28T23:10:00Z"),
	    "Received"));
	CU_ASSERT(has(RF_MID, "<x3@example.net>", 0, 0, NULL));
	CU_ASSERT(!has(RF_MID, "<xarf.20261128232000.1@abuse.example.com>", 0,
	    0, NULL));
}

static void
test_xarf_json(void)
{
	CU_ASSERT_FATAL(parse_str(
	    "X-ARF: yes\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--b\r\nContent-Type: application/json\r\n\r\n"
	    "{\"Version\":\"0.3\",\"Report\":{\"Source\":{\"IP\":\"198.51.100.9\","
	    "\"Port\":40001},\"Date\":\"2026-11-28T10:00:00Z\"}}\r\n"
	    "--b--\r\n") == 0);
	CU_ASSERT(has(RF_ADDR, "198.51.100.9", 40001, T("2026-11-28T10:00:00Z"),
	    "X-ARF Source"));
	CU_ASSERT_FATAL(parse_str(
	    "X-ARF: yes\nContent-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\n"
	    "{\"Source\":\"2001:db8::7\",\"Source-Port\":\"40002\","
	    "\"Date\":\"Sat, 28 Nov 2026 10:00:00 +0100\"}\n--b--\n") == 0);
	CU_ASSERT(has(RF_ADDR, "2001:db8::7", 40002, T("2026-11-28T09:00:00Z"),
	    "X-ARF Source"));
	/* XARF v3: JSON in an ARF envelope, "SourceIp" / "SourcePort" */
	CU_ASSERT_FATAL(parse_str(
	    "Content-Type: multipart/report; report-type=feedback-report; "
	    "boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n"
	    "--b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
	    "--b\nContent-Type: application/json\n\n{\"Version\":\"3\","
	    "\"Report\":{\"SourceIp\":\"203.0.113.77\",\"SourcePort\":40003,"
	    "\"Date\":\"2026-11-28T10:00:00Z\"}}\n--b--\n") == 0);
	CU_ASSERT_EQUAL(r.format, RPT_ARF);
	CU_ASSERT(has(RF_ADDR, "203.0.113.77", 40003, T("2026-11-28T10:00:00Z"),
	    "X-ARF Source"));
}

static void
test_forwarded(void)
{
	CU_ASSERT_FATAL(parse_file("forwarded.eml") == 0);
	CU_ASSERT_EQUAL(r.format, RPT_MESSAGE);
	/* the attachment is base64: decoded */
	CU_ASSERT(has(RF_ADDR, "203.0.113.1", 41500, T("2026-11-29T08:15:02Z"),
	    "Received"));
	CU_ASSERT(has(RF_QID, "QT0004", 0, 0, NULL));
	CU_ASSERT(has(RF_MID, "<fwd.9001@parcel.example>", 0, 0, NULL));
	/* a plain message's own fields are facts */
	CU_ASSERT(has(RF_MID, "<alice.fwd.1@example.com>", 0, 0, NULL));
}

static void
test_malformed(void)
{
	CU_ASSERT(parse_file("malformed.eml") < 0);
	CU_ASSERT(strstr(err, "boundary") != NULL);
}

/* The Received forms: Postfix with and without the port, "(port N)",
 * Exim's "[a]:port", IPv6, a bare "(a)", and the time after ';'. */
static void
test_received_forms(void)
{
	CU_ASSERT_FATAL(parse_str(
	    "Received: from a.example (a.example [192.0.2.1]:40123) by mx "
	    "with ESMTP id AB12; Sat, 28 Nov 2026 10:00:00 +0000\n"
	    "Received: from b.example (b.example [192.0.2.2]) (port 40124)\n"
	    "  by mx with SMTP id CD.34; 28 Nov 2026 10:00:01 GMT\n"
	    "Received: from c.example ([192.0.2.3]:40125 helo=c) by mx "
	    "with esmtp (Exim 4.96) id 1tXyZ-000AbC-Ef; Sat, 28 Nov 26 "
	    "10:00:02 -0100\n"
	    "Received: from d.example (d.example [IPv6:2001:db8::1]) by mx;\n"
	    "\tSat, 28 Nov 2026 10:00:03 +0000\n"
	    "Received: from e.example (198.51.100.5) by mx with Microsoft SMTP "
	    "Server id 15.0.1; Sat, 28 Nov 2026 10:00:04 +0000\n"
	    "Received: by localhost with local id xyz; Sat, 28 Nov 2026 10:00:05 "
	    "+0000\n"
	    "Message-Id:   <a@b.example>  (comment)\n"
	    "\nbody\n") == 0);
	CU_ASSERT(has(RF_ADDR, "192.0.2.1", 40123, T("2026-11-28T10:00:00Z"),
	    NULL));
	CU_ASSERT(has(RF_QID, "AB12", 0, 0, NULL));
	CU_ASSERT(has(RF_ADDR, "192.0.2.2", 40124, T("2026-11-28T10:00:01Z"),
	    NULL));
	CU_ASSERT(has(RF_QID, "CD.34", 0, 0, NULL));
	CU_ASSERT(has(RF_ADDR, "192.0.2.3", 40125, T("2026-11-28T11:00:02Z"),
	    NULL));
	CU_ASSERT(has(RF_QID, "1tXyZ-000AbC-Ef", 0, 0, NULL));
	CU_ASSERT(has(RF_ADDR, "2001:db8::1", -1, T("2026-11-28T10:00:03Z"),
	    NULL));
	CU_ASSERT(has(RF_ADDR, "198.51.100.5", -1, 0, NULL));
	CU_ASSERT(has(RF_QID, "xyz", 0, 0, NULL));
	CU_ASSERT(has(RF_MID, "<a@b.example>", 0, 0, NULL));
	CU_ASSERT_EQUAL(r.nfacts, 11);
}

/* "queued as" in a DSN's diagnostic and text; quoted-printable. */
static void
test_queued_as(void)
{
	CU_ASSERT_FATAL(parse_str(
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=\"x y\"\n\n"
	    "--x y\nContent-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "remote said: 250 2.0.0 Ok: queued =\nas QT7777.\n"
	    "--x y\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; a.example\n\n"
	    "Final-Recipient: rfc822; x@example.org\nAction: delayed\n"
	    "Status: 4.0.0\nDiagnostic-Code: smtp; 250 ok queued as Q8888\n"
	    "--x y--\n") == 0);
	CU_ASSERT(has(RF_QID, "QT7777", 0, 0, "bounce text (queued as)"));
	CU_ASSERT(has(RF_QID, "Q8888", 0, 0, NULL));
	CU_ASSERT_EQUAL(r.nfacts, 2);
}

/* Header names are case-insensitive; folded fields unfolded. */
static void
test_case_fold(void)
{
	CU_ASSERT_FATAL(parse_str(
	    "CONTENT-TYPE: Multipart/Report;\r\n REPORT-TYPE=Feedback-Report;\r\n"
	    "\tBOUNDARY=zz\r\n\r\n--zz\r\ncontent-type: MESSAGE/FEEDBACK-REPORT\r\n"
	    "\r\nsource-ip: 192.0.2.44\r\nARRIVAL-DATE: Thu, 3 Dec 2026\r\n"
	    " 19:00:00 +0000\r\n--zz--\r\n") == 0);
	CU_ASSERT_EQUAL(r.format, RPT_ARF);
	CU_ASSERT(has(RF_ADDR, "192.0.2.44", -1, T("2026-12-03T19:00:00Z"),
	    "Source-IP"));
	/* a port out of range is no port (found by fuzz_report) */
	CU_ASSERT_FATAL(parse_str("Content-Type: message/feedback-report\n\n"
	    "Source-IP: 192.0.2.45\nSource-Port: 4294967337\n") == 0);
	CU_ASSERT(has(RF_ADDR, "192.0.2.45", -1, 0, "Source-IP"));
	CU_ASSERT_FATAL(parse_str("Received: from x ([192.0.2.46]:65536) "
	    "(port 99999) by y\n\n") == 0);
	CU_ASSERT(has(RF_ADDR, "192.0.2.46", -1, 0, "Received"));
}

static void
test_not_a_message(void)
{
	static const char bin[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0garbage";

	CU_ASSERT(report_parse(&r, bin, sizeof(bin) - 1, err, sizeof(err)) < 0);
	CU_ASSERT(parse_str("just some text\nwithout a header\n") < 0);
	CU_ASSERT(parse_str("") < 0);
	CU_ASSERT(parse_str("\n\nbody only\n") < 0);
	CU_ASSERT(parse_str(" continuation first\nA: b\n\n") < 0);
	CU_ASSERT(strstr(err, "continuation") != NULL);
}

static void
test_missing_boundary(void)
{
	CU_ASSERT(parse_str("Content-Type: multipart/mixed\n\n--x\n\n--x--\n") < 0);
	CU_ASSERT(strstr(err, "boundary parameter") != NULL);
	CU_ASSERT(parse_str("Content-Type: multipart/mixed; boundary=q\n\n"
	    "no delimiter at all\n") < 0);
	CU_ASSERT(strstr(err, "without its boundary") != NULL);
	/* a nested boundary that starts with the outer one is not it */
	CU_ASSERT_FATAL(parse_str("Content-Type: multipart/mixed; boundary=q\n\n"
	    "--q\nContent-Type: multipart/mixed; boundary=qq\n\n"
	    "--qq\nContent-Type: message/rfc822\n\nMessage-ID: <in@x.example>\n"
	    "--qq--\n--q--  \n") == 0);
	CU_ASSERT(has(RF_MID, "<in@x.example>", 0, 0, NULL));
	CU_ASSERT_EQUAL(r.entities, 4);
	/* no closing delimiter: the last part runs to the end */
	CU_ASSERT(parse_str("Content-Type: multipart/mixed; boundary=q\n\n"
	    "--q\nContent-Type: message/rfc822\n\nMessage-ID: <open@x.example>"
	    "\n") == 0);
	CU_ASSERT(has(RF_MID, "<open@x.example>", 0, 0, NULL));
	CU_ASSERT(parse_str("Content-Type: multipart/mixed; boundary=q\n\n"
	    "--q\nContent-Transfer-Encoding: base64\n"
	    "Content-Type: message/rfc822\n\n!!!not base64!!!\n--q--\n") < 0);
}

static void
test_bounds_long_header(void)
{
	size_t n = REPORT_FIELD_MAX + 100;
	char *s = malloc(2 * n + 64);

	CU_ASSERT_FATAL(s != NULL);
	/* one line */
	memcpy(s, "Subject: ", 9);
	memset(s + 9, 'a', n);
	memcpy(s + 9 + n, "\n\nx\n", 5);
	CU_ASSERT(parse_str(s) < 0);
	CU_ASSERT(strstr(err, "longer than") != NULL);
	/* folded into many short lines */
	n *= 2;
	memcpy(s, "Subject: ", 9);
	for (size_t i = 9; i < 9 + n; i++)
		s[i] = i % 50 == 0 ? '\n' : i % 50 == 1 ? ' ' : 'a';
	memcpy(s + 9 + n, "\n\nx\n", 5);
	CU_ASSERT(parse_str(s) < 0);
	CU_ASSERT(strstr(err, "longer than") != NULL);
	/* too many fields */
	free(s);
	s = malloc((REPORT_FIELDS_MAX + 2) * 8 + 8);
	CU_ASSERT_FATAL(s != NULL);
	s[0] = '\0';
	for (int i = 0; i < REPORT_FIELDS_MAX + 1; i++)
		strcat(s, "X-A: 1\n");
	strcat(s, "\nx\n");
	CU_ASSERT(parse_str(s) < 0);
	CU_ASSERT(strstr(err, "header fields") != NULL);
	free(s);
	/* a Message-ID over the bound is no fact, not a crash */
	s = malloc(REPORT_VALUE_MAX + 64);
	CU_ASSERT_FATAL(s != NULL);
	strcpy(s, "Message-ID: <");
	memset(s + 13, 'm', REPORT_VALUE_MAX);
	strcpy(s + 13 + REPORT_VALUE_MAX, "@x>\n\n");
	CU_ASSERT(parse_str(s) == 0);
	CU_ASSERT_EQUAL(r.nfacts, 0);
	free(s);
}

static void
test_bounds_nesting(void)
{
	char buf[4096] = "";
	int i;

	/* REPORT_DEPTH_MAX + 2 nested message/rfc822 */
	for (i = 0; i < REPORT_DEPTH_MAX + 2; i++)
		strcat(buf, "Content-Type: message/rfc822\n\n");
	strcat(buf, "Message-ID: <deep@x.example>\n\n");
	CU_ASSERT(parse_str(buf) < 0);
	CU_ASSERT(strstr(err, "deeper") != NULL);
	/* within the bound it is read */
	buf[0] = '\0';
	for (i = 0; i < REPORT_DEPTH_MAX - 1; i++)
		strcat(buf, "Content-Type: message/rfc822\n\n");
	strcat(buf, "Message-ID: <deep@x.example>\n\n");
	CU_ASSERT(parse_str(buf) == 0);
	CU_ASSERT(has(RF_MID, "<deep@x.example>", 0, 0, NULL));
}

static void
test_bounds_parts_facts(void)
{
	size_t cap = 128 * 1024;
	char *s = malloc(cap);

	CU_ASSERT_FATAL(s != NULL);
	strcpy(s, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (int i = 0; i < REPORT_PARTS_MAX + 1; i++)
		strcat(s, "--p\nContent-Type: text/plain\n\nx\n");
	strcat(s, "--p--\n");
	CU_ASSERT(parse_str(s) < 0);
	CU_ASSERT(strstr(err, "MIME parts") != NULL);
	/* more facts than the bound: kept up to it, the rest counted */
	s[0] = '\0';
	for (int i = 0; i < REPORT_FACTS_MAX + 5; i++)
		snprintf(s + strlen(s), cap - strlen(s),
		    "Received: from x ([192.0.2.%d]:%d) by y; "
		    "Sat, 28 Nov 2026 10:00:00 +0000\n", i % 250, 1000 + i);
	strcat(s, "\nbody\n");
	CU_ASSERT(parse_str(s) == 0);
	CU_ASSERT_EQUAL(r.nfacts, REPORT_FACTS_MAX);
	CU_ASSERT_EQUAL(r.dropped, 5);
	free(s);
	/* over REPORT_MAX: refused before anything is read */
	CU_ASSERT(report_parse(&r, "x", (size_t)REPORT_MAX + 1, err,
	    sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "larger") != NULL);
}

/* Every fixture split short at every length: an error or facts, never a
 * crash (ASan) - the bytes a truncated mail leaves. */
static void
test_truncated(void)
{
	static const char *const names[] = { "arf.eml", "dsn-postfix.eml",
		"xarf.eml", "forwarded.eml", "malformed.eml" };

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		size_t len;
		char *buf = slurp(names[k], &len);

		for (size_t n = 0; n <= len; n++) {
			char *c = malloc(n + 1);

			memcpy(c, buf, n);
			(void)report_parse(&r, c, n, err, sizeof(err));
			CU_ASSERT(r.nfacts <= REPORT_FACTS_MAX);
			free(c);
		}
		free(buf);
	}
}

static void
test_dates(void)
{
	int64_t a, b;

	CU_ASSERT(report_date("Sat, 28 Nov 2026 22:47:45 +0000 (UTC)", &a) == 0);
	CU_ASSERT(report_date("2026-11-28T22:47:45Z", &b) == 0);
	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT(report_date("28 Nov 2026 17:47:45 EST", &a) == 0);
	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT(report_date("Sat, 28 Nov 2026 23:47 +0100", &a) == 0);
	CU_ASSERT_EQUAL(a, b - 45000);
	CU_ASSERT(report_date("Sat, 28 Foo 2026 22:47:45 +0000", &a) < 0);
	CU_ASSERT(report_date("32 Nov 2026 22:47:45 +0000", &a) < 0);
	CU_ASSERT(report_date("yesterday", &a) < 0);
}

int
suite_report_register(void)
{
	CU_pSuite s = CU_add_suite("report", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "arf", test_arf) == NULL ||
	    CU_add_test(s, "dsn", test_dsn) == NULL ||
	    CU_add_test(s, "xarf", test_xarf) == NULL ||
	    CU_add_test(s, "xarf_json", test_xarf_json) == NULL ||
	    CU_add_test(s, "forwarded", test_forwarded) == NULL ||
	    CU_add_test(s, "malformed", test_malformed) == NULL ||
	    CU_add_test(s, "received_forms", test_received_forms) == NULL ||
	    CU_add_test(s, "queued_as", test_queued_as) == NULL ||
	    CU_add_test(s, "case_fold", test_case_fold) == NULL ||
	    CU_add_test(s, "not_a_message", test_not_a_message) == NULL ||
	    CU_add_test(s, "missing_boundary", test_missing_boundary) == NULL ||
	    CU_add_test(s, "bounds_long_header", test_bounds_long_header) == NULL ||
	    CU_add_test(s, "bounds_nesting", test_bounds_nesting) == NULL ||
	    CU_add_test(s, "bounds_parts_facts", test_bounds_parts_facts) == NULL ||
	    CU_add_test(s, "truncated", test_truncated) == NULL ||
	    CU_add_test(s, "dates", test_dates) == NULL)
		return -1;
	return 0;
}
