/*
 * test_secret.c - the one secret-file reader (common/secret.c) and the audit
 * HMAC key file read through it (audit_key_load): what a secret file may be
 * (regular, not accessible by other users, a symlink to one followed) and
 * what its first line may hold.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_key.h"
#include "err.h"
#include "secret.h"
#include "suites.h"

static char dir[] = "/tmp/sg_test_secretXXXXXX";

/* path - "<dir>/name" in buf. */
static const char *
path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

/* put - file name in dir with n octets of content and mode. */
static const char *
put(char *buf, size_t len, const char *name, const char *content, size_t n,
    mode_t mode)
{
	int fd;

	path(buf, len, name);
	unlink(buf);
	fd = open(buf, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, content, n) == (ssize_t)n);
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
	close(fd);
	return buf;
}

static int
setup(void)
{
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void)
{
	static const char *const names[] = { "good", "group", "crlf", "open",
		"owrite", "oread", "empty", "nul", "long", "max", "tail", "fifo",
		"to-good", "to-null", "to-dir", "sub", "missing-link" };
	char p[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path(p, sizeof(p), names[i]);
		if (unlink(p) < 0)
			rmdir(p);
	}
	return rmdir(dir);
}

/* ok - secret_read of p gives want. */
static void
ok(const char *p, const char *want)
{
	char why[128] = "untouched", *v = NULL;
	size_t n = 99;

	CU_ASSERT_EQUAL(secret_read(p, &v, &n, why, sizeof(why)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(n, strlen(want));
	CU_ASSERT_STRING_EQUAL(v, want);
	CU_ASSERT_STRING_EQUAL(why, "untouched");
	free(v);
}

/* refused - secret_read of p fails with code and reason why_want. */
static void
refused(const char *p, int code, const char *why_want)
{
	char why[128], *v = (char *)"x";
	size_t n = 99;

	CU_ASSERT_EQUAL(secret_read(p, &v, &n, why, sizeof(why)), code);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_STRING_EQUAL(why, why_want);
}

static void
test_content(void)
{
	char p[256], big[SECRET_MAX + 16];

	ok(put(p, sizeof(p), "good", "s3cret\nsecond line\n", 19, 0600),
	    "s3cret");
	ok(put(p, sizeof(p), "crlf", "pw\r\nnext\n", 9, 0400), "pw");
	refused(put(p, sizeof(p), "empty", "\nkey\n", 5, 0600), SG_EINVAL,
	    "first line is empty");
	refused(put(p, sizeof(p), "empty", "", 0, 0600), SG_EINVAL,
	    "first line is empty");
	refused(put(p, sizeof(p), "nul", "a\0b\n", 4, 0600), SG_EINVAL,
	    "secret contains a NUL octet");
	memset(big, 'k', sizeof(big));
	refused(put(p, sizeof(p), "long", big, SECRET_MAX + 1, 0600),
	    SG_EINVAL, "first line longer than 4096 octets");
	big[SECRET_MAX] = '\n';
	put(p, sizeof(p), "max", big, SECRET_MAX + 1, 0600);
	big[SECRET_MAX] = '\0';
	ok(p, big);
	big[SECRET_MAX] = 'k';
	/* a short first line in a long file: the rest is never read */
	big[3] = '\n';
	ok(put(p, sizeof(p), "tail", big, sizeof(big), 0600), "kkk");
}

static void
test_mode(void)
{
	char p[256];

	ok(put(p, sizeof(p), "good", "s3cret\n", 7, 0600), "s3cret");
	/* group access is how a root-owned file is shared with group subgate */
	ok(put(p, sizeof(p), "group", "s3cret\n", 7, 0640), "s3cret");
	refused(put(p, sizeof(p), "open", "s3cret\n", 7, 0644), SG_EINVAL,
	    "secret is accessible by every user (mode 0644); chmod o-rwx it");
	refused(put(p, sizeof(p), "oread", "s3cret\n", 7, 0604), SG_EINVAL,
	    "secret is accessible by every user (mode 0604); chmod o-rwx it");
	refused(put(p, sizeof(p), "owrite", "s3cret\n", 7, 0602), SG_EINVAL,
	    "secret is accessible by every user (mode 0602); chmod o-rwx it");
}

static void
test_kind(void)
{
	char p[256], t[256];

	put(t, sizeof(t), "good", "s3cret\n", 7, 0600);
	path(p, sizeof(p), "to-good");
	CU_ASSERT_FATAL(symlink(t, p) == 0);
	ok(p, "s3cret");	/* a symlink to a good file is followed */
	path(p, sizeof(p), "to-null");
	CU_ASSERT_FATAL(symlink("/dev/null", p) == 0);
	refused(p, SG_EINVAL, "not a regular file");
	path(p, sizeof(p), "sub");
	CU_ASSERT_FATAL(mkdir(p, 0700) == 0);
	refused(p, SG_EINVAL, "not a regular file");
	path(t, sizeof(t), "to-dir");
	CU_ASSERT_FATAL(symlink(p, t) == 0);
	refused(t, SG_EINVAL, "not a regular file");
	/* a FIFO nobody writes to is refused, not waited on */
	path(p, sizeof(p), "fifo");
	CU_ASSERT_FATAL(mkfifo(p, 0600) == 0);
	refused(p, SG_EINVAL, "not a regular file");
	path(t, sizeof(t), "missing");
	refused(t, -ENOENT, strerror(ENOENT));
	path(p, sizeof(p), "missing-link");
	CU_ASSERT_FATAL(symlink(t, p) == 0);
	refused(p, -ENOENT, strerror(ENOENT));
}

/* The HMAC key of `subgate trace --hmac-key-file` obeys the same rules. */
static void
test_audit_key(void)
{
	char p[256], t[256];
	unsigned char *k;
	size_t n;

	put(p, sizeof(p), "good", "k3y\r\nnext\n", 10, 0640);
	CU_ASSERT_EQUAL(audit_key_load(p, &k, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(memcmp(k, "k3y", 3), 0);
	free(k);
	path(t, sizeof(t), "to-good");
	CU_ASSERT_EQUAL(audit_key_load(t, &k, &n), 0);
	free(k);
	put(p, sizeof(p), "open", "k3y\n", 4, 0644);
	CU_ASSERT_EQUAL(audit_key_load(p, &k, &n), SG_EINVAL);
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_EQUAL(n, 0);
	put(p, sizeof(p), "owrite", "k3y\n", 4, 0602);
	CU_ASSERT_EQUAL(audit_key_load(p, &k, &n), SG_EINVAL);
	CU_ASSERT_EQUAL(audit_key_load(path(p, sizeof(p), "sub"), &k, &n),
	    SG_EINVAL);
	CU_ASSERT_EQUAL(audit_key_load(path(p, sizeof(p), "fifo"), &k, &n),
	    SG_EINVAL);
	CU_ASSERT_EQUAL(audit_key_load(path(p, sizeof(p), "to-null"), &k, &n),
	    SG_EINVAL);
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_EQUAL(audit_key_load(path(p, sizeof(p), "missing"), &k, &n),
	    -ENOENT);
}

int
suite_secret_register(void)
{
	CU_pSuite s = CU_add_suite("secret", setup, teardown);

	/* test_audit_key uses the files test_kind makes: keep the order */
	if (s == NULL ||
	    CU_add_test(s, "content", test_content) == NULL ||
	    CU_add_test(s, "mode", test_mode) == NULL ||
	    CU_add_test(s, "kind", test_kind) == NULL ||
	    CU_add_test(s, "audit_key", test_audit_key) == NULL)
		return -1;
	return 0;
}
