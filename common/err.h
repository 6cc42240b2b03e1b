/*
 * err.h - subgate's error codes: one X-macro table gives each a name and a
 * text. Functions return 0 or a negative SG_E* code; errors from libuv,
 * hiredis and OpenSSL are converted where they enter the project.
 */
#ifndef SUBGATE_ERR_H
#define SUBGATE_ERR_H

#define SG_ERRNO_MAP(X)                                                  \
	X(NOMEM, "out of memory")                                        \
	X(INVAL, "invalid argument")                                     \
	X(CONFIG, "configuration error")                                 \
	X(SYS, "system call failed")                                     \
	X(NOORIGDST, "original destination unknown")                     \
	X(LOOP, "original destination is the gateway itself")            \
	X(LINE, "line too long")                                         \
	X(PROTO, "protocol violation")                                   \
	X(LIMIT, "limit reached")                                        \
	X(CLOSED, "session closed")                                      \
	X(TLS, "TLS failure")

enum sg_err {
	SG_OK = 0,
#define X(name, text) SG_E##name,
	SG__EFIRST = -1000,
	SG_ERRNO_MAP(X)
#undef X
};

/* sg_strerror - text of an SG_E* code, or strerror for a negated errno. */
const char *sg_strerror(int err);
/* sg_errname - "SG_EPROTO", or "errno" for a negated errno. */
const char *sg_errname(int err);

#endif
