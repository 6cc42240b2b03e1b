/*
 * priv.h - least privilege in subgated itself (docs/operator-guide.md
 * "Privileges"). main() binds and opens everything first, then calls
 * priv_drop before it starts any thread: capability sets are per thread,
 * and a thread keeps the ones it was created with.
 */
#ifndef SUBGATE_PRIV_H
#define SUBGATE_PRIV_H

struct config;

/* priv_raise - make the permitted capabilities effective. A binary with
 * file capabilities "+p" (the container image) starts with them permitted
 * only; as root, or with ambient capabilities (systemd), nothing changes. */
void priv_raise(void);

/* priv_drop - started as root, switch to privileges.user and .group
 * (supplementary groups dropped, bounding set emptied; a root-owned audit
 * file is given to the user first, so that SIGHUP can reopen it). Either
 * way keep only priv_caps_needed(c), set no_new_privs and the dumpable flag
 * of privileges.dumpable, and log what was kept. 0, or -1 logged: the
 * daemon must not start (a user that does not exist, a failed switch). */
int priv_drop(const struct config *c);

#endif
