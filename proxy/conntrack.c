/*
 * conntrack.c - submission flows from conntrack events (see conntrack.h).
 *
 * The reader thread owns everything here but the counters: the netlink
 * handle, the table of open flows and the record sequence. It sleeps in
 * poll(2) on the event socket and an eventfd that conntrack_stop() writes.
 */
#include "util.h"
#include "conntrack.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnfnetlink/libnfnetlink.h>

#include "audit.h"
#include "identity.h"
#include "log.h"

#define FLOW_CAP (1u << 17)		/* open flows kept (power of two) */
#define FLOW_MAX (FLOW_CAP / 4 * 3)	/* load factor 3/4 */
#define RCVBUF (16u << 20)		/* event socket buffer, octets */

/* One open flow: when it started and who the source was then. */
struct flow {
	uint32_t id;			/* conntrack id; 0: slot free */
	uint8_t source;			/* enum identity_source */
	int64_t start_ms;
	char *subscriber;
	const struct policy_class *cls;	/* the configuration's */
};

static struct {
	const struct config *conf;
	struct nfct_handle *h;
	pthread_t thread;
	int stopfd;
	int started;
	struct flow *flows;
	size_t nflows;
	uint32_t seq;
} ct;

static _Atomic uint64_t st_events, st_recorded, st_overruns, st_untracked,
    st_start_unknown;
static atomic_int st_running, st_acct, st_timestamp;

#define ADD(c, n) atomic_fetch_add_explicit(&(c), (n), memory_order_relaxed)

/* Open-flow table: linear probing, backward-shift deletion. */

static size_t
slot_of(uint32_t id)
{
	return (size_t)((id * 2654435761u) & (FLOW_CAP - 1));
}

static struct flow *
flow_find(uint32_t id)
{
	for (size_t i = slot_of(id);; i = (i + 1) & (FLOW_CAP - 1)) {
		if (ct.flows[i].id == id)
			return &ct.flows[i];
		if (ct.flows[i].id == 0)
			return NULL;
	}
}

