/*
 * tls.h - a TLS client engine over OpenSSL memory BIOs, for the gateway's
 * own connection to the operator's smarthost (RFC 3207 STARTTLS).
 *
 * It never touches a socket: the glue (relay.c) puts it between the
 * upstream uv_tcp_t and the SMTP core.
 *   upstream read  -> tls_feed(ciphertext) -> tls_read() -> plaintext in
 *   plaintext out  -> tls_write()          -> tls_out()  -> uv_write
 * After every tls_feed/tls_handshake/tls_write the glue drains tls_out():
 * handshake records, alerts and close_notify come out there too.
 *
 * struct tls_ctx holds the verification settings (TLS >= 1.2, peer
 * certificate verified against ca_file or the system CAs). It is made once
 * by the main thread and shared read-only by every worker; each struct tls
 * belongs to one session on one worker thread. OpenSSL errors are converted
 * to SG_ETLS here, with their text kept for tls_error().
 */
#ifndef SUBGATE_TLS_H
#define SUBGATE_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct tls_ctx;
struct tls;

/* tls_ctx_new - a client context that verifies the peer's chain against
 * ca_file (PEM; NULL or "" = the system's default CA paths). NULL on error,
 * with the OpenSSL text in err. */
struct tls_ctx *tls_ctx_new(const char *ca_file, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);

/* tls_new - a client session. verify_name (NULL/"" = none): the name the
 * certificate must carry (X509_VERIFY_PARAM_set1_host) and the SNI sent; an
 * empty name means chain verification only and no SNI (an IP literal is
 * never sent as SNI, RFC 6066 section 3). NULL if verify_name is not a
 * usable host name (config.c should have refused it). */
struct tls *tls_new(struct tls_ctx *ctx, const char *verify_name);
/* tls_free - NULL is fine. */
void tls_free(struct tls *t);

/* tls_handshake - advance the handshake: 0 done, 1 wants more input (drain
 * tls_out, then wait for bytes), SG_ETLS on failure (tls_error). */
int tls_handshake(struct tls *t);
/* tls_feed - ciphertext received from the peer. 0 or SG_ETLS. */
int tls_feed(struct tls *t, const void *p, size_t n);
/* tls_read - plaintext: >0 bytes, 0 when more input is needed, SG_ECLOSED
 * after the peer's close_notify, SG_ETLS on failure. */
ssize_t tls_read(struct tls *t, void *buf, size_t len);
/* tls_write - encrypt all n plaintext bytes (handshake done). 0 or SG_ETLS. */
int tls_write(struct tls *t, const void *p, size_t n);
/* tls_close - queue a close_notify alert (drain tls_out after). */
void tls_close(struct tls *t);
/* tls_out - up to len ciphertext bytes to send to the peer; 0 if none. */
size_t tls_out(struct tls *t, void *buf, size_t len);

/* tls_error - text of the last failure: OpenSSL's reason, and for a failed
 * verification the X509 verify result ("certificate verify failed:
 * hostname mismatch"). "" if none. */
const char *tls_error(const struct tls *t);
/* tls_version, tls_cipher - of the established session, for logs. */
const char *tls_version(const struct tls *t);
const char *tls_cipher(const struct tls *t);

#endif
