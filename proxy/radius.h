/*
 * radius.h - RADIUS accounting (RFC 2866) as a pure core: decode an
 * Accounting-Request, check its Request Authenticator with the NAS's shared
 * secret, build the Accounting-Response. No sockets, no allocation: the
 * glue receives datagrams, picks the secret by the NAS's source address and
 * sends what radius_acct_response() built.
 *
 * Strings in struct radius_acct are (ptr, len) views into the caller's
 * packet buffer, not copies and not NUL-terminated: they live as long as
 * that buffer. Each is 1..253 octets (RFC 2865 §5: an attribute carries at
 * most 253); a caller storing them copies and escapes them.
 */
#ifndef SUBGATE_RADIUS_H
#define SUBGATE_RADIUS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define RADIUS_HDRLEN 20
#define RADIUS_AUTHLEN 16
#define RADIUS_MAXLEN 4096	/* RFC 2865 §3 */

#define RADIUS_CODE_ACCT_REQUEST 4
#define RADIUS_CODE_ACCT_RESPONSE 5

/* Acct-Status-Type values (RFC 2866 §5.1). */
#define RADIUS_STATUS_START 1
#define RADIUS_STATUS_STOP 2
#define RADIUS_STATUS_INTERIM 3
#define RADIUS_STATUS_ACCT_ON 7
#define RADIUS_STATUS_ACCT_OFF 8

/* Attribute types read here. */
#define RADIUS_ATTR_USER_NAME 1			/* RFC 2865 §5.1 */
#define RADIUS_ATTR_NAS_IP_ADDRESS 4		/* RFC 2865 §5.4 */
#define RADIUS_ATTR_FRAMED_IP_ADDRESS 8		/* RFC 2865 §5.8 */
#define RADIUS_ATTR_FILTER_ID 11		/* RFC 2865 §5.11 */
#define RADIUS_ATTR_CLASS 25			/* RFC 2865 §5.25 */
#define RADIUS_ATTR_CALLING_STATION_ID 31	/* RFC 2865 §5.31 */
#define RADIUS_ATTR_NAS_IDENTIFIER 32		/* RFC 2865 §5.32 */
#define RADIUS_ATTR_PROXY_STATE 33		/* RFC 2865 §5.33 */
#define RADIUS_ATTR_ACCT_STATUS_TYPE 40		/* RFC 2866 §5.1 */
#define RADIUS_ATTR_ACCT_DELAY_TIME 41		/* RFC 2866 §5.2 */
#define RADIUS_ATTR_ACCT_SESSION_ID 44		/* RFC 2866 §5.5 */
#define RADIUS_ATTR_EVENT_TIMESTAMP 55		/* RFC 2869 §5.3 */
#define RADIUS_ATTR_NAS_IPV6_ADDRESS 95		/* RFC 3162 §2.1 */
#define RADIUS_ATTR_FRAMED_IPV6_PREFIX 97	/* RFC 3162 §2.3 */
#define RADIUS_ATTR_DELEGATED_IPV6_PREFIX 123	/* RFC 4818 §3 */
#define RADIUS_ATTR_FRAMED_IPV6_ADDRESS 168	/* RFC 6911 §3.1 */

/* The rejection reasons, each with a counter name and a text. */
#define RADIUS_ERR_MAP(X)                                                \
	X(SHORT, "short_packet", "datagram shorter than a RADIUS header") \
	X(LENGTH, "bad_length", "Length field outside 20..4096")        \
	X(TRUNC, "truncated", "datagram shorter than its Length field")  \
	X(CODE, "bad_code", "not an Accounting-Request")                 \
	X(ATTRLEN, "attr_len", "attribute Length below 2")               \
	X(ATTROVER, "attr_overrun", "attribute runs past the packet")     \
	X(ATTRSIZE, "attr_size", "attribute has the wrong size for its type") \
	X(PREFIX, "bad_prefix", "IPv6 prefix: length above 128, too few octets or host bits set") \
	X(DUP, "dup_attr", "single-valued attribute repeated")           \
	X(TOOMANY, "too_many", "more IPv6 prefixes or addresses than kept") \
	X(NOSTATUS, "no_status", "Acct-Status-Type missing")             \
	X(AUTH, "bad_auth", "Request Authenticator mismatch")            \
	X(CRYPTO, "crypto", "MD5 unavailable")

enum radius_err {
	RADIUS__EFIRST = -2000,
#define X(name, cname, text) RADIUS_E##name,
	RADIUS_ERR_MAP(X)
#undef X
	RADIUS__ELAST
};

/* RADIUS_NERR - number of reasons; radius_err_index() maps into 0..NERR-1. */
#define RADIUS_NERR (RADIUS__ELAST - RADIUS__EFIRST - 1)

/* radius_err_index - 0..RADIUS_NERR-1 for a RADIUS_E* code, else -1. */
int radius_err_index(int err);
/* radius_errname - counter name ("attr_overrun") of a RADIUS_E* code; for
 * other codes sg_errname(). */
