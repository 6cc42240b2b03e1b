/*
 * identity.c - subscriber identity: the assignment state machine (struct
 * idstore), the assignment record in JSON, and the daemon's lookup service
 * (static map + live table under one rwlock). See identity.h for the
 * contracts and docs/identity.md for the semantics and the record schema.
 *
 * Ownership: the idstore's trie maps a prefix to a heap struct asg that the
 * store owns; records handed out (struct asg_vec) are deep copies that the
 * caller owns. The service's static trie points at struct static_entry of
 * the configuration, which outlives it.
 */
#include "identity.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "util.h"

/* Names ------------------------------------------------------------------ */

static const char *const event_names[] = {
	[ASG_START] = "start",
	[ASG_INTERIM] = "interim",
	[ASG_STOP] = "stop",
	[ASG_MOVED] = "moved",
	[ASG_NAS_REBOOT] = "nas_reboot",
};

const char *
asg_event_name(enum asg_event e)
{
	return (unsigned)e < ARRAY_SIZE(event_names) ? event_names[e] : "?";
}

int
asg_event_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(event_names); i++)
		if (strcmp(s, event_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
identity_source_name(enum identity_source s)
{
	switch (s) {
	case IDENTITY_STATIC:
		return "static";
	case IDENTITY_RADIUS:
		return "radius";
	default:
		return "address";
	}
}

char *
identity_escape(char *out, size_t outlen, const void *in, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *p = in;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c > 0x20 && c < 0x7f && c != '%') {
			if (o + 2 > outlen)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 > outlen)
				break;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* Assignments ------------------------------------------------------------ */

static char *
dup0(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

void
asg_free(struct asg *a)
{
	free(a->node);
	free(a->subscriber);
	free(a->cls);
	free(a->nas);
	free(a->nas_name);
	free(a->session_id);
	free(a->calling_station_id);
	memset(a, 0, sizeof(*a));
}

void
asg_copy(struct asg *dst, const struct asg *src)
{
	*dst = *src;
	dst->node = dup0(src->node);
	dst->subscriber = dup0(src->subscriber);
	dst->cls = dup0(src->cls);
	dst->nas = dup0(src->nas);
	dst->nas_name = dup0(src->nas_name);
	dst->session_id = dup0(src->session_id);
	dst->calling_station_id = dup0(src->calling_station_id);
}

/* raw_contains - 1 if p holds the address b (4 or 16 octets) of fam. */
static int
raw_contains(const struct cidr_prefix *p, int fam, const uint8_t *b)
{
	unsigned full, rest;

	if (fam != p->family)
		return 0;
	full = p->plen / 8;
	rest = p->plen % 8;
	if (memcmp(b, p->addr, full) != 0)
		return 0;
	if (rest != 0) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		if ((b[full] & m) != p->addr[full])
			return 0;
	}
	return 1;
}

static int
prefix_contains(const struct cidr_prefix *p, const union sockaddr_any *a)
{
	uint8_t b[16];
	int fam;

	return addr_raw(a, &fam, b) == 0 && raw_contains(p, fam, b);
}

/* prefix_within - 1 if inner is outer or one of its subnets. */
static int
prefix_within(const struct cidr_prefix *inner, const struct cidr_prefix *outer)
{
	return inner->plen >= outer->plen &&
	    raw_contains(outer, inner->family, inner->addr);
}

int
asg_contains(const struct asg *a, const union sockaddr_any *addr)
{
	return prefix_contains(&a->prefix, addr);
}

int
asg_covers(const struct asg *a, const union sockaddr_any *addr, int64_t t)
{
	return prefix_contains(&a->prefix, addr) && a->start_ms <= t &&
	    (a->end_ms == 0 || a->end_ms >= t);
}

struct asg *
asg_vec_push(struct asg_vec *vec, const struct asg *a)
{
	GROW(vec->v, vec->cap, vec->n + 1);
	asg_copy(&vec->v[vec->n], a);
	return &vec->v[vec->n++];
}

void
asg_vec_clear(struct asg_vec *vec)
{
	for (size_t i = 0; i < vec->n; i++)
		asg_free(&vec->v[i]);
	vec->n = 0;
}

void
asg_vec_free(struct asg_vec *vec)
{
	asg_vec_clear(vec);
	free(vec->v);
	vec->v = NULL;
	vec->cap = 0;
}

/* RADIUS input ------------------------------------------------------------ */

static const char *
esc_into(char **bufp, const struct radius_str *s)
{
	char *p = *bufp;

	if (s->ptr == NULL)
		return "";
	identity_escape(p, IDENTITY_STR_MAX, s->ptr, s->len);
	*bufp = p + strlen(p) + 1;
	return p;
}

static const char *
copy_into(char **bufp, const char *s, size_t max)
{
	char *p = *bufp;

	snprintf(p, max, "%s", s != NULL ? s : "");
	*bufp = p + strlen(p) + 1;
	return p;
}

void
asg_input_from_radius(struct asg_input *in, const struct radius_acct *ra,
    const char *nas, const char *nas_name, int64_t recv_ms, char *buf)
{
	char *b = buf;
	const char *user, *csid;

	memset(in, 0, sizeof(*in));
	in->status = ra->status;
	if (ra->has & RADIUS_HAS_EVENT_TIME)
		in->time_ms = (int64_t)ra->event_time * 1000;
	else if (ra->has & RADIUS_HAS_DELAY_TIME)
		in->time_ms = recv_ms - (int64_t)ra->delay_time * 1000;
	else
		in->time_ms = recv_ms;
	user = esc_into(&b, &ra->user_name);
	csid = esc_into(&b, &ra->calling_station_id);
	in->subscriber = *user ? user : csid;
	in->calling_station_id = csid;
	in->session_id = esc_into(&b, &ra->session_id);
	in->nas = copy_into(&b, nas, 256);
	in->nas_name = copy_into(&b, nas_name, 256);
	in->cls = "";
	if (ra->has & RADIUS_HAS_FRAMED_IP)
		(void)cidr_prefix_set(&in->prefix[in->nprefix++], AF_INET,
		    ra->framed_ip, 32);
	for (size_t i = 0; i < ra->nframed_prefix; i++)
		if (ra->framed_prefix[i].plen > 0 &&
		    cidr_prefix_set(&in->prefix[in->nprefix], AF_INET6,
		    ra->framed_prefix[i].addr, ra->framed_prefix[i].plen) == 0)
			in->nprefix++;
	for (size_t i = 0; i < ra->ndelegated_prefix; i++)
		if (ra->delegated_prefix[i].plen > 0 &&
		    cidr_prefix_set(&in->prefix[in->nprefix], AF_INET6,
		    ra->delegated_prefix[i].addr,
		    ra->delegated_prefix[i].plen) == 0)
			in->nprefix++;
	for (size_t i = 0; i < ra->nframed_ip6; i++)
		if (cidr_prefix_set(&in->prefix[in->nprefix], AF_INET6,
		    ra->framed_ip6[i], 128) == 0)
			in->nprefix++;
}

/* The class a RADIUS attribute names ------------------------------------------ */

#define CLASS_NAME_MAX 253	/* config.c: policy class names, 1..253 */

static int
class_trim(uint8_t c)
{
	return c == '\0' || strchr(IDENTITY_CLASS_TRIM, c) != NULL;
}

/* class_named - identity_class_named's class itself, or NULL. */
static const struct policy_class *
class_named(const struct config *c, const void *v, size_t n)
{
	const uint8_t *p = v;
	char name[CLASS_NAME_MAX + 1];

	if (c == NULL || p == NULL)
		return NULL;
	while (n > 0 && class_trim(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && class_trim(p[n - 1]))
		n--;
	if (n == 0 || n > CLASS_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		    ch == '_'))
			return NULL;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	return config_class(c, name);
}

const char *
identity_class_named(const struct config *c, const void *v, size_t n)
{
	const struct policy_class *pc = class_named(c, v, n);

	return pc != NULL ? pc->name : NULL;
}

int
identity_radius_class(const struct config *c, const struct radius_acct *ra,
    const char **cls, struct radius_str *raw)
{
	const char *attr = c != NULL ? c->identity.radius.class_attribute
	    : NULL;
	const struct radius_str *v;

	if (attr == NULL || *attr == '\0')
		return 0;
	if (strcmp(attr, "Class") == 0)
		v = &ra->class_attr;
	else if (strcmp(attr, "Filter-Id") == 0)
		v = &ra->filter_id;
	else
		return 0;	/* config.c admits no other */
	if (v->ptr == NULL)
		return 0;
	if ((*cls = identity_class_named(c, v->ptr, v->len)) != NULL)
		return 1;
	*raw = *v;
	return -1;
}

/* What one NAS may say ------------------------------------------------------ */

/* refusal - why p may not be assigned by cl, or NULL when it may. */
static const char *
refusal(const struct radius_conf *rc, const struct radius_client *cl,
    const struct cidr_prefix *p)
{
	if (p->plen < (p->family == AF_INET ? rc->min_plen_v4 :
	    rc->min_plen_v6))
		return "too_short";
	if (cl->nprefixes == 0)
		return NULL;
	for (size_t i = 0; i < cl->nprefixes; i++)
		if (prefix_within(p, &cl->prefixes[i]))
			return NULL;
	return "outside_pools";
}

size_t
identity_radius_admit(const struct radius_conf *rc,
    const struct radius_client *cl, struct asg_input *in,
    struct identity_refused *out)
{
	size_t kept = 0, n = 0;

	if (in->status != RADIUS_STATUS_START &&
	    in->status != RADIUS_STATUS_INTERIM)
		return 0;
	for (size_t i = 0; i < in->nprefix; i++) {
		const char *why = refusal(rc, cl, &in->prefix[i]);

		if (why == NULL) {
			in->prefix[kept++] = in->prefix[i];
			continue;
		}
		out[n].prefix = in->prefix[i];
		out[n++].why = why;
	}
	in->nprefix = kept;
	return n;
}

int
identity_client_class_ok(const struct radius_client *cl, const char *name)
{
	if (cl->nclasses == 0)
		return 1;
	for (size_t i = 0; i < cl->nclasses; i++)
		if (strcmp(cl->classes[i], name) == 0)
			return 1;
	return 0;
}

/* The live table ----------------------------------------------------------- */

struct idstore {
	struct cidr *t;		/* prefix -> open struct asg */
};

static void
asg_heap_free(void *p)
{
	asg_free(p);
	free(p);
}

struct idstore *
idstore_new(void)
{
	struct idstore *s = xcalloc(1, sizeof(*s));

	s->t = cidr_new();
	return s;
}

void
idstore_free(struct idstore *s)
{
	if (s == NULL)
		return;
	cidr_free(s->t, asg_heap_free);
	free(s);
}

size_t
idstore_count(const struct idstore *s)
{
	return cidr_count(s->t);
}

const struct asg *
idstore_lookup(const struct idstore *s, const union sockaddr_any *a,
    unsigned *plen)
{
	return cidr_lookup(s->t, a, plen);
}

const struct asg *
idstore_get(const struct idstore *s, const struct cidr_prefix *p)
{
	return cidr_get(s->t, p);
}

/* same_session - the NAS's Acct-Session-Id names the session (RFC 2866
 * §5.5); without one, the subscriber does. */
static int
same_session(const struct asg *a, const char *nas, const char *sid,
    const char *sub)
{
	if (strcmp(a->nas, nas) != 0)
		return 0;
	if (*sid != '\0' || *a->session_id != '\0')
		return strcmp(a->session_id, sid) == 0;
	return strcmp(a->subscriber, sub) == 0;
}

/* held_since_after - 1 if cur's session started after start_ms: an event
 * of a session that began before it (a late Start or Interim, a replayed
 * record) must not take the prefix from it. The one rule for this node's
 * accounting (idstore_apply) and other nodes' records (idstore_apply_record),
 * as the Redis history keeps it (asg_schema.c); at equal times the newer
 * statement wins. */
static int
held_since_after(const struct asg *cur, int64_t start_ms)
{
	return cur->start_ms > start_ms;
}

/* end_entry - close the open entry at p with event ev at t, record it,
 * remove it from the table. */
static void
end_entry(struct idstore *s, struct asg *cur, enum asg_event ev, int64_t t,
    const char *node, struct asg_vec *out)
{
	struct asg *rec;
	struct cidr_prefix p = cur->prefix;

	rec = asg_vec_push(out, cur);
	rec->event = ev;
	rec->time_ms = t;
	rec->end_ms = t > cur->start_ms ? t : cur->start_ms;
	free(rec->node);
	rec->node = dup0(node);
	cidr_remove(s->t, &p);
	asg_heap_free(cur);
}

static void
open_entry(struct idstore *s, const struct asg_input *in,
    const struct cidr_prefix *p, enum asg_event ev, const char *node,
    struct asg_vec *out)
{
	struct asg *a = xcalloc(1, sizeof(*a));

	a->prefix = *p;
	a->event = ev;
	a->time_ms = a->start_ms = in->time_ms;
	a->node = dup0(node);
	a->subscriber = dup0(in->subscriber);
	a->cls = dup0(in->cls);
	a->cls_radius = in->cls_radius;
	a->nas = dup0(in->nas);
	a->nas_name = dup0(in->nas_name);
	a->session_id = dup0(in->session_id);
	a->calling_station_id = dup0(in->calling_station_id);
	(void)cidr_insert(s->t, p, a, NULL);
	asg_vec_push(out, a);
}

static void
update_open(struct idstore *s, const struct asg_input *in,
    const struct cidr_prefix *p, enum asg_event ev, const char *node,
    struct asg_vec *out)
{
	struct asg *cur = cidr_get(s->t, p), *rec;

	if (cur != NULL && same_session(cur, in->nas, in->session_id,
	    in->subscriber)) {
		if (ev == ASG_START && strcmp(cur->subscriber, in->subscriber) == 0)
			return;		/* the same Start again */
		if (strcmp(cur->subscriber, in->subscriber) != 0) {
			free(cur->subscriber);
			cur->subscriber = dup0(in->subscriber);
		}
		if (strcmp(cur->calling_station_id, in->calling_station_id) != 0) {
			free(cur->calling_station_id);
			cur->calling_station_id = dup0(in->calling_station_id);
		}
		/* an Interim whose class attribute names another class (a
		 * change of service); one without keeps the class it had */
		if (in->cls_radius && (!cur->cls_radius ||
		    strcmp(cur->cls, in->cls) != 0)) {
			free(cur->cls);
			cur->cls = dup0(in->cls);
			cur->cls_radius = 1;
		}
		cur->event = ASG_INTERIM;
		cur->time_ms = in->time_ms;
		rec = asg_vec_push(out, cur);
		free(rec->node);
		rec->node = dup0(node);
		return;
	}
	if (cur != NULL && held_since_after(cur, in->time_ms))
		return;		/* a late event of an older session */
	if (cur != NULL)
		end_entry(s, cur, ASG_MOVED, in->time_ms, node, out);
	open_entry(s, in, p, ev, node, out);
}

struct collect {
	const char *nas, *sid, *sub;
	int by_nas;
	struct cidr_prefix *v;
	size_t n, cap;
};

static int
collect_cb(const struct cidr_prefix *p, void *value, void *arg)
{
	struct collect *c = arg;
	const struct asg *a = value;

	if (c->by_nas ? strcmp(a->nas, c->nas) != 0 :
	    !same_session(a, c->nas, c->sid, c->sub))
		return 0;
	GROW(c->v, c->cap, c->n + 1);
	c->v[c->n++] = *p;
	return 0;
}

static void
end_collected(struct idstore *s, struct collect *c, enum asg_event ev,
    int64_t t, const char *node, struct asg_vec *out)
{
	for (size_t i = 0; i < c->n; i++) {
		struct asg *cur = cidr_get(s->t, &c->v[i]);

		if (cur != NULL)
			end_entry(s, cur, ev, t, node, out);
	}
	free(c->v);
}

static void
stop(struct idstore *s, const struct asg_input *in, const char *node,
    struct asg_vec *out)
{
	struct collect c = { in->nas, in->session_id, in->subscriber, 0,
	    NULL, 0, 0 };
	size_t before = out->n;

	if (in->nprefix == 0) {
		(void)cidr_walk(s->t, collect_cb, &c);
		end_collected(s, &c, ASG_STOP, in->time_ms, node, out);
		return;
	}
	for (size_t i = 0; i < in->nprefix; i++) {
		struct asg *cur = cidr_get(s->t, &in->prefix[i]);

		if (cur != NULL && same_session(cur, in->nas, in->session_id,
		    in->subscriber))
			end_entry(s, cur, ASG_STOP, in->time_ms, node, out);
	}
	if (out->n > before)
		return;
	/* A Stop for a session this node never saw open (it started before
	 * this node ran, or elsewhere): record it, start unknown. Redis
	 * closes the open member it has for the session (docs/identity.md). */
	for (size_t i = 0; i < in->nprefix; i++) {
		struct asg a;

		if (cidr_get(s->t, &in->prefix[i]) != NULL)
			continue;	/* held by another session now */
		memset(&a, 0, sizeof(a));
		a.prefix = in->prefix[i];
		a.event = ASG_STOP;
		a.time_ms = a.start_ms = a.end_ms = in->time_ms;
		a.start_unknown = 1;
		a.node = (char *)node;
		a.subscriber = (char *)in->subscriber;
		a.cls = (char *)in->cls;
		a.cls_radius = in->cls_radius;
		a.nas = (char *)in->nas;
		a.nas_name = (char *)in->nas_name;
		a.session_id = (char *)in->session_id;
		a.calling_station_id = (char *)in->calling_station_id;
		asg_vec_push(out, &a);
	}
}

size_t
idstore_apply(struct idstore *s, const struct asg_input *in, const char *node,
    struct asg_vec *out)
{
	size_t before = out->n;
	struct collect c = { in->nas, "", "", 1, NULL, 0, 0 };

	switch (in->status) {
	case RADIUS_STATUS_START:
	case RADIUS_STATUS_INTERIM:
		if (*in->subscriber == '\0')
			break;	/* nobody to attribute it to */
		for (size_t i = 0; i < in->nprefix; i++)
			update_open(s, in, &in->prefix[i],
			    in->status == RADIUS_STATUS_START ? ASG_START
			    : ASG_INTERIM, node, out);
		break;
	case RADIUS_STATUS_STOP:
		stop(s, in, node, out);
		break;
	case RADIUS_STATUS_ACCT_ON:
	case RADIUS_STATUS_ACCT_OFF:
		/* RFC 2866 §5.1: the NAS (re)started or is going down; every
		 * session it had is gone. */
		(void)cidr_walk(s->t, collect_cb, &c);
		end_collected(s, &c, ASG_NAS_REBOOT, in->time_ms, node, out);
		break;
	default:
		break;
	}
	return out->n - before;
}

int
idstore_apply_record(struct idstore *s, const struct asg *rec)
{
	struct asg *cur = cidr_get(s->t, &rec->prefix), *a;

	if (rec->end_ms == 0) {
		if (cur != NULL && held_since_after(cur, rec->start_ms))
			return 0;
		a = xcalloc(1, sizeof(*a));
		asg_copy(a, rec);
		(void)cidr_insert(s->t, &rec->prefix, a, NULL);
		if (cur != NULL)
			asg_heap_free(cur);
		return 1;
	}
	if (cur == NULL || !same_session(cur, rec->nas, rec->session_id,
	    rec->subscriber) || (!rec->start_unknown &&
	    held_since_after(cur, rec->start_ms)))
		return 0;
	cidr_remove(s->t, &rec->prefix);
	asg_heap_free(cur);
	return 1;
}

/* The service -------------------------------------------------------------- */

static struct {
	const struct config *conf;
	struct cidr *statics;		/* -> struct static_entry (config's) */
	struct cidr *classes;		/* policy.prefixes -> struct
					 * policy_prefix (config's) */
	struct idstore *live;
	pthread_rwlock_t lock;
	int init;
} idsvc;

int
identity_init(const struct config *c)
{
	pthread_rwlockattr_t at;

	if (idsvc.init)
		identity_shutdown();
	idsvc.conf = c;
	idsvc.statics = cidr_new();
	idsvc.classes = cidr_new();
	idsvc.live = idstore_new();
	for (size_t i = 0; i < c->identity.nstatics; i++)
		if (cidr_insert(idsvc.statics, &c->identity.statics[i].prefix,
		    &c->identity.statics[i], NULL) < 0)
			return SG_EINVAL;
	for (size_t i = 0; i < c->policy.nprefixes; i++)
		if (cidr_insert(idsvc.classes, &c->policy.prefixes[i].prefix,
		    &c->policy.prefixes[i], NULL) < 0)
			return SG_EINVAL;
	pthread_rwlockattr_init(&at);
	/* Lookups are many and short; the RADIUS thread must not starve. */
	pthread_rwlockattr_setkind_np(&at,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&idsvc.lock, &at);
	pthread_rwlockattr_destroy(&at);
	idsvc.init = 1;
	return 0;
}

void
identity_shutdown(void)
{
	if (!idsvc.init)
		return;
	cidr_free(idsvc.statics, NULL);
	cidr_free(idsvc.classes, NULL);
	idstore_free(idsvc.live);
	pthread_rwlock_destroy(&idsvc.lock);
	memset(&idsvc, 0, sizeof(idsvc));
}

/* prefix_at - the longest policy.prefixes entry holding a, or NULL. */
static const struct policy_prefix *
prefix_at(const union sockaddr_any *a)
{
	return idsvc.classes != NULL ? cidr_lookup(idsvc.classes, a, NULL)
	    : NULL;
}

/* class_at - the class of a when nothing more specific names one: the
 * longest policy.prefixes match, else policy.default_class; NULL before
 * identity_init. */
static const struct policy_class *
class_at(const union sockaddr_any *a)
{
	const struct policy_prefix *pp;

	if (idsvc.conf == NULL)
		return NULL;
	pp = prefix_at(a);
	return pp != NULL ? pp->cls : idsvc.conf->policy.default_class;
}

/* address_prefix - whom the limits count when nobody is known: the IPv4
 * address, or the IPv6 delegation (policy.ipv6_aggregate, or its
 * prefixes entry's); v4-mapped counts as IPv4. */
static void
address_prefix(const union sockaddr_any *a, struct cidr_prefix *p)
{
	const struct policy_prefix *pp = prefix_at(a);
	unsigned len = 128;

	if (pp != NULL && pp->ipv6_aggregate != 0)
		len = pp->ipv6_aggregate;
	else if (idsvc.conf != NULL && idsvc.conf->policy.ipv6_aggregate != 0)
		len = idsvc.conf->policy.ipv6_aggregate;
	memset(p, 0, sizeof(*p));
	(void)cidr_prefix_of(p, a, len);	/* IPv4: the whole address */
}

const char *
identity_class_of(const union sockaddr_any *a)
{
	const struct policy_class *pc = class_at(a);

	return pc != NULL ? pc->name : "default";
}

/* radius_beats_static - the live entry of length rplen answers rather
 * than the static entry se (of length splen, or NULL): always without one;
 * with one, only under identity.radius.override_static, longest prefix
 * first and RADIUS at equal length (the fresher statement). */
static int
radius_beats_static(const struct static_entry *se, unsigned splen,
    unsigned rplen)
{
	return se == NULL || (idsvc.conf->identity.radius.override_static &&
	    rplen >= splen);
}

void
identity_lookup(const union sockaddr_any *a, int64_t now, struct identity *out)
{
	const struct static_entry *se = NULL;
	const struct asg *ra = NULL;
	unsigned splen = 0, rplen = 0;
	const struct policy_class *cls = NULL;

	(void)now;
	if (idsvc.init) {
		se = cidr_lookup(idsvc.statics, a, &splen);
		pthread_rwlock_rdlock(&idsvc.lock);
		ra = idstore_lookup(idsvc.live, a, &rplen);
		if (ra != NULL && !radius_beats_static(se, splen, rplen))
			ra = NULL;
		if (ra != NULL) {
			snprintf(out->subscriber, sizeof(out->subscriber), "%s",
			    ra->subscriber);
			out->source = IDENTITY_RADIUS;
			out->prefix = ra->prefix;
			/* the class RADIUS named, if still a configured one
			 * (a record from another node may name any): the
			 * configuration's, valid after the unlock */
			if (ra->cls_radius &&
			    idsvc.conf->identity.radius.class_attribute != NULL)
				cls = class_named(idsvc.conf, ra->cls,
				    strlen(ra->cls));
		}
		pthread_rwlock_unlock(&idsvc.lock);
		if (ra != NULL)
			goto class;
	}
	if (se != NULL) {
		snprintf(out->subscriber, sizeof(out->subscriber), "%s",
		    se->subscriber);
		out->source = IDENTITY_STATIC;
		out->prefix = se->prefix;
		cls = se->cls;		/* NULL: no class of its own */
	} else {
		union sockaddr_any u = *a;

		addr_unmap(&u);
		addr_ntop(&u, out->subscriber, sizeof(out->subscriber));
		out->source = IDENTITY_ADDRESS;
		address_prefix(a, &out->prefix);
	}
class:
	out->cls = cls != NULL ? cls : class_at(a);
}

size_t
identity_apply(const struct asg_input *in, struct asg_vec *out)
{
	size_t n;

	pthread_rwlock_wrlock(&idsvc.lock);
	n = idstore_apply(idsvc.live, in, idsvc.conf->node, out);
	pthread_rwlock_unlock(&idsvc.lock);
	return n;
}

int
identity_apply_record(const struct asg *rec)
{
	int n;

	pthread_rwlock_wrlock(&idsvc.lock);
	n = idstore_apply_record(idsvc.live, rec);
	pthread_rwlock_unlock(&idsvc.lock);
	return n;
}

size_t
identity_live_count(void)
{
	size_t n;

	pthread_rwlock_rdlock(&idsvc.lock);
	n = idstore_count(idsvc.live);
	pthread_rwlock_unlock(&idsvc.lock);
	return n;
}
