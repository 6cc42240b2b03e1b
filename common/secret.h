/*
 * secret.h - reading a secret (password, shared secret, HMAC key) from its
 * file, the one way every secret file is read: by the configuration loader
 * for each *_file key, and by `subgate trace --hmac-key-file`.
 * docs/configuration.md "Secrets" states the rules for the operator.
 */
#ifndef SUBGATE_SECRET_H
#define SUBGATE_SECRET_H

#include <stddef.h>

/* SECRET_MAX - octets of a secret at the most (its file's first line). */
#define SECRET_MAX 4096

/* secret_read - the first line of the file at path, without its line end
 * (LF or CRLF); later lines are ignored. The file must be a regular file (a
 * symlink to one is followed) that other users can neither read nor write;
 * the line must be 1..SECRET_MAX octets without a NUL. 0 with *value
 * xmalloc'd (NUL-terminated, *len octets); else a negative errno (open or
 * read failed) or SG_EINVAL, *value NULL, and why (if whylen > 0) says what
 * is wrong, without the path. What was read is wiped on every path. */
int secret_read(const char *path, char **value, size_t *len, char *why,
    size_t whylen);

#endif
