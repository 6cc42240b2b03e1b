/*
 * fuzz_config.c - libFuzzer harness for the YAML configuration loader
 * (common/config*.c): the input is an operator's file, applied over the
 * embedded default by config_load_string.
 *
 * Checked: a refused file has a message that starts with its location
 * ("fuzz.yaml:" or the default's) and holds no control byte (it goes to a
 * terminal and a log); an accepted one dumps (config_dump) to YAML that
 * loads back and dumps to the same bytes - except when the dump holds a
 * secret given inline, which config_dump leaves out by design. The input
 * is copied into a buffer of exactly its size (no NUL after it), so a read
 * past len is a sanitizer report. The corpus in corpus/fuzz_config/ is
 * replayed by the normal test run through replay_main.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define NAME "fuzz.yaml"

/* dump - config_dump into a heap string; its length in *n. */
static char *
dump(const struct config *c, size_t *n)
{
	char *p = NULL;
	FILE *f = open_memstream(&p, n);

	CHECK(f != NULL);
	config_dump(c, f);
	CHECK(fclose(f) == 0);
	return p;
}

static void
check_error(const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen);

	CHECK(n > 0 && n < errlen);
	CHECK(strncmp(err, NAME ":", sizeof(NAME)) == 0 ||
	    strncmp(err, "(default)", 9) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *yaml = malloc(size ? size : 1), *d1, *d2;
	struct config *c, *c2;
	size_t n1, n2;

	CHECK(yaml != NULL);
	memcpy(yaml, data, size);
	c = config_load_string(yaml, size, NAME, err, sizeof(err));
	free(yaml);
	if (c == NULL) {
		check_error(err, sizeof(err));
		return 0;
	}
	d1 = dump(c, &n1);
	config_free(c);
	if (strstr(d1, "<redacted>") == NULL) {
		c2 = config_load_string(d1, n1, NAME, err, sizeof(err));
		if (c2 == NULL) {
			fprintf(stderr, "dump does not load back: %s\n%s", err,
			    d1);
			CHECK(c2 != NULL);
		}
		d2 = dump(c2, &n2);
		config_free(c2);
		if (n1 != n2 || memcmp(d1, d2, n1) != 0) {
			fprintf(stderr, "dump changed:\n%s\n---\n%s", d1, d2);
			CHECK(0);
		}
		free(d2);
	}
	free(d1);
	return 0;
}
