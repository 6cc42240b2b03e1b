/*
 * radius.c - RFC 2866 Accounting-Request decoding, Request Authenticator
 * checking and Accounting-Response building, over caller-owned buffers.
 *
 * The parser is strict about structure (lengths, sizes of the attributes it
 * reads, repeats of single-valued ones) and lenient about content it does not
 * need: unknown attributes, vendor attributes and unknown Acct-Status-Type
 * values pass, so that a NAS's new firmware does not stop the accounting.
 * Every rejection has its own code so that the glue can count it.
 */
#include "radius.h"
#include "err.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

static const char *const errnames[] = {
#define X(name, cname, text) cname,
	RADIUS_ERR_MAP(X)
#undef X
};

static const char *const errtexts[] = {
#define X(name, cname, text) text,
	RADIUS_ERR_MAP(X)
#undef X
};

int
radius_err_index(int err)
{
	if (err <= RADIUS__EFIRST || err >= RADIUS__ELAST)
		return -1;
	return err - RADIUS__EFIRST - 1;
}

const char *
radius_errname(int err)
{
	int i = radius_err_index(err);

	return i < 0 ? sg_errname(err) : errnames[i];
}

const char *
radius_strerror(int err)
{
	int i = radius_err_index(err);

	return i < 0 ? sg_strerror(err) : errtexts[i];
}

