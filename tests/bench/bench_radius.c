/*
 * bench_radius.c - RADIUS accounting requests per second through subgated's
 * listener: a NAS that keeps a window of requests in flight on loopback and
 * counts Accounting-Responses.
 *
 *   bench_radius PORT SECRET N [WINDOW] [PHASES]
 *
 * For N subscribers (100.64.0.0/10 addresses, sessions "b<i>") it runs the
 * phases in order (default "start,interim,stop"), each N requests, and
 * prints per phase: requests, answered, lost (no answer within 2 s), seconds,
 * answered per second. Requests are signed as a NAS does (radius.h), with
 * Identifiers cycling over several source sockets so that no two requests
 * in flight share a retransmission key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "radius.h"

#define NSOCK 16

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t
put_attr(uint8_t *p, uint8_t type, const void *v, size_t len)
{
	p[0] = type;
	p[1] = (uint8_t)(len + 2);
	memcpy(p + 2, v, len);
	return len + 2;
}

/* build - an Accounting-Request for subscriber i. */
static size_t
build(uint8_t *pkt, uint8_t id, uint32_t status, unsigned i,
    const char *secret)
{
	uint8_t *p = pkt + RADIUS_HDRLEN;
	uint32_t st = htonl(status), ip = htonl(0x64400000u + 1 + i);
	char user[32], sid[32];
	size_t len;

	snprintf(user, sizeof(user), "sub-%u", i);
	snprintf(sid, sizeof(sid), "b%u", i);
	p += put_attr(p, RADIUS_ATTR_ACCT_STATUS_TYPE, &st, 4);
	p += put_attr(p, RADIUS_ATTR_USER_NAME, user, strlen(user));
	p += put_attr(p, RADIUS_ATTR_FRAMED_IP_ADDRESS, &ip, 4);
	p += put_attr(p, RADIUS_ATTR_ACCT_SESSION_ID, sid, strlen(sid));
	p += put_attr(p, RADIUS_ATTR_CALLING_STATION_ID, "02-00-00-00-00-01", 17);
	len = (size_t)(p - pkt);
	pkt[0] = RADIUS_CODE_ACCT_REQUEST;
	pkt[1] = id;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	radius_acct_sign(pkt, len, (const uint8_t *)secret, strlen(secret));
	return len;
}

static void
phase(int *fds, const struct sockaddr_in *to, const char *secret,
    uint32_t status, const char *name, unsigned n, unsigned window)
{
	struct pollfd pfd[NSOCK];
	unsigned sent = 0, answered = 0, inflight = 0;
	uint8_t pkt[RADIUS_MAXLEN], resp[RADIUS_MAXLEN];
	double t0 = now_s(), last = t0, el;

	for (int k = 0; k < NSOCK; k++) {
		pfd[k].fd = fds[k];
		pfd[k].events = POLLIN;
	}
	while (answered + (sent - answered - inflight) < n) {
		int got = 0, r;

		while (inflight < window && sent < n) {
			size_t len = build(pkt, (uint8_t)(sent / NSOCK), status,
			    sent, secret);

			if (sendto(fds[sent % NSOCK], pkt, len, 0,
			    (const struct sockaddr *)to, sizeof(*to)) < 0) {
				if (errno == EAGAIN || errno == ENOBUFS)
					break;
				perror("sendto");
				exit(1);
			}
			sent++;
			inflight++;
		}
		r = poll(pfd, NSOCK, 10);
		for (int k = 0; r > 0 && k < NSOCK; k++)
			while (pfd[k].revents & POLLIN) {
				ssize_t m = recv(fds[k], resp, sizeof(resp),
				    MSG_DONTWAIT);

				if (m < 0)
					break;
				if (m >= RADIUS_HDRLEN &&
				    resp[0] == RADIUS_CODE_ACCT_RESPONSE) {
					answered++;
					inflight--;
					got = 1;
				}
			}
		if (got)
			last = now_s();
		else if (now_s() - last > 2.0 && inflight > 0) {
			inflight = 0;	/* the rest is lost */
			last = now_s();
		}
	}
	el = now_s() - t0;
	printf("%-8s requests=%u answered=%u lost=%u seconds=%.3f "
	    "answered_per_s=%.0f\n", name, sent, answered, sent - answered, el,
	    answered / el);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in to;
	int fds[NSOCK];
	unsigned n, window;
	char *phases, *ph, *save = NULL;

	if (argc < 4) {
		fprintf(stderr, "usage: bench_radius PORT SECRET N [WINDOW] "
		    "[start,interim,stop]\n");
		return 2;
	}
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)atoi(argv[1]));
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	n = (unsigned)atoi(argv[3]);
	window = argc > 4 ? (unsigned)atoi(argv[4]) : 512;
	phases = strdup(argc > 5 ? argv[5] : "start,interim,stop");
	for (int k = 0; k < NSOCK; k++) {
		struct sockaddr_in me;
		int sz = 4 << 20;

		memset(&me, 0, sizeof(me));
		me.sin_family = AF_INET;
		me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[k] = socket(AF_INET, SOCK_DGRAM, 0);
		setsockopt(fds[k], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		if (fds[k] < 0 || bind(fds[k], (struct sockaddr *)&me,
		    sizeof(me)) < 0) {
			perror("socket");
			return 1;
		}
	}
	for (ph = strtok_r(phases, ",", &save); ph != NULL;
	    ph = strtok_r(NULL, ",", &save)) {
		uint32_t st = strcmp(ph, "start") == 0 ? RADIUS_STATUS_START :
		    strcmp(ph, "stop") == 0 ? RADIUS_STATUS_STOP :
		    RADIUS_STATUS_INTERIM;

		phase(fds, &to, argv[2], st, ph, n, window);
	}
	free(phases);
	return 0;
}
