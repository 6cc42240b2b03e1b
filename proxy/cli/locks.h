/*
 * locks.h - `subgate locks list|lift` (locks.c): the policy's lock-outs in
 * Redis, listed and lifted from the command line.
 */
#ifndef SUBGATE_CLI_LOCKS_H
#define SUBGATE_CLI_LOCKS_H

/* locks_main - argv[0] is "locks"; the exit status. */
int locks_main(int argc, char **argv);

#endif