const char *
radius_status_name(uint32_t status)
{
	switch (status) {
	case RADIUS_STATUS_START:
		return "Start";
	case RADIUS_STATUS_STOP:
		return "Stop";
	case RADIUS_STATUS_INTERIM:
		return "Interim-Update";
	case RADIUS_STATUS_ACCT_ON:
		return "Accounting-On";
	case RADIUS_STATUS_ACCT_OFF:
		return "Accounting-Off";
	default:
		return NULL;
	}
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* header - check the fixed header of an Accounting-Request; *plen gets its
 * Length. RFC 2865 §3: octets past Length are padding and ignored, a datagram
 * shorter than Length is discarded. */
static int
header(const uint8_t *pkt, size_t len, size_t *plen)
{
	size_t l;

	if (len < RADIUS_HDRLEN)
		return RADIUS_ESHORT;
	l = (size_t)pkt[2] << 8 | pkt[3];
	if (l < RADIUS_HDRLEN || l > RADIUS_MAXLEN)
		return RADIUS_ELENGTH;
	if (l > len)
		return RADIUS_ETRUNC;
	if (pkt[0] != RADIUS_CODE_ACCT_REQUEST)
		return RADIUS_ECODE;
	*plen = l;
	return 0;
}

/* next_attr - step over the attribute at *pos (< end); 0 or an error. */
static int
next_attr(const uint8_t *pkt, size_t *pos, size_t end, uint8_t *type,
    const uint8_t **val, size_t *vlen)
{
	size_t alen;

	if (end - *pos < 2)
		return RADIUS_EATTROVER;
	alen = pkt[*pos + 1];
	if (alen < 2)
		return RADIUS_EATTRLEN;
	if (alen > end - *pos)
		return RADIUS_EATTROVER;
	*type = pkt[*pos];
	*val = pkt + *pos + 2;
	*vlen = alen - 2;
	*pos += alen;
	return 0;
}

/* ip6prefix - RFC 3162 §2.3 / RFC 4818 §3: Reserved, Prefix-Length, then at
 * most 16 prefix octets. Senders differ on how many octets they send
 * (FreeRADIUS always sends 16), so any count covering Prefix-Length is taken,
 * provided the bits past Prefix-Length are zero as RFC 3162 requires. */
static int
ip6prefix(const uint8_t *v, size_t vlen, struct radius_ip6prefix *out)
{
	size_t n, i;
	unsigned plen;

	if (vlen < 2 || vlen > 18)
		return RADIUS_EATTRSIZE;
	plen = v[1];
	n = vlen - 2;
	if (plen > 128 || n * 8 < plen)
		return RADIUS_EPREFIX;
	memset(out, 0, sizeof(*out));
	out->plen = (uint8_t)plen;
	memcpy(out->addr, v + 2, n);
	if (plen % 8 != 0 && (out->addr[plen / 8] & (0xffu >> (plen % 8))))
		return RADIUS_EPREFIX;
	for (i = (plen + 7) / 8; i < n; i++)
		if (out->addr[i] != 0)
			return RADIUS_EPREFIX;
	return 0;
}

/* string - RFC 2865 §5: text and string attributes carry one or more octets. */
static int
string(const uint8_t *v, size_t vlen, struct radius_str *out)
{
	if (vlen < 1)
		return RADIUS_EATTRSIZE;
	out->ptr = v;
	out->len = vlen;
	return 0;
}

/* first_string - Class, Filter-Id: multi-valued, only the first non-empty
 * one is kept; an empty one is stepped over, never an error. */
static void
first_string(const uint8_t *v, size_t vlen, struct radius_str *out)
{
	if (out->ptr == NULL && vlen >= 1) {
		out->ptr = v;
		out->len = vlen;
	}
}

static int
fixed(const uint8_t *v, size_t vlen, uint8_t *out, size_t want)
{
	if (vlen != want)
		return RADIUS_EATTRSIZE;
	memcpy(out, v, want);
	return 0;
}

static int
u32(const uint8_t *v, size_t vlen, uint32_t *out)
{
	if (vlen != 4)
		return RADIUS_EATTRSIZE;
	*out = get32(v);
	return 0;
}

/* once - the single-valued attributes (RFC 2866 §5.13 table: 0-1 or 1). */
static int
once(uint8_t type)
{
	switch (type) {
	case RADIUS_ATTR_USER_NAME:
	case RADIUS_ATTR_NAS_IP_ADDRESS:
	case RADIUS_ATTR_FRAMED_IP_ADDRESS:
	case RADIUS_ATTR_CALLING_STATION_ID:
	case RADIUS_ATTR_NAS_IDENTIFIER:
	case RADIUS_ATTR_ACCT_STATUS_TYPE:
	case RADIUS_ATTR_ACCT_DELAY_TIME:
	case RADIUS_ATTR_ACCT_SESSION_ID:
	case RADIUS_ATTR_EVENT_TIMESTAMP:
	case RADIUS_ATTR_NAS_IPV6_ADDRESS:
		return 1;
	default:
		return 0;
	}
}

int
radius_acct_parse(const uint8_t *pkt, size_t len, struct radius_acct *out)
{
	uint8_t seen[256 / 8] = { 0 }, type;
	const uint8_t *v;
	size_t end, pos = RADIUS_HDRLEN, vlen;
	int r, have_status = 0;

	memset(out, 0, sizeof(*out));
	if ((r = header(pkt, len, &end)) < 0)
		return r;
	out->id = pkt[1];
	out->length = (uint16_t)end;
	out->authenticator = pkt + 4;
	while (pos < end) {
		if ((r = next_attr(pkt, &pos, end, &type, &v, &vlen)) < 0)
			return r;
		if (once(type)) {
			if (seen[type / 8] & (1u << (type % 8)))
				return RADIUS_EDUP;
			seen[type / 8] |= (uint8_t)(1u << (type % 8));
		}
		switch (type) {
		case RADIUS_ATTR_ACCT_STATUS_TYPE:
			r = u32(v, vlen, &out->status);
			have_status = 1;
			break;
		case RADIUS_ATTR_USER_NAME:
			r = string(v, vlen, &out->user_name);
			break;
		case RADIUS_ATTR_CALLING_STATION_ID:
			r = string(v, vlen, &out->calling_station_id);
			break;
		case RADIUS_ATTR_ACCT_SESSION_ID:
			r = string(v, vlen, &out->session_id);
			break;
		case RADIUS_ATTR_NAS_IDENTIFIER:
			r = string(v, vlen, &out->nas_identifier);
			break;
		case RADIUS_ATTR_FRAMED_IP_ADDRESS:
			r = fixed(v, vlen, out->framed_ip, 4);
			out->has |= RADIUS_HAS_FRAMED_IP;
			break;
		case RADIUS_ATTR_NAS_IP_ADDRESS:
			r = fixed(v, vlen, out->nas_ip, 4);
			out->has |= RADIUS_HAS_NAS_IP;
			break;
		case RADIUS_ATTR_NAS_IPV6_ADDRESS:
			r = fixed(v, vlen, out->nas_ip6, 16);
			out->has |= RADIUS_HAS_NAS_IP6;
			break;
		case RADIUS_ATTR_EVENT_TIMESTAMP:
			r = u32(v, vlen, &out->event_time);
			out->has |= RADIUS_HAS_EVENT_TIME;
			break;
		case RADIUS_ATTR_ACCT_DELAY_TIME:
			r = u32(v, vlen, &out->delay_time);
			out->has |= RADIUS_HAS_DELAY_TIME;
			break;
		case RADIUS_ATTR_FRAMED_IPV6_PREFIX:
			if (out->nframed_prefix == RADIUS_MAXV6)
				return RADIUS_ETOOMANY;
			r = ip6prefix(v, vlen,
			    &out->framed_prefix[out->nframed_prefix++]);
			break;
		case RADIUS_ATTR_DELEGATED_IPV6_PREFIX:
			if (out->ndelegated_prefix == RADIUS_MAXV6)
				return RADIUS_ETOOMANY;
			r = ip6prefix(v, vlen,
			    &out->delegated_prefix[out->ndelegated_prefix++]);
			break;
		case RADIUS_ATTR_FRAMED_IPV6_ADDRESS:
			if (out->nframed_ip6 == RADIUS_MAXV6)
				return RADIUS_ETOOMANY;
			r = fixed(v, vlen, out->framed_ip6[out->nframed_ip6++],
			    16);
			break;
		case RADIUS_ATTR_CLASS:
			first_string(v, vlen, &out->class_attr);
			break;
		case RADIUS_ATTR_FILTER_ID:
			first_string(v, vlen, &out->filter_id);
			break;
		case RADIUS_ATTR_PROXY_STATE:
			out->has |= RADIUS_HAS_PROXY_STATE;
			break;
		default:
			break;
		}
		if (r < 0)
			return r;
	}
	/* RFC 2866 §5.1: every Accounting-Request carries Acct-Status-Type. */
	if (!have_status)
		return RADIUS_ENOSTATUS;
	return 0;
}

/* digest - RFC 2866 §3: MD5(Code + Identifier + Length + auth + Attributes
 * + Secret) over pkt[0..len), with auth standing in for octets 4..19. */
static int
digest(const uint8_t *pkt, size_t len, const uint8_t *auth,
    const uint8_t *secret, size_t slen, uint8_t md[RADIUS_AUTHLEN])
{
	EVP_MD_CTX *ctx;
	unsigned mdlen = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return RADIUS_ECRYPTO;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, pkt, 4) == 1 &&
	    EVP_DigestUpdate(ctx, auth, RADIUS_AUTHLEN) == 1 &&
	    EVP_DigestUpdate(ctx, pkt + RADIUS_HDRLEN,
		len - RADIUS_HDRLEN) == 1 &&
	    (slen == 0 || EVP_DigestUpdate(ctx, secret, slen) == 1) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
	    mdlen == RADIUS_AUTHLEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : RADIUS_ECRYPTO;
}

