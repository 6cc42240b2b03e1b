/*
 * tls.c - the TLS client engine of tls.h: one SSL object between two memory
 * BIOs (rbio: ciphertext the peer sent, wbio: ciphertext for the peer).
 *
 * Policy, fixed here rather than configurable: TLS 1.2 or later; the peer's
 * certificate chain must verify (SSL_VERIFY_PEER) against the configured CA
 * file or the system CAs; when a name is configured the certificate must
 * carry it (no partial wildcards); no renegotiation. A failed verification
 * fails the handshake, so the caller never sends a byte (or a password) to
 * an unverified peer.
 *
 * OpenSSL's error queue is per thread: it is cleared before each call and
 * read right after, so a worker never reports another session's error.
 */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

#define TLS_ERR_MAX 256

struct tls_ctx {
	SSL_CTX *ssl_ctx;
};

struct tls {
	SSL *ssl;
	BIO *rbio, *wbio;	/* owned by ssl */
	char err[TLS_ERR_MAX];
};

/* ssl_errstr - the oldest queued OpenSSL error (the cause, not a
 * consequence), or fallback when the queue is empty. */
static void
ssl_errstr(char *out, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(out, len, "%s", fallback);
	else
		ERR_error_string_n(e, out, len);
	ERR_clear_error();
}

/* oom - OpenSSL could not allocate: fatal, like xmalloc (util.h). */
static void __attribute__((noreturn))
oom(const char *what)
{
	fprintf(stderr, "subgate: %s: out of memory\n", what);
	abort();
}

struct tls_ctx *
tls_ctx_new(const char *ca_file, char *err, size_t errlen)
{
	struct tls_ctx *ctx;
	SSL_CTX *c;
	int ok;

	ERR_clear_error();
	if ((c = SSL_CTX_new(TLS_client_method())) == NULL) {
		ssl_errstr(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL && *ca_file != '\0')
		ok = SSL_CTX_load_verify_locations(c, ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(c);
	if (ok != 1) {
		char why[200];

		ssl_errstr(why, sizeof(why), "cannot load CA certificates");
		snprintf(err, errlen, "%s: %s", ca_file != NULL && *ca_file
		    ? ca_file : "system CA paths", why);
		SSL_CTX_free(c);
		return NULL;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->ssl_ctx = c;
	return ctx;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

struct tls *
tls_new(struct tls_ctx *ctx, const char *verify_name)
{
	struct tls *t = xcalloc(1, sizeof(*t));
	X509_VERIFY_PARAM *vp;

	ERR_clear_error();
	if ((t->ssl = SSL_new(ctx->ssl_ctx)) == NULL ||
	    (t->rbio = BIO_new(BIO_s_mem())) == NULL ||
	    (t->wbio = BIO_new(BIO_s_mem())) == NULL)
		oom("SSL_new");
	/* Empty input means "come back with more", not end of file. */
	BIO_set_mem_eof_return(t->rbio, -1);
	BIO_set_mem_eof_return(t->wbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_connect_state(t->ssl);
	if (verify_name != NULL && *verify_name != '\0') {
		vp = SSL_get0_param(t->ssl);
		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (X509_VERIFY_PARAM_set1_host(vp, verify_name, 0) != 1 ||
		    SSL_set_tlsext_host_name(t->ssl, verify_name) != 1) {
			ERR_clear_error();
			tls_free(t);
			return NULL;
		}
	}
	return t;
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);	/* frees both BIOs */
	free(t);
}

/* fail - convert the failed call's result to SG_ETLS / SG_ECLOSED and keep
 * its text. 0 when it only wants more input. */
static int
fail(struct tls *t, int rc)
{
	long vr;

	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:	/* memory BIO: never, but harmless */
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(t->err, sizeof(t->err), "peer sent close_notify");
		return SG_ECLOSED;
	default:
		break;
	}
	vr = SSL_get_verify_result(t->ssl);
	if (vr != X509_V_OK) {
		snprintf(t->err, sizeof(t->err), "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
		ERR_clear_error();
	} else
		ssl_errstr(t->err, sizeof(t->err), "TLS protocol error");
	return SG_ETLS;
}

int
tls_handshake(struct tls *t)
{
	int rc;

	ERR_clear_error();
	if ((rc = SSL_do_handshake(t->ssl)) == 1)
		return 0;
	rc = fail(t, rc);
	return rc == 0 ? 1 : rc == SG_ECLOSED ? SG_ETLS : rc;
}

int
tls_feed(struct tls *t, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (BIO_write(t->rbio, p, (int)MIN(n, (size_t)INT32_MAX)) != (int)n) {
		snprintf(t->err, sizeof(t->err), "cannot buffer TLS input");
		return SG_ETLS;
	}
	return 0;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t len)
{
	int rc;

	ERR_clear_error();
	rc = SSL_read(t->ssl, buf, (int)MIN(len, (size_t)INT32_MAX));
	if (rc > 0)
		return rc;
	return fail(t, rc);
}

int
tls_write(struct tls *t, const void *p, size_t n)
{
	const char *c = p;
	int rc;

	while (n > 0) {
		ERR_clear_error();
		rc = SSL_write(t->ssl, c, (int)MIN(n, (size_t)INT32_MAX));
		if (rc <= 0) {
			rc = fail(t, rc);
			return rc == 0 ? SG_ETLS : rc;
		}
		c += rc;
		n -= (size_t)rc;
	}
	return 0;
}

void
tls_close(struct tls *t)
{
	ERR_clear_error();
	if (SSL_is_init_finished(t->ssl))
		(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

size_t
tls_out(struct tls *t, void *buf, size_t len)
{
	int rc;

	if (BIO_ctrl_pending(t->wbio) == 0)
		return 0;
	rc = BIO_read(t->wbio, buf, (int)MIN(len, (size_t)INT32_MAX));
	return rc > 0 ? (size_t)rc : 0;
}

const char *
tls_error(const struct tls *t)
{
	return t->err;
}

const char *
tls_version(const struct tls *t)
{
	return SSL_get_version(t->ssl);
}

const char *
tls_cipher(const struct tls *t)
{
	return SSL_get_cipher_name(t->ssl);
}
