/*
 * subgate.c - the operator's and abuse desk's command-line tool. One
 * subcommand per question; today `trace` (trace.c). Exit status: 0 found /
 * done, 1 nothing found, 2 error.
 */
#include <stdio.h>
#include <string.h>

#include "locks.h"
#include "trace.h"

#ifndef SUBGATE_VERSION
#define SUBGATE_VERSION "0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: subgate COMMAND [options]\n"
	    "commands:\n"
	    "  trace     who sent it: by address and time, subscriber, Message-ID,\n"
	    "            queue id, recipient or destination (subgate trace --help)\n"
	    "  locks     port-25 lock-outs: list, lift SUBSCRIBER (subgate locks --help)\n"
	    "  version   print the version\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "trace") == 0)
		return trace_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "locks") == 0)
		return locks_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("subgate %s\n", SUBGATE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "subgate: unknown command %s\n", argv[1]);
	usage(stderr);
	return 2;
}
