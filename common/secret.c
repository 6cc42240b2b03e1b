/*
 * secret.c - reading a secret from its file (see secret.h).
 */
#include "secret.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "secbuf.h"
#include "util.h"

/* refuse - code, with its reason in why. */
static int
refuse(int code, char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
refuse(int code, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

int
secret_read(const char *path, char **value, size_t *len, char *why,
    size_t whylen)
{
	char buf[SECRET_MAX + 2];
	struct stat st;
	size_t n = 0, line;
	ssize_t r;
	int fd, err;

	*value = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO is refused below instead of blocking the open */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		return refuse(-err, why, whylen, "%s", strerror(err));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return refuse(SG_EINVAL, why, whylen, "not a regular file");
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		close(fd);
		return refuse(SG_EINVAL, why, whylen, "secret is accessible by "
		    "every user (mode %04o); chmod o-rwx it",
		    (unsigned)(st.st_mode & 07777));
	}
	while (n < sizeof(buf) - 1 &&
	    (r = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			sb_wipe(buf, sizeof(buf));
			close(fd);
			return refuse(-err, why, whylen, "%s", strerror(err));
		}
		n += (size_t)r;
		if (memchr(buf, '\n', n) != NULL)
			break;
	}
	close(fd);
	for (line = 0; line < n && buf[line] != '\n'; line++)
		;
	if (line > SECRET_MAX) {
		sb_wipe(buf, sizeof(buf));
		return refuse(SG_EINVAL, why, whylen, "first line longer than %d "
		    "octets", SECRET_MAX);
	}
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	if (line == 0 || memchr(buf, '\0', line) != NULL) {
		sb_wipe(buf, sizeof(buf));
		return refuse(SG_EINVAL, why, whylen, "%s", line == 0 ?
		    "first line is empty" : "secret contains a NUL octet");
	}
	*value = xstrndup(buf, line);
	*len = line;
	sb_wipe(buf, sizeof(buf));
	return 0;
}
