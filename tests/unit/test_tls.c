/*
 * test_tls.c - the TLS client engine (proxy/tls.h) against an OpenSSL
 * server in memory: no sockets. A self-signed certificate for "smart.test"
 * is made at suite start and written to a temporary CA file. The pump moves
 * ciphertext between the two sides, either whole or byte by byte (records
 * arriving in pieces), and checks: handshake and data both ways, the
 * peer's close_notify, and the refusals (wrong name, unknown CA, a server
 * that stops at TLS 1.1).
 */
#include <CUnit/CUnit.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "suites.h"
#include "tls.h"

static EVP_PKEY *key;
static X509 *cert;
static char ca_path[64];

static int
suite_init(void)
{
	X509_NAME *name;
	X509_EXTENSION *ext;
	FILE *f;
	int fd;

	if ((key = EVP_EC_gen("P-256")) == NULL || (cert = X509_new()) == NULL)
		return -1;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"smart.test", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    "DNS:smart.test");
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	if (X509_sign(cert, key, EVP_sha256()) == 0)
		return -1;
	snprintf(ca_path, sizeof(ca_path), "/tmp/sg_test_tls.XXXXXX");
	if ((fd = mkstemp(ca_path)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	PEM_write_X509(f, cert);
	fclose(f);
	return 0;
}

static int
suite_clean(void)
{
	unlink(ca_path);
	X509_free(cert);
	EVP_PKEY_free(key);
	return 0;
}

/* The server side: plain OpenSSL over two memory BIOs. */
struct srv {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *in, *out;
};

static void
srv_new(struct srv *s, int max_version)
{
	s->ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(s->ctx, cert);
	SSL_CTX_use_PrivateKey(s->ctx, key);
	SSL_CTX_set_min_proto_version(s->ctx, TLS1_VERSION);
	SSL_CTX_set_security_level(s->ctx, 0);	/* let TLS 1.1 be offered */
	if (max_version)
		SSL_CTX_set_max_proto_version(s->ctx, max_version);
	s->ssl = SSL_new(s->ctx);
	s->in = BIO_new(BIO_s_mem());
	s->out = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(s->in, -1);
	BIO_set_mem_eof_return(s->out, -1);
	SSL_set_bio(s->ssl, s->in, s->out);
	SSL_set_accept_state(s->ssl);
}

static void
srv_free(struct srv *s)
{
	SSL_free(s->ssl);
	SSL_CTX_free(s->ctx);
	ERR_clear_error();
}

/* pump - move ciphertext both ways until neither side has any; bytewise:
 * hand it to the client one octet at a time. Returns the client's last
 * tls_handshake result when handshaking, else 0. */
static int
pump(struct tls *t, struct srv *s, int handshaking, int bytewise)
{
	char buf[32768];
	size_t n;
	int moved, rc = handshaking ? tls_handshake(t) : 0, k;

	do {
		moved = 0;
		while ((n = tls_out(t, buf, sizeof(buf))) > 0) {
			BIO_write(s->in, buf, (int)n);
			moved = 1;
		}
		if (!SSL_is_init_finished(s->ssl))
			(void)SSL_do_handshake(s->ssl);
		while ((k = BIO_read(s->out, buf, sizeof(buf))) > 0) {
			moved = 1;
			if (bytewise)
				for (int i = 0; i < k; i++) {
					CU_ASSERT_EQUAL(tls_feed(t, buf + i, 1), 0);
					if (handshaking && (rc = tls_handshake(t)) < 0)
						return rc;
				}
			else
				CU_ASSERT_EQUAL(tls_feed(t, buf, (size_t)k), 0);
		}
		if (handshaking && (rc = tls_handshake(t)) < 0)
			return rc;
	} while (moved);
	return rc;
}

static void
session(int bytewise)
{
	struct tls_ctx *ctx;
	struct tls *t;
	struct srv s;
	char err[256], buf[64];
	ssize_t n;

	ctx = tls_ctx_new(ca_path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	t = tls_new(ctx, "smart.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	srv_new(&s, 0);
	CU_ASSERT_EQUAL(pump(t, &s, 1, bytewise), 0);
	CU_ASSERT_STRING_EQUAL(tls_version(t), "TLSv1.3");
	CU_ASSERT_EQUAL(tls_read(t, buf, sizeof(buf)), 0);	/* nothing yet */

	/* client -> server */
	CU_ASSERT_EQUAL(tls_write(t, "EHLO gw.test\r\n", 14), 0);
	pump(t, &s, 0, bytewise);
	n = SSL_read(s.ssl, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, 14);
	CU_ASSERT_EQUAL(memcmp(buf, "EHLO gw.test\r\n", 14), 0);

	/* server -> client */
	CU_ASSERT_EQUAL(SSL_write(s.ssl, "250 smart.test\r\n", 16), 16);
	pump(t, &s, 0, bytewise);
	n = tls_read(t, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_EQUAL(memcmp(buf, "250 smart.test\r\n", 16), 0);

	/* the server's close_notify */
	SSL_shutdown(s.ssl);
	pump(t, &s, 0, bytewise);
	CU_ASSERT_EQUAL(tls_read(t, buf, sizeof(buf)), SG_ECLOSED);

	tls_free(t);
	tls_ctx_free(ctx);
	srv_free(&s);
}

static void
test_session(void)
{
	session(0);
}

static void
test_session_bytewise(void)
{
	session(1);
}

/* refused - the handshake fails; tls_error() contains want. */
static void
refused(const char *ca, const char *name, int max_version, const char *want)
{
	struct tls_ctx *ctx;
	struct tls *t;
	struct srv s;
	char err[256];
	int rc;

	ctx = tls_ctx_new(ca, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	t = tls_new(ctx, name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	srv_new(&s, max_version);
	rc = pump(t, &s, 1, 0);
	CU_ASSERT_EQUAL(rc, SG_ETLS);
	if (strstr(tls_error(t), want) == NULL) {
		fprintf(stderr, "\nwant \"%s\" in \"%s\"\n", want, tls_error(t));
		CU_FAIL("tls_error");
	}
	tls_free(t);
	tls_ctx_free(ctx);
	srv_free(&s);
}

static void
test_wrong_name(void)
{
	refused(ca_path, "other.test", 0, "certificate verify failed: hostname mismatch");
}

static void
test_unknown_ca(void)
{
	/* the system CAs do not know the test certificate */
	refused(NULL, "smart.test", 0, "certificate verify failed: self-signed certificate");
}

static void
test_old_protocol(void)
{
	refused(ca_path, "smart.test", TLS1_1_VERSION, "protocol version");
}

static void
test_no_name_check(void)
{
	/* verify_name empty: the chain is verified, the name is not */
	struct tls_ctx *ctx;
	struct tls *t;
	struct srv s;
	char err[256];

	ctx = tls_ctx_new(ca_path, err, sizeof(err));
	t = tls_new(ctx, "");
	srv_new(&s, 0);
	CU_ASSERT_EQUAL(pump(t, &s, 1, 0), 0);
	tls_free(t);
	tls_ctx_free(ctx);
	srv_free(&s);
}

static void
test_bad_ca_file(void)
{
	char err[256];

	CU_ASSERT_PTR_NULL(tls_ctx_new("/nonexistent/ca.pem", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/ca.pem: "));
	ERR_clear_error();
}

int
suite_tls_register(void)
{
	CU_pSuite s = CU_add_suite("tls", suite_init, suite_clean);

	if (s == NULL ||
	    CU_add_test(s, "session", test_session) == NULL ||
	    CU_add_test(s, "session_bytewise", test_session_bytewise) == NULL ||
	    CU_add_test(s, "wrong_name", test_wrong_name) == NULL ||
	    CU_add_test(s, "unknown_ca", test_unknown_ca) == NULL ||
	    CU_add_test(s, "old_protocol", test_old_protocol) == NULL ||
	    CU_add_test(s, "no_name_check", test_no_name_check) == NULL ||
	    CU_add_test(s, "bad_ca_file", test_bad_ca_file) == NULL)
		return -1;
	return 0;
}
