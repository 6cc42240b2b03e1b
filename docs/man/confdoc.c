/*
 * confdoc.c - sg_confdoc IN [OUT]: the file IN with its generated regions
 * (the configuration reference, config_doc in common/config_doc.c) written
 * anew from the key tables, to OUT or standard output; OUT may be IN. Exit
 * 0, or 1 with the reason. `cmake --build BUILD --target confdoc` runs it
 * on docs/configuration.md and docs/man/subgate.yaml.5; the CTest case confdoc
 * fails while they differ from what it writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

#define CONFDOC_MAX	(4 * 1024 * 1024)

int
main(int argc, char **argv)
{
	const char *to = argc == 3 ? argv[2] : "(stdout)";
	char err[512], *in, *out = NULL;
	size_t n;
	FILE *f;
	int rc = 1, bad;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: sg_confdoc IN [OUT]\n");
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "sg_confdoc: %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	in = xmalloc(CONFDOC_MAX + 1);
	n = fread(in, 1, CONFDOC_MAX + 1, f);
	bad = ferror(f);
	fclose(f);
	if (bad || n > CONFDOC_MAX)
		fprintf(stderr, "sg_confdoc: %s: %s\n", argv[1], bad ?
		    "read error" : "too large");
	else if ((out = config_doc(in, n, err, sizeof(err))) == NULL)
		fprintf(stderr, "sg_confdoc: %s: %s\n", argv[1], err);
	else if ((f = argc == 3 ? fopen(to, "wb") : stdout) == NULL)
		fprintf(stderr, "sg_confdoc: %s: %s\n", to, strerror(errno));
	else {
		bad = fputs(out, f) == EOF;
		if ((f == stdout ? fflush(f) : fclose(f)) == EOF || bad)
			fprintf(stderr, "sg_confdoc: %s: %s\n", to,
			    strerror(errno));
		else
			rc = 0;
	}
	free(out);
	free(in);
	return rc;
}
