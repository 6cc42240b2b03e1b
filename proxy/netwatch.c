/*
 * netwatch.c - the own-address watcher of netwatch.h. One thread polls a
 * netlink socket subscribed to RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR and
 * an eventfd that stops it. It never reads addresses out of the
 * notifications themselves: after draining them (an overrun, ENOBUFS, is
 * just one more reason to look) it dumps every address afresh on a second
 * socket, so a lost notification cannot leave the set wrong.
 */
#include "netwatch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dest_deny.h"
#include "log.h"
#include "util.h"

#define NL_BUF 32768
#define DUMP_TIMEOUT_MS 2000

static pthread_t thr;
static int running, ev_fd = -1, mon_fd = -1;

/* The addresses of one dump. */
struct addrs {
	union sockaddr_any *a;
	size_t n, cap;
};

static void
add_addr(const union sockaddr_any *a, void *arg)
{
	struct addrs *v = arg;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->a = xrealloc(v->a, v->cap * sizeof(*v->a));
	}
	v->a[v->n++] = *a;
}

/* dump - every address of every interface into the own-address set. 0 or a
 * negative errno. */
static int
dump(void)
{
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg ifa;
	} req;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct addrs v = { 0 };
	struct pollfd pfd;
	uint8_t *buf = xmalloc(NL_BUF);
	ssize_t n;
	int fd, rc = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = RTM_GETADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	req.ifa.ifa_family = AF_UNSPEC;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel,
	    sizeof(kernel)) < 0) {
		rc = -errno;
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!done) {
		if (poll(&pfd, 1, DUMP_TIMEOUT_MS) <= 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		if ((n = recv(fd, buf, NL_BUF, 0)) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		switch (dest_own_parse(buf, (size_t)n, add_addr, &v)) {
		case 1:
			done = 1;
			break;
		case 0:
			break;
		default:
			rc = -EPROTO;
			goto out;
		}
	}
	dest_own_set(v.a, v.n);
out:
	close(fd);
	free(v.a);
	free(buf);
	return rc;
}

static void *
watch(void *arg)
{
	struct pollfd pfd[2];
	uint8_t *buf = xmalloc(NL_BUF);
	size_t before;
	int rc;

	(void)arg;
	pfd[0].fd = mon_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = ev_fd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("event=netwatch_failed error=\"poll: %s\"",
			    strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		/* drain the notifications; ENOBUFS (overrun) only says
		 * that some were lost, which the dump below makes good */
		while (recv(mon_fd, buf, NL_BUF, MSG_DONTWAIT) >= 0 ||
		    errno == ENOBUFS || errno == EINTR)
			;
		before = dest_own_count();
		if ((rc = dump()) < 0)
			log_warn("event=own_addresses_failed error=\"%s\"",
			    strerror(-rc));
		else
			log_info("event=own_addresses count=%zu before=%zu",
			    dest_own_count(), before);
	}
	free(buf);
	return NULL;
}

int
netwatch_start(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
	    .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	int rc;

	if (running)
		return 0;
	/* subscribe first: a change between the dump and the subscription
	 * would otherwise go unseen */
	mon_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    NETLINK_ROUTE);
	if (mon_fd < 0 || bind(mon_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		log_warn("event=netwatch_failed error=\"netlink: %s\"",
		    strerror(-rc));
		if (mon_fd >= 0)
			close(mon_fd);
		mon_fd = -1;
		return rc;
	}
	if ((rc = dump()) < 0) {
		log_err("event=own_addresses_failed error=\"%s\"", strerror(-rc));
		close(mon_fd);
		mon_fd = -1;
		return rc;
	}
	log_info("event=own_addresses count=%zu", dest_own_count());
	ev_fd = eventfd(0, EFD_CLOEXEC);
	if (ev_fd < 0 || (rc = pthread_create(&thr, NULL, watch, NULL)) != 0) {
		rc = ev_fd < 0 ? errno : rc;
		log_warn("event=netwatch_failed error=\"%s\"", strerror(rc));
		if (ev_fd >= 0)
			close(ev_fd);
		close(mon_fd);
		ev_fd = mon_fd = -1;
		return -rc;
	}
	running = 1;
	return 0;
}

void
netwatch_stop(void)
{
	uint64_t one = 1;

	if (!running)
		return;
	if (write(ev_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write of 1 cannot fail short of a bug */
	}
	pthread_join(thr, NULL);
	close(ev_fd);
	close(mon_fd);
	ev_fd = mon_fd = -1;
	running = 0;
}
