/*
 * smtp_harness.h - what the drivers of the SMTP core (tests/unit/test_smtp.c,
 * tests/fuzz/fuzz_smtp.c, tests/fuzz/fuzz_session.c) share: feeding from
 * exact-size copies and the invariants of the event sequence. Each driver
 * reports a fault its own way (a transcript line, an abort).
 */
#ifndef SUBGATE_TEST_SMTP_HARNESS_H
#define SUBGATE_TEST_SMTP_HARNESS_H

#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "util.h"

/* smtp_feed_copy - n bytes from side `from`, fed from an exact-size heap
 * copy that is spoilt and freed right after the call, so that a read past
 * n or a pointer the core kept shows (under ASan at once). */
static inline int
smtp_feed_copy(struct smtp_session *s, enum smtp_side from, const void *p,
    size_t n)
{
	char *copy = xmalloc(n ? n : 1);
	int rc;

	memcpy(copy, p, n);
	if (from == SMTP_CLIENT)
		rc = smtp_feed_client(s, copy, n);
	else
		rc = smtp_feed_upstream(s, copy, n);
	memset(copy, 0xa5, n);
	free(copy);
	return rc;
}

/* smtp_event_fault - the rule ev breaks, or NULL: nothing after TUNNEL or
 * CLOSE (*ended), one decision awaited at a time (*pending: the driver
 * clears it when it answers), a CLOSE says why. Sets *pending at DECIDE and
 * *ended at TUNNEL and CLOSE. */
static inline const char *
smtp_event_fault(const struct smtp_event *ev, int *ended, int *pending)
{
	const char *fault = *ended ? "event-after-close" : NULL;

	switch (ev->kind) {
	case SMTP_EV_DECIDE:
		if (*pending)
			fault = "two-decisions";
		*pending = 1;
		break;
	case SMTP_EV_TXN:
	case SMTP_EV_AUTH:
		break;
	case SMTP_EV_CLOSE:
		if (ev->reason == NULL)
			fault = "close-without-reason";
		/* FALLTHROUGH */
	case SMTP_EV_TUNNEL:
		*ended = 1;
		break;
	default:
		fault = "unknown-event";
	}
	return fault;
}

#endif