static const uint8_t zero_auth[RADIUS_AUTHLEN];

int
radius_acct_verify(const uint8_t *pkt, size_t len, const uint8_t *secret,
    size_t slen)
{
	uint8_t md[RADIUS_AUTHLEN];
	size_t l;
	int r;

	if ((r = header(pkt, len, &l)) < 0 ||
	    (r = digest(pkt, l, zero_auth, secret, slen, md)) < 0)
		return r;
	return CRYPTO_memcmp(md, pkt + 4, RADIUS_AUTHLEN) == 0 ? 0
	    : RADIUS_EAUTH;
}

int
radius_acct_sign(uint8_t *pkt, size_t len, const uint8_t *secret, size_t slen)
{
	uint8_t md[RADIUS_AUTHLEN];
	size_t l;
	int r;

	if ((r = header(pkt, len, &l)) < 0 ||
	    (r = digest(pkt, l, zero_auth, secret, slen, md)) < 0)
		return r;
	memcpy(pkt + 4, md, RADIUS_AUTHLEN);
	return 0;
}

size_t
radius_acct_response(uint8_t *out, size_t outsz, const uint8_t *req,
    size_t reqlen, const uint8_t *secret, size_t slen)
{
	const uint8_t *v;
	size_t end, pos = RADIUS_HDRLEN, olen = RADIUS_HDRLEN, vlen;
	uint8_t type;

	if (outsz < RADIUS_HDRLEN || header(req, reqlen, &end) < 0)
		return 0;
	while (pos < end) {
		if (next_attr(req, &pos, end, &type, &v, &vlen) < 0)
			return 0;
		if (type != RADIUS_ATTR_PROXY_STATE)
			continue;
		if (outsz - olen < vlen + 2)
			return 0;
		memcpy(out + olen, v - 2, vlen + 2);
		olen += vlen + 2;
	}
	out[0] = RADIUS_CODE_ACCT_RESPONSE;
	out[1] = req[1];
	out[2] = (uint8_t)(olen >> 8);
	out[3] = (uint8_t)olen;
	if (digest(out, olen, req + 4, secret, slen, out + 4) < 0)
		return 0;
	return olen;
}

void
radius_rtx_key(uint8_t key[RADIUS_RTXKEY_LEN], const union sockaddr_any *nas,
    const uint8_t *pkt)
{
	uint8_t raw[16];
	uint16_t port = 0;
	int fam;

	memset(key, 0, RADIUS_RTXKEY_LEN);
	if (addr_raw(nas, &fam, raw) == 0) {
		key[0] = fam == AF_INET ? 4 : 6;
		memcpy(key + 1, raw, fam == AF_INET ? 4 : 16);
		port = addr_port(nas);
	}
	key[17] = (uint8_t)(port >> 8);
	key[18] = (uint8_t)port;
	key[19] = pkt[1];
	memcpy(key + 20, pkt + 4, RADIUS_AUTHLEN);
}
