/*
 * sdnotify.h - systemd's readiness protocol (sd_notify(3)) in a few lines,
 * without libsystemd: one datagram per message to $NOTIFY_SOCKET (a path,
 * or an abstract socket when it starts with '@'). Outside systemd (no
 * NOTIFY_SOCKET) every call does nothing and succeeds.
 */
#ifndef SUBGATE_SDNOTIFY_H
#define SUBGATE_SDNOTIFY_H

#include <stdint.h>

/* sd_notify_msg - send msg ("READY=1", "STATUS=...\nWATCHDOG=1", ...).
 * 0, or a negative errno. */
int sd_notify_msg(const char *msg);

/* sd_notify_reloading - "RELOADING=1" with the MONOTONIC_USEC systemd
 * 253 and later want beside it. */
int sd_notify_reloading(void);

/* sd_watchdog_usec - the unit's WatchdogSec in microseconds when the
 * watchdog is meant for this process ($WATCHDOG_USEC, and $WATCHDOG_PID
 * absent or ours), else 0. */
uint64_t sd_watchdog_usec(void);

#endif
