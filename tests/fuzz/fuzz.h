/*
 * fuzz.h - what the libFuzzer harnesses share: CHECK, an invariant that
 * abort()s (not assert(), which NDEBUG builds drop) with its place and text.
 */
#ifndef SUBGATE_FUZZ_H
#define SUBGATE_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                         \
	do {                                                             \
		if (!(c)) {                                              \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #c);                     \
			abort();                                         \
		}                                                        \
	} while (0)

#endif
