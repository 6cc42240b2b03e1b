/*
 * fuzz_radius.c - libFuzzer harness for the RADIUS accounting core: every
 * input is parsed, verified, signed and answered, and the results are
 * checked against each other and against an independent MD5 of the
 * response. The input is copied into a buffer of exactly its size, so a
 * read past len is a sanitizer report. Invariants abort() (not assert(),
 * which NDEBUG builds drop). The corpus in corpus/fuzz_radius/ is replayed
 * by the normal test run through replay_main.c.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "radius.h"
#include "fuzz.h"

static const uint8_t secret[] = "testing123";
#define SLEN (sizeof(secret) - 1)

static int
header_error(int r)
{
	return r == RADIUS_ESHORT || r == RADIUS_ELENGTH ||
	    r == RADIUS_ETRUNC || r == RADIUS_ECODE;
}

static void
check_str(const struct radius_str *s, const uint8_t *pkt, size_t length)
{
	if (s->ptr == NULL) {
		CHECK(s->len == 0);
		return;
	}
	CHECK(s->len >= 1 && s->len <= 253);
	CHECK(s->ptr >= pkt + RADIUS_HDRLEN + 2);
	CHECK(s->ptr + s->len <= pkt + length);
}

static void
check_prefix(const struct radius_ip6prefix *p)
{
	unsigned i;

	CHECK(p->plen <= 128);
	for (i = p->plen; i < 128; i++)
		CHECK((p->addr[i / 8] & (0x80u >> (i % 8))) == 0);
}

static void
check_parsed(const struct radius_acct *a, const uint8_t *pkt, size_t len)
{
	size_t i;

	CHECK(a->length >= RADIUS_HDRLEN && a->length <= RADIUS_MAXLEN);
	CHECK(a->length <= len);
	CHECK(a->length == ((size_t)pkt[2] << 8 | pkt[3]));
	CHECK(a->id == pkt[1]);
	CHECK(a->authenticator == pkt + 4);
	check_str(&a->user_name, pkt, a->length);
	check_str(&a->calling_station_id, pkt, a->length);
	check_str(&a->session_id, pkt, a->length);
	check_str(&a->nas_identifier, pkt, a->length);
	CHECK(a->nframed_prefix <= RADIUS_MAXV6);
	CHECK(a->ndelegated_prefix <= RADIUS_MAXV6);
	CHECK(a->nframed_ip6 <= RADIUS_MAXV6);
	for (i = 0; i < a->nframed_prefix; i++)
		check_prefix(&a->framed_prefix[i]);
	for (i = 0; i < a->ndelegated_prefix; i++)
		check_prefix(&a->delegated_prefix[i]);
}

/* proxy_state_bytes - octets of Proxy-State attributes in a parsed packet. */
static size_t
proxy_state_bytes(const uint8_t *pkt, size_t length)
{
	size_t pos = RADIUS_HDRLEN, n = 0;

	while (pos < length) {
		if (pkt[pos] == RADIUS_ATTR_PROXY_STATE)
			n += pkt[pos + 1];
		pos += pkt[pos + 1];
	}
	return n;
}

static void
check_response(const uint8_t *resp, size_t n, const uint8_t *req,
    size_t reqlength)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	CHECK(n == RADIUS_HDRLEN + proxy_state_bytes(req, reqlength));
	CHECK(resp[0] == RADIUS_CODE_ACCT_RESPONSE);
	CHECK(resp[1] == req[1]);
	CHECK(((size_t)resp[2] << 8 | resp[3]) == n);
	CHECK(ctx != NULL);
	CHECK(EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1);
	CHECK(EVP_DigestUpdate(ctx, resp, 4) == 1);
	CHECK(EVP_DigestUpdate(ctx, req + 4, RADIUS_AUTHLEN) == 1);
	CHECK(EVP_DigestUpdate(ctx, resp + RADIUS_HDRLEN, n - RADIUS_HDRLEN)
	    == 1);
	CHECK(EVP_DigestUpdate(ctx, secret, SLEN) == 1);
	CHECK(EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16);
	EVP_MD_CTX_free(ctx);
	CHECK(memcmp(md, resp + 4, RADIUS_AUTHLEN) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t resp[RADIUS_RESPONSE_MAX];
	struct radius_acct a, b;
	uint8_t *pkt = malloc(size ? size : 1);
	size_t n;
	int r, v, i;

	CHECK(pkt != NULL);
	memcpy(pkt, data, size);
	r = radius_acct_parse(pkt, size, &a);
	i = radius_err_index(r);
	CHECK(r == 0 || (i >= 0 && r != RADIUS_EAUTH && r != RADIUS_ECRYPTO));
	CHECK(radius_errname(r) != NULL && radius_strerror(r) != NULL);
	if (r == 0)
		check_parsed(&a, pkt, size);

	v = radius_acct_verify(pkt, size, secret, SLEN);
	if (header_error(r))
		CHECK(v == r);
	else
		CHECK(v == 0 || v == RADIUS_EAUTH);

	n = radius_acct_response(resp, sizeof(resp), pkt, size, secret, SLEN);
	if (header_error(r) || r == RADIUS_EATTRLEN || r == RADIUS_EATTROVER)
		CHECK(n == 0);
	if (r == 0) {
		CHECK(n >= RADIUS_HDRLEN);
		check_response(resp, n, pkt, a.length);
		CHECK(radius_acct_response(resp, n - 1, pkt, size, secret,
		    SLEN) == 0);
	}

	/* signing changes only the authenticator: same verdict, then valid */
	if (!header_error(r)) {
		CHECK(radius_acct_sign(pkt, size, secret, SLEN) == 0);
		CHECK(radius_acct_verify(pkt, size, secret, SLEN) == 0);
		CHECK(radius_acct_verify(pkt, size, secret, SLEN - 1) ==
		    RADIUS_EAUTH);
		CHECK(radius_acct_parse(pkt, size, &b) == r);
		if (r == 0)
			CHECK(b.status == a.status && b.has == a.has &&
			    b.nframed_prefix == a.nframed_prefix &&
			    b.ndelegated_prefix == a.ndelegated_prefix &&
			    b.nframed_ip6 == a.nframed_ip6);
	} else {
		CHECK(radius_acct_sign(pkt, size, secret, SLEN) == r);
	}
	free(pkt);
	return 0;
}
