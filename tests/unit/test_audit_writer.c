/*
 * test_audit_writer.c - the audit writer thread (audit_writer_start): a
 * worker's audit_flush returns while the file does not take a byte (a FIFO
 * nobody reads stands for a stuck disk), and once it does, every record
 * arrives whole and in the worker's order; audit_close writes what waits.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "audit.h"
#include "config.h"
#include "suites.h"
#include "util.h"

#define NREC 3000		/* ~1 MB: far beyond a pipe's 64 KiB */

static const struct config *wconf;
static atomic_int worker_done;

/* worker - what a worker loop does: records, a flush every 100. */
static void *
worker(void *arg)
{
	union sockaddr_any src, dst;
	char sub[32];

	(void)arg;
	addr_parse(&src, "100.64.3.7:41234", -1);
	addr_parse(&dst, "192.0.2.25:25", -1);
	audit_thread_begin();
	for (int i = 0; i < NREC; i++) {
		struct audit_session rec;

		audit_session_init(&rec, 0, (uint32_t)i, 0, LISTEN_SMTP, &src, &dst);
		snprintf(sub, sizeof(sub), "sub%05d", i);
		audit_session_set_identity(&rec, sub, "static", "default");
		audit_session_set_reason(&rec, "quit");
		audit_write_session(wconf, &rec);
		audit_session_free(&rec);
		if (i % 100 == 99)
			audit_flush();
	}
	audit_thread_end();
	atomic_store(&worker_done, 1);
	return NULL;
}

static int
wait_done(int ms)
{
	for (int i = 0; i < ms / 10 && !atomic_load(&worker_done); i++)
		usleep(10000);
	return atomic_load(&worker_done);
}

/* drain - read the FIFO until NREC lines came (or 20 s passed). */
static char *
drain(int rfd, size_t *len)
{
	size_t cap = 4 << 20, n = 0, lines = 0;
	char *buf = xmalloc(cap);

	for (int idle = 0; lines < NREC && idle < 2000;) {
		struct pollfd p = { rfd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 10) <= 0) {
			idle++;
			continue;
		}
		r = read(rfd, buf + n, cap - n);
		if (r <= 0) {
			idle++;
			continue;
		}
		for (ssize_t i = 0; i < r; i++)
			lines += buf[n + (size_t)i] == '\n';
		n += (size_t)r;
		if (n == cap)
			break;
	}
	*len = n;
	return buf;
}

static void
test_stuck_file(void)
{
	char dir[] = "/tmp/sg_test_awXXXXXX", path[64], *text, *p, want[32];
	struct config *c;
	char err[256];
	pthread_t t;
	size_t len;
	int rfd, order_ok = 1, n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.fifo", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	CU_ASSERT_FATAL(rfd >= 0);
	c = config_load(NULL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	wconf = c;
	CU_ASSERT_EQUAL_FATAL(audit_open(path), 0);
	CU_ASSERT_EQUAL_FATAL(audit_writer_start(), 0);
	atomic_store(&worker_done, 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, worker, NULL), 0);

	/* nobody reads: the worker must finish anyway */
	CU_ASSERT_TRUE(wait_done(3000));

	text = drain(rfd, &len);
	pthread_join(t, NULL);
	audit_close();		/* stops the writer: everything is out */
	close(rfd);
	/* whole records in the worker's order */
	p = text;
	for (int i = 0; i < NREC; i++) {
		char *q;

		snprintf(want, sizeof(want), "\"sub%05d\"", i);
		if ((q = memmem(p, len - (size_t)(p - text), want,
		    strlen(want))) == NULL) {
			order_ok = 0;
			break;
		}
		p = q + strlen(want);
		n++;
	}
	CU_ASSERT_EQUAL(n, NREC);
	CU_ASSERT_TRUE(order_ok);
	CU_ASSERT(len > 0 && text[len - 1] == '\n');
	free(text);
	config_free(c);
	unlink(path);
	rmdir(dir);
}

int
suite_audit_writer_register(void)
{
	CU_pSuite s = CU_add_suite("audit_writer", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "stuck_file", test_stuck_file) == NULL)
		return -1;
	return 0;
}