const char *radius_errname(int err);
/* radius_strerror - text of a RADIUS_E* code; for other codes sg_strerror(). */
const char *radius_strerror(int err);

struct radius_str {
	const uint8_t *ptr;	/* into the packet; NULL if absent */
	size_t len;
};

struct radius_ip6prefix {
	uint8_t plen;		/* 0..128 */
	uint8_t addr[16];	/* bits past plen are zero */
};

/* How many of each multi-valued IPv6 attribute a packet may carry. */
#define RADIUS_MAXV6 8

/* Which optional fields a packet carried (bits of radius_acct.has). */
#define RADIUS_HAS_FRAMED_IP (1u << 0)
#define RADIUS_HAS_NAS_IP (1u << 1)
#define RADIUS_HAS_NAS_IP6 (1u << 2)
#define RADIUS_HAS_EVENT_TIME (1u << 3)
#define RADIUS_HAS_DELAY_TIME (1u << 4)
#define RADIUS_HAS_PROXY_STATE (1u << 5)

struct radius_acct {
	uint8_t id;
	uint16_t length;		/* from the header; trailing bytes ignored */
	const uint8_t *authenticator;	/* 16 octets, into the packet */
	uint32_t status;		/* Acct-Status-Type, any value */
	unsigned has;			/* RADIUS_HAS_* */
	uint8_t framed_ip[4];
	uint8_t nas_ip[4];
	uint8_t nas_ip6[16];
	uint32_t event_time;		/* Event-Timestamp, seconds since 1970 */
	uint32_t delay_time;		/* Acct-Delay-Time, seconds */
	struct radius_str user_name;
	struct radius_str calling_station_id;
	struct radius_str session_id;
	struct radius_str nas_identifier;
	/* Class (octets) and Filter-Id (text): either may name the policy
	 * class (identity.radius.class_attribute). Both may repeat (RFC 2865
	 * §5.11, §5.25): the first one with at least one octet is kept, later
	 * ones and empty ones are stepped over (not an error: they only
	 * select a class, the accounting record stands without them). */
	struct radius_str class_attr;
	struct radius_str filter_id;
	size_t nframed_prefix, ndelegated_prefix, nframed_ip6;
	struct radius_ip6prefix framed_prefix[RADIUS_MAXV6];
	struct radius_ip6prefix delegated_prefix[RADIUS_MAXV6];
	uint8_t framed_ip6[RADIUS_MAXV6][16];
};

/* radius_acct_parse - decode an Accounting-Request of len bytes (a whole
 * datagram) into out. 0 or a RADIUS_E* code; never reads past len. Does not
 * check the authenticator: see radius_acct_verify(). */
int radius_acct_parse(const uint8_t *pkt, size_t len, struct radius_acct *out);

/* radius_acct_verify - 0 if the Request Authenticator is right for secret
 * (RFC 2866 §3), RADIUS_EAUTH if not, or a header error code. */
int radius_acct_verify(const uint8_t *pkt, size_t len, const uint8_t *secret,
    size_t slen);

/* radius_acct_sign - write the Request Authenticator into pkt (of at least
 * its Length field's bytes), as a NAS does. 0 or a header error code. */
int radius_acct_sign(uint8_t *pkt, size_t len, const uint8_t *secret,
    size_t slen);

/* RADIUS_RESPONSE_MAX - room for any response radius_acct_response() builds. */
#define RADIUS_RESPONSE_MAX RADIUS_MAXLEN

/* radius_acct_response - build into out (outsz bytes) the Accounting-Response
 * to request req: code 5, the request's Identifier, its Proxy-State
 * attributes copied in order (RFC 2865 §5.33), the Response Authenticator
 * (RFC 2866 §3). Returns its length (20 without Proxy-State), or 0 if req is
 * not a well-formed Accounting-Request or out is too small. out and req must
 * not overlap. */
size_t radius_acct_response(uint8_t *out, size_t outsz, const uint8_t *req,
    size_t reqlen, const uint8_t *secret, size_t slen);

/* RADIUS_RTXKEY_LEN - family, address, port, Identifier, Authenticator. */
#define RADIUS_RTXKEY_LEN (1 + 16 + 2 + 1 + RADIUS_AUTHLEN)

/* radius_rtx_key - the key under which a request from nas is remembered to
 * recognise its retransmissions: same source address and port and
 * Identifier (RFC 2865 §3), same Request Authenticator (RFC 5080 §2.2.2).
 * pkt has at least 20 bytes. A v4-mapped address is keyed as IPv4. A NAS
 * that raises Acct-Delay-Time on a resend makes a new request with a new
 * Identifier (RFC 2866 §5.2): storage must be idempotent as well. */
void radius_rtx_key(uint8_t key[RADIUS_RTXKEY_LEN],
    const union sockaddr_any *nas, const uint8_t *pkt);

/* radius_status_name - "Start", "Stop", "Interim-Update", "Accounting-On",
 * "Accounting-Off", or NULL for other values. */
const char *radius_status_name(uint32_t status);

#endif
