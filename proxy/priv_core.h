/*
 * priv_core.h - the pure half of least privilege (docs/operator-guide.md
 * "Privileges"): from the configuration to the capabilities subgated still
 * uses once everything is bound and opened. No system call: priv.c keeps
 * these and drops the rest, tests/unit/test_priv.c drives this file.
 */
#ifndef SUBGATE_PRIV_CORE_H
#define SUBGATE_PRIV_CORE_H

#include <stdint.h>

#include "config.h"

/* PRIV_CAP - the bit of capability n (CAP_NET_ADMIN, ...) in a set. */
#define PRIV_CAP(n)	(UINT64_C(1) << (n))

/* priv_caps_needed - the set subgated with c needs after start. What it
 * binds or opens once (listeners, the RADIUS and admin sockets, the table,
 * the audit file) is done before, so only what it does again and again
 * counts; CAP_NET_BIND_SERVICE never does (nothing is bound later). */
uint64_t priv_caps_needed(const struct config *c);

#endif
