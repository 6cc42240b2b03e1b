/*
 * sgbulk.c - bulk TCP source and sink for tests/bench/bench.sh (compiled on
 * the fly into a temp dir; not part of the product build).
 *
 *   sgbulk sink HOST PORT
 *       Accept connections one after another; read each until EOF and
 *       discard; then close. Prints "sink BYTES" per connection to stdout.
 *   sgbulk source HOST PORT BYTES
 *       Connect, write BYTES (a fixed 1 MiB pattern, repeated), half-close,
 *       wait for the peer's EOF (the sink has everything). Prints
 *       "source BYTES SECONDS MBIT/S".
 *
 * Plain read/write with 1 MiB buffers: the helper itself is not the
 * bottleneck on loopback (several GB/s), so the proxy in between is.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (1 << 20)

static void die(const char *what) __attribute__((noreturn));
static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int resolve(const char *host, const char *port, struct addrinfo **ai, int passive)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | (passive ? AI_PASSIVE : 0);
	return getaddrinfo(host, port, &hints, ai);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_sink(const char *host, const char *port) __attribute__((noreturn));
static void run_sink(const char *host, const char *port)
{
	struct addrinfo *ai;
	int ls, one = 1;
	char *buf = malloc(BUF);

	if (buf == NULL || resolve(host, port, &ai, 1) != 0)
		die("sink: resolve");
	ls = socket(ai->ai_family, SOCK_STREAM, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, ai->ai_addr, ai->ai_addrlen) < 0)
		die("bind");
	if (listen(ls, 64) < 0)
		die("listen");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		long long total = 0;
		ssize_t n;
		int c = accept(ls, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		while ((n = read(c, buf, BUF)) > 0)
			total += n;
		close(c);
		printf("sink %lld\n", total);
		fflush(stdout);
	}
}

static int run_source(const char *host, const char *port, long long bytes)
{
	struct addrinfo *ai;
	char *buf = malloc(BUF);
	long long sent = 0;
	double t0, dt;
	int s;

	if (buf == NULL || resolve(host, port, &ai, 0) != 0)
		die("source: resolve");
	for (int i = 0; i < BUF; i++)
		buf[i] = (char)(i * 131 + (i >> 11));
	s = socket(ai->ai_family, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	t0 = now();
	if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect");
	while (sent < bytes) {
		size_t want = bytes - sent < BUF ? (size_t)(bytes - sent) : BUF;
		ssize_t n = write(s, buf, want);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		sent += n;
	}
	shutdown(s, SHUT_WR);
	while (read(s, buf, BUF) > 0)
		;
	dt = now() - t0;
	close(s);
	printf("source %lld %.3f %.0f\n", sent, dt, sent * 8 / dt / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "sink") == 0)
		run_sink(argv[2], argv[3]);	/* does not return */
	if (argc == 5 && strcmp(argv[1], "source") == 0)
		return run_source(argv[2], argv[3], atoll(argv[4]));
	fprintf(stderr, "usage: sgbulk sink HOST PORT | sgbulk source HOST PORT BYTES\n");
	return 2;
}
