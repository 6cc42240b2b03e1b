/*
 * fuzz_report.c - libFuzzer harness for the complaint parser of `subgate
 * trace --report` (proxy/cli/report.c): the input is one report, copied
 * into a buffer of exactly its size, so a read past its end is a
 * sanitizer report. Checked: the answer is facts or an error with a
 * message, never both half; every fact is bounded, NUL-terminated, of a
 * known kind and origin, and given once; an address fact is an address
 * in canonical form with a port in range; the same input parses the same
 * way twice (no state between calls). The corpus in corpus/fuzz_report/
 * (the fixtures of tests/data/reports and the unit test's edge cases) is
 * replayed by the normal test run through replay_main.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "report.h"
#include "fuzz.h"

static struct report a, b;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), err[256], err2[256];
	int rc, rc2;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	err[0] = '\0';
	rc = report_parse(&a, buf, size, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc < 0)
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
	else {
		CHECK(a.nfacts <= REPORT_FACTS_MAX);
		CHECK(a.format >= RPT_MESSAGE && a.format <= RPT_XARF);
		CHECK(memchr(a.mail_from, '\0', sizeof(a.mail_from)) != NULL);
		CHECK(memchr(a.reported_domain, '\0',
		    sizeof(a.reported_domain)) != NULL);
		for (size_t i = 0; i < a.nfacts; i++) {
			const struct rfact *f = &a.fact[i];
			size_t n = strnlen(f->value, sizeof(f->value));

			CHECK(n > 0 && n < sizeof(f->value));
			CHECK(f->kind == RF_MID || f->kind == RF_QID ||
			    f->kind == RF_ADDR);
			CHECK(f->origin != NULL && f->origin[0] != '\0');
			CHECK(f->port >= 0 && f->port <= 65535);
			if (f->kind == RF_ADDR) {
				union sockaddr_any sa;
				char canon[ADDR_STRLEN];

				CHECK(addr_parse(&sa, f->value, 0) == 0);
				CHECK(strcmp(addr_ntop(&sa, canon, sizeof(canon)),
				    f->value) == 0);
			} else
				CHECK(f->port == 0 && f->at == 0);
			if (f->kind == RF_MID)
				CHECK(f->value[0] == '<' && f->value[n - 1] == '>');
			for (size_t j = 0; j < i; j++)
				CHECK(a.fact[j].kind != f->kind ||
				    strcmp(a.fact[j].value, f->value) != 0 ||
				    a.fact[j].port != f->port ||
				    a.fact[j].at != f->at);
		}
	}
	rc2 = report_parse(&b, buf, size, err2, sizeof(err2));
	CHECK(rc2 == rc);
	CHECK(rc < 0 ? strcmp(err, err2) == 0 : memcmp(a.fact, b.fact,
	    sizeof(a.fact[0]) * a.nfacts) == 0 && a.nfacts == b.nfacts);
	free(buf);
	return 0;
}
