/*
 * report.h - the facts of a complaint as it arrives, for `subgate trace
 * --report` (docs/abuse-desk.md "From a complaint as it arrives").
 *
 * report_parse is pure: bytes in, facts out, no I/O. It reads an ARF
 * feedback report (RFC 5965), a DSN (RFC 3464), an X-ARF report (v0.2
 * YAML-style or JSON report part) or a plain message, recursing into
 * message/rfc822 and text/rfc822-headers parts (base64 and
 * quoted-printable decoded), and gives the facts trace can search by:
 * Message-IDs, receiving queue ids, and addresses with port and time.
 * Everything is bounded (REPORT_*); what exceeds a bound, or is not MIME
 * it can read, is an error with a message, never a partial answer.
 */
#ifndef SUBGATE_REPORT_H
#define SUBGATE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define REPORT_MAX (10 * 1024 * 1024)	/* octets of a report */
#define REPORT_DEPTH_MAX 8		/* nested messages and multiparts */
#define REPORT_PARTS_MAX 256		/* MIME entities in all */
#define REPORT_FIELDS_MAX 1000		/* header fields of one entity */
#define REPORT_FIELD_MAX 65536		/* one unfolded header field */
#define REPORT_FACTS_MAX 64
#define REPORT_VALUE_MAX 1000		/* Message-ID: 998 octets + <> room */

enum rfact_kind { RF_MID, RF_QID, RF_ADDR };

enum report_format { RPT_MESSAGE, RPT_ARF, RPT_DSN, RPT_XARF };

struct rfact {
	enum rfact_kind kind;
	char value[REPORT_VALUE_MAX];	/* Message-ID with <>, id, address */
	int port;			/* RF_ADDR: source port, 0 unknown */
	int64_t at;			/* RF_ADDR: ms since the epoch, 0 unknown */
	const char *origin;		/* where: "Received", "Source-IP", ... */
};

struct report {
	enum report_format format;
	struct rfact fact[REPORT_FACTS_MAX];
	size_t nfacts;
	size_t dropped;			/* facts past REPORT_FACTS_MAX */
	size_t entities;		/* MIME entities read */
	char mail_from[256];		/* Original-Mail-From, "" if none */
	char reported_domain[256];	/* Reported-Domain, "" if none */
};

/* report_parse - the facts of buf (len octets, not NUL-terminated), in
 * the order found; duplicates given once. An address fact without a time
 * of its own takes the report's Arrival-Date, else the first Date of a
 * message in it. 0, or -1 with err set (not a message, malformed MIME,
 * a bound exceeded). */
int report_parse(struct report *r, const char *buf, size_t len, char *err,
    size_t errlen);

/* report_format_name - "ARF feedback report", "DSN", ... */
const char *report_format_name(enum report_format f);

/* report_date - an RFC 5322 date ("Sat, 28 Nov 2026 22:47:45 +0000", the
 * day name and seconds optional, obsolete zone names taken) or an RFC 3339
 * time, to ms. 0 or -1. */
int report_date(const char *s, int64_t *ms);

#endif
