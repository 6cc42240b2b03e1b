/*
 * term.h - strings from audit files and Redis, made safe for the
 * analyst's terminal: the CLI prints nothing that came from a subscriber,
 * a NAS or a file without passing it through here (or through JSON
 * escaping with --json). Escape sequences and control bytes would
 * otherwise reach the terminal (issue 9 item 8).
 */
#ifndef SUBGATE_CLI_TERM_H
#define SUBGATE_CLI_TERM_H

#include <stddef.h>

/* TERM_SAFE_MAX - room for n octets escaped, the quotes and the NUL. */
#define TERM_SAFE_MAX(n) (4 * (n) + 8)

/* term_safe - s itself when it is printable ASCII (0x20..0x7e); else s
 * escaped as log_esc does it ("a\x1b[31m", quoted, truncated with "..."
 * at len) in out. */
const char *term_safe(char *out, size_t len, const char *s);

#endif