static void
flow_remove(struct flow *f)
{
	size_t i = (size_t)(f - ct.flows), j = i, k;

	free(f->subscriber);
	memset(f, 0, sizeof(*f));
	ct.nflows--;
	for (;;) {
		j = (j + 1) & (FLOW_CAP - 1);
		if (ct.flows[j].id == 0)
			return;
		k = slot_of(ct.flows[j].id);
		/* move j back to the hole i unless its home k lies in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		ct.flows[i] = ct.flows[j];
		memset(&ct.flows[j], 0, sizeof(ct.flows[j]));
		i = j;
	}
}

/* addrs - the original direction's source and destination. */
static int
addrs(const struct nf_conntrack *c, union sockaddr_any *src,
    union sockaddr_any *dst)
{
	uint8_t l3 = nfct_get_attr_u8(c, ATTR_ORIG_L3PROTO);

	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (l3 == AF_INET) {
		src->sin.sin_family = dst->sin.sin_family = AF_INET;
		src->sin.sin_addr.s_addr = nfct_get_attr_u32(c, ATTR_ORIG_IPV4_SRC);
		dst->sin.sin_addr.s_addr = nfct_get_attr_u32(c, ATTR_ORIG_IPV4_DST);
	} else if (l3 == AF_INET6) {
		src->sin6.sin6_family = dst->sin6.sin6_family = AF_INET6;
		memcpy(&src->sin6.sin6_addr, nfct_get_attr(c, ATTR_ORIG_IPV6_SRC), 16);
		memcpy(&dst->sin6.sin6_addr, nfct_get_attr(c, ATTR_ORIG_IPV6_DST), 16);
	} else {
		return -1;
	}
	/* ports are in network order in both */
	src->sin.sin_port = nfct_get_attr_u16(c, ATTR_ORIG_PORT_SRC);
	dst->sin.sin_port = nfct_get_attr_u16(c, ATTR_ORIG_PORT_DST);
	return 0;
}

/* submission - dst's port is one of intercept.submission_ports (the mark
 * says so already; this keeps a foreign use of the same bit out). */
static int
submission(uint16_t port)
{
	const struct intercept_conf *ic = &ct.conf->intercept;

	for (size_t i = 0; i < ic->nsubmission_ports; i++)
		if (ic->submission_ports[i] == port)
			return 1;
	return 0;
}

static void
on_new(const struct nf_conntrack *c, uint32_t id,
    const union sockaddr_any *src)
{
	struct identity who;
	struct flow *f;
	size_t i;

	if (flow_find(id) != NULL)
		return;		/* a repeated NEW: keep the first */
	if (ct.nflows >= FLOW_MAX) {
		ADD(st_untracked, 1);
		return;
	}
	for (i = slot_of(id); ct.flows[i].id != 0; i = (i + 1) & (FLOW_CAP - 1))
		;
	f = &ct.flows[i];
	f->id = id;
	f->start_ms = now_ms();
	identity_lookup(src, f->start_ms, &who);
	f->source = (uint8_t)who.source;
	f->subscriber = xstrdup(who.subscriber);
	f->cls = who.cls;
	ct.nflows++;
}

static void
on_destroy(const struct nf_conntrack *c, uint32_t id,
    const union sockaddr_any *src, const union sockaddr_any *dst)
{
	struct audit_session rec;
	struct identity who;
	struct flow *f = flow_find(id);
	int64_t end = now_ms(), start;

	if (nfct_attr_is_set(c, ATTR_TIMESTAMP_STOP) > 0)
		end = (int64_t)(nfct_get_attr_u64(c, ATTR_TIMESTAMP_STOP) /
		    1000000);
	if (nfct_attr_is_set(c, ATTR_TIMESTAMP_START) > 0)
		start = (int64_t)(nfct_get_attr_u64(c, ATTR_TIMESTAMP_START) /
		    1000000);
	else if (f != NULL)
		start = f->start_ms;
	else
		start = end;
	if (f == NULL)
		ADD(st_start_unknown, 1);
	audit_session_init_at(&rec, AUDIT_WORKER_CONNTRACK, ct.seq++, -1,
	    LISTEN_PASSTHROUGH, src, dst, start);
	rec.end_ms = end > start ? end : start;
	rec.observed = 1;
	if (f != NULL) {
		audit_session_set_identity(&rec, f->subscriber,
		    identity_source_name((enum identity_source)f->source),
		    f->cls->name);
		flow_remove(f);
	} else {
		identity_lookup(src, start, &who);
		audit_session_set_identity(&rec, who.subscriber,
		    identity_source_name(who.source), who.cls->name);
	}
	if (nfct_attr_is_set(c, ATTR_ORIG_COUNTER_BYTES) > 0) {
		rec.bytes_known = 1;
		rec.bytes_from_client = nfct_get_attr_u64(c,
		    ATTR_ORIG_COUNTER_BYTES);
		rec.bytes_from_upstream = nfct_get_attr_u64(c,
		    ATTR_REPL_COUNTER_BYTES);
	}
	audit_session_set_reason(&rec, "closed");
	audit_write_session(ct.conf, &rec);
	audit_session_free(&rec);
	ADD(st_recorded, 1);
}

static int
event_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *c, void *arg)
{
	union sockaddr_any src, dst;
	uint32_t id;

	ADD(st_events, 1);
	if (nfct_get_attr_u8(c, ATTR_ORIG_L4PROTO) != IPPROTO_TCP ||
	    addrs(c, &src, &dst) < 0 || !submission(ntohs(dst.sin.sin_port)))
		return NFCT_CB_CONTINUE;
	id = nfct_get_attr_u32(c, ATTR_ID);
	if (id == 0)
		id = 1;		/* 0 marks a free slot */
	if (type == NFCT_T_NEW)
		on_new(c, id, &src);
	else if (type == NFCT_T_DESTROY)
		on_destroy(c, id, &src, &dst);
	return NFCT_CB_CONTINUE;
}

static void *
reader(void *arg)
{
	struct pollfd p[2] = {
		{ .fd = nfct_fd(ct.h), .events = POLLIN },
		{ .fd = ct.stopfd, .events = POLLIN }
	};

	audit_thread_begin();	/* a burst of records: one write per batch */
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("event=conntrack_error error=\"poll: %s\"",
			    strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		/* non-blocking: nfct_catch reads until the socket is empty */
		if (nfct_catch(ct.h) < 0 && errno == ENOBUFS) {
			ADD(st_overruns, 1);
			log_warn("event=conntrack_overrun note=\"events lost: "
			    "more than %u octets arrived at once\"", RCVBUF);
		}
		audit_flush();
	}
	audit_thread_end();
	atomic_store(&st_running, 0);
	return NULL;
}

/* sysctl_on - /proc/sys/net/netfilter/NAME is 1 (this network namespace). */
static int
sysctl_on(const char *name)
{
	char path[128], v[8] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/netfilter/%s", name);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(v, sizeof(v), f) == NULL)
		v[0] = '\0';
	fclose(f);
	return v[0] == '1';
}

int
conntrack_start(const struct config *c)
{
	struct nfct_filter *flt;
	struct nfct_filter_dump_mark mark;
	const char *why;
	int err;

	ct.conf = c;
	ct.h = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_NEW |
	    NF_NETLINK_CONNTRACK_DESTROY);
	if (ct.h == NULL) {
		why = "nfct_open";
		goto fail;
	}
	/* the kernel-side filter: TCP, and our mark bit(s) set */
	if ((flt = nfct_filter_create()) == NULL) {
		why = "nfct_filter_create";
		goto fail;
	}
	nfct_filter_add_attr_u32(flt, NFCT_FILTER_L4PROTO, IPPROTO_TCP);
	mark.val = mark.mask = c->intercept.conntrack_mark;
	nfct_filter_add_attr(flt, NFCT_FILTER_MARK, &mark);
	err = nfct_filter_attach(nfct_fd(ct.h), flt);
	nfct_filter_destroy(flt);
	if (err < 0) {
		why = "nfct_filter_attach";
		goto fail;
	}
	nfnl_rcvbufsiz(nfct_nfnlh(ct.h), RCVBUF);
	if (fcntl(nfct_fd(ct.h), F_SETFL, O_NONBLOCK) < 0) {
		why = "fcntl";
		goto fail;
	}
	nfct_callback_register(ct.h, NFCT_T_NEW | NFCT_T_DESTROY, event_cb, NULL);
	if ((ct.stopfd = eventfd(0, EFD_CLOEXEC)) < 0) {
		why = "eventfd";
		goto fail;
	}
	if (getrandom(&ct.seq, sizeof(ct.seq), GRND_NONBLOCK) < 0)
		ct.seq = (uint32_t)now_ms();
	ct.flows = xcalloc(FLOW_CAP, sizeof(*ct.flows));
	atomic_store(&st_acct, sysctl_on("nf_conntrack_acct"));
	atomic_store(&st_timestamp, sysctl_on("nf_conntrack_timestamp"));
	atomic_store(&st_running, 1);
	if ((err = pthread_create(&ct.thread, NULL, reader, NULL)) != 0) {
		atomic_store(&st_running, 0);
		errno = err;
		why = "pthread_create";
		goto fail;
	}
	ct.started = 1;
	log_info("event=conntrack_start mark=0x%x acct=%d timestamp=%d",
	    c->intercept.conntrack_mark, atomic_load(&st_acct),
	    atomic_load(&st_timestamp));
	if (!atomic_load(&st_acct))
		log_warn("event=conntrack_no_acct note=\"records carry no byte "
		    "counts: set net.netfilter.nf_conntrack_acct=1\"");
	return 0;
fail:
	log_warn("event=conntrack_unavailable error=\"%s: %s\" note=\"587/465 "
	    "stay untouched and are not recorded\"", why, strerror(errno));
	if (ct.h != NULL)
		nfct_close(ct.h);
	ct.h = NULL;
	free(ct.flows);
	ct.flows = NULL;
	return -1;
}

void
conntrack_stop(void)
{
	uint64_t one = 1;

	if (!ct.started)
		return;
	if (write(ct.stopfd, &one, sizeof(one)) < 0)
		log_warn("event=conntrack_error error=\"eventfd: %s\"",
		    strerror(errno));
	pthread_join(ct.thread, NULL);
	close(ct.stopfd);
	nfct_close(ct.h);
	for (size_t i = 0; i < FLOW_CAP; i++)
		free(ct.flows[i].subscriber);
	free(ct.flows);
	memset(&ct, 0, sizeof(ct));
}

void
conntrack_get_stats(struct conntrack_stats *st)
{
	st->events = atomic_load(&st_events);
	st->recorded = atomic_load(&st_recorded);
	st->overruns = atomic_load(&st_overruns);
	st->untracked = atomic_load(&st_untracked);
	st->start_unknown = atomic_load(&st_start_unknown);
	st->running = atomic_load(&st_running);
	st->acct = atomic_load(&st_acct);
	st->timestamp = atomic_load(&st_timestamp);
}
